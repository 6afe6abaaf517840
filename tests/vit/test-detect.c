/* Detection decoding: the dense head's box formula and the letterbox undone exactly,
 * class-aware NMS, thresholds and top-k, embeddings and actions, the set head's softmax
 * with a no-object class, clipping, and argument checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/detect.h>

#include "rv-test.h"

enum { GH = 14, GW = 14, P = 16, C = 3, A = 2, E = 4 };
#define NCH (1 + C + 4 + A + E)

static double logit(double p) { return log(p / (1 - p)); }

/* All cells background (objectness logit -10) except those set by the caller. */
static float *grid(void) {
  float *raw = calloc((size_t)GH * GW * NCH, sizeof *raw);
  for (int i = 0; i < GH * GW; i++)
    raw[i * NCH] = -10.0f;
  return raw;
}

static void fill_cell(float *ch, double obj_p, int cls, double tx, double ty, double w_cells,
                      double h_cells) {
  ch[0] = (float)logit(obj_p);
  for (int c = 0; c < C; c++)
    ch[1 + c] = c == cls ? 4.0f : -4.0f;
  ch[1 + C + 0] = (float)tx;
  ch[1 + C + 1] = (float)ty;
  ch[1 + C + 2] = (float)log(w_cells);
  ch[1 + C + 3] = (float)log(h_cells);
  ch[5 + C + 0] = 0.0f;              /* act 0: p = 0.5 */
  ch[5 + C + 1] = (float)logit(0.9); /* act 1: p = 0.9 */
  for (int e = 0; e < E; e++)
    ch[5 + C + A + e] = (float)(e + 1); /* |(1,2,3,4)| = sqrt(30) */
}

static void set_cell(float *raw, int row, int col, double obj_p, int cls, double tx, double ty,
                     double w_cells, double h_cells) {
  fill_cell(raw + (row * GW + col) * NCH, obj_p, cls, tx, ty, w_cells, h_cells);
}

/* Output cell (row, col) of a 2 x 2 split head: patch by patch, each patch's four cells
 * row-major (the layout rv_vit_outputs.dense documents). */
static float *sub_cell(float *raw, int row, int col) {
  return raw + (((row / 2) * GW + col / 2) * 4 + (row % 2) * 2 + col % 2) * NCH;
}

static rv_det_decoder *decoder(float thresh) {
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SIGMOID, 8, thresh,
                            0.5f, 0, 0, 0,  NULL, 0, NULL,           0};
  rv_det_decoder *d = NULL;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  assert_int_equal(rv_det_dense_channels(&cfg), NCH);
  return d;
}

static double sig(double x) { return 1 / (1 + exp(-x)); }

/* 640x360 letterboxed into 224x224: scale 0.35, 49 rows of padding above and below. */
static void test_dense_letterbox_exact(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 5, 7, 0.9, 2, 0.4, -0.3, 2.0, 3.0);
  rv_det_decoder *d = decoder(0);
  rv_frame_geom g = rv_frame_geom_fit(640, 360, 224, 224, 1);
  assert_true(fabsf(g.pad_y - 49.0f) < 1e-5f && fabsf(g.scale_x - 0.35f) < 1e-7f);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 1);
  double cx = (7 + sig(0.4)) * P, cy = (5 + sig(-0.3)) * P, w = 2.0 * P, h = 3.0 * P;
  double want[4] = {(cx - w / 2 - g.pad_x) / g.scale_x, (cy - h / 2 - g.pad_y) / g.scale_y,
                    (cx + w / 2 - g.pad_x) / g.scale_x, (cy + h / 2 - g.pad_y) / g.scale_y};
  double got[4] = {dets[0].x1, dets[0].y1, dets[0].x2, dets[0].y2};
  for (int i = 0; i < 4; i++)
    if (fabs(got[i] - want[i]) > 2e-4) fail_msg("coord %d: %.6f vs %.6f", i, got[i], want[i]);
  /* and back: mapping the source box forward lands on the model-input box */
  assert_true(fabs(got[0] * g.scale_x + g.pad_x - (cx - w / 2)) < 1e-4);
  assert_int_equal(dets[0].label, 2);
  assert_true(fabs(dets[0].score - 0.9 * sig(4.0)) < 1e-6);
  assert_int_equal(dets[0].n_act, A);
  assert_true(fabs(dets[0].act[0] - 0.5) < 1e-6 && fabs(dets[0].act[1] - 0.9) < 1e-6);
  assert_int_equal(dets[0].emb_dim, E);
  double ss = 0;
  for (int e = 0; e < E; e++)
    ss += (double)dets[0].emb[e] * dets[0].emb[e];
  assert_true(fabs(ss - 1.0) < 1e-6);
  assert_true(fabs(dets[0].emb[3] - 4.0 / sqrt(30.0)) < 1e-6);
  rv_det_decoder_free(d);
  free(raw);
}

/* Overlapping boxes of one class collapse to the best; of different classes both stay. */
static void test_dense_class_aware_nms(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 4, 4, 0.95, 0, 0.0, 0.0, 3.0, 3.0);
  set_cell(raw, 4, 5, 0.80, 0, -1.0, 0.0, 3.0, 3.0);  /* same object, one cell over */
  set_cell(raw, 5, 4, 0.85, 1, 0.0, -1.0, 3.0, 3.0);  /* another class on the same spot */
  set_cell(raw, 11, 11, 0.70, 0, 0.0, 0.0, 2.0, 2.0); /* far away */
  set_cell(raw, 12, 2, 0.02, 0, 0.0, 0.0, 2.0, 2.0);  /* below the threshold */
  rv_det_decoder *d = decoder(0.3f);
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 3);
  assert_int_equal(dets[0].label, 0);
  assert_true(fabs(dets[0].score - 0.95 * sig(4.0)) < 1e-6);
  assert_int_equal(dets[1].label, 1);
  assert_int_equal(dets[2].label, 0);
  assert_true(dets[2].x1 > 150);
  for (int i = 1; i < n; i++)
    assert_true(dets[i - 1].score >= dets[i].score);
  rv_det_decoder_free(d);
  free(raw);
}

/* Peaks: an object seen by two neighbouring cells whose small boxes barely overlap (IoU
 * NMS keeps both) gives one detection with a 3 x 3 peak rule; objects two cells apart
 * both stay; equal neighbours (a plateau) give exactly one. */
static void test_dense_peaks(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 4, 4, 0.90, 0, 1.5, 0.0, 0.6, 1.0);
  set_cell(raw, 4, 5, 0.70, 0, -1.5, 0.0, 0.6, 1.0); /* the same small object, next cell */
  set_cell(raw, 4, 7, 0.60, 0, 0.0, 0.0, 0.6, 1.0);  /* another, two cells on */
  set_cell(raw, 9, 9, 0.80, 1, 0.0, 0.0, 1.0, 1.0);  /* a plateau of two equal cells */
  set_cell(raw, 9, 10, 0.80, 1, -3.0, 0.0, 1.0, 1.0);
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SIGMOID, 0, 0.3f,
                            0.5f, 0, 0, 0,  NULL, 0, NULL,           0};
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets;
  int n, counts[2];
  for (int k = 0; k < 2; k++) {
    rv_det_decoder *d = NULL;
    cfg.peak = k ? 3 : 0;
    assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
    assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
    counts[k] = n;
    if (k) {
      assert_true(fabs(dets[0].score - 0.90 * sig(4.0)) < 1e-6);
      assert_true(fabs(dets[1].score - 0.80 * sig(4.0)) < 1e-6 && dets[1].label == 1);
      assert_true((dets[1].x1 + dets[1].x2) / 2 < 10 * P); /* the first of the plateau */
      assert_true(fabs(dets[2].score - 0.60 * sig(4.0)) < 1e-6);
    }
    rv_det_decoder_free(d);
  }
  assert_int_equal(counts[0], 5);
  assert_int_equal(counts[1], 3);
  rv_det_decoder *d = NULL;
  cfg.peak = 2;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  cfg.peak = 17;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  free(raw);
}

/* top-k keeps the best max_dets; boxes over the edge are clipped (or not, when asked). */
static void test_dense_topk_and_clip(void **state) {
  (void)state;
  float *raw = grid();
  for (int i = 0; i < 12; i++)
    set_cell(raw, i, (i * 5) % GW, 0.5 + 0.04 * i, i % C, 0, 0, 0.5, 0.5);
  set_cell(raw, 0, 0, 0.99, 0, -2.0, -2.0, 4.0, 4.0); /* reaches past the top-left corner */
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SOFTMAX, 0, 0.1f,
                            0.5f, 5, 0, 0,  NULL, 0, NULL,           0};
  rv_det_decoder *d = NULL;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 5);
  double p_soft = 1.0 / (1.0 + 2.0 * exp(-8.0));
  assert_true(fabs(dets[0].score - 0.99 * p_soft) < 1e-6);
  assert_true(dets[0].x1 == 0.0f && dets[0].y1 == 0.0f);
  assert_true(fabs(dets[1].score - (0.5 + 0.04 * 11) * p_soft) < 1e-6);
  rv_det_decoder_free(d);
  cfg.no_clip = 1;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_true(dets[0].x1 < 0.0f);
  rv_det_decoder_free(d);
  free(raw);
}

/* YOLOS tokens: the no-object class wins on most; top-k by class probability; boxes
 * normalized to the (letterboxed) input. */
static void test_set_head(void **state) {
  (void)state;
  enum { T = 6 };
  float logits[T * (C + 1)], boxes[T * 4];
  for (int t = 0; t < T; t++) {
    for (int c = 0; c < C; c++)
      logits[t * (C + 1) + c] = 0.0f;
    logits[t * (C + 1) + C] = 5.0f; /* no object */
    boxes[t * 4 + 0] = 0.5f, boxes[t * 4 + 1] = 0.5f, boxes[t * 4 + 2] = 0.2f,
                  boxes[t * 4 + 3] = 0.3f;
  }
  logits[1 * (C + 1) + 2] = 8.0f; /* token 1: class 2 */
  logits[4 * (C + 1) + 0] = 6.0f; /* token 4: class 0, less sure */
  boxes[4 * 4 + 0] = 0.25f;
  rv_det_decoder_cfg cfg = {C, 0, 0, 0, 0,    0, RV_CLS_SIGMOID, T, 0.3f,
                            0, 0, 0, 0, NULL, 0, NULL,           0};
  rv_det_decoder *d = NULL;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  rv_frame_geom g = rv_frame_geom_fit(1280, 720, 512, 512, 1);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_set(d, logits, boxes, T, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 2);
  double z1 = exp(8.0) + exp(5.0) + 2.0, z4 = exp(6.0) + exp(5.0) + 2.0;
  assert_int_equal(dets[0].label, 2);
  assert_true(fabs(dets[0].score - exp(8.0) / z1) < 1e-6);
  assert_int_equal(dets[1].label, 0);
  assert_true(fabs(dets[1].score - exp(6.0) / z4) < 1e-6);
  /* token 1's box: centre of the input = centre of the source */
  assert_true(fabs((dets[0].x1 + dets[0].x2) / 2 - 640.0) < 1e-3);
  assert_true(fabs((dets[0].y1 + dets[0].y2) / 2 - 360.0) < 1e-3);
  assert_true(fabs((dets[0].x2 - dets[0].x1) - 0.2 * 512 / g.scale_x) < 1e-3);
  assert_true(fabs(dets[1].x1 - (0.15 * 512 - g.pad_x) / g.scale_x) < 1e-3);
  assert_null(dets[0].emb);
  assert_null(dets[0].act);
  assert_int_equal(rv_det_decode_set(d, logits, boxes, T + 1, &g, &dets, &n), RV_ERR_INVALID);
  rv_det_decoder_free(d);
}

/* Per-class objectness offsets: a class's cells score sigmoid(obj + offset) x class
 * probability, so an offset lifts one class over the threshold and leaves the others;
 * the decoder keeps its own copy of the offsets; out-of-range ones are refused. */
static void test_dense_class_offset(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 3, 3, 0.40, 0, 0.0, 0.0, 2.0, 2.0);
  set_cell(raw, 9, 9, 0.40, 2, 0.0, 0.0, 2.0, 2.0);
  float offset[C] = {0.0f, 0.0f, 1.5f};
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,     P, RV_CLS_SIGMOID, 0, 0.5f,
                            0.5f, 0, 0, 0,  offset, 0, NULL,           0};
  rv_det_decoder *d = NULL;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  offset[2] = -16.0f; /* the decoder copied them */
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 1);
  assert_int_equal(dets[0].label, 2);
  assert_true(fabs(dets[0].score - sig(logit(0.40) + 1.5) * sig(4.0)) < 1e-6);
  rv_det_decoder_free(d);
  offset[2] = NAN;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  offset[2] = 17.0f;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  assert_null(d);
  free(raw);
}

/* Per-action logit offsets: each track action's probability is sigmoid(logit + offset), so a
 * rare action the head scores low can reach the segmenter's thresholds; the decoder keeps
 * its own copy, and out-of-range offsets are refused. */
static void test_dense_action_offset(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 3, 3, 0.90, 0, 0.0, 0.0, 2.0, 2.0);
  float offset[A] = {2.0f, -1.0f};
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SIGMOID, 0, 0.5f,
                            0.5f, 0, 0, 0,  NULL, 0, offset,         0};
  rv_det_decoder *d = NULL;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  offset[0] = 16.0f; /* the decoder copied them */
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets;
  int n;
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 1);
  assert_int_equal(dets[0].n_act, A);
  assert_true(fabs(dets[0].act[0] - sig(2.0)) < 1e-6);
  assert_true(fabs(dets[0].act[1] - sig(logit(0.9) - 1.0)) < 1e-6);
  assert_true(fabs(dets[0].score - 0.9 * sig(4.0)) < 1e-6); /* the box's score is untouched */
  rv_det_decoder_free(d);
  offset[1] = NAN;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  offset[1] = -17.0f;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  assert_null(d);
  free(raw);
}

/* reach 1: sigmoid(t) = 1/6 puts the centre half a cell left of the cell (0.5 + 3 (1/6 - 1/2)
 * = -0.5 cells from its corner), 5/6 one and a half cells down; reach 0 keeps it inside. */
static void test_dense_reach(void **state) {
  (void)state;
  float *raw = grid();
  set_cell(raw, 3, 3, 0.9, 0, logit(1.0 / 6), logit(5.0 / 6), 2.0, 2.0);
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SIGMOID, 0, 0.5f,
                            0.5f, 0, 0, 0,  NULL, 1, NULL,           0};
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const float want[2][4] = {{24, 56, 56, 88},
                            {(3 + 1.0f / 6) * P - P, (3 + 5.0f / 6) * P - P, (3 + 1.0f / 6) * P + P,
                             (3 + 5.0f / 6) * P + P}};
  for (int k = 0; k < 2; k++) {
    cfg.reach = 1 - k;
    rv_det_decoder *d = NULL;
    assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
    const rv_detection *dets;
    int n;
    assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
    assert_int_equal(n, 1);
    assert_true(fabs(dets[0].x1 - want[k][0]) < 1e-3 && fabs(dets[0].y1 - want[k][1]) < 1e-3);
    assert_true(fabs(dets[0].x2 - want[k][2]) < 1e-3 && fabs(dets[0].y2 - want[k][3]) < 1e-3);
    rv_det_decoder_free(d);
  }
  rv_det_decoder *d = NULL;
  cfg.reach = 4;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  cfg.reach = -1;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  free(raw);
}

/* raw decoded by a new decoder (*d, the caller frees it) on a 224 x 224 source as is. */
static const rv_detection *decode_square(const rv_det_decoder_cfg *cfg, const float *raw,
                                         rv_det_decoder **d, int *n) {
  assert_int_equal(rv_det_decoder_init(cfg, d), RV_OK);
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  const rv_detection *dets = NULL;
  assert_int_equal(rv_det_decode_dense(*d, raw, &g, &dets, n), RV_OK);
  return dets;
}

/* A head with 2 x 2 cells per patch: two people side by side in one patch are two
 * detections, each with its own cell's box (cells of P / 2 pixels), score and embedding;
 * the peak rule works on the finer grid. */
static void test_dense_sub_cells(void **state) {
  (void)state;
  float *raw = calloc((size_t)GH * GW * 4 * NCH, sizeof *raw);
  for (int i = 0; i < GH * GW * 4; i++)
    raw[i * NCH] = -10.0f;
  fill_cell(sub_cell(raw, 8, 12), 0.9, 0, 0.0, 0.0, 1.0, 3.0);  /* patch (4, 6), top left */
  fill_cell(sub_cell(raw, 9, 13), 0.8, 0, 0.5, -0.5, 1.0, 3.0); /* same patch, bottom right */
  sub_cell(raw, 9, 13)[5 + C + A] = 40.0f;                      /* its embedding: mostly e0 */
  rv_det_decoder_cfg cfg = {C,    A, E, GH, GW,   P, RV_CLS_SIGMOID, 0, 0.3f,
                            0.5f, 0, 0, 0,  NULL, 0, NULL,           2};
  rv_det_decoder *d = NULL;
  int n;
  const rv_detection *dets = decode_square(&cfg, raw, &d, &n);
  assert_int_equal(n, 2);
  const double Q = P / 2.0;
  double want[2][4] = {{12 * Q, 8.5 * Q - 1.5 * Q, 13 * Q, 8.5 * Q + 1.5 * Q},
                       {(13 + sig(0.5) - 0.5) * Q, (9 + sig(-0.5) - 1.5) * Q,
                        (13 + sig(0.5) + 0.5) * Q, (9 + sig(-0.5) + 1.5) * Q}};
  for (int k = 0; k < 2; k++) {
    double got[4] = {dets[k].x1, dets[k].y1, dets[k].x2, dets[k].y2};
    for (int i = 0; i < 4; i++)
      if (fabs(got[i] - want[k][i]) > 1e-4)
        fail_msg("det %d coord %d: %.5f vs %.5f", k, i, got[i], want[k][i]);
  }
  assert_true(fabs(dets[1].score - 0.8 * sig(4.0)) < 1e-6);
  assert_true(dets[0].emb[0] < 0.2f && dets[1].emb[0] > 0.99f);
  rv_det_decoder_free(d);
  cfg.peak = 3; /* diagonal neighbours on the fine grid: the stronger one stays */
  dets = decode_square(&cfg, raw, &d, &n);
  assert_int_equal(n, 1);
  assert_true(fabs(dets[0].score - 0.9 * sig(4.0)) < 1e-6);
  rv_det_decoder_free(d);
  for (int bad = 3; bad <= 5; bad += 2) {
    cfg.sub = bad;
    assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  }
  cfg.sub = 4; /* 2048 x 2048 patches are allowed, 16 cells each are too many candidates */
  cfg.grid_h = cfg.grid_w = 2048;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  free(raw);
}

static void test_detect_errors(void **state) {
  (void)state;
  rv_det_decoder *d = NULL;
  rv_det_decoder_cfg cfg = {0, A, E, GH, GW, P, RV_CLS_SIGMOID, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0};
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID); /* no classes */
  cfg.n_classes = C;
  cfg.patch = 0;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  cfg.patch = P;
  cfg.nms_iou = 1.5f;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_ERR_INVALID);
  cfg.nms_iou = 0;
  assert_int_equal(rv_det_decoder_init(&cfg, &d), RV_OK);
  float *raw = grid();
  raw[0] = NAN; /* a NaN cell is no detection, not a crash */
  const rv_detection *dets;
  int n;
  rv_frame_geom bad = {0};
  assert_int_equal(rv_det_decode_dense(d, raw, &bad, &dets, &n), RV_ERR_INVALID);
  rv_frame_geom g = rv_frame_geom_fit(224, 224, 224, 224, 0);
  assert_int_equal(rv_det_decode_dense(d, raw, &g, &dets, &n), RV_OK);
  assert_int_equal(n, 0);
  float logits[4] = {0}, boxes[4] = {0};
  assert_int_equal(rv_det_decode_set(d, logits, boxes, 1, &g, &dets, &n), RV_ERR_INVALID);
  rv_det_decoder_free(d);
  rv_det_decoder_free(NULL);
  free(raw);
  float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10}, e[4] = {3, 3, 3, 8};
  assert_true(fabsf(rv_box_iou(a, b) - 50.0f / 150.0f) < 1e-6f);
  assert_true(rv_box_iou(a, e) == 0.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dense_letterbox_exact),
      cmocka_unit_test(test_dense_class_aware_nms),
      cmocka_unit_test(test_dense_topk_and_clip),
      cmocka_unit_test(test_dense_peaks),
      cmocka_unit_test(test_dense_class_offset),
      cmocka_unit_test(test_dense_action_offset),
      cmocka_unit_test(test_set_head),
      cmocka_unit_test(test_dense_reach),
      cmocka_unit_test(test_dense_sub_cells),
      cmocka_unit_test(test_detect_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
