#include <math.h>

#include "cpu-ref-impl.h"

double rv_ref_act(double x, rv_act act) {
  switch (act) {
  case RV_ACT_GELU_ERF: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
  case RV_ACT_GELU_TANH:
    return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  default: return x;
  }
}

/* y [M, C] = gelu(x) */
rv_status rv_ref_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant) {
  (void)be;
  for (int64_t i = 0; i < x->shape[0]; i++)
    for (int64_t j = 0; j < x->shape[1]; j++)
      *rv_f32_at(y, i, j) = (float)rv_ref_act(*rv_f32_at(x, i, j), variant);
  return RV_OK;
}
