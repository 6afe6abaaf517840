#include <string.h>

#include "cpu-fast-impl.h"

#ifdef RV_HAVE_OPENBLAS
#include <cblas.h>
#endif

#ifndef RV_HAVE_OPENBLAS
/* Without OpenBLAS: C = alpha op(A) op(B) + beta C with row-at-a-time loops that the
 * compiler vectorizes (axpy over rows of B, or 16-lane dot products for B^T). */
RV_VECTOR_CLONES
static void plain_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha,
                        const float *a, int64_t lda, const float *b, int64_t ldb, float beta,
                        float *c, int64_t ldc) {
  for (int64_t i = 0; i < m; i++) {
    float *ci = c + i * ldc;
    for (int64_t j = 0; j < n; j++) ci[j] = beta == 0.0f ? 0.0f : beta * ci[j];
    if (!tb) {
      for (int64_t l = 0; l < k; l++) {
        float av = alpha * (ta ? a[l * lda + i] : a[i * lda + l]);
        const float *bl = b + l * ldb;
        for (int64_t j = 0; j < n; j++) ci[j] += av * bl[j];
      }
      continue;
    }
    for (int64_t j = 0; j < n; j++) {
      const float *bj = b + j * ldb;
      float lanes[16] = {0};
      int64_t l = 0;
      if (!ta) {
        const float *ai = a + i * lda;
        for (; l + 16 <= k; l += 16)
          for (int q = 0; q < 16; q++) lanes[q] += ai[l + q] * bj[l + q];
      }
      float s = 0.0f;
      for (int q = 0; q < 16; q++) s += lanes[q];
      for (; l < k; l++) s += (ta ? a[l * lda + i] : a[i * lda + l]) * bj[l];
      ci[j] += alpha * s;
    }
  }
}
#endif

void rv_cpu_sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
#ifdef RV_HAVE_OPENBLAS
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b, (blasint)ldb, beta,
              c, (blasint)ldc);
#else
  plain_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
#endif
}

typedef struct gemm_job {
  rv_cpu_backend *cb;
  const rv_tensor *a, *b, *bias;
  rv_tensor *c;
  const rv_gemm_params *p;
  int64_t m, n, k;
  int split_rows; /* slabs of rows of c, else slabs of columns */
  int64_t slab;
} gemm_job;

/* One slab of c: rows [i0, i1) x columns [j0, j1), with the epilogue fused per row. */
static void gemm_slab(const gemm_job *g, int64_t i0, int64_t i1, int64_t j0, int64_t j1,
                      int tid) {
  const rv_gemm_params *p = g->p;
  int64_t lda = g->a->stride[0], ldb = g->b->stride[0], ldc = g->c->stride[0];
  const float *a = (const float *)g->a->data + (p->trans_a ? i0 : i0 * lda);
  const float *b = (const float *)g->b->data + (p->trans_b ? j0 * ldb : j0);
  float *c = (float *)g->c->data + i0 * ldc + j0;
  const float *bias = g->bias ? (const float *)g->bias->data + j0 : NULL;
  int64_t m = i1 - i0, n = j1 - j0;
  if (p->act == RV_ACT_NONE) {
    float blas_beta = 0.0f;
    if (bias || p->beta != 0.0f) { /* c = beta c + bias first, then accumulate */
      for (int64_t i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        for (int64_t j = 0; j < n; j++)
          ci[j] = (p->beta != 0.0f ? p->beta * ci[j] : 0.0f) + (bias ? bias[j] : 0.0f);
      }
      blas_beta = 1.0f;
    }
    rv_cpu_sgemm(p->trans_a, p->trans_b, m, n, g->k, p->alpha, a, lda, b, ldb, blas_beta, c, ldc);
    return;
  }
  if (p->beta == 0.0f) {
    rv_cpu_sgemm(p->trans_a, p->trans_b, m, n, g->k, p->alpha, a, lda, b, ldb, 0.0f, c, ldc);
    for (int64_t i = 0; i < m; i++) rv_vec_bias_act(c + i * ldc, bias, n, p->act);
    return;
  }
  /* act and residual: the product goes to scratch, then c = act(tmp + bias) + beta c */
  float *tmp = g->cb->scratch[tid].buf;
  rv_cpu_sgemm(p->trans_a, p->trans_b, m, n, g->k, p->alpha, a, lda, b, ldb, 0.0f, tmp, n);
  for (int64_t i = 0; i < m; i++) {
    float *ti = tmp + i * n, *ci = c + i * ldc;
    rv_vec_bias_act(ti, bias, n, p->act);
    for (int64_t j = 0; j < n; j++) ci[j] = ti[j] + p->beta * ci[j];
  }
}

static void gemm_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const gemm_job *g = ctx;
  for (int64_t s = begin; s < end; s++) {
    int64_t lo = s * g->slab, hi = lo + g->slab;
    if (g->split_rows)
      gemm_slab(g, lo, hi < g->m ? hi : g->m, 0, g->n, tid);
    else
      gemm_slab(g, 0, g->m, lo, hi < g->n ? hi : g->n, tid);
  }
}

rv_status rv_cpu_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                      const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p) {
  rv_cpu_backend *cb = rv_cpu(be);
  gemm_job g = {cb, a, b, bias, c, p, c->shape[0], c->shape[1], 0, 1, 0};
  g.k = p->trans_a ? a->shape[0] : a->shape[1];
  int threads = be->threads;
  /* Split the longer side of c, in slabs a multiple of 16 wide, so each sgemm call is
   * large enough for OpenBLAS's kernels and every worker gets a share. */
  g.split_rows = g.m >= g.n || g.n < 32;
  int64_t len = g.split_rows ? g.m : g.n;
  int64_t slab = (len + threads - 1) / threads;
  slab = (slab + 15) / 16 * 16;
  g.slab = slab > 0 ? slab : 1;
  int64_t slabs = (len + g.slab - 1) / g.slab;
  if (p->act != RV_ACT_NONE && p->beta != 0.0f) {
    size_t need = (size_t)(g.split_rows ? g.slab * g.n : g.m * g.slab);
    rv_status st = rv_cpu_reserve(cb, need);
    if (st < 0) return st;
  }
  rv_pool_run(cb->pool, gemm_worker, &g, slabs, 1);
  return RV_OK;
}
