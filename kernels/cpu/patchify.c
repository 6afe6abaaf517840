#include "cpu-ref-impl.h"

/* frames [F, H, W, 3] -> tokens [(F/T)(H/P)(W/P), 3 T P P], features ordered (c, t, y, x). */
rv_status rv_ref_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                          const float std[3], int patch, int tubelet, rv_tensor *tokens) {
  (void)be;
  int64_t f = frames->shape[0], h = frames->shape[1], w = frames->shape[2];
  int64_t gh = h / patch, gw = w / patch;
  int is_u8 = frames->dtype == RV_U8;
  for (int64_t g = 0; g < f / tubelet; g++)
    for (int64_t py = 0; py < gh; py++)
      for (int64_t px = 0; px < gw; px++) {
        int64_t tok = (g * gh + py) * gw + px;
        float *out = rv_f32_at(tokens, tok, 0);
        int64_t feat = 0;
        for (int c = 0; c < 3; c++)
          for (int t = 0; t < tubelet; t++)
            for (int y = 0; y < patch; y++)
              for (int x = 0; x < patch; x++) {
                int64_t frame = g * tubelet + t;
                int64_t idx = ((frame * h + py * patch + y) * w + px * patch + x) * 3 + c;
                float v = is_u8 ? ((const uint8_t *)frames->data)[idx] / 255.0f
                                : ((const float *)frames->data)[idx];
                out[feat++] = (v - mean[c]) / std[c];
              }
      }
  return RV_OK;
}
