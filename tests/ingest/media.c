#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ringvit/video-writer.h>

#include "media.h"
#include "rv-test.h"

const uint8_t rv_media_strip_rgb[3] = {200, 60, 30};

/* bar b (0..15): row b / 8, column b % 8; rows cover y in [0, 3h/8) and [3h/8, 3h/4) */
void rv_media_draw(uint8_t *rgb, int w, int h, int stride, int64_t index) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = rgb + (size_t)y * stride + 3 * x;
      if (y * 4 >= h * 3) {
        memcpy(p, rv_media_strip_rgb, 3);
        continue;
      }
      int bit = (y * 8 >= h * 3 ? 8 : 0) + (x * 8) / w;
      uint8_t v = ((index >> bit) & 1) ? 235 : 20;
      p[0] = p[1] = p[2] = v;
    }
}

static const uint8_t *at(const uint8_t *rgb, const rv_frame_geom *g, double sx, double sy) {
  int x = (int)(sx * g->scale_x + g->pad_x), y = (int)(sy * g->scale_y + g->pad_y);
  x = x < 0 ? 0 : x >= g->dst_w ? g->dst_w - 1 : x;
  y = y < 0 ? 0 : y >= g->dst_h ? g->dst_h - 1 : y;
  return rgb + ((size_t)y * g->dst_w + x) * 3;
}

int64_t rv_media_read(const uint8_t *rgb, const rv_frame_geom *g) {
  int64_t index = 0;
  for (int bit = 0; bit < 16; bit++) {
    double sx = ((bit % 8) + 0.5) * g->src_w / 8.0;
    double sy = ((bit / 8) * 3.0 / 8.0 + 3.0 / 16.0) * g->src_h;
    const uint8_t *p = at(rgb, g, sx, sy);
    if (p[0] + p[1] + p[2] > 3 * 128) index |= (int64_t)1 << bit;
  }
  return index;
}

void rv_media_strip(const uint8_t *rgb, const rv_frame_geom *g, uint8_t out[3]) {
  memcpy(out, at(rgb, g, g->src_w / 2.0, g->src_h * 7.0 / 8.0), 3);
}

int rv_media_write(const char *path, const char *codec, int w, int h, double fps, int n,
                   const int64_t *pts_ns, int gop) {
  if (!rv_video_writer_have_codec(codec)) return 1;
  rv_video_writer_cfg cfg = {
      .path = path, .width = w, .height = h, .fps = fps, .codec = codec, .gop = gop};
  rv_video_writer *vw = NULL;
  if (rv_video_writer_open(&cfg, &vw) != RV_OK) fail_msg("open %s: %s", path, rv_last_error());
  uint8_t *rgb = malloc((size_t)w * h * 3);
  assert_non_null(rgb);
  for (int i = 0; i < n; i++) {
    rv_media_draw(rgb, w, h, 3 * w, i);
    if (rv_video_writer_write(vw, rgb, 3 * w, pts_ns ? pts_ns[i] : -1) != RV_OK)
      fail_msg("write %s frame %d: %s", path, i, rv_last_error());
  }
  free(rgb);
  if (rv_video_writer_close(vw) != RV_OK) fail_msg("close %s: %s", path, rv_last_error());
  return 0;
}

static int mem_read(void *opaque, uint8_t *buf, int size) {
  rv_media_mem *m = opaque;
  int64_t n = m->size - m->pos < size ? m->size - m->pos : size;
  memcpy(buf, m->data + m->pos, (size_t)n);
  m->pos += n;
  return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence) {
  rv_media_mem *m = opaque;
  if (whence == RV_INGEST_SEEK_SIZE) return m->size;
  int64_t base = whence == SEEK_CUR ? m->pos : whence == SEEK_END ? m->size : 0;
  if (base + off < 0 || base + off > m->size) return -1;
  return m->pos = base + off;
}

rv_ingest_io rv_media_mem_io(rv_media_mem *m, int seekable) {
  rv_ingest_io io = {m, mem_read, seekable ? mem_seek : NULL};
  return io;
}

static char tmpdir[64];

const char *rv_media_tmp(const char *name, char *buf, size_t cap) {
  if (!tmpdir[0]) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rv-ingest-XXXXXX");
    if (!mkdtemp(tmpdir)) fail_msg("mkdtemp failed");
  }
  snprintf(buf, cap, "%s/%s", tmpdir, name);
  return buf;
}

void rv_media_cleanup(void) {
  if (!tmpdir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  tmpdir[0] = '\0';
}

rv_ingest_cfg rv_media_cfg(const char *path, double fps, int w, int h) {
  rv_ingest_cfg cfg;
  rv_ingest_cfg_default(&cfg);
  cfg.path = path;
  cfg.fps = fps;
  cfg.width = w;
  cfg.height = h;
  cfg.threads = 2;
  return cfg;
}

/* FNV-1a */
static uint64_t hash_bytes(const uint8_t *p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void rv_media_ingest(const rv_ingest_cfg *cfg, rv_media_run *run) {
  rv_ingest *ing = NULL;
  memset(run, 0, sizeof *run);
  if (rv_ingest_open(cfg, &ing) != RV_OK) fail_msg("open %s: %s", cfg->path, rv_last_error());
  const rv_ingest_batch *b;
  rv_status st;
  while ((st = rv_ingest_next(ing, &b)) == RV_OK) {
    assert_true(b->n >= 1 && b->n <= cfg->batch);
    size_t frame_bytes = (size_t)cfg->width * cfg->height * 3;
    for (int i = 0; i < b->n - b->n_pad && run->n < 1024; i++, run->n++) {
      run->pts_ns[run->n] = b->pts_ns[i];
      run->index[run->n] = b->frame_index[i];
      const uint8_t *frame = (const uint8_t *)b->frames.data + i * frame_bytes;
      run->content[run->n] = rv_media_read(frame, &b->geom);
      run->pixels[run->n] = hash_bytes(frame, frame_bytes);
    }
  }
  run->end = st;
  run->stats = rv_ingest_get_stats(ing);
  rv_ingest_close(ing);
}
