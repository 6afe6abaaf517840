/* ringvit info MODEL: what a model file holds: its config, label names, parameter count
 * and tensor table. */
#include <stdio.h>
#include <string.h>

#include <ringvit/vit.h>

#include "cli.h"

static const char *const scope_names[] = {"global", "frame-causal", "window", "band"};
static const char *const pos_names[] = {"none", "learned", "sinusoidal"};

static void print_labels(const rv_model *m, rv_label_kind kind, const char *what, int n) {
  if (n <= 0) return;
  printf("  %-13s %d", what, n);
  for (int i = 0; i < n && i < 12; i++) {
    const char *l = rv_model_label(m, kind, i);
    if (!l) break;
    printf("%s%s", i ? ", " : ": ", l);
  }
  printf("%s\n", n > 12 && rv_model_label(m, kind, 0) ? ", ..." : "");
}

static void print_heads(const rv_model *m, const rv_vit_config *c) {
  if (c->dense)
    printf("  %-13s dense: %d channels per cell (obj, %d cls, 4 box, %d act, %d emb)%s%s\n",
           "heads", rv_vit_dense_channels(c), c->num_classes, c->num_track_actions, c->emb_dim,
           c->dense_hidden ? ", hidden layer" : "",
           rv_vit_dense_sub(c) == 2   ? ", 2x2 cells per patch"
           : rv_vit_dense_sub(c) == 4 ? ", 4x4 cells per patch"
                                      : "");
  if (c->scene)
    printf("  %-13s scene: %d logits per %s (%s pool%s, %s)\n", c->dense ? "" : "heads",
           c->num_scene_actions, c->scene_clip ? "clip" : "frame",
           c->scene_pool == RV_POOL_CLS ? "cls" : "mean", c->scene_fc_norm ? " + fc_norm" : "",
           c->scene_softmax ? "softmax" : "sigmoid");
  if (c->set)
    printf("  %-13s set: %d detection tokens, %d classes + no-object, boxes\n",
           c->dense || c->scene ? "" : "heads", c->det_tokens, c->num_classes);
  print_labels(m, RV_LABEL_CLASS, "classes", c->num_classes);
  print_labels(m, RV_LABEL_TRACK_ACTION, "track actions", c->num_track_actions);
  print_labels(m, RV_LABEL_SCENE_ACTION, "scene actions", c->num_scene_actions);
}

/* ", <label> <what> +x" for each of the n calibration offsets that is not 0. */
static void print_offsets(const rv_model *m, rv_label_kind kind, const float *off, int n,
                          const char *what) {
  for (int i = 0; i < n; i++) {
    if (off[i] == 0) continue;
    const char *l = rv_model_label(m, kind, i);
    if (l)
      printf(", %s %s %+g", l, what, (double)off[i]);
    else
      printf(", %s %d %s %+g", kind == RV_LABEL_CLASS ? "class" : "action", i, what,
             (double)off[i]);
  }
}

/* The calibration the pipeline applies: peak rule, per-class objectness and per-action
 * logit offsets, the detector's threshold and the tracker's scores (0 = the pipeline's
 * defaults). */
static void print_calibration(const rv_model *m, const rv_vit_config *c) {
  if (!c->dense) return;
  printf("  %-13s peak rule %s", "decoding", c->dense_peak > 1 ? "" : "off");
  if (c->dense_peak > 1) printf("%dx%d", c->dense_peak, c->dense_peak);
  if (c->dense_reach) printf(", box centres up to %d cell(s) beyond their cell", c->dense_reach);
  print_offsets(m, RV_LABEL_CLASS, c->dense_class_offset, c->dense_class_offsets, "objectness");
  print_offsets(m, RV_LABEL_TRACK_ACTION, c->dense_action_offset, c->dense_action_offsets,
                "action logit");
  printf("\n");
  const rv_track_tuning *t = &c->tuning;
  const char *label = "tracking"; /* on the first of the lines below that is printed */
  if (c->detect_thresh || t->high_thresh || t->new_track_thresh || t->lost_s || t->reid_thresh) {
    printf("  %-13s detect %g, high %g, low %g, new track %g, lost %g s, cost limits %g / %g / %g\n",
           label, (double)c->detect_thresh, (double)t->high_thresh, (double)t->low_thresh,
           (double)t->new_track_thresh, t->lost_s, (double)t->match_thresh,
           (double)t->second_match_thresh, (double)t->unconfirmed_match_thresh);
    label = "";
  }
  if (t->reid_thresh) {
    printf("  %-13s re-identification by appearance within half cosine distance %g\n", label,
           (double)t->reid_thresh);
    label = "";
  }
  if (t->foreground_diff) {
    printf("  %-13s person boxes snapped to the foreground (pixels %g of full scale off the "
           "background)\n",
           label, (double)t->foreground_diff);
    label = "";
  }
  if (t->detection_boxes) printf("  %-13s tracks report their detections' boxes\n", label);
}

static void print_vit(const rv_model *m, const rv_vit_config *c) {
  int gh = rv_vit_grid_h(c, 0), gw = rv_vit_grid_w(c, 0);
  printf("  %-13s %s\n", "name", c->name[0] ? c->name : "(unnamed)");
  printf("  %-13s %dx%d, patch %d, tubelet %d -> %dx%d grid, %d tokens per frame\n", "input",
         c->image_h, c->image_w, c->patch, c->tubelet, gh, gw,
         rv_vit_prefix_tokens(c) + gh * gw + c->det_tokens);
  printf("  %-13s width %d, heads %d, mlp %d\n", "dims", c->width, c->heads, c->mlp_dim);
  printf("  %-13s %d spatial, %d temporal", "blocks", c->spatial_depth, c->temporal_depth);
  if (c->temporal_depth) {
    printf(" (%s", scope_names[c->temporal_scope]);
    if (c->temporal_scope >= RV_SCOPE_WINDOW) printf(" %d frames", c->temporal_window);
    if (c->temporal_pool_h)
      printf(", tokens pooled to %dx%d", c->temporal_pool_h, c->temporal_pool_w);
    if (c->temporal_own_region) printf(", each token attending to its own region");
    printf(")");
  }
  printf("\n  %-13s %s%s%s\n", "positions", pos_names[c->pos_embed],
         c->pos_embed == RV_POS_LEARNED
             ? (c->pos_resample == RV_RESAMPLE_BICUBIC ? " (bicubic resampling)"
                                                       : " (bilinear resampling)")
             : "",
         c->time_embed ? ", timestamp embedding" : "");
  printf("  %-13s cls %s, dist %s, det %d%s\n", "tokens", c->cls_token ? "yes" : "no",
         c->dist_token ? "yes" : "no", c->det_tokens,
         c->mid_pos_embed ? ", mid position tables" : "");
  printf("  %-13s LayerNorm eps %g, GELU %s, qkv bias %s, final norm %s\n", "layers", c->ln_eps,
         c->gelu == RV_ACT_GELU_TANH ? "tanh" : "erf",
         c->qkv_bias == RV_QKV_BIAS_ALL  ? "q,k,v"
         : c->qkv_bias == RV_QKV_BIAS_QV ? "q,v"
                                         : "none",
         c->final_norm ? "yes" : "no");
  printf("  %-13s mean %.3f %.3f %.3f, std %.3f %.3f %.3f\n", "normalize", c->mean[0], c->mean[1],
         c->mean[2], c->std[0], c->std[1], c->std[2]);
  if (c->fps > 0) printf("  %-13s trained at %g fps\n", "sampling", c->fps);
  if (c->num_frames) printf("  %-13s clips of %d video frames\n", "clip", c->num_frames);
  print_heads(m, c);
  print_calibration(m, c);
}

static void print_tensors(const rv_model *m) {
  int n = rv_model_tensor_count(m);
  printf("\ntensors (%d):\n", n);
  for (int i = 0; i < n; i++) {
    rv_model_tensor_info t;
    if (rv_model_tensor(m, i, &t) != RV_OK) continue;
    char shape[64];
    size_t k = (size_t)snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t.t.ndim; d++)
      k += (size_t)snprintf(shape + k, sizeof shape - k, "%s%lld", d ? ", " : "",
                            (long long)t.t.shape[d]);
    snprintf(shape + k, sizeof shape - k, "]");
    printf("  %-40s %-5s %-18s %10lld\n", t.name, t.stored, shape,
           (long long)rv_tensor_nelem(&t.t));
  }
}

static void usage(FILE *out) {
  fprintf(out, "usage: ringvit info MODEL.safetensors [--no-tensors] [--json]\n"
               "  prints the model's config, labels, parameter count and tensor table\n"
               "  --no-tensors  leave out the tensor table\n"
               "  --json        print only the config JSON stored in the file\n");
}

static int info_main(int argc, char **argv) {
  const char *path = NULL;
  int tensors = 1, json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return RV_EXIT_OK;
    } else if (!strcmp(argv[i], "--no-tensors")) {
      tensors = 0;
    } else if (!strcmp(argv[i], "--json")) {
      json = 1;
    } else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "ringvit info: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return RV_EXIT_USAGE;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    usage(stderr);
    return RV_EXIT_USAGE;
  }
  rv_model *m = NULL;
  rv_status st = rv_model_load(path, &m);
  if (st != RV_OK) {
    rv_cli_error("info", st, path);
    return rv_cli_exit_code(st);
  }
  if (json) {
    printf("%s\n", rv_model_config_json(m));
  } else {
    int64_t p = rv_model_param_count(m);
    printf("%s\n  %-13s %s\n", path, "arch", rv_model_arch(m));
    if (rv_model_config(m))
      print_vit(m, rv_model_config(m));
    else
      printf("  %-13s %s\n", "config", rv_model_config_json(m));
    printf("  %-13s %lld (%.1f MiB as f32)\n", "parameters", (long long)p,
           (double)p * 4.0 / (1 << 20));
    if (tensors) print_tensors(m);
  }
  rv_model_free(m);
  return RV_EXIT_OK;
}

const rv_cli_command rv_cli_info = {"info", "print a model file's config, labels and tensor table",
                                    info_main};
