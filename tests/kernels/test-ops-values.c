/* Each op on known inputs against values computed by hand (or by the closed form in
 * double), on every CPU backend. */
#include <math.h>
#include <string.h>

#include "rv-test.h"

static rv_backend *backends[2];

static int setup(void **state) {
  (void)state;
  rv_backend_cfg ref = {RV_BACKEND_CPU_REF, 1, 0}, cpu = {RV_BACKEND_CPU, 2, 0};
  if (rv_backend_init(&ref, &backends[0]) || rv_backend_init(&cpu, &backends[1])) return -1;
  return 0;
}

static int teardown(void **state) {
  (void)state;
  rv_backend_free(backends[0]);
  rv_backend_free(backends[1]);
  return 0;
}

static void assert_near(float got, double want, double tol, const char *what, rv_backend *be) {
  if (!(fabs(got - want) <= tol))
    fail_msg("%s on %s: got %.9g, want %.9g (tolerance %g)", what, rv_backend_name(be), got, want, tol);
}

static void test_gemm_values(void **state) {
  (void)state;
  float a[6] = {1, 2, 3, 4, 5, 6};          /* [2, 3] */
  float b[6] = {1, 0, -1, 2, 0.5f, 1};      /* [3, 2] */
  float bias[2] = {0.5f, -1};
  for (int i = 0; i < 2; i++) {
    rv_backend *be = backends[i];
    float c[4] = {10, 20, 30, 40};
    rv_tensor ta = rv_tensor_2d(a, RV_F32, 2, 3), tb = rv_tensor_2d(b, RV_F32, 3, 2);
    rv_tensor tc = rv_tensor_2d(c, RV_F32, 2, 2), tbias = rv_tensor_1d(bias, RV_F32, 2);
    /* a b = [[0.5, 7], [2, 16]] ; + bias ; + 1 * old c */
    rv_gemm_params p = {0, 0, 1.0f, 1.0f, RV_ACT_NONE};
    assert_int_equal(rv_gemm(be, &ta, &tb, &tbias, &tc, &p), RV_OK);
    const double want[4] = {10 + 0.5 + 0.5, 20 + 7 - 1, 30 + 2 + 0.5, 40 + 16 - 1};
    for (int e = 0; e < 4; e++) assert_near(c[e], want[e], 1e-5, "gemm", be);
    /* act(2 * a b) with gelu erf, beta 0: gelu(1) = 0.841344746, gelu(14) = 14 */
    rv_gemm_params g = {0, 0, 2.0f, 0.0f, RV_ACT_GELU_ERF};
    assert_int_equal(rv_gemm(be, &ta, &tb, NULL, &tc, &g), RV_OK);
    assert_near(c[0], 0.841344746, 2e-6, "gemm gelu", be);
    assert_near(c[1], 14.0, 1e-5, "gemm gelu", be);
    /* a^T used through trans_a: a stored [2,3] is op(a) [3,2]; op(a) b^T... use b as [2,3]^T */
    float c9[9];
    rv_tensor t9 = rv_tensor_2d(c9, RV_F32, 3, 3);
    rv_tensor tb23 = rv_tensor_2d(b, RV_F32, 2, 3); /* b reinterpreted [2, 3] */
    rv_gemm_params t = {1, 0, 1.0f, 0.0f, RV_ACT_NONE};
    assert_int_equal(rv_gemm(be, &ta, &tb23, NULL, &t9, &t), RV_OK);
    /* (a^T b23)[i][j] = sum_k a[k][i] b23[k][j]; b23 = [[1,0,-1],[2,0.5,1]] */
    assert_near(c9[0], 1 * 1 + 4 * 2, 1e-5, "gemm trans_a", be);
    assert_near(c9[5], 2 * -1 + 5 * 1, 1e-5, "gemm trans_a", be);
  }
}

static void test_layernorm_values(void **state) {
  (void)state;
  float x[4] = {1, 2, 3, 4}, g[4] = {1, 1, 2, 1}, bt[4] = {0, 0, 0, 1}, y[4];
  for (int i = 0; i < 2; i++) {
    rv_tensor tx = rv_tensor_2d(x, RV_F32, 1, 4), ty = rv_tensor_2d(y, RV_F32, 1, 4);
    rv_tensor tg = rv_tensor_1d(g, RV_F32, 4), tb = rv_tensor_1d(bt, RV_F32, 4);
    assert_int_equal(rv_layernorm(backends[i], &tx, &tg, &tb, 0.0f, &ty), RV_OK);
    double s = 1.0 / sqrt(1.25); /* mean 2.5, variance 1.25 */
    assert_near(y[0], -1.5 * s, 1e-6, "layernorm", backends[i]);
    assert_near(y[2], 2 * 0.5 * s, 1e-6, "layernorm", backends[i]);
    assert_near(y[3], 1.5 * s + 1, 1e-6, "layernorm", backends[i]);
  }
}

static void test_gelu_values(void **state) {
  (void)state;
  const float x[5] = {-3, -1, 0, 1, 2};
  const double erf_want[5] = {-0.00404969754, -0.158655254, 0, 0.841344746, 1.95449974};
  const double tanh_want[5] = {-0.00363739208, -0.158808009, 0, 0.841191991, 1.95459769};
  for (int i = 0; i < 2; i++) {
    float y[5];
    rv_tensor tx = rv_tensor_2d((void *)x, RV_F32, 1, 5), ty = rv_tensor_2d(y, RV_F32, 1, 5);
    assert_int_equal(rv_gelu(backends[i], &tx, &ty, RV_ACT_GELU_ERF), RV_OK);
    for (int e = 0; e < 5; e++) assert_near(y[e], erf_want[e], 2e-6, "gelu erf", backends[i]);
    assert_int_equal(rv_gelu(backends[i], &tx, &ty, RV_ACT_GELU_TANH), RV_OK);
    for (int e = 0; e < 5; e++) assert_near(y[e], tanh_want[e], 2e-6, "gelu tanh", backends[i]);
  }
}

static void test_softmax_values(void **state) {
  (void)state;
  float x[6] = {1, 2, 3, -INFINITY, 0, -INFINITY}, y[6];
  for (int i = 0; i < 2; i++) {
    rv_tensor tx = rv_tensor_2d(x, RV_F32, 2, 3), ty = rv_tensor_2d(y, RV_F32, 2, 3);
    assert_int_equal(rv_softmax(backends[i], &tx, 1.0f, &ty), RV_OK);
    assert_near(y[0], 0.0900305732, 1e-6, "softmax", backends[i]);
    assert_near(y[1], 0.244728471, 1e-6, "softmax", backends[i]);
    assert_near(y[2], 0.665240956, 1e-6, "softmax", backends[i]);
    assert_near(y[3], 0.0, 0.0, "softmax masked", backends[i]);
    assert_near(y[4], 1.0, 1e-6, "softmax masked", backends[i]);
  }
}

static void test_add_broadcast_values(void **state) {
  (void)state;
  float a[6] = {1, 2, 3, 4, 5, 6}, b[2] = {10, 20}, y[6];
  for (int i = 0; i < 2; i++) {
    rv_tensor ta = rv_tensor_2d(a, RV_F32, 3, 2), tb = rv_tensor_2d(b, RV_F32, 1, 2);
    rv_tensor ty = rv_tensor_2d(y, RV_F32, 3, 2);
    assert_int_equal(rv_add(backends[i], &ta, &tb, &ty), RV_OK);
    const float want[6] = {11, 22, 13, 24, 15, 26};
    for (int e = 0; e < 6; e++) assert_near(y[e], want[e], 0, "add", backends[i]);
  }
}

/* A 2-frame 2x4 RGB image with value = 100 f + 10 (y * 4 + x) + c; patch 2, tubelet 2. */
static void test_patchify_values(void **state) {
  (void)state;
  uint8_t img[2 * 2 * 4 * 3];
  for (int f = 0; f < 2; f++)
    for (int y = 0; y < 2; y++)
      for (int x = 0; x < 4; x++)
        for (int c = 0; c < 3; c++) img[((f * 2 + y) * 4 + x) * 3 + c] = (uint8_t)(100 * f + 10 * (y * 4 + x) + c);
  const float mean[3] = {0, 0, 0}, std[3] = {1.0f / 255, 1.0f / 255, 1.0f / 255};
  for (int i = 0; i < 2; i++) {
    float tok[2 * 24];
    rv_tensor tf = rv_tensor_4d(img, RV_U8, 2, 2, 4, 3), tt = rv_tensor_2d(tok, RV_F32, 2, 24);
    assert_int_equal(rv_patchify(backends[i], &tf, mean, std, 2, 2, &tt), RV_OK);
    /* token 1 is the right patch (x 2..3); feature (c, t, y, x) = c*8 + t*4 + y*2 + x */
    for (int c = 0; c < 3; c++)
      for (int t = 0; t < 2; t++)
        for (int y = 0; y < 2; y++)
          for (int x = 0; x < 2; x++) {
            double want = 100 * t + 10 * (y * 4 + 2 + x) + c;
            assert_near(tok[24 + c * 8 + t * 4 + y * 2 + x], want, 1e-3, "patchify", backends[i]);
          }
  }
}

/* One query, two keys: weights are a softmax of the two scores. */
static void test_attention_values(void **state) {
  (void)state;
  float q[2] = {1, 0}, k[4] = {2, 0, 0, 1}, v[4] = {1, 2, 3, 4}, o[2], lse[1];
  for (int i = 0; i < 2; i++) {
    rv_tensor tq = rv_tensor_3d(q, RV_F32, 1, 1, 2), tk = rv_tensor_3d(k, RV_F32, 2, 1, 2);
    rv_tensor tv = rv_tensor_3d(v, RV_F32, 2, 1, 2), to = rv_tensor_3d(o, RV_F32, 1, 1, 2);
    rv_tensor tl = rv_tensor_2d(lse, RV_F32, 1, 1);
    rv_attn_params p = {0.5f, RV_MASK_NONE, 0, 0, 0, 0};
    assert_int_equal(rv_attention(backends[i], &tq, &tk, &tv, &p, &to, &tl), RV_OK);
    double s0 = 1.0, s1 = 0.0; /* 0.5 * q.k */
    double w0 = exp(s0) / (exp(s0) + exp(s1));
    assert_near(o[0], w0 * 1 + (1 - w0) * 3, 1e-6, "attention", backends[i]);
    assert_near(o[1], w0 * 2 + (1 - w0) * 4, 1e-6, "attention", backends[i]);
    assert_near(lse[0], log(exp(s0) + exp(s1)), 1e-6, "attention lse", backends[i]);
    /* frame-causal, 1 token per frame, query at position 0 and keys at 1, 2: nothing visible */
    rv_attn_params c = {0.5f, RV_MASK_CAUSAL, 0, 1, 0, 1};
    assert_int_equal(rv_attention(backends[i], &tq, &tk, &tv, &c, &to, &tl), RV_OK);
    assert_near(o[0], 0.0, 0.0, "masked output", backends[i]);
    assert_true(isinf(lse[0]) && lse[0] < 0);
    /* query at position 1 sees only the key at position 1 */
    c.q_pos0 = 1;
    assert_int_equal(rv_attention(backends[i], &tq, &tk, &tv, &c, &to, &tl), RV_OK);
    assert_near(o[0], 1.0, 1e-6, "causal output", backends[i]);
    assert_near(lse[0], s0, 1e-6, "causal lse", backends[i]);
  }
}

static void test_merge_values(void **state) {
  (void)state;
  for (int i = 0; i < 2; i++) {
    float oa[2] = {1, 2}, la[2] = {0, -INFINITY}, ob[2] = {3, 4}, lb[2] = {log(3.0f), 1};
    rv_tensor toa = rv_tensor_3d(oa, RV_F32, 2, 1, 1), tla = rv_tensor_2d(la, RV_F32, 1, 2);
    rv_tensor tob = rv_tensor_3d(ob, RV_F32, 2, 1, 1), tlb = rv_tensor_2d(lb, RV_F32, 1, 2);
    assert_int_equal(rv_attn_merge(backends[i], &toa, &tla, &tob, &tlb), RV_OK);
    assert_near(oa[0], (1 * 1 + 3 * 3) / 4.0, 1e-6, "merge", backends[i]); /* weights 1 : 3 */
    assert_near(la[0], log(4.0), 1e-6, "merge lse", backends[i]);
    assert_near(oa[1], 4.0, 1e-6, "merge from empty", backends[i]);
    assert_near(la[1], 1.0, 1e-6, "merge lse from empty", backends[i]);
  }
}

static void test_mask_bounds(void **state) {
  (void)state;
  int64_t lo, hi;
  rv_mask_bounds(RV_MASK_WINDOW, 3, &lo, &hi);
  assert_true(lo == 0 && hi == 2);
  rv_mask_bounds(RV_MASK_BAND, 3, &lo, &hi);
  assert_true(lo == -2 && hi == 2);
  rv_attn_params p = {1.0f, RV_MASK_CAUSAL, 0, 10, 0, 100}; /* q frames 0..4, k frames 10.. */
  assert_false(rv_attn_block_visible(&p, 50, 50));
  p.q_pos0 = 100;
  assert_true(rv_attn_block_visible(&p, 1, 50));
  p.mask = RV_MASK_WINDOW;
  p.window = 2;
  p.q_pos0 = 400; /* frame 40 vs keys 10..14 */
  assert_false(rv_attn_block_visible(&p, 10, 50));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_values),      cmocka_unit_test(test_layernorm_values),
      cmocka_unit_test(test_gelu_values),      cmocka_unit_test(test_softmax_values),
      cmocka_unit_test(test_add_broadcast_values), cmocka_unit_test(test_patchify_values),
      cmocka_unit_test(test_attention_values), cmocka_unit_test(test_merge_values),
      cmocka_unit_test(test_mask_bounds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
