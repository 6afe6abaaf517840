#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "threadpool.h"

struct rv_pool {
  int threads;
  pthread_t *workers;
  pthread_mutex_t run; /* held by the caller of the current job: one job at a time */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation; /* bumped for every job; workers wait for a new one */
  int busy;            /* workers still inside the current job */
  int stop;
  /* the current job */
  rv_pool_fn fn;
  void *ctx;
  int64_t n, grain;
  atomic_llong next;
};

typedef struct {
  rv_pool *pool;
  int tid;
} worker_arg;

static void run_chunks(rv_pool *p, int tid) {
  for (;;) {
    int64_t begin = atomic_fetch_add(&p->next, p->grain);
    if (begin >= p->n) return;
    int64_t end = begin + p->grain < p->n ? begin + p->grain : p->n;
    p->fn(p->ctx, begin, end, tid);
  }
}

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  rv_pool *p = wa->pool;
  int tid = wa->tid;
  free(wa);
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->lock);
    run_chunks(p, tid);
    pthread_mutex_lock(&p->lock);
    if (--p->busy == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int rv_online_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

rv_status rv_pool_create(int threads, rv_pool **out) {
  rv_pool *p = calloc(1, sizeof *p);
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "thread pool");
  p->threads = threads > 0 ? threads : rv_online_cores();
  pthread_mutex_init(&p->run, NULL);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  p->workers = calloc((size_t)p->threads, sizeof *p->workers);
  if (!p->workers) {
    rv_pool_free(p);
    return RV_FAIL(RV_ERR_NOMEM, "thread pool workers");
  }
  for (int t = 1; t < p->threads; t++) {
    worker_arg *wa = malloc(sizeof *wa);
    int rc = wa ? 0 : -1;
    if (wa) {
      wa->pool = p;
      wa->tid = t;
      rc = pthread_create(&p->workers[t], NULL, worker_main, wa);
      if (rc) free(wa);
    }
    if (rc) {
      p->threads = t; /* only workers 1 .. t-1 exist */
      rv_pool_free(p);
      return RV_FAIL(RV_ERR_NOMEM, "cannot start worker thread %d", t);
    }
  }
  *out = p;
  return RV_OK;
}

void rv_pool_free(rv_pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int t = 1; t < p->threads && p->workers; t++) pthread_join(p->workers[t], NULL);
  pthread_mutex_destroy(&p->run);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->workers);
  free(p);
}

int rv_pool_threads(const rv_pool *p) { return p->threads; }

void rv_pool_run(rv_pool *p, rv_pool_fn fn, void *ctx, int64_t n, int64_t grain) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  if (p->threads == 1 || n <= grain) {
    fn(ctx, 0, n, 0);
    return;
  }
  /* a second caller would overwrite the job and, waiting on `done` for a signal the first
   * caller consumed, hang */
  pthread_mutex_lock(&p->run);
  pthread_mutex_lock(&p->lock);
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->grain = grain;
  atomic_store(&p->next, 0);
  p->busy = p->threads - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_chunks(p, 0);
  pthread_mutex_lock(&p->lock);
  while (p->busy > 0) pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
  pthread_mutex_unlock(&p->run);
}
