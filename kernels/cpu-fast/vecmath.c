/* Vector math over float arrays, written so the compiler vectorizes every loop (16 lanes
 * of accumulators, no calls into libm), and compiled in clones per ISA. */
#include <math.h>
#include <string.h>

#include "cpu-fast-impl.h"

/* exp(x) to about 1e-7 relative: x = n ln2 + r, |r| <= ln2/2, Cephes' polynomial for
 * e^r, 2^n built in the exponent bits. Below -87 (where f32 turns subnormal) the result
 * is exactly 0, so masked (-inf) scores carry no weight at all. */
static inline float fast_exp(float in) {
  float x = in < -87.0f ? -87.0f : in;
  x = x > 88.0f ? 88.0f : x;
  /* round(x log2 e) by truncation of a positive value: floorf would be a libm call in
   * the clones, a conversion vectorizes */
  int32_t ni = (int32_t)(x * 1.44269504088896341f + 128.5f) - 128;
  float n = (float)ni;
  float r = x - n * 0.693359375f + n * 2.12194440e-4f;
  float q = 1.9875691500e-4f;
  q = q * r + 1.3981999507e-3f;
  q = q * r + 8.3334519073e-3f;
  q = q * r + 4.1665795894e-2f;
  q = q * r + 1.6666665459e-1f;
  q = q * r + 5.0000001201e-1f;
  float e = q * r * r + r + 1.0f;
  int32_t bits = (ni + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return in < -87.0f ? 0.0f : e * scale;
}

/* erfc(z) with fractional error below 1.2e-7 everywhere (Chebyshev fit, Numerical
 * Recipes' erfcc), so that GELU needs no libm call. */
static inline float fast_erfc(float z) {
  float az = fabsf(z);
  float t = 1.0f / (1.0f + 0.5f * az);
  float poly =
      -1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f +
                               t * (-1.13520398f +
                                    t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  float ans = t * fast_exp(-az * az + poly);
  return z >= 0.0f ? ans : 2.0f - ans;
}

static inline float gelu_erf(float x) { return 0.5f * x * fast_erfc(-x * 0.70710678118654752f); }

static inline float gelu_tanh(float x) {
  float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
  float th = 1.0f - 2.0f / (fast_exp(2.0f * u) + 1.0f);
  return 0.5f * x * (1.0f + th);
}

RV_VECTOR_CLONES
float rv_vec_exp_sub(float *x, int64_t n, float sub) {
  float lanes[16] = {0};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int q = 0; q < 16; q++) {
      float e = fast_exp(x[i + q] - sub);
      x[i + q] = e;
      lanes[q] += e;
    }
  float s = 0.0f;
  for (; i < n; i++) {
    x[i] = fast_exp(x[i] - sub);
    s += x[i];
  }
  for (int q = 0; q < 16; q++)
    s += lanes[q];
  return s;
}

RV_VECTOR_CLONES
float rv_vec_max(const float *x, int64_t n) {
  float lanes[16];
  for (int q = 0; q < 16; q++)
    lanes[q] = -INFINITY;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int q = 0; q < 16; q++)
      lanes[q] = lanes[q] > x[i + q] ? lanes[q] : x[i + q];
  float m = -INFINITY;
  for (; i < n; i++)
    m = m > x[i] ? m : x[i];
  for (int q = 0; q < 16; q++)
    m = m > lanes[q] ? m : lanes[q];
  return m;
}

RV_VECTOR_CLONES
void rv_vec_scale(float *x, int64_t n, float s) {
  for (int64_t i = 0; i < n; i++)
    x[i] *= s;
}

RV_VECTOR_CLONES
void rv_vec_softmax_cols(float *st, int64_t ldq, int64_t bk, float *m, float *l, float *alpha,
                         float *tmp) {
  float *mx = tmp, *sum = tmp + ldq;
  for (int64_t r = 0; r < ldq; r++)
    mx[r] = m[r];
  for (int64_t c = 0; c < bk; c++)
    for (int64_t r = 0; r < ldq; r++)
      mx[r] = mx[r] > st[c * ldq + r] ? mx[r] : st[c * ldq + r];
  for (int64_t r = 0; r < ldq; r++) {
    /* a query that has seen nothing yet keeps max -inf: subtract 0 so exp(-inf) = 0 */
    float sub = mx[r] == -INFINITY ? 0.0f : mx[r];
    alpha[r] = fast_exp(m[r] - sub); /* 0 when m was -inf, exactly 1 when the max held */
    m[r] = mx[r];
    mx[r] = sub;
    sum[r] = 0.0f;
  }
  for (int64_t c = 0; c < bk; c++)
    for (int64_t r = 0; r < ldq; r++) {
      float e = fast_exp(st[c * ldq + r] - mx[r]);
      st[c * ldq + r] = e;
      sum[r] += e;
    }
  for (int64_t r = 0; r < ldq; r++)
    l[r] = l[r] * alpha[r] + sum[r];
}

RV_VECTOR_CLONES
void rv_vec_scale_cols(float *x, int64_t ldq, int64_t rows, const float *s) {
  for (int64_t i = 0; i < rows; i++)
    for (int64_t r = 0; r < ldq; r++)
      x[i * ldq + r] *= s[r];
}

RV_VECTOR_CLONES
void rv_vec_bias_act(float *x, const float *bias, int64_t n, rv_act act) {
  if (bias)
    for (int64_t i = 0; i < n; i++)
      x[i] += bias[i];
  if (act == RV_ACT_GELU_ERF)
    for (int64_t i = 0; i < n; i++)
      x[i] = gelu_erf(x[i]);
  else if (act == RV_ACT_GELU_TANH)
    for (int64_t i = 0; i < n; i++)
      x[i] = gelu_tanh(x[i]);
}

void rv_vec_act(float *x, int64_t n, rv_act act) { rv_vec_bias_act(x, NULL, n, act); }
