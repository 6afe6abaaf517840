/* acc = alpha op(a) op(b) in f32, one thread per output element: the GEMM for shapes
 * cuBLASLt finds no algorithm for (a single row or column, odd leading dimensions); the
 * epilogue then runs as after an unfused cuBLASLt product. Never the fast path. */
#include "cuda-common.cuh"

typedef struct gemm_operands {
  rv_cu_mat a, b;
  int trans_a, trans_b;
  int64_t m, n, k;
  float alpha;
  float *acc; /* packed [m, n] */
} gemm_operands;

static __global__ void gemm_fallback_kernel(gemm_operands g) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < g.m * g.n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / g.n, c = i % g.n;
    float sum = 0.0f;
    for (int64_t l = 0; l < g.k; l++) {
      float av = ld_bf16(g.a.data, g.trans_a ? l * g.a.ld + r : r * g.a.ld + l);
      float bv = ld_bf16(g.b.data, g.trans_b ? c * g.b.ld + l : l * g.b.ld + c);
      sum += av * bv;
    }
    g.acc[i] = g.alpha * sum;
  }
}

extern "C" cudaError_t rv_cu_gemm_fallback(cudaStream_t s, rv_cu_mat a, int trans_a, rv_cu_mat b,
                                           int trans_b, int64_t m, int64_t n, int64_t k,
                                           float alpha, float *acc) {
  gemm_operands g = {a, b, trans_a, trans_b, m, n, k, alpha, acc};
  RV_LAUNCH(gemm_fallback_kernel, rv_cu_blocks(m * n, 256), 256, 0, s, g);
  return cudaGetLastError();
}
