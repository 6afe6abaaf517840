/* Tensor views: a pointer, an element type, up to four dimensions and strides.
 *
 * A view never owns its memory. Shapes and strides are in elements, row-major: the last
 * dimension varies fastest. `mem` says where `data` lives, so a backend can refuse a view
 * it cannot address (a host pointer handed to the CUDA backend, say). */
#ifndef RINGVIT_TENSOR_H
#define RINGVIT_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include <ringvit/status.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_MAX_DIMS 4

typedef enum rv_dtype {
  RV_F32 = 0,
  RV_F16 = 1,
  RV_BF16 = 2,
  RV_U8 = 3,
  RV_I32 = 4,
} rv_dtype;

typedef enum rv_mem {
  RV_MEM_HOST = 0,   /* ordinary CPU memory */
  RV_MEM_DEVICE = 1, /* CUDA device memory */
} rv_mem;

typedef struct rv_tensor {
  void *data;
  rv_dtype dtype;
  rv_mem mem;
  int ndim;
  int64_t shape[RV_MAX_DIMS];
  int64_t stride[RV_MAX_DIMS];
} rv_tensor;

size_t rv_dtype_size(rv_dtype dt);
const char *rv_dtype_name(rv_dtype dt);

/* Contiguous row-major views of host memory. */
rv_tensor rv_tensor_1d(void *data, rv_dtype dt, int64_t n0);
rv_tensor rv_tensor_2d(void *data, rv_dtype dt, int64_t n0, int64_t n1);
rv_tensor rv_tensor_3d(void *data, rv_dtype dt, int64_t n0, int64_t n1, int64_t n2);
rv_tensor rv_tensor_4d(void *data, rv_dtype dt, int64_t n0, int64_t n1, int64_t n2, int64_t n3);

int64_t rv_tensor_nelem(const rv_tensor *t);
/* Bytes spanned from data to one past the last element (strides honoured). */
size_t rv_tensor_span_bytes(const rv_tensor *t);
int rv_tensor_is_contiguous(const rv_tensor *t);
/* Element pointer at row r of a 2-D view (or of the first two dims). */
static inline void *rv_tensor_row(const rv_tensor *t, int64_t r) {
  return (char *)t->data + (size_t)(r * t->stride[0]) * rv_dtype_size(t->dtype);
}

/* "[3, 4] f32" into buf; returns buf. */
const char *rv_tensor_describe(const rv_tensor *t, char *buf, size_t cap);

/* Scalar conversions used by every backend and by the weight loader. */
float rv_bf16_to_f32(uint16_t h);
uint16_t rv_f32_to_bf16(float f); /* round to nearest even; NaN stays NaN */
float rv_f16_to_f32(uint16_t h);
uint16_t rv_f32_to_f16(float f);

#ifdef __cplusplus
}
#endif
#endif
