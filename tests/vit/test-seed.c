/* The seed builder: its defaults and output_size, shapes, values against the PyTorch mirror
 * (goldens by vit/train/goldens.py, with and without the input projection),
 * and bad input refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/seed.h>

#include "rv-test.h"
#include "safetensors-impl.h"

static rv_backend *backend(rv_backend_kind kind) {
  rv_backend *be = NULL;
  rv_backend_cfg bc = {kind, 2, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  return be;
}

static void test_defaults(void **s) {
  (void)s;
  rv_seed_cfg c = rv_seed_defaults(288);
  assert_int_equal(c.embed_dim, 288);
  assert_int_equal(c.hidden_size, 256);
  assert_int_equal(c.num_heads, 4);
  assert_int_equal(c.num_chunks, 4);
  assert_int_equal(c.num_layers, 4);
  assert_float_equal(c.dropout, 0.1f, 1e-7f);
  assert_int_equal(c.window_size, 60);
  assert_int_equal(rv_seed_output_size(&c), 256);
  c.hidden_size = 96;
  assert_int_equal(rv_seed_output_size(&c), 96);
}

static void test_build_shapes(void **s) {
  (void)s;
  rv_backend *be = backend(RV_BACKEND_CPU);
  rv_seed_cfg c = rv_seed_defaults(288);
  rv_seed *m = NULL;
  assert_int_equal(rv_seed_build(&c, 7, be, 2, &m), RV_OK);
  static float x[2 * 60 * 288], y[2 * 256];
  rv_rng rng;
  rv_rng_seed(&rng, 3);
  rv_fill_normal(&rng, x, sizeof x / sizeof x[0], 1.0f);
  rv_tensor tx = rv_tensor_3d(x, RV_F32, 2, 60, 288), ty = rv_tensor_2d(y, RV_F32, 2, 256);
  assert_int_equal(rv_seed_forward(m, &tx, &ty), RV_OK);
  /* final LayerNorm with unit gain and zero bias: each row has mean 0 and variance 1 */
  for (int b = 0; b < 2; b++) {
    double mean = 0, var = 0;
    for (int i = 0; i < 256; i++)
      mean += y[b * 256 + i];
    mean /= 256;
    for (int i = 0; i < 256; i++)
      var += (y[b * 256 + i] - mean) * (y[b * 256 + i] - mean);
    assert_true(fabs(mean) < 1e-4 && fabs(var / 256 - 1.0) < 1e-2);
  }
  /* bad shapes: wrong embed, seq not a multiple of num_chunks, seq past window, batch too big */
  rv_tensor bad = rv_tensor_3d(x, RV_F32, 2, 60, 287);
  assert_int_equal(rv_seed_forward(m, &bad, &ty), RV_ERR_SHAPE);
  bad = rv_tensor_3d(x, RV_F32, 2, 58, 288);
  assert_int_equal(rv_seed_forward(m, &bad, &ty), RV_ERR_SHAPE);
  bad = rv_tensor_3d(x, RV_F32, 1, 64, 288);
  assert_int_equal(rv_seed_forward(m, &bad, &ty), RV_ERR_SHAPE);
  bad = rv_tensor_3d(x, RV_F32, 3, 4, 288);
  assert_int_equal(rv_seed_forward(m, &bad, &ty), RV_ERR_SHAPE);
  rv_seed_free(m);
  c.embed_dim = 0;
  assert_int_equal(rv_seed_build(&c, 7, be, 2, &m), RV_ERR_INVALID);
  c = rv_seed_defaults(16);
  c.hidden_size = 30; /* not a multiple of 4 heads */
  assert_int_equal(rv_seed_build(&c, 7, be, 2, &m), RV_ERR_INVALID);
  assert_null(m);
  rv_seed_free(NULL);
  rv_backend_free(be);
}

static void golden_case(const char *name, rv_backend_kind kind) {
  char rel[128], path[512];
  rv_backend *be = backend(kind);
  rv_seed *m = NULL;
  snprintf(rel, sizeof rel, "tests/data/vit/%s.model.safetensors", name);
  if (rv_seed_load(rv_test_source_path(rel, path, sizeof path), be, 4, &m) != RV_OK)
    fail_msg("%s", rv_last_error());
  snprintf(rel, sizeof rel, "tests/data/vit/%s.golden.safetensors", name);
  rv_st_map *g = NULL;
  assert_int_equal(rv_st_map_open(rv_test_source_path(rel, path, sizeof path), &g), RV_OK);
  const rv_st_entry *ex = rv_st_find(g->st, "input.x"), *ey = rv_st_find(g->st, "out.y");
  assert_non_null(ex);
  assert_non_null(ey);
  const rv_seed_cfg *c = rv_seed_config(m);
  assert_int_equal(ey->shape[1], rv_seed_output_size(c));
  float *x = malloc((size_t)rv_st_nelem(ex) * 4), *want = malloc((size_t)rv_st_nelem(ey) * 4);
  float *got = malloc((size_t)rv_st_nelem(ey) * 4);
  assert_int_equal(rv_st_to_f32(ex, x, rv_st_nelem(ex)), RV_OK);
  assert_int_equal(rv_st_to_f32(ey, want, rv_st_nelem(ey)), RV_OK);
  rv_tensor tx = rv_tensor_3d(x, RV_F32, ex->shape[0], ex->shape[1], ex->shape[2]);
  rv_tensor ty = rv_tensor_2d(got, RV_F32, ey->shape[0], ey->shape[1]);
  if (rv_seed_forward(m, &tx, &ty) != RV_OK) fail_msg("%s", rv_last_error());
  size_t n = (size_t)rv_st_nelem(ey);
  rv_cmp cmp = rv_compare(got, want, n, rv_rms(want, n));
  rv_assert_close(name, &cmp, 1e-8, 1e-4);
  free(x);
  free(want);
  free(got);
  rv_st_map_close(g);
  rv_seed_free(m);
  rv_backend_free(be);
}

static void test_golden(void **s) {
  (void)s;
  for (rv_backend_kind k = RV_BACKEND_CPU_REF; k <= RV_BACKEND_CPU; k++) {
    golden_case("seed-proj", k);
    golden_case("seed-short", k);
  }
}

static void test_load_refuses_vit(void **s) {
  (void)s;
  char path[512];
  rv_backend *be = backend(RV_BACKEND_CPU);
  rv_seed *m = NULL;
  rv_test_source_path("tests/data/vit/tv-vit.model.safetensors", path, sizeof path);
  assert_int_equal(rv_seed_load(path, be, 1, &m), RV_ERR_FORMAT);
  assert_null(m);
  rv_backend_free(be);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_build_shapes),
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_load_refuses_vit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
