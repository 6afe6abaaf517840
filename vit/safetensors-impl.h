/* The safetensors container: an 8-byte little-endian header length, a JSON header that
 * maps each tensor name to {dtype, shape, data_offsets: [begin, end]} (offsets relative
 * to the first byte after the header) plus an optional "__metadata__" object of strings,
 * then the raw little-endian data.
 *
 * The parser works on a memory buffer so the fuzz target and the mmap'd loader share it.
 * It accepts a header only when every entry is well formed, every byte range lies inside
 * the data, ranges do not overlap and each range is exactly shape x dtype size bytes. */
#ifndef RINGVIT_SAFETENSORS_IMPL_H
#define RINGVIT_SAFETENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/kernels.h>

enum { RV_ST_MAX_DIMS = 8 };

/* Element types safetensors knows; the model loader accepts only the float ones. */
typedef enum rv_st_dtype {
  RV_ST_F32,
  RV_ST_F16,
  RV_ST_BF16,
  RV_ST_F64,
  RV_ST_I64,
  RV_ST_I32,
  RV_ST_I16,
  RV_ST_I8,
  RV_ST_U8,
  RV_ST_BOOL,
  RV_ST_U16,
  RV_ST_U32,
  RV_ST_U64,
  RV_ST_F8_E4M3,
  RV_ST_F8_E5M2,
} rv_st_dtype;

typedef struct rv_st_entry {
  char *name;
  rv_st_dtype dtype;
  int ndim;
  int64_t shape[RV_ST_MAX_DIMS];
  uint64_t begin, end; /* byte range inside the data section */
  const void *data;    /* begin's address in the buffer */
} rv_st_entry;

typedef struct rv_st {
  size_t header_len;
  const uint8_t *data; /* first byte after the header */
  size_t data_len;
  int n;
  rv_st_entry *e; /* in file order of their offsets */
  int n_meta;
  char **meta_key, **meta_val;
} rv_st;

const char *rv_st_dtype_name(rv_st_dtype dt);
size_t rv_st_dtype_size(rv_st_dtype dt);

/* Parses and validates the container held in buf[0, len); the result points into buf,
 * which must outlive it. RV_ERR_FORMAT (naming the tensor where there is one),
 * RV_ERR_DTYPE for an unknown dtype. */
rv_status rv_st_parse(const void *buf, size_t len, rv_st **out);
void rv_st_free(rv_st *st); /* NULL-safe */

const rv_st_entry *rv_st_find(const rv_st *st, const char *name);
const char *rv_st_meta(const rv_st *st, const char *key); /* NULL when absent */
int64_t rv_st_nelem(const rv_st_entry *e);

/* A file mapped read-only, parsed. */
typedef struct rv_st_map {
  void *base;
  size_t len;
  rv_st *st;
} rv_st_map;

rv_status rv_st_map_open(const char *path, rv_st_map **out);
void rv_st_map_close(rv_st_map *m); /* NULL-safe */

/* Copies an entry to f32 (f32, f16, bf16 sources), `n` elements into dst. */
rv_status rv_st_to_f32(const rv_st_entry *e, float *dst, int64_t n);

#endif
