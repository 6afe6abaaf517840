/* Ring attention cases shared by the ring tests (local threads and mpirun): every rank
 * makes the whole sequence (the same numbers everywhere), computes single-rank full
 * attention over it on the reference backend, runs rv_ring_attention on its own rows
 * and compares them.
 * The run makes no cmocka calls, so it can run on any thread; rv_ring_result_assert
 * checks a result on the test's thread. */
#ifndef RINGVIT_RING_CASE_H
#define RINGVIT_RING_CASE_H

#include <ringvit/comm.h>
#include <ringvit/ring.h>

#include "rv-test.h"

typedef enum rv_case_layout {
  RV_CASE_CONTIGUOUS = 0, /* rv_ring_layout_seq, contiguous */
  RV_CASE_ZIGZAG = 1,     /* rv_ring_layout_seq, zigzag */
  RV_CASE_SKEWED = 2,     /* contiguous, rank r gets a share proportional to r + 1 */
} rv_case_layout;

typedef struct rv_ring_case {
  const char *name;
  int64_t n;
  int heads, head_dim, tpf;
  rv_case_layout layout;
  int strided; /* q, k, v as views into one fused [n, 3, H, D] buffer */
} rv_ring_case;

typedef struct rv_ring_result {
  rv_cmp cmp[4];       /* per mask: this rank's rows against full attention */
  int64_t rows;        /* this rank's rows */
  rv_ring_stats stats; /* summed over the masks */
} rv_ring_result;

extern const rv_ring_case rv_ring_cases[];
extern const size_t rv_ring_case_count;
extern const int32_t rv_ring_case_window; /* frames, for WINDOW and BAND */

/* This rank's segments under a case's layout. */
rv_status rv_ring_case_seq(const rv_ring_case *rc, int size, int rank, rv_ring_seq *seq);
/* Runs every mask of the case as rank `rank` of comm (NULL: one rank). */
rv_status rv_ring_case_run(const rv_ring_case *rc, rv_backend *be, rv_comm *comm,
                           rv_ring_result *res);
/* Tolerances (max relative error against |ref| + 10% of the RMS, as in the kernel
 * tests) against full attention on the reference backend: the ring on the reference
 * backend (double sums inside each block; what is left is the f32 merge of partials)
 * must be exact to fp32's 1e-5. The cpu backend's kernel sums in f32: its single-rank
 * output is already up to about 7e-6 from the reference, so its ring gets 3e-5. */
#define RV_RING_TOL_REF 1e-5
#define RV_RING_TOL_CPU 3e-5

/* Fails the test unless every mask matched within max_rel. */
void rv_ring_result_assert(const rv_ring_case *rc, const rv_ring_result *res, int size, int rank,
                           double max_rel);

#endif
