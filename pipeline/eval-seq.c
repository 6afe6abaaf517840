/* A sequence prepared for the track metrics: the evaluated frames, each frame's GT and
 * predicted detections, ids renumbered to 0..n-1 (as TrackEval relabels them), and the
 * per-frame IoU and assignment the metrics share. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

#include "eval-impl.h"

/* ---- sparse pair table ---- */

void rv_eval_pairs_init(rv_eval_pairs *t, int width, int32_t n_pr_ids) {
  memset(t, 0, sizeof *t);
  t->width = width;
  t->n_pr_ids = n_pr_ids;
}

void rv_eval_pairs_free(rv_eval_pairs *t) {
  rv_idmap_release(&t->map);
  free(t->g);
  free(t->p);
  free(t->val);
  memset(t, 0, sizeof *t);
}

static uint64_t pair_key(const rv_eval_pairs *t, int32_t g, int32_t p) {
  return (uint64_t)g * (uint64_t)t->n_pr_ids + (uint64_t)p;
}

double *rv_eval_pairs_get(const rv_eval_pairs *t, int32_t g, int32_t p) {
  int32_t k = rv_idmap_get(&t->map, pair_key(t, g, p));
  return k < 0 ? NULL : t->val + (size_t)k * t->width;
}

static rv_status pairs_grow(rv_eval_pairs *t) {
  int32_t cap = t->cap ? 2 * t->cap : 256;
  if (cap <= t->cap) return RV_FAIL(RV_ERR_NOMEM, "too many id pairs");
  int32_t *g = realloc(t->g, (size_t)cap * sizeof *g);
  if (g) t->g = g;
  int32_t *p = realloc(t->p, (size_t)cap * sizeof *p);
  if (p) t->p = p;
  double *v = realloc(t->val, (size_t)cap * t->width * sizeof *v);
  if (v) t->val = v;
  if (!g || !p || !v) return RV_FAIL(RV_ERR_NOMEM, "%d id pairs", cap);
  t->cap = cap;
  return RV_OK;
}

rv_status rv_eval_pairs_add(rv_eval_pairs *t, int32_t g, int32_t p, double **vals) {
  rv_status st = RV_OK;
  int32_t k = rv_idmap_get(&t->map, pair_key(t, g, p));
  if (k < 0) {
    if (t->n == t->cap) RV_TRY(pairs_grow(t));
    k = t->n;
    RV_TRY(rv_idmap_put(&t->map, pair_key(t, g, p), k));
    t->g[k] = g;
    t->p[k] = p;
    memset(t->val + (size_t)k * t->width, 0, (size_t)t->width * sizeof(double));
    t->n++;
  }
  *vals = t->val + (size_t)k * t->width;
fail:
  return st;
}

/* ---- sequence ---- */

void rv_eval_seq_free(rv_eval_seq *s) {
  free(s->gt_off);
  free(s->pr_off);
  free(s->gt_id);
  free(s->pr_id);
  free(s->gt_box);
  free(s->pr_box);
  free(s->sim);
  free(s->cost);
  free(s->lap_work);
  free(s->row_to_col);
  memset(s, 0, sizeof *s);
}

static rv_status check_sorted(const rv_eval_box *b, int64_t n, const char *what) {
  for (int64_t i = 1; i < n; i++)
    if (b[i].frame < b[i - 1].frame)
      return RV_FAIL(RV_ERR_INVALID, "%s boxes are not in frame order (box %lld, frame %lld)", what,
                     (long long)i, (long long)b[i].frame);
  return RV_OK;
}

/* The evaluated frames: the given ones, or every frame with a box of either side. */
static rv_status frame_list(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pr,
                            int64_t n_pr, int64_t **out, int64_t *n_out) {
  int64_t *f = malloc((size_t)(n_gt + n_pr + 1) * sizeof *f), n = 0;
  if (!f) return RV_FAIL(RV_ERR_NOMEM, "frame list");
  for (int64_t i = 0, j = 0; i < n_gt || j < n_pr;) {
    int64_t a = i < n_gt ? gt[i].frame : INT64_MAX, b = j < n_pr ? pr[j].frame : INT64_MAX;
    int64_t m = a < b ? a : b;
    if (!n || f[n - 1] != m) f[n++] = m;
    if (a == m) i++;
    if (b == m) j++;
  }
  *out = f;
  *n_out = n;
  return RV_OK;
}

/* One side's detections in the evaluated frames, ids renumbered. A repeated id in one
 * frame is an error, as in TrackEval. */
typedef struct side {
  const rv_eval_box *b;
  int64_t n;
  const char *what;
  int64_t *off;
  int32_t *id;
  const rv_eval_box **box;
  int32_t n_ids;
  int max;
} side;

static rv_status side_renumber(side *sd, rv_idmap *ids, int64_t **last_frame, int64_t *cap,
                               int64_t k, int64_t t) {
  const rv_eval_box *b = sd->box[k];
  int32_t v = b->id < 0 ? -1 : rv_idmap_get(ids, (uint64_t)b->id);
  if (v < 0) {
    if (sd->n_ids == INT32_MAX) return RV_FAIL(RV_ERR_INVALID, "too many %s ids", sd->what);
    v = sd->n_ids++;
    if (b->id >= 0) {
      rv_status st = rv_idmap_put(ids, (uint64_t)b->id, v);
      if (st < 0) return st;
    }
    if (v >= *cap) {
      int64_t nc = *cap ? 2 * *cap : 256;
      int64_t *lf = realloc(*last_frame, (size_t)nc * sizeof *lf);
      if (!lf) return RV_FAIL(RV_ERR_NOMEM, "id table");
      *last_frame = lf;
      *cap = nc;
    }
    (*last_frame)[v] = -1;
  } else if ((*last_frame)[v] == t) {
    return RV_FAIL(RV_ERR_FORMAT, "%s id %lld appears twice in frame %lld", sd->what,
                   (long long)b->id, (long long)b->frame);
  }
  (*last_frame)[v] = t;
  sd->id[k] = v;
  return RV_OK;
}

static rv_status side_build(side *sd, const int64_t *frames, int64_t n_frames) {
  rv_status st = RV_OK;
  rv_idmap ids = {0};
  int64_t *last_frame = NULL, cap = 0, i = 0, k = 0;
  sd->off = malloc((size_t)(n_frames + 1) * sizeof *sd->off);
  sd->id = malloc((size_t)(sd->n + 1) * sizeof *sd->id);
  sd->box = malloc((size_t)(sd->n + 1) * sizeof *sd->box);
  if (!sd->off || !sd->id || !sd->box) RV_TRY_FAIL(RV_ERR_NOMEM, "%s detections", sd->what);
  for (int64_t t = 0; t < n_frames; t++) {
    sd->off[t] = k;
    while (i < sd->n && sd->b[i].frame < frames[t])
      i++; /* frames not evaluated */
    for (; i < sd->n && sd->b[i].frame == frames[t]; i++, k++) {
      sd->box[k] = &sd->b[i];
      RV_TRY(side_renumber(sd, &ids, &last_frame, &cap, k, t));
    }
    if (k - sd->off[t] > sd->max) sd->max = (int)(k - sd->off[t]);
  }
  sd->off[n_frames] = k;
fail:
  rv_idmap_release(&ids);
  free(last_frame);
  return st;
}

rv_status rv_eval_seq_init(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                           int64_t n_pred, const int64_t *frames, int64_t n_frames,
                           rv_eval_seq *s) {
  rv_status st = RV_OK;
  int64_t *own = NULL;
  memset(s, 0, sizeof *s);
  if (n_gt < 0 || n_pred < 0 || n_frames < -1 || (n_gt && !gt) || (n_pred && !pred) ||
      (n_frames > 0 && !frames))
    return RV_FAIL(RV_ERR_INVALID, "bad box or frame arrays");
  RV_TRY(check_sorted(gt, n_gt, "GT"));
  RV_TRY(check_sorted(pred, n_pred, "predicted"));
  for (int64_t t = 1; t < n_frames; t++)
    if (frames[t] <= frames[t - 1]) RV_TRY_FAIL(RV_ERR_INVALID, "frames must increase");
  if (n_frames < 0) {
    RV_TRY(frame_list(gt, n_gt, pred, n_pred, &own, &n_frames));
    frames = own;
  }
  side g = {gt, n_gt, "GT", NULL, NULL, NULL, 0, 0};
  side p = {pred, n_pred, "predicted", NULL, NULL, NULL, 0, 0};
  st = side_build(&g, frames, n_frames);
  if (st >= 0) st = side_build(&p, frames, n_frames);
  s->n_frames = n_frames;
  s->gt_off = g.off, s->gt_id = g.id, s->gt_box = g.box, s->n_gt_ids = g.n_ids, s->max_gt = g.max;
  s->pr_off = p.off, s->pr_id = p.id, s->pr_box = p.box, s->n_pr_ids = p.n_ids, s->max_pr = p.max;
  if (st < 0) goto fail;
  size_t cells = (size_t)(s->max_gt ? s->max_gt : 1) * (size_t)(s->max_pr ? s->max_pr : 1);
  s->sim = malloc(cells * sizeof *s->sim);
  s->cost = malloc(cells * sizeof *s->cost);
  s->lap_work = malloc(rv_lap_work_bytes(s->max_gt, s->max_pr) + 8);
  s->row_to_col = malloc((size_t)(s->max_gt + 1) * sizeof *s->row_to_col);
  if (!s->sim || !s->cost || !s->lap_work || !s->row_to_col)
    RV_TRY_FAIL(RV_ERR_NOMEM, "frame scratch %d x %d", s->max_gt, s->max_pr);
fail:
  free(own);
  if (st < 0) rv_eval_seq_free(s);
  return st;
}

/* IoU in double precision on (x, y, w, h) boxes: TrackEval computes in float64, and the
 * metrics compare it with thresholds (0.5, the alphas) to within 2^-52. */
double rv_eval_box_iou(const rv_eval_box *a, const rv_eval_box *b) {
  double iw = fmin(a->x + a->w, b->x + b->w) - fmax(a->x, b->x);
  double ih = fmin(a->y + a->h, b->y + b->h) - fmax(a->y, b->y);
  double inter = iw > 0 && ih > 0 ? iw * ih : 0.0;
  double area_a = a->w * a->h, area_b = b->w * b->h, uni = area_a + area_b - inter;
  if (area_a <= RV_EVAL_EPS || area_b <= RV_EVAL_EPS || uni <= RV_EVAL_EPS) return 0.0;
  return inter / uni;
}

void rv_eval_seq_similarity(rv_eval_seq *s, int64_t t) {
  int64_t g0 = s->gt_off[t], ng = s->gt_off[t + 1] - g0;
  int64_t p0 = s->pr_off[t], np = s->pr_off[t + 1] - p0;
  for (int64_t i = 0; i < ng; i++)
    for (int64_t j = 0; j < np; j++)
      s->sim[i * np + j] = rv_eval_box_iou(s->gt_box[g0 + i], s->pr_box[p0 + j]);
}

rv_status rv_eval_seq_assign(rv_eval_seq *s, int ng, int np) {
  return rv_lap_solve(s->cost, ng, np, INFINITY, s->row_to_col, NULL, s->lap_work);
}

rv_status rv_eval_tracks(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                         int64_t n_pred, const int64_t *frames, int64_t n_frames,
                         rv_eval_mot *out) {
  return rv_eval_tracks_ex(gt, n_gt, pred, n_pred, frames, n_frames, NULL, out);
}

rv_status rv_eval_tracks_ex(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                            int64_t n_pred, const int64_t *frames, int64_t n_frames,
                            const rv_eval_track_opts *opts, rv_eval_mot *out) {
  rv_status st = RV_OK;
  rv_eval_seq s;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  memset(out, 0, sizeof *out);
  if (opts && opts->reentry_gap < 0)
    return RV_FAIL(RV_ERR_INVALID, "reentry_gap %lld: frames must be >= 0",
                   (long long)opts->reentry_gap);
  RV_TRY(rv_eval_seq_init(gt, n_gt, pred, n_pred, frames, n_frames, &s));
  out->gt_dets = s.gt_off[s.n_frames];
  out->pred_dets = s.pr_off[s.n_frames];
  out->gt_ids = s.n_gt_ids;
  out->pred_ids = s.n_pr_ids;
  out->frames = s.n_frames;
  st = rv_eval_hota(&s, out);
  if (st >= 0) st = rv_eval_clear(&s, opts ? opts->reentry_gap : 0, out);
  if (st >= 0) st = rv_eval_identity(&s, out);
  rv_eval_seq_free(&s);
fail:
  return st;
}
