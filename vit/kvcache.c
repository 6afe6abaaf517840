/* Ring KV cache (stream mode): a circular buffer of frames per layer, sharded across the
 * ranks of a comm by frame index (frame f on rank f mod R), attended with pass-Q. */
#include <stdlib.h>

#include <ringvit/kvcache.h>

#include "kvcache-impl.h"

/* Physical row ranges of this rank's frames among global frames [lo, n). At most two:
 * the live local frames are consecutive local indices, which wrap around the buffer. */
int rv_kvcache_history_rows(const rv_kvcache *c, int rank, int64_t lo, int64_t n, int64_t row0[2],
                            int64_t rows[2]) {
  int64_t R = c->size, newest = n - 1;
  if (n <= 0 || newest < rank) return 0;
  int64_t j0 = lo <= rank ? 0 : (lo - rank + R - 1) / R; /* first local index >= lo */
  int64_t j1 = (newest - rank) / R;                      /* last local index <= newest */
  if (j1 < j0) return 0;
  int64_t m = j1 - j0 + 1, s0 = j0 % c->slots;
  int64_t first = m < c->slots - s0 ? m : c->slots - s0;
  row0[0] = s0 * c->tpf;
  rows[0] = first * c->tpf;
  if (first == m) return 1;
  row0[1] = 0;
  rows[1] = (m - first) * c->tpf;
  return 2;
}

/* First visible global frame for a layer holding n frames under a window (0 = all). */
static int64_t first_visible(const rv_kvcache *c, int64_t n, int32_t window) {
  int64_t lo = n - c->cap;
  if (window > 0 && n - window > lo) lo = n - window;
  return lo > 0 ? lo : 0;
}

static rv_status check_cfg(const rv_kvcache_cfg *cfg) {
  if (cfg->layers < 1 || cfg->heads < 1 || cfg->head_dim < 1 || cfg->tokens_per_frame < 1)
    return RV_FAIL(RV_ERR_INVALID,
                   "layers (%d), heads (%d), head_dim (%d) and tokens_per_frame (%d) must be >= 1",
                   cfg->layers, cfg->heads, cfg->head_dim, cfg->tokens_per_frame);
  if (cfg->capacity_frames < 1)
    return RV_FAIL(RV_ERR_INVALID, "capacity_frames must be >= 1, got %lld",
                   (long long)cfg->capacity_frames);
  return RV_OK;
}

/* Rows [row0, row0 + n) of a [N, H, D] view. */
static rv_tensor rows_of(const rv_tensor *t, int64_t row0, int64_t n) {
  rv_tensor s = *t;
  s.data = (char *)t->data + (size_t)(row0 * t->stride[0]) * rv_dtype_size(t->dtype);
  s.shape[0] = n;
  return s;
}

static rv_tensor lse_head(const rv_tensor *t, int64_t n) {
  rv_tensor s = *t;
  s.shape[1] = n;
  return s;
}

/* Bytes of the arena: K and V of every layer, then the f32 accumulators and the pass-Q
 * message buffers (q in act dtype, o and lse in f32, twice: receive and send). */
static size_t arena_bytes(const rv_kvcache *c) {
  size_t es = rv_dtype_size(rv_backend_act_dtype(c->be));
  size_t hd = (size_t)c->heads * (size_t)c->head_dim, tpf = (size_t)c->tpf;
  size_t kv = rv_arena_round((size_t)c->slots * tpf * hd * es);
  size_t acc = rv_arena_round(tpf * hd * 4) + rv_arena_round(tpf * (size_t)c->heads * 4);
  return 2 * (size_t)c->layers * kv + 2 * acc + 2 * rv_arena_round(c->msg_bytes);
}

static rv_status carve(rv_kvcache *c) {
  rv_status st = RV_OK;
  rv_dtype dt = rv_backend_act_dtype(c->be);
  int64_t kv_shape[3] = {c->slots * c->tpf, c->heads, c->head_dim};
  int64_t o_shape[3] = {c->tpf, c->heads, c->head_dim}, l_shape[2] = {c->heads, c->tpf};
  for (int l = 0; l < c->layers; l++) {
    RV_TRY(rv_arena_tensor(c->arena, dt, 3, kv_shape, &c->k[l]));
    RV_TRY(rv_arena_tensor(c->arena, dt, 3, kv_shape, &c->v[l]));
  }
  c->kv_bytes = rv_arena_used(c->arena);
  RV_TRY(rv_arena_tensor(c->arena, RV_F32, 3, o_shape, &c->o_acc));
  RV_TRY(rv_arena_tensor(c->arena, RV_F32, 2, l_shape, &c->lse_acc));
  RV_TRY(rv_arena_tensor(c->arena, RV_F32, 3, o_shape, &c->o_tmp));
  RV_TRY(rv_arena_tensor(c->arena, RV_F32, 2, l_shape, &c->lse_tmp));
  for (int i = 0; i < 2; i++)
    RV_TRY(rv_arena_alloc(c->arena, c->msg_bytes, &c->msg[i]));
fail:
  return st;
}

rv_status rv_kvcache_init(const rv_kvcache_cfg *cfg, rv_kvcache **out) {
  rv_status st = RV_OK;
  rv_kvcache *c = NULL;
  if (!cfg || !out || !cfg->backend)
    return RV_FAIL(RV_ERR_INVALID, "cfg, backend and out are required");
  *out = NULL;
  RV_TRY(check_cfg(cfg));
  c = calloc(1, sizeof *c);
  if (!c) RV_TRY_FAIL(RV_ERR_NOMEM, "kvcache handle");
  c->be = cfg->backend;
  c->comm = cfg->comm;
  c->layers = cfg->layers;
  c->heads = cfg->heads;
  c->head_dim = cfg->head_dim;
  c->tpf = cfg->tokens_per_frame;
  c->cap = cfg->capacity_frames;
  c->size = 1;
  RV_TRY(rv_kvcache_join(c, cfg));
  c->slots = (c->cap + c->size - 1) / c->size;
  c->k = calloc((size_t)c->layers, sizeof *c->k);
  c->v = calloc((size_t)c->layers, sizeof *c->v);
  c->appended = calloc((size_t)c->layers, sizeof *c->appended);
  if (!c->k || !c->v || !c->appended) RV_TRY_FAIL(RV_ERR_NOMEM, "kvcache layer tables");
  RV_TRY(rv_arena_init(c->be, arena_bytes(c), &c->arena));
  RV_TRY(carve(c));
  *out = c;
  return RV_OK;
fail:
  rv_kvcache_free(c);
  return st;
}

void rv_kvcache_free(rv_kvcache *c) {
  if (!c) return;
  rv_arena_free(c->arena);
  free(c->k);
  free(c->v);
  free(c->appended);
  free(c);
}

static rv_status check_layer(const rv_kvcache *c, int layer) {
  if (!c) return RV_FAIL(RV_ERR_INVALID, "kvcache must not be NULL");
  if (layer < 0 || layer >= c->layers)
    return RV_FAIL(RV_ERR_INVALID, "layer %d out of range [0, %d)", layer, c->layers);
  return RV_OK;
}

/* A [n, H, D] input of the owner rank; other ranks' inputs are not read. */
static rv_status check_rows(const rv_kvcache *c, const rv_tensor *t, const char *name,
                            int64_t max_rows, int exact) {
  if (!t) return RV_FAIL(RV_ERR_INVALID, "%s must not be NULL", name);
  if (t->ndim != 3 || t->shape[1] != c->heads || t->shape[2] != c->head_dim || t->shape[0] < 1 ||
      t->shape[0] > max_rows || (exact && t->shape[0] != max_rows))
    return RV_FAIL(RV_ERR_SHAPE, "%s must be [%s%lld, %d, %d]", name,
                   exact ? "" : "<= ", (long long)max_rows, c->heads, c->head_dim);
  return RV_OK;
}

rv_status rv_kvcache_append(rv_kvcache *c, int layer, const rv_tensor *k, const rv_tensor *v) {
  rv_status st = RV_OK;
  RV_TRY(check_layer(c, layer));
  int64_t n = c->appended[layer];
  if (n % c->size == c->rank) {
    RV_TRY(check_rows(c, k, "k", c->tpf, 1));
    RV_TRY(check_rows(c, v, "v", c->tpf, 1));
    int64_t row0 = (n / c->size) % c->slots * c->tpf;
    rv_tensor ks = rows_of(&c->k[layer], row0, c->tpf), vs = rows_of(&c->v[layer], row0, c->tpf);
    RV_TRY(rv_copy(c->be, k, &ks));
    RV_TRY(rv_copy(c->be, v, &vs));
  }
  c->appended[layer] = n + 1;
fail:
  return st;
}

/* Adds this rank's visible history to the running (o_acc, lse_acc) of q; `started` says
 * whether the accumulator already holds a partial (it is set when this rank adds one). */
rv_status rv_kvcache_add_local(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                               int32_t window, int *started) {
  rv_status st = RV_OK;
  int64_t n = c->appended[layer], row0[2], rows[2], nq = q->shape[0];
  int nseg = rv_kvcache_history_rows(c, c->rank, first_visible(c, n, window), n, row0, rows);
  rv_attn_params p = {scale, RV_MASK_NONE, 0, c->tpf, 0, 0}; /* all history is visible */
  rv_tensor oa = rows_of(&c->o_acc, 0, nq), la = lse_head(&c->lse_acc, nq);
  rv_tensor ot = rows_of(&c->o_tmp, 0, nq), lt = lse_head(&c->lse_tmp, nq);
  for (int i = 0; i < nseg; i++) {
    rv_tensor ks = rows_of(&c->k[layer], row0[i], rows[i]);
    rv_tensor vs = rows_of(&c->v[layer], row0[i], rows[i]);
    if (!*started) {
      RV_TRY(rv_attention(c->be, q, &ks, &vs, &p, &oa, &la));
      *started = 1;
    } else {
      RV_TRY(rv_attention(c->be, q, &ks, &vs, &p, &ot, &lt));
      RV_TRY(rv_attn_merge(c->be, &oa, &la, &ot, &lt));
    }
  }
fail:
  return st;
}

rv_status rv_kvcache_attend(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window_frames, rv_tensor *o) {
  rv_status st = RV_OK;
  RV_TRY(check_layer(c, layer));
  if (c->appended[layer] < 1)
    RV_TRY_FAIL(RV_ERR_INVALID, "layer %d has no frame yet: append before attend", layer);
  if (window_frames < 0) RV_TRY_FAIL(RV_ERR_INVALID, "window_frames must be >= 0");
  RV_TRY(check_rows(c, o, "o", c->tpf, 0));
  if (rv_kvcache_owner(c, layer) == c->rank) {
    RV_TRY(check_rows(c, q, "q", c->tpf, 0));
    if (q->shape[0] != o->shape[0]) RV_TRY_FAIL(RV_ERR_SHAPE, "q and o must have the same rows");
  }
  RV_TRY(rv_kvcache_pass_q(c, layer, q, scale, window_frames, o));
fail:
  return st;
}

int64_t rv_kvcache_layer_frames(const rv_kvcache *c, int layer) {
  if (!c || layer < 0 || layer >= c->layers) return -1;
  return c->appended[layer] < c->cap ? c->appended[layer] : c->cap;
}

int64_t rv_kvcache_frames(const rv_kvcache *c) { return rv_kvcache_layer_frames(c, 0); }

int64_t rv_kvcache_appended(const rv_kvcache *c, int layer) {
  if (!c || layer < 0 || layer >= c->layers) return -1;
  return c->appended[layer];
}

int rv_kvcache_owner(const rv_kvcache *c, int layer) {
  if (!c || layer < 0 || layer >= c->layers || c->appended[layer] < 1) return -1;
  return (int)((c->appended[layer] - 1) % c->size);
}

size_t rv_kvcache_bytes(const rv_kvcache *c) { return c ? c->kv_bytes : 0; }

void rv_kvcache_reset(rv_kvcache *c) {
  if (!c) return;
  for (int l = 0; l < c->layers; l++)
    c->appended[l] = 0;
}
