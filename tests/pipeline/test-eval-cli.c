/* `ringvit eval` end to end on a generated scene's ground truth: against itself (MOT txt,
 * and JSON Lines sampled at half the GT rate with the actions) every figure is 100; a
 * perturbed copy scores less with the ID switches it was given; --per-class with one
 * class's objects given a name the GT lacks; the JSON keys; the exit
 * codes and the file:line of bad input.
 * Usage: test-eval-cli RINGVIT_BINARY (ctest passes the build's ringvit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <jansson.h>

#include <ringvit/annot.h>
#include <ringvit/eval.h>

#include "rv-test.h"

static const char *ringvit;
static char dir[] = "/tmp/rv-eval-cli-XXXXXX";
static char gt[300], out[300], err[300];

static const char *path_in(const char *name) {
  static char buf[4][300];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

/* Runs `ringvit ARGS`, stdout into `out`, stderr into `err`; returns the exit status. */
static int run(const char *args) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s'", ringvit, args, out, err);
  int rc = system(cmd);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static json_t *eval_json(const char *gt_arg, const char *pred) {
  char args[1024];
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s' --json", gt_arg, pred);
  int rc = run(args);
  if (rc != 0) fail_msg("ringvit eval exited %d: %s", rc, slurp(err));
  json_error_t e;
  json_t *j = json_loads(slurp(out), 0, &e);
  if (!j) fail_msg("not one JSON object: %s", e.text);
  return j;
}

static double num(json_t *j, const char *key) {
  json_t *v = json_object_get(j, key);
  if (!json_is_number(v)) fail_msg("no number \"%s\"", key);
  return json_number_value(v);
}

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(dir)) return -1;
  snprintf(gt, sizeof gt, "%s/gt", dir);
  snprintf(out, sizeof out, "%s/out.txt", dir);
  snprintf(err, sizeof err, "%s/err.txt", dir);
  char args[1024];
  snprintf(args, sizeof args, "synth --seconds 20 --seed 5 -q -o '%s' --gt '%s'",
           path_in("clip.rgb"), gt);
  return run(args) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *const TRACK_KEYS[] = {"HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1"};
static const char *const ACTION_KEYS[] = {"action_mAP_30", "action_mAP_50", "action_mAP_70",
                                          "action_F1_50"};

/* The GT's own gt.txt as the prediction: 100 everywhere, no action keys (MOT txt has none). */
static void test_cli_self_mot(void **state) {
  (void)state;
  json_t *j = eval_json(gt, path_in("gt/gt.txt"));
  for (size_t k = 0; k < sizeof TRACK_KEYS / sizeof *TRACK_KEYS; k++)
    assert_float_equal(num(j, TRACK_KEYS[k]), 100, 0);
  assert_true(json_is_integer(json_object_get(j, "IDSW")));
  assert_int_equal(json_integer_value(json_object_get(j, "IDSW")), 0);
  assert_true(num(j, "GT_Dets") > 100);
  assert_null(json_object_get(j, "action_mAP_50"));
  /* re-entries, by default after 10 s away (the GT's rate from meta.json): all keep their id */
  assert_float_equal(num(j, "reentry_gap_s"), 10, 0);
  assert_float_equal(num(j, "reentry_same_id"), num(j, "reentries"), 0);
  assert_float_equal(num(j, "reentry_IDSW"), 0, 0);
  json_decref(j);
}

static int disjoint(const rv_eval_box *a, const rv_eval_box *b) {
  return a->x + a->w <= b->x || b->x + b->w <= a->x || a->y + a->h <= b->y || b->y + b->h <= a->y;
}

/* The ids of two boxes of `frame` that do not overlap. */
static void pick_pair(const rv_eval_data *d, int64_t frame, uint64_t *a, uint64_t *b) {
  *a = *b = 0;
  for (int64_t i = 0; i < d->n_boxes && !*a; i++)
    for (int64_t k = i + 1; k < d->n_boxes && !*a; k++)
      if (d->boxes[i].frame == frame && d->boxes[k].frame == frame &&
          disjoint(&d->boxes[i], &d->boxes[k]))
        *a = (uint64_t)d->boxes[i].id, *b = (uint64_t)d->boxes[k].id;
  if (!*a) fail_msg("frame %lld has no two separate objects", (long long)frame);
}

/* Writes the GT as JSON Lines the way `ringvit analyze` would, keeping every `step`-th
 * frame, with the GT's action lines; `swap_after` > 0 swaps two ids from that frame on.
 * Objects carry their GT class's name, but those of class `ghost_of` (NULL: none) "ghost". */
static void write_jsonl_labelled(const char *path, int step, int64_t swap_after,
                                 const char *ghost_of) {
  rv_eval_data d;
  uint64_t sa = 0, sb = 0;
  assert_int_equal(rv_eval_load_gt(gt, &d), RV_OK);
  assert_true(d.fps > 0);
  if (swap_after > 0) pick_pair(&d, swap_after, &sa, &sb);
  rv_jsonl_writer *w;
  assert_int_equal(rv_jsonl_open(path, &w), RV_OK);
  int64_t last = d.boxes[d.n_boxes - 1].frame, i = 0;
  rv_annot_object *objs = calloc((size_t)d.n_boxes, sizeof *objs);
  for (int64_t f = 1; f <= last; f++) {
    int n = 0;
    for (; i < d.n_boxes && d.boxes[i].frame == f; i++) {
      const rv_eval_box *b = &d.boxes[i];
      uint64_t id = (uint64_t)b->id;
      if (swap_after > 0 && f >= swap_after && (id == sa || id == sb)) id = id == sa ? sb : sa;
      /* gt.txt is 1-based; the writer takes 0-based pixels */
      objs[n++] = (rv_annot_object){id,
                                    (float)(b->x - 1),
                                    (float)(b->y - 1),
                                    (float)(b->x - 1 + b->w),
                                    (float)(b->y - 1 + b->h),
                                    1.0f,
                                    b->cls,
                                    d.classes[b->cls]};
      if (ghost_of && !strcmp(objs[n - 1].label, ghost_of)) objs[n - 1].label = "ghost";
    }
    if ((f - 1) % step) continue;
    rv_annot_frame fr = {(int64_t)llround((double)(f - 1) * 1e9 / d.fps), f - 1, 640, 360, objs, n};
    assert_int_equal(rv_jsonl_write_frame(w, &fr), RV_OK);
  }
  for (int64_t k = 0; k < d.n_segments; k++) {
    const rv_eval_segment *s = &d.segments[k];
    rv_action_segment a = {
        s->scene ? 0 : (uint64_t)s->track_id, 0, s->label, s->start_ns, s->end_ns, 0.9f};
    assert_int_equal(rv_jsonl_write_action(w, &a), RV_OK);
  }
  assert_int_equal(rv_jsonl_close(w), RV_OK);
  free(objs);
  rv_eval_data_free(&d);
}

static void write_jsonl(const char *path, int step, int64_t swap_after) {
  write_jsonl_labelled(path, step, swap_after, NULL);
}

/* JSON Lines at half the GT rate, matched by timestamp: 100 on the sampled frames, and the
 * actions, each on its GT object's track, at 100 too. */
static void test_cli_self_jsonl_sampled(void **state) {
  (void)state;
  const char *p = path_in("half.jsonl");
  write_jsonl(p, 2, 0);
  json_t *j = eval_json(gt, p);
  for (size_t k = 0; k < sizeof TRACK_KEYS / sizeof *TRACK_KEYS; k++)
    assert_float_equal(num(j, TRACK_KEYS[k]), 100, 1e-9);
  for (size_t k = 0; k < sizeof ACTION_KEYS / sizeof *ACTION_KEYS; k++)
    assert_float_equal(num(j, ACTION_KEYS[k]), 100, 1e-9);
  assert_string_equal(json_string_value(json_object_get(j, "action_match")), "track");
  json_t *classes = json_object_get(j, "action_per_class");
  assert_true(json_array_size(classes) > 0);
  for (size_t k = 0; k < json_array_size(classes); k++)
    assert_float_equal(num(json_array_get(classes, k), "AP_50"), 100, 1e-9);
  json_t *jm = eval_json(gt, path_in("gt/gt.txt"));
  double frames = num(j, "Frames"), all = num(jm, "Frames");
  assert_true(frames >= all / 2 - 1 && frames <= all / 2 + 1); /* every other frame */
  json_decref(jm);
  json_decref(j);
}

/* Swapping two ids halfway costs ID switches and association, not detection. */
static void test_cli_perturbed(void **state) {
  (void)state;
  const char *p = path_in("swap.jsonl");
  write_jsonl(p, 1, 60);
  json_t *j = eval_json(gt, p);
  assert_true(num(j, "IDSW") >= 1);
  assert_true(num(j, "AssA") < 100);
  assert_true(num(j, "HOTA") < 100);
  assert_true(num(j, "IDF1") < 100);
  assert_float_equal(num(j, "DetA"), 100, 1e-9);
  assert_float_equal(num(j, "MOTA"), 100.0 * (1 - num(j, "IDSW") / num(j, "GT_Dets")), 1e-3);
  json_decref(j);
}

static json_t *class_row(json_t *rows, const char *label) {
  for (size_t k = 0; k < json_array_size(rows); k++)
    if (!strcmp(json_string_value(json_object_get(json_array_get(rows, k), "label")), label))
      return json_array_get(rows, k);
  fail_msg("no per-class row \"%s\"", label);
  return NULL;
}

/* --per-class: every class of the GT against the objects with its name scores 100; a class
 * whose objects carry a name the GT does not know scores 0, and that name gets a row of its
 * own with every box a false positive. */
static void test_cli_per_class(void **state) {
  (void)state;
  rv_eval_data d;
  assert_int_equal(rv_eval_load_gt(gt, &d), RV_OK);
  assert_true(d.n_classes >= 2);
  char moved[RV_EVAL_LABEL_MAX];
  snprintf(moved, sizeof moved, "%s", d.classes[d.boxes[0].cls]);
  rv_eval_data_free(&d);
  write_jsonl_labelled(path_in("ghost.jsonl"), 1, 0, moved);
  char args[1024];
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s' --json --per-class", gt,
           path_in("ghost.jsonl"));
  assert_int_equal(run(args), 0);
  json_t *j = json_loads(slurp(out), 0, NULL), *rows = json_object_get(j, "per_class");
  assert_true(json_array_size(rows) >= 3); /* the moved class, another, the ghost */
  double gt_dets = 0;
  for (size_t k = 0; k < json_array_size(rows); k++) {
    json_t *r = json_array_get(rows, k);
    const char *label = json_string_value(json_object_get(r, "label"));
    gt_dets += num(r, "GT_Dets");
    int lost = !strcmp(label, moved), ghost = !strcmp(label, "ghost");
    static const char *const scored[] = {"HOTA", "DetA", "AssA", "IDF1"}; /* 0 without a match */
    for (size_t t = 0; t < sizeof scored / sizeof *scored; t++)
      assert_float_equal(num(r, scored[t]), lost || ghost ? 0 : 100, 1e-9);
    if (!lost && !ghost) assert_float_equal(num(r, "MOTA"), 100, 1e-9);
    assert_true(lost ? num(r, "Dets") == 0 : num(r, "Dets") > 0);
    assert_true(ghost ? num(r, "GT_Dets") == 0 : num(r, "GT_Dets") > 0);
  }
  assert_float_equal(gt_dets, num(j, "GT_Dets"), 0);
  assert_float_equal(num(class_row(rows, "ghost"), "Dets"), num(class_row(rows, moved), "GT_Dets"),
                     0);
  json_decref(j);
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s' --per-class", gt, path_in("ghost.jsonl"));
  assert_int_equal(run(args), 0);
  assert_non_null(strstr(slurp(out), "GT boxes"));
  assert_non_null(strstr(slurp(out), "ghost"));
}

static void expect_exit(const char *args, int code, const char *in_stderr) {
  int rc = run(args);
  if (rc != code) fail_msg("'%s' exited %d, expected %d: %s", args, rc, code, slurp(err));
  if (in_stderr && !strstr(slurp(err), in_stderr))
    fail_msg("'%s': stderr lacks '%s': %s", args, in_stderr, slurp(err));
}

static void test_cli_exit_codes(void **state) {
  (void)state;
  char args[1024];
  expect_exit("eval --help", 0, NULL);
  assert_non_null(strstr(slurp(out), "--pred"));
  expect_exit("eval", 1, "--gt and --pred are required");
  expect_exit("eval --gt x", 1, "required");
  expect_exit("eval --gt x --pred y --frobnicate", 1, "unknown option");
  expect_exit("eval --gt x --pred y --fps -3", 1, "--fps");
  expect_exit("eval --gt x --pred y --reentry-gap -1", 1, "--reentry-gap");
  expect_exit("eval --gt x --pred y --reentry-gap soon", 1, "--reentry-gap");
  expect_exit("eval --gt x --pred y --min-vis 1.5", 1, "--min-vis");
  expect_exit("eval --gt x --pred y --min-vis nan", 1, "--min-vis");
  expect_exit("eval --gt x --pred", 1, "missing value");
  expect_exit("eval --gt x --pred y --action-match space", 1, "--action-match");
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s'", gt, path_in("none.txt"));
  expect_exit(args, 2, "none.txt");
  FILE *f = fopen(path_in("bad.txt"), "w");
  fputs("1,1,10,10,5,5,1\n2,1,10,10,5,5,1\n1,1,10,10,5,5,1\n", f);
  fclose(f);
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s'", gt, path_in("bad.txt"));
  expect_exit(args, 2, "bad.txt:3:");
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s'", path_in("bad.txt"),
           path_in("gt/gt.txt"));
  expect_exit(args, 2, "bad.txt:3:");
  /* per class: a MOT txt prediction has no labels, a GT without meta.json no class names */
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s' --per-class", gt, path_in("gt/gt.txt"));
  expect_exit(args, 2, "no labels");
  f = fopen(path_in("one.txt"), "w");
  fputs("1,1,10,10,5,5,1,1,1\n", f);
  fclose(f);
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s' --per-class", path_in("one.txt"),
           path_in("ghost.jsonl"));
  expect_exit(args, 2, "no class names");
  /* the table */
  snprintf(args, sizeof args, "eval --gt '%s' --pred '%s'", gt, path_in("gt/gt.txt"));
  expect_exit(args, 0, NULL);
  assert_non_null(strstr(slurp(out), "HOTA"));
  assert_non_null(strstr(slurp(out), "IDSW"));
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test-eval-cli RINGVIT_BINARY\n");
    return 1;
  }
  ringvit = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cli_self_mot),   cmocka_unit_test(test_cli_self_jsonl_sampled),
      cmocka_unit_test(test_cli_perturbed),  cmocka_unit_test(test_cli_per_class),
      cmocka_unit_test(test_cli_exit_codes),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
