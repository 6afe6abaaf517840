/* Don't care below a visibility (rv_eval_dont_care, `ringvit eval --min-vis`): hidden GT
 * boxes leave with the predictions matched to them and no others (the one-to-one matching
 * gives a prediction between a visible and a hidden box to the better IoU); action
 * segments whose track is nowhere visible are ignored, and the action AP then leaves out
 * the predictions they take (VOC's "difficult"); min_vis 0 changes nothing. */
#include <stdlib.h>
#include <string.h>

#include <ringvit/eval.h>

#include "rv-test.h"

#define TOL 1e-12

static rv_eval_box B(int64_t frame, int64_t id, double x, double y, double vis) {
  rv_eval_box b = {frame, id, x, y, 20, 20, vis, 0};
  return b;
}

static rv_eval_segment S(const char *label, int64_t track, int64_t start, int64_t end,
                         double score) {
  rv_eval_segment s = {{0}, track == 0, start, end, score, track, 0};
  strcpy(s.label, label);
  return s;
}

/* An rv_eval_data owning copies of the arrays (rv_eval_data_free frees them). */
static rv_eval_data data(const rv_eval_box *b, int64_t nb, const rv_eval_segment *s, int64_t ns,
                         double fps) {
  rv_eval_data d = {0};
  d.boxes = malloc((size_t)(nb + 1) * sizeof *b);
  d.segments = malloc((size_t)(ns + 1) * sizeof *s);
  assert_non_null(d.boxes);
  assert_non_null(d.segments);
  if (nb) memcpy(d.boxes, b, (size_t)nb * sizeof *b);
  if (ns) memcpy(d.segments, s, (size_t)ns * sizeof *s);
  d.n_boxes = nb, d.n_segments = ns, d.n_frames = -1, d.fps = fps;
  d.has_actions = ns > 0;
  return d;
}

/* Frame 1: visible a, hidden h; predictions on a, on h and one far away. Frame 2: a hidden
 * box h2 overlaps a (IoU 0.82) and one prediction sits exactly on a: it stays. Frame 3: a
 * prediction on h2 alone (a missed) goes. */
static void test_dont_care_boxes(void **state) {
  (void)state;
  rv_eval_box g[] = {B(1, 1, 10, 10, 1), B(1, 2, 100, 100, 0.1), B(2, 1, 10, 10, 1),
                     B(2, 3, 12, 10, 0), B(3, 1, 10, 10, 1), B(3, 3, 60, 10, 0.05)};
  rv_eval_box p[] = {B(1, 7, 10, 10, 1), B(1, 8, 100, 100, 1), B(1, 9, 300, 300, 1),
                     B(2, 7, 10, 10, 1), B(3, 8, 60, 10, 1)};
  rv_eval_data gt = data(g, 6, NULL, 0, 10), pr = data(p, 5, NULL, 0, 0);
  rv_eval_dont_care_counts c;
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 0.2, &c), RV_OK);
  assert_int_equal(c.gt_boxes, 3);
  assert_int_equal(c.pred_boxes, 2);
  assert_int_equal(gt.n_boxes, 3);
  assert_int_equal(pr.n_boxes, 3);
  for (int64_t i = 0; i < gt.n_boxes; i++)
    assert_int_equal(gt.boxes[i].id, 1);
  assert_int_equal(pr.boxes[0].id, 7);
  assert_int_equal(pr.boxes[1].id, 9); /* the false positive stays one */
  assert_int_equal(pr.boxes[2].frame, 2);
  rv_eval_mot m;
  assert_int_equal(
      rv_eval_tracks(gt.boxes, gt.n_boxes, pr.boxes, pr.n_boxes, NULL, -1, &m), RV_OK);
  assert_int_equal(m.clr_tp, 2);
  assert_int_equal(m.clr_fp, 1);
  assert_int_equal(m.clr_fn, 1); /* frame 3's visible a was missed */
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pr);
}

/* Sampled predictions (JSON Lines: pred.frames) count left-out GT boxes of their frames only. */
static void test_dont_care_counts_evaluated_frames(void **state) {
  (void)state;
  rv_eval_box g[] = {B(1, 2, 100, 100, 0), B(2, 2, 100, 100, 0), B(3, 2, 100, 100, 0)};
  rv_eval_data gt = data(g, 3, NULL, 0, 10), pr = data(NULL, 0, NULL, 0, 0);
  int64_t frames[] = {1, 3};
  pr.frames = malloc(sizeof frames);
  assert_non_null(pr.frames);
  memcpy(pr.frames, frames, sizeof frames);
  pr.n_frames = 2;
  rv_eval_dont_care_counts c;
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 0.5, &c), RV_OK);
  assert_int_equal(c.gt_boxes, 2);
  assert_int_equal(gt.n_boxes, 0);
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pr);
}

/* At 10 fps, track 5 is hidden for its whole segment [0, 1 s]; track 6 is seen at 0.4 s
 * (frame 5); the scene segment has no track. Frames outside a segment do not count. */
static void test_dont_care_segments(void **state) {
  (void)state;
  rv_eval_box g[] = {B(1, 5, 10, 10, 0), B(5, 5, 10, 10, 0.1), B(5, 6, 50, 50, 0.5),
                     B(11, 5, 10, 10, 0), B(12, 5, 10, 10, 1)};
  rv_eval_segment s[] = {S("loiter", 5, 0, 1000000000, 1), S("loiter", 6, 0, 1000000000, 1),
                         S("crowd", 0, 0, 1000000000, 1)};
  rv_eval_data gt = data(g, 5, s, 3, 10), pr = data(NULL, 0, NULL, 0, 0);
  rv_eval_dont_care_counts c;
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 0.3, &c), RV_OK);
  assert_int_equal(c.gt_segments, 1);
  assert_int_equal(gt.segments[0].ignore, 1);
  assert_int_equal(gt.segments[1].ignore, 0);
  assert_int_equal(gt.segments[2].ignore, 0);
  /* without the GT frame rate the segments cannot be placed on the rows */
  gt.fps = 0;
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 0.3, &c), RV_ERR_INVALID);
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pr);
}

static void test_dont_care_zero_changes_nothing(void **state) {
  (void)state;
  rv_eval_box g[] = {B(1, 1, 10, 10, 0), B(1, 2, 100, 100, 0)};
  rv_eval_box p[] = {B(1, 7, 10, 10, 1)};
  rv_eval_segment s[] = {S("stand", 1, 0, 100, 1)};
  rv_eval_data gt = data(g, 2, s, 1, 0), pr = data(p, 1, NULL, 0, 0);
  rv_eval_dont_care_counts c;
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 0, &c), RV_OK);
  assert_int_equal(gt.n_boxes, 2);
  assert_int_equal(pr.n_boxes, 1);
  assert_int_equal(gt.segments[0].ignore, 0);
  assert_int_equal(c.gt_boxes + c.pred_boxes + c.gt_segments, 0);
  assert_int_equal(rv_eval_dont_care(&gt, &pr, 1.5, &c), RV_ERR_INVALID);
  assert_int_equal(rv_eval_dont_care(NULL, &pr, 0.2, &c), RV_ERR_INVALID);
  rv_eval_data_free(&gt);
  rv_eval_data_free(&pr);
}

/* GT walk A [0, 100) ignored, B [200, 300). Predictions by score: on A, a false one, on B.
 * Counting A: TP, FP, TP -> AP (1 + 2/3) / 2. A ignored: its prediction leaves the ranking:
 * FP, TP -> AP 1/2 at every threshold; F1 = 2 / (2 + 1 + 0). */
static void test_actions_ignored_segment(void **state) {
  (void)state;
  rv_eval_segment gt[] = {S("walk", 1, 0, 100, 1), S("walk", 2, 200, 300, 1)};
  rv_eval_segment pr[] = {S("walk", 3, 0, 100, 0.9), S("walk", 3, 500, 600, 0.8),
                          S("walk", 4, 200, 300, 0.7)};
  rv_eval_act a;
  assert_int_equal(rv_eval_actions(gt, 2, pr, 3, &a), RV_OK);
  assert_float_equal(a.map[1], (1 + 2.0 / 3) / 2, TOL);
  gt[0].ignore = 1;
  assert_int_equal(rv_eval_actions(gt, 2, pr, 3, &a), RV_OK);
  for (int t = 0; t < RV_EVAL_N_TIOU; t++)
    assert_float_equal(a.map[t], 0.5, TOL);
  assert_int_equal(a.tp_50, 1);
  assert_int_equal(a.fp_50, 1);
  assert_int_equal(a.fn_50, 0);
  assert_int_equal(a.gt_ignored, 1);
  assert_int_equal(a.pred_ignored_50, 1);
  assert_float_equal(a.f1_50, 2.0 / 3, TOL);
}

/* A class whose every GT segment is ignored has no AP: mAP averages the other classes; its
 * predictions on the ignored segment are not false positives, the others are. */
static void test_actions_all_ignored_class(void **state) {
  (void)state;
  rv_eval_segment gt[] = {S("left_behind", 1, 0, 100, 1), S("walk", 2, 0, 100, 1)};
  rv_eval_segment pr[] = {S("left_behind", 1, 0, 100, 0.9), S("left_behind", 1, 400, 500, 0.9),
                          S("walk", 2, 0, 100, 0.5)};
  gt[0].ignore = 1;
  rv_eval_act a;
  assert_int_equal(rv_eval_actions(gt, 2, pr, 3, &a), RV_OK);
  assert_int_equal(a.n_classes, 1);
  for (int t = 0; t < RV_EVAL_N_TIOU; t++)
    assert_float_equal(a.map[t], 1, TOL);
  assert_int_equal(a.tp_50, 1);
  assert_int_equal(a.fp_50, 1);
  assert_int_equal(a.fn_50, 0);
  gt[1].ignore = 1; /* nothing left to measure */
  assert_int_equal(rv_eval_actions(gt, 2, pr, 3, &a), RV_OK);
  assert_int_equal(a.n_classes, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dont_care_boxes),
      cmocka_unit_test(test_dont_care_counts_evaluated_frames),
      cmocka_unit_test(test_dont_care_segments),
      cmocka_unit_test(test_dont_care_zero_changes_nothing),
      cmocka_unit_test(test_actions_ignored_segment),
      cmocka_unit_test(test_actions_all_ignored_class),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
