/* The encoding half of the video writer (video-writer-av.c with FFmpeg, -off.c without);
 * video-writer.c checks the configuration, writes ".rgb" itself and dispatches. */
#ifndef RINGVIT_VIDEO_WRITER_IMPL_H
#define RINGVIT_VIDEO_WRITER_IMPL_H

#include <ringvit/video-writer.h>

typedef struct rv_avw rv_avw;

rv_status rv_avw_open(const rv_video_writer_cfg *cfg, rv_avw **out);
/* pts_ns < 0: the next nominal frame. */
rv_status rv_avw_write(rv_avw *a, const uint8_t *rgb, int stride, int64_t pts_ns);
rv_status rv_avw_close(rv_avw *a); /* NULL-safe */
int rv_avw_have_codec(const char *codec);

#endif
