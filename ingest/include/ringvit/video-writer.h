/* Video writer: packed RGB24 frames in, an encoded file out (libavformat + libavcodec +
 * libswscale), so that tests, `ringvit synth` and the benchmarks can make their media at run
 * time instead of committing it.
 *
 * The container comes from the file extension (.mp4 .mkv .avi .webm .mov, anything else
 * libavformat knows). ".rgb" writes raw frames plus a JSON sidecar "<path>.json" (width,
 * height, fps, frame count, pts of every frame) and works in builds without FFmpeg too. */
#ifndef RINGVIT_VIDEO_WRITER_H
#define RINGVIT_VIDEO_WRITER_H

#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_video_writer rv_video_writer;

typedef struct rv_video_writer_cfg {
  const char *path;  /* container from the extension; ".rgb" = raw frames + JSON sidecar */
  int width, height; /* any size the codec permits (odd sizes: mjpeg, ffv1, rawvideo, ...) */
  double fps;        /* nominal rate: the time base, and the step when pts_ns < 0 */
  const char *codec; /* NULL = h264 when an encoder exists, else mpeg4; or "mpeg4", "mjpeg",
                        "ffv1", "vp8", "vp9", "h264", "rawvideo" */
  int64_t bit_rate;  /* bits/s; 0 = a good constant quality for the codec (lossless for
                        ffv1 and rawvideo) */
  int gop;           /* keyframe every gop frames exactly (no scene-cut keyframes);
                        0 = codec default */
} rv_video_writer_cfg;

rv_status rv_video_writer_open(const rv_video_writer_cfg *cfg, rv_video_writer **out);

/* One frame: packed RGB24, `stride` bytes per row (>= 3 * width). pts_ns < 0 places it one
 * nominal frame after the previous one (the first at 0); pts_ns >= 0 gives its presentation
 * time (variable frame rate), which must increase. AVI stores frame slots only: its pts are
 * rounded to multiples of 1/fps. */
rv_status rv_video_writer_write(rv_video_writer *w, const uint8_t *rgb, int stride, int64_t pts_ns);

/* Flushes the encoder, writes the trailer and frees. NULL-safe; returns the first error. */
rv_status rv_video_writer_close(rv_video_writer *w);

/* Frames written so far. */
int64_t rv_video_writer_frames(const rv_video_writer *w);

/* 1 when this build can encode `codec` (the names above; NULL = the default codec). */
int rv_video_writer_have_codec(const char *codec);

#ifdef __cplusplus
}
#endif
#endif
