/* One entry point per op. Each validates its arguments once, here, for every backend
 * (NULLs, shapes, dtypes, memory location) and then runs the backend's implementation.
 *
 * Conventions: row-major; 2-D operands need unit stride in their last dimension and may
 * have any row stride (views into wider buffers, e.g. the q/k/v thirds of a fused QKV
 * output). Activations and weights use the backend's activation dtype
 * (rv_backend_act_dtype); attention partial outputs and log-sum-exp are always f32. */
#ifndef RINGVIT_OPS_H
#define RINGVIT_OPS_H

#include <ringvit/backend.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_act {
  RV_ACT_NONE = 0,
  RV_ACT_GELU_ERF = 1,  /* 0.5 x (1 + erf(x / sqrt 2)), PyTorch's default */
  RV_ACT_GELU_TANH = 2, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
} rv_act;

typedef struct rv_gemm_params {
  int trans_a;  /* a is stored [K, M] */
  int trans_b;  /* b is stored [N, K]: a PyTorch Linear weight [out, in] */
  float alpha;  /* scales op(a) op(b) */
  float beta;   /* scales the old c that is added after the activation (residual) */
  rv_act act;
} rv_gemm_params;

/* c = act(alpha * op(a) op(b) + bias) + beta * c
 * op(a) [M, K], op(b) [K, N], bias [N] or NULL, c [M, N]. c must not alias a or b. */
rv_status rv_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b, const rv_tensor *bias,
                  rv_tensor *c, const rv_gemm_params *p);

/* y = (x - mean) / sqrt(var + eps) * gamma + beta over the last dim; x, y [M, C];
 * beta may be NULL; y may alias x. */
rv_status rv_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                       const rv_tensor *beta, float eps, rv_tensor *y);

/* y = gelu(x) elementwise (variant RV_ACT_GELU_ERF or RV_ACT_GELU_TANH); [M, C]; y may alias x. */
rv_status rv_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant);

/* y = softmax(scale * x) along the last dim; [M, N]; y may alias x. */
rv_status rv_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y);

/* y = a + b[row % Mb]: residual add, or a broadcast add of position embeddings.
 * a, y [M, C]; b [Mb, C] with M % Mb == 0; y may alias a. */
rv_status rv_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y);

/* Converts or copies between equal shapes (f32 <-> bf16/f16, strided -> packed). */
rv_status rv_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst);

/* Normalizes and cuts frames into patch tokens.
 * frames [F, H, W, 3] interleaved RGB, u8 (0..255) or f32 (0..1);
 * value = (x - mean[c]) / std[c] with x scaled to 0..1;
 * tokens [(F/T) * (H/P) * (W/P), 3*T*P*P], token order (frame group, patch row, patch col),
 * feature order (channel, t, y, x), the order of a PyTorch Conv2d/Conv3d weight
 * [D, 3, (T,) P, P] flattened, so patch embedding is rv_gemm with that weight, trans_b = 1.
 * F % T == 0, H % P == 0, W % P == 0. */
rv_status rv_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                      const float std[3], int patch, int tubelet, rv_tensor *tokens);

/* ---- blockwise attention, one ring step ---- */

typedef enum rv_mask_kind {
  RV_MASK_NONE = 0,   /* every query sees every key */
  RV_MASK_CAUSAL = 1, /* frame-causal: key frame <= query frame */
  RV_MASK_WINDOW = 2, /* causal window: 0 <= query frame - key frame < window */
  RV_MASK_BAND = 3,   /* bidirectional window: |query frame - key frame| < window */
} rv_mask_kind;

typedef struct rv_attn_params {
  float scale;              /* usually 1 / sqrt(head_dim) */
  rv_mask_kind mask;
  int32_t window;           /* frames, for WINDOW and BAND (>= 1) */
  int32_t tokens_per_frame; /* > 0 when mask != NONE */
  int64_t q_pos0;           /* global token index of q's first row */
  int64_t k_pos0;           /* global token index of k's first row */
} rv_attn_params;

/* Frame-distance bounds of a mask: a pair is allowed iff lo <= qf - kf <= hi. */
void rv_mask_bounds(rv_mask_kind mask, int32_t window, int64_t *lo, int64_t *hi);

/* Attention of a Q block against one K/V block, returning the block's output and its
 * log-sum-exp, so that blocks can be merged exactly (rv_attn_merge).
 *   q [Nq, H, D], k and v [Nk, H, D]: act dtype; any stride for dim 0, packed H x D;
 *   o [Nq, H, D] f32, lse [H, Nq] f32.
 * lse[h][i] = log(sum_j exp(scale * q_i . k_j)) over the allowed keys; o is the
 * softmax-weighted sum of v. Queries with no allowed key get o = 0 and lse = -inf.
 * The token of row i has frame (pos0 + i) / tokens_per_frame. */
rv_status rv_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                       const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                       rv_tensor *lse);

/* Merges partial b into accumulator a, exactly, in f32:
 *   lse = log(exp(lse_a) + exp(lse_b)); o_a = exp(lse_a - lse) o_a + exp(lse_b - lse) o_b
 * o [Nq, H, D] f32, lse [H, Nq] f32. -inf entries (nothing seen yet) are handled. */
rv_status rv_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a, const rv_tensor *o_b,
                        const rv_tensor *lse_b);

/* 1 when the frame ranges of a q block [q_pos0, q_pos0+nq) and k block [k_pos0, k_pos0+nk)
 * have at least one allowed pair: ring schedulers skip blocks for which this is 0. */
int rv_attn_block_visible(const rv_attn_params *p, int64_t nq, int64_t nk);

#ifdef __cplusplus
}
#endif
#endif
