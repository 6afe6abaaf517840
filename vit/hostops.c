/* Host-memory helpers for the few things the kernels have no op for: ReLU and sigmoid on
 * the small set-head tensors, and the position tables made once at context init. */
#include <math.h>

#include "vit-impl.h"

static rv_status need_host(rv_backend *be, const rv_tensor *t, const char *what) {
  if (!t || !be) return RV_FAIL(RV_ERR_INVALID, "%s: backend and tensor must not be NULL", what);
  if (rv_backend_mem(be) != RV_MEM_HOST || t->mem != RV_MEM_HOST || t->dtype != RV_F32)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "%s runs on host f32 tensors only (backend %s)", what,
                   rv_backend_name(be));
  if (t->ndim != 2) return RV_FAIL(RV_ERR_SHAPE, "%s wants a 2-D tensor", what);
  return RV_OK;
}

static float relu(float x) { return x > 0.0f ? x : 0.0f; }
static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static rv_status map_rows(rv_backend *be, rv_tensor *t, const char *what, float (*f)(float)) {
  rv_status st = need_host(be, t, what);
  if (st < 0) return st;
  for (int64_t r = 0; r < t->shape[0]; r++) {
    float *x = (float *)rv_tensor_row(t, r);
    for (int64_t c = 0; c < t->shape[1]; c++)
      x[c] = f(x[c]);
  }
  return RV_OK;
}

rv_status rv_host_relu(rv_backend *be, rv_tensor *t) { return map_rows(be, t, "relu", relu); }
rv_status rv_host_sigmoid(rv_backend *be, rv_tensor *t) {
  return map_rows(be, t, "sigmoid", sigmoid);
}

void rv_sincos_rows(float *out, int64_t rows, int dim, double pos0, double step) {
  for (int64_t r = 0; r < rows; r++) {
    double pos = pos0 + (double)r * step;
    for (int i = 0; 2 * i < dim; i++) {
      double a = pos / pow(10000.0, 2.0 * i / dim);
      out[r * dim + 2 * i] = (float)sin(a);
      if (2 * i + 1 < dim) out[r * dim + 2 * i + 1] = (float)cos(a);
    }
  }
}

/* Cubic convolution weights of the 4 taps around t in [0, 1), A = -0.75 (PyTorch's). */
static void cubic_weights(float t, float w[4]) {
  const float a = -0.75f;
  float x1 = t + 1.0f, x2 = 1.0f - t, x3 = 2.0f - t;
  w[0] = ((a * x1 - 5.0f * a) * x1 + 8.0f * a) * x1 - 4.0f * a;
  w[1] = ((a + 2.0f) * t - (a + 3.0f)) * t * t + 1.0f;
  w[2] = ((a + 2.0f) * x2 - (a + 3.0f)) * x2 * x2 + 1.0f;
  w[3] = ((a * x3 - 5.0f * a) * x3 + 8.0f * a) * x3 - 4.0f * a;
}

static int clampi(int i, int n) { return i < 0 ? 0 : i >= n ? n - 1 : i; }

/* Taps and weights along one axis for output index o (align_corners = False). */
static int axis_taps(int o, int in, int out, rv_resample mode, int idx[4], float w[4]) {
  float scale = (float)in / (float)out;
  float src = scale * ((float)o + 0.5f) - 0.5f;
  if (mode == RV_RESAMPLE_BICUBIC) {
    int x0 = (int)floorf(src);
    cubic_weights(src - (float)x0, w);
    for (int k = 0; k < 4; k++)
      idx[k] = clampi(x0 - 1 + k, in);
    return 4;
  }
  if (src < 0.0f) src = 0.0f;
  int x0 = (int)src;
  int x1 = x0 < in - 1 ? x0 + 1 : x0;
  float l1 = src - (float)x0;
  idx[0] = x0;
  idx[1] = x1;
  w[0] = 1.0f - l1;
  w[1] = l1;
  return 2;
}

void rv_resample_grid(const float *src, int gh, int gw, int dim, float *dst, int oh, int ow,
                      rv_resample mode) {
  for (int y = 0; y < oh; y++) {
    int iy[4], ix[4];
    float wy[4], wx[4];
    int ny = axis_taps(y, gh, oh, mode, iy, wy);
    for (int x = 0; x < ow; x++) {
      int nx = axis_taps(x, gw, ow, mode, ix, wx);
      float *o = dst + ((int64_t)y * ow + x) * dim;
      for (int c = 0; c < dim; c++)
        o[c] = 0.0f;
      for (int a = 0; a < ny; a++)
        for (int b = 0; b < nx; b++) {
          const float *s = src + ((int64_t)iy[a] * gw + ix[b]) * dim;
          float wgt = wy[a] * wx[b];
          for (int c = 0; c < dim; c++)
            o[c] += wgt * s[c];
        }
    }
  }
}
