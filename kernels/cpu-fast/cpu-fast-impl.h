/* The fast CPU backend: OpenBLAS sgemm (single-threaded, called from our own workers so
 * one pool owns every core), cache-blocked loops, vector math with run-time dispatch. */
#ifndef RINGVIT_CPU_FAST_IMPL_H
#define RINGVIT_CPU_FAST_IMPL_H

#include "../backend-impl.h"
#include "threadpool.h"

/* Hot loops are compiled for AVX-512 and AVX2+FMA as well as baseline x86-64 and picked
 * at load time, so one binary is fast on any x86-64 machine without -march=native. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define RV_VECTOR_CLONES                                                                           \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RV_VECTOR_CLONES
#endif

typedef struct rv_cpu_scratch {
  float *buf;
  size_t cap; /* floats */
} rv_cpu_scratch;

typedef struct rv_cpu_backend {
  rv_backend base;
  rv_pool *pool;
  rv_cpu_scratch *scratch; /* one per worker */
  int attn_micro;          /* rv_attn_micro_ok() at init */
} rv_cpu_backend;

static inline rv_cpu_backend *rv_cpu(rv_backend *be) { return (rv_cpu_backend *)be; }

/* Makes every worker's scratch hold at least `floats` floats, before a parallel loop, so
 * workers never allocate. Grows only: steady state allocates nothing. */
rv_status rv_cpu_reserve(rv_cpu_backend *cb, size_t floats);

/* C [m, n] (row stride ldc) = alpha * op(A) op(B) + beta * C, single-threaded sgemm. */
void rv_cpu_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                  const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
                  int64_t ldc);

/* AVX-512 micro-kernels of attention (attn-micro.c), usable when rv_attn_micro_ok()
 * (checked once, at backend init).
 * Transposed layout: qt [d, ldq], st and pt [bk, ldq], acct [d, ldq]; ldq % 16 == 0. */
int rv_attn_micro_ok(void);
void rv_attn_qk_t(const float *qt, int64_t ldq, const float *k, int64_t ks, int64_t bk, int64_t d,
                  float *st);
void rv_attn_pv_t(const float *pt, int64_t ldq, int64_t bk, const float *v, int64_t vs, int64_t d,
                  float *acct);
/* rv_vec_softmax_cols without its temporaries, in AVX-512. */
void rv_attn_softmax_cols(float *st, int64_t ldq, int64_t bk, float *m, float *l, float *alpha);

/* Vector math over arrays (dispatched clones). */
float rv_vec_exp_sub(float *x, int64_t n, float sub); /* x = exp(x - sub); returns sum */
float rv_vec_max(const float *x, int64_t n);
void rv_vec_scale(float *x, int64_t n, float s);
/* Online softmax step over transposed scores st [bk, ldq] (a key per row, a query per
 * column): updates the running max m and sum l of each of the ldq queries, leaves the
 * probabilities in st and the factor that rescales older accumulators in alpha.
 * tmp holds 2 * ldq floats. */
void rv_vec_softmax_cols(float *st, int64_t ldq, int64_t bk, float *m, float *l, float *alpha,
                         float *tmp);
/* x [rows, ldq] column j *= s[j]. */
void rv_vec_scale_cols(float *x, int64_t ldq, int64_t rows, const float *s);
void rv_vec_act(float *x, int64_t n, rv_act act);                         /* in place */
void rv_vec_bias_act(float *x, const float *bias, int64_t n, rv_act act); /* x = act(x + bias) */

rv_status rv_cpu_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b, const rv_tensor *bias,
                      rv_tensor *c, const rv_gemm_params *p);
rv_status rv_cpu_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                           const rv_tensor *beta, float eps, rv_tensor *y);
rv_status rv_cpu_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant);
rv_status rv_cpu_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y);
rv_status rv_cpu_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y);
rv_status rv_cpu_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst);
rv_status rv_cpu_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                          const float std[3], int patch, int tubelet, rv_tensor *tokens);
rv_status rv_cpu_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                           const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                           rv_tensor *lse);
rv_status rv_cpu_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a, const rv_tensor *o_b,
                            const rv_tensor *lse_b);

#endif
