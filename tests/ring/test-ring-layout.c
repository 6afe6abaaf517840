/* Ring layouts: every rank's segments together cover the sequence exactly once, cut only
 * between units, with shares within a unit or two of each other; zigzag balances
 * frame-causal work (counted, not timed) where contiguous shares do not. */
#include <stdlib.h>
#include <string.h>

#include <ringvit/ring.h>

#include "rv-test.h"

static int64_t rows_of(const rv_ring_seq *s) {
  int64_t n = 0;
  for (int i = 0; i < s->nseg; i++)
    n += s->seg[i].len;
  return n;
}

static void check_cover(rv_ring_layout layout, int64_t n, int64_t unit, int R) {
  char *hit = calloc((size_t)n + 1, 1);
  int64_t lo = INT64_MAX, hi = 0;
  for (int r = 0; r < R; r++) {
    rv_ring_seq s;
    assert_int_equal(rv_ring_layout_seq(layout, n, unit, R, r, &s), RV_OK);
    assert_true(s.nseg >= 1 && s.nseg <= 2);
    for (int i = 0; i < s.nseg; i++) {
      const rv_ring_segment *g = &s.seg[i];
      if (g->len > 0) /* cut between units only */
        assert_true(g->pos0 % unit == 0 && (g->len % unit == 0 || g->pos0 + g->len == n));
      for (int64_t t = g->pos0; t < g->pos0 + g->len; t++) {
        assert_true(t < n);
        assert_int_equal(hit[t], 0);
        hit[t] = 1;
      }
    }
    int64_t k = rows_of(&s);
    lo = k < lo ? k : lo;
    hi = k > hi ? k : hi;
  }
  for (int64_t t = 0; t < n; t++)
    assert_int_equal(hit[t], 1);
  /* a unit per chunk held, plus the last unit when n is not a multiple of it */
  int64_t slack = (layout == RV_RING_ZIGZAG ? 2 : 1) * unit + (n % unit ? unit - n % unit : 0);
  if (hi - lo > slack)
    fail_msg("layout %d, n %lld, unit %lld, R %d: shares from %lld to %lld", layout, (long long)n,
             (long long)unit, R, (long long)lo, (long long)hi);
  assert_int_equal(rv_ring_layout_max_local(layout, n, unit, R), hi);
  free(hit);
}

static void test_cover(void **state) {
  (void)state;
  static const int64_t ns[] = {0, 1, 5, 17, 96, 157, 1000};
  static const int64_t units[] = {1, 3, 7};
  for (int layout = 0; layout < 2; layout++)
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
      for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (int R = 1; R <= 8; R++)
          check_cover((rv_ring_layout)layout, ns[i], units[u], R);
}

static void test_zigzag_shape(void **state) {
  (void)state;
  rv_ring_seq s;
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 80, 10, 2, 0, &s), RV_OK);
  assert_int_equal(s.nseg, 2); /* chunks 0 and 3 of 4 */
  assert_int_equal(s.seg[0].pos0, 0);
  assert_int_equal(s.seg[0].len, 20);
  assert_int_equal(s.seg[1].pos0, 60);
  assert_int_equal(s.seg[1].len, 20);
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 80, 10, 2, 1, &s), RV_OK);
  assert_int_equal(s.nseg, 1); /* chunks 1 and 2 are adjacent: one segment */
  assert_int_equal(s.seg[0].pos0, 20);
  assert_int_equal(s.seg[0].len, 40);
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 80, 10, 1, 0, &s), RV_OK);
  assert_int_equal(s.nseg, 1);
  assert_int_equal(s.seg[0].len, 80);
}

/* Frame-causal (query, key) pairs each rank computes: its work. */
static double causal_pairs(const rv_ring_seq *s, int64_t tpf) {
  double pairs = 0;
  for (int i = 0; i < s->nseg; i++)
    for (int64_t t = s->seg[i].pos0; t < s->seg[i].pos0 + s->seg[i].len; t++)
      pairs += (double)((t / tpf + 1) * tpf);
  return pairs;
}

static double imbalance(rv_ring_layout layout, int64_t n, int64_t tpf, int R) {
  double most = 0, sum = 0;
  for (int r = 0; r < R; r++) {
    rv_ring_seq s;
    assert_int_equal(rv_ring_layout_seq(layout, n, tpf, R, r, &s), RV_OK);
    double w = causal_pairs(&s, tpf);
    most = w > most ? w : most;
    sum += w;
  }
  return most / (sum / R);
}

static void test_zigzag_balances_causal_work(void **state) {
  (void)state;
  for (int R = 2; R <= 8; R++) {
    assert_true(imbalance(RV_RING_ZIGZAG, 64 * 16 * R, 16, R) <= 1.10);
    assert_true(imbalance(RV_RING_ZIGZAG, 1000 + 7 * R, 1, R) <= 1.10); /* uneven */
    assert_true(imbalance(RV_RING_CONTIGUOUS, 64 * 16 * R, 16, R) > 1.3);
  }
}

static void test_bad_layouts(void **state) {
  (void)state;
  rv_ring_seq s;
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 10, 1, 2, 2, &s), RV_ERR_INVALID);
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 10, 0, 2, 0, &s), RV_ERR_INVALID);
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, -1, 1, 2, 0, &s), RV_ERR_INVALID);
  assert_int_equal(rv_ring_layout_seq((rv_ring_layout)7, 10, 1, 2, 0, &s), RV_ERR_INVALID);
  assert_int_equal(rv_ring_layout_seq(RV_RING_ZIGZAG, 10, 1, 2, 0, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_ring_layout_max_local(RV_RING_ZIGZAG, 10, 1, 0), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cover),
      cmocka_unit_test(test_zigzag_shape),
      cmocka_unit_test(test_zigzag_balances_causal_work),
      cmocka_unit_test(test_bad_layouts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
