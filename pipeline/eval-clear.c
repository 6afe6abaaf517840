/* CLEAR MOT (Bernardin & Stiefelhagen 2008) and the identity metrics (Ristani et al. 2016)
 * with TrackEval's definitions.
 *
 * CLEAR, per frame: pairs with IoU >= 0.5 score IoU, plus 1000 when the predicted id is the
 * one the GT id was matched to in the previous frame that had detections on both sides;
 * the maximum-score assignment gives the matches. An ID switch is a match whose predicted
 * id differs from the GT id's last match, however long ago. MOTA = (TP - FP - IDSW) /
 * (TP + FN), MOTP = mean IoU of the matches. Re-entries (not in TrackEval; issue 8's
 * long-context table): a GT id absent for the gap or longer and back is a re-entry; its
 * first match after says whether the prediction kept the id it had before leaving.
 *
 * Identity: every (GT id, predicted id) pair counts the frames where their boxes overlap
 * with IoU >= 0.5; the one-to-one id matching maximising the total is IDTP, and
 * IDF1 = IDTP / (IDTP + (IDFN + IDFP) / 2). TrackEval solves it as one square assignment
 * over all ids with dummy rows and columns; the optimum is the same maximum-weight
 * matching, which separates into the connected parts of the graph of overlapping pairs,
 * so each part is solved on its own (hours of input have thousands of ids). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

#include "eval-impl.h"

static const double THRESHOLD = 0.5;

typedef struct clear_acc {
  int32_t *last;      /* predicted id of the GT id's last match, -1 = never */
  int32_t *prev_step; /* predicted id matched in the previous frame, -1 = none */
  int32_t *matched;   /* scratch: this frame's matches */
  double tp, fn, fp, idsw, motp_sum;
  /* re-entries, when gap > 0 */
  int64_t gap;
  int64_t *seen;     /* frame number of the GT id's last row, -1 = none yet */
  uint8_t *returned; /* re-entered and not matched since */
  int64_t reentries, same, switched;
} clear_acc;

/* GT ids of frame t that come back after `gap` frames or more without a row. */
static void note_returns(const rv_eval_seq *s, clear_acc *c, int64_t t) {
  for (int64_t k = s->gt_off[t]; k < s->gt_off[t + 1]; k++) {
    int32_t g = s->gt_id[k];
    int64_t frame = s->gt_box[k]->frame;
    if (c->seen[g] >= 0 && frame - c->seen[g] >= c->gap) {
      c->returned[g] = 1;
      c->reentries++;
    }
    c->seen[g] = frame;
  }
}

/* GT id g matched to predicted id p: an ID switch when p is not its last match. */
static void note_match(clear_acc *c, int32_t g, int32_t p) {
  int switched = c->last[g] >= 0 && c->last[g] != p;
  c->idsw += switched;
  if (c->returned[g]) { /* set only when re-entries are counted */
    c->same += c->last[g] >= 0 && !switched;
    c->switched += switched;
    c->returned[g] = 0;
  }
  c->last[g] = p;
}

static rv_status clear_frame(rv_eval_seq *s, clear_acc *c, int64_t t) {
  rv_status st = RV_OK;
  int64_t g0 = s->gt_off[t], ng = s->gt_off[t + 1] - g0;
  int64_t p0 = s->pr_off[t], np = s->pr_off[t + 1] - p0;
  if (c->gap > 0) note_returns(s, c, t);
  /* frames with one side empty leave prev_step as it was (TrackEval skips them) */
  if (!ng || !np) {
    c->fn += (double)ng;
    c->fp += (double)np;
    return RV_OK;
  }
  rv_eval_seq_similarity(s, t);
  for (int64_t i = 0; i < ng; i++)
    for (int64_t j = 0; j < np; j++) {
      double sim = s->sim[i * np + j];
      double cont = c->prev_step[s->gt_id[g0 + i]] == s->pr_id[p0 + j] ? 1000.0 : 0.0;
      s->cost[i * np + j] = sim < THRESHOLD - RV_EVAL_EPS ? 0.0 : -(cont + sim);
    }
  RV_TRY(rv_eval_seq_assign(s, (int)ng, (int)np));
  int n = 0;
  for (int64_t i = 0; i < ng; i++) {
    int j = s->row_to_col[i];
    c->matched[i] = -1;
    if (j < 0 || !(-s->cost[i * np + j] > RV_EVAL_EPS)) continue;
    int32_t g = s->gt_id[g0 + i], p = s->pr_id[p0 + j];
    note_match(c, g, p);
    c->matched[i] = p;
    c->motp_sum += s->sim[i * np + j];
    n++;
  }
  for (int32_t g = 0; g < s->n_gt_ids; g++)
    c->prev_step[g] = -1;
  for (int64_t i = 0; i < ng; i++)
    c->prev_step[s->gt_id[g0 + i]] = c->matched[i];
  c->tp += n;
  c->fn += (double)(ng - n);
  c->fp += (double)(np - n);
fail:
  return st;
}

rv_status rv_eval_clear(rv_eval_seq *s, int64_t reentry_gap, rv_eval_mot *out) {
  rv_status st = RV_OK;
  clear_acc c = {0};
  size_t ids = (size_t)s->n_gt_ids + 1;
  c.gap = reentry_gap;
  c.last = malloc(ids * sizeof *c.last);
  c.prev_step = malloc(ids * sizeof *c.prev_step);
  c.matched = malloc(((size_t)s->max_gt + 1) * sizeof *c.matched);
  c.seen = malloc(ids * sizeof *c.seen);
  c.returned = calloc(ids, 1);
  if (!c.last || !c.prev_step || !c.matched || !c.seen || !c.returned)
    RV_TRY_FAIL(RV_ERR_NOMEM, "CLEAR tables");
  for (int32_t g = 0; g < s->n_gt_ids; g++)
    c.last[g] = c.prev_step[g] = -1, c.seen[g] = -1;
  for (int64_t t = 0; t < s->n_frames; t++)
    RV_TRY(clear_frame(s, &c, t));
  out->clr_tp = (int64_t)c.tp;
  out->clr_fn = (int64_t)c.fn;
  out->clr_fp = (int64_t)c.fp;
  out->idsw = (int64_t)c.idsw;
  out->mota = (c.tp - c.fp - c.idsw) / fmax(1.0, c.tp + c.fn);
  out->motp = c.motp_sum / fmax(1.0, c.tp);
  out->reentries = c.reentries;
  out->reentry_same = c.same;
  out->reentry_switched = c.switched;
fail:
  free(c.last);
  free(c.prev_step);
  free(c.matched);
  free(c.seen);
  free(c.returned);
  return st;
}

/* ---- identity ---- */

static int32_t find_root(int32_t *parent, int32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];
    x = parent[x];
  }
  return x;
}

/* Frames where each (GT id, predicted id) pair overlaps with IoU >= 0.5. */
static rv_status id_overlaps(rv_eval_seq *s, rv_eval_pairs *pairs) {
  rv_status st = RV_OK;
  for (int64_t t = 0; t < s->n_frames; t++) {
    int64_t g0 = s->gt_off[t], ng = s->gt_off[t + 1] - g0;
    int64_t p0 = s->pr_off[t], np = s->pr_off[t + 1] - p0;
    if (!ng || !np) continue;
    rv_eval_seq_similarity(s, t);
    for (int64_t i = 0; i < ng; i++)
      for (int64_t j = 0; j < np; j++) {
        double *v;
        if (!(s->sim[i * np + j] >= THRESHOLD)) continue;
        RV_TRY(rv_eval_pairs_add(pairs, s->gt_id[g0 + i], s->pr_id[p0 + j], &v));
        v[0] += 1;
      }
  }
fail:
  return st;
}

/* The maximum-weight matching of one connected part: its pairs are pairs->g/p/val at
 * idx[0..n); local row and column numbers come from slot[] (GT ids first, then predicted
 * ids offset by n_gt_ids). */
static rv_status id_match_part(const rv_eval_pairs *pairs, const int32_t *idx, int n, int32_t *slot,
                               int32_t n_gt_ids, double *idtp) {
  rv_status st = RV_OK;
  int rows = 0, cols = 0;
  for (int k = 0; k < n; k++) {
    int32_t g = pairs->g[idx[k]], p = n_gt_ids + pairs->p[idx[k]];
    if (slot[g] < 0) slot[g] = rows++;
    if (slot[p] < 0) slot[p] = cols++;
  }
  double *cost = calloc((size_t)rows * (size_t)cols, sizeof *cost);
  int *row_to_col = malloc((size_t)rows * sizeof *row_to_col);
  if (!cost || !row_to_col) RV_TRY_FAIL(RV_ERR_NOMEM, "identity assignment %d x %d", rows, cols);
  for (int k = 0; k < n; k++)
    cost[(size_t)slot[pairs->g[idx[k]]] * cols + slot[n_gt_ids + pairs->p[idx[k]]]] =
        -pairs->val[idx[k]];
  RV_TRY(rv_lap_solve(cost, rows, cols, 0.0, row_to_col, NULL, NULL));
  for (int r = 0; r < rows; r++)
    if (row_to_col[r] >= 0) *idtp -= cost[(size_t)r * cols + row_to_col[r]];
fail:
  for (int k = 0; k < n; k++) {
    slot[pairs->g[idx[k]]] = -1;
    slot[n_gt_ids + pairs->p[idx[k]]] = -1;
  }
  free(cost);
  free(row_to_col);
  return st;
}

typedef struct part_of {
  int32_t root, pair;
} part_of;

static int cmp_part(const void *pa, const void *pb) {
  const part_of *a = pa, *b = pb;
  if (a->root != b->root) return a->root < b->root ? -1 : 1;
  return (a->pair > b->pair) - (a->pair < b->pair);
}

/* Sorts pair indices by connected part and solves each part. */
static rv_status id_match(const rv_eval_pairs *pairs, int32_t n_gt_ids, int32_t n_ids,
                          double *idtp) {
  rv_status st = RV_OK;
  int32_t *parent = malloc(((size_t)n_ids + 1) * sizeof *parent);
  int32_t *slot = malloc(((size_t)n_ids + 1) * sizeof *slot);
  int32_t *idx = malloc(((size_t)pairs->n + 1) * sizeof *idx);
  part_of *part = malloc(((size_t)pairs->n + 1) * sizeof *part);
  if (!parent || !slot || !idx || !part) RV_TRY_FAIL(RV_ERR_NOMEM, "identity matching");
  for (int32_t i = 0; i < n_ids; i++)
    parent[i] = i, slot[i] = -1;
  for (int32_t k = 0; k < pairs->n; k++) {
    int32_t a = find_root(parent, pairs->g[k]), b = find_root(parent, n_gt_ids + pairs->p[k]);
    if (a != b) parent[a] = b;
  }
  for (int32_t k = 0; k < pairs->n; k++)
    part[k] = (part_of){find_root(parent, pairs->g[k]), k};
  qsort(part, (size_t)pairs->n, sizeof *part, cmp_part);
  for (int32_t k = 0; k < pairs->n; k++)
    idx[k] = part[k].pair;
  for (int32_t k = 0, end; k < pairs->n; k = end) {
    for (end = k + 1; end < pairs->n && part[end].root == part[k].root; end++) {
    }
    RV_TRY(id_match_part(pairs, idx + k, end - k, slot, n_gt_ids, idtp));
  }
fail:
  free(parent);
  free(slot);
  free(idx);
  free(part);
  return st;
}

rv_status rv_eval_identity(rv_eval_seq *s, rv_eval_mot *out) {
  rv_status st = RV_OK;
  rv_eval_pairs pairs;
  double idtp = 0;
  rv_eval_pairs_init(&pairs, 1, s->n_pr_ids);
  RV_TRY(id_overlaps(s, &pairs));
  RV_TRY(id_match(&pairs, s->n_gt_ids, s->n_gt_ids + s->n_pr_ids, &idtp));
  int64_t n_gt = s->gt_off[s->n_frames], n_pr = s->pr_off[s->n_frames];
  out->idtp = (int64_t)llround(idtp);
  out->idfn = n_gt - out->idtp;
  out->idfp = n_pr - out->idtp;
  out->idf1 = (double)out->idtp / fmax(1.0, out->idtp + 0.5 * out->idfn + 0.5 * out->idfp);
fail:
  rv_eval_pairs_free(&pairs);
  return st;
}
