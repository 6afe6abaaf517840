/* LayerNorm over the last dim, one block per row: mean, then variance around it (two
 * passes, so a large mean costs no precision), then the scaled output. */
#include "cuda-common.cuh"

enum { LN_THREADS = 256 };

static __global__ void layernorm_kernel(rv_cu_mat x, const void *gamma, const void *beta, float eps,
                                        rv_cu_mat y) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < x.rows; r += gridDim.x) {
    const bf16 *xr = (const bf16 *)x.data + r * x.ld;
    float s = 0.0f;
    for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x)
      s += __bfloat162float(xr[c]);
    float mean = block_reduce(s, 0, red) / (float)x.cols;
    float v = 0.0f;
    for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x) {
      float d = __bfloat162float(xr[c]) - mean;
      v += d * d;
    }
    float inv = rsqrtf(block_reduce(v, 0, red) / (float)x.cols + eps);
    /* every read of the row is done (block_reduce synchronises): y may alias x */
    for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x) {
      float o = (__bfloat162float(xr[c]) - mean) * inv * ld_bf16(gamma, c);
      if (beta) o += ld_bf16(beta, c);
      st_bf16(y.data, r * y.ld + c, o);
    }
    __syncthreads(); /* the next row's reduction reuses red */
  }
}

extern "C" cudaError_t rv_cu_layernorm(cudaStream_t s, rv_cu_mat x, const void *gamma,
                                       const void *beta, float eps, rv_cu_mat y) {
  unsigned blocks = (unsigned)(x.rows < 65535 * 16 ? x.rows : 65535 * 16);
  RV_LAUNCH(layernorm_kernel, blocks, LN_THREADS, 0, s, x, gamma, beta, eps, y);
  return cudaGetLastError();
}
