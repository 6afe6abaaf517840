/* Track metrics (HOTA, CLEAR, identity) on hand-computed cases, and the readers of
 * `ringvit eval` (MOTChallenge txt, JSON Lines, GT folders) with their errors. Every
 * expected value below is derived in the comment above it from TrackEval's definitions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ringvit/eval.h>
#include <ringvit/track.h>

#include "rv-test.h"

#define TOL 1e-12
enum { A50 = 9, A70 = 13 }; /* alpha indices: 0.05 + 0.05 a */

static rv_eval_box B(int64_t frame, int64_t id, double x, double y, double w, double h) {
  rv_eval_box b = {frame, id, x, y, w, h, 1.0, 0};
  return b;
}

static rv_eval_mot eval_all(const rv_eval_box *gt, int64_t ng, const rv_eval_box *pr, int64_t np) {
  rv_eval_mot m;
  assert_int_equal(rv_eval_tracks(gt, ng, pr, np, NULL, -1, &m), RV_OK);
  return m;
}

/* Perfect tracks: every figure is 1, whatever the boxes and ids are called. */
static void test_eval_perfect(void **state) {
  (void)state;
  rv_eval_box gt[12], pr[12];
  int n = 0;
  for (int f = 1; f <= 4; f++)
    for (int k = 0; k < 3; k++, n++) {
      gt[n] = B(f, k + 1, 10 + 50 * k + f, 20, 30 + k, 60);
      pr[n] = gt[n];
      pr[n].id = 100 - k; /* the predicted ids are other numbers */
    }
  rv_eval_mot m = eval_all(gt, n, pr, n);
  assert_float_equal(m.hota, 1, TOL);
  assert_float_equal(m.det_a, 1, TOL);
  assert_float_equal(m.ass_a, 1, TOL);
  assert_float_equal(m.loc_a, 1, TOL);
  assert_float_equal(m.mota, 1, TOL);
  assert_float_equal(m.motp, 1, TOL);
  assert_float_equal(m.idf1, 1, TOL);
  assert_int_equal(m.idsw, 0);
  assert_int_equal(m.gt_ids, 3);
  assert_int_equal(m.pred_ids, 3);
  assert_int_equal(m.frames, 4);
}

/* One GT id over 4 frames, exact boxes; the prediction calls it 1 in frames 1-2 and 2 in
 * frames 3-4.
 *  CLEAR: TP 4, IDSW 1: MOTA = (4 - 0 - 1) / 4 = 0.75; MOTP = 1.
 *  Identity: pairs (1,1) and (1,2) overlap 2 frames each; one is matched: IDTP 2, IDFN 2,
 *  IDFP 2: IDF1 = 2 / (2 + 1 + 1) = 0.5.
 *  HOTA, any alpha: TP 4, DetA 1; each pair has 2 TPs of A = 2 / (4 + 2 - 2) = 0.5, so
 *  AssA = (2 x 0.5 + 2 x 0.5) / 4 = 0.5; HOTA = sqrt(0.5). */
static void test_eval_id_switch(void **state) {
  (void)state;
  rv_eval_box gt[4], pr[4];
  for (int f = 1; f <= 4; f++) {
    gt[f - 1] = B(f, 1, 100, 100, 40, 80);
    pr[f - 1] = B(f, f <= 2 ? 1 : 2, 100, 100, 40, 80);
  }
  rv_eval_mot m = eval_all(gt, 4, pr, 4);
  assert_int_equal(m.idsw, 1);
  assert_float_equal(m.mota, 0.75, TOL);
  assert_float_equal(m.motp, 1, TOL);
  assert_int_equal(m.idtp, 2);
  assert_float_equal(m.idf1, 0.5, TOL);
  assert_float_equal(m.det_a, 1, TOL);
  assert_float_equal(m.ass_a, 0.5, TOL);
  assert_float_equal(m.hota, sqrt(0.5), TOL);
}

/* One GT id over 6 frames; the prediction misses frames 3-4.
 *  Same id after the gap: TP 4, FN 2, IDSW 0: MOTA = 4 / 6; IDF1 = 4 / (4 + 0 + 1) = 0.8;
 *  DetA = 4 / 6; the pair has 4 TPs of A = 4 / (6 + 4 - 4): AssA = 2/3; HOTA = 2/3.
 *  A new id after the gap: IDSW 1 (the last match was long ago, it still counts):
 *  MOTA = (4 - 1) / 6 = 0.5; IDTP 2: IDF1 = 2 / (2 + 1 + 2) = 0.4; pairs of 2 TPs with
 *  A = 2 / (6 + 2 - 2) = 1/3: AssA = 1/3, HOTA = sqrt(2/3 x 1/3). */
static void test_eval_fragmentation(void **state) {
  (void)state;
  rv_eval_box gt[6], pr[4];
  int np = 0;
  for (int f = 1; f <= 6; f++) {
    gt[f - 1] = B(f, 5, 10 * f, 50, 20, 50);
    if (f <= 2 || f >= 5) pr[np++] = B(f, 1, 10 * f, 50, 20, 50);
  }
  rv_eval_mot m = eval_all(gt, 6, pr, np);
  assert_int_equal(m.clr_fn, 2);
  assert_int_equal(m.idsw, 0);
  assert_float_equal(m.mota, 4.0 / 6, TOL);
  assert_float_equal(m.idf1, 0.8, TOL);
  assert_float_equal(m.det_a, 4.0 / 6, TOL);
  assert_float_equal(m.ass_a, 2.0 / 3, TOL);
  assert_float_equal(m.hota, 2.0 / 3, TOL);
  pr[2].id = pr[3].id = 2;
  m = eval_all(gt, 6, pr, np);
  assert_int_equal(m.idsw, 1);
  assert_float_equal(m.mota, 0.5, TOL);
  assert_float_equal(m.idf1, 0.4, TOL);
  assert_float_equal(m.ass_a, 1.0 / 3, TOL);
  assert_float_equal(m.hota, sqrt(2.0 / 9), TOL);
}

/* Two GT objects over 3 frames, only one predicted: TP 3, FN 3: MOTA = 0.5;
 * IDF1 = 3 / (3 + 1.5) = 2/3; DetA = 0.5, AssA = 1 (the found one is perfect), HOTA =
 * sqrt(0.5). */
static void test_eval_missed(void **state) {
  (void)state;
  rv_eval_box gt[6], pr[3];
  for (int f = 1; f <= 3; f++) {
    gt[2 * (f - 1)] = B(f, 1, 10, 10, 20, 40);
    gt[2 * (f - 1) + 1] = B(f, 2, 200, 10, 20, 40);
    pr[f - 1] = B(f, 4, 200, 10, 20, 40);
  }
  rv_eval_mot m = eval_all(gt, 6, pr, 3);
  assert_int_equal(m.clr_tp, 3);
  assert_int_equal(m.clr_fn, 3);
  assert_int_equal(m.clr_fp, 0);
  assert_float_equal(m.mota, 0.5, TOL);
  assert_float_equal(m.idf1, 2.0 / 3, TOL);
  assert_float_equal(m.det_a, 0.5, TOL);
  assert_float_equal(m.ass_a, 1, TOL);
  assert_float_equal(m.hota, sqrt(0.5), TOL);
}

/* One GT object over 2 frames, found, plus a box far from anything in each frame (and an
 * untracked one, id -1, in frame 2): TP 2, FP 3: MOTA = (2 - 3) / 2 = -0.5;
 * IDF1 = 2 / (2 + 1.5) = 4/7; DetA = 2 / 5, AssA = 1; 3 predicted ids (-1 is one of its own). */
static void test_eval_false_positives(void **state) {
  (void)state;
  rv_eval_box gt[2] = {B(1, 1, 50, 50, 30, 30), B(2, 1, 52, 50, 30, 30)};
  rv_eval_box pr[5] = {B(1, 1, 50, 50, 30, 30), B(1, 9, 300, 300, 30, 30), B(2, 1, 52, 50, 30, 30),
                       B(2, 9, 300, 300, 30, 30), B(2, -1, 400, 10, 5, 5)};
  rv_eval_mot m = eval_all(gt, 2, pr, 5);
  assert_int_equal(m.clr_fp, 3);
  assert_float_equal(m.mota, -0.5, TOL);
  assert_float_equal(m.idf1, 4.0 / 7, TOL);
  assert_float_equal(m.det_a, 0.4, TOL);
  assert_float_equal(m.ass_a, 1, TOL);
  assert_int_equal(m.pred_ids, 3);
}

/* Empty sides, as TrackEval returns them: no prediction gives zeros with LocA 1; no GT
 * gives MOTA = -FP / max(1, 0) = -3; both empty: zeros, LocA 1. */
static void test_eval_empty(void **state) {
  (void)state;
  rv_eval_box b[3] = {B(1, 1, 0, 0, 10, 10), B(2, 1, 0, 0, 10, 10), B(3, 1, 0, 0, 10, 10)};
  rv_eval_mot m = eval_all(b, 3, NULL, 0);
  assert_float_equal(m.hota, 0, TOL);
  assert_float_equal(m.loc_a, 1, TOL);
  assert_float_equal(m.mota, 0, TOL);
  assert_float_equal(m.idf1, 0, TOL);
  assert_int_equal(m.clr_fn, 3);
  m = eval_all(NULL, 0, b, 3);
  assert_float_equal(m.mota, -3, TOL);
  assert_int_equal(m.clr_fp, 3);
  assert_int_equal(m.idfp, 3);
  assert_float_equal(m.det_a, 0, TOL);
  m = eval_all(NULL, 0, NULL, 0);
  assert_float_equal(m.hota, 0, TOL);
  assert_float_equal(m.loc_a, 1, TOL);
  assert_float_equal(m.mota, 0, TOL);
  assert_int_equal(m.frames, 0);
}

/* HOTA at single alphas, by hand. GT ids 1 and 2, far apart, 10 x 10 boxes, frames 1-3.
 * Prediction: 7 on GT 1 exactly in all frames; 8 on GT 2 shifted 2 px right in frames 1-2
 * (overlap 8 x 10 = 80, union 120, IoU 2/3); 9 on GT 2 exactly in frame 3.
 *  Step 1 (alignment): in each frame every row and column has one non-zero IoU s, so each
 *  pair gets s / (s + s - s) = 1 per frame: sums (1,7) 3, (2,8) 2, (2,9) 1. Frames per id:
 *  GT 1: 3, GT 2: 3, 7: 3, 8: 2, 9: 1.
 *  alpha = 0.5: every assigned pair has IoU >= 0.5: TP 6, FN 0, FP 0, DetA = 1.
 *   TPs per pair (1,7) 3, (2,8) 2, (2,9) 1; A(1,7) = 3 / (3 + 3 - 3) = 1,
 *   A(2,8) = 2 / (3 + 2 - 2) = 2/3, A(2,9) = 1 / (3 + 1 - 1) = 1/3;
 *   AssA = (3 x 1 + 2 x 2/3 + 1 x 1/3) / 6 = (14/3) / 6 = 7/9; HOTA = sqrt(7/9);
 *   LocA = (1 + 1 + 1 + 2/3 + 2/3 + 1) / 6 = 8/9.
 *  alpha = 0.7: the IoU 2/3 pairs drop out: TP 4, FN 2, FP 2, DetA = 4 / 8 = 1/2;
 *   AssA = (3 x 1 + 1 x 1/3) / 4 = 5/6; HOTA = sqrt(5/12); LocA = 1.
 *  The alphas 0.05 .. 0.65 (13) give the alpha 0.5 values, 0.70 .. 0.95 (6) the 0.7 ones.
 *  CLEAR: all 6 matched, GT 2 goes from 8 to 9: IDSW 1, MOTA = 5/6, MOTP = (16/3) / 6.
 *  Identity: (1,7) 3 and (2,8) 2 frames at IoU >= 0.5: IDTP 5, IDF1 = 5 / (5 + 0.5 + 0.5). */
static void test_eval_hota_by_hand(void **state) {
  (void)state;
  rv_eval_box gt[6], pr[6];
  for (int f = 1; f <= 3; f++) {
    gt[2 * f - 2] = B(f, 1, 0, 0, 10, 10);
    gt[2 * f - 1] = B(f, 2, 100, 0, 10, 10);
    pr[2 * f - 2] = B(f, 7, 0, 0, 10, 10);
    pr[2 * f - 1] = f < 3 ? B(f, 8, 102, 0, 10, 10) : B(f, 9, 100, 0, 10, 10);
  }
  rv_eval_mot m = eval_all(gt, 6, pr, 6);
  assert_float_equal(m.det_a_at[A50], 1, TOL);
  assert_float_equal(m.ass_a_at[A50], 7.0 / 9, TOL);
  assert_float_equal(m.hota_at[A50], sqrt(7.0 / 9), TOL);
  assert_float_equal(m.loc_a_at[A50], 8.0 / 9, TOL);
  assert_float_equal(m.det_a_at[A70], 0.5, TOL);
  assert_float_equal(m.ass_a_at[A70], 5.0 / 6, TOL);
  assert_float_equal(m.hota_at[A70], sqrt(5.0 / 12), TOL);
  assert_float_equal(m.loc_a_at[A70], 1, TOL);
  assert_float_equal(m.hota, (13 * sqrt(7.0 / 9) + 6 * sqrt(5.0 / 12)) / 19, TOL);
  assert_float_equal(m.det_a, (13 * 1.0 + 6 * 0.5) / 19, TOL);
  assert_float_equal(m.loc_a, (13 * 8.0 / 9 + 6 * 1.0) / 19, TOL);
  assert_int_equal(m.idsw, 1);
  assert_float_equal(m.mota, 5.0 / 6, TOL);
  assert_float_equal(m.motp, 16.0 / 18, TOL);
  assert_float_equal(m.idf1, 5.0 / 6, TOL);
}

/* The HOTA assignment follows the global alignment, not the frame's IoU alone. GT 1 is a
 * 10 x 10 box in frames 1-3; prediction 5 covers it exactly in frames 1-2 and with IoU 0.82
 * in frame 3 (8.2 x 10 inside it), where prediction 6 covers it exactly.
 *  Alignment: (1,5) = (2 + 0.82 / 1.82) / (3 + 3 - that) = 0.69, (1,6) = (1 / 1.82) /
 *  (3 + 1 - 1 / 1.82) = 0.16; the scores 0.69 x 0.82 > 0.16 x 1 pick 5 in frame 3.
 *  alpha = 0.5: TP 3 (all with 5), FP 1 (6): DetA = 3/4, AssA = 3 x 1 / 3 = 1.
 *  alpha = 0.9: the assigned pair of frame 3 is below alpha, and 6 stays unassigned:
 *  TP 2, FN 1, FP 2: DetA = 2/5; (1,5) has 2 TPs, A = 2 / (3 + 3 - 2): AssA = 1/2.
 *  Had the frame's IoU alone decided, frame 3 would go to 6 and AssA(0.5) would be 4/9. */
static void test_eval_hota_alignment(void **state) {
  (void)state;
  rv_eval_box gt[3], pr[4];
  for (int f = 1; f <= 3; f++) {
    gt[f - 1] = B(f, 1, 0, 0, 10, 10);
    pr[f - 1] = B(f, 5, 0, 0, f < 3 ? 10 : 8.2, 10);
  }
  pr[3] = B(3, 6, 0, 0, 10, 10);
  rv_eval_mot m = eval_all(gt, 3, pr, 4);
  assert_float_equal(m.det_a_at[A50], 0.75, TOL);
  assert_float_equal(m.ass_a_at[A50], 1, TOL);
  assert_float_equal(m.hota_at[A50], sqrt(0.75), TOL);
  assert_float_equal(m.loc_a_at[A50], (2 + 0.82) / 3, 1e-9);
  assert_float_equal(m.det_a_at[16], 0.4, TOL); /* alpha 0.85 */
  assert_float_equal(m.ass_a_at[16], 0.5, TOL);
  assert_float_equal(m.hota_at[17], sqrt(0.2), TOL); /* alpha 0.9 */
  assert_float_equal(m.mota, 2.0 / 3, TOL);
  assert_int_equal(m.idsw, 0);
}

/* CLEAR keeps last frame's pair even when another pairing has a higher IoU: GT 1 is
 * matched to 1 in frame 1 (IoU 1); in frame 2 both predictions overlap it, 2 exactly and
 * 1 at IoU 0.6 (a 10 x 10 box shifted by 2.5: 75 / 125): the continuity bonus keeps 1, so
 * no switch, TP 2, FP 1, MOTA = (2 - 1) / 2, MOTP = (1 + 0.6) / 2. */
static void test_eval_clear_continuity(void **state) {
  (void)state;
  rv_eval_box gt[2] = {B(1, 1, 0, 0, 10, 10), B(2, 1, 0, 0, 10, 10)};
  rv_eval_box pr[3] = {B(1, 1, 0, 0, 10, 10), B(2, 1, 2.5, 0, 10, 10), B(2, 2, 0, 0, 10, 10)};
  rv_eval_mot m = eval_all(gt, 2, pr, 3);
  assert_int_equal(m.idsw, 0);
  assert_int_equal(m.clr_tp, 2);
  assert_int_equal(m.clr_fp, 1);
  assert_float_equal(m.motp, 0.8, 1e-12);
  assert_float_equal(m.mota, 0.5, TOL);
}

/* Restricting the evaluation to sampled frames drops the GT of the other frames. */
static void test_eval_frames_subset(void **state) {
  (void)state;
  rv_eval_box gt[4], pr[2];
  for (int f = 1; f <= 4; f++)
    gt[f - 1] = B(f, 1, 10, 10, 10, 10);
  pr[0] = B(1, 3, 10, 10, 10, 10);
  pr[1] = B(3, 3, 10, 10, 10, 10);
  int64_t frames[2] = {1, 3};
  rv_eval_mot m;
  assert_int_equal(rv_eval_tracks(gt, 4, pr, 2, frames, 2, &m), RV_OK);
  assert_int_equal(m.gt_dets, 2);
  assert_float_equal(m.hota, 1, TOL);
  m = eval_all(gt, 4, pr, 2); /* every frame: frames 2 and 4 are misses */
  assert_float_equal(m.mota, 0.5, TOL);
}

static int by_frame(const void *a, const void *b) {
  const rv_eval_box *x = a, *y = b;
  return (x->frame > y->frame) - (x->frame < y->frame);
}

/* Appends id's box (one per id, apart from the others) in frames [f0, f1]. */
static int span(rv_eval_box *b, int n, int64_t id, int f0, int f1) {
  for (int f = f0; f <= f1; f++)
    b[n++] = B(f, id, 40.0 * (double)(id % 20), 10, 20, 40);
  return n;
}

/* Re-entries with a gap of 10 frames. GT 1: frames 1-3 and 21-23, predicted 7 throughout
 * (back with the same id). GT 2: frames 1-3 (predicted 8) and 30-31 (predicted 9): a
 * re-entry with an ID switch. GT 3: frames 1-2 and 5-6 (a gap of 3: no re-entry), predicted
 * 5. GT 4: frames 1-2 unmatched, back at 25-26 (predicted 10): a re-entry in neither
 * count. Re-entries 3, same 1, switched 1; the one ID switch overall is GT 2's. */
static void test_eval_reentries(void **state) {
  (void)state;
  rv_eval_box gt[32], pr[32];
  int ng = 0, np = 0;
  ng = span(gt, ng, 1, 1, 3), ng = span(gt, ng, 1, 21, 23);
  ng = span(gt, ng, 2, 1, 3), ng = span(gt, ng, 2, 30, 31);
  ng = span(gt, ng, 3, 1, 2), ng = span(gt, ng, 3, 5, 6);
  ng = span(gt, ng, 4, 1, 2), ng = span(gt, ng, 4, 25, 26);
  np = span(pr, np, 7, 1, 3), np = span(pr, np, 7, 21, 23);
  np = span(pr, np, 8, 1, 3), np = span(pr, np, 9, 30, 31);
  np = span(pr, np, 5, 1, 2), np = span(pr, np, 5, 5, 6);
  np = span(pr, np, 10, 25, 26);
  for (int k = 0; k < np; k++) /* the same places as the GT ids they follow */
    pr[k].x = pr[k].id == 7 ? 40 : pr[k].id == 5 ? 120 : pr[k].id == 10 ? 160 : 80;
  qsort(gt, (size_t)ng, sizeof *gt, by_frame);
  qsort(pr, (size_t)np, sizeof *pr, by_frame);
  rv_eval_mot m;
  rv_eval_track_opts o = {10};
  assert_int_equal(rv_eval_tracks_ex(gt, ng, pr, np, NULL, -1, &o, &m), RV_OK);
  assert_int_equal(m.idsw, 1);
  assert_int_equal(m.reentries, 3);
  assert_int_equal(m.reentry_same, 1);
  assert_int_equal(m.reentry_switched, 1);
  o.reentry_gap = 28; /* every absence is shorter: 18, 27 and 23 frames */
  assert_int_equal(rv_eval_tracks_ex(gt, ng, pr, np, NULL, -1, &o, &m), RV_OK);
  assert_int_equal(m.reentries, 0);
  o.reentry_gap = 18; /* GT 1's absence is 18 frames (3 -> 21): counted */
  assert_int_equal(rv_eval_tracks_ex(gt, ng, pr, np, NULL, -1, &o, &m), RV_OK);
  assert_int_equal(m.reentries, 3);
  m = eval_all(gt, ng, pr, np); /* no options: not counted, the rest the same */
  assert_int_equal(m.reentries + m.reentry_same + m.reentry_switched, 0);
  assert_int_equal(m.idsw, 1);
  o.reentry_gap = -1;
  assert_int_equal(rv_eval_tracks_ex(gt, ng, pr, np, NULL, -1, &o, &m), RV_ERR_INVALID);
}

/* IDTP is the best one-to-one id matching of the IoU >= 0.5 frame counts. The evaluator
 * solves each connected part of the id graph on its own; here one dense assignment over
 * all ids (rv_lap_solve, exact) on random crowded tracks must give the same total. */
static void test_eval_identity_parts(void **state) {
  (void)state;
  enum { NF = 40, NG = 9, NP = 12 };
  static rv_eval_box gt[NF * NG], pr[NF * NP];
  static double count[NG * NP];
  rv_rng rng;
  rv_rng_seed(&rng, 11);
  for (int trial = 0; trial < 20; trial++) {
    int ng = 0, np = 0;
    memset(count, 0, sizeof count);
    for (int f = 1; f <= NF; f++) {
      int g0 = ng, p0 = np;
      for (int g = 0; g < NG; g++) /* three clusters of three people */
        if (rv_rng_uniform(&rng) < 0.9f)
          gt[ng++] = B(f, g + 1, 100 * (g / 3) + 4 * (g % 3) + f, 50, 20, 40);
      for (int p = 0; p < NP; p++) /* predictions near a random member of a cluster */
        if (rv_rng_uniform(&rng) < 0.8f) {
          int c = p % 3, k = (int)(3 * rv_rng_uniform(&rng)) % 3;
          pr[np++] = B(f, p + 1, 100 * c + 4 * k + f + 3 * rv_rng_normal(&rng), 50, 20, 40);
        }
      for (int i = g0; i < ng; i++)
        for (int j = p0; j < np; j++) {
          rv_eval_box a = gt[i], b = pr[j];
          double iw = fmin(a.x + a.w, b.x + b.w) - fmax(a.x, b.x);
          double inter = iw > 0 ? iw * a.h : 0; /* same y and height */
          if (inter / (a.w * a.h + b.w * b.h - inter) >= 0.5)
            count[(a.id - 1) * NP + (b.id - 1)] -= 1;
        }
    }
    int row_to_col[NG];
    assert_int_equal(rv_lap_solve(count, NG, NP, 0.0, row_to_col, NULL, NULL), RV_OK);
    double best = 0;
    for (int g = 0; g < NG; g++)
      if (row_to_col[g] >= 0) best -= count[g * NP + row_to_col[g]];
    rv_eval_mot m = eval_all(gt, ng, pr, np);
    assert_int_equal(m.idtp, (int64_t)best);
    assert_true(best > 0);
  }
}

static void test_eval_bad_arrays(void **state) {
  (void)state;
  rv_eval_box b[2] = {B(2, 1, 0, 0, 1, 1), B(1, 1, 0, 0, 1, 1)};
  rv_eval_mot m;
  assert_int_equal(rv_eval_tracks(b, 2, NULL, 0, NULL, -1, &m), RV_ERR_INVALID);
  b[1].frame = 2; /* the same id twice in a frame */
  assert_int_equal(rv_eval_tracks(b, 2, NULL, 0, NULL, -1, &m), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "appears twice"));
  assert_int_equal(rv_eval_tracks(b, 1, NULL, 0, NULL, -1, NULL), RV_ERR_INVALID);
}

/* ---- readers ---- */

static char dir[] = "/tmp/rv-eval-XXXXXX";

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* Rows whose 7th column is 0 are left out; the frame rate comes from meta.json. */
static rv_eval_box C(int64_t frame, int64_t id, double x, int32_t cls) {
  rv_eval_box b = {frame, id, x, 0, 10, 10, 1.0, cls};
  return b;
}

/* Per class: each GT class against the predicted boxes with its name, in the GT's order,
 * classes neither side uses left out, a name the GT lacks last; and the inputs that have
 * no classes refused. */
static void test_eval_per_class(void **state) {
  (void)state;
  char gt_names[3][RV_EVAL_LABEL_MAX] = {"person", "vehicle", "bag"};
  char pr_names[2][RV_EVAL_LABEL_MAX] = {"ghost", "bag"};
  /* persons 1 and 2, a bag 3; predicted: 1's box as a ghost, the bag found, 2 missed */
  rv_eval_box g[] = {C(1, 1, 0, 0), C(1, 2, 50, 0), C(1, 3, 100, 2), C(2, 3, 100, 2)};
  rv_eval_box p[] = {C(1, 7, 0, 0), C(1, 8, 100, 1), C(2, 8, 100, 1)};
  int64_t frames[] = {1, 2};
  rv_eval_data gt = {.boxes = g, .n_boxes = 4, .n_frames = -1, .classes = gt_names, .n_classes = 3};
  rv_eval_data pr = {.boxes = p,
                     .n_boxes = 3,
                     .frames = frames,
                     .n_frames = 2,
                     .classes = pr_names,
                     .n_classes = 2};
  rv_eval_class_mot *c = NULL;
  int32_t n = 0;
  assert_int_equal(rv_eval_tracks_per_class(&gt, &pr, NULL, &c, &n), RV_OK);
  assert_int_equal(n, 3);
  assert_string_equal(c[0].label, "person");
  assert_int_equal(c[0].m.gt_dets, 2);
  assert_int_equal(c[0].m.pred_dets, 0);
  assert_float_equal(c[0].m.hota, 0, TOL);
  assert_string_equal(c[1].label, "bag");
  assert_float_equal(c[1].m.hota, 1, TOL);
  assert_float_equal(c[1].m.mota, 1, TOL);
  assert_string_equal(c[2].label, "ghost");
  assert_int_equal(c[2].m.gt_dets, 0);
  assert_int_equal(c[2].m.pred_dets, 1);
  free(c);
  g[2].cls = 3; /* a class meta.json does not name */
  assert_int_equal(rv_eval_tracks_per_class(&gt, &pr, NULL, &c, &n), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "8th column"));
  g[2].cls = 2;
  p[0].cls = -1; /* an object without a label */
  assert_int_equal(rv_eval_tracks_per_class(&gt, &pr, NULL, &c, &n), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "detection.label"));
  pr.n_frames = -1; /* MOTChallenge txt */
  assert_int_equal(rv_eval_tracks_per_class(&gt, &pr, NULL, &c, &n), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "no labels"));
  gt.n_classes = 0;
  assert_int_equal(rv_eval_tracks_per_class(&gt, &pr, NULL, &c, &n), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "no class names"));
  assert_null(c);
  assert_int_equal(n, 0);
}

static void test_eval_read_gt_folder(void **state) {
  (void)state;
  char sub[600];
  snprintf(sub, sizeof sub, "%s/g", dir);
  assert_int_equal(mkdir(sub, 0777) == 0 || access(sub, F_OK) == 0, 1);
  write_file("g/gt.txt", "1,1,10,20,30,40,1,1,1\n1,2,50,20,30,40,0,1,1\n\n2,1,12,20,30,40,1,1,1\n");
  write_file("g/actions.jsonl",
             "{\"event\":\"action\",\"track_id\":1,\"label\":\"walk\",\"start\":0,"
             "\"end\":200000000,\"score\":1}\n{\"event\":\"action\",\"label\":"
             "\"crowd\",\"start\":5,\"end\":9,\"score\":1}\n");
  write_file("g/meta.json", "{\"fps\": 10, \"classes\": [\"person\", \"bag\"]}");
  rv_eval_data d;
  assert_int_equal(rv_eval_load_gt(sub, &d), RV_OK);
  assert_int_equal(d.n_boxes, 2);
  assert_int_equal(d.boxes[1].frame, 2);
  assert_int_equal(d.n_classes, 2); /* the 8th column names meta.json's first class */
  assert_string_equal(d.classes[d.boxes[0].cls], "person");
  assert_float_equal(d.boxes[1].x, 12, 0);
  assert_int_equal(d.n_frames, -1);
  assert_float_equal(d.fps, 10, 0);
  assert_int_equal(d.has_actions, 1);
  assert_int_equal(d.n_segments, 2);
  assert_int_equal(d.segments[0].scene, 0);
  assert_int_equal(d.segments[1].scene, 1);
  assert_string_equal(d.segments[1].label, "crowd");
  rv_eval_data_free(&d);
  /* the file itself: no actions, the rate from meta.json beside it */
  char gt[700];
  snprintf(gt, sizeof gt, "%s/gt.txt", sub);
  assert_int_equal(rv_eval_load_gt(gt, &d), RV_OK);
  assert_int_equal(d.has_actions, 0);
  assert_float_equal(d.fps, 10, 0);
  rv_eval_data_free(&d);
  /* class names that cannot name the 8th column: refused with the file's name */
  write_file("g/meta.json", "{\"fps\": 10, \"classes\": [\"bag\", \"bag\"]}");
  assert_int_equal(rv_eval_load_gt(sub, &d), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "named twice"));
  write_file("g/meta.json", "{\"fps\": 10, \"classes\": \"person\"}");
  assert_int_equal(rv_eval_load_gt(sub, &d), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "meta.json"));
  write_file("g/meta.json", "{\"fps\": 10, \"classes\": [7]}");
  assert_int_equal(rv_eval_load_gt(sub, &d), RV_ERR_FORMAT);
  assert_int_equal(d.n_boxes, 0); /* freed and zeroed */
}

/* JSON frame lines land on the GT frame nearest their timestamp, boxes in the 1-based
 * pixel convention of gt.txt; a 5 fps prediction of a 10 fps GT covers frames 1, 3, 5. */
static void test_eval_read_jsonl(void **state) {
  (void)state;
  const char *obj = "{\"detection\":{\"bounding_box\":{\"x_min\":0.1,\"y_min\":0.2,\"x_max\":0.3,"
                    "\"y_max\":0.6},\"confidence\":0.9,\"label\":\"person\",\"label_id\":0},"
                    "\"x\":10,\"y\":20,\"w\":20,\"h\":40,\"id\":4,\"roi_type\":\"person\"}";
  char text[4096];
  snprintf(
      text, sizeof text,
      "{\"timestamp\":0,\"resolution\":{\"width\":100,\"height\":100},\"objects\":[%s]}\n"
      "{\"timestamp\":200000001,\"resolution\":{\"width\":100,\"height\":100},\"objects\":[]}\n"
      "{\"event\":\"action\",\"label\":\"run\",\"track_id\":4,\"start\":0,\"end\":400000000,"
      "\"score\":0.8}\n"
      "{\"timestamp\":399999999,\"resolution\":{\"width\":100,\"height\":100},\"objects\":[%s]}\n",
      obj, obj);
  const char *path = write_file("p.jsonl", text);
  rv_eval_data d;
  assert_int_equal(rv_eval_load_pred(path, 10, &d), RV_OK);
  assert_int_equal(d.n_frames, 3);
  assert_int_equal(d.frames[0], 1);
  assert_int_equal(d.frames[1], 3);
  assert_int_equal(d.frames[2], 5);
  assert_int_equal(d.n_boxes, 2);
  assert_int_equal(d.boxes[1].frame, 5);
  assert_int_equal(d.boxes[0].id, 4);
  assert_float_equal(d.boxes[0].x, 11, 1e-9);
  assert_float_equal(d.boxes[0].y, 21, 1e-9);
  assert_float_equal(d.boxes[0].w, 20, 1e-9);
  assert_float_equal(d.boxes[0].h, 40, 1e-9);
  assert_int_equal(d.n_segments, 1);
  assert_float_equal(d.segments[0].score, 0.8, 1e-12);
  assert_int_equal(d.has_actions, 1);
  assert_int_equal(d.n_classes, 1);
  assert_int_equal(d.boxes[1].cls, 0);
  assert_string_equal(d.classes[0], "person");
  rv_eval_data_free(&d);
  /* an empty file is either format: no actions found, and every frame evaluated */
  assert_int_equal(rv_eval_load_pred(write_file("empty.txt", ""), 10, &d), RV_OK);
  assert_int_equal(d.has_actions, 1);
  assert_int_equal(d.n_frames, -1);
  assert_int_equal(d.n_boxes + d.n_segments, 0);
  rv_eval_data_free(&d);
  path = write_file("p.jsonl", text);
  /* no GT rate: frame_index, and without it an error naming the line */
  assert_int_equal(rv_eval_load_pred(path, 0, &d), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "p.jsonl:1:"));
}

/* Bad input: the error names the file and the line. */
static void test_eval_read_errors(void **state) {
  (void)state;
  const struct {
    const char *text, *line, *what;
  } bad[] = {
      {"1,1,1,1,5,5,1\n1,2,x,1,5,5\n", ":2:", "column 3"},
      {"1,1,1,1,5,-5,1\n", ":1:", "negative"},
      {"2,1,1,1,5,5\n1,1,1,1,5,5\n", ":2:", "frame order"},
      {"0,1,1,1,5,5\n", ":1:", ">= 1"},
      {"1,1.5,1,1,5,5\n", ":1:", "id"},
      {"1,1,1,1,5\n", ":1:", "column 6"},
      {"1,1,1,1,5,5\n1,2,1,1,5,5\n1,1,9,9,5,5\n", ":3:", "id 1 appears twice in frame 1"},
      {"{\"timestamp\":0,\"resolution\":{\"width\":9,\"height\":9},\"objects\":[]}\n{"
       "\"timestamp\":",
       ":2:", "not JSON"},
      {"{\"timestamp\":100000000,\"resolution\":{\"width\":9,\"height\":9},\"objects\":[]}\n"
       "{\"timestamp\":0,\"resolution\":{\"width\":9,\"height\":9},\"objects\":[]}\n",
       ":2:", "out of order"},
      {"{\"timestamp\":0,\"resolution\":{\"width\":9,\"height\":9},\"objects\":[{\"detection\":"
       "{\"bounding_box\":{\"x_min\":0.5,\"y_min\":0,\"x_max\":0.4,\"y_max\":1}}}]}\n",
       ":1:", "negative"},
      {"{\"event\":\"action\",\"label\":\"a\",\"start\":5,\"end\":1,\"score\":1}\n",
       ":1:", "before it starts"},
      {"{\"event\":\"blink\"}\n", ":1:", "unknown event"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    const char *path = write_file("bad.txt", bad[i].text);
    rv_eval_data d;
    rv_status st = rv_eval_load_pred(path, 10, &d);
    if (st != RV_ERR_FORMAT || !strstr(rv_last_error(), bad[i].line) ||
        !strstr(rv_last_error(), bad[i].what) || !strstr(rv_last_error(), "bad.txt"))
      fail_msg("case %zu: status %d, message '%s'", i, st, rv_last_error());
  }
  rv_eval_data d;
  char missing[600];
  snprintf(missing, sizeof missing, "%s/nothing.txt", dir);
  assert_int_equal(rv_eval_load_pred(missing, 10, &d), RV_ERR_NOT_FOUND);
  assert_int_equal(rv_eval_load_gt(missing, &d), RV_ERR_NOT_FOUND);
}

static int setup(void **state) {
  (void)state;
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eval_perfect),          cmocka_unit_test(test_eval_id_switch),
      cmocka_unit_test(test_eval_fragmentation),    cmocka_unit_test(test_eval_missed),
      cmocka_unit_test(test_eval_false_positives),  cmocka_unit_test(test_eval_empty),
      cmocka_unit_test(test_eval_hota_by_hand),     cmocka_unit_test(test_eval_hota_alignment),
      cmocka_unit_test(test_eval_clear_continuity), cmocka_unit_test(test_eval_frames_subset),
      cmocka_unit_test(test_eval_identity_parts),   cmocka_unit_test(test_eval_bad_arrays),
      cmocka_unit_test(test_eval_per_class),        cmocka_unit_test(test_eval_read_gt_folder),
      cmocka_unit_test(test_eval_read_jsonl),       cmocka_unit_test(test_eval_read_errors),
      cmocka_unit_test(test_eval_reentries),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
