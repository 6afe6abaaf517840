/* Ring attention over R ranks equals single-rank full attention (fp32 max relative error
 * <= 1e-5 on the reference backend; see ring-case.h for the cpu backend) for every mask, R in {1,
 * 2, 3, 4, 5, 8} on local threads, contiguous, zigzag and skewed layouts, odd and uneven token
 * counts, several head dims, packed and fused q/k/v; with --mpi, the same cases on this process's
 * rank of mpirun. Also: blocks that masks hide are skipped and windows stop the ring early. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ring-case.h"
#include "ring-test.h"

enum { MAX_RANKS = 8 };

typedef struct case_job {
  const rv_ring_case *rc;
  rv_ring_result res[MAX_RANKS];
} case_job;

static rv_status case_rank(rv_comm *comm, rv_backend *be, void *user) {
  case_job *j = user;
  int rank = comm ? rv_comm_rank(comm) : 0;
  return rv_ring_case_run(j->rc, be, comm, &j->res[rank % MAX_RANKS]);
}

static double tolerance(void) {
  return rv_test_backend == RV_BACKEND_CPU_REF ? RV_RING_TOL_REF : RV_RING_TOL_CPU;
}

static void run_local(const rv_ring_case *rc, int R, case_job *j) {
  j->rc = rc;
  if (rv_test_local_ranks(R, 30.0, case_rank, j, NULL) != RV_OK)
    fail_msg("%s, R=%d: %s", rc->name, R, rv_last_error());
  for (int r = 0; r < R; r++)
    rv_ring_result_assert(rc, &j->res[r], R, r, tolerance());
}

static void exact_local(rv_backend_kind kind) {
  static const int ranks[] = {1, 2, 3, 4, 5, 8};
  static case_job j;
  rv_test_backend = kind;
  for (size_t i = 0; i < rv_ring_case_count; i++)
    for (size_t k = 0; k < sizeof ranks / sizeof ranks[0]; k++)
      run_local(&rv_ring_cases[i], ranks[k], &j);
  rv_test_backend = RV_BACKEND_CPU;
}

static void test_exact_local_ref(void **state) {
  (void)state;
  exact_local(RV_BACKEND_CPU_REF);
}

static void test_exact_local_cpu(void **state) {
  (void)state;
  exact_local(RV_BACKEND_CPU);
}

/* Zigzag with a causal mask skips the blocks above the diagonal; a window of 3 frames
 * over contiguous shares of many frames needs only the neighbouring rank's block. */
static void test_skips(void **state) {
  (void)state;
  static case_job j;
  run_local(&rv_ring_cases[2], 4, &j); /* 210 tokens, 30 frames, zigzag */
  int64_t skipped = 0;
  for (int r = 0; r < 4; r++)
    skipped += j.res[r].stats.blocks_skipped;
  assert_true(skipped > 0);
  run_local(&rv_ring_cases[0], 4, &j); /* 150 tokens, 15 frames, contiguous */
  /* per mask: none, causal need 4 steps, window (causal, 3 frames) 2, band 4 */
  for (int r = 0; r < 4; r++)
    assert_int_equal(j.res[r].stats.steps, 4 + 4 + 2 + 4);
}

static void exact_mpi(rv_backend_kind kind) {
  static case_job j;
  int R = rv_comm_size(rv_test_world), rank = rv_comm_rank(rv_test_world);
  rv_test_backend = kind;
  for (size_t i = 0; i < rv_ring_case_count; i++) {
    j.rc = &rv_ring_cases[i];
    if (rv_test_world_rank(case_rank, &j) != RV_OK)
      fail_msg("%s, R=%d, rank %d: %s", j.rc->name, R, rank, rv_last_error());
    rv_ring_result_assert(j.rc, &j.res[rank % MAX_RANKS], R, rank, tolerance());
  }
  rv_test_backend = RV_BACKEND_CPU;
}

static void test_exact_mpi_ref(void **state) {
  (void)state;
  exact_mpi(RV_BACKEND_CPU_REF);
}

static void test_exact_mpi_cpu(void **state) {
  (void)state;
  exact_mpi(RV_BACKEND_CPU);
}

/* --mpi --leave-mid-ring (under mpirun --enable-recovery, which keeps a job running when
 * a process dies): rank 1 vanishes (no goodbye, no MPI_Finalize) at a random moment while
 * the ranks run ring attention over and over; every other rank's call must fail with an
 * error naming what it waited for, within the comm timeout (2 s) instead of hanging. Each
 * survivor prints "rank R: the ring failed cleanly: ..." for ctest to match, or
 * "UNEXPECTED" and exits 1, and leaves without MPI_Finalize (it would wait for the dead). */
static void *vanish_later(void *arg) {
  struct timespec ts = {0, *(long *)arg};
  nanosleep(&ts, NULL);
  _exit(0);
  return NULL;
}

static int leave_mid_ring(void) {
  static case_job j;
  static long delay_ns;
  rv_comm_set_timeout(rv_test_world, 2.0);
  int rank = rv_comm_rank(rv_test_world);
  if (rank == 1) {
    pthread_t t;
    delay_ns = 100000000L + (long)(time(NULL) % 7) * 30000000L; /* 100 to 280 ms */
    pthread_create(&t, NULL, vanish_later, &delay_ns);
  }
  j.rc = &rv_ring_cases[2]; /* 210 tokens, zigzag: every mask, several steps each */
  rv_status st = RV_OK;
  for (int i = 0; i < 100000 && st == RV_OK; i++)
    st = rv_test_world_rank(case_rank, &j);
  const char *msg = rv_last_error();
  int clear = (st == RV_ERR_TIMEOUT || st == RV_ERR_COMM) &&
              (strstr(msg, "did not complete in 2 s") || strstr(msg, "gave up"));
  printf("rank %d: %s: %s\n", rank, clear ? "the ring failed cleanly" : "UNEXPECTED",
         st < 0 ? msg : "no error");
  fflush(stdout);
  _exit(clear ? 0 : 1);
}

int main(int argc, char **argv) {
  if (rv_test_mpi_setup(argc, argv)) {
    for (int i = 1; i < argc; i++)
      if (!strcmp(argv[i], "--leave-mid-ring")) return leave_mid_ring();
    const struct CMUnitTest mpi[] = {cmocka_unit_test(test_exact_mpi_ref),
                                     cmocka_unit_test(test_exact_mpi_cpu)};
    return rv_test_mpi_teardown(cmocka_run_group_tests(mpi, NULL, NULL));
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exact_local_ref),
      cmocka_unit_test(test_exact_local_cpu),
      cmocka_unit_test(test_skips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
