/* Ring attention (pass-KV). Each rank attends its query segments to the key/value
 * block of every rank in turn, merging exactly by log-sum-exp, while the next block is
 * in flight. With one rank it is blockwise attention over the local segments. */
#include <stdlib.h>
#include <string.h>

#include <ringvit/comm.h>
#include <ringvit/ring.h>

#include "ring-impl.h"

/* What every rank tells the others at each call: its arguments' verdict, the attention
 * parameters (which must agree) and its segments (which the others' masks need). */
typedef struct seq_rec {
  int64_t ok, mask, window, tpf, scale_bits, nseg;
  int64_t pos0[RV_RING_MAX_SEGMENTS], len[RV_RING_MAX_SEGMENTS];
} seq_rec;

enum { PROGRESS_ROWS = 256 }; /* query rows computed between progress calls */

struct rv_ring {
  rv_backend *be;
  rv_comm *comm;
  int rank, size;
  int heads, head_dim;
  int64_t max_local;
  size_t row_bytes; /* one token's H x D in the act dtype */
  rv_arena *arena;
  rv_tensor o_acc, lse_acc; /* f32 running output and log-sum-exp of the local queries */
  rv_tensor o_tmp, lse_tmp; /* f32 partial of one block */
  void *kv[2];              /* blocks: K rows then V rows, packed */
  seq_rec *table;           /* every rank's record of the current call */
  rv_ring_stats stats;
};

static rv_status agree_on_config(rv_ring *r) {
  static const char *const names[] = {"heads", "head_dim", "max_local_tokens", "act dtype"};
  int64_t vals[] = {r->heads, r->head_dim, r->max_local, rv_backend_act_dtype(r->be)};
  return rv_comm_check_same(r->comm, "ring config differs across ranks", 4, names, vals);
}

static rv_status join(rv_ring *r) {
  if (!r->comm) {
    r->rank = 0;
    r->size = 1;
    return RV_OK;
  }
  r->rank = rv_comm_rank(r->comm);
  r->size = rv_comm_size(r->comm);
  if (rv_comm_mem(r->comm) != rv_backend_mem(r->be))
    return RV_FAIL(RV_ERR_INVALID,
                   "the comm exchanges %s buffers but backend %s computes in %s memory",
                   rv_comm_mem(r->comm) == RV_MEM_HOST ? "host" : "device", rv_backend_name(r->be),
                   rv_backend_mem(r->be) == RV_MEM_HOST ? "host" : "device");
  return agree_on_config(r);
}

static rv_status carve(rv_ring *r) {
  rv_status st = RV_OK;
  int64_t n = r->max_local, h = r->heads, d = r->head_dim;
  size_t block = r->size > 1 ? rv_arena_round(2 * (size_t)n * r->row_bytes) : 0;
  size_t bytes = 2 * rv_arena_round((size_t)(n * h * d) * 4) +
                 2 * rv_arena_round((size_t)(h * n) * 4) + 2 * block;
  RV_TRY(rv_arena_init(r->be, bytes, &r->arena));
  int64_t os[3] = {n, h, d}, ls[2] = {h, n};
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 3, os, &r->o_acc));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 2, ls, &r->lse_acc));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 3, os, &r->o_tmp));
  RV_TRY(rv_arena_tensor(r->arena, RV_F32, 2, ls, &r->lse_tmp));
  for (int i = 0; block && i < 2; i++)
    RV_TRY(rv_arena_alloc(r->arena, block, &r->kv[i]));
fail:
  return st;
}

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
  r = calloc(1, sizeof *r);
  if (!r) RV_TRY_FAIL(RV_ERR_NOMEM, "ring handle");
  r->be = cfg->backend;
  r->comm = cfg->comm;
  r->heads = cfg->heads;
  r->head_dim = cfg->head_dim;
  r->max_local = cfg->max_local_tokens;
  r->row_bytes =
      (size_t)r->heads * (size_t)r->head_dim * rv_dtype_size(rv_backend_act_dtype(r->be));
  RV_TRY(join(r));
  r->table = calloc((size_t)r->size, sizeof *r->table);
  if (!r->table) RV_TRY_FAIL(RV_ERR_NOMEM, "ring table of %d ranks", r->size);
  RV_TRY(carve(r));
  *out = r;
  return RV_OK;
fail:
  rv_ring_free(r);
  return st;
}

void rv_ring_free(rv_ring *r) {
  if (!r) return;
  rv_arena_free(r->arena);
  free(r->table);
  free(r);
}

int rv_ring_rank(const rv_ring *r) { return r ? r->rank : -1; }
int rv_ring_size(const rv_ring *r) { return r ? r->size : 0; }

size_t rv_ring_kv_bytes(const rv_ring *r) {
  return r && r->size > 1 ? 2 * rv_arena_round(2 * (size_t)r->max_local * r->row_bytes) : 0;
}

void rv_ring_get_stats(const rv_ring *r, rv_ring_stats *out) {
  if (r && out) *out = r->stats;
}

void rv_ring_reset_stats(rv_ring *r) {
  if (r) memset(&r->stats, 0, sizeof r->stats);
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
  if (seq->mask != RV_MASK_NONE && seq->tokens_per_frame < 1)
    return RV_FAIL(RV_ERR_INVALID, "masked ring attention needs tokens_per_frame > 0");
  *n_local = n;
  return RV_OK;
}

static rv_status check_kvo(const rv_ring *r, const rv_tensor *k, const rv_tensor *v,
                           const rv_tensor *o, int64_t n) {
  const rv_tensor *t[3] = {k, v, o};
  static const char *const name[3] = {"k", "v", "o"};
  for (int i = 0; i < 3; i++)
    if (!t[i] || t[i]->ndim != 3 || t[i]->shape[0] != n || t[i]->shape[1] != r->heads ||
        t[i]->shape[2] != r->head_dim)
      return RV_FAIL(RV_ERR_SHAPE, "%s must be [%lld, %d, %d]", name[i], (long long)n, r->heads,
                     r->head_dim);
  return RV_OK;
}

static rv_attn_params seg_params(const rv_ring_seq *seq, int64_t q_pos0, int64_t k_pos0) {
  rv_attn_params p = {seq->scale, seq->mask, seq->window, seq->tokens_per_frame, q_pos0, k_pos0};
  return p;
}

/* One query segment against one key segment, in chunks of rows when a transfer is in
 * flight (so `progress` can be called between them). The first block a segment sees
 * is written into the accumulator, later ones merged into it. */
static rv_status attend_pair(rv_ring *r, const rv_tensor *qs, const rv_tensor *ks,
                             const rv_tensor *vs, rv_attn_params p, int64_t qrow, int *seen,
                             rv_comm *progress) {
  rv_status st = RV_OK;
  int64_t qn = qs->shape[0], kn = ks->shape[0], step = progress ? PROGRESS_ROWS : qn;
  for (int64_t a = 0; a < qn; a += step) {
    int64_t m = qn - a < step ? qn - a : step;
    rv_attn_params pc = p;
    pc.q_pos0 = p.q_pos0 + a;
    rv_tensor qc = rv_ring_rows(qs, a, m);
    rv_tensor oa = rv_ring_rows(&r->o_acc, qrow + a, m),
              la = rv_ring_lse_cols(&r->lse_acc, qrow + a, m);
    if (!*seen) {
      RV_TRY(rv_attention(r->be, &qc, ks, vs, &pc, &oa, &la));
    } else if (rv_attn_block_visible(&pc, m, kn)) {
      rv_tensor ot = rv_ring_rows(&r->o_tmp, 0, m), lt = rv_ring_lse_cols(&r->lse_tmp, 0, m);
      RV_TRY(rv_attention(r->be, &qc, ks, vs, &pc, &ot, &lt));
      RV_TRY(rv_attn_merge(r->be, &oa, &la, &ot, &lt));
    }
    if (progress) RV_TRY(rv_comm_progress(progress, NULL));
  }
  *seen = 1;
fail:
  return st;
}

/* The same rows as fewer segments: adjacent segments join, and without a mask, where
 * positions do not matter, all rows are one segment. Fewer, larger blocks: fewer
 * kernel calls and fewer merges (each merge rounds the f32 log-sum-exp once). */
static rv_ring_seq joined(const rv_ring_seq *s) {
  rv_ring_seq j = *s;
  if (s->nseg == 2 &&
      (s->mask == RV_MASK_NONE || s->seg[0].pos0 + s->seg[0].len == s->seg[1].pos0)) {
    j.nseg = 1;
    j.seg[0].len = s->seg[0].len + s->seg[1].len;
  }
  return j;
}

/* Attention of every local query segment against one key block (k, v, whose rows are
 * the segments of kseq), merged into the accumulator. */
static rv_status attend_block(rv_ring *r, const rv_tensor *q, const rv_ring_seq *qseq,
                              const rv_tensor *k, const rv_tensor *v, const rv_ring_seq *kseq,
                              int *seen, rv_comm *progress) {
  rv_status st = RV_OK;
  double t0 = rv_ring_now();
  int64_t qrow = 0;
  for (int i = 0; i < qseq->nseg; i++) {
    int64_t qn = qseq->seg[i].len, krow = 0;
    rv_tensor qs = rv_ring_rows(q, qrow, qn);
    for (int j = 0; j < kseq->nseg; j++) {
      int64_t kn = kseq->seg[j].len;
      rv_attn_params p = seg_params(qseq, qseq->seg[i].pos0, kseq->seg[j].pos0);
      if (rv_attn_block_visible(&p, qn, kn)) { /* fully masked blocks are skipped */
        rv_tensor ks = rv_ring_rows(k, krow, kn), vs = rv_ring_rows(v, krow, kn);
        RV_TRY(attend_pair(r, &qs, &ks, &vs, p, qrow, &seen[i], progress));
        r->stats.blocks_computed++;
      } else if (qn > 0 && kn > 0) {
        r->stats.blocks_skipped++;
      }
      krow += kn;
    }
    qrow += qn;
  }
fail:
  r->stats.compute_s += rv_ring_now() - t0;
  return st;
}

/* ---- the records every rank shares at each call ---- */

static seq_rec make_rec(const rv_ring_seq *seq, int ok) {
  seq_rec s = {0};
  s.ok = ok;
  if (!seq) return s;
  float scale = seq->scale;
  int32_t bits;
  memcpy(&bits, &scale, sizeof bits);
  s.mask = seq->mask;
  s.window = seq->window;
  s.tpf = seq->tokens_per_frame;
  s.scale_bits = bits;
  s.nseg = seq->nseg >= 1 && seq->nseg <= RV_RING_MAX_SEGMENTS ? seq->nseg : 0;
  for (int i = 0; i < s.nseg; i++) {
    s.pos0[i] = seq->seg[i].pos0;
    s.len[i] = seq->seg[i].len;
  }
  return s;
}

static rv_ring_seq rec_seq(const seq_rec *s, const rv_ring_seq *like) {
  rv_ring_seq q = *like;
  q.nseg = (int)s->nseg;
  for (int i = 0; i < q.nseg; i++)
    q.seg[i] = (rv_ring_segment){s->pos0[i], s->len[i]};
  return q;
}

static int64_t rec_rows(const seq_rec *s) {
  int64_t n = 0;
  for (int i = 0; i < s->nseg; i++)
    n += s->len[i];
  return n;
}

static rv_status check_overlap(const rv_ring *r) {
  for (int a = 0; a < r->size; a++)
    for (int i = 0; i < r->table[a].nseg; i++)
      for (int b = a; b < r->size; b++)
        for (int j = b == a ? i + 1 : 0; j < r->table[b].nseg; j++) {
          const seq_rec *x = &r->table[a], *y = &r->table[b];
          int64_t x0 = x->pos0[i], x1 = x0 + x->len[i], y0 = y->pos0[j], y1 = y0 + y->len[j];
          if (x1 > x0 && y1 > y0 && x0 < y1 && y0 < x1)
            return RV_FAIL(RV_ERR_INVALID,
                           "segments overlap: rank %d holds [%lld, %lld), rank %d [%lld, %lld)", a,
                           (long long)x0, (long long)x1, b, (long long)y0, (long long)y1);
        }
  return RV_OK;
}

/* Shares this rank's record; fails on every rank when any rank's arguments were
 * refused (`mine` < 0 here: returned with this rank's own message) or the ranks disagree. */
static rv_status share_records(rv_ring *r, const rv_ring_seq *seq, rv_status mine) {
  static const char *const names[] = {"mask", "window", "tokens_per_frame", "scale (bits)"};
  seq_rec rec = make_rec(seq, mine == RV_OK);
  rv_status st = rv_comm_allgather(r->comm, &rec, sizeof rec, r->table);
  if (st < 0) return st;
  if (mine < 0) return mine;
  for (int i = 0; i < r->size; i++)
    if (!r->table[i].ok)
      return RV_FAIL(RV_ERR_INVALID, "rank %d refused its ring attention arguments (see its error)",
                     i);
  for (int i = 1; i < r->size; i++) {
    const int64_t *a = &r->table[0].mask, *b = &r->table[i].mask;
    for (int f = 0; f < 4; f++)
      if (a[f] != b[f])
        return RV_FAIL(RV_ERR_INVALID,
                       "ring attention differs across ranks: %s is %lld on rank 0 "
                       "but %lld on rank %d",
                       names[f], (long long)a[f], (long long)b[f], i);
  }
  return check_overlap(r);
}

/* 1 when some query segment of record a sees some key segment of record b. */
static int rec_visible(const rv_ring_seq *like, const seq_rec *a, const seq_rec *b) {
  for (int i = 0; i < a->nseg; i++)
    for (int j = 0; j < b->nseg; j++) {
      rv_attn_params p = seg_params(like, a->pos0[i], b->pos0[j]);
      if (rv_attn_block_visible(&p, a->len[i], b->len[j])) return 1;
    }
  return 0;
}

/* Ring steps until the last one any rank needs (all R unless a mask cuts it short). */
static int steps_needed(const rv_ring *r, const rv_ring_seq *seq) {
  int last = 0;
  for (int q = 0; q < r->size; q++)
    for (int s = last + 1; s < r->size; s++)
      if (rec_visible(seq, &r->table[q], &r->table[(q - s + r->size) % r->size])) last = s;
  return last + 1;
}

/* ---- the ring ---- */

/* K and V views of a block buffer holding n rows of each. */
static void block_views(const rv_ring *r, void *buf, int64_t n, rv_tensor *k, rv_tensor *v) {
  rv_dtype dt = rv_backend_act_dtype(r->be);
  *k = rv_tensor_3d(buf, dt, n, r->heads, r->head_dim);
  *v = rv_tensor_3d((char *)buf + (size_t)n * r->row_bytes, dt, n, r->heads, r->head_dim);
  k->mem = v->mem = rv_backend_mem(r->be);
}

static rv_status ring_steps(rv_ring *r, const rv_tensor *q, const rv_ring_seq *seq,
                            const rv_tensor *k, const rv_tensor *v, int *seen) {
  rv_status st = RV_OK;
  int steps = steps_needed(r, seq), R = r->size;
  rv_tensor kb, vb;
  block_views(r, r->kv[0], rec_rows(&r->table[r->rank]), &kb, &vb);
  RV_TRY(rv_copy(r->be, k, &kb)); /* the local block, packed for sending */
  RV_TRY(rv_copy(r->be, v, &vb));
  for (int s = 0; s < steps; s++) {
    int origin = (r->rank - s + R) % R, from = (r->rank - s - 1 + 2 * R) % R;
    int64_t n = rec_rows(&r->table[origin]);
    int more = s + 1 < steps;
    if (more) { /* send what we hold on, receive the next block into the other buffer */
      rv_comm_xfer x = {r->kv[s & 1],
                        2 * (size_t)n * r->row_bytes,
                        rv_comm_next(r->comm),
                        r->kv[(s + 1) & 1],
                        2 * (size_t)rec_rows(&r->table[from]) * r->row_bytes,
                        rv_comm_prev(r->comm)};
      RV_TRY(rv_comm_start(r->comm, &x));
    }
    rv_ring_seq kseq = rec_seq(&r->table[origin], seq);
    kseq = joined(&kseq);
    block_views(r, r->kv[s & 1], n, &kb, &vb);
    RV_TRY(attend_block(r, q, seq, &kb, &vb, &kseq, seen, more ? r->comm : NULL));
    double t0 = rv_ring_now();
    if (more) RV_TRY(rv_comm_wait(r->comm));
    r->stats.wait_s += rv_ring_now() - t0;
    r->stats.steps++;
  }
fail:
  return st;
}

static rv_status finish(rv_ring *r, const rv_ring_seq *seq, const int *seen, int64_t n,
                        rv_tensor *o) {
  for (int i = 0; i < seq->nseg; i++)
    if (!seen[i] && seq->seg[i].len > 0)
      return RV_FAIL(RV_ERR_INVALID, "segment %d sees no key under this mask", i);
  rv_tensor acc = rv_ring_rows(&r->o_acc, 0, n);
  return rv_copy(r->be, &acc, o);
}

rv_status rv_ring_attention(rv_ring *r, const rv_tensor *q, const rv_tensor *k, const rv_tensor *v,
                            const rv_ring_seq *seq, rv_tensor *o) {
  rv_status st = RV_OK, mine;
  int64_t n = 0;
  int seen[RV_RING_MAX_SEGMENTS] = {0};
  if (!r) return RV_FAIL(RV_ERR_INVALID, "ring must not be NULL");
  double t0 = rv_ring_now();
  mine = check_seq(r, q, seq, &n);
  if (mine == RV_OK) mine = check_kvo(r, k, v, o, n);
  rv_ring_seq qseq = mine == RV_OK ? joined(seq) : (rv_ring_seq){0};
  if (r->size == 1) {
    RV_TRY(mine);
    RV_TRY(attend_block(r, q, &qseq, k, v, &qseq, seen, NULL));
  } else {
    RV_TRY(share_records(r, seq, mine));
    st = ring_steps(r, q, &qseq, k, v, seen);
    if (st < 0) {
      rv_comm_abort(r->comm, rv_last_error());
      goto fail;
    }
  }
  RV_TRY(finish(r, &qseq, seen, n, o));
  r->stats.calls++;
fail:
  r->stats.total_s += rv_ring_now() - t0;
  return st;
}
