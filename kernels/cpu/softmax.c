#include <math.h>

#include "cpu-ref-impl.h"

/* y [M, N] = softmax(scale * x) per row; a row of -inf stays NaN-free (all zeros). */
rv_status rv_ref_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y) {
  (void)be;
  int64_t n = x->shape[1];
  for (int64_t i = 0; i < x->shape[0]; i++) {
    const float *xr = rv_f32_at(x, i, 0);
    float *yr = rv_f32_at(y, i, 0);
    double mx = -INFINITY;
    for (int64_t j = 0; j < n; j++) mx = fmax(mx, (double)scale * xr[j]);
    if (isinf(mx) && mx < 0) {
      for (int64_t j = 0; j < n; j++) yr[j] = 0.0f;
      continue;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < n; j++) sum += exp((double)scale * xr[j] - mx);
    for (int64_t j = 0; j < n; j++) yr[j] = (float)(exp((double)scale * xr[j] - mx) / sum);
  }
  return RV_OK;
}
