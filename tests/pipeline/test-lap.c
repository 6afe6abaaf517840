/* The assignment solver against brute force on random small matrices, square and
 * rectangular, with and without a cost limit, with ties, and its argument checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

#include "rv-test.h"

enum { MAXN = 6 };

/* Best total over all matchings in which every row takes a distinct column or none:
 * full (limit infinite: as many pairs as min(rows, cols)) or limited (pairs must cost
 * less than the limit, total of cost - limit). */
static double brute(const double *c, int rows, int cols, double limit, int row, unsigned used,
                    int pairs) {
  if (row == rows) {
    int need = rows < cols ? rows : cols;
    return (isfinite(limit) || pairs == need) ? 0.0 : INFINITY;
  }
  double best = brute(c, rows, cols, limit, row + 1, used, pairs); /* row unmatched */
  for (int j = 0; j < cols; j++) {
    if (used & (1u << j)) continue;
    double v = c[row * cols + j];
    if (isfinite(limit)) {
      if (!(v < limit)) continue;
      v -= limit;
    }
    double sub = brute(c, rows, cols, limit, row + 1, used | (1u << j), pairs + 1);
    if (v + sub < best) best = v + sub;
  }
  return best;
}

static double total(const double *c, int rows, int cols, double limit, const int *r2c,
                    const int *c2r) {
  double s = 0;
  int pairs = 0;
  for (int i = 0; i < rows; i++) {
    if (r2c[i] < 0) continue;
    assert_int_equal(c2r[r2c[i]], i); /* both views agree */
    s += c[i * cols + r2c[i]] - (isfinite(limit) ? limit : 0.0);
    if (isfinite(limit)) assert_true(c[i * cols + r2c[i]] < limit);
    pairs++;
  }
  for (int j = 0; j < cols; j++)
    if (c2r[j] >= 0) assert_int_equal(r2c[c2r[j]], j);
  if (!isfinite(limit)) assert_int_equal(pairs, rows < cols ? rows : cols);
  return s;
}

static void check_case(rv_rng *rng, int rows, int cols, double limit, int integer) {
  double c[MAXN * MAXN];
  for (int k = 0; k < rows * cols; k++) {
    float u = rv_rng_uniform(rng);
    c[k] = integer ? floor(u * 4.0) : (double)u * 10.0 - 3.0; /* ties, negatives */
  }
  int r2c[MAXN], c2r[MAXN];
  assert_int_equal(rv_lap_solve(c, rows, cols, limit, r2c, c2r, NULL), RV_OK);
  double want = brute(c, rows, cols, limit, 0, 0, 0);
  double got = total(c, rows, cols, limit, r2c, c2r);
  if (fabs(got - want) > 1e-9)
    fail_msg("%dx%d limit %g: got %.12f, optimum %.12f", rows, cols, limit, got, want);
}

static void test_lap_vs_brute_force(void **state) {
  (void)state;
  rv_rng rng;
  rv_rng_seed(&rng, 7);
  for (int it = 0; it < 600; it++) {
    int rows = 1 + (int)(rv_rng_next(&rng) % MAXN), cols = 1 + (int)(rv_rng_next(&rng) % MAXN);
    check_case(&rng, rows, cols, INFINITY, it % 3 == 0);
    check_case(&rng, rows, cols, 2.5, it % 3 == 0);
    check_case(&rng, rows, cols, 0.0, it % 3 == 1);
  }
}

/* A caller-provided workspace gives the same answer, and a larger problem's optimum is
 * the same whichever way round it is posed. */
static void test_lap_workspace_and_transpose(void **state) {
  (void)state;
  enum { R = 40, C = 70 };
  static double c[R * C], ct[C * R];
  rv_rng rng;
  rv_rng_seed(&rng, 11);
  for (int i = 0; i < R; i++)
    for (int j = 0; j < C; j++)
      ct[j * R + i] = c[i * C + j] = rv_rng_uniform(&rng);
  int r2c[R], c2r[C], r2c_t[C], c2r_t[R];
  void *work = malloc(rv_lap_work_bytes(R, C));
  assert_int_equal(rv_lap_solve(c, R, C, INFINITY, r2c, c2r, work), RV_OK);
  assert_int_equal(rv_lap_solve(ct, C, R, INFINITY, r2c_t, c2r_t, NULL), RV_OK);
  double a = total(c, R, C, INFINITY, r2c, c2r), b = total(ct, C, R, INFINITY, r2c_t, c2r_t);
  assert_true(fabs(a - b) < 1e-9);
  free(work);
}

static void test_lap_edges(void **state) {
  (void)state;
  int r2c[3] = {7, 7, 7}, c2r[2] = {7, 7};
  assert_int_equal(rv_lap_solve(NULL, 0, 2, INFINITY, NULL, c2r, NULL), RV_OK);
  assert_int_equal(c2r[0], -1);
  assert_int_equal(rv_lap_solve(NULL, 3, 0, 0.5, r2c, NULL, NULL), RV_OK);
  assert_int_equal(r2c[2], -1);
  double bad[2] = {0.1, NAN};
  assert_int_equal(rv_lap_solve(bad, 1, 2, INFINITY, r2c, c2r, NULL), RV_ERR_INVALID);
  double inf[2] = {0.1, INFINITY};
  assert_int_equal(rv_lap_solve(inf, 1, 2, INFINITY, r2c, c2r, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_lap_solve(bad, -1, 2, INFINITY, r2c, c2r, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_lap_solve(bad, 1, 2, NAN, r2c, c2r, NULL), RV_ERR_INVALID);
  /* everything above the limit: nothing matched */
  double high[4] = {0.9, 0.95, 0.99, 1.0};
  assert_int_equal(rv_lap_solve(high, 2, 2, 0.8, r2c, c2r, NULL), RV_OK);
  assert_int_equal(r2c[0], -1);
  assert_int_equal(r2c[1], -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_lap_vs_brute_force),
                                     cmocka_unit_test(test_lap_workspace_and_transpose),
                                     cmocka_unit_test(test_lap_edges)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
