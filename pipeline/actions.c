/* The action segmenter: per stream (the scene, each track) and label, exponential
 * smoothing, hysteresis, gap merging and a minimum duration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/actions.h>

#include "idmap-impl.h"

typedef struct chan {
  double smooth;
  int has;         /* smooth holds a value */
  int active;      /* a segment is open */
  int pending;     /* a closed segment waits out the merge gap */
  int64_t rise_ns; /* first frame of the current run at or above `off`; -1 none */
  double rise_sum;
  int64_t rise_cnt;
  int64_t start_ns;
  double sum; /* raw scores of the open segment's frames */
  int64_t cnt;
  int64_t p_start, p_end;
  double p_sum;
  int64_t p_cnt;
} chan;

typedef struct stream {
  uint64_t id;
  int64_t last_pts, dt; /* last frame seen, and the interval before it */
  chan *ch;             /* n labels */
} stream;

struct rv_actions {
  rv_actions_cfg cfg;
  char **scene_names, **track_names;
  int64_t tau_ns, min_ns, gap_ns, timeout_ns;
  stream scene;
  stream *tracks; /* [max_tracks], the first n_tracks live */
  chan *track_ch; /* [max_tracks * n_track] */
  int n_tracks;
  rv_idmap map; /* track id -> index into tracks */
  rv_action_segment *out;
  int n_out, cap_out, taken;
  int64_t last_pts, last_dt;
  int started, finished;
};

static void chan_reset(chan *c) {
  memset(c, 0, sizeof *c);
  c->rise_ns = -1;
}

static char **copy_names(const char *const *names, int n, const char *prefix) {
  char **v = calloc((size_t)(n ? n : 1), sizeof *v);
  if (!v) return NULL;
  for (int i = 0; i < n; i++) {
    char buf[32];
    snprintf(buf, sizeof buf, "%s%d", prefix, i);
    v[i] = strdup(names && names[i] ? names[i] : buf);
    if (!v[i]) {
      for (int k = 0; k < i; k++)
        free(v[k]);
      free(v);
      return NULL;
    }
  }
  return v;
}

static void free_names(char **v, int n) {
  if (!v) return;
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static int64_t secs_ns(double s, double dflt) {
  if (s == 0) s = dflt;
  return s < 0 ? -1 : (int64_t)llround(s * 1e9);
}

static rv_status cfg_setup(rv_actions *a, const rv_actions_cfg *cfg) {
  a->cfg = *cfg;
  rv_actions_cfg *c = &a->cfg;
  if (c->n_scene < 0 || c->n_track < 0 || c->n_scene > 4096 || c->n_track > 4096)
    return RV_FAIL(RV_ERR_INVALID, "label counts must be in [0, 4096] (scene %d, track %d)",
                   c->n_scene, c->n_track);
  if (c->on_thresh == 0) c->on_thresh = 0.6f;
  if (c->off_thresh == 0) c->off_thresh = 0.4f;
  if (!(c->off_thresh > 0 && c->off_thresh <= c->on_thresh && c->on_thresh <= 1))
    return RV_FAIL(RV_ERR_INVALID, "need 0 < off <= on <= 1 (off %g, on %g)", (double)c->off_thresh,
                   (double)c->on_thresh);
  if (c->max_tracks == 0) c->max_tracks = 4096;
  if (c->max_tracks < 1 || c->max_tracks > (1 << 20))
    return RV_FAIL(RV_ERR_INVALID, "max_tracks must be in [1, 2^20], got %d", c->max_tracks);
  if (!(c->track_timeout_s >= 0))
    return RV_FAIL(RV_ERR_INVALID, "track_timeout_s must be >= 0, got %g", c->track_timeout_s);
  a->tau_ns = secs_ns(c->smooth_s, 0.5);
  a->min_ns = secs_ns(c->min_duration_s, 0.5);
  a->gap_ns = secs_ns(c->merge_gap_s, 0.5);
  a->timeout_ns = secs_ns(c->track_timeout_s, 10.0);
  return RV_OK;
}

rv_status rv_actions_init(const rv_actions_cfg *cfg, rv_actions **out) {
  rv_status st = RV_OK;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  if (!cfg) return RV_FAIL(RV_ERR_INVALID, "cfg must not be NULL");
  rv_actions *a = calloc(1, sizeof *a);
  if (!a) return RV_FAIL(RV_ERR_NOMEM, "segmenter handle");
  RV_TRY(cfg_setup(a, cfg));
  const rv_actions_cfg *c = &a->cfg;
  a->scene_names = copy_names(c->scene_labels, c->n_scene, "scene");
  a->track_names = copy_names(c->track_labels, c->n_track, "action");
  a->scene.ch = calloc((size_t)(c->n_scene ? c->n_scene : 1), sizeof(chan));
  a->tracks = calloc((size_t)c->max_tracks, sizeof *a->tracks);
  a->track_ch = calloc((size_t)c->max_tracks * (size_t)(c->n_track ? c->n_track : 1), sizeof(chan));
  if (!a->scene_names || !a->track_names || !a->scene.ch || !a->tracks || !a->track_ch)
    RV_TRY_FAIL(RV_ERR_NOMEM, "segmenter tables for %d tracks", c->max_tracks);
  for (int i = 0; i < c->max_tracks; i++)
    a->tracks[i].ch = a->track_ch + (size_t)i * c->n_track;
  for (int l = 0; l < c->n_scene; l++)
    chan_reset(&a->scene.ch[l]);
  a->scene.last_pts = -1;
  *out = a;
  return RV_OK;
fail:
  rv_actions_free(a);
  return st;
}

void rv_actions_free(rv_actions *a) {
  if (!a) return;
  free_names(a->scene_names, a->cfg.n_scene);
  free_names(a->track_names, a->cfg.n_track);
  free(a->scene.ch);
  free(a->tracks);
  free(a->track_ch);
  rv_idmap_release(&a->map);
  free(a->out);
  free(a);
}

void rv_actions_take(rv_actions *a, const rv_action_segment **segs, int *n) {
  if (segs) *segs = a ? a->out : NULL;
  if (n) *n = a ? a->n_out : 0;
  if (a) a->taken = 1;
}

/* Segments handed out by the last take are dropped when the caller comes back. */
static void begin_call(rv_actions *a) {
  if (a->taken) a->n_out = 0;
  a->taken = 0;
}

/* ---- one channel ---- */

static rv_status emit(rv_actions *a, const stream *s, int label, const chan *c) {
  if (c->p_end - c->p_start < a->min_ns || c->p_cnt == 0) return RV_OK;
  if (a->n_out == a->cap_out) {
    int ncap = a->cap_out ? 2 * a->cap_out : 16;
    rv_action_segment *p = realloc(a->out, (size_t)ncap * sizeof *p);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "segment list of %d", ncap);
    a->out = p;
    a->cap_out = ncap;
  }
  char *name = s->id ? a->track_names[label] : a->scene_names[label];
  a->out[a->n_out++] = (rv_action_segment){
      s->id, label, name, c->p_start, c->p_end, (float)(c->p_sum / (double)c->p_cnt)};
  return RV_OK;
}

static void close_seg(chan *c, int64_t end_ns) {
  c->active = 0;
  c->pending = 1;
  c->p_start = c->start_ns;
  c->p_end = end_ns;
  c->p_sum = c->sum;
  c->p_cnt = c->cnt;
}

/* Opens a segment from the current rise, absorbing the pending one when the gap allows;
 * a pending segment that cannot be absorbed is final and goes out first. */
static rv_status open_seg(rv_actions *a, const stream *s, int label, chan *c) {
  rv_status st = RV_OK;
  c->active = 1;
  c->start_ns = c->rise_ns;
  c->sum = c->rise_sum;
  c->cnt = c->rise_cnt;
  if (!c->pending) return RV_OK;
  c->pending = 0;
  if (a->gap_ns >= 0 && c->rise_ns - c->p_end <= a->gap_ns) {
    c->start_ns = c->p_start;
    c->sum += c->p_sum;
    c->cnt += c->p_cnt;
    return RV_OK;
  }
  RV_TRY(emit(a, s, label, c));
fail:
  return st;
}

/* A pending segment is final once the gap has passed without a rise that could still
 * open within it. */
static rv_status settle(rv_actions *a, const stream *s, int label, chan *c, int64_t pts,
                        int force) {
  if (!c->pending || c->active) return RV_OK;
  int can_merge = a->gap_ns >= 0 && (pts - c->p_end <= a->gap_ns ||
                                     (c->rise_ns >= 0 && c->rise_ns - c->p_end <= a->gap_ns));
  if (can_merge && !force) return RV_OK;
  c->pending = 0;
  return emit(a, s, label, c);
}

static rv_status chan_step(rv_actions *a, const stream *s, int label, chan *c, int64_t pts,
                           int64_t dt, float x) {
  rv_status st = RV_OK;
  if (!c->has || a->tau_ns <= 0) /* the first score, or no smoothing */
    c->smooth = x;
  else /* exp(-dt / tau) keeps the time constant whatever the frame rate */
    c->smooth += (1.0 - exp(-(double)dt / (double)a->tau_ns)) * (x - c->smooth);
  c->has = 1;
  if (c->smooth >= a->cfg.off_thresh) {
    if (c->rise_ns < 0) c->rise_ns = pts, c->rise_sum = 0, c->rise_cnt = 0;
    c->rise_sum += x;
    c->rise_cnt++;
  } else {
    c->rise_ns = -1;
  }
  if (c->active && c->rise_ns >= 0) {
    c->sum += x;
    c->cnt++;
  } else if (c->active) {
    close_seg(c, pts);
  } else if (c->smooth >= a->cfg.on_thresh) {
    RV_TRY(open_seg(a, s, label, c));
  }
  RV_TRY(settle(a, s, label, c, pts, 0));
fail:
  return st;
}

/* Closes every channel of a stream at end_ns and hands out what is left. */
static rv_status stream_end(rv_actions *a, stream *s, int n, int64_t end_ns) {
  rv_status st = RV_OK;
  for (int l = 0; l < n; l++) {
    chan *c = &s->ch[l];
    if (c->active) close_seg(c, end_ns);
    RV_TRY(settle(a, s, l, c, end_ns, 1));
    chan_reset(c);
  }
fail:
  return st;
}

static rv_status stream_step(rv_actions *a, stream *s, int n, int64_t pts, const float *x) {
  rv_status st = RV_OK;
  int64_t dt = s->last_pts >= 0 ? pts - s->last_pts : 0;
  for (int l = 0; l < n; l++)
    if (!(x[l] >= 0.0f && x[l] <= 1.0f))
      return RV_FAIL(RV_ERR_INVALID, "score %g of label %d (track %llu) is not in [0, 1]",
                     (double)x[l], l, (unsigned long long)s->id);
  for (int l = 0; l < n; l++)
    RV_TRY(chan_step(a, s, l, &s->ch[l], pts, dt, x[l]));
  s->dt = dt > 0 ? dt : s->dt;
  s->last_pts = pts;
fail:
  return st;
}

/* ---- tracks ---- */

static int64_t track_end_ns(const rv_actions *a, const stream *s) {
  return s->last_pts + (s->dt > 0 ? s->dt : a->last_dt);
}

static rv_status drop_track(rv_actions *a, int i) {
  rv_status st = RV_OK;
  stream *s = &a->tracks[i];
  RV_TRY(stream_end(a, s, a->cfg.n_track, track_end_ns(a, s)));
  rv_idmap_del(&a->map, s->id);
  int last = --a->n_tracks;
  if (i != last) { /* move the last record into the hole, channels included */
    chan *keep = s->ch;
    memcpy(keep, a->tracks[last].ch, (size_t)a->cfg.n_track * sizeof(chan));
    *s = a->tracks[last];
    s->ch = keep;
    a->tracks[last].ch = a->track_ch + (size_t)last * a->cfg.n_track;
    RV_TRY(rv_idmap_put(&a->map, s->id, i));
  }
fail:
  return st;
}

static rv_status track_slot(rv_actions *a, uint64_t id, int *slot) {
  rv_status st = RV_OK;
  int i = rv_idmap_get(&a->map, id);
  if (i >= 0) {
    *slot = i;
    return RV_OK;
  }
  if (a->n_tracks == a->cfg.max_tracks) { /* full: the least recently seen track ends */
    int old = 0;
    for (int k = 1; k < a->n_tracks; k++)
      if (a->tracks[k].last_pts < a->tracks[old].last_pts) old = k;
    RV_TRY(drop_track(a, old));
  }
  i = a->n_tracks++;
  stream *s = &a->tracks[i];
  s->id = id;
  s->last_pts = -1;
  s->dt = 0;
  for (int l = 0; l < a->cfg.n_track; l++)
    chan_reset(&s->ch[l]);
  RV_TRY(rv_idmap_put(&a->map, id, i));
  *slot = i;
fail:
  return st;
}

static rv_status expire_tracks(rv_actions *a, int64_t pts) {
  rv_status st = RV_OK;
  for (int i = 0; i < a->n_tracks;)
    if (a->tracks[i].last_pts >= 0 && pts - a->tracks[i].last_pts > a->timeout_ns)
      RV_TRY(drop_track(a, i)); /* the last record moved into i: look at i again */
    else
      i++;
fail:
  return st;
}

rv_status rv_actions_frame(rv_actions *a, int64_t pts_ns, const float *scene_scores,
                           const rv_action_track *tracks, int n_tracks) {
  rv_status st = RV_OK;
  if (!a) return RV_FAIL(RV_ERR_INVALID, "segmenter must not be NULL");
  begin_call(a);
  if (a->finished) return RV_FAIL(RV_ERR_INVALID, "frame after rv_actions_finish");
  if (a->started && pts_ns <= a->last_pts)
    return RV_FAIL(RV_ERR_INVALID, "pts %lld is not after the previous frame's %lld",
                   (long long)pts_ns, (long long)a->last_pts);
  if (n_tracks < 0 || (n_tracks > 0 && !tracks))
    return RV_FAIL(RV_ERR_INVALID, "bad track list (%d tracks)", n_tracks);
  if (a->started) a->last_dt = pts_ns - a->last_pts;
  a->started = 1;
  a->last_pts = pts_ns;
  if (scene_scores && a->cfg.n_scene > 0)
    RV_TRY(stream_step(a, &a->scene, a->cfg.n_scene, pts_ns, scene_scores));
  for (int k = 0; k < n_tracks && a->cfg.n_track > 0; k++) {
    if (tracks[k].id == 0 || !tracks[k].scores)
      RV_TRY_FAIL(RV_ERR_INVALID, "track %d: id 0 is the scene's, and scores are required", k);
    int i;
    RV_TRY(track_slot(a, tracks[k].id, &i));
    RV_TRY(stream_step(a, &a->tracks[i], a->cfg.n_track, pts_ns, tracks[k].scores));
  }
  RV_TRY(expire_tracks(a, pts_ns));
fail:
  return st;
}

rv_status rv_actions_end_track(rv_actions *a, uint64_t track_id) {
  if (!a) return RV_FAIL(RV_ERR_INVALID, "segmenter must not be NULL");
  begin_call(a);
  int i = rv_idmap_get(&a->map, track_id);
  return i < 0 ? RV_OK : drop_track(a, i);
}

rv_status rv_actions_finish(rv_actions *a, int64_t end_ns) {
  rv_status st = RV_OK;
  if (!a) return RV_FAIL(RV_ERR_INVALID, "segmenter must not be NULL");
  begin_call(a);
  if (a->finished) return RV_OK;
  a->finished = 1;
  if (!a->started) return RV_OK;
  if (end_ns < 0) end_ns = a->last_pts + a->last_dt;
  if (end_ns < a->last_pts)
    return RV_FAIL(RV_ERR_INVALID, "end %lld is before the last frame %lld", (long long)end_ns,
                   (long long)a->last_pts);
  if (a->scene.last_pts >= 0) RV_TRY(stream_end(a, &a->scene, a->cfg.n_scene, end_ns));
  while (a->n_tracks > 0) { /* open track segments end with the stream */
    stream *s = &a->tracks[a->n_tracks - 1];
    RV_TRY(
        stream_end(a, s, a->cfg.n_track, s->last_pts == a->last_pts ? end_ns : track_end_ns(a, s)));
    rv_idmap_del(&a->map, s->id);
    a->n_tracks--;
  }
fail:
  return st;
}
