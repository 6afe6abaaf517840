/* Status codes, per-thread error context, logging, tensor views, dtype conversions, arena. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "rv-test.h"

static void test_status_strings(void **state) {
  (void)state;
  assert_string_equal(rv_status_str(RV_OK), "ok");
  assert_string_equal(rv_status_str(RV_EOF), "end of stream");
  for (int s = RV_ERR_INTERNAL; s <= RV_AGAIN; s++) {
    const char *txt = rv_status_str((rv_status)s);
    assert_non_null(txt);
    assert_string_not_equal(txt, "unknown status");
  }
  assert_string_equal(rv_status_str((rv_status)-999), "unknown status");
}

static rv_status failing_helper(int n) { return RV_FAIL(RV_ERR_INVALID, "n must be > 0, got %d", n); }

static rv_status uses_try(void) {
  rv_status st = RV_OK;
  RV_TRY(failing_helper(-3));
  return RV_ERR_INTERNAL; /* not reached */
fail:
  return st;
}

static void test_error_context(void **state) {
  (void)state;
  rv_clear_error();
  assert_string_equal(rv_last_error(), "");
  assert_int_equal(uses_try(), RV_ERR_INVALID);
  const char *msg = rv_last_error();
  assert_non_null(strstr(msg, "test-core.c:"));
  assert_non_null(strstr(msg, "failing_helper"));
  assert_non_null(strstr(msg, "n must be > 0, got -3"));
  assert_int_equal(rv_last_error_status(), RV_ERR_INVALID);
  rv_clear_error();
  assert_int_equal(rv_last_error_status(), RV_OK);
}

static void *other_thread(void *arg) {
  (void)arg;
  (void)RV_FAIL(RV_ERR_IO, "thread-local message");
  return NULL;
}

static void test_error_is_per_thread(void **state) {
  (void)state;
  rv_clear_error();
  (void)RV_FAIL(RV_ERR_SHAPE, "main thread message");
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, other_thread, NULL), 0);
  pthread_join(t, NULL);
  assert_non_null(strstr(rv_last_error(), "main thread message"));
  assert_int_equal(rv_last_error_status(), RV_ERR_SHAPE);
}

typedef struct {
  int calls;
  rv_log_level last;
  char msg[256];
} log_capture;

static void capture(rv_log_level level, const char *msg, void *user) {
  log_capture *c = user;
  c->calls++;
  c->last = level;
  snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_logging_levels_and_sink(void **state) {
  (void)state;
  log_capture cap = {0};
  rv_log_level saved = rv_log_get_level();
  rv_log_set_callback(capture, &cap);
  rv_log_set_level(RV_LOG_WARN);
  RV_LOG_I("hidden %d", 1);
  assert_int_equal(cap.calls, 0);
  RV_LOG_W("shown %d", 2);
  assert_int_equal(cap.calls, 1);
  assert_int_equal(cap.last, RV_LOG_WARN);
  assert_string_equal(cap.msg, "shown 2");
  rv_log_set_level(RV_LOG_OFF);
  RV_LOG_E("off");
  assert_int_equal(cap.calls, 1);
  rv_log_set_callback(NULL, NULL);
  rv_log_set_level(saved);
}

static void test_tensor_views(void **state) {
  (void)state;
  float buf[24];
  rv_tensor t = rv_tensor_3d(buf, RV_F32, 2, 3, 4);
  assert_int_equal(rv_tensor_nelem(&t), 24);
  assert_int_equal(t.stride[0], 12);
  assert_int_equal(t.stride[1], 4);
  assert_true(rv_tensor_is_contiguous(&t));
  assert_int_equal(rv_tensor_span_bytes(&t), 96);
  rv_tensor strided = rv_tensor_2d(buf, RV_F32, 3, 4);
  strided.stride[0] = 8; /* every other row of an [6, 4] buffer */
  assert_false(rv_tensor_is_contiguous(&strided));
  assert_int_equal(rv_tensor_span_bytes(&strided), (2 * 8 + 4) * 4);
  assert_ptr_equal(rv_tensor_row(&strided, 2), buf + 16);
  char d[64];
  assert_string_equal(rv_tensor_describe(&t, d, sizeof d), "[2, 3, 4] f32");
  assert_int_equal(rv_dtype_size(RV_BF16), 2);
  assert_int_equal(rv_dtype_size(RV_U8), 1);
}

static void test_half_conversions(void **state) {
  (void)state;
  /* exactly representable values round-trip */
  const float f16_exact[] = {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 65504.0f, 6.103515625e-05f};
  for (size_t i = 0; i < sizeof f16_exact / sizeof *f16_exact; i++)
    assert_true(rv_f16_to_f32(rv_f32_to_f16(f16_exact[i])) == f16_exact[i]);
  const float bf16_exact[] = {0.0f, -0.0f, 1.0f, -2.5f, 0.15625f, 65536.0f, 6.103515625e-05f};
  for (size_t i = 0; i < sizeof bf16_exact / sizeof *bf16_exact; i++)
    assert_true(rv_bf16_to_f32(rv_f32_to_bf16(bf16_exact[i])) == bf16_exact[i]);
  assert_int_equal(rv_f32_to_bf16(1.0f), 0x3f80);
  assert_int_equal(rv_f32_to_f16(1.0f), 0x3c00);
  /* round to nearest even: 1 + 2^-8 is halfway between two bf16 values */
  assert_int_equal(rv_f32_to_bf16(1.00390625f), 0x3f80);
  assert_int_equal(rv_f32_to_bf16(1.01171875f), 0x3f82);
  /* f16 subnormals, overflow, specials */
  assert_true(rv_f16_to_f32(0x0001) == ldexpf(1.0f, -24));
  assert_int_equal(rv_f32_to_f16(ldexpf(1.0f, -24)), 0x0001);
  assert_int_equal(rv_f32_to_f16(1e6f), 0x7c00);
  assert_int_equal(rv_f32_to_f16(-INFINITY), 0xfc00);
  assert_true(isnan(rv_f16_to_f32(rv_f32_to_f16(NAN))));
  assert_true(isnan(rv_bf16_to_f32(rv_f32_to_bf16(NAN))));
  assert_true(isinf(rv_bf16_to_f32(rv_f32_to_bf16(INFINITY))));
  /* relative error bounds over a sweep */
  for (float x = -1000.0f; x < 1000.0f; x += 0.37f) {
    float b = rv_bf16_to_f32(rv_f32_to_bf16(x)), h = rv_f16_to_f32(rv_f32_to_f16(x));
    assert_true(fabsf(b - x) <= fabsf(x) * 0.00391f + 1e-30f);
    assert_true(fabsf(h - x) <= fabsf(x) * 0.000489f + 6e-8f);
  }
}

static void test_arena(void **state) {
  (void)state;
  rv_backend *be = NULL;
  rv_backend_cfg cfg = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&cfg, &be), RV_OK);
  rv_arena *a = NULL;
  assert_int_equal(rv_arena_init(be, 1000, &a), RV_OK);
  assert_int_equal(rv_arena_capacity(a), 1024);
  void *p1, *p2;
  assert_int_equal(rv_arena_alloc(a, 10, &p1), RV_OK);
  assert_int_equal((uintptr_t)p1 % RV_ARENA_ALIGN, 0);
  size_t mark = rv_arena_mark(a);
  assert_int_equal(mark, 256);
  int64_t shape[2] = {4, 32};
  rv_tensor t;
  assert_int_equal(rv_arena_tensor(a, RV_F32, 2, shape, &t), RV_OK);
  assert_int_equal(t.shape[1], 32);
  assert_int_equal(rv_arena_used(a), 768);
  assert_int_equal(rv_arena_alloc(a, 300, &p2), RV_ERR_NOMEM);
  assert_non_null(strstr(rv_last_error(), "arena full"));
  rv_arena_reset(a, mark);
  assert_int_equal(rv_arena_used(a), 256);
  assert_int_equal(rv_arena_peak(a), 768);
  assert_int_equal(rv_arena_alloc(a, 700, &p2), RV_OK);
  int64_t neg[1] = {-1};
  assert_int_equal(rv_arena_tensor(a, RV_F32, 1, neg, &t), RV_ERR_INVALID);
  rv_arena_free(a);
  rv_arena_free(NULL);
  rv_backend_free(be);
}

static void test_backend_registry(void **state) {
  (void)state;
  rv_backend_kind k;
  assert_int_equal(rv_backend_kind_parse("cpu", &k), RV_OK);
  assert_int_equal(k, RV_BACKEND_CPU);
  assert_int_equal(rv_backend_kind_parse("tpu", &k), RV_ERR_INVALID);
  assert_non_null(strstr(rv_last_error(), "unknown backend 'tpu'"));
  assert_true(rv_backend_available(RV_BACKEND_CPU_REF));
  assert_true(rv_backend_available(RV_BACKEND_CPU));
  rv_backend *be = NULL;
  rv_backend_cfg cfg = {RV_BACKEND_CPU, 3, 0};
  assert_int_equal(rv_backend_init(&cfg, &be), RV_OK);
  assert_int_equal(rv_backend_threads(be), 3);
  assert_string_equal(rv_backend_name(be), "cpu");
  assert_int_equal(rv_backend_act_dtype(be), RV_F32);
  rv_backend_free(be);
  rv_backend_cfg bad = {RV_BACKEND_CPU, -1, 0};
  assert_int_equal(rv_backend_init(&bad, &be), RV_ERR_INVALID);
  rv_backend_cfg cuda = {RV_BACKEND_CUDA, 0, 0};
  if (!rv_backend_available(RV_BACKEND_CUDA)) {
    assert_true(rv_backend_init(&cuda, &be) < 0); /* a clear error, not a crash */
    assert_true(strlen(rv_last_error()) > 0);
  }
  rv_backend_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_strings),    cmocka_unit_test(test_error_context),
      cmocka_unit_test(test_error_is_per_thread), cmocka_unit_test(test_logging_levels_and_sink),
      cmocka_unit_test(test_tensor_views),      cmocka_unit_test(test_half_conversions),
      cmocka_unit_test(test_arena),             cmocka_unit_test(test_backend_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
