/* safetensors parsing and mapping (format described in safetensors-impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safetensors-impl.h"

static const struct {
  const char *name;
  rv_st_dtype dt;
  size_t size;
} dtypes[] = {
    {"F32", RV_ST_F32, 4},   {"F16", RV_ST_F16, 2},         {"BF16", RV_ST_BF16, 2},
    {"F64", RV_ST_F64, 8},   {"I64", RV_ST_I64, 8},         {"I32", RV_ST_I32, 4},
    {"I16", RV_ST_I16, 2},   {"I8", RV_ST_I8, 1},           {"U8", RV_ST_U8, 1},
    {"BOOL", RV_ST_BOOL, 1}, {"U16", RV_ST_U16, 2},         {"U32", RV_ST_U32, 4},
    {"U64", RV_ST_U64, 8},   {"F8_E4M3", RV_ST_F8_E4M3, 1}, {"F8_E5M2", RV_ST_F8_E5M2, 1},
};
enum { N_DTYPES = sizeof dtypes / sizeof dtypes[0] };

const char *rv_st_dtype_name(rv_st_dtype dt) {
  for (int i = 0; i < N_DTYPES; i++)
    if (dtypes[i].dt == dt) return dtypes[i].name;
  return "?";
}

size_t rv_st_dtype_size(rv_st_dtype dt) {
  for (int i = 0; i < N_DTYPES; i++)
    if (dtypes[i].dt == dt) return dtypes[i].size;
  return 0;
}

int64_t rv_st_nelem(const rv_st_entry *e) {
  int64_t n = 1;
  for (int i = 0; i < e->ndim; i++)
    n *= e->shape[i];
  return n;
}

void rv_st_free(rv_st *st) {
  if (!st) return;
  for (int i = 0; i < st->n; i++)
    free(st->e[i].name);
  for (int i = 0; i < st->n_meta; i++) {
    free(st->meta_key[i]);
    free(st->meta_val[i]);
  }
  free(st->e);
  free(st->meta_key);
  free(st->meta_val);
  free(st);
}

static rv_status parse_metadata(rv_st *st, json_t *obj) {
  if (!json_is_object(obj)) return RV_FAIL(RV_ERR_FORMAT, "__metadata__ is not an object");
  size_t n = json_object_size(obj);
  st->meta_key = calloc(n ? n : 1, sizeof(char *));
  st->meta_val = calloc(n ? n : 1, sizeof(char *));
  if (!st->meta_key || !st->meta_val) return RV_FAIL(RV_ERR_NOMEM, "metadata table");
  const char *key;
  json_t *val;
  json_object_foreach(obj, key, val) {
    if (!json_is_string(val))
      return RV_FAIL(RV_ERR_FORMAT, "__metadata__ value of \"%s\" is not a string", key);
    int i = st->n_meta;
    st->meta_key[i] = strdup(key);
    st->meta_val[i] = strdup(json_string_value(val));
    if (!st->meta_key[i] || !st->meta_val[i]) return RV_FAIL(RV_ERR_NOMEM, "metadata entry");
    st->n_meta++;
  }
  return RV_OK;
}

/* A JSON integer in [0, max]; 0 when it is not. */
static int get_uint(json_t *v, uint64_t max, uint64_t *out) {
  if (!json_is_integer(v)) return 0;
  json_int_t x = json_integer_value(v);
  if (x < 0 || (uint64_t)x > max) return 0;
  *out = (uint64_t)x;
  return 1;
}

static rv_status parse_dtype(const char *name, json_t *v, rv_st_dtype *out) {
  if (!json_is_string(v))
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": dtype is not a string", name);
  const char *s = json_string_value(v);
  for (int i = 0; i < N_DTYPES; i++)
    if (!strcmp(s, dtypes[i].name)) {
      *out = dtypes[i].dt;
      return RV_OK;
    }
  return RV_FAIL(RV_ERR_DTYPE, "tensor \"%s\": unknown dtype \"%.32s\"", name, s);
}

static rv_status parse_shape(const char *name, json_t *v, rv_st_entry *e, uint64_t *bytes) {
  if (!json_is_array(v))
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": shape is not an array", name);
  size_t nd = json_array_size(v);
  if (nd > RV_ST_MAX_DIMS)
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": %zu dims, at most %d", name, nd, RV_ST_MAX_DIMS);
  e->ndim = (int)nd;
  uint64_t total = rv_st_dtype_size(e->dtype);
  for (size_t i = 0; i < nd; i++) {
    uint64_t d;
    if (!get_uint(json_array_get(v, i), (uint64_t)INT64_MAX, &d))
      return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": dim %zu is not a non-negative integer", name,
                     i);
    e->shape[i] = (int64_t)d;
    if (d && total > UINT64_MAX / d)
      return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": size overflows", name);
    total *= d;
  }
  *bytes = total;
  return RV_OK;
}

static rv_status parse_entry(rv_st *st, const char *name, json_t *obj, rv_st_entry *e) {
  rv_status s;
  uint64_t bytes = 0;
  if (!name[0]) return RV_FAIL(RV_ERR_FORMAT, "a tensor has an empty name");
  if (!json_is_object(obj))
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": entry is not an object", name);
  if ((s = parse_dtype(name, json_object_get(obj, "dtype"), &e->dtype)) < 0) return s;
  if ((s = parse_shape(name, json_object_get(obj, "shape"), e, &bytes)) < 0) return s;
  json_t *off = json_object_get(obj, "data_offsets");
  if (!json_is_array(off) || json_array_size(off) != 2 ||
      !get_uint(json_array_get(off, 0), UINT64_MAX, &e->begin) ||
      !get_uint(json_array_get(off, 1), UINT64_MAX, &e->end))
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": data_offsets must be [begin, end]", name);
  if (e->begin > e->end || e->end > st->data_len)
    return RV_FAIL(
        RV_ERR_FORMAT,
        "tensor \"%s\": bytes [%llu, %llu) lie outside the %zu data bytes (truncated file?)", name,
        (unsigned long long)e->begin, (unsigned long long)e->end, st->data_len);
  if (e->end - e->begin != bytes)
    return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\": %llu bytes stored, its shape and %s need %llu",
                   name, (unsigned long long)(e->end - e->begin), rv_st_dtype_name(e->dtype),
                   (unsigned long long)bytes);
  e->data = st->data + e->begin;
  e->name = strdup(name);
  if (!e->name) return RV_FAIL(RV_ERR_NOMEM, "tensor name");
  return RV_OK;
}

static int by_offset(const void *a, const void *b) {
  const rv_st_entry *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* After sorting by offset, each non-empty range must end before the next one begins. */
static rv_status check_overlaps(rv_st *st) {
  qsort(st->e, (size_t)st->n, sizeof *st->e, by_offset);
  uint64_t reach = 0;
  const char *owner = NULL;
  for (int i = 0; i < st->n; i++) {
    const rv_st_entry *e = &st->e[i];
    if (e->begin == e->end) continue;
    if (owner && e->begin < reach)
      return RV_FAIL(RV_ERR_FORMAT, "tensor \"%s\" overlaps tensor \"%s\" in the data", e->name,
                     owner);
    reach = e->end;
    owner = e->name;
  }
  return RV_OK;
}

static rv_status parse_root(rv_st *st, json_t *root) {
  rv_status s;
  if (!json_is_object(root))
    return RV_FAIL(RV_ERR_FORMAT, "safetensors header is not a JSON object");
  size_t n = json_object_size(root);
  st->e = calloc(n ? n : 1, sizeof *st->e);
  if (!st->e) return RV_FAIL(RV_ERR_NOMEM, "tensor table of %zu entries", n);
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (!strcmp(key, "__metadata__")) {
      if (st->meta_key) return RV_FAIL(RV_ERR_FORMAT, "two __metadata__ objects");
      if ((s = parse_metadata(st, val)) < 0) return s;
      continue;
    }
    if ((s = parse_entry(st, key, val, &st->e[st->n])) < 0) return s;
    st->n++;
  }
  return check_overlaps(st);
}

rv_status rv_st_parse(const void *buf, size_t len, rv_st **out) {
  rv_status st = RV_OK;
  rv_st *s = NULL;
  json_t *root = NULL;
  if (!buf || !out) return RV_FAIL(RV_ERR_INVALID, "buf and out must not be NULL");
  *out = NULL;
  if (len < 8) return RV_FAIL(RV_ERR_FORMAT, "%zu bytes: too short for a safetensors header", len);
  const uint8_t *p = buf;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = hlen << 8 | p[i];
  if (hlen > len - 8)
    return RV_FAIL(RV_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte file",
                   (unsigned long long)hlen, len);
  if (hlen < 2) return RV_FAIL(RV_ERR_FORMAT, "header of %llu bytes", (unsigned long long)hlen);
  s = calloc(1, sizeof *s);
  if (!s) return RV_FAIL(RV_ERR_NOMEM, "safetensors handle");
  s->header_len = (size_t)hlen;
  s->data = p + 8 + hlen;
  s->data_len = len - 8 - (size_t)hlen;
  json_error_t err;
  root = json_loadb((const char *)p + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &err);
  if (!root) RV_TRY_FAIL(RV_ERR_FORMAT, "header JSON: %s at byte %d", err.text, err.position);
  RV_TRY(parse_root(s, root));
  json_decref(root);
  *out = s;
  return RV_OK;
fail:
  json_decref(root);
  rv_st_free(s);
  return st;
}

const rv_st_entry *rv_st_find(const rv_st *st, const char *name) {
  for (int i = 0; st && i < st->n; i++)
    if (!strcmp(st->e[i].name, name)) return &st->e[i];
  return NULL;
}

const char *rv_st_meta(const rv_st *st, const char *key) {
  for (int i = 0; st && i < st->n_meta; i++)
    if (!strcmp(st->meta_key[i], key)) return st->meta_val[i];
  return NULL;
}

rv_status rv_st_map_open(const char *path, rv_st_map **out) {
  rv_status st = RV_OK;
  rv_st_map *m = NULL;
  int fd = -1;
  if (!path || !out) return RV_FAIL(RV_ERR_INVALID, "path and out must not be NULL");
  *out = NULL;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return RV_FAIL(errno == ENOENT ? RV_ERR_NOT_FOUND : RV_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0) RV_TRY_FAIL(RV_ERR_IO, "%s: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode)) RV_TRY_FAIL(RV_ERR_IO, "%s: not a regular file", path);
  m = calloc(1, sizeof *m);
  if (!m) RV_TRY_FAIL(RV_ERR_NOMEM, "map handle");
  m->len = (size_t)sb.st_size;
  if (m->len < 8)
    RV_TRY_FAIL(RV_ERR_FORMAT, "%s: %zu bytes, too short for safetensors", path, m->len);
  m->base = mmap(NULL, m->len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m->base == MAP_FAILED) {
    m->base = NULL;
    RV_TRY_FAIL(RV_ERR_IO, "%s: mmap: %s", path, strerror(errno));
  }
  st = rv_st_parse(m->base, m->len, &m->st);
  if (st < 0) { /* name the file in the parser's message */
    char why[512];
    snprintf(why, sizeof why, "%s", rv_last_error());
    RV_TRY_FAIL(st, "%s: %s", path, why);
  }
  close(fd);
  *out = m;
  return RV_OK;
fail:
  if (fd >= 0) close(fd);
  rv_st_map_close(m);
  return st;
}

void rv_st_map_close(rv_st_map *m) {
  if (!m) return;
  rv_st_free(m->st);
  if (m->base) munmap(m->base, m->len);
  free(m);
}

rv_status rv_st_to_f32(const rv_st_entry *e, float *dst, int64_t n) {
  if (rv_st_nelem(e) != n)
    return RV_FAIL(RV_ERR_SHAPE, "tensor \"%s\" has %lld elements, %lld wanted", e->name,
                   (long long)rv_st_nelem(e), (long long)n);
  const uint8_t *src = e->data;
  for (int64_t i = 0; i < n; i++) { /* memcpy: the data need not be aligned */
    if (e->dtype == RV_ST_F32) {
      memcpy(&dst[i], src + 4 * i, 4);
    } else if (e->dtype == RV_ST_F16 || e->dtype == RV_ST_BF16) {
      uint16_t h;
      memcpy(&h, src + 2 * i, 2);
      dst[i] = e->dtype == RV_ST_F16 ? rv_f16_to_f32(h) : rv_bf16_to_f32(h);
    } else {
      return RV_FAIL(RV_ERR_DTYPE, "tensor \"%s\" is %s; weights must be F32, F16 or BF16", e->name,
                     rv_st_dtype_name(e->dtype));
    }
  }
  return RV_OK;
}
