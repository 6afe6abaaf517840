/* The encoder context's contract: pushing frames in several batches gives what one batch
 * gives, a frame-causal model's earlier frames do not change when later ones arrive, and
 * misuse is refused with an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/vit.h>

#include "rv-test.h"

typedef struct fixture {
  rv_model *m;
  rv_backend *be;
  rv_vit *v;
  float *tokens;
  rv_tensor tt;
} fixture;

static rv_tensor rows_of(const rv_tensor *t, int64_t r0, int64_t n) {
  return rv_tensor_2d(rv_tensor_row(t, r0), RV_F32, n, t->shape[1]);
}

static void open_model(fixture *f, const char *name, int ih, int iw, int batch, int frames) {
  char rel[128], path[512];
  snprintf(rel, sizeof rel, "tests/data/vit/%s.model.safetensors", name);
  assert_int_equal(rv_model_load(rv_test_source_path(rel, path, sizeof path), &f->m), RV_OK);
  rv_backend_cfg bc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&bc, &f->be), RV_OK);
  rv_vit_cfg vc = {f->m, f->be, ih, iw, batch, frames, NULL, NULL};
  if (rv_vit_init(&vc, &f->v) != RV_OK) fail_msg("%s", rv_last_error());
  int64_t rows = (int64_t)frames * rv_vit_tokens_per_frame(f->v);
  f->tokens = malloc((size_t)(rows * rv_vit_token_dim(f->v)) * sizeof(float));
  rv_rng rng;
  rv_rng_seed(&rng, 21);
  rv_fill_normal(&rng, f->tokens, (size_t)(rows * rv_vit_token_dim(f->v)), 1.0f);
  f->tt = rv_tensor_2d(f->tokens, RV_F32, rows, rv_vit_token_dim(f->v));
}

static void close_model(fixture *f) {
  free(f->tokens);
  rv_vit_free(f->v);
  rv_backend_free(f->be);
  rv_model_free(f->m);
}

static float *copy_out(const rv_tensor *t) {
  size_t n = (size_t)rv_tensor_nelem(t);
  float *p = malloc(n * sizeof(float));
  memcpy(p, t->data, n * sizeof(float));
  return p;
}

static void test_batches_equal_one(void **s) {
  (void)s;
  fixture f = {0};
  open_model(&f, "mirror-st", 40, 48, 5, 5);
  static const double times[5] = {0.0, 0.4, 1.1, 1.5, 2.0};
  rv_vit_outputs out;
  assert_int_equal(rv_vit_encode(f.v, &f.tt, 5, times, &out), RV_OK);
  assert_int_equal(out.frames, 5);
  assert_int_equal(out.grid_h, 5);
  assert_int_equal(out.grid_w, 6);
  float *dense = copy_out(&out.dense), *scene = copy_out(&out.scene);
  int np = rv_vit_tokens_per_frame(f.v);
  rv_tensor first = rows_of(&f.tt, 0, 2 * np), rest = rows_of(&f.tt, 2 * np, 3 * np);
  assert_int_equal(rv_vit_push(f.v, &first, 2, times), RV_OK);
  assert_int_equal(rv_vit_frames(f.v), 2);
  assert_int_equal(rv_vit_push(f.v, &rest, 3, times + 2), RV_OK);
  assert_int_equal(rv_vit_finish(f.v, &out), RV_OK);
  assert_int_equal(rv_vit_frames(f.v), 0);
  assert_memory_equal(out.dense.data, dense, (size_t)rv_tensor_nelem(&out.dense) * sizeof(float));
  assert_memory_equal(out.scene.data, scene, (size_t)rv_tensor_nelem(&out.scene) * sizeof(float));
  /* timestamps matter: the model embeds them */
  static const double other[5] = {0.0, 0.5, 1.0, 1.5, 2.0};
  assert_int_equal(rv_vit_encode(f.v, &f.tt, 5, other, &out), RV_OK);
  assert_true(memcmp(out.scene.data, scene, (size_t)rv_tensor_nelem(&out.scene) * sizeof(float)) !=
              0);
  free(dense);
  free(scene);
  close_model(&f);
}

static void test_causal_prefix(void **s) {
  (void)s;
  fixture f = {0};
  open_model(&f, "mirror-yolos", 24, 40, 3, 3);
  rv_vit_outputs out;
  assert_int_equal(rv_vit_encode(f.v, &f.tt, 3, NULL, &out), RV_OK);
  float *all = copy_out(&out.features), *logits = copy_out(&out.set_logits);
  rv_tensor two = rows_of(&f.tt, 0, 2 * rv_vit_tokens_per_frame(f.v));
  assert_int_equal(rv_vit_encode(f.v, &two, 2, NULL, &out), RV_OK);
  assert_memory_equal(out.features.data, all,
                      (size_t)rv_tensor_nelem(&out.features) * sizeof(float));
  assert_memory_equal(out.set_logits.data, logits,
                      (size_t)rv_tensor_nelem(&out.set_logits) * sizeof(float));
  assert_int_equal(out.set_boxes.shape[2], 4);
  assert_int_equal(out.dense.ndim, 0); /* no dense head in this model */
  free(all);
  free(logits);
  close_model(&f);
}

static void test_misuse(void **s) {
  (void)s;
  fixture f = {0};
  open_model(&f, "mirror-st", 0, 0, 2, 3);
  int np = rv_vit_tokens_per_frame(f.v);
  assert_int_equal(np, 16);
  rv_vit_outputs out;
  assert_int_equal(rv_vit_finish(f.v, &out), RV_ERR_INVALID);         /* nothing pushed */
  assert_int_equal(rv_vit_push(f.v, &f.tt, 3, NULL), RV_ERR_INVALID); /* past max_batch */
  rv_tensor two = rows_of(&f.tt, 0, 2 * np), one = rows_of(&f.tt, 0, np);
  assert_int_equal(rv_vit_push(f.v, &one, 2, NULL), RV_ERR_SHAPE);
  assert_int_equal(rv_vit_push(f.v, &two, 2, NULL), RV_OK);
  assert_int_equal(rv_vit_push(f.v, &two, 2, NULL), RV_ERR_INVALID); /* sequence full */
  assert_int_equal(rv_vit_push(f.v, &one, 1, NULL), RV_OK);
  assert_int_equal(rv_vit_finish(f.v, &out), RV_OK);
  assert_int_equal(out.frames, 3);
  rv_vit *v = NULL;
  rv_vit_cfg bad = {f.m, f.be, 44, 48, 1, 1, NULL, NULL}; /* 44 is not a multiple of 8 */
  assert_int_equal(rv_vit_init(&bad, &v), RV_ERR_INVALID);
  bad = (rv_vit_cfg){f.m, f.be, 0, 0, 4, 2, NULL, NULL}; /* batch above the sequence */
  assert_int_equal(rv_vit_init(&bad, &v), RV_ERR_INVALID);
  bad = (rv_vit_cfg){NULL, f.be, 0, 0, 1, 1, NULL, NULL};
  assert_int_equal(rv_vit_init(&bad, &v), RV_ERR_INVALID);
  assert_null(v);
  rv_vit_free(NULL);
  close_model(&f);
}

static void test_seed_model_is_not_a_vit(void **s) {
  (void)s;
  char path[512];
  rv_model *m = NULL;
  rv_test_source_path("tests/data/vit/seed-proj.model.safetensors", path, sizeof path);
  assert_int_equal(rv_model_load(path, &m), RV_OK);
  assert_null(rv_model_config(m));
  rv_backend *be = NULL;
  rv_backend_cfg bc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  rv_vit *v = NULL;
  rv_vit_cfg vc = {m, be, 0, 0, 1, 1, NULL, NULL};
  assert_int_equal(rv_vit_init(&vc, &v), RV_ERR_INVALID);
  rv_backend_free(be);
  rv_model_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_equal_one),
      cmocka_unit_test(test_causal_prefix),
      cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_seed_model_is_not_a_vit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
