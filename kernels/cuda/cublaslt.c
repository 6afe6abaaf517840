/* Opens cuBLASLt at run time (see cublaslt-impl.h for why it is not linked). */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cuda_runtime_api.h>

#include "cublaslt-impl.h"

/* dlopen's own search (RUNPATH, LD_LIBRARY_PATH, ld.so.cache), then the directory of the
 * libcudart this process runs with: a CUDA toolkit keeps both in one lib directory. */
static void *open_library(const char *soname, char *why, size_t why_len) {
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h) return h;
  snprintf(why, why_len, "%s", dlerror());
  Dl_info info;
  const char *slash;
  if (strchr(soname, '/') || !dladdr((void *)cudaGetDeviceCount, &info) || !info.dli_fname ||
      !(slash = strrchr(info.dli_fname, '/')))
    return NULL;
  char path[4096];
  int n =
      snprintf(path, sizeof path, "%.*s/%s", (int)(slash - info.dli_fname), info.dli_fname, soname);
  if (n <= 0 || (size_t)n >= sizeof path) return NULL;
  return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* A library that is not the cuBLASLt we need: let it go, leave no entry point behind. */
static rv_status refuse(void *h, rv_cublaslt_api *api) {
  dlclose(h);
  memset(api, 0, sizeof *api);
  return RV_ERR_UNSUPPORTED;
}

/* Fills *api from `soname`; on failure returns the status and leaves the reason in msg. */
static rv_status open_api(const char *soname, rv_cublaslt_api *api, char *msg, size_t len) {
  memset(api, 0, sizeof *api);
  char why[512] = "";
  void *h = open_library(soname, why, sizeof why);
  if (!h) {
    snprintf(msg, len, "cannot load cuBLASLt (%s): %s; install CUDA %d's cuBLAS or use device cpu",
             soname, why, CUBLAS_VER_MAJOR);
    return RV_ERR_UNSUPPORTED;
  }
  struct {
    const char *name;
    void **slot;
  } syms[] = {
#define SYM(f) {"cublasLt" #f, (void **)&api->f}
      SYM(GetVersion),
      SYM(GetStatusString),
      SYM(Create),
      SYM(Destroy),
      SYM(MatmulDescCreate),
      SYM(MatmulDescSetAttribute),
      SYM(MatmulDescDestroy),
      SYM(MatrixLayoutCreate),
      SYM(MatrixLayoutDestroy),
      SYM(MatmulPreferenceCreate),
      SYM(MatmulPreferenceSetAttribute),
      SYM(MatmulPreferenceDestroy),
      SYM(MatmulAlgoGetHeuristic),
      SYM(Matmul),
#undef SYM
  };
  for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++)
    if (!(*syms[i].slot = dlsym(h, syms[i].name))) {
      snprintf(msg, len, "%s has no %s: not a cuBLASLt library", soname, syms[i].name);
      return refuse(h, api);
    }
  size_t version = api->GetVersion();
  if (version / 10000 != CUBLAS_VER_MAJOR) {
    snprintf(msg, len, "%s is cuBLASLt %zu; ringvit was built for major version %d", soname,
             version, CUBLAS_VER_MAJOR);
    return refuse(h, api);
  }
  return RV_OK;
}

rv_status rv_cublaslt_open(const char *soname, rv_cublaslt_api *api) {
  if (!soname || !api) return RV_FAIL(RV_ERR_INVALID, "soname and api must not be NULL");
  char msg[768];
  rv_status st = open_api(soname, api, msg, sizeof msg);
  return st < 0 ? RV_FAIL(st, "%s", msg) : RV_OK;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static rv_cublaslt_api shared_api;
static rv_status shared_status;
static char shared_error[768];

static void open_shared(void) {
  shared_status = open_api(RV_CUBLASLT_SONAME, &shared_api, shared_error, sizeof shared_error);
}

rv_status rv_cublaslt_get(const rv_cublaslt_api **api) {
  if (!api) return RV_FAIL(RV_ERR_INVALID, "api must not be NULL");
  *api = NULL;
  pthread_once(&once, open_shared);
  if (shared_status < 0) return RV_FAIL(shared_status, "%s", shared_error);
  *api = &shared_api;
  return RV_OK;
}
