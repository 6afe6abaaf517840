/* `mpirun -np R ringvit analyze` on a generated scene: the temporal stage runs
 * ring-distributed over R processes and rank 0 writes what one process writes.
 *   - R in {2, 3}, offline and stream modes, give the annotations of R = 1: the same lines,
 *     timestamps, ids, labels and object counts, and numbers equal to fp32 rounding (the
 *     ring merges attention blocks in another order, so the last digits of a box may
 *     differ; the bytes are not compared);
 *   - offline, each rank keeps only its share of the tokens: the summary's "tokens KB per
 *     rank" (the largest rank's) is within a frame's share of 1/R of R = 1's;
 *   - only rank 0 prints: one summary line for the whole job;
 *   - ranks started with different options fail together, naming the difference;
 *   - a rank killed mid-run: with mpirun --enable-recovery (the job is not torn down) rank
 *     0 exits 3 with a clear message within the comm timeout; with plain mpirun the job is
 *     stopped with mpirun's message; either way every line rank 0 wrote is kept, whole, and
 *     equal to the uninterrupted run's.
 * Usage: test-analyze-mpi RINGVIT_BINARY MPIRUN (ctest passes both). */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli-run.h"
#include "rv-test.h"

static const char *ringvit, *mpirun;
static char dir[] = "/tmp/rv-analyze-mpi-XXXXXX";
static char clip[256], longclip[256], model[1024];

static char *path_in(const char *name, char *buf) {
  snprintf(buf, 512, "%s/%s", dir, name);
  return buf;
}

/* argv: [mpirun options... -np R sh -c ...] + ringvit + args; R = 0: ringvit alone. Under
 * mpirun each rank runs in a shell that reports its exit status: "rank 0 exit 3" (mpirun's
 * own status does not always carry it). */
static pid_t start(int R, const char *const *mpi_opts, const char *const *args, const char *err) {
  const char *argv[48];
  int n = 0;
  char np[16];
  if (R > 0) {
    snprintf(np, sizeof np, "%d", R);
    argv[n++] = mpirun;
    argv[n++] = "--allow-run-as-root";
    argv[n++] = "--oversubscribe";
    for (; mpi_opts && *mpi_opts; mpi_opts++)
      argv[n++] = *mpi_opts;
    argv[n++] = "-np";
    argv[n++] = np;
    argv[n++] = "/bin/sh";
    argv[n++] = "-c";
    argv[n++] = "\"$0\" \"$@\"; echo \"rank $OMPI_COMM_WORLD_RANK exit $?\" >&2";
  }
  argv[n++] = ringvit;
  for (; *args && n < 47; args++)
    argv[n++] = *args;
  argv[n] = NULL;
  return rv_spawn(argv, err);
}

static int analyze(int R, const char *in, const char *mode, const char *fps, const char *out,
                   const char *err, int quiet) {
  const char *args[] = {"analyze", in,  "--model", model,  "--mode",           mode, "--fps",
                        fps,       "-o", out,      quiet ? "-q" : NULL, NULL};
  return rv_wait(start(R, NULL, args, err), 300.0);
}

static int setup(void **state) {
  (void)state;
  assert_non_null(mkdtemp(dir));
  char gt[512];
  snprintf(clip, sizeof clip, "%s/clip.mp4", dir);
  snprintf(longclip, sizeof longclip, "%s/long.mp4", dir);
  rv_test_source_path("tests/data/pipeline/busy.model.safetensors", model, sizeof model);
  const char *a[] = {ringvit, "synth", "--seconds", "20", "--seed", "11", "-o", clip,
                     "--gt",  path_in("gt", gt), NULL};
  assert_int_equal(rv_wait(rv_spawn(a, NULL), 120.0), 0);
  const char *b[] = {ringvit, "synth", "--seconds", "60", "--seed", "3", "-o", longclip,
                     "--gt",  path_in("gt-long", gt), NULL};
  assert_int_equal(rv_wait(rv_spawn(b, NULL), 120.0), 0);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  return rv_remove_tree(dir);
}

/* ---- comparing annotations ---- */

/* Equal JSON values, numbers to fp32 rounding (boxes are normalized to [0, 1] or pixels). */
static int same_value(json_t *a, json_t *b) {
  if (json_is_number(a) && json_is_number(b)) {
    double x = json_number_value(a), y = json_number_value(b);
    return fabs(x - y) <= 1e-5 * (1.0 + fabs(x));
  }
  if (json_typeof(a) != json_typeof(b)) return 0;
  if (json_is_object(a)) {
    const char *k;
    json_t *v;
    if (json_object_size(a) != json_object_size(b)) return 0;
    json_object_foreach(a, k, v) {
      json_t *w = json_object_get(b, k);
      if (!w || !same_value(v, w)) return 0;
    }
    return 1;
  }
  if (json_is_array(a)) {
    if (json_array_size(a) != json_array_size(b)) return 0;
    for (size_t i = 0; i < json_array_size(a); i++)
      if (!same_value(json_array_get(a, i), json_array_get(b, i))) return 0;
    return 1;
  }
  return json_equal(a, b);
}

/* Whole lines of a file (each ends with a newline), at most cap; returns the count. */
static size_t lines_of(char *text, char **lines, size_t cap) {
  size_t n = 0;
  for (char *l = text; *l && n < cap;) {
    char *nl = strchr(l, '\n');
    assert_non_null(nl); /* every line is whole: nothing half-written */
    *nl = 0;
    lines[n++] = l;
    l = nl + 1;
  }
  return n;
}

/* got's lines equal the first lines of want (all of them when whole). Returns got's count. */
static size_t expect_same_annotations(const char *got_path, const char *want_path, int whole) {
  enum { CAP = 4096 };
  static char *g[CAP], *w[CAP];
  char *gt = rv_slurp(got_path, NULL), *wt = rv_slurp(want_path, NULL);
  assert_non_null(gt);
  assert_non_null(wt);
  size_t ng = lines_of(gt, g, CAP), nw = lines_of(wt, w, CAP);
  if (whole) assert_int_equal(ng, nw);
  assert_true(ng <= nw);
  for (size_t i = 0; i < ng; i++) {
    json_error_t e;
    json_t *a = json_loads(g[i], 0, &e), *b = json_loads(w[i], 0, &e);
    assert_non_null(a);
    if (!same_value(a, b)) fail_msg("%s line %zu differs:\n%s\n%s", got_path, i + 1, g[i], w[i]);
    json_decref(a);
    json_decref(b);
  }
  free(gt);
  free(wt);
  return ng;
}

static int count_of(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* The summary's "tokens X KB per rank" of a run's stderr. */
static double token_kb(const char *err_path) {
  char *msg = rv_slurp(err_path, NULL);
  assert_non_null(msg);
  const char *at = strstr(msg, "; tokens ");
  assert_non_null(at);
  double kb = atof(at + strlen("; tokens "));
  assert_non_null(strstr(at, " KB per rank)"));
  free(msg);
  return kb;
}

static void ranks_equal_one(const char *mode) {
  char one[512], got[512], err[512], name[64];
  snprintf(name, sizeof name, "%s-1.jsonl", mode);
  assert_int_equal(analyze(0, clip, mode, "2", path_in(name, one), path_in("r1.err", err), 0), 0);
  double kb1 = token_kb(err);
  assert_true(kb1 > 0);
  for (int R = 2; R <= 3; R++) {
    snprintf(name, sizeof name, "%s-%d.jsonl", mode, R);
    assert_int_equal(analyze(R, clip, mode, "2", path_in(name, got), path_in("r.err", err), 0), 0);
    print_message("%s, R=%d: %zu lines as R=1\n", mode, R,
                  expect_same_annotations(got, one, 1));
    double kb = token_kb(err);
    print_message("%s, R=%d: tokens %.1f KB per rank, R=1 %.1f KB\n", mode, R, kb, kb1);
    if (!strcmp(mode, "offline")) { /* a context of ~58 frames: a share within 1 frame */
      assert_true(kb * R <= kb1 * 1.06);
      assert_true(kb * R >= kb1 * 0.94);
    }
    char *msg = rv_slurp(err, NULL);
    assert_int_equal(count_of(msg, "ringvit analyze: "), 2); /* rank 0: summary, path */
    assert_int_equal(count_of(msg, " exit 0\n"), R);
    free(msg);
  }
}

static void test_ranks_equal_one_offline(void **state) {
  (void)state;
  ranks_equal_one("offline");
}

static void test_ranks_equal_one_stream(void **state) {
  (void)state;
  ranks_equal_one("stream");
}

/* mpirun's MPMD form: rank 0 samples at 2 fps, rank 1 at 3 fps. */
static void test_ranks_that_differ(void **state) {
  (void)state;
  char out[512], err[512];
  path_in("differ.jsonl", out);
  const char *argv[] = {mpirun, "--allow-run-as-root", "--oversubscribe",
                        "-np",  "1",                   ringvit,
                        "analyze", clip, "--model", model, "--fps", "2", "-o", out, "-q",
                        ":",    "-np",                 "1",
                        ringvit, "analyze", clip, "--model", model, "--fps", "3", "-o", out, "-q",
                        NULL};
  int st = rv_wait(rv_spawn(argv, path_in("differ.err", err)), 120.0);
  char *msg = rv_slurp(err, NULL);
  assert_true(st > 0);
  /* the first value that differs is named: the context planned from the rate */
  const char *said = strstr(msg, "the ranks' analyses differ: context frames is ");
  assert_non_null(said);
  assert_non_null(strstr(said, " on rank 0 but "));
  assert_non_null(strstr(said, " on rank 1"));
  free(msg);
}

/* ---- a rank dies ---- */

/* The ringvit process that is rank `rank` of a running mpirun job, 0 when none. */
static pid_t find_rank(int rank) {
  char want[64], path[300], buf[8192];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
  DIR *d = opendir("/proc");
  struct dirent *e;
  pid_t found = 0;
  while (d && !found && (e = readdir(d))) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0) continue;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    if (strcmp(buf, ringvit)) continue; /* argv[0] is our binary */
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    f = fopen(path, "rb");
    n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
      if (!strcmp(buf + i, want)) found = pid;
  }
  if (d) closedir(d);
  return found;
}

static size_t lines_in(const char *path) {
  char *t = rv_slurp(path, NULL);
  size_t n = t ? (size_t)count_of(t, "\n") : 0;
  free(t);
  return n;
}

/* Starts R=2 on the long clip (stream mode, comm timeout 3 s), kills rank 1 once rank 0
 * has written 20 lines; returns mpirun's status and the lines written before the kill. */
static int kill_rank_one(const char *const *mpi_opts, const char *out, const char *err,
                         size_t *before) {
  const char *args[] = {"analyze", longclip, "--model", model, "--mode", "stream",
                        "--fps",   "10",     "-o",      out,   "-q",     NULL};
  setenv("RINGVIT_COMM_TIMEOUT", "3", 1);
  pid_t job = start(2, mpi_opts, args, err);
  unsetenv("RINGVIT_COMM_TIMEOUT");
  pid_t victim = 0;
  for (int i = 0; i < 6000 && !victim; i++) { /* up to a minute */
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
    if ((*before = lines_in(out)) >= 20) victim = find_rank(1);
  }
  if (!victim) {
    rv_wait(job, 0.0);
    fail_msg("rank 1 was not found while rank 0 wrote %s", out);
  }
  kill(victim, SIGKILL);
  return rv_wait(job, 60.0); /* a hang is killed here and fails below */
}

static void test_dead_rank(void **state) {
  (void)state;
  char one[512], out[512], err[512];
  assert_int_equal(analyze(0, longclip, "stream", "10", path_in("long-1.jsonl", one), NULL, 1), 0);
  size_t before = 0;
  /* the job survives the death: rank 0 finds it out and says so */
  static const char *const recovery[] = {"--enable-recovery", NULL};
  int st = kill_rank_one(recovery, path_in("dead.jsonl", out), path_in("dead.err", err), &before);
  char *msg = rv_slurp(err, NULL);
  print_message("killed rank 1 after %zu lines; mpirun %d; stderr:\n%s", before, st, msg);
  assert_int_not_equal(st, -SIGKILL); /* not hung */
  assert_non_null(strstr(msg, "ringvit analyze: failed: "));
  assert_non_null(strstr(msg, "rank 0 exit 3"));
  assert_true(strstr(msg, "did not complete in 3 s") || strstr(msg, "rank 1"));
  assert_true(expect_same_annotations(out, one, 0) >= before);
  free(msg);
  /* plain mpirun tears the job down itself: non-zero, naming the rank; lines kept */
  st = kill_rank_one(NULL, path_in("dead2.jsonl", out), path_in("dead2.err", err), &before);
  msg = rv_slurp(err, NULL);
  print_message("plain mpirun %d after %zu lines\n", st, before);
  assert_true(st > 0);
  assert_non_null(strstr(msg, "rank 1"));
  assert_true(expect_same_annotations(out, one, 0) >= before);
  free(msg);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: test-analyze-mpi RINGVIT_BINARY MPIRUN\n");
    return 2;
  }
  ringvit = argv[1];
  mpirun = argv[2];
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranks_equal_one_offline),
      cmocka_unit_test(test_ranks_equal_one_stream),
      cmocka_unit_test(test_ranks_that_differ),
      cmocka_unit_test(test_dead_rank),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
