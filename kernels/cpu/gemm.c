#include "cpu-ref-impl.h"

/* c [M, N] = act(alpha * op(a) [M, K] op(b) [K, N] + bias [N]) + beta * c */
rv_status rv_ref_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                      const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p) {
  (void)be;
  int64_t m = c->shape[0], n = c->shape[1];
  int64_t k = p->trans_a ? a->shape[0] : a->shape[1];
  const float *bs = bias ? (const float *)bias->data : NULL;
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) {
      double acc = 0.0;
      for (int64_t l = 0; l < k; l++) {
        float av = p->trans_a ? *rv_f32_at(a, l, i) : *rv_f32_at(a, i, l);
        float bv = p->trans_b ? *rv_f32_at(b, j, l) : *rv_f32_at(b, l, j);
        acc += (double)av * bv;
      }
      double v = p->alpha * acc + (bs ? bs[j] : 0.0);
      v = rv_ref_act(v, p->act);
      float *cv = rv_f32_at(c, i, j);
      /* beta == 0 ignores the old c entirely, so uninitialised (even NaN) outputs are fine */
      *cv = (float)(p->beta != 0.0f ? v + (double)p->beta * *cv : v);
    }
  }
  return RV_OK;
}
