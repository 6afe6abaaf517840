/* The NCCL comm backend: GPU buffers, one GPU per rank.
 *
 * Communicators are made nonblocking (ncclConfig_t.blocking = 0) so that no NCCL call can
 * hang: every call returns at once and ncclCommGetAsyncError is polled against the
 * comm's deadline; on timeout the communicator is aborted (ncclCommAbort). A local group
 * makes all ranks' communicators from one thread inside ncclGroupStart/End, the way
 * ncclCommInitAll does (ncclCommInitAll itself has no config, so it cannot be made
 * nonblocking); across processes rank 0's ncclGetUniqueId is shared by MPI_Bcast.
 *
 * An exchange runs on the comm's own stream: it waits (event) for the work queued on the
 * compute stream (rv_comm_set_stream), puts the send and the receive in one
 * ncclGroupStart/End, and the compute stream waits (event) for its completion. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <ringvit/config.h>

#include "comm-impl.h"

#if RV_HAVE_MPI
#include <mpi.h>
#endif

typedef struct nccl_comm {
  rv_comm base;
  ncclComm_t nc;
  int device;
  cudaStream_t stream, compute;
  cudaEvent_t ready, done;
  int phase; /* 0 idle, 1 enqueuing (NCCL in progress), 2 queued (waiting for `done`) */
  void *scratch;
  size_t scratch_bytes;
} nccl_comm;

static rv_status nccl_fail(const nccl_comm *m, ncclResult_t r, const char *what) {
  const char *last = m->nc ? ncclGetLastError(m->nc) : "";
  return RV_FAIL(RV_ERR_COMM, "rank %d: %s: %s%s%s", m->base.rank, what, ncclGetErrorString(r),
                 last && last[0] ? ": " : "", last ? last : "");
}

static rv_status cuda_fail(const nccl_comm *m, cudaError_t e, const char *what) {
  return RV_FAIL(RV_ERR_DEVICE, "rank %d: %s: %s", m->base.rank, what, cudaGetErrorString(e));
}

#define CUDA_CHECK(call, what)                                                                     \
  do {                                                                                             \
    cudaError_t e_ = (call);                                                                       \
    if (e_ != cudaSuccess) return cuda_fail(m, e_, what);                                          \
  } while (0)

static void abort_nc(nccl_comm *m) {
  if (m->nc) ncclCommAbort(m->nc);
  m->nc = NULL;
  m->phase = 0;
}

/* 1 when NCCL has finished enqueuing, 0 while in progress, or an error. */
static rv_status async_state(nccl_comm *m, const char *what) {
  ncclResult_t r = ncclSuccess;
  if (!m->nc)
    return RV_FAIL(RV_ERR_COMM, "rank %d: the NCCL communicator was aborted", m->base.rank);
  ncclResult_t q = ncclCommGetAsyncError(m->nc, &r);
  if (q != ncclSuccess) return nccl_fail(m, q, "ncclCommGetAsyncError");
  if (r == ncclInProgress) return 0;
  if (r != ncclSuccess) return nccl_fail(m, r, what);
  return 1;
}

static rv_status timed_out(nccl_comm *m, const char *what) {
  abort_nc(m);
  return RV_FAIL(RV_ERR_TIMEOUT, "rank %d: %s did not complete in %.3g s; communicator aborted",
                 m->base.rank, what, m->base.timeout);
}

/* Polls NCCL until ops enqueued with ncclGroupEnd are queued, then the comm stream. */
static rv_status step(nccl_comm *m, int *done, const char *what) {
  rv_status st;
  *done = 0;
  if (m->phase == 1) {
    if ((st = async_state(m, what)) <= 0) return st;
    CUDA_CHECK(cudaEventRecord(m->done, m->stream), "cudaEventRecord");
    m->phase = 2;
  }
  cudaError_t e = cudaEventQuery(m->done);
  if (e == cudaErrorNotReady) {
    st = async_state(m, what);
    return st < 0 ? st : RV_OK;
  }
  if (e != cudaSuccess) return cuda_fail(m, e, what);
  CUDA_CHECK(cudaStreamWaitEvent(m->compute, m->done, 0), "cudaStreamWaitEvent");
  m->phase = 0;
  *done = 1;
  return RV_OK;
}

static rv_status complete(nccl_comm *m, double deadline, const char *what) {
  int done = 0, round = 0;
  rv_status st;
  CUDA_CHECK(cudaSetDevice(m->device), "cudaSetDevice");
  while ((st = step(m, &done, what)) == RV_OK && !done) {
    if (rv_comm_now() >= deadline) return timed_out(m, what);
    rv_comm_backoff(&round);
  }
  if (st < 0) abort_nc(m);
  return st;
}

/* Orders the comm stream after the compute stream's queued work. */
static rv_status begin(nccl_comm *m) {
  if (!m->nc)
    return RV_FAIL(RV_ERR_COMM, "rank %d: the NCCL communicator was aborted", m->base.rank);
  CUDA_CHECK(cudaSetDevice(m->device), "cudaSetDevice");
  CUDA_CHECK(cudaEventRecord(m->ready, m->compute), "cudaEventRecord");
  CUDA_CHECK(cudaStreamWaitEvent(m->stream, m->ready, 0), "cudaStreamWaitEvent");
  return RV_OK;
}

/* ncclGroupEnd of a nonblocking communicator: success or in progress both go on. */
static rv_status group_end(nccl_comm *m, const char *what) {
  ncclResult_t r = ncclGroupEnd();
  if (r != ncclSuccess && r != ncclInProgress) return nccl_fail(m, r, what);
  m->phase = 1;
  return RV_OK;
}

static rv_status nccl_start(rv_comm *c, const rv_comm_xfer *x) {
  nccl_comm *m = (nccl_comm *)c;
  rv_status st = begin(m);
  if (st < 0) return st;
  ncclGroupStart();
  ncclResult_t r = ncclSuccess;
  if (x->send) r = ncclSend(x->send, x->send_bytes, ncclChar, x->dst, m->nc, m->stream);
  if (r == ncclSuccess && x->recv)
    r = ncclRecv(x->recv, x->recv_bytes, ncclChar, x->src, m->nc, m->stream);
  if (r != ncclSuccess && r != ncclInProgress) {
    ncclGroupEnd();
    return nccl_fail(m, r, "ncclSend/ncclRecv");
  }
  return group_end(m, "ncclGroupEnd of an exchange");
}

static rv_status nccl_test(rv_comm *c, int *done) {
  nccl_comm *m = (nccl_comm *)c;
  cudaError_t e = cudaSetDevice(m->device);
  if (e != cudaSuccess) return cuda_fail(m, e, "cudaSetDevice");
  rv_status st = step(m, done, "exchange");
  if (st < 0) abort_nc(m);
  return st;
}

static rv_status nccl_wait(rv_comm *c, double deadline) {
  return complete((nccl_comm *)c, deadline, "exchange");
}

static rv_status ensure_scratch(nccl_comm *m, size_t bytes) {
  if (bytes <= m->scratch_bytes) return RV_OK;
  if (m->scratch) cudaFree(m->scratch);
  m->scratch = NULL;
  m->scratch_bytes = 0;
  CUDA_CHECK(cudaMalloc(&m->scratch, bytes), "cudaMalloc of collective scratch");
  m->scratch_bytes = bytes;
  return RV_OK;
}

/* Host values through device scratch: [mine | all ranks]. */
static rv_status nccl_allgather(rv_comm *c, const void *mine, size_t bytes, void *all,
                                double deadline) {
  nccl_comm *m = (nccl_comm *)c;
  size_t total = bytes * (size_t)c->size;
  rv_status st = begin(m);
  if (st < 0 || (st = ensure_scratch(m, bytes + total)) < 0) return st;
  char *s = m->scratch;
  CUDA_CHECK(cudaMemcpyAsync(s, mine, bytes, cudaMemcpyHostToDevice, m->stream), "cudaMemcpyAsync");
  ncclGroupStart();
  ncclResult_t r = ncclAllGather(s, s + bytes, bytes, ncclChar, m->nc, m->stream);
  if (r != ncclSuccess && r != ncclInProgress) {
    ncclGroupEnd();
    return nccl_fail(m, r, "ncclAllGather");
  }
  if ((st = group_end(m, "ncclAllGather")) < 0 || (st = complete(m, deadline, "ncclAllGather")) < 0)
    return st;
  CUDA_CHECK(cudaMemcpy(all, s + bytes, total, cudaMemcpyDeviceToHost), "cudaMemcpy");
  return RV_OK;
}

static rv_status nccl_barrier(rv_comm *c, double deadline) {
  nccl_comm *m = (nccl_comm *)c;
  char one = 1, *all = malloc((size_t)c->size);
  if (!all) return RV_FAIL(RV_ERR_NOMEM, "barrier scratch");
  rv_status st = nccl_allgather(&m->base, &one, 1, all, deadline);
  free(all);
  return st;
}

static rv_status nccl_bcast(rv_comm *c, void *buf, size_t bytes, int root, double deadline) {
  nccl_comm *m = (nccl_comm *)c;
  rv_status st = begin(m);
  if (st < 0) return st;
  ncclGroupStart();
  ncclResult_t r = ncclBroadcast(buf, buf, bytes, ncclChar, root, m->nc, m->stream);
  if (r != ncclSuccess && r != ncclInProgress) {
    ncclGroupEnd();
    return nccl_fail(m, r, "ncclBroadcast");
  }
  if ((st = group_end(m, "ncclBroadcast")) < 0) return st;
  return complete(m, deadline, "ncclBroadcast");
}

/* NCCL has no message to tell peers: aborting frees this rank's side; peers reach their
 * deadline and abort theirs. */
static void nccl_notify_abort(rv_comm *c, const char *why) {
  (void)why;
  abort_nc((nccl_comm *)c);
}

static void nccl_destroy(rv_comm *c) {
  nccl_comm *m = (nccl_comm *)c;
  cudaSetDevice(m->device);
  if (m->nc && !c->broken && ncclCommFinalize(m->nc) != ncclSystemError) {
    double deadline = rv_comm_now() + c->timeout;
    int round = 0;
    rv_status st;
    while ((st = async_state(m, "ncclCommFinalize")) == 0 && rv_comm_now() < deadline)
      rv_comm_backoff(&round);
    if (st == 1) {
      ncclCommDestroy(m->nc);
      m->nc = NULL;
    }
  }
  abort_nc(m);
  if (m->scratch) cudaFree(m->scratch);
  if (m->ready) cudaEventDestroy(m->ready);
  if (m->done) cudaEventDestroy(m->done);
  if (m->stream) cudaStreamDestroy(m->stream);
  free(m);
}

static void nccl_set_stream(rv_comm *c, void *stream) { ((nccl_comm *)c)->compute = stream; }

static const rv_comm_vtable nccl_vt = {
    .start = nccl_start,
    .test = nccl_test,
    .wait = nccl_wait,
    .barrier = nccl_barrier,
    .allgather = nccl_allgather,
    .bcast = nccl_bcast,
    .notify_abort = nccl_notify_abort,
    .destroy = nccl_destroy,
    .set_stream = nccl_set_stream,
};

int rv_comm_nccl_device_count(void) {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

static rv_status nccl_alloc(int rank, int size, int device, double timeout_s, nccl_comm **out) {
  nccl_comm *m = calloc(1, sizeof *m);
  if (!m) return RV_FAIL(RV_ERR_NOMEM, "nccl comm");
  rv_comm_base_init(&m->base, &nccl_vt, RV_COMM_NCCL, rank, size, RV_MEM_DEVICE, timeout_s);
  m->device = device;
  *out = m;
  cudaError_t e = cudaSetDevice(device);
  if (e == cudaSuccess) e = cudaStreamCreateWithFlags(&m->stream, cudaStreamNonBlocking);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&m->ready, cudaEventDisableTiming);
  if (e == cudaSuccess) e = cudaEventCreateWithFlags(&m->done, cudaEventDisableTiming);
  return e == cudaSuccess ? RV_OK : cuda_fail(m, e, "stream and events of a comm");
}

/* Waits for a nonblocking ncclCommInitRankConfig to finish. */
static rv_status await_init(nccl_comm *m) {
  double deadline = rv_comm_now() + m->base.timeout;
  int round = 0;
  rv_status st;
  cudaSetDevice(m->device);
  while ((st = async_state(m, "ncclCommInitRankConfig")) == 0) {
    if (rv_comm_now() >= deadline) return timed_out(m, "ncclCommInitRankConfig");
    rv_comm_backoff(&round);
  }
  return st < 0 ? st : RV_OK;
}

static rv_status init_rank(nccl_comm *m, ncclUniqueId id) {
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  cudaSetDevice(m->device);
  ncclResult_t r = ncclCommInitRankConfig(&m->nc, m->base.size, id, m->base.rank, &config);
  if (r != ncclSuccess && r != ncclInProgress) return nccl_fail(m, r, "ncclCommInitRankConfig");
  return RV_OK;
}

static rv_status check_device(int device, int rank) {
  int n = rv_comm_nccl_device_count();
  if (device < 0 || device >= n)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "rank %d: CUDA device %d, %d present", rank, device, n);
  return RV_OK;
}

rv_status rv_comm_nccl_make(const rv_comm_group_cfg *cfg, rv_comm **comms) {
  rv_status st = RV_OK;
  ncclUniqueId id;
  ncclResult_t r = ncclGetUniqueId(&id);
  if (r != ncclSuccess) return RV_FAIL(RV_ERR_COMM, "ncclGetUniqueId: %s", ncclGetErrorString(r));
  for (int i = 0; i < cfg->size; i++) {
    int dev = cfg->devices ? cfg->devices[i] : i;
    RV_TRY(check_device(dev, i));
    RV_TRY(nccl_alloc(i, cfg->size, dev, cfg->timeout_s, (nccl_comm **)&comms[i]));
  }
  ncclGroupStart();
  for (int i = 0; i < cfg->size && st == RV_OK; i++)
    st = init_rank((nccl_comm *)comms[i], id);
  r = ncclGroupEnd();
  if (st == RV_OK && r != ncclSuccess && r != ncclInProgress)
    st = RV_FAIL(RV_ERR_COMM, "ncclGroupEnd of the communicators: %s", ncclGetErrorString(r));
  for (int i = 0; i < cfg->size && st == RV_OK; i++)
    st = await_init((nccl_comm *)comms[i]);
fail:
  return st;
}

#if RV_HAVE_MPI
/* This process's rank among those on its node, for the default device. */
static int node_rank(void) {
  MPI_Comm node;
  int r = 0;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
      MPI_SUCCESS)
    return 0;
  MPI_Comm_rank(node, &r);
  MPI_Comm_free(&node);
  return r;
}

static rv_status share_id(ncclUniqueId *id, int rank, double timeout) {
  MPI_Request req;
  int flag = 0, round = 0, rc;
  if (rank == 0 && ncclGetUniqueId(id) != ncclSuccess)
    return RV_FAIL(RV_ERR_COMM, "ncclGetUniqueId failed");
  if ((rc = MPI_Ibcast(id, sizeof *id, MPI_BYTE, 0, MPI_COMM_WORLD, &req)) != MPI_SUCCESS)
    return RV_FAIL(RV_ERR_COMM, "MPI_Ibcast of the NCCL id failed (%d)", rc);
  double deadline = rv_comm_now() + timeout;
  while ((rc = MPI_Test(&req, &flag, MPI_STATUS_IGNORE)) == MPI_SUCCESS && !flag) {
    if (rv_comm_now() >= deadline)
      return RV_FAIL(RV_ERR_TIMEOUT, "rank %d: the NCCL id did not arrive in %.3g s", rank,
                     timeout);
    rv_comm_backoff(&round);
  }
  return rc == MPI_SUCCESS ? RV_OK : RV_FAIL(RV_ERR_COMM, "MPI_Test of the NCCL id (%d)", rc);
}

rv_status rv_comm_nccl_mpi_init(const rv_comm_nccl_cfg *cfg, rv_comm **out) {
  rv_status st = RV_OK;
  nccl_comm *m = NULL;
  ncclUniqueId id;
  int rank = 0, size = 1;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  RV_TRY(rv_comm_mpi_ensure_init());
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int n = rv_comm_nccl_device_count();
  int dev = cfg && cfg->device >= 0 ? cfg->device : (n > 0 ? node_rank() % n : 0);
  RV_TRY(check_device(dev, rank));
  double timeout = rv_comm_default_timeout(cfg ? cfg->timeout_s : 0.0);
  RV_TRY(share_id(&id, rank, timeout));
  RV_TRY(nccl_alloc(rank, size, dev, timeout, &m));
  RV_TRY(init_rank(m, id));
  RV_TRY(await_init(m));
  *out = &m->base;
  return RV_OK;
fail:
  if (m) nccl_destroy(&m->base);
  return st;
}
#else
rv_status rv_comm_nccl_mpi_init(const rv_comm_nccl_cfg *cfg, rv_comm **out) {
  (void)cfg;
  if (out) *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED, "NCCL over MPI needs a build with MPI");
}
#endif
