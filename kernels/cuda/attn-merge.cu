/* Exact merge of two attention partials in fp32, one warp per (query, head):
 *   lse = log(exp(lse_a) + exp(lse_b)); o_a = exp(lse_a - lse) o_a + exp(lse_b - lse) o_b
 * with the max trick; a side with lse = -inf (saw nothing) contributes nothing. */
#include "cuda-common.cuh"

typedef struct merge_args {
  float *o_a, *lse_a;
  const float *o_b, *lse_b;
  int64_t ldoa, ldla, ldob, ldlb, nq, heads, d;
} merge_args;

static __global__ void merge_kernel(merge_args m) {
  int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  int lane = threadIdx.x & 31;
  for (int64_t w = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); w < m.nq * m.heads;
       w += warps) {
    int64_t h = w / m.nq, i = w % m.nq;
    float *la = m.lse_a + h * m.ldla + i;
    float lb = m.lse_b[h * m.ldlb + i];
    if (lb == -CUDART_INF_F) continue; /* b saw nothing: a stays */
    float l0 = *la, mx = fmaxf(l0, lb);
    float wa = expf(l0 - mx), wb = expf(lb - mx); /* l0 = -inf gives wa = 0 */
    float sum = wa + wb;
    float *oa = m.o_a + i * m.ldoa + h * m.d;
    const float *ob = m.o_b + i * m.ldob + h * m.d;
    for (int64_t c = lane; c < m.d; c += 32)
      oa[c] = (wa * oa[c] + wb * ob[c]) / sum;
    __syncwarp();
    if (lane == 0) *la = mx + logf(sum);
  }
}

extern "C" cudaError_t rv_cu_attn_merge(cudaStream_t s, float *o_a, int64_t ldoa, float *lse_a,
                                        int64_t ldla, const float *o_b, int64_t ldob,
                                        const float *lse_b, int64_t ldlb, int64_t nq, int64_t heads,
                                        int64_t d) {
  merge_args m = {o_a, lse_a, o_b, lse_b, ldoa, ldla, ldob, ldlb, nq, heads, d};
  RV_LAUNCH(merge_kernel, rv_cu_blocks(nq * heads * 32, 256), 256, 0, s, m);
  return cudaGetLastError();
}
