/* libFuzzer target: any bytes through ingest, read from memory by a custom AVIOContext
 * (rv_ingest_io). The options vary with the input's length so one corpus covers sampling,
 * tubelets, keyframes-only decoding and both resize modes. Must never crash, hang or leak;
 * errors are fine. */
#include <stddef.h>
#include <stdint.h>

#include <ringvit/ingest.h>

#include "media.h"

#define FUZZ_MAX_BATCHES 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  rv_log_set_level(RV_LOG_OFF);
  rv_media_mem mem = {data, (int64_t)size, 0};
  unsigned v = (unsigned)(size % 16);
  rv_ingest_io io = rv_media_mem_io(&mem, !(v & 8));
  rv_ingest_cfg cfg;
  rv_ingest_cfg_default(&cfg);
  cfg.path = "fuzz-input";
  cfg.io = &io;
  cfg.width = 32;
  cfg.height = 32;
  cfg.batch = 4;
  cfg.threads = 1;
  cfg.hwaccel = RV_HWACCEL_NONE;
  cfg.thumb_width = 16;
  cfg.fps = (v & 1) ? 5.0 : 0.0;
  cfg.tubelet = (v & 2) ? 2 : 1;
  cfg.skip = (v & 4) ? RV_SKIP_KEYFRAMES : RV_SKIP_AUTO;
  cfg.resize = (v & 8) ? RV_RESIZE_STRETCH : RV_RESIZE_LETTERBOX;
  rv_ingest *ing = NULL;
  if (rv_ingest_open(&cfg, &ing) == RV_OK) {
    const rv_ingest_batch *b;
    for (int i = 0; i < FUZZ_MAX_BATCHES && rv_ingest_next(ing, &b) == RV_OK; i++) {
    }
    (void)rv_ingest_get_stats(ing);
    (void)rv_ingest_get_progress(ing);
  }
  rv_ingest_close(ing);
  return 0;
}
