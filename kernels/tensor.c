#include <math.h>
#include <stdio.h>
#include <string.h>

#include <ringvit/tensor.h>

size_t rv_dtype_size(rv_dtype dt) {
  switch (dt) {
  case RV_F32: return 4;
  case RV_F16: return 2;
  case RV_BF16: return 2;
  case RV_U8: return 1;
  case RV_I32: return 4;
  }
  return 0;
}

const char *rv_dtype_name(rv_dtype dt) {
  switch (dt) {
  case RV_F32: return "f32";
  case RV_F16: return "f16";
  case RV_BF16: return "bf16";
  case RV_U8: return "u8";
  case RV_I32: return "i32";
  }
  return "unknown";
}

static rv_tensor make_packed(void *data, rv_dtype dt, int ndim, const int64_t *shape) {
  rv_tensor t;
  memset(&t, 0, sizeof t);
  t.data = data;
  t.dtype = dt;
  t.mem = RV_MEM_HOST;
  t.ndim = ndim;
  int64_t stride = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    t.shape[i] = shape[i];
    t.stride[i] = stride;
    stride *= shape[i];
  }
  return t;
}

rv_tensor rv_tensor_1d(void *data, rv_dtype dt, int64_t n0) {
  int64_t s[1] = {n0};
  return make_packed(data, dt, 1, s);
}

rv_tensor rv_tensor_2d(void *data, rv_dtype dt, int64_t n0, int64_t n1) {
  int64_t s[2] = {n0, n1};
  return make_packed(data, dt, 2, s);
}

rv_tensor rv_tensor_3d(void *data, rv_dtype dt, int64_t n0, int64_t n1, int64_t n2) {
  int64_t s[3] = {n0, n1, n2};
  return make_packed(data, dt, 3, s);
}

rv_tensor rv_tensor_4d(void *data, rv_dtype dt, int64_t n0, int64_t n1, int64_t n2,
                       int64_t n3) {
  int64_t s[4] = {n0, n1, n2, n3};
  return make_packed(data, dt, 4, s);
}

int64_t rv_tensor_nelem(const rv_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

size_t rv_tensor_span_bytes(const rv_tensor *t) {
  if (rv_tensor_nelem(t) == 0) return 0;
  int64_t last = 0;
  for (int i = 0; i < t->ndim; i++) last += (t->shape[i] - 1) * t->stride[i];
  return (size_t)(last + 1) * rv_dtype_size(t->dtype);
}

int rv_tensor_is_contiguous(const rv_tensor *t) {
  int64_t stride = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] != 1 && t->stride[i] != stride) return 0;
    stride *= t->shape[i];
  }
  return 1;
}

const char *rv_tensor_describe(const rv_tensor *t, char *buf, size_t cap) {
  size_t n = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < t->ndim && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, i ? ", %lld" : "%lld", (long long)t->shape[i]);
  if (n < cap) snprintf(buf + n, cap - n, "] %s", rv_dtype_name(t->dtype));
  return buf;
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float bits_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float rv_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t rv_f32_to_bf16(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest, ties to even */
  return (uint16_t)(u >> 16);
}

float rv_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t man = h & 0x3ffu;
  if (exp == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13)); /* inf / nan */
  if (exp == 0) { /* zero or subnormal: man * 2^-24 */
    float v = ldexpf((float)man, -24);
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t rv_f32_to_f16(float f) {
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
  uint32_t au = u & 0x7fffffffu;
  if (au > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); /* nan */
  if (au >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* overflow to inf */
  if (au < 0x38800000u) { /* below f16's normal range: subnormal or zero */
    float a = bits_f32(au);
    return (uint16_t)(sign | (uint16_t)lrintf(a * 16777216.0f)); /* a / 2^-24, round even */
  }
  uint32_t rounded = au + 0xfffu + ((au >> 13) & 1u);
  return (uint16_t)(sign | ((rounded - 0x38000000u) >> 13));
}
