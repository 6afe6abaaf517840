/* The seed's RingAttention sequence model (see seed.h) on the kernels ops. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vit-impl.h"

struct rv_seed {
  rv_model *m;
  rv_seed_cfg cfg;
  rv_backend *be;
  int max_batch;
  rv_arena *arena;
  rv_tensor x, h, qkv, attn,
      mlp; /* [window, hidden], .., [window, 3 hidden], .., [window, 4 hidden] */
  rv_tensor o_tmp, lse_acc, lse_tmp; /* one chunk's partial output and the log-sum-exps */
};

rv_seed_cfg rv_seed_defaults(int embed_dim) {
  rv_seed_cfg c = {embed_dim, 256, 4, 4, 4, 0.1f, 60};
  return c;
}

int rv_seed_output_size(const rv_seed_cfg *cfg) { return cfg ? cfg->hidden_size : 0; }
const rv_seed_cfg *rv_seed_config(const rv_seed *s) { return s ? &s->cfg : NULL; }

static rv_status check_seed_cfg(const rv_seed_cfg *c) {
  if (c->embed_dim < 1) return RV_FAIL(RV_ERR_INVALID, "embed_dim is required (>= 1)");
  if (c->hidden_size < 1 || c->num_heads < 1 || c->hidden_size % c->num_heads)
    return RV_FAIL(RV_ERR_INVALID, "hidden_size %d must be a positive multiple of num_heads %d",
                   c->hidden_size, c->num_heads);
  if (c->num_chunks < 1 || c->num_layers < 1 || c->window_size < 1)
    return RV_FAIL(RV_ERR_INVALID, "num_chunks, num_layers and window_size must be >= 1");
  if (c->window_size % c->num_chunks)
    return RV_FAIL(RV_ERR_INVALID, "window_size %d does not split into %d chunks", c->window_size,
                   c->num_chunks);
  if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
    return RV_FAIL(RV_ERR_INVALID, "dropout must be in [0, 1)");
  return RV_OK;
}

rv_status rv_seed_config_from_json(json_t *root, rv_seed_cfg *out) {
  static const char *const keys[] = {"arch",      "embed_dim",   "hidden_size",
                                     "num_heads", "num_chunks",  "num_layers",
                                     "dropout",   "window_size", NULL};
  rv_seed_cfg c = rv_seed_defaults(0);
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    int k = 0;
    while (keys[k] && strcmp(keys[k], key))
      k++;
    if (!keys[k]) return RV_FAIL(RV_ERR_FORMAT, "seed config: unknown key \"%s\"", key);
    if (k == 0) continue;
    if (k == 6) {
      if (!json_is_number(val))
        return RV_FAIL(RV_ERR_FORMAT, "seed config: dropout must be a number");
      c.dropout = (float)json_number_value(val);
      continue;
    }
    if (!json_is_integer(val) || json_integer_value(val) < 1 || json_integer_value(val) > (1 << 20))
      return RV_FAIL(RV_ERR_FORMAT, "seed config: \"%s\" must be a positive integer", key);
    int *fields[] = {NULL,          &c.embed_dim,  &c.hidden_size, &c.num_heads,
                     &c.num_chunks, &c.num_layers, NULL,           &c.window_size};
    *fields[k] = (int)json_integer_value(val);
  }
  rv_status st = check_seed_cfg(&c);
  if (st < 0) return RV_FAIL(RV_ERR_FORMAT, "seed config: %s", rv_last_error());
  *out = c;
  return RV_OK;
}

static rv_status want2(rv_tensor_fn fn, void *user, const char *pre, const char *what, int64_t out,
                       int64_t in) {
  rv_status st = RV_OK;
  char n[96];
  int64_t w[2] = {out, in}, b[1] = {out};
  snprintf(n, sizeof n, "%s%s.weight", pre, what);
  RV_TRY(fn(user, n, in ? 2 : 1, in ? w : b));
  snprintf(n, sizeof n, "%s%s.bias", pre, what);
  RV_TRY(fn(user, n, 1, b));
fail:
  return st;
}

rv_status rv_seed_expected_tensors(const rv_seed_cfg *c, rv_tensor_fn fn, void *user) {
  rv_status st = RV_OK;
  int64_t h = c->hidden_size;
  if (c->embed_dim != c->hidden_size)
    RV_TRY(want2(fn, user, "", "input_projection", h, c->embed_dim));
  for (int l = 1; l <= c->num_layers; l++) {
    char pre[32];
    snprintf(pre, sizeof pre, "ring_%d_", l);
    RV_TRY(want2(fn, user, pre, "attn_norm", h, 0));
    RV_TRY(want2(fn, user, pre, "qkv", 3 * h, h));
    RV_TRY(want2(fn, user, pre, "out_proj", h, h));
    RV_TRY(want2(fn, user, pre, "ffn_norm", h, 0));
    RV_TRY(want2(fn, user, pre, "ffn_up", 4 * h, h));
    RV_TRY(want2(fn, user, pre, "ffn_down", h, 4 * h));
  }
  RV_TRY(want2(fn, user, "", "final_norm", h, 0));
fail:
  return st;
}

static rv_status carve(rv_seed *s, int64_t d0, int64_t d1, rv_tensor *out) {
  int64_t shape[2] = {d0, d1};
  return rv_arena_tensor(s->arena, RV_F32, 2, shape, out);
}

static rv_status init_runtime(rv_seed *s, rv_backend *be, int max_batch) {
  rv_status st = RV_OK;
  const rv_seed_cfg *c = &s->cfg;
  if (!be || max_batch < 1)
    return RV_FAIL(RV_ERR_INVALID, "backend and max_batch >= 1 are required");
  if (rv_backend_mem(be) != RV_MEM_HOST || rv_backend_act_dtype(be) != RV_F32)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "the seed model runs on the CPU backends, not %s",
                   rv_backend_name(be));
  s->be = be;
  s->max_batch = max_batch;
  int64_t w = c->window_size, h = c->hidden_size, ch = w / c->num_chunks;
  size_t f = sizeof(float);
  size_t bytes = rv_arena_round(w * h * f) * 3 + rv_arena_round(w * 3 * h * f) +
                 rv_arena_round(w * 4 * h * f) + rv_arena_round(ch * h * f) +
                 2 * rv_arena_round(c->num_heads * ch * f);
  RV_TRY(rv_arena_init(be, bytes, &s->arena));
  RV_TRY(carve(s, w, h, &s->x));
  RV_TRY(carve(s, w, h, &s->h));
  RV_TRY(carve(s, w, 3 * h, &s->qkv));
  RV_TRY(carve(s, w, h, &s->attn));
  RV_TRY(carve(s, w, 4 * h, &s->mlp));
  RV_TRY(carve(s, ch, h, &s->o_tmp));
  RV_TRY(carve(s, c->num_heads, ch, &s->lse_acc));
  RV_TRY(carve(s, c->num_heads, ch, &s->lse_tmp));
fail:
  return st;
}

/* Axon's defaults: glorot-uniform kernels, zero biases, unit LayerNorm gains. */
static void init_weights(rv_model *m, uint64_t seed) {
  uint64_t r = seed * 0x9E3779B97F4A7C15ull + 1;
  for (int i = 0; i < m->n; i++) {
    rv_tensor *t = &m->e[i].t;
    float *p = t->data;
    int64_t n = rv_tensor_nelem(t);
    int is_norm = strstr(m->e[i].name, "norm") != NULL,
        is_w = strstr(m->e[i].name, ".weight") != NULL;
    if (t->ndim == 1) {
      for (int64_t k = 0; k < n; k++)
        p[k] = is_norm && is_w ? 1.0f : 0.0f;
      continue;
    }
    double lim = sqrt(6.0 / (double)(t->shape[0] + t->shape[1]));
    for (int64_t k = 0; k < n; k++) {
      r ^= r << 13;
      r ^= r >> 7;
      r ^= r << 17;
      p[k] = (float)(lim * (2.0 * (double)(r >> 11) / 9007199254740992.0 - 1.0));
    }
  }
}

rv_status rv_seed_build(const rv_seed_cfg *cfg, uint64_t seed, rv_backend *backend, int max_batch,
                        rv_seed **out) {
  rv_status st = RV_OK;
  rv_seed *s = NULL;
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  RV_TRY(check_seed_cfg(cfg));
  s = calloc(1, sizeof *s);
  if (!s || !(s->m = calloc(1, sizeof *s->m))) RV_TRY_FAIL(RV_ERR_NOMEM, "seed model");
  s->cfg = *cfg;
  s->m->arch = RV_ARCH_SEED;
  s->m->seed = *cfg;
  RV_TRY(rv_model_alloc_expected(s->m));
  init_weights(s->m, seed);
  RV_TRY(init_runtime(s, backend, max_batch));
  *out = s;
  return RV_OK;
fail:
  rv_seed_free(s);
  return st;
}

rv_status rv_seed_load(const char *path, rv_backend *backend, int max_batch, rv_seed **out) {
  rv_status st = RV_OK;
  rv_seed *s = NULL;
  if (!path || !out) return RV_FAIL(RV_ERR_INVALID, "path and out must not be NULL");
  *out = NULL;
  s = calloc(1, sizeof *s);
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "seed model");
  RV_TRY(rv_model_load(path, &s->m));
  if (s->m->arch != RV_ARCH_SEED)
    RV_TRY_FAIL(RV_ERR_FORMAT, "%s is not a seed model (arch vit)", path);
  s->cfg = s->m->seed;
  RV_TRY(init_runtime(s, backend, max_batch));
  *out = s;
  return RV_OK;
fail:
  rv_seed_free(s);
  return st;
}

void rv_seed_free(rv_seed *s) {
  if (!s) return;
  rv_arena_free(s->arena);
  rv_model_free(s->m);
  free(s);
}

/* The model's "<pre><what>.weight" and ".bias". */
static rv_status pair(const rv_seed *s, const char *pre, const char *what, const rv_tensor **w,
                      const rv_tensor **b) {
  char n[96];
  snprintf(n, sizeof n, "%s%s.weight", pre, what);
  *w = rv_model_get(s->m, n);
  snprintf(n, sizeof n, "%s%s.bias", pre, what);
  *b = rv_model_get(s->m, n);
  if (!*w || !*b) return RV_FAIL(RV_ERR_INTERNAL, "seed tensor %s missing", n);
  return RV_OK;
}

/* c = act(a W^T + b) + beta c with the model's "<pre><what>" weights. */
static rv_status dense(rv_seed *s, const char *pre, const char *what, const rv_tensor *a,
                       rv_tensor *c, rv_act act, float beta) {
  const rv_tensor *w, *b;
  rv_status st = pair(s, pre, what, &w, &b);
  if (st < 0) return st;
  rv_gemm_params p = {0, 1, 1.0f, beta, act};
  return rv_gemm(s->be, a, w, b, c, &p);
}

static rv_status norm(rv_seed *s, const char *pre, const char *what, const rv_tensor *x,
                      rv_tensor *y) {
  const rv_tensor *g, *b;
  rv_status st = pair(s, pre, what, &g, &b);
  if (st < 0) return st;
  return rv_layernorm(s->be, x, g, b, 1e-5f, y);
}

/* [n, H, hd] view of `rows` rows of a 2-D tensor starting at row r0 and column c0. */
static rv_tensor heads3(const rv_tensor *t, int64_t r0, int64_t n, int64_t c0, int heads, int hd) {
  rv_tensor v = rv_tensor_3d((float *)rv_tensor_row(t, r0) + c0, RV_F32, n, heads, hd);
  v.stride[0] = t->stride[0];
  return v;
}

/* Each query chunk visits the key/value chunks in ring order (q + step) mod n, token-causal,
 * merging the partials by log-sum-exp; chunks the mask hides entirely are skipped. */
static rv_status ring_attention(rv_seed *s, int64_t seq) {
  rv_status st = RV_OK;
  const rv_seed_cfg *c = &s->cfg;
  int heads = c->num_heads, hd = c->hidden_size / heads, n = c->num_chunks;
  int64_t ch = seq / n, h = c->hidden_size;
  for (int qi = 0; qi < n; qi++) {
    rv_tensor q = heads3(&s->qkv, qi * ch, ch, 0, heads, hd),
              o = heads3(&s->attn, qi * ch, ch, 0, heads, hd);
    rv_tensor la = s->lse_acc, lt = s->lse_tmp, ot = heads3(&s->o_tmp, 0, ch, 0, heads, hd);
    la.shape[1] = lt.shape[1] = ch;
    for (int step = 0; step < n; step++) {
      int kv = (qi + step) % n;
      rv_attn_params p = {1.0f / sqrtf((float)hd), RV_MASK_CAUSAL, 0, 1, qi * ch, kv * ch};
      if (!rv_attn_block_visible(&p, ch, ch)) continue;
      rv_tensor k = heads3(&s->qkv, kv * ch, ch, h, heads, hd),
                v = heads3(&s->qkv, kv * ch, ch, 2 * h, heads, hd);
      if (step == 0) { /* the chunk's own keys: always visible, starts the accumulator */
        RV_TRY(rv_attention(s->be, &q, &k, &v, &p, &o, &la));
      } else {
        RV_TRY(rv_attention(s->be, &q, &k, &v, &p, &ot, &lt));
        RV_TRY(rv_attn_merge(s->be, &o, &la, &ot, &lt));
      }
    }
  }
fail:
  return st;
}

static rv_status layer(rv_seed *s, int l, rv_tensor *x, int64_t seq) {
  rv_status st = RV_OK;
  char pre[32];
  snprintf(pre, sizeof pre, "ring_%d_", l);
  rv_tensor h = rv_rows(&s->h, 0, seq), qkv = rv_rows(&s->qkv, 0, seq),
            attn = rv_rows(&s->attn, 0, seq);
  rv_tensor mlp = rv_rows(&s->mlp, 0, seq);
  RV_TRY(norm(s, pre, "attn_norm", x, &h));
  RV_TRY(dense(s, pre, "qkv", &h, &qkv, RV_ACT_NONE, 0.0f));
  RV_TRY(ring_attention(s, seq));
  RV_TRY(dense(s, pre, "out_proj", &attn, x, RV_ACT_NONE, 1.0f));
  RV_TRY(norm(s, pre, "ffn_norm", x, &h));
  RV_TRY(dense(s, pre, "ffn_up", &h, &mlp, RV_ACT_GELU_ERF, 0.0f));
  RV_TRY(dense(s, pre, "ffn_down", &mlp, x, RV_ACT_NONE, 1.0f));
fail:
  return st;
}

static rv_status check_io(const rv_seed *s, const rv_tensor *x, const rv_tensor *y) {
  const rv_seed_cfg *c = &s->cfg;
  if (!x || !y || x->ndim != 3 || y->ndim != 2 || x->dtype != RV_F32 || y->dtype != RV_F32)
    return RV_FAIL(RV_ERR_SHAPE,
                   "x must be [batch, seq, embed_dim] and y [batch, hidden_size], f32");
  if (!rv_tensor_is_contiguous(x) || !rv_tensor_is_contiguous(y))
    return RV_FAIL(RV_ERR_SHAPE, "x and y must be packed");
  int64_t b = x->shape[0], seq = x->shape[1];
  if (b < 1 || b > s->max_batch)
    return RV_FAIL(RV_ERR_SHAPE, "batch %lld, the model takes 1 to %d", (long long)b, s->max_batch);
  if (seq < 1 || seq > c->window_size || seq % c->num_chunks)
    return RV_FAIL(RV_ERR_SHAPE,
                   "seq_len %lld must be a multiple of num_chunks %d, at most window_size %d",
                   (long long)seq, c->num_chunks, c->window_size);
  if (x->shape[2] != c->embed_dim || y->shape[0] != b || y->shape[1] != c->hidden_size)
    return RV_FAIL(RV_ERR_SHAPE, "x must be [%lld, %lld, %d] and y [%lld, %d]", (long long)b,
                   (long long)seq, c->embed_dim, (long long)b, c->hidden_size);
  return RV_OK;
}

rv_status rv_seed_forward(rv_seed *s, const rv_tensor *x, rv_tensor *y) {
  rv_status st = RV_OK;
  if (!s) return RV_FAIL(RV_ERR_INVALID, "model must not be NULL");
  RV_TRY(check_io(s, x, y));
  const rv_seed_cfg *c = &s->cfg;
  int64_t seq = x->shape[1];
  for (int64_t b = 0; b < x->shape[0]; b++) {
    rv_tensor xb =
        rv_tensor_2d((float *)x->data + b * seq * c->embed_dim, RV_F32, seq, c->embed_dim);
    rv_tensor hx = rv_rows(&s->x, 0, seq);
    if (c->embed_dim != c->hidden_size)
      RV_TRY(dense(s, "", "input_projection", &xb, &hx, RV_ACT_NONE, 0.0f));
    else
      RV_TRY(rv_copy(s->be, &xb, &hx));
    for (int l = 1; l <= c->num_layers; l++)
      RV_TRY(layer(s, l, &hx, seq));
    rv_tensor last = rv_rows(&hx, seq - 1, 1), yb = rv_rows(y, b, 1);
    RV_TRY(norm(s, "", "final_norm", &last, &yb));
  }
fail:
  return st;
}
