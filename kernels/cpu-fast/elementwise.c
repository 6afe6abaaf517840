/* Row-parallel ops of the fast CPU backend. Where the reference loop is already memory
 * bound (copy, patchify) the workers run it on their slice of rows. */
#include <math.h>

#include "../cpu/cpu-ref-impl.h"
#include "cpu-fast-impl.h"

typedef struct rows_job {
  const rv_tensor *x, *b, *gamma, *beta;
  rv_tensor *y;
  float f; /* eps or scale */
  rv_act act;
} rows_job;

/* A view of rows [begin, end) of a tensor (dim 0). */
static rv_tensor rows_of(const rv_tensor *t, int64_t begin, int64_t end) {
  rv_tensor s = *t;
  s.data = (char *)t->data + (size_t)(begin * t->stride[0]) * rv_dtype_size(t->dtype);
  s.shape[0] = end - begin;
  return s;
}

static int64_t row_grain(int64_t cols) { return cols >= 4096 ? 1 : 4096 / (cols + 1) + 1; }

RV_VECTOR_CLONES
static void layernorm_row(const float *x, float *y, const float *g, const float *bt, int64_t n,
                          float eps) {
  float sum = 0.0f, sq = 0.0f;
  for (int64_t j = 0; j < n; j++) sum += x[j];
  float mean = sum / (float)n;
  for (int64_t j = 0; j < n; j++) sq += (x[j] - mean) * (x[j] - mean);
  float inv = 1.0f / sqrtf(sq / (float)n + eps);
  for (int64_t j = 0; j < n; j++) y[j] = (x[j] - mean) * inv * g[j] + (bt ? bt[j] : 0.0f);
}

static void layernorm_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const rows_job *j = ctx;
  for (int64_t i = begin; i < end; i++)
    layernorm_row(rv_f32_at(j->x, i, 0), rv_f32_at(j->y, i, 0), j->gamma->data,
                  j->beta ? j->beta->data : NULL, j->x->shape[1], j->f);
}

rv_status rv_cpu_layernorm(rv_backend *be, const rv_tensor *x, const rv_tensor *gamma,
                           const rv_tensor *beta, float eps, rv_tensor *y) {
  rows_job j = {.x = x, .gamma = gamma, .beta = beta, .y = y, .f = eps};
  rv_pool_run(rv_cpu(be)->pool, layernorm_worker, &j, x->shape[0], row_grain(x->shape[1]));
  return RV_OK;
}

static void gelu_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const rows_job *j = ctx;
  int64_t n = j->x->shape[1];
  for (int64_t i = begin; i < end; i++) {
    const float *xr = rv_f32_at(j->x, i, 0);
    float *yr = rv_f32_at(j->y, i, 0);
    if (yr != xr)
      for (int64_t c = 0; c < n; c++) yr[c] = xr[c];
    rv_vec_act(yr, n, j->act);
  }
}

rv_status rv_cpu_gelu(rv_backend *be, const rv_tensor *x, rv_tensor *y, rv_act variant) {
  rows_job j = {.x = x, .y = y, .act = variant};
  rv_pool_run(rv_cpu(be)->pool, gelu_worker, &j, x->shape[0], row_grain(x->shape[1]));
  return RV_OK;
}

static void softmax_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const rows_job *j = ctx;
  int64_t n = j->x->shape[1];
  for (int64_t i = begin; i < end; i++) {
    const float *xr = rv_f32_at(j->x, i, 0);
    float *yr = rv_f32_at(j->y, i, 0);
    for (int64_t c = 0; c < n; c++) yr[c] = j->f * xr[c];
    float mx = rv_vec_max(yr, n);
    if (isinf(mx) && mx < 0) { /* all -inf: no mass anywhere */
      for (int64_t c = 0; c < n; c++) yr[c] = 0.0f;
      continue;
    }
    float sum = rv_vec_exp_sub(yr, n, mx);
    rv_vec_scale(yr, n, 1.0f / sum);
  }
}

rv_status rv_cpu_softmax(rv_backend *be, const rv_tensor *x, float scale, rv_tensor *y) {
  rows_job j = {.x = x, .y = y, .f = scale};
  rv_pool_run(rv_cpu(be)->pool, softmax_worker, &j, x->shape[0], row_grain(x->shape[1]));
  return RV_OK;
}

RV_VECTOR_CLONES
static void add_row(const float *a, const float *b, float *y, int64_t n) {
  for (int64_t c = 0; c < n; c++) y[c] = a[c] + b[c];
}

static void add_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const rows_job *j = ctx;
  for (int64_t i = begin; i < end; i++)
    add_row(rv_f32_at(j->x, i, 0), rv_f32_at(j->b, i % j->b->shape[0], 0), rv_f32_at(j->y, i, 0),
            j->x->shape[1]);
}

rv_status rv_cpu_add(rv_backend *be, const rv_tensor *a, const rv_tensor *b, rv_tensor *y) {
  rows_job j = {.x = a, .b = b, .y = y};
  rv_pool_run(rv_cpu(be)->pool, add_worker, &j, a->shape[0], row_grain(a->shape[1]));
  return RV_OK;
}

static void copy_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const rows_job *j = ctx;
  rv_tensor src = rows_of(j->x, begin, end), dst = rows_of(j->y, begin, end);
  rv_ref_copy(NULL, &src, &dst);
}

rv_status rv_cpu_copy(rv_backend *be, const rv_tensor *src, rv_tensor *dst) {
  rows_job j = {.x = src, .y = dst};
  int64_t per_row = rv_tensor_nelem(src) / src->shape[0];
  rv_pool_run(rv_cpu(be)->pool, copy_worker, &j, src->shape[0], row_grain(per_row));
  return RV_OK;
}

typedef struct patch_job {
  const rv_tensor *frames;
  rv_tensor *tokens;
  const float *mean, *std;
  int patch, tubelet;
} patch_job;

/* Items are tubelet groups: frames [g T, (g+1) T) make token rows of that group. */
static void patchify_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const patch_job *j = ctx;
  int64_t per_group = (j->frames->shape[1] / j->patch) * (j->frames->shape[2] / j->patch);
  rv_tensor f = rows_of(j->frames, begin * j->tubelet, end * j->tubelet);
  rv_tensor t = rows_of(j->tokens, begin * per_group, end * per_group);
  rv_ref_patchify(NULL, &f, j->mean, j->std, j->patch, j->tubelet, &t);
}

rv_status rv_cpu_patchify(rv_backend *be, const rv_tensor *frames, const float mean[3],
                          const float std[3], int patch, int tubelet, rv_tensor *tokens) {
  patch_job j = {frames, tokens, mean, std, patch, tubelet};
  rv_pool_run(rv_cpu(be)->pool, patchify_worker, &j, frames->shape[0] / tubelet, 1);
  return RV_OK;
}

typedef struct merge_job {
  rv_tensor *o_a, *lse_a;
  const rv_tensor *o_b, *lse_b;
} merge_job;

static void merge_worker(void *ctx, int64_t begin, int64_t end, int tid) {
  const merge_job *j = ctx;
  rv_tensor oa = rows_of(j->o_a, begin, end), ob = rows_of(j->o_b, begin, end);
  /* lse is [H, Nq]: slice its columns */
  rv_tensor la = *j->lse_a, lb = *j->lse_b;
  la.data = (float *)la.data + begin;
  lb.data = (float *)lb.data + begin;
  la.shape[1] = lb.shape[1] = end - begin;
  rv_ref_attn_merge(NULL, &oa, &la, &ob, &lb);
}

rv_status rv_cpu_attn_merge(rv_backend *be, rv_tensor *o_a, rv_tensor *lse_a,
                            const rv_tensor *o_b, const rv_tensor *lse_b) {
  merge_job j = {o_a, lse_a, o_b, lse_b};
  rv_pool_run(rv_cpu(be)->pool, merge_worker, &j, o_a->shape[0], 64);
  return RV_OK;
}
