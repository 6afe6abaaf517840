/* Running a piece of test code on every rank: R threads of a local group, or this
 * process's rank of mpirun (tests started with --mpi). Each rank gets its own
 * single-threaded backend of kind rv_test_backend. */
#ifndef RINGVIT_RING_TEST_H
#define RINGVIT_RING_TEST_H

#include <ringvit/comm.h>

#include "rv-test.h"

typedef rv_status (*rv_rank_job)(rv_comm *comm, rv_backend *be, void *user);

/* The backend kind each rank gets (default cpu). */
extern rv_backend_kind rv_test_backend;

/* The MPI world comm when the test runs with --mpi, else NULL. */
extern rv_comm *rv_test_world;

/* Handles --mpi: initializes MPI and rv_test_world, or exits 77 when this build has no
 * MPI. Returns 1 in MPI mode. */
int rv_test_mpi_setup(int argc, char **argv);
/* Frees rv_test_world and finalizes MPI; returns `code` (the test's exit code). */
int rv_test_mpi_teardown(int code);

/* Runs job on R local ranks (timeout in seconds); rank_status[R] may be NULL. */
rv_status rv_test_local_ranks(int R, double timeout, rv_rank_job job, void *user,
                              rv_status *rank_status);
/* Runs job on the ranks of a local group made from cfg. */
rv_status rv_test_group(const rv_comm_group_cfg *cfg, rv_rank_job job, void *user,
                        rv_status *rank_status);
/* Runs job on this process's rank of rv_test_world. */
rv_status rv_test_world_rank(rv_rank_job job, void *user);

#endif
