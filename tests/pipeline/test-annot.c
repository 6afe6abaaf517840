/* The writers: JSON lines valid against docs/annotations.schema.json (a small validator of
 * the keywords the schema uses), the gvametaconvert fields and values, MOTChallenge rows,
 * a killed writer leaving every completed line intact, and bad input. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include <ringvit/annot.h>

#include "rv-schema.h"
#include "rv-test.h"

static json_t *schema_root;

static void load_schema(void) {
  if (!schema_root) schema_root = rv_schema_load();
}

static int valid(const json_t *s, const json_t *v) { return rv_schema_valid(schema_root, s, v); }

static const char *labels[] = {"person", "vehicle"};

static void frame_objects(rv_annot_object *o, int n, int k) {
  for (int i = 0; i < n; i++)
    o[i] = (rv_annot_object){(uint64_t)(i + 1) * (i % 3 != 2),
                             10.25f + i + k % 50,
                             20.5f,
                             110.75f + i + k % 50,
                             220.0f,
                             0.5f + 0.001f * i,
                             i % 2,
                             labels[i % 2]};
}

static void test_jsonl_fields_and_schema(void **state) {
  (void)state;
  load_schema();
  char path[] = "/tmp/rv-annot-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  rv_jsonl_writer *w = NULL;
  assert_int_equal(rv_jsonl_open(path, &w), RV_OK);
  rv_annot_object o[4];
  frame_objects(o, 4, 0);
  rv_annot_frame f = {1500000000LL, 45, 1920, 1080, o, 4};
  assert_int_equal(rv_jsonl_write_frame(w, &f), RV_OK);
  rv_annot_frame empty = {1533333333LL, -1, 1920, 1080, NULL, 0};
  assert_int_equal(rv_jsonl_write_frame(w, &empty), RV_OK);
  rv_action_segment a1 = {7, 1, "fall", 1000000000LL, 2500000000LL, 0.75f};
  rv_action_segment a0 = {0, 0, "crowd", 0, 3000000000LL, 0.5f};
  assert_int_equal(rv_jsonl_write_action(w, &a1), RV_OK);
  assert_int_equal(rv_jsonl_write_action(w, &a0), RV_OK);
  assert_int_equal(rv_jsonl_close(w), RV_OK);

  FILE *in = fopen(path, "r");
  char line[8192];
  json_t *lines[4];
  for (int i = 0; i < 4; i++) {
    assert_non_null(fgets(line, sizeof line, in));
    json_error_t err;
    lines[i] = json_loads(line, 0, &err);
    assert_non_null(lines[i]);
    assert_true(valid(schema_root, lines[i]));
  }
  assert_null(fgets(line, sizeof line, in));
  fclose(in);
  json_t *obj0 = json_array_get(json_object_get(lines[0], "objects"), 0);
  json_t *bb = json_object_get(json_object_get(obj0, "detection"), "bounding_box");
  assert_true(fabs(json_real_value(json_object_get(bb, "x_min")) - 10.25 / 1920) < 1e-9);
  assert_true(fabs(json_real_value(json_object_get(bb, "y_max")) - 220.0 / 1080) < 1e-9);
  assert_int_equal(json_integer_value(json_object_get(obj0, "x")), 10);
  assert_int_equal(json_integer_value(json_object_get(obj0, "w")), 101); /* 100.5 rounds up */
  assert_int_equal(json_integer_value(json_object_get(obj0, "id")), 1);
  assert_string_equal(json_string_value(json_object_get(obj0, "roi_type")), "person");
  assert_int_equal(json_integer_value(json_object_get(lines[0], "timestamp")), 1500000000LL);
  assert_int_equal(json_integer_value(json_object_get(lines[0], "frame_index")), 45);
  json_t *obj2 = json_array_get(json_object_get(lines[0], "objects"), 2);
  assert_null(json_object_get(obj2, "id")); /* untracked */
  assert_null(json_object_get(lines[1], "frame_index"));
  assert_int_equal(json_integer_value(json_object_get(lines[2], "track_id")), 7);
  assert_null(json_object_get(lines[3], "track_id"));
  /* a line missing a required field is rejected by the validator: the check can fail */
  json_object_del(lines[2], "end");
  assert_false(valid(schema_root, lines[2]));
  for (int i = 0; i < 4; i++)
    json_decref(lines[i]);
  json_decref(schema_root);
  remove(path);
}

static void test_mot_rows(void **state) {
  (void)state;
  char path[] = "/tmp/rv-mot-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  rv_mot_writer *w = NULL;
  assert_int_equal(rv_mot_open(path, &w), RV_OK);
  rv_annot_object o[3];
  frame_objects(o, 3, 0);
  assert_int_equal(rv_mot_write_frame(w, 3, o, 3), RV_OK);
  assert_int_equal(rv_mot_write_frame(w, 4, NULL, 0), RV_OK);
  assert_int_equal(rv_mot_write_frame(w, 0, o, 1), RV_ERR_INVALID);
  assert_int_equal(rv_mot_close(w), RV_OK);
  FILE *in = fopen(path, "r");
  char a[256], b[256], c[256];
  assert_non_null(fgets(a, sizeof a, in));
  assert_non_null(fgets(b, sizeof b, in));
  assert_non_null(fgets(c, sizeof c, in));
  assert_null(fgets(c + 100, 100, in));
  fclose(in);
  /* 1-based pixels: x1 = 10.25 is written 11.25 */
  assert_string_equal(a, "3,1,11.25,21.50,100.50,199.50,0.5000,-1,-1,-1\n");
  assert_string_equal(b, "3,2,12.25,21.50,100.50,199.50,0.5010,-1,-1,-1\n");
  assert_string_equal(c, "3,-1,13.25,21.50,100.50,199.50,0.5020,-1,-1,-1\n");
  remove(path);
}

/* A child writes big frame lines without end; it is killed once 300 are on disk. Every
 * newline-terminated line parses and validates; only the tail may be cut. */
static void test_jsonl_killed_run(void **state) {
  (void)state;
  load_schema();
  char path[] = "/tmp/rv-kill-XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    static rv_annot_object o[60];
    rv_jsonl_writer *w = NULL;
    if (rv_jsonl_open(path, &w) < 0) _exit(1);
    for (int k = 0;; k++) {
      frame_objects(o, 60, k);
      rv_annot_frame f = {(int64_t)k * 40000000LL, k, 1920, 1080, o, 60};
      if (rv_jsonl_write_frame(w, &f) < 0) _exit(1);
    }
  }
  struct stat sb;
  int status, exited = 0;
  for (;;) { /* until ~300 lines are on disk, or the child stopped by itself (a failure) */
    if (stat(path, &sb) == 0 && sb.st_size > 300 * 30000) break;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      exited = 1;
      break;
    }
    usleep(1000);
  }
  assert_false(exited);
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  assert_true(WIFSIGNALED(status));
  FILE *in = fopen(path, "r");
  static char line[65536];
  int complete = 0;
  while (fgets(line, sizeof line, in)) {
    size_t n = strlen(line);
    if (n == 0 || line[n - 1] != '\n') break; /* the cut tail */
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    if (!j) fail_msg("line %d does not parse: %s", complete + 1, err.text);
    assert_true(valid(schema_root, j));
    assert_int_equal(json_integer_value(json_object_get(j, "frame_index")), complete);
    json_decref(j);
    complete++;
  }
  fclose(in);
  assert_true(complete >= 300);
  json_decref(schema_root);
  remove(path);
}

static void test_annot_errors(void **state) {
  (void)state;
  rv_jsonl_writer *w = NULL;
  assert_int_equal(rv_jsonl_open("/nonexistent-dir/x.jsonl", &w), RV_ERR_IO);
  assert_null(w);
  rv_annot_object bad = {1, 10, 10, 5, 20, 0.5f, 0, "x"}; /* x2 < x1 */
  rv_annot_frame f = {0, 0, 100, 100, &bad, 1};
  char *s = NULL;
  assert_int_equal(rv_annot_frame_json(&f, &s), RV_ERR_INVALID);
  f.n_objects = 0;
  f.width = 0;
  assert_int_equal(rv_annot_frame_json(&f, &s), RV_ERR_INVALID);
  rv_action_segment seg = {1, 0, "a", 10, 5, 0.5f};
  assert_int_equal(rv_annot_action_json(&seg, &s), RV_ERR_INVALID);
  assert_null(s);
  assert_int_equal(rv_jsonl_close(NULL), RV_OK);
  assert_int_equal(rv_mot_close(NULL), RV_OK);
  /* a full disk surfaces as an I/O error, on the write and again on close */
  if (access("/dev/full", W_OK) == 0) {
    assert_int_equal(rv_jsonl_open("/dev/full", &w), RV_OK);
    rv_annot_frame ok = {0, 0, 10, 10, NULL, 0};
    assert_int_equal(rv_jsonl_write_frame(w, &ok), RV_ERR_IO);
    assert_int_equal(rv_jsonl_close(w), RV_ERR_IO);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_jsonl_fields_and_schema), cmocka_unit_test(test_mot_rows),
      cmocka_unit_test(test_jsonl_killed_run), cmocka_unit_test(test_annot_errors)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
