/* The decoding half of ingest: demux, decode (hwaccel), timeline and sampling, and scaling
 * of the current sampled frame into RGB rectangles. source-av.c with FFmpeg, source-off.c
 * without. ingest.c does batching, letterbox geometry, thumbnails and patchify. */
#ifndef RINGVIT_INGEST_SOURCE_IMPL_H
#define RINGVIT_INGEST_SOURCE_IMPL_H

#include <ringvit/ingest.h>

typedef struct rv_source rv_source;

typedef struct rv_source_frame {
  int64_t pts_ns, index;
  int width, height;
  double sar; /* sample (pixel) aspect ratio, 1 when unknown */
} rv_source_frame;

rv_status rv_source_open(const rv_ingest_cfg *cfg, rv_source **out);
/* Decodes up to the next sampled frame and holds it: RV_OK, RV_EOF, or an error. */
rv_status rv_source_next(rv_source *s, rv_source_frame *f);
/* Scales the held frame into the w x h rectangle of packed RGB24 at dst (`stride` bytes per
 * row). `slot` (0 or 1) keeps one scaler per destination size. */
rv_status rv_source_render(rv_source *s, int slot, uint8_t *dst, int stride, int w, int h);
/* With cfg->keep_source: references the held frame in `slot` (0 .. batch - 1, replacing what
 * the slot held) and describes its planes in *img, valid until the slot is reused or the
 * source closes; img->width 0 when the frame has no rv_image form (see ingest.h). */
rv_status rv_source_keep(rv_source *s, int slot, rv_image *img);
void rv_source_close(rv_source *s); /* NULL-safe */

/* Push mode: the caller's raw frames scaled into RGB24 the way decoded frames are. */
typedef struct rv_image_scaler rv_image_scaler;
rv_status rv_image_scaler_init(rv_image_scaler **out);
rv_status rv_image_render(rv_image_scaler *s, const rv_image *img, uint8_t *dst, int stride, int w,
                          int h);
void rv_image_scaler_free(rv_image_scaler *s); /* NULL-safe */

const rv_ingest_info *rv_source_info(const rv_source *s);
rv_ingest_stats rv_source_stats(const rv_source *s);
/* Seconds from the input's start of the last decoded frame. */
double rv_source_position(const rv_source *s);

#endif
