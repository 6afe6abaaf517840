/* The nccl comm backend on this machine's GPUs: one rank per device as threads of this
 * process (ncclCommInitAll), device buffers. Ring exchanges carry rank-tagged words around
 * the ring, bcast from every root, allgather, barrier and the config check; an abort breaks
 * the comm so later calls fail at once. Reports skipped (77) without a CUDA device: NCCL
 * refuses two ranks on one GPU, so multi-rank ring logic on one GPU is tested with the
 * local backend over device buffers instead. */
#include <stdio.h>
#include <string.h>

#include <cuda_runtime.h>

#include "ring-test.h"

enum { MAX_RANKS = 8, WORDS = 4096 };

typedef struct ring_words {
  int errors[MAX_RANKS];
} ring_words;

static rv_status cuda_ok(cudaError_t e, const char *what) {
  return e == cudaSuccess ? RV_OK : RV_FAIL(RV_ERR_DEVICE, "%s: %s", what, cudaGetErrorString(e));
}

/* Sends this rank's words R times around the ring through device buffers and checks what
 * arrives after each step; then bcast, allgather, barrier and the config check. */
static rv_status nccl_rank(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  rv_status st = RV_OK;
  ring_words *w = user;
  int r = rv_comm_rank(c), R = rv_comm_size(c), bad = 0;
  int32_t host[WORDS], *a = NULL, *in = NULL;
  RV_TRY(cuda_ok(cudaMalloc((void **)&a, sizeof host), "cudaMalloc"));
  RV_TRY(cuda_ok(cudaMalloc((void **)&in, sizeof host), "cudaMalloc"));
  for (int i = 0; i < WORDS; i++)
    host[i] = r * 100000 + i;
  RV_TRY(cuda_ok(cudaMemcpy(a, host, sizeof host, cudaMemcpyHostToDevice), "upload"));
  for (int s = 1; s <= R; s++) {
    rv_comm_xfer x = {a, sizeof host, rv_comm_next(c), in, sizeof host, rv_comm_prev(c)};
    RV_TRY(rv_comm_sendrecv(c, &x));
    RV_TRY(cuda_ok(cudaMemcpy(host, in, sizeof host, cudaMemcpyDeviceToHost), "download"));
    int from = ((r - s) % R + R) % R;
    for (int i = 0; i < WORDS; i++)
      bad += host[i] != from * 100000 + i;
    RV_TRY(cuda_ok(cudaMemcpy(a, in, sizeof host, cudaMemcpyDeviceToDevice), "copy"));
  }
  for (int root = 0; root < R; root++) {
    int32_t v = r == root ? 1000 + root : -1;
    RV_TRY(cuda_ok(cudaMemcpy(a, &v, sizeof v, cudaMemcpyHostToDevice), "upload"));
    RV_TRY(rv_comm_bcast(c, a, sizeof v, root));
    RV_TRY(cuda_ok(cudaMemcpy(&v, a, sizeof v, cudaMemcpyDeviceToHost), "download"));
    bad += v != 1000 + root;
  }
  int64_t mine = 7 * r + 1, all[MAX_RANKS];
  RV_TRY(rv_comm_allgather(c, &mine, sizeof mine, all));
  for (int i = 0; i < R; i++)
    bad += all[i] != 7 * i + 1;
  RV_TRY(rv_comm_barrier(c));
  static const char *const names[] = {"ranks"};
  int64_t vals[] = {R};
  RV_TRY(rv_comm_check_same(c, "nccl test", 1, names, vals));
  w->errors[r] = bad;
fail:
  cudaFree(a);
  cudaFree(in);
  return st;
}

static int device_count(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) return 0;
  return n < MAX_RANKS ? n : MAX_RANKS;
}

static void test_ring_over_devices(void **state) {
  (void)state;
  ring_words w = {{0}};
  int R = device_count();
  rv_comm_group_cfg g = {RV_COMM_NCCL, R, 20.0, RV_MEM_DEVICE, 0.0, NULL};
  if (rv_test_group(&g, nccl_rank, &w, NULL) != RV_OK) fail_msg("R=%d: %s", R, rv_last_error());
  for (int r = 0; r < R; r++)
    assert_int_equal(w.errors[r], 0);
}

static rv_status abort_then_call(rv_comm *c, rv_backend *be, void *user) {
  (void)be;
  rv_status *after = user;
  rv_comm_abort(c, "test stop");
  after[rv_comm_rank(c)] = rv_comm_barrier(c);
  return RV_OK;
}

static void test_abort_breaks_the_comm(void **state) {
  (void)state;
  rv_status after[MAX_RANKS];
  int R = device_count();
  rv_comm_group_cfg g = {RV_COMM_NCCL, R, 5.0, RV_MEM_DEVICE, 0.0, NULL};
  assert_int_equal(rv_test_group(&g, abort_then_call, after, NULL), RV_OK);
  for (int r = 0; r < R; r++)
    assert_int_equal(after[r], RV_ERR_COMM);
}

int main(void) {
  if (!rv_comm_available(RV_COMM_NCCL) || device_count() < 1) {
    printf("no CUDA device for NCCL: skipped\n");
    return RV_TEST_SKIP_CODE;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ring_over_devices),
      cmocka_unit_test(test_abort_breaks_the_comm),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
