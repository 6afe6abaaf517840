#include <stdlib.h>

#include "cpu-fast-impl.h"

#ifdef RV_HAVE_OPENBLAS
#include <cblas.h>
#endif

static void cpu_destroy(rv_backend *be) {
  rv_cpu_backend *cb = rv_cpu(be);
  if (cb->scratch)
    for (int t = 0; t < be->threads; t++)
      free(cb->scratch[t].buf);
  free(cb->scratch);
  rv_pool_free(cb->pool);
  free(cb);
}

rv_status rv_cpu_reserve(rv_cpu_backend *cb, size_t floats) {
  for (int t = 0; t < cb->base.threads; t++) {
    rv_cpu_scratch *s = &cb->scratch[t];
    if (s->cap >= floats) continue;
    float *nb = NULL;
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    nb = aligned_alloc(64, bytes);
    if (!nb) return RV_FAIL(RV_ERR_NOMEM, "scratch of %zu floats", floats);
    free(s->buf);
    s->buf = nb;
    s->cap = floats;
  }
  return RV_OK;
}

static const rv_backend_vtable cpu_vtable = {
    .destroy = cpu_destroy,
    .alloc = rv_host_alloc,
    .dealloc = rv_host_dealloc,
    .upload = rv_host_memcpy,
    .download = rv_host_memcpy,
    .sync = rv_host_sync,
    .gemm = rv_cpu_gemm,
    .layernorm = rv_cpu_layernorm,
    .gelu = rv_cpu_gelu,
    .softmax = rv_cpu_softmax,
    .add = rv_cpu_add,
    .copy = rv_cpu_copy,
    .patchify = rv_cpu_patchify,
    .attention = rv_cpu_attention,
    .attn_merge = rv_cpu_attn_merge,
};

rv_status rv_backend_cpu_create(const rv_backend_cfg *cfg, rv_backend **out) {
  rv_status st = RV_OK;
  rv_cpu_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return RV_FAIL(RV_ERR_NOMEM, "backend handle");
  rv_backend *be = &cb->base;
  be->vt = &cpu_vtable;
  be->kind = RV_BACKEND_CPU;
  be->name = "cpu";
  be->act_dtype = RV_F32;
  be->mem = RV_MEM_HOST;
  be->threads = cfg->threads > 0 ? cfg->threads : rv_online_cores();
#ifdef RV_HAVE_OPENBLAS
  /* Our pool splits the work; OpenBLAS must not start threads of its own on top. */
  openblas_set_num_threads(1);
#endif
  cb->scratch = calloc((size_t)be->threads, sizeof *cb->scratch);
  if (!cb->scratch) RV_TRY_FAIL(RV_ERR_NOMEM, "scratch table");
  RV_TRY(rv_pool_create(be->threads, &cb->pool));
  cb->attn_micro = rv_attn_micro_ok();
  *out = be;
  return RV_OK;
fail:
  cpu_destroy(be);
  return st;
}
