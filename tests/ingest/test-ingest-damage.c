/* Damaged and wrong input: truncated files give what they hold and say so, flipped bytes
 * are skipped and counted, unreadable or non-video input is a clear error. Never a crash
 * or a hang. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ringvit/ingest.h>

#include "media.h"
#include "rv-test.h"

static int teardown(void **state) {
  (void)state;
  rv_media_cleanup();
  return 0;
}

static long file_size(const char *path) {
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  return (long)sb.st_size;
}

static void copy_prefix(const char *src, const char *dst, long bytes) {
  FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
  assert_non_null(in);
  assert_non_null(out);
  char buf[4096];
  while (bytes > 0) {
    size_t n = fread(buf, 1, bytes < (long)sizeof buf ? (size_t)bytes : sizeof buf, in);
    if (n == 0) break;
    assert_int_equal(fwrite(buf, 1, n, out), n);
    bytes -= (long)n;
  }
  fclose(in);
  fclose(out);
}

/* Flips `count` bytes at seeded positions past the first `skip` bytes (the headers). */
static void flip_bytes(const char *path, long skip, int count, uint64_t seed) {
  long size = file_size(path);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  rv_rng rng;
  rv_rng_seed(&rng, seed);
  for (int i = 0; i < count; i++) {
    long at = skip + (long)(rv_rng_next(&rng) % (uint64_t)(size - skip));
    fseek(f, at, SEEK_SET);
    int c = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(c ^ 0xff, f);
  }
  fclose(f);
}

static rv_status open_error(const char *path) {
  rv_ingest_cfg cfg = rv_media_cfg(path, 2, 64, 64);
  rv_ingest *ing = NULL;
  rv_status st = rv_ingest_open(&cfg, &ing);
  if (st == RV_OK) { /* opened: the error must come from reading */
    const rv_ingest_batch *b;
    while ((st = rv_ingest_next(ing, &b)) == RV_OK) {
    }
    rv_ingest_close(ing);
  } else {
    assert_null(ing);
  }
  return st;
}

/* A truncated file: the frames it still holds, right ones, then RV_EOF and the flag. */
static void check_truncated(const char *name, const char *codec) {
  char whole[256], cut_name[64], cut[256];
  snprintf(cut_name, sizeof cut_name, "cut-%s", name);
  if (rv_media_write(rv_media_tmp(name, whole, sizeof whole), codec, 96, 64, 30, 60, NULL, 0))
    return;
  copy_prefix(whole, rv_media_tmp(cut_name, cut, sizeof cut), file_size(whole) * 6 / 10);
  rv_media_run run;
  rv_ingest_cfg cfg = rv_media_cfg(cut, 0, 96, 64);
  rv_media_ingest(&cfg, &run);
  if (run.end != RV_EOF) fail_msg("%s: %s (%s)", cut, rv_status_str(run.end), rv_last_error());
  assert_true(run.n >= 1 && run.n < 60); /* keyframes are most of these small files */
  /* times are the truth; numbers count the packets before a frame, so a B-frame packet lost
   * at the cut shifts those of the last few frames (at most the reorder depth) */
  for (int i = 0; i < run.n; i++) {
    int64_t at = llround((double)run.pts_ns[i] * 30 / 1e9);
    if (run.content[i] != at)
      fail_msg("%s frame %d at %lld ns shows %lld", cut, i, (long long)run.pts_ns[i],
               (long long)run.content[i]);
    if (i < run.n - 4) assert_int_equal(run.index[i], run.content[i]);
  }
  assert_int_equal(run.stats.truncated, 1);
}

static void test_truncated(void **state) {
  (void)state;
  check_truncated("t.mkv", "ffv1");
  check_truncated("t.avi", "mpeg4");
  check_truncated("t-mjpeg.avi", "mjpeg");
  check_truncated("t-h264.mkv", "h264");
  check_truncated("t.webm", "vp8");
}

/* MP4 keeps its index at the end: cut, nothing is readable, and it says so. */
static void test_truncated_mp4_is_an_error(void **state) {
  (void)state;
  char whole[256], cut[256];
  if (rv_media_write(rv_media_tmp("t.mp4", whole, sizeof whole), "mpeg4", 96, 64, 30, 30, NULL, 0))
    return;
  copy_prefix(whole, rv_media_tmp("cut.mp4", cut, sizeof cut), file_size(whole) / 2);
  assert_int_equal(open_error(cut), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "cut.mp4"));
  assert_non_null(strstr(rv_last_error(), "cannot open"));
}

/* Flipped bytes: decoding goes on; whatever comes out is counted and the run ends. */
static void check_flipped(const char *name, const char *codec, uint64_t seed) {
  char path[256];
  if (rv_media_write(rv_media_tmp(name, path, sizeof path), codec, 96, 64, 30, 90, NULL, 0)) return;
  long size = file_size(path);
  flip_bytes(path, size / 10, 40, seed);
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 96, 64);
  rv_ingest *ing = NULL;
  rv_status st = rv_ingest_open(&cfg, &ing);
  if (st != RV_OK) { /* the headers took a hit: a clear error is a right answer too */
    assert_true(strlen(rv_last_error()) > 0);
    return;
  }
  const rv_ingest_batch *b;
  int n = 0;
  while ((st = rv_ingest_next(ing, &b)) == RV_OK)
    n += b->n;
  assert_true(st == RV_EOF || (st < 0 && strlen(rv_last_error()) > 0));
  rv_ingest_stats s = rv_ingest_get_stats(ing);
  assert_true(n <= 90 + 4);
  assert_int_equal(n, s.sampled);
  printf("  %s: %d frames, %lld corrupt packets, %lld concealed frames, %s\n", name, n,
         (long long)s.corrupt_packets, (long long)s.corrupt_frames, rv_status_str(st));
  rv_ingest_close(ing);
}

static void test_flipped_bytes(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    check_flipped("f.avi", "mpeg4", seed);
    check_flipped("f.mkv", "h264", seed);
    check_flipped("f.webm", "vp8", seed);
    check_flipped("f-mjpeg.avi", "mjpeg", seed);
  }
}

static void write_text(const char *path, const char *text, int repeat) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (int i = 0; i < repeat; i++)
    fputs(text, f);
  fclose(f);
}

static void test_not_a_video(void **state) {
  (void)state;
  char path[256];
  write_text(rv_media_tmp("empty.mp4", path, sizeof path), "", 0);
  assert_int_equal(open_error(path), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "empty.mp4"));
  write_text(rv_media_tmp("text.mp4", path, sizeof path), "this is not a video, only text\n", 200);
  assert_int_equal(open_error(path), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "text.mp4"));
  assert_int_equal(open_error(rv_media_tmp("missing.mp4", path, sizeof path)), RV_ERR_NOT_FOUND);
  assert_non_null(strstr(rv_last_error(), "No such file"));
  rv_status st = open_error(rv_media_tmp("", path, sizeof path)); /* a directory */
  assert_true(st < 0);
}

/* A WAV file: readable, but audio only. */
static void test_audio_only(void **state) {
  (void)state;
  char path[256];
  FILE *f = fopen(rv_media_tmp("tone.wav", path, sizeof path), "wb");
  assert_non_null(f);
  uint32_t rate = 8000, data = rate * 2;
  uint8_t h[44] = "RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\0\0\0\0\0\0\0\0\x02\0\x10\0data";
  uint32_t riff = 36 + data, byte_rate = rate * 2;
  memcpy(h + 4, &riff, 4);
  memcpy(h + 24, &rate, 4);
  memcpy(h + 28, &byte_rate, 4);
  memcpy(h + 40, &data, 4);
  fwrite(h, 1, 44, f);
  for (uint32_t i = 0; i < data; i++)
    fputc(0, f);
  fclose(f);
  assert_int_equal(open_error(path), RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "no video stream"));
  assert_non_null(strstr(rv_last_error(), "audio"));
}

/* Only the headers survive: opens, but there is nothing to decode. */
static void test_headers_only(void **state) {
  (void)state;
  char whole[256], cut[256];
  rv_media_write(rv_media_tmp("h.mkv", whole, sizeof whole), "ffv1", 96, 64, 30, 10, NULL, 0);
  copy_prefix(whole, rv_media_tmp("cut-h.mkv", cut, sizeof cut), 300);
  rv_status st = open_error(cut);
  assert_int_equal(st, RV_ERR_FORMAT);
  assert_non_null(strstr(rv_last_error(), "cut-h.mkv"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_truncated),     cmocka_unit_test(test_truncated_mp4_is_an_error),
      cmocka_unit_test(test_flipped_bytes), cmocka_unit_test(test_not_a_video),
      cmocka_unit_test(test_audio_only),    cmocka_unit_test(test_headers_only),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
