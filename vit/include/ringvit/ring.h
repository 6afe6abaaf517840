/* Ring attention over a token sequence spread across ranks (DESIGN.md section 4).
 *
 * Each rank holds some rows of the sequence: their global token positions are given as
 * up to two contiguous segments (two for the zigzag layout of causal masks). A call
 * computes, for the local queries, attention over the keys of every rank, exactly as if
 * the whole sequence were on one rank, and returns the local output rows.
 *
 * With comm == NULL the ring has one rank and the call is blockwise attention over the
 * local segments merged by log-sum-exp: the same code path the distributed ring uses. */
#ifndef RINGVIT_RING_H
#define RINGVIT_RING_H

#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_comm rv_comm; /* see <ringvit/comm.h> */
typedef struct rv_ring rv_ring;

enum { RV_RING_MAX_SEGMENTS = 2 };

typedef struct rv_ring_segment {
  int64_t pos0; /* global token index of the segment's first row */
  int64_t len;  /* rows */
} rv_ring_segment;

/* What one rank holds of the sequence, and how it attends. */
typedef struct rv_ring_seq {
  float scale;              /* 1 / sqrt(head_dim) usually */
  rv_mask_kind mask;
  int32_t window;           /* frames, for WINDOW and BAND */
  int32_t tokens_per_frame; /* > 0 when mask != NONE */
  int nseg;                 /* 1 or 2 */
  rv_ring_segment seg[RV_RING_MAX_SEGMENTS]; /* local rows = seg[0] rows, then seg[1] rows */
} rv_ring_seq;

typedef struct rv_ring_cfg {
  rv_backend *backend;      /* borrowed; computes this rank's blocks */
  rv_comm *comm;            /* borrowed; NULL = a single rank */
  int heads, head_dim;
  int64_t max_local_tokens; /* largest local row count any call will pass */
} rv_ring_cfg;

rv_status rv_ring_init(const rv_ring_cfg *cfg, rv_ring **out);
void rv_ring_free(rv_ring *r); /* NULL-safe */

int rv_ring_rank(const rv_ring *r);
int rv_ring_size(const rv_ring *r);

/* q, k, v [n_local, H, D] in the backend's act dtype (strided rows allowed, as for
 * rv_attention); o [n_local, H, D] act dtype, packed rows. n_local = sum of seq's
 * segment lengths. Every rank of the ring must call this collectively. */
rv_status rv_ring_attention(rv_ring *r, const rv_tensor *q, const rv_tensor *k,
                            const rv_tensor *v, const rv_ring_seq *seq, rv_tensor *o);

#ifdef __cplusplus
}
#endif
#endif
