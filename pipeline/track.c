/* ByteTrack: Kalman prediction, association of high-score detections with tracked and
 * lost tracks, then of low-score detections with the tracks still unmatched, then of the
 * remaining high-score detections with unconfirmed tracks; new tracks from what is left;
 * lost tracks removed when their buffer runs out. With embeddings, BoT-SORT's fusion of
 * cosine distance into the first and unconfirmed associations, plus re-identification
 * by appearance alone against lost tracks and a bounded gallery of removed ones, so an
 * object that leaves and comes back keeps its id. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/track.h>

#define ACCT_HDR 16 /* keeps the payload aligned for doubles */

typedef struct trk {
  uint64_t id;
  int state;     /* RV_TRACK_TRACKED, RV_TRACK_LOST, or 0: leaving the pool this frame */
  int activated; /* confirmed: matched on a second frame (or created on the first) */
  int has_emb;
  int det; /* this frame's detection, -1 when unmatched */
  float score;
  int label;
  int64_t start_frame, last_frame, frames;
  rv_kf_state kf;
} trk;

typedef struct gallery_entry {
  uint64_t id;
  int label;
  int64_t start_frame, frames, removed_frame;
} gallery_entry;

typedef struct buf {
  void *p;
  size_t bytes;
} buf;

struct rv_tracker {
  rv_tracker_cfg cfg;
  rv_kf_params kp;
  int64_t max_lost, gallery_frames;
  int emb_dim; /* fixed by the first detection with an embedding */
  trk *tracks;
  float *emb; /* [cap * emb_dim], smoothed track embeddings */
  int n, cap;
  gallery_entry *gallery;
  float *gemb; /* [gallery_size * emb_dim] */
  int g_n, g_next;
  /* per-frame scratch, grown to the largest frame seen */
  buf hi, lo, pool, unconf, rest, t2d, d2t, cost, lapw, out, removed, targets;
  int n_out, n_removed;
  int64_t frame;
  uint64_t next_id, dropped, allocs;
  size_t live, peak;
  int warned_full;
};

/* ---- accounting allocator: every byte the tracker holds goes through here ---- */

static void *acct_realloc(rv_tracker *t, void *p, size_t bytes) {
  size_t old = 0;
  char *base = p ? (char *)p - ACCT_HDR : NULL;
  if (base) memcpy(&old, base, sizeof old);
  char *nb = realloc(base, bytes + ACCT_HDR);
  if (!nb) return NULL;
  memcpy(nb, &bytes, sizeof bytes);
  t->live = t->live - old + bytes;
  if (t->live > t->peak) t->peak = t->live;
  t->allocs++;
  return nb + ACCT_HDR;
}

static void acct_free(rv_tracker *t, void *p) {
  if (!p) return;
  char *base = (char *)p - ACCT_HDR;
  size_t old;
  memcpy(&old, base, sizeof old);
  t->live -= old;
  free(base);
}

/* Grows b to at least `bytes` (1.5x headroom so steady growth reallocates rarely). */
static rv_status reserve(rv_tracker *t, buf *b, size_t bytes) {
  if (bytes <= b->bytes) return RV_OK;
  size_t want = bytes + bytes / 2 + 64;
  void *p = acct_realloc(t, b->p, want);
  if (!p) return RV_FAIL(RV_ERR_NOMEM, "tracker scratch of %zu bytes", want);
  b->p = p;
  b->bytes = want;
  return RV_OK;
}

/* ---- configuration ---- */

static void cfg_defaults(rv_tracker_cfg *c) {
  if (c->high_thresh == 0) c->high_thresh = 0.5f;
  if (c->low_thresh == 0) c->low_thresh = 0.1f;
  if (c->new_track_thresh == 0) c->new_track_thresh = 0.6f;
  if (c->match_thresh == 0) c->match_thresh = 0.8f;
  if (c->second_match_thresh == 0) c->second_match_thresh = 0.5f;
  if (c->unconfirmed_match_thresh == 0) c->unconfirmed_match_thresh = 0.7f;
  if (c->track_buffer == 0) c->track_buffer = 30;
  if (c->buffer_fps == 0) c->buffer_fps = 30.0;
  if (c->fps == 0) c->fps = c->buffer_fps;
  if (c->max_tracks == 0) c->max_tracks = 4096;
  if (c->proximity_thresh == 0) c->proximity_thresh = 0.5f;
  if (c->appearance_thresh == 0) c->appearance_thresh = 0.25f;
  if (c->ema_alpha == 0) c->ema_alpha = 0.9f;
  if (c->reid_thresh == 0) c->reid_thresh = 0.15f;
  if (c->gallery_size == 0) c->gallery_size = 256;
  if (c->gallery_s == 0) c->gallery_s = 600.0;
}

static int in01(float x) { return x >= 0.0f && x <= 1.0f; }

static rv_status cfg_check(const rv_tracker_cfg *c) {
  if (!in01(c->high_thresh) || !in01(c->low_thresh) || !in01(c->new_track_thresh) ||
      c->low_thresh > c->high_thresh)
    return RV_FAIL(RV_ERR_INVALID,
                   "thresholds must be in [0, 1] with low <= high (low %g, high %g, new %g)",
                   (double)c->low_thresh, (double)c->high_thresh, (double)c->new_track_thresh);
  if (!in01(c->match_thresh) || !in01(c->second_match_thresh) ||
      !in01(c->unconfirmed_match_thresh) || !in01(c->proximity_thresh) ||
      !in01(c->appearance_thresh) || !in01(c->reid_thresh) || !in01(c->ema_alpha))
    return RV_FAIL(RV_ERR_INVALID, "match, appearance and smoothing parameters must be in [0, 1]");
  if (c->track_buffer < 0 || !(c->buffer_fps > 0) || !(c->fps > 0) || !(c->gallery_s > 0))
    return RV_FAIL(RV_ERR_INVALID,
                   "track_buffer >= 0, buffer_fps, fps and gallery_s > 0 (got %d, %g, %g, %g)",
                   c->track_buffer, c->buffer_fps, c->fps, c->gallery_s);
  if (c->detection_boxes != 0 && c->detection_boxes != 1)
    return RV_FAIL(RV_ERR_INVALID, "detection_boxes must be 0 or 1 (got %d)", c->detection_boxes);
  if (c->max_tracks < 1 || c->max_tracks > (1 << 24) || c->gallery_size < 1 ||
      c->gallery_size > (1 << 20))
    return RV_FAIL(RV_ERR_INVALID,
                   "max_tracks in [1, 2^24], gallery_size in [1, 2^20] (got %d, %d)", c->max_tracks,
                   c->gallery_size);
  return RV_OK;
}

rv_status rv_tracker_init(const rv_tracker_cfg *cfg, rv_tracker **out) {
  rv_status st = RV_OK;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  rv_tracker_cfg c = cfg ? *cfg : (rv_tracker_cfg){0};
  cfg_defaults(&c);
  RV_TRY(cfg_check(&c));
  rv_tracker *t = calloc(1, sizeof *t);
  if (!t) return RV_FAIL(RV_ERR_NOMEM, "tracker handle");
  t->cfg = c;
  t->kp = rv_kf_default_params();
  /* ByteTrack: int(frame_rate / 30 * track_buffer) */
  t->max_lost = (int64_t)(c.fps / c.buffer_fps * c.track_buffer);
  t->gallery_frames = (int64_t)(c.gallery_s * c.fps);
  t->next_id = 1;
  t->live = t->peak = sizeof *t;
  *out = t;
fail:
  return st;
}

void rv_tracker_free(rv_tracker *t) {
  if (!t) return;
  buf *bufs[] = {&t->hi,  &t->lo,   &t->pool, &t->unconf, &t->rest,    &t->t2d,
                 &t->d2t, &t->cost, &t->lapw, &t->out,    &t->removed, &t->targets};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    acct_free(t, bufs[i]->p);
  acct_free(t, t->tracks);
  acct_free(t, t->emb);
  acct_free(t, t->gallery);
  acct_free(t, t->gemb);
  free(t);
}

void rv_tracker_get_stats(const rv_tracker *t, rv_tracker_stats *st) {
  if (!st) return;
  memset(st, 0, sizeof *st);
  if (!t) return;
  st->live_bytes = t->live;
  st->peak_bytes = t->peak;
  st->allocations = t->allocs;
  st->live_tracks = t->n;
  st->gallery = t->g_n;
  st->next_id = t->next_id;
  st->dropped = t->dropped;
  st->frame = t->frame;
}

void rv_tracker_removed(const rv_tracker *t, const uint64_t **ids, int *n) {
  if (ids) *ids = t ? (const uint64_t *)t->removed.p : NULL;
  if (n) *n = t ? t->n_removed : 0;
}

/* ---- geometry and appearance ---- */

static void det_meas(const rv_detection *d, double m[4]) {
  double w = (double)d->x2 - d->x1, h = (double)d->y2 - d->y1;
  m[0] = d->x1 + 0.5 * w;
  m[1] = d->y1 + 0.5 * h;
  m[2] = w / h;
  m[3] = h;
}

static void trk_box(const trk *k, float b[4]) {
  double h = k->kf.mean[3], w = k->kf.mean[2] * h;
  b[0] = (float)(k->kf.mean[0] - 0.5 * w);
  b[1] = (float)(k->kf.mean[1] - 0.5 * h);
  b[2] = (float)(k->kf.mean[0] + 0.5 * w);
  b[3] = (float)(k->kf.mean[1] + 0.5 * h);
}

static float *trk_emb(const rv_tracker *t, int i) { return t->emb + (size_t)i * t->emb_dim; }

/* Half cosine distance of unit vectors: 0 same direction, 1 opposite (BoT-SORT's scale). */
static double half_cos(const float *a, const float *b, int n) {
  double dot = 0;
  for (int i = 0; i < n; i++)
    dot += (double)a[i] * b[i];
  double d = 1.0 - dot;
  return d > 0 ? 0.5 * d : 0.0;
}

static void emb_smooth(const rv_tracker *t, float *dst, const float *src, int first) {
  const int E = t->emb_dim;
  double a = first ? 0.0 : t->cfg.ema_alpha, ss = 0;
  for (int i = 0; i < E; i++) {
    /* a new track's slot holds whatever was there: never read it (0 * NaN is NaN) */
    dst[i] = first ? src[i] : (float)(a * dst[i] + (1.0 - a) * src[i]);
    ss += (double)dst[i] * dst[i];
  }
  if (ss > 0) {
    float inv = (float)(1.0 / sqrt(ss));
    for (int i = 0; i < E; i++)
      dst[i] *= inv;
  }
}

/* ---- pool management ---- */

static rv_status set_emb_dim(rv_tracker *t, int dim) {
  t->emb_dim = dim;
  float *e = acct_realloc(t, t->emb, (size_t)(t->cap ? t->cap : 1) * dim * sizeof(float));
  float *g = acct_realloc(t, t->gemb, (size_t)t->cfg.gallery_size * dim * sizeof(float));
  if (e) t->emb = e;
  if (g) t->gemb = g;
  if (!e || !g) return RV_FAIL(RV_ERR_NOMEM, "embedding storage for %d-d embeddings", dim);
  return RV_OK;
}

static rv_status grow_pool(rv_tracker *t) {
  int ncap = t->cap ? t->cap * 2 : 16;
  if (ncap > t->cfg.max_tracks) ncap = t->cfg.max_tracks;
  trk *k = acct_realloc(t, t->tracks, (size_t)ncap * sizeof *k);
  if (!k) return RV_FAIL(RV_ERR_NOMEM, "track pool of %d", ncap);
  t->tracks = k;
  if (t->emb_dim > 0) {
    float *e = acct_realloc(t, t->emb, (size_t)ncap * t->emb_dim * sizeof(float));
    if (!e) return RV_FAIL(RV_ERR_NOMEM, "track embeddings for %d", ncap);
    t->emb = e;
  }
  t->cap = ncap;
  return RV_OK;
}

static void note_removed(rv_tracker *t, const trk *k) {
  if (!k->activated) return; /* never reported, nothing downstream holds state for it */
  ((uint64_t *)t->removed.p)[t->n_removed++] = k->id;
}

/* Remembers a removed track's appearance for re-identification (ring of gallery_size). */
static void gallery_add(rv_tracker *t, int i) {
  const trk *k = &t->tracks[i];
  if (!t->cfg.use_appearance || !k->activated || !k->has_emb || t->emb_dim == 0) return;
  int g = t->g_next;
  t->gallery[g] = (gallery_entry){k->id, k->label, k->start_frame, k->frames, t->frame};
  memcpy(t->gemb + (size_t)g * t->emb_dim, trk_emb(t, i), (size_t)t->emb_dim * sizeof(float));
  t->g_next = (g + 1) % t->cfg.gallery_size;
  if (t->g_n < t->cfg.gallery_size) t->g_n++;
}

static void remove_track(rv_tracker *t, int i, int to_gallery) {
  if (!t->tracks[i].state) return;
  if (to_gallery) gallery_add(t, i);
  note_removed(t, &t->tracks[i]);
  t->tracks[i].state = 0;
}

/* Drops the tracks marked for removal, keeping the order of the rest. */
static void compact(rv_tracker *t) {
  int w = 0;
  for (int i = 0; i < t->n; i++) {
    if (!t->tracks[i].state) continue;
    if (w != i) {
      t->tracks[w] = t->tracks[i];
      if (t->emb_dim) memcpy(trk_emb(t, w), trk_emb(t, i), (size_t)t->emb_dim * sizeof(float));
    }
    w++;
  }
  t->n = w;
}

/* A free slot for a new track: grows the pool up to max_tracks, then (may_evict) takes
 * over the slot of the lost track unseen the longest. -1 when there is none. Slots of
 * other tracks never move here, so callers may hold track indices across the call. */
static rv_status new_slot(rv_tracker *t, int may_evict, int *slot) {
  rv_status st = RV_OK;
  *slot = -1;
  if (t->n == t->cap && t->cap < t->cfg.max_tracks) RV_TRY(grow_pool(t));
  if (t->n < t->cap) {
    *slot = t->n++;
    return RV_OK;
  }
  int oldest = -1;
  for (int i = 0; i < t->n; i++)
    if (t->tracks[i].state == RV_TRACK_LOST &&
        (oldest < 0 || t->tracks[i].last_frame < t->tracks[oldest].last_frame))
      oldest = i;
  if (oldest < 0 || !may_evict) return RV_OK;
  remove_track(t, oldest, 1);
  *slot = oldest;
fail:
  return st;
}

/* ---- track life cycle ---- */

static void take_det(rv_tracker *t, int i, const rv_detection *dets, int d, int first) {
  trk *k = &t->tracks[i];
  k->det = d;
  k->score = dets[d].score;
  k->label = dets[d].label;
  k->last_frame = t->frame;
  k->frames++;
  if (t->cfg.use_appearance && dets[d].emb && t->emb_dim) {
    emb_smooth(t, trk_emb(t, i), dets[d].emb, first || !k->has_emb);
    k->has_emb = 1;
  }
}

/* Matched: Kalman update (a lost track comes back: ByteTrack's re_activate). */
static void match_track(rv_tracker *t, int i, const rv_detection *dets, int d) {
  trk *k = &t->tracks[i];
  double m[4];
  det_meas(&dets[d], m);
  if (rv_kf_update(&t->kp, &k->kf, m) < 0) rv_kf_initiate(&t->kp, m, &k->kf);
  k->state = RV_TRACK_TRACKED;
  k->activated = 1;
  take_det(t, i, dets, d, 0);
}

static void start_track(rv_tracker *t, int i, uint64_t id, const rv_detection *dets, int d) {
  trk *k = &t->tracks[i];
  memset(k, 0, sizeof *k);
  double m[4];
  det_meas(&dets[d], m);
  rv_kf_initiate(&t->kp, m, &k->kf);
  k->id = id;
  k->state = RV_TRACK_TRACKED;
  k->activated = t->frame == 1; /* ByteTrack confirms first-frame tracks at once */
  k->start_frame = t->frame;
  take_det(t, i, dets, d, 1);
}

/* ---- association ---- */

typedef struct assoc {
  const int *trks; /* track indices (or, for re-identification, target codes) */
  int nt;
  const int *dets; /* detection indices */
  int nd;
  double limit;
  int fuse, appearance;
} assoc;

static double pair_cost(const rv_tracker *t, int ti, const rv_detection *d, int fuse, int app) {
  const trk *k = &t->tracks[ti];
  if (t->cfg.class_aware && k->label != d->label) return 1e6;
  float tb[4], db[4] = {d->x1, d->y1, d->x2, d->y2};
  trk_box(k, tb);
  double iou_d = 1.0 - rv_box_iou(tb, db), c = iou_d;
  if (fuse) c = 1.0 - (1.0 - iou_d) * d->score;
  if (app && k->has_emb && d->emb) {
    double e = half_cos(trk_emb(t, ti), d->emb, t->emb_dim);
    if (e > t->cfg.appearance_thresh || iou_d > t->cfg.proximity_thresh) e = 1.0;
    if (e < c) c = e;
  }
  return c;
}

/* Solves one association; t2d[i] / d2t[j] get positions in a->dets / a->trks or -1. */
static rv_status solve(rv_tracker *t, const assoc *a, const rv_detection *dets, int *t2d,
                       int *d2t) {
  rv_status st = RV_OK;
  RV_TRY(reserve(t, &t->cost, (size_t)a->nt * a->nd * sizeof(double) + 8));
  RV_TRY(reserve(t, &t->lapw, rv_lap_work_bytes(a->nt, a->nd)));
  double *cost = t->cost.p;
  for (int i = 0; i < a->nt; i++)
    for (int j = 0; j < a->nd; j++)
      cost[(size_t)i * a->nd + j] =
          pair_cost(t, a->trks[i], &dets[a->dets[j]], a->fuse, a->appearance);
  RV_TRY(rv_lap_solve(cost, a->nt, a->nd, a->limit, t2d, d2t, t->lapw.p));
fail:
  return st;
}

/* ---- one frame ---- */

static rv_status check_dets(rv_tracker *t, const rv_detection *dets, int n) {
  rv_status st = RV_OK;
  if (n < 0) return RV_FAIL(RV_ERR_INVALID, "n_dets must be >= 0, got %d", n);
  if (n > 0 && !dets) return RV_FAIL(RV_ERR_INVALID, "dets must not be NULL when n_dets = %d", n);
  for (int i = 0; i < n; i++) {
    const rv_detection *d = &dets[i];
    if (!isfinite(d->x1) || !isfinite(d->y1) || !isfinite(d->x2) || !isfinite(d->y2) ||
        !isfinite(d->score))
      return RV_FAIL(RV_ERR_INVALID, "detection %d has a non-finite box or score", i);
    if (!t->cfg.use_appearance || !d->emb) continue;
    if (d->emb_dim <= 0) return RV_FAIL(RV_ERR_INVALID, "detection %d: emb_dim %d", i, d->emb_dim);
    if (t->emb_dim == 0) RV_TRY(set_emb_dim(t, d->emb_dim));
    if (d->emb_dim != t->emb_dim)
      return RV_FAIL(RV_ERR_INVALID, "detection %d: embedding of %d, earlier ones had %d", i,
                     d->emb_dim, t->emb_dim);
  }
fail:
  return st;
}

static rv_status reserve_frame(rv_tracker *t, int n) {
  rv_status st = RV_OK;
  size_t nt = (size_t)t->cfg.max_tracks + (size_t)t->cfg.gallery_size, nd = (size_t)n + 1;
  size_t tracks_now = (size_t)t->n + (size_t)n + (size_t)t->g_n + 1;
  if (tracks_now < nt) nt = tracks_now; /* scratch follows what is live, up to the bound */
  RV_TRY(reserve(t, &t->hi, nd * sizeof(int)));
  RV_TRY(reserve(t, &t->lo, nd * sizeof(int)));
  RV_TRY(reserve(t, &t->rest, nd * sizeof(int)));
  RV_TRY(reserve(t, &t->d2t, nd * sizeof(int)));
  RV_TRY(reserve(t, &t->pool, nt * sizeof(int)));
  RV_TRY(reserve(t, &t->unconf, nt * sizeof(int)));
  RV_TRY(reserve(t, &t->targets, nt * sizeof(int)));
  RV_TRY(reserve(t, &t->t2d, nt * sizeof(int)));
  RV_TRY(reserve(t, &t->out, nt * sizeof(rv_track_out)));
  RV_TRY(reserve(t, &t->removed, nt * sizeof(uint64_t)));
  if (t->gallery == NULL && t->cfg.use_appearance) {
    t->gallery = acct_realloc(t, NULL, (size_t)t->cfg.gallery_size * sizeof *t->gallery);
    if (!t->gallery) RV_TRY_FAIL(RV_ERR_NOMEM, "gallery of %d", t->cfg.gallery_size);
  }
fail:
  return st;
}

/* Splits the detections by score; boxes without area never take part. */
static void split_dets(rv_tracker *t, const rv_detection *dets, int n, int *nhi, int *nlo) {
  int *hi = t->hi.p, *lo = t->lo.p;
  *nhi = *nlo = 0;
  for (int i = 0; i < n; i++) {
    const rv_detection *d = &dets[i];
    if (!(d->x2 > d->x1) || !(d->y2 > d->y1)) continue;
    if (d->score >= t->cfg.high_thresh)
      hi[(*nhi)++] = i;
    else if (d->score > t->cfg.low_thresh)
      lo[(*nlo)++] = i;
  }
}

/* Confirmed tracked then lost tracks (predicted), and the unconfirmed ones (not predicted,
 * as in ByteTrack). */
static void build_lists(rv_tracker *t, int *npool, int *nunconf) {
  int *pool = t->pool.p, *unconf = t->unconf.p;
  *npool = *nunconf = 0;
  for (int i = 0; i < t->n; i++) {
    trk *k = &t->tracks[i];
    k->det = -1;
    if (k->state == RV_TRACK_TRACKED && !k->activated) unconf[(*nunconf)++] = i;
    if (k->state == RV_TRACK_TRACKED && k->activated) pool[(*npool)++] = i;
  }
  for (int i = 0; i < t->n; i++)
    if (t->tracks[i].state == RV_TRACK_LOST) pool[(*npool)++] = i;
  for (int p = 0; p < *npool; p++) {
    trk *k = &t->tracks[pool[p]];
    if (k->state != RV_TRACK_TRACKED) k->kf.mean[7] = 0; /* lost: freeze the height velocity */
    rv_kf_predict(&t->kp, &k->kf);
  }
}

/* Runs one association and applies its matches; leaves the unmatched detections in
 * `left` (positions into dets) and returns how many. */
static rv_status associate(rv_tracker *t, const assoc *a, const rv_detection *dets, int *left,
                           int *n_left) {
  rv_status st = RV_OK;
  int *t2d = t->t2d.p, *d2t = t->d2t.p;
  RV_TRY(solve(t, a, dets, t2d, d2t));
  for (int i = 0; i < a->nt; i++)
    if (t2d[i] >= 0) match_track(t, a->trks[i], dets, a->dets[t2d[i]]);
  int m = 0;
  for (int j = 0; j < a->nd; j++)
    if (d2t[j] < 0) left[m++] = a->dets[j];
  *n_left = m;
fail:
  return st;
}

static int gallery_live(const rv_tracker *t, int g) {
  return t->frame - t->gallery[g].removed_frame <= t->gallery_frames;
}

/* Re-identification cost between a target (>= 0: lost track index; < 0: gallery slot
 * -1 - g) and a detection. */
static double reid_cost(const rv_tracker *t, int target, const rv_detection *d) {
  int label = target >= 0 ? t->tracks[target].label : t->gallery[-1 - target].label;
  if (t->cfg.class_aware && label != d->label) return 1e6;
  const float *e = target >= 0 ? trk_emb(t, target) : t->gemb + (size_t)(-1 - target) * t->emb_dim;
  return half_cos(e, d->emb, t->emb_dim);
}

/* Targets for re-identification: unmatched lost tracks and live gallery entries. */
static int reid_targets(rv_tracker *t, int *targets) {
  int n = 0;
  for (int i = 0; i < t->n; i++)
    if (t->tracks[i].state == RV_TRACK_LOST && t->tracks[i].det < 0 && t->tracks[i].has_emb)
      targets[n++] = i;
  for (int g = 0; g < t->g_n; g++)
    if (t->gallery[g].id && gallery_live(t, g)) targets[n++] = -1 - g;
  return n;
}

/* A detection re-identified with a gallery entry: the old id comes back, confirmed. */
static rv_status revive(rv_tracker *t, int g, const rv_detection *dets, int d) {
  rv_status st = RV_OK;
  int slot; /* no eviction here: it would write the gallery while we read it */
  RV_TRY(new_slot(t, 0, &slot));
  if (slot < 0) {
    t->dropped++;
    return RV_OK;
  }
  gallery_entry *e = &t->gallery[g];
  start_track(t, slot, e->id, dets, d);
  trk *k = &t->tracks[slot];
  k->activated = 1;
  k->start_frame = e->start_frame;
  k->frames += e->frames;
  memcpy(trk_emb(t, slot), t->gemb + (size_t)g * t->emb_dim, (size_t)t->emb_dim * sizeof(float));
  emb_smooth(t, trk_emb(t, slot), dets[d].emb, 0);
  k->has_emb = 1;
  e->id = 0; /* consumed */
fail:
  return st;
}

/* Appearance-only matching of would-be new tracks against lost tracks anywhere in the
 * frame and removed tracks in the gallery. Runs with cost computed directly (no IoU). */
static rv_status reidentify(rv_tracker *t, const rv_detection *dets, int *left, int *n_left) {
  rv_status st = RV_OK;
  int *cand = t->rest.p, nc = 0, *targets = t->targets.p;
  for (int j = 0; j < *n_left; j++)
    if (dets[left[j]].emb && dets[left[j]].score >= t->cfg.new_track_thresh) cand[nc++] = left[j];
  int nt = reid_targets(t, targets);
  if (nc == 0 || nt == 0) return RV_OK;
  RV_TRY(reserve(t, &t->cost, (size_t)nt * nc * sizeof(double) + 8));
  RV_TRY(reserve(t, &t->lapw, rv_lap_work_bytes(nt, nc)));
  double *cost = t->cost.p;
  for (int i = 0; i < nt; i++)
    for (int j = 0; j < nc; j++)
      cost[(size_t)i * nc + j] = reid_cost(t, targets[i], &dets[cand[j]]);
  int *t2d = t->t2d.p, *d2t = t->d2t.p;
  RV_TRY(rv_lap_solve(cost, nt, nc, t->cfg.reid_thresh, t2d, d2t, t->lapw.p));
  for (int i = 0; i < nt; i++) { /* lost tracks first: revivals below may take slots */
    if (t2d[i] < 0 || targets[i] < 0) continue;
    double m[4]; /* far from its prediction: restart the motion model there */
    det_meas(&dets[cand[t2d[i]]], m);
    rv_kf_initiate(&t->kp, m, &t->tracks[targets[i]].kf);
    match_track(t, targets[i], dets, cand[t2d[i]]);
  }
  for (int i = 0; i < nt; i++)
    if (t2d[i] >= 0 && targets[i] < 0) RV_TRY(revive(t, -1 - targets[i], dets, cand[t2d[i]]));
  int m = 0; /* cand is a subsequence of left, in order */
  for (int j = 0, c = 0; j < *n_left; j++) {
    int is_cand = c < nc && cand[c] == left[j], taken = is_cand && d2t[c] >= 0;
    c += is_cand;
    if (!taken) left[m++] = left[j];
  }
  *n_left = m;
fail:
  return st;
}

static rv_status start_new(rv_tracker *t, const rv_detection *dets, const int *left, int n_left) {
  rv_status st = RV_OK;
  for (int j = 0; j < n_left; j++) {
    if (dets[left[j]].score < t->cfg.new_track_thresh) continue;
    int slot;
    RV_TRY(new_slot(t, 1, &slot));
    if (slot < 0) {
      if (!t->warned_full) RV_LOG_W("tracker: %d live tracks, new detections dropped", t->n);
      t->warned_full = 1;
      t->dropped++;
      continue;
    }
    start_track(t, slot, t->next_id++, dets, left[j]);
  }
fail:
  return st;
}

/* ByteTrack's remove_duplicate_stracks: a tracked and a lost track on the same spot
 * (IoU > 0.85) are one object; the younger of the two goes. */
static void drop_duplicates(rv_tracker *t) {
  for (int i = 0; i < t->n; i++) {
    if (t->tracks[i].state != RV_TRACK_TRACKED) continue;
    for (int j = 0; j < t->n && t->tracks[i].state; j++) {
      if (t->tracks[j].state != RV_TRACK_LOST) continue;
      float a[4], b[4];
      trk_box(&t->tracks[i], a);
      trk_box(&t->tracks[j], b);
      if (1.0f - rv_box_iou(a, b) >= 0.15f) continue;
      int64_t age_i = t->tracks[i].last_frame - t->tracks[i].start_frame;
      int64_t age_j = t->tracks[j].last_frame - t->tracks[j].start_frame;
      remove_track(t, age_i > age_j ? j : i, 0);
    }
  }
}

static void expire(rv_tracker *t) {
  for (int i = 0; i < t->n; i++)
    if (t->tracks[i].state == RV_TRACK_LOST && t->frame - t->tracks[i].last_frame > t->max_lost)
      remove_track(t, i, 1);
  for (int g = 0; g < t->g_n; g++)
    if (t->gallery[g].id && !gallery_live(t, g)) t->gallery[g].id = 0;
}

static void collect(rv_tracker *t, const rv_detection *dets) {
  rv_track_out *o = t->out.p;
  t->n_out = 0;
  for (int i = 0; i < t->n; i++) {
    const trk *k = &t->tracks[i];
    if (k->state != RV_TRACK_TRACKED || !k->activated || k->det < 0) continue;
    const rv_detection *d = &dets[k->det];
    float b[4] = {d->x1, d->y1, d->x2, d->y2};
    if (!t->cfg.detection_boxes) trk_box(k, b);
    o[t->n_out++] = (rv_track_out){k->id,    b[0],     b[1],   b[2],           b[3],
                                   k->score, k->label, k->det, k->start_frame, k->frames};
  }
}

/* The three ByteTrack associations; leaves the high-score detections nobody took in hi. */
static rv_status associations(rv_tracker *t, const rv_detection *dets, int n_dets, int *nhi) {
  rv_status st = RV_OK;
  int nlo, npool, nunconf;
  split_dets(t, dets, n_dets, nhi, &nlo);
  build_lists(t, &npool, &nunconf);
  int *hi = t->hi.p, *lo = t->lo.p, *pool = t->pool.p, *rest = t->rest.p;
  int fuse = !t->cfg.no_fuse_score, app = t->cfg.use_appearance && t->emb_dim > 0;
  assoc a1 = {pool, npool, hi, *nhi, t->cfg.match_thresh, fuse, app};
  RV_TRY(associate(t, &a1, dets, rest, nhi));
  memcpy(hi, rest, (size_t)*nhi * sizeof(int));
  int nr = 0; /* still-tracked tracks left over meet the low-score detections */
  for (int p = 0; p < npool; p++)
    if (t->tracks[pool[p]].state == RV_TRACK_TRACKED && t->tracks[pool[p]].det < 0)
      pool[nr++] = pool[p];
  assoc a2 = {pool, nr, lo, nlo, t->cfg.second_match_thresh, 0, 0};
  RV_TRY(associate(t, &a2, dets, rest, &nlo));
  for (int p = 0; p < nr; p++)
    if (t->tracks[pool[p]].det < 0) t->tracks[pool[p]].state = RV_TRACK_LOST;
  assoc a3 = {t->unconf.p, nunconf, hi, *nhi, t->cfg.unconfirmed_match_thresh, fuse, app};
  RV_TRY(associate(t, &a3, dets, rest, nhi));
  memcpy(hi, rest, (size_t)*nhi * sizeof(int));
  for (int u = 0; u < nunconf; u++) {
    int i = ((int *)t->unconf.p)[u];
    if (t->tracks[i].det < 0) remove_track(t, i, 0);
  }
fail:
  return st;
}

rv_status rv_tracker_update(rv_tracker *t, const rv_detection *dets, int n_dets,
                            const rv_track_out **tracks, int *n_tracks) {
  rv_status st = RV_OK;
  if (!t || !tracks || !n_tracks) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *tracks = NULL;
  *n_tracks = 0;
  RV_TRY(check_dets(t, dets, n_dets));
  RV_TRY(reserve_frame(t, n_dets));
  t->frame++;
  t->n_removed = 0;
  int nhi;
  RV_TRY(associations(t, dets, n_dets, &nhi));
  if (t->cfg.use_appearance && t->emb_dim > 0) RV_TRY(reidentify(t, dets, t->hi.p, &nhi));
  RV_TRY(start_new(t, dets, t->hi.p, nhi));
  expire(t);
  drop_duplicates(t);
  compact(t);
  collect(t, dets);
  *tracks = t->out.p;
  *n_tracks = t->n_out;
fail:
  return st;
}
