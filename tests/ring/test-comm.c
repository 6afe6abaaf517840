/* The comm layer: ring exchanges, allgather, bcast, barrier and config checks on local
 * groups of several sizes (and on mpirun ranks with --mpi); failures surface as errors,
 * never hangs: a rank that leaves, a rank that never calls (timeout), an abort, a size
 * mismatch, bad arguments, and a broken comm refusing later calls. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ring-test.h"

enum { MAX_RANKS = 8, WORDS = 3000 };

typedef struct basics {
  int errors[MAX_RANKS]; /* wrong values seen by each rank */
} basics;

/* R ring steps passing rank-tagged words on; then allgather, bcast from every root,
 * barrier and an agreeing config check. Counts wrong values instead of asserting, so
 * it runs on any thread. */
static rv_status basics_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  rv_status st = RV_OK;
  basics *b = user;
  int r = rv_comm_rank(c), R = rv_comm_size(c), bad = 0;
  static _Thread_local int32_t a[WORDS], in[WORDS];
  for (int i = 0; i < WORDS; i++)
    a[i] = r * 100000 + i;
  for (int s = 1; s < R + 1; s++) {
    rv_comm_xfer x = {a, sizeof a, rv_comm_next(c), in, sizeof in, rv_comm_prev(c)};
    RV_TRY(rv_comm_start(c, &x));
    int done = 0;
    RV_TRY(rv_comm_progress(c, &done));
    RV_TRY(rv_comm_wait(c));
    int from = ((r - s) % R + R) % R;
    for (int i = 0; i < WORDS; i++)
      bad += in[i] != from * 100000 + i;
    memcpy(a, in, sizeof a);
  }
  int64_t mine = 7 * r + 1, all[MAX_RANKS];
  RV_TRY(rv_comm_allgather(c, &mine, sizeof mine, all));
  for (int i = 0; i < R; i++)
    bad += all[i] != 7 * i + 1;
  for (int root = 0; root < R; root++) {
    int64_t v = r == root ? 1000 + root : -1;
    RV_TRY(rv_comm_bcast(c, &v, sizeof v, root));
    bad += v != 1000 + root;
  }
  RV_TRY(rv_comm_barrier(c));
  static const char *const names[] = {"a", "b"};
  int64_t vals[] = {R, 42};
  RV_TRY(rv_comm_check_same(c, "test config", 2, names, vals));
  b->errors[r % MAX_RANKS] = bad;
fail:
  return st;
}

static void test_basics_local(void **state) {
  (void)state;
  static const int ranks[] = {1, 2, 3, 5, 8};
  for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++) {
    basics b = {{0}};
    int R = ranks[k];
    if (rv_test_local_ranks(R, 10.0, basics_rank, &b, NULL) != RV_OK)
      fail_msg("R=%d: %s", R, rv_last_error());
    for (int r = 0; r < R; r++)
      assert_int_equal(b.errors[r], 0);
  }
}

/* The same through an emulated slow link (the copy engines pace transfers). */
static void test_paced_link(void **state) {
  (void)state;
  basics b = {{0}};
  rv_comm_group_cfg g = {RV_COMM_LOCAL, 3, 10.0, RV_MEM_HOST, 2e9, NULL};
  if (rv_test_group(&g, basics_rank, &b, NULL) != RV_OK) fail_msg("%s", rv_last_error());
  for (int r = 0; r < 3; r++)
    assert_int_equal(b.errors[r], 0);
  g.link_bytes_per_s = -1;
  assert_int_equal(rv_test_group(&g, basics_rank, &b, NULL), RV_ERR_INVALID);
}

/* ---- failures ---- */

typedef struct fault {
  rv_status st[MAX_RANKS];
  char msg[MAX_RANKS][512];
  atomic_int finished; /* ranks done with their part */
} fault;

static void note(fault *f, int r, rv_status st) {
  f->st[r] = st;
  snprintf(f->msg[r], sizeof f->msg[r], "%s", st < 0 ? rv_last_error() : "");
}

static rv_status exchange_with_prev_next(rv_comm *c) {
  static _Thread_local char out[64], in[64];
  rv_comm_xfer x = {out, sizeof out, rv_comm_next(c), in, sizeof in, rv_comm_prev(c)};
  return rv_comm_sendrecv(c, &x);
}

/* Rank 1 returns at once; the others' exchanges with it fail (they do not wait for the
 * timeout), and the comm refuses later calls. */
static rv_status leaver_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  int r = rv_comm_rank(c);
  if (r == 1) return RV_OK;
  note(f, r, exchange_with_prev_next(c));
  rv_status again = rv_comm_barrier(c);
  if (f->st[r] < 0 && again != RV_ERR_COMM) f->st[r] = RV_ERR_INTERNAL;
  return RV_OK;
}

static void test_rank_leaves(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(3, 60.0, leaver_rank, &f, NULL), RV_OK);
  for (int r = 0; r < 3; r += 2) {
    assert_int_equal(f.st[r], RV_ERR_COMM);
    assert_true(strstr(f.msg[r], "left the group") || strstr(f.msg[r], "gave up") ||
                strstr(f.msg[r], "aborted"));
  }
}

/* Rank 1 stays but never calls until the others have given up: they time out. */
static rv_status silent_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  int r = rv_comm_rank(c);
  if (r == 1) {
    while (atomic_load(&f->finished) < rv_comm_size(c) - 1) {
      struct timespec ts = {0, 1000000};
      nanosleep(&ts, NULL);
    }
    return RV_OK;
  }
  note(f, r, exchange_with_prev_next(c));
  atomic_fetch_add(&f->finished, 1);
  return RV_OK;
}

static void test_silent_rank_times_out(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(3, 0.2, silent_rank, &f, NULL), RV_OK);
  /* the first to time out aborts the group, so the other may fail with its notice */
  int timeouts = 0;
  for (int r = 0; r < 3; r += 2) {
    assert_true(f.st[r] == RV_ERR_TIMEOUT || f.st[r] == RV_ERR_COMM);
    timeouts += f.st[r] == RV_ERR_TIMEOUT;
  }
  assert_true(timeouts >= 1);
  assert_non_null(strstr(f.st[0] == RV_ERR_TIMEOUT ? f.msg[0] : f.msg[2], "did not complete"));
}

/* Rank 0 aborts with a reason; the others, waiting for data from it, fail with that
 * reason. */
static rv_status abort_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  int r = rv_comm_rank(c);
  if (r == 0) {
    rv_comm_abort(c, "operator pressed stop");
    note(f, r, rv_comm_barrier(c)); /* a broken comm refuses at once */
    return RV_OK;
  }
  static _Thread_local char in[64];
  rv_comm_xfer x = {NULL, 0, 0, in, sizeof in, 0};
  note(f, r, rv_comm_sendrecv(c, &x));
  return RV_OK;
}

static void check_aborted(const fault *f, int R) {
  assert_int_equal(f->st[0], RV_ERR_COMM);
  assert_non_null(strstr(f->msg[0], "broken"));
  for (int r = 1; r < R; r++) {
    assert_int_equal(f->st[r], RV_ERR_COMM);
    assert_non_null(strstr(f->msg[r], "operator pressed stop"));
  }
}

static void test_abort(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(2, 60.0, abort_rank, &f, NULL), RV_OK);
  check_aborted(&f, 2);
}

/* Rank 0 sends 8 bytes, rank 1 expects 16: both fail. */
static rv_status mismatch_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  int r = rv_comm_rank(c);
  static _Thread_local char buf[16];
  rv_comm_xfer x = {0};
  if (r == 0)
    x = (rv_comm_xfer){buf, 8, 1, NULL, 0, 0};
  else
    x = (rv_comm_xfer){NULL, 0, 0, buf, 16, 0};
  note(f, r, rv_comm_sendrecv(c, &x));
  return RV_OK;
}

static void test_size_mismatch(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(2, 60.0, mismatch_rank, &f, NULL), RV_OK);
  assert_int_equal(f.st[1], RV_ERR_COMM);
  assert_non_null(strstr(f.msg[1], "8 bytes"));
}

/* Values that differ across ranks: the same clear error on every rank. */
static rv_status differ_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  int r = rv_comm_rank(c);
  static const char *const names[] = {"heads", "head_dim"};
  int64_t vals[] = {4, r == 2 ? 32 : 64};
  note(f, r, rv_comm_check_same(c, "model config", 2, names, vals));
  return RV_OK;
}

static void check_differ(const fault *f, int R) {
  for (int r = 0; r < R; r++) {
    assert_int_equal(f->st[r], RV_ERR_INVALID);
    assert_non_null(strstr(f->msg[r], "head_dim is 64 on rank 0 but 32 on rank 2"));
  }
}

static void test_values_differ(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(3, 60.0, differ_rank, &f, NULL), RV_OK);
  check_differ(&f, 3);
}

static rv_status bad_args_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  fault *f = user;
  char buf[8];
  int r = rv_comm_rank(c), bad = 0;
  rv_comm_xfer far = {buf, 8, 5, NULL, 0, 0}, self = {buf, 8, r, buf, 8, r};
  bad += rv_comm_start(c, &far) != RV_ERR_INVALID;
  bad += rv_comm_start(c, NULL) != RV_ERR_INVALID;
  bad += rv_comm_wait(c) != RV_OK; /* nothing in flight */
  bad += rv_comm_start(c, &self) != RV_OK;
  bad += rv_comm_start(c, &self) != RV_ERR_INVALID; /* one in flight already */
  bad += rv_comm_barrier(c) != RV_ERR_INVALID;      /* not with one in flight */
  bad += rv_comm_wait(c) != RV_OK;
  bad += rv_comm_bcast(c, buf, 8, 9) != RV_ERR_INVALID;
  bad += rv_comm_is_broken(c);
  f->st[r] = bad ? RV_ERR_INTERNAL : RV_OK;
  return RV_OK;
}

static void test_bad_args(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(rv_test_local_ranks(2, 60.0, bad_args_rank, &f, NULL), RV_OK);
  assert_int_equal(f.st[0], RV_OK);
  assert_int_equal(f.st[1], RV_OK);
  rv_comm_group_cfg g = {RV_COMM_LOCAL, 0, 1.0, RV_MEM_HOST, 0, NULL};
  assert_int_equal(rv_comm_local_group(&g, NULL, NULL, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_comm_rank(NULL), -1);
  assert_true(rv_comm_available(RV_COMM_LOCAL));
  rv_comm_free(NULL);
}

/* A rank function's error is the group's, with the rank in the message. */
static rv_status failing_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  (void)user;
  if (rv_comm_rank(c) == 1) return RV_FAIL(RV_ERR_IO, "disk on fire");
  return RV_OK;
}

static void test_rank_error_reported(void **state) {
  (void)state;
  rv_status st[2];
  assert_int_equal(rv_test_local_ranks(2, 60.0, failing_rank, NULL, st), RV_ERR_IO);
  assert_non_null(strstr(rv_last_error(), "rank 1 of 2"));
  assert_non_null(strstr(rv_last_error(), "disk on fire"));
  assert_int_equal(st[0], RV_OK);
  assert_int_equal(st[1], RV_ERR_IO);
}

/* ---- under mpirun: each test on a fresh duplicate of the world ---- */

static rv_status on_fresh_world(rv_rank_job job, void *user) {
  rv_comm *c = NULL;
  rv_comm_mpi_cfg cfg = {0.5, NULL};
  rv_status st = rv_comm_mpi_init(&cfg, &c);
  if (st < 0) return st;
  rv_backend *be = NULL;
  rv_backend_cfg bc = {RV_BACKEND_CPU, 1, 0};
  if ((st = rv_backend_init(&bc, &be)) == RV_OK) st = job(c, be, user);
  rv_backend_free(be);
  rv_comm_free(c);
  return st;
}

static void test_basics_mpi(void **state) {
  (void)state;
  basics b = {{0}};
  int r = rv_comm_rank(rv_test_world);
  if (on_fresh_world(basics_rank, &b) != RV_OK) fail_msg("%s", rv_last_error());
  assert_int_equal(b.errors[r], 0);
}

static void test_abort_mpi(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(on_fresh_world(abort_rank, &f), RV_OK);
  int r = rv_comm_rank(rv_test_world);
  assert_int_equal(f.st[r], RV_ERR_COMM);
  assert_non_null(strstr(f.msg[r], r == 0 ? "broken" : "operator pressed stop"));
  rv_comm_barrier(rv_test_world);
}

static void test_values_differ_mpi(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  assert_int_equal(on_fresh_world(differ_rank, &f), RV_OK);
  int r = rv_comm_rank(rv_test_world);
  if (rv_comm_size(rv_test_world) < 3) {
    assert_int_equal(f.st[r], RV_OK);
    return;
  }
  assert_int_equal(f.st[r], RV_ERR_INVALID);
  assert_non_null(strstr(f.msg[r], "head_dim is 64 on rank 0 but 32 on rank 2"));
}

static void test_silent_rank_mpi(void **state) {
  (void)state;
  static fault f;
  memset(&f, 0, sizeof f);
  int r = rv_comm_rank(rv_test_world);
  /* rank 1 makes no call on the fresh comm: the others time out (0.5 s) */
  f.finished = rv_comm_size(rv_test_world); /* rank 1 does not wait for anyone here */
  assert_int_equal(on_fresh_world(silent_rank, &f), RV_OK);
  /* a rank receiving from rank 1 must fail; a send to it may complete (eager protocol) */
  int R = rv_comm_size(rv_test_world);
  if ((r + R - 1) % R == 1) assert_true(f.st[r] == RV_ERR_TIMEOUT || f.st[r] == RV_ERR_COMM);
  rv_comm_barrier(rv_test_world);
}

int main(int argc, char **argv) {
  if (rv_test_mpi_setup(argc, argv)) {
    const struct CMUnitTest mpi[] = {
        cmocka_unit_test(test_basics_mpi),
        cmocka_unit_test(test_values_differ_mpi),
        cmocka_unit_test(test_abort_mpi),
        cmocka_unit_test(test_silent_rank_mpi),
    };
    return rv_test_mpi_teardown(cmocka_run_group_tests(mpi, NULL, NULL));
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basics_local),
      cmocka_unit_test(test_paced_link),
      cmocka_unit_test(test_rank_leaves),
      cmocka_unit_test(test_silent_rank_times_out),
      cmocka_unit_test(test_abort),
      cmocka_unit_test(test_size_mismatch),
      cmocka_unit_test(test_values_differ),
      cmocka_unit_test(test_bad_args),
      cmocka_unit_test(test_rank_error_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
