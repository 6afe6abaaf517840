/* The ViT encoder: self-describing safetensors models, a spatial stage (attention inside
 * each frame), a temporal stage (attention across the frame-token sequence, through the
 * ring), a final norm and the heads (DESIGN.md sections 4-5).
 *
 * A model (rv_model) is immutable after load and may be shared by any number of encoder
 * contexts (rv_vit); a context belongs to one thread and owns one arena sized at init, so
 * encoding allocates nothing.
 *
 * A "frame" of the encoder is one tubelet group: `tubelet` consecutive video frames that
 * patchify into one grid of tokens (tubelet 1 for image ViTs).
 *
 * Tensor names of our files (a PyTorch mirror with the same names is vit/train/model.py):
 *   patch_embed.weight [D, 3*T*P*P]  patch_embed.bias [D]
 *   cls_token [1, D]  dist_token [1, D]  det_tokens [n_det, D]
 *   pos_embed [n_pos, D] (learned; rows: cls, dist, grid row-major, det tokens)
 *   mid_pos_embed [spatial_depth - 1, n_pos, D] (YOLOS)
 *   {spatial,temporal}.{i}.norm1.{weight,bias} .attn.qkv.weight [3D, D] .attn.qkv.bias [3D]
 *     (qkv_bias "qv": .attn.q_bias [D] and .attn.v_bias [D] instead) .attn.proj.{weight,bias}
 *     .norm2.{weight,bias} .mlp.fc1.{weight,bias} [M, D] .mlp.fc2.{weight,bias} [D, M]
 *   norm.{weight,bias}  fc_norm.{weight,bias}
 *   head.dense.hidden.{weight,bias} head.dense.out.{weight,bias}
 *   head.scene.{weight,bias}
 *   head.set.class.{0,1,2}.{weight,bias} head.set.box.{0,1,2}.{weight,bias}
 * Linear weights are [out, in] as PyTorch stores them. */
#ifndef RINGVIT_VIT_H
#define RINGVIT_VIT_H

#include <ringvit/detect.h>
#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_pos_kind {
  RV_POS_NONE = 0,
  RV_POS_LEARNED = 1,    /* a table for the trained grid, resampled for other input sizes */
  RV_POS_SINUSOIDAL = 2, /* fixed sin/cos of the token index in the sequence (VideoMAE) */
} rv_pos_kind;

typedef enum rv_resample {
  RV_RESAMPLE_BICUBIC = 0, /* PyTorch interpolate(mode="bicubic", align_corners=False), as timm */
  RV_RESAMPLE_BILINEAR = 1,
} rv_resample;

typedef enum rv_scope {
  RV_SCOPE_GLOBAL = 0, /* every token sees the whole sequence */
  RV_SCOPE_CAUSAL = 1, /* frame-causal: its own frame and earlier ones */
  RV_SCOPE_WINDOW = 2, /* causal window: the last `temporal_window` frames */
  RV_SCOPE_BAND = 3,   /* bidirectional window of +-(temporal_window - 1) frames */
} rv_scope;

typedef enum rv_qkv_bias {
  RV_QKV_BIAS_ALL = 0, /* one [3D] bias */
  RV_QKV_BIAS_QV = 1,  /* q and v biases, none on k (VideoMAE, BEiT) */
  RV_QKV_BIAS_NONE = 2,
} rv_qkv_bias;

typedef enum rv_pool {
  RV_POOL_CLS = 0,  /* the cls token's row */
  RV_POOL_MEAN = 1, /* mean over the patch tokens */
} rv_pool;

typedef enum rv_label_kind {
  RV_LABEL_CLASS = 0,        /* detection classes (dense and set heads) */
  RV_LABEL_TRACK_ACTION = 1, /* per-track actions of the dense head */
  RV_LABEL_SCENE_ACTION = 2, /* scene head */
} rv_label_kind;

/* Classes (or track actions) a config's head.dense.class_offset (action_offset) may cover. */
#define RV_MAX_HEAD_OFFSETS 64

/* The model config, as stored (JSON) in the safetensors "__metadata__" under "ringvit". */
typedef struct rv_vit_config {
  char name[64];
  int image_h, image_w; /* input size the position table was trained at */
  int patch, tubelet;
  int width, heads, mlp_dim;
  int spatial_depth, temporal_depth;
  int temporal_pool_h, temporal_pool_w; /* patch tokens pooled to a grid before the temporal
                                           stage; 0 = every token of the frame enters it */
  rv_scope temporal_scope;
  int temporal_window; /* frames, for WINDOW and BAND */
  /* 1: a temporal token attends only to the tokens at its own place (its region, or its
   * patch when unpooled) in the frames its scope allows: TimeSformer's time attention, in
   * which a head's average over its keys is that region's history; 0: to every token */
  int temporal_own_region;
  rv_pos_kind pos_embed;
  rv_resample pos_resample;
  int time_embed;   /* 1: sin/cos of the frame's timestamp enters the temporal stage */
  float time_scale; /* timestamp seconds are multiplied by this before the sin/cos */
  int cls_token, dist_token, det_tokens;
  int mid_pos_embed; /* YOLOS: a position table added after every spatial block but the last */
  float ln_eps;
  rv_act gelu; /* RV_ACT_GELU_ERF or RV_ACT_GELU_TANH */
  rv_qkv_bias qkv_bias;
  int final_norm;
  float mean[3], std[3];
  double fps;     /* sampling rate the model was trained at */
  int num_frames; /* fixed clip length in video frames (VideoMAE), 0 = any */
  /* heads */
  int dense;        /* per-patch head: obj, C cls, 4 box, A track actions, E embedding */
  int dense_hidden; /* 0 = one linear layer; else Linear + GELU of this width first */
  int emb_dim;
  int dense_peak; /* decoding: k (odd) = a cell is a detection only where its objectness is the
                     largest of its k x k neighbours (CenterNet's peaks); 0 = every cell */
  /* decoding: added to a cell's objectness logit by its best class, as calibrated
   * (vit/train/calibrate.py: a class the focal loss left under-confident gets a positive one) */
  float dense_class_offset[RV_MAX_HEAD_OFFSETS];
  int dense_class_offsets; /* entries set: num_classes, or 0 = none */
  /* decoding: added to each track action's logit, as calibrated (a rare action the head
   * scores low, such as run or fall, reaches the segmenter's thresholds) */
  float dense_action_offset[RV_MAX_HEAD_OFFSETS];
  int dense_action_offsets; /* entries set: num_track_actions, or 0 = none */
  int dense_reach; /* box centres may lie this many cells beyond their cell (rv_det_decoder_cfg) */
  int dense_sub;   /* each patch split into sub x sub output cells (1, 2 or 4; 0 reads as 1) */
  int scene;       /* per-frame (or per-clip) logits */
  rv_pool scene_pool;
  int scene_fc_norm; /* LayerNorm after pooling (VideoMAE's fc_norm) */
  int scene_clip;    /* 1: one row for the whole call (pooled over every frame) */
  int scene_softmax; /* decoding hint: 1 single-label softmax, 0 multi-label sigmoid */
  int set;           /* YOLOS: class (C + 1) and box MLPs on the det tokens */
  int num_classes, num_track_actions, num_scene_actions;
  /* "tracking": the detector's scores as calibrated for the tracker; 0 = the defaults */
  float detect_thresh;    /* decoder's score threshold */
  rv_track_tuning tuning; /* tracker and action segmenter */
} rv_vit_config;

typedef struct rv_model rv_model;

/* Maps `path` and validates it: header, config, and every tensor's presence, dtype and
 * shape against the config (RV_ERR_FORMAT / RV_ERR_NOT_FOUND / RV_ERR_SHAPE /
 * RV_ERR_DTYPE naming the tensor). f16/bf16 tensors are converted to f32 on load. */
rv_status rv_model_load(const char *path, rv_model **out);
void rv_model_free(rv_model *m); /* NULL-safe */

/* "vit" or "seed" (a file for <ringvit/seed.h>). */
const char *rv_model_arch(const rv_model *m);
/* The ViT config; NULL for a seed model. */
const rv_vit_config *rv_model_config(const rv_model *m);
/* The config JSON as stored in the file. */
const char *rv_model_config_json(const rv_model *m);
int64_t rv_model_param_count(const rv_model *m);
/* Label i of a kind, NULL when the file names none. */
const char *rv_model_label(const rv_model *m, rv_label_kind kind, int i);

/* The tensor table, in the order the config lists them. `stored` is the dtype in the file; `t` is
 * the f32 view the encoder uses (host memory, owned by the model). */
int rv_model_tensor_count(const rv_model *m);
typedef struct rv_model_tensor_info {
  const char *name;
  const char *stored; /* "F32", "F16", "BF16" */
  rv_tensor t;
} rv_model_tensor_info;
rv_status rv_model_tensor(const rv_model *m, int i, rv_model_tensor_info *out);
/* By name; RV_ERR_NOT_FOUND naming it when absent. */
rv_status rv_model_find(const rv_model *m, const char *name, rv_tensor *out);

/* Config from a JSON text (what rv_model_load reads from "__metadata__"), validated. */
rv_status rv_vit_config_parse(const char *json, rv_vit_config *out);
/* Derived sizes at an input size (0, 0 = the config's image size). */
int rv_vit_grid_h(const rv_vit_config *c, int input_h);
int rv_vit_grid_w(const rv_vit_config *c, int input_w);
int rv_vit_prefix_tokens(const rv_vit_config *c);  /* cls + dist */
int rv_vit_dense_channels(const rv_vit_config *c); /* 1 + C + 4 + A + E, 0 without the head */
int rv_vit_dense_sub(const rv_vit_config *c);      /* output cells per patch side, >= 1 */

/* ---- encoder context ---- */

typedef struct rv_vit rv_vit;
typedef struct rv_comm rv_comm; /* see <ringvit/comm.h> */

/* Called after each stage with its output, e.g. "spatial.0" [frames * seq, D],
 * "temporal.1" [frames * temporal tokens, D], "norm" [frames * seq, D]; the tensor lives
 * in backend memory and is valid during the call only. For parity tests and debugging. */
typedef void (*rv_vit_tap_fn)(void *user, const char *name, const rv_tensor *t);

typedef struct rv_vit_cfg {
  const rv_model *model; /* borrowed; must outlive the context */
  rv_backend *backend;   /* borrowed */
  int input_h, input_w;  /* model input in pixels; 0 = the config's image size */
  int max_batch;         /* frames per rv_vit_push call (spatial stage batch) */
  int max_frames;        /* frames of the temporal sequence (offline context length) */
  rv_vit_tap_fn tap;
  void *tap_user;
  /* borrowed; NULL = one rank. With R ranks offline work is spread: every rank pushes
   * the same frames, but keeps only its share of a full context of max_frames (contiguous
   * for global, window and band scopes, zigzag for causal ones: rv_vit_rank_spans): the
   * spatial stage, the temporal blocks (pass-KV ring attention over the shares) and the
   * heads run on those frames only, and rv_vit_finish returns their rows (a clip scene
   * row is the whole clip's, on every rank). Memory per rank is O(max_frames / R); a
   * sequence shorter than max_frames leaves the later shares short.
   * Stream mode shards the KV cache across the ranks (pass-Q). rv_vit_init, push, finish,
   * step and stream_init are then collective (push ends with a barrier, so the ranks stay
   * within one push of each other), and offline taps see this rank's frames only. */
  rv_comm *comm;
  /* > 0: offline, each frame's temporal attention reaches only frames less than this many
   * apart (the "band" scope) instead of the model's global or band scope; a frame-causal
   * model's only earlier ones (the "window" scope of that many frames). Sliding-window
   * models and stream mode refuse it. 0 = the model's own scope. */
  int band_frames;
} rv_vit_cfg;

rv_status rv_vit_init(const rv_vit_cfg *cfg, rv_vit **out);
void rv_vit_free(rv_vit *v); /* NULL-safe */

int rv_vit_tokens_per_frame(const rv_vit *v); /* patch tokens of one frame (grid_h * grid_w) */
int rv_vit_token_dim(const rv_vit *v);        /* 3 * T * P * P: rv_patchify's feature size */
int rv_vit_seq_tokens(
    const rv_vit *v); /* tokens of one frame's sequence (prefix + patches + det) */
int64_t rv_vit_frames(const rv_vit *v); /* frames pushed since the last finish */

/* Raw head outputs for the frames of one rv_vit_finish, in backend memory, f32 on the CPU
 * backends, valid until the next push. A tensor with ndim 0 is a head the model lacks.
 *   dense [frames, grid_h * grid_w * S * S, 1 + C + 4 + A + E]: per patch (row-major) its
 *     S x S output cells (S = rv_vit_dense_sub, row-major), channels obj logit, C class
 *     logits, tx ty tw th, A track-action logits, E embedding floats. Box in model-input
 *     pixels, with cell (row, col) of the (grid_h S) x (grid_w S) grid and Q = P / S:
 *     cx = (col + sigmoid(tx)) Q, cy = (row + sigmoid(ty)) Q, w = exp(tw) Q, h = exp(th) Q
 *     (rv_det_decode_dense).
 *   scene [frames, A_scene] (or [1, A_scene] for clip models): logits.
 *   set_logits [frames, n_det, C + 1] (last = no object); set_boxes [frames, n_det, 4]:
 *     cx, cy, w, h normalized to the input, sigmoid applied.
 *   features [frames, seq_tokens, D]: the tokens after the final norm. */
typedef struct rv_vit_span {
  int64_t first, count; /* frames of the sequence */
} rv_vit_span;

/* Rows are the frames this rank kept: all of them on one rank; under a comm (offline)
 * its share, span[0]'s frames then span[1]'s (see rv_vit_cfg.comm). */
typedef struct rv_vit_outputs {
  int64_t frames; /* rows: frames kept by this rank */
  int grid_h, grid_w;
  rv_tensor dense, scene, set_logits, set_boxes, features;
  int64_t total_frames; /* frames of the sequence, on all ranks */
  int nspan;            /* 1 or 2 */
  rv_vit_span span[2];
} rv_vit_outputs;

/* The frames `rank` keeps of a sequence of `total` frames (spans as in rv_vit_outputs),
 * so that one rank can place what the others send it; returns nspan (0 on bad arguments). */
int rv_vit_rank_spans(const rv_vit *v, int rank, int64_t total, rv_vit_span span[2]);
/* Bytes this rank holds for the tokens of its frames (the sequence buffer, and the pooled
 * temporal tokens): about 1/R of one rank's with R ranks. */
size_t rv_vit_token_bytes(const rv_vit *v);

/* Spatial stage for n frames (1 <= n <= max_batch): tokens [n * tokens_per_frame,
 * token_dim] from rv_patchify (act dtype, backend memory); times_s [n] the frames'
 * timestamps in seconds (NULL = frame number / fps). Appends them to the sequence. */
rv_status rv_vit_push(rv_vit *v, const rv_tensor *tokens, int64_t n, const double *times_s);
/* Temporal stage over every pushed frame, final norm and heads; clears the sequence. */
rv_status rv_vit_finish(rv_vit *v, rv_vit_outputs *out);
/* push + finish for n <= max_batch frames. */
rv_status rv_vit_encode(rv_vit *v, const rv_tensor *tokens, int64_t n, const double *times_s,
                        rv_vit_outputs *out);

/* ---- stream mode (DESIGN.md section 1): one frame at a time, frame-causal ----
 * Each temporal layer attends the new frame's tokens to the K/V history of the last
 * stream_frames frames (the ring KV cache, <ringvit/kvcache.h>), limited further to
 * temporal_window frames for a "window" model. Stream mode is frame-causal whatever the
 * scope: a model trained with "global" or "band" attention sees only the past here. With
 * a causal or window model and enough history, each step equals the offline output of
 * that frame. Stream and offline calls may share a context (not interleaved within a push).
 * Sinusoidal positions continue from the frames stepped since the reset. */

/* Sets the context up for stream mode: history_frames of K/V per temporal layer (memory
 * taken now, once). Call once, before the first step. */
rv_status rv_vit_stream_init(rv_vit *v, int64_t history_frames);
/* tokens [tokens_per_frame, token_dim] of one frame; outputs for that frame (frames = 1). */
rv_status rv_vit_step(rv_vit *v, const rv_tensor *tokens, double time_s, rv_vit_outputs *out);
/* Forgets the stream's history (seek, flush, a new source). */
void rv_vit_stream_reset(rv_vit *v);
/* Frames stepped since init or the last reset. */
int64_t rv_vit_stream_position(const rv_vit *v);

#ifdef __cplusplus
}
#endif
#endif
