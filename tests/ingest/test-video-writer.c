/* The video writer: every codec/container pair round-trips through libavcodec with the
 * right size, frame count, timestamps and pixels; bad arguments fail with clear errors. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include <ringvit/video-writer.h>

#include "rv-test.h"

static char tmpdir[256];

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/rv-vw-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static const char *tmp_path(const char *name, char *buf, size_t cap) {
  snprintf(buf, cap, "%s/%s", tmpdir, name);
  return buf;
}

/* A smooth pattern that moves with i, so lossy codecs keep it well. */
static void pattern(uint8_t *rgb, int w, int h, int stride, int i) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + (size_t)y * stride + 3 * x;
      p[0] = (uint8_t)(40 + (x * 160) / w + 2 * i);
      p[1] = (uint8_t)(40 + (y * 160) / h + i);
      p[2] = (uint8_t)(200 - ((x + y) * 120) / (w + h));
    }
}

typedef struct decoded {
  int frames, width, height;
  int64_t pts_ns[64];
  double mean_abs_err; /* against pattern(), over all frames */
} decoded;

/* Decodes every frame of path to RGB24 with plain libavcodec and compares with pattern(). */
static void decode_file(const char *path, decoded *d) {
  AVFormatContext *fc = NULL;
  memset(d, 0, sizeof *d);
  assert_int_equal(avformat_open_input(&fc, path, NULL, NULL), 0);
  assert_true(avformat_find_stream_info(fc, NULL) >= 0);
  const AVCodec *dec = NULL;
  int si = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
  assert_true(si >= 0);
  AVStream *st = fc->streams[si];
  AVCodecContext *ctx = avcodec_alloc_context3(dec);
  assert_int_equal(avcodec_parameters_to_context(ctx, st->codecpar), 0);
  assert_int_equal(avcodec_open2(ctx, dec, NULL), 0);
  AVPacket *pkt = av_packet_alloc();
  AVFrame *fr = av_frame_alloc();
  uint8_t *rgb = NULL, *ref = NULL;
  double err_sum = 0;
  int eof = 0;
  while (!eof || avcodec_receive_frame(ctx, fr) == 0) {
    if (!eof) {
      int r = av_read_frame(fc, pkt);
      if (r < 0) {
        eof = 1;
        avcodec_send_packet(ctx, NULL);
      } else {
        if (pkt->stream_index == si) assert_int_equal(avcodec_send_packet(ctx, pkt), 0);
        av_packet_unref(pkt);
      }
      if (avcodec_receive_frame(ctx, fr) != 0) continue;
    }
    int w = fr->width, h = fr->height;
    if (!rgb) {
      rgb = malloc((size_t)w * h * 3);
      ref = malloc((size_t)w * h * 3);
    }
    struct SwsContext *sws =
        sws_getContext(w, h, fr->format, w, h, AV_PIX_FMT_RGB24,
                       SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    assert_non_null(sws);
    int full = fr->color_range == AVCOL_RANGE_JPEG || fr->format == AV_PIX_FMT_YUVJ420P ||
               fr->format == AV_PIX_FMT_YUVJ444P;
    const int *coefs = sws_getCoefficients(SWS_CS_ITU601);
    sws_setColorspaceDetails(sws, coefs, full, coefs, 1, 0, 1 << 16, 1 << 16);
    uint8_t *dst[1] = {rgb};
    int dst_stride[1] = {3 * w};
    sws_scale(sws, (const uint8_t *const *)fr->data, fr->linesize, 0, h, dst, dst_stride);
    sws_freeContext(sws);
    pattern(ref, w, h, 3 * w, d->frames);
    double e = 0;
    for (size_t k = 0; k < (size_t)w * h * 3; k++)
      e += abs((int)rgb[k] - (int)ref[k]);
    err_sum += e / ((double)w * h * 3);
    if (d->frames < 64)
      d->pts_ns[d->frames] =
          av_rescale_q(fr->best_effort_timestamp, st->time_base, (AVRational){1, 1000000000});
    d->frames++;
    d->width = w;
    d->height = h;
    av_frame_unref(fr);
  }
  d->mean_abs_err = d->frames ? err_sum / d->frames : 1e9;
  free(rgb);
  free(ref);
  av_frame_free(&fr);
  av_packet_free(&pkt);
  avcodec_free_context(&ctx);
  avformat_close_input(&fc);
}

static void write_file(const char *path, const char *codec, int w, int h, int n,
                       const int64_t *pts_ns) {
  rv_video_writer_cfg cfg = {.path = path, .width = w, .height = h, .fps = 25, .codec = codec};
  rv_video_writer *vw = NULL;
  rv_status st = rv_video_writer_open(&cfg, &vw);
  if (st != RV_OK) fail_msg("open %s (%s): %s", path, codec ? codec : "default", rv_last_error());
  int stride = 3 * w + 5; /* not packed: the writer honours the stride */
  uint8_t *rgb = calloc((size_t)stride * h, 1);
  for (int i = 0; i < n; i++) {
    pattern(rgb, w, h, stride, i);
    st = rv_video_writer_write(vw, rgb, stride, pts_ns ? pts_ns[i] : -1);
    if (st != RV_OK) fail_msg("write %s frame %d: %s", path, i, rv_last_error());
  }
  assert_int_equal(rv_video_writer_frames(vw), n);
  free(rgb);
  st = rv_video_writer_close(vw);
  if (st != RV_OK) fail_msg("close %s: %s", path, rv_last_error());
}

typedef struct codec_case {
  const char *file, *codec;
  int w, h;
  double max_err;
} codec_case;

static void check_case(const codec_case *c) {
  char path[300];
  if (!rv_video_writer_have_codec(c->codec)) {
    printf("  (no encoder for %s here: skipped)\n", c->codec ? c->codec : "default");
    return;
  }
  tmp_path(c->file, path, sizeof path);
  write_file(path, c->codec, c->w, c->h, 12, NULL);
  decoded d;
  decode_file(path, &d);
  assert_int_equal(d.frames, 12);
  assert_int_equal(d.width, c->w);
  assert_int_equal(d.height, c->h);
  for (int i = 0; i < 12; i++)
    assert_int_equal(d.pts_ns[i], (int64_t)i * 40000000);
  if (d.mean_abs_err > c->max_err)
    fail_msg("%s: mean abs error %.2f > %.2f", c->file, d.mean_abs_err, c->max_err);
}

static void test_codecs_round_trip(void **state) {
  (void)state;
  static const codec_case cases[] = {
      {"a.avi", "mpeg4", 96, 64, 4.0},    {"b.avi", "mjpeg", 96, 64, 4.0},
      {"c.mkv", "ffv1", 96, 64, 2.0},     {"d.webm", "vp8", 96, 64, 6.0},
      {"e.mp4", "h264", 96, 64, 4.0},     {"f.nut", "rawvideo", 95, 63, 0.0},
      {"g.mp4", NULL, 96, 64, 4.0},       {"h.mov", "mpeg4", 96, 64, 4.0},
      {"i.mkv", "mjpeg", 642, 361, 4.0},  {"j.mkv", "ffv1", 642, 361, 2.0},
      {"k.mp4", "h264", 642, 361, 4.0},   {"l.webm", "vp9", 96, 64, 6.0},
      {"m.avi", "rawvideo", 96, 64, 0.0}, {"n.mov", "rawvideo", 96, 64, 0.0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i]);
}

static void test_variable_frame_rate(void **state) {
  (void)state;
  static const int64_t pts[6] = {0, 10000000, 50000000, 60000000, 250000000, 1000000000};
  static const char *const files[] = {"vfr.mkv", "vfr.mp4", "vfr.webm"};
  static const char *const codecs[] = {"ffv1", "mpeg4", "vp8"};
  char path[300];
  for (int f = 0; f < 3; f++) {
    if (!rv_video_writer_have_codec(codecs[f])) continue;
    write_file(tmp_path(files[f], path, sizeof path), codecs[f], 64, 48, 6, pts);
    decoded d;
    decode_file(path, &d);
    assert_int_equal(d.frames, 6);
    for (int i = 0; i < 6; i++)
      if (llabs(d.pts_ns[i] - pts[i]) > 1000000)
        fail_msg("%s frame %d: pts %lld ns, wrote %lld", files[f], i, (long long)d.pts_ns[i],
                 (long long)pts[i]);
  }
}

static void test_pts_offset(void **state) {
  (void)state;
  int64_t pts[5];
  for (int i = 0; i < 5; i++)
    pts[i] = 7000000000LL + i * 40000000LL;
  char path[300];
  write_file(tmp_path("offset.mkv", path, sizeof path), "ffv1", 32, 32, 5, pts);
  decoded d;
  decode_file(path, &d);
  assert_int_equal(d.frames, 5);
  for (int i = 0; i < 5; i++)
    assert_true(llabs(d.pts_ns[i] - pts[i]) <= 1000000);
}

static void test_raw_rgb(void **state) {
  (void)state;
  char path[300], json[320];
  static const int64_t pts[3] = {-1, -1, 500000000};
  write_file(tmp_path("r.rgb", path, sizeof path), NULL, 5, 3, 3, pts);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  uint8_t got[3 * 5 * 3 * 3], ref[5 * 3 * 3];
  assert_int_equal(fread(got, 1, sizeof got, f), sizeof got);
  assert_int_equal(fgetc(f), EOF);
  fclose(f);
  for (int i = 0; i < 3; i++) {
    pattern(ref, 5, 3, 15, i);
    assert_memory_equal(got + i * sizeof ref, ref, sizeof ref);
  }
  snprintf(json, sizeof json, "%s.json", path);
  f = fopen(json, "r");
  assert_non_null(f);
  char text[512] = "";
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  assert_non_null(strstr(text, "\"width\":5,\"height\":3"));
  assert_non_null(strstr(text, "\"frames\":3"));
  assert_non_null(strstr(text, "\"pts_ns\":[0,40000000,500000000]"));
}

static rv_status try_open(const char *name, const char *codec, int w, int h, double fps) {
  char path[300];
  rv_video_writer_cfg cfg = {.path = name ? tmp_path(name, path, sizeof path) : NULL,
                             .width = w,
                             .height = h,
                             .fps = fps,
                             .codec = codec};
  rv_video_writer *vw = NULL;
  rv_status st = rv_video_writer_open(&cfg, &vw);
  assert_true(st == RV_OK || vw == NULL);
  assert_int_equal(rv_video_writer_close(vw), RV_OK);
  return st;
}

static void test_errors(void **state) {
  (void)state;
  assert_int_equal(try_open(NULL, "ffv1", 32, 32, 25), RV_ERR_INVALID);
  assert_int_equal(try_open("x.mkv", "ffv1", 0, 32, 25), RV_ERR_INVALID);
  assert_int_equal(try_open("x.mkv", "ffv1", 32, 32, 0), RV_ERR_INVALID);
  assert_int_equal(try_open("x.mkv", "ffv1", 32, 32, -1), RV_ERR_INVALID);
  assert_int_equal(try_open("x.mkv", "no-such-codec", 32, 32, 25), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "no-such-codec"));
  assert_int_equal(try_open("x.webm", "mpeg4", 32, 32, 25), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "cannot hold"));
  assert_int_equal(try_open("x.no-such-container", "ffv1", 32, 32, 25), RV_ERR_UNSUPPORTED);
  assert_int_equal(try_open("x.rgb", "mpeg4", 32, 32, 25), RV_ERR_INVALID);
  assert_int_equal(try_open("x.mov", "rawvideo", 33, 32, 25), RV_ERR_UNSUPPORTED);
  assert_non_null(strstr(rv_last_error(), "odd width"));
  assert_int_equal(try_open("missing-dir/x.mkv", "ffv1", 32, 32, 25), RV_ERR_NOT_FOUND);
  assert_non_null(strstr(rv_last_error(), "No such file"));
  assert_int_equal(rv_video_writer_open(NULL, NULL), RV_ERR_INVALID);
  assert_int_equal(rv_video_writer_close(NULL), RV_OK);
  assert_int_equal(rv_video_writer_have_codec("no-such-codec"), 0);
  assert_int_equal(rv_video_writer_have_codec("mpeg4"), 1);
  assert_int_equal(rv_video_writer_have_codec(NULL), 1);
}

static void test_write_errors(void **state) {
  (void)state;
  char path[300];
  rv_video_writer_cfg cfg = {.path = tmp_path("w.mkv", path, sizeof path),
                             .width = 16,
                             .height = 16,
                             .fps = 25,
                             .codec = "ffv1"};
  rv_video_writer *vw = NULL;
  assert_int_equal(rv_video_writer_open(&cfg, &vw), RV_OK);
  uint8_t rgb[16 * 16 * 3] = {0};
  assert_int_equal(rv_video_writer_write(vw, rgb, 47, -1), RV_ERR_INVALID);
  assert_int_equal(rv_video_writer_write(vw, NULL, 48, -1), RV_ERR_INVALID);
  assert_int_equal(rv_video_writer_write(vw, rgb, 48, 1000000000), RV_OK);
  assert_int_equal(rv_video_writer_write(vw, rgb, 48, 1000000000), RV_ERR_INVALID);
  assert_non_null(strstr(rv_last_error(), "does not follow"));
  assert_int_equal(rv_video_writer_write(vw, rgb, 48, 5000), RV_ERR_INVALID);
  assert_int_equal(rv_video_writer_write(vw, rgb, 48, -1), RV_OK);
  assert_int_equal(rv_video_writer_frames(vw), 2);
  assert_int_equal(rv_video_writer_close(vw), RV_OK);
  decoded d;
  decode_file(path, &d);
  assert_int_equal(d.frames, 2);
  assert_true(llabs(d.pts_ns[1] - 1040000000LL) <= 1000000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codecs_round_trip),
      cmocka_unit_test(test_variable_frame_rate),
      cmocka_unit_test(test_pts_offset),
      cmocka_unit_test(test_raw_rgb),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_write_errors),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
