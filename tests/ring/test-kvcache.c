/* Ring KV cache, one rank: streaming frames through the cache and attending each frame's
 * queries equals recomputing frame-causal attention over the whole history (limited to
 * the capacity and window), before and after eviction, for several shapes; bad calls are
 * refused with clear errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/kvcache.h>

#include "rv-test.h"
#include "stream-case.h"

static rv_backend *cpu(void) {
  rv_backend *be = NULL;
  rv_backend_cfg bc = {RV_BACKEND_CPU, 1, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  return be;
}

static void run_case(const rv_stream_case *sc) {
  rv_backend *be = cpu();
  rv_stream_result res;
  rv_status st = rv_stream_case_run(sc, be, NULL, 0, 1, &res);
  if (st != RV_OK) fail_msg("%s: %s", sc->name, rv_last_error());
  rv_stream_result_assert(sc, &res, 1);
  rv_backend_free(be);
}

static void test_stream_equals_recompute(void **state) {
  (void)state;
  for (size_t i = 0; i < rv_stream_case_count; i++)
    run_case(&rv_stream_cases[i]);
}

static void test_counters_and_reset(void **state) {
  (void)state;
  rv_backend *be = cpu();
  rv_kvcache *c = NULL;
  rv_kvcache_cfg cfg = {be, NULL, 2, 2, 8, 3, 4};
  assert_int_equal(rv_kvcache_init(&cfg, &c), RV_OK);
  assert_int_equal(rv_kvcache_frames(c), 0);
  assert_int_equal(rv_kvcache_owner(c, 0), -1);
  assert_int_equal(rv_kvcache_bytes(c), 2 * 2 * rv_arena_round(4 * 3 * 2 * 8 * 4));
  static float kv[3 * 2 * 8];
  rv_tensor t = rv_tensor_3d(kv, RV_F32, 3, 2, 8);
  for (int f = 0; f < 6; f++)
    assert_int_equal(rv_kvcache_append(c, 0, &t, &t), RV_OK);
  assert_int_equal(rv_kvcache_frames(c), 4);
  assert_int_equal(rv_kvcache_layer_frames(c, 1), 0);
  assert_int_equal(rv_kvcache_appended(c, 0), 6);
  assert_int_equal(rv_kvcache_owner(c, 0), 0);
  assert_int_equal(rv_kvcache_layer_frames(c, 2), -1);
  rv_kvcache_reset(c);
  assert_int_equal(rv_kvcache_frames(c), 0);
  assert_int_equal(rv_kvcache_appended(c, 0), 0);
  rv_kvcache_free(c);
  rv_kvcache_free(NULL);
  rv_backend_free(be);
}

static void test_bad_calls(void **state) {
  (void)state;
  rv_backend *be = cpu();
  rv_kvcache *c = NULL;
  rv_kvcache_cfg bad = {be, NULL, 1, 2, 8, 3, 0};
  assert_int_equal(rv_kvcache_init(&bad, &c), RV_ERR_INVALID);
  assert_non_null(strstr(rv_last_error(), "capacity_frames"));
  assert_null(c);
  bad.capacity_frames = 4;
  bad.heads = 0;
  assert_int_equal(rv_kvcache_init(&bad, &c), RV_ERR_INVALID);
  assert_int_equal(rv_kvcache_init(NULL, &c), RV_ERR_INVALID);
  rv_kvcache_cfg cfg = {be, NULL, 1, 2, 8, 3, 4};
  assert_int_equal(rv_kvcache_init(&cfg, &c), RV_OK);
  static float buf[4 * 2 * 8];
  rv_tensor t3 = rv_tensor_3d(buf, RV_F32, 3, 2, 8), t4 = rv_tensor_3d(buf, RV_F32, 4, 2, 8);
  rv_tensor th = rv_tensor_3d(buf, RV_F32, 3, 1, 8), o = rv_tensor_3d(buf, RV_F32, 3, 2, 8);
  assert_int_equal(rv_kvcache_attend(c, 0, &t3, 0.3f, 0, &o), RV_ERR_INVALID); /* no frame */
  assert_non_null(strstr(rv_last_error(), "append before attend"));
  assert_int_equal(rv_kvcache_append(c, 1, &t3, &t3), RV_ERR_INVALID); /* bad layer */
  assert_int_equal(rv_kvcache_append(c, 0, &t4, &t3), RV_ERR_SHAPE);   /* not tpf rows */
  assert_int_equal(rv_kvcache_append(c, 0, &t3, &th), RV_ERR_SHAPE);   /* wrong heads */
  assert_int_equal(rv_kvcache_appended(c, 0), 0); /* refused appends change nothing */
  assert_int_equal(rv_kvcache_append(c, 0, &t3, &t3), RV_OK);
  assert_int_equal(rv_kvcache_attend(c, 0, &t4, 0.3f, 0, &o), RV_ERR_SHAPE); /* nq > tpf */
  assert_int_equal(rv_kvcache_attend(c, 0, &t3, 0.3f, -1, &o), RV_ERR_INVALID);
  rv_tensor o2 = rv_tensor_3d(buf, RV_F32, 2, 2, 8);
  assert_int_equal(rv_kvcache_attend(c, 0, &t3, 0.3f, 0, &o2), RV_ERR_SHAPE); /* rows differ */
  assert_int_equal(rv_kvcache_attend(NULL, 0, &t3, 0.3f, 0, &o), RV_ERR_INVALID);
  rv_kvcache_free(c);
  rv_backend_free(be);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stream_equals_recompute),
      cmocka_unit_test(test_counters_and_reset),
      cmocka_unit_test(test_bad_calls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
