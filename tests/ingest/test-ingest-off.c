/* Builds without FFmpeg: ingest says so clearly; the video writer still writes .rgb. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/ingest.h>
#include <ringvit/video-writer.h>

#include "rv-test.h"

static void test_ingest_unsupported(void **state) {
  (void)state;
  rv_ingest_cfg cfg;
  rv_ingest_cfg_default(&cfg);
  cfg.path = "anything.mp4";
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_ERR_UNSUPPORTED);
  assert_null(ing);
  assert_non_null(strstr(rv_last_error(), "without FFmpeg"));
  assert_non_null(strstr(rv_last_error(), "anything.mp4"));
}

static void test_writer_raw_only(void **state) {
  (void)state;
  char path[64];
  snprintf(path, sizeof path, "/tmp/rv-off-%d.rgb", (int)getpid());
  rv_video_writer_cfg cfg = {.path = path, .width = 2, .height = 2, .fps = 5};
  rv_video_writer *vw = NULL;
  assert_int_equal(rv_video_writer_open(&cfg, &vw), RV_OK);
  uint8_t rgb[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  assert_int_equal(rv_video_writer_write(vw, rgb, 6, -1), RV_OK);
  assert_int_equal(rv_video_writer_close(vw), RV_OK);
  FILE *f = fopen(path, "rb");
  uint8_t back[12];
  assert_non_null(f);
  assert_int_equal(fread(back, 1, 12, f), 12);
  fclose(f);
  assert_memory_equal(back, rgb, 12);
  unlink(path);
  char json[80];
  snprintf(json, sizeof json, "%s.json", path);
  assert_int_equal(unlink(json), 0);
  cfg.path = "/tmp/x.mp4";
  assert_int_equal(rv_video_writer_open(&cfg, &vw), RV_ERR_UNSUPPORTED);
  assert_int_equal(rv_video_writer_have_codec("mpeg4"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ingest_unsupported),
      cmocka_unit_test(test_writer_raw_only),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
