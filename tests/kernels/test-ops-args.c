/* Bad arguments to every op return an error status with a message; nothing aborts and
 * nothing is written. */
#include <math.h>
#include <string.h>

#include "rv-test.h"

static rv_backend *be;

static int setup(void **state) {
  (void)state;
  rv_backend_cfg cfg = {RV_BACKEND_CPU, 1, 0};
  return rv_backend_init(&cfg, &be) == RV_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  rv_backend_free(be);
  return 0;
}

#define EXPECT_ERR(call, code)                                                        \
  do {                                                                                \
    rv_clear_error();                                                                 \
    rv_status st_ = (call);                                                           \
    if (st_ != (code))                                                                \
      fail_msg("%s returned %d (%s), expected %d", #call, st_, rv_status_str(st_), code); \
    assert_true(strlen(rv_last_error()) > 0);                                         \
  } while (0)

static float buf_a[64], buf_b[64], buf_c[64], buf_d[64];

static void test_gemm_args(void **state) {
  (void)state;
  rv_tensor a = rv_tensor_2d(buf_a, RV_F32, 2, 3), b = rv_tensor_2d(buf_b, RV_F32, 3, 4);
  rv_tensor c = rv_tensor_2d(buf_c, RV_F32, 2, 4), bias = rv_tensor_1d(buf_d, RV_F32, 4);
  assert_int_equal(rv_gemm(be, &a, &b, &bias, &c, &(rv_gemm_params){0, 0, 1.0f, 0.0f, RV_ACT_NONE}), RV_OK);
  rv_gemm_params p = {0, 0, 1.0f, 0.0f, RV_ACT_NONE};
  EXPECT_ERR(rv_gemm(NULL, &a, &b, NULL, &c, &p), RV_ERR_INVALID);
  EXPECT_ERR(rv_gemm(be, NULL, &b, NULL, &c, &p), RV_ERR_INVALID);
  EXPECT_ERR(rv_gemm(be, &a, &b, NULL, &c, NULL), RV_ERR_INVALID);
  rv_tensor b_bad = rv_tensor_2d(buf_b, RV_F32, 4, 3);
  EXPECT_ERR(rv_gemm(be, &a, &b_bad, NULL, &c, &p), RV_ERR_SHAPE);
  assert_non_null(strstr(rv_last_error(), "does not fit"));
  rv_tensor bias_bad = rv_tensor_1d(buf_d, RV_F32, 3);
  EXPECT_ERR(rv_gemm(be, &a, &b, &bias_bad, &c, &p), RV_ERR_SHAPE);
  rv_tensor a16 = a;
  a16.dtype = RV_BF16;
  EXPECT_ERR(rv_gemm(be, &a16, &b, NULL, &c, &p), RV_ERR_DTYPE);
  rv_tensor adev = a;
  adev.mem = RV_MEM_DEVICE;
  EXPECT_ERR(rv_gemm(be, &adev, &b, NULL, &c, &p), RV_ERR_INVALID);
  assert_non_null(strstr(rv_last_error(), "device memory"));
  rv_tensor a3 = rv_tensor_3d(buf_a, RV_F32, 1, 2, 3);
  EXPECT_ERR(rv_gemm(be, &a3, &b, NULL, &c, &p), RV_ERR_SHAPE);
  rv_tensor acol = a;
  acol.stride[1] = 2;
  EXPECT_ERR(rv_gemm(be, &acol, &b, NULL, &c, &p), RV_ERR_SHAPE);
  rv_tensor alias = rv_tensor_2d(buf_b, RV_F32, 2, 4);
  EXPECT_ERR(rv_gemm(be, &a, &b, NULL, &alias, &p), RV_ERR_INVALID);
  rv_gemm_params badact = {0, 0, 1.0f, 0.0f, (rv_act)9};
  EXPECT_ERR(rv_gemm(be, &a, &b, NULL, &c, &badact), RV_ERR_INVALID);
  rv_gemm_params nanalpha = {0, 0, NAN, 0.0f, RV_ACT_NONE};
  EXPECT_ERR(rv_gemm(be, &a, &b, NULL, &c, &nanalpha), RV_ERR_INVALID);
  rv_tensor nodata = a;
  nodata.data = NULL;
  EXPECT_ERR(rv_gemm(be, &nodata, &b, NULL, &c, &p), RV_ERR_INVALID);
}

static void test_elementwise_args(void **state) {
  (void)state;
  rv_tensor x = rv_tensor_2d(buf_a, RV_F32, 2, 4), y = rv_tensor_2d(buf_b, RV_F32, 2, 4);
  rv_tensor y_bad = rv_tensor_2d(buf_b, RV_F32, 4, 2), g = rv_tensor_1d(buf_c, RV_F32, 4);
  rv_tensor g_bad = rv_tensor_1d(buf_c, RV_F32, 3);
  EXPECT_ERR(rv_layernorm(be, &x, &g, NULL, 1e-5f, &y_bad), RV_ERR_SHAPE);
  EXPECT_ERR(rv_layernorm(be, &x, &g_bad, NULL, 1e-5f, &y), RV_ERR_SHAPE);
  EXPECT_ERR(rv_layernorm(be, &x, &g, &g_bad, 1e-5f, &y), RV_ERR_SHAPE);
  EXPECT_ERR(rv_layernorm(be, &x, NULL, NULL, 1e-5f, &y), RV_ERR_INVALID);
  EXPECT_ERR(rv_layernorm(be, &x, &g, NULL, -1.0f, &y), RV_ERR_INVALID);
  EXPECT_ERR(rv_gelu(be, &x, &y_bad, RV_ACT_GELU_ERF), RV_ERR_SHAPE);
  EXPECT_ERR(rv_gelu(be, &x, &y, RV_ACT_NONE), RV_ERR_INVALID);
  EXPECT_ERR(rv_softmax(be, &x, 1.0f, &y_bad), RV_ERR_SHAPE);
  EXPECT_ERR(rv_softmax(be, &x, INFINITY, &y), RV_ERR_INVALID);
  rv_tensor b3 = rv_tensor_2d(buf_c, RV_F32, 3, 4), b_cols = rv_tensor_2d(buf_c, RV_F32, 1, 3);
  EXPECT_ERR(rv_add(be, &x, &b3, &y), RV_ERR_SHAPE); /* 2 rows not a multiple of 3 */
  EXPECT_ERR(rv_add(be, &x, &b_cols, &y), RV_ERR_SHAPE);
  rv_tensor u8 = rv_tensor_2d(buf_a, RV_U8, 2, 4);
  EXPECT_ERR(rv_copy(be, &u8, &y), RV_ERR_DTYPE);
  EXPECT_ERR(rv_copy(be, &x, &y_bad), RV_ERR_SHAPE);
  EXPECT_ERR(rv_copy(be, NULL, &y), RV_ERR_INVALID);
}

static void test_patchify_args(void **state) {
  (void)state;
  static uint8_t frames[2 * 8 * 8 * 3];
  static float tokens[8 * 48];
  const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1}, zero_std[3] = {1, 0, 1};
  rv_tensor f = rv_tensor_4d(frames, RV_U8, 2, 8, 8, 3), t = rv_tensor_2d(tokens, RV_F32, 8, 48);
  assert_int_equal(rv_patchify(be, &f, mean, std, 4, 1, &t), RV_OK);
  EXPECT_ERR(rv_patchify(be, &f, mean, std, 3, 1, &t), RV_ERR_SHAPE); /* 8 % 3 */
  EXPECT_ERR(rv_patchify(be, &f, mean, std, 0, 1, &t), RV_ERR_INVALID);
  EXPECT_ERR(rv_patchify(be, &f, mean, zero_std, 4, 1, &t), RV_ERR_INVALID);
  EXPECT_ERR(rv_patchify(be, &f, NULL, std, 4, 1, &t), RV_ERR_INVALID);
  rv_tensor t_bad = rv_tensor_2d(tokens, RV_F32, 4, 48);
  EXPECT_ERR(rv_patchify(be, &f, mean, std, 4, 1, &t_bad), RV_ERR_SHAPE);
  rv_tensor f4 = rv_tensor_4d(frames, RV_U8, 2, 8, 6, 4);
  EXPECT_ERR(rv_patchify(be, &f4, mean, std, 2, 1, &t), RV_ERR_SHAPE);
  rv_tensor f16 = f;
  f16.dtype = RV_F16;
  EXPECT_ERR(rv_patchify(be, &f16, mean, std, 4, 1, &t), RV_ERR_DTYPE);
  rv_tensor f3 = rv_tensor_4d(frames, RV_U8, 3, 4, 8, 3);
  EXPECT_ERR(rv_patchify(be, &f3, mean, std, 4, 2, &t), RV_ERR_SHAPE); /* 3 frames, tubelet 2 */
}

static void test_attention_args(void **state) {
  (void)state;
  rv_tensor q = rv_tensor_3d(buf_a, RV_F32, 4, 2, 4), k = rv_tensor_3d(buf_b, RV_F32, 3, 2, 4);
  rv_tensor v = rv_tensor_3d(buf_c, RV_F32, 3, 2, 4), o = rv_tensor_3d(buf_d, RV_F32, 4, 2, 4);
  static float lse_buf[8];
  rv_tensor lse = rv_tensor_2d(lse_buf, RV_F32, 2, 4);
  rv_attn_params p = {0.5f, RV_MASK_NONE, 0, 0, 0, 0};
  assert_int_equal(rv_attention(be, &q, &k, &v, &p, &o, &lse), RV_OK);
  rv_tensor v_bad = rv_tensor_3d(buf_c, RV_F32, 2, 2, 4);
  EXPECT_ERR(rv_attention(be, &q, &k, &v_bad, &p, &o, &lse), RV_ERR_SHAPE);
  rv_tensor k_dim = rv_tensor_3d(buf_b, RV_F32, 3, 2, 3);
  EXPECT_ERR(rv_attention(be, &q, &k_dim, &k_dim, &p, &o, &lse), RV_ERR_SHAPE);
  rv_tensor lse_bad = rv_tensor_2d(lse_buf, RV_F32, 4, 2);
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &p, &o, &lse_bad), RV_ERR_SHAPE);
  rv_tensor q_heads = q;
  q_heads.stride[1] = 5;
  EXPECT_ERR(rv_attention(be, &q_heads, &k, &v, &p, &o, &lse), RV_ERR_SHAPE);
  rv_attn_params causal0 = {0.5f, RV_MASK_CAUSAL, 0, 0, 0, 0};
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &causal0, &o, &lse), RV_ERR_INVALID);
  rv_attn_params window0 = {0.5f, RV_MASK_WINDOW, 0, 1, 0, 0};
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &window0, &o, &lse), RV_ERR_INVALID);
  rv_attn_params badmask = {0.5f, (rv_mask_kind)7, 1, 1, 0, 0};
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &badmask, &o, &lse), RV_ERR_INVALID);
  rv_attn_params negpos = {0.5f, RV_MASK_CAUSAL, 0, 1, -5, 0};
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &negpos, &o, &lse), RV_ERR_INVALID);
  EXPECT_ERR(rv_attention(be, &q, &k, &v, NULL, &o, &lse), RV_ERR_INVALID);
  rv_tensor o_bf = o;
  o_bf.dtype = RV_BF16;
  EXPECT_ERR(rv_attention(be, &q, &k, &v, &p, &o_bf, &lse), RV_ERR_DTYPE);
  rv_tensor o2 = rv_tensor_3d(buf_d, RV_F32, 3, 2, 4);
  EXPECT_ERR(rv_attn_merge(be, &o, &lse, &o2, &lse), RV_ERR_SHAPE);
  EXPECT_ERR(rv_attn_merge(be, &o, NULL, &o, &lse), RV_ERR_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_args), cmocka_unit_test(test_elementwise_args),
      cmocka_unit_test(test_patchify_args), cmocka_unit_test(test_attention_args),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
