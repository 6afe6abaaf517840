/* The MPI comm backend (Open MPI): host buffers, one rank per process.
 *
 * The communicator is a duplicate with MPI_ERRORS_RETURN, so MPI failures come back as
 * codes (turned into RV_ERR_COMM with MPI_Error_string) instead of killing the job.
 * Exchanges are MPI_Irecv + MPI_Isend completed by an MPI_Testall loop with a deadline;
 * collectives are the nonblocking ones, completed the same way. While waiting, each loop
 * also looks for an abort notice (a short message on its own tag) from any rank, so one
 * rank's failure ends the others' waits at once rather than at their deadline. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "comm-impl.h"

enum { TAG_DATA = 7101, TAG_ABORT = 7102 };

typedef struct mpi_comm {
  rv_comm base;
  MPI_Comm comm;
  MPI_Request req[2];
  int nreq;
  int dst, src;
  size_t rbytes;
} mpi_comm;

static int we_initialized, finalized;

static rv_status mpi_error(int rc, const char *what, int rank) {
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(rc, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
  return RV_FAIL(RV_ERR_COMM, "rank %d: %s: %s", rank, what, msg);
}

#define MPI_CHECK(call, what)                                                                      \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != MPI_SUCCESS) return mpi_error(rc_, what, m->base.rank);                             \
  } while (0)

/* An abort notice from another rank, if one has arrived. */
static rv_status check_abort(mpi_comm *m) {
  int flag = 0;
  MPI_Status s;
  MPI_CHECK(MPI_Iprobe(MPI_ANY_SOURCE, TAG_ABORT, m->comm, &flag, &s), "MPI_Iprobe");
  if (!flag) return RV_OK;
  char why[RV_COMM_WHY] = "";
  MPI_CHECK(
      MPI_Recv(why, RV_COMM_WHY - 1, MPI_CHAR, s.MPI_SOURCE, TAG_ABORT, m->comm, MPI_STATUS_IGNORE),
      "MPI_Recv of an abort notice");
  return RV_FAIL(RV_ERR_COMM, "rank %d: rank %d gave up: %s", m->base.rank, s.MPI_SOURCE, why);
}

/* Gives up requests that will not complete: cancelled and freed. */
static void drop(MPI_Request *req, int n) {
  for (int i = 0; i < n; i++)
    if (req[i] != MPI_REQUEST_NULL) {
      MPI_Cancel(&req[i]);
      MPI_Request_free(&req[i]);
    }
}

static rv_status mpi_start(rv_comm *c, const rv_comm_xfer *x) {
  mpi_comm *m = (mpi_comm *)c;
  if (x->send_bytes > INT_MAX || x->recv_bytes > INT_MAX)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "MPI exchanges are limited to %d bytes", INT_MAX);
  m->nreq = 0;
  m->dst = x->send ? x->dst : -1;
  m->src = x->recv ? x->src : -1;
  m->rbytes = x->recv_bytes;
  if (x->recv)
    MPI_CHECK(MPI_Irecv(x->recv, (int)x->recv_bytes, MPI_BYTE, x->src, TAG_DATA, m->comm,
                        &m->req[m->nreq++]),
              "MPI_Irecv");
  if (x->send) {
    int rc = MPI_Isend(x->send, (int)x->send_bytes, MPI_BYTE, x->dst, TAG_DATA, m->comm,
                       &m->req[m->nreq]);
    if (rc != MPI_SUCCESS) {
      drop(m->req, m->nreq);
      return mpi_error(rc, "MPI_Isend", c->rank);
    }
    m->nreq++;
  }
  return RV_OK;
}

static rv_status mpi_test(rv_comm *c, int *done) {
  mpi_comm *m = (mpi_comm *)c;
  MPI_Status s[2];
  int flag = 0;
  rv_status st = RV_OK;
  int rc = MPI_Testall(m->nreq, m->req, &flag, s);
  if (rc != MPI_SUCCESS) {
    int err = rc == MPI_ERR_IN_STATUS
                  ? (s[0].MPI_ERROR != MPI_SUCCESS ? s[0].MPI_ERROR : s[1].MPI_ERROR)
                  : rc;
    drop(m->req, m->nreq);
    return mpi_error(err, "exchange", c->rank);
  }
  *done = flag;
  if (flag && m->src >= 0) { /* the receive is req[0] */
    int got = 0;
    MPI_Get_count(&s[0], MPI_BYTE, &got);
    if ((size_t)got != m->rbytes)
      return RV_FAIL(RV_ERR_COMM, "rank %d: rank %d sent %d bytes, %zu were expected", c->rank,
                     m->src, got, m->rbytes);
  }
  if (!flag && (st = check_abort(m)) < 0) drop(m->req, m->nreq);
  return st;
}

static rv_status timed_out(const mpi_comm *m, const char *what) {
  return RV_FAIL(RV_ERR_TIMEOUT,
                 "rank %d: %s did not complete in %.3g s (a peer died, hangs or "
                 "is not calling)",
                 m->base.rank, what, m->base.timeout);
}

static rv_status mpi_wait(rv_comm *c, double deadline) {
  mpi_comm *m = (mpi_comm *)c;
  int done = 0, round = 0;
  rv_status st;
  while ((st = mpi_test(c, &done)) == RV_OK && !done) {
    if (rv_comm_now() >= deadline) {
      drop(m->req, m->nreq);
      char what[96];
      if (m->dst >= 0 && m->src >= 0)
        snprintf(what, sizeof what, "the exchange (send to %d, receive from %d)", m->dst, m->src);
      else
        snprintf(what, sizeof what, "the %s rank %d", m->dst >= 0 ? "send to" : "receive from",
                 m->dst >= 0 ? m->dst : m->src);
      return timed_out(m, what);
    }
    rv_comm_backoff(&round);
  }
  return st;
}

/* Completes one nonblocking collective. A timed-out collective request cannot be
 * cancelled; it is left to MPI and the comm is broken. */
static rv_status await(mpi_comm *m, MPI_Request *req, double deadline, const char *what) {
  int flag = 0, round = 0;
  rv_status st;
  for (;;) {
    MPI_CHECK(MPI_Test(req, &flag, MPI_STATUS_IGNORE), what);
    if (flag) return RV_OK;
    if ((st = check_abort(m)) < 0) return st;
    if (rv_comm_now() >= deadline) return timed_out(m, what);
    rv_comm_backoff(&round);
  }
}

static rv_status mpi_barrier(rv_comm *c, double deadline) {
  mpi_comm *m = (mpi_comm *)c;
  MPI_Request r;
  MPI_CHECK(MPI_Ibarrier(m->comm, &r), "MPI_Ibarrier");
  return await(m, &r, deadline, "MPI_Ibarrier");
}

static rv_status mpi_allgather(rv_comm *c, const void *mine, size_t bytes, void *all,
                               double deadline) {
  mpi_comm *m = (mpi_comm *)c;
  MPI_Request r;
  if (bytes > INT_MAX) return RV_FAIL(RV_ERR_UNSUPPORTED, "allgather of %zu bytes", bytes);
  MPI_CHECK(MPI_Iallgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, m->comm, &r),
            "MPI_Iallgather");
  return await(m, &r, deadline, "MPI_Iallgather");
}

static rv_status mpi_bcast(rv_comm *c, void *buf, size_t bytes, int root, double deadline) {
  mpi_comm *m = (mpi_comm *)c;
  MPI_Request r;
  if (bytes > INT_MAX) return RV_FAIL(RV_ERR_UNSUPPORTED, "bcast of %zu bytes", bytes);
  MPI_CHECK(MPI_Ibcast(buf, (int)bytes, MPI_BYTE, root, m->comm, &r), "MPI_Ibcast");
  return await(m, &r, deadline, "MPI_Ibcast");
}

/* Posts the notice to every other rank; the requests are freed, the text (c->why or the
 * caller's) is copied into a buffer that lives as long as the process. */
static void mpi_notify_abort(rv_comm *c, const char *why) {
  mpi_comm *m = (mpi_comm *)c;
  static char notice[RV_COMM_WHY];
  snprintf(notice, sizeof notice, "%s", why);
  drop(m->req, m->nreq);
  m->nreq = 0;
  for (int p = 0; p < c->size; p++) {
    MPI_Request r;
    if (p != c->rank && MPI_Isend(notice, (int)strlen(notice) + 1, MPI_CHAR, p, TAG_ABORT, m->comm,
                                  &r) == MPI_SUCCESS)
      MPI_Request_free(&r);
  }
}

static void mpi_destroy(rv_comm *c) {
  mpi_comm *m = (mpi_comm *)c;
  /* a broken comm may have operations MPI still holds: leave it to MPI_Finalize */
  if (!c->broken && !finalized) MPI_Comm_free(&m->comm);
  free(m);
}

static const rv_comm_vtable mpi_vt = {
    .start = mpi_start,
    .test = mpi_test,
    .wait = mpi_wait,
    .barrier = mpi_barrier,
    .allgather = mpi_allgather,
    .bcast = mpi_bcast,
    .notify_abort = mpi_notify_abort,
    .destroy = mpi_destroy,
};

/* MPI_Init_thread unless MPI is up already. */
rv_status rv_comm_mpi_ensure_init(void) {
  int up = 0, provided = 0;
  if (finalized) return RV_FAIL(RV_ERR_COMM, "MPI was finalized");
  MPI_Initialized(&up);
  if (up) return RV_OK;
  int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
  if (rc != MPI_SUCCESS) return mpi_error(rc, "MPI_Init_thread", -1);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  we_initialized = 1;
  return RV_OK;
}

rv_status rv_comm_mpi_init(const rv_comm_mpi_cfg *cfg, rv_comm **out) {
  rv_status st = RV_OK;
  mpi_comm *m = NULL;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  RV_TRY(rv_comm_mpi_ensure_init());
  MPI_Comm parent = cfg && cfg->mpi_comm ? *(const MPI_Comm *)cfg->mpi_comm : MPI_COMM_WORLD;
  m = calloc(1, sizeof *m);
  if (!m) RV_TRY_FAIL(RV_ERR_NOMEM, "mpi comm");
  m->comm = MPI_COMM_NULL;
  int rc = MPI_Comm_dup(parent, &m->comm), rank = 0, size = 1;
  if (rc != MPI_SUCCESS) RV_TRY(mpi_error(rc, "MPI_Comm_dup", -1));
  MPI_Comm_set_errhandler(m->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(m->comm, &rank);
  MPI_Comm_size(m->comm, &size);
  rv_comm_base_init(&m->base, &mpi_vt, RV_COMM_MPI, rank, size, RV_MEM_HOST,
                    cfg ? cfg->timeout_s : 0.0);
  *out = &m->base;
  return RV_OK;
fail:
  free(m);
  return st;
}

rv_status rv_comm_mpi_finalize(void) {
  if (!we_initialized || finalized) return RV_OK;
  finalized = 1;
  int rc = MPI_Finalize();
  return rc == MPI_SUCCESS ? RV_OK : mpi_error(rc, "MPI_Finalize", -1);
}
