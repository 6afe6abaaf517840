/* Small helpers shared by the ring attention and the ring KV cache. Private to vit/. */
#ifndef RINGVIT_RING_IMPL_H
#define RINGVIT_RING_IMPL_H

#include <time.h>

#include <ringvit/kernels.h>

/* Rows [row0, row0 + n) of a [N, H, D] view (dim 0). */
static inline rv_tensor rv_ring_rows(const rv_tensor *t, int64_t row0, int64_t n) {
  rv_tensor s = *t;
  s.data = (char *)t->data + (size_t)(row0 * t->stride[0]) * rv_dtype_size(t->dtype);
  s.shape[0] = n;
  return s;
}

/* Columns [c0, c0 + n) of an lse view [H, N]. */
static inline rv_tensor rv_ring_lse_cols(const rv_tensor *t, int64_t c0, int64_t n) {
  rv_tensor s = *t;
  s.data = (float *)t->data + c0;
  s.shape[1] = n;
  return s;
}

static inline double rv_ring_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
