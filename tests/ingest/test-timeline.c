/* The timeline and the sampler on their own: monotonic time, frame numbers from packets,
 * discontinuities, missing timestamps, and the sampling grid. */
#include <math.h>
#include <string.h>

#include "rv-test.h"
#include "timeline-impl.h"

#define MS 1000000LL

/* Packets in decode order, frames in presentation order (what a decoder does). */
static void test_reordered_packets_number_frames(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  /* I0 P3 B1 B2 P6 B4 B5: pts in frames of 40 ms */
  static const int order[] = {0, 3, 1, 2, 6, 4, 5};
  for (int i = 0; i < 7; i++)
    rv_timeline_packet(&t, order[i] * 40 * MS, 1);
  for (int f = 0; f < 7; f++) {
    int64_t ns, idx;
    rv_timeline_frame(&t, f * 40 * MS, &ns, &idx);
    assert_int_equal(ns, f * 40 * MS);
    assert_int_equal(idx, f);
  }
}

/* Frames discarded before output still count: the numbers stay those of the source. */
static void test_discarded_frames_keep_numbers(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  for (int i = 0; i < 10; i++)
    rv_timeline_packet(&t, i * 40 * MS, 1);
  int64_t ns, idx;
  rv_timeline_frame(&t, 0, &ns, &idx);
  assert_int_equal(idx, 0);
  rv_timeline_frame(&t, 7 * 40 * MS, &ns, &idx); /* 1..6 never came out */
  assert_int_equal(idx, 7);
  rv_timeline_frame(&t, 9 * 40 * MS, &ns, &idx);
  assert_int_equal(idx, 9);
}

static void test_missing_pts(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  int64_t ns, idx;
  rv_timeline_frame(&t, RV_TS_NONE, &ns, &idx);
  assert_int_equal(ns, 0);
  assert_int_equal(idx, 0);
  rv_timeline_frame(&t, RV_TS_NONE, &ns, &idx);
  assert_int_equal(ns, 40 * MS);
  assert_int_equal(idx, 1);
  rv_timeline_frame(&t, 200 * MS, &ns, &idx); /* known again */
  assert_int_equal(ns, 200 * MS);
  assert_int_equal(idx, 2);
}

static void test_backward_jump_continues(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  int64_t ns, idx;
  rv_timeline_frame(&t, 5000 * MS, &ns, &idx);
  rv_timeline_frame(&t, 5040 * MS, &ns, &idx);
  rv_timeline_frame(&t, 100 * MS, &ns, &idx); /* wrapped or spliced */
  assert_int_equal(ns, 5080 * MS);
  rv_timeline_frame(&t, 140 * MS, &ns, &idx);
  assert_int_equal(ns, 5120 * MS);
  assert_int_equal(t.discontinuities, 1);
  assert_int_equal(idx, 3);
}

static void test_small_disorder_stays_monotonic(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  int64_t ns, prev = -1, idx;
  static const int64_t raw[] = {0, 40, 80, 60, 80, 120};
  for (int i = 0; i < 6; i++) {
    rv_timeline_frame(&t, raw[i] * MS, &ns, &idx);
    assert_true(ns > prev);
    prev = ns;
  }
  assert_int_equal(ns, 120 * MS); /* no lasting offset */
  assert_int_equal(t.discontinuities, 0);
}

static void test_forward_jump_only_where_declared(void **state) {
  (void)state;
  rv_timeline a, b;
  rv_timeline_init(&a, 40 * MS, 0);                /* e.g. Matroska: a gap is real time */
  rv_timeline_init(&b, 40 * MS, RV_TL_DISCONT_NS); /* e.g. MPEG-TS */
  int64_t ns, idx;
  rv_timeline_frame(&a, 0, &ns, &idx);
  rv_timeline_frame(&a, 60000 * MS, &ns, &idx);
  assert_int_equal(ns, 60000 * MS);
  rv_timeline_frame(&b, 0, &ns, &idx);
  rv_timeline_frame(&b, 60000 * MS, &ns, &idx);
  assert_int_equal(ns, 40 * MS);
  assert_int_equal(b.discontinuities, 1);
}

static void test_restart_after_seek(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  rv_timeline_restart(&t, 120);
  rv_timeline_packet(&t, 4800 * MS, 1);
  rv_timeline_packet(&t, 4840 * MS, 1);
  int64_t ns, idx;
  rv_timeline_frame(&t, 4800 * MS, &ns, &idx);
  assert_int_equal(idx, 120);
  rv_timeline_frame(&t, 4840 * MS, &ns, &idx);
  assert_int_equal(idx, 121);
}

static void test_state_is_bounded(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  int64_t n = 4 * (RV_TL_WINDOW + RV_TL_SENT);
  for (int64_t i = 0; i < n; i++)
    rv_timeline_packet(&t, i * 40 * MS, 1);
  assert_int_equal(t.npending, RV_TL_WINDOW);
  assert_int_equal(t.nsent, RV_TL_SENT);
  int64_t ns, idx;
  rv_timeline_frame(&t, (n - 1) * 40 * MS, &ns, &idx);
  assert_int_equal(idx, n - 1);
}

/* Keyframes only: most packets are dropped, and the decoder's output lags far behind the
 * reading (it holds frames for reordering); numbers are still the source's. */
static void test_dropped_packets_far_ahead(void **state) {
  (void)state;
  rv_timeline t;
  rv_timeline_init(&t, 40 * MS, 0);
  for (int i = 0; i < 240; i++)
    rv_timeline_packet(&t, i * 40 * MS, i % 60 == 0);
  for (int k = 0; k < 4; k++) {
    int64_t ns, idx;
    rv_timeline_frame(&t, k * 60 * 40 * MS, &ns, &idx);
    assert_int_equal(idx, 60 * k);
  }
}

/* 30 fps source sampled at 7 fps: frame ceil(30 k / 7) for grid point k. */
static void test_sampler_grid(void **state) {
  (void)state;
  rv_sampler s;
  rv_sampler_init(&s, 7.0, RV_TS_NONE);
  int k = 0;
  for (int i = 0; i < 300; i++) {
    int64_t t = llround(i * 1e9 / 30);
    int expect = i == (30 * k + 6) / 7;
    assert_int_equal(rv_sampler_take(&s, t), expect);
    if (expect) k++;
  }
  assert_int_equal(k, 70);
}

static void test_sampler_never_duplicates(void **state) {
  (void)state;
  rv_sampler s;
  rv_sampler_init(&s, 10.0, RV_TS_NONE);
  /* 1 fps source at 10 fps: every frame once, none twice */
  for (int i = 0; i < 5; i++)
    assert_int_equal(rv_sampler_take(&s, i * 1000 * MS), 1);
  rv_sampler_init(&s, 0, RV_TS_NONE); /* fps 0: all */
  for (int i = 0; i < 5; i++)
    assert_int_equal(rv_sampler_take(&s, i), 1);
}

static void test_sampler_origin_and_tolerance(void **state) {
  (void)state;
  rv_sampler s;
  rv_sampler_init(&s, 2.0, 3000 * MS); /* a start time */
  assert_true(rv_sampler_skippable(&s, 2990 * MS));
  assert_int_equal(rv_sampler_take(&s, 2990 * MS), 0);
  assert_int_equal(rv_sampler_take(&s, 3000 * MS - 400000), 1); /* within 0.5 ms: rounding */
  assert_int_equal(rv_sampler_take(&s, 3200 * MS), 0);
  assert_false(rv_sampler_skippable(&s, 3500 * MS));
  assert_int_equal(rv_sampler_take(&s, 3501 * MS), 1);
  assert_int_equal(rv_sampler_take(&s, 3999 * MS), 0);
  assert_int_equal(rv_sampler_take(&s, 5200 * MS), 1); /* a gap: the next frame after it */
  assert_int_equal(rv_sampler_take(&s, 5400 * MS), 0);
  assert_int_equal(rv_sampler_take(&s, 5500 * MS), 1);
  rv_sampler_init(&s, 2.0, RV_TS_NONE);
  assert_false(rv_sampler_skippable(&s, 0)); /* grid unknown yet */
}

/* What skipping relies on: of the frames of one grid cell, only the first can be taken. */
static void test_sampler_takes_one_frame_per_cell(void **state) {
  (void)state;
  rv_sampler s;
  rv_sampler_init(&s, 7.0, RV_TS_NONE);
  assert_int_equal(rv_sampler_cell(&s, 0), RV_TS_NONE); /* grid unknown yet */
  int64_t last_cell = RV_TS_NONE;
  uint32_t seed = 7;
  int64_t t = 1234 * MS;
  for (int i = 0; i < 2000; i++) {
    seed = seed * 1664525u + 1013904223u;
    t += 1 + (seed >> 8) % (90 * MS); /* variable frame rate, some gaps over a cell */
    int first_of_cell = rv_sampler_cell(&s, t) != last_cell;
    int taken = rv_sampler_take(&s, t);
    int64_t c = rv_sampler_cell(&s, t);
    assert_true(c != RV_TS_NONE);
    assert_int_equal(taken, i == 0 || first_of_cell);
    last_cell = c;
  }
  rv_sampler_init(&s, 2.0, 3000 * MS);
  assert_int_equal(rv_sampler_cell(&s, 3000 * MS - 400000), 0); /* within the tolerance */
  assert_int_equal(rv_sampler_cell(&s, 3499 * MS), 0);
  assert_int_equal(rv_sampler_cell(&s, 3500 * MS), 1);
  assert_int_equal(rv_sampler_cell(&s, 2990 * MS), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reordered_packets_number_frames),
      cmocka_unit_test(test_discarded_frames_keep_numbers),
      cmocka_unit_test(test_missing_pts),
      cmocka_unit_test(test_backward_jump_continues),
      cmocka_unit_test(test_small_disorder_stays_monotonic),
      cmocka_unit_test(test_forward_jump_only_where_declared),
      cmocka_unit_test(test_restart_after_seek),
      cmocka_unit_test(test_state_is_bounded),
      cmocka_unit_test(test_dropped_packets_far_ahead),
      cmocka_unit_test(test_sampler_grid),
      cmocka_unit_test(test_sampler_never_duplicates),
      cmocka_unit_test(test_sampler_origin_and_tolerance),
      cmocka_unit_test(test_sampler_takes_one_frame_per_cell),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
