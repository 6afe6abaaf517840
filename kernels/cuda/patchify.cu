/* Frames [F, H, W, 3] (u8 0..255 or f32 0..1) -> normalized bf16 patch tokens, features
 * ordered (channel, t, y, x): one thread per output element (see rv_patchify). */
#include "cuda-common.cuh"

typedef struct norm3 {
  float mean[3], inv_std[3];
} norm3;

typedef struct patch_geom {
  int64_t h, w, gh, gw;
  int patch, tubelet;
} patch_geom;

static __global__ void patchify_kernel(const void *frames, int is_u8, patch_geom g, norm3 nm,
                                       rv_cu_mat tokens) {
  int64_t n = tokens.rows * tokens.cols;
  int64_t pp = (int64_t)g.patch * g.patch, tpp = pp * g.tubelet;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t tok = i / tokens.cols, feat = i % tokens.cols;
    int64_t grp = tok / (g.gh * g.gw), py = tok / g.gw % g.gh, px = tok % g.gw;
    int c = (int)(feat / tpp);
    int64_t t = feat / pp % g.tubelet, y = feat / g.patch % g.patch, x = feat % g.patch;
    int64_t frame = grp * g.tubelet + t;
    int64_t idx = ((frame * g.h + py * g.patch + y) * g.w + px * g.patch + x) * 3 + c;
    float v = is_u8 ? ((const uint8_t *)frames)[idx] / 255.0f : ((const float *)frames)[idx];
    st_bf16(tokens.data, tok * tokens.ld + feat, (v - nm.mean[c]) * nm.inv_std[c]);
  }
}

extern "C" cudaError_t rv_cu_patchify(cudaStream_t s, const void *frames, int is_u8, int64_t f,
                                      int64_t h, int64_t w, const float mean[3], const float std[3],
                                      int patch, int tubelet, rv_cu_mat tokens) {
  (void)f; /* the token count already says how many frame groups there are */
  norm3 nm;
  for (int c = 0; c < 3; c++) {
    nm.mean[c] = mean[c];
    nm.inv_std[c] = 1.0f / std[c];
  }
  patch_geom g = {h, w, h / patch, w / patch, patch, tubelet};
  RV_LAUNCH(patchify_kernel, rv_cu_blocks(tokens.rows * tokens.cols, 256), 256, 0, s, frames, is_u8,
            g, nm, tokens);
  return cudaGetLastError();
}
