/* Internals of rv_comm: the backend vtable and the state every backend shares. The
 * generic layer (comm.c) validates arguments, keeps the broken state and deadlines, and
 * builds collectives from point-to-point exchanges for backends that have none.
 * Private to vit/. */
#ifndef RINGVIT_COMM_IMPL_H
#define RINGVIT_COMM_IMPL_H

#include <ringvit/comm.h>

typedef struct rv_comm_vtable {
  rv_status (*start)(rv_comm *c, const rv_comm_xfer *x);
  rv_status (*test)(rv_comm *c, int *done);
  rv_status (*wait)(rv_comm *c, double deadline);
  /* optional (NULL: built from exchanges in comm.c) */
  rv_status (*barrier)(rv_comm *c, double deadline);
  rv_status (*allgather)(rv_comm *c, const void *mine, size_t bytes, void *all, double deadline);
  rv_status (*bcast)(rv_comm *c, void *buf, size_t bytes, int root, double deadline);
  /* tells the other ranks that this one gave up (best effort, never blocks long) */
  void (*notify_abort)(rv_comm *c, const char *why);
  /* a thread of a local group returned from its rank function */
  void (*depart)(rv_comm *c, rv_status st, const char *msg);
  void (*destroy)(rv_comm *c);
  void (*set_stream)(rv_comm *c, void *stream);
} rv_comm_vtable;

enum { RV_COMM_WHY = 384 };

struct rv_comm {
  const rv_comm_vtable *vt;
  rv_comm_kind kind;
  int rank, size;
  rv_mem mem;
  double timeout;
  int in_flight;
  int broken;
  char why[RV_COMM_WHY]; /* the first failure, for every later call */
};

/* Fills the shared part of a new comm. */
void rv_comm_base_init(rv_comm *c, const rv_comm_vtable *vt, rv_comm_kind kind, int rank, int size,
                       rv_mem mem, double timeout_s);
/* The timeout to use: timeout_s when > 0, else RINGVIT_COMM_TIMEOUT, else 60 s. */
double rv_comm_default_timeout(double timeout_s);
/* Monotonic clock, seconds. */
double rv_comm_now(void);
/* Sleeps a little longer each time a wait loop finds nothing: spin, then up to 1 ms. */
void rv_comm_backoff(int *round);

/* Per-kind constructors of a local group's ranks (comm-local.c, comm-nccl.c). */
rv_status rv_comm_local_make(const rv_comm_group_cfg *cfg, rv_comm **comms);
rv_status rv_comm_nccl_make(const rv_comm_group_cfg *cfg, rv_comm **comms);
/* CUDA devices NCCL can use (0 without NCCL); MPI_Init_thread unless MPI is up. */
int rv_comm_nccl_device_count(void);
rv_status rv_comm_mpi_ensure_init(void);
/* Runs fn on one thread per comm and joins them (comm.c). */
rv_status rv_comm_run_threads(int size, rv_comm **comms, rv_comm_rank_fn fn, void *user,
                              rv_status *rank_status);

#endif
