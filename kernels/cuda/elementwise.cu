/* Elementwise ops on bf16 views: gelu, add (residual / broadcast), copy with conversion,
 * and the GEMM epilogue cuBLASLt cannot fuse. fp32 arithmetic, one grid-stride loop each. */
#include "cuda-common.cuh"

static __device__ __forceinline__ float act_f32(float x, int act) {
  if (act == RV_ACT_GELU_ERF) return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
  if (act == RV_ACT_GELU_TANH) {
    float u = 0.79788456080286536f * (x + 0.044715f * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
  }
  return x;
}

static __global__ void gelu_kernel(rv_cu_mat x, rv_cu_mat y, int act) {
  int64_t n = x.rows * x.cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / x.cols, c = i % x.cols;
    st_bf16(y.data, r * y.ld + c, act_f32(ld_bf16(x.data, r * x.ld + c), act));
  }
}

extern "C" cudaError_t rv_cu_gelu(cudaStream_t s, rv_cu_mat x, rv_cu_mat y, int variant) {
  RV_LAUNCH(gelu_kernel, rv_cu_blocks(x.rows * x.cols, 256), 256, 0, s, x, y, variant);
  return cudaGetLastError();
}

static __global__ void add_kernel(rv_cu_mat a, rv_cu_mat b, rv_cu_mat y) {
  int64_t n = a.rows * a.cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / a.cols, c = i % a.cols;
    float v = ld_bf16(a.data, r * a.ld + c) + ld_bf16(b.data, (r % b.rows) * b.ld + c);
    st_bf16(y.data, r * y.ld + c, v);
  }
}

extern "C" cudaError_t rv_cu_add(cudaStream_t s, rv_cu_mat a, rv_cu_mat b, rv_cu_mat y) {
  RV_LAUNCH(add_kernel, rv_cu_blocks(a.rows * a.cols, 256), 256, 0, s, a, b, y);
  return cudaGetLastError();
}

static __device__ __forceinline__ float load_any(const void *p, int dtype, int64_t i) {
  if (dtype == RV_BF16) return __bfloat162float(((const bf16 *)p)[i]);
  if (dtype == RV_F16) return __half2float(((const __half *)p)[i]);
  return ((const float *)p)[i];
}

static __device__ __forceinline__ void store_any(void *p, int dtype, int64_t i, float v) {
  if (dtype == RV_BF16)
    ((bf16 *)p)[i] = __float2bfloat16_rn(v);
  else if (dtype == RV_F16)
    ((__half *)p)[i] = __float2half_rn(v);
  else
    ((float *)p)[i] = v;
}

static __global__ void copy_kernel(rv_cu_view4 src, rv_cu_view4 dst) {
  int64_t n = src.shape[0] * src.shape[1] * src.shape[2] * src.shape[3];
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t rest = i, so = 0, dof = 0;
    for (int d = 3; d >= 0; d--) { /* unravel the row-major index */
      int64_t idx = rest % src.shape[d];
      rest /= src.shape[d];
      so += idx * src.stride[d];
      dof += idx * dst.stride[d];
    }
    store_any(dst.data, dst.dtype, dof, load_any(src.data, src.dtype, so));
  }
}

extern "C" cudaError_t rv_cu_copy(cudaStream_t s, rv_cu_view4 src, rv_cu_view4 dst) {
  int64_t n = src.shape[0] * src.shape[1] * src.shape[2] * src.shape[3];
  RV_LAUNCH(copy_kernel, rv_cu_blocks(n, 256), 256, 0, s, src, dst);
  return cudaGetLastError();
}

static __global__ void gemm_epilogue_kernel(const float *acc, const void *bias, int act, float beta,
                                            rv_cu_mat c) {
  int64_t n = c.rows * c.cols;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t r = i / c.cols, col = i % c.cols;
    float v = acc[i] + (bias ? ld_bf16(bias, col) : 0.0f);
    v = act_f32(v, act);
    /* beta == 0 never reads c, so an uninitialised (even NaN) output is fine */
    if (beta != 0.0f) v += beta * ld_bf16(c.data, r * c.ld + col);
    st_bf16(c.data, r * c.ld + col, v);
  }
}

extern "C" cudaError_t rv_cu_gemm_epilogue(cudaStream_t s, const float *acc, const void *bias,
                                           int act, float beta, rv_cu_mat c) {
  RV_LAUNCH(gemm_epilogue_kernel, rv_cu_blocks(c.rows * c.cols, 256), 256, 0, s, acc, bias, act,
            beta, c);
  return cudaGetLastError();
}
