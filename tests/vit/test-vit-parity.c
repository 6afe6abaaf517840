/* Parity with the reference implementations: for each golden case made by
 * vit/train/goldens.py (torchvision's VisionTransformer itself, and our PyTorch mirror in
 * several configurations) the C encoder's output after every stage and every head matches,
 * fp32, max relative error <= 1e-4 (relative to |ref| + rms(ref)), on cpu-ref and cpu. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/vit.h>

#include "rv-test.h"
#include "safetensors-impl.h"

enum { MAX_TAPS = 16 };

typedef struct taps {
  int n;
  char name[MAX_TAPS][32];
  float *data[MAX_TAPS];
  int64_t count[MAX_TAPS];
} taps;

static void on_tap(void *user, const char *name, const rv_tensor *t) {
  taps *tp = user;
  assert_true(tp->n < MAX_TAPS);
  int64_t n = rv_tensor_nelem(t);
  tp->data[tp->n] = malloc((size_t)n * sizeof(float));
  assert_non_null(tp->data[tp->n]);
  for (int64_t r = 0; r < t->shape[0]; r++)
    memcpy(tp->data[tp->n] + r * t->shape[1], rv_tensor_row(t, r),
           (size_t)t->shape[1] * sizeof(float));
  snprintf(tp->name[tp->n], sizeof tp->name[0], "%s", name);
  tp->count[tp->n++] = n;
}

static void taps_free(taps *tp) {
  for (int i = 0; i < tp->n; i++)
    free(tp->data[i]);
  tp->n = 0;
}

static float *golden(const rv_st *g, const char *name, int64_t *n) {
  const rv_st_entry *e = rv_st_find(g, name);
  if (!e) fail_msg("golden has no %s", name);
  *n = rv_st_nelem(e);
  float *buf = malloc((size_t)*n * sizeof(float));
  assert_non_null(buf);
  assert_int_equal(rv_st_to_f32(e, buf, *n), RV_OK);
  return buf;
}

static int meta_int(const rv_st *g, const char *key) {
  const char *v = rv_st_meta(g, key);
  if (!v) fail_msg("golden metadata has no %s", key);
  return atoi(v);
}

static void compare(const char *what, const float *got, const float *ref, int64_t n,
                    int64_t want_n) {
  if (n != want_n)
    fail_msg("%s: %lld values, golden has %lld", what, (long long)n, (long long)want_n);
  rv_cmp c = rv_compare(got, ref, (size_t)n, rv_rms(ref, (size_t)n));
  if (getenv("RV_TEST_VERBOSE"))
    printf("  %-40s n=%-6lld max_rel %.2e nmse %.2e\n", what, (long long)n, c.max_rel, c.nmse);
  rv_assert_close(what, &c, 1e-8, 1e-4);
}

static void compare_out(const rv_st *g, const char *name, const rv_tensor *t, const char *label) {
  char key[64], what[128];
  snprintf(key, sizeof key, "out.%s", name);
  if (!rv_st_find(g, key)) {
    assert_int_equal(t->ndim, 0); /* the model lacks this head and says so */
    return;
  }
  int64_t n;
  float *ref = golden(g, key, &n);
  snprintf(what, sizeof what, "%s %s", label, key);
  assert_true(rv_tensor_is_contiguous(t));
  compare(what, t->data, ref, rv_tensor_nelem(t), n);
  free(ref);
}

/* One golden case: `model` and `gold` are paths from the source root. With `with_taps`
 * every stage the C encoder taps is compared too; goldens without taps check the heads. */
static void run_files(const char *name, const char *model, const char *gold, int with_taps,
                      rv_backend_kind kind) {
  char path[512], label[96];
  snprintf(label, sizeof label, "%s on %s", name, rv_backend_kind_name(kind));
  rv_model *m = NULL;
  if (rv_model_load(rv_test_source_path(model, path, sizeof path), &m) != RV_OK)
    fail_msg("%s", rv_last_error());
  rv_st_map *gm = NULL;
  assert_int_equal(rv_st_map_open(rv_test_source_path(gold, path, sizeof path), &gm), RV_OK);
  const rv_st *g = gm->st;
  const rv_vit_config *c = rv_model_config(m);
  int ih = meta_int(g, "input_h"), iw = meta_int(g, "input_w"), n = meta_int(g, "frames");

  rv_backend *be = NULL;
  rv_backend_cfg bc = {kind, 2, 0};
  assert_int_equal(rv_backend_init(&bc, &be), RV_OK);
  taps tp = {0};
  rv_vit *v = NULL;
  rv_vit_cfg vc = {m, be, ih, iw, n, n, with_taps ? on_tap : NULL, &tp, NULL, 0};
  if (rv_vit_init(&vc, &v) != RV_OK) fail_msg("%s: %s", label, rv_last_error());

  int64_t nf, nt = 0;
  float *frames = golden(g, "input.frames", &nf);
  int64_t video = nf / ((int64_t)ih * iw * 3);
  rv_tensor tf = rv_tensor_4d(frames, RV_F32, video, ih, iw, 3);
  int64_t ntok = n * (int64_t)rv_vit_tokens_per_frame(v);
  float *tokens = malloc((size_t)(ntok * rv_vit_token_dim(v)) * sizeof(float));
  rv_tensor tt = rv_tensor_2d(tokens, RV_F32, ntok, rv_vit_token_dim(v));
  assert_int_equal(rv_patchify(be, &tf, c->mean, c->std, c->patch, c->tubelet, &tt), RV_OK);
  double times[64];
  float *tsrc = rv_st_find(g, "input.times") ? golden(g, "input.times", &nt) : NULL;
  for (int64_t i = 0; i < nt; i++)
    times[i] = tsrc[i];

  rv_vit_outputs out;
  if (rv_vit_encode(v, &tt, n, tsrc ? times : NULL, &out) != RV_OK)
    fail_msg("%s: %s", label, rv_last_error());
  int checked = 0;
  for (int i = 0; i < tp.n; i++) {
    char key[64], what[128];
    snprintf(key, sizeof key, "tap.%s", tp.name[i]);
    if (!rv_st_find(g, key)) fail_msg("%s: C stage %s has no golden", label, tp.name[i]);
    int64_t gn;
    float *ref = golden(g, key, &gn);
    snprintf(what, sizeof what, "%s %s", label, key);
    compare(what, tp.data[i], ref, tp.count[i], gn);
    free(ref);
    checked++;
  }
  for (int i = 0; i < g->n && with_taps; i++) /* and every golden stage was produced */
    if (!strncmp(g->e[i].name, "tap.", 4)) checked--;
  assert_int_equal(checked, 0);
  compare_out(g, "dense", &out.dense, label);
  compare_out(g, "scene", &out.scene, label);
  compare_out(g, "set_logits", &out.set_logits, label);
  compare_out(g, "set_boxes", &out.set_boxes, label);
  compare_out(g, "features", &out.features, label);

  free(tsrc);
  free(tokens);
  free(frames);
  taps_free(&tp);
  rv_vit_free(v);
  rv_backend_free(be);
  rv_st_map_close(gm);
  rv_model_free(m);
}

static void run_case(const char *name, rv_backend_kind kind) {
  char model[128], gold[128];
  snprintf(model, sizeof model, "tests/data/vit/%s.model.safetensors", name);
  snprintf(gold, sizeof gold, "tests/data/vit/%s.golden.safetensors", name);
  run_files(name, model, gold, 1, kind);
}

static void both(const char *name) {
  run_case(name, RV_BACKEND_CPU_REF);
  run_case(name, RV_BACKEND_CPU);
}

/* Goldens from timm and transformers are made on the GPU machine (vit/train/goldens_gpu.py);
 * until they are committed these cases report skipped. */
static void if_made(const char *name) {
  char rel[128], path[512];
  snprintf(rel, sizeof rel, "tests/data/vit/%s.golden.safetensors", name);
  if (access(rv_test_source_path(rel, path, sizeof path), R_OK) != 0) {
    print_message(
        "%s: golden not made yet (vit/train/goldens_gpu.py needs timm and transformers)\n", name);
    skip();
  }
  both(name);
}

static void test_torchvision(void **s) {
  (void)s;
  both("tv-vit");
}
static void test_mirror_st(void **s) {
  (void)s;
  both("mirror-st");
}
/* temporal tokens that attend only to their own region's history (heads folded per region) */
static void test_mirror_own_region(void **s) {
  (void)s;
  both("mirror-own");
}
/* a dense head with 2 x 2 output cells per patch: its rows as the decoder reads them */
static void test_mirror_sub_cells(void **s) {
  (void)s;
  both("mirror-sub");
}
static void test_mirror_videomae(void **s) {
  (void)s;
  both("mirror-videomae");
}
static void test_mirror_yolos(void **s) {
  (void)s;
  both("mirror-yolos");
}
/* The shipped demo model against the PyTorch mirror on frames of a synthetic clip
 * (golden made by vit/train/demo_golden.py from samples/models/rv-demo.safetensors). */
static void test_demo_model(void **s) {
  (void)s;
  static const char model[] = "samples/models/rv-demo.safetensors",
                    gold[] = "tests/data/vit/rv-demo.golden.safetensors";
  run_files("rv-demo", model, gold, 0, RV_BACKEND_CPU_REF);
  run_files("rv-demo", model, gold, 0, RV_BACKEND_CPU);
}

#define GPU_MADE(fn, name)                                                                         \
  static void fn(void **s) {                                                                       \
    (void)s;                                                                                       \
    if_made(name);                                                                                 \
  }
GPU_MADE(test_timm_vit, "timm-vit")
GPU_MADE(test_timm_avg, "timm-avg")
GPU_MADE(test_hf_vit, "hf-vit")
GPU_MADE(test_hf_videomae, "hf-videomae")
GPU_MADE(test_hf_yolos, "hf-yolos")

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_torchvision),       cmocka_unit_test(test_mirror_st),
      cmocka_unit_test(test_mirror_own_region), cmocka_unit_test(test_mirror_videomae),
      cmocka_unit_test(test_mirror_yolos),      cmocka_unit_test(test_timm_vit),
      cmocka_unit_test(test_timm_avg),          cmocka_unit_test(test_hf_vit),
      cmocka_unit_test(test_hf_videomae),       cmocka_unit_test(test_hf_yolos),
      cmocka_unit_test(test_demo_model),        cmocka_unit_test(test_mirror_sub_cells),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
