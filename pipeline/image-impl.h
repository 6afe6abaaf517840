/* Small images for reports: downscaled thumbnails as JPEG (libavcodec's MJPEG encoder)
 * or, in builds without FFmpeg, as 24-bit BMP, which every browser shows too. */
#ifndef RINGVIT_IMAGE_IMPL_H
#define RINGVIT_IMAGE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ringvit/status.h>

typedef struct rv_image_blob {
  uint8_t *data;
  size_t size;
  const char *mime; /* "image/jpeg" or "image/bmp" */
} rv_image_blob;

/* Packed RGB24 (w x h, `stride` bytes per row) -> a tw x th encoded thumbnail. */
rv_status rv_image_encode_thumbnail(const uint8_t *rgb, int w, int h, int stride, int tw, int th,
                                    rv_image_blob *out);
void rv_image_blob_free(rv_image_blob *b);

/* Area-average downscale of packed RGB24 (plain C; used when FFmpeg is absent). */
void rv_image_downscale_rgb(const uint8_t *src, int w, int h, int stride, uint8_t *dst, int tw,
                            int th);

void rv_base64_write(FILE *f, const uint8_t *data, size_t size);

#endif
