/* Argument validation for every op, in one place, then dispatch to the backend. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backend-impl.h"

#define DESC(t, buf) rv_tensor_describe((t), (buf), sizeof(buf))

/* A tensor argument is usable by `be`: present, addressable, of a known layout. */
static rv_status check_tensor(rv_backend *be, const rv_tensor *t, const char *name, int ndim,
                              rv_dtype dtype) {
  if (!t) return RV_FAIL(RV_ERR_INVALID, "%s must not be NULL", name);
  if (t->ndim != ndim)
    return RV_FAIL(RV_ERR_SHAPE, "%s must have %d dims, has %d", name, ndim, t->ndim);
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] < 0 || t->stride[i] < 0)
      return RV_FAIL(RV_ERR_SHAPE, "%s has a negative shape or stride in dim %d", name, i);
  }
  if (t->dtype != dtype)
    return RV_FAIL(RV_ERR_DTYPE, "%s is %s, %s needs %s", name, rv_dtype_name(t->dtype),
                   rv_backend_name(be), rv_dtype_name(dtype));
  if (!t->data && rv_tensor_nelem(t) > 0)
    return RV_FAIL(RV_ERR_INVALID, "%s has no data", name);
  if (t->mem != be->mem)
    return RV_FAIL(RV_ERR_INVALID, "%s lives in %s memory, %s needs %s memory", name,
                   t->mem == RV_MEM_HOST ? "host" : "device", rv_backend_name(be),
                   be->mem == RV_MEM_HOST ? "host" : "device");
  if (t->ndim > 0 && t->shape[t->ndim - 1] > 1 && t->stride[t->ndim - 1] != 1)
    return RV_FAIL(RV_ERR_SHAPE, "%s must have unit stride in its last dimension", name);
  return RV_OK;
}

/* Rows of a 2-D view must not overlap each other. */
static rv_status check_rows(const rv_tensor *t, const char *name) {
  if (t->shape[0] > 1 && t->stride[0] < t->shape[1])
    return RV_FAIL(RV_ERR_SHAPE, "%s row stride %lld is smaller than its width %lld", name,
                   (long long)t->stride[0], (long long)t->shape[1]);
  return RV_OK;
}

static int same_shape(const rv_tensor *a, const rv_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return 0;
  return 1;
}

static int overlaps(const rv_tensor *a, const rv_tensor *b) {
  uintptr_t a0 = (uintptr_t)a->data, a1 = a0 + rv_tensor_span_bytes(a);
  uintptr_t b0 = (uintptr_t)b->data, b1 = b0 + rv_tensor_span_bytes(b);
  return a0 < b1 && b0 < a1;
}

static rv_status check_backend(rv_backend *be) {
  if (!be) return RV_FAIL(RV_ERR_INVALID, "backend must not be NULL");
  return RV_OK;
}

#define CHECK(expr)              \
  do {                           \
    rv_status s_ = (expr);       \
    if (s_ < 0) return s_;       \
  } while (0)

rv_status rv_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b, const rv_tensor *bias,
                  rv_tensor *c, const rv_gemm_params *p) {
  char da[64], db[64], dc[64];
  CHECK(check_backend(be));
  rv_dtype dt = be->act_dtype;
  if (!p) return RV_FAIL(RV_ERR_INVALID, "params must not be NULL");
  CHECK(check_tensor(be, a, "a", 2, dt));
  CHECK(check_tensor(be, b, "b", 2, dt));
  CHECK(check_tensor(be, c, "c", 2, dt));
  CHECK(check_rows(a, "a"));
  CHECK(check_rows(b, "b"));
  CHECK(check_rows(c, "c"));
  int64_t m = p->trans_a ? a->shape[1] : a->shape[0];
  int64_t k = p->trans_a ? a->shape[0] : a->shape[1];
  int64_t kb = p->trans_b ? b->shape[1] : b->shape[0];
  int64_t n = p->trans_b ? b->shape[0] : b->shape[1];
  if (k != kb || c->shape[0] != m || c->shape[1] != n)
    return RV_FAIL(RV_ERR_SHAPE, "gemm a %s%s x b %s%s -> c %s does not fit", DESC(a, da),
                   p->trans_a ? "^T" : "", DESC(b, db), p->trans_b ? "^T" : "", DESC(c, dc));
  if (bias) {
    CHECK(check_tensor(be, bias, "bias", 1, dt));
    if (bias->shape[0] != n)
      return RV_FAIL(RV_ERR_SHAPE, "bias has %lld entries, c has %lld columns",
                     (long long)bias->shape[0], (long long)n);
  }
  if (p->act != RV_ACT_NONE && p->act != RV_ACT_GELU_ERF && p->act != RV_ACT_GELU_TANH)
    return RV_FAIL(RV_ERR_INVALID, "unknown activation %d", (int)p->act);
  if (!isfinite(p->alpha) || !isfinite(p->beta))
    return RV_FAIL(RV_ERR_INVALID, "alpha and beta must be finite");
  if (overlaps(c, a) || overlaps(c, b))
    return RV_FAIL(RV_ERR_INVALID, "gemm output c must not alias a or b");
  if (m == 0 || n == 0) return RV_OK;
  return be->vt->gemm(be, a, b, bias, c, p);
}

rv_status rv_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                       const rv_tensor *beta, float eps, rv_tensor *y) {
  char dx[64], dy[64];
  CHECK(check_backend(be));
  rv_dtype dt = be->act_dtype;
  CHECK(check_tensor(be, x, "x", 2, dt));
  CHECK(check_tensor(be, y, "y", 2, dt));
  CHECK(check_tensor(be, gamma, "gamma", 1, dt));
  if (!same_shape(x, y))
    return RV_FAIL(RV_ERR_SHAPE, "layernorm x %s and y %s differ", DESC(x, dx), DESC(y, dy));
  if (gamma->shape[0] != x->shape[1])
    return RV_FAIL(RV_ERR_SHAPE, "gamma has %lld entries, x has %lld columns",
                   (long long)gamma->shape[0], (long long)x->shape[1]);
  if (beta) {
    CHECK(check_tensor(be, beta, "beta", 1, dt));
    if (beta->shape[0] != x->shape[1])
      return RV_FAIL(RV_ERR_SHAPE, "beta has %lld entries, x has %lld columns",
                     (long long)beta->shape[0], (long long)x->shape[1]);
  }
  if (!(eps >= 0.0f) || !isfinite(eps)) return RV_FAIL(RV_ERR_INVALID, "eps must be >= 0");
  if (x->shape[0] == 0) return RV_OK;
  if (x->shape[1] == 0) return RV_FAIL(RV_ERR_SHAPE, "layernorm over zero columns");
  return be->vt->layernorm(be, x, gamma, beta, eps, y);
}

rv_status rv_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant) {
  char dx[64], dy[64];
  CHECK(check_backend(be));
  CHECK(check_tensor(be, x, "x", 2, be->act_dtype));
  CHECK(check_tensor(be, y, "y", 2, be->act_dtype));
  if (!same_shape(x, y))
    return RV_FAIL(RV_ERR_SHAPE, "gelu x %s and y %s differ", DESC(x, dx), DESC(y, dy));
  if (variant != RV_ACT_GELU_ERF && variant != RV_ACT_GELU_TANH)
    return RV_FAIL(RV_ERR_INVALID, "gelu variant must be erf or tanh, got %d", (int)variant);
  if (rv_tensor_nelem(x) == 0) return RV_OK;
  return be->vt->gelu(be, x, y, variant);
}

rv_status rv_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y) {
  char dx[64], dy[64];
  CHECK(check_backend(be));
  CHECK(check_tensor(be, x, "x", 2, be->act_dtype));
  CHECK(check_tensor(be, y, "y", 2, be->act_dtype));
  if (!same_shape(x, y))
    return RV_FAIL(RV_ERR_SHAPE, "softmax x %s and y %s differ", DESC(x, dx), DESC(y, dy));
  if (!isfinite(scale)) return RV_FAIL(RV_ERR_INVALID, "softmax scale must be finite");
  if (x->shape[0] == 0) return RV_OK;
  if (x->shape[1] == 0) return RV_FAIL(RV_ERR_SHAPE, "softmax over zero columns");
  return be->vt->softmax(be, x, scale, y);
}

rv_status rv_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y) {
  char da[64], db[64], dy[64];
  CHECK(check_backend(be));
  rv_dtype dt = be->act_dtype;
  CHECK(check_tensor(be, a, "a", 2, dt));
  CHECK(check_tensor(be, b, "b", 2, dt));
  CHECK(check_tensor(be, y, "y", 2, dt));
  if (!same_shape(a, y) || b->shape[1] != a->shape[1] || b->shape[0] == 0 ||
      a->shape[0] % b->shape[0] != 0)
    return RV_FAIL(RV_ERR_SHAPE, "add a %s + b %s -> y %s does not fit", DESC(a, da),
                   DESC(b, db), DESC(y, dy));
  if (rv_tensor_nelem(a) == 0) return RV_OK;
  return be->vt->add(be, a, b, y);
}

static int is_float_type(rv_dtype dt) { return dt == RV_F32 || dt == RV_BF16 || dt == RV_F16; }

rv_status rv_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst) {
  char ds[64], dd[64];
  CHECK(check_backend(be));
  if (!src || !dst) return RV_FAIL(RV_ERR_INVALID, "src and dst must not be NULL");
  if (!same_shape(src, dst) || src->ndim < 1 || src->ndim > RV_MAX_DIMS)
    return RV_FAIL(RV_ERR_SHAPE, "copy %s -> %s: shapes differ", DESC(src, ds), DESC(dst, dd));
  if (!is_float_type(src->dtype) || !is_float_type(dst->dtype))
    return RV_FAIL(RV_ERR_DTYPE, "copy converts between f32, f16 and bf16, not %s -> %s",
                   rv_dtype_name(src->dtype), rv_dtype_name(dst->dtype));
  CHECK(check_tensor(be, src, "src", src->ndim, src->dtype));
  CHECK(check_tensor(be, dst, "dst", dst->ndim, dst->dtype));
  if (rv_tensor_nelem(src) == 0) return RV_OK;
  return be->vt->copy(be, src, dst);
}

rv_status rv_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                      const float std[3], int patch, int tubelet, rv_tensor *tokens) {
  char df[64], dt[64];
  CHECK(check_backend(be));
  if (!frames || !tokens || !mean || !std)
    return RV_FAIL(RV_ERR_INVALID, "frames, tokens, mean and std must not be NULL");
  if (frames->dtype != RV_U8 && frames->dtype != RV_F32)
    return RV_FAIL(RV_ERR_DTYPE, "frames must be u8 or f32, got %s", rv_dtype_name(frames->dtype));
  CHECK(check_tensor(be, frames, "frames", 4, frames->dtype));
  CHECK(check_tensor(be, tokens, "tokens", 2, be->act_dtype));
  if (!rv_tensor_is_contiguous(frames))
    return RV_FAIL(RV_ERR_SHAPE, "frames must be packed [F, H, W, 3]");
  if (patch < 1 || tubelet < 1)
    return RV_FAIL(RV_ERR_INVALID, "patch (%d) and tubelet (%d) must be >= 1", patch, tubelet);
  for (int c = 0; c < 3; c++)
    if (!(std[c] != 0.0f) || !isfinite(std[c]) || !isfinite(mean[c]))
      return RV_FAIL(RV_ERR_INVALID, "std[%d] must be finite and non-zero", c);
  int64_t f = frames->shape[0], h = frames->shape[1], w = frames->shape[2];
  if (frames->shape[3] != 3 || f % tubelet || h % patch || w % patch)
    return RV_FAIL(RV_ERR_SHAPE, "frames %s do not split into %dx%d patches and tubelets of %d",
                   DESC(frames, df), patch, patch, tubelet);
  int64_t n = (f / tubelet) * (h / patch) * (w / patch);
  int64_t dim = 3LL * tubelet * patch * patch;
  if (tokens->shape[0] != n || tokens->shape[1] != dim)
    return RV_FAIL(RV_ERR_SHAPE, "tokens %s, expected [%lld, %lld]", DESC(tokens, dt),
                   (long long)n, (long long)dim);
  if (n == 0) return RV_OK;
  return be->vt->patchify(be, frames, mean, std, patch, tubelet, tokens);
}

void rv_mask_bounds(rv_mask_kind mask, int32_t window, int64_t *lo, int64_t *hi) {
  *lo = INT64_MIN;
  *hi = INT64_MAX;
  switch (mask) {
  case RV_MASK_NONE: break;
  case RV_MASK_CAUSAL: *lo = 0; break;
  case RV_MASK_WINDOW: *lo = 0; *hi = (int64_t)window - 1; break;
  case RV_MASK_BAND: *lo = -((int64_t)window - 1); *hi = (int64_t)window - 1; break;
  }
}

int rv_attn_block_visible(const rv_attn_params *p, int64_t nq, int64_t nk) {
  if (nq <= 0 || nk <= 0) return 0;
  if (p->mask == RV_MASK_NONE) return 1;
  int64_t lo, hi, tpf = p->tokens_per_frame;
  rv_mask_bounds(p->mask, p->window, &lo, &hi);
  /* qf - kf ranges over [qf_min - kf_max, qf_max - kf_min]; visible iff it meets [lo, hi]. */
  int64_t qf0 = p->q_pos0 / tpf, qf1 = (p->q_pos0 + nq - 1) / tpf;
  int64_t kf0 = p->k_pos0 / tpf, kf1 = (p->k_pos0 + nk - 1) / tpf;
  return qf1 - kf0 >= lo && qf0 - kf1 <= hi;
}

/* q, k, v [N, H, D] views: rows may be strided, each row packs H x D. */
static rv_status check_qkv(rv_backend *be, const rv_tensor *t, const char *name) {
  CHECK(check_tensor(be, t, name, 3, be->act_dtype));
  if (t->shape[1] > 1 && t->stride[1] != t->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "%s must pack heads x head_dim in each row", name);
  if (t->shape[0] > 1 && t->stride[0] < t->shape[1] * t->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "%s rows overlap", name);
  return RV_OK;
}

static rv_status check_partial(rv_backend *be, const rv_tensor *o, const rv_tensor *lse,
                               const char *oname, const char *lname) {
  CHECK(check_tensor(be, o, oname, 3, RV_F32));
  CHECK(check_tensor(be, lse, lname, 2, RV_F32));
  if (o->shape[1] > 1 && o->stride[1] != o->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "%s must pack heads x head_dim in each row", oname);
  if (o->shape[0] > 1 && o->stride[0] < o->shape[1] * o->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "%s rows overlap", oname);
  if (lse->shape[0] != o->shape[1] || lse->shape[1] != o->shape[0])
    return RV_FAIL(RV_ERR_SHAPE, "%s must be [heads %lld, queries %lld]", lname,
                   (long long)o->shape[1], (long long)o->shape[0]);
  CHECK(check_rows(lse, lname));
  return RV_OK;
}

rv_status rv_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                       const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                       rv_tensor *lse) {
  char dq[64], dk[64], dv[64];
  CHECK(check_backend(be));
  if (!p) return RV_FAIL(RV_ERR_INVALID, "params must not be NULL");
  CHECK(check_qkv(be, q, "q"));
  CHECK(check_qkv(be, k, "k"));
  CHECK(check_qkv(be, v, "v"));
  if (!same_shape(k, v) || k->shape[1] != q->shape[1] || k->shape[2] != q->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "attention q %s, k %s, v %s do not agree", DESC(q, dq),
                   DESC(k, dk), DESC(v, dv));
  CHECK(check_partial(be, o, lse, "o", "lse"));
  if (o->shape[0] != q->shape[0] || o->shape[1] != q->shape[1] || o->shape[2] != q->shape[2])
    return RV_FAIL(RV_ERR_SHAPE, "o must have q's shape %s", DESC(q, dq));
  if (!isfinite(p->scale)) return RV_FAIL(RV_ERR_INVALID, "attention scale must be finite");
  if ((unsigned)p->mask > RV_MASK_BAND)
    return RV_FAIL(RV_ERR_INVALID, "unknown mask kind %d", (int)p->mask);
  if (p->mask != RV_MASK_NONE) {
    if (p->tokens_per_frame <= 0)
      return RV_FAIL(RV_ERR_INVALID, "masked attention needs tokens_per_frame > 0");
    if (p->q_pos0 < 0 || p->k_pos0 < 0)
      return RV_FAIL(RV_ERR_INVALID, "token positions must be >= 0");
  }
  if ((p->mask == RV_MASK_WINDOW || p->mask == RV_MASK_BAND) && p->window < 1)
    return RV_FAIL(RV_ERR_INVALID, "window must be >= 1 frame, got %d", p->window);
  if (q->shape[0] == 0) return RV_OK;
  return be->vt->attention(be, q, k, v, p, o, lse);
}

rv_status rv_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a, const rv_tensor *o_b,
                        const rv_tensor *lse_b) {
  char da[64], db[64];
  CHECK(check_backend(be));
  CHECK(check_partial(be, o_a, lse_a, "o_a", "lse_a"));
  CHECK(check_partial(be, o_b, lse_b, "o_b", "lse_b"));
  if (!same_shape(o_a, o_b))
    return RV_FAIL(RV_ERR_SHAPE, "merge o_a %s and o_b %s differ", DESC(o_a, da), DESC(o_b, db));
  if (o_a->shape[0] == 0) return RV_OK;
  return be->vt->attn_merge(be, o_a, lse_a, o_b, lse_b);
}
