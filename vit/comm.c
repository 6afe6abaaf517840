/* rv_comm: argument checks, deadlines, the broken state, collectives built from
 * point-to-point exchanges, and the threads of a local group. Backends: comm-local.c,
 * comm-mpi.c, comm-nccl.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ringvit/config.h>

#include "comm-impl.h"

const char *rv_comm_kind_name(rv_comm_kind kind) {
  switch (kind) {
  case RV_COMM_LOCAL: return "local";
  case RV_COMM_MPI: return "mpi";
  case RV_COMM_NCCL: return "nccl";
  }
  return "?";
}

int rv_comm_available(rv_comm_kind kind) {
  switch (kind) {
  case RV_COMM_LOCAL: return 1;
  case RV_COMM_MPI: return RV_HAVE_MPI;
  case RV_COMM_NCCL: return rv_comm_nccl_device_count() > 0;
  }
  return 0;
}

double rv_comm_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void rv_comm_backoff(int *round) {
  int r = (*round)++;
  if (r < 64) return; /* spin first: most waits end within microseconds */
  long ns = r < 96 ? 2000L : r < 160 ? 50000L : 1000000L;
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

double rv_comm_default_timeout(double timeout_s) {
  if (timeout_s > 0) return timeout_s;
  const char *env = getenv("RINGVIT_COMM_TIMEOUT");
  double t = env ? atof(env) : 0.0;
  return t > 0 ? t : 60.0;
}

void rv_comm_base_init(rv_comm *c, const rv_comm_vtable *vt, rv_comm_kind kind, int rank, int size,
                       rv_mem mem, double timeout_s) {
  c->vt = vt;
  c->kind = kind;
  c->rank = rank;
  c->size = size;
  c->mem = mem;
  c->timeout = rv_comm_default_timeout(timeout_s);
  c->in_flight = 0;
  c->broken = 0;
  c->why[0] = '\0';
}

int rv_comm_rank(const rv_comm *c) { return c ? c->rank : -1; }
int rv_comm_size(const rv_comm *c) { return c ? c->size : 0; }
int rv_comm_next(const rv_comm *c) { return c ? (c->rank + 1) % c->size : -1; }
int rv_comm_prev(const rv_comm *c) { return c ? (c->rank + c->size - 1) % c->size : -1; }
rv_comm_kind rv_comm_get_kind(const rv_comm *c) { return c ? c->kind : RV_COMM_LOCAL; }
rv_mem rv_comm_mem(const rv_comm *c) { return c ? c->mem : RV_MEM_HOST; }
double rv_comm_timeout(const rv_comm *c) { return c ? c->timeout : 0.0; }
int rv_comm_is_broken(const rv_comm *c) { return c ? c->broken : 1; }

void rv_comm_set_timeout(rv_comm *c, double seconds) {
  if (c) c->timeout = rv_comm_default_timeout(seconds);
}

void rv_comm_set_stream(rv_comm *c, void *cuda_stream) {
  if (c && c->vt->set_stream) c->vt->set_stream(c, cuda_stream);
}

/* Marks the comm broken after a failure (whose message is this thread's last error) and
 * tells the peers; returns st. */
static rv_status breaks(rv_comm *c, rv_status st) {
  if (!c->broken) {
    c->broken = 1;
    snprintf(c->why, sizeof c->why, "rank %d: %s", c->rank, rv_last_error());
    if (c->vt->notify_abort) c->vt->notify_abort(c, c->why);
  }
  c->in_flight = 0;
  return st;
}

static rv_status usable(const rv_comm *c) {
  if (!c) return RV_FAIL(RV_ERR_INVALID, "comm must not be NULL");
  if (c->broken) return RV_FAIL(RV_ERR_COMM, "comm is broken after an earlier failure: %s", c->why);
  return RV_OK;
}

static rv_status check_xfer(const rv_comm *c, const rv_comm_xfer *x) {
  if (!x) return RV_FAIL(RV_ERR_INVALID, "xfer must not be NULL");
  if (x->send && x->send_bytes && (x->dst < 0 || x->dst >= c->size))
    return RV_FAIL(RV_ERR_INVALID, "send to rank %d of %d", x->dst, c->size);
  if (x->recv && x->recv_bytes && (x->src < 0 || x->src >= c->size))
    return RV_FAIL(RV_ERR_INVALID, "receive from rank %d of %d", x->src, c->size);
  if ((!x->send && x->send_bytes) || (!x->recv && x->recv_bytes))
    return RV_FAIL(RV_ERR_INVALID, "a NULL buffer with a byte count");
  if (c->in_flight) return RV_FAIL(RV_ERR_INVALID, "an exchange is already in flight");
  return RV_OK;
}

rv_status rv_comm_start(rv_comm *c, const rv_comm_xfer *x) {
  rv_status st = usable(c);
  if (st < 0) return st;
  if ((st = check_xfer(c, x)) < 0) return st;
  rv_comm_xfer y = *x; /* empty sides are normalized to "none" for the backends */
  if (!y.send || !y.send_bytes) y.send = NULL, y.send_bytes = 0;
  if (!y.recv || !y.recv_bytes) y.recv = NULL, y.recv_bytes = 0;
  if ((st = c->vt->start(c, &y)) < 0) return breaks(c, st);
  c->in_flight = 1;
  return RV_OK;
}

rv_status rv_comm_progress(rv_comm *c, int *done) {
  rv_status st = usable(c);
  if (st < 0) return st;
  int d = 1;
  if (c->in_flight && (st = c->vt->test(c, &d)) < 0) return breaks(c, st);
  if (d) c->in_flight = 0;
  if (done) *done = d;
  return RV_OK;
}

rv_status rv_comm_wait(rv_comm *c) {
  rv_status st = usable(c);
  if (st < 0) return st;
  if (!c->in_flight) return RV_OK; /* completed already (rv_comm_progress) or nothing started */
  if ((st = c->vt->wait(c, rv_comm_now() + c->timeout)) < 0) return breaks(c, st);
  c->in_flight = 0;
  return RV_OK;
}

rv_status rv_comm_sendrecv(rv_comm *c, const rv_comm_xfer *x) {
  rv_status st = rv_comm_start(c, x);
  return st < 0 ? st : rv_comm_wait(c);
}

/* ---- collectives from exchanges ---- */

static rv_status ring_allgather(rv_comm *c, const void *mine, size_t bytes, void *all) {
  rv_status st = RV_OK;
  char *a = all;
  int r = c->rank, n = c->size;
  memmove(a + (size_t)r * bytes, mine, bytes);
  for (int s = 0; s < n - 1; s++) { /* pass block (r - s) on, receive block (r - s - 1) */
    int out = (r - s + n) % n, in = (r - s - 1 + n) % n;
    rv_comm_xfer x = {a + (size_t)out * bytes, bytes, rv_comm_next(c),
                      a + (size_t)in * bytes,  bytes, rv_comm_prev(c)};
    RV_TRY(rv_comm_sendrecv(c, &x));
  }
fail:
  return st;
}

static rv_status chain_bcast(rv_comm *c, void *buf, size_t bytes, int root) {
  int pos = (c->rank - root + c->size) % c->size; /* root -> root+1 -> ... */
  rv_comm_xfer x = {0};
  if (pos > 0) x.recv = buf, x.recv_bytes = bytes, x.src = rv_comm_prev(c);
  rv_status st = rv_comm_sendrecv(c, &x);
  if (st < 0 || pos == c->size - 1) return st;
  rv_comm_xfer y = {buf, bytes, rv_comm_next(c), NULL, 0, 0};
  return rv_comm_sendrecv(c, &y);
}

static rv_status ready_for_collective(rv_comm *c) {
  rv_status st = usable(c);
  if (st < 0) return st;
  if (c->in_flight) return RV_FAIL(RV_ERR_INVALID, "a collective while an exchange is in flight");
  return RV_OK;
}

rv_status rv_comm_barrier(rv_comm *c) {
  rv_status st = ready_for_collective(c);
  if (st < 0) return st;
  if (c->size == 1) return RV_OK;
  if (c->vt->barrier) {
    if ((st = c->vt->barrier(c, rv_comm_now() + c->timeout)) < 0) return breaks(c, st);
    return RV_OK;
  }
  char one = 1, *all = malloc((size_t)c->size);
  if (!all) return RV_FAIL(RV_ERR_NOMEM, "barrier scratch");
  st = ring_allgather(c, &one, 1, all);
  free(all);
  return st;
}

rv_status rv_comm_allgather(rv_comm *c, const void *mine, size_t bytes, void *all) {
  rv_status st = ready_for_collective(c);
  if (st < 0) return st;
  if (!mine || !all || !bytes) return RV_FAIL(RV_ERR_INVALID, "allgather needs buffers and bytes");
  if (!c->vt->allgather) return ring_allgather(c, mine, bytes, all);
  if ((st = c->vt->allgather(c, mine, bytes, all, rv_comm_now() + c->timeout)) < 0)
    return breaks(c, st);
  return RV_OK;
}

rv_status rv_comm_bcast(rv_comm *c, void *buf, size_t bytes, int root) {
  rv_status st = ready_for_collective(c);
  if (st < 0) return st;
  if (root < 0 || root >= c->size)
    return RV_FAIL(RV_ERR_INVALID, "bcast root %d of %d ranks", root, c->size);
  if (!bytes || c->size == 1) return RV_OK;
  if (!buf) return RV_FAIL(RV_ERR_INVALID, "bcast buffer must not be NULL");
  if (!c->vt->bcast) return chain_bcast(c, buf, bytes, root);
  if ((st = c->vt->bcast(c, buf, bytes, root, rv_comm_now() + c->timeout)) < 0)
    return breaks(c, st);
  return RV_OK;
}

rv_status rv_comm_check_same(rv_comm *c, const char *what, int n, const char *const *names,
                             const int64_t *values) {
  rv_status st = ready_for_collective(c);
  if (st < 0) return st;
  if (n < 1 || !names || !values) return RV_FAIL(RV_ERR_INVALID, "check_same needs n >= 1 values");
  int64_t *all = malloc(sizeof(int64_t) * (size_t)n * (size_t)c->size);
  if (!all) return RV_FAIL(RV_ERR_NOMEM, "check_same scratch");
  RV_TRY(rv_comm_allgather(c, values, sizeof(int64_t) * (size_t)n, all));
  for (int r = 1; r < c->size; r++)
    for (int i = 0; i < n; i++)
      if (all[(size_t)r * n + i] != all[i])
        RV_TRY_FAIL(RV_ERR_INVALID, "%s: %s is %lld on rank 0 but %lld on rank %d", what, names[i],
                    (long long)all[i], (long long)all[(size_t)r * n + i], r);
fail:
  free(all);
  return st;
}

void rv_comm_abort(rv_comm *c, const char *why) {
  if (!c || c->broken) return;
  c->broken = 1;
  snprintf(c->why, sizeof c->why, "rank %d aborted: %s", c->rank, why ? why : "no reason given");
  if (c->vt->notify_abort) c->vt->notify_abort(c, c->why);
}

void rv_comm_free(rv_comm *c) {
  if (c) c->vt->destroy(c);
}

/* ---- local groups ---- */

typedef struct rank_thread {
  rv_comm *comm;
  rv_comm_rank_fn fn;
  void *user;
  rv_status st;
  char msg[RV_COMM_WHY];
} rank_thread;

static void *rank_main(void *arg) {
  rank_thread *t = arg;
  t->st = t->fn(t->comm, t->user);
  if (t->st < 0) {
    snprintf(t->msg, sizeof t->msg, "%s", rv_last_error());
    RV_LOG_W("rank %d of %d failed: %s", t->comm->rank, t->comm->size, t->msg);
  }
  if (t->comm->vt->depart) t->comm->vt->depart(t->comm, t->st, t->msg);
  return NULL;
}

rv_status rv_comm_run_threads(int size, rv_comm **comms, rv_comm_rank_fn fn, void *user,
                              rv_status *rank_status) {
  rv_status st = RV_OK;
  rank_thread *t = calloc((size_t)size, sizeof *t);
  pthread_t *tid = calloc((size_t)size, sizeof *tid);
  int started = 0;
  if (!t || !tid) RV_TRY_FAIL(RV_ERR_NOMEM, "rank threads");
  for (; started < size; started++) {
    t[started] = (rank_thread){comms[started], fn, user, RV_OK, ""};
    if (pthread_create(&tid[started], NULL, rank_main, &t[started]) != 0)
      RV_TRY_FAIL(RV_ERR_NOMEM, "pthread_create for rank %d failed", started);
  }
fail:
  if (st < 0) /* ranks already running see the missing ones leave */
    for (int r = started; r < size; r++)
      if (comms[r]->vt->depart) comms[r]->vt->depart(comms[r], st, "its thread never started");
  for (int r = 0; r < started; r++)
    pthread_join(tid[r], NULL);
  for (int r = 0; r < started && st == RV_OK; r++)
    if (t[r].st < 0) st = RV_FAIL(t[r].st, "rank %d of %d: %s", r, size, t[r].msg);
  for (int r = 0; rank_status && r < size; r++)
    rank_status[r] = r < started ? t[r].st : st;
  free(t);
  free(tid);
  return st;
}

rv_status rv_comm_local_group(const rv_comm_group_cfg *cfg, rv_comm_rank_fn fn, void *user,
                              rv_status *rank_status) {
  rv_status st = RV_OK;
  rv_comm **comms = NULL;
  if (!cfg || !fn) return RV_FAIL(RV_ERR_INVALID, "cfg and fn are required");
  if (cfg->size < 1 || cfg->size > 4096)
    return RV_FAIL(RV_ERR_INVALID, "a group has 1 to 4096 ranks, not %d", cfg->size);
  if (cfg->kind != RV_COMM_LOCAL && cfg->kind != RV_COMM_NCCL)
    return RV_FAIL(RV_ERR_INVALID, "a local group is of kind local or nccl, not %s",
                   rv_comm_kind_name(cfg->kind));
  comms = calloc((size_t)cfg->size, sizeof *comms);
  if (!comms) RV_TRY_FAIL(RV_ERR_NOMEM, "group comms");
  if (cfg->kind == RV_COMM_LOCAL)
    RV_TRY(rv_comm_local_make(cfg, comms));
  else
    RV_TRY(rv_comm_nccl_make(cfg, comms));
  st = rv_comm_run_threads(cfg->size, comms, fn, user, rank_status);
fail:
  /* ranks are freed in reverse: the local backend's shared state goes with rank 0 */
  for (int r = comms ? cfg->size - 1 : -1; r >= 0; r--)
    rv_comm_free(comms[r]);
  free(comms);
  return st;
}
