/* The Kalman filter against steps computed by hand (the coordinates decouple into
 * (position, velocity) pairs when the covariance starts diagonal). */
#include <math.h>

#include <ringvit/track.h>

#include "rv-test.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9 * (1.0 + fabs(b)))

static void test_kalman_hand_steps(void **state) {
  (void)state;
  rv_kf_params p = rv_kf_default_params();
  rv_kf_state s;
  double z0[4] = {100, 50, 0.5, 80};
  rv_kf_initiate(&p, z0, &s);
  /* sigma = 2 h / 20 = 8 for position and height, 10 h / 160 = 5 for their velocities */
  NEAR(s.cov[0 * 8 + 0], 64.0);
  NEAR(s.cov[3 * 8 + 3], 64.0);
  NEAR(s.cov[2 * 8 + 2], 1e-4);
  NEAR(s.cov[4 * 8 + 4], 25.0);
  NEAR(s.cov[6 * 8 + 6], 1e-10);
  NEAR(s.cov[0 * 8 + 4], 0.0);

  rv_kf_predict(&p, &s);
  /* P' = F P F^T + Q, Q = diag((h/20)^2, ..., (h/160)^2) = 16 and 0.25 */
  NEAR(s.mean[0], 100.0);
  NEAR(s.cov[0 * 8 + 0], 64.0 + 25.0 + 16.0);
  NEAR(s.cov[0 * 8 + 4], 25.0);
  NEAR(s.cov[4 * 8 + 0], 25.0);
  NEAR(s.cov[4 * 8 + 4], 25.25);
  NEAR(s.cov[2 * 8 + 2], 1e-4 + 1e-10 + 1e-4);
  NEAR(s.cov[0 * 8 + 1], 0.0);

  double z1[4] = {104, 50, 0.5, 80};
  assert_int_equal(rv_kf_update(&p, &s, z1), RV_OK);
  /* S = 105 + (h/20)^2 = 121; K = (105, 25) / 121 on the (x, vx) pair; innovation 4 */
  NEAR(s.mean[0], 100.0 + 4.0 * 105.0 / 121.0);
  NEAR(s.mean[4], 4.0 * 25.0 / 121.0);
  NEAR(s.mean[1], 50.0);
  NEAR(s.cov[0 * 8 + 0], 105.0 * 16.0 / 121.0);
  NEAR(s.cov[0 * 8 + 4], 25.0 * 16.0 / 121.0);
  NEAR(s.cov[4 * 8 + 4], 25.25 - 625.0 / 121.0);
  /* symmetric, and y's pair is untouched by x's innovation */
  NEAR(s.cov[4 * 8 + 0], s.cov[0 * 8 + 4]);
  NEAR(s.cov[1 * 8 + 1], 105.0 * 16.0 / 121.0);

  rv_kf_predict(&p, &s);
  NEAR(s.mean[0], 100.0 + 4.0 * 105.0 / 121.0 + 4.0 * 25.0 / 121.0);
  double pxx = 105.0 * 16.0 / 121.0, pxv = 25.0 * 16.0 / 121.0, pvv = 25.25 - 625.0 / 121.0;
  NEAR(s.cov[0 * 8 + 0], pxx + 2 * pxv + pvv + 16.0);
  NEAR(s.cov[0 * 8 + 4], pxv + pvv);
}

/* A constant-velocity object is followed: after a few updates the velocity is learnt. */
static void test_kalman_follows_motion(void **state) {
  (void)state;
  rv_kf_params p = rv_kf_default_params();
  rv_kf_state s;
  double z[4] = {0, 0, 0.4, 100};
  rv_kf_initiate(&p, z, &s);
  for (int f = 1; f <= 60; f++) {
    rv_kf_predict(&p, &s);
    z[0] = 5.0 * f;
    z[1] = -2.0 * f;
    assert_int_equal(rv_kf_update(&p, &s, z), RV_OK);
  }
  assert_true(fabs(s.mean[4] - 5.0) < 0.05);
  assert_true(fabs(s.mean[5] + 2.0) < 0.05);
  rv_kf_state bad = s;
  bad.mean[3] = 0;
  for (int i = 0; i < 64; i++)
    bad.cov[i] = 0;
  assert_int_equal(rv_kf_update(&p, &bad, z), RV_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_kalman_hand_steps),
                                     cmocka_unit_test(test_kalman_follows_motion)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
