/* Don't care: what the camera cannot see leaves the evaluation, as KITTI's DontCare regions
 * and TrackEval's distractor classes do, here decided by the GT's visibility column. A
 * detector that finds a person behind a bush is not punished as a false positive, one that
 * misses him is not punished as a miss. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

#include "eval-impl.h"

#define MATCH_IOU 0.5

/* The end of the run of boxes that share box b's frame (boxes in frame order). */
static int64_t frame_end(const rv_eval_box *x, int64_t n, int64_t b) {
  int64_t e = b;
  while (e < n && x[e].frame == x[b].frame)
    e++;
  return e;
}

static int any_hidden(const rv_eval_box *g, int64_t n, double min_vis) {
  for (int64_t i = 0; i < n; i++)
    if (g[i].vis < min_vis) return 1;
  return 0;
}

static int most_in_a_frame(const rv_eval_box *b, int64_t n) {
  int64_t most = 0;
  for (int64_t i = 0; i < n;) {
    int64_t e = frame_end(b, n, i);
    if (e - i > most) most = e - i;
    i = e;
  }
  return (int)most;
}

/* One frame's matching scratch, sized for the largest frame of either side. */
typedef struct scratch {
  double *cost;
  int *row_to_col;
  void *lap_work;
} scratch;

static void scratch_free(scratch *w) {
  free(w->cost);
  free(w->row_to_col);
  free(w->lap_work);
}

static rv_status scratch_init(scratch *w, const rv_eval_data *gt, const rv_eval_data *pred) {
  int ng = most_in_a_frame(gt->boxes, gt->n_boxes), np = most_in_a_frame(pred->boxes, pred->n_boxes);
  w->cost = malloc((size_t)ng * (size_t)np * sizeof *w->cost + 8);
  w->row_to_col = malloc((size_t)ng * sizeof *w->row_to_col + 8);
  w->lap_work = malloc(rv_lap_work_bytes(ng, np) + 8);
  if (!w->cost || !w->row_to_col || !w->lap_work)
    return RV_FAIL(RV_ERR_NOMEM, "don't-care matching of %d x %d boxes", ng, np);
  return RV_OK;
}

/* Marks in drop[] the predictions of one frame that the optimal IoU matching (pairs below
 * 0.5 do not count) gives to a GT box less visible than min_vis. */
static rv_status mark_frame(const rv_eval_box *g, int ng, const rv_eval_box *p, int np,
                            double min_vis, scratch *w, unsigned char *drop) {
  for (int i = 0; i < ng; i++)
    for (int j = 0; j < np; j++) {
      double iou = rv_eval_box_iou(&g[i], &p[j]);
      w->cost[i * np + j] = iou >= MATCH_IOU - RV_EVAL_EPS ? -iou : 0.0;
    }
  rv_status st = rv_lap_solve(w->cost, ng, np, INFINITY, w->row_to_col, NULL, w->lap_work);
  if (st < 0) return st;
  for (int i = 0; i < ng; i++) {
    int j = w->row_to_col[i];
    if (j >= 0 && w->cost[i * np + j] < 0 && g[i].vis < min_vis) drop[j] = 1;
  }
  return RV_OK;
}

/* drop[k] = 1 for each prediction matched to a hidden GT box in its frame. */
static rv_status mark_predictions(const rv_eval_data *gt, const rv_eval_data *pred,
                                  double min_vis, scratch *w, unsigned char *drop) {
  int64_t j = 0;
  for (int64_t i = 0; i < gt->n_boxes;) {
    int64_t ie = frame_end(gt->boxes, gt->n_boxes, i), frame = gt->boxes[i].frame;
    while (j < pred->n_boxes && pred->boxes[j].frame < frame)
      j++;
    int64_t je = j < pred->n_boxes && pred->boxes[j].frame == frame
                     ? frame_end(pred->boxes, pred->n_boxes, j)
                     : j;
    if (je > j && any_hidden(gt->boxes + i, ie - i, min_vis)) {
      rv_status st = mark_frame(gt->boxes + i, (int)(ie - i), pred->boxes + j, (int)(je - j),
                                min_vis, w, drop + j);
      if (st < 0) return st;
    }
    i = ie;
  }
  return RV_OK;
}

/* Keeps, in order, the boxes not marked in drop[]; returns how many of those left out lie
 * in frames the evaluation looks at (pred->frames, increasing; every frame when -1). */
static int64_t compact_boxes(rv_eval_box *b, int64_t *n, const unsigned char *drop,
                             const rv_eval_data *pred) {
  int64_t w = 0, left_out = 0, f = 0;
  for (int64_t r = 0; r < *n; r++) {
    if (!drop[r]) {
      b[w++] = b[r];
      continue;
    }
    while (pred->n_frames >= 0 && f < pred->n_frames && pred->frames[f] < b[r].frame)
      f++;
    left_out += pred->n_frames < 0 || (f < pred->n_frames && pred->frames[f] == b[r].frame);
  }
  *n = w;
  return left_out;
}

/* The first box at frame f or later (boxes in frame order). */
static int64_t first_at(const rv_eval_box *b, int64_t n, int64_t f) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (b[mid].frame < f)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Whether the segment's track has a GT row as visible as min_vis in a frame from the one
 * showing its start to the first at or after its end (frame f begins at (f - 1) / fps;
 * a segment shorter than a frame still has one). */
static int segment_seen(const rv_eval_data *gt, const rv_eval_segment *s, double min_vis) {
  int64_t f0 = (int64_t)floor((double)s->start_ns * gt->fps / 1e9) + 1;
  int64_t f1 = (int64_t)ceil((double)s->end_ns * gt->fps / 1e9) + 1;
  for (int64_t k = first_at(gt->boxes, gt->n_boxes, f0);
       k < gt->n_boxes && gt->boxes[k].frame <= f1; k++)
    if (gt->boxes[k].id == s->track_id && gt->boxes[k].vis >= min_vis) return 1;
  return 0;
}

static rv_status mark_segments(rv_eval_data *gt, double min_vis, int64_t *ignored) {
  for (int64_t i = 0; i < gt->n_segments; i++) {
    rv_eval_segment *s = &gt->segments[i];
    if (s->scene) continue;
    if (!(gt->fps > 0))
      return RV_FAIL(RV_ERR_INVALID,
                     "don't care on action segments needs the GT frame rate (--fps)");
    s->ignore = !segment_seen(gt, s, min_vis);
    *ignored += s->ignore;
  }
  return RV_OK;
}

rv_status rv_eval_dont_care(rv_eval_data *gt, rv_eval_data *pred, double min_vis,
                            rv_eval_dont_care_counts *out) {
  rv_status st = RV_OK;
  unsigned char *drop = NULL;
  scratch w = {0};
  if (!gt || !pred || !out || !(min_vis >= 0 && min_vis <= 1))
    return RV_FAIL(RV_ERR_INVALID, "gt, pred and out must be given, min_vis in [0, 1]");
  memset(out, 0, sizeof *out);
  if (min_vis == 0) return RV_OK;
  /* segments first: they are judged by the GT rows that the boxes' pass removes */
  RV_TRY(mark_segments(gt, min_vis, &out->gt_segments));
  int64_t most = gt->n_boxes > pred->n_boxes ? gt->n_boxes : pred->n_boxes;
  drop = calloc((size_t)most + 1, 1);
  if (!drop) RV_TRY_FAIL(RV_ERR_NOMEM, "don't-care marks");
  RV_TRY(scratch_init(&w, gt, pred));
  RV_TRY(mark_predictions(gt, pred, min_vis, &w, drop));
  out->pred_boxes = compact_boxes(pred->boxes, &pred->n_boxes, drop, pred);
  for (int64_t i = 0; i < gt->n_boxes; i++)
    drop[i] = gt->boxes[i].vis < min_vis;
  out->gt_boxes = compact_boxes(gt->boxes, &gt->n_boxes, drop, pred);
fail:
  scratch_free(&w);
  free(drop);
  return st;
}
