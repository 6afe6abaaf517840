#include <stdlib.h>
#include <string.h>

#include "backend-impl.h"

static const char *kind_names[RV_BACKEND_COUNT] = {"cpu-ref", "cpu", "cuda"};

const char *rv_backend_kind_name(rv_backend_kind kind) {
  return (unsigned)kind < RV_BACKEND_COUNT ? kind_names[kind] : "unknown";
}

rv_status rv_backend_kind_parse(const char *name, rv_backend_kind *out) {
  if (!name || !out) return RV_FAIL(RV_ERR_INVALID, "name and out must not be NULL");
  for (int k = 0; k < RV_BACKEND_COUNT; k++) {
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (rv_backend_kind)k;
      return RV_OK;
    }
  }
  return RV_FAIL(RV_ERR_INVALID, "unknown backend '%s' (expected cpu-ref, cpu or cuda)", name);
}

int rv_backend_available(rv_backend_kind kind) {
  switch (kind) {
  case RV_BACKEND_CPU_REF:
  case RV_BACKEND_CPU: return 1;
  case RV_BACKEND_CUDA: return rv_backend_cuda_available();
  default: return 0;
  }
}

rv_status rv_backend_init(const rv_backend_cfg *cfg, rv_backend **out) {
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  if (cfg->threads < 0) return RV_FAIL(RV_ERR_INVALID, "threads must be >= 0, got %d", cfg->threads);
  switch (cfg->kind) {
  case RV_BACKEND_CPU_REF: return rv_backend_cpu_ref_create(cfg, out);
  case RV_BACKEND_CPU: return rv_backend_cpu_create(cfg, out);
  case RV_BACKEND_CUDA: return rv_backend_cuda_create(cfg, out);
  default: return RV_FAIL(RV_ERR_INVALID, "unknown backend kind %d", (int)cfg->kind);
  }
}

void rv_backend_free(rv_backend *b) {
  if (b) b->vt->destroy(b);
}

const char *rv_backend_name(const rv_backend *b) { return b ? b->name : "(null)"; }
rv_backend_kind rv_backend_get_kind(const rv_backend *b) { return b->kind; }
int rv_backend_threads(const rv_backend *b) { return b->threads; }
rv_dtype rv_backend_act_dtype(const rv_backend *b) { return b->act_dtype; }
rv_mem rv_backend_mem(const rv_backend *b) { return b->mem; }

rv_status rv_backend_alloc(rv_backend *b, size_t bytes, void **out) {
  if (!b || !out) return RV_FAIL(RV_ERR_INVALID, "backend and out must not be NULL");
  *out = NULL;
  return b->vt->alloc(b, bytes ? bytes : 1, out);
}

void rv_backend_dealloc(rv_backend *b, void *p) {
  if (b && p) b->vt->dealloc(b, p);
}

rv_status rv_backend_upload(rv_backend *b, void *dst, const void *src, size_t bytes) {
  if (!b || (bytes && (!dst || !src))) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  return bytes ? b->vt->upload(b, dst, src, bytes) : RV_OK;
}

rv_status rv_backend_download(rv_backend *b, void *dst, const void *src, size_t bytes) {
  if (!b || (bytes && (!dst || !src))) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  return bytes ? b->vt->download(b, dst, src, bytes) : RV_OK;
}

rv_status rv_backend_sync(rv_backend *b) {
  if (!b) return RV_FAIL(RV_ERR_INVALID, "backend must not be NULL");
  return b->vt->sync(b);
}

/* ---- host memory, shared by the CPU backends ---- */

rv_status rv_host_alloc(rv_backend *be, size_t bytes, void **out) {
  (void)be;
  size_t rounded = (bytes + 255) / 256 * 256;
  void *p = aligned_alloc(256, rounded);
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "cannot allocate %zu bytes", bytes);
  *out = p;
  return RV_OK;
}

void rv_host_dealloc(rv_backend *be, void *p) {
  (void)be;
  free(p);
}

rv_status rv_host_memcpy(rv_backend *be, void *dst, const void *src, size_t bytes) {
  (void)be;
  memmove(dst, src, bytes);
  return RV_OK;
}

rv_status rv_host_sync(rv_backend *be) {
  (void)be;
  return RV_OK;
}
