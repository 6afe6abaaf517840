/* The whole analysis as a pull API: a video in, one result per sampled frame out
 * (timestamp, tracked objects with ids, boxes, labels and scores, the action segments that
 * closed), in the spirit of `model.track(source, stream=True)`.
 *
 *   rv_pipeline_cfg cfg;
 *   rv_pipeline_cfg_default(&cfg);
 *   cfg.input = "in.mp4";
 *   rv_pipeline *p;
 *   if (rv_pipeline_open(&cfg, &p) != RV_OK) ... rv_last_error() ...
 *   const rv_frame_result *r;
 *   while ((st = rv_pipeline_next(p, &r)) == RV_OK) ... r->objects, r->actions ...
 *   st is RV_EOF after the last frame (its result carries the segments still open), < 0 on
 *   error; rv_pipeline_close(p);
 *
 * ingest -> encoder (spatial per frame, temporal over the sequence) -> heads -> tracker ->
 * action segmenter. Decoding runs on its own thread, ahead of inference by a bounded queue
 * of batches, so a slow encoder holds the decoder back instead of buffering the input.
 *
 * Modes (one model file serves both):
 *   offline  the model's temporal attention (bidirectional or frame-causal) over the whole
 *            recording, or over a band of +-window_s seconds (the past window_s for a
 *            frame-causal model); results come once the context of a frame is encoded.
 *   stream   frame-causal attention over the last context_s seconds (a KV cache); each
 *            result comes as soon as its frame is encoded.
 *
 * Push mode (cfg.push = 1, no input): the caller hands over raw frames (a GStreamer element,
 * a camera SDK) with rv_pipeline_push and takes the results with rv_pipeline_next, which
 * says RV_AGAIN when it needs more frames:
 *   while (have a frame) {
 *     rv_pipeline_push(p, &img, pts_ns, index);
 *     while ((st = rv_pipeline_next(p, &r)) == RV_OK) ... ;   st RV_AGAIN: push the next
 *   }
 *   rv_pipeline_push_end(p); while ((st = rv_pipeline_next(p, &r)) == RV_OK) ... ; RV_EOF
 * Frames are sampled, scaled and patchified as ingest does for files. In stream mode each
 * sampled frame's result comes right after its push; offline results come after the end.
 * cfg.detect_only = 1 leaves tracking and action segments to the caller: objects are the
 * frame's detections (track_id 0) with their embeddings, per-detection action scores and the
 * scene scores. */
#ifndef RINGVIT_PIPELINE_H
#define RINGVIT_PIPELINE_H

#include <stdint.h>

#include <ringvit/actions.h>
#include <ringvit/backend.h>
#include <ringvit/ingest.h>
#include <ringvit/status.h>
#include <ringvit/tracking.h>
#include <ringvit/vit.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_pipeline_mode {
  RV_MODE_OFFLINE = 0,
  RV_MODE_STREAM = 1,
} rv_pipeline_mode;

typedef enum rv_device {
  RV_DEVICE_AUTO = 0, /* cuda when a usable GPU is there and the model runs on it, else cpu */
  RV_DEVICE_CPU = 1,
  RV_DEVICE_CUDA = 2,
} rv_device;

typedef struct rv_comm rv_comm;
typedef struct rv_pipeline_progress rv_pipeline_progress;

typedef struct rv_pipeline_cfg {
  const char *input; /* file or URL */
  const char *model; /* safetensors path; NULL = the shipped demo model */
  rv_device device;
  int threads;           /* cpu backend and decoder threads; 0 = one per core */
  double fps;            /* sampling rate; 0 = the model's */
  double start_s, end_s; /* range of the input; end_s 0 = to the end */
  rv_pipeline_mode mode;
  double window_s;      /* offline: +-seconds of temporal context (a frame-causal model: the
                         * past seconds); 0 = the whole recording */
  double context_s;     /* stream: seconds of history; 0 = 60 */
  float threshold;      /* detection score threshold; 0 = the model's tracking.detect_thresh,
                           else 0.3 */
  int thumb_width;      /* > 0: results carry an RGB thumbnail this wide (for reports) */
  double max_memory_mb; /* offline: refuse inputs whose context would need more; 0 = 4096 */
  rv_comm *comm;        /* borrowed; NULL = one rank. Every rank opens the same input */
  /* called on the caller's thread after each batch of frames is encoded (offline mode
   * encodes the whole context inside the first rv_pipeline_next) */
  void (*on_progress)(void *user, const rv_pipeline_progress *progress);
  void *progress_user;
  int push;        /* 1: frames come from rv_pipeline_push; input unused (NULL) */
  int detect_only; /* 1: no tracker and no action segmenter (objects are detections) */
} rv_pipeline_cfg;

void rv_pipeline_cfg_default(rv_pipeline_cfg *cfg);

typedef struct rv_object {
  uint64_t track_id; /* >= 1 */
  int label_id;      /* index into the model's class labels */
  const char *label; /* class name */
  float x, y, w, h;  /* source pixels */
  float score;       /* detection confidence */
  const float *act;  /* n_act per-track action probabilities (this frame), or NULL */
  int n_act;
  const float *emb; /* emb_dim appearance embedding floats (unit length), or NULL */
  int emb_dim;
} rv_object;

typedef struct rv_frame_result {
  int64_t pts_ns;      /* presentation time, ns */
  int64_t frame_index; /* source frame number */
  int width, height;   /* source frame size */
  const rv_object *objects;
  int n_objects;
  const float *scene; /* n_scene scene-action probabilities, or NULL */
  int n_scene;
  const rv_action_segment *actions; /* segments completed with this frame */
  int n_actions;
  const uint8_t *thumb; /* packed RGB24 thumb_w x thumb_h, or NULL */
  int thumb_w, thumb_h;
} rv_frame_result;

typedef struct rv_pipeline rv_pipeline;

rv_status rv_pipeline_open(const rv_pipeline_cfg *cfg, rv_pipeline **out);
/* RV_OK with the next frame's result; RV_EOF once: *out then has no frame (pts_ns < 0,
 * no objects) and carries the action segments closed at the end of the stream. Results
 * are valid until the next call. Collective under a comm: every rank calls it, rank 0
 * gets the results (other ranks get RV_OK with empty results until RV_EOF). */
rv_status rv_pipeline_next(rv_pipeline *p, const rv_frame_result **out);
void rv_pipeline_close(rv_pipeline *p); /* NULL-safe */

/* Push mode: one raw frame (planes borrowed for the call) at pts_ns (strictly increasing)
 * with its source frame number. The results of earlier frames must have been taken
 * (rv_pipeline_next until RV_AGAIN) before: RV_ERR_INVALID otherwise. */
rv_status rv_pipeline_push(rv_pipeline *p, const rv_image *img, int64_t pts_ns,
                           int64_t frame_index);
/* Push mode: no more frames; rv_pipeline_next then gives the rest and RV_EOF. */
rv_status rv_pipeline_push_end(rv_pipeline *p);

/* What callers that track and segment themselves (detect_only) need to do it as the
 * pipeline would. */
typedef struct rv_pipeline_info {
  double rate;     /* encoder frames per second: the sampling rate over the tubelet */
  int emb_dim;     /* appearance embedding floats per object, 0 = none */
  int class_aware; /* 1: tracks keep their class */
  rv_track_tuning tuning; /* the model's calibration for the tracker (its "tracking" keys) */
} rv_pipeline_info;
rv_pipeline_info rv_pipeline_get_info(const rv_pipeline *p);

/* Label names of the model: classes, per-track actions, scene actions. */
int rv_pipeline_label_count(const rv_pipeline *p, rv_label_kind kind);
const char *rv_pipeline_label(const rv_pipeline *p, rv_label_kind kind, int i);

struct rv_pipeline_progress {
  double position_s; /* of the input decoded so far */
  double duration_s; /* 0 when unknown */
  double fraction;   /* 0..1, -1 when unknown */
  int64_t frames;    /* sampled frames encoded */
  /* wall seconds spent so far in each stage (decode runs on its own thread) */
  double decode_s, encode_s, track_s;
  /* bytes the encoder keeps for the tokens of its frames, on the rank that keeps the most
   * (after an offline run under a comm, every rank's counted; else this process's): about
   * 1/R of one process's with R ranks */
  int64_t token_bytes;
};
rv_pipeline_progress rv_pipeline_get_progress(const rv_pipeline *p);

/* The demo model's path: $RINGVIT_MODEL, else the installed copy, else the source tree's. */
const char *rv_pipeline_default_model(void);

#ifdef __cplusplus
}
#endif
#endif
