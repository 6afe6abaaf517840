#include <math.h>
#include <stdlib.h>

#include "cpu-ref-impl.h"

int rv_ref_mask_allows(const rv_attn_params *p, int64_t qpos, int64_t kpos) {
  if (p->mask == RV_MASK_NONE) return 1;
  int64_t lo, hi;
  rv_mask_bounds(p->mask, p->window, &lo, &hi);
  int64_t d = qpos / p->tokens_per_frame - kpos / p->tokens_per_frame;
  return d >= lo && d <= hi;
}

/* o [Nq, H, D], lse [H, Nq] from q [Nq, H, D] against k, v [Nk, H, D]; one row of
 * scores at a time, in double. */
rv_status rv_ref_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                           const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                           rv_tensor *lse) {
  (void)be;
  int64_t nq = q->shape[0], nk = k->shape[0], heads = q->shape[1], d = q->shape[2];
  double *score = malloc(sizeof(double) * (size_t)(nk > 0 ? nk : 1));
  double *acc = malloc(sizeof(double) * (size_t)d);
  if (!score || !acc) {
    free(score);
    free(acc);
    return RV_FAIL(RV_ERR_NOMEM, "attention scratch for %lld keys", (long long)nk);
  }
  for (int64_t h = 0; h < heads; h++)
    for (int64_t i = 0; i < nq; i++) {
      const float *qi = (const float *)q->data + i * q->stride[0] + h * d;
      double mx = -INFINITY;
      for (int64_t j = 0; j < nk; j++) {
        score[j] = -INFINITY;
        if (!rv_ref_mask_allows(p, p->q_pos0 + i, p->k_pos0 + j)) continue;
        const float *kj = (const float *)k->data + j * k->stride[0] + h * d;
        double s = 0.0;
        for (int64_t c = 0; c < d; c++) s += (double)qi[c] * kj[c];
        score[j] = s * p->scale;
        mx = fmax(mx, score[j]);
      }
      float *oi = (float *)o->data + i * o->stride[0] + h * d;
      float *li = (float *)lse->data + h * lse->stride[0] + i;
      if (isinf(mx)) { /* no allowed key */
        for (int64_t c = 0; c < d; c++) oi[c] = 0.0f;
        *li = -INFINITY;
        continue;
      }
      double sum = 0.0;
      for (int64_t c = 0; c < d; c++) acc[c] = 0.0;
      for (int64_t j = 0; j < nk; j++) {
        if (isinf(score[j])) continue;
        double w = exp(score[j] - mx);
        sum += w;
        const float *vj = (const float *)v->data + j * v->stride[0] + h * d;
        for (int64_t c = 0; c < d; c++) acc[c] += w * vj[c];
      }
      for (int64_t c = 0; c < d; c++) oi[c] = (float)(acc[c] / sum);
      *li = (float)(mx + log(sum));
    }
  free(score);
  free(acc);
  return RV_OK;
}

/* acc (o_a, lse_a) <- exact merge with partial (o_b, lse_b). */
rv_status rv_ref_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a,
                            const rv_tensor *o_b, const rv_tensor *lse_b) {
  (void)be;
  int64_t nq = o_a->shape[0], heads = o_a->shape[1], d = o_a->shape[2];
  for (int64_t h = 0; h < heads; h++)
    for (int64_t i = 0; i < nq; i++) {
      float *la = (float *)lse_a->data + h * lse_a->stride[0] + i;
      double lb = ((const float *)lse_b->data)[h * lse_b->stride[0] + i];
      if (isinf(lb) && lb < 0) continue; /* b saw nothing */
      float *oa = (float *)o_a->data + i * o_a->stride[0] + h * d;
      const float *ob = (const float *)o_b->data + i * o_b->stride[0] + h * d;
      double mx = fmax((double)*la, lb);
      double wa = exp((double)*la - mx), wb = exp(lb - mx);
      double sum = wa + wb;
      for (int64_t c = 0; c < d; c++) oa[c] = (float)((wa * oa[c] + wb * ob[c]) / sum);
      *la = (float)(mx + log(sum));
    }
  return RV_OK;
}
