#include "cpu-ref-impl.h"

static float load(const rv_tensor *t, int64_t off) {
  switch (t->dtype) {
  case RV_BF16: return rv_bf16_to_f32(((const uint16_t *)t->data)[off]);
  case RV_F16: return rv_f16_to_f32(((const uint16_t *)t->data)[off]);
  default: return ((const float *)t->data)[off];
  }
}

static void store(rv_tensor *t, int64_t off, float v) {
  switch (t->dtype) {
  case RV_BF16: ((uint16_t *)t->data)[off] = rv_f32_to_bf16(v); break;
  case RV_F16: ((uint16_t *)t->data)[off] = rv_f32_to_f16(v); break;
  default: ((float *)t->data)[off] = v; break;
  }
}

/* dst = src elementwise over up to four dims, converting the element type. */
rv_status rv_ref_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst) {
  (void)be;
  int64_t shape[RV_MAX_DIMS] = {1, 1, 1, 1}, ss[RV_MAX_DIMS] = {0}, ds[RV_MAX_DIMS] = {0};
  int pad = RV_MAX_DIMS - src->ndim; /* right-align the dims so four loops cover all cases */
  for (int i = 0; i < src->ndim; i++) {
    shape[pad + i] = src->shape[i];
    ss[pad + i] = src->stride[i];
    ds[pad + i] = dst->stride[i];
  }
  for (int64_t i0 = 0; i0 < shape[0]; i0++)
    for (int64_t i1 = 0; i1 < shape[1]; i1++)
      for (int64_t i2 = 0; i2 < shape[2]; i2++)
        for (int64_t i3 = 0; i3 < shape[3]; i3++) {
          int64_t so = i0 * ss[0] + i1 * ss[1] + i2 * ss[2] + i3 * ss[3];
          int64_t dof = i0 * ds[0] + i1 * ds[1] + i2 * ds[2] + i3 * ds[3];
          store(dst, dof, load(src, so));
        }
  return RV_OK;
}
