/* Action segment mAP and F1 (ActivityNet-style) on hand-computed cases: perfect, half
 * found, segments shifted around the tIoU thresholds, interpolated precision, duplicate
 * detections, scene versus track classes, classes missing on either side; and matching on
 * tracks as well as time (rv_eval_follow). */
#include <string.h>

#include <ringvit/eval.h>

#include "rv-test.h"

#define TOL 1e-12

static rv_eval_segment S(const char *label, int scene, int64_t start, int64_t end, double score) {
  rv_eval_segment s = {{0}, scene, start, end, score, 0, 0};
  strcpy(s.label, label);
  return s;
}

static rv_eval_act run(const rv_eval_segment *gt, int ng, const rv_eval_segment *pr, int np) {
  rv_eval_act a;
  assert_int_equal(rv_eval_actions(gt, ng, pr, np, &a), RV_OK);
  return a;
}

/* tIoU = overlap / union of [start, end). */
static void test_tiou(void **state) {
  (void)state;
  assert_float_equal(rv_eval_tiou(0, 100, 0, 100), 1, TOL);
  assert_float_equal(rv_eval_tiou(0, 100, 50, 150), 50.0 / 150, TOL);
  assert_float_equal(rv_eval_tiou(0, 100, 100, 200), 0, TOL); /* touching: no overlap */
  assert_float_equal(rv_eval_tiou(0, 100, 25, 75), 0.5, TOL);
  assert_float_equal(rv_eval_tiou(5, 5, 5, 5), 0, TOL);
}

static void test_actions_perfect(void **state) {
  (void)state;
  rv_eval_segment gt[3] = {S("walk", 0, 0, 100, 1), S("run", 0, 50, 90, 1),
                           S("walk", 0, 200, 260, 1)};
  rv_eval_act a = run(gt, 3, gt, 3);
  assert_int_equal(a.n_classes, 2);
  for (int t = 0; t < RV_EVAL_N_TIOU; t++)
    assert_float_equal(a.map[t], 1, TOL);
  assert_float_equal(a.f1_50, 1, TOL);
}

/* One of two GT segments found: precision 1 at recall 0.5, AP = 0.5 at every threshold;
 * F1 = 2 x 1 / (2 x 1 + 0 + 1) = 2/3. */
static void test_actions_half(void **state) {
  (void)state;
  rv_eval_segment gt[2] = {S("fall", 0, 0, 100, 1), S("fall", 0, 300, 400, 1)};
  rv_eval_segment pr[1] = {S("fall", 0, 300, 400, 0.7)};
  rv_eval_act a = run(gt, 2, pr, 1);
  for (int t = 0; t < RV_EVAL_N_TIOU; t++)
    assert_float_equal(a.map[t], 0.5, TOL);
  assert_float_equal(a.f1_50, 2.0 / 3, TOL);
  assert_int_equal(a.fn_50, 1);
}

/* One GT [0, 300) and one prediction shifted by d: tIoU = (300 - d) / (300 + d).
 *  d = 100: 200 / 400 = 0.5 exactly: a TP at 0.3 and 0.5 (>=), not at 0.7.
 *  d = 40: 260 / 340 = 0.765: a TP everywhere.  d = 150: 150 / 450 = 1/3: only at 0.3.
 *  d = 190: 110 / 490 = 0.224: nowhere. */
static void test_actions_shifted(void **state) {
  (void)state;
  const struct {
    int64_t d;
    double ap[3];
  } cases[] = {{100, {1, 1, 0}}, {40, {1, 1, 1}}, {150, {1, 0, 0}}, {190, {0, 0, 0}}};
  rv_eval_segment gt[1] = {S("loiter", 0, 0, 300, 1)};
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    rv_eval_segment pr[1] = {S("loiter", 0, cases[i].d, 300 + cases[i].d, 0.9)};
    rv_eval_act a = run(gt, 1, pr, 1);
    for (int t = 0; t < RV_EVAL_N_TIOU; t++)
      assert_float_equal(a.map[t], cases[i].ap[t], TOL);
    assert_float_equal(a.f1_50, cases[i].ap[1], TOL);
  }
}

/* Two GT segments; predictions by score: a FP, then both TPs. Precision 0, 1/2, 2/3 at
 * recall 0, 1/2, 1; interpolated (best precision at any later rank) 2/3 at both recall
 * steps: AP = 0.5 x 2/3 + 0.5 x 2/3 = 2/3. Ordered TP, FP, TP instead: precision 1, 1/2,
 * 2/3: AP = 0.5 x 1 + 0.5 x 2/3 = 5/6. A second detection of a matched segment is a FP. */
static void test_actions_interpolated(void **state) {
  (void)state;
  rv_eval_segment gt[2] = {S("bag", 0, 0, 100, 1), S("bag", 0, 200, 300, 1)};
  rv_eval_segment pr[3] = {S("bag", 0, 500, 600, 0.9), S("bag", 0, 0, 100, 0.8),
                           S("bag", 0, 200, 300, 0.7)};
  rv_eval_act a = run(gt, 2, pr, 3);
  assert_float_equal(a.map[1], 2.0 / 3, TOL);
  pr[0].score = 0.75; /* now TP 0.8, FP 0.75, TP 0.7 */
  a = run(gt, 2, pr, 3);
  assert_float_equal(a.map[1], 5.0 / 6, TOL);
  /* the same segment twice: TP then FP; the other GT is missed: precision 1, 1/2 at
   * recall 1/2: AP = 0.5 */
  rv_eval_segment dup[2] = {S("bag", 0, 0, 100, 0.9), S("bag", 0, 0, 100, 0.8)};
  a = run(gt, 2, dup, 2);
  assert_float_equal(a.map[1], 0.5, TOL);
  assert_int_equal(a.fp_50, 1);
}

/* A class is a label with its kind: a per-track "crowd" does not find a scene "crowd".
 * Predictions of classes the GT lacks leave mAP alone and count as FPs in F1. mAP
 * averages over the GT classes: (1 + 0) / 2. */
static void test_actions_classes(void **state) {
  (void)state;
  rv_eval_segment gt[2] = {S("crowd", 1, 0, 100, 1), S("walk", 0, 0, 100, 1)};
  rv_eval_segment pr[3] = {S("crowd", 0, 0, 100, 0.9), S("walk", 0, 0, 100, 0.9),
                           S("ghost", 0, 0, 100, 0.9)};
  rv_eval_act a = run(gt, 2, pr, 3);
  assert_int_equal(a.n_classes, 2);
  assert_float_equal(a.map[1], 0.5, TOL);
  assert_int_equal(a.tp_50, 1);
  assert_int_equal(a.fp_50, 2);
  assert_int_equal(a.fn_50, 1);
  assert_float_equal(a.f1_50, 2.0 / (2 + 2 + 1), TOL);
}

static void test_actions_empty_and_errors(void **state) {
  (void)state;
  rv_eval_segment gt[1] = {S("walk", 0, 0, 100, 1)};
  rv_eval_act a = run(gt, 1, NULL, 0);
  assert_int_equal(a.n_classes, 1);
  assert_float_equal(a.map[0], 0, TOL);
  assert_float_equal(a.f1_50, 0, TOL);
  a = run(NULL, 0, gt, 1);
  assert_int_equal(a.n_classes, 0);
  assert_int_equal(a.fp_50, 1);
  rv_eval_segment bad[1] = {S("walk", 0, 100, 0, 1)};
  assert_int_equal(rv_eval_actions(bad, 1, NULL, 0, &a), RV_ERR_INVALID);
  assert_int_equal(rv_eval_actions(gt, 1, gt, 1, NULL), RV_ERR_INVALID);
}

/* Matching on tracks (rv_eval_follow): GT objects 1 and 2 side by side for 2 s at 10 fps,
 * predictions sampled every 5th frame; track 7 holds object 1's boxes, 8 object 2's, 9
 * object 1's for the first three samples only. A "run" of object 1 predicted on track 8
 * matches on time alone, not on tracks. */
static void test_actions_on_tracks(void **state) {
  (void)state;
  rv_eval_box gb[42], pb[15];
  int64_t frames[5] = {1, 6, 11, 16, 21};
  for (int f = 1; f <= 21; f++) {
    gb[2 * (f - 1)] = (rv_eval_box){f, 1, 0, 0, 10, 20, 1, 0};
    gb[2 * (f - 1) + 1] = (rv_eval_box){f, 2, 100, 0, 10, 20, 1, 0};
  }
  for (int k = 0; k < 5; k++) {
    pb[3 * k] = (rv_eval_box){frames[k], 7, 1, 0, 10, 20, 1, 0}; /* IoU 9/11 */
    pb[3 * k + 1] = (rv_eval_box){frames[k], 8, 100, 0, 10, 20, 1, 0};
    pb[3 * k + 2] = (rv_eval_box){frames[k], 9, k < 3 ? 0 : 200, 0, 10, 20, 1, 0};
  }
  rv_eval_segment gs[2] = {S("run", 0, 0, 2000000000, 1), S("walk", 0, 0, 2000000000, 1)};
  gs[0].track_id = 1, gs[1].track_id = 2;
  rv_eval_segment ps[3] = {S("run", 0, 0, 2000000000, 0.9), S("run", 0, 0, 2000000000, 0.5),
                           S("walk", 0, 0, 2000000000, 0.8)};
  ps[0].track_id = 8, ps[1].track_id = 7, ps[2].track_id = 8;
  rv_eval_data gt = {.boxes = gb,
                     .n_boxes = 42,
                     .n_frames = -1,
                     .segments = gs,
                     .n_segments = 2,
                     .has_actions = 1,
                     .fps = 10.0};
  rv_eval_data pr = {.boxes = pb,
                     .n_boxes = 15,
                     .frames = frames,
                     .n_frames = 5,
                     .segments = ps,
                     .n_segments = 3,
                     .has_actions = 1};
  rv_eval_follow *f = NULL;
  assert_int_equal(rv_eval_follow_init(&gt, &pr, &f), RV_OK);
  assert_true(rv_eval_follows(f, 1, 7, 0, 2000000000));
  assert_false(rv_eval_follows(f, 1, 8, 0, 2000000000));
  assert_true(rv_eval_follows(f, 1, 9, 0, 2000000000));           /* 3 of 5 samples */
  assert_false(rv_eval_follows(f, 1, 9, 1200000000, 2000000000)); /* 0 of 2 */
  assert_true(rv_eval_follows(f, 1, 7, 150000000, 250000000));    /* between samples: 1 and 6 */
  assert_false(rv_eval_follows(f, 3, 7, 0, 2000000000));          /* no such GT object */
  rv_eval_act a;
  assert_int_equal(rv_eval_actions_ex(gs, 2, ps, 3, f, &a), RV_OK);
  assert_float_equal(a.map[1], (0.5 + 1.0) / 2, TOL); /* run: the TP ranks second */
  assert_int_equal(a.n_listed, 2);                    /* per class, in the GT's order */
  assert_string_equal(a.classes[0].label, "run");
  assert_float_equal(a.classes[0].ap[1], 0.5, TOL);
  assert_true(a.classes[0].gt_segments == 1 && a.classes[0].pred_segments == 2);
  assert_string_equal(a.classes[1].label, "walk");
  assert_float_equal(a.classes[1].ap[1], 1.0, TOL);
  assert_true(a.classes[1].scene == 0 && a.classes[1].pred_segments == 1);
  assert_int_equal(a.tp_50, 2);
  assert_int_equal(a.fp_50, 1);
  a = run(gs, 2, ps, 3); /* on time alone the wrong track's run is the TP */
  assert_float_equal(a.map[1], 1.0, TOL);
  rv_eval_follow_free(f);
  gt.fps = 0;
  assert_int_equal(rv_eval_follow_init(&gt, &pr, &f), RV_ERR_INVALID);
  assert_null(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tiou),
      cmocka_unit_test(test_actions_perfect),
      cmocka_unit_test(test_actions_half),
      cmocka_unit_test(test_actions_shifted),
      cmocka_unit_test(test_actions_interpolated),
      cmocka_unit_test(test_actions_classes),
      cmocka_unit_test(test_actions_empty_and_errors),
      cmocka_unit_test(test_actions_on_tracks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
