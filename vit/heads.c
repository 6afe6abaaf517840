/* The heads on the final tokens: dense (per patch cell), scene (per frame or per clip) and
 * set (YOLOS detection tokens). Layouts are documented with rv_vit_outputs in vit.h. */
#include <stdio.h>
#include <string.h>

#include <ringvit/comm.h>

#include "encoder-impl.h"

rv_status rv_vit_heads_bind(rv_vit *v) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  char n[64];
  if (c->dense) {
    if (c->dense_hidden) RV_TRY(rv_vit_get_lin(v, "head.dense.hidden", &v->dense_hidden));
    RV_TRY(rv_vit_get_lin(v, "head.dense.out", &v->dense_out));
  }
  if (c->scene) {
    if (c->scene_fc_norm) RV_TRY(rv_vit_get_lin(v, "fc_norm", &v->fc_norm));
    RV_TRY(rv_vit_get_lin(v, "head.scene", &v->scene));
  }
  for (int l = 0; c->set && l < 3; l++) {
    snprintf(n, sizeof n, "head.set.class.%d", l);
    RV_TRY(rv_vit_get_lin(v, n, &v->set_cls[l]));
    snprintf(n, sizeof n, "head.set.box.%d", l);
    RV_TRY(rv_vit_get_lin(v, n, &v->set_box[l]));
  }
fail:
  return st;
}

rv_status rv_vit_heads_carve(rv_vit *v, rv_carver *cv) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  int64_t f = v->cap, d = v->d;
  if (c->dense) {
    if (c->dense_hidden) RV_TRY(rv_carve(cv, v->np, c->dense_hidden, &v->dense_h));
    int sub = rv_vit_dense_sub(c);
    RV_TRY(rv_carve(cv, f * v->np, sub * sub * rv_vit_dense_channels(c), &v->dense_o));
  }
  if (c->scene) {
    RV_TRY(rv_carve(cv, f, d, &v->pooled_rows));
    RV_TRY(rv_carve(cv, f, c->num_scene_actions, &v->scene_o));
    if (c->scene_clip && v->spread) RV_TRY(rv_carve(cv, v->ranks, d, &v->scene_all));
  }
  if (c->set) {
    RV_TRY(rv_carve(cv, v->ndet, d, &v->set_h1));
    RV_TRY(rv_carve(cv, v->ndet, d, &v->set_h2));
    RV_TRY(rv_carve(cv, f * v->ndet, c->num_classes + 1, &v->set_l));
    RV_TRY(rv_carve(cv, f * v->ndet, 4, &v->set_b));
  }
fail:
  return st;
}

static rv_tensor as3d(const rv_tensor *t2, int64_t frames, int64_t per) {
  return rv_tensor_3d(t2->data, RV_F32, frames, per, t2->shape[1]);
}

static rv_status dense_head(rv_vit *v, rv_tensor *out) {
  rv_status st = RV_OK;
  for (int64_t f = 0; f < v->n_local; f++) {
    rv_tensor xp = rv_rows(&v->x, f * v->seq + v->npre, v->np),
              o = rv_rows(&v->dense_o, f * v->np, v->np);
    if (v->c->dense_hidden) {
      RV_TRY(rv_vit_linear(v, &xp, &v->dense_hidden, &v->dense_h, v->c->gelu, 0.0f));
      RV_TRY(rv_vit_linear(v, &v->dense_h, &v->dense_out, &o, RV_ACT_NONE, 0.0f));
    } else {
      RV_TRY(rv_vit_linear(v, &xp, &v->dense_out, &o, RV_ACT_NONE, 0.0f));
    }
  }
  /* each patch's row holds its sub x sub cells one after another: the same floats */
  int sub = rv_vit_dense_sub(v->c);
  *out = rv_tensor_3d(v->dense_o.data, RV_F32, v->n_local, v->np * sub * sub,
                      rv_vit_dense_channels(v->c));
fail:
  return st;
}

/* Spread clip models: the clip row from every rank's part. A mean adds up the ranks' sums
 * (in rank order, the same on every rank); a cls row comes from the rank holding the last
 * frame. */
static rv_status join_clip(rv_vit *v, rv_tensor *row) {
  rv_status st = RV_OK;
  float *r = row->data;
  size_t bytes = (size_t)v->d * sizeof(float);
  if (v->c->scene_pool == RV_POOL_CLS) {
    for (int k = 0; k < v->ranks; k++) {
      rv_vit_span sp[2];
      int n = rv_vit_rank_spans(v, k, v->n_frames, sp);
      for (int i = 0; i < n; i++)
        if (sp[i].count && sp[i].first + sp[i].count == v->n_frames)
          RV_TRY(rv_comm_bcast(v->comm, r, bytes, k));
    }
    return RV_OK;
  }
  if (!v->n_local) memset(r, 0, bytes); /* nothing of the clip here */
  RV_TRY(rv_comm_allgather(v->comm, r, bytes, v->scene_all.data));
  const float *all = v->scene_all.data;
  for (int j = 0; j < v->d; j++) {
    float s = 0.0f;
    for (int k = 0; k < v->ranks; k++)
      s += all[(size_t)k * v->d + j];
    r[j] = s;
  }
fail:
  return st;
}

/* One pooled row per frame (cls row or patch mean), or one for the clip (mean over every
 * frame's patches, on all ranks), then fc_norm and the linear layer. */
static rv_status scene_head(rv_vit *v, rv_tensor *out) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  int64_t n = v->n_local, rows = c->scene_clip ? 1 : n;
  for (int64_t f = 0; f < n; f++) {
    rv_tensor dst = rv_rows(&v->pooled_rows, c->scene_clip ? 0 : f, 1);
    if (c->scene_pool == RV_POOL_CLS) {
      rv_tensor cls = rv_rows(&v->x, f * v->seq, 1);
      RV_TRY(rv_copy(v->be, &cls, &dst));
      continue;
    }
    rv_tensor xp = rv_rows(&v->x, f * v->seq + v->npre, v->np);
    float alpha = c->scene_clip ? 1.0f / (float)v->n_frames : 1.0f,
          beta = c->scene_clip && f > 0 ? 1.0f : 0.0f;
    rv_gemm_params p = {0, 0, alpha, beta, RV_ACT_NONE};
    RV_TRY(rv_gemm(v->be, &v->mean_row, &xp, NULL, &dst, &p));
  }
  if (c->scene_clip && v->spread) {
    rv_tensor clip = rv_rows(&v->pooled_rows, 0, 1);
    RV_TRY(join_clip(v, &clip));
  }
  rv_tensor pr = rv_rows(&v->pooled_rows, 0, rows), so = rv_rows(&v->scene_o, 0, rows);
  if (c->scene_fc_norm)
    RV_TRY(rv_layernorm(v->be, &pr, &v->fc_norm.w, &v->fc_norm.b, c->ln_eps, &pr));
  RV_TRY(rv_vit_linear(v, &pr, &v->scene, &so, RV_ACT_NONE, 0.0f));
  *out = so;
fail:
  return st;
}

/* Three linear layers with ReLU between them, as YOLOS's MLP prediction heads. */
static rv_status mlp3(rv_vit *v, const rv_tensor *in, const rv_lin *l, rv_tensor *out) {
  rv_status st = RV_OK;
  RV_TRY(rv_vit_linear(v, in, &l[0], &v->set_h1, RV_ACT_NONE, 0.0f));
  RV_TRY(rv_host_relu(v->be, &v->set_h1));
  RV_TRY(rv_vit_linear(v, &v->set_h1, &l[1], &v->set_h2, RV_ACT_NONE, 0.0f));
  RV_TRY(rv_host_relu(v->be, &v->set_h2));
  RV_TRY(rv_vit_linear(v, &v->set_h2, &l[2], out, RV_ACT_NONE, 0.0f));
fail:
  return st;
}

static rv_status set_head(rv_vit *v, rv_tensor *logits, rv_tensor *boxes) {
  rv_status st = RV_OK;
  for (int64_t f = 0; f < v->n_local; f++) {
    rv_tensor det = rv_rows(&v->x, f * v->seq + v->npre + v->np, v->ndet);
    rv_tensor lo = rv_rows(&v->set_l, f * v->ndet, v->ndet),
              bo = rv_rows(&v->set_b, f * v->ndet, v->ndet);
    RV_TRY(mlp3(v, &det, v->set_cls, &lo));
    RV_TRY(mlp3(v, &det, v->set_box, &bo));
    RV_TRY(rv_host_sigmoid(v->be, &bo));
  }
  *logits = as3d(&v->set_l, v->n_local, v->ndet);
  *boxes = as3d(&v->set_b, v->n_local, v->ndet);
fail:
  return st;
}

rv_status rv_vit_heads_run(rv_vit *v, rv_vit_outputs *out) {
  rv_status st = RV_OK;
  const rv_vit_config *c = v->c;
  out->frames = v->n_local;
  out->grid_h = v->gh;
  out->grid_w = v->gw;
  out->features = rv_tensor_3d(v->x.data, RV_F32, v->n_local, v->seq, v->d);
  if (c->dense) RV_TRY(dense_head(v, &out->dense));
  if (c->scene) RV_TRY(scene_head(v, &out->scene));
  if (c->set) RV_TRY(set_head(v, &out->set_logits, &out->set_boxes));
fail:
  return st;
}
