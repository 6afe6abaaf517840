/* Video writer front: configuration checks, the raw ".rgb" format, dispatch to FFmpeg. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "video-writer-impl.h"

#define RV_VIDEO_MAX_SIDE 16384

struct rv_video_writer {
  int width, height;
  double fps;
  int64_t frames;
  rv_avw *av; /* encoded output, or NULL for .rgb */
  /* .rgb */
  FILE *raw;
  char *path;
  int64_t *pts;
  int64_t pts_cap;
};

static int is_raw_path(const char *path) {
  size_t n = strlen(path);
  return n >= 4 && strcmp(path + n - 4, ".rgb") == 0;
}

static rv_status check_cfg(const rv_video_writer_cfg *cfg) {
  if (!cfg->path || !cfg->path[0]) return RV_FAIL(RV_ERR_INVALID, "cfg.path must be set");
  if (cfg->width < 1 || cfg->height < 1 || cfg->width > RV_VIDEO_MAX_SIDE ||
      cfg->height > RV_VIDEO_MAX_SIDE)
    return RV_FAIL(RV_ERR_INVALID, "%s: frame size %dx%d outside 1..%d", cfg->path, cfg->width,
                   cfg->height, RV_VIDEO_MAX_SIDE);
  if (!(cfg->fps > 0.0) || !isfinite(cfg->fps) || cfg->fps > 10000.0)
    return RV_FAIL(RV_ERR_INVALID, "%s: fps must be in (0, 10000], got %g", cfg->path, cfg->fps);
  if (cfg->bit_rate < 0 || cfg->gop < 0)
    return RV_FAIL(RV_ERR_INVALID, "%s: bit_rate and gop must be >= 0", cfg->path);
  if (is_raw_path(cfg->path) && cfg->codec && strcmp(cfg->codec, "rawvideo") != 0)
    return RV_FAIL(RV_ERR_INVALID, "%s: .rgb output holds raw frames, not codec %s", cfg->path,
                   cfg->codec);
  return RV_OK;
}

static rv_status open_raw(const rv_video_writer_cfg *cfg, rv_video_writer *w) {
  w->path = strdup(cfg->path);
  if (!w->path) return RV_FAIL(RV_ERR_NOMEM, "path");
  w->raw = fopen(cfg->path, "wb");
  if (!w->raw) return RV_FAIL(RV_ERR_IO, "%s: cannot create: %s", cfg->path, strerror(errno));
  return RV_OK;
}

rv_status rv_video_writer_open(const rv_video_writer_cfg *cfg, rv_video_writer **out) {
  rv_status st = RV_OK;
  rv_video_writer *w = NULL;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  if (!cfg) return RV_FAIL(RV_ERR_INVALID, "cfg must not be NULL");
  RV_TRY(check_cfg(cfg));
  w = calloc(1, sizeof *w);
  if (!w) RV_TRY_FAIL(RV_ERR_NOMEM, "video writer");
  w->width = cfg->width;
  w->height = cfg->height;
  w->fps = cfg->fps;
  if (is_raw_path(cfg->path))
    RV_TRY(open_raw(cfg, w));
  else
    RV_TRY(rv_avw_open(cfg, &w->av));
  *out = w;
  return RV_OK;
fail:
  rv_video_writer_close(w);
  return st;
}

/* Raw frames: rows packed to 3 * width bytes; the pts go to the sidecar at close. */
static rv_status write_raw(rv_video_writer *w, const uint8_t *rgb, int stride, int64_t pts_ns) {
  int64_t last = w->frames ? w->pts[w->frames - 1] : -1;
  if (pts_ns < 0) pts_ns = w->frames ? last + llround(1e9 / w->fps) : 0;
  if (pts_ns <= last)
    return RV_FAIL(RV_ERR_INVALID, "%s: pts %lld ns does not follow %lld ns", w->path,
                   (long long)pts_ns, (long long)last);
  if (w->frames == w->pts_cap) {
    int64_t cap = w->pts_cap ? 2 * w->pts_cap : 256;
    int64_t *p = realloc(w->pts, (size_t)cap * sizeof *p);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "pts of %lld frames", (long long)cap);
    w->pts = p;
    w->pts_cap = cap;
  }
  for (int y = 0; y < w->height; y++)
    if (fwrite(rgb + (size_t)y * (size_t)stride, 3, (size_t)w->width, w->raw) != (size_t)w->width)
      return RV_FAIL(RV_ERR_IO, "%s: write failed: %s", w->path, strerror(errno));
  w->pts[w->frames] = pts_ns;
  return RV_OK;
}

rv_status rv_video_writer_write(rv_video_writer *w, const uint8_t *rgb, int stride,
                                int64_t pts_ns) {
  rv_status st;
  if (!w || !rgb) return RV_FAIL(RV_ERR_INVALID, "writer and rgb must not be NULL");
  if (stride < 3 * w->width)
    return RV_FAIL(RV_ERR_INVALID, "stride %d is less than 3 * width (%d)", stride, 3 * w->width);
  st = w->av ? rv_avw_write(w->av, rgb, stride, pts_ns) : write_raw(w, rgb, stride, pts_ns);
  if (st == RV_OK) w->frames++;
  return st;
}

static rv_status close_raw(rv_video_writer *w) {
  rv_status st = RV_OK;
  FILE *js = NULL;
  char *jpath = malloc(strlen(w->path) + 6);
  if (!jpath) RV_TRY_FAIL(RV_ERR_NOMEM, "sidecar path");
  sprintf(jpath, "%s.json", w->path);
  if (fclose(w->raw) != 0) st = RV_FAIL(RV_ERR_IO, "%s: %s", w->path, strerror(errno));
  w->raw = NULL;
  js = fopen(jpath, "w");
  if (!js) RV_TRY_FAIL(RV_ERR_IO, "%s: cannot create: %s", jpath, strerror(errno));
  fprintf(js,
          "{\"format\":\"rgb24\",\"width\":%d,\"height\":%d,\"fps\":%.17g,\"frames\":%lld,"
          "\"pts_ns\":[",
          w->width, w->height, w->fps, (long long)w->frames);
  for (int64_t i = 0; i < w->frames; i++)
    fprintf(js, "%s%lld", i ? "," : "", (long long)w->pts[i]);
  fprintf(js, "]}\n");
  if (ferror(js) && st == RV_OK) st = RV_FAIL(RV_ERR_IO, "%s: write failed", jpath);
fail:
  if (js && fclose(js) != 0 && st == RV_OK)
    st = RV_FAIL(RV_ERR_IO, "%s: %s", jpath, strerror(errno));
  free(jpath);
  return st;
}

rv_status rv_video_writer_close(rv_video_writer *w) {
  rv_status st = RV_OK;
  if (!w) return RV_OK;
  if (w->av) st = rv_avw_close(w->av);
  if (w->raw) st = close_raw(w);
  free(w->pts);
  free(w->path);
  free(w);
  return st;
}

int64_t rv_video_writer_frames(const rv_video_writer *w) { return w ? w->frames : 0; }

int rv_video_writer_have_codec(const char *codec) { return rv_avw_have_codec(codec); }
