/* Builds without FFmpeg: nothing to decode with. */
#include <stddef.h>

#include "source-impl.h"

rv_status rv_source_open(const rv_ingest_cfg *cfg, rv_source **out) {
  *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED,
                 "%s: this ringvit was built without FFmpeg, so it cannot read video "
                 "(install libavformat-dev libavcodec-dev libswscale-dev and rebuild)",
                 cfg->path ? cfg->path : "input");
}

rv_status rv_source_next(rv_source *s, rv_source_frame *f) { return RV_EOF; }

rv_status rv_source_render(rv_source *s, int slot, uint8_t *dst, int stride, int w, int h) {
  return RV_FAIL(RV_ERR_UNSUPPORTED, "built without FFmpeg");
}

rv_status rv_source_keep(rv_source *s, int slot, rv_image *img) {
  return RV_FAIL(RV_ERR_UNSUPPORTED, "built without FFmpeg");
}

void rv_source_close(rv_source *s) {}

rv_status rv_image_scaler_init(rv_image_scaler **out) {
  *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED,
                 "this ringvit was built without FFmpeg (libswscale), so it cannot scale "
                 "raw frames");
}

rv_status rv_image_render(rv_image_scaler *s, const rv_image *img, uint8_t *dst, int stride, int w,
                          int h) {
  return RV_FAIL(RV_ERR_UNSUPPORTED, "built without FFmpeg");
}

void rv_image_scaler_free(rv_image_scaler *s) {}

const rv_ingest_info *rv_source_info(const rv_source *s) {
  static const rv_ingest_info none = {"", "", 0, 0, 0, 0, 0, 0, 0, 0};
  return &none;
}

rv_ingest_stats rv_source_stats(const rv_source *s) {
  rv_ingest_stats z = {0};
  return z;
}

double rv_source_position(const rv_source *s) { return 0; }
