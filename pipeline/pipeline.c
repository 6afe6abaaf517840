/* The analysis pipeline: ingest (on the decode stage's thread) -> encoder -> heads ->
 * tracker -> action segmenter, one result per sampled frame. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ringvit/comm.h>
#include <ringvit/config.h>
#include <ringvit/detect.h>
#include <ringvit/ingest.h>
#include <ringvit/pipeline.h>
#include <ringvit/track.h>
#include <ringvit/vit.h>

#include "pipeline-impl.h"

void rv_pipeline_cfg_default(rv_pipeline_cfg *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->device = RV_DEVICE_AUTO;
  cfg->mode = RV_MODE_OFFLINE;
}

const char *rv_pipeline_default_model(void) {
  static const char *const candidates[] = {RV_INSTALLED_MODEL, RV_SOURCE_MODEL};
  const char *env = getenv("RINGVIT_MODEL");
  if (env && env[0]) return env;
  for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
    if (access(candidates[i], R_OK) == 0) return candidates[i];
  return RV_SOURCE_MODEL;
}

double rv_pipeline_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static rv_status check_cfg(const rv_pipeline_cfg *cfg) {
  if (!cfg->push && (!cfg->input || !cfg->input[0]))
    return RV_FAIL(RV_ERR_INVALID, "no input given");
  if (cfg->push && cfg->thumb_width)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "push mode makes no thumbnails (thumb_width must be 0)");
  if (cfg->mode != RV_MODE_OFFLINE && cfg->mode != RV_MODE_STREAM)
    return RV_FAIL(RV_ERR_INVALID, "mode must be offline or stream");
  if (cfg->window_s > 0 && cfg->mode == RV_MODE_STREAM)
    return RV_FAIL(RV_ERR_INVALID,
                   "a window (%g s) is offline mode's context; stream mode takes context_s",
                   cfg->window_s);
  if (!(cfg->fps >= 0) || cfg->fps > 1000)
    return RV_FAIL(RV_ERR_INVALID, "fps %g out of range", cfg->fps);
  if (cfg->start_s < 0 || cfg->end_s < 0 || (cfg->end_s > 0 && cfg->end_s <= cfg->start_s))
    return RV_FAIL(RV_ERR_INVALID, "bad range: start %g s, end %g s", cfg->start_s, cfg->end_s);
  if (cfg->window_s < 0 || cfg->context_s < 0)
    return RV_FAIL(RV_ERR_INVALID, "window and context must be >= 0 seconds");
  if (cfg->threshold < 0 || cfg->threshold >= 1)
    return RV_FAIL(RV_ERR_INVALID, "threshold %g must be in [0, 1)", cfg->threshold);
  if (cfg->thumb_width < 0 || cfg->thumb_width > 4096)
    return RV_FAIL(RV_ERR_INVALID, "thumbnail width %d out of range", cfg->thumb_width);
  return RV_OK;
}

/* The encoder runs on the CPU backends; a CUDA request is refused plainly rather than
 * silently served by the CPU. */
static rv_status open_backend(rv_pipeline *p) {
  rv_backend_cfg bc = {RV_BACKEND_CPU, p->cfg.threads, 0};
  if (p->cfg.device == RV_DEVICE_CUDA)
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "--device cuda: the encoder of this build runs on the CPU backends only");
  return rv_backend_init(&bc, &p->be);
}

static rv_status open_ingest(rv_pipeline *p) {
  const rv_vit_config *mc = p->mc;
  rv_ingest_cfg ic;
  rv_ingest_cfg_default(&ic);
  ic.path = p->cfg.input;
  ic.fps = p->fps;
  ic.width = mc->image_w;
  ic.height = mc->image_h;
  memcpy(ic.mean, mc->mean, sizeof ic.mean);
  memcpy(ic.std, mc->std, sizeof ic.std);
  ic.patch = mc->patch;
  ic.tubelet = mc->tubelet;
  /* pushed frames are encoded as they come: one tubelet at a time */
  ic.batch = p->cfg.push ? mc->tubelet : 8 * mc->tubelet;
  ic.push = p->cfg.push;
  ic.start_s = p->cfg.start_s;
  ic.end_s = p->cfg.end_s;
  ic.threads = p->cfg.threads;
  ic.thumb_width = p->rank == 0 ? p->cfg.thumb_width : 0; /* rank 0 makes the results */
  /* the decode stage calls ingest on its own thread: ingest keeps a backend of its own
   * (sharing the encoder's would run two jobs at once on one thread pool: a deadlock) */
  ic.backend = NULL;
  p->batch_frames = ic.batch;
  return rv_ingest_open(&ic, &p->ing);
}

/* Encoder frames the whole offline context can hold: the input's range at the sampling
 * rate, with room for rounding and a variable frame rate. */
static rv_status plan_context(rv_pipeline *p, int *max_frames) {
  const rv_ingest_info *info = rv_ingest_get_info(p->ing);
  int per_call = p->batch_frames / p->mc->tubelet;
  if (p->cfg.mode == RV_MODE_STREAM) {
    *max_frames = per_call;
    return RV_OK;
  }
  double limit = p->cfg.max_memory_mb > 0 ? p->cfg.max_memory_mb : 4096.0;
  if (p->cfg.push) { /* the length is unknown: as many frames as the memory limit allows */
    double enc = floor(limit * 1048576.0 / rv_pipeline_bytes_per_frame(p));
    *max_frames = enc > 1e7 ? 10000000 : enc < per_call ? per_call : (int)enc;
    return RV_OK;
  }
  double end = p->cfg.end_s > 0 ? p->cfg.end_s : info->duration_s;
  if (!(end > 0))
    return RV_FAIL(RV_ERR_UNSUPPORTED,
                   "%s: the input's duration is unknown (a live source?): "
                   "offline mode needs it, use --mode stream",
                   p->cfg.input);
  if (info->duration_s > 0 && end > info->duration_s) end = info->duration_s;
  double frames = ceil((end - p->cfg.start_s) * p->fps * 1.02) + 2.0 * p->batch_frames;
  double enc = ceil(frames / p->mc->tubelet);
  int ranks = p->cfg.comm ? rv_comm_size(p->cfg.comm) : 1; /* each keeps its share */
  double mb = ceil(enc / ranks) * rv_pipeline_bytes_per_frame(p) / 1048576.0;
  if (mb > limit)
    return RV_FAIL(RV_ERR_NOMEM,
                   "offline context of %.0f frames needs about %.0f MB, over the %.0f MB "
                   "limit: use --window, --start/--end, --mode stream, or more ranks (mpirun)",
                   enc, mb, limit);
  *max_frames = (int)enc < per_call ? per_call : (int)enc;
  return RV_OK;
}

/* Ranks of a comm must run the same analysis (every rank decodes the input itself): a
 * rank given other options or another model fails them all with a clear error, before
 * any collective work. */
static rv_status check_ranks_agree(const rv_pipeline *p, int max_frames) {
  if (!p->cfg.comm) return RV_OK;
  static const char *const names[] = {
      "mode", "context frames", "fps (x1000)", "model parameters", "start (ms)", "end (ms)"};
  int64_t vals[] = {p->cfg.mode,
                    max_frames,
                    llround(p->fps * 1000.0),
                    rv_model_param_count(p->model),
                    llround(p->cfg.start_s * 1000.0),
                    llround(p->cfg.end_s * 1000.0)};
  return rv_comm_check_same(p->cfg.comm, "the ranks' analyses differ", 6, names, vals);
}

static rv_status open_heads(rv_pipeline *p) {
  rv_status st = RV_OK;
  const rv_vit_config *mc = p->mc;
  rv_det_decoder_cfg dc = {0};
  dc.n_classes = mc->num_classes;
  dc.n_act = mc->dense ? mc->num_track_actions : 0;
  dc.emb_dim = mc->dense ? mc->emb_dim : 0;
  dc.grid_h = mc->dense ? rv_vit_grid_h(mc, 0) : 0;
  dc.grid_w = mc->dense ? rv_vit_grid_w(mc, 0) : 0;
  dc.patch = mc->patch;
  dc.sub = mc->dense ? rv_vit_dense_sub(mc) : 1;
  dc.max_tokens = mc->set ? mc->det_tokens : 0;
  dc.peak = mc->dense_peak;
  dc.reach = mc->dense_reach;
  dc.class_offset = mc->dense_class_offsets ? mc->dense_class_offset : NULL;
  dc.action_offset = mc->dense_action_offsets ? mc->dense_action_offset : NULL;
  dc.score_thresh = p->cfg.threshold > 0    ? p->cfg.threshold
                    : mc->detect_thresh > 0 ? mc->detect_thresh
                                            : 0.3f;
  if (mc->dense || mc->set) RV_TRY(rv_det_decoder_init(&dc, &p->det));
  p->snap_label = -1; /* persons: the class whose boxes the foreground corrects */
  if (mc->tuning.foreground_diff > 0 && p->det)
    for (int i = 0; i < mc->num_classes; i++) {
      const char *name = rv_model_label(p->model, RV_LABEL_CLASS, i);
      if (name && !strcmp(name, "person")) p->snap_label = i;
    }
  if (!p->cfg.detect_only) RV_TRY(rv_pipeline_open_tracking(p));
fail:
  return st;
}

rv_status rv_pipeline_open(const rv_pipeline_cfg *cfg, rv_pipeline **out) {
  rv_status st = RV_OK;
  rv_pipeline *p = NULL;
  if (!cfg || !out) return RV_FAIL(RV_ERR_INVALID, "cfg and out must not be NULL");
  *out = NULL;
  RV_TRY(check_cfg(cfg));
  p = calloc(1, sizeof *p);
  if (!p) RV_TRY_FAIL(RV_ERR_NOMEM, "pipeline");
  p->cfg = *cfg;
  p->rank = cfg->comm ? rv_comm_rank(cfg->comm) : 0;
  p->input = strdup(cfg->push ? "frames" : cfg->input);
  p->model_path = strdup(cfg->model ? cfg->model : rv_pipeline_default_model());
  if (!p->input || !p->model_path) RV_TRY_FAIL(RV_ERR_NOMEM, "pipeline paths");
  p->cfg.input = p->input;
  p->cfg.model = p->model_path;
  RV_TRY(rv_model_load(p->model_path, &p->model));
  p->mc = rv_model_config(p->model);
  if (!p->mc) RV_TRY_FAIL(RV_ERR_FORMAT, "%s is not a ViT model", p->model_path);
  if (!p->mc->dense && !p->mc->set && !p->mc->scene)
    RV_TRY_FAIL(RV_ERR_FORMAT, "%s has no detection or action head to analyse with", p->model_path);
  p->fps = cfg->fps > 0 ? cfg->fps : (p->mc->fps > 0 ? p->mc->fps : 2.0);
  RV_TRY(open_backend(p));
  RV_TRY(open_ingest(p));
  int max_frames = 0;
  RV_TRY(plan_context(p, &max_frames));
  RV_TRY(check_ranks_agree(p, max_frames));
  rv_vit_cfg vc = {p->model,   p->be, 0,    0,           p->batch_frames / p->mc->tubelet,
                   max_frames, NULL,  NULL, p->cfg.comm, 0};
  if (cfg->mode == RV_MODE_OFFLINE && cfg->window_s > 0) /* +-window_s: frames <= that apart */
    vc.band_frames = (int)fmin(floor(cfg->window_s * p->fps / p->mc->tubelet) + 1, max_frames);
  RV_TRY(rv_vit_init(&vc, &p->vit));
  if (cfg->mode == RV_MODE_STREAM) {
    double ctx = cfg->context_s > 0 ? cfg->context_s : 60.0;
    RV_TRY(rv_vit_stream_init(p->vit, (int64_t)ceil(ctx * p->fps / p->mc->tubelet)));
  }
  RV_TRY(open_heads(p));
  RV_TRY(rv_pipeline_results_init(p, max_frames));
  RV_TRY(rv_decode_stage_start(p->ing, cfg->push ? 0 : 3,
                               p->snap_label >= 0 ? p->mc->tuning.foreground_diff : 0.0f, &p->dec));
  *out = p;
  return RV_OK;
fail:
  rv_pipeline_close(p);
  return st;
}

void rv_pipeline_close(rv_pipeline *p) {
  if (!p) return;
  rv_decode_stage_release(p->dec, p->cur);
  rv_decode_stage_stop(p->dec); /* before the ingest it reads */
  rv_ingest_close(p->ing);
  rv_pipeline_results_free(p);
  rv_tracking_free(p->trk);
  rv_det_decoder_free(p->det);
  rv_vit_free(p->vit);
  rv_backend_free(p->be);
  rv_model_free(p->model);
  free(p->input);
  free(p->model_path);
  free(p);
}

rv_status rv_pipeline_push(rv_pipeline *p, const rv_image *img, int64_t pts_ns,
                           int64_t frame_index) {
  if (!p || !img) return RV_FAIL(RV_ERR_INVALID, "pipeline and image must not be NULL");
  if (!p->cfg.push) return RV_FAIL(RV_ERR_INVALID, "rv_pipeline_push needs cfg.push");
  rv_status st = rv_ingest_push(p->ing, img, pts_ns, frame_index, NULL);
  if (st == RV_AGAIN)
    return RV_FAIL(RV_ERR_INVALID, "take the results (rv_pipeline_next until RV_AGAIN) "
                                   "before pushing the next frame");
  return st;
}

rv_status rv_pipeline_push_end(rv_pipeline *p) {
  if (!p || !p->cfg.push) return RV_FAIL(RV_ERR_INVALID, "rv_pipeline_push_end needs cfg.push");
  return rv_ingest_push_end(p->ing);
}

rv_pipeline_info rv_pipeline_get_info(const rv_pipeline *p) {
  rv_pipeline_info i = {0};
  if (!p) return i;
  i.rate = p->fps / p->mc->tubelet;
  i.emb_dim = p->mc->dense ? p->mc->emb_dim : 0;
  i.class_aware = 1;
  i.tuning = p->mc->tuning;
  return i;
}

int rv_pipeline_label_count(const rv_pipeline *p, rv_label_kind kind) {
  if (!p) return 0;
  switch (kind) {
  case RV_LABEL_CLASS: return p->mc->num_classes;
  case RV_LABEL_TRACK_ACTION: return p->mc->num_track_actions;
  case RV_LABEL_SCENE_ACTION: return p->mc->num_scene_actions;
  }
  return 0;
}

const char *rv_pipeline_label(const rv_pipeline *p, rv_label_kind kind, int i) {
  if (!p || i < 0 || i >= rv_pipeline_label_count(p, kind)) return NULL;
  return rv_model_label(p->model, kind, i);
}

rv_pipeline_progress rv_pipeline_get_progress(const rv_pipeline *p) {
  rv_pipeline_progress pr = {0};
  if (!p) return pr;
  rv_ingest_progress ip =
      p->dec ? rv_decode_stage_progress(p->dec) : rv_ingest_get_progress(p->ing);
  pr.position_s = ip.position_s;
  pr.duration_s = ip.duration_s;
  pr.fraction = ip.fraction;
  pr.frames = p->frames_encoded;
  pr.decode_s = rv_decode_stage_busy_s(p->dec);
  pr.encode_s = p->encode_s;
  pr.track_s = p->track_s;
  pr.token_bytes = p->token_bytes ? p->token_bytes : (int64_t)rv_vit_token_bytes(p->vit);
  return pr;
}
