/* The attention ring-step kernel of the cuda backend against PyTorch's
 * scaled_dot_product_attention with its FLASH and CUDNN backends, on the same shapes, in one
 * run (the torch side is bench-attn-torch.py, run as a subprocess). Besides the backend's
 * own kernel (through rv_attention: 4 warps of 16 queries, 64-key tiles) it times other
 * tile shapes of the same source (built for sm_90 by tests/bench/CMakeLists.txt), so that one run
 * on the device says which shape to keep.
 *
 *   bench-attn-cuda [--python python3] [--reps 5] [--max-n 131072] [--no-torch]
 *
 * Shapes: batch 1, bf16, N in {16k, 64k, 128k}, (heads, dim) in {(12, 64), (8, 128)},
 * non-causal and causal (token-causal: frame-causal with one token per frame, as torch's
 * is_causal). One Q block against one KV block of the whole sequence, as a ring of one
 * rank computes it. FLOPs: 4 N^2 H D, half of that for causal (the unmasked half).
 * Times are medians of --reps runs after a warm-up, each closed by a device sync.
 * A few query rows of every shape and variant are checked against a double-precision
 * reference on the host (err: the largest relative L2 error of those rows' outputs over
 * the variants; the output is poisoned before each variant), so no speed is reported for a
 * wrong result. Prints one table; exit 1 when the cuda backend is absent or an error
 * exceeds 2e-2. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ringvit/kernels.h>

#include "bench-common.h"
#include "cuda/cuda-impl.h"

/* The tuning builds of kernels/cuda/attention.cu (tests/bench/CMakeLists.txt). */
cudaError_t rv_cu_attention_flash_w4_m1_n128(cudaStream_t s, const rv_cu_attn *a);
cudaError_t rv_cu_attention_flash_w8_m1_n64(cudaStream_t s, const rv_cu_attn *a);
cudaError_t rv_cu_attention_flash_w4_m2_n32(cudaStream_t s, const rv_cu_attn *a);
cudaError_t rv_cu_attention_flash_w4_m2_n64(cudaStream_t s, const rv_cu_attn *a);

typedef cudaError_t (*flash_fn)(cudaStream_t s, const rv_cu_attn *a);
typedef struct variant {
  const char *name;
  flash_fn fn; /* NULL: the backend's own path, rv_attention */
} variant;
/* wWmMnN: W warps of M m-tiles (16 query rows each), N keys per K/V tile */
static const variant k_variants[] = {
    {"w4m1n64", NULL},
    {"w4m1n128", rv_cu_attention_flash_w4_m1_n128},
    {"w8m1n64", rv_cu_attention_flash_w8_m1_n64},
    {"w4m2n32", rv_cu_attention_flash_w4_m2_n32},
    {"w4m2n64", rv_cu_attention_flash_w4_m2_n64},
};
enum { NV = sizeof k_variants / sizeof k_variants[0], CHECK_ROWS = 3 };

typedef struct shape {
  int64_t n;
  int heads, dim, causal;
  double tf[NV], flash, cudnn, err; /* TFLOP/s; largest relative error of the checked rows */
} shape;

enum {
  PATTERN = 1000003
}; /* random values repeat with this period (a prime: no alignment with rows) */

typedef struct run_ctx {
  rv_backend *be;
  rv_tensor q, k, v, o, lse;
  rv_attn_params p;
  flash_fn fn;
  rv_cu_attn a; /* the same call for a tuning build */
  int failed;
} run_ctx;

static void run_once(void *arg) {
  run_ctx *c = arg;
  rv_status st = RV_OK;
  if (c->fn) {
    cudaError_t e = c->fn(rv_cuda(c->be)->stream, &c->a);
    if (e != cudaSuccess) st = RV_FAIL(RV_ERR_DEVICE, "variant launch: %s", cudaGetErrorString(e));
  } else {
    st = rv_attention(c->be, &c->q, &c->k, &c->v, &c->p, &c->o, &c->lse);
  }
  if (st != RV_OK || rv_backend_sync(c->be) != RV_OK) {
    if (!c->failed) fprintf(stderr, "bench-attn-cuda: %s\n", rv_last_error());
    c->failed = 1;
  }
}

static double flops(const shape *s) {
  double f = 4.0 * (double)s->n * (double)s->n * s->heads * s->dim;
  return s->causal ? f / 2 : f;
}

/* Element e of q, k or v (tensor t = 0, 1, 2) as stored: the pattern at an offset per tensor. */
static float value_at(const uint16_t *pat, int t, int64_t e) {
  return rv_bf16_to_f32(pat[(e + (int64_t)t * 333331) % PATTERN]);
}

static rv_status fill(rv_backend *be, void *dev, const uint16_t *pat, int t, int64_t n) {
  enum { CHUNK = 1 << 20 };
  static uint16_t stage[CHUNK];
  for (int64_t base = 0; base < n; base += CHUNK) {
    int64_t m = n - base < CHUNK ? n - base : CHUNK;
    for (int64_t i = 0; i < m; i++)
      stage[i] = pat[(base + i + (int64_t)t * 333331) % PATTERN];
    rv_status st = rv_backend_upload(be, (uint16_t *)dev + base, stage, (size_t)m * 2);
    if (st != RV_OK) return st;
  }
  return RV_OK;
}

/* The query rows checked, and their reference outputs [CHECK_ROWS][heads * dim] in double. */
static void check_row_ids(const shape *s, int64_t rows[CHECK_ROWS]) {
  rows[0] = 0;
  rows[1] = s->n / 2 + 7;
  rows[2] = s->n - 1;
}

static double *reference_rows(const shape *s, const uint16_t *pat, float scale) {
  int64_t n = s->n, hd = (int64_t)s->heads * s->dim, rows[CHECK_ROWS];
  double *ref = malloc(sizeof(double) * (size_t)(CHECK_ROWS * hd)),
         *sc = malloc(sizeof(double) * (size_t)n);
  check_row_ids(s, rows);
  for (int r = 0; r < CHECK_ROWS; r++) {
    int64_t i = rows[r], nk = s->causal ? i + 1 : n;
    for (int h = 0; h < s->heads; h++) {
      double mx = -INFINITY, sum = 0, *acc = ref + r * hd + h * s->dim, qrow[128];
      for (int x = 0; x < s->dim; x++)
        qrow[x] = value_at(pat, 0, i * hd + h * s->dim + x);
      for (int64_t j = 0; j < nk; j++) {
        double d = 0;
        for (int x = 0; x < s->dim; x++)
          d += qrow[x] * value_at(pat, 1, j * hd + h * s->dim + x);
        sc[j] = d * scale;
        if (sc[j] > mx) mx = sc[j];
      }
      for (int x = 0; x < s->dim; x++)
        acc[x] = 0;
      for (int64_t j = 0; j < nk; j++) {
        double w = exp(sc[j] - mx);
        sum += w;
        for (int x = 0; x < s->dim; x++)
          acc[x] += w * value_at(pat, 2, j * hd + h * s->dim + x);
      }
      for (int x = 0; x < s->dim; x++)
        acc[x] /= sum;
    }
  }
  free(sc);
  return ref;
}

/* Relative L2 error of the checked rows of the output on the device. */
static double check_rows(rv_backend *be, const shape *s, const void *dout, const double *ref) {
  int64_t hd = (int64_t)s->heads * s->dim, rows[CHECK_ROWS];
  float *got = malloc(sizeof(float) * (size_t)hd);
  double num = 0, den = 0;
  check_row_ids(s, rows);
  for (int r = 0; r < CHECK_ROWS; r++) {
    if (rv_backend_download(be, got, (const float *)dout + rows[r] * hd,
                            sizeof(float) * (size_t)hd)) {
      num = INFINITY;
      break;
    }
    for (int64_t x = 0; x < hd; x++) {
      double e = got[x] - ref[r * hd + x]; /* NaN (poison left) makes the result NaN */
      num += e * e;
      den += ref[r * hd + x] * ref[r * hd + x];
    }
  }
  free(got);
  return sqrt(num / (den > 0 ? den : 1));
}

static int bench_ours(rv_backend *be, shape *s, void *dq, void *dk, void *dv, void *dout,
                      void *dlse, const uint16_t *pat, int reps) {
  run_ctx c;
  memset(&c, 0, sizeof c);
  c.be = be;
  c.q = rv_tensor_3d(dq, RV_BF16, s->n, s->heads, s->dim);
  c.k = rv_tensor_3d(dk, RV_BF16, s->n, s->heads, s->dim);
  c.v = rv_tensor_3d(dv, RV_BF16, s->n, s->heads, s->dim);
  c.o = rv_tensor_3d(dout, RV_F32, s->n, s->heads, s->dim);
  c.lse = rv_tensor_2d(dlse, RV_F32, s->heads, s->n);
  c.q.mem = c.k.mem = c.v.mem = c.o.mem = c.lse.mem = RV_MEM_DEVICE;
  c.p = (rv_attn_params){
      1.0f / sqrtf((float)s->dim), s->causal ? RV_MASK_CAUSAL : RV_MASK_NONE, 0, 1, 0, 0};
  int64_t hd = (int64_t)s->heads * s->dim;
  c.a = rv_cu_attn_make(&c.q, &c.k, &c.v, &c.p, &c.o, &c.lse);
  double *ref = reference_rows(s, pat, c.p.scale);
  s->err = 0;
  for (int v = 0; v < NV; v++) {
    c.fn = k_variants[v].fn;
    /* poison (NaN) so that rows a variant leaves unwritten fail the check */
    if (cudaMemsetAsync(dout, 0xff, sizeof(float) * (size_t)(s->n * hd), rv_cuda(be)->stream) !=
        cudaSuccess)
      c.failed = 1;
    double t = bench_median(run_once, &c, reps);
    if (c.failed) break;
    s->tf[v] = flops(s) / t / 1e12;
    double e = check_rows(be, s, dout, ref);
    if (isnan(e) || e > s->err) s->err = e; /* a NaN stays */
  }
  free(ref);
  return c.failed ? -1 : 0;
}

/* Runs the torch side over every shape and fills in flash / cudnn (NAN where it failed). */
static void bench_torch(const char *python, shape *sh, int ns, int reps) {
  char cmd[4096], line[512];
  const char *root = getenv("RINGVIT_SOURCE_DIR");
  int len = snprintf(cmd, sizeof cmd, "%s %s/tests/bench/bench-attn-torch.py --reps %d --shapes ",
                     python, root ? root : RINGVIT_SOURCE_DIR, reps);
  for (int i = 0; i < ns; i++)
    len += snprintf(cmd + len, sizeof cmd - (size_t)len, "%s%lld:%d:%d:%d", i ? "," : "",
                    (long long)sh[i].n, sh[i].heads, sh[i].dim, sh[i].causal);
  FILE *p = popen(cmd, "r");
  if (!p) return;
  while (fgets(line, sizeof line, p)) {
    char be[16];
    long long n;
    int h, d, causal;
    double tf;
    if (sscanf(line, "sdpa %15s %lld %d %d %d %lf", be, &n, &h, &d, &causal, &tf) != 6) {
      fputs(line, stdout); /* the torch side's own remarks (version, failures) */
      continue;
    }
    for (int i = 0; i < ns; i++)
      if (sh[i].n == n && sh[i].heads == h && sh[i].dim == d && sh[i].causal == causal) {
        if (!strcmp(be, "flash")) sh[i].flash = tf;
        if (!strcmp(be, "cudnn")) sh[i].cudnn = tf;
      }
  }
  pclose(p);
}

static void print_header(void) {
  printf("%7s %8s %6s", "N", "h x d", "mask");
  for (int v = 0; v < NV; v++)
    printf(" %7s", k_variants[v].name);
  printf(" %7s %7s %10s %10s %8s\n", "FLASH", "cuDNN", "best/FLASH", "best/cuDNN", "err");
}

static void print_row(const shape *s) {
  char hd[16];
  double best = 0;
  snprintf(hd, sizeof hd, "%dx%d", s->heads, s->dim);
  printf("%7lld %8s %6s", (long long)s->n, hd, s->causal ? "causal" : "none");
  for (int v = 0; v < NV; v++) {
    printf(" %7.1f", s->tf[v]);
    if (s->tf[v] > best) best = s->tf[v];
  }
  printf(" %7.1f %7.1f %10.2f %10.2f %8.1e\n", s->flash, s->cudnn, best / s->flash, best / s->cudnn,
         s->err);
  fflush(stdout);
}

static void print_table(const shape *sh, int ns) {
  printf("\nattention ring step, bf16, batch 1, TFLOP/s (causal counts the unmasked half);\n"
         "w4m1n64 is the backend's kernel (rv_attention), the others tile shapes to try:\n"
         "wWmMnN = W warps of M m-tiles of 16 queries, N keys per K/V tile\n");
  print_header();
  for (int i = 0; i < ns; i++)
    print_row(&sh[i]);
}

int main(int argc, char **argv) {
  const char *python = "python3";
  int reps = 5, torch = 1;
  int64_t max_n = 131072;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--python") && i + 1 < argc)
      python = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--max-n") && i + 1 < argc)
      max_n = atoll(argv[++i]);
    else if (!strcmp(argv[i], "--no-torch"))
      torch = 0;
    else {
      fprintf(stderr,
              "usage: bench-attn-cuda [--python python3] [--reps 5] [--max-n N] [--no-torch]\n");
      return 2;
    }
  }
  if (reps < 1) reps = 1;
  if (!rv_backend_available(RV_BACKEND_CUDA)) {
    fprintf(stderr, "bench-attn-cuda: no CUDA device (or built without CUDA)\n");
    return 1;
  }
  shape sh[12];
  int ns = 0;
  const int64_t ns_list[3] = {16384, 65536, 131072};
  const int hd[2][2] = {{12, 64}, {8, 128}};
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 2; b++)
      for (int causal = 0; causal < 2; causal++)
        if (ns_list[a] <= max_n)
          sh[ns++] = (shape){ns_list[a], hd[b][0], hd[b][1], causal, {NAN, NAN, NAN, NAN, NAN},
                             NAN,        NAN,      NAN};

  rv_backend *be = NULL;
  rv_backend_cfg cfg = {RV_BACKEND_CUDA, 0, 0};
  void *dq = NULL, *dk = NULL, *dv = NULL, *dout = NULL, *dlse = NULL;
  uint16_t *pat = malloc(sizeof(uint16_t) * PATTERN);
  int rc = 1;
  rv_rng_lite rng = {0x9E3779B97F4A7C15ull};
  for (int i = 0; i < PATTERN; i++)
    pat[i] = rv_f32_to_bf16(bench_normal(&rng));
  int64_t most = 0, most_rows = 0;
  for (int i = 0; i < ns; i++) {
    int64_t e = sh[i].n * sh[i].heads * sh[i].dim;
    if (e > most) most = e;
    if (sh[i].n * sh[i].heads > most_rows) most_rows = sh[i].n * sh[i].heads;
  }
  if (rv_backend_init(&cfg, &be) != RV_OK || rv_backend_alloc(be, (size_t)most * 2, &dq) ||
      rv_backend_alloc(be, (size_t)most * 2, &dk) || rv_backend_alloc(be, (size_t)most * 2, &dv) ||
      rv_backend_alloc(be, (size_t)most * 4, &dout) ||
      rv_backend_alloc(be, (size_t)most_rows * 4, &dlse) || fill(be, dq, pat, 0, most) ||
      fill(be, dk, pat, 1, most) || fill(be, dv, pat, 2, most)) {
    fprintf(stderr, "bench-attn-cuda: %s\n", rv_last_error());
    goto done;
  }
  if (torch) bench_torch(python, sh, ns, reps);
  rc = 0;
  print_header(); /* rows as they come, in case the run is cut short; the table again at the end */
  for (int i = 0; i < ns; i++) {
    int failed = bench_ours(be, &sh[i], dq, dk, dv, dout, dlse, pat, reps) != 0;
    print_row(&sh[i]);
    if (failed) {
      rc = 1; /* a failed launch may leave the device unusable: report what we have */
      break;
    }
    if (!(sh[i].err <= 2e-2)) rc = 1;
  }
  print_table(sh, ns);
  if (rc)
    fprintf(
        stderr,
        "bench-attn-cuda: a kernel failed or an output differs from the reference (err > 2e-2)\n");
done:
  rv_backend_dealloc(be, dq);
  rv_backend_dealloc(be, dk);
  rv_backend_dealloc(be, dv);
  rv_backend_dealloc(be, dout);
  rv_backend_dealloc(be, dlse);
  rv_backend_free(be);
  free(pat);
  return rc;
}
