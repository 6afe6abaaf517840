/* Action segments from per-frame scores: scene-level labels (one score per frame and
 * label) and per-track labels (one score per frame, track and label). Each stream is
 * smoothed in time (exponential, time constant in seconds, so variable frame rates
 * behave), cut by hysteresis (a segment opens when the smoothed score reaches `on` and
 * closes when it falls below `off`; it starts where the score last rose above `off`),
 * merged with the previous segment of the same stream when the gap is short, and kept
 * when long enough. Segments are handed out as soon as they can no longer change (closed
 * and past the merge gap), and all remaining ones at the end of the stream.
 *
 * State is bounded: one record per live track (at most max_tracks; the least recently
 * seen is closed first), dropped when the track ends or goes unseen for track_timeout_s. */
#ifndef RINGVIT_ACTIONS_H
#define RINGVIT_ACTIONS_H

#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_actions_cfg {
  int n_scene;                     /* scene-level labels (A_scene) */
  const char *const *scene_labels; /* n_scene names (copied); NULL = "scene0", "scene1", ... */
  int n_track;                     /* per-track labels (A_track) */
  const char *const *track_labels; /* n_track names (copied); NULL = "action0", ... */
  double smooth_s;                 /* smoothing time constant; 0 = 0.5 s; < 0 = none */
  float on_thresh;                 /* 0 = 0.6 */
  float off_thresh;                /* 0 = 0.4; must be <= on_thresh */
  double min_duration_s;           /* shorter segments are dropped; 0 = 0.5 s; < 0 = keep all */
  double merge_gap_s;              /* gaps up to this are bridged; 0 = 0.5 s; < 0 = never */
  double track_timeout_s;          /* a track unseen this long is ended; 0 = 10 s */
  int max_tracks;                  /* tracks with state at most; 0 = 4096 */
} rv_actions_cfg;

typedef struct rv_action_segment {
  uint64_t track_id;      /* 0 = scene-level */
  int label;              /* index into the scene or track labels */
  const char *label_name; /* valid for the segmenter's lifetime */
  int64_t start_ns, end_ns;
  float score; /* mean score over the segment's frames */
} rv_action_segment;

typedef struct rv_action_track {
  uint64_t id;         /* >= 1 */
  const float *scores; /* n_track probabilities in [0, 1] */
} rv_action_track;

typedef struct rv_actions rv_actions;

rv_status rv_actions_init(const rv_actions_cfg *cfg, rv_actions **out);
void rv_actions_free(rv_actions *a); /* NULL-safe */

/* One frame at pts_ns (strictly increasing): scene scores (n_scene values, or NULL when
 * the frame has none) and the scores of the tracks seen in it. */
rv_status rv_actions_frame(rv_actions *a, int64_t pts_ns, const float *scene_scores,
                           const rv_action_track *tracks, int n_tracks);

/* The track is gone (e.g. rv_tracker_removed): its open segments close where it was last
 * seen, and nothing of it is kept. Unknown ids are ignored. */
rv_status rv_actions_end_track(rv_actions *a, uint64_t track_id);

/* Closes everything at the end of the stream; end_ns < 0 = one frame interval after the
 * last frame. The segmenter accepts no frames afterwards. */
rv_status rv_actions_finish(rv_actions *a, int64_t end_ns);

/* The segments completed since the last call, in the order they completed; valid until
 * the next call into the segmenter. */
void rv_actions_take(rv_actions *a, const rv_action_segment **segs, int *n);

#ifdef __cplusplus
}
#endif
#endif
