/* The pipeline's per-frame loop: encoded frames -> detections -> tracks -> action segments. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/comm.h>

#include "foreground-impl.h"
#include "pipeline-impl.h"
#include "reserve-impl.h"

enum { MAX_KEPT_THUMBS = 400, MAX_BATCH_GROUPS = 64 };

/* Tracker and segmenter with the model's labels (when it names them all). */
rv_status rv_pipeline_open_tracking(rv_pipeline *p) {
  rv_status st = RV_OK;
  const rv_vit_config *mc = p->mc;
  int ns = mc->scene ? mc->num_scene_actions : 0, nt = mc->dense ? mc->num_track_actions : 0;
  const char **scene = calloc((size_t)ns + 1, sizeof *scene),
             **track = calloc((size_t)nt + 1, sizeof *track);
  if (!scene || !track) RV_TRY_FAIL(RV_ERR_NOMEM, "action labels");
  for (int i = 0; i < ns; i++)
    scene[i] = rv_model_label(p->model, RV_LABEL_SCENE_ACTION, i);
  for (int i = 0; i < nt; i++)
    track[i] = rv_model_label(p->model, RV_LABEL_TRACK_ACTION, i);
  int named = 1;
  for (int i = 0; i < ns; i++)
    named &= scene[i] != NULL;
  for (int i = 0; i < nt; i++)
    named &= track[i] != NULL;
  rv_pipeline_info info = rv_pipeline_get_info(p);
  rv_tracking_cfg tc = {0};
  tc.fps = info.rate;
  tc.class_aware = info.class_aware;
  tc.use_appearance = info.emb_dim > 0;
  tc.tuning = info.tuning;
  tc.n_scene = ns;
  tc.scene_labels = named ? scene : NULL;
  tc.n_track = nt;
  tc.track_labels = named ? track : NULL;
  RV_TRY(rv_tracking_init(&tc, &p->trk));
fail:
  free(scene);
  free(track);
  return st;
}

double rv_pipeline_bytes_per_frame(const rv_pipeline *p) {
  const rv_vit_config *c = p->mc;
  double gh = rv_vit_grid_h(c, 0), gw = rv_vit_grid_w(c, 0);
  double seq = rv_vit_prefix_tokens(c) + gh * gw + c->det_tokens;
  double tpf = c->temporal_pool_h > 0 ? (double)c->temporal_pool_h * c->temporal_pool_w : seq;
  double sub = rv_vit_dense_sub(c);
  double dense = c->dense ? gh * gw * sub * sub * rv_vit_dense_channels(c) : 0;
  /* tokens of the frame, its temporal rows through one block (qkv, attention, mlp), the
   * pooled copies, the head outputs and the foreground mask boxes are snapped to */
  double floats = seq * c->width + tpf * (6.0 * c->width + c->mlp_dim) + dense + 64;
  double mask = c->tuning.foreground_diff > 0 ? ceil((double)c->image_h * c->image_w / 8.0) : 0;
  return floats * 4.0 + mask + sizeof(rv_frame_meta);
}

rv_status rv_pipeline_results_init(rv_pipeline *p, int max_frames) {
  p->cap_meta = max_frames;
  p->meta = calloc((size_t)max_frames, sizeof *p->meta);
  p->scene = calloc((size_t)(p->mc->num_scene_actions + 1), sizeof *p->scene);
  if (!p->meta || !p->scene) return RV_FAIL(RV_ERR_NOMEM, "results of %d frames", max_frames);
  p->thumb_every =
      p->cfg.mode == RV_MODE_OFFLINE ? (max_frames + MAX_KEPT_THUMBS - 1) / MAX_KEPT_THUMBS : 1;
  if (p->thumb_every < 1) p->thumb_every = 1;
  return RV_OK;
}

void rv_pipeline_results_free(rv_pipeline *p) {
  free(p->meta);
  free(p->thumbs);
  free(p->masks);
  free(p->snapped);
  free(p->objs);
  free(p->scene);
  free(p->gathered);
}

/* The thumbnail of frame `i` of batch b for encoder frame `f`. Stream results point into
 * the batch itself (it lives until its frames are stepped); offline keeps a copy of at
 * most MAX_KEPT_THUMBS evenly spaced frames, since the batches are long gone when the
 * results come. */
static rv_status keep_thumb(rv_pipeline *p, const rv_batch *b, int i, rv_frame_meta *m, int64_t f) {
  m->thumb = -1;
  if (!b->thumbs) return RV_OK;
  size_t one = (size_t)b->thumb_w * (size_t)b->thumb_h * 3;
  p->thumb_w = b->thumb_w;
  p->thumb_h = b->thumb_h;
  if (p->cfg.mode == RV_MODE_STREAM) {
    m->thumb = (int64_t)((size_t)i * one);
    return RV_OK;
  }
  if (f % p->thumb_every) return RV_OK;
  if ((size_t)(p->n_thumbs + 1) * one > (size_t)p->cap_thumbs) {
    size_t cap =
        (size_t)(p->n_thumbs + 1 > MAX_KEPT_THUMBS + 2 ? p->n_thumbs + 1 : MAX_KEPT_THUMBS + 2) *
        one;
    uint8_t *t = realloc(p->thumbs, cap);
    if (!t) return RV_FAIL(RV_ERR_NOMEM, "thumbnails");
    p->thumbs = t;
    p->cap_thumbs = (int64_t)cap;
  }
  memcpy(p->thumbs + (size_t)p->n_thumbs * one, b->thumbs + (size_t)i * one, one);
  m->thumb = p->n_thumbs * (int64_t)one;
  p->n_thumbs++;
  return RV_OK;
}

/* The foreground mask of frame `i` of batch b for meta m (slot `slot` of the mask store,
 * which holds one mask per frame waiting for its result). */
static rv_status keep_mask(rv_pipeline *p, const rv_batch *b, int i, rv_frame_meta *m,
                           int64_t slot) {
  m->mask = -1;
  if (!b->masks) return RV_OK;
  rv_status st = rv_reserve((void **)&p->masks, &p->cap_masks, (size_t)(slot + 1) * b->mask_bytes,
                            "foreground masks of the waiting frames");
  if (st < 0) return st;
  p->mask_w = b->mask_w;
  p->mask_h = b->mask_h;
  memcpy(p->masks + (size_t)slot * b->mask_bytes, b->masks + (size_t)i * b->mask_bytes,
         b->mask_bytes);
  m->mask = slot * (int64_t)b->mask_bytes;
  return RV_OK;
}

/* Encoder frames of a batch: tubelet groups, each named after its first video frame,
 * recorded from meta[base]; times_s receives their timestamps. Returns the group count. */
static rv_status fill_meta(rv_pipeline *p, const rv_batch *b, int64_t base, double *times_s,
                           int *groups) {
  rv_status st = RV_OK;
  int T = p->mc->tubelet, n = b->n / T;
  *groups = 0;
  if (base + n > p->cap_meta)
    return RV_FAIL(RV_ERR_NOMEM,
                   "the input has more sampled frames than the %lld planned from its "
                   "duration",
                   (long long)p->cap_meta);
  for (int g = 0; g < n; g++) {
    rv_frame_meta *m = &p->meta[base + g];
    m->pts_ns = b->pts_ns[g * T];
    m->frame_index = b->frame_index[g * T];
    m->geom = b->geom;
    m->width = b->src_width;
    m->height = b->src_height;
    times_s[g] = (double)m->pts_ns * 1e-9;
    RV_TRY(keep_thumb(p, b, g * T, m, p->frames_encoded + g));
    RV_TRY(keep_mask(p, b, g * T, m, base + g));
  }
  *groups = n;
fail:
  return st;
}

/* Offline: the batch's frames through the spatial stage, appended to the context. */
static rv_status push_batch(rv_pipeline *p, const rv_batch *b) {
  rv_status st = RV_OK;
  double times[MAX_BATCH_GROUPS];
  int n = 0;
  RV_TRY(fill_meta(p, b, p->n_meta, times, &n));
  if (n < 1) return RV_OK;
  rv_tensor tok = rv_tensor_2d(b->tokens, RV_F32, b->token_rows, b->token_dim);
  double t0 = rv_pipeline_now();
  RV_TRY(rv_vit_push(p->vit, &tok, n, times));
  p->encode_s += rv_pipeline_now() - t0;
  p->n_meta += n;
  p->frames_encoded += n;
fail:
  return st;
}

static void report_progress(rv_pipeline *p) {
  if (!p->cfg.on_progress) return;
  rv_pipeline_progress pr = rv_pipeline_get_progress(p);
  p->cfg.on_progress(p->cfg.progress_user, &pr);
}

/* Floats of one frame's row of a head output; 0 for a head the model lacks, and for a clip
 * scene row (one for the whole clip, the same on every rank). */
static size_t head_row(const rv_pipeline *p, const rv_tensor *t) {
  if (!t->ndim || (t == &p->outs.scene && p->mc->scene_clip)) return 0;
  size_t n = 1;
  for (int i = 1; i < t->ndim; i++)
    n *= (size_t)t->shape[i];
  return n;
}

/* One head's rows: rank k's kept frames from rank k to rank 0, into dst (every frame). */
static rv_status gather_head(rv_pipeline *p, const rv_tensor *t, size_t row, float *dst) {
  rv_status st = RV_OK;
  rv_comm *c = p->cfg.comm;
  int64_t total = p->outs.total_frames;
  for (int k = 0; k < rv_comm_size(c); k++) {
    rv_vit_span sp[2];
    int n = rv_vit_rank_spans(p->vit, k, total, sp);
    const float *mine = t->data;
    for (int i = 0; i < n; mine += (size_t)sp[i].count * row, i++) {
      size_t bytes = (size_t)sp[i].count * row * sizeof(float);
      float *at = dst ? dst + (size_t)sp[i].first * row : NULL;
      if (!bytes || (p->rank != 0 && p->rank != k)) continue;
      if (k == 0) {
        memcpy(at, mine, bytes);
        continue;
      }
      rv_comm_xfer x = {0};
      if (p->rank == k) x = (rv_comm_xfer){mine, bytes, 0, NULL, 0, 0};
      else x = (rv_comm_xfer){NULL, 0, 0, at, bytes, k};
      RV_TRY(rv_comm_sendrecv(c, &x));
    }
  }
fail:
  return st;
}

/* The token bytes of the rank that keeps the most, for the summary. */
static rv_status note_token_bytes(rv_pipeline *p) {
  rv_status st = RV_OK;
  int R = rv_comm_size(p->cfg.comm);
  int64_t mine = (int64_t)rv_vit_token_bytes(p->vit), *all = calloc((size_t)R, sizeof *all);
  if (!all) return RV_FAIL(RV_ERR_NOMEM, "%d counters", R);
  RV_TRY(rv_comm_allgather(p->cfg.comm, &mine, sizeof mine, all));
  for (int k = 0; k < R; k++)
    p->token_bytes = all[k] > p->token_bytes ? all[k] : p->token_bytes;
fail:
  free(all);
  return st;
}

/* Offline under a comm each rank finished only the frames it kept: their head outputs
 * (a few floats per patch cell, never the tokens) go to rank 0, which makes every frame's
 * result in order; the other ranks make none. */
static rv_status gather_heads(rv_pipeline *p) {
  rv_status st = RV_OK;
  rv_vit_outputs *o = &p->outs;
  rv_tensor *heads[] = {&o->dense, &o->set_logits, &o->set_boxes, &o->scene};
  size_t row[4], all = 0, at = 0;
  if (!p->cfg.comm || rv_comm_size(p->cfg.comm) < 2) return RV_OK;
  RV_TRY(note_token_bytes(p));
  for (int h = 0; h < 4; h++)
    all += row[h] = head_row(p, heads[h]);
  if (p->rank == 0) {
    free(p->gathered);
    p->gathered = malloc((all ? all : 1) * (size_t)o->total_frames * sizeof(float));
    if (!p->gathered) RV_TRY_FAIL(RV_ERR_NOMEM, "head outputs of %lld frames",
                                  (long long)o->total_frames);
  }
  for (int h = 0; h < 4; h++) {
    if (!row[h]) continue;
    float *dst = p->gathered ? p->gathered + at : NULL;
    RV_TRY(gather_head(p, heads[h], row[h], dst));
    at += row[h] * (size_t)o->total_frames;
    if (dst) { /* packed rows, as the encoder's */
      heads[h]->data = dst;
      heads[h]->shape[0] = o->total_frames;
    }
  }
  o->frames = o->total_frames;
fail:
  return st;
}

/* Offline: the whole context through the spatial stage as it is decoded, then the temporal
 * stage and the heads over all of it. */
static rv_status encode_context(rv_pipeline *p) {
  rv_status st = RV_OK;
  rv_batch *b = NULL;
  while ((st = rv_decode_stage_next(p->dec, &b)) == RV_OK) {
    st = push_batch(p, b);
    rv_decode_stage_release(p->dec, b);
    if (st < 0) return st;
    report_progress(p);
  }
  if (st != RV_EOF) return st; /* an error, or RV_AGAIN: push mode wants more frames */
  p->input_done = 1;
  if (p->n_meta == 0) return RV_OK; /* nothing sampled: no frames, only the final result */
  double t0 = rv_pipeline_now();
  st = rv_vit_finish(p->vit, &p->outs);
  if (st >= 0) st = gather_heads(p);
  p->encode_s += rv_pipeline_now() - t0;
  if (st < 0) return st;
  p->have_outs = 1;
  return RV_OK;
}

static rv_status reserve_objs(rv_pipeline *p, int n) {
  return rv_reserve((void **)&p->objs, &p->cap_objs, (size_t)n * sizeof *p->objs, "objects");
}

static rv_status detect(rv_pipeline *p, const rv_frame_meta *m, int64_t f,
                        const rv_detection **dets, int *n) {
  const rv_vit_outputs *o = &p->outs;
  *dets = NULL;
  *n = 0;
  if (o->dense.ndim) {
    const float *raw = rv_tensor_row(&o->dense, f);
    return rv_det_decode_dense(p->det, raw, &m->geom, dets, n);
  }
  if (o->set_logits.ndim) {
    const float *lg = rv_tensor_row(&o->set_logits, f), *bx = rv_tensor_row(&o->set_boxes, f);
    return rv_det_decode_set(p->det, lg, bx, (int)o->set_logits.shape[1], &m->geom, dets, n);
  }
  return RV_OK;
}

/* The frame's person boxes moved onto its foreground (model input pixels there): a copy
 * of dets, which the decoder owns. */
static rv_status snap_to_foreground(rv_pipeline *p, const rv_frame_meta *m,
                                    const rv_detection **dets, int n) {
  if (m->mask < 0 || p->snap_label < 0 || n == 0) return RV_OK;
  rv_status st = rv_reserve((void **)&p->snapped, &p->cap_snapped, (size_t)n * sizeof *p->snapped,
                            "snapped detections");
  if (st < 0) return st;
  memcpy(p->snapped, *dets, (size_t)n * sizeof **dets);
  const rv_frame_geom *g = &m->geom;
  for (int i = 0; i < n; i++) {
    rv_detection *d = &p->snapped[i];
    if (d->label != p->snap_label) continue;
    float b[4] = {d->x1 * g->scale_x + g->pad_x, d->y1 * g->scale_y + g->pad_y,
                  d->x2 * g->scale_x + g->pad_x, d->y2 * g->scale_y + g->pad_y};
    if (!rv_foreground_snap(p->masks + m->mask, p->mask_w, p->mask_h, b)) continue;
    d->x1 = (b[0] - g->pad_x) / g->scale_x, d->y1 = (b[1] - g->pad_y) / g->scale_y;
    d->x2 = (b[2] - g->pad_x) / g->scale_x, d->y2 = (b[3] - g->pad_y) / g->scale_y;
  }
  *dets = p->snapped;
  return RV_OK;
}

/* Scene probabilities of frame f (clip models have one row for every frame). */
static const float *scene_probs(rv_pipeline *p, int64_t f) {
  const rv_tensor *s = &p->outs.scene;
  if (!s->ndim) return NULL;
  const float *lg = rv_tensor_row(s, s->shape[0] == 1 ? 0 : f);
  int n = (int)s->shape[1];
  if (p->mc->scene_softmax) {
    float mx = -INFINITY, sum = 0.0f;
    for (int i = 0; i < n; i++)
      mx = fmaxf(mx, lg[i]);
    for (int i = 0; i < n; i++)
      sum += p->scene[i] = expf(lg[i] - mx);
    for (int i = 0; i < n; i++)
      p->scene[i] /= sum;
  } else {
    for (int i = 0; i < n; i++)
      p->scene[i] = 1.0f / (1.0f + expf(-lg[i]));
  }
  return p->scene;
}

/* One result object per track (tr[i] with its detection), or per detection when tr is
 * NULL (detect_only). */
static void fill_objects(rv_pipeline *p, const rv_detection *dets, const rv_track_out *tr, int n) {
  for (int i = 0; i < n; i++) {
    const rv_detection *d = &dets[tr ? tr[i].det_index : i];
    rv_object *o = &p->objs[i];
    o->track_id = tr ? tr[i].id : 0;
    o->label_id = tr ? tr[i].label : d->label;
    o->label = rv_model_label(p->model, RV_LABEL_CLASS, o->label_id);
    if (!o->label) o->label = "object";
    o->x = tr ? tr[i].x1 : d->x1;
    o->y = tr ? tr[i].y1 : d->y1;
    o->w = (tr ? tr[i].x2 : d->x2) - o->x;
    o->h = (tr ? tr[i].y2 : d->y2) - o->y;
    o->score = tr ? tr[i].score : d->score;
    o->act = d->act;
    o->n_act = d->n_act;
    o->emb = d->emb;
    o->emb_dim = d->emb_dim;
  }
}

/* The result of meta[i], whose head outputs are row f of p->outs. */
static rv_status frame_result(rv_pipeline *p, int64_t i, int64_t f) {
  rv_status st = RV_OK;
  const rv_frame_meta *m = &p->meta[i];
  const rv_detection *dets = NULL;
  const rv_track_out *tr = NULL;
  int nd = 0, nt = 0;
  double t0 = rv_pipeline_now();
  rv_frame_result *r = &p->res;
  memset(r, 0, sizeof *r);
  if (p->rank != 0) return RV_OK; /* rank 0 makes the results (and holds the heads' rows) */
  RV_TRY(detect(p, m, f, &dets, &nd));
  RV_TRY(snap_to_foreground(p, m, &dets, nd));
  const float *scene = scene_probs(p, f);
  if (p->trk) {
    RV_TRY(rv_tracking_frame(p->trk, m->pts_ns, dets, nd, scene, &tr, &nt));
    rv_tracking_take(p->trk, &r->actions, &r->n_actions);
  } else {
    nt = nd;
  }
  RV_TRY(reserve_objs(p, nt));
  fill_objects(p, dets, tr, nt);
  r->pts_ns = m->pts_ns;
  r->frame_index = m->frame_index;
  r->width = m->width;
  r->height = m->height;
  r->objects = p->objs;
  r->n_objects = nt;
  r->scene = scene;
  r->n_scene = scene ? (int)p->outs.scene.shape[1] : 0;
  if (m->thumb >= 0) {
    r->thumb = (p->cfg.mode == RV_MODE_STREAM ? p->cur->thumbs : p->thumbs) + m->thumb;
    r->thumb_w = p->thumb_w;
    r->thumb_h = p->thumb_h;
  }
fail:
  p->track_s += rv_pipeline_now() - t0;
  return st;
}

static rv_status final_result(rv_pipeline *p) {
  rv_status st = RV_OK;
  rv_frame_result *r = &p->res;
  memset(r, 0, sizeof *r);
  r->pts_ns = -1;
  r->frame_index = -1;
  if (p->trk) {
    RV_TRY(rv_tracking_finish(p->trk));
    rv_tracking_take(p->trk, &r->actions, &r->n_actions);
  }
  p->finished = 1;
  return RV_EOF;
fail:
  return st;
}

/* Stream: the next frame of the current batch through rv_vit_step, fetching a batch when
 * the current one is used up. RV_EOF when the input is. */
static rv_status step_frame(rv_pipeline *p) {
  rv_status st = RV_OK;
  if (p->next_out >= p->n_meta) {
    rv_decode_stage_release(p->dec, p->cur);
    p->cur = NULL;
    p->n_meta = p->next_out = 0;
    double times[MAX_BATCH_GROUPS];
    int n = 0;
    while (n == 0) {
      st = rv_decode_stage_next(p->dec, &p->cur);
      if (st != RV_OK) return st;
      RV_TRY(fill_meta(p, p->cur, 0, times, &n));
      if (n == 0) rv_decode_stage_release(p->dec, p->cur), p->cur = NULL;
    }
    p->n_meta = n;
    report_progress(p);
  }
  const rv_batch *b = p->cur;
  int64_t i = p->next_out, tpf = b->tokens_per_frame;
  rv_tensor tok = rv_tensor_2d(b->tokens + i * tpf * b->token_dim, RV_F32, tpf, b->token_dim);
  double t0 = rv_pipeline_now();
  RV_TRY(rv_vit_step(p->vit, &tok, (double)p->meta[i].pts_ns * 1e-9, &p->outs));
  p->encode_s += rv_pipeline_now() - t0;
  p->frames_encoded++;
  p->next_out++;
  RV_TRY(frame_result(p, i, 0));
fail:
  return st;
}

static rv_status next_result(rv_pipeline *p) {
  rv_status st;
  if (p->finished) {
    memset(&p->res, 0, sizeof p->res);
    p->res.pts_ns = p->res.frame_index = -1;
    return RV_EOF;
  }
  if (p->cfg.mode == RV_MODE_STREAM) {
    st = p->input_done ? RV_EOF : step_frame(p);
    if (st != RV_EOF) return st;
    p->input_done = 1;
    return final_result(p);
  }
  if (!p->input_done && (st = encode_context(p)) != RV_OK) return st;
  if (p->next_out < p->n_meta) {
    int64_t i = p->next_out++;
    return frame_result(p, i, i);
  }
  return final_result(p);
}

/* Under a comm every rank decodes the same frames and calls this as often (the encoder
 * is collective); rank 0 gets the results, the others an empty one per call. */
rv_status rv_pipeline_next(rv_pipeline *p, const rv_frame_result **out) {
  if (!p || !out) return RV_FAIL(RV_ERR_INVALID, "pipeline and out must not be NULL");
  *out = &p->res;
  rv_status st = next_result(p);
  if (st >= 0 && p->rank != 0) {
    memset(&p->res, 0, sizeof p->res);
    p->res.pts_ns = p->res.frame_index = -1;
  }
  return st;
}
