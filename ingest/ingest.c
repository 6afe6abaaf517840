/* The pull API: configuration, batches of sampled frames, letterbox geometry, thumbnails and
 * tokens (rv_patchify). Decoding lives behind source-impl.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/ingest.h>
#include <ringvit/ops.h>

#include "source-impl.h"
#include "timeline-impl.h"

#define RV_INGEST_MAX_SIDE  8192
#define RV_INGEST_MAX_BATCH 4096

struct rv_ingest {
  rv_ingest_cfg cfg; /* path and io are borrowed only during open */
  rv_source *src;
  rv_backend *be, *own_be;
  rv_ingest_batch batch;
  uint8_t *frames;  /* host [batch, H, W, 3] */
  void *dev_frames; /* a device copy for device backends */
  void *tokens;     /* backend memory */
  uint8_t *thumbs;  /* host [batch, th, tw, 3] */
  rv_image *source; /* [batch] with keep_source: the frames as decoded */
  int skip_kept;    /* kept frames are not rendered into `frames` (rv_ingest_skip_kept) */
  size_t thumbs_bytes;
  int64_t *pts, *index;
  int dim;             /* 3 * T * P * P */
  uint8_t pad_rgb[3];  /* letterbox padding: the mean colour, so it normalizes to ~0 */
  rv_source_frame cur; /* the frame the source holds */
  int held;            /* cur is not in a batch yet (it ended the previous one) */
  int rect_x, rect_y, rect_w, rect_h, thumb_h;
  rv_status done; /* RV_EOF or the error that ended the input */
  char done_msg[512];
  struct rv_ingest_pushed *push; /* push mode only */
};

/* Where a frame goes in the model input. */
typedef struct rv_placement {
  int rect_x, rect_y, rect_w, rect_h;
  rv_frame_geom geom;
} rv_placement;

/* Push mode: sampled frames collect in slots 0..n-1; a frame of another size than the
 * pending ones waits in the spare slot `batch` until the batch before it is taken. */
struct rv_ingest_pushed {
  rv_image_scaler *scaler;
  rv_sampler sampler;
  int64_t last_pts;
  int n;     /* frames in slots, not yet a batch */
  int ready; /* ing->batch is complete and waits for rv_ingest_next */
  int taken; /* ing->batch was handed out: its slots are reused at the next call */
  int spare; /* a frame waits in the spare slot */
  rv_source_frame spare_frame;
  int ended;
};

void rv_ingest_cfg_default(rv_ingest_cfg *cfg) {
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
  memset(cfg, 0, sizeof *cfg);
  cfg->fps = 2.0;
  cfg->width = cfg->height = 224;
  cfg->resize = RV_RESIZE_LETTERBOX;
  memcpy(cfg->mean, mean, sizeof mean);
  memcpy(cfg->std, std, sizeof std);
  cfg->patch = 16;
  cfg->tubelet = 1;
  cfg->batch = 8;
  cfg->hwaccel = RV_HWACCEL_AUTO;
  cfg->skip = RV_SKIP_AUTO;
}

static rv_status check_sizes(const rv_ingest_cfg *c) {
  if (c->width < 1 || c->height < 1 || c->width > RV_INGEST_MAX_SIDE ||
      c->height > RV_INGEST_MAX_SIDE)
    return RV_FAIL(RV_ERR_INVALID, "model input %dx%d outside 1..%d", c->width, c->height,
                   RV_INGEST_MAX_SIDE);
  if (c->patch < 0 || (c->patch > 0 && (c->width % c->patch || c->height % c->patch)))
    return RV_FAIL(RV_ERR_INVALID, "model input %dx%d does not split into %d-pixel patches",
                   c->width, c->height, c->patch);
  if (c->tubelet != 1 && c->tubelet != 2)
    return RV_FAIL(RV_ERR_INVALID, "tubelet must be 1 or 2, got %d", c->tubelet);
  if (c->batch < c->tubelet || c->batch > RV_INGEST_MAX_BATCH || c->batch % c->tubelet)
    return RV_FAIL(RV_ERR_INVALID, "batch %d must be a multiple of tubelet %d in 1..%d", c->batch,
                   c->tubelet, RV_INGEST_MAX_BATCH);
  if (c->thumb_width < 0 || c->thumb_width > RV_INGEST_MAX_SIDE)
    return RV_FAIL(RV_ERR_INVALID, "thumb_width %d outside 0..%d", c->thumb_width,
                   RV_INGEST_MAX_SIDE);
  return RV_OK;
}

static rv_status check_cfg(const rv_ingest_cfg *c) {
  if (!c->path && !c->io && !c->push)
    return RV_FAIL(RV_ERR_INVALID, "cfg.path or cfg.io must be set (or cfg.push)");
  if (c->push && c->keep_source)
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "push mode has no decoded frames to keep (keep_source must be 0)");
  if (c->push && c->thumb_width)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "push mode makes no thumbnails (thumb_width must be 0)");
  if (!(c->fps >= 0) || !isfinite(c->fps) || c->fps > 1000)
    return RV_FAIL(RV_ERR_INVALID, "fps must be in [0, 1000], got %g", c->fps);
  if (!(c->start_s >= 0) || !(c->end_s >= 0) || !isfinite(c->start_s) || !isfinite(c->end_s) ||
      (c->end_s > 0 && c->end_s <= c->start_s))
    return RV_FAIL(RV_ERR_INVALID, "range %g..%g s: need 0 <= start < end (end 0 = all)",
                   c->start_s, c->end_s);
  if (c->threads < 0 || c->threads > 256)
    return RV_FAIL(RV_ERR_INVALID, "threads %d outside 0..256", c->threads);
  if ((unsigned)c->resize > RV_RESIZE_STRETCH || (unsigned)c->hwaccel > RV_HWACCEL_CUDA ||
      (unsigned)c->skip > RV_SKIP_KEYFRAMES)
    return RV_FAIL(RV_ERR_INVALID, "resize, hwaccel or skip out of range");
  for (int i = 0; i < 3; i++)
    if (!isfinite(c->mean[i]) || !isfinite(c->std[i]) || c->std[i] == 0.0f)
      return RV_FAIL(RV_ERR_INVALID,
                     "std[%d] = %g: mean and std must be finite, std non-zero "
                     "(rv_ingest_cfg_default sets ImageNet's)",
                     i, c->std[i]);
  return check_sizes(c);
}

static rv_status alloc_buffers(rv_ingest *ing) {
  const rv_ingest_cfg *c = &ing->cfg;
  size_t frame_bytes = (size_t)c->width * c->height * 3;
  size_t nframes = (size_t)c->batch + (c->push ? 1 : 0); /* push mode: the spare slot */
  ing->frames = malloc(nframes * frame_bytes);
  ing->pts = malloc(nframes * sizeof *ing->pts);
  ing->index = malloc(nframes * sizeof *ing->index);
  if (c->keep_source) ing->source = calloc(nframes, sizeof *ing->source);
  if (!ing->frames || !ing->pts || !ing->index || (c->keep_source && !ing->source))
    return RV_FAIL(RV_ERR_NOMEM, "batch of %zu frames %dx%d", nframes, c->width, c->height);
  if (c->patch == 0) return RV_OK;
  ing->dim = 3 * c->tubelet * c->patch * c->patch;
  size_t tokens = nframes / (size_t)c->tubelet * (size_t)(c->width / c->patch) *
                  (size_t)(c->height / c->patch) * (size_t)ing->dim;
  rv_status st = rv_backend_alloc(ing->be, tokens * rv_dtype_size(rv_backend_act_dtype(ing->be)),
                                  &ing->tokens);
  if (st == RV_OK && rv_backend_mem(ing->be) != RV_MEM_HOST)
    st = rv_backend_alloc(ing->be, nframes * frame_bytes, &ing->dev_frames);
  return st;
}

static void init_batch(rv_ingest *ing) {
  const rv_ingest_cfg *c = &ing->cfg;
  for (int i = 0; i < 3; i++) {
    float v = roundf(c->mean[i] * 255.0f);
    ing->pad_rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
  ing->batch.pts_ns = ing->pts;
  ing->batch.frame_index = ing->index;
  ing->batch.tokens_per_frame = c->patch ? (c->width / c->patch) * (c->height / c->patch) : 0;
}

rv_status rv_ingest_open(const rv_ingest_cfg *cfg, rv_ingest **out) {
  rv_status st = RV_OK;
  rv_ingest *ing = NULL;
  if (!out) return RV_FAIL(RV_ERR_INVALID, "out must not be NULL");
  *out = NULL;
  if (!cfg) return RV_FAIL(RV_ERR_INVALID, "cfg must not be NULL");
  RV_TRY(check_cfg(cfg));
  ing = calloc(1, sizeof *ing);
  if (!ing) RV_TRY_FAIL(RV_ERR_NOMEM, "ingest");
  ing->cfg = *cfg;
  ing->be = cfg->backend;
  if (!ing->be && cfg->patch > 0) {
    rv_backend_cfg bc = {.kind = RV_BACKEND_CPU, .threads = 1};
    RV_TRY(rv_backend_init(&bc, &ing->own_be));
    ing->be = ing->own_be;
  }
  if (cfg->push) {
    ing->push = calloc(1, sizeof *ing->push);
    if (!ing->push) RV_TRY_FAIL(RV_ERR_NOMEM, "ingest");
    RV_TRY(rv_image_scaler_init(&ing->push->scaler));
    rv_ingest_push_reset(ing);
  } else {
    RV_TRY(rv_source_open(cfg, &ing->src));
  }
  RV_TRY(alloc_buffers(ing));
  init_batch(ing);
  ing->cfg.path = NULL;
  ing->cfg.io = NULL;
  *out = ing;
  return RV_OK;
fail:
  rv_ingest_close(ing);
  return st;
}

/* Where the source goes in the model input (letterbox by display aspect, or stretch) and
 * the geometry that maps it back. */
static rv_placement place_frame(const rv_ingest_cfg *c, const rv_source_frame *f) {
  double disp_w = (double)f->width * f->sar;
  rv_placement p = {0, 0, c->width, c->height, {0}};
  if (c->resize == RV_RESIZE_LETTERBOX) {
    double s = fmin(c->width / disp_w, c->height / (double)f->height);
    p.rect_w = (int)fmax(1, fmin(c->width, lround(disp_w * s)));
    p.rect_h = (int)fmax(1, fmin(c->height, lround(f->height * s)));
    p.rect_x = (c->width - p.rect_w) / 2;
    p.rect_y = (c->height - p.rect_h) / 2;
  }
  p.geom = (rv_frame_geom){f->width,
                           f->height,
                           c->width,
                           c->height,
                           (float)p.rect_w / (float)f->width,
                           (float)p.rect_h / (float)f->height,
                           (float)p.rect_x,
                           (float)p.rect_y};
  return p;
}

/* The placement and thumbnail size of a batch's frames. */
static rv_status set_geometry(rv_ingest *ing, const rv_source_frame *f) {
  const rv_ingest_cfg *c = &ing->cfg;
  rv_placement p = place_frame(c, f);
  ing->rect_x = p.rect_x;
  ing->rect_y = p.rect_y;
  ing->rect_w = p.rect_w;
  ing->rect_h = p.rect_h;
  ing->batch.geom = p.geom;
  ing->batch.src_width = f->width;
  ing->batch.src_height = f->height;
  if (c->thumb_width == 0) return RV_OK;
  double disp_w = (double)f->width * f->sar;
  ing->thumb_h =
      (int)fmax(1, fmin(RV_INGEST_MAX_SIDE, lround(c->thumb_width * f->height / disp_w)));
  size_t need = (size_t)c->batch * (size_t)ing->thumb_h * (size_t)c->thumb_width * 3;
  if (need > ing->thumbs_bytes) {
    uint8_t *t = realloc(ing->thumbs, need);
    if (!t) return RV_FAIL(RV_ERR_NOMEM, "thumbnails of %zu bytes", need);
    ing->thumbs = t;
    ing->thumbs_bytes = need;
  }
  return RV_OK;
}

static uint8_t *frame_slot(const rv_ingest *ing, int i) {
  return ing->frames + (size_t)i * (size_t)ing->cfg.width * ing->cfg.height * 3;
}

static uint8_t *thumb_slot(const rv_ingest *ing, int i) {
  return ing->thumbs + (size_t)i * (size_t)ing->thumb_h * ing->cfg.thumb_width * 3;
}

/* The model input of slot i: padding, then the frame scaled into its rectangle by
 * render(slot 0) (a decoded frame) or by the image scaler (a pushed one). */
static rv_status render_slot(rv_ingest *ing, int i, const rv_placement *p, const rv_image *img) {
  const rv_ingest_cfg *c = &ing->cfg;
  uint8_t *dst = frame_slot(ing, i);
  size_t stride = (size_t)c->width * 3;
  if (p->rect_w != c->width || p->rect_h != c->height)
    for (size_t k = 0; k < (size_t)c->width * c->height; k++)
      memcpy(dst + 3 * k, ing->pad_rgb, 3);
  uint8_t *rect = dst + p->rect_y * stride + (size_t)p->rect_x * 3;
  if (img) return rv_image_render(ing->push->scaler, img, rect, (int)stride, p->rect_w, p->rect_h);
  return rv_source_render(ing->src, 0, rect, (int)stride, p->rect_w, p->rect_h);
}

static rv_status fill_slot(rv_ingest *ing, int i) {
  const rv_ingest_cfg *c = &ing->cfg;
  rv_placement p = {ing->rect_x, ing->rect_y, ing->rect_w, ing->rect_h, ing->batch.geom};
  rv_status st = c->keep_source ? rv_source_keep(ing->src, i, &ing->source[i]) : RV_OK;
  if (st == RV_OK && !(ing->skip_kept && ing->source[i].width > 0))
    st = render_slot(ing, i, &p, NULL);
  if (st == RV_OK && c->thumb_width > 0)
    st = rv_source_render(ing->src, 1, thumb_slot(ing, i), c->thumb_width * 3, c->thumb_width,
                          ing->thumb_h);
  ing->pts[i] = ing->cur.pts_ns;
  ing->index[i] = ing->cur.index;
  return st;
}

static int same_source(const rv_ingest *ing, const rv_source_frame *f) {
  return f->width == ing->batch.src_width && f->height == ing->batch.src_height;
}

/* Frames into slots until the batch is full, the input ends or the source size changes. */
static rv_status fill_frames(rv_ingest *ing, int *n_out) {
  rv_status st = RV_OK;
  int n = 0;
  while (n < ing->cfg.batch) {
    if (!ing->held) {
      st = rv_source_next(ing->src, &ing->cur);
      if (st != RV_OK) break;
    }
    ing->held = 0;
    if (n > 0 && !same_source(ing, &ing->cur)) {
      ing->held = 1;
      break;
    }
    if (n == 0) RV_TRY(set_geometry(ing, &ing->cur));
    RV_TRY(fill_slot(ing, n));
    n++;
  }
  if (st != RV_OK) { /* the end, or an error: what came before it is still delivered */
    ing->done = st;
    snprintf(ing->done_msg, sizeof ing->done_msg, "%s", st < 0 ? rv_last_error() : "");
  }
  *n_out = n;
  return n > 0 ? RV_OK : st;
fail:
  return st;
}

/* Repeats the last frame so the batch holds whole tubelets. */
static int pad_tubelet(rv_ingest *ing, int n) {
  const rv_ingest_cfg *c = &ing->cfg;
  int pad = 0;
  while (n % c->tubelet) {
    memcpy(frame_slot(ing, n), frame_slot(ing, n - 1), (size_t)c->width * c->height * 3);
    if (c->thumb_width > 0)
      memcpy(thumb_slot(ing, n), thumb_slot(ing, n - 1), (size_t)ing->thumb_h * c->thumb_width * 3);
    if (c->keep_source) ing->source[n] = ing->source[n - 1]; /* the same kept frame */
    ing->pts[n] = ing->pts[n - 1];
    ing->index[n] = ing->index[n - 1];
    n++;
    pad++;
  }
  return pad;
}

static rv_status make_tokens(rv_ingest *ing) {
  const rv_ingest_cfg *c = &ing->cfg;
  rv_ingest_batch *b = &ing->batch;
  rv_tensor frames = b->frames;
  if (ing->dev_frames) {
    rv_status st =
        rv_backend_upload(ing->be, ing->dev_frames, ing->frames, rv_tensor_span_bytes(&b->frames));
    if (st < 0) return st;
    frames.data = ing->dev_frames;
    frames.mem = rv_backend_mem(ing->be);
  }
  b->tokens = rv_tensor_2d(ing->tokens, rv_backend_act_dtype(ing->be),
                           (int64_t)(b->n / c->tubelet) * b->tokens_per_frame, ing->dim);
  b->tokens.mem = rv_backend_mem(ing->be);
  return rv_patchify(ing->be, &frames, c->mean, c->std, c->patch, c->tubelet, &b->tokens);
}

/* n frames in slots -> the batch: tubelet padding, tensors, tokens. */
static rv_status complete_batch(rv_ingest *ing, int n) {
  const rv_ingest_cfg *c = &ing->cfg;
  rv_ingest_batch *b = &ing->batch;
  b->n_pad = pad_tubelet(ing, n);
  b->n = n + b->n_pad;
  b->frames = rv_tensor_4d(ing->frames, RV_U8, b->n, c->height, c->width, 3);
  b->thumbs = c->thumb_width
                  ? rv_tensor_4d(ing->thumbs, RV_U8, b->n, ing->thumb_h, c->thumb_width, 3)
                  : (rv_tensor){0};
  b->tokens = (rv_tensor){0};
  b->source = c->keep_source ? ing->source : NULL;
  return c->patch > 0 ? make_tokens(ing) : RV_OK;
}

static rv_status next_pushed(rv_ingest *ing, const rv_ingest_batch **out);

rv_status rv_ingest_skip_kept(rv_ingest *ing, int skip) {
  if (!ing) return RV_FAIL(RV_ERR_INVALID, "ingest must not be NULL");
  if (skip && (!ing->cfg.keep_source || ing->cfg.patch > 0))
    return RV_FAIL(RV_ERR_INVALID,
                   "skipping kept frames needs keep_source and no tokens (patch 0): tokens are "
                   "made from the converted frames");
  ing->skip_kept = skip != 0;
  return RV_OK;
}

rv_status rv_ingest_next(rv_ingest *ing, const rv_ingest_batch **out) {
  if (out) *out = NULL;
  if (!ing || !out) return RV_FAIL(RV_ERR_INVALID, "ingest and out must not be NULL");
  if (ing->push) return next_pushed(ing, out);
  if (ing->done != RV_OK && !ing->held)
    return ing->done == RV_EOF ? RV_EOF : RV_FAIL(ing->done, "%s", ing->done_msg);
  int n = 0;
  rv_status st = fill_frames(ing, &n);
  if (n == 0) return st;
  if ((st = complete_batch(ing, n)) < 0) return st;
  *out = &ing->batch;
  return RV_OK;
}

/* ---- push mode ---- */

static rv_status check_image(const rv_image *img) {
  if ((unsigned)img->format > RV_PIXEL_NV12)
    return RV_FAIL(RV_ERR_INVALID, "pixel format %d unknown", (int)img->format);
  if (img->width < 1 || img->height < 1 || img->width > RV_INGEST_MAX_SIDE ||
      img->height > RV_INGEST_MAX_SIDE)
    return RV_FAIL(RV_ERR_INVALID, "frame %dx%d outside 1..%d", img->width, img->height,
                   RV_INGEST_MAX_SIDE);
  int planes = img->format == RV_PIXEL_I420 ? 3 : img->format == RV_PIXEL_NV12 ? 2 : 1;
  for (int i = 0; i < planes; i++)
    if (!img->data[i] || img->stride[i] < 1)
      return RV_FAIL(RV_ERR_INVALID, "plane %d of the frame is missing", i);
  if (!(img->sar >= 0) || img->sar > 100)
    return RV_FAIL(RV_ERR_INVALID, "pixel aspect ratio %g out of range", img->sar);
  return RV_OK;
}

/* Frees the slots of a batch handed out: a frame in the spare slot moves to slot 0. */
static rv_status recycle(rv_ingest *ing) {
  rv_status st = RV_OK;
  struct rv_ingest_pushed *p = ing->push;
  if (!p->taken) return RV_OK;
  p->taken = 0;
  if (!p->spare) return RV_OK;
  p->spare = 0;
  const rv_ingest_cfg *c = &ing->cfg;
  memcpy(frame_slot(ing, 0), frame_slot(ing, c->batch), (size_t)c->width * c->height * 3);
  ing->pts[0] = p->spare_frame.pts_ns;
  ing->index[0] = p->spare_frame.index;
  RV_TRY(set_geometry(ing, &p->spare_frame));
  p->n = 1;
  if (p->n == c->batch) {
    RV_TRY(complete_batch(ing, p->n));
    p->ready = 1, p->n = 0;
  }
fail:
  return st;
}

rv_status rv_ingest_push(rv_ingest *ing, const rv_image *img, int64_t pts_ns, int64_t frame_index,
                         int *taken) {
  rv_status st = RV_OK;
  if (taken) *taken = 0;
  if (!ing || !img) return RV_FAIL(RV_ERR_INVALID, "ingest and image must not be NULL");
  struct rv_ingest_pushed *p = ing->push;
  if (!p) return RV_FAIL(RV_ERR_INVALID, "rv_ingest_push needs an ingest opened with cfg.push");
  RV_TRY(check_image(img));
  RV_TRY(recycle(ing));
  if (p->ready || p->spare) return RV_AGAIN;
  if (p->ended) return RV_FAIL(RV_ERR_INVALID, "frame pushed after rv_ingest_push_end");
  if (pts_ns == RV_TS_NONE || (p->last_pts != RV_TS_NONE && pts_ns <= p->last_pts))
    return RV_FAIL(RV_ERR_INVALID, "frame timestamps must increase: %lld after %lld",
                   (long long)pts_ns, (long long)p->last_pts);
  p->last_pts = pts_ns;
  if (!rv_sampler_take(&p->sampler, pts_ns)) return RV_OK;
  if (taken) *taken = 1;
  const rv_ingest_cfg *c = &ing->cfg;
  rv_source_frame f = {pts_ns, frame_index, img->width, img->height, img->sar > 0 ? img->sar : 1};
  int slot = p->n;
  if (p->n > 0 && !same_source(ing, &f)) { /* the pending frames make a batch of their own */
    RV_TRY(complete_batch(ing, p->n));
    p->ready = 1, p->n = 0;
    p->spare = 1;
    p->spare_frame = f;
    slot = c->batch;
  } else if (p->n == 0) {
    RV_TRY(set_geometry(ing, &f));
  }
  rv_placement pl = place_frame(c, &f);
  RV_TRY(render_slot(ing, slot, &pl, img));
  if (slot == c->batch) goto fail; /* the spare: it joins a batch when this one is taken */
  ing->pts[slot] = pts_ns;
  ing->index[slot] = frame_index;
  if (++p->n == c->batch) {
    RV_TRY(complete_batch(ing, p->n));
    p->ready = 1, p->n = 0;
  }
fail:
  return st;
}

rv_status rv_ingest_push_end(rv_ingest *ing) {
  if (!ing || !ing->push)
    return RV_FAIL(RV_ERR_INVALID, "rv_ingest_push_end needs an ingest opened with cfg.push");
  ing->push->ended = 1;
  return RV_OK;
}

void rv_ingest_push_reset(rv_ingest *ing) {
  if (!ing || !ing->push) return;
  struct rv_ingest_pushed *p = ing->push;
  rv_image_scaler *scaler = p->scaler;
  memset(p, 0, sizeof *p);
  p->scaler = scaler;
  p->last_pts = RV_TS_NONE;
  rv_sampler_init(&p->sampler, ing->cfg.fps, RV_TS_NONE);
}

static rv_status next_pushed(rv_ingest *ing, const rv_ingest_batch **out) {
  rv_status st = RV_OK;
  struct rv_ingest_pushed *p = ing->push;
  RV_TRY(recycle(ing));
  if (!p->ready && p->ended && p->n > 0) {
    RV_TRY(complete_batch(ing, p->n));
    p->ready = 1, p->n = 0;
  }
  if (!p->ready) return p->ended ? RV_EOF : RV_AGAIN;
  p->ready = 0;
  p->taken = 1;
  *out = &ing->batch;
fail:
  return st;
}

void rv_ingest_close(rv_ingest *ing) {
  if (!ing) return;
  rv_source_close(ing->src);
  if (ing->push) rv_image_scaler_free(ing->push->scaler);
  free(ing->push);
  if (ing->be) {
    rv_backend_dealloc(ing->be, ing->tokens);
    rv_backend_dealloc(ing->be, ing->dev_frames);
  }
  rv_backend_free(ing->own_be);
  free(ing->frames);
  free(ing->thumbs);
  free(ing->source);
  free(ing->pts);
  free(ing->index);
  free(ing);
}

const rv_ingest_info *rv_ingest_get_info(const rv_ingest *ing) {
  static const rv_ingest_info pushed = {"push", "raw", 0, 0, 0, 0, 0, 0, 0, 0};
  if (ing && ing->push) return &pushed;
  return ing ? rv_source_info(ing->src) : NULL;
}

rv_ingest_stats rv_ingest_get_stats(const rv_ingest *ing) {
  rv_ingest_stats z = {0};
  return ing && ing->src ? rv_source_stats(ing->src) : z;
}

rv_ingest_progress rv_ingest_get_progress(const rv_ingest *ing) {
  rv_ingest_progress p = {0, 0, -1};
  if (!ing || ing->push) return p;
  p.position_s = rv_source_position(ing->src);
  p.duration_s = rv_source_info(ing->src)->duration_s;
  double lo = ing->cfg.start_s, hi = p.duration_s;
  if (ing->cfg.end_s > 0 && (hi <= 0 || ing->cfg.end_s < hi)) hi = ing->cfg.end_s;
  if (ing->done == RV_EOF && !ing->held)
    p.fraction = 1;
  else if (hi > lo)
    p.fraction = fmin(1, fmax(0, (p.position_s - lo) / (hi - lo)));
  return p;
}
