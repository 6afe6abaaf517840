#include <math.h>

#include "cpu-ref-impl.h"

/* y [M, C] = (x - mean) / sqrt(var + eps) * gamma + beta, per row. */
rv_status rv_ref_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                           const rv_tensor *beta, float eps, rv_tensor *y) {
  (void)be;
  int64_t m = x->shape[0], cols = x->shape[1];
  const float *g = gamma->data, *bt = beta ? beta->data : NULL;
  for (int64_t i = 0; i < m; i++) {
    const float *xr = rv_f32_at(x, i, 0);
    double mean = 0.0, var = 0.0;
    for (int64_t j = 0; j < cols; j++) mean += xr[j];
    mean /= (double)cols;
    for (int64_t j = 0; j < cols; j++) var += (xr[j] - mean) * (xr[j] - mean);
    var /= (double)cols;
    double inv = 1.0 / sqrt(var + eps);
    float *yr = rv_f32_at(y, i, 0);
    for (int64_t j = 0; j < cols; j++)
      yr[j] = (float)((xr[j] - mean) * inv * g[j] + (bt ? bt[j] : 0.0));
  }
  return RV_OK;
}
