#include <pthread.h>
#include <stdlib.h>

#include "queue-impl.h"

struct rv_queue {
  pthread_mutex_t mu;
  pthread_cond_t not_full, not_empty;
  void **items;
  int cap, head, len;
  int closed;
  rv_status abort_status; /* 0, or the error that stopped the pipeline */
};

rv_status rv_queue_init(int capacity, rv_queue **out) {
  if (!out || capacity < 1) return RV_FAIL(RV_ERR_INVALID, "queue capacity must be >= 1");
  rv_queue *q = calloc(1, sizeof *q);
  if (!q) return RV_FAIL(RV_ERR_NOMEM, "queue");
  q->items = calloc((size_t)capacity, sizeof *q->items);
  if (!q->items) {
    free(q);
    return RV_FAIL(RV_ERR_NOMEM, "queue of %d items", capacity);
  }
  q->cap = capacity;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->not_full, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  *out = q;
  return RV_OK;
}

void rv_queue_free(rv_queue *q) {
  if (!q) return;
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  free(q->items);
  free(q);
}

rv_status rv_queue_push(rv_queue *q, void *item) {
  rv_status st = RV_OK;
  pthread_mutex_lock(&q->mu);
  while (q->len == q->cap && !q->abort_status)
    pthread_cond_wait(&q->not_full, &q->mu);
  if (q->abort_status) {
    st = q->abort_status;
  } else if (q->closed) {
    st = RV_FAIL(RV_ERR_INTERNAL, "push to a closed queue");
  } else {
    q->items[(q->head + q->len) % q->cap] = item;
    q->len++;
    pthread_cond_signal(&q->not_empty);
  }
  pthread_mutex_unlock(&q->mu);
  return st;
}

rv_status rv_queue_pop(rv_queue *q, void **item) {
  rv_status st = RV_OK;
  pthread_mutex_lock(&q->mu);
  while (q->len == 0 && !q->closed && !q->abort_status)
    pthread_cond_wait(&q->not_empty, &q->mu);
  if (q->abort_status) {
    st = q->abort_status;
  } else if (q->len == 0) {
    st = RV_EOF;
  } else {
    *item = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    pthread_cond_signal(&q->not_full);
  }
  pthread_mutex_unlock(&q->mu);
  return st;
}

void rv_queue_close(rv_queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_mutex_unlock(&q->mu);
}

void rv_queue_abort(rv_queue *q, rv_status error) {
  pthread_mutex_lock(&q->mu);
  if (!q->abort_status) q->abort_status = error < 0 ? error : RV_ERR_INTERNAL;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}

int rv_queue_length(rv_queue *q) {
  pthread_mutex_lock(&q->mu);
  int n = q->len;
  pthread_mutex_unlock(&q->mu);
  return n;
}
