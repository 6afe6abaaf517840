/* The local comm backend: R ranks as threads of one process.
 *
 * Each ordered pair (src, dst) has a channel holding the sender's latest posted buffer
 * and the receiver's latest posted buffer, numbered. A copy engine per source rank (a
 * thread, standing in for that rank's link) copies a transfer once both sides have
 * posted it, so a rank computes while its data moves. Waits sleep on one condition
 * variable with a deadline and also end when the peer has left the group or aborted it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ringvit/config.h>

#include "comm-impl.h"

#if RV_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

typedef struct chan {
  const void *sbuf;
  void *rbuf;
  size_t sbytes, rbytes;
  uint64_t sseq, rseq, done; /* transfers posted by each side; transfers completed */
  int copying;
  int dead; /* a side gave up: the channel never copies again */
  char err[RV_COMM_WHY];
} chan;

typedef struct group group;

typedef struct local_comm {
  rv_comm base;
  group *g;
  int dst, src;              /* peers of the exchange in flight, -1 = none */
  uint64_t my_sseq, my_rseq; /* its sequence numbers */
} local_comm;

struct group {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int size, refs, stop;
  rv_mem mem;
  double link_bps;
  chan *ch; /* [src * size + dst] */
  int *gone;
  char (*gone_msg)[RV_COMM_WHY];
  int aborted;
  char abort_why[RV_COMM_WHY];
  pthread_t *engine;
  int engines;
  local_comm *ranks;
};

static chan *chan_of(group *g, int src, int dst) { return &g->ch[(size_t)src * g->size + dst]; }

static void deadline_ts(double deadline, struct timespec *ts) {
  /* the condition variable runs on CLOCK_MONOTONIC, like rv_comm_now */
  ts->tv_sec = (time_t)deadline;
  ts->tv_nsec = (long)((deadline - (double)ts->tv_sec) * 1e9);
}

static rv_status copy_bytes(group *g, void *dst, const void *src, size_t n) {
#if RV_HAVE_CUDA
  if (g->mem == RV_MEM_DEVICE) {
    cudaError_t e = cudaMemcpy(dst, src, n, cudaMemcpyDefault);
    if (e != cudaSuccess)
      return RV_FAIL(RV_ERR_DEVICE, "cudaMemcpy of %zu bytes: %s", n, cudaGetErrorString(e));
    return RV_OK;
  }
#endif
  memcpy(dst, src, n);
  return RV_OK;
}

/* Emulated link: a transfer of n bytes takes at least n / link_bps seconds. */
static void pace(const group *g, size_t n, double t0) {
  if (g->link_bps <= 0) return;
  double left = t0 + (double)n / g->link_bps - rv_comm_now();
  if (left <= 0) return;
  struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
  nanosleep(&ts, NULL);
}

static int ready(const chan *h) {
  return !h->dead && !h->copying && h->sseq == h->rseq && h->sseq > h->done;
}

/* One copy, with the lock held on entry and exit. */
static void engine_copy(group *g, chan *h) {
  h->copying = 1;
  const void *s = h->sbuf;
  void *d = h->rbuf;
  size_t n = h->sbytes, want = h->rbytes;
  pthread_mutex_unlock(&g->mu);
  rv_status st = RV_OK;
  char err[RV_COMM_WHY] = "";
  if (n != want)
    snprintf(err, sizeof err, "the sender posted %zu bytes, the receiver %zu", n, want);
  else {
    double t0 = rv_comm_now();
    st = copy_bytes(g, d, s, n);
    if (st < 0) snprintf(err, sizeof err, "%s", rv_last_error());
    pace(g, n, t0);
  }
  pthread_mutex_lock(&g->mu);
  if (err[0]) {
    h->dead = 1;
    snprintf(h->err, sizeof h->err, "%s", err);
  }
  h->done = h->sseq;
  h->copying = 0;
  pthread_cond_broadcast(&g->cv);
}

typedef struct engine_arg {
  group *g;
  int src;
} engine_arg;

static void *engine_main(void *arg) {
  engine_arg *ea = arg;
  group *g = ea->g;
  int src = ea->src;
  free(ea);
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    int busy = 0;
    for (int d = 0; d < g->size; d++) {
      chan *h = chan_of(g, src, d);
      if (ready(h)) {
        engine_copy(g, h);
        busy = 1;
      }
    }
    if (!busy) pthread_cond_wait(&g->cv, &g->mu);
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static rv_status local_start(rv_comm *c, const rv_comm_xfer *x) {
  local_comm *lc = (local_comm *)c;
  group *g = lc->g;
  pthread_mutex_lock(&g->mu);
  lc->dst = x->send ? x->dst : -1;
  lc->src = x->recv ? x->src : -1;
  if (x->send) {
    chan *h = chan_of(g, c->rank, x->dst);
    h->sbuf = x->send;
    h->sbytes = x->send_bytes;
    lc->my_sseq = ++h->sseq;
  }
  if (x->recv) {
    chan *h = chan_of(g, x->src, c->rank);
    h->rbuf = x->recv;
    h->rbytes = x->recv_bytes;
    lc->my_rseq = ++h->rseq;
  }
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  return RV_OK;
}

/* Why one side of the exchange cannot complete, or RV_OK while it still may. Lock held. */
static rv_status side_failed(const group *g, const chan *h, int me, int peer, int sending,
                             uint64_t seq) {
  if (h->done >= seq && !h->dead) return RV_OK;
  if (h->dead)
    return RV_FAIL(RV_ERR_COMM, "rank %d: %s rank %d failed: %s", me,
                   sending ? "sending to" : "receiving from", peer, h->err);
  if (g->aborted)
    return RV_FAIL(RV_ERR_COMM, "rank %d: the group was aborted: %s", me, g->abort_why);
  uint64_t peer_seq = sending ? h->rseq : h->sseq;
  if (g->gone[peer] && peer_seq < seq)
    return RV_FAIL(RV_ERR_COMM, "rank %d: rank %d left the group before %s (%s)", me, peer,
                   sending ? "receiving what this rank sends" : "sending what this rank expects",
                   g->gone_msg[peer][0] ? g->gone_msg[peer] : "its function returned");
  return RV_OK;
}

static int side_done(const chan *h, uint64_t seq) { return h->done >= seq && !h->dead; }

/* Marks the unfinished sides of this rank's exchange dead, after any copy in progress,
 * so that no engine touches its buffers once the call has returned. Lock held. */
static void retract(local_comm *lc) {
  group *g = lc->g;
  chan *sides[2] = {lc->dst >= 0 ? chan_of(g, lc->base.rank, lc->dst) : NULL,
                    lc->src >= 0 ? chan_of(g, lc->src, lc->base.rank) : NULL};
  uint64_t seqs[2] = {lc->my_sseq, lc->my_rseq};
  for (int i = 0; i < 2; i++) {
    chan *h = sides[i];
    if (!h || h->done >= seqs[i]) continue;
    while (h->copying)
      pthread_cond_wait(&g->cv, &g->mu);
    if (h->done >= seqs[i]) continue;
    if (!h->dead) snprintf(h->err, sizeof h->err, "rank %d gave up on the transfer", lc->base.rank);
    h->dead = 1;
  }
  lc->dst = lc->src = -1;
  pthread_cond_broadcast(&g->cv);
}

static rv_status timed_out(const local_comm *lc, double timeout) {
  const char *what =
      lc->src >= 0 && lc->dst >= 0 ? "an exchange with ranks" : "a transfer with rank";
  if (lc->src >= 0 && lc->dst >= 0)
    return RV_FAIL(RV_ERR_TIMEOUT,
                   "rank %d: %s %d (send) and %d (receive) did not complete in %.3g s",
                   lc->base.rank, what, lc->dst, lc->src, timeout);
  return RV_FAIL(RV_ERR_TIMEOUT, "rank %d: %s %d did not complete in %.3g s", lc->base.rank, what,
                 lc->dst >= 0 ? lc->dst : lc->src, timeout);
}

/* 1 when complete, 0 while pending; an error when it cannot complete. Lock held. */
static rv_status check_sides(local_comm *lc) {
  group *g = lc->g;
  rv_status st = RV_OK;
  int me = lc->base.rank, done = 1;
  if (lc->dst >= 0) {
    chan *h = chan_of(g, me, lc->dst);
    if ((st = side_failed(g, h, me, lc->dst, 1, lc->my_sseq)) < 0) return st;
    done &= side_done(h, lc->my_sseq);
  }
  if (lc->src >= 0) {
    chan *h = chan_of(g, lc->src, me);
    if ((st = side_failed(g, h, me, lc->src, 0, lc->my_rseq)) < 0) return st;
    done &= side_done(h, lc->my_rseq);
  }
  return done ? 1 : 0;
}

static rv_status local_test(rv_comm *c, int *done) {
  local_comm *lc = (local_comm *)c;
  pthread_mutex_lock(&lc->g->mu);
  rv_status st = check_sides(lc);
  if (st < 0) retract(lc);
  if (st == 1) lc->dst = lc->src = -1;
  pthread_mutex_unlock(&lc->g->mu);
  *done = st == 1;
  return st < 0 ? st : RV_OK;
}

static rv_status local_wait(rv_comm *c, double deadline) {
  local_comm *lc = (local_comm *)c;
  group *g = lc->g;
  struct timespec ts;
  deadline_ts(deadline, &ts);
  pthread_mutex_lock(&g->mu);
  rv_status st;
  while ((st = check_sides(lc)) == 0) {
    if (rv_comm_now() >= deadline) {
      st = timed_out(lc, c->timeout);
      break;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
  }
  if (st < 0)
    retract(lc);
  else
    lc->dst = lc->src = -1;
  pthread_mutex_unlock(&g->mu);
  return st < 0 ? st : RV_OK;
}

static void local_notify_abort(rv_comm *c, const char *why) {
  local_comm *lc = (local_comm *)c;
  group *g = lc->g;
  pthread_mutex_lock(&g->mu);
  if (!g->aborted) {
    g->aborted = 1;
    snprintf(g->abort_why, sizeof g->abort_why, "%s", why);
  }
  retract(lc);
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void local_depart(rv_comm *c, rv_status st, const char *msg) {
  local_comm *lc = (local_comm *)c;
  group *g = lc->g;
  pthread_mutex_lock(&g->mu);
  retract(lc); /* an exchange left in flight must not be copied after the thread is gone */
  g->gone[c->rank] = 1;
  if (st < 0) snprintf(g->gone_msg[c->rank], RV_COMM_WHY, "it failed: %s", msg);
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

static void group_free(group *g) {
  if (!g) return;
  pthread_mutex_lock(&g->mu);
  g->stop = 1;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
  for (int i = 0; i < g->engines; i++)
    pthread_join(g->engine[i], NULL);
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g->ch);
  free(g->gone);
  free(g->gone_msg);
  free(g->engine);
  free(g->ranks);
  free(g);
}

static void local_destroy(rv_comm *c) {
  group *g = ((local_comm *)c)->g;
  pthread_mutex_lock(&g->mu);
  retract((local_comm *)c);
  int last = --g->refs == 0;
  pthread_mutex_unlock(&g->mu);
  if (last) group_free(g);
}

static const rv_comm_vtable local_vt = {
    .start = local_start,
    .test = local_test,
    .wait = local_wait,
    .notify_abort = local_notify_abort,
    .depart = local_depart,
    .destroy = local_destroy,
};

static rv_status start_engines(group *g) {
  for (; g->engines < g->size; g->engines++) {
    engine_arg *ea = malloc(sizeof *ea);
    if (!ea) return RV_FAIL(RV_ERR_NOMEM, "copy engine");
    *ea = (engine_arg){g, g->engines};
    if (pthread_create(&g->engine[g->engines], NULL, engine_main, ea) != 0) {
      free(ea);
      return RV_FAIL(RV_ERR_NOMEM, "pthread_create for copy engine %d failed", g->engines);
    }
  }
  return RV_OK;
}

static rv_status group_alloc(const rv_comm_group_cfg *cfg, group **out) {
  rv_status st = RV_OK;
  size_t n = (size_t)cfg->size;
  group *g = calloc(1, sizeof *g);
  if (!g) return RV_FAIL(RV_ERR_NOMEM, "local group");
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&g->mu, NULL);
  pthread_cond_init(&g->cv, &ca);
  pthread_condattr_destroy(&ca);
  g->size = cfg->size;
  g->mem = cfg->mem;
  g->link_bps = cfg->link_bytes_per_s;
  g->ch = calloc(n * n, sizeof *g->ch);
  g->gone = calloc(n, sizeof *g->gone);
  g->gone_msg = calloc(n, sizeof *g->gone_msg);
  g->engine = calloc(n, sizeof *g->engine);
  g->ranks = calloc(n, sizeof *g->ranks);
  if (!g->ch || !g->gone || !g->gone_msg || !g->engine || !g->ranks)
    RV_TRY_FAIL(RV_ERR_NOMEM, "local group tables for %d ranks", cfg->size);
  RV_TRY(start_engines(g));
  *out = g;
  return RV_OK;
fail:
  group_free(g);
  return st;
}

rv_status rv_comm_local_make(const rv_comm_group_cfg *cfg, rv_comm **comms) {
  group *g = NULL;
  if (cfg->mem == RV_MEM_DEVICE && !RV_HAVE_CUDA)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "local comm over device buffers needs a CUDA build");
  if (cfg->link_bytes_per_s < 0) return RV_FAIL(RV_ERR_INVALID, "link_bytes_per_s must be >= 0");
  rv_status st = group_alloc(cfg, &g);
  if (st < 0) return st;
  g->refs = cfg->size;
  for (int r = 0; r < cfg->size; r++) {
    local_comm *lc = &g->ranks[r];
    rv_comm_base_init(&lc->base, &local_vt, RV_COMM_LOCAL, r, cfg->size, cfg->mem, cfg->timeout_s);
    lc->g = g;
    lc->dst = lc->src = -1;
    comms[r] = &lc->base;
  }
  return RV_OK;
}
