#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring-test.h"

rv_comm *rv_test_world;
rv_backend_kind rv_test_backend = RV_BACKEND_CPU;

int rv_test_mpi_setup(int argc, char **argv) {
  int mpi = 0;
  for (int i = 1; i < argc; i++)
    mpi |= strcmp(argv[i], "--mpi") == 0;
  if (!mpi) return 0;
  if (!rv_comm_available(RV_COMM_MPI)) exit(RV_TEST_SKIP_CODE);
  rv_comm_mpi_cfg cfg = {30.0, NULL};
  if (rv_comm_mpi_init(&cfg, &rv_test_world) < 0) {
    fprintf(stderr, "MPI: %s\n", rv_last_error());
    exit(1);
  }
  return 1;
}

int rv_test_mpi_teardown(int code) {
  rv_comm_free(rv_test_world);
  rv_test_world = NULL;
  rv_comm_mpi_finalize();
  return code;
}

typedef struct job_ctx {
  rv_rank_job job;
  void *user;
} job_ctx;

static rv_status with_backend(rv_comm *comm, void *user) {
  job_ctx *j = user;
  rv_backend *be = NULL;
  rv_backend_cfg bc = {rv_test_backend, 1, 0};
  rv_status st = rv_backend_init(&bc, &be);
  if (st == RV_OK) st = j->job(comm, be, j->user);
  rv_backend_free(be);
  return st;
}

rv_status rv_test_group(const rv_comm_group_cfg *cfg, rv_rank_job job, void *user,
                        rv_status *rank_status) {
  job_ctx j = {job, user};
  return rv_comm_local_group(cfg, with_backend, &j, rank_status);
}

rv_status rv_test_local_ranks(int R, double timeout, rv_rank_job job, void *user,
                              rv_status *rank_status) {
  rv_comm_group_cfg g = {RV_COMM_LOCAL, R, timeout, RV_MEM_HOST, 0.0, NULL};
  return rv_test_group(&g, job, user, rank_status);
}

rv_status rv_test_world_rank(rv_rank_job job, void *user) {
  job_ctx j = {job, user};
  return with_backend(rv_test_world, &j);
}
