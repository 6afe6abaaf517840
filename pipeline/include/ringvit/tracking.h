/* The analysis pipeline's tail on its own: tracker (ByteTrack, <ringvit/track.h>) and action
 * segmenter (<ringvit/actions.h>) over one frame's detections at a time. rv_pipeline runs
 * it on its encoder's detections; callers that detect elsewhere (the GStreamer tracker, over
 * any element's boxes) run it on theirs and get the same ids and segments.
 *
 *   rv_tracking *t;  rv_tracking_init(&cfg, &t);
 *   per frame: rv_tracking_frame(t, pts_ns, dets, n, scene, &tracks, &n_tracks);
 *              rv_tracking_take(t, &segs, &n_segs);      segments closed with this frame
 *   at the end: rv_tracking_finish(t); rv_tracking_take(t, &segs, &n_segs);
 *   rv_tracking_free(t); */
#ifndef RINGVIT_TRACKING_H
#define RINGVIT_TRACKING_H

#include <stdint.h>

#include <ringvit/actions.h>
#include <ringvit/detect.h>
#include <ringvit/status.h>
#include <ringvit/track.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_tracking_cfg {
  double fps;                      /* rate frames come at; 0 = 30 */
  int class_aware;                 /* 1: a track keeps its class */
  int use_appearance;              /* 1: detections carry embeddings to fuse with IoU */
  int n_scene;                     /* scene-action labels (scene scores per frame) */
  const char *const *scene_labels; /* NULL = "scene0", ... */
  int n_track;                     /* per-track action labels (dets' act scores) */
  const char *const *track_labels; /* NULL = "action0", ... */
  rv_track_tuning tuning;
} rv_tracking_cfg;

typedef struct rv_tracking rv_tracking;

rv_status rv_tracking_init(const rv_tracking_cfg *cfg, rv_tracking **out);
void rv_tracking_free(rv_tracking *t); /* NULL-safe */
/* One frame at pts_ns (strictly increasing): its detections (source pixels; act scores
 * are used when n_track > 0) and scene scores (n_scene values, or NULL). tracks: the
 * confirmed tracks matched in this frame (det_index names their detection), valid until
 * the next call. */
rv_status rv_tracking_frame(rv_tracking *t, int64_t pts_ns, const rv_detection *dets, int n_dets,
                            const float *scene, const rv_track_out **tracks, int *n_tracks);
/* No more frames: every open segment closes. */
rv_status rv_tracking_finish(rv_tracking *t);
/* The action segments completed since the last take; valid until the next call. */
void rv_tracking_take(rv_tracking *t, const rv_action_segment **segs, int *n);

#ifdef __cplusplus
}
#endif
#endif
