/* The evaluator's shared pieces: a sequence prepared for the track metrics (frames, ids
 * renumbered 0..n-1, per-frame IoU) and a sparse table of (GT id, predicted id) pairs. */
#ifndef RINGVIT_EVAL_IMPL_H
#define RINGVIT_EVAL_IMPL_H

#include <float.h>
#include <stdint.h>

#include <ringvit/eval.h>

#include "idmap-impl.h"

/* numpy's float64 eps: TrackEval's tolerance in every threshold comparison */
#define RV_EVAL_EPS DBL_EPSILON

typedef struct rv_eval_seq {
  int64_t n_frames;
  int64_t *gt_off, *pr_off; /* [n_frames + 1]: frame t's detections are [off[t], off[t + 1]) */
  int32_t *gt_id, *pr_id;   /* renumbered ids, per detection */
  const rv_eval_box **gt_box, **pr_box;
  int32_t n_gt_ids, n_pr_ids;
  int max_gt, max_pr; /* most detections in one frame */
  /* scratch for one frame, max_gt x max_pr: similarity, assignment cost and workspace */
  double *sim, *cost;
  void *lap_work;
  int *row_to_col;
} rv_eval_seq;

rv_status rv_eval_seq_init(const rv_eval_box *gt, int64_t n_gt, const rv_eval_box *pred,
                           int64_t n_pred, const int64_t *frames, int64_t n_frames, rv_eval_seq *s);
void rv_eval_seq_free(rv_eval_seq *s);
/* IoU of two (x, y, w, h) boxes in double precision (0 when either is empty). */
double rv_eval_box_iou(const rv_eval_box *a, const rv_eval_box *b);
/* s->sim[i * n_pred_in_frame + j] = IoU of frame t's GT box i and predicted box j. */
void rv_eval_seq_similarity(rv_eval_seq *s, int64_t t);
/* Maximum-score full assignment of frame t (s->cost holds minus the score, ng x np):
 * s->row_to_col[i] is the column of row i or -1. linear_sum_assignment(-score) in TrackEval. */
rv_status rv_eval_seq_assign(rv_eval_seq *s, int ng, int np);

/* (GT id, predicted id) -> `width` doubles, zero when first seen. */
typedef struct rv_eval_pairs {
  rv_idmap map;
  int32_t n, cap, width;
  int32_t *g, *p;
  double *val;
  int32_t n_pr_ids;
} rv_eval_pairs;

void rv_eval_pairs_init(rv_eval_pairs *t, int width, int32_t n_pr_ids);
void rv_eval_pairs_free(rv_eval_pairs *t);
/* The pair's values, or NULL when absent. */
double *rv_eval_pairs_get(const rv_eval_pairs *t, int32_t g, int32_t p);
rv_status rv_eval_pairs_add(rv_eval_pairs *t, int32_t g, int32_t p, double **vals);

/* The metrics, each filling its fields of *out. */
rv_status rv_eval_hota(rv_eval_seq *s, rv_eval_mot *out);
/* reentry_gap > 0 also counts re-entries (rv_eval_mot.reentries...). */
rv_status rv_eval_clear(rv_eval_seq *s, int64_t reentry_gap, rv_eval_mot *out);
rv_status rv_eval_identity(rv_eval_seq *s, rv_eval_mot *out);

#endif
