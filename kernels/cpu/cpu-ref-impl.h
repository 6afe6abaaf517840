/* The reference ops: plain loops over f32 views, accumulating in double. They are the
 * truth every other backend is tested against, so they favour obviousness over speed. */
#ifndef RINGVIT_CPU_REF_IMPL_H
#define RINGVIT_CPU_REF_IMPL_H

#include "../backend-impl.h"

rv_status rv_ref_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                      const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p);
rv_status rv_ref_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                           const rv_tensor *beta, float eps, rv_tensor *y);
rv_status rv_ref_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant);
rv_status rv_ref_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y);
rv_status rv_ref_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y);
rv_status rv_ref_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst);
rv_status rv_ref_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                          const float std[3], int patch, int tubelet, rv_tensor *tokens);
rv_status rv_ref_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                           const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                           rv_tensor *lse);
rv_status rv_ref_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a,
                            const rv_tensor *o_b, const rv_tensor *lse_b);

/* Scalar helpers shared with the fast CPU backend. */
double rv_ref_act(double x, rv_act act);
/* 1 when query token qpos may attend to key token kpos under p's mask. */
int rv_ref_mask_allows(const rv_attn_params *p, int64_t qpos, int64_t kpos);

#endif
