/* The backend vtable. Private to kernels/: other modules use <ringvit/backend.h>.
 *
 * Arguments reaching these functions were validated by ops.c (non-NULL, shapes agree,
 * dtypes are the backend's, memory is the backend's), so implementations only compute. */
#ifndef RINGVIT_BACKEND_IMPL_H
#define RINGVIT_BACKEND_IMPL_H

#include <ringvit/ops.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_backend_vtable {
  void (*destroy)(rv_backend *be);
  rv_status (*alloc)(rv_backend *be, size_t bytes, void **out);
  void (*dealloc)(rv_backend *be, void *p);
  rv_status (*upload)(rv_backend *be, void *dst, const void *src, size_t bytes);
  rv_status (*download)(rv_backend *be, void *dst, const void *src, size_t bytes);
  rv_status (*sync)(rv_backend *be);

  rv_status (*gemm)(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                    const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p);
  rv_status (*layernorm)(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                         const rv_tensor *beta, float eps, rv_tensor *y);
  rv_status (*gelu)(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant);
  rv_status (*softmax)(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y);
  rv_status (*add)(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y);
  rv_status (*copy)(rv_backend *be, const rv_tensor *src, rv_tensor *dst);
  rv_status (*patchify)(rv_backend *be, const rv_tensor *frames, const float mean[3],
                        const float std[3], int patch, int tubelet, rv_tensor *tokens);
  rv_status (*attention)(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                         const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                         rv_tensor *lse);
  rv_status (*attn_merge)(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a,
                          const rv_tensor *o_b, const rv_tensor *lse_b);
} rv_backend_vtable;

/* Common head of every backend; each implementation embeds it first and keeps its own
 * state after it. */
struct rv_backend {
  const rv_backend_vtable *vt;
  rv_backend_kind kind;
  const char *name;
  rv_dtype act_dtype;
  rv_mem mem;
  int threads;
};

/* Constructors, one per backend (cuda's returns RV_ERR_UNSUPPORTED when not built). */
rv_status rv_backend_cpu_ref_create(const rv_backend_cfg *cfg, rv_backend **out);
rv_status rv_backend_cpu_create(const rv_backend_cfg *cfg, rv_backend **out);
rv_status rv_backend_cuda_create(const rv_backend_cfg *cfg, rv_backend **out);
int rv_backend_cuda_available(void);

/* Plain host-memory helpers shared by the CPU backends. */
rv_status rv_host_alloc(rv_backend *be, size_t bytes, void **out);
void rv_host_dealloc(rv_backend *be, void *p);
rv_status rv_host_memcpy(rv_backend *be, void *dst, const void *src, size_t bytes);
rv_status rv_host_sync(rv_backend *be);

/* Element access for the reference loops: row r, column c of a 2-D f32 view. */
static inline float *rv_f32_at(const rv_tensor *t, int64_t r, int64_t c) {
  return (float *)t->data + r * t->stride[0] + c;
}

#ifdef __cplusplus
}
#endif
#endif
