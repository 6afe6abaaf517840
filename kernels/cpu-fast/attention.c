/* Flash-style attention on the CPU: for each (head, tile of queries) the keys are visited
 * a tile at a time; scores go through a small buffer that stays in cache, the softmax is
 * kept online (running max m and sum l per query), and no Nq x Nk matrix ever exists.
 * Both products are OpenBLAS sgemm calls on the tiles; tiles that the mask hides
 * entirely are skipped. */
#include <math.h>
#include <stdint.h>

#include "../cpu/cpu-ref-impl.h"
#include "cpu-fast-impl.h"

enum { TILE_Q = 128, TILE_K = 256 };

typedef struct attn_job {
  rv_cpu_backend *cb;
  const rv_tensor *q, *k, *v;
  const rv_attn_params *p;
  rv_tensor *o, *lse;
  int64_t q_tiles;
  int64_t lo, hi; /* frame-distance bounds of the mask */
} attn_job;

/* Per-worker scratch layout, in floats. */
static size_t scratch_floats(int64_t d) {
  return (size_t)(TILE_Q * d      /* scaled q tile */
                  + TILE_Q * TILE_K /* scores / probabilities */
                  + TILE_Q * d      /* output accumulator */
                  + 2 * TILE_Q      /* m, l */
                  + TILE_K);        /* key frame indices */
}

/* Sets the scores of pairs the mask forbids to -inf. */
static void mask_tile(const attn_job *j, float *s, int64_t q0, int64_t bq, int64_t k0,
                      int64_t bk, int32_t *kframe) {
  const rv_attn_params *p = j->p;
  int64_t tpf = p->tokens_per_frame;
  for (int64_t c = 0; c < bk; c++) kframe[c] = (int32_t)((p->k_pos0 + k0 + c) / tpf);
  for (int64_t r = 0; r < bq; r++) {
    int64_t qf = (p->q_pos0 + q0 + r) / tpf;
    float *sr = s + r * bk;
    for (int64_t c = 0; c < bk; c++) {
      int64_t dist = qf - kframe[c];
      if (dist < j->lo || dist > j->hi) sr[c] = -INFINITY;
    }
  }
}

/* 1 when every (query, key) pair of the tile is allowed. */
static int tile_fully_visible(const attn_job *j, int64_t q0, int64_t bq, int64_t k0, int64_t bk) {
  const rv_attn_params *p = j->p;
  if (p->mask == RV_MASK_NONE) return 1;
  int64_t tpf = p->tokens_per_frame;
  int64_t qf0 = (p->q_pos0 + q0) / tpf, qf1 = (p->q_pos0 + q0 + bq - 1) / tpf;
  int64_t kf0 = (p->k_pos0 + k0) / tpf, kf1 = (p->k_pos0 + k0 + bk - 1) / tpf;
  return qf0 - kf1 >= j->lo && qf1 - kf0 <= j->hi;
}

/* Narrows key rows [*k0, *k0 + *bk) to those some query of [q0, q0 + bq) may see (keys
 * are in position order, so the visible ones are one run); returns 0 when none are. */
static int visible_keys(const attn_job *j, int64_t q0, int64_t bq, int64_t *k0, int64_t *bk) {
  const rv_attn_params *p = j->p;
  if (p->mask == RV_MASK_NONE) return 1;
  int64_t tpf = p->tokens_per_frame;
  int64_t qf0 = (p->q_pos0 + q0) / tpf, qf1 = (p->q_pos0 + q0 + bq - 1) / tpf;
  int64_t first = *k0, last = *k0 + *bk; /* local key rows, end exclusive */
  if (j->hi != INT64_MAX) { /* keys of frames before qf0 - hi are out of reach */
    int64_t lo_row = (qf0 - j->hi) * tpf - p->k_pos0;
    if (lo_row > first) first = lo_row;
  }
  if (j->lo != INT64_MIN) { /* keys of frames after qf1 - lo are out of reach */
    int64_t hi_row = (qf1 - j->lo + 1) * tpf - p->k_pos0;
    if (hi_row < last) last = hi_row;
  }
  if (first >= last) return 0;
  *k0 = first;
  *bk = last - first;
  return 1;
}

/* Online softmax over one tile of scores: updates m, l, rescales acc, leaves P in s. */
static void online_softmax(float *s, int64_t bq, int64_t bk, float *m, float *l, float *acc,
                           int64_t d) {
  for (int64_t r = 0; r < bq; r++) {
    float *sr = s + r * bk;
    float mx = rv_vec_max(sr, bk);
    if (mx < m[r]) mx = m[r];
    if (isinf(mx)) { /* nothing visible to this query yet */
      for (int64_t c = 0; c < bk; c++) sr[c] = 0.0f;
      continue;
    }
    float alpha = isinf(m[r]) ? 0.0f : expf(m[r] - mx);
    float sum = rv_vec_exp_sub(sr, bk, mx);
    l[r] = l[r] * alpha + sum;
    m[r] = mx;
    if (alpha != 1.0f) rv_vec_scale(acc + r * d, d, alpha);
  }
}

static void attn_tile_task(const attn_job *j, int64_t h, int64_t q0, int tid) {
  const rv_tensor *q = j->q, *k = j->k, *v = j->v;
  int64_t d = q->shape[2], nk = k->shape[0];
  int64_t bq = q->shape[0] - q0 < TILE_Q ? q->shape[0] - q0 : TILE_Q;
  float *qs = j->cb->scratch[tid].buf;
  float *s = qs + TILE_Q * d, *acc = s + TILE_Q * TILE_K;
  float *m = acc + TILE_Q * d, *l = m + TILE_Q;
  int32_t *kframe = (int32_t *)(l + TILE_Q);
  for (int64_t r = 0; r < bq; r++) {
    const float *src = (const float *)q->data + (q0 + r) * q->stride[0] + h * d;
    for (int64_t c = 0; c < d; c++) qs[r * d + c] = src[c] * j->p->scale;
    for (int64_t c = 0; c < d; c++) acc[r * d + c] = 0.0f;
    m[r] = -INFINITY;
    l[r] = 0.0f;
  }
  for (int64_t kt = 0; kt < nk; kt += TILE_K) {
    int64_t k0 = kt, bk = nk - kt < TILE_K ? nk - kt : TILE_K;
    if (!visible_keys(j, q0, bq, &k0, &bk)) continue; /* fully masked: skipped */
    const float *kp = (const float *)k->data + k0 * k->stride[0] + h * d;
    const float *vp = (const float *)v->data + k0 * v->stride[0] + h * d;
    rv_cpu_sgemm(0, 1, bq, bk, d, 1.0f, qs, d, kp, k->stride[0], 0.0f, s, bk);
    if (!tile_fully_visible(j, q0, bq, k0, bk)) mask_tile(j, s, q0, bq, k0, bk, kframe);
    online_softmax(s, bq, bk, m, l, acc, d);
    rv_cpu_sgemm(0, 0, bq, d, bk, 1.0f, s, bk, vp, v->stride[0], 1.0f, acc, d);
  }
  for (int64_t r = 0; r < bq; r++) {
    float *out = (float *)j->o->data + (q0 + r) * j->o->stride[0] + h * d;
    float *lse = (float *)j->lse->data + h * j->lse->stride[0] + q0 + r;
    int seen = !isinf(m[r]) && l[r] > 0.0f;
    float inv = seen ? 1.0f / l[r] : 0.0f;
    for (int64_t c = 0; c < d; c++) out[c] = acc[r * d + c] * inv;
    *lse = seen ? m[r] + logf(l[r]) : -INFINITY;
  }
}

static void attn_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const attn_job *j = ctx;
  for (int64_t t = begin; t < end; t++)
    attn_tile_task(j, t / j->q_tiles, (t % j->q_tiles) * TILE_Q, tid);
}

rv_status rv_cpu_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                           const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                           rv_tensor *lse) {
  rv_cpu_backend *cb = rv_cpu(be);
  rv_status st = rv_cpu_reserve(cb, scratch_floats(q->shape[2]));
  if (st < 0) return st;
  attn_job j = {cb, q, k, v, p, o, lse, (q->shape[0] + TILE_Q - 1) / TILE_Q, 0, 0};
  rv_mask_bounds(p->mask, p->window, &j.lo, &j.hi);
  rv_pool_run(cb->pool, attn_worker, &j, q->shape[1] * j.q_tiles, 1);
  return RV_OK;
}
