/* Row softmax of scale * x, one block per row: max, sum of exponentials, output. A row
 * that is all -inf gives zeros (no NaN), as the reference does. */
#include "cuda-common.cuh"

enum { SM_THREADS = 256 };

static __global__ void softmax_kernel(rv_cu_mat x, float scale, rv_cu_mat y) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < x.rows; r += gridDim.x) {
    const bf16 *xr = (const bf16 *)x.data + r * x.ld;
    float mx = -CUDART_INF_F;
    for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x)
      mx = fmaxf(mx, scale * __bfloat162float(xr[c]));
    mx = block_reduce(mx, 1, red);
    float sum = 0.0f;
    if (mx != -CUDART_INF_F)
      for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x)
        sum += expf(scale * __bfloat162float(xr[c]) - mx);
    sum = block_reduce(sum, 0, red);
    float inv = mx == -CUDART_INF_F ? 0.0f : 1.0f / sum;
    /* every read is done (block_reduce synchronises): y may alias x */
    for (int64_t c = threadIdx.x; c < x.cols; c += blockDim.x) {
      float e = mx == -CUDART_INF_F ? 0.0f : expf(scale * __bfloat162float(xr[c]) - mx);
      st_bf16(y.data, r * y.ld + c, e * inv);
    }
    __syncthreads();
  }
}

extern "C" cudaError_t rv_cu_softmax(cudaStream_t s, rv_cu_mat x, float scale, rv_cu_mat y) {
  unsigned blocks = (unsigned)(x.rows < 65535 * 16 ? x.rows : 65535 * 16);
  RV_LAUNCH(softmax_kernel, blocks, SM_THREADS, 0, s, x, scale, y);
  return cudaGetLastError();
}
