/* GFLOP/s of gemm and attention at ViT shapes: the `cpu` backend against `cpu-ref` and
 * against OpenBLAS sgemm alone (all cores) doing the same number of FLOPs.
 * Usage: bench-ops [threads]   (default: all online cores) */
#include <math.h>
#include <stdlib.h>

#include <ringvit/config.h>
#include <ringvit/kernels.h>

#include "bench-common.h"

#if RV_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct gemm_ctx {
  rv_backend *be;
  rv_tensor a, b, bias, c;
  rv_gemm_params p;
} gemm_ctx;

static void run_gemm(void *ctx) {
  gemm_ctx *g = ctx;
  if (rv_gemm(g->be, &g->a, &g->b, &g->bias, &g->c, &g->p) != RV_OK) {
    fprintf(stderr, "gemm failed: %s\n", rv_last_error());
    exit(3);
  }
}

typedef struct attn_ctx {
  rv_backend *be;
  rv_tensor q, k, v, o, lse;
  rv_attn_params p;
} attn_ctx;

static void run_attn(void *ctx) {
  attn_ctx *a = ctx;
  if (rv_attention(a->be, &a->q, &a->k, &a->v, &a->p, &a->o, &a->lse) != RV_OK) {
    fprintf(stderr, "attention failed: %s\n", rv_last_error());
    exit(3);
  }
}

#if RV_HAVE_OPENBLAS
typedef struct blas_ctx {
  int n;
  float *a, *b, *c;
} blas_ctx;

static void run_blas(void *ctx) {
  blas_ctx *x = ctx;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, x->n, x->n, x->n, 1.0f, x->a, x->n, x->b,
              x->n, 0.0f, x->c, x->n);
}

/* GFLOP/s of a square OpenBLAS sgemm, all cores, with about `flops` operations. */
static double blas_gflops(double flops, int threads) {
  blas_ctx x;
  x.n = (int)cbrt(flops / 2.0);
  if (x.n < 16) x.n = 16;
  size_t n2 = (size_t)x.n * x.n;
  x.a = malloc(n2 * 4);
  x.b = malloc(n2 * 4);
  x.c = malloc(n2 * 4);
  for (size_t i = 0; i < n2; i++)
    x.a[i] = x.b[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
  openblas_set_num_threads(threads);
  double t = bench_best(run_blas, &x, 5);
  openblas_set_num_threads(1);
  free(x.a);
  free(x.b);
  free(x.c);
  return 2.0 * x.n * x.n * (double)x.n / t / 1e9;
}
#endif

static float *random_buf(size_t n) {
  float *p = malloc(n * sizeof *p);
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    p[i] = (float)((s >> 8) & 0xffff) / 65536.0f - 0.5f;
  }
  return p;
}

static double gemm_gflops(rv_backend *be, int64_t m, int64_t n, int64_t k, rv_act act, int reps) {
  gemm_ctx g = {.be = be};
  float *a = random_buf((size_t)(m * k)), *b = random_buf((size_t)(n * k)),
        *bias = random_buf((size_t)n);
  float *c = random_buf((size_t)(m * n));
  g.a = rv_tensor_2d(a, RV_F32, m, k);
  g.b = rv_tensor_2d(b, RV_F32, n, k);
  g.bias = rv_tensor_1d(bias, RV_F32, n);
  g.c = rv_tensor_2d(c, RV_F32, m, n);
  g.p = (rv_gemm_params){0, 1, 1.0f, 0.0f, act};
  double t = bench_best(run_gemm, &g, reps);
  free(a);
  free(b);
  free(bias);
  free(c);
  return 2.0 * m * n * k / t / 1e9;
}

static double attn_gflops(rv_backend *be, int64_t n, int64_t h, int64_t d, rv_mask_kind mask,
                          int reps) {
  attn_ctx x = {.be = be};
  float *q = random_buf((size_t)(n * 3 * h * d)), *o = random_buf((size_t)(n * h * d));
  float *lse = random_buf((size_t)(h * n));
  int64_t qs[3] = {n, h, d};
  x.q = rv_tensor_3d(q, RV_F32, n, h, d);
  x.q.stride[0] = 3 * h * d; /* q, k, v interleaved as the encoder's fused QKV output */
  x.k = x.q;
  x.k.data = q + h * d;
  x.v = x.q;
  x.v.data = q + 2 * h * d;
  x.o = rv_tensor_3d(o, RV_F32, qs[0], qs[1], qs[2]);
  x.lse = rv_tensor_2d(lse, RV_F32, h, n);
  x.p = (rv_attn_params){1.0f / sqrtf((float)d), mask, 0, 1, 0, 0};
  double t = bench_best(run_attn, &x, reps);
  free(q);
  free(o);
  free(lse);
  double flops = 4.0 * n * n * d * h * (mask == RV_MASK_CAUSAL ? 0.5 : 1.0);
  return flops / t / 1e9;
}

/* One table row: ours, the reference, and OpenBLAS doing `flops` operations. */
static void print_row(const char *name, double cpu_gflops, double ref_gflops, double b) {
  printf("%-34s %10.1f %10.2f %10.1f %11.0f%%\n", name, cpu_gflops, ref_gflops, b,
         100.0 * cpu_gflops / b);
}

static double blas_or_nan(double flops, int threads) {
#if RV_HAVE_OPENBLAS
  return blas_gflops(flops, threads);
#else
  (void)flops;
  (void)threads;
  return NAN;
#endif
}

enum { ROUNDS = 3 };

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 0;
  rv_backend *cpu = NULL, *ref = NULL;
  rv_backend_cfg cc = {RV_BACKEND_CPU, threads, 0}, rc = {RV_BACKEND_CPU_REF, 1, 0};
  if (rv_backend_init(&cc, &cpu) || rv_backend_init(&rc, &ref)) {
    fprintf(stderr, "bench-ops: %s\n", rv_last_error());
    return 3;
  }
  threads = rv_backend_threads(cpu);
  printf("bench-ops: %d threads; GFLOP/s (higher is better), best of alternating rounds; OpenBLAS "
         "= square sgemm, all %d threads, same FLOPs\n\n",
         threads, threads);
  printf("%-34s %10s %10s %10s %12s\n", "op (ViT-S/16 shapes)", "cpu", "cpu-ref", "OpenBLAS",
         "cpu/OpenBLAS");
  struct {
    const char *name;
    int64_t m, n, k;
    rv_act act;
  } gemms[] = {
      {"gemm qkv 1576x1152x384", 1576, 1152, 384, RV_ACT_NONE},
      {"gemm fc1+gelu 1576x1536x384", 1576, 1536, 384, RV_ACT_GELU_ERF},
      {"gemm fc2 1576x384x1536", 1576, 384, 1536, RV_ACT_NONE},
  };
  for (size_t i = 0; i < sizeof gemms / sizeof *gemms; i++) {
    double f = 0, b = 0, flops = 2.0 * gemms[i].m * gemms[i].n * gemms[i].k;
    for (int round = 0; round < ROUNDS; round++) { /* alternate, so both see the same load */
      f = fmax(f, gemm_gflops(cpu, gemms[i].m, gemms[i].n, gemms[i].k, gemms[i].act, 5));
      b = fmax(b, blas_or_nan(flops, threads));
    }
    double r =
        gemm_gflops(ref, 197, gemms[i].n, gemms[i].k, gemms[i].act, 1); /* one frame: ref is slow */
    print_row(gemms[i].name, f, r, b);
  }
  struct {
    const char *name;
    int64_t n, h, d;
    rv_mask_kind mask;
    int ref;
  } attns[] = {
      {"attention N=197 H=6 D=64", 197, 6, 64, RV_MASK_NONE, 1},
      {"attention N=1024 H=6 D=64", 1024, 6, 64, RV_MASK_NONE, 1},
      {"attention N=4096 H=6 D=64", 4096, 6, 64, RV_MASK_NONE, 0},
      {"attention N=4096 H=6 D=64 causal", 4096, 6, 64, RV_MASK_CAUSAL, 0},
      {"attention N=4096 H=4 D=128", 4096, 4, 128, RV_MASK_NONE, 0},
  };
  for (size_t i = 0; i < sizeof attns / sizeof *attns; i++) {
    double f = 0, b = 0, flops = 4.0 * attns[i].n * attns[i].n * attns[i].d * attns[i].h;
    for (int round = 0; round < ROUNDS; round++) {
      f = fmax(f, attn_gflops(cpu, attns[i].n, attns[i].h, attns[i].d, attns[i].mask, 3));
      b = fmax(b, blas_or_nan(flops, threads));
    }
    double r =
        attns[i].ref ? attn_gflops(ref, attns[i].n, attns[i].h, attns[i].d, attns[i].mask, 1) : NAN;
    print_row(attns[i].name, f, r, b);
  }
  printf("\ntarget: cpu attention >= 70%% of OpenBLAS sgemm GFLOP/s (issue 2)\n");
  rv_backend_free(cpu);
  rv_backend_free(ref);
  return 0;
}
