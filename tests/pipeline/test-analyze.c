/* `ringvit analyze` end to end on a generated scene: every line valid against the schema,
 * timestamps increasing, ids the same as in the MOT output, stream and offline modes,
 * --resume after a kill (or a cut at any byte) giving the file of an uninterrupted run, and
 * the exit codes and single error line of bad invocations.
 * Usage: test-analyze RINGVIT_BINARY (ctest passes the build's ringvit). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli-run.h"
#include "rv-schema.h"
#include "rv-test.h"

static const char *ringvit;
static char dir[] = "/tmp/rv-analyze-XXXXXX";
static char clip[256], gt[256], model[1024];

/* Runs ringvit with argv (NULL-terminated, without the program), stderr into `err` (may
 * be NULL); returns the exit status, or -signal. kill_after_ms > 0 kills it then. */
static int run(const char *const *args, const char *err, int kill_after_ms) {
  const char *argv[32] = {ringvit};
  int n = 1;
  for (; args[n - 1]; n++) argv[n] = args[n - 1];
  argv[n] = NULL;
  pid_t pid = rv_spawn(argv, err);
  if (kill_after_ms > 0) {
    struct timespec ts = {kill_after_ms / 1000, (kill_after_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
  }
  return rv_wait(pid, 600.0);
}

static char *path_in(const char *name, char *buf) {
  snprintf(buf, 512, "%s/%s", dir, name);
  return buf;
}

static char *slurp(const char *path, size_t *len) { return rv_slurp(path, len); }

static int setup(void **state) {
  (void)state;
  assert_non_null(mkdtemp(dir));
  snprintf(clip, sizeof clip, "%s/clip.mp4", dir);
  snprintf(gt, sizeof gt, "%s/gt", dir);
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", model, sizeof model);
  const char *args[] = {"synth", "--seconds", "20", "--seed", "11", "-o", clip, "--gt", gt, NULL};
  assert_int_equal(run(args, NULL, 0), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return rv_remove_tree(dir);
}

static int analyze(const char *mode, const char *out, const char *mot, const char *extra) {
  const char *args[] = {"analyze", clip, "--model", model, "--mode", mode, "-o", out, "-q",
                        mot ? "--mot" : extra, mot ? mot : NULL, mot ? extra : NULL, NULL};
  return run(args, NULL, 0);
}

/* ids sorted ascending, as text "1,4,7". */
static void format_ids(long *ids, size_t n, char *buf, size_t cap) {
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && ids[b] < ids[b - 1]; b--) {
      long t = ids[b];
      ids[b] = ids[b - 1];
      ids[b - 1] = t;
    }
  buf[0] = 0;
  for (size_t k = 0; k < n; k++)
    snprintf(buf + strlen(buf), cap - strlen(buf), "%s%ld", k ? "," : "", ids[k]);
}

/* Object ids of a frame line, sorted, as text "1,4,7". */
static void line_ids(json_t *line, char *buf, size_t cap) {
  long ids[512];
  size_t n = 0, i;
  json_t *o;
  json_array_foreach(json_object_get(line, "objects"), i, o) {
    if (n < 512) ids[n++] = (long)json_integer_value(json_object_get(o, "id"));
  }
  format_ids(ids, n, buf, cap);
}

/* The MOT rows of frame `frame` (1-based source frame), ids sorted the same way. */
static void mot_ids(const char *mot, long frame, char *buf, size_t cap) {
  long ids[512];
  size_t n = 0;
  for (const char *l = mot; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
    long f = 0, id = 0;
    if (sscanf(l, "%ld,%ld,", &f, &id) == 2 && f == frame && n < 512) ids[n++] = id;
  }
  format_ids(ids, n, buf, cap);
}

/* Checks a JSON Lines output; returns its frame count and, with mot, compares ids. */
static long check_output(const char *path, const char *mot_path) {
  json_t *schema = rv_schema_load();
  char *text = slurp(path, NULL), *mot = mot_path ? slurp(mot_path, NULL) : NULL;
  assert_non_null(text);
  long frames = 0, objects = 0;
  long long last_ts = -1;
  char *save = NULL;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    json_error_t err;
    json_t *j = json_loads(l, 0, &err);
    assert_non_null(j);
    assert_true(rv_schema_valid(schema, schema, j));
    if (!json_object_get(j, "event")) {
      long long ts = json_integer_value(json_object_get(j, "timestamp"));
      assert_true(ts > last_ts);
      last_ts = ts;
      frames++;
      objects += (long)json_array_size(json_object_get(j, "objects"));
      if (mot) {
        char a[4096], b[4096];
        line_ids(j, a, sizeof a);
        mot_ids(mot, (long)json_integer_value(json_object_get(j, "frame_index")) + 1, b,
                sizeof b);
        assert_string_equal(a, b);
      }
    } else {
      assert_true(json_integer_value(json_object_get(j, "start")) <=
                  json_integer_value(json_object_get(j, "end")));
    }
    json_decref(j);
  }
  assert_true(objects > 0); /* the busy model reports objects: the ids were compared */
  free(text);
  free(mot);
  json_decref(schema);
  return frames;
}

static void test_offline_and_stream_outputs(void **state) {
  (void)state;
  char out[512], mot[512], sout[512];
  assert_int_equal(analyze("offline", path_in("off.jsonl", out), path_in("off.mot", mot), NULL), 0);
  long frames = check_output(out, mot);
  assert_true(frames >= 39 && frames <= 41); /* 20 s at the model's 2 fps */
  assert_int_equal(analyze("stream", path_in("str.jsonl", sout), NULL, NULL), 0);
  assert_int_equal(check_output(sout, NULL), frames);
  /* ringvit eval reads both against the scene's GT: the JSON frame lines land on distinct
   * GT frames by timestamp (2 fps of a 10 fps GT), and the MOT frames are GT frames */
  char err[512];
  const char *e1[] = {"eval", "--gt", gt, "--pred", out, "--json", NULL};
  assert_int_equal(run(e1, path_in("eval.err", err), 0), 0);
  const char *e2[] = {"eval", "--gt", gt, "--pred", mot, "--json", NULL};
  assert_int_equal(run(e2, err, 0), 0);
}

/* Cuts a finished output at `at` bytes, as a killed run would leave it, and resumes. */
static void resume_from_cut(const char *full, size_t len, size_t at, const char *name) {
  char part[512];
  path_in(name, part);
  FILE *f = fopen(part, "wb");
  fwrite(full, 1, at, f);
  fclose(f);
  assert_int_equal(analyze("offline", part, NULL, "--resume"), 0);
  size_t got_len = 0;
  char *got = slurp(part, &got_len);
  assert_int_equal(got_len, len);
  assert_memory_equal(got, full, len);
  free(got);
}

static void test_resume_gives_the_uninterrupted_file(void **state) {
  (void)state;
  char out[512];
  assert_int_equal(analyze("offline", path_in("full.jsonl", out), NULL, NULL), 0);
  size_t len = 0;
  char *full = slurp(out, &len);
  assert_true(len > 100);
  rv_rng rng;
  rv_rng_seed(&rng, (uint64_t)time(NULL)); /* a different cut each run; printed on failure */
  size_t cuts[] = {0, len, (size_t)(rv_rng_next(&rng) % len), (size_t)(rv_rng_next(&rng) % len)};
  for (size_t i = 0; i < 4; i++) {
    print_message("resuming from a cut at byte %zu of %zu\n", cuts[i], len);
    resume_from_cut(full, len, cuts[i], "cut.jsonl");
  }
  /* a real kill at a random moment, then --resume */
  char killed[512];
  path_in("killed.jsonl", killed);
  const char *args[] = {"analyze", clip, "--model", model, "-o", killed, "-q", NULL};
  int ms = 20 + (int)(rv_rng_next(&rng) % 400);
  print_message("killing after %d ms\n", ms);
  run(args, NULL, ms);
  assert_int_equal(analyze("offline", killed, NULL, "--resume"), 0);
  char *got = slurp(killed, NULL);
  assert_string_equal(got, full);
  free(got);
  free(full);
}

static void test_resume_refuses_another_runs_file(void **state) {
  (void)state;
  char out[512], err[512];
  path_in("other.jsonl", out);
  FILE *f = fopen(out, "w");
  fputs("{\"timestamp\":0,\"objects\":[]}\n", f);
  fclose(f);
  const char *args[] = {"analyze", clip, "--model", model, "-o", out, "-q", "--resume", NULL};
  assert_int_equal(run(args, path_in("other.err", err), 0), 2);
  char *msg = slurp(err, NULL);
  assert_non_null(strstr(msg, "cannot be resumed"));
  free(msg);
}

/* One line on stderr, and the exit code. */
/* Frame lines of a JSON Lines output, every line checked against the schema. */
static long count_frames(const char *path) {
  json_t *schema = rv_schema_load();
  char *text = slurp(path, NULL), *save = NULL;
  assert_non_null(text);
  long frames = 0;
  for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    json_t *j = json_loads(l, 0, NULL);
    assert_non_null(j);
    assert_true(rv_schema_valid(schema, schema, j));
    frames += json_object_get(j, "event") == NULL;
    json_decref(j);
  }
  free(text);
  json_decref(schema);
  return frames;
}

static void expect_failure(const char *const *args, int code, const char *needle) {
  char err[512];
  assert_int_equal(run(args, path_in("fail.err", err), 0), code);
  char *msg = slurp(err, NULL);
  int lines = 0;
  for (const char *c = msg; *c; c++) lines += *c == '\n';
  if (needle) assert_non_null(strstr(msg, needle));
  assert_int_equal(lines, 1);
  free(msg);
}

/* An offline window of 1 s (at 2 fps, the last 3 frames for the demo model's frame-causal
 * temporal attention) gives every frame, with other numbers than the whole-clip context;
 * stream mode, and a model with sliding-window attention, refuse a window. */
static void test_offline_window(void **state) {
  (void)state;
  char whole[512], band[512], err[512];
  char demo[1024];
  rv_test_source_path("samples/models/rv-demo.safetensors", demo, sizeof demo);
  const char *g[] = {"analyze", clip, "--model", demo, "-o", path_in("whole.jsonl", whole), "-q", NULL};
  assert_int_equal(run(g, NULL, 0), 0);
  const char *a[] = {"analyze", clip, "--model", demo, "--window", "1", "-o",
                     path_in("band.jsonl", band), "-q", NULL};
  assert_int_equal(run(a, NULL, 0), 0);
  assert_int_equal(count_frames(band), count_frames(whole));
  char *x = slurp(whole, NULL), *y = slurp(band, NULL);
  assert_true(strcmp(x, y) != 0);
  free(x);
  free(y);
  const char *s[] = {"analyze", clip, "--model", demo, "--mode", "stream", "--window", "1",
                     "-o", path_in("str-w.jsonl", err), NULL};
  expect_failure(s, 1, "window");
  const char *w[] = {"analyze", clip, "--model", model, "--window", "1", "-o", err, NULL};
  expect_failure(w, 1, "band");
}

static void test_bad_invocations(void **state) {
  (void)state;
  char missing[512];
  path_in("no-such.mp4", missing);
  const char *a1[] = {"analyze", missing, "--model", model, NULL};
  expect_failure(a1, 2, "no-such.mp4");
  const char *a2[] = {"analyze", clip, "--model", "/etc/hostname", NULL};
  expect_failure(a2, 2, "/etc/hostname");
  const char *a3[] = {"analyze", clip, "--fps", "fast", NULL};
  expect_failure(a3, 1, "--fps");
  const char *a4[] = {"analyze", clip, "--bogus", NULL};
  expect_failure(a4, 1, "--bogus");
  const char *a5[] = {"analyze", NULL};
  expect_failure(a5, 1, "one input");
  const char *a6[] = {"analyze", "--help", NULL};
  assert_int_equal(run(a6, NULL, 0), 0);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test-analyze RINGVIT_BINARY\n");
    return 2;
  }
  ringvit = argv[1];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_offline_and_stream_outputs),
      cmocka_unit_test(test_offline_window),
      cmocka_unit_test(test_resume_gives_the_uninterrupted_file),
      cmocka_unit_test(test_resume_refuses_another_runs_file),
      cmocka_unit_test(test_bad_invocations),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
