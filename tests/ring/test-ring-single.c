/* One-rank ring: blockwise attention over two local segments equals rv_attention over
 * the whole sequence, for every mask, and bad sequences are refused. */
#include <math.h>
#include <stdlib.h>

#include <ringvit/ring.h>

#include "rv-test.h"

enum { N = 150, H = 3, D = 16, TPF = 10 };

static void full_reference(rv_backend *be, const float *q, const float *k, const float *v,
                           rv_mask_kind mask, float *o) {
  static float lse[H * N];
  rv_tensor tq = rv_tensor_3d((void *)q, RV_F32, N, H, D),
            tk = rv_tensor_3d((void *)k, RV_F32, N, H, D);
  rv_tensor tv = rv_tensor_3d((void *)v, RV_F32, N, H, D), to = rv_tensor_3d(o, RV_F32, N, H, D);
  rv_tensor tl = rv_tensor_2d(lse, RV_F32, H, N);
  rv_attn_params p = {0.25f, mask, 4, TPF, 0, 0};
  assert_int_equal(rv_attention(be, &tq, &tk, &tv, &p, &to, &tl), RV_OK);
}

static void test_segments_equal_full(void **state) {
  (void)state;
  static float q[N * H * D], k[N * H * D], v[N * H * D], want[N * H * D], got[N * H * D];
  static float q2[N * H * D], k2[N * H * D], v2[N * H * D], got2[N * H * D];
  rv_rng rng;
  rv_rng_seed(&rng, 5);
  rv_fill_normal(&rng, q, N * H * D, 1.0f);
  rv_fill_normal(&rng, k, N * H * D, 1.0f);
  rv_fill_normal(&rng, v, N * H * D, 1.0f);
  rv_backend *be = NULL;
  rv_backend_cfg bc = {RV_BACKEND_CPU, 2, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  rv_ring *ring = NULL;
  rv_ring_cfg rc = {be, NULL, H, D, N};
  assert_int_equal(rv_ring_init(&rc, &ring), RV_OK);
  assert_int_equal(rv_ring_size(ring), 1);
  /* local rows stored as [70, 150) then [0, 70): the zigzag-style two-segment layout */
  enum { CUT = 70 };
  size_t row = H * D;
  for (int i = 0; i < N; i++) {
    int src = i < N - CUT ? CUT + i : i - (N - CUT);
    for (size_t c = 0; c < row; c++) {
      q2[i * row + c] = q[src * row + c];
      k2[i * row + c] = k[src * row + c];
      v2[i * row + c] = v[src * row + c];
    }
  }
  for (rv_mask_kind mask = RV_MASK_NONE; mask <= RV_MASK_BAND; mask++) {
    full_reference(be, q, k, v, mask, want);
    rv_ring_seq one = {0.25f, mask, 4, TPF, 1, {{0, N}, {0, 0}}};
    rv_tensor tq = rv_tensor_3d(q, RV_F32, N, H, D), tk = rv_tensor_3d(k, RV_F32, N, H, D);
    rv_tensor tv = rv_tensor_3d(v, RV_F32, N, H, D), to = rv_tensor_3d(got, RV_F32, N, H, D);
    assert_int_equal(rv_ring_attention(ring, &tq, &tk, &tv, &one, &to), RV_OK);
    rv_cmp c1 = rv_compare(got, want, N * H * D, 0.1 * rv_rms(want, N * H * D));
    rv_assert_close("one segment", &c1, 1e-11, 1e-5);

    rv_ring_seq two = {0.25f, mask, 4, TPF, 2, {{CUT, N - CUT}, {0, CUT}}};
    rv_tensor tq2 = rv_tensor_3d(q2, RV_F32, N, H, D), tk2 = rv_tensor_3d(k2, RV_F32, N, H, D);
    rv_tensor tv2 = rv_tensor_3d(v2, RV_F32, N, H, D), to2 = rv_tensor_3d(got2, RV_F32, N, H, D);
    assert_int_equal(rv_ring_attention(ring, &tq2, &tk2, &tv2, &two, &to2), RV_OK);
    for (int i = 0; i < N; i++) { /* undo the permutation */
      int dst = i < N - CUT ? CUT + i : i - (N - CUT);
      for (size_t c = 0; c < row; c++)
        got[dst * row + c] = got2[i * row + c];
    }
    rv_cmp c2 = rv_compare(got, want, N * H * D, 0.1 * rv_rms(want, N * H * D));
    rv_assert_close("two segments", &c2, 1e-11, 1e-5);
  }
  /* a sequence longer than the ring was sized for, and a bad segment count */
  rv_ring_seq big = {0.25f, RV_MASK_NONE, 0, 0, 1, {{0, N + 1}, {0, 0}}};
  rv_tensor tq = rv_tensor_3d(q, RV_F32, N, H, D);
  assert_int_equal(rv_ring_attention(ring, &tq, &tq, &tq, &big, &tq), RV_ERR_SHAPE);
  rv_ring_seq none = {0.25f, RV_MASK_NONE, 0, 0, 0, {{0, 0}, {0, 0}}};
  assert_int_equal(rv_ring_attention(ring, &tq, &tq, &tq, &none, &tq), RV_ERR_INVALID);
  rv_ring_free(ring);
  rv_backend_free(be);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_segments_equal_full)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
