/* ByteTrack on scripted detections with exact expected ids: crossing objects, occlusion
 * gaps shorter and longer than the buffer, a crossing with the one behind hidden, a burst of false
 * positives, low-score recovery, ids never reused, 0 and 500 objects per frame, re-identification
 * by appearance, the track bound, an hour of detections in bounded memory, and the box a
 * track reports. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>
#include <ringvit/tracking.h>

#include "rv-test.h"

enum { MAXD = 600 };

static rv_detection box(float cx, float cy, float w, float h, float score) {
  rv_detection d = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score, 0, NULL, 0, NULL, 0};
  return d;
}

/* Runs one frame and returns the id given to each input detection (0 = none shown). */
static int step(rv_tracker *t, const rv_detection *d, int n, uint64_t *ids) {
  const rv_track_out *o;
  int no;
  assert_int_equal(rv_tracker_update(t, d, n, &o, &no), RV_OK);
  for (int i = 0; i < n; i++)
    ids[i] = 0;
  for (int k = 0; k < no; k++) {
    assert_true(o[k].det_index >= 0 && o[k].det_index < n);
    assert_int_equal(ids[o[k].det_index], 0); /* one track per detection */
    ids[o[k].det_index] = o[k].id;
  }
  return no;
}

static rv_tracker *tracker(const rv_tracker_cfg *cfg) {
  rv_tracker *t = NULL;
  assert_int_equal(rv_tracker_init(cfg, &t), RV_OK);
  return t;
}

static void test_track_single_and_empty(void **state) {
  (void)state;
  rv_tracker *t = tracker(NULL);
  uint64_t ids[1];
  for (int f = 0; f < 20; f++) { /* frames with nothing: no output, no error */
    assert_int_equal(step(t, NULL, 0, ids), 0);
  }
  for (int f = 0; f < 50; f++) { /* not the stream's first frame: unconfirmed at first */
    rv_detection d = box(100 + 3.0f * f, 200, 40, 100, 0.9f);
    assert_int_equal(step(t, &d, 1, ids), f > 0);
    assert_int_equal(ids[0], f > 0 ? 1 : 0);
  }
  rv_tracker_stats st;
  rv_tracker_get_stats(t, &st);
  assert_int_equal(st.next_id, 2);
  assert_int_equal(st.frame, 70);
  rv_tracker_free(t);
}

/* Two people walk towards each other on nearly the same line and pass; the one behind is
 * not detected in frames [hide_from, hide_to). Both keep their ids, and no other id is
 * handed out. */
static void run_crossing(int hide_from, int hide_to) {
  rv_tracker *t = tracker(NULL);
  uint64_t ids[2];
  for (int f = 0; f < 60; f++) {
    rv_detection d[2] = {box(100 + 6.0f * f, 300, 40, 110, 0.9f),
                         box(460 - 6.0f * f, 290, 48, 130, 0.85f)};
    int hidden = f >= hide_from && f < hide_to, n = hidden ? 1 : 2;
    assert_int_equal(step(t, d, n, ids), n);
    assert_int_equal(ids[0], 1);
    if (!hidden) assert_int_equal(ids[1], 2);
  }
  rv_tracker_stats st;
  rv_tracker_get_stats(t, &st);
  assert_int_equal(st.next_id, 3);
  rv_tracker_free(t);
}

static void test_track_crossing(void **state) {
  (void)state;
  run_crossing(0, 0);
}

/* Hidden for the 7 frames around the meeting point (frame 30): the Kalman prediction
 * carries the lost track through. */
static void test_track_crossing_occluded(void **state) {
  (void)state;
  run_crossing(27, 34);
}

/* Gaps shorter than the buffer keep the id; longer ones get a new id, and the old one is
 * reported removed exactly when the buffer runs out. Sampling at 10 fps scales the
 * 30-frame (at 30 fps) buffer to 10 frames. */
static void test_track_occlusion_gaps(void **state) {
  (void)state;
  rv_tracker_cfg cfg = {0};
  cfg.fps = 10;
  rv_tracker *t = tracker(&cfg);
  uint64_t ids[1];
  int f = 0;
  for (; f < 20; f++) {
    rv_detection d = box(100 + 4.0f * f, 200, 40, 100, 0.9f);
    step(t, &d, 1, ids);
    assert_int_equal(ids[0], 1);
  }
  for (; f < 28; f++)
    step(t, NULL, 0, ids); /* 8 frames hidden, buffer 10 */
  for (; f < 40; f++) {
    rv_detection d = box(100 + 4.0f * f, 200, 40, 100, 0.9f);
    step(t, &d, 1, ids);
    assert_int_equal(ids[0], 1);
  }
  const uint64_t *rem;
  int nrem, removed_at = -1;
  for (int g = 0; g < 12; g++, f++) { /* 12 frames hidden: removed after frame 10 of them */
    step(t, NULL, 0, ids);
    rv_tracker_removed(t, &rem, &nrem);
    if (nrem) {
      assert_int_equal(nrem, 1);
      assert_int_equal(rem[0], 1);
      removed_at = g;
    }
  }
  assert_int_equal(removed_at, 10); /* frame - last_seen > 10 first holds 11 frames later */
  rv_detection d = box(100 + 4.0f * f, 200, 40, 100, 0.9f);
  step(t, &d, 1, ids);
  assert_int_equal(ids[0], 0); /* a new track is unconfirmed on its first frame */
  f++;
  d = box(100 + 4.0f * f, 200, 40, 100, 0.9f);
  step(t, &d, 1, ids);
  assert_int_equal(ids[0], 2);
  rv_tracker_free(t);
}

/* Frame f at 2 fps with detection d when seen; the id shown for it (0 = none). */
static uint64_t id_at_2fps(rv_tracking *t, int f, rv_detection d, int seen) {
  const rv_track_out *o;
  int n;
  assert_int_equal(rv_tracking_frame(t, f * 500000000LL, &d, seen, NULL, &o, &n), RV_OK);
  return n ? o[0].id : 0;
}

static rv_tracking *tracking_at_2fps(const rv_track_tuning *tuning) {
  rv_tracking_cfg cfg = {0};
  cfg.fps = 2;
  cfg.tuning = *tuning;
  rv_tracking *t = NULL;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_OK);
  return t;
}

/* The ids rv_tracking gives one object seen at 2 fps for 2 s, hidden 2 s, seen again;
 * scores 0.45 (below ByteTrack's 0.6 to start a track). */
static void run_gap(const rv_track_tuning *tuning, uint64_t before[4], uint64_t after[4]) {
  rv_tracking *t = tracking_at_2fps(tuning);
  for (int f = 0; f < 12; f++) {
    uint64_t id = id_at_2fps(t, f, box(100 + 4.0f * f, 200, 40, 100, 0.45f), f < 4 || f >= 8);
    if (f < 4) before[f] = id;
    if (f >= 8) after[f - 8] = id;
  }
  rv_tracking_free(t);
}

/* Ids rv_tracking gives a thin object (10 x 40 px) appearing on the second frame and moving
 * 6 px per frame: consecutive boxes overlap by IoU 0.25, fused cost 1 - 0.25 * 0.9 = 0.775. */
static void run_fast(const rv_track_tuning *tuning, uint64_t ids[6]) {
  rv_tracking *t = tracking_at_2fps(tuning);
  for (int f = 0; f < 7; f++) {
    uint64_t id = id_at_2fps(t, f, box(100 + 6.0f * f, 200, 10, 40, 0.9f), f > 0);
    if (f > 0) ids[f - 1] = id;
  }
  rv_tracking_free(t);
}

/* The association limits reach the tracker: with ByteTrack's (0.8, and 0.7 for a new
 * track's second frame) the object never gets an id; a looser first-association limit
 * alone does not help (the new track is never confirmed); with both loosened, one id. */
static void test_tracking_match_limits(void **state) {
  (void)state;
  uint64_t ids[6];
  run_fast(&(rv_track_tuning){0}, ids);
  for (int i = 0; i < 6; i++)
    assert_int_equal(ids[i], 0);
  run_fast(&(rv_track_tuning){.match_thresh = 0.9f}, ids);
  for (int i = 0; i < 6; i++)
    assert_int_equal(ids[i], 0);
  run_fast(&(rv_track_tuning){.match_thresh = 0.9f, .unconfirmed_match_thresh = 0.8f}, ids);
  assert_int_equal(ids[0], 0); /* unconfirmed on its first frame */
  for (int i = 1; i < 6; i++)
    assert_true(ids[i] != 0 && ids[i] == ids[1]);
  rv_tracking *t = NULL;
  rv_tracking_cfg cfg = {0};
  cfg.tuning.match_thresh = 1.5f;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  assert_null(t);
}

/* A model's calibration reaches the tracker: new-track score and seconds a lost track is kept. */
static void test_tracking_tuning(void **state) {
  (void)state;
  uint64_t a[4], b[4];
  run_gap(&(rv_track_tuning){0}, a, b);
  assert_true(a[3] == 0 && b[3] == 0); /* 0.45 never starts a track by default */
  run_gap(&(rv_track_tuning){.high_thresh = 0.4f, .new_track_thresh = 0.4f}, a, b);
  assert_true(a[3] != 0 && b[3] != 0 && b[3] != a[3]); /* kept 1 s: a new id after 2 s */
  run_gap(&(rv_track_tuning){.high_thresh = 0.4f, .new_track_thresh = 0.4f, .lost_s = 3.0}, a, b);
  assert_true(a[3] != 0 && b[0] == a[3] && b[3] == a[3]); /* kept 3 s: the same id */
  rv_tracking *t = NULL;
  rv_tracking_cfg cfg = {0};
  cfg.tuning.lost_s = -1;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  cfg.tuning.lost_s = 0;
  cfg.tuning.new_track_thresh = 2;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  cfg.tuning = (rv_track_tuning){.action_on = 0.3f, .action_off = 0.5f}; /* reach the segmenter */
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  cfg.tuning = (rv_track_tuning){.action_on = 0.7f, .action_off = 0.5f, .action_gap_s = 3};
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_OK);
  rv_tracking_free(t);
  t = NULL;
  cfg.tuning.new_track_thresh = 2;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  assert_null(t);
}

/* Whether one object seen 2 s at 2 fps, gone 10 s (past the 1 s a lost track is kept),
 * back elsewhere with an embedding at half cosine distance 0.1 from the first one's, gets
 * its id back. */
static int reid_after_gap(const rv_track_tuning *tuning) {
  rv_tracking_cfg cfg = {0};
  cfg.fps = 2;
  cfg.use_appearance = 1;
  cfg.tuning = *tuning;
  rv_tracking *t = NULL;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_OK);
  float before[2] = {1.0f, 0.0f}, after[2] = {0.8f, 0.6f}; /* cos 0.8: (1 - 0.8) / 2 = 0.1 */
  uint64_t first = 0, last = 0;
  for (int f = 0; f < 28; f++) {
    int seen = f < 4 || f >= 24;
    rv_detection d = f < 4 ? box(100 + 4.0f * f, 200, 40, 100, 0.9f) : box(500, 300, 40, 100, 0.9f);
    d.emb = f < 4 ? before : after;
    d.emb_dim = 2;
    uint64_t id = id_at_2fps(t, f, d, seen);
    if (f == 3) first = id;
    if (f == 27) last = id;
  }
  rv_tracking_free(t);
  assert_true(first != 0 && last != 0);
  return last == first;
}

/* A model's re-identification limit reaches the tracker: within the default 0.15 the object
 * gets its old id back; a model calibrated to 0.05 (its embedding tells people apart less
 * well) gives it a new one. */
static void test_tracking_reid_limit(void **state) {
  (void)state;
  assert_true(reid_after_gap(&(rv_track_tuning){0}));
  assert_false(reid_after_gap(&(rv_track_tuning){.reid_thresh = 0.05f}));
  rv_tracking *t = NULL;
  rv_tracking_cfg cfg = {0};
  cfg.use_appearance = 1;
  cfg.tuning.reid_thresh = 1.5f;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  assert_null(t);
}

/* A walker whose box jumps in size from one frame to the next: the Kalman box lags the
 * jump, the detection's box (tuning.detection_boxes) is the one reported, exactly. */
static void test_tracking_detection_boxes(void **state) {
  (void)state;
  for (int det_boxes = 0; det_boxes <= 1; det_boxes++) {
    rv_tracking_cfg cfg = {0};
    cfg.fps = 2;
    cfg.tuning.detection_boxes = det_boxes;
    rv_tracking *t = NULL;
    assert_int_equal(rv_tracking_init(&cfg, &t), RV_OK);
    for (int f = 0; f < 8; f++) {
      rv_detection d = box(100 + 4.0f * f, 200, 40, f % 2 ? 120 : 100, 0.9f);
      const rv_track_out *o = NULL;
      int n = 0;
      assert_int_equal(rv_tracking_frame(t, f * 500000000LL, &d, 1, NULL, &o, &n), RV_OK);
      if (f < 2) continue;
      assert_int_equal(n, 1);
      float got[4] = {o[0].x1, o[0].y1, o[0].x2, o[0].y2}, want[4] = {d.x1, d.y1, d.x2, d.y2};
      if (det_boxes)
        assert_memory_equal(got, want, sizeof got);
      else
        assert_true(fabsf(got[3] - got[1] - (d.y2 - d.y1)) > 1.0f); /* filtered: between */
    }
    rv_tracking_free(t);
  }
  rv_tracking *t = NULL;
  rv_tracking_cfg cfg = {0};
  cfg.tuning.detection_boxes = 2;
  assert_int_equal(rv_tracking_init(&cfg, &t), RV_ERR_INVALID);
  assert_null(t);
}

/* One frame of 20 spurious boxes: none is shown, the real object keeps id 1, and the ids
 * they consumed are never handed out again. */
static void test_track_false_positive_burst(void **state) {
  (void)state;
  rv_tracker *t = tracker(NULL);
  rv_detection d[21];
  uint64_t ids[21];
  rv_rng rng;
  rv_rng_seed(&rng, 3);
  for (int f = 0; f < 30; f++) {
    int n = 1;
    d[0] = box(300 + 2.0f * f, 300, 50, 120, 0.95f);
    if (f == 10)
      for (; n < 21; n++)
        d[n] = box(20 + 45.0f * (n - 1), 40 + 600 * rv_rng_uniform(&rng), 30, 30, 0.7f);
    step(t, d, n, ids);
    assert_int_equal(ids[0], 1);
    for (int i = 1; i < n; i++)
      assert_int_equal(ids[i], 0);
  }
  for (int f = 0; f < 3; f++) { /* a real newcomer gets the next unused id: 1 + 20 + 1 */
    d[0] = box(300 + 2.0f * (30 + f), 300, 50, 120, 0.95f);
    d[1] = box(900, 500, 60, 60, 0.9f);
    step(t, d, 2, ids);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], f == 0 ? 0 : 22);
  }
  rv_tracker_free(t);
}

/* During partial occlusion the detector's score drops to 0.3: BYTE's second association
 * keeps the track; a newcomer seen only at 0.3 never starts one. */
static void test_track_low_score_recovery(void **state) {
  (void)state;
  rv_tracker *t = tracker(NULL);
  uint64_t ids[2];
  for (int f = 0; f < 40; f++) {
    float s = (f >= 10 && f < 25) ? 0.3f : 0.9f;
    rv_detection d[2] = {box(100 + 5.0f * f, 200, 40, 100, s), box(600, 400, 40, 100, 0.3f)};
    step(t, d, 2, ids);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 0);
  }
  rv_tracker_cfg cfg = {0};
  cfg.low_thresh = 0.35f; /* below the low threshold the track is lost instead */
  rv_tracker *t2 = tracker(&cfg);
  int shown_low = 0;
  for (int f = 0; f < 20; f++) {
    rv_detection d = box(100 + 5.0f * f, 200, 40, 100, f >= 10 ? 0.3f : 0.9f);
    step(t2, &d, 1, ids);
    shown_low += f >= 10 && ids[0] != 0;
  }
  assert_int_equal(shown_low, 0);
  rv_tracker_free(t);
  rv_tracker_free(t2);
}

/* Objects appear and vanish for longer than the buffer, again and again: every
 * appearance is a new id, in order, and no id is shown for two appearances. */
static void test_track_ids_never_reused(void **state) {
  (void)state;
  rv_tracker_cfg cfg = {0};
  cfg.track_buffer = 5;
  rv_tracker *t = tracker(&cfg);
  uint64_t ids[1], expect = 1;
  for (int cycle = 0; cycle < 50; cycle++) {
    for (int f = 0; f < 8; f++) {
      rv_detection d = box(200 + 2.0f * f, 200, 40, 100, 0.9f); /* same place every time */
      step(t, &d, 1, ids);
      assert_int_equal(ids[0], (cycle == 0 || f > 0) ? expect : 0);
    }
    for (int f = 0; f < 7; f++)
      step(t, NULL, 0, ids);
    expect++;
  }
  rv_tracker_free(t);
}

/* 500 objects per frame: 500 distinct, stable ids, in detection order on the first frame. */
static void test_track_500_objects(void **state) {
  (void)state;
  rv_tracker *t = tracker(NULL);
  static rv_detection d[500];
  static uint64_t ids[500];
  for (int f = 0; f < 10; f++) {
    for (int i = 0; i < 500; i++)
      d[i] = box(20 + 40.0f * (i % 25) + 0.5f * f, 30 + 50.0f * (i / 25), 24, 36, 0.8f);
    assert_int_equal(step(t, d, 500, ids), 500);
    for (int i = 0; i < 500; i++)
      assert_int_equal(ids[i], (uint64_t)i + 1);
  }
  rv_tracker_free(t);
}

static void unit(rv_rng *r, float *e, int n) {
  double ss = 0;
  for (int i = 0; i < n; i++) {
    e[i] = rv_rng_normal(r);
    ss += (double)e[i] * e[i];
  }
  for (int i = 0; i < n; i++)
    e[i] /= (float)sqrt(ss);
}

/* A person leaves for 100 frames (the buffer is 30) and comes back elsewhere: with the
 * appearance cue the old id returns; a stranger still gets a new one. Without it, the
 * returning person is a new track. */
static void run_reentry(int use_app, uint64_t *back_id, uint64_t *stranger_id) {
  enum { E = 32 };
  rv_rng rng;
  rv_rng_seed(&rng, 5);
  float ea[E], eb[E], ec[E];
  unit(&rng, ea, E);
  unit(&rng, eb, E);
  unit(&rng, ec, E);
  rv_tracker_cfg cfg = {0};
  cfg.use_appearance = use_app;
  rv_tracker *t = tracker(&cfg);
  uint64_t ids[3];
  rv_detection d[3];
  for (int f = 0; f < 200; f++) {
    int n = 0;
    d[n] = box(800, 300 + 0.5f * f, 50, 120, 0.9f); /* b stays throughout */
    d[n].emb = eb, d[n].emb_dim = E, n++;
    if (f < 40 || f >= 140) {
      d[n] = f < 40 ? box(100 + 3.0f * f, 200, 40, 100, 0.9f)
                    : box(500, 500 - 2.0f * (f - 140), 40, 100, 0.9f);
      d[n].emb = ea, d[n].emb_dim = E, n++;
    }
    if (f >= 150) {
      d[n] = box(1200, 600, 40, 100, 0.9f);
      d[n].emb = ec, d[n].emb_dim = E, n++;
    }
    step(t, d, n, ids);
    assert_int_equal(ids[0], 1);
    if (f > 0 && f < 40) assert_int_equal(ids[1], 2);
    if (f == 150) *back_id = ids[1];
    if (f == 160) *stranger_id = ids[2];
  }
  rv_tracker_stats st;
  rv_tracker_get_stats(t, &st);
  assert_true(st.gallery <= 1);
  rv_tracker_free(t);
}

static void test_track_reentry_by_appearance(void **state) {
  (void)state;
  uint64_t back = 0, stranger = 0;
  run_reentry(1, &back, &stranger);
  assert_int_equal(back, 2); /* b took id 1, a id 2 on frame 0 */
  assert_int_equal(stranger, 3);
  run_reentry(0, &back, &stranger);
  assert_int_equal(back, 3);
  assert_int_equal(stranger, 4);
}

static void test_track_bound_and_errors(void **state) {
  (void)state;
  rv_tracker_cfg cfg = {0};
  cfg.max_tracks = 5;
  rv_tracker *t = tracker(&cfg);
  rv_detection d[10];
  uint64_t ids[10];
  for (int i = 0; i < 10; i++)
    d[i] = box(50 + 100.0f * i, 100, 40, 80, 0.9f);
  assert_int_equal(step(t, d, 10, ids), 5);
  rv_tracker_stats st;
  rv_tracker_get_stats(t, &st);
  assert_int_equal(st.live_tracks, 5);
  assert_int_equal(st.dropped, 5);
  d[3].x2 = NAN;
  const rv_track_out *o;
  int no;
  assert_int_equal(rv_tracker_update(t, d, 10, &o, &no), RV_ERR_INVALID);
  assert_int_equal(rv_tracker_update(t, NULL, 3, &o, &no), RV_ERR_INVALID);
  assert_int_equal(rv_tracker_update(t, d, -1, &o, &no), RV_ERR_INVALID);
  rv_tracker_free(t);
  rv_tracker_free(NULL);
  rv_tracker *bad = NULL;
  cfg = (rv_tracker_cfg){0};
  cfg.high_thresh = 1.5f;
  assert_int_equal(rv_tracker_init(&cfg, &bad), RV_ERR_INVALID);
  cfg = (rv_tracker_cfg){0};
  cfg.low_thresh = 0.7f; /* above high */
  assert_int_equal(rv_tracker_init(&cfg, &bad), RV_ERR_INVALID);
  cfg = (rv_tracker_cfg){0};
  cfg.fps = -1;
  assert_int_equal(rv_tracker_init(&cfg, &bad), RV_ERR_INVALID);
  assert_null(bad);
}

/* An hour at 10 fps: people enter, walk for 5 to 60 s and leave, about 8 at a time, with
 * missed detections and false positives. Live memory stays under a fixed bound. */
static void test_track_hour_bounded(void **state) {
  (void)state;
  enum { FPS = 10, FRAMES = 3600 * FPS, SLOTS = 12 };
  rv_tracker_cfg cfg = {0};
  cfg.fps = FPS;
  rv_tracker *t = tracker(&cfg);
  rv_rng rng;
  rv_rng_seed(&rng, 42);
  struct {
    int alive, left;
    float x, y, vx, vy;
  } p[SLOTS] = {{0}};
  rv_detection d[SLOTS + 2];
  uint64_t ids[SLOTS + 2];
  size_t max_live = 0;
  for (int f = 0; f < FRAMES; f++) {
    int n = 0;
    for (int s = 0; s < SLOTS; s++) {
      if (!p[s].alive && rv_rng_uniform(&rng) < 0.01f) {
        p[s].alive = 1;
        p[s].left = 50 + (int)(rv_rng_uniform(&rng) * 550);
        p[s].x = 100.0f + 150.0f * s;
        p[s].y = 100 + 800 * rv_rng_uniform(&rng);
        p[s].vx = 4 * rv_rng_uniform(&rng) - 2;
        p[s].vy = 4 * rv_rng_uniform(&rng) - 2;
      }
      if (!p[s].alive) continue;
      p[s].x += p[s].vx;
      p[s].y += p[s].vy;
      if (--p[s].left == 0) p[s].alive = 0;
      if (rv_rng_uniform(&rng) < 0.05f) continue; /* missed */
      d[n++] = box(p[s].x, p[s].y, 40, 100, 0.5f + 0.5f * rv_rng_uniform(&rng));
    }
    if (rv_rng_uniform(&rng) < 0.1f)
      d[n++] = box(2000 * rv_rng_uniform(&rng), 1000 * rv_rng_uniform(&rng), 30, 30, 0.65f);
    step(t, d, n, ids);
    rv_tracker_stats st;
    rv_tracker_get_stats(t, &st);
    if (st.live_bytes > max_live) max_live = st.live_bytes;
    assert_true(st.live_tracks <= 64);
  }
  rv_tracker_stats st;
  rv_tracker_get_stats(t, &st);
  assert_true(st.next_id > 1500); /* thousands of tracks came and went */
  assert_true(max_live < 64 * 1024);
  assert_true(st.peak_bytes == max_live);
  print_message("hour: %llu ids, peak %zu bytes, %llu allocations\n",
                (unsigned long long)st.next_id - 1, max_live, (unsigned long long)st.allocations);
  assert_true(st.allocations < 200); /* the per-frame path stops allocating after warm-up */
  rv_tracker_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_track_single_and_empty),
      cmocka_unit_test(test_track_crossing),
      cmocka_unit_test(test_track_crossing_occluded),
      cmocka_unit_test(test_track_occlusion_gaps),
      cmocka_unit_test(test_track_false_positive_burst),
      cmocka_unit_test(test_track_low_score_recovery),
      cmocka_unit_test(test_track_ids_never_reused),
      cmocka_unit_test(test_track_500_objects),
      cmocka_unit_test(test_track_reentry_by_appearance),
      cmocka_unit_test(test_track_bound_and_errors),
      cmocka_unit_test(test_track_hour_bounded),
      cmocka_unit_test(test_tracking_tuning),
      cmocka_unit_test(test_tracking_reid_limit),
      cmocka_unit_test(test_tracking_detection_boxes),
      cmocka_unit_test(test_tracking_match_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
