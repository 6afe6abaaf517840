/* Tracker and action segmenter, one frame at a time (the pipeline's tail). */
#include <math.h>
#include <stdlib.h>

#include <ringvit/tracking.h>

struct rv_tracking {
  rv_tracker *trk;
  rv_actions *act;
  int with_act;
  rv_action_track *act_tracks;
  int cap;
};

rv_status rv_tracking_init(const rv_tracking_cfg *cfg, rv_tracking **out) {
  rv_status st = RV_OK;
  rv_tracking *t = NULL;
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  if (cfg->n_scene < 0 || cfg->n_track < 0 || cfg->fps < 0)
    return RV_FAIL(RV_ERR_INVALID, "label counts and fps must be >= 0");
  t = calloc(1, sizeof *t);
  if (!t) RV_TRY_FAIL(RV_ERR_NOMEM, "tracking");
  rv_tracker_cfg tc = {0};
  tc.fps = cfg->fps;
  tc.class_aware = cfg->class_aware;
  tc.use_appearance = cfg->use_appearance;
  tc.high_thresh = cfg->tuning.high_thresh;
  tc.low_thresh = cfg->tuning.low_thresh;
  tc.new_track_thresh = cfg->tuning.new_track_thresh;
  tc.match_thresh = cfg->tuning.match_thresh;
  tc.second_match_thresh = cfg->tuning.second_match_thresh;
  tc.unconfirmed_match_thresh = cfg->tuning.unconfirmed_match_thresh;
  tc.reid_thresh = cfg->tuning.reid_thresh;
  tc.detection_boxes = cfg->tuning.detection_boxes;
  if (cfg->tuning.lost_s < 0 || cfg->tuning.lost_s > 86400)
    RV_TRY_FAIL(RV_ERR_INVALID, "lost_s must be in [0, 86400] seconds, got %g", cfg->tuning.lost_s);
  if (cfg->tuning.lost_s > 0) { /* ByteTrack counts frames at buffer_fps: count tenths */
    tc.buffer_fps = 10.0;
    tc.track_buffer = (int)fmax(1.0, round(cfg->tuning.lost_s * 10.0));
  }
  RV_TRY(rv_tracker_init(&tc, &t->trk));
  rv_actions_cfg ac = {0};
  ac.n_scene = cfg->n_scene;
  ac.scene_labels = cfg->scene_labels;
  ac.n_track = cfg->n_track;
  ac.track_labels = cfg->track_labels;
  ac.on_thresh = cfg->tuning.action_on;
  ac.off_thresh = cfg->tuning.action_off;
  ac.smooth_s = cfg->tuning.action_smooth_s;
  ac.min_duration_s = cfg->tuning.action_min_s;
  ac.merge_gap_s = cfg->tuning.action_gap_s;
  RV_TRY(rv_actions_init(&ac, &t->act));
  t->with_act = cfg->n_track > 0;
  *out = t;
  return RV_OK;
fail:
  rv_tracking_free(t);
  return st;
}

void rv_tracking_free(rv_tracking *t) {
  if (!t) return;
  rv_tracker_free(t->trk);
  rv_actions_free(t->act);
  free(t->act_tracks);
  free(t);
}

rv_status rv_tracking_frame(rv_tracking *t, int64_t pts_ns, const rv_detection *dets, int n_dets,
                            const float *scene, const rv_track_out **tracks, int *n_tracks) {
  rv_status st = RV_OK;
  const rv_track_out *tr = NULL;
  int nt = 0;
  if (!t || !tracks || !n_tracks) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *tracks = NULL;
  *n_tracks = 0;
  RV_TRY(rv_tracker_update(t->trk, dets, n_dets, &tr, &nt));
  const uint64_t *gone = NULL;
  int n_gone = 0;
  rv_tracker_removed(t->trk, &gone, &n_gone);
  for (int g = 0; g < n_gone; g++)
    RV_TRY(rv_actions_end_track(t->act, gone[g]));
  if (nt > t->cap) {
    rv_action_track *a = realloc(t->act_tracks, (size_t)nt * sizeof *a);
    if (!a) RV_TRY_FAIL(RV_ERR_NOMEM, "%d tracks", nt);
    t->act_tracks = a;
    t->cap = nt;
  }
  int n_act = 0;
  for (int i = 0; i < nt && t->with_act; i++)
    if (dets[tr[i].det_index].act) {
      t->act_tracks[n_act].id = tr[i].id;
      t->act_tracks[n_act++].scores = dets[tr[i].det_index].act;
    }
  RV_TRY(rv_actions_frame(t->act, pts_ns, scene, t->act_tracks, n_act));
  *tracks = tr;
  *n_tracks = nt;
fail:
  return st;
}

rv_status rv_tracking_finish(rv_tracking *t) {
  if (!t) return RV_FAIL(RV_ERR_INVALID, "tracking must not be NULL");
  return rv_actions_finish(t->act, -1);
}

void rv_tracking_take(rv_tracking *t, const rv_action_segment **segs, int *n) {
  rv_actions_take(t ? t->act : NULL, segs, n);
}
