/* Detection decoding for the dense (per-patch) and set (YOLOS) heads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/detect.h>

typedef struct cand {
  float score;
  int label;
  int src; /* cell or token index: the tie-break that keeps the order deterministic */
  float box[4];
} cand;

struct rv_det_decoder {
  rv_det_decoder_cfg cfg;
  /* dense head: output cells per patch side, and their grid */
  int sub, fine_h, fine_w;
  int cap;             /* candidates: max(cells, tokens) */
  cand *cands;         /* [cap] */
  unsigned char *dead; /* [cap] NMS flags */
  rv_detection *dets;  /* [max_dets] */
  float *emb;          /* [max_dets * emb_dim] */
  float *act;          /* [max_dets * n_act] */
  float *offset;       /* [n_classes] objectness offsets, or NULL */
  float *act_offset;   /* [n_act] action logit offsets, or NULL */
};

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

float rv_box_iou(const float a[4], const float b[4]) {
  float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
  float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  if (!(iw > 0.0f) || !(ih > 0.0f)) return 0.0f;
  float inter = iw * ih;
  float ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return ua > 0.0f ? inter / ua : 0.0f;
}

int rv_det_dense_channels(const rv_det_decoder_cfg *cfg) {
  if (!cfg) return 0;
  return 1 + cfg->n_classes + 4 + cfg->n_act + cfg->emb_dim;
}

/* Calibration offsets (NULL: none) are logits within [-16, 16]. */
static rv_status check_offsets(const float *off, int n, const char *what) {
  for (int i = 0; off && i < n; i++)
    if (!(fabsf(off[i]) <= 16.0f))
      return RV_FAIL(RV_ERR_INVALID, "%s[%d] must be in [-16, 16]", what, i);
  return RV_OK;
}

static rv_status check_cfg(const rv_det_decoder_cfg *c) {
  if (c->n_classes < 1)
    return RV_FAIL(RV_ERR_INVALID, "n_classes must be >= 1, got %d", c->n_classes);
  if (c->n_act < 0 || c->emb_dim < 0)
    return RV_FAIL(RV_ERR_INVALID, "n_act and emb_dim must be >= 0 (got %d, %d)", c->n_act,
                   c->emb_dim);
  if (c->grid_h < 0 || c->grid_w < 0 || c->max_tokens < 0)
    return RV_FAIL(RV_ERR_INVALID, "grid and token counts must be >= 0");
  if ((c->grid_h > 0) != (c->grid_w > 0))
    return RV_FAIL(RV_ERR_INVALID, "grid_h and grid_w must both be set (got %d x %d)", c->grid_h,
                   c->grid_w);
  if (c->grid_h > 0 && c->patch <= 0)
    return RV_FAIL(RV_ERR_INVALID, "patch must be > 0 for the dense head, got %d", c->patch);
  if (c->grid_h == 0 && c->max_tokens == 0)
    return RV_FAIL(RV_ERR_INVALID, "neither a dense grid nor set tokens configured");
  if (c->cls_activation != RV_CLS_SIGMOID && c->cls_activation != RV_CLS_SOFTMAX)
    return RV_FAIL(RV_ERR_INVALID, "unknown class activation %d", (int)c->cls_activation);
  if (c->score_thresh < 0 || c->score_thresh > 1 || c->nms_iou < 0 || c->nms_iou > 1 ||
      c->max_dets < 0)
    return RV_FAIL(RV_ERR_INVALID, "score_thresh and nms_iou must be in [0, 1], max_dets >= 0");
  if (c->peak < 0 || (c->peak > 1 && c->peak % 2 == 0) || c->peak > 15)
    return RV_FAIL(RV_ERR_INVALID, "peak must be 0 or odd up to 15, got %d", c->peak);
  if (c->sub < 0 || c->sub == 3 || c->sub > 4)
    return RV_FAIL(RV_ERR_INVALID, "sub must be 0, 1, 2 or 4 cells per patch side, got %d", c->sub);
  if (c->reach < 0 || c->reach > 3)
    return RV_FAIL(RV_ERR_INVALID, "reach must be 0 to 3 cells, got %d", c->reach);
  rv_status st = check_offsets(c->class_offset, c->n_classes, "class_offset");
  if (st >= 0) st = check_offsets(c->action_offset, c->n_act, "action_offset");
  if (st < 0) return st;
  int64_t sub = c->sub > 1 ? c->sub : 1; /* the candidates are the output cells */
  if ((int64_t)c->grid_h * c->grid_w * sub * sub > (1 << 24) || c->max_tokens > (1 << 24))
    return RV_FAIL(RV_ERR_INVALID, "grid %d x %d (cells split %d x %d) or %d tokens is too large",
                   c->grid_h, c->grid_w, (int)sub, (int)sub, c->max_tokens);
  return RV_OK;
}

/* The decoder's own copy of n calibration offsets (NULL stays NULL). */
static rv_status copy_offsets(const float *src, int n, float **dst) {
  *dst = NULL;
  if (!src) return RV_OK;
  *dst = malloc((size_t)n * sizeof **dst);
  if (!*dst) return RV_FAIL(RV_ERR_NOMEM, "%d calibration offsets", n);
  memcpy(*dst, src, (size_t)n * sizeof **dst);
  return RV_OK;
}

rv_status rv_det_decoder_init(const rv_det_decoder_cfg *cfg, rv_det_decoder **out) {
  rv_status st = RV_OK;
  rv_det_decoder *d = NULL;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  if (!cfg) return RV_FAIL(RV_ERR_INVALID, "cfg must not be NULL");
  RV_TRY(check_cfg(cfg));
  d = calloc(1, sizeof *d);
  if (!d) RV_TRY_FAIL(RV_ERR_NOMEM, "decoder handle");
  d->cfg = *cfg;
  if (d->cfg.score_thresh == 0) d->cfg.score_thresh = 0.05f;
  if (d->cfg.nms_iou == 0) d->cfg.nms_iou = 0.5f;
  if (d->cfg.max_dets == 0) d->cfg.max_dets = 300;
  d->sub = cfg->sub > 1 ? cfg->sub : 1;
  d->fine_h = cfg->grid_h * d->sub;
  d->fine_w = cfg->grid_w * d->sub;
  int cells = d->fine_h * d->fine_w;
  d->cap = cells > cfg->max_tokens ? cells : cfg->max_tokens;
  size_t k = (size_t)d->cfg.max_dets;
  d->cands = malloc((size_t)d->cap * sizeof *d->cands);
  d->dead = malloc((size_t)d->cap);
  d->dets = malloc(k * sizeof *d->dets);
  d->emb = malloc(k * (size_t)(cfg->emb_dim ? cfg->emb_dim : 1) * sizeof *d->emb);
  d->act = malloc(k * (size_t)(cfg->n_act ? cfg->n_act : 1) * sizeof *d->act);
  if (!d->cands || !d->dead || !d->dets || !d->emb || !d->act)
    RV_TRY_FAIL(RV_ERR_NOMEM, "decoder buffers for %d candidates", d->cap);
  RV_TRY(copy_offsets(cfg->class_offset, cfg->n_classes, &d->offset));
  RV_TRY(copy_offsets(cfg->n_act ? cfg->action_offset : NULL, cfg->n_act, &d->act_offset));
  d->cfg.class_offset = d->offset;
  d->cfg.action_offset = d->act_offset;
  *out = d;
  return RV_OK;
fail:
  rv_det_decoder_free(d);
  return st;
}

void rv_det_decoder_free(rv_det_decoder *d) {
  if (!d) return;
  free(d->cands);
  free(d->dead);
  free(d->dets);
  free(d->emb);
  free(d->act);
  free(d->offset);
  free(d->act_offset);
  free(d);
}

static rv_status check_geom(const rv_frame_geom *g) {
  if (!g) return RV_FAIL(RV_ERR_INVALID, "geom must not be NULL");
  if (g->src_w <= 0 || g->src_h <= 0 || !(g->scale_x > 0) || !(g->scale_y > 0))
    return RV_FAIL(RV_ERR_INVALID, "bad frame geometry: source %dx%d, scale %g x %g", g->src_w,
                   g->src_h, (double)g->scale_x, (double)g->scale_y);
  return RV_OK;
}

/* Model-input box (x1, y1, x2, y2) to source pixels, clipped to the frame unless asked
 * not to. 0 when the result is empty or not finite: such a box is no detection. */
static int to_source(const rv_det_decoder *d, const rv_frame_geom *g, float b[4]) {
  b[0] = rv_geom_src_x(g, b[0]);
  b[1] = rv_geom_src_y(g, b[1]);
  b[2] = rv_geom_src_x(g, b[2]);
  b[3] = rv_geom_src_y(g, b[3]);
  for (int i = 0; i < 4; i++)
    if (!isfinite(b[i])) return 0;
  if (!d->cfg.no_clip) {
    b[0] = fminf(fmaxf(b[0], 0.0f), (float)g->src_w);
    b[2] = fminf(fmaxf(b[2], 0.0f), (float)g->src_w);
    b[1] = fminf(fmaxf(b[1], 0.0f), (float)g->src_h);
    b[3] = fminf(fmaxf(b[3], 0.0f), (float)g->src_h);
  }
  return b[2] > b[0] && b[3] > b[1];
}

static int cand_cmp(const void *pa, const void *pb) {
  const cand *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->src > b->src) - (a->src < b->src);
}

/* Best class of one cell or token and its probability. */
static float best_class(const float *logits, int n, rv_cls_activation act, int *label) {
  int best = 0;
  for (int c = 1; c < n; c++)
    if (logits[c] > logits[best]) best = c;
  *label = best;
  if (act == RV_CLS_SIGMOID) return sigmoidf(logits[best]);
  double sum = 0;
  for (int c = 0; c < n; c++)
    sum += exp((double)logits[c] - logits[best]);
  return (float)(1.0 / sum);
}

/* Greedy suppression within each class, in score order; returns how many survive
 * (at most max_dets), compacted to the front of d->cands. */
static int nms(rv_det_decoder *d, int n) {
  memset(d->dead, 0, (size_t)n);
  int kept = 0;
  for (int i = 0; i < n && kept < d->cfg.max_dets; i++) {
    if (d->dead[i]) continue;
    d->cands[kept++] = d->cands[i];
    for (int j = i + 1; j < n; j++)
      if (!d->dead[j] && d->cands[j].label == d->cands[i].label &&
          rv_box_iou(d->cands[i].box, d->cands[j].box) > d->cfg.nms_iou)
        d->dead[j] = 1;
  }
  return kept;
}

static void fill_extras(rv_det_decoder *d, int k, const float *act_logits, const float *emb) {
  rv_detection *det = &d->dets[k];
  det->act = NULL;
  det->n_act = 0;
  det->emb = NULL;
  det->emb_dim = 0;
  if (act_logits && d->cfg.n_act > 0) {
    float *a = d->act + (size_t)k * d->cfg.n_act;
    for (int i = 0; i < d->cfg.n_act; i++)
      a[i] = sigmoidf(act_logits[i] + (d->act_offset ? d->act_offset[i] : 0.0f));
    det->act = a;
    det->n_act = d->cfg.n_act;
  }
  if (emb && d->cfg.emb_dim > 0) {
    double ss = 0;
    for (int i = 0; i < d->cfg.emb_dim; i++)
      ss += (double)emb[i] * emb[i];
    if (!(ss > 0) || !isfinite(ss)) return; /* no usable direction: no appearance cue */
    float inv = (float)(1.0 / sqrt(ss));
    float *e = d->emb + (size_t)k * d->cfg.emb_dim;
    for (int i = 0; i < d->cfg.emb_dim; i++)
      e[i] = emb[i] * inv;
    det->emb = e;
    det->emb_dim = d->cfg.emb_dim;
  }
}

static void emit(rv_det_decoder *d, int k, const cand *c) {
  rv_detection *det = &d->dets[k];
  det->x1 = c->box[0];
  det->y1 = c->box[1];
  det->x2 = c->box[2];
  det->y2 = c->box[3];
  det->score = c->score;
  det->label = c->label;
}

/* The box centre's offset from the cell's corner, in cells (rv_det_decoder_cfg.reach). */
static float centre_offset(const rv_det_decoder *d, float t) {
  if (!d->cfg.reach) return sigmoidf(t); /* in the cell: the formula the models were trained on */
  return 0.5f + (2.0f * (float)d->cfg.reach + 1.0f) * (sigmoidf(t) - 0.5f);
}

/* The channels of output cell (row, col) of the fine grid in raw: patch after patch, each
 * patch's sub x sub cells row-major (the head emits a patch's cells as one row). */
static const float *cell_at(const rv_det_decoder *d, const float *raw, int nch, int row, int col) {
  const int s = d->sub;
  size_t k = ((size_t)(row / s) * d->cfg.grid_w + (size_t)(col / s)) * (size_t)(s * s) +
             (size_t)(row % s * s + col % s);
  return raw + k * (size_t)nch;
}

/* One dense cell into a candidate; 0 when it scores below the threshold or has no box. */
static int dense_cell(const rv_det_decoder *d, const float *ch, int row, int col,
                      const rv_frame_geom *g, cand *c) {
  const int C = d->cfg.n_classes;
  float p = best_class(ch + 1, C, d->cfg.cls_activation, &c->label);
  c->score = sigmoidf(ch[0] + (d->offset ? d->offset[c->label] : 0.0f)) * p;
  if (!(c->score >= d->cfg.score_thresh)) return 0;
  const float *bx = ch + 1 + C;
  float P = (float)d->cfg.patch / (float)d->sub;
  float cx = ((float)col + centre_offset(d, bx[0])) * P;
  float cy = ((float)row + centre_offset(d, bx[1])) * P;
  float w = expf(bx[2]) * P, h = expf(bx[3]) * P;
  c->box[0] = cx - 0.5f * w;
  c->box[1] = cy - 0.5f * h;
  c->box[2] = cx + 0.5f * w;
  c->box[3] = cy + 0.5f * h;
  c->src = row * d->fine_w + col;
  return to_source(d, g, c->box);
}

/* 1 when cell (r, c)'s objectness beats every neighbour within the peak radius; an equal
 * neighbour earlier in row order wins, so a flat plateau still yields one peak. NaN never
 * is a peak (the score threshold drops it anyway). */
static int is_peak(const rv_det_decoder *d, const float *raw, int nch, int r, int c) {
  const int rad = d->cfg.peak / 2, gw = d->fine_w;
  const float v = *cell_at(d, raw, nch, r, c);
  for (int rr = r - rad; rr <= r + rad; rr++)
    for (int cc = c - rad; cc <= c + rad; cc++) {
      if (rr < 0 || cc < 0 || rr >= d->fine_h || cc >= gw || (rr == r && cc == c)) continue;
      float u = *cell_at(d, raw, nch, rr, cc);
      if (u > v || (u == v && rr * gw + cc < r * gw + c)) return 0;
    }
  return 1;
}

rv_status rv_det_decode_dense(rv_det_decoder *d, const float *raw, const rv_frame_geom *geom,
                              const rv_detection **dets, int *n_dets) {
  rv_status st = RV_OK;
  if (!d || !raw || !dets || !n_dets) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *dets = NULL;
  *n_dets = 0;
  if (d->cfg.grid_h == 0) return RV_FAIL(RV_ERR_INVALID, "decoder has no dense grid configured");
  RV_TRY(check_geom(geom));
  const int nch = rv_det_dense_channels(&d->cfg), C = d->cfg.n_classes;
  int n = 0;
  for (int r = 0; r < d->fine_h; r++)
    for (int c = 0; c < d->fine_w; c++) {
      const float *ch = cell_at(d, raw, nch, r, c);
      if (d->cfg.peak > 1 && !is_peak(d, raw, nch, r, c)) continue;
      if (dense_cell(d, ch, r, c, geom, &d->cands[n])) n++;
    }
  qsort(d->cands, (size_t)n, sizeof *d->cands, cand_cmp);
  int kept = nms(d, n);
  for (int k = 0; k < kept; k++) {
    const int src = d->cands[k].src;
    const float *ch = cell_at(d, raw, nch, src / d->fine_w, src % d->fine_w);
    emit(d, k, &d->cands[k]);
    fill_extras(d, k, d->cfg.n_act ? ch + 5 + C : NULL,
                d->cfg.emb_dim ? ch + 5 + C + d->cfg.n_act : NULL);
  }
  *dets = d->dets;
  *n_dets = kept;
fail:
  return st;
}

/* One set token into a candidate; 0 when no class beats the threshold or the box is empty. */
static int set_token(const rv_det_decoder *d, const float *logits, const float *box, int t,
                     const rv_frame_geom *g, cand *c) {
  const int C = d->cfg.n_classes;
  float mx = logits[0];
  for (int i = 1; i <= C; i++)
    mx = fmaxf(mx, logits[i]);
  double sum = 0;
  for (int i = 0; i <= C; i++)
    sum += exp((double)logits[i] - mx);
  int best = 0;
  for (int i = 1; i < C; i++)
    if (logits[i] > logits[best]) best = i;
  c->label = best;
  c->score = (float)(exp((double)logits[best] - mx) / sum); /* no-object takes the rest */
  if (!(c->score >= d->cfg.score_thresh)) return 0;
  float W = (float)g->dst_w, H = (float)g->dst_h;
  c->box[0] = (box[0] - 0.5f * box[2]) * W;
  c->box[1] = (box[1] - 0.5f * box[3]) * H;
  c->box[2] = (box[0] + 0.5f * box[2]) * W;
  c->box[3] = (box[1] + 0.5f * box[3]) * H;
  c->src = t;
  return to_source(d, g, c->box);
}

rv_status rv_det_decode_set(rv_det_decoder *d, const float *logits, const float *boxes,
                            int n_tokens, const rv_frame_geom *geom, const rv_detection **dets,
                            int *n_dets) {
  rv_status st = RV_OK;
  if (!d || !logits || !boxes || !dets || !n_dets) return RV_FAIL(RV_ERR_INVALID, "NULL argument");
  *dets = NULL;
  *n_dets = 0;
  if (n_tokens < 0 || n_tokens > d->cfg.max_tokens)
    return RV_FAIL(RV_ERR_INVALID, "%d tokens, decoder sized for %d", n_tokens, d->cfg.max_tokens);
  RV_TRY(check_geom(geom));
  if (geom->dst_w <= 0 || geom->dst_h <= 0)
    return RV_FAIL(RV_ERR_INVALID, "bad model input size %dx%d", geom->dst_w, geom->dst_h);
  const int C = d->cfg.n_classes;
  int n = 0;
  for (int t = 0; t < n_tokens; t++)
    if (set_token(d, logits + (size_t)t * (C + 1), boxes + (size_t)t * 4, t, geom, &d->cands[n]))
      n++;
  qsort(d->cands, (size_t)n, sizeof *d->cands, cand_cmp);
  int kept = n < d->cfg.max_dets ? n : d->cfg.max_dets;
  for (int k = 0; k < kept; k++) {
    emit(d, k, &d->cands[k]);
    fill_extras(d, k, NULL, NULL);
  }
  *dets = d->dets;
  *n_dets = kept;
fail:
  return st;
}
