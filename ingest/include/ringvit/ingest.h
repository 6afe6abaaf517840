/* Ingest: a video file (or URL, or any byte source) in, sampled frames and patch tokens out.
 *
 *   rv_ingest_cfg cfg;
 *   rv_ingest_cfg_default(&cfg);          224x224 letterbox, ImageNet mean/std, P=16, 2 fps
 *   cfg.path = "in.mp4";
 *   rv_ingest *ing;
 *   if (rv_ingest_open(&cfg, &ing) != RV_OK) ... rv_last_error() ...
 *   const rv_ingest_batch *b;
 *   while ((st = rv_ingest_next(ing, &b)) == RV_OK) ... b->tokens, b->pts_ns ...
 *   st is RV_EOF at the end, < 0 on error; rv_ingest_close(ing);
 *
 * Demux and decode with libavformat/libavcodec (frame threads; NVDEC through FFmpeg's CUDA
 * hwaccel when a device is there), sampling by presentation time, libswscale to the model
 * input, normalization and patchify with the kernels op rv_patchify. Memory is bounded by the
 * batch size whatever the length of the input. Builds without FFmpeg have this API but
 * rv_ingest_open returns RV_ERR_UNSUPPORTED.
 *
 * Timestamps (pts_ns) are the input's own presentation times in nanoseconds, made monotonic:
 * a backward jump (or, in formats that declare discontinuities such as MPEG-TS, a forward jump
 * of more than 10 s) continues the timeline one frame after the last frame; a frame without a
 * timestamp gets the previous one plus one nominal frame.
 *
 * Sampling at fps F takes, for every grid time origin + k/F, the first decoded frame at or
 * after it (0.5 ms tolerance for container rounding), never the same frame twice. The origin
 * is the first frame, or the start time when one is given. What sampling will not take is not
 * decoded where that is lossless: non-reference frames before the next grid time, or after
 * an earlier decoded frame of the same grid cell, are discarded (H.264: their packets are not sent
 * to the decoder; other codecs: skip_frame), and for intra-only codecs unneeded packets are not
 * decoded at all. */
#ifndef RINGVIT_INGEST_H
#define RINGVIT_INGEST_H

#include <stdint.h>

#include <ringvit/backend.h>
#include <ringvit/geometry.h>
#include <ringvit/status.h>
#include <ringvit/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_ingest rv_ingest;

typedef enum rv_resize_mode {
  RV_RESIZE_LETTERBOX = 0, /* keep the display aspect ratio, pad with the mean colour */
  RV_RESIZE_STRETCH = 1,   /* fill the model input */
} rv_resize_mode;

typedef enum rv_hwaccel {
  RV_HWACCEL_AUTO = 0, /* CUDA (NVDEC) when a device and the codec allow it, else software */
  RV_HWACCEL_NONE = 1, /* software decode */
  RV_HWACCEL_CUDA = 2, /* CUDA required: open fails without it */
} rv_hwaccel;

typedef enum rv_skip_mode {
  RV_SKIP_AUTO = 0,      /* skip what sampling will not take, where that is lossless */
  RV_SKIP_NONE = 1,      /* decode every frame */
  RV_SKIP_KEYFRAMES = 2, /* decode keyframes only (sampling picks among them) */
} rv_skip_mode;

/* A byte source instead of a path (memory, a socket, a fuzzer's input). read returns the
 * bytes read, 0 at the end, < 0 on error. seek (NULL = not seekable) follows fseek's
 * whence and returns the new position, or with whence == RV_INGEST_SEEK_SIZE the total
 * size (< 0 when unknown). */
#define RV_INGEST_SEEK_SIZE 0x10000
typedef struct rv_ingest_io {
  void *opaque;
  int (*read)(void *opaque, uint8_t *buf, int size);
  int64_t (*seek)(void *opaque, int64_t offset, int whence);
} rv_ingest_io;

/* A raw frame in the caller's memory (push mode): what a GStreamer element or a camera SDK
 * hands over. Planes are borrowed for the duration of rv_ingest_push only. */
typedef enum rv_pixel_format {
  RV_PIXEL_RGB24 = 0,
  RV_PIXEL_BGR24 = 1,
  RV_PIXEL_RGBA = 2, /* also RGBx: the fourth byte is ignored */
  RV_PIXEL_BGRA = 3, /* also BGRx */
  RV_PIXEL_I420 = 4, /* planar Y, U, V, chroma halved both ways */
  RV_PIXEL_NV12 = 5, /* planar Y, interleaved UV */
} rv_pixel_format;

typedef struct rv_image {
  rv_pixel_format format;
  int width, height;
  const uint8_t *data[3]; /* planes */
  int stride[3];          /* bytes per row of each plane */
  int full_range;         /* YUV: 1 = full (JPEG) range, 0 = limited (TV) range */
  int bt709;              /* YUV: 1 = BT.709 matrix, 0 = BT.601 */
  double sar;             /* sample (pixel) aspect ratio; 0 = 1 */
} rv_image;

typedef struct rv_ingest_cfg {
  const char *path;       /* file or URL; with io set, only the name used in messages */
  const rv_ingest_io *io; /* NULL = open path */
  double fps;             /* sampling rate by presentation time; 0 = every frame */
  int width, height;      /* model input, pixels (multiples of patch) */
  rv_resize_mode resize;
  float mean[3], std[3]; /* normalization of RGB in 0..1 */
  int patch;             /* patch size P; 0 = frames only, no tokens */
  int tubelet;           /* frames per token T: 1 or 2 */
  int batch;             /* most frames per batch (a multiple of tubelet) */
  double start_s, end_s; /* range in seconds from the start of the input; end_s 0 = all */
  int threads;           /* decoder threads; 0 = one per core */
  rv_hwaccel hwaccel;
  rv_skip_mode skip;
  int thumb_width;     /* > 0: also a source-aspect RGB copy this wide per frame */
  rv_backend *backend; /* where tokens are made (borrowed); NULL = an internal cpu one */
  int push;        /* 1: no decoder; frames come from rv_ingest_push (path names them in messages,
                      io, start/end, hwaccel, skip and thumbnails are not used) */
  int keep_source; /* 1: batches also carry the sampled frames as decoded (batch.source), so
                      a caller can pass them on unconverted; not in push mode */
} rv_ingest_cfg;

/* 224x224 letterbox, ImageNet mean/std, patch 16, tubelet 1, batch 8, 2 fps, auto hwaccel
 * and skipping, all threads, no thumbnails, whole input. path is left NULL. */
void rv_ingest_cfg_default(rv_ingest_cfg *cfg);

/* Up to `batch` sampled frames. Owned by the ingest; valid until the next rv_ingest_next
 * or rv_ingest_close. All frames of a batch share one source size: a batch ends early
 * when the source changes resolution. */
typedef struct rv_ingest_batch {
  int n;                      /* frames in this batch, including n_pad */
  int n_pad;                  /* trailing copies of the last frame that complete a tubelet
                                 at the end of the input or before a resolution change */
  const int64_t *pts_ns;      /* [n] presentation time, ns */
  const int64_t *frame_index; /* [n] source frame number: packets of the stream with an
                                 earlier pts (presentation order, from 0); packets lost to
                                 damage shift later numbers down. After a seek: exact with a
                                 per-frame index (MP4, AVI), else from the frame rate */
  rv_tensor frames;           /* u8 [n, height, width, 3] model input, host memory */
  rv_tensor tokens;           /* [(n / T) * tokens_per_frame, 3 * T * P * P] in the backend's
                                 activation dtype and memory; data NULL when patch == 0 */
  int tokens_per_frame;       /* (height / P) * (width / P) */
  rv_frame_geom geom;         /* source pixels -> model input pixels */
  int src_width, src_height;  /* source frame size, pixels */
  rv_tensor thumbs;           /* u8 [n, th, thumb_width, 3] source aspect, host memory; data
                                 NULL when thumb_width == 0 */
  const rv_image *source;     /* [n] with keep_source, else NULL: frame i as decoded (I420 or
                                 NV12, BT.601 or BT.709; host planes owned by the ingest,
                                 valid until the next rv_ingest_next), which push mode scales
                                 to exactly `frames`; width 0 where the decoder's format has
                                 no such form (use frames) */
} rv_ingest_batch;

/* What the input is, known after open. */
typedef struct rv_ingest_info {
  const char *container; /* "matroska,webm", "mov,mp4,m4a,3gp,3g2,mj2", ... */
  const char *codec;     /* "h264", "mpeg4", ... */
  int width, height;     /* coded frame size at open */
  double fps;            /* nominal (average) frame rate, 0 when unknown */
  double start_s;        /* first presentation time, seconds */
  double duration_s;     /* 0 when unknown */
  int64_t frames;        /* frame count the container declares, 0 when it does not */
  int hw_decode;         /* 1 when frames come from NVDEC */
  int threads;           /* decoder threads in use */
} rv_ingest_info;

typedef struct rv_ingest_stats {
  int64_t packets;         /* video packets read */
  int64_t decoded;         /* frames out of the decoder */
  int64_t sampled;         /* frames delivered in batches (without tubelet padding) */
  int64_t dropped;         /* packets not decoded: keyframes-only, intra-only skipping,
                              H.264 non-reference pictures */
  int64_t corrupt_packets; /* packets flagged corrupt or refused by the decoder */
  int64_t corrupt_frames;  /* frames the decoder reported errors in (concealed) */
  int64_t discontinuities; /* timestamp jumps that the timeline absorbed */
  int truncated;           /* the input ended before its declared end, or failed to read */
} rv_ingest_stats;

typedef struct rv_ingest_progress {
  double position_s; /* presentation time of the last decoded frame, from the input's start */
  double duration_s; /* of the input, 0 when unknown */
  double fraction;   /* 0..1 through the configured range, -1 when unknown */
} rv_ingest_progress;

rv_status rv_ingest_open(const rv_ingest_cfg *cfg, rv_ingest **out);
/* RV_OK with *out set, RV_EOF at the end (then again on every call), < 0 on error. */
rv_status rv_ingest_next(rv_ingest *ing, const rv_ingest_batch **out);
/* With keep_source and patch 0, skip = 1: from the next batch on, a frame that was kept
 * (batch.source[i].width > 0) is not also converted into `frames` (its slot there holds
 * stale pixels), for a caller that passes the kept frames on; frames with no kept form are
 * converted as before. RV_ERR_INVALID in any other configuration. */
rv_status rv_ingest_skip_kept(rv_ingest *ing, int skip);
void rv_ingest_close(rv_ingest *ing); /* NULL-safe */

/* ---- push mode (cfg.push = 1) ----
 * The caller hands over raw frames with their presentation times (strictly increasing);
 * sampling, letterbox, scaling (libswscale, as for decoded frames) and patchify are the
 * same as for files. rv_ingest_next returns RV_AGAIN until `batch` sampled frames are
 * there (a batch also ends when the frame size changes), RV_EOF after rv_ingest_push_end
 * once the last partial batch is out. A batch must be taken with rv_ingest_next before
 * the next push: rv_ingest_push returns RV_AGAIN while one waits.
 * *taken (may be NULL) says whether sampling took the frame. */
rv_status rv_ingest_push(rv_ingest *ing, const rv_image *img, int64_t pts_ns, int64_t frame_index,
                         int *taken);
/* No more frames: what is pending becomes the last batch. */
rv_status rv_ingest_push_end(rv_ingest *ing);
/* Drops pending frames and restarts sampling (a flush or seek upstream); pushing may
 * continue, also after rv_ingest_push_end. */
void rv_ingest_push_reset(rv_ingest *ing);

const rv_ingest_info *rv_ingest_get_info(const rv_ingest *ing);
rv_ingest_stats rv_ingest_get_stats(const rv_ingest *ing);
rv_ingest_progress rv_ingest_get_progress(const rv_ingest *ing);

#ifdef __cplusplus
}
#endif
#endif
