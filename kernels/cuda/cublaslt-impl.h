/* cuBLASLt, opened with dlopen when the first CUDA backend is created instead of linked.
 *
 * Why: mapping libcublasLt (540 MB) costs a process about 210 MB of resident memory before
 * main() runs (the loader's relocations touch its pages), and ringvit links the CUDA
 * backend into every binary, so each CPU-only run, test and gst-launch with the plugin paid
 * it. The runtime (libcudart, about 1 MB) stays linked: rv_backend_cuda_available() needs it.
 *
 * The table holds the few entry points gemm.c and the backend use, typed from cublasLt.h. */
#ifndef RINGVIT_CUBLASLT_IMPL_H
#define RINGVIT_CUBLASLT_IMPL_H

#include <cublasLt.h>

#include "ringvit/status.h"

typedef struct rv_cublaslt_api {
  __typeof__(cublasLtGetVersion) *GetVersion;
  __typeof__(cublasLtGetStatusString) *GetStatusString;
  __typeof__(cublasLtCreate) *Create;
  __typeof__(cublasLtDestroy) *Destroy;
  __typeof__(cublasLtMatmulDescCreate) *MatmulDescCreate;
  __typeof__(cublasLtMatmulDescSetAttribute) *MatmulDescSetAttribute;
  __typeof__(cublasLtMatmulDescDestroy) *MatmulDescDestroy;
  __typeof__(cublasLtMatrixLayoutCreate) *MatrixLayoutCreate;
  __typeof__(cublasLtMatrixLayoutDestroy) *MatrixLayoutDestroy;
  __typeof__(cublasLtMatmulPreferenceCreate) *MatmulPreferenceCreate;
  __typeof__(cublasLtMatmulPreferenceSetAttribute) *MatmulPreferenceSetAttribute;
  __typeof__(cublasLtMatmulPreferenceDestroy) *MatmulPreferenceDestroy;
  __typeof__(cublasLtMatmulAlgoGetHeuristic) *MatmulAlgoGetHeuristic;
  __typeof__(cublasLtMatmul) *Matmul;
} rv_cublaslt_api;

/* The library's file name for the cuBLAS major version ringvit was built against. */
#define RV_CUBLASLT_SONAME  "libcublasLt.so." RV_CUBLASLT_STR(CUBLAS_VER_MAJOR)
#define RV_CUBLASLT_STR(x)  RV_CUBLASLT_STR2(x)
#define RV_CUBLASLT_STR2(x) #x

/* Opens `soname` (searched as dlopen does, then beside the libcudart this process uses)
 * and fills *api; RV_ERR_UNSUPPORTED with dlopen's reason when the library or one of the
 * entry points is missing, or its major version is not the one built against. The
 * library stays loaded for the life of the process (CUDA libraries are not unloaded). */
rv_status rv_cublaslt_open(const char *soname, rv_cublaslt_api *api);

/* The process-wide table for RV_CUBLASLT_SONAME, opened once (thread-safe); a failure is
 * remembered and reported again to each caller. */
rv_status rv_cublaslt_get(const rv_cublaslt_api **api);

#endif
