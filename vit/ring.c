/* Ring attention. This file holds the rank-local part: blockwise attention of the local
 * query segments against a block of keys, merged exactly by log-sum-exp. */
#include <stdlib.h>

#include <ringvit/ring.h>

struct rv_ring {
  rv_backend *be;
  rv_comm *comm;
  int heads, head_dim;
  int64_t max_local;
  rv_arena *arena;
  rv_tensor o_acc, lse_acc; /* f32 running output and log-sum-exp of the local queries */
  rv_tensor o_tmp, lse_tmp; /* f32 partial of one block */
};

rv_status rv_ring_init(const rv_ring_cfg *cfg, rv_ring **out) {
  rv_status st = RV_OK;
  rv_ring *r = NULL;
  if (!cfg || !out || !cfg->backend)
    return RV_FAIL(RV_ERR_INVALID, "cfg, backend and out are required");
  *out = NULL;
  if (cfg->heads < 1 || cfg->head_dim < 1 || cfg->max_local_tokens < 1)
    return RV_FAIL(RV_ERR_INVALID,
                   "heads (%d), head_dim (%d) and max_local_tokens (%lld) must be >= 1", cfg->heads,
                   cfg->head_dim, (long long)cfg->max_local_tokens);
  if (cfg->comm) return RV_FAIL(RV_ERR_UNSUPPORTED, "multi-rank rings are not in this build");
  r = calloc(1, sizeof *r);
  if (!r) RV_TRY_FAIL(RV_ERR_NOMEM, "ring handle");
  r->be = cfg->backend;
  r->comm = cfg->comm;
  r->heads = cfg->heads;
  r->head_dim = cfg->head_dim;
  r->max_local = cfg->max_local_tokens;
  int64_t n = r->max_local, h = r->heads, d = r->head_dim;
  size_t bytes =
      2 * rv_arena_round((size_t)(n * h * d) * 4) + 2 * rv_arena_round((size_t)(h * n) * 4);
  RV_TRY(rv_arena_init(r->be, bytes, &r->arena));
  int64_t os[3] = {n, h, d}, ls[2] = {h, n};
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 3, os, &r->o_acc));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 2, ls, &r->lse_acc));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 3, os, &r->o_tmp));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 2, ls, &r->lse_tmp));
  *out = r;
  return RV_OK;
fail:
  rv_ring_free(r);
  return st;
}

void rv_ring_free(rv_ring *r) {
  if (!r) return;
  rv_arena_free(r->arena);
  free(r);
}

int rv_ring_rank(const rv_ring *r) { return r->comm ? -1 : 0; }
int rv_ring_size(const rv_ring *r) { return r->comm ? -1 : 1; }

/* Rows [row0, row0 + n) of a [N, H, D] view (dim 0). */
static rv_tensor rows3(const rv_tensor *t, int64_t row0, int64_t n) {
  rv_tensor s = *t;
  s.data = (char *)t->data + (size_t)(row0 * t->stride[0]) * rv_dtype_size(t->dtype);
  s.shape[0] = n;
  return s;
}

/* Columns [c0, c0 + n) of an lse view [H, N]. */
static rv_tensor lse_cols(const rv_tensor *t, int64_t c0, int64_t n) {
  rv_tensor s = *t;
  s.data = (float *)t->data + c0;
  s.shape[1] = n;
  return s;
}

static rv_status check_seq(const rv_ring *r, const rv_tensor *q, const rv_ring_seq *seq,
                           int64_t *n_local) {
  if (!seq || seq->nseg < 1 || seq->nseg > RV_RING_MAX_SEGMENTS)
    return RV_FAIL(RV_ERR_INVALID, "a ring sequence has 1 or 2 segments");
  int64_t n = 0;
  for (int i = 0; i < seq->nseg; i++) {
    if (seq->seg[i].len < 0 || seq->seg[i].pos0 < 0)
      return RV_FAIL(RV_ERR_INVALID, "segment %d has a negative position or length", i);
    n += seq->seg[i].len;
  }
  if (n > r->max_local)
    return RV_FAIL(RV_ERR_SHAPE, "%lld local tokens, the ring was sized for %lld", (long long)n,
                   (long long)r->max_local);
  if (!q || q->ndim != 3 || q->shape[0] != n || q->shape[1] != r->heads ||
      q->shape[2] != r->head_dim)
    return RV_FAIL(RV_ERR_SHAPE, "q must be [%lld, %d, %d]", (long long)n, r->heads, r->head_dim);
  *n_local = n;
  return RV_OK;
}

static rv_attn_params seg_params(const rv_ring_seq *seq, int64_t q_pos0, int64_t k_pos0) {
  rv_attn_params p = {seq->scale, seq->mask, seq->window, seq->tokens_per_frame, q_pos0, k_pos0};
  return p;
}

/* Attention of every local query segment against one key block (k, v, whose rows are the
 * segments of kseq), merged into the accumulator; `first` starts the accumulator. */
static rv_status attend_block(rv_ring *r, const rv_tensor *q, const rv_ring_seq *qseq,
                              const rv_tensor *k, const rv_tensor *v, const rv_ring_seq *kseq,
                              int *seen) {
  rv_status st = RV_OK;
  int64_t qrow = 0;
  for (int i = 0; i < qseq->nseg; i++) {
    int64_t qn = qseq->seg[i].len, krow = 0;
    rv_tensor qs = rows3(q, qrow, qn);
    for (int j = 0; j < kseq->nseg; j++) {
      int64_t kn = kseq->seg[j].len;
      rv_attn_params p = seg_params(qseq, qseq->seg[i].pos0, kseq->seg[j].pos0);
      if (rv_attn_block_visible(&p, qn, kn)) { /* fully masked blocks are skipped */
        rv_tensor ks = rows3(k, krow, kn), vs = rows3(v, krow, kn);
        rv_tensor oa = rows3(&r->o_acc, qrow, qn), la = lse_cols(&r->lse_acc, qrow, qn);
        if (!seen[i]) {
          RV_TRY(rv_attention(r->be, &qs, &ks, &vs, &p, &oa, &la));
          seen[i] = 1;
        } else {
          rv_tensor ot = rows3(&r->o_tmp, 0, qn), lt = lse_cols(&r->lse_tmp, 0, qn);
          RV_TRY(rv_attention(r->be, &qs, &ks, &vs, &p, &ot, &lt));
          RV_TRY(rv_attn_merge(r->be, &oa, &la, &ot, &lt));
        }
      }
      krow += kn;
    }
    qrow += qn;
  }
fail:
  return st;
}

rv_status rv_ring_attention(rv_ring *r, const rv_tensor *q, const rv_tensor *k, const rv_tensor *v,
                            const rv_ring_seq *seq, rv_tensor *o) {
  rv_status st = RV_OK;
  int64_t n = 0;
  if (!r) return RV_FAIL(RV_ERR_INVALID, "ring must not be NULL");
  RV_TRY(check_seq(r, q, seq, &n));
  int seen[RV_RING_MAX_SEGMENTS] = {0};
  RV_TRY(attend_block(r, q, seq, k, v, seq, seen));
  for (int i = 0; i < seq->nseg; i++)
    if (!seen[i] && seq->seg[i].len > 0)
      return RV_FAIL(RV_ERR_INVALID, "segment %d sees no key under this mask", i);
  rv_tensor acc = rows3(&r->o_acc, 0, n);
  RV_TRY(rv_copy(r->be, &acc, o));
fail:
  return st;
}
