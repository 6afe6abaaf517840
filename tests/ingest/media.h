/* Test media for the ingest tests, made at run time with rv_video_writer: frames whose
 * content says which frame they are (a 16-bit barcode, two rows of eight bars) above a
 * strip of one known colour, so a test can read back from the model input which source
 * frame came out, where it landed and whether its colours survived. */
#ifndef RINGVIT_TEST_MEDIA_H
#define RINGVIT_TEST_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/geometry.h>
#include <ringvit/ingest.h>

extern const uint8_t rv_media_strip_rgb[3];

/* Draws frame `index` (0..65535) into packed RGB24. */
void rv_media_draw(uint8_t *rgb, int w, int h, int stride, int64_t index);

/* Reads the index back from a model-input frame (packed, g->dst_w * 3 bytes per row), mapping
 * the bars' centres through g. */
int64_t rv_media_read(const uint8_t *rgb, const rv_frame_geom *g);
/* The colour at the centre of the strip, through g. */
void rv_media_strip(const uint8_t *rgb, const rv_frame_geom *g, uint8_t out[3]);

/* Writes n frames (index i at pts_ns[i], or at i / fps when pts_ns is NULL) to path with
 * codec (NULL = default) and keyframe interval gop (0 = codec default). Fails the test on
 * error. Returns 0, or 1 when this FFmpeg has no encoder for codec (the caller skips). */
int rv_media_write(const char *path, const char *codec, int w, int h, double fps, int n,
                   const int64_t *pts_ns, int gop);

/* Bytes in memory as an ingest byte source (rv_ingest_io); seekable or a pipe. */
typedef struct rv_media_mem {
  const uint8_t *data;
  int64_t size, pos;
} rv_media_mem;
rv_ingest_io rv_media_mem_io(rv_media_mem *m, int seekable);

/* A scratch folder for one test program, removed by rv_media_cleanup. */
const char *rv_media_tmp(const char *name, char *buf, size_t cap);
void rv_media_cleanup(void);

/* An ingest configuration for tests: model input w x h, patch 16, fps, whole file, 2 threads. */
rv_ingest_cfg rv_media_cfg(const char *path, double fps, int w, int h);

/* Everything an ingest run delivered, for comparisons. */
typedef struct rv_media_run {
  int n;
  int64_t pts_ns[1024], index[1024], content[1024];
  uint64_t pixels[1024]; /* a hash of each frame's bytes: equal runs give equal pixels */
  rv_ingest_stats stats;
  rv_status end; /* RV_EOF, or the error that ended it */
} rv_media_run;
/* Pulls every batch of cfg, reading each frame's barcode. */
void rv_media_ingest(const rv_ingest_cfg *cfg, rv_media_run *run);

#endif
