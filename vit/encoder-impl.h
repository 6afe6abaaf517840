/* The encoder context, shared by encoder.c (stages) and heads.c. */
#ifndef RINGVIT_ENCODER_IMPL_H
#define RINGVIT_ENCODER_IMPL_H

#include <ringvit/kvcache.h>
#include <ringvit/ring.h>

#include "vit-impl.h"

typedef struct rv_block_w {
  rv_tensor n1w, n1b, qkv_w, qkv_b, proj_w, proj_b, n2w, n2b, fc1_w, fc1_b, fc2_w, fc2_b;
  int has_qkv_b;
} rv_block_w;

typedef struct rv_lin {
  rv_tensor w, b;
} rv_lin;

struct rv_vit {
  const rv_model *m;
  const rv_vit_config *c; /* the model's, or `banded` */
  rv_vit_config banded;   /* the model's with the band of rv_vit_cfg.band_frames */
  rv_backend *be;
  rv_vit_tap_fn tap;
  void *tap_user;
  int gh, gw, np;      /* patch grid and its token count */
  int npre, ndet, seq; /* prefix tokens, det tokens, tokens of one frame's sequence */
  int tin, d, heads, hd;
  int pooled, tpf; /* temporal tokens pooled to a grid; tokens per frame in the temporal stage */
  int fold;        /* temporal attention's tokens per key position: tpf for "own_region" (a
                      frame's tokens become one position with tpf x heads heads), else 1 */
  int max_batch, max_frames;
  int64_t n_frames; /* pushed since the last finish, on every rank */
  /* frames this rank keeps (offline): spread = ranks > 1; own = its frames of a full
   * context (frame units); cap = the most frames any rank keeps; n_local = kept so far */
  int spread;
  rv_ring_seq own;
  int64_t cap, n_local;
  double *times; /* [cap] seconds of the frames kept */
  /* weights (views of the model, or of `owned` for resampled/merged ones) */
  rv_lin pe, norm, fc_norm, dense_hidden, dense_out, scene;
  rv_lin set_cls[3], set_box[3];
  rv_tensor cls, dist, det, pos, *mid;
  rv_block_w *sp, *tp;
  float *owned; /* resampled position tables and merged q/v biases */
  /* activations, all in `arena` */
  rv_arena *arena;
  rv_ring *ring;
  rv_comm *comm;        /* NULL = one rank */
  int ranks, rank;      /* of comm */
  rv_ring_layout split; /* how the temporal sequence is shared across ranks */
  rv_ring_seq tseq;     /* this rank's share of the current temporal sequence */
  int64_t stream;                 /* frames of stream history (rv_vit_cfg.stream_frames) */
  rv_kvcache *cache;              /* stream mode's K/V history, NULL when offline only */
  int64_t stream_pos;             /* frames stepped since the last reset */
  rv_tensor step_pos;             /* [seq, D] sinusoidal positions of the stepped frame */
  rv_tensor x;                    /* [cap * seq, D] the frames kept */
  rv_tensor h, qkv, attn, mlp;    /* [rows, D], [rows, 3D], [rows, D] f32, [rows, M] */
  rv_tensor lse;                  /* [H, seq] */
  rv_tensor t, t0;                /* [max_frames * K, D] pooled temporal tokens, and their input */
  rv_tensor pool, unpool;         /* [K, N] averaging, [N, K] region membership */
  rv_tensor mean_row;             /* [1, N] of 1 / N */
  rv_tensor sinpos; /* [cap * seq, D] sinusoidal positions; [max_batch * seq, D] spread */
  rv_tensor tpos;   /* [cap, D] time embedding of each frame */
  rv_tensor dense_h, dense_o;     /* [N, hidden], [cap * N, channels] */
  rv_tensor pooled_rows, scene_o; /* [cap, D], [cap, A] */
  rv_tensor scene_all;            /* [ranks, D] every rank's clip sum (spread clip models) */
  rv_tensor set_h1, set_h2, set_l, set_b; /* [ndet, D] x2, [cap * ndet, C + 1], [.., 4] */
};

/* c = act(a b^T + bias) + beta c: a Linear layer, optionally fused with a residual. */
rv_status rv_vit_linear(rv_vit *v, const rv_tensor *a, const rv_lin *l, rv_tensor *c, rv_act act,
                        float beta);
void rv_vit_tap(rv_vit *v, const char *name, const rv_tensor *t);
/* "<prefix>.weight" and "<prefix>.bias" of the model (RV_ERR_NOT_FOUND naming them). */
rv_status rv_vit_get_lin(const rv_vit *v, const char *prefix, rv_lin *l);

/* Carves 2-D f32 tensors from `a`, or (a == NULL) only adds up the bytes they would take,
 * so the same code sizes the arena exactly and then fills it. */
typedef struct rv_carver {
  rv_arena *a;
  size_t bytes;
} rv_carver;
rv_status rv_carve(rv_carver *cv, int64_t d0, int64_t d1, rv_tensor *out);

rv_status rv_vit_heads_bind(rv_vit *v);
rv_status rv_vit_heads_carve(rv_vit *v, rv_carver *cv);
rv_status rv_vit_heads_run(rv_vit *v, rv_vit_outputs *out);

#endif
