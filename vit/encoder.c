/* The encoder: patch embedding, spatial blocks per frame (batched), temporal blocks over
 * the frame-token sequence through the ring, final norm; heads in heads.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/comm.h>

#include "encoder-impl.h"

rv_status rv_carve(rv_carver *cv, int64_t d0, int64_t d1, rv_tensor *out) {
  if (!cv->a) {
    cv->bytes += rv_arena_round((size_t)(d0 * d1) * sizeof(float));
    return RV_OK;
  }
  int64_t s[2] = {d0, d1};
  return rv_arena_tensor(cv->a, RV_F32, 2, s, out);
}

void rv_vit_tap(rv_vit *v, const char *name, const rv_tensor *t) {
  if (v->tap) v->tap(v->tap_user, name, t);
}

rv_status rv_vit_linear(rv_vit *v, const rv_tensor *a, const rv_lin *l, rv_tensor *c, rv_act act,
                        float beta) {
  rv_gemm_params p = {0, 1, 1.0f, beta, act};
  return rv_gemm(v->be, a, &l->w, l->b.data ? &l->b : NULL, c, &p);
}

/* ---- weights ---- */

static rv_status get(const rv_vit *v, const char *fmt, int i, rv_tensor *out) {
  char name[128];
  snprintf(name, sizeof name, fmt, i);
  return rv_model_find(v->m, name, out);
}

rv_status rv_vit_get_lin(const rv_vit *v, const char *prefix, rv_lin *l) {
  rv_status st = RV_OK;
  char n[128];
  snprintf(n, sizeof n, "%s.weight", prefix);
  RV_TRY(rv_model_find(v->m, n, &l->w));
  snprintf(n, sizeof n, "%s.bias", prefix);
  RV_TRY(rv_model_find(v->m, n, &l->b));
fail:
  return st;
}

/* q/v-only biases become one [3D] bias with zeros for k, in `bias` (3D floats). */
static rv_status merge_qv_bias(rv_vit *v, const char *stage, int i, float *bias) {
  rv_status st = RV_OK;
  char fmt[64];
  rv_tensor q, vb;
  snprintf(fmt, sizeof fmt, "%s.%%d.attn.q_bias", stage);
  RV_TRY(get(v, fmt, i, &q));
  snprintf(fmt, sizeof fmt, "%s.%%d.attn.v_bias", stage);
  RV_TRY(get(v, fmt, i, &vb));
  memcpy(bias, q.data, (size_t)v->d * sizeof(float));
  memset(bias + v->d, 0, (size_t)v->d * sizeof(float));
  memcpy(bias + 2 * v->d, vb.data, (size_t)v->d * sizeof(float));
fail:
  return st;
}

static rv_status bind_block(rv_vit *v, const char *stage, int i, rv_block_w *w, float **spare) {
  rv_status st = RV_OK;
  char f[96];
#define GET(field, suffix)                                                                         \
  snprintf(f, sizeof f, "%s.%%d.%s", stage, suffix);                                               \
  RV_TRY(get(v, f, i, &w->field))
  GET(n1w, "norm1.weight");
  GET(n1b, "norm1.bias");
  GET(qkv_w, "attn.qkv.weight");
  GET(proj_w, "attn.proj.weight");
  GET(proj_b, "attn.proj.bias");
  GET(n2w, "norm2.weight");
  GET(n2b, "norm2.bias");
  GET(fc1_w, "mlp.fc1.weight");
  GET(fc1_b, "mlp.fc1.bias");
  GET(fc2_w, "mlp.fc2.weight");
  GET(fc2_b, "mlp.fc2.bias");
  w->has_qkv_b = v->c->qkv_bias != RV_QKV_BIAS_NONE;
  if (v->c->qkv_bias == RV_QKV_BIAS_ALL) {
    GET(qkv_b, "attn.qkv.bias");
  } else if (v->c->qkv_bias == RV_QKV_BIAS_QV) {
    RV_TRY(merge_qv_bias(v, stage, i, *spare));
    w->qkv_b = rv_tensor_1d(*spare, RV_F32, 3 * v->d);
    *spare += 3 * v->d;
  }
#undef GET
fail:
  return st;
}

/* A learned table [npre + gh0 * gw0 + ndet, D] at this context's grid: the grid rows are
 * resampled when the input size differs from the trained one, into `dst`. */
static rv_tensor fit_pos(const rv_vit *v, const rv_tensor *src, float **spare) {
  const rv_vit_config *c = v->c;
  int gh0 = rv_vit_grid_h(c, 0), gw0 = rv_vit_grid_w(c, 0);
  if (gh0 == v->gh && gw0 == v->gw) return *src;
  float *dst = *spare;
  size_t row = (size_t)v->d;
  const float *s = src->data;
  memcpy(dst, s, (size_t)v->npre * row * sizeof(float));
  rv_resample_grid(s + v->npre * row, gh0, gw0, v->d, dst + v->npre * row, v->gh, v->gw,
                   c->pos_resample);
  memcpy(dst + (size_t)(v->npre + v->np) * row, s + (size_t)(v->npre + gh0 * gw0) * row,
         (size_t)v->ndet * row * sizeof(float));
  *spare += (size_t)v->seq * row;
  return rv_tensor_2d(dst, RV_F32, v->seq, v->d);
}

static size_t owned_floats(const rv_vit *v) {
  const rv_vit_config *c = v->c;
  size_t n = 0;
  if (c->pos_embed == RV_POS_LEARNED)
    n += (size_t)v->seq * v->d * (1 + (c->mid_pos_embed ? c->spatial_depth - 1 : 0));
  if (c->qkv_bias == RV_QKV_BIAS_QV) n += (size_t)(c->spatial_depth + c->temporal_depth) * 3 * v->d;
  return n;
}

static rv_status bind_embed(rv_vit *v, float **spare) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  RV_TRY(rv_vit_get_lin(v, "patch_embed", &v->pe));
  if (c->cls_token) RV_TRY(rv_model_find(v->m, "cls_token", &v->cls));
  if (c->dist_token) RV_TRY(rv_model_find(v->m, "dist_token", &v->dist));
  if (c->det_tokens) RV_TRY(rv_model_find(v->m, "det_tokens", &v->det));
  if (c->pos_embed == RV_POS_LEARNED) {
    rv_tensor p;
    RV_TRY(rv_model_find(v->m, "pos_embed", &p));
    v->pos = fit_pos(v, &p, spare);
  }
  if (c->mid_pos_embed) {
    rv_tensor mid;
    RV_TRY(rv_model_find(v->m, "mid_pos_embed", &mid));
    v->mid = calloc((size_t)c->spatial_depth, sizeof *v->mid);
    if (!v->mid) RV_TRY_FAIL(RV_ERR_NOMEM, "mid position table list");
    int64_t rows = mid.shape[1];
    for (int l = 0; l + 1 < c->spatial_depth; l++) {
      rv_tensor ml = rv_tensor_2d((float *)mid.data + l * rows * v->d, RV_F32, rows, v->d);
      v->mid[l] = fit_pos(v, &ml, spare);
    }
  }
fail:
  return st;
}

static rv_status bind_weights(rv_vit *v) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  size_t n = owned_floats(v);
  v->owned = malloc((n ? n : 1) * sizeof(float));
  v->sp = calloc((size_t)c->spatial_depth + 1, sizeof *v->sp);
  v->tp = calloc((size_t)c->temporal_depth + 1, sizeof *v->tp);
  if (!v->owned || !v->sp || !v->tp) return RV_FAIL(RV_ERR_NOMEM, "weight tables");
  float *spare = v->owned;
  RV_TRY(bind_embed(v, &spare));
  for (int i = 0; i < c->spatial_depth; i++)
    RV_TRY(bind_block(v, "spatial", i, &v->sp[i], &spare));
  for (int i = 0; i < c->temporal_depth; i++)
    RV_TRY(bind_block(v, "temporal", i, &v->tp[i], &spare));
  if (c->final_norm) RV_TRY(rv_vit_get_lin(v, "norm", &v->norm));
  RV_TRY(rv_vit_heads_bind(v));
fail:
  return st;
}

/* ---- sizes and the arena ---- */

static rv_status check_cfg(const rv_vit_cfg *cfg) {
  if (!cfg->model || !cfg->backend)
    return RV_FAIL(RV_ERR_INVALID, "model and backend are required");
  if (!rv_model_config(cfg->model))
    return RV_FAIL(RV_ERR_INVALID, "the model is not a ViT (a seed model?)");
  if (rv_backend_mem(cfg->backend) != RV_MEM_HOST || rv_backend_act_dtype(cfg->backend) != RV_F32)
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "the encoder runs on the CPU backends (f32, host memory), not %s",
                   rv_backend_name(cfg->backend));
  if (cfg->max_batch < 1 || cfg->max_frames < cfg->max_batch)
    return RV_FAIL(RV_ERR_INVALID, "need 1 <= max_batch (%d) <= max_frames (%d)", cfg->max_batch,
                   cfg->max_frames);
  const rv_vit_config *c = rv_model_config(cfg->model);
  int ih = cfg->input_h ? cfg->input_h : c->image_h, iw = cfg->input_w ? cfg->input_w : c->image_w;
  if (ih < c->patch || iw < c->patch || ih % c->patch || iw % c->patch)
    return RV_FAIL(RV_ERR_INVALID, "input %dx%d does not split into %d-pixel patches", ih, iw,
                   c->patch);
  if (cfg->band_frames < 0)
    return RV_FAIL(RV_ERR_INVALID, "band_frames must be >= 0, got %d", cfg->band_frames);
  if (cfg->band_frames && (c->temporal_depth == 0 || c->temporal_scope == RV_SCOPE_WINDOW))
    return RV_FAIL(RV_ERR_INVALID,
                   "a temporal band needs a model with global or frame-causal temporal blocks "
                   "(%s has %s)",
                   c->name[0] ? c->name : "the model",
                   c->temporal_depth ? "a sliding window of its own" : "none");
  return RV_OK;
}

static void derive_sizes(rv_vit *v, const rv_vit_cfg *cfg) {
  const rv_vit_config *c = v->c;
  v->gh = rv_vit_grid_h(c, cfg->input_h);
  v->gw = rv_vit_grid_w(c, cfg->input_w);
  v->np = v->gh * v->gw;
  v->npre = rv_vit_prefix_tokens(c);
  v->ndet = c->det_tokens;
  v->seq = v->npre + v->np + v->ndet;
  v->tin = 3 * c->tubelet * c->patch * c->patch;
  v->d = c->width;
  v->heads = c->heads;
  v->hd = c->width / c->heads;
  v->pooled = c->temporal_pool_h > 0;
  v->tpf = v->pooled ? c->temporal_pool_h * c->temporal_pool_w : v->seq;
  v->fold = c->temporal_own_region ? v->tpf : 1;
  v->max_batch = cfg->max_batch;
  v->max_frames = cfg->max_frames;
  v->comm = cfg->comm;
  v->ranks = cfg->comm ? rv_comm_size(cfg->comm) : 1;
  v->rank = cfg->comm ? rv_comm_rank(cfg->comm) : 0;
  /* zigzag evens out causal work; a window needs only the neighbours' blocks when the
   * shares are contiguous (the ring then stops early), and bidirectional work is even */
  v->split = c->temporal_scope == RV_SCOPE_CAUSAL ? RV_RING_ZIGZAG : RV_RING_CONTIGUOUS;
  v->spread = v->ranks > 1;
}

/* The frames of a full context `rank` keeps: all of them on one rank, else its share of
 * the ring's layout by whole frames, so that offline no rank holds more than the largest
 * share (memory O(N / R)), and the kept frames are the rank's temporal rows as they are. */
static rv_status rank_share(const rv_vit *v, int rank, rv_ring_seq *share) {
  memset(share, 0, sizeof *share);
  share->nseg = 1;
  share->seg[0].len = v->max_frames;
  if (!v->spread) return RV_OK;
  return rv_ring_layout_seq(v->split, v->max_frames, 1, v->ranks, rank, share);
}

static rv_status plan_shares(rv_vit *v) {
  v->cap = v->spread ? rv_ring_layout_max_local(v->split, v->max_frames, 1, v->ranks)
                     : v->max_frames;
  return rank_share(v, v->rank, &v->own);
}

/* A share cut at the `total` frames pushed: the frames actually kept, in row order. */
static int cut_share(const rv_ring_seq *share, int64_t total, rv_vit_span span[2]) {
  for (int i = 0; i < share->nseg; i++) {
    int64_t a = share->seg[i].pos0, b = a + share->seg[i].len;
    if (b > total) b = total;
    span[i] = (rv_vit_span){a, b > a ? b - a : 0};
  }
  return share->nseg;
}

int rv_vit_rank_spans(const rv_vit *v, int rank, int64_t total, rv_vit_span span[2]) {
  rv_ring_seq share;
  if (!v || rank < 0 || rank >= v->ranks || rank_share(v, rank, &share) < 0) return 0;
  return cut_share(&share, total, span);
}

size_t rv_vit_token_bytes(const rv_vit *v) {
  if (!v) return 0;
  size_t b = (size_t)rv_tensor_nelem(&v->x) * sizeof(float);
  if (v->pooled) b += 2 * (size_t)rv_tensor_nelem(&v->t) * sizeof(float);
  return b;
}

/* Temporal rows of the largest share any rank keeps. */
static int64_t share_rows(const rv_vit *v) { return v->cap * v->tpf; }

static int64_t work_rows(const rv_vit *v) {
  int64_t r = (int64_t)v->max_batch * v->seq;
  int64_t t = v->c->temporal_depth ? share_rows(v) : 0;
  return r > t ? r : t;
}

static rv_status carve_all(rv_vit *v, rv_carver *cv) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  int64_t rows = work_rows(v), d = v->d, k = v->tpf;
  RV_TRY(rv_carve(cv, v->cap * v->seq, d, &v->x));
  RV_TRY(rv_carve(cv, rows, d, &v->h));
  RV_TRY(rv_carve(cv, rows, 3 * d, &v->qkv));
  RV_TRY(rv_carve(cv, rows, d, &v->attn));
  RV_TRY(rv_carve(cv, rows, c->mlp_dim, &v->mlp));
  RV_TRY(rv_carve(cv, v->heads, v->seq, &v->lse));
  RV_TRY(rv_carve(cv, 1, v->np, &v->mean_row));
  if (v->pooled) {
    RV_TRY(rv_carve(cv, v->cap * k, d, &v->t));
    RV_TRY(rv_carve(cv, v->cap * k, d, &v->t0));
    RV_TRY(rv_carve(cv, k, v->np, &v->pool));
    RV_TRY(rv_carve(cv, v->np, k, &v->unpool));
  }
  if (c->pos_embed == RV_POS_SINUSOIDAL) /* spread: filled for each push's global frames */
    RV_TRY(rv_carve(cv, (v->spread ? v->max_batch : v->cap) * v->seq, d, &v->sinpos));
  if (c->time_embed) RV_TRY(rv_carve(cv, v->cap, d, &v->tpos));
  if (c->pos_embed == RV_POS_SINUSOIDAL) RV_TRY(rv_carve(cv, v->seq, d, &v->step_pos));
  RV_TRY(rv_vit_heads_carve(v, cv));
fail:
  return st;
}

/* Adaptive average pooling of the patch grid to kh x kw regions (PyTorch's region bounds)
 * and the membership matrix that spreads a region's result back to its patches. */
static void fill_pooling(rv_vit *v) {
  int kh = v->c->temporal_pool_h, kw = v->c->temporal_pool_w;
  float *pool = v->pool.data, *unpool = v->unpool.data;
  memset(pool, 0, (size_t)(kh * kw * v->np) * sizeof(float));
  for (int i = 0; i < kh; i++)
    for (int j = 0; j < kw; j++) {
      int r0 = i * v->gh / kh, r1 = ((i + 1) * v->gh + kh - 1) / kh;
      int c0 = j * v->gw / kw, c1 = ((j + 1) * v->gw + kw - 1) / kw;
      float w = 1.0f / (float)((r1 - r0) * (c1 - c0));
      for (int r = r0; r < r1; r++)
        for (int cc = c0; cc < c1; cc++)
          pool[(i * kw + j) * v->np + r * v->gw + cc] = w;
    }
  for (int r = 0; r < v->gh; r++)
    for (int cc = 0; cc < v->gw; cc++) {
      int region = (r * kh / v->gh) * kw + cc * kw / v->gw;
      for (int q = 0; q < kh * kw; q++)
        unpool[(r * v->gw + cc) * kh * kw + q] = q == region ? 1.0f : 0.0f;
    }
}

/* Tables that never change: made once here, in host memory (check_cfg ensured it). */
static void fill_constants(rv_vit *v) {
  float *mr = v->mean_row.data;
  for (int i = 0; i < v->np; i++)
    mr[i] = 1.0f / (float)v->np;
  if (v->pooled) fill_pooling(v);
  if (v->c->pos_embed == RV_POS_SINUSOIDAL && !v->spread)
    rv_sincos_rows(v->sinpos.data, v->sinpos.shape[0], v->d, 0.0, 1.0);
}

static rv_status init_runtime(rv_vit *v) {
  rv_status st = RV_OK;
  rv_carver plan = {NULL, 0};
  RV_TRY(carve_all(v, &plan));
  RV_TRY(rv_arena_init(v->be, plan.bytes, &v->arena));
  rv_carver real = {v->arena, 0};
  RV_TRY(carve_all(v, &real));
  fill_constants(v);
  if (v->c->temporal_depth > 0) {
    rv_ring_cfg rc = {v->be, v->comm, v->fold * v->heads, v->hd, share_rows(v) / v->fold};
    RV_TRY(rv_ring_init(&rc, &v->ring));
  }
  v->times = calloc((size_t)v->cap, sizeof(double));
  if (!v->times) RV_TRY_FAIL(RV_ERR_NOMEM, "timestamps");
fail:
  return st;
}

rv_status rv_vit_init(const rv_vit_cfg *cfg, rv_vit **out) {
  rv_status st = RV_OK;
  rv_vit *v = NULL;
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  RV_TRY(check_cfg(cfg));
  v = calloc(1, sizeof *v);
  if (!v) RV_TRY_FAIL(RV_ERR_NOMEM, "encoder handle");
  v->m = cfg->model;
  v->c = rv_model_config(cfg->model);
  if (cfg->band_frames) { /* a frame-causal model keeps its direction: the band's past half */
    v->banded = *v->c;
    v->banded.temporal_scope =
        v->c->temporal_scope == RV_SCOPE_CAUSAL ? RV_SCOPE_WINDOW : RV_SCOPE_BAND;
    v->banded.temporal_window = cfg->band_frames;
    v->c = &v->banded;
  }
  v->be = cfg->backend;
  v->tap = cfg->tap;
  v->tap_user = cfg->tap_user;
  derive_sizes(v, cfg);
  RV_TRY(plan_shares(v));
  RV_TRY(bind_weights(v));
  RV_TRY(init_runtime(v));
  *out = v;
  return RV_OK;
fail:
  rv_vit_free(v);
  return st;
}

void rv_vit_free(rv_vit *v) {
  if (!v) return;
  rv_ring_free(v->ring);
  rv_kvcache_free(v->cache);
  rv_arena_free(v->arena);
  free(v->times);
  free(v->mid);
  free(v->sp);
  free(v->tp);
  free(v->owned);
  free(v);
}

int rv_vit_tokens_per_frame(const rv_vit *v) { return v ? v->np : 0; }
int rv_vit_token_dim(const rv_vit *v) { return v ? v->tin : 0; }
int rv_vit_seq_tokens(const rv_vit *v) { return v ? v->seq : 0; }
int64_t rv_vit_frames(const rv_vit *v) { return v ? v->n_frames : 0; }

/* ---- blocks ---- */

/* q, k or v (which = 0, 1, 2) of qkv rows [r0, r0 + n) as [n, H, hd]. */
static rv_tensor qkv_part(const rv_vit *v, int64_t r0, int64_t n, int which) {
  rv_tensor t;
  memset(&t, 0, sizeof t);
  t.data = (float *)rv_tensor_row(&v->qkv, r0) + which * v->d;
  t.dtype = RV_F32;
  t.mem = v->qkv.mem;
  t.ndim = 3;
  t.shape[0] = n;
  t.shape[1] = v->heads;
  t.shape[2] = v->hd;
  t.stride[0] = v->qkv.stride[0];
  t.stride[1] = v->hd;
  t.stride[2] = 1;
  return t;
}

static rv_tensor heads_view(const rv_tensor *t2, int64_t r0, int64_t n, int heads, int hd) {
  return rv_tensor_3d(rv_tensor_row(t2, r0), RV_F32, n, heads, hd);
}

/* The temporal attention's q, k or v over `rows` token rows, and its output: [rows, H, hd]
 * views, or folded ([rows / tpf, tpf x H, hd]: a frame's tokens are one key position
 * whose heads never mix) from the contiguous q, k, v that qkv_folded wrote. */
static rv_tensor temporal_part(const rv_vit *v, int64_t rows, int which) {
  if (v->fold == 1) return qkv_part(v, 0, rows, which);
  float *base = (float *)v->qkv.data + (size_t)which * (size_t)(rows * v->d);
  return rv_tensor_3d(base, RV_F32, rows / v->fold, v->fold * v->heads, v->hd);
}

static rv_tensor temporal_out(const rv_vit *v, int64_t rows) {
  return heads_view(&v->attn, 0, rows / v->fold, v->fold * v->heads, v->hd);
}

/* Attention inside each frame: one call per frame of `seq` tokens. */
static rv_status attend_frames(rv_vit *v, int64_t rows) {
  rv_status st = RV_OK;
  rv_attn_params p = {1.0f / sqrtf((float)v->hd), RV_MASK_NONE, 0, 0, 0, 0};
  for (int64_t r0 = 0; r0 < rows; r0 += v->seq) {
    rv_tensor q = qkv_part(v, r0, v->seq, 0), k = qkv_part(v, r0, v->seq, 1),
              vv = qkv_part(v, r0, v->seq, 2);
    rv_tensor o = heads_view(&v->attn, r0, v->seq, v->heads, v->hd);
    RV_TRY(rv_attention(v->be, &q, &k, &vv, &p, &o, &v->lse));
  }
fail:
  return st;
}

static const rv_mask_kind scope_mask[] = {RV_MASK_NONE, RV_MASK_CAUSAL, RV_MASK_WINDOW,
                                          RV_MASK_BAND};

/* Attention of this rank's share of the temporal sequence (v->tseq, `rows` rows) over
 * the whole sequence, through the ring. */
static rv_status attend_sequence(rv_vit *v, int64_t rows) {
  const rv_vit_config *c = v->c;
  rv_ring_seq *seq = &v->tseq;
  seq->scale = 1.0f / sqrtf((float)v->hd);
  seq->mask = scope_mask[c->temporal_scope];
  seq->window = c->temporal_window;
  seq->tokens_per_frame = v->tpf / v->fold;
  rv_tensor q = temporal_part(v, rows, 0), k = temporal_part(v, rows, 1),
            vv = temporal_part(v, rows, 2), o = temporal_out(v, rows);
  return rv_ring_attention(v->ring, &q, &k, &vv, seq, &o);
}

/* Stream mode: the frame's K, V join the layer's history; its queries attend to it. */
static rv_status attend_cache(rv_vit *v, int64_t rows, int layer) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  rv_tensor q = temporal_part(v, rows, 0), k = temporal_part(v, rows, 1),
            vv = temporal_part(v, rows, 2), o = temporal_out(v, rows);
  int32_t window = c->temporal_scope == RV_SCOPE_WINDOW ? c->temporal_window : 0;
  RV_TRY(rv_kvcache_append(v->cache, layer, &k, &vv));
  RV_TRY(rv_kvcache_attend(v->cache, layer, &q, 1.0f / sqrtf((float)v->hd), window, &o));
fail:
  return st;
}

typedef enum attn_mode {
  ATTN_FRAMES = 0, /* spatial: inside each frame */
  ATTN_RING = 1,   /* temporal, offline: the whole sequence */
  ATTN_CACHE = 2,  /* temporal, stream: the new frame against the history */
} attn_mode;

static rv_status attend(rv_vit *v, int64_t rows, attn_mode mode, int layer) {
  if (mode == ATTN_FRAMES) return attend_frames(v, rows);
  if (mode == ATTN_RING) return attend_sequence(v, rows);
  return attend_cache(v, rows, layer);
}

/* q, k and v of `rows` rows of h, each contiguous [rows, D] one after the other in the qkv
 * buffer (its [rows, 3D] holds the same), for the folded temporal attention's views. */
static rv_status qkv_folded(rv_vit *v, const rv_block_w *w, const rv_tensor *h, int64_t rows) {
  rv_status st = RV_OK;
  for (int i = 0; i < 3; i++) {
    rv_lin l = {rv_rows(&w->qkv_w, (int64_t)i * v->d, v->d),
                w->has_qkv_b ? rv_rows(&w->qkv_b, (int64_t)i * v->d, v->d) : (rv_tensor){0}};
    rv_tensor out =
        rv_tensor_2d((float *)v->qkv.data + (size_t)i * (size_t)(rows * v->d), RV_F32, rows, v->d);
    out.mem = v->qkv.mem;
    RV_TRY(rv_vit_linear(v, h, &l, &out, RV_ACT_NONE, 0.0f));
  }
fail:
  return st;
}

/* x += proj(attn(ln1 x)); x += fc2(gelu(fc1(ln2 x))), over `rows` rows of x. */
static rv_status block(rv_vit *v, const rv_block_w *w, rv_tensor *x, int64_t rows, attn_mode mode,
                       int layer) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  rv_tensor h = rv_rows(&v->h, 0, rows), qkv = rv_rows(&v->qkv, 0, rows);
  rv_tensor attn = rv_rows(&v->attn, 0, rows), mlp = rv_rows(&v->mlp, 0, rows);
  rv_lin lqkv = {w->qkv_w, w->has_qkv_b ? w->qkv_b : (rv_tensor){0}};
  rv_lin lproj = {w->proj_w, w->proj_b}, l1 = {w->fc1_w, w->fc1_b}, l2 = {w->fc2_w, w->fc2_b};
  RV_TRY(rv_layernorm(v->be, x, &w->n1w, &w->n1b, c->ln_eps, &h));
  if (mode != ATTN_FRAMES && v->fold > 1)
    RV_TRY(qkv_folded(v, w, &h, rows));
  else
    RV_TRY(rv_vit_linear(v, &h, &lqkv, &qkv, RV_ACT_NONE, 0.0f));
  RV_TRY(attend(v, rows, mode, layer));
  RV_TRY(rv_vit_linear(v, &attn, &lproj, x, RV_ACT_NONE, 1.0f));
  RV_TRY(rv_layernorm(v->be, x, &w->n2w, &w->n2b, c->ln_eps, &h));
  RV_TRY(rv_vit_linear(v, &h, &l1, &mlp, c->gelu, 0.0f));
  RV_TRY(rv_vit_linear(v, &mlp, &l2, x, RV_ACT_NONE, 1.0f));
fail:
  return st;
}

/* ---- spatial stage ---- */

/* Patch embedding, prefix/det tokens and positions for frames [f0, f0 + n) of the sequence;
 * `sin` are the sinusoidal position rows to add (n * seq of them). */
static rv_status embed(rv_vit *v, const rv_tensor *tokens, int64_t f0, int64_t n,
                       const rv_tensor *sin) {
  rv_status st = RV_OK;
  for (int64_t i = 0; i < n; i++) {
    int64_t base = (f0 + i) * v->seq;
    rv_tensor tok = rv_rows(tokens, i * v->np, v->np), dst = rv_rows(&v->x, base + v->npre, v->np);
    RV_TRY(rv_vit_linear(v, &tok, &v->pe, &dst, RV_ACT_NONE, 0.0f));
    if (v->c->cls_token) {
      rv_tensor r = rv_rows(&v->x, base, 1);
      RV_TRY(rv_copy(v->be, &v->cls, &r));
    }
    if (v->c->dist_token) {
      rv_tensor r = rv_rows(&v->x, base + 1, 1);
      RV_TRY(rv_copy(v->be, &v->dist, &r));
    }
    if (v->ndet) {
      rv_tensor r = rv_rows(&v->x, base + v->npre + v->np, v->ndet);
      RV_TRY(rv_copy(v->be, &v->det, &r));
    }
  }
  rv_tensor xb = rv_rows(&v->x, f0 * v->seq, n * v->seq);
  if (v->c->pos_embed == RV_POS_LEARNED) RV_TRY(rv_add(v->be, &xb, &v->pos, &xb));
  if (v->c->pos_embed == RV_POS_SINUSOIDAL) RV_TRY(rv_add(v->be, &xb, sin, &xb));
  rv_vit_tap(v, "embed", &xb);
fail:
  return st;
}

static rv_status check_push(const rv_vit *v, const rv_tensor *tokens, int64_t n) {
  if (n < 1 || n > v->max_batch)
    return RV_FAIL(RV_ERR_INVALID, "%lld frames pushed, the context takes 1 to %d per call",
                   (long long)n, v->max_batch);
  if (v->n_frames + n > v->max_frames)
    return RV_FAIL(RV_ERR_INVALID, "sequence full: %lld + %lld frames, the context holds %d",
                   (long long)v->n_frames, (long long)n, v->max_frames);
  if (!tokens || tokens->ndim != 2 || tokens->shape[0] != n * v->np || tokens->shape[1] != v->tin)
    return RV_FAIL(RV_ERR_SHAPE, "tokens must be [%lld, %d] (n x %d patches, 3*T*P*P)",
                   (long long)(n * v->np), v->tin, v->np);
  return RV_OK;
}

/* Embedding and spatial blocks of frames [f0, f0 + n) of the sequence buffer. */
static rv_status spatial_stage(rv_vit *v, const rv_tensor *tokens, int64_t f0, int64_t n,
                               const rv_tensor *sin) {
  rv_status st = RV_OK;
  char name[32];
  RV_TRY(embed(v, tokens, f0, n, sin));
  rv_tensor xb = rv_rows(&v->x, f0 * v->seq, n * v->seq);
  for (int l = 0; l < v->c->spatial_depth; l++) {
    RV_TRY(block(v, &v->sp[l], &xb, n * v->seq, ATTN_FRAMES, l));
    if (v->c->mid_pos_embed && l + 1 < v->c->spatial_depth)
      RV_TRY(rv_add(v->be, &xb, &v->mid[l], &xb));
    snprintf(name, sizeof name, "spatial.%d", l);
    rv_vit_tap(v, name, &xb);
  }
fail:
  return st;
}

static double default_time(const rv_vit *v, int64_t frame) {
  double fps = v->c->fps > 0.0 ? v->c->fps : 1.0;
  return (double)(frame * v->c->tubelet) / fps;
}

/* Sinusoidal position rows of the n frames from frame f of the sequence, kept at slot l. */
static rv_tensor positions(rv_vit *v, int64_t f, int64_t l, int64_t n) {
  if (!v->sinpos.data) return v->sinpos;
  if (!v->spread) return rv_rows(&v->sinpos, l * v->seq, n * v->seq); /* l == f */
  rv_sincos_rows(v->sinpos.data, n * v->seq, v->d, (double)(f * v->seq), 1.0);
  return rv_rows(&v->sinpos, 0, n * v->seq);
}

/* Frames [f, f + n) of a push whose first frame is f0, kept: spatial stage into the next
 * free slots. */
static rv_status keep_frames(rv_vit *v, const rv_tensor *tokens, int64_t f0, int64_t f, int64_t n,
                             const double *times_s) {
  rv_status st = RV_OK;
  int64_t l = v->n_local;
  rv_tensor tok = rv_rows(tokens, (f - f0) * v->np, n * v->np), sin = positions(v, f, l, n);
  RV_TRY(spatial_stage(v, &tok, l, n, &sin));
  for (int64_t i = 0; i < n; i++)
    v->times[l + i] = times_s ? times_s[f - f0 + i] : default_time(v, f + i);
  v->n_local += n;
fail:
  return st;
}

rv_status rv_vit_push(rv_vit *v, const rv_tensor *tokens, int64_t n, const double *times_s) {
  rv_status st = RV_OK;
  if (!v) return RV_FAIL(RV_ERR_INVALID, "encoder must not be NULL");
  RV_TRY(check_push(v, tokens, n));
  int64_t f0 = v->n_frames;
  for (int i = 0; i < v->own.nseg; i++) { /* the frames of this push in this rank's share */
    int64_t a = v->own.seg[i].pos0, b = a + v->own.seg[i].len;
    a = a > f0 ? a : f0;
    b = b < f0 + n ? b : f0 + n;
    if (a < b) RV_TRY(keep_frames(v, tokens, f0, a, b - a, times_s));
  }
  v->n_frames += n;
  /* ranks stay within one push of each other: the ring at finish then never waits for a
   * rank that fell minutes behind, and a rank that died is noticed here, within the
   * comm's timeout */
  if (v->ranks > 1) RV_TRY(rv_comm_barrier(v->comm));
fail:
  return st;
}

/* ---- temporal stage ---- */

/* The temporal sequence: pooled patch tokens of each frame, or the frames' whole sequences. */
static rv_status temporal_input(rv_vit *v, rv_tensor *seq) {
  rv_status st = RV_OK;
  int64_t n = v->n_local;
  if (!v->pooled) {
    *seq = rv_rows(&v->x, 0, n * v->seq);
    return RV_OK;
  }
  rv_gemm_params p = {0, 0, 1.0f, 0.0f, RV_ACT_NONE};
  for (int64_t f = 0; f < n; f++) {
    rv_tensor xp = rv_rows(&v->x, f * v->seq + v->npre, v->np),
              tf = rv_rows(&v->t, f * v->tpf, v->tpf);
    RV_TRY(rv_gemm(v->be, &v->pool, &xp, NULL, &tf, &p));
  }
  *seq = rv_rows(&v->t, 0, n * v->tpf);
fail:
  return st;
}

/* Adds sin/cos of each frame's timestamp (seconds x time_scale) to its temporal tokens. */
static rv_status add_time(rv_vit *v, rv_tensor *seq) {
  rv_status st = RV_OK;
  for (int64_t f = 0; f < v->n_local; f++) {
    rv_tensor row = rv_rows(&v->tpos, f, 1), tf = rv_rows(seq, f * v->tpf, v->tpf);
    rv_sincos_rows(row.data, 1, v->d, v->times[f] * v->c->time_scale, 0.0);
    RV_TRY(rv_add(v->be, &tf, &row, &tf));
  }
fail:
  return st;
}

/* Pooled case: each patch gets its region's temporal update, x += U (t - t0). */
static rv_status spread_back(rv_vit *v) {
  rv_status st = RV_OK;
  rv_gemm_params add = {0, 0, 1.0f, 1.0f, RV_ACT_NONE}, sub = {0, 0, -1.0f, 1.0f, RV_ACT_NONE};
  for (int64_t f = 0; f < v->n_local; f++) {
    rv_tensor xp = rv_rows(&v->x, f * v->seq + v->npre, v->np);
    rv_tensor tf = rv_rows(&v->t, f * v->tpf, v->tpf), t0 = rv_rows(&v->t0, f * v->tpf, v->tpf);
    RV_TRY(rv_gemm(v->be, &v->unpool, &tf, NULL, &xp, &add));
    RV_TRY(rv_gemm(v->be, &v->unpool, &t0, NULL, &xp, &sub));
  }
fail:
  return st;
}

/* Which rows of the temporal sequence this rank's rows are: all of it on one rank (or in
 * stream mode, where the cache is sharded instead), else the frames it kept. */
static void take_share(rv_vit *v, attn_mode mode, int64_t rows) {
  rv_vit_span span[2];
  memset(&v->tseq, 0, sizeof v->tseq);
  v->tseq.nseg = 1;
  v->tseq.seg[0].len = rows / v->fold;
  if (!v->spread || mode != ATTN_RING) return;
  v->tseq.nseg = cut_share(&v->own, v->n_frames, span);
  for (int i = 0; i < v->tseq.nseg; i++) /* in the attention's key positions */
    v->tseq.seg[i] =
        (rv_ring_segment){span[i].first * v->tpf / v->fold, span[i].count * v->tpf / v->fold};
}

static rv_status temporal_stage(rv_vit *v, attn_mode mode) {
  rv_status st = RV_OK;
  char name[32];
  rv_tensor seq;
  RV_TRY(temporal_input(v, &seq));
  if (v->c->time_embed) RV_TRY(add_time(v, &seq));
  if (v->pooled) { /* what the temporal blocks start from, so only their update spreads back */
    rv_tensor t0 = rv_rows(&v->t0, 0, seq.shape[0]);
    RV_TRY(rv_copy(v->be, &seq, &t0));
  }
  take_share(v, mode, seq.shape[0]);
  for (int l = 0; l < v->c->temporal_depth; l++) {
    RV_TRY(block(v, &v->tp[l], &seq, seq.shape[0], mode, l));
    snprintf(name, sizeof name, "temporal.%d", l);
    rv_vit_tap(v, name, &seq);
  }
  if (v->pooled) RV_TRY(spread_back(v));
fail:
  return st;
}

/* Temporal stage (through the ring or the cache), final norm and heads of the frames held. */
static rv_status finish_frames(rv_vit *v, attn_mode mode, rv_vit_outputs *out) {
  rv_status st = RV_OK;
  if (v->c->temporal_depth > 0) RV_TRY(temporal_stage(v, mode));
  rv_tensor xs = rv_rows(&v->x, 0, v->n_local * v->seq);
  if (v->c->final_norm) {
    RV_TRY(rv_layernorm(v->be, &xs, &v->norm.w, &v->norm.b, v->c->ln_eps, &xs));
    rv_vit_tap(v, "norm", &xs);
  }
  RV_TRY(rv_vit_heads_run(v, out));
  out->total_frames = v->n_frames;
  out->nspan = 1;
  out->span[0] = (rv_vit_span){0, v->n_local};
  if (v->spread && mode == ATTN_RING) out->nspan = cut_share(&v->own, v->n_frames, out->span);
fail:
  return st;
}

rv_status rv_vit_finish(rv_vit *v, rv_vit_outputs *out) {
  rv_status st = RV_OK;
  if (!v || !out) return RV_FAIL(RV_ERR_INVALID, "encoder and out must not be NULL");
  memset(out, 0, sizeof *out);
  if (v->n_frames < 1) return RV_FAIL(RV_ERR_INVALID, "no frames pushed");
  st = finish_frames(v, ATTN_RING, out);
  v->n_frames = v->n_local = 0;
  return st;
}

rv_status rv_vit_step(rv_vit *v, const rv_tensor *tokens, double time_s, rv_vit_outputs *out) {
  rv_status st = RV_OK;
  if (!v || !out) return RV_FAIL(RV_ERR_INVALID, "encoder and out must not be NULL");
  memset(out, 0, sizeof *out);
  if (!v->stream) return RV_FAIL(RV_ERR_INVALID, "stream mode needs rv_vit_stream_init first");
  if (v->n_frames)
    return RV_FAIL(RV_ERR_INVALID, "%lld offline frames pushed and not finished",
                   (long long)v->n_frames);
  RV_TRY(check_push(v, tokens, 1));
  if (v->c->pos_embed == RV_POS_SINUSOIDAL) /* positions continue across steps */
    rv_sincos_rows(v->step_pos.data, v->seq, v->d, (double)(v->stream_pos * v->seq), 1.0);
  RV_TRY(spatial_stage(v, tokens, 0, 1, &v->step_pos));
  v->times[0] = time_s;
  v->n_frames = v->n_local = 1;
  st = finish_frames(v, ATTN_CACHE, out);
  v->n_frames = v->n_local = 0;
  if (st == RV_OK) v->stream_pos++;
fail:
  return st;
}

rv_status rv_vit_stream_init(rv_vit *v, int64_t history_frames) {
  if (!v || history_frames < 1)
    return RV_FAIL(RV_ERR_INVALID, "encoder and history_frames >= 1 are required");
  if (v->stream) return RV_FAIL(RV_ERR_INVALID, "stream mode is set up already");
  if (v->c == &v->banded)
    return RV_FAIL(RV_ERR_INVALID, "a temporal band is for offline encoding, not stream mode");
  if (v->c->temporal_depth > 0) {
    rv_kvcache_cfg kc = {v->be, v->comm,          v->c->temporal_depth, v->fold * v->heads,
                         v->hd, v->tpf / v->fold, history_frames};
    rv_status st = rv_kvcache_init(&kc, &v->cache);
    if (st < 0) return st;
  }
  v->stream = history_frames;
  v->stream_pos = 0;
  return RV_OK;
}

void rv_vit_stream_reset(rv_vit *v) {
  if (!v) return;
  rv_kvcache_reset(v->cache);
  v->stream_pos = 0;
}

int64_t rv_vit_stream_position(const rv_vit *v) { return v ? v->stream_pos : 0; }

rv_status rv_vit_encode(rv_vit *v, const rv_tensor *tokens, int64_t n, const double *times_s,
                        rv_vit_outputs *out) {
  rv_status st = rv_vit_push(v, tokens, n, times_s);
  if (st < 0) return st;
  return rv_vit_finish(v, out);
}
