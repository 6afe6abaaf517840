#include <stdlib.h>

#include "cpu-ref-impl.h"

static void ref_destroy(rv_backend *be) { free(be); }

static const rv_backend_vtable ref_vtable = {
    .destroy = ref_destroy,
    .alloc = rv_host_alloc,
    .dealloc = rv_host_dealloc,
    .upload = rv_host_memcpy,
    .download = rv_host_memcpy,
    .sync = rv_host_sync,
    .gemm = rv_ref_gemm,
    .layernorm = rv_ref_layernorm,
    .gelu = rv_ref_gelu,
    .softmax = rv_ref_softmax,
    .add = rv_ref_add,
    .copy = rv_ref_copy,
    .patchify = rv_ref_patchify,
    .attention = rv_ref_attention,
    .attn_merge = rv_ref_attn_merge,
};

rv_status rv_backend_cpu_ref_create(const rv_backend_cfg *cfg, rv_backend **out) {
  (void)cfg;
  rv_backend *be = calloc(1, sizeof *be);
  if (!be) return RV_FAIL(RV_ERR_NOMEM, "backend handle");
  be->vt = &ref_vtable;
  be->kind = RV_BACKEND_CPU_REF;
  be->name = "cpu-ref";
  be->act_dtype = RV_F32;
  be->mem = RV_MEM_HOST;
  be->threads = 1;
  *out = be;
  return RV_OK;
}
