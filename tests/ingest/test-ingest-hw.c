/* NVDEC through FFmpeg's CUDA hwaccel: the same frames, at the same times, with the same
 * content as software decoding. Skipped (77) without a CUDA device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/log.h>

#include <ringvit/ingest.h>
#include <ringvit/video-writer.h>

#include "media.h"
#include "rv-test.h"

static int teardown(void **state) {
  (void)state;
  rv_media_cleanup();
  return 0;
}

static void check_codec(const char *file, const char *codec) {
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, 320, 192, 30, 90, NULL, 30))
    return;
  rv_media_run sw, hw;
  rv_ingest_cfg cfg = rv_media_cfg(path, 5, 224, 224);
  cfg.hwaccel = RV_HWACCEL_NONE;
  rv_media_ingest(&cfg, &sw);
  cfg.hwaccel = RV_HWACCEL_CUDA;
  rv_media_ingest(&cfg, &hw);
  assert_int_equal(hw.end, RV_EOF);
  assert_int_equal(hw.n, sw.n);
  assert_memory_equal(hw.pts_ns, sw.pts_ns, sizeof sw.pts_ns[0] * sw.n);
  assert_memory_equal(hw.index, sw.index, sizeof sw.index[0] * sw.n);
  assert_memory_equal(hw.content, sw.content, sizeof sw.content[0] * sw.n);

  rv_ingest *ing = NULL;
  cfg.hwaccel = RV_HWACCEL_AUTO;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  const rv_ingest_batch *b;
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(rv_ingest_get_info(ing)->hw_decode, 1);
  rv_ingest_close(ing);
}

static void test_nvdec_matches_software(void **state) {
  (void)state;
  check_codec("hw-h264.mp4", "h264");
  check_codec("hw-mpeg4.avi", "mpeg4");
  check_codec("hw-vp8.webm", "vp8");
}

/* A codec NVDEC does not do: AUTO falls back, CUDA refuses clearly. */
static void test_no_nvdec_for_codec(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("hw.mkv", path, sizeof path), "ffv1", 64, 48, 10, 4, NULL, 0);
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 64, 48);
  cfg.hwaccel = RV_HWACCEL_CUDA;
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "no CUDA hwaccel"));
  cfg.hwaccel = RV_HWACCEL_AUTO;
  rv_media_run run;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 4);
}

int main(void) {
  AVBufferRef *dev = NULL;
  av_log_set_level(AV_LOG_QUIET); /* the probe below may complain of a missing libcuda */
  if (av_hwdevice_ctx_create(&dev, AV_HWDEVICE_TYPE_CUDA, NULL, NULL, 0) < 0) {
    printf("no CUDA device for NVDEC: skipped\n");
    return RV_TEST_SKIP_CODE;
  }
  av_buffer_unref(&dev);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nvdec_matches_software),
      cmocka_unit_test(test_no_nvdec_for_codec),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
