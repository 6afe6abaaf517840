/* An arena: one allocation from a backend, carved into tensors with bump-pointer
 * allocation, so that a model's activations are sized once at init and the per-frame
 * path allocates nothing. Marks let a caller free everything carved since a point. */
#ifndef RINGVIT_ARENA_H
#define RINGVIT_ARENA_H

#include <ringvit/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_ARENA_ALIGN 256

typedef struct rv_arena rv_arena;

/* capacity in bytes. The arena borrows `be`, which must outlive it. */
rv_status rv_arena_init(rv_backend *be, size_t capacity, rv_arena **out);
void rv_arena_free(rv_arena *a); /* NULL-safe; returns the memory to the backend */

/* Carves `bytes` (rounded up to RV_ARENA_ALIGN). RV_ERR_NOMEM with the sizes in the
 * message when the arena is full. */
rv_status rv_arena_alloc(rv_arena *a, size_t bytes, void **out);
/* Carves a packed tensor of the given shape. */
rv_status rv_arena_tensor(rv_arena *a, rv_dtype dt, int ndim, const int64_t *shape,
                          rv_tensor *out);

size_t rv_arena_mark(const rv_arena *a);
void rv_arena_reset(rv_arena *a, size_t mark);
size_t rv_arena_used(const rv_arena *a);
size_t rv_arena_peak(const rv_arena *a);
size_t rv_arena_capacity(const rv_arena *a);

/* Size planning without memory: accumulate what a sequence of rv_arena_alloc calls
 * would take, so a caller can size its arena exactly. */
static inline size_t rv_arena_round(size_t bytes) {
  return (bytes + RV_ARENA_ALIGN - 1) / RV_ARENA_ALIGN * RV_ARENA_ALIGN;
}

#ifdef __cplusplus
}
#endif
#endif
