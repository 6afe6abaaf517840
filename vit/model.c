/* Model files: a safetensors map, the config from its "__metadata__" and every tensor
 * checked against what the config needs before anything uses it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vit-impl.h"

static const char *const label_keys[3] = {"classes", "track_actions", "scene_actions"};

void rv_model_free(rv_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n; i++) {
    free(m->e[i].owned);
    free((char *)m->e[i].name);
  }
  free(m->e);
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < m->n_labels[k]; i++)
      free(m->labels[k][i]);
    free(m->labels[k]);
  }
  free(m->config_json);
  rv_st_map_close(m->map);
  free(m);
}

rv_status rv_model_parse_labels(rv_model *m, json_t *root) {
  json_t *labels = json_object_get(root, "labels");
  if (!labels) return RV_OK;
  if (!json_is_object(labels))
    return RV_FAIL(RV_ERR_FORMAT, "config: \"labels\" must be an object");
  for (int k = 0; k < 3; k++) {
    json_t *arr = json_object_get(labels, label_keys[k]);
    if (!arr) continue;
    if (!json_is_array(arr))
      return RV_FAIL(RV_ERR_FORMAT, "config: labels.%s must be a list", label_keys[k]);
    size_t n = json_array_size(arr);
    m->labels[k] = calloc(n ? n : 1, sizeof(char *));
    if (!m->labels[k]) return RV_FAIL(RV_ERR_NOMEM, "label table");
    for (size_t i = 0; i < n; i++) {
      json_t *s = json_array_get(arr, i);
      if (!json_is_string(s))
        return RV_FAIL(RV_ERR_FORMAT, "config: labels.%s[%zu] is not a string", label_keys[k], i);
      m->labels[k][i] = strdup(json_string_value(s));
      if (!m->labels[k][i]) return RV_FAIL(RV_ERR_NOMEM, "label");
      m->n_labels[k] = (int)i + 1;
    }
  }
  return RV_OK;
}

static rv_status add_entry(rv_model *m, const char *name, const char *stored, rv_tensor t,
                           float *owned) {
  rv_model_entry *ne = realloc(m->e, (size_t)(m->n + 1) * sizeof *ne);
  if (!ne) return RV_FAIL(RV_ERR_NOMEM, "tensor table");
  m->e = ne;
  char *nm = strdup(name);
  if (!nm) return RV_FAIL(RV_ERR_NOMEM, "tensor name");
  m->e[m->n] = (rv_model_entry){nm, stored, t, owned};
  m->n++;
  m->params += rv_tensor_nelem(&t);
  return RV_OK;
}

static rv_tensor view(float *data, int ndim, const int64_t *shape) {
  int64_t s[4] = {1, 1, 1, 1};
  for (int i = 0; i < ndim; i++)
    s[i] = shape[i];
  switch (ndim) {
  case 1: return rv_tensor_1d(data, RV_F32, s[0]);
  case 2: return rv_tensor_2d(data, RV_F32, s[0], s[1]);
  case 3: return rv_tensor_3d(data, RV_F32, s[0], s[1], s[2]);
  default: return rv_tensor_4d(data, RV_F32, s[0], s[1], s[2], s[3]);
  }
}

static void describe_shape(char *buf, size_t cap, int ndim, const int64_t *shape) {
  size_t k = (size_t)snprintf(buf, cap, "[");
  for (int i = 0; i < ndim && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (k < cap) snprintf(buf + k, cap - k, "]");
}

typedef struct bind_ctx {
  rv_model *m;
  const rv_st *st;
  int matched;
} bind_ctx;

/* One expected tensor: present, float, of the config's shape; viewed in place when it is
 * aligned f32, else converted into an owned f32 copy. */
static rv_status bind_one(void *user, const char *name, int ndim, const int64_t *shape) {
  bind_ctx *b = user;
  char want[96], got[96];
  const rv_st_entry *e = rv_st_find(b->st, name);
  if (!e) return RV_FAIL(RV_ERR_NOT_FOUND, "tensor \"%s\" is missing from the file", name);
  int same = e->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = e->shape[i] == shape[i];
  if (!same) {
    describe_shape(want, sizeof want, ndim, shape);
    describe_shape(got, sizeof got, e->ndim, e->shape);
    return RV_FAIL(RV_ERR_SHAPE, "tensor \"%s\" is %s, the config needs %s", name, got, want);
  }
  if (e->dtype != RV_ST_F32 && e->dtype != RV_ST_F16 && e->dtype != RV_ST_BF16)
    return RV_FAIL(RV_ERR_DTYPE, "tensor \"%s\" is %s; weights must be F32, F16 or BF16", name,
                   rv_st_dtype_name(e->dtype));
  b->matched++;
  int64_t n = rv_st_nelem(e);
  if (e->dtype == RV_ST_F32 && ((uintptr_t)e->data % sizeof(float)) == 0)
    return add_entry(b->m, name, "F32", view((float *)e->data, ndim, shape), NULL);
  float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
  if (!buf) return RV_FAIL(RV_ERR_NOMEM, "tensor \"%s\": %lld floats", name, (long long)n);
  rv_status st = rv_st_to_f32(e, buf, n);
  if (st == RV_OK)
    st = add_entry(b->m, name, rv_st_dtype_name(e->dtype), view(buf, ndim, shape), buf);
  if (st < 0) free(buf);
  return st;
}

/* Every tensor of the file must be one the config asked for. */
static rv_status check_extras(const rv_model *m, const rv_st *st) {
  for (int i = 0; i < st->n; i++)
    if (!rv_model_get(m, st->e[i].name))
      return RV_FAIL(RV_ERR_FORMAT,
                     "tensor \"%s\" is in the file but not in its config "
                     "(the config contradicts the tensors)",
                     st->e[i].name);
  return RV_OK;
}

static rv_status parse_config(rv_model *m, const char *text) {
  rv_status st = RV_OK;
  json_error_t err;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  if (!root) return RV_FAIL(RV_ERR_FORMAT, "config JSON: %s (line %d)", err.text, err.line);
  json_t *arch = json_object_get(root, "arch");
  const char *a = json_is_string(arch) ? json_string_value(arch) : "vit";
  if (!strcmp(a, "seed")) {
    m->arch = RV_ARCH_SEED;
    RV_TRY(rv_seed_config_from_json(root, &m->seed));
  } else if (!strcmp(a, "vit")) {
    m->arch = RV_ARCH_VIT;
    RV_TRY(rv_vit_config_parse(text, &m->cfg));
    RV_TRY(rv_model_parse_labels(m, root));
  } else {
    RV_TRY_FAIL(RV_ERR_FORMAT, "config: unknown arch \"%.32s\"", a);
  }
  m->config_json = strdup(text);
  if (!m->config_json) RV_TRY_FAIL(RV_ERR_NOMEM, "config text");
fail:
  json_decref(root);
  return st;
}

static rv_status bind_all(rv_model *m, rv_tensor_fn fn, void *user) {
  if (m->arch == RV_ARCH_SEED) return rv_seed_expected_tensors(&m->seed, fn, user);
  return rv_vit_expected_tensors(&m->cfg, fn, user);
}

rv_status rv_model_load(const char *path, rv_model **out) {
  rv_status st = RV_OK;
  rv_model *m = NULL;
  if (!path || !out) return RV_FAIL(RV_ERR_INVALID, "path and out must not be NULL");
  *out = NULL;
  m = calloc(1, sizeof *m);
  if (!m) return RV_FAIL(RV_ERR_NOMEM, "model handle");
  RV_TRY(rv_st_map_open(path, &m->map));
  const char *text = rv_st_meta(m->map->st, "ringvit");
  if (!text)
    RV_TRY_FAIL(RV_ERR_FORMAT,
                "%s: no \"ringvit\" config in __metadata__ (convert it with "
                "vit/train/export.py)",
                path);
  RV_TRY(parse_config(m, text));
  bind_ctx b = {m, m->map->st, 0};
  RV_TRY(bind_all(m, bind_one, &b));
  RV_TRY(check_extras(m, m->map->st));
  *out = m;
  return RV_OK;
fail:
  rv_model_free(m);
  return st;
}

static rv_status alloc_one(void *user, const char *name, int ndim, const int64_t *shape) {
  rv_model *m = user;
  int64_t n = 1;
  for (int i = 0; i < ndim; i++)
    n *= shape[i];
  float *buf = calloc((size_t)(n ? n : 1), sizeof(float));
  if (!buf) return RV_FAIL(RV_ERR_NOMEM, "tensor \"%s\": %lld floats", name, (long long)n);
  rv_status st = add_entry(m, name, "F32", view(buf, ndim, shape), buf);
  if (st < 0) free(buf);
  return st;
}

rv_status rv_model_alloc_expected(rv_model *m) { return bind_all(m, alloc_one, m); }

const rv_tensor *rv_model_get(const rv_model *m, const char *name) {
  for (int i = 0; m && i < m->n; i++)
    if (!strcmp(m->e[i].name, name)) return &m->e[i].t;
  return NULL;
}

const char *rv_model_arch(const rv_model *m) {
  if (!m) return NULL;
  return m->arch == RV_ARCH_SEED ? "seed" : "vit";
}

const rv_vit_config *rv_model_config(const rv_model *m) {
  return m && m->arch == RV_ARCH_VIT ? &m->cfg : NULL;
}

const char *rv_model_config_json(const rv_model *m) { return m ? m->config_json : NULL; }
int64_t rv_model_param_count(const rv_model *m) { return m ? m->params : 0; }
int rv_model_tensor_count(const rv_model *m) { return m ? m->n : 0; }

const char *rv_model_label(const rv_model *m, rv_label_kind kind, int i) {
  if (!m || (unsigned)kind > 2 || i < 0 || i >= m->n_labels[kind]) return NULL;
  return m->labels[kind][i];
}

rv_status rv_model_tensor(const rv_model *m, int i, rv_model_tensor_info *out) {
  if (!m || !out) return RV_FAIL(RV_ERR_INVALID, "model and out must not be NULL");
  if (i < 0 || i >= m->n) return RV_FAIL(RV_ERR_INVALID, "tensor %d of %d", i, m->n);
  *out = (rv_model_tensor_info){m->e[i].name, m->e[i].stored, m->e[i].t};
  return RV_OK;
}

rv_status rv_model_find(const rv_model *m, const char *name, rv_tensor *out) {
  if (!m || !name || !out) return RV_FAIL(RV_ERR_INVALID, "model, name and out must not be NULL");
  const rv_tensor *t = rv_model_get(m, name);
  if (!t) return RV_FAIL(RV_ERR_NOT_FOUND, "model has no tensor \"%s\"", name);
  *out = *t;
  return RV_OK;
}
