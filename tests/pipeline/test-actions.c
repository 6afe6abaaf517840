/* The action segmenter: hysteresis, minimum duration, gap merging, smoothing computed by
 * hand, streaming emission, per-track segments closed by the tracker or by timeout, the
 * end of the stream, the track bound, and bad input. At 10 fps, frame k is at k * 100 ms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/actions.h>

#include "rv-test.h"

#define MS 1000000LL

static rv_actions *segmenter(double smooth_s, double min_s, double gap_s) {
  static const char *scene[] = {"crowd", "fight"};
  static const char *track[] = {"walk", "fall"};
  rv_actions_cfg cfg = {2, scene, 2, track, smooth_s, 0, 0, min_s, gap_s, 0, 0};
  rv_actions *a = NULL;
  assert_int_equal(rv_actions_init(&cfg, &a), RV_OK);
  return a;
}

/* Feeds scene label 0 the score script(k) for frames [k0, k1); collects what comes out,
 * and records the frame each segment came out at. */
typedef struct got {
  rv_action_segment s[16];
  int at[16];
  int n;
} got;

static void collect(rv_actions *a, got *g, int frame) {
  const rv_action_segment *segs;
  int n;
  rv_actions_take(a, &segs, &n);
  for (int i = 0; i < n; i++) {
    assert_true(g->n < 16);
    g->s[g->n] = segs[i];
    g->at[g->n++] = frame;
  }
}

static void feed(rv_actions *a, got *g, int k0, int k1, float (*script)(int)) {
  for (int k = k0; k < k1; k++) {
    float sc[2] = {script(k), 0.0f};
    assert_int_equal(rv_actions_frame(a, k * 100 * MS, sc, NULL, 0), RV_OK);
    collect(a, g, k);
  }
}

static float step_on_10_40(int k) { return k >= 10 && k < 40 ? 0.9f : 0.0f; }

static void test_actions_basic_streaming(void **state) {
  (void)state;
  rv_actions *a = segmenter(-1, 0.5, 0.5);
  got g = {0};
  feed(a, &g, 0, 80, step_on_10_40);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].track_id, 0);
  assert_string_equal(g.s[0].label_name, "crowd");
  assert_int_equal(g.s[0].start_ns, 1000 * MS);
  assert_int_equal(g.s[0].end_ns, 4000 * MS); /* the first frame below `off` */
  assert_true(fabsf(g.s[0].score - 0.9f) < 1e-6f);
  assert_int_equal(g.at[0], 46); /* out once the merge gap (0.5 s) has passed: 4.6 s */
  rv_actions_finish(a, -1);
  collect(a, &g, 80);
  assert_int_equal(g.n, 1);
  rv_actions_free(a);
}

/* Between off (0.4) and on (0.6) nothing opens, and an open segment stays open. */
static float wobble(int k) {
  if (k < 10) return 0.5f;                  /* never reaches on */
  if (k < 12) return 0.8f;                  /* opens */
  if (k < 30) return k % 2 ? 0.45f : 0.55f; /* stays open */
  return 0.1f;
}

static void test_actions_hysteresis(void **state) {
  (void)state;
  rv_actions *a = segmenter(-1, 0.5, 0.5);
  got g = {0};
  feed(a, &g, 0, 50, wobble);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].start_ns, 0); /* the rise above off began at frame 0 */
  assert_int_equal(g.s[0].end_ns, 3000 * MS);
  double mean = (10 * 0.5 + 2 * 0.8 + 9 * 0.45 + 9 * 0.55) / 30.0;
  assert_true(fabs(g.s[0].score - mean) < 1e-6);
  rv_actions_free(a);
}

static float blips(int k) {
  if (k >= 5 && k < 8) return 0.9f;   /* 0.3 s: too short */
  if (k >= 20 && k < 30) return 0.9f; /* 1 s */
  if (k >= 33 && k < 40) return 0.9f; /* 0.3 s later: merged with the one before */
  if (k >= 50 && k < 60) return 0.9f; /* 1 s after: separate */
  return 0.0f;
}

static void test_actions_min_duration_and_merge(void **state) {
  (void)state;
  rv_actions *a = segmenter(-1, 0.5, 0.5);
  got g = {0};
  feed(a, &g, 0, 100, blips);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.s[0].start_ns, 2000 * MS);
  assert_int_equal(g.s[0].end_ns, 4000 * MS);
  assert_int_equal(g.s[1].start_ns, 5000 * MS);
  assert_int_equal(g.s[1].end_ns, 6000 * MS);
  rv_actions_free(a);
  a = segmenter(-1, -1, -1); /* keep everything, merge nothing: out at the closing frame */
  got h = {0};
  feed(a, &h, 0, 100, blips);
  assert_int_equal(h.n, 4);
  assert_int_equal(h.s[0].end_ns, 800 * MS);
  assert_int_equal(h.at[0], 8);
  rv_actions_free(a);
}

static float step_on_10_30(int k) { return k >= 10 && k < 30 ? 1.0f : 0.0f; }
static float spike(int k) { return k == 10 ? 1.0f : 0.0f; }

/* tau = 0.5 s, dt = 0.1 s: each frame keeps e^-0.2 = 0.8187 of the old value. Rising
 * from 0: 0.181, 0.330, 0.451 (>= off at frame 12), 0.551, 0.632 (>= on at 14). Falling
 * from 1 - e^-4 = 0.9817 after 20 frames: 0.804, 0.658, 0.539, 0.441, 0.361 (< off at 34). */
static void test_actions_smoothing(void **state) {
  (void)state;
  rv_actions *a = segmenter(0.5, 0.5, 0.5);
  got g = {0};
  feed(a, &g, 0, 60, step_on_10_30);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.s[0].start_ns, 1200 * MS);
  assert_int_equal(g.s[0].end_ns, 3400 * MS);
  rv_actions_free(a);
  a = segmenter(0.5, 0.5, 0.5);
  got h = {0};
  feed(a, &h, 0, 40, spike); /* one frame at 1.0 smooths to 0.181: nothing */
  rv_actions_finish(a, -1);
  collect(a, &h, 40);
  assert_int_equal(h.n, 0);
  rv_actions_free(a);
}

/* Track 7 walks from 1 s and is removed by the tracker at 3 s; track 9 falls from 2 s and
 * is never seen after 4 s (timeout 10 s); both segments end one frame after they were
 * last seen. The finish closes the scene at the given end. */
static void test_actions_tracks(void **state) {
  (void)state;
  rv_actions *a = segmenter(-1, 0.5, 0.5);
  got g = {0};
  float walk[2] = {0.9f, 0.1f}, fall[2] = {0.0f, 0.95f}, crowd[2] = {0.8f, 0.0f};
  for (int k = 0; k < 200; k++) {
    rv_action_track tr[2];
    int n = 0;
    if (k >= 10 && k < 30) tr[n++] = (rv_action_track){7, walk};
    if (k >= 20 && k < 40) tr[n++] = (rv_action_track){9, fall};
    assert_int_equal(rv_actions_frame(a, k * 100 * MS, k >= 150 ? crowd : NULL, tr, n), RV_OK);
    collect(a, &g, k);
    if (k == 29) {
      assert_int_equal(rv_actions_end_track(a, 7), RV_OK);
      collect(a, &g, k);
      assert_int_equal(g.n, 1); /* out at once: the track is gone, nothing can merge */
    }
  }
  assert_int_equal(rv_actions_finish(a, 20500 * MS), RV_OK);
  collect(a, &g, 200);
  assert_int_equal(g.n, 3);
  assert_int_equal(g.s[0].track_id, 7);
  assert_string_equal(g.s[0].label_name, "walk");
  assert_int_equal(g.s[0].start_ns, 1000 * MS);
  assert_int_equal(g.s[0].end_ns, 3000 * MS);
  assert_int_equal(g.s[1].track_id, 9);
  assert_string_equal(g.s[1].label_name, "fall");
  assert_int_equal(g.s[1].start_ns, 2000 * MS);
  assert_int_equal(g.s[1].end_ns, 4000 * MS);
  assert_int_equal(g.at[1], 140); /* 10 s unseen: timed out */
  assert_int_equal(g.s[2].track_id, 0);
  assert_int_equal(g.s[2].start_ns, 15000 * MS);
  assert_int_equal(g.s[2].end_ns, 20500 * MS);
  assert_int_equal(rv_actions_frame(a, 30000 * MS, crowd, NULL, 0), RV_ERR_INVALID); /* finished */
  rv_actions_free(a);
}

/* max_tracks 4 and 10 tracks at once: the least recently seen make room, their segments
 * closed; state never holds more than 4. */
static void test_actions_bound_and_errors(void **state) {
  (void)state;
  rv_actions_cfg cfg = {0, NULL, 1, NULL, -1, 0, 0, -1, 0, 0, 4};
  rv_actions *a = NULL;
  assert_int_equal(rv_actions_init(&cfg, &a), RV_OK);
  float on[1] = {0.9f};
  int segs = 0;
  for (int k = 0; k < 30; k++) {
    rv_action_track tr = {(uint64_t)(k % 10) + 1, on};
    assert_int_equal(rv_actions_frame(a, k * 100 * MS, NULL, &tr, 1), RV_OK);
    const rv_action_segment *s;
    int n;
    rv_actions_take(a, &s, &n);
    for (int i = 0; i < n; i++)
      assert_string_equal(s[i].label_name, "action0");
    segs += n;
  }
  assert_int_equal(segs, 26); /* from the 5th frame on, each new track evicts one */
  float bad[1] = {1.5f}, nan[1] = {NAN};
  rv_action_track tb = {3, bad}, tn = {3, nan}, t0 = {0, on};
  assert_int_equal(rv_actions_frame(a, 10000 * MS, NULL, &tb, 1), RV_ERR_INVALID);
  assert_int_equal(rv_actions_frame(a, 10100 * MS, NULL, &tn, 1), RV_ERR_INVALID);
  assert_int_equal(rv_actions_frame(a, 10200 * MS, NULL, &t0, 1), RV_ERR_INVALID);
  assert_int_equal(rv_actions_frame(a, 500 * MS, NULL, NULL, 0), RV_ERR_INVALID); /* back in time */
  assert_int_equal(rv_actions_end_track(a, 12345), RV_OK);
  rv_actions_free(a);
  cfg.on_thresh = 0.3f; /* below off */
  assert_int_equal(rv_actions_init(&cfg, &a), RV_ERR_INVALID);
  cfg.on_thresh = 0;
  cfg.max_tracks = -2;
  assert_int_equal(rv_actions_init(&cfg, &a), RV_ERR_INVALID);
  assert_null(a);
  rv_actions_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_actions_basic_streaming),
      cmocka_unit_test(test_actions_hysteresis),
      cmocka_unit_test(test_actions_min_duration_and_merge),
      cmocka_unit_test(test_actions_smoothing),
      cmocka_unit_test(test_actions_tracks),
      cmocka_unit_test(test_actions_bound_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
