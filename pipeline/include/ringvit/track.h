/* Multi-object tracking: ByteTrack (Zhang et al. 2022) with an optional appearance cue in
 * the style of BoT-SORT (Aharon et al. 2022), and the pieces it is made of, which the
 * evaluator reuses: an optimal rectangular assignment and the constant-velocity Kalman
 * filter on (cx, cy, aspect, height).
 *
 * State is bounded for hours of input: removed tracks are forgotten (or kept in a
 * fixed-size appearance gallery), ids are 64-bit and never handed out twice, and all
 * memory goes through the tracker's own accounting (rv_tracker_stats). */
#ifndef RINGVIT_TRACK_H
#define RINGVIT_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/detect.h>
#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- optimal assignment (Jonker-Volgenant shortest augmenting paths) ---- */

/* Minimum-cost assignment on a rows x cols cost matrix (row-major, finite values).
 * cost_limit = INFINITY: every row (or every column, whichever are fewer) is assigned.
 * Finite cost_limit: only pairs cheaper than the limit are matched, choosing the matching
 * that minimises the sum of (cost - limit) over matched pairs; this is the usual
 * "extended" LAPJV in which leaving a row and a column unmatched costs limit / 2 each.
 * row_to_col [rows] and col_to_row [cols] receive the column / row or -1; either may
 * be NULL. work: rv_lap_work_bytes(rows, cols) bytes, or NULL to allocate internally. */
size_t rv_lap_work_bytes(int rows, int cols);
rv_status rv_lap_solve(const double *cost, int rows, int cols, double cost_limit, int *row_to_col,
                       int *col_to_row, void *work);

/* ---- Kalman filter on (cx, cy, a = w / h, h) with constant velocity, one step per frame ---- */

typedef struct rv_kf_state {
  double mean[8]; /* cx, cy, a, h, vcx, vcy, va, vh */
  double cov[64]; /* row-major 8 x 8 */
} rv_kf_state;

typedef struct rv_kf_params {
  double std_weight_position; /* 1/20 in ByteTrack */
  double std_weight_velocity; /* 1/160 in ByteTrack */
} rv_kf_params;

rv_kf_params rv_kf_default_params(void);
/* meas: cx, cy, a, h */
void rv_kf_initiate(const rv_kf_params *p, const double meas[4], rv_kf_state *s);
void rv_kf_predict(const rv_kf_params *p, rv_kf_state *s);
/* RV_ERR_INVALID when the innovation covariance is not positive definite. */
rv_status rv_kf_update(const rv_kf_params *p, rv_kf_state *s, const double meas[4]);

/* ---- ByteTrack ---- */

typedef struct rv_tracker_cfg {
  float high_thresh;              /* first association uses score >= this; 0 = 0.5 */
  float low_thresh;               /* second association uses low < score < high; 0 = 0.1 */
  float new_track_thresh;         /* an unmatched detection starts a track at >= this; 0 = 0.6 */
  float match_thresh;             /* cost limit, first association; 0 = 0.8 */
  float second_match_thresh;      /* cost limit, second association; 0 = 0.5 */
  float unconfirmed_match_thresh; /* cost limit, unconfirmed tracks; 0 = 0.7 */
  int track_buffer;               /* frames a lost track is kept, at buffer_fps; 0 = 30 */
  double buffer_fps;              /* the rate track_buffer counts at; 0 = 30 */
  double fps;                     /* the rate update() is called at; 0 = buffer_fps */
  int no_fuse_score;              /* 1: plain IoU cost (ByteTrack's MOT20 setting) */
  int class_aware;                /* 1: never associate a detection with a track of another class */
  int max_tracks;                 /* live tracks at most (tracked + lost + new); 0 = 4096 */
  int detection_boxes;            /* 1: report each track with its matched detection's box
                                     (a box measured precisely needs no filter); 0: the
                                     Kalman-filtered box, as ByteTrack */
  /* appearance (used when detections carry embeddings) */
  int use_appearance;      /* 1: fuse cosine distance with IoU (BoT-SORT) and re-identify */
  float proximity_thresh;  /* appearance only counts where IoU distance <= this; 0 = 0.5 */
  float appearance_thresh; /* half cosine distance above which appearance is ignored; 0 = 0.25 */
  float ema_alpha;         /* track embedding smoothing; 0 = 0.9 */
  float reid_thresh;       /* half cosine distance for re-identification by appearance
                              alone (lost tracks anywhere, removed tracks in the gallery);
                              0 = 0.15 */
  int gallery_size;        /* removed tracks remembered for re-identification; 0 = 256 */
  double gallery_s;        /* and for how long, seconds; 0 = 600 */
} rv_tracker_cfg;

typedef enum rv_track_state {
  RV_TRACK_TRACKED = 1,
  RV_TRACK_LOST = 2,
} rv_track_state;

typedef struct rv_track_out {
  uint64_t id;
  float x1, y1, x2, y2; /* Kalman-filtered box after this frame's update, source pixels
                           (cfg.detection_boxes: the matched detection's box) */
  float score;          /* of the matched detection */
  int label;            /* of the matched detection */
  int det_index;        /* index of the matched detection in this frame's input */
  int64_t start_frame;  /* frame (1-based count of update calls) the id was first seen */
  int64_t frames;       /* frames this id has been matched */
} rv_track_out;

typedef struct rv_tracker_stats {
  size_t live_bytes, peak_bytes; /* everything the tracker holds, by its own accounting */
  uint64_t allocations;          /* calls to the allocator since init */
  int live_tracks;               /* tracked + lost + new */
  int gallery;                   /* removed tracks remembered for re-identification */
  uint64_t next_id;              /* the id the next new track gets */
  uint64_t dropped;              /* detections that could not start a track: max_tracks reached */
  int64_t frame;                 /* update calls so far */
} rv_tracker_stats;

typedef struct rv_tracker rv_tracker;

rv_status rv_tracker_init(const rv_tracker_cfg *cfg, rv_tracker **out);
void rv_tracker_free(rv_tracker *t); /* NULL-safe */

/* One frame's detections (source pixels). tracks: the confirmed tracks matched in this
 * frame, valid until the next call. An empty frame is n_dets = 0 (dets may be NULL). */
rv_status rv_tracker_update(rv_tracker *t, const rv_detection *dets, int n_dets,
                            const rv_track_out **tracks, int *n_tracks);

/* Ids of the confirmed tracks removed during the last update (their buffer ran out):
 * consumers holding per-track state (the action segmenter) close it. */
void rv_tracker_removed(const rv_tracker *t, const uint64_t **ids, int *n);

void rv_tracker_get_stats(const rv_tracker *t, rv_tracker_stats *st);

#ifdef __cplusplus
}
#endif
#endif
