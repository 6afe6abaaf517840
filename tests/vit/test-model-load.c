/* Model files: every kind of bad input gives a clear error naming the tensor (truncated
 * file, header length past EOF, overlapping or out-of-range offsets, wrong shapes, unknown
 * dtype, missing tensors, a config that contradicts the tensors) and never a crash; f16 and
 * bf16 weights are converted on load; the tensor table and accessors. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/vit.h>

#include "rv-test.h"
#include "vit-impl.h"

static char tmpdir[256];

static const char *tmp_path(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
  return buf;
}

static void write_raw(const char *path, const char *header, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  uint64_t n = strlen(header);
  unsigned char le[8];
  for (int i = 0; i < 8; i++)
    le[i] = (unsigned char)(n >> (8 * i));
  fwrite(le, 1, 8, f);
  fwrite(header, 1, n, f);
  if (len) fwrite(data, 1, len, f);
  fclose(f);
}

/* ---- a model file made from a config, with one thing wrong ---- */

typedef struct fault {
  const char *skip;    /* leave this tensor out */
  const char *reshape; /* give this tensor one row more */
  const char *extra;   /* add this tensor */
  const char *dtype;   /* store every tensor as this ("F32", "F16", "BF16", "I32") */
  int misalign;        /* start the data 2 bytes off a float boundary */
} fault;

typedef struct builder {
  json_t *header;
  unsigned char *data;
  size_t len;
  const fault *f;
  rv_rng rng;
} builder;

static void put(builder *b, const char *name, int ndim, const int64_t *shape, const char *dtype) {
  int64_t n = 1;
  json_t *sh = json_array();
  for (int i = 0; i < ndim; i++) {
    n *= shape[i];
    json_array_append_new(sh, json_integer(shape[i]));
  }
  size_t es = strcmp(dtype, "F32") && strcmp(dtype, "I32") ? 2 : 4;
  b->data = realloc(b->data, b->len + (size_t)n * es + 1);
  for (int64_t i = 0; i < n; i++) {
    float v = rv_rng_normal(&b->rng);
    unsigned char *p = b->data + b->len + (size_t)i * es;
    if (es == 4) {
      memcpy(p, &v, 4);
    } else {
      uint16_t h = strcmp(dtype, "F16") ? rv_f32_to_bf16(v) : rv_f32_to_f16(v);
      memcpy(p, &h, 2);
    }
  }
  json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype, "shape", sh, "data_offsets",
                        (json_int_t)b->len, (json_int_t)(b->len + (size_t)n * es));
  json_object_set_new(b->header, name, e);
  b->len += (size_t)n * es;
}

static rv_status put_expected(void *user, const char *name, int ndim, const int64_t *shape) {
  builder *b = user;
  if (b->f->skip && !strcmp(name, b->f->skip)) return RV_OK;
  int64_t s[4];
  memcpy(s, shape, (size_t)ndim * sizeof *s);
  if (b->f->reshape && !strcmp(name, b->f->reshape)) s[0]++;
  put(b, name, ndim, s, b->f->dtype ? b->f->dtype : "F32");
  return RV_OK;
}

static const char *small_cfg =
    "{\"name\": \"t\", \"image_size\": 16, \"patch\": 8, \"width\": 8, \"heads\": 2, \"mlp_dim\": "
    "16,"
    " \"spatial_depth\": 1, \"temporal_depth\": 1, \"head\": {\"dense\": {}, \"scene\": {}},"
    " \"labels\": {\"classes\": [\"person\", \"bag\"], \"scene_actions\": [\"x\"]}}";

static void write_model(const char *path, const char *cfg_json, const fault *f) {
  rv_vit_config c;
  builder b = {json_object(), NULL, 0, f, {0}};
  rv_rng_seed(&b.rng, 9);
  if (rv_vit_config_parse(cfg_json, &c) == RV_OK) /* a bad config goes in without tensors */
    assert_int_equal(rv_vit_expected_tensors(&c, put_expected, &b), RV_OK);
  if (f->extra) put(&b, f->extra, 1, (int64_t[]){8}, "F32");
  json_object_set_new(b.header, "__metadata__", json_pack("{s:s}", "ringvit", cfg_json));
  char *h = json_dumps(b.header, JSON_COMPACT), padded[1 << 16];
  snprintf(padded, sizeof padded, "%s   ", h);
  size_t n = strlen(h); /* trailing spaces put the data 2 bytes off a float boundary, or on one */
  while ((8 + n) % 4 != (f->misalign ? 2u : 0u))
    n++;
  padded[n] = 0;
  write_raw(path, padded, b.data, b.len);
  free(h);
  free(b.data);
  json_decref(b.header);
}

/* Loading fails with `want` and the message mentions `needle`. */
static void expect_fail(const char *path, rv_status want, const char *needle) {
  rv_model *m = (rv_model *)0x1;
  rv_status st = rv_model_load(path, &m);
  if (st != want)
    fail_msg("%s: got %s (%s), wanted %s", path, rv_status_str(st), rv_last_error(),
             rv_status_str(want));
  assert_null(m);
  if (getenv("RV_TEST_VERBOSE")) printf("  %s\n", rv_last_error());
  if (!strstr(rv_last_error(), needle))
    fail_msg("message \"%s\" does not mention \"%s\"", rv_last_error(), needle);
}

static void test_container_faults(void **s) {
  (void)s;
  char p[512];
  unsigned char data[64] = {0};
  tmp_path("c.safetensors", p, sizeof p);
  FILE *f = fopen(p, "wb"); /* header length past the end */
  fwrite("\xff\xff\x00\x00\x00\x00\x00\x00{}", 1, 10, f);
  fclose(f);
  expect_fail(p, RV_ERR_FORMAT, "past the end");
  f = fopen(p, "wb"); /* shorter than the length field */
  fwrite("\x02\x00", 1, 2, f);
  fclose(f);
  expect_fail(p, RV_ERR_FORMAT, "too short");
  write_raw(p,
            "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
            " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}",
            data, 24);
  expect_fail(p, RV_ERR_FORMAT, "overlaps");
  write_raw(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 1000]}}", data,
            16);
  expect_fail(p, RV_ERR_FORMAT, "\"w\"");
  write_raw(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 2], \"data_offsets\": [0, 12]}}", data,
            12);
  expect_fail(p, RV_ERR_FORMAT, "\"w\"");
  write_raw(p, "{\"w\": {\"dtype\": \"F17\", \"shape\": [4], \"data_offsets\": [0, 16]}}", data,
            16);
  expect_fail(p, RV_ERR_DTYPE, "F17");
  write_raw(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [-4], \"data_offsets\": [0, 16]}}", data,
            16);
  expect_fail(p, RV_ERR_FORMAT, "\"w\"");
  write_raw(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]", data, 16);
  expect_fail(p, RV_ERR_FORMAT, "header JSON");
  write_raw(p, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", data,
            16);
  expect_fail(p, RV_ERR_FORMAT, "no \"ringvit\" config");
  expect_fail(tmp_path("absent.safetensors", p, sizeof p), RV_ERR_NOT_FOUND, "absent");
}

static void test_truncated(void **s) {
  (void)s;
  char src[512], dst[512];
  rv_test_source_path("tests/data/vit/tv-vit.model.safetensors", src, sizeof src);
  FILE *f = fopen(src, "rb");
  assert_non_null(f);
  static unsigned char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  tmp_path("trunc.safetensors", dst, sizeof dst);
  f = fopen(dst, "wb");
  fwrite(buf, 1, n - 1000, f);
  fclose(f);
  expect_fail(dst, RV_ERR_FORMAT, "truncated");
}

/* A config of one spatial block (width 8, 2 heads) with `extra` keys is refused for `what`. */
static void expect_bad_config(const char *p, const char *extra, const char *what) {
  char text[512];
  snprintf(
      text, sizeof text,
      "{\"image_size\": 16, \"patch\": 8, \"width\": 8, \"heads\": 2, \"spatial_depth\": 1, %s}",
      extra);
  write_model(p, text, &(fault){0});
  expect_fail(p, RV_ERR_FORMAT, what);
}

static void test_tensor_faults(void **s) {
  (void)s;
  char p[512];
  tmp_path("m.safetensors", p, sizeof p);
  write_model(p, small_cfg, &(fault){.skip = "spatial.0.mlp.fc1.bias"});
  expect_fail(p, RV_ERR_NOT_FOUND, "spatial.0.mlp.fc1.bias");
  write_model(p, small_cfg, &(fault){.reshape = "temporal.0.attn.qkv.weight"});
  expect_fail(p, RV_ERR_SHAPE, "temporal.0.attn.qkv.weight");
  write_model(p, small_cfg, &(fault){.extra = "spatial.1.norm1.weight"});
  expect_fail(p, RV_ERR_FORMAT, "spatial.1.norm1.weight");
  write_model(p, small_cfg, &(fault){.dtype = "I32"});
  expect_fail(p, RV_ERR_DTYPE, "I32");
  /* the config contradicts its own labels, or asks for heads the tensors lack */
  expect_bad_config(p, "\"num_classes\": 3, \"labels\": {\"classes\": [\"a\", \"b\"]}",
                    "num_classes");
  write_model(
      p, "{\"image_size\": 16, \"patch\": 8, \"width\": 8, \"heads\": 3, \"spatial_depth\": 1}",
      &(fault){0});
  expect_fail(p, RV_ERR_FORMAT, "heads");
  expect_bad_config(p, "\"depth\": 2", "depth");
  expect_bad_config(p, "\"temporal_scope\": \"sideways\"", "temporal_scope");
  expect_bad_config(p, "\"temporal_depth\": 1, \"temporal_keys\": \"neighbours\"", "temporal_keys");
  expect_bad_config(p, "\"temporal_keys\": \"own_region\"", "without temporal blocks");
}

/* The detector's calibration keys: head.dense.peak and "tracking" parse, and out-of-range
 * or unknown ones are refused with the key named. */
static void test_tracking_keys(void **s) {
  (void)s;
  const char *base = "{\"image_size\": 16, \"patch\": 8, \"width\": 8, \"heads\": 2,"
                     " \"spatial_depth\": 1, \"labels\": {\"classes\": [\"a\"],"
                     " \"track_actions\": [\"walk\", \"run\"]}, ";
  char text[1024];
  rv_vit_config c;
  snprintf(text, sizeof text, "%s%s", base,
           "\"head\": {\"dense\": {\"peak\": 3, \"reach\": 1, \"sub\": 2, \"class_offset\": [1.25],"
           " \"action_offset\": [0, 2.5]}}, "
           "\"tracking\": "
           "{\"detect_thresh\": 0.1, "
           "\"high_thresh\": 0.4, \"low_thresh\": 0.15, \"new_track_thresh\": 0.45, "
           "\"lost_s\": 4.5, \"action_on\": 0.7, \"action_off\": 0.3, \"action_gap_s\": 2,"
           " \"action_min_s\": 1.5, \"action_smooth_s\": 0.25, \"match_thresh\": 0.9,"
           " \"second_match_thresh\": 0.7, \"unconfirmed_match_thresh\": 0.95,"
           " \"reid_thresh\": 0.05, \"foreground_diff\": 0.08, \"detection_boxes\": 1}}");
  assert_int_equal(rv_vit_config_parse(text, &c), RV_OK);
  assert_int_equal(c.dense_peak, 3);
  assert_int_equal(c.dense_reach, 1);
  assert_int_equal(rv_vit_dense_sub(&c), 2);
  assert_true(c.dense_class_offsets == 1 && c.dense_class_offset[0] == 1.25f);
  assert_true(c.dense_action_offsets == 2 && c.dense_action_offset[0] == 0.0f &&
              c.dense_action_offset[1] == 2.5f);
  const rv_track_tuning *t = &c.tuning;
  assert_true(c.detect_thresh == 0.1f && t->high_thresh == 0.4f && t->low_thresh == 0.15f);
  assert_true(t->new_track_thresh == 0.45f && t->lost_s == 4.5);
  assert_true(t->action_on == 0.7f && t->action_off == 0.3f && t->action_gap_s == 2 &&
              t->action_min_s == 1.5 && t->action_smooth_s == 0.25);
  assert_true(t->match_thresh == 0.9f && t->second_match_thresh == 0.7f &&
              t->unconfirmed_match_thresh == 0.95f && t->reid_thresh == 0.05f);
  assert_true(t->foreground_diff == 0.08f && t->detection_boxes == 1);
  snprintf(text, sizeof text, "%s%s", base, "\"head\": {\"dense\": {}}}");
  assert_int_equal(rv_vit_config_parse(text, &c), RV_OK);
  assert_true(c.dense_peak == 0 && c.dense_reach == 0 && rv_vit_dense_sub(&c) == 1 &&
              c.detect_thresh == 0 && c.tuning.lost_s == 0);
  assert_int_equal(c.dense_class_offsets, 0);
  assert_int_equal(c.dense_action_offsets, 0);
  static const struct {
    const char *tail, *needle;
  } bad[] = {
      {"\"head\": {\"dense\": {\"peak\": 2}}}", "peak"},
      {"\"head\": {\"dense\": {\"reach\": 4}}}", "reach"},
      {"\"head\": {\"dense\": {\"reach\": -1}}}", "reach"},
      {"\"head\": {\"dense\": {\"sub\": 3}}}", "sub"},
      {"\"head\": {\"dense\": {\"sub\": 0}}}", "sub"},
      {"\"head\": {\"dense\": {\"sub\": 16}}}", "sub"},
      {"\"head\": {\"dense\": {\"class_offset\": [1, 2]}}}", "class_offset"},
      {"\"head\": {\"dense\": {\"class_offset\": [\"x\"]}}}", "class_offset"},
      {"\"head\": {\"dense\": {\"class_offset\": [17]}}}", "class_offset"},
      {"\"head\": {\"dense\": {\"class_offset\": 1}}}", "class_offset"},
      {"\"head\": {\"dense\": {\"action_offset\": [1]}}}", "action_offset"},
      {"\"head\": {\"dense\": {\"action_offset\": [0, -16.5]}}}", "action_offset"},
      {"\"tracking\": {\"new_track_thresh\": 1.5}}", "new_track_thresh"},
      {"\"tracking\": {\"lost_s\": -1}}", "lost_s"},
      {"\"tracking\": {\"unconfirmed_match_thresh\": 1.2}}", "unconfirmed_match_thresh"},
      {"\"tracking\": {\"match_thresh\": -0.1}}", "match_thresh"},
      {"\"tracking\": {\"reid_thresh\": 1.5}}", "reid_thresh"},
      {"\"tracking\": {\"foreground_diff\": 1}}", "foreground_diff"},
      {"\"tracking\": {\"detection_boxes\": 0.5}}", "detection_boxes"},
      {"\"tracking\": {\"high_thresh\": 0.2, \"low_thresh\": 0.3}}", "low_thresh"},
      {"\"tracking\": {\"buffer\": 3}}", "buffer"},
      {"\"tracking\": {\"action_on\": 0.3, \"action_off\": 0.5}}", "action_off"},
      {"\"tracking\": {\"action_gap_s\": -2}}", "action_gap_s"},
      {"\"tracking\": 3}", "tracking"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, "%s%s", base, bad[i].tail);
    assert_int_equal(rv_vit_config_parse(text, &c), RV_ERR_FORMAT);
    if (!strstr(rv_last_error(), bad[i].needle))
      fail_msg("\"%s\" does not mention %s", rv_last_error(), bad[i].needle);
  }
}

/* f16 / bf16 files load as the f32 their halves stand for; misaligned f32 is copied. */
static void test_conversion(void **s) {
  (void)s;
  const char *dts[] = {"F16", "BF16", "F32"};
  for (int k = 0; k < 3; k++) {
    char p[512];
    tmp_path("h.safetensors", p, sizeof p);
    write_model(p, small_cfg, &(fault){.dtype = dts[k], .misalign = k == 2});
    rv_model *m = NULL;
    if (rv_model_load(p, &m) != RV_OK) fail_msg("%s: %s", dts[k], rv_last_error());
    rv_tensor t;
    assert_int_equal(rv_model_find(m, "patch_embed.weight", &t), RV_OK);
    rv_rng rng; /* the builder's first tensor is patch_embed.weight, from seed 9 */
    rv_rng_seed(&rng, 9);
    float *d = t.data;
    for (int64_t i = 0; i < rv_tensor_nelem(&t); i++) {
      float v = rv_rng_normal(&rng);
      float want = k == 0   ? rv_f16_to_f32(rv_f32_to_f16(v))
                   : k == 1 ? rv_bf16_to_f32(rv_f32_to_bf16(v))
                            : v;
      assert_float_equal(d[i], want, 0.0f);
    }
    assert_int_equal((uintptr_t)t.data % sizeof(float), 0); /* the misaligned f32 was copied */
    rv_model_tensor_info info;
    assert_int_equal(rv_model_tensor(m, 0, &info), RV_OK);
    assert_string_equal(info.stored, dts[k]);
    rv_model_free(m);
  }
}

static void test_accessors(void **s) {
  (void)s;
  char p[512];
  tmp_path("a.safetensors", p, sizeof p);
  write_model(p, small_cfg, &(fault){0});
  rv_model *m = NULL;
  assert_int_equal(rv_model_load(p, &m), RV_OK);
  const rv_vit_config *c = rv_model_config(m);
  assert_int_equal(c->width, 8);
  assert_int_equal(c->num_classes, 2);
  assert_int_equal(rv_vit_dense_channels(c), 1 + 2 + 4);
  assert_string_equal(rv_model_label(m, RV_LABEL_CLASS, 1), "bag");
  assert_null(rv_model_label(m, RV_LABEL_CLASS, 2));
  assert_null(rv_model_label(m, RV_LABEL_TRACK_ACTION, 0));
  int64_t params = 0;
  for (int i = 0; i < rv_model_tensor_count(m); i++) {
    rv_model_tensor_info info;
    assert_int_equal(rv_model_tensor(m, i, &info), RV_OK);
    params += rv_tensor_nelem(&info.t);
  }
  assert_int_equal(params, rv_model_param_count(m));
  rv_tensor t;
  assert_int_equal(rv_model_find(m, "no.such.tensor", &t), RV_ERR_NOT_FOUND);
  assert_non_null(strstr(rv_model_config_json(m), "\"patch\": 8"));
  rv_model_free(m);
  rv_model_free(NULL);
}

static int setup(void **s) {
  (void)s;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/rv-model-load-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **s) {
  (void)s;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_container_faults), cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_tensor_faults),    cmocka_unit_test(test_conversion),
      cmocka_unit_test(test_accessors),        cmocka_unit_test(test_tracking_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
