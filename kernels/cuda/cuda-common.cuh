/* Device helpers shared by the kernels: bf16 <-> f32, reductions, grid sizes. */
#ifndef RINGVIT_CUDA_COMMON_CUH
#define RINGVIT_CUDA_COMMON_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <math_constants.h>

#include "cuda-impl.h"

typedef __nv_bfloat16 bf16;

/* kernel<<<grid, block, smem, stream>>>(args); tests/kernels/test-cuda-emu.cc, which
 * compiles the kernels for the host (RV_CUDA_EMULATE), runs them on the CPU instead. */
#ifndef RV_CUDA_EMULATE
#define RV_LAUNCH(kernel, grid, block, smem, stream, ...)                                          \
  kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
#endif

static __device__ __forceinline__ float ld_bf16(const void *p, int64_t i) {
  return __bfloat162float(((const bf16 *)p)[i]);
}

static __device__ __forceinline__ void st_bf16(void *p, int64_t i, float v) {
  ((bf16 *)p)[i] = __float2bfloat16_rn(v);
}

static __device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

static __device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/* Sum (is_max = 0) or max over the block; every thread gets the result. blockDim.x is a
 * multiple of 32, at most 1024; `red` holds 32 floats of shared memory. */
static __device__ __forceinline__ float block_reduce(float v, int is_max, float *red) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
  v = is_max ? warp_max(v) : warp_sum(v);
  __syncthreads(); /* red may still be read by an earlier reduction */
  if (lane == 0) red[warp] = v;
  __syncthreads();
  float r = lane < nwarps ? red[lane] : (is_max ? -CUDART_INF_F : 0.0f);
  return is_max ? warp_max(r) : warp_sum(r);
}

/* Blocks for a grid-stride loop over n elements (capped: the loop covers the rest). */
static inline unsigned rv_cu_blocks(int64_t n, int threads) {
  int64_t b = (n + threads - 1) / threads;
  if (b < 1) b = 1;
  return (unsigned)(b > 65535 * 8 ? 65535 * 8 : b);
}

#endif
