/* Builds without FFmpeg: only ".rgb" output (video-writer.c) is available. */
#include <stddef.h>

#include "video-writer-impl.h"

rv_status rv_avw_open(const rv_video_writer_cfg *cfg, rv_avw **out) {
  *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED,
                 "%s: this ringvit was built without FFmpeg; only .rgb output is available",
                 cfg->path);
}

rv_status rv_avw_write(rv_avw *a, const uint8_t *rgb, int stride, int64_t pts_ns) {
  return RV_FAIL(RV_ERR_UNSUPPORTED, "built without FFmpeg");
}

rv_status rv_avw_close(rv_avw *a) { return RV_OK; }

int rv_avw_have_codec(const char *codec) { return 0; }
