/* The constant-velocity Kalman filter of SORT/DeepSORT/ByteTrack on (cx, cy, a, h): noise
 * scales with the box height, so one set of weights serves near and far objects. */
#include <math.h>
#include <string.h>

#include <ringvit/track.h>

rv_kf_params rv_kf_default_params(void) { return (rv_kf_params){1.0 / 20.0, 1.0 / 160.0}; }

void rv_kf_initiate(const rv_kf_params *p, const double meas[4], rv_kf_state *s) {
  memset(s, 0, sizeof *s);
  for (int i = 0; i < 4; i++)
    s->mean[i] = meas[i];
  double h = meas[3], wp = p->std_weight_position, wv = p->std_weight_velocity;
  double sd[8] = {2 * wp * h,  2 * wp * h,  1e-2, 2 * wp * h,
                  10 * wv * h, 10 * wv * h, 1e-5, 10 * wv * h};
  for (int i = 0; i < 8; i++)
    s->cov[i * 8 + i] = sd[i] * sd[i];
}

void rv_kf_predict(const rv_kf_params *p, rv_kf_state *s) {
  double h = s->mean[3], wp = p->std_weight_position, wv = p->std_weight_velocity;
  double sd[8] = {wp * h, wp * h, 1e-2, wp * h, wv * h, wv * h, 1e-5, wv * h};
  for (int i = 0; i < 4; i++)
    s->mean[i] += s->mean[i + 4];
  /* F P F^T with F = [[I, I], [0, I]]: rows then columns i += i + 4 for the position half */
  double *P = s->cov;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 8; j++)
      P[i * 8 + j] += P[(i + 4) * 8 + j];
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      P[i * 8 + j] += P[i * 8 + j + 4];
  for (int i = 0; i < 8; i++)
    P[i * 8 + i] += sd[i] * sd[i];
}

/* In-place Cholesky of a 4 x 4 SPD matrix (lower factor); 0 when not positive definite. */
static int chol4(double S[16]) {
  for (int j = 0; j < 4; j++) {
    double d = S[j * 4 + j];
    for (int k = 0; k < j; k++)
      d -= S[j * 4 + k] * S[j * 4 + k];
    if (!(d > 0)) return 0;
    S[j * 4 + j] = sqrt(d);
    for (int i = j + 1; i < 4; i++) {
      double v = S[i * 4 + j];
      for (int k = 0; k < j; k++)
        v -= S[i * 4 + k] * S[j * 4 + k];
      S[i * 4 + j] = v / S[j * 4 + j];
    }
  }
  return 1;
}

/* Solves L L^T x = b in place for one right-hand side. */
static void chol4_solve(const double L[16], double b[4]) {
  for (int i = 0; i < 4; i++) {
    for (int k = 0; k < i; k++)
      b[i] -= L[i * 4 + k] * b[k];
    b[i] /= L[i * 4 + i];
  }
  for (int i = 3; i >= 0; i--) {
    for (int k = i + 1; k < 4; k++)
      b[i] -= L[k * 4 + i] * b[k];
    b[i] /= L[i * 4 + i];
  }
}

rv_status rv_kf_update(const rv_kf_params *p, rv_kf_state *s, const double meas[4]) {
  double h = s->mean[3], wp = p->std_weight_position;
  double sd[4] = {wp * h, wp * h, 1e-1, wp * h};
  double S[16], L[16], K[32]; /* S = H P H^T + R; K = P H^T S^-1 (8 x 4) */
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      S[i * 4 + j] = s->cov[i * 8 + j] + (i == j ? sd[i] * sd[i] : 0.0);
  memcpy(L, S, sizeof L);
  if (!chol4(L))
    return RV_FAIL(RV_ERR_INVALID, "innovation covariance is not positive definite (h = %g)", h);
  for (int r = 0; r < 8; r++) { /* row r of K solves S k = (P H^T)[r]^T, S symmetric */
    double b[4] = {s->cov[r * 8 + 0], s->cov[r * 8 + 1], s->cov[r * 8 + 2], s->cov[r * 8 + 3]};
    chol4_solve(L, b);
    memcpy(&K[r * 4], b, sizeof b);
  }
  double innov[4];
  for (int i = 0; i < 4; i++)
    innov[i] = meas[i] - s->mean[i];
  for (int r = 0; r < 8; r++)
    for (int i = 0; i < 4; i++)
      s->mean[r] += K[r * 4 + i] * innov[i];
  /* P -= K S K^T, with K S = P H^T: P[r][c] -= sum_i (P H^T)[r][i] K[c][i] */
  double PHt[32];
  for (int r = 0; r < 8; r++)
    for (int i = 0; i < 4; i++)
      PHt[r * 4 + i] = s->cov[r * 8 + i];
  for (int r = 0; r < 8; r++)
    for (int c = 0; c < 8; c++) {
      double acc = 0;
      for (int i = 0; i < 4; i++)
        acc += PHt[r * 4 + i] * K[c * 4 + i];
      s->cov[r * 8 + c] -= acc;
    }
  return RV_OK;
}
