/* The pipelines of samples/gst-pipelines.md, run with gst-launch-1.0 and the plugin found
 * through GST_PLUGIN_PATH (the build tree; nothing installed): the moving ball, a generated
 * scene through rvsrc and through uridecodebin compared with `ringvit analyze` on the same
 * file (stream and offline), the annotated video, and a clear failure for a missing model.
 *
 * argv: RINGVIT GST_LAUNCH [demo]. "demo" checks that the demo model gives the ball one
 * track id throughout and that its snapped person boxes are the same through the elements
 * as through `ringvit analyze`; it is skipped (77) while samples/models has no demo model. */
#include <math.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <jansson.h>

#include "rv-schema.h"
#include "rv-test.h"

static const char *ringvit_cmd, *gst_launch;
static char busy[1024], dir[64] = "/tmp/rv-gst-launch-XXXXXX", scene[128];
static const char *analysed_with = busy; /* the model `ringvit analyze` is compared with */
static json_t *schema;

/* Runs a command line; returns its exit status, its stderr in *err (may be NULL). */
static int run(const char *cmdline, char **err) {
  char *out = NULL, *e = NULL;
  int status = 0;
  GError *ge = NULL;
  gboolean ok = g_spawn_command_line_sync(cmdline, &out, &e, &status, &ge);
  if (!ok) fail_msg("cannot run %s: %s", cmdline, ge->message);
  int code =
      g_spawn_check_wait_status(status, NULL) ? 0 : (WIFEXITED(status) ? WEXITSTATUS(status) : 128);
  if (code && !err) fprintf(stderr, "%s:\n%s\n", cmdline, e);
  if (err)
    *err = e;
  else
    g_free(e);
  g_free(out);
  return code;
}

static int launch(const char *pipeline, char **err) {
  char *cmd = g_strdup_printf("%s -q %s", gst_launch, pipeline);
  int code = run(cmd, err);
  g_free(cmd);
  return code;
}

/* The lines of a JSON Lines file, each checked against the annotation schema. */
static json_t *read_lines(const char *path) {
  json_t *lines = json_array();
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char buf[1 << 16];
  while (fgets(buf, sizeof buf, f)) {
    json_error_t err;
    json_t *j = json_loads(buf, 0, &err);
    assert_non_null(j);
    assert_true(rv_schema_valid(schema, schema, j));
    json_array_append_new(lines, j);
  }
  fclose(f);
  return lines;
}

static int is_frame(const json_t *j) { return json_object_get(j, "event") == NULL; }

static double num(const json_t *o, const char *k) {
  return json_number_value(json_object_get(o, k));
}

/* Equal values, numbers within a relative 1e-6 (`analyze` writes x2 as x + w in float). */
static int close_json(const json_t *a, const json_t *b) {
  if (json_is_number(a) && json_is_number(b)) {
    double x = json_number_value(a), y = json_number_value(b);
    return fabs(x - y) <= 1e-6 * fmax(1.0, fabs(x));
  }
  if (json_typeof(a) != json_typeof(b)) return 0;
  if (json_is_object(a)) {
    if (json_object_size(a) != json_object_size(b)) return 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) if (!close_json(v, json_object_get(b, k))) return 0;
    return 1;
  }
  if (json_is_array(a)) {
    if (json_array_size(a) != json_array_size(b)) return 0;
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!close_json(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  return json_equal((json_t *)a, (json_t *)b);
}

static void analyze(const char *mode, const char *out) {
  char *cmd = g_strdup_printf("%s analyze %s --model %s --mode %s -o %s", ringvit_cmd, scene,
                              analysed_with, mode, out);
  assert_int_equal(run(cmd, NULL), 0);
  g_free(cmd);
}

static void test_ball(void **state) {
  char *out = g_strdup_printf("%s/ball.jsonl", dir);
  char *p = g_strdup_printf(
      "videotestsrc pattern=ball num-buffers=300 ! videoconvert ! rvencoder model=%s ! "
      "rvtracker ! rvjsonsink location=%s",
      busy, out);
  assert_int_equal(launch(p, NULL), 0);
  json_t *lines = read_lines(out);
  int frames = 0;
  size_t i;
  json_t *j;
  json_array_foreach(lines, i, j) if (is_frame(j)) {
    /* 300 frames at 30 fps analysed at the model's 2 fps */
    assert_int_equal(json_integer_value(json_object_get(j, "timestamp")), frames * 500000000LL);
    assert_int_equal(json_integer_value(json_object_get(j, "frame_index")), frames * 15);
    assert_int_equal(num(json_object_get(j, "resolution"), "width"), 320);
    assert_true(json_array_size(json_object_get(j, "objects")) > 0);
    frames++;
  }
  assert_int_equal(frames, 20);
  json_decref(lines);
  g_free(p);
  g_free(out);
}

static double iou(const json_t *a, const json_t *b) {
  const json_t *p = json_object_get(json_object_get(a, "detection"), "bounding_box"),
               *q = json_object_get(json_object_get(b, "detection"), "bounding_box");
  double iw = fmin(num(p, "x_max"), num(q, "x_max")) - fmax(num(p, "x_min"), num(q, "x_min"));
  double ih = fmin(num(p, "y_max"), num(q, "y_max")) - fmax(num(p, "y_min"), num(q, "y_min"));
  double i = fmax(0, iw) * fmax(0, ih);
  double u = (num(p, "x_max") - num(p, "x_min")) * (num(p, "y_max") - num(p, "y_min")) +
             (num(q, "x_max") - num(q, "x_min")) * (num(q, "y_max") - num(q, "y_min")) - i;
  return u > 0 ? i / u : 0;
}

/* The JSON Lines of a pipeline equal `ringvit analyze`'s in mode `mode`, line by line. */
static void check_equals_analyze(const char *what, const char *mode, const char *pipeline,
                                 const char *out) {
  char *ref = g_strdup_printf("%s/analyze-%s.jsonl", dir, mode);
  analyze(mode, ref);
  assert_int_equal(launch(pipeline, NULL), 0);
  json_t *a = read_lines(ref), *b = read_lines(out);
  assert_true(json_array_size(a) > 20);
  assert_int_equal(json_array_size(a), json_array_size(b));
  for (size_t i = 0; i < json_array_size(a); i++)
    if (!close_json(json_array_get(a, i), json_array_get(b, i)))
      fail_msg("%s, %s: line %zu differs from ringvit analyze's", what, mode, i + 1);
  json_decref(a);
  json_decref(b);
  g_free(ref);
}

/* uridecodebin gives the very frames `analyze` decodes: the same annotations. */
static void test_uridecodebin_equals_analyze(void **state) {
  static const char *modes[] = {"stream", "offline"};
  for (int m = 0; m < 2; m++) {
    char *out = g_strdup_printf("%s/uri-%s.jsonl", dir, modes[m]);
    char *p =
        g_strdup_printf("uridecodebin uri=file://%s ! videoconvert ! rvencoder mode=%s model=%s ! "
                        "rvtracker ! rvjsonsink location=%s",
                        scene, modes[m], busy, out);
    check_equals_analyze("uridecodebin", modes[m], p, out);
    g_free(p);
    g_free(out);
  }
}

/* rvsrc passes the sampled frames on as decoded (I420), which rvencoder scales as analyze
 * does: the same annotations, whether rvsrc samples (fps=2) or hands over every frame. */
static void test_rvsrc_equals_analyze(void **state) {
  static const char *fps[] = {"fps=2", "fps=0"};
  for (int k = 0; k < 2; k++) {
    char *out = g_strdup_printf("%s/rvsrc-%d.jsonl", dir, k);
    char *p = g_strdup_printf(
        "rvsrc location=%s %s ! rvencoder model=%s ! rvtracker ! rvjsonsink location=%s", scene,
        fps[k], busy, out);
    check_equals_analyze(fps[k], "stream", p, out);
    g_free(p);
    g_free(out);
  }
}

/* Asked for another size, rvsrc converts to RGB itself: the same frames and times, and
 * nearly the same boxes (two scalings instead of one). */
static void test_rvsrc_scaled(void **state) {
  char *ref = g_strdup_printf("%s/analyze-stream.jsonl", dir),
       *out = g_strdup_printf("%s/rvsrc-scaled.jsonl", dir);
  analyze("stream", ref);
  char *p = g_strdup_printf("rvsrc location=%s fps=2 width=480 ! rvencoder model=%s ! rvtracker ! "
                            "rvjsonsink location=%s",
                            scene, busy, out);
  assert_int_equal(launch(p, NULL), 0);
  json_t *a = read_lines(ref), *b = read_lines(out);
  size_t ia = 0, ib = 0;
  int objects = 0, matched = 0, frames = 0;
  while (ia < json_array_size(a) && ib < json_array_size(b)) {
    json_t *x = json_array_get(a, ia), *y = json_array_get(b, ib);
    if (!is_frame(x)) {
      ia++;
      continue;
    }
    if (!is_frame(y)) {
      ib++;
      continue;
    }
    assert_int_equal(json_integer_value(json_object_get(x, "timestamp")),
                     json_integer_value(json_object_get(y, "timestamp")));
    assert_int_equal(json_integer_value(json_object_get(x, "frame_index")),
                     json_integer_value(json_object_get(y, "frame_index")));
    json_t *ox = json_object_get(x, "objects"), *oy = json_object_get(y, "objects");
    for (size_t i = 0; i < json_array_size(ox); i++) {
      objects++;
      for (size_t k = 0; k < json_array_size(oy); k++)
        if (iou(json_array_get(ox, i), json_array_get(oy, k)) >= 0.5) {
          matched++;
          break;
        }
    }
    frames++, ia++, ib++;
  }
  assert_int_equal(frames, 20);
  assert_true(objects > 50);
  assert_true(matched >= 0.8 * objects);
  json_decref(a);
  json_decref(b);
  g_free(p);
  g_free(out);
  g_free(ref);
}

/* With rvoverlay to an annotated video file, which reads back. */
static void test_overlay_to_video(void **state) {
  char *video = g_strdup_printf("%s/annotated.avi", dir),
       *out = g_strdup_printf("%s/annotated.jsonl", dir);
  char *p = g_strdup_printf(
      "rvsrc location=%s ! rvencoder model=%s ! rvtracker ! videoconvert ! rvoverlay ! "
      "videoconvert ! jpegenc ! avimux ! filesink location=%s",
      scene, busy, video);
  assert_int_equal(launch(p, NULL), 0);
  char *cmd = g_strdup_printf("%s analyze %s --model %s -o %s", ringvit_cmd, video, busy, out);
  assert_int_equal(run(cmd, NULL), 0);
  json_t *lines = read_lines(out);
  assert_true(json_array_size(lines) >= 20);
  json_decref(lines);
  g_free(cmd);
  g_free(p);
  g_free(out);
  g_free(video);
}

static void test_missing_model_fails_clearly(void **state) {
  char *err = NULL;
  int code = launch(
      "videotestsrc num-buffers=5 ! rvencoder model=/nonexistent/m.safetensors ! fakesink", &err);
  assert_int_not_equal(code, 0);
  assert_non_null(strstr(err, "/nonexistent/m.safetensors"));
  g_free(err);
}

/* With the trained demo model the ball is one object with one id from start to end. */
static int ball_demo(void) {
  char model[1024];
  rv_test_source_path("samples/models/rv-demo.safetensors", model, sizeof model);
  if (access(model, R_OK) != 0) {
    printf("skipped: no demo model at %s\n", model);
    return RV_TEST_SKIP_CODE;
  }
  char *out = g_strdup_printf("%s/ball-demo.jsonl", dir);
  char *p = g_strdup_printf(
      "videotestsrc pattern=ball num-buffers=300 ! videoconvert ! rvencoder model=%s ! "
      "rvtracker ! rvjsonsink location=%s",
      model, out);
  if (launch(p, NULL) != 0) return 1;
  json_t *lines = read_lines(out);
  json_int_t id = 0;
  int frames = 0, seen = 0, bad = 0;
  size_t i;
  json_t *j;
  json_array_foreach(lines, i, j) if (is_frame(j)) {
    frames++;
    json_t *objs = json_object_get(j, "objects");
    seen += json_array_size(objs) > 0;
    for (size_t k = 0; k < json_array_size(objs); k++) {
      json_int_t x = json_integer_value(json_object_get(json_array_get(objs, k), "id"));
      if (!id) id = x;
      bad += x != id;
    }
  }
  printf("ball: %d frames, %d with the ball, track id %lld, %d objects with another id\n", frames,
         seen, (long long)id, bad);
  json_decref(lines);
  g_free(p);
  g_free(out);
  return frames == 20 && seen >= 18 && bad == 0 ? 0 : 1;
}

/* The demo model snaps person boxes to the foreground (tracking.foreground_diff): rvencoder,
 * fed by uridecodebin, makes the masks in push mode from the frames it scales, analyze from
 * the frames it decodes; the annotations are the same. (The busy model's 32x32 input is too
 * coarse for a box to snap.) */
static void test_demo_snap_equals_analyze(void **state) {
  char *cmd = g_strdup_printf("%s synth --seconds 30 --seed 23 --density 2 -o %s --gt %s/gt",
                              ringvit_cmd, scene, dir);
  assert_int_equal(run(cmd, NULL), 0);
  char *out = g_strdup_printf("%s/demo-snap.jsonl", dir);
  char *p = g_strdup_printf("uridecodebin uri=file://%s ! videoconvert ! rvencoder mode=offline "
                            "model=%s ! rvtracker ! rvjsonsink location=%s",
                            scene, analysed_with, out);
  check_equals_analyze("demo model, snapped boxes", "offline", p, out);
  g_free(p);
  g_free(out);
  g_free(cmd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RINGVIT GST_LAUNCH [demo]\n", argv[0]);
    return 2;
  }
  ringvit_cmd = argv[1];
  gst_launch = argv[2];
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", busy, sizeof busy);
  if (!mkdtemp(dir)) return 1;
  schema = rv_schema_load();
  int rc;
  if (argc > 3 && !strcmp(argv[3], "demo")) {
    rc = ball_demo();
    static char demo[1024];
    rv_test_source_path("samples/models/rv-demo.safetensors", demo, sizeof demo);
    analysed_with = demo;
    g_snprintf(scene, sizeof scene, "%s/scene.mp4", dir);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_demo_snap_equals_analyze)};
    if (rc == 0) rc = cmocka_run_group_tests(tests, NULL, NULL);
  } else {
    g_snprintf(scene, sizeof scene, "%s/scene.mp4", dir);
    char *cmd =
        g_strdup_printf("%s synth --seconds 10 --seed 3 -o %s --gt %s/gt", ringvit_cmd, scene, dir);
    if (run(cmd, NULL) != 0) return 1;
    g_free(cmd);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ball),
        cmocka_unit_test(test_uridecodebin_equals_analyze),
        cmocka_unit_test(test_rvsrc_equals_analyze),
        cmocka_unit_test(test_rvsrc_scaled),
        cmocka_unit_test(test_overlay_to_video),
        cmocka_unit_test(test_missing_model_fails_clearly),
    };
    rc = cmocka_run_group_tests(tests, NULL, NULL);
  }
  json_decref(schema);
  char *rm = g_strdup_printf("rm -rf %s", dir);
  if (system(rm) != 0) rc = rc ? rc : 1;
  g_free(rm);
  return rc;
}
