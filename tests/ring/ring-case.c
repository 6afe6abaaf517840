#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring-case.h"

const rv_ring_case rv_ring_cases[] = {
    /* name                                   n    H  D   tpf layout            fused */
    {"150 tokens, 10 per frame, D 16", 150, 3, 16, 10, RV_CASE_CONTIGUOUS, 0},
    {"157 tokens (odd), 1 per frame, D 13", 157, 2, 13, 1, RV_CASE_ZIGZAG, 0},
    {"210 tokens, 7 per frame, D 32, fused qkv", 210, 2, 32, 7, RV_CASE_ZIGZAG, 1},
    {"96 tokens, 4 per frame, D 64, skewed", 96, 1, 64, 4, RV_CASE_SKEWED, 0},
    {"123 tokens, 3 per frame, D 8, contiguous", 123, 4, 8, 3, RV_CASE_CONTIGUOUS, 1},
    {"5 tokens: fewer than ranks", 5, 2, 8, 1, RV_CASE_CONTIGUOUS, 0},
};
const size_t rv_ring_case_count = sizeof rv_ring_cases / sizeof rv_ring_cases[0];
const int32_t rv_ring_case_window = 3;

/* Contiguous shares proportional to rank + 1, in whole frames. */
static rv_status skewed_seq(const rv_ring_case *rc, int size, int rank, rv_ring_seq *seq) {
  int64_t units = (rc->n + rc->tpf - 1) / rc->tpf, total = (int64_t)size * (size + 1) / 2;
  int64_t before = (int64_t)rank * (rank + 1) / 2, upto = before + rank + 1;
  int64_t a = units * before / total * rc->tpf, b = units * upto / total * rc->tpf;
  seq->nseg = 1;
  seq->seg[0].pos0 = a < rc->n ? a : rc->n;
  seq->seg[0].len = (b < rc->n ? b : rc->n) - seq->seg[0].pos0;
  return RV_OK;
}

rv_status rv_ring_case_seq(const rv_ring_case *rc, int size, int rank, rv_ring_seq *seq) {
  if (rc->layout == RV_CASE_SKEWED) return skewed_seq(rc, size, rank, seq);
  rv_ring_layout l = rc->layout == RV_CASE_ZIGZAG ? RV_RING_ZIGZAG : RV_RING_CONTIGUOUS;
  return rv_ring_layout_seq(l, rc->n, rc->tpf, size, rank, seq);
}

static int64_t seq_rows(const rv_ring_seq *s) {
  int64_t n = 0;
  for (int i = 0; i < s->nseg; i++)
    n += s->seg[i].len;
  return n;
}

typedef struct ring_data {
  size_t row;          /* floats per token: H * D */
  float *qkv;          /* [n, 3, H, D]: the whole sequence */
  float *want, *lse;   /* full attention [n, H, D], [H, n] */
  float *local, *got;  /* this rank's rows: [rows, 3, H, D] and [rows, H, D] */
  float *lq, *lk, *lv; /* packed local q, k, v (when not fused) */
} ring_data;

static void data_free(ring_data *d) {
  free(d->qkv);
  free(d->want);
  free(d->lse);
  free(d->local);
  free(d->got);
  free(d->lq);
  free(d->lk);
  free(d->lv);
}

static rv_status data_alloc(ring_data *d, const rv_ring_case *rc, int64_t rows) {
  memset(d, 0, sizeof *d);
  d->row = (size_t)rc->heads * (size_t)rc->head_dim;
  size_t n = (size_t)rc->n, m = (size_t)(rows > 0 ? rows : 1);
  d->qkv = malloc(n * 3 * d->row * sizeof(float));
  d->want = malloc(n * d->row * sizeof(float));
  d->lse = malloc(n * (size_t)rc->heads * sizeof(float));
  d->local = malloc(m * 3 * d->row * sizeof(float));
  d->got = malloc(m * d->row * sizeof(float));
  d->lq = malloc(m * d->row * sizeof(float));
  d->lk = malloc(m * d->row * sizeof(float));
  d->lv = malloc(m * d->row * sizeof(float));
  if (!d->qkv || !d->want || !d->lse || !d->local || !d->got || !d->lq || !d->lk || !d->lv)
    return RV_FAIL(RV_ERR_NOMEM, "ring case buffers");
  rv_rng rng;
  rv_rng_seed(&rng, (uint64_t)rc->n * 31u + (uint64_t)rc->head_dim);
  rv_fill_normal(&rng, d->qkv, n * 3 * d->row, 1.0f);
  return RV_OK;
}

/* View of part p (0 q, 1 k, 2 v) of a fused [n, 3, H, D] buffer. */
static rv_tensor fused(float *base, int64_t n, int p, const rv_ring_case *rc) {
  rv_tensor t = rv_tensor_3d(base + (size_t)p * (size_t)(rc->heads * rc->head_dim), RV_F32, n,
                             rc->heads, rc->head_dim);
  t.stride[0] = 3 * (int64_t)rc->heads * rc->head_dim;
  return t;
}

/* This rank's rows of the whole sequence, in segment order, fused and packed. */
static void gather_local(ring_data *d, const rv_ring_seq *seq) {
  size_t r = 0, tok = 3 * d->row;
  for (int i = 0; i < seq->nseg; i++)
    for (int64_t j = 0; j < seq->seg[i].len; j++, r++) {
      const float *src = d->qkv + (size_t)(seq->seg[i].pos0 + j) * tok;
      memcpy(d->local + r * tok, src, tok * sizeof(float));
      memcpy(d->lq + r * d->row, src, d->row * sizeof(float));
      memcpy(d->lk + r * d->row, src + d->row, d->row * sizeof(float));
      memcpy(d->lv + r * d->row, src + 2 * d->row, d->row * sizeof(float));
    }
}

static rv_status full_attention(rv_backend *ref, ring_data *d, const rv_ring_case *rc,
                                rv_mask_kind mask, float scale) {
  rv_tensor q = fused(d->qkv, rc->n, 0, rc), k = fused(d->qkv, rc->n, 1, rc),
            v = fused(d->qkv, rc->n, 2, rc);
  rv_tensor o = rv_tensor_3d(d->want, RV_F32, rc->n, rc->heads, rc->head_dim);
  rv_tensor lse = rv_tensor_2d(d->lse, RV_F32, rc->heads, rc->n);
  rv_attn_params p = {scale, mask, rv_ring_case_window, rc->tpf, 0, 0};
  return rv_attention(ref, &q, &k, &v, &p, &o, &lse);
}

/* Compares this rank's output rows with the full attention's rows at its positions. */
static rv_cmp compare_local(const ring_data *d, const rv_ring_seq *seq, int64_t n_all) {
  rv_cmp worst = {0};
  size_t r = 0;
  double atol = 0.1 * rv_rms(d->want, (size_t)n_all * d->row);
  for (int i = 0; i < seq->nseg; i++) {
    size_t len = (size_t)seq->seg[i].len * d->row;
    const float *want = d->want + (size_t)seq->seg[i].pos0 * d->row;
    rv_cmp c = rv_compare(d->got + r, want, len, atol);
    if (c.max_rel > worst.max_rel || c.nan_mismatch || c.nmse > worst.nmse) worst = c;
    r += len;
  }
  return worst;
}

static rv_status ring_for(const rv_ring_case *rc, rv_backend *be, rv_comm *comm, rv_ring **out) {
  int size = comm ? rv_comm_size(comm) : 1;
  int64_t most = 1;
  for (int r = 0; r < size; r++) { /* the same on every rank */
    rv_ring_seq s;
    rv_status st = rv_ring_case_seq(rc, size, r, &s);
    if (st < 0) return st;
    if (seq_rows(&s) > most) most = seq_rows(&s);
  }
  rv_ring_cfg cfg = {be, comm, rc->heads, rc->head_dim, most};
  return rv_ring_init(&cfg, out);
}

static rv_status run_mask(const rv_ring_case *rc, rv_backend *ref, rv_ring *ring, ring_data *d,
                          rv_ring_seq *seq, rv_mask_kind mask, rv_cmp *cmp) {
  rv_status st = RV_OK;
  int64_t rows = seq_rows(seq);
  float scale = 1.0f / sqrtf((float)rc->head_dim);
  RV_TRY(full_attention(ref, d, rc, mask, scale));
  seq->scale = scale;
  seq->mask = mask;
  seq->window = rv_ring_case_window;
  seq->tokens_per_frame = rc->tpf;
  rv_tensor q = rv_tensor_3d(d->lq, RV_F32, rows, rc->heads, rc->head_dim);
  rv_tensor k = rv_tensor_3d(d->lk, RV_F32, rows, rc->heads, rc->head_dim);
  rv_tensor v = rv_tensor_3d(d->lv, RV_F32, rows, rc->heads, rc->head_dim);
  if (rc->strided) {
    q = fused(d->local, rows, 0, rc);
    k = fused(d->local, rows, 1, rc);
    v = fused(d->local, rows, 2, rc);
  }
  rv_tensor o = rv_tensor_3d(d->got, RV_F32, rows, rc->heads, rc->head_dim);
  RV_TRY(rv_ring_attention(ring, &q, &k, &v, seq, &o));
  *cmp = compare_local(d, seq, rc->n);
fail:
  return st;
}

rv_status rv_ring_case_run(const rv_ring_case *rc, rv_backend *be, rv_comm *comm,
                           rv_ring_result *res) {
  rv_status st = RV_OK;
  ring_data d;
  rv_backend *ref = NULL;
  rv_ring *ring = NULL;
  rv_ring_seq seq;
  int size = comm ? rv_comm_size(comm) : 1, rank = comm ? rv_comm_rank(comm) : 0;
  memset(res, 0, sizeof *res);
  memset(&d, 0, sizeof d);
  RV_TRY(rv_ring_case_seq(rc, size, rank, &seq));
  res->rows = seq_rows(&seq);
  RV_TRY(data_alloc(&d, rc, res->rows));
  gather_local(&d, &seq);
  rv_backend_cfg bc = {RV_BACKEND_CPU_REF, 1, 0};
  RV_TRY(rv_backend_init(&bc, &ref));
  RV_TRY(ring_for(rc, be, comm, &ring));
  for (int m = RV_MASK_NONE; m <= RV_MASK_BAND; m++)
    RV_TRY(run_mask(rc, ref, ring, &d, &seq, (rv_mask_kind)m, &res->cmp[m]));
  rv_ring_get_stats(ring, &res->stats);
fail:
  rv_ring_free(ring);
  rv_backend_free(ref);
  data_free(&d);
  return st;
}

void rv_ring_result_assert(const rv_ring_case *rc, const rv_ring_result *res, int size, int rank,
                           double max_rel) {
  static const char *const masks[] = {"none", "causal", "window", "band"};
  char what[200];
  for (int m = 0; m < 4; m++) {
    snprintf(what, sizeof what, "%s, mask %s, R=%d, rank %d (%lld rows)", rc->name, masks[m], size,
             rank, (long long)res->rows);
    rv_assert_close(what, &res->cmp[m], 1e-11, max_rel);
  }
  assert_int_equal(res->stats.calls, 4);
}
