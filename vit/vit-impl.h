/* Internals shared by the vit module's files: the expected tensor list of a config, the
 * model struct, and host-side helpers. */
#ifndef RINGVIT_VIT_IMPL_H
#define RINGVIT_VIT_IMPL_H

#include <jansson.h>

#include <ringvit/seed.h>
#include <ringvit/vit.h>

#include "safetensors-impl.h"

typedef enum rv_arch { RV_ARCH_VIT = 0, RV_ARCH_SEED = 1 } rv_arch;

/* Receives each tensor a config needs: name and shape. */
typedef rv_status (*rv_tensor_fn)(void *user, const char *name, int ndim, const int64_t *shape);

rv_status rv_vit_expected_tensors(const rv_vit_config *c, rv_tensor_fn fn, void *user);
rv_status rv_seed_expected_tensors(const rv_seed_cfg *c, rv_tensor_fn fn, void *user);

/* Seed config from its JSON object ({"arch": "seed", ...}). */
rv_status rv_seed_config_from_json(json_t *root, rv_seed_cfg *out);

typedef struct rv_model_entry {
  const char *name;
  const char *stored;
  rv_tensor t;
  float *owned; /* converted or realigned copy, else NULL (a view of the map) */
} rv_model_entry;

struct rv_model {
  rv_arch arch;
  rv_vit_config cfg;
  rv_seed_cfg seed;
  char *config_json;
  int n_labels[3];
  char **labels[3];
  rv_st_map *map; /* NULL for models built in memory */
  int n;
  rv_model_entry *e;
  int64_t params;
};

/* Labels of a config JSON ("labels": {"classes": [...], ...}) into the model. */
rv_status rv_model_parse_labels(rv_model *m, json_t *root);
/* A model of `arch` whose tensors are owned zero-filled f32 buffers of the expected shapes
 * (the seed builder fills them). */
rv_status rv_model_alloc_expected(rv_model *m);

/* Looks a tensor up, as a view; NULL when absent. */
const rv_tensor *rv_model_get(const rv_model *m, const char *name);

/* Rows [r0, r0 + n) of a 2-D view. */
static inline rv_tensor rv_rows(const rv_tensor *t, int64_t r0, int64_t n) {
  rv_tensor s = *t;
  s.data = rv_tensor_row(t, r0);
  s.shape[0] = n;
  return s;
}

/* ---- host-side helpers for what the kernels have no op for (small, per-call tensors) ---- */
rv_status rv_host_relu(rv_backend *be, rv_tensor *t);
rv_status rv_host_sigmoid(rv_backend *be, rv_tensor *t);

/* Sinusoidal table rows: out[r][2i] = sin(pos_r w_i), out[r][2i+1] = cos(pos_r w_i) with
 * w_i = 10000^(-2i / dim) (VideoMAE's interleaved layout); pos_r = pos0 + r * step. */
void rv_sincos_rows(float *out, int64_t rows, int dim, double pos0, double step);
/* Resamples a [gh, gw, D] grid to [oh, ow, D] as PyTorch's interpolate does with
 * align_corners=False (bicubic with A = -0.75, or bilinear), no antialias. */
void rv_resample_grid(const float *src, int gh, int gw, int dim, float *dst, int oh, int ow,
                      rv_resample mode);

#endif
