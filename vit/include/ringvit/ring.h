/* Ring attention over a token sequence spread across ranks (DESIGN.md section 4).
 *
 * Each rank holds some rows of the sequence: their global token positions are given as
 * up to two contiguous segments (two for the zigzag layout of causal masks). A call
 * computes, for the local queries, attention over the keys of every rank, exactly as if
 * the whole sequence were on one rank, and returns the local output rows.
 *
 * With comm == NULL the ring has one rank and the call is blockwise attention over the
 * local segments merged by log-sum-exp: the same code path the distributed ring uses.
 *
 * With a comm of R ranks the ring is pass-KV: at step s a rank attends its queries to
 * the key/value block that started at rank (r - s) mod R while it sends the block it
 * holds to r + 1 and receives the next one from r - 1 (two buffers; the transfer is in
 * flight while the block is computed). Partial outputs merge exactly in f32. Blocks a
 * mask hides entirely are skipped, and the ring stops after the last step any rank
 * needs (windows), so a window's cost grows with N * W, not N^2. Lay causal sequences
 * out zigzag (rv_ring_layout_seq) so every rank does the same work. */
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
  float scale; /* 1 / sqrt(head_dim) usually */
  rv_mask_kind mask;
  int32_t window;                            /* frames, for WINDOW and BAND */
  int32_t tokens_per_frame;                  /* > 0 when mask != NONE */
  int nseg;                                  /* 1 or 2 */
  rv_ring_segment seg[RV_RING_MAX_SEGMENTS]; /* local rows = seg[0] rows, then seg[1] rows */
} rv_ring_seq;

typedef struct rv_ring_cfg {
  rv_backend *backend; /* borrowed; computes this rank's blocks */
  rv_comm *comm;       /* borrowed; NULL = a single rank */
  int heads, head_dim;
  int64_t max_local_tokens; /* largest local row count any call will pass */
} rv_ring_cfg;

/* Collective with a comm: heads, head_dim, max_local_tokens and the dtype must agree on
 * every rank (RV_ERR_INVALID naming the value otherwise), and the comm must exchange
 * buffers where the backend keeps them (rv_comm_mem == rv_backend_mem). */
rv_status rv_ring_init(const rv_ring_cfg *cfg, rv_ring **out);
void rv_ring_free(rv_ring *r); /* NULL-safe */

int rv_ring_rank(const rv_ring *r);
int rv_ring_size(const rv_ring *r);

/* q, k, v [n_local, H, D] in the backend's act dtype (strided rows allowed, as for
 * rv_attention); o [n_local, H, D] act dtype, packed rows. n_local = sum of seq's
 * segment lengths (0 allowed on some ranks). Every rank of the ring must call this
 * collectively, with the same scale, mask, window and tokens_per_frame and segments that
 * do not overlap; a rank whose arguments are refused makes every rank fail with
 * RV_ERR_INVALID before any exchange. A failure during the ring aborts the comm. */
rv_status rv_ring_attention(rv_ring *r, const rv_tensor *q, const rv_tensor *k, const rv_tensor *v,
                            const rv_ring_seq *seq, rv_tensor *o);

/* Bytes of this rank's key/value buffers: two blocks of max_local_tokens (0 with one
 * rank, which attends k and v in place). */
size_t rv_ring_kv_bytes(const rv_ring *r);

/* Counters of this rank, summed over calls since init or reset (host wall time). */
typedef struct rv_ring_stats {
  int64_t calls, steps;
  int64_t blocks_computed, blocks_skipped; /* (query segment, key segment) pairs */
  double compute_s;                        /* attention and merges */
  double wait_s; /* waiting for transfers after the block's compute: comm not hidden */
  double total_s;
} rv_ring_stats;
void rv_ring_get_stats(const rv_ring *r, rv_ring_stats *out);
void rv_ring_reset_stats(rv_ring *r);

/* ---- layouts: which rows of a sequence of n tokens each rank holds ---- */

typedef enum rv_ring_layout {
  RV_RING_CONTIGUOUS = 0, /* R near-equal chunks in rank order */
  RV_RING_ZIGZAG = 1,     /* 2R chunks, rank r holds chunks r and 2R-1-r: equal causal work */
} rv_ring_layout;

/* Fills seq->nseg and seq->seg for `rank` of `size`, splitting only between units of
 * `unit` tokens (tokens_per_frame keeps frames whole; 1 splits anywhere); chunk sizes
 * differ by at most one unit. The other fields of seq are left as they are. */
rv_status rv_ring_layout_seq(rv_ring_layout layout, int64_t n, int64_t unit, int size, int rank,
                             rv_ring_seq *seq);
/* The largest share any rank gets: max_local_tokens for the ring; -1 on bad arguments. */
int64_t rv_ring_layout_max_local(rv_ring_layout layout, int64_t n, int64_t unit, int size);

#ifdef __cplusplus
}
#endif
#endif
