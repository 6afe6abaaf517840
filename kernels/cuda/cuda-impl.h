/* The CUDA backend: bf16 storage, fp32 accumulation, one stream and one cuBLASLt handle
 * per backend (nothing global).
 *
 * The backend and the GEMM wrapper are C (backend-cuda.c, gemm.c); the kernels are CUDA C
 * in *.cu files with extern "C" launchers declared here. A launcher queues its kernel on
 * the given stream and returns cudaGetLastError(), so every launch is checked; the C side
 * turns a failure into RV_FAIL with CUDA's message (RV_CUDA_CHECK). */
#ifndef RINGVIT_CUDA_IMPL_H
#define RINGVIT_CUDA_IMPL_H

#include <stdint.h>

#include <cuda_runtime_api.h>

#include "../backend-impl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cublasLtContext *rv_cublaslt_handle; /* cublasLtHandle_t, kept opaque here */
struct rv_cublaslt_api;                             /* cublaslt-impl.h */

typedef struct rv_cuda_backend {
  rv_backend base;
  int device;
  cudaStream_t stream;
  const struct rv_cublaslt_api *lt_api; /* set before lt */
  rv_cublaslt_handle lt;
  void *workspace; /* cuBLASLt's */
  size_t workspace_bytes;
  float *scratch; /* f32 GEMM result for epilogues cuBLASLt cannot fuse; grows only */
  size_t scratch_bytes;
} rv_cuda_backend;

static inline rv_cuda_backend *rv_cuda(rv_backend *be) { return (rv_cuda_backend *)be; }

/* Records a failed CUDA runtime call as RV_ERR_DEVICE with CUDA's own message. */
#define RV_CUDA_CHECK(expr, what)                                                                  \
  do {                                                                                             \
    cudaError_t e_ = (expr);                                                                       \
    if (e_ != cudaSuccess)                                                                         \
      return RV_FAIL(RV_ERR_DEVICE, "%s: %s (%s)", (what), cudaGetErrorString(e_),                 \
                     cudaGetErrorName(e_));                                                        \
  } while (0)

/* Makes the scratch hold at least `bytes` (outside the steady state only: it grows). */
rv_status rv_cuda_reserve_scratch(rv_cuda_backend *cb, size_t bytes);

/* ---- views handed to kernels: element pointers and strides, no rv_tensor in .cu ---- */

/* A 2-D view [rows, cols] with row stride ld (elements). */
typedef struct rv_cu_mat {
  void *data;
  int64_t rows, cols, ld;
} rv_cu_mat;

static inline rv_cu_mat rv_cu_mat_of(const rv_tensor *t) {
  rv_cu_mat m = {t->data, t->shape[0], t->shape[1], t->stride[0]};
  return m;
}

/* Up to four dims, right-aligned (unused leading dims have shape 1). */
typedef struct rv_cu_view4 {
  void *data;
  int dtype; /* rv_dtype: RV_F32, RV_F16 or RV_BF16 */
  int64_t shape[4], stride[4];
} rv_cu_view4;

/* ---- launchers (the .cu files) ---- */

/* y = gamma * (x - mean) / sqrt(var + eps) + beta per row; bf16; beta may be NULL. */
cudaError_t rv_cu_layernorm(cudaStream_t s, rv_cu_mat x, const void *gamma, const void *beta,
                            float eps, rv_cu_mat y);
/* y = softmax(scale * x) per row; bf16. */
cudaError_t rv_cu_softmax(cudaStream_t s, rv_cu_mat x, float scale, rv_cu_mat y);
/* y = gelu(x), variant RV_ACT_GELU_ERF or RV_ACT_GELU_TANH; bf16. */
cudaError_t rv_cu_gelu(cudaStream_t s, rv_cu_mat x, rv_cu_mat y, int variant);
/* y = a + b[row % b.rows]; bf16. */
cudaError_t rv_cu_add(cudaStream_t s, rv_cu_mat a, rv_cu_mat b, rv_cu_mat y);
/* dst = src over four dims, converting between f32, f16 and bf16. */
cudaError_t rv_cu_copy(cudaStream_t s, rv_cu_view4 src, rv_cu_view4 dst);
/* c = act(acc + bias) + beta * c, acc packed f32 [c.rows, c.cols]; c and bias bf16. */
cudaError_t rv_cu_gemm_epilogue(cudaStream_t s, const float *acc, const void *bias, int act,
                                float beta, rv_cu_mat c);
/* acc [m, n] packed f32 = alpha op(a) op(b), bf16 operands (see rv_gemm for op). */
cudaError_t rv_cu_gemm_fallback(cudaStream_t s, rv_cu_mat a, int trans_a, rv_cu_mat b, int trans_b,
                                int64_t m, int64_t n, int64_t k, float alpha, float *acc);
/* frames [f, h, w, 3] (u8 when is_u8, else f32) -> bf16 tokens (see rv_patchify). */
cudaError_t rv_cu_patchify(cudaStream_t s, const void *frames, int is_u8, int64_t f, int64_t h,
                           int64_t w, const float mean[3], const float std[3], int patch,
                           int tubelet, rv_cu_mat tokens);

/* One ring step of attention. q [nq, heads, d], k and v [nk, heads, d] bf16 with row
 * strides ldq, ldk, ldv; o [nq, heads, d] f32 with row stride ldo; lse [heads, nq] f32
 * with row stride ldl. */
typedef struct rv_cu_attn {
  const void *q, *k, *v;
  float *o, *lse;
  int64_t nq, nk, heads, d;
  int64_t ldq, ldk, ldv, ldo, ldl;
  float scale;
  int mask;       /* rv_mask_kind */
  int64_t lo, hi; /* allowed frame distances (rv_mask_bounds) */
  int64_t tpf;    /* tokens per frame (1 when mask is none) */
  int64_t q_pos0, k_pos0;
} rv_cu_attn;

/* The kernels' view of a validated rv_attention call (nk = 0 when no key is visible). */
rv_cu_attn rv_cu_attn_make(const rv_tensor *q, const rv_tensor *k, const rv_tensor *v,
                           const rv_attn_params *p, rv_tensor *o, rv_tensor *lse);
/* 1 when the tensor-core kernel takes this shape (head dim 64 or 128, 16-byte aligned rows). */
int rv_cu_attention_fast_ok(const rv_cu_attn *a);
/* Flash-style tensor-core kernel (mma.sync bf16, fp32 accumulation, online softmax). */
cudaError_t rv_cu_attention_flash(cudaStream_t s, const rv_cu_attn *a);
/* Plain kernel for any head dim up to RV_CU_ATTN_MAX_D: one warp per query and head. */
enum { RV_CU_ATTN_MAX_D = 256 };
cudaError_t rv_cu_attention_simple(cudaStream_t s, const rv_cu_attn *a);
/* Exact fp32 merge of partial (o_b, lse_b) into (o_a, lse_a); o [nq, heads, d], lse [heads, nq]. */
cudaError_t rv_cu_attn_merge(cudaStream_t s, float *o_a, int64_t ldoa, float *lse_a, int64_t ldla,
                             const float *o_b, int64_t ldob, const float *lse_b, int64_t ldlb,
                             int64_t nq, int64_t heads, int64_t d);

/* ---- vtable entries (the .c files) ---- */
rv_status rv_cuda_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                       const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p);

#ifdef __cplusplus
}
#endif
#endif
