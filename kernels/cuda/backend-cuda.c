/* The CUDA backend: device, stream, cuBLASLt handle and workspace, device memory, and the
 * vtable entries that hand validated views to the kernels' launchers. */
#include <stdlib.h>
#include <string.h>

#include "cublaslt-impl.h"
#include "cuda-impl.h"

enum { WORKSPACE_BYTES = 32 << 20 }; /* cuBLASLt's advice for Hopper */

int rv_backend_cuda_available(void) {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    (void)cudaGetLastError(); /* "no driver" / "no device" is an answer, not an error */
    return 0;
  }
  return n > 0;
}

/* Every entry point makes the backend's device current: a thread may drive several. */
static rv_status enter(rv_cuda_backend *cb) {
  RV_CUDA_CHECK(cudaSetDevice(cb->device), "cudaSetDevice");
  return RV_OK;
}

static void cuda_destroy(rv_backend *be) {
  rv_cuda_backend *cb = rv_cuda(be);
  if (cudaSetDevice(cb->device) == cudaSuccess) {
    if (cb->stream) (void)cudaStreamSynchronize(cb->stream);
    cudaFree(cb->scratch);
    cudaFree(cb->workspace);
    if (cb->lt) cb->lt_api->Destroy((cublasLtHandle_t)cb->lt);
    if (cb->stream) cudaStreamDestroy(cb->stream);
  }
  free(cb);
}

static rv_status cuda_alloc(rv_backend *be, size_t bytes, void **out) {
  rv_status st = enter(rv_cuda(be));
  if (st < 0) return st;
  cudaError_t e = cudaMalloc(out, bytes); /* 256-byte aligned */
  if (e != cudaSuccess) {
    *out = NULL;
    return RV_FAIL(e == cudaErrorMemoryAllocation ? RV_ERR_NOMEM : RV_ERR_DEVICE,
                   "cudaMalloc of %zu bytes: %s", bytes, cudaGetErrorString(e));
  }
  return RV_OK;
}

static void cuda_dealloc(rv_backend *be, void *p) {
  if (cudaSetDevice(rv_cuda(be)->device) == cudaSuccess) cudaFree(p);
}

/* Host buffers are borrowed: the copy is complete when these return. */
static rv_status cuda_copy_sync(rv_backend *be, void *dst, const void *src, size_t bytes,
                                enum cudaMemcpyKind kind, const char *what) {
  rv_cuda_backend *cb = rv_cuda(be);
  rv_status st = enter(cb);
  if (st < 0) return st;
  RV_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, cb->stream), what);
  RV_CUDA_CHECK(cudaStreamSynchronize(cb->stream), what);
  return RV_OK;
}

static rv_status cuda_upload(rv_backend *be, void *dst, const void *src, size_t bytes) {
  return cuda_copy_sync(be, dst, src, bytes, cudaMemcpyHostToDevice, "upload (host to device)");
}

static rv_status cuda_download(rv_backend *be, void *dst, const void *src, size_t bytes) {
  return cuda_copy_sync(be, dst, src, bytes, cudaMemcpyDeviceToHost, "download (device to host)");
}

static rv_status cuda_sync(rv_backend *be) {
  rv_cuda_backend *cb = rv_cuda(be);
  rv_status st = enter(cb);
  if (st < 0) return st;
  RV_CUDA_CHECK(cudaStreamSynchronize(cb->stream), "cudaStreamSynchronize");
  return RV_OK;
}

rv_status rv_cuda_reserve_scratch(rv_cuda_backend *cb, size_t bytes) {
  if (cb->scratch_bytes >= bytes) return RV_OK;
  /* the stream may still read the old scratch */
  RV_CUDA_CHECK(cudaStreamSynchronize(cb->stream), "scratch: cudaStreamSynchronize");
  RV_CUDA_CHECK(cudaFree(cb->scratch), "scratch: cudaFree");
  cb->scratch = NULL;
  cb->scratch_bytes = 0;
  RV_CUDA_CHECK(cudaMalloc((void **)&cb->scratch, bytes), "scratch: cudaMalloc");
  cb->scratch_bytes = bytes;
  return RV_OK;
}

/* ---- elementwise and row ops: validated in ops.c, launched here ---- */

#define LAUNCHED(cb, call, what)                                                                   \
  do {                                                                                             \
    rv_status s_ = enter(cb);                                                                      \
    if (s_ < 0) return s_;                                                                         \
    RV_CUDA_CHECK((call), what);                                                                   \
    return RV_OK;                                                                                  \
  } while (0)

static rv_status cuda_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                                const rv_tensor *beta, float eps, rv_tensor *y) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb,
           rv_cu_layernorm(cb->stream, rv_cu_mat_of(x), gamma->data, beta ? beta->data : NULL, eps,
                           rv_cu_mat_of(y)),
           "layernorm kernel");
}

static rv_status cuda_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb, rv_cu_gelu(cb->stream, rv_cu_mat_of(x), rv_cu_mat_of(y), (int)variant),
           "gelu kernel");
}

static rv_status cuda_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb, rv_cu_softmax(cb->stream, rv_cu_mat_of(x), scale, rv_cu_mat_of(y)),
           "softmax kernel");
}

static rv_status cuda_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb, rv_cu_add(cb->stream, rv_cu_mat_of(a), rv_cu_mat_of(b), rv_cu_mat_of(y)),
           "add kernel");
}

static rv_cu_view4 view4_of(const rv_tensor *t) {
  rv_cu_view4 v = {t->data, (int)t->dtype, {1, 1, 1, 1}, {0, 0, 0, 0}};
  int pad = 4 - t->ndim; /* right-align, as the reference does */
  for (int i = 0; i < t->ndim; i++) {
    v.shape[pad + i] = t->shape[i];
    v.stride[pad + i] = t->stride[i];
  }
  return v;
}

static rv_status cuda_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb, rv_cu_copy(cb->stream, view4_of(src), view4_of(dst)), "copy kernel");
}

static rv_status cuda_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                               const float std[3], int patch, int tubelet, rv_tensor *tokens) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb,
           rv_cu_patchify(cb->stream, frames->data, frames->dtype == RV_U8, frames->shape[0],
                          frames->shape[1], frames->shape[2], mean, std, patch, tubelet,
                          rv_cu_mat_of(tokens)),
           "patchify kernel");
}

rv_cu_attn rv_cu_attn_make(const rv_tensor *q, const rv_tensor *k, const rv_tensor *v,
                           const rv_attn_params *p, rv_tensor *o, rv_tensor *lse) {
  rv_cu_attn a = {q->data,
                  k->data,
                  v->data,
                  o->data,
                  lse->data,
                  q->shape[0],
                  k->shape[0],
                  q->shape[1],
                  q->shape[2],
                  q->stride[0],
                  k->stride[0],
                  v->stride[0],
                  o->stride[0],
                  lse->stride[0],
                  p->scale,
                  (int)p->mask,
                  0,
                  0,
                  1,
                  p->q_pos0,
                  p->k_pos0};
  rv_mask_bounds(p->mask, p->window, &a.lo, &a.hi);
  if (p->mask != RV_MASK_NONE) a.tpf = p->tokens_per_frame;
  if (a.nk == 0 || !rv_attn_block_visible(p, a.nq, a.nk))
    a.nk = 0; /* nothing visible: the kernels write o = 0, lse = -inf */
  return a;
}

static rv_status cuda_attention(rv_backend *be, const rv_tensor *q, const rv_tensor *k,
                                const rv_tensor *v, const rv_attn_params *p, rv_tensor *o,
                                rv_tensor *lse) {
  rv_cuda_backend *cb = rv_cuda(be);
  rv_cu_attn a = rv_cu_attn_make(q, k, v, p, o, lse);
  if (rv_cu_attention_fast_ok(&a))
    LAUNCHED(cb, rv_cu_attention_flash(cb->stream, &a), "attention kernel (flash)");
  if (a.d > RV_CU_ATTN_MAX_D)
    return RV_FAIL(RV_ERR_UNSUPPORTED, "cuda attention supports head dims up to %d, got %lld",
                   RV_CU_ATTN_MAX_D, (long long)a.d);
  LAUNCHED(cb, rv_cu_attention_simple(cb->stream, &a), "attention kernel (simple)");
}

static rv_status cuda_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a,
                                 const rv_tensor *o_b, const rv_tensor *lse_b) {
  rv_cuda_backend *cb = rv_cuda(be);
  LAUNCHED(cb,
           rv_cu_attn_merge(cb->stream, o_a->data, o_a->stride[0], lse_a->data, lse_a->stride[0],
                            o_b->data, o_b->stride[0], lse_b->data, lse_b->stride[0], o_a->shape[0],
                            o_a->shape[1], o_a->shape[2]),
           "attention merge kernel");
}

static const rv_backend_vtable cuda_vtable = {
    .destroy = cuda_destroy,
    .alloc = cuda_alloc,
    .dealloc = cuda_dealloc,
    .upload = cuda_upload,
    .download = cuda_download,
    .sync = cuda_sync,
    .gemm = rv_cuda_gemm,
    .layernorm = cuda_layernorm,
    .gelu = cuda_gelu,
    .softmax = cuda_softmax,
    .add = cuda_add,
    .copy = cuda_copy,
    .patchify = cuda_patchify,
    .attention = cuda_attention,
    .attn_merge = cuda_attn_merge,
};

static rv_status open_device(rv_cuda_backend *cb) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    return RV_FAIL(RV_ERR_UNSUPPORTED, "no usable CUDA device: %s",
                   e != cudaSuccess ? cudaGetErrorString(e) : "none found");
  }
  if (cb->device < 0 || cb->device >= n)
    return RV_FAIL(RV_ERR_INVALID, "CUDA device %d does not exist (%d present)", cb->device, n);
  RV_CUDA_CHECK(cudaSetDevice(cb->device), "cudaSetDevice");
  /* a blocking stream: copies on the legacy default stream (comm-local's cudaMemcpy) wait
   * for the kernels queued here, so no caller reads a buffer a kernel is still writing */
  RV_CUDA_CHECK(cudaStreamCreateWithFlags(&cb->stream, cudaStreamDefault), "cudaStreamCreate");
  rv_status st = rv_cublaslt_get(&cb->lt_api);
  if (st < 0) return st;
  cublasLtHandle_t lt = NULL;
  cublasStatus_t bs = cb->lt_api->Create(&lt);
  if (bs != CUBLAS_STATUS_SUCCESS)
    return RV_FAIL(RV_ERR_DEVICE, "cublasLtCreate: %s", cb->lt_api->GetStatusString(bs));
  cb->lt = (rv_cublaslt_handle)lt;
  RV_CUDA_CHECK(cudaMalloc(&cb->workspace, WORKSPACE_BYTES), "cuBLASLt workspace: cudaMalloc");
  cb->workspace_bytes = WORKSPACE_BYTES;
  return RV_OK;
}

rv_status rv_backend_cuda_create(const rv_backend_cfg *cfg, rv_backend **out) {
  rv_cuda_backend *cb = calloc(1, sizeof *cb);
  if (!cb) return RV_FAIL(RV_ERR_NOMEM, "backend handle");
  rv_backend *be = &cb->base;
  be->vt = &cuda_vtable;
  be->kind = RV_BACKEND_CUDA;
  be->name = "cuda";
  be->act_dtype = RV_BF16;
  be->mem = RV_MEM_DEVICE;
  be->threads = 1;
  cb->device = cfg->device;
  rv_status st = open_device(cb);
  if (st < 0) {
    cuda_destroy(be);
    return st;
  }
  *out = be;
  return RV_OK;
}
