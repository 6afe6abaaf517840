/* c = act(alpha op(a) op(b) + bias) + beta c through cuBLASLt, bf16 in, fp32 accumulation.
 *
 * Row-major is handled here, once: a row-major [r, s] matrix with row stride ld is the
 * column-major [s, r] matrix with leading dimension ld, so row-major C = A B is computed
 * as column-major C^T = B^T A^T: cuBLASLt's "A" is our b and its "B" is our a.
 *
 * Fused epilogues: bias (any beta: cuBLASLt adds beta C and the bias before any
 * activation, which is our order when there is none) and tanh-GELU + bias (beta = 0;
 * cuBLASLt's GELU is the tanh form). Everything else (erf GELU, an activation followed by
 * a residual) runs the product into an f32 scratch and finishes in rv_cu_gemm_epilogue. */
#include <stdint.h>

#include "cublaslt-impl.h"
#include "cuda-impl.h"

/* needs `lt`, the backend's cuBLASLt table, in scope */
#define LT_CHECK(expr, what)                                                                       \
  do {                                                                                             \
    cublasStatus_t s_ = (expr);                                                                    \
    if (s_ != CUBLAS_STATUS_SUCCESS)                                                               \
      RV_TRY_FAIL(RV_ERR_DEVICE, "%s: %s", (what), lt->GetStatusString(s_));                       \
  } while (0)

typedef struct lt_call {
  cublasOperation_t op_a, op_b;
  cudaDataType_t c_type;
  cublasLtEpilogue_t epilogue;
  const void *bias;
  void *c;
  int64_t ldc;
  float alpha, beta;
} lt_call;

/* Leading dimension of a row-major view as cuBLASLt sees it (a single row may have any stride). */
static int64_t lt_ld(const rv_tensor *t) {
  return t->shape[0] > 1 ? t->stride[0] : (t->shape[1] > 0 ? t->shape[1] : 1);
}

/* Largest power of two (up to 256) dividing the address: cuBLASLt assumes 256 unless told. */
static uint32_t alignment(const void *p) {
  uint32_t al = 256;
  while (al > 1 && (uintptr_t)p % al)
    al >>= 1;
  return al;
}

static rv_status set_alignments(const rv_cublaslt_api *lt, cublasLtMatmulPreference_t pref,
                                const void *a, const void *b, const void *c) {
  rv_status st = RV_OK;
  static const cublasLtMatmulPreferenceAttributes_t attr[4] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  /* cuBLASLt's A is our b, its B our a, its C and D our c */
  uint32_t al[4] = {alignment(b), alignment(a), alignment(c), alignment(c)};
  for (int i = 0; i < 4; i++)
    LT_CHECK(lt->MatmulPreferenceSetAttribute(pref, attr[i], &al[i], sizeof al[i]),
             "operand alignment preference");
fail:
  return st;
}

/* One cublasLtMatmul: D = epilogue(alpha op(A) op(B) + beta C), with C = D = call->c.
 * Returns RV_ERR_UNSUPPORTED (without recording an error) when cuBLASLt has no algorithm
 * for it (it refuses some single-row or single-column shapes), so the caller can take the
 * unfused path, and from there the fallback kernel. */
static rv_status lt_matmul(rv_cuda_backend *cb, const rv_tensor *a, const rv_tensor *b, int64_t m,
                           int64_t n, int64_t k, const lt_call *call) {
  rv_status st = RV_OK;
  const rv_cublaslt_api *lt = cb->lt_api;
  cublasLtMatmulDesc_t desc = NULL;
  cublasLtMatrixLayout_t la = NULL, lb = NULL, lc = NULL;
  cublasLtMatmulPreference_t pref = NULL;
  cublasLtMatmulHeuristicResult_t heur;
  int found = 0;
  LT_CHECK(lt->MatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "matmul desc");
  LT_CHECK(
      lt->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &call->op_a, sizeof call->op_a),
      "transa");
  LT_CHECK(
      lt->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &call->op_b, sizeof call->op_b),
      "transb");
  LT_CHECK(lt->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &call->epilogue,
                                      sizeof call->epilogue),
           "epilogue");
  if (call->bias)
    LT_CHECK(lt->MatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &call->bias,
                                        sizeof call->bias),
             "bias pointer");
  /* stored matrices, column-major: our b [r, s] is [s, r] there, likewise a and c */
  LT_CHECK(lt->MatrixLayoutCreate(&la, CUDA_R_16BF, (uint64_t)b->shape[1], (uint64_t)b->shape[0],
                                  lt_ld(b)),
           "layout of b");
  LT_CHECK(lt->MatrixLayoutCreate(&lb, CUDA_R_16BF, (uint64_t)a->shape[1], (uint64_t)a->shape[0],
                                  lt_ld(a)),
           "layout of a");
  LT_CHECK(lt->MatrixLayoutCreate(&lc, call->c_type, (uint64_t)n, (uint64_t)m, call->ldc),
           "layout of c");
  LT_CHECK(lt->MatmulPreferenceCreate(&pref), "preference");
  LT_CHECK(lt->MatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                            &cb->workspace_bytes, sizeof cb->workspace_bytes),
           "workspace preference");
  RV_TRY(set_alignments(lt, pref, a->data, b->data, call->c));
  cublasStatus_t hs = lt->MatmulAlgoGetHeuristic((cublasLtHandle_t)cb->lt, desc, la, lb, lc, lc,
                                                 pref, 1, &heur, &found);
  if (hs != CUBLAS_STATUS_SUCCESS || found == 0) {
    /* expected for tiny shapes; for ordinary ones it would point at a layout bug */
    int ordinary = m >= 16 && n >= 16 && k >= 16;
    rv_log(ordinary ? RV_LOG_WARN : RV_LOG_DEBUG,
           "cuBLASLt has no algorithm for gemm m%lld n%lld k%lld epilogue %d: %s", (long long)m,
           (long long)n, (long long)k, (int)call->epilogue, lt->GetStatusString(hs));
    st = RV_ERR_UNSUPPORTED;
    goto fail;
  }
  LT_CHECK(lt->Matmul((cublasLtHandle_t)cb->lt, desc, &call->alpha, b->data, la, a->data, lb,
                      &call->beta, call->c, lc, call->c, lc, &heur.algo, cb->workspace,
                      cb->workspace_bytes, cb->stream),
           "cublasLtMatmul");
fail:
  if (pref) lt->MatmulPreferenceDestroy(pref);
  if (lc) lt->MatrixLayoutDestroy(lc);
  if (lb) lt->MatrixLayoutDestroy(lb);
  if (la) lt->MatrixLayoutDestroy(la);
  if (desc) lt->MatmulDescDestroy(desc);
  return st;
}

rv_status rv_cuda_gemm(rv_backend *be, const rv_tensor *a, const rv_tensor *b,
                       const rv_tensor *bias, rv_tensor *c, const rv_gemm_params *p) {
  rv_cuda_backend *cb = rv_cuda(be);
  rv_status st = RV_OK;
  int64_t m = c->shape[0], n = c->shape[1], k = p->trans_a ? a->shape[0] : a->shape[1];
  lt_call call = {p->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                  p->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                  CUDA_R_16BF,
                  CUBLASLT_EPILOGUE_DEFAULT,
                  NULL,
                  c->data,
                  lt_ld(c),
                  p->alpha,
                  p->beta};
  RV_CUDA_CHECK(cudaSetDevice(cb->device), "cudaSetDevice");
  int fusable = k > 0 && (p->act == RV_ACT_NONE || (p->act == RV_ACT_GELU_TANH && p->beta == 0.0f));
  if (fusable) {
    if (p->act == RV_ACT_NONE)
      call.epilogue = bias ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
    else
      call.epilogue = bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
    call.bias = bias ? bias->data : NULL;
    st = lt_matmul(cb, a, b, m, n, k, &call);
    if (st != RV_ERR_UNSUPPORTED) return st;
  }
  /* unfused: acc = alpha op(a) op(b) in f32, then c = act(acc + bias) + beta c */
  size_t acc_bytes = (size_t)m * (size_t)n * sizeof(float);
  RV_TRY(rv_cuda_reserve_scratch(cb, acc_bytes));
  if (k > 0) {
    lt_call raw = {call.op_a, call.op_b, CUDA_R_32F, CUBLASLT_EPILOGUE_DEFAULT, NULL, cb->scratch,
                   n,         p->alpha,  0.0f};
    st = lt_matmul(cb, a, b, m, n, k, &raw);
    if (st == RV_ERR_UNSUPPORTED) /* cuBLASLt refused the shape: our plain kernel */
      RV_CUDA_CHECK(rv_cu_gemm_fallback(cb->stream, rv_cu_mat_of(a), p->trans_a, rv_cu_mat_of(b),
                                        p->trans_b, m, n, k, p->alpha, cb->scratch),
                    "gemm fallback kernel");
    else if (st < 0)
      goto fail;
  } else {
    RV_CUDA_CHECK(cudaMemsetAsync(cb->scratch, 0, acc_bytes, cb->stream), "gemm k=0: memset");
  }
  st = RV_OK;
  RV_CUDA_CHECK(rv_cu_gemm_epilogue(cb->stream, cb->scratch, bias ? bias->data : NULL, (int)p->act,
                                    p->beta, rv_cu_mat_of(c)),
                "gemm epilogue kernel");
fail:
  return st;
}
