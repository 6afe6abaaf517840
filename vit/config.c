/* Model config JSON <-> rv_vit_config, with validation, and the tensor list a config needs.
 *
 * Keys (defaults in brackets): arch ["vit"], name, image_size (int or [h, w]), patch,
 * tubelet [1], width, heads, mlp_dim or mlp_ratio [4], spatial_depth, temporal_depth [0],
 * temporal_tokens ["all" or [kh, kw]], temporal_scope ["global"|"causal"|"window"|"band"],
 * temporal_window, temporal_keys ["all_regions"|"own_region"], pos_embed ["learned"|
 * "sinusoidal"|"none"], pos_resample ["bicubic"|"bilinear"], time_embed [false], time_scale
 * [1], cls_token [true], dist_token [false], det_tokens [0], mid_pos_embed [false], ln_eps
 * [1e-6], gelu ["erf"|"tanh"], qkv_bias ["qkv"|"qv"|"none"], final_norm [true], mean, std
 * [ImageNet's], fps [0], num_frames [0], head {dense {hidden, emb_dim}, scene {pool,
 * fc_norm, over "frame"|"clip", activation "sigmoid"|"softmax"}, set {}}, num_classes,
 * num_track_actions, num_scene_actions
 * (default: the label list lengths), labels {classes, track_actions, scene_actions},
 * head.dense.peak [0], head.dense.reach [0: box centres in their own cell; up to 3],
 * head.dense.sub [1: one output cell per patch; 2 or 4 per side, dividing the patch],
 * head.dense.class_offset and action_offset [none: one number per class or track action,
 * |x| <= 16, at most RV_MAX_HEAD_OFFSETS], tracking {detect_thresh, high_thresh, low_thresh,
 * new_track_thresh, lost_s, action_on, action_off, action_smooth_s, action_min_s,
 * action_gap_s, match_thresh, second_match_thresh, unconfirmed_match_thresh, reid_thresh,
 * foreground_diff, detection_boxes}
 * (scores, cost limits, the re-identification distance and the foreground difference in
 * [0, 1], seconds >= 0, detection_boxes 0 or 1; 0 or absent = the pipeline's defaults). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vit-impl.h"

static const char *const top_keys[] = {"arch",
                                       "name",
                                       "image_size",
                                       "patch",
                                       "tubelet",
                                       "width",
                                       "heads",
                                       "mlp_dim",
                                       "mlp_ratio",
                                       "spatial_depth",
                                       "temporal_depth",
                                       "temporal_tokens",
                                       "temporal_scope",
                                       "temporal_window",
                                       "temporal_keys",
                                       "pos_embed",
                                       "pos_resample",
                                       "time_embed",
                                       "time_scale",
                                       "cls_token",
                                       "dist_token",
                                       "det_tokens",
                                       "mid_pos_embed",
                                       "ln_eps",
                                       "gelu",
                                       "qkv_bias",
                                       "final_norm",
                                       "mean",
                                       "std",
                                       "fps",
                                       "num_frames",
                                       "head",
                                       "num_classes",
                                       "num_track_actions",
                                       "num_scene_actions",
                                       "labels",
                                       "tracking",
                                       NULL};

static rv_status check_keys(json_t *obj, const char *const *known, const char *where) {
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    int ok = 0;
    for (int i = 0; known[i] && !ok; i++)
      ok = !strcmp(key, known[i]);
    if (!ok) return RV_FAIL(RV_ERR_FORMAT, "config: unknown key \"%s\" in %s", key, where);
  }
  return RV_OK;
}

static rv_status get_int(json_t *o, const char *key, int def, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    if (def == INT32_MIN) return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" is required", key);
    *out = def;
    return RV_OK;
  }
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > (1 << 24))
    return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be an integer in [0, 2^24]", key);
  *out = (int)json_integer_value(v);
  return RV_OK;
}

static rv_status get_bool(json_t *o, const char *key, int def, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    *out = def;
    return RV_OK;
  }
  if (!json_is_boolean(v))
    return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be true or false", key);
  *out = json_is_true(v);
  return RV_OK;
}

static rv_status get_num(json_t *o, const char *key, double def, double *out) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    *out = def;
    return RV_OK;
  }
  if (!json_is_number(v) || !isfinite(json_number_value(v)))
    return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be a finite number", key);
  *out = json_number_value(v);
  return RV_OK;
}

/* One of names[] (NULL-terminated); its index into *out. */
static rv_status get_enum(json_t *o, const char *key, const char *const *names, int def, int *out) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    *out = def;
    return RV_OK;
  }
  for (int i = 0; json_is_string(v) && names[i]; i++)
    if (!strcmp(json_string_value(v), names[i])) {
      *out = i;
      return RV_OK;
    }
  char all[128] = "";
  for (int i = 0; names[i]; i++)
    snprintf(all + strlen(all), sizeof all - strlen(all), "%s\"%s\"", i ? ", " : "", names[i]);
  return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be one of %s", key, all);
}

static rv_status get_vec3(json_t *o, const char *key, const float def[3], float out[3]) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    memcpy(out, def, 3 * sizeof(float));
    return RV_OK;
  }
  if (!json_is_array(v) || json_array_size(v) != 3)
    return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be 3 numbers", key);
  for (int i = 0; i < 3; i++) {
    json_t *x = json_array_get(v, i);
    if (!json_is_number(x)) return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be 3 numbers", key);
    out[i] = (float)json_number_value(x);
  }
  return RV_OK;
}

/* An int or a pair [a, b] of positive ints. */
static rv_status get_pair(json_t *o, const char *key, int *a, int *b) {
  json_t *v = json_object_get(o, key);
  if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536) {
    *a = *b = (int)json_integer_value(v);
    return RV_OK;
  }
  if (json_is_array(v) && json_array_size(v) == 2) {
    json_t *x = json_array_get(v, 0), *y = json_array_get(v, 1);
    if (json_is_integer(x) && json_is_integer(y) && json_integer_value(x) > 0 &&
        json_integer_value(y) > 0 && json_integer_value(x) < 65536 &&
        json_integer_value(y) < 65536) {
      *a = (int)json_integer_value(x);
      *b = (int)json_integer_value(y);
      return RV_OK;
    }
  }
  return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" must be a positive int or [h, w]", key);
}

static const char *const scope_names[] = {"global", "causal", "window", "band", NULL};
static const char *const keys_names[] = {"all_regions", "own_region", NULL};
static const char *const pos_names[] = {"none", "learned", "sinusoidal", NULL};
static const char *const resample_names[] = {"bicubic", "bilinear", NULL};
static const char *const gelu_names[] = {"none", "erf", "tanh", NULL};
static const char *const bias_names[] = {"qkv", "qv", "none", NULL};
static const char *const pool_names[] = {"cls", "mean", NULL};
static const char *const over_names[] = {"frame", "clip", NULL};
static const char *const act_names[] = {"sigmoid", "softmax", NULL};

static rv_status parse_dims(json_t *o, rv_vit_config *c) {
  rv_status st = RV_OK;
  double ratio = 0; /* set by get_num; initialised for -O3's maybe-uninitialized */
  RV_TRY(get_pair(o, "image_size", &c->image_h, &c->image_w));
  RV_TRY(get_int(o, "patch", INT32_MIN, &c->patch));
  RV_TRY(get_int(o, "tubelet", 1, &c->tubelet));
  RV_TRY(get_int(o, "width", INT32_MIN, &c->width));
  RV_TRY(get_int(o, "heads", INT32_MIN, &c->heads));
  RV_TRY(get_num(o, "mlp_ratio", 4.0, &ratio));
  RV_TRY(get_int(o, "mlp_dim", (int)lround(ratio * c->width), &c->mlp_dim));
  RV_TRY(get_int(o, "spatial_depth", INT32_MIN, &c->spatial_depth));
  RV_TRY(get_int(o, "temporal_depth", 0, &c->temporal_depth));
  json_t *tt = json_object_get(o, "temporal_tokens");
  if (tt && !(json_is_string(tt) && !strcmp(json_string_value(tt), "all")))
    RV_TRY(get_pair(o, "temporal_tokens", &c->temporal_pool_h, &c->temporal_pool_w));
  int e;
  RV_TRY(get_enum(o, "temporal_scope", scope_names, 0, &e));
  c->temporal_scope = (rv_scope)e;
  RV_TRY(get_int(o, "temporal_window", 0, &c->temporal_window));
  RV_TRY(get_enum(o, "temporal_keys", keys_names, 0, &e));
  c->temporal_own_region = e == 1;
  RV_TRY(get_int(o, "num_frames", 0, &c->num_frames));
fail:
  return st;
}

static rv_status parse_embed(json_t *o, rv_vit_config *c) {
  rv_status st = RV_OK;
  int e;
  double x = 0; /* likewise */
  static const float imagenet_mean[3] = {0.485f, 0.456f, 0.406f};
  static const float imagenet_std[3] = {0.229f, 0.224f, 0.225f};
  RV_TRY(get_enum(o, "pos_embed", pos_names, RV_POS_LEARNED, &e));
  c->pos_embed = (rv_pos_kind)e;
  RV_TRY(get_enum(o, "pos_resample", resample_names, 0, &e));
  c->pos_resample = (rv_resample)e;
  RV_TRY(get_bool(o, "time_embed", 0, &c->time_embed));
  RV_TRY(get_num(o, "time_scale", 1.0, &x));
  c->time_scale = (float)x;
  RV_TRY(get_bool(o, "cls_token", 1, &c->cls_token));
  RV_TRY(get_bool(o, "dist_token", 0, &c->dist_token));
  RV_TRY(get_int(o, "det_tokens", 0, &c->det_tokens));
  RV_TRY(get_bool(o, "mid_pos_embed", 0, &c->mid_pos_embed));
  RV_TRY(get_num(o, "ln_eps", 1e-6, &x));
  c->ln_eps = (float)x;
  RV_TRY(get_enum(o, "gelu", gelu_names, RV_ACT_GELU_ERF, &e));
  c->gelu = (rv_act)e;
  RV_TRY(get_enum(o, "qkv_bias", bias_names, 0, &e));
  c->qkv_bias = (rv_qkv_bias)e;
  RV_TRY(get_bool(o, "final_norm", 1, &c->final_norm));
  RV_TRY(get_vec3(o, "mean", imagenet_mean, c->mean));
  RV_TRY(get_vec3(o, "std", imagenet_std, c->std));
  RV_TRY(get_num(o, "fps", 0.0, &c->fps));
fail:
  return st;
}

static int label_count(json_t *root, const char *kind) {
  json_t *l = json_object_get(json_object_get(root, "labels"), kind);
  return json_is_array(l) ? (int)json_array_size(l) : -1;
}

static rv_status parse_count(json_t *root, const char *key, const char *kind, int *out) {
  rv_status st = RV_OK;
  int n = label_count(root, kind);
  RV_TRY(get_int(root, key, n < 0 ? 0 : n, out));
  if (n >= 0 && n != *out)
    return RV_FAIL(RV_ERR_FORMAT, "config: \"%s\" is %d but labels.%s names %d", key, *out, kind,
                   n);
fail:
  return st;
}

static const char *const dense_keys[] = {"hidden", "emb_dim",       "peak", "class_offset",
                                         "reach",  "action_offset", "sub",  NULL};

/* head.dense.<key>: one logit offset per class or track action (calibration), n of them
 * (`what` names one) into dst; *count = n when present. */
static rv_status get_offsets(json_t *d, const char *key, int n, const char *what, float *dst,
                             int *count) {
  json_t *v = json_object_get(d, key);
  if (!v) return RV_OK;
  if (!json_is_array(v) || (int)json_array_size(v) != n)
    return RV_FAIL(RV_ERR_FORMAT, "config: head.dense.%s must be %d numbers (one per %s)", key, n,
                   what);
  if (n > RV_MAX_HEAD_OFFSETS)
    return RV_FAIL(RV_ERR_FORMAT, "config: head.dense.%s supports at most %d, not %d", key,
                   RV_MAX_HEAD_OFFSETS, n);
  for (int i = 0; i < n; i++) {
    json_t *x = json_array_get(v, (size_t)i);
    double o = json_is_number(x) ? json_number_value(x) : NAN;
    if (!(fabs(o) <= 16.0))
      return RV_FAIL(RV_ERR_FORMAT, "config: head.dense.%s[%d] must be a number in [-16, 16]", key,
                     i);
    dst[i] = (float)o;
  }
  *count = n;
  return RV_OK;
}

static const char *const tracking_keys[] = {"detect_thresh",
                                            "high_thresh",
                                            "low_thresh",
                                            "new_track_thresh",
                                            "lost_s",
                                            "action_on",
                                            "action_off",
                                            "action_smooth_s",
                                            "action_min_s",
                                            "action_gap_s",
                                            "match_thresh",
                                            "second_match_thresh",
                                            "unconfirmed_match_thresh",
                                            "reid_thresh",
                                            "foreground_diff",
                                            "detection_boxes",
                                            NULL};
static const char *const scene_keys[] = {"pool", "fc_norm", "over", "activation", NULL};
static const char *const head_keys[] = {"dense", "scene", "set", NULL};

static rv_status parse_heads(json_t *root, rv_vit_config *c) {
  rv_status st = RV_OK;
  int e;
  json_t *h = json_object_get(root, "head");
  RV_TRY(parse_count(root, "num_classes", "classes", &c->num_classes));
  RV_TRY(parse_count(root, "num_track_actions", "track_actions", &c->num_track_actions));
  RV_TRY(parse_count(root, "num_scene_actions", "scene_actions", &c->num_scene_actions));
  if (!h) return RV_OK;
  if (!json_is_object(h)) return RV_FAIL(RV_ERR_FORMAT, "config: \"head\" must be an object");
  RV_TRY(check_keys(h, head_keys, "head"));
  json_t *d = json_object_get(h, "dense"), *s = json_object_get(h, "scene");
  if (d) {
    if (!json_is_object(d)) return RV_FAIL(RV_ERR_FORMAT, "config: head.dense must be an object");
    RV_TRY(check_keys(d, dense_keys, "head.dense"));
    c->dense = 1;
    RV_TRY(get_int(d, "hidden", 0, &c->dense_hidden));
    RV_TRY(get_int(d, "emb_dim", 0, &c->emb_dim));
    RV_TRY(get_int(d, "peak", 0, &c->dense_peak));
    RV_TRY(get_int(d, "reach", 0, &c->dense_reach));
    RV_TRY(get_int(d, "sub", 1, &c->dense_sub));
    RV_TRY(get_offsets(d, "class_offset", c->num_classes, "class", c->dense_class_offset,
                       &c->dense_class_offsets));
    RV_TRY(get_offsets(d, "action_offset", c->num_track_actions, "track action",
                       c->dense_action_offset, &c->dense_action_offsets));
  }
  if (s) {
    if (!json_is_object(s)) return RV_FAIL(RV_ERR_FORMAT, "config: head.scene must be an object");
    RV_TRY(check_keys(s, scene_keys, "head.scene"));
    c->scene = 1;
    RV_TRY(get_enum(s, "pool", pool_names, RV_POOL_CLS, &e));
    c->scene_pool = (rv_pool)e;
    RV_TRY(get_bool(s, "fc_norm", 0, &c->scene_fc_norm));
    RV_TRY(get_enum(s, "over", over_names, 0, &c->scene_clip));
    RV_TRY(get_enum(s, "activation", act_names, 0, &c->scene_softmax));
  }
  c->set = json_object_get(h, "set") != NULL;
fail:
  return st;
}

#define REQUIRE(cond, ...)                                                                         \
  do {                                                                                             \
    if (!(cond)) return RV_FAIL(RV_ERR_FORMAT, __VA_ARGS__);                                       \
  } while (0)

static rv_status validate(const rv_vit_config *c) {
  REQUIRE(c->patch >= 1 && c->tubelet >= 1, "config: patch and tubelet must be >= 1");
  REQUIRE(c->image_h % c->patch == 0 && c->image_w % c->patch == 0,
          "config: image %dx%d does not split into %d-pixel patches", c->image_h, c->image_w,
          c->patch);
  REQUIRE(c->width >= 1 && c->heads >= 1 && c->width % c->heads == 0,
          "config: width %d must be a positive multiple of heads %d", c->width, c->heads);
  REQUIRE(c->mlp_dim >= 1, "config: mlp_dim must be >= 1");
  REQUIRE(c->spatial_depth + c->temporal_depth >= 1, "config: no blocks");
  REQUIRE(c->gelu != RV_ACT_NONE, "config: gelu must be erf or tanh");
  REQUIRE(c->ln_eps >= 0.0f, "config: ln_eps must be >= 0");
  REQUIRE(c->pos_embed != RV_POS_SINUSOIDAL || c->width % 2 == 0,
          "config: sinusoidal positions need an even width");
  REQUIRE(!c->time_embed || (c->temporal_depth > 0 && c->width % 2 == 0),
          "config: time_embed needs temporal blocks and an even width");
  REQUIRE((c->temporal_scope != RV_SCOPE_WINDOW && c->temporal_scope != RV_SCOPE_BAND) ||
              c->temporal_window >= 1,
          "config: temporal_window must be >= 1 for a window scope");
  REQUIRE(!c->temporal_own_region || c->temporal_depth > 0,
          "config: temporal_keys \"own_region\" without temporal blocks");
  REQUIRE(!c->temporal_pool_h || c->temporal_depth > 0,
          "config: temporal_tokens pooled without temporal blocks");
  REQUIRE(!c->mid_pos_embed || (c->pos_embed == RV_POS_LEARNED && c->spatial_depth >= 2),
          "config: mid_pos_embed needs learned positions and >= 2 spatial blocks");
  REQUIRE(!c->scene || c->scene_pool != RV_POOL_CLS || c->cls_token,
          "config: scene pool \"cls\" without a cls token");
  REQUIRE(!c->scene || c->num_scene_actions >= 1,
          "config: the scene head needs num_scene_actions >= 1");
  REQUIRE(!c->set || (c->det_tokens >= 1 && c->num_classes >= 1),
          "config: the set head needs det_tokens and num_classes");
  REQUIRE(!c->dense || c->num_classes >= 1, "config: the dense head needs num_classes >= 1");
  REQUIRE(c->dense_peak == 0 || (c->dense_peak % 2 == 1 && c->dense_peak <= 15),
          "config: head.dense.peak must be 0 or an odd number up to 15, got %d", c->dense_peak);
  REQUIRE(c->dense_reach >= 0 && c->dense_reach <= 3,
          "config: head.dense.reach must be 0 to 3 cells, got %d", c->dense_reach);
  REQUIRE(!c->dense || ((c->dense_sub == 1 || c->dense_sub == 2 || c->dense_sub == 4) &&
                        c->patch % c->dense_sub == 0),
          "config: head.dense.sub must be 1, 2 or 4 and divide the patch %d, got %d", c->patch,
          c->dense_sub);
  REQUIRE(!c->tuning.action_on || !c->tuning.action_off ||
              c->tuning.action_off <= c->tuning.action_on,
          "config: tracking.action_off %g is above action_on %g", (double)c->tuning.action_off,
          (double)c->tuning.action_on);
  REQUIRE(!c->tuning.low_thresh || !c->tuning.high_thresh ||
              c->tuning.low_thresh <= c->tuning.high_thresh,
          "config: tracking.low_thresh %g is above high_thresh %g", (double)c->tuning.low_thresh,
          (double)c->tuning.high_thresh);
  REQUIRE(c->num_frames % c->tubelet == 0, "config: num_frames %d is not a multiple of tubelet %d",
          c->num_frames, c->tubelet);
  return RV_OK;
}

static rv_status get_score(json_t *o, const char *key, float *out) {
  double v = 0;
  rv_status st = get_num(o, key, 0.0, &v);
  if (st < 0) return st;
  if (v < 0 || v > 1) return RV_FAIL(RV_ERR_FORMAT, "config: tracking.%s must be in [0, 1]", key);
  *out = (float)v;
  return RV_OK;
}

static rv_status parse_tracking(json_t *root, rv_vit_config *c) {
  rv_status st = RV_OK;
  json_t *t = json_object_get(root, "tracking");
  if (!t) return RV_OK;
  if (!json_is_object(t)) return RV_FAIL(RV_ERR_FORMAT, "config: \"tracking\" must be an object");
  RV_TRY(check_keys(t, tracking_keys, "tracking"));
  RV_TRY(get_score(t, "detect_thresh", &c->detect_thresh));
  RV_TRY(get_score(t, "high_thresh", &c->tuning.high_thresh));
  RV_TRY(get_score(t, "low_thresh", &c->tuning.low_thresh));
  RV_TRY(get_score(t, "new_track_thresh", &c->tuning.new_track_thresh));
  RV_TRY(get_score(t, "action_on", &c->tuning.action_on));
  RV_TRY(get_score(t, "action_off", &c->tuning.action_off));
  RV_TRY(get_score(t, "match_thresh", &c->tuning.match_thresh));
  RV_TRY(get_score(t, "second_match_thresh", &c->tuning.second_match_thresh));
  RV_TRY(get_score(t, "unconfirmed_match_thresh", &c->tuning.unconfirmed_match_thresh));
  RV_TRY(get_score(t, "reid_thresh", &c->tuning.reid_thresh));
  RV_TRY(get_score(t, "foreground_diff", &c->tuning.foreground_diff));
  if (c->tuning.foreground_diff >= 1)
    RV_TRY_FAIL(RV_ERR_FORMAT, "config: tracking.foreground_diff must be in [0, 1)");
  double det_boxes = 0;
  RV_TRY(get_num(t, "detection_boxes", 0.0, &det_boxes));
  if (det_boxes != 0 && det_boxes != 1)
    RV_TRY_FAIL(RV_ERR_FORMAT, "config: tracking.detection_boxes must be 0 or 1");
  c->tuning.detection_boxes = (int)det_boxes;
  static const char *const secs[] = {"lost_s", "action_smooth_s", "action_min_s", "action_gap_s"};
  double *dst[] = {&c->tuning.lost_s, &c->tuning.action_smooth_s, &c->tuning.action_min_s,
                   &c->tuning.action_gap_s};
  for (int i = 0; i < 4; i++) {
    RV_TRY(get_num(t, secs[i], 0.0, dst[i]));
    if (*dst[i] < 0 || *dst[i] > 86400)
      RV_TRY_FAIL(RV_ERR_FORMAT, "config: tracking.%s must be in [0, 86400] seconds", secs[i]);
  }
fail:
  return st;
}

static rv_status parse_root(json_t *root, rv_vit_config *c) {
  rv_status st = RV_OK;
  memset(c, 0, sizeof *c);
  RV_TRY(check_keys(root, top_keys, "the config"));
  json_t *name = json_object_get(root, "name");
  if (json_is_string(name)) snprintf(c->name, sizeof c->name, "%s", json_string_value(name));
  RV_TRY(parse_dims(root, c));
  RV_TRY(parse_embed(root, c));
  RV_TRY(parse_heads(root, c));
  RV_TRY(parse_tracking(root, c));
  RV_TRY(validate(c));
fail:
  return st;
}

rv_status rv_vit_config_parse(const char *text, rv_vit_config *out) {
  rv_status st = RV_OK;
  json_error_t err;
  if (!text || !out) return RV_FAIL(RV_ERR_INVALID, "json and out must not be NULL");
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (!root) return RV_FAIL(RV_ERR_FORMAT, "config JSON: %s (line %d)", err.text, err.line);
  if (!json_is_object(root)) RV_TRY_FAIL(RV_ERR_FORMAT, "config JSON is not an object");
  RV_TRY(parse_root(root, out));
fail:
  json_decref(root);
  return st;
}

int rv_vit_grid_h(const rv_vit_config *c, int input_h) {
  return (input_h ? input_h : c->image_h) / c->patch;
}
int rv_vit_grid_w(const rv_vit_config *c, int input_w) {
  return (input_w ? input_w : c->image_w) / c->patch;
}
int rv_vit_prefix_tokens(const rv_vit_config *c) { return c->cls_token + c->dist_token; }

int rv_vit_dense_channels(const rv_vit_config *c) {
  return c->dense ? 1 + c->num_classes + 4 + c->num_track_actions + c->emb_dim : 0;
}
int rv_vit_dense_sub(const rv_vit_config *c) { return c->dense_sub > 1 ? c->dense_sub : 1; }

/* ---- the tensors a config needs ---- */

typedef struct plan {
  rv_tensor_fn fn;
  void *user;
  char name[128];
} plan;

static rv_status want(plan *p, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2) {
  int64_t shape[3] = {d0, d1, d2};
  return p->fn(p->user, name, ndim, shape);
}

static rv_status want_linear(plan *p, const char *prefix, int64_t out, int64_t in) {
  rv_status st = RV_OK;
  char n[160];
  snprintf(n, sizeof n, "%s.weight", prefix);
  RV_TRY(want(p, n, 2, out, in, 0));
  snprintf(n, sizeof n, "%s.bias", prefix);
  RV_TRY(want(p, n, 1, out, 0, 0));
fail:
  return st;
}

static rv_status want_norm(plan *p, const char *prefix, int64_t d) {
  rv_status st = RV_OK;
  char n[160];
  snprintf(n, sizeof n, "%s.weight", prefix);
  RV_TRY(want(p, n, 1, d, 0, 0));
  snprintf(n, sizeof n, "%s.bias", prefix);
  RV_TRY(want(p, n, 1, d, 0, 0));
fail:
  return st;
}

static rv_status want_block(plan *p, const rv_vit_config *c, const char *stage, int i) {
  rv_status st = RV_OK;
  char pre[96], n[160];
  int64_t d = c->width;
  snprintf(pre, sizeof pre, "%s.%d", stage, i);
  snprintf(n, sizeof n, "%s.norm1", pre);
  RV_TRY(want_norm(p, n, d));
  snprintf(n, sizeof n, "%s.attn.qkv.weight", pre);
  RV_TRY(want(p, n, 2, 3 * d, d, 0));
  if (c->qkv_bias == RV_QKV_BIAS_ALL) {
    snprintf(n, sizeof n, "%s.attn.qkv.bias", pre);
    RV_TRY(want(p, n, 1, 3 * d, 0, 0));
  } else if (c->qkv_bias == RV_QKV_BIAS_QV) {
    snprintf(n, sizeof n, "%s.attn.q_bias", pre);
    RV_TRY(want(p, n, 1, d, 0, 0));
    snprintf(n, sizeof n, "%s.attn.v_bias", pre);
    RV_TRY(want(p, n, 1, d, 0, 0));
  }
  snprintf(n, sizeof n, "%s.attn.proj", pre);
  RV_TRY(want_linear(p, n, d, d));
  snprintf(n, sizeof n, "%s.norm2", pre);
  RV_TRY(want_norm(p, n, d));
  snprintf(n, sizeof n, "%s.mlp.fc1", pre);
  RV_TRY(want_linear(p, n, c->mlp_dim, d));
  snprintf(n, sizeof n, "%s.mlp.fc2", pre);
  RV_TRY(want_linear(p, n, d, c->mlp_dim));
fail:
  return st;
}

static rv_status want_embed(plan *p, const rv_vit_config *c) {
  rv_status st = RV_OK;
  int64_t d = c->width, in = 3LL * c->tubelet * c->patch * c->patch;
  int64_t n_pos =
      rv_vit_prefix_tokens(c) + (int64_t)rv_vit_grid_h(c, 0) * rv_vit_grid_w(c, 0) + c->det_tokens;
  RV_TRY(want_linear(p, "patch_embed", d, in));
  if (c->cls_token) RV_TRY(want(p, "cls_token", 2, 1, d, 0));
  if (c->dist_token) RV_TRY(want(p, "dist_token", 2, 1, d, 0));
  if (c->det_tokens) RV_TRY(want(p, "det_tokens", 2, c->det_tokens, d, 0));
  if (c->pos_embed == RV_POS_LEARNED) RV_TRY(want(p, "pos_embed", 2, n_pos, d, 0));
  if (c->mid_pos_embed) RV_TRY(want(p, "mid_pos_embed", 3, c->spatial_depth - 1, n_pos, d));
fail:
  return st;
}

static rv_status want_heads(plan *p, const rv_vit_config *c) {
  rv_status st = RV_OK;
  int64_t d = c->width;
  if (c->final_norm) RV_TRY(want_norm(p, "norm", d));
  if (c->dense) {
    int64_t in = d;
    if (c->dense_hidden) {
      RV_TRY(want_linear(p, "head.dense.hidden", c->dense_hidden, d));
      in = c->dense_hidden;
    }
    int sub = rv_vit_dense_sub(c);
    RV_TRY(want_linear(p, "head.dense.out", sub * sub * rv_vit_dense_channels(c), in));
  }
  if (c->scene) {
    if (c->scene_fc_norm) RV_TRY(want_norm(p, "fc_norm", d));
    RV_TRY(want_linear(p, "head.scene", c->num_scene_actions, d));
  }
  if (c->set) {
    char n[64];
    for (int l = 0; l < 3; l++) {
      snprintf(n, sizeof n, "head.set.class.%d", l);
      RV_TRY(want_linear(p, n, l == 2 ? c->num_classes + 1 : d, d));
    }
    for (int l = 0; l < 3; l++) {
      snprintf(n, sizeof n, "head.set.box.%d", l);
      RV_TRY(want_linear(p, n, l == 2 ? 4 : d, d));
    }
  }
fail:
  return st;
}

rv_status rv_vit_expected_tensors(const rv_vit_config *c, rv_tensor_fn fn, void *user) {
  rv_status st = RV_OK;
  plan p = {fn, user, {0}};
  RV_TRY(want_embed(&p, c));
  for (int i = 0; i < c->spatial_depth; i++)
    RV_TRY(want_block(&p, c, "spatial", i));
  for (int i = 0; i < c->temporal_depth; i++)
    RV_TRY(want_block(&p, c, "temporal", i));
  RV_TRY(want_heads(&p, c));
fail:
  return st;
}
