/* The pull API: configuration, batches of sampled frames, letterbox geometry, thumbnails and
 * tokens (rv_patchify). Decoding lives behind source-impl.h. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/ingest.h>
#include <ringvit/ops.h>

#include "source-impl.h"

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
  size_t thumbs_bytes;
  int64_t *pts, *index;
  int dim;             /* 3 * T * P * P */
  uint8_t pad_rgb[3];  /* letterbox padding: the mean colour, so it normalizes to ~0 */
  rv_source_frame cur; /* the frame the source holds */
  int held;            /* cur is not in a batch yet (it ended the previous one) */
  int rect_x, rect_y, rect_w, rect_h, thumb_h;
  rv_status done; /* RV_EOF or the error that ended the input */
  char done_msg[512];
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
  if (!c->path && !c->io) return RV_FAIL(RV_ERR_INVALID, "cfg.path or cfg.io must be set");
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
  size_t nframes = (size_t)c->batch;
  ing->frames = malloc(nframes * frame_bytes);
  ing->pts = malloc(nframes * sizeof *ing->pts);
  ing->index = malloc(nframes * sizeof *ing->index);
  if (!ing->frames || !ing->pts || !ing->index)
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
  RV_TRY(rv_source_open(cfg, &ing->src));
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

/* Where the source goes in the model input (letterbox by display aspect, or stretch), the
 * geometry that maps it back, and the thumbnail size; per batch. */
static rv_status set_geometry(rv_ingest *ing, const rv_source_frame *f) {
  const rv_ingest_cfg *c = &ing->cfg;
  double disp_w = (double)f->width * f->sar;
  ing->rect_x = ing->rect_y = 0;
  ing->rect_w = c->width;
  ing->rect_h = c->height;
  if (c->resize == RV_RESIZE_LETTERBOX) {
    double s = fmin(c->width / disp_w, c->height / (double)f->height);
    ing->rect_w = (int)fmax(1, fmin(c->width, lround(disp_w * s)));
    ing->rect_h = (int)fmax(1, fmin(c->height, lround(f->height * s)));
    ing->rect_x = (c->width - ing->rect_w) / 2;
    ing->rect_y = (c->height - ing->rect_h) / 2;
  }
  rv_frame_geom *g = &ing->batch.geom;
  *g = (rv_frame_geom){f->width,
                       f->height,
                       c->width,
                       c->height,
                       (float)ing->rect_w / (float)f->width,
                       (float)ing->rect_h / (float)f->height,
                       (float)ing->rect_x,
                       (float)ing->rect_y};
  ing->batch.src_width = f->width;
  ing->batch.src_height = f->height;
  if (c->thumb_width == 0) return RV_OK;
  ing->thumb_h =
      (int)fmax(1, fmin(RV_INGEST_MAX_SIDE, lround(c->thumb_width * f->height / disp_w)));
  size_t need = (size_t)c->batch * (size_t)ing->thumb_h * (size_t)c->thumb_width * 3;
  if (need > ing->thumbs_bytes) {
    uint8_t *p = realloc(ing->thumbs, need);
    if (!p) return RV_FAIL(RV_ERR_NOMEM, "thumbnails of %zu bytes", need);
    ing->thumbs = p;
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

static rv_status fill_slot(rv_ingest *ing, int i) {
  const rv_ingest_cfg *c = &ing->cfg;
  uint8_t *dst = frame_slot(ing, i);
  size_t stride = (size_t)c->width * 3;
  if (ing->rect_w != c->width || ing->rect_h != c->height)
    for (size_t p = 0; p < (size_t)c->width * c->height; p++)
      memcpy(dst + 3 * p, ing->pad_rgb, 3);
  rv_status st = rv_source_render(ing->src, 0, dst + ing->rect_y * stride + (size_t)ing->rect_x * 3,
                                  (int)stride, ing->rect_w, ing->rect_h);
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

rv_status rv_ingest_next(rv_ingest *ing, const rv_ingest_batch **out) {
  if (out) *out = NULL;
  if (!ing || !out) return RV_FAIL(RV_ERR_INVALID, "ingest and out must not be NULL");
  if (ing->done != RV_OK && !ing->held)
    return ing->done == RV_EOF ? RV_EOF : RV_FAIL(ing->done, "%s", ing->done_msg);
  int n = 0;
  rv_status st = fill_frames(ing, &n);
  if (n == 0) return st;
  const rv_ingest_cfg *c = &ing->cfg;
  rv_ingest_batch *b = &ing->batch;
  b->n_pad = pad_tubelet(ing, n);
  b->n = n + b->n_pad;
  b->frames = rv_tensor_4d(ing->frames, RV_U8, b->n, c->height, c->width, 3);
  b->thumbs = c->thumb_width
                  ? rv_tensor_4d(ing->thumbs, RV_U8, b->n, ing->thumb_h, c->thumb_width, 3)
                  : (rv_tensor){0};
  b->tokens = (rv_tensor){0};
  if (c->patch > 0 && (st = make_tokens(ing)) < 0) return st;
  *out = b;
  return RV_OK;
}

void rv_ingest_close(rv_ingest *ing) {
  if (!ing) return;
  rv_source_close(ing->src);
  if (ing->be) {
    rv_backend_dealloc(ing->be, ing->tokens);
    rv_backend_dealloc(ing->be, ing->dev_frames);
  }
  rv_backend_free(ing->own_be);
  free(ing->frames);
  free(ing->thumbs);
  free(ing->pts);
  free(ing->index);
  free(ing);
}

const rv_ingest_info *rv_ingest_get_info(const rv_ingest *ing) {
  return ing ? rv_source_info(ing->src) : NULL;
}

rv_ingest_stats rv_ingest_get_stats(const rv_ingest *ing) {
  rv_ingest_stats z = {0};
  return ing ? rv_source_stats(ing->src) : z;
}

rv_ingest_progress rv_ingest_get_progress(const rv_ingest *ing) {
  rv_ingest_progress p = {0, 0, -1};
  if (!ing) return p;
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
