/* The encoder context's contract: pushing frames in several batches gives what one batch
 * gives, a frame-causal model's earlier frames do not change when later ones arrive, and
 * misuse is refused with an error; stream mode (one frame at a time through the KV cache)
 * equals the offline output of a frame-causal or window model. */
#include <math.h>
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

static void open_stream(fixture *f, const char *name, int ih, int iw, int batch, int frames,
                        int64_t stream) {
  char rel[128], path[512];
  if (strchr(name, '/')) /* a path in the source tree */
    snprintf(rel, sizeof rel, "%s", name);
  else
    snprintf(rel, sizeof rel, "tests/data/vit/%s.model.safetensors", name);
  assert_int_equal(rv_model_load(rv_test_source_path(rel, path, sizeof path), &f->m), RV_OK);
  rv_backend_cfg bc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&bc, &f->be), RV_OK);
  rv_vit_cfg vc = {f->m, f->be, ih, iw, batch, frames, NULL, NULL, NULL, 0};
  if (rv_vit_init(&vc, &f->v) != RV_OK) fail_msg("%s", rv_last_error());
  if (stream && rv_vit_stream_init(f->v, stream) != RV_OK) fail_msg("%s", rv_last_error());
  int64_t rows = (int64_t)frames * rv_vit_tokens_per_frame(f->v);
  f->tokens = malloc((size_t)(rows * rv_vit_token_dim(f->v)) * sizeof(float));
  rv_rng rng;
  rv_rng_seed(&rng, 21);
  rv_fill_normal(&rng, f->tokens, (size_t)(rows * rv_vit_token_dim(f->v)), 1.0f);
  f->tt = rv_tensor_2d(f->tokens, RV_F32, rows, rv_vit_token_dim(f->v));
}

static void open_model(fixture *f, const char *name, int ih, int iw, int batch, int frames) {
  open_stream(f, name, ih, iw, batch, frames, 0);
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

static void expect_close(const char *what, const float *got, const float *want, size_t n) {
  rv_cmp c = rv_compare(got, want, n, rv_rms(want, n));
  rv_assert_close(what, &c, 1e-10, 1e-5);
}

/* The dense rows of `frames` frames of f's tokens (from frame `first`), encoded with a
 * temporal band of `band` frames (0 = the model's global scope). */
static float *band_rows(fixture *f, int first, int frames, int band) {
  rv_vit *v = NULL;
  rv_vit_cfg vc = {f->m, f->be, 0, 0, frames, frames, NULL, NULL, NULL, band};
  if (rv_vit_init(&vc, &v) != RV_OK) fail_msg("%s", rv_last_error());
  static const double times[6] = {0.0, 0.5, 1.0, 1.5, 2.0, 2.5};
  int np = rv_vit_tokens_per_frame(v);
  rv_tensor part = rows_of(&f->tt, (int64_t)first * np, (int64_t)frames * np);
  rv_vit_outputs out;
  assert_int_equal(rv_vit_encode(v, &part, frames, times + first, &out), RV_OK);
  float *rows = copy_out(&out.dense);
  rv_vit_free(v);
  return rows;
}

/* What any band does to 6 frames of f (D temporal blocks): with 1 frame each frame is
 * encoded alone; with 2, frame k is what frames k-D..k+D alone give it (k-D..k for a
 * frame-causal model: a band keeps the model's direction); one as long as the clip is the
 * model's own scope, and a short one changes what the frames see. */
static void check_bands(fixture *f, int causal) {
  const rv_vit_config *c = rv_model_config(f->m);
  assert_true(c->temporal_depth >= 1 && c->dense);
  const int D = c->temporal_depth, n = 6;
  float *own = band_rows(f, 0, n, 0), *band1 = band_rows(f, 0, n, 1);
  float *band2 = band_rows(f, 0, n, 2), *full = band_rows(f, 0, n, n);
  size_t per = (size_t)rv_vit_grid_h(c, 0) * rv_vit_grid_w(c, 0) * rv_vit_dense_channels(c);
  for (int k = 0; k < n; k++) {
    float *alone = band_rows(f, k, 1, 1);
    expect_close("band 1: the frame alone", band1 + k * per, alone, per);
    free(alone);
    int first = k > D ? k - D : 0, last = causal ? k : (k + D < n ? k + D : n - 1);
    float *reach = band_rows(f, first, last - first + 1, 2);
    expect_close("band 2: the frames within D", band2 + k * per, reach + (k - first) * per, per);
    free(reach);
  }
  double diff = 0, diff_full = 0;
  for (size_t i = 0; i < n * per; i++) {
    diff = fmax(diff, fabs(own[i] - band1[i]));
    diff_full = fmax(diff_full, fabs(own[i] - full[i]));
  }
  assert_true(diff > 1e-3);      /* the band changes what the frames see */
  assert_true(diff_full < 1e-5); /* a band as long as the clip does not */
  free(own), free(band1), free(band2), free(full);
}

/* An offline band (rvencoder's and analyze's window) on a global model: the demo model's
 * weights, its frame-causal scope made global here (the config belongs to the loaded model,
 * which no one else holds). Stream mode and a sliding-window model refuse a band. */
static void test_offline_band(void **s) {
  (void)s;
  fixture f = {0};
  open_model(&f, "samples/models/rv-demo.safetensors", 0, 0, 6, 6);
  ((rv_vit_config *)rv_model_config(f.m))->temporal_scope = RV_SCOPE_GLOBAL;
  check_bands(&f, 0);
  rv_vit *v = NULL;
  rv_vit_cfg vc = {f.m, f.be, 0, 0, 1, 6, NULL, NULL, NULL, 3};
  assert_int_equal(rv_vit_init(&vc, &v), RV_OK);
  assert_int_equal(rv_vit_stream_init(v, 4), RV_ERR_INVALID);
  rv_vit_free(v);
  vc.band_frames = -1;
  assert_int_equal(rv_vit_init(&vc, &v), RV_ERR_INVALID);
  fixture w = {0};
  open_model(&w, "mirror-st", 0, 0, 2, 3); /* a sliding window of 2 frames */
  vc = (rv_vit_cfg){w.m, w.be, 0, 0, 1, 3, NULL, NULL, NULL, 2};
  assert_int_equal(rv_vit_init(&vc, &v), RV_ERR_INVALID);
  assert_null(v);
  close_model(&w);
  close_model(&f);
}

/* The shipped demo model is frame-causal: a band cuts its past only. */
static void test_offline_causal_band(void **s) {
  (void)s;
  fixture f = {0};
  open_model(&f, "samples/models/rv-demo.safetensors", 0, 0, 6, 6);
  assert_int_equal(rv_model_config(f.m)->temporal_scope, RV_SCOPE_CAUSAL);
  check_bands(&f, 1);
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
  rv_vit_cfg bad = {f.m, f.be, 44, 48, 1, 1, NULL, NULL, NULL, 0}; /* 44 is not a multiple of 8 */
  assert_int_equal(rv_vit_init(&bad, &v), RV_ERR_INVALID);
  bad = (rv_vit_cfg){f.m, f.be, 0, 0, 4, 2, NULL, NULL, NULL, 0}; /* batch above the sequence */
  assert_int_equal(rv_vit_init(&bad, &v), RV_ERR_INVALID);
  bad = (rv_vit_cfg){NULL, f.be, 0, 0, 1, 1, NULL, NULL, NULL, 0};
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
  rv_vit_cfg vc = {m, be, 0, 0, 1, 1, NULL, NULL, NULL, 0};
  assert_int_equal(rv_vit_init(&vc, &v), RV_ERR_INVALID);
  rv_backend_free(be);
  rv_model_free(m);
}

/* Stepping frame by frame through the KV cache gives the offline output of each frame for a
 * frame-causal model, and for a window model even when the history evicts old frames. */
static void stream_equals_offline(const char *name, int ih, int iw, int frames, int64_t history,
                                  const double *times) {
  fixture f = {0};
  open_stream(&f, name, ih, iw, frames, frames, history);
  rv_vit_outputs off, on;
  assert_int_equal(rv_vit_encode(f.v, &f.tt, frames, times, &off), RV_OK);
  float *feat = copy_out(&off.features),
        *head = copy_out(off.dense.ndim ? &off.dense : &off.set_logits);
  size_t per_feat = (size_t)(off.features.shape[1] * off.features.shape[2]);
  const rv_tensor *ht = off.dense.ndim ? &off.dense : &off.set_logits;
  size_t per_head = (size_t)(ht->shape[1] * ht->shape[2]);
  int np = rv_vit_tokens_per_frame(f.v);
  for (int i = 0; i < frames; i++) {
    rv_tensor one = rows_of(&f.tt, (int64_t)i * np, np);
    if (rv_vit_step(f.v, &one, times ? times[i] : (double)i / 2.0, &on) != RV_OK)
      fail_msg("%s step %d: %s", name, i, rv_last_error());
    assert_int_equal(on.frames, 1);
    expect_close("stream features", on.features.data, feat + i * per_feat, per_feat);
    expect_close("stream head", (on.dense.ndim ? on.dense : on.set_logits).data,
                 head + i * per_head, per_head);
  }
  assert_int_equal(rv_vit_stream_position(f.v), frames);
  free(feat);
  free(head);
  close_model(&f);
}

static void test_stream_causal(void **s) {
  (void)s;
  stream_equals_offline("mirror-yolos", 24, 40, 3, 3, NULL);
}

static void test_stream_window_evicts(void **s) {
  (void)s;
  static const double times[5] = {0.0, 0.4, 1.1, 1.5, 2.0};
  stream_equals_offline("mirror-st", 40, 48, 5, 2, times); /* window 2, history of 2 frames */
}

static void test_stream_own_region(void **s) {
  (void)s;
  static const double times[7] = {0.0, 0.4, 1.1, 1.5, 2.0, 2.2, 3.0};
  stream_equals_offline("mirror-own", 40, 48, 7, 3, times); /* window 3, own-region keys */
}

static void test_stream_reset_and_misuse(void **s) {
  (void)s;
  fixture f = {0};
  open_stream(&f, "mirror-videomae", 0, 0, 1, 2, 4);
  int np = rv_vit_tokens_per_frame(f.v);
  rv_tensor one = rows_of(&f.tt, 0, np), two = rows_of(&f.tt, np, np);
  rv_vit_outputs out;
  assert_int_equal(rv_vit_step(f.v, &one, 0.0, &out), RV_OK);
  float *first = copy_out(&out.features);
  assert_int_equal(rv_vit_step(f.v, &two, 1.0, &out), RV_OK);
  assert_int_equal(rv_vit_step(f.v, &one, 2.0, &out), RV_OK); /* same frame, later position */
  assert_true(memcmp(out.features.data, first, (size_t)rv_tensor_nelem(&out.features) * 4) != 0);
  rv_vit_stream_reset(f.v);
  assert_int_equal(rv_vit_stream_position(f.v), 0);
  assert_int_equal(rv_vit_step(f.v, &one, 0.0, &out), RV_OK);
  assert_memory_equal(out.features.data, first, (size_t)rv_tensor_nelem(&out.features) * 4);
  assert_int_equal(rv_vit_push(f.v, &one, 1, NULL), RV_OK);
  assert_int_equal(rv_vit_step(f.v, &one, 0.0, &out), RV_ERR_INVALID); /* offline frames pending */
  assert_int_equal(rv_vit_finish(f.v, &out), RV_OK);
  rv_tensor both = rows_of(&f.tt, 0, 2 * np); /* a step takes one frame */
  assert_int_equal(rv_vit_step(f.v, &both, 0.0, &out), RV_ERR_SHAPE);
  free(first);
  close_model(&f);
  open_model(&f, "mirror-st", 0, 0, 1, 1); /* no stream history asked for */
  one = rows_of(&f.tt, 0, rv_vit_tokens_per_frame(f.v));
  assert_int_equal(rv_vit_step(f.v, &one, 0.0, &out), RV_ERR_INVALID);
  assert_int_equal(rv_vit_stream_init(f.v, 0), RV_ERR_INVALID);
  assert_int_equal(rv_vit_stream_init(f.v, 2), RV_OK);
  assert_int_equal(rv_vit_stream_init(f.v, 2), RV_ERR_INVALID);
  assert_int_equal(rv_vit_step(f.v, &one, 0.0, &out), RV_OK);
  close_model(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_equal_one),
      cmocka_unit_test(test_causal_prefix), cmocka_unit_test(test_offline_band),
      cmocka_unit_test(test_offline_causal_band),
      cmocka_unit_test(test_misuse),
      cmocka_unit_test(test_seed_model_is_not_a_vit),
      cmocka_unit_test(test_stream_causal),
      cmocka_unit_test(test_stream_window_evicts),
      cmocka_unit_test(test_stream_own_region),
      cmocka_unit_test(test_stream_reset_and_misuse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
