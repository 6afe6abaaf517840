/* Communication between the ranks of a ring (DESIGN.md section 4), behind one small
 * interface with three backends:
 *
 *   local  R ranks as threads of one process, buffers exchanged through shared memory by
 *          a copy engine per rank (so transfers overlap compute); tests, the seed builder
 *   mpi    Open MPI, host buffers, one rank per process, across machines unchanged
 *   nccl   GPU buffers; a thread per local GPU (ncclCommInitAll) or a process per GPU
 *          bootstrapped over MPI (ncclGetUniqueId + MPI_Bcast + ncclCommInitRank)
 *
 * Every wait has a deadline (rv_comm_timeout): a dead, stuck or missing peer makes the
 * call fail with RV_ERR_TIMEOUT or RV_ERR_COMM and a message saying which rank and what,
 * never hang. After any failure the comm is broken: every later call fails at once, and
 * the other ranks are told (rv_comm_abort), so they fail fast too.
 *
 * A comm belongs to one thread (its rank's). Collective calls must be made by every rank
 * in the same order. */
#ifndef RINGVIT_COMM_H
#define RINGVIT_COMM_H

#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_comm rv_comm;

typedef enum rv_comm_kind {
  RV_COMM_LOCAL = 0,
  RV_COMM_MPI = 1,
  RV_COMM_NCCL = 2,
} rv_comm_kind;

const char *rv_comm_kind_name(rv_comm_kind kind); /* "local", "mpi", "nccl" */
/* 1 when the kind was compiled in (nccl: and a CUDA device is present). */
int rv_comm_available(rv_comm_kind kind);

int rv_comm_rank(const rv_comm *c);
int rv_comm_size(const rv_comm *c);
int rv_comm_next(const rv_comm *c); /* (rank + 1) mod size */
int rv_comm_prev(const rv_comm *c); /* (rank - 1) mod size */
rv_comm_kind rv_comm_get_kind(const rv_comm *c);
/* Where exchanged buffers must live: host for local (unless configured) and mpi, device
 * for nccl. */
rv_mem rv_comm_mem(const rv_comm *c);
double rv_comm_timeout(const rv_comm *c); /* seconds */
void rv_comm_set_timeout(rv_comm *c, double seconds);
/* nccl: the CUDA stream (cudaStream_t) whose work exchanges are ordered after, and which
 * waits for received data; NULL = the legacy default stream. Ignored by local and mpi. */
void rv_comm_set_stream(rv_comm *c, void *cuda_stream);

/* One exchange: a send to `dst` and/or a receive from `src` (NULL or 0 bytes: none), in
 * rv_comm_mem memory. Buffers must stay untouched until the exchange completes. */
typedef struct rv_comm_xfer {
  const void *send;
  size_t send_bytes;
  int dst;
  void *recv;
  size_t recv_bytes; /* must equal what src sends */
  int src;
} rv_comm_xfer;

/* Starts an exchange without waiting; at most one is in flight per comm. */
rv_status rv_comm_start(rv_comm *c, const rv_comm_xfer *x);
/* Lets the exchange in flight progress (mpi needs calls into the library to move large
 * messages); call it between pieces of compute. Sets *done when it has completed. */
rv_status rv_comm_progress(rv_comm *c, int *done);
/* Completes the exchange in flight, within the timeout. */
rv_status rv_comm_wait(rv_comm *c);
/* start + wait. */
rv_status rv_comm_sendrecv(rv_comm *c, const rv_comm_xfer *x);

/* Small collectives, within the timeout. */
rv_status rv_comm_barrier(rv_comm *c);
/* Every rank's `bytes` (host memory, the same count everywhere) into all[size * bytes]. */
rv_status rv_comm_allgather(rv_comm *c, const void *mine, size_t bytes, void *all);
/* root's buf (rv_comm_mem memory) to every rank. */
rv_status rv_comm_bcast(rv_comm *c, void *buf, size_t bytes, int root);
/* Checks that n named values agree on every rank; RV_ERR_INVALID on every rank otherwise,
 * naming the value, the ranks and what each holds: "<what>: heads is 4 on rank 0 but 8
 * on rank 2". */
rv_status rv_comm_check_same(rv_comm *c, const char *what, int n, const char *const *names,
                             const int64_t *values);

/* Breaks the comm and tells the other ranks, whose pending and later calls fail with
 * RV_ERR_COMM and `why`. Never terminates a process. */
void rv_comm_abort(rv_comm *c, const char *why);
int rv_comm_is_broken(const rv_comm *c);
void rv_comm_free(rv_comm *c); /* NULL-safe; not collective */

/* ---- local groups: R ranks as threads of this process ---- */

typedef rv_status (*rv_comm_rank_fn)(rv_comm *comm, void *user);

typedef struct rv_comm_group_cfg {
  rv_comm_kind kind;       /* RV_COMM_LOCAL, or RV_COMM_NCCL (one GPU per rank) */
  int size;                /* ranks, >= 1 */
  double timeout_s;        /* 0: RINGVIT_COMM_TIMEOUT from the environment, else 60 */
  rv_mem mem;              /* local: where buffers live (device needs a CUDA build) */
  double link_bytes_per_s; /* local: emulated link bandwidth per rank, 0 = memcpy speed */
  const int *devices;      /* nccl: CUDA device of each rank; NULL = 0, 1, ... */
} rv_comm_group_cfg;

/* Runs fn(comm, user) on `size` threads, one rank each, and joins them. A rank whose fn
 * returns leaves the group: peers still waiting on it fail at once. rank_status[size]
 * (may be NULL) receives each rank's result; returns the first error by rank, else RV_OK.
 * Errors of each thread are also logged with their rank. */
rv_status rv_comm_local_group(const rv_comm_group_cfg *cfg, rv_comm_rank_fn fn, void *user,
                              rv_status *rank_status);

/* ---- MPI: one rank per process ---- */

typedef struct rv_comm_mpi_cfg {
  double timeout_s;     /* 0: RINGVIT_COMM_TIMEOUT, else 60 */
  const void *mpi_comm; /* an MPI_Comm * to duplicate; NULL = MPI_COMM_WORLD */
} rv_comm_mpi_cfg;

/* Initializes MPI when not yet (MPI_THREAD_SERIALIZED) and duplicates the communicator
 * with MPI_ERRORS_RETURN. Collective over the MPI communicator. */
rv_status rv_comm_mpi_init(const rv_comm_mpi_cfg *cfg, rv_comm **out);
/* MPI_Finalize when ringvit initialized MPI; call once, after freeing every comm. */
rv_status rv_comm_mpi_finalize(void);

/* ---- NCCL over MPI: one process per GPU ---- */

typedef struct rv_comm_nccl_cfg {
  double timeout_s; /* 0: RINGVIT_COMM_TIMEOUT, else 60 */
  int device;       /* CUDA device; -1 = local rank mod device count */
} rv_comm_nccl_cfg;

/* Rank 0 makes the NCCL id, MPI_Bcast shares it, ncclCommInitRank joins. Collective. */
rv_status rv_comm_nccl_mpi_init(const rv_comm_nccl_cfg *cfg, rv_comm **out);

#ifdef __cplusplus
}
#endif
#endif
