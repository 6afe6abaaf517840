/* Compute backends behind one interface (in the manner of ggml's backends).
 *
 *   cpu-ref  plain loops, fp32, single thread: the truth every other backend is tested against
 *   cpu      fp32, OpenBLAS sgemm, a pool of worker threads, cache-blocked loops
 *   cuda     bf16 storage with fp32 accumulation on one NVIDIA GPU (when built with CUDA)
 *
 * A backend owns its threads, streams, library handles and workspaces: nothing is global.
 * It belongs to one thread at a time; create one per rank or per stream. */
#ifndef RINGVIT_BACKEND_H
#define RINGVIT_BACKEND_H

#include <ringvit/status.h>
#include <ringvit/tensor.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rv_backend_kind {
  RV_BACKEND_CPU_REF = 0,
  RV_BACKEND_CPU = 1,
  RV_BACKEND_CUDA = 2,
  RV_BACKEND_COUNT = 3,
} rv_backend_kind;

typedef struct rv_backend_cfg {
  rv_backend_kind kind;
  int threads; /* cpu: worker threads, 0 = one per online core */
  int device;  /* cuda: device ordinal */
} rv_backend_cfg;

typedef struct rv_backend rv_backend;

/* Name <-> kind: "cpu-ref", "cpu", "cuda". */
const char *rv_backend_kind_name(rv_backend_kind kind);
rv_status rv_backend_kind_parse(const char *name, rv_backend_kind *out);

/* 1 when the kind was compiled in and (for cuda) a usable device is present. */
int rv_backend_available(rv_backend_kind kind);

rv_status rv_backend_init(const rv_backend_cfg *cfg, rv_backend **out);
void rv_backend_free(rv_backend *b); /* NULL-safe */

const char *rv_backend_name(const rv_backend *b);
rv_backend_kind rv_backend_get_kind(const rv_backend *b);
int rv_backend_threads(const rv_backend *b);
/* Element type for activations and weights on this backend: f32 on CPU, bf16 on CUDA. */
rv_dtype rv_backend_act_dtype(const rv_backend *b);
/* Where this backend's buffers live. */
rv_mem rv_backend_mem(const rv_backend *b);

/* Memory the backend can address (aligned to at least 256 bytes). */
rv_status rv_backend_alloc(rv_backend *b, size_t bytes, void **out);
void rv_backend_dealloc(rv_backend *b, void *p); /* NULL-safe */
/* Host <-> backend copies; plain memcpy on CPU backends. */
rv_status rv_backend_upload(rv_backend *b, void *dst, const void *src, size_t bytes);
rv_status rv_backend_download(rv_backend *b, void *dst, const void *src, size_t bytes);
/* Waits for all queued work (a no-op on CPU backends). */
rv_status rv_backend_sync(rv_backend *b);

#ifdef __cplusplus
}
#endif
#endif
