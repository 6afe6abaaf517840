/* The ring KV cache of stream mode (DESIGN.md section 4, pass-Q).
 *
 * Every temporal layer keeps the keys and values of the last `capacity_frames` frames in
 * a circular buffer. With a comm of R ranks the history is sharded: global frame f is
 * stored by rank f mod R, so every rank holds floor or ceil of (frames held) / R frames
 * and appending one frame evicts the oldest frame of the same rank: shares stay balanced.
 *
 * Per frame and layer the caller appends the frame's K and V, then attends the frame's
 * queries to the history including that frame (frame-causal). With R > 1 the queries and
 * their running (O, LSE) travel from the frame's owner through every rank holding part of
 * the visible history, each adding its part exactly (log-sum-exp merge in f32); the owner
 * finishes and the result is broadcast, so every rank returns the same output.
 *
 * Both calls are collective when comm != NULL: every rank calls them in the same order
 * with the same shapes. Inputs are read on the frame's owner (rv_kvcache_owner); other
 * ranks may pass the same tensors (replicated compute) or tensors with NULL data. */
#ifndef RINGVIT_KVCACHE_H
#define RINGVIT_KVCACHE_H

#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_comm rv_comm; /* see <ringvit/comm.h> */
typedef struct rv_kvcache rv_kvcache;

typedef struct rv_kvcache_cfg {
  rv_backend *backend; /* borrowed; holds the buffers and computes this rank's part */
  rv_comm *comm;       /* borrowed; NULL = one rank */
  int layers, heads, head_dim, tokens_per_frame;
  int64_t capacity_frames; /* frames of history kept per layer, all ranks together */
} rv_kvcache_cfg;

/* Collective with comm: the configs of all ranks must agree (clear error otherwise). */
rv_status rv_kvcache_init(const rv_kvcache_cfg *cfg, rv_kvcache **out);
void rv_kvcache_free(rv_kvcache *c); /* NULL-safe */

/* One new frame's K, V rows [tokens_per_frame, H, D] (act dtype, rows may be strided)
 * for `layer`; evicts the layer's oldest frame when full. Collective. */
rv_status rv_kvcache_append(rv_kvcache *c, int layer, const rv_tensor *k, const rv_tensor *v);

/* q [nq <= tokens_per_frame, H, D] of the layer's newest frame against the layer's
 * history including that frame: the last `window_frames` frames (0 = all held).
 * o [nq, H, D] act dtype, packed rows, written on every rank. Collective (pass-Q). */
rv_status rv_kvcache_attend(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window_frames, rv_tensor *o);

/* Frames in the history of layer 0, all ranks together (<= capacity_frames). */
int64_t rv_kvcache_frames(const rv_kvcache *c);
/* Frames held for one layer, all ranks together; -1 for a bad layer. */
int64_t rv_kvcache_layer_frames(const rv_kvcache *c, int layer);
/* Frames ever appended to a layer since init or reset (the next frame's index). */
int64_t rv_kvcache_appended(const rv_kvcache *c, int layer);
/* Rank that stores the layer's newest frame and whose q/k/v are read; -1 before any. */
int rv_kvcache_owner(const rv_kvcache *c, int layer);
/* Bytes of K/V storage on this rank (every layer). */
size_t rv_kvcache_bytes(const rv_kvcache *c);
/* Forgets the history of every layer (flush, seek). Every rank must call it. */
void rv_kvcache_reset(rv_kvcache *c);

#ifdef __cplusplus
}
#endif
#endif
