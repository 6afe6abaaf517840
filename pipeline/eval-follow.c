/* Which GT object a predicted track follows, for matching per-track action segments on
 * their object as well as their time: ActivityNet's temporal matching alone lets a "run"
 * segment of one track count for another person who ran at the same time, so emitting
 * every action on every track scores. Boxes are indexed by (track, frame); a query walks the
 * GT track's boxes in the window and looks the predicted track's box up in each frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval-impl.h"

typedef struct track_boxes {
  const rv_eval_box **box; /* sorted by (id, frame) */
  int64_t n;
} track_boxes;

struct rv_eval_follow {
  track_boxes gt, pred;
  const int64_t *frames; /* the evaluated frames, increasing; n_frames < 0: all */
  int64_t n_frames;
  double fps;
};

static int cmp_id_frame(const void *pa, const void *pb) {
  const rv_eval_box *a = *(const rv_eval_box *const *)pa, *b = *(const rv_eval_box *const *)pb;
  if (a->id != b->id) return a->id < b->id ? -1 : 1;
  return (a->frame > b->frame) - (a->frame < b->frame);
}

static rv_status index_boxes(const rv_eval_box *b, int64_t n, track_boxes *t) {
  t->n = n;
  t->box = malloc((size_t)(n ? n : 1) * sizeof *t->box);
  if (!t->box) return RV_FAIL(RV_ERR_NOMEM, "%lld boxes to index", (long long)n);
  for (int64_t i = 0; i < n; i++)
    t->box[i] = &b[i];
  qsort(t->box, (size_t)n, sizeof *t->box, cmp_id_frame);
  return RV_OK;
}

/* The first index whose (id, frame) is at or after (id, frame). */
static int64_t lower_bound(const track_boxes *t, int64_t id, int64_t frame) {
  int64_t lo = 0, hi = t->n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    const rv_eval_box *b = t->box[mid];
    if (b->id < id || (b->id == id && b->frame < frame))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The index of the first evaluated frame at or after `frame` (n_frames >= 0). */
static int64_t first_evaluated(const rv_eval_follow *f, int64_t frame) {
  int64_t lo = 0, hi = f->n_frames;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (f->frames[mid] < frame)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

static int evaluated(const rv_eval_follow *f, int64_t frame) {
  if (f->n_frames < 0) return 1;
  int64_t k = first_evaluated(f, frame);
  return k < f->n_frames && f->frames[k] == frame;
}

/* The evaluated frames just outside [*f0, *f1], for a window between two samples. */
static void widen(const rv_eval_follow *f, int64_t *f0, int64_t *f1) {
  if (f->n_frames < 0) {
    (*f0)--, (*f1)++;
    return;
  }
  int64_t k0 = first_evaluated(f, *f0), k1 = first_evaluated(f, *f1 + 1);
  if (k0 > 0) *f0 = f->frames[k0 - 1];
  if (k1 < f->n_frames) *f1 = f->frames[k1];
}

rv_status rv_eval_follow_init(const rv_eval_data *gt, const rv_eval_data *pred,
                              rv_eval_follow **out) {
  rv_status st = RV_OK;
  if (!gt || !pred || !out) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *out = NULL;
  if (!(gt->fps > 0))
    return RV_FAIL(RV_ERR_INVALID, "matching action segments on tracks needs the GT frame rate");
  rv_eval_follow *f = calloc(1, sizeof *f);
  if (!f) return RV_FAIL(RV_ERR_NOMEM, "track index");
  f->frames = pred->frames;
  f->n_frames = pred->n_frames;
  f->fps = gt->fps;
  RV_TRY(index_boxes(gt->boxes, gt->n_boxes, &f->gt));
  RV_TRY(index_boxes(pred->boxes, pred->n_boxes, &f->pred));
  *out = f;
  return RV_OK;
fail:
  rv_eval_follow_free(f);
  return st;
}

void rv_eval_follow_free(rv_eval_follow *f) {
  if (!f) return;
  free(f->gt.box);
  free(f->pred.box);
  free(f);
}

/* Over the evaluated frames f0..f1 in which the GT track has a box: how many (*seen), and
 * in how many the predicted track's box overlaps it at IoU >= 0.5 (*held). */
static void overlap(const rv_eval_follow *f, int64_t gt_track, int64_t pred_track, int64_t f0,
                    int64_t f1, int64_t *seen, int64_t *held) {
  *seen = *held = 0;
  for (int64_t k = lower_bound(&f->gt, gt_track, f0);
       k < f->gt.n && f->gt.box[k]->id == gt_track && f->gt.box[k]->frame <= f1; k++) {
    const rv_eval_box *g = f->gt.box[k];
    if (!evaluated(f, g->frame)) continue;
    (*seen)++;
    int64_t j = lower_bound(&f->pred, pred_track, g->frame);
    if (j < f->pred.n && f->pred.box[j]->id == pred_track && f->pred.box[j]->frame == g->frame)
      *held += rv_eval_box_iou(g, f->pred.box[j]) >= 0.5 - RV_EVAL_EPS;
  }
}

int rv_eval_follows(const rv_eval_follow *f, int64_t gt_track, int64_t pred_track, int64_t start_ns,
                    int64_t end_ns) {
  /* the frames showing the window, as rv_eval_dont_care counts them */
  int64_t f0 = (int64_t)floor((double)start_ns * f->fps / 1e9) + 1;
  int64_t f1 = (int64_t)ceil((double)end_ns * f->fps / 1e9) + 1;
  int64_t seen, held;
  overlap(f, gt_track, pred_track, f0, f1, &seen, &held);
  if (!seen) { /* a window between two samples: judged by the samples around it */
    widen(f, &f0, &f1);
    overlap(f, gt_track, pred_track, f0, f1, &seen, &held);
  }
  return seen > 0 && 2 * held >= seen;
}
