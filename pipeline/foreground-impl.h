/* Foreground of a fixed camera, and boxes snapped to it. The dense detector places a
 * person's box to within a patch or so (docs/ACCURACY.md, "Where the errors are"); the
 * pixels that differ from the scene's background show where the person's outline really
 * is. The background follows each pixel by one level per sampled frame (the sigma-delta
 * estimate of Manzanera and Richefeu 2007), so it costs one byte per pixel and channel and
 * forgets what stands still for long. */
#ifndef RINGVIT_FOREGROUND_IMPL_H
#define RINGVIT_FOREGROUND_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/status.h>

typedef struct rv_foreground rv_foreground;

/* A background of width x height RGB pixels; a pixel is foreground where a channel
 * differs from it by more than diff (a fraction of full scale, in (0, 1)). */
rv_status rv_foreground_init(int width, int height, float diff, rv_foreground **out);
void rv_foreground_free(rv_foreground *fg); /* NULL-safe */

/* Bytes of one mask: a bit per pixel, row-major, bit x % 8 of byte (y * width + x) / 8. */
size_t rv_foreground_mask_bytes(int width, int height);

/* Learns the next frame (u8 RGB, width x height x 3) and writes its foreground to mask.
 * The first frame only sets the background. A frame where much of the picture changed at
 * once (the camera moved, the light jumped) gets an empty mask: nothing snaps to it. */
void rv_foreground_push(rv_foreground *fg, const uint8_t *rgb, uint8_t *mask);

/* box = {x1, y1, x2, y2} in mask pixels, moved in place onto the foreground blob under it:
 * its rows are the run of rows around the box's centre that are foreground across the box,
 * its columns the run of columns around the centre within those rows. Returns 1 when it
 * moved the box, 0 when no blob there fits it (the box is left as it was). */
int rv_foreground_snap(const uint8_t *mask, int width, int height, float box[4]);

#endif
