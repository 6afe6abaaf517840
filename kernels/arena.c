#include <stdlib.h>

#include <ringvit/arena.h>

struct rv_arena {
  rv_backend *be;
  char *base;
  size_t capacity, used, peak;
};

rv_status rv_arena_init(rv_backend *be, size_t capacity, rv_arena **out) {
  rv_status st = RV_OK;
  rv_arena *a = NULL;
  if (!be || !out) return RV_FAIL(RV_ERR_INVALID, "backend and out must not be NULL");
  *out = NULL;
  a = calloc(1, sizeof *a);
  if (!a) RV_TRY_FAIL(RV_ERR_NOMEM, "arena handle");
  a->be = be;
  a->capacity = rv_arena_round(capacity);
  if (a->capacity) RV_TRY(rv_backend_alloc(be, a->capacity, (void **)&a->base));
  *out = a;
  return RV_OK;
fail:
  free(a);
  return st;
}

void rv_arena_free(rv_arena *a) {
  if (!a) return;
  rv_backend_dealloc(a->be, a->base);
  free(a);
}

rv_status rv_arena_alloc(rv_arena *a, size_t bytes, void **out) {
  if (!a || !out) return RV_FAIL(RV_ERR_INVALID, "arena and out must not be NULL");
  size_t need = rv_arena_round(bytes);
  if (need > a->capacity - a->used)
    return RV_FAIL(RV_ERR_NOMEM, "arena full: %zu bytes asked, %zu of %zu free", bytes,
                   a->capacity - a->used, a->capacity);
  *out = a->base + a->used;
  a->used += need;
  if (a->used > a->peak) a->peak = a->used;
  return RV_OK;
}

rv_status rv_arena_tensor(rv_arena *a, rv_dtype dt, int ndim, const int64_t *shape,
                          rv_tensor *out) {
  if (!shape || !out || ndim < 1 || ndim > RV_MAX_DIMS)
    return RV_FAIL(RV_ERR_INVALID, "bad tensor request (ndim %d)", ndim);
  size_t n = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return RV_FAIL(RV_ERR_INVALID, "negative dimension %d", i);
    n *= (size_t)shape[i];
  }
  void *data;
  rv_status st = rv_arena_alloc(a, n * rv_dtype_size(dt), &data);
  if (st < 0) return st;
  switch (ndim) {
  case 1: *out = rv_tensor_1d(data, dt, shape[0]); break;
  case 2: *out = rv_tensor_2d(data, dt, shape[0], shape[1]); break;
  case 3: *out = rv_tensor_3d(data, dt, shape[0], shape[1], shape[2]); break;
  default: *out = rv_tensor_4d(data, dt, shape[0], shape[1], shape[2], shape[3]); break;
  }
  out->mem = rv_backend_mem(a->be);
  return RV_OK;
}

size_t rv_arena_mark(const rv_arena *a) { return a->used; }
void rv_arena_reset(rv_arena *a, size_t mark) {
  if (mark <= a->used) a->used = mark;
}
size_t rv_arena_used(const rv_arena *a) { return a->used; }
size_t rv_arena_peak(const rv_arena *a) { return a->peak; }
size_t rv_arena_capacity(const rv_arena *a) { return a->capacity; }
