/* Flash-style attention on the CPU: for each (head, tile of queries) the keys are visited
 * a tile at a time; scores go through a small buffer that stays in cache, the softmax is
 * kept online (running max m and sum l per query), and no Nq x Nk matrix ever exists.
 * Tiles that the mask hides entirely are skipped. On AVX-512 CPUs the tile is computed
 * transposed (queries along the vector lanes) by our own micro-kernels (attn-micro.c);
 * elsewhere both products are OpenBLAS sgemm calls. */
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

/* Per-worker scratch layout, in floats (the same for both layouts). */
static size_t scratch_floats(int64_t d) {
  return (size_t)(TILE_Q * d        /* scaled q tile */
                  + TILE_Q * TILE_K /* scores / probabilities */
                  + TILE_Q * d      /* output accumulator */
                  + 5 * TILE_Q      /* m, l, and the transposed softmax's alpha and temporaries */
                  + (TILE_K > TILE_Q ? TILE_K : TILE_Q)); /* key or query frame indices */
}

/* Sets the scores of pairs the mask forbids to -inf. */
static void mask_tile(const attn_job *j, float *s, int64_t q0, int64_t bq, int64_t k0, int64_t bk,
                      int32_t *kframe) {
  const rv_attn_params *p = j->p;
  int64_t tpf = p->tokens_per_frame;
  for (int64_t c = 0; c < bk; c++)
    kframe[c] = (int32_t)((p->k_pos0 + k0 + c) / tpf);
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
  if (j->hi != INT64_MAX) {              /* keys of frames before qf0 - hi are out of reach */
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
      for (int64_t c = 0; c < bk; c++)
        sr[c] = 0.0f;
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
    for (int64_t c = 0; c < d; c++)
      qs[r * d + c] = src[c] * j->p->scale;
    for (int64_t c = 0; c < d; c++)
      acc[r * d + c] = 0.0f;
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
    for (int64_t c = 0; c < d; c++)
      out[c] = acc[r * d + c] * inv;
    *lse = seen ? m[r] + logf(l[r]) : -INFINITY;
  }
}

/* ---- transposed tiles: queries along the lanes (AVX-512 micro-kernels) ---- */

typedef struct tile_t {
  float *qt, *st, *acct; /* [d, ldq], [TILE_K, ldq], [d, ldq] */
  float *m, *l, *alpha, *tmp;
  int32_t *kframe;
  int64_t ldq;
} tile_t;

static tile_t tile_t_carve(float *buf, int64_t d) {
  tile_t t;
  t.qt = buf;
  t.st = t.qt + TILE_Q * d;
  t.acct = t.st + TILE_Q * TILE_K;
  t.m = t.acct + TILE_Q * d;
  t.l = t.m + TILE_Q;
  t.alpha = t.l + TILE_Q;
  t.tmp = t.alpha + TILE_Q;
  t.kframe = (int32_t *)(t.tmp + 2 * TILE_Q);
  t.ldq = 0;
  return t;
}

/* Sets the transposed scores (key rows, query columns) of forbidden pairs to -inf. */
static int32_t clamp_i32(int64_t x) {
  return x < INT32_MIN ? INT32_MIN : x > INT32_MAX ? INT32_MAX : (int32_t)x;
}

/* Sets the transposed scores (key rows, query columns) of forbidden pairs to -inf.
 * Query frames are kept relative to the tile's first one, so the inner loop is a 32-bit
 * range test the compiler vectorizes; no division per pair. */
static void mask_tile_t(const attn_job *j, float *st, int64_t ldq, int64_t q0, int64_t bq,
                        int64_t k0, int64_t bk, int32_t *qrel) {
  const rv_attn_params *p = j->p;
  int64_t tpf = p->tokens_per_frame, qf0 = (p->q_pos0 + q0) / tpf;
  for (int64_t r = 0; r < bq; r++)
    qrel[r] = (int32_t)((p->q_pos0 + q0 + r) / tpf - qf0); /* < bq: fits */
  int64_t kf = (p->k_pos0 + k0) / tpf, krem = (p->k_pos0 + k0) % tpf;
  for (int64_t c = 0; c < bk; c++) {
    /* allowed iff lo <= qf - kf <= hi, i.e. qrel in [kf + lo - qf0, kf + hi - qf0] */
    int32_t rlo = j->lo == INT64_MIN ? INT32_MIN : clamp_i32(kf + j->lo - qf0);
    int32_t rhi = j->hi == INT64_MAX ? INT32_MAX : clamp_i32(kf + j->hi - qf0);
    float *sc = st + c * ldq;
    for (int64_t r = 0; r < bq; r++)
      sc[r] = qrel[r] < rlo || qrel[r] > rhi ? -INFINITY : sc[r];
    if (++krem == tpf) {
      krem = 0;
      kf++;
    }
  }
}

static void load_q_t(const attn_job *j, int64_t h, int64_t q0, int64_t bq, tile_t *t) {
  const rv_tensor *q = j->q;
  int64_t d = q->shape[2];
  for (int64_t r = 0; r < bq; r++) {
    const float *src = (const float *)q->data + (q0 + r) * q->stride[0] + h * d;
    for (int64_t c = 0; c < d; c++)
      t->qt[c * t->ldq + r] = src[c] * j->p->scale;
  }
  for (int64_t c = 0; c < d; c++) /* padding queries: zeros, never written out */
    for (int64_t r = bq; r < t->ldq; r++)
      t->qt[c * t->ldq + r] = 0.0f;
  for (int64_t i = 0; i < d * t->ldq; i++)
    t->acct[i] = 0.0f;
  for (int64_t r = 0; r < t->ldq; r++) {
    t->m[r] = -INFINITY;
    t->l[r] = 0.0f;
  }
}

static void store_o_t(const attn_job *j, int64_t h, int64_t q0, int64_t bq, const tile_t *t) {
  int64_t d = j->q->shape[2];
  for (int64_t r = 0; r < bq; r++) {
    float *out = (float *)j->o->data + (q0 + r) * j->o->stride[0] + h * d;
    float *lse = (float *)j->lse->data + h * j->lse->stride[0] + q0 + r;
    int seen = !isinf(t->m[r]) && t->l[r] > 0.0f;
    float inv = seen ? 1.0f / t->l[r] : 0.0f;
    for (int64_t c = 0; c < d; c++)
      out[c] = t->acct[c * t->ldq + r] * inv;
    *lse = seen ? t->m[r] + logf(t->l[r]) : -INFINITY;
  }
}

static void attn_tile_task_t(const attn_job *j, int64_t h, int64_t q0, int tid) {
  const rv_tensor *k = j->k, *v = j->v;
  int64_t d = j->q->shape[2], nk = k->shape[0];
  int64_t bq = j->q->shape[0] - q0 < TILE_Q ? j->q->shape[0] - q0 : TILE_Q;
  tile_t t = tile_t_carve(j->cb->scratch[tid].buf, d);
  t.ldq = (bq + 15) / 16 * 16;
  load_q_t(j, h, q0, bq, &t);
  for (int64_t kt = 0; kt < nk; kt += TILE_K) {
    int64_t k0 = kt, bk = nk - kt < TILE_K ? nk - kt : TILE_K;
    if (!visible_keys(j, q0, bq, &k0, &bk)) continue; /* fully masked: skipped */
    const float *kp = (const float *)k->data + k0 * k->stride[0] + h * d;
    const float *vp = (const float *)v->data + k0 * v->stride[0] + h * d;
    rv_attn_qk_t(t.qt, t.ldq, kp, k->stride[0], bk, d, t.st);
    if (!tile_fully_visible(j, q0, bq, k0, bk))
      mask_tile_t(j, t.st, t.ldq, q0, bq, k0, bk, t.kframe);
    rv_attn_softmax_cols(t.st, t.ldq, bk, t.m, t.l, t.alpha);
    rv_vec_scale_cols(t.acct, t.ldq, d, t.alpha);
    rv_attn_pv_t(t.st, t.ldq, bk, vp, v->stride[0], d, t.acct);
  }
  store_o_t(j, h, q0, bq, &t);
}

static void attn_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const attn_job *j = ctx;
  void (*task)(const attn_job *, int64_t, int64_t, int) =
      j->cb->attn_micro ? attn_tile_task_t : attn_tile_task;
  for (int64_t t = begin; t < end; t++)
    task(j, t / j->q_tiles, (t % j->q_tiles) * TILE_Q, tid);
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
