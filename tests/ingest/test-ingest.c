/* Ingest end to end on media written at test time: codecs and containers, the right frames
 * at the right times (CFR, VFR, offset start, seeking), geometry, tokens, thumbnails,
 * skipping, custom I/O, configuration errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/ingest.h>

#include "media.h"
#include "rv-test.h"

#define MS 1000000LL

static int teardown(void **state) {
  (void)state;
  rv_media_cleanup();
  return 0;
}

static void expect_close_ns(int64_t got, int64_t want, const char *what, int i) {
  if (llabs(got - want) > 1 * MS)
    fail_msg("%s frame %d: pts %lld ns, expected %lld", what, i, (long long)got, (long long)want);
}

/* 60 frames at 30 fps: all of them, then 2 fps (frames 0, 15, 30, 45). */
static void check_codec(const char *file, const char *codec, int w, int h) {
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, w, h, 30, 60, NULL, 0)) {
    printf("  (no %s encoder: %s skipped)\n", codec, file);
    return;
  }
  rv_media_run run;
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 224, 224);
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.end, RV_EOF);
  assert_int_equal(run.n, 60);
  for (int i = 0; i < 60; i++) {
    expect_close_ns(run.pts_ns[i], llround(i * 1e9 / 30), file, i);
    assert_int_equal(run.index[i], i);
    assert_int_equal(run.content[i], i);
  }
  assert_int_equal(run.stats.decoded, 60);
  assert_int_equal(run.stats.corrupt_packets, 0);
  assert_int_equal(run.stats.truncated, 0);
  cfg.fps = 2;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 4);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(run.index[k], 15 * k);
    assert_int_equal(run.content[k], 15 * k);
    expect_close_ns(run.pts_ns[k], k * 500 * MS, file, k);
  }
}

static void test_codecs_and_containers(void **state) {
  (void)state;
  check_codec("mpeg4.avi", "mpeg4", 160, 96);
  check_codec("mjpeg.avi", "mjpeg", 160, 96);
  check_codec("ffv1.mkv", "ffv1", 160, 96);
  check_codec("vp8.webm", "vp8", 160, 96);
  check_codec("h264.mp4", "h264", 160, 96);
  check_codec("mpeg4.mov", "mpeg4", 160, 96);
  check_codec("raw.nut", "rawvideo", 160, 96);
}

static void test_info_and_colour(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("info.mkv", path, sizeof path), "ffv1", 160, 96, 25, 50, NULL, 0);
  rv_ingest_cfg cfg = rv_media_cfg(path, 2, 224, 224);
  cfg.hwaccel = RV_HWACCEL_AUTO; /* no GPU here: software, never a failure */
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  const rv_ingest_info *in = rv_ingest_get_info(ing);
  assert_string_equal(in->codec, "ffv1");
  assert_non_null(strstr(in->container, "matroska"));
  assert_int_equal(in->width, 160);
  assert_int_equal(in->height, 96);
  assert_true(fabs(in->fps - 25) < 1e-6);
  assert_true(fabs(in->duration_s - 2.0) < 0.05);
  assert_true(in->threads >= 1);
  rv_ingest_progress p = rv_ingest_get_progress(ing);
  assert_true(p.fraction <= 0.0);
  const rv_ingest_batch *b;
  double last = -1;
  while (rv_ingest_next(ing, &b) == RV_OK) {
    uint8_t rgb[3];
    rv_media_strip(b->frames.data, &b->geom, rgb);
    for (int c = 0; c < 3; c++)
      assert_true(abs(rgb[c] - rv_media_strip_rgb[c]) <= 6);
    p = rv_ingest_get_progress(ing);
    assert_true(p.fraction >= last && p.fraction <= 1.0);
    last = p.fraction;
  }
  p = rv_ingest_get_progress(ing);
  assert_true(p.fraction == 1.0);
  assert_true(fabs(p.duration_s - 2.0) < 0.05);
  rv_ingest_close(ing);
}

/* Irregular presentation times: for each grid time, the first frame at or after it. */
static void check_vfr(const char *file, const char *codec) {
  static const int64_t ms[] = {0,    10,   50,   60,   250,  251,  480,  700,  1000, 1010,
                               1020, 1490, 1510, 2300, 2310, 2320, 2330, 3000, 3001, 3100};
  enum { N = sizeof ms / sizeof ms[0] };
  int64_t pts[N];
  for (int i = 0; i < N; i++)
    pts[i] = ms[i] * MS;
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, 96, 64, 100, N, pts, 0)) return;
  rv_media_run run;
  rv_ingest_cfg cfg = rv_media_cfg(path, 4, 96, 64); /* grid every 250 ms */
  rv_media_ingest(&cfg, &run);
  /* reference: plain statement of the rule */
  int expect[N], ne = 0;
  for (int64_t g = 0; g <= ms[N - 1]; g += 250) {
    int i = 0;
    while (i < N && ms[i] < g)
      i++;
    if (i < N && (ne == 0 || expect[ne - 1] != i)) expect[ne++] = i;
  }
  assert_int_equal(run.n, ne);
  for (int k = 0; k < ne; k++) {
    assert_int_equal(run.index[k], expect[k]);
    assert_int_equal(run.content[k], expect[k]);
    expect_close_ns(run.pts_ns[k], pts[expect[k]], file, k);
  }
  cfg.fps = 0;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, N);
  for (int i = 0; i < N; i++)
    expect_close_ns(run.pts_ns[i], pts[i], file, i);
}

static void test_variable_frame_rate(void **state) {
  (void)state;
  check_vfr("vfr.mkv", "ffv1");
  check_vfr("vfr.mp4", "mpeg4");
  check_vfr("vfr-h264.mp4", "h264");
}

/* A stream whose first frame is at 5 s: times keep the offset; the range counts from it. */
static void test_start_offset(void **state) {
  (void)state;
  int64_t pts[40];
  for (int i = 0; i < 40; i++)
    pts[i] = 5000 * MS + i * 100 * MS;
  char path[256];
  rv_media_write(rv_media_tmp("offset.mkv", path, sizeof path), "ffv1", 96, 64, 10, 40, pts, 0);
  rv_media_run run;
  rv_ingest_cfg cfg = rv_media_cfg(path, 1, 96, 64);
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  assert_true(fabs(rv_ingest_get_info(ing)->start_s - 5.0) < 1e-3);
  assert_true(fabs(rv_ingest_get_info(ing)->duration_s - 4.0) < 0.05); /* the span */
  rv_ingest_close(ing);
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 4);
  assert_int_equal(run.stats.truncated, 0);
  for (int k = 0; k < 4; k++) {
    expect_close_ns(run.pts_ns[k], 5000 * MS + k * 1000 * MS, "offset", k);
    assert_int_equal(run.index[k], 10 * k);
    assert_int_equal(run.content[k], 10 * k);
  }
  cfg.start_s = 1.5; /* 6.5 s on the stream's clock */
  cfg.end_s = 3.2;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 2); /* 6.5, 7.5 (8.5 is past the end) */
  assert_int_equal(run.index[0], 15);
  assert_int_equal(run.content[0], 15);
  assert_int_equal(run.index[1], 25);
}

/* start/end on a 10 s clip: the frames of the range, numbered as in the whole file. */
static void check_seek(const char *file, const char *codec) {
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, 96, 64, 30, 300, NULL, 30))
    return;
  rv_media_run run;
  rv_ingest_cfg cfg = rv_media_cfg(path, 2, 96, 64);
  cfg.start_s = 4.0;
  cfg.end_s = 6.0;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.end, RV_EOF);
  assert_int_equal(run.n, 4);
  for (int k = 0; k < 4; k++) {
    assert_int_equal(run.content[k], 120 + 15 * k);
    assert_int_equal(run.index[k], 120 + 15 * k);
    expect_close_ns(run.pts_ns[k], 4000 * MS + k * 500 * MS, file, k);
  }
  assert_true(run.stats.decoded < 200); /* it seeked rather than decoding from the start */
  cfg.start_s = 4.4;                    /* between keyframes, off the source grid */
  cfg.end_s = 0;
  cfg.fps = 0;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 300 - 132);
  assert_int_equal(run.content[0], 132);
  assert_int_equal(run.index[0], 132);
  cfg.start_s = 20; /* beyond the end: nothing, no error */
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.end, RV_EOF);
  assert_int_equal(run.n, 0);
}

static void test_seeking(void **state) {
  (void)state;
  check_seek("seek.avi", "mpeg4");
  check_seek("seek.mkv", "ffv1");
  check_seek("seek.mp4", "h264");
  check_seek("seek.webm", "vp8");
}

/* 642x361: letterbox rectangle, padding colour, stretch, odd sizes through every codec. */
static void check_odd(const char *file, const char *codec) {
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, 642, 361, 10, 3, NULL, 0))
    return;
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 224, 224);
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  const rv_ingest_batch *b;
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(b->src_width, 642);
  assert_int_equal(b->src_height, 361);
  int rh = (int)lround(361.0 * 224 / 642); /* 126 */
  assert_true(fabsf(b->geom.scale_x - 224.0f / 642) < 1e-6f);
  assert_true(fabsf(b->geom.scale_y - (float)rh / 361) < 1e-6f);
  assert_true(b->geom.pad_x == 0.0f && b->geom.pad_y == (float)((224 - rh) / 2));
  const uint8_t *f = b->frames.data;
  uint8_t pad[3] = {124, 116, 104}; /* round(255 * ImageNet mean) */
  assert_memory_equal(f, pad, 3);
  assert_memory_equal(f + (223 * 224 + 223) * 3, pad, 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(rv_media_read(f + i * 224 * 224 * 3, &b->geom), i);
  rv_ingest_close(ing);
  cfg.resize = RV_RESIZE_STRETCH;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_true(b->geom.pad_x == 0.0f && b->geom.pad_y == 0.0f);
  assert_true(fabsf(b->geom.scale_y - 224.0f / 361) < 1e-6f);
  assert_int_equal(rv_media_read(b->frames.data, &b->geom), 0);
  rv_ingest_close(ing);
}

static void test_odd_sizes_and_geometry(void **state) {
  (void)state;
  check_odd("odd.mkv", "ffv1");
  check_odd("odd-mjpeg.avi", "mjpeg");
  check_odd("odd-h264.mp4", "h264");
  check_odd("odd-raw.nut", "rawvideo");
}

/* Tokens against a plain loop over the delivered frames, T = 1 and T = 2 (with padding). */
static void check_tokens(const rv_ingest_cfg *cfg) {
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(cfg, &ing), RV_OK);
  const rv_ingest_batch *b;
  int P = cfg->patch, T = cfg->tubelet, W = cfg->width, H = cfg->height, total = 0, pads = 0;
  while (rv_ingest_next(ing, &b) == RV_OK) {
    assert_int_equal(b->n % T, 0);
    assert_int_equal(b->tokens_per_frame, (W / P) * (H / P));
    assert_int_equal(b->tokens.shape[0], (int64_t)(b->n / T) * b->tokens_per_frame);
    assert_int_equal(b->tokens.shape[1], 3 * T * P * P);
    const uint8_t *fr = b->frames.data;
    const float *tok = b->tokens.data;
    for (int g = 0; g < b->n / T; g++)
      for (int py = 0; py < H / P; py++)
        for (int px = 0; px < W / P; px++) {
          const float *row = tok + ((size_t)(g * (H / P) + py) * (W / P) + px) * 3 * T * P * P;
          int feat = 0;
          for (int c = 0; c < 3; c++)
            for (int t = 0; t < T; t++)
              for (int y = 0; y < P; y++)
                for (int x = 0; x < P; x++, feat++) {
                  size_t at = (((size_t)(g * T + t) * H + py * P + y) * W + px * P + x) * 3 + c;
                  float want = (fr[at] / 255.0f - cfg->mean[c]) / cfg->std[c];
                  if (fabsf(row[feat] - want) > 1e-5f)
                    fail_msg("token %d feature %d: %g, plain loop %g", g, feat, row[feat], want);
                }
        }
    total += b->n;
    pads += b->n_pad;
    if (b->n_pad) /* a padding frame repeats the last real one */
      assert_memory_equal(fr + (size_t)(b->n - 1) * W * H * 3, fr + (size_t)(b->n - 2) * W * H * 3,
                          (size_t)W * H * 3);
  }
  assert_int_equal(total - pads, rv_ingest_get_stats(ing).sampled);
  if (T == 2) assert_int_equal(pads, 1);
  rv_ingest_close(ing);
}

static void test_tokens_match_plain_loop(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("tok.mkv", path, sizeof path), "ffv1", 100, 70, 10, 7, NULL, 0);
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 64, 48);
  cfg.batch = 4;
  cfg.mean[1] = 0.3f;
  cfg.std[2] = 0.5f;
  check_tokens(&cfg);
  cfg.tubelet = 2; /* 7 frames: batches of 4 and 4 (the last repeats frame 6) */
  check_tokens(&cfg);
  cfg.patch = 8;
  cfg.batch = 2;
  check_tokens(&cfg);
}

static void test_frames_only_and_thumbnails(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("thumb.mkv", path, sizeof path), "ffv1", 642, 361, 10, 5, NULL, 0);
  rv_ingest_cfg cfg = rv_media_cfg(path, 0, 224, 224);
  cfg.patch = 0;
  cfg.thumb_width = 128;
  rv_ingest *ing = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  const rv_ingest_batch *b;
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_null(b->tokens.data);
  assert_int_equal(b->thumbs.ndim, 4);
  assert_int_equal(b->thumbs.shape[0], b->n);
  assert_int_equal(b->thumbs.shape[1], lround(128 * 361.0 / 642));
  assert_int_equal(b->thumbs.shape[2], 128);
  rv_frame_geom tg = rv_frame_geom_fit(642, 361, 128, (int)b->thumbs.shape[1], 0);
  size_t tb = (size_t)b->thumbs.shape[1] * 128 * 3;
  for (int i = 0; i < b->n; i++)
    assert_int_equal(rv_media_read((const uint8_t *)b->thumbs.data + i * tb, &tg), i);
  rv_ingest_close(ing);
}

/* keep_source: each sampled frame also as decoded; pushed back through push mode it scales
 * to exactly the batch's model input (what rvsrc relies on to pass frames on unconverted),
 * tubelet padding repeats the last one, and a 4:4:4 stream has no such form (width 0). */
/* A clip of `frames` frames at 10 fps and an ingest config that keeps them as decoded:
 * every frame, side x side, batches of 4, no tokens. Nonzero when `codec` cannot be written. */
static int keep_cfg(const char *file, const char *codec, int w, int h, int frames, int side,
                    char *path, size_t size, rv_ingest_cfg *cfg) {
  if (rv_media_write(rv_media_tmp(file, path, size), codec, w, h, 10, frames, NULL, 0)) return 1;
  *cfg = rv_media_cfg(path, 0, side, side);
  cfg->patch = 0;
  cfg->batch = 4;
  cfg->keep_source = 1;
  return 0;
}

static void check_keep_source(const char *codec, int w, int h, int want_form) {
  char path[256];
  rv_ingest_cfg cfg;
  if (keep_cfg("keep.mkv", codec, w, h, 7, 224, path, sizeof path, &cfg)) return;
  cfg.tubelet = 2; /* 7 frames: the second batch repeats frame 6 */
  rv_ingest_cfg pc = cfg;
  pc.path = "pushed";
  pc.keep_source = 0;
  pc.push = 1;
  pc.batch = 1;
  pc.tubelet = 1;
  rv_ingest *ing = NULL, *push = NULL;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  assert_int_equal(rv_ingest_open(&pc, &push), RV_OK);
  const rv_ingest_batch *b, *pb;
  int frames = 0;
  size_t fb = (size_t)224 * 224 * 3;
  while (rv_ingest_next(ing, &b) == RV_OK) {
    assert_non_null(b->source);
    for (int i = 0; i < b->n; i++) {
      const rv_image *img = &b->source[i];
      if (!want_form) {
        assert_int_equal(img->width, 0);
        continue;
      }
      assert_true(img->format == RV_PIXEL_I420 || img->format == RV_PIXEL_NV12);
      assert_true(img->width == w && img->height == h);
      if (i >= b->n - b->n_pad) {
        assert_ptr_equal(img->data[0], b->source[i - 1].data[0]);
        continue;
      }
      assert_int_equal(rv_ingest_push(push, img, b->pts_ns[i], b->frame_index[i], NULL), RV_OK);
      assert_int_equal(rv_ingest_next(push, &pb), RV_OK);
      assert_memory_equal(pb->frames.data, (const uint8_t *)b->frames.data + i * fb, fb);
      frames++;
    }
  }
  assert_int_equal(frames, want_form ? 7 : 0);
  rv_ingest_close(push);
  rv_ingest_close(ing);
}

/* rv_ingest_skip_kept: kept frames are no longer converted into `frames` (their slots keep
 * what was there: a marker written over the first batch), frames with no kept form still
 * are; only for keep_source without tokens. */
static void check_skip_kept(const char *codec, int w, int h, int want_form) {
  char path[256];
  rv_ingest_cfg cfg;
  if (keep_cfg("skipkept.mkv", codec, w, h, 8, 64, path, sizeof path, &cfg)) return;
  rv_ingest *ing = NULL;
  const rv_ingest_batch *b;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  size_t bytes = (size_t)b->n * 64 * 64 * 3;
  memset(b->frames.data, 0x5a, bytes); /* the ingest's own buffer, reused for the next batch */
  assert_int_equal(rv_ingest_skip_kept(ing, 1), RV_OK);
  assert_int_equal(rv_ingest_next(ing, &b), RV_OK);
  assert_int_equal(b->n, 4);
  const uint8_t *px = b->frames.data;
  size_t marked = 0;
  for (size_t k = 0; k < bytes; k++)
    marked += px[k] == 0x5a;
  assert_int_equal(marked == bytes, want_form); /* untouched only where kept */
  assert_int_equal(b->source[0].width > 0, want_form);
  rv_ingest_close(ing);
  cfg.patch = 16; /* tokens are made from the converted frames */
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_OK);
  assert_int_equal(rv_ingest_skip_kept(ing, 1), RV_ERR_INVALID);
  rv_ingest_close(ing);
}

static void test_keep_source(void **state) {
  (void)state;
  check_keep_source("mpeg4", 320, 240, 1);
  check_keep_source("ffv1", 321, 241, 0); /* odd size: the writer picks 4:4:4 */
  check_skip_kept("mpeg4", 320, 240, 1);
  check_skip_kept("ffv1", 321, 241, 0);
  rv_ingest *ing = NULL;
  rv_ingest_cfg kc = rv_media_cfg("x", 0, 224, 224);
  kc.push = 1;
  assert_int_equal(rv_ingest_open(&kc, &ing), RV_OK);
  assert_int_equal(rv_ingest_skip_kept(ing, 1), RV_ERR_INVALID); /* nothing is kept */
  assert_int_equal(rv_ingest_skip_kept(ing, 0), RV_OK);
  rv_ingest_close(ing);
  assert_int_equal(rv_ingest_skip_kept(NULL, 0), RV_ERR_INVALID);
  rv_ingest_cfg cfg = rv_media_cfg("x", 0, 224, 224);
  cfg.push = 1;
  cfg.keep_source = 1;
  assert_int_equal(rv_ingest_open(&cfg, &ing), RV_ERR_UNSUPPORTED);
}

/* Lossless skipping gives exactly what decoding everything gives, with less decoding. */
static void check_skip(const char *file, const char *codec, int expect_less_decoding, int intra) {
  char path[256];
  if (rv_media_write(rv_media_tmp(file, path, sizeof path), codec, 96, 64, 30, 240, NULL, 60))
    return;
  rv_media_run all, skip, keys;
  rv_ingest_cfg cfg = rv_media_cfg(path, 2, 96, 64);
  cfg.skip = RV_SKIP_NONE;
  rv_media_ingest(&cfg, &all);
  cfg.skip = RV_SKIP_AUTO;
  rv_media_ingest(&cfg, &skip);
  assert_int_equal(all.n, 16);
  assert_int_equal(skip.n, all.n);
  assert_memory_equal(skip.index, all.index, sizeof all.index[0] * all.n);
  assert_memory_equal(skip.content, all.content, sizeof all.content[0] * all.n);
  assert_memory_equal(skip.pixels, all.pixels, sizeof all.pixels[0] * all.n);
  assert_memory_equal(skip.pts_ns, all.pts_ns, sizeof all.pts_ns[0] * all.n);
  assert_int_equal(all.stats.decoded, 240);
  if (expect_less_decoding) assert_true(skip.stats.decoded < all.stats.decoded);
  /* H.264 non-reference pictures do not even reach the decoder */
  if (!strcmp(codec, "h264")) assert_true(skip.stats.dropped > 0);
  printf("  %s: decoded %lld of 240 with skipping, %lld packets not sent to the decoder\n", file,
         (long long)skip.stats.decoded, (long long)skip.stats.dropped);
  cfg.skip = RV_SKIP_KEYFRAMES; /* keyframes every 60 frames: 0, 60, 120, 180 */
  rv_media_ingest(&cfg, &keys);
  assert_int_equal(keys.n, intra ? all.n : 4);
  for (int k = 0; k < keys.n; k++) {
    assert_int_equal(keys.index[k], intra ? all.index[k] : 60 * k);
    assert_int_equal(keys.content[k], keys.index[k]);
  }
}

static void test_skipping(void **state) {
  (void)state;
  check_skip("skip-h264.mp4", "h264", 1, 0);   /* B-frames are non-reference */
  check_skip("skip-h264.ts", "h264", 1, 0);    /* the same with Annex B start codes */
  check_skip("skip-mjpeg.avi", "mjpeg", 1, 1); /* independent frames are not decoded */
  check_skip("skip-mpeg4.avi", "mpeg4", 0, 0);
  check_skip("skip-vp8.webm", "vp8", 0, 0);
}

static void test_custom_io(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("io.mkv", path, sizeof path), "ffv1", 96, 64, 10, 20, NULL, 0);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  static uint8_t data[1 << 20];
  rv_media_mem m = {data, (int64_t)fread(data, 1, sizeof data, f), 0};
  fclose(f);
  rv_ingest_io io = rv_media_mem_io(&m, 1);
  rv_ingest_cfg cfg = rv_media_cfg("memory", 2, 96, 64);
  cfg.io = &io;
  rv_media_run run;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 4);
  for (int k = 0; k < 4; k++)
    assert_int_equal(run.content[k], 5 * k);
  io = rv_media_mem_io(&m, 0); /* a pipe */
  m.pos = 0;
  rv_media_ingest(&cfg, &run);
  assert_int_equal(run.n, 4);
}

static rv_status open_with(rv_ingest_cfg cfg) {
  rv_ingest *ing = NULL;
  rv_status st = rv_ingest_open(&cfg, &ing);
  assert_true(st == RV_OK || ing == NULL);
  rv_ingest_close(ing);
  return st;
}

static void test_bad_configuration(void **state) {
  (void)state;
  char path[256];
  rv_media_write(rv_media_tmp("cfg.mkv", path, sizeof path), "ffv1", 32, 32, 10, 2, NULL, 0);
  rv_ingest_cfg good = rv_media_cfg(path, 2, 64, 64), c;
  assert_int_equal(open_with(good), RV_OK);
#define BAD(stmt)                                                                                  \
  do {                                                                                             \
    c = good;                                                                                      \
    stmt;                                                                                          \
    assert_int_equal(open_with(c), RV_ERR_INVALID);                                                \
  } while (0)
  BAD(c.path = NULL);
  BAD(c.fps = -1);
  BAD(c.fps = NAN);
  BAD(c.width = 0);
  BAD(c.width = 60); /* not a multiple of 16 */
  BAD(c.tubelet = 3);
  BAD(c.batch = 0);
  BAD((c.tubelet = 2, c.batch = 3));
  BAD(c.std[1] = 0);
  BAD(c.start_s = -1);
  BAD((c.start_s = 2, c.end_s = 1));
  BAD(c.threads = -2);
  BAD(c.resize = (rv_resize_mode)7);
  BAD(c.thumb_width = -1);
#undef BAD
  assert_int_equal(rv_ingest_open(NULL, NULL), RV_ERR_INVALID);
  const rv_ingest_batch *b;
  assert_int_equal(rv_ingest_next(NULL, &b), RV_ERR_INVALID);
  rv_ingest_close(NULL);
  assert_null(rv_ingest_get_info(NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codecs_and_containers),
      cmocka_unit_test(test_info_and_colour),
      cmocka_unit_test(test_variable_frame_rate),
      cmocka_unit_test(test_start_offset),
      cmocka_unit_test(test_seeking),
      cmocka_unit_test(test_odd_sizes_and_geometry),
      cmocka_unit_test(test_tokens_match_plain_loop),
      cmocka_unit_test(test_frames_only_and_thumbnails),
      cmocka_unit_test(test_keep_source),
      cmocka_unit_test(test_skipping),
      cmocka_unit_test(test_custom_io),
      cmocka_unit_test(test_bad_configuration),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
