/* The CUDA kernels' own source (the .cu files of kernels/cuda, through their launchers),
 * run on the CPU and checked against cpu-ref, so that their index arithmetic, masks, tile
 * skipping, reductions, online softmax and output layouts are tested where there is no GPU.
 *
 * The files are compiled for the host with RV_CUDA_EMULATE; this test supplies what the
 * device would: one host thread per CUDA thread, one block at a time, barriers for
 * __syncthreads and for the warp-wide operations, and ldmatrix / mma.sync / shuffles
 * written out from their PTX definitions (fragment layouts of m16n8k16 with bf16
 * operands and f32 accumulators; ldmatrix lane l supplies row l % 8 of matrix l / 8 and
 * receives elements 2 (l % 4), +1 of row l / 4, or with .trans of column l / 4).
 * cp.async becomes a copy that stays pending until its thread waits for it, and the dynamic
 * shared memory is watched for races between warps within one barrier epoch (a light
 * racecheck; compute-sanitizer's runs on the GPU, tests/bench/gpu-check.sh). */
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <math_constants.h>
#include <vector_functions.h>

extern "C" {
#include "rv-test.h"
}

/* ---- the emulated device ---- */

#undef __global__
#undef __device__
#undef __shared__
#undef __launch_bounds__
#define __global__
#define __device__
#define __shared__ static /* blocks run one at a time: one copy serves the block */
#define __launch_bounds__(...)
#define cudaFuncSetAttribute(...) cudaSuccess
#define cudaGetLastError()        cudaSuccess

/* The launchers compiled here get other names than the real ones in rv_kernels. */
#define rv_cu_layernorm        emu_cu_layernorm
#define rv_cu_softmax          emu_cu_softmax
#define rv_cu_gelu             emu_cu_gelu
#define rv_cu_add              emu_cu_add
#define rv_cu_copy             emu_cu_copy
#define rv_cu_gemm_epilogue    emu_cu_gemm_epilogue
#define rv_cu_patchify         emu_cu_patchify
#define rv_cu_attention_flash  emu_cu_attention_flash
#define rv_cu_attention_simple emu_cu_attention_simple
#define rv_cu_attn_merge       emu_cu_attn_merge

static thread_local uint3 emu_tid, emu_bid;
static dim3 emu_bdim, emu_gdim;
#define threadIdx emu_tid
#define blockIdx  emu_bid
#define blockDim  emu_bdim
#define gridDim   emu_gdim

struct emu_warp {
  pthread_barrier_t bar;
  uint32_t word[32][8];
  const void *ptr[32];
};

/* Hazard tracking of the dynamic shared memory, per 16-byte chunk (the unit of cp.async,
 * the zero fill and an ldmatrix row): who wrote it in which barrier epoch, whether that
 * cp.async is still pending (its thread has not waited for it), which warps read it in
 * which epoch. Accesses of different warps in one epoch, one of them a write, and reads
 * of a pending copy are races, as compute-sanitizer's racecheck would report them. */
struct emu_chunk {
  int writer = -1, pending = 0;
  long wepoch = -1, repoch = -1;
  uint32_t readers = 0; /* warps, bit per warp */
};

struct emu_block {
  pthread_barrier_t bar;
  emu_warp warp[32];
  std::vector<unsigned char> smem;
  std::vector<emu_chunk> shadow;
  std::mutex lock;
};

static emu_block *emu_blk;                        /* the block running now */
static thread_local long emu_epoch;               /* __syncthreads passed by this thread */
static thread_local std::vector<size_t> emu_mine; /* chunks of this thread's pending copies */
static std::atomic<int> emu_races;

static inline int emu_lane() { return (int)(threadIdx.x & 31); }
static inline emu_warp &emu_w() { return emu_blk->warp[threadIdx.x >> 5]; }
static inline void emu_warp_sync() { pthread_barrier_wait(&emu_w().bar); }
static inline void __syncthreads() {
  pthread_barrier_wait(&emu_blk->bar);
  emu_epoch++;
}
static inline void __syncwarp() { emu_warp_sync(); }
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

static inline float __int_as_float(unsigned x) {
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static inline float __shfl_xor_sync(unsigned mask, float v, int o) {
  (void)mask;
  emu_warp &w = emu_w();
  int l = emu_lane();
  memcpy(&w.word[l][0], &v, 4);
  emu_warp_sync();
  float r;
  memcpy(&r, &w.word[l ^ o][0], 4);
  emu_warp_sync();
  return r;
}

using std::min;

#define RV_DYNAMIC_SMEM(name) unsigned char *name = emu_blk->smem.data()

static inline float fast_exp2(float x) { return exp2f(x); }

static void emu_race(const char *what, size_t chunk) {
  if (emu_races++ < 5)
    fprintf(stderr, "shared-memory race: %s, chunk %zu, thread %u, epoch %ld\n", what, chunk,
            threadIdx.x, emu_epoch);
}

static size_t emu_chunk_of(const void *p) {
  return (size_t)((const unsigned char *)p - emu_blk->smem.data()) / 16;
}

static void emu_write(void *s, int pending) {
  int t = (int)threadIdx.x, w = t >> 5;
  size_t i = emu_chunk_of(s);
  std::lock_guard<std::mutex> g(emu_blk->lock);
  emu_chunk &c = emu_blk->shadow[i];
  if (c.repoch == emu_epoch && (c.readers & ~(1u << w)))
    emu_race("write after another warp's read", i);
  if (c.wepoch == emu_epoch && c.writer != t) emu_race("write after another thread's write", i);
  c.writer = t;
  c.wepoch = emu_epoch;
  c.pending = pending;
  if (pending) emu_mine.push_back(i);
}

static void emu_read(const void *p) {
  int t = (int)threadIdx.x, w = t >> 5;
  size_t i = emu_chunk_of(p);
  std::lock_guard<std::mutex> g(emu_blk->lock);
  emu_chunk &c = emu_blk->shadow[i];
  if (c.pending) emu_race("read of a cp.async not waited for", i);
  if (c.wepoch == emu_epoch && (c.writer >> 5) != w) emu_race("read after another warp's write", i);
  if (c.repoch != emu_epoch) {
    c.repoch = emu_epoch;
    c.readers = 0;
  }
  c.readers |= 1u << w;
}

static inline void cp_async16(void *s, const void *g) {
  memcpy(s, g, 16);
  emu_write(s, 1);
}
static inline void st_shared_zero16(void *s) {
  memset(s, 0, 16);
  emu_write(s, 0);
}
static inline void cp_async_commit() {}
static inline void cp_async_wait_all() {
  std::lock_guard<std::mutex> g(emu_blk->lock);
  for (size_t i : emu_mine)
    emu_blk->shadow[i].pending = 0;
  emu_mine.clear();
}

static inline uint16_t emu_b16(const void *row, int i) {
  uint16_t v;
  memcpy(&v, (const char *)row + 2 * i, 2);
  return v;
}

static inline uint32_t emu_pack(uint16_t lo, uint16_t hi) { return lo | (uint32_t)hi << 16; }

static void emu_ldmatrix_x4(uint32_t r[4], const void *p, int trans) {
  emu_warp &w = emu_w();
  int l = emu_lane();
  w.ptr[l] = p;
  emu_read(p); /* each lane's address is one 16-byte row */
  emu_warp_sync();
  for (int j = 0; j < 4; j++) {
    const void *const *rows = &w.ptr[8 * j]; /* matrix j's eight row addresses */
    if (!trans)
      r[j] = emu_pack(emu_b16(rows[l / 4], 2 * (l % 4)), emu_b16(rows[l / 4], 2 * (l % 4) + 1));
    else
      r[j] = emu_pack(emu_b16(rows[2 * (l % 4)], l / 4), emu_b16(rows[2 * (l % 4) + 1], l / 4));
  }
  emu_warp_sync();
}

static inline void ldsm_x4(uint32_t r[4], const void *p) { emu_ldmatrix_x4(r, p, 0); }
static inline void ldsm_x4_trans(uint32_t r[4], const void *p) { emu_ldmatrix_x4(r, p, 1); }

static inline float emu_bf16(uint32_t word, int high) {
  uint32_t bits = (high ? word >> 16 : word & 0xffffu) << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* c[16x8] += a[16x16] b[16x8]: lane l holds a rows l/4 and l/4 + 8, columns 2 (l%4), +1
 * and + 8 (a0 a1 a2 a3 = row, row + 8, col + 8, both); b rows (k) 2 (l%4), +1 (b0) and + 8
 * (b1) of column l/4; c rows l/4 (c0 c1) and l/4 + 8 (c2 c3), columns 2 (l%4), +1. */
static void mma_bf16(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
  emu_warp &w = emu_w();
  int l = emu_lane();
  for (int i = 0; i < 4; i++)
    w.word[l][i] = a[i];
  w.word[l][4] = b0;
  w.word[l][5] = b1;
  emu_warp_sync();
  auto A = [&](int r, int k) {
    return emu_bf16(w.word[(r % 8) * 4 + (k % 8) / 2][(r >= 8) + 2 * (k >= 8)], k % 2);
  };
  auto B = [&](int k, int n) { return emu_bf16(w.word[n * 4 + (k % 8) / 2][4 + (k >= 8)], k % 2); };
  int g = l / 4, t = l % 4;
  float d[4] = {0, 0, 0, 0};
  for (int k = 0; k < 16; k++) {
    d[0] += A(g, k) * B(k, 2 * t);
    d[1] += A(g, k) * B(k, 2 * t + 1);
    d[2] += A(g + 8, k) * B(k, 2 * t);
    d[3] += A(g + 8, k) * B(k, 2 * t + 1);
  }
  emu_warp_sync();
  for (int i = 0; i < 4; i++)
    c[i] += d[i];
}

/* Runs body() as every thread of every block of the grid, one block at a time. Shared
 * memory starts as NaN bytes, so reading what no thread wrote shows in the output. */
template <typename F>
static void emu_launch(dim3 grid, unsigned threads, size_t smem_bytes, F body) {
  emu_gdim = grid;
  emu_bdim = dim3(threads);
  for (unsigned by = 0; by < grid.y; by++)
    for (unsigned bx = 0; bx < grid.x; bx++) {
      emu_block *blk = new emu_block;
      pthread_barrier_init(&blk->bar, NULL, threads);
      for (unsigned w = 0; w < threads / 32; w++)
        pthread_barrier_init(&blk->warp[w].bar, NULL, 32);
      blk->smem.assign(smem_bytes + 16, 0xff);
      blk->shadow.assign(blk->smem.size() / 16 + 1, emu_chunk());
      emu_blk = blk;
      std::vector<std::thread> th;
      for (unsigned t = 0; t < threads; t++)
        th.emplace_back([=] {
          emu_tid = make_uint3(t, 0, 0);
          emu_bid = make_uint3(bx, by, 0);
          emu_epoch = 0;
          emu_mine.clear();
          body();
        });
      for (auto &x : th)
        x.join();
      for (unsigned w = 0; w < threads / 32; w++)
        pthread_barrier_destroy(&blk->warp[w].bar);
      pthread_barrier_destroy(&blk->bar);
      delete blk;
    }
}

#define RV_LAUNCH(kernel, grid, block, smem, stream, ...)                                          \
  ((void)(stream), emu_launch(dim3(grid), (block), (smem), [&] { kernel(__VA_ARGS__); }))

#define RV_CUDA_EMULATE 1
#include "cuda/attention.cu"
#include "cuda/attn-merge.cu"
#include "cuda/elementwise.cu"
#include "cuda/gemm-fallback.cu"
#include "cuda/layernorm.cu"
#include "cuda/patchify.cu"
#include "cuda/softmax.cu"

/* ---- the test: emulated kernel against cpu-ref on equal (bf16-rounded) inputs ---- */

static rv_rng g_rng;

static float *bf16_rounded(size_t n) {
  float *x = (float *)malloc(sizeof(float) * n);
  rv_fill_normal(&g_rng, x, n, 1.0f);
  for (size_t i = 0; i < n; i++)
    x[i] = rv_bf16_to_f32(rv_f32_to_bf16(x[i]));
  return x;
}

static uint16_t *to_bf16(const float *x, size_t n) {
  uint16_t *h = (uint16_t *)aligned_alloc(64, (sizeof(uint16_t) * n + 63) / 64 * 64);
  for (size_t i = 0; i < n; i++)
    h[i] = rv_f32_to_bf16(x[i]);
  return h;
}

/* q, k, v are thirds of fused QKV rows [N, 3 H D], as in test-backend-ops. */
static void emu_case(int64_t nq, int64_t nk, int64_t heads, int64_t d, rv_mask_kind mask,
                     int32_t window, int32_t tpf, int64_t q_pos0, int64_t k_pos0, int want_flash) {
  int64_t cd = heads * d;
  size_t nqb = (size_t)(nq * 3 * cd), nkb = (size_t)(nk * 3 * cd), no = (size_t)(nq * cd),
         nl = (size_t)(heads * nq);
  float *qf = bf16_rounded(nqb), *kvf = bf16_rounded(nkb);
  uint16_t *qh = to_bf16(qf, nqb), *kvh = to_bf16(kvf, nkb);
  float *o_ref = (float *)malloc(sizeof(float) * no), *l_ref = (float *)malloc(sizeof(float) * nl);
  float *o_emu = (float *)malloc(sizeof(float) * no), *l_emu = (float *)malloc(sizeof(float) * nl);
  for (size_t i = 0; i < no; i++)
    o_emu[i] = NAN; /* every element must be written */
  for (size_t i = 0; i < nl; i++)
    l_emu[i] = NAN;
  rv_attn_params p = {1.0f / sqrtf((float)d), mask, window, tpf, q_pos0, k_pos0};

  /* the reference, on f32 copies of the same values */
  rv_backend *ref = NULL;
  rv_backend_cfg rc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&rc, &ref), RV_OK);
  int64_t st[3] = {3 * cd, d, 1};
  rv_tensor tq = rv_tensor_3d(qf, RV_F32, nq, heads, d),
            tk = rv_tensor_3d(kvf + cd, RV_F32, nk, heads, d);
  rv_tensor tv = rv_tensor_3d(kvf + 2 * cd, RV_F32, nk, heads, d);
  for (int i = 0; i < 3; i++)
    tq.stride[i] = tk.stride[i] = tv.stride[i] = st[i];
  rv_tensor to = rv_tensor_3d(o_ref, RV_F32, nq, heads, d),
            tl = rv_tensor_2d(l_ref, RV_F32, heads, nq);
  assert_int_equal(rv_attention(ref, &tq, &tk, &tv, &p, &to, &tl), RV_OK);
  rv_backend_free(ref);

  /* the emulated kernel, on the bf16 buffers, dispatched as the cuda backend does */
  rv_tensor eq = tq, ek = tk, ev = tv, eo = to, el = tl;
  eq.data = qh;
  ek.data = kvh + cd;
  ev.data = kvh + 2 * cd;
  eq.dtype = ek.dtype = ev.dtype = RV_BF16;
  eo.data = o_emu;
  el.data = l_emu;
  rv_cu_attn a = rv_cu_attn_make(&eq, &ek, &ev, &p, &eo, &el);
  assert_int_equal(rv_cu_attention_fast_ok(&a), want_flash);
  if (want_flash)
    assert_int_equal(rv_cu_attention_flash(0, &a), cudaSuccess);
  else
    assert_int_equal(rv_cu_attention_simple(0, &a), cudaSuccess);

  char what[160];
  snprintf(what, sizeof what,
           "emulated %s nq%lld nk%lld h%lld d%lld mask%d w%d tpf%d q0 %lld k0 %lld",
           want_flash ? "flash" : "simple", (long long)nq, (long long)nk, (long long)heads,
           (long long)d, (int)mask, window, tpf, (long long)q_pos0, (long long)k_pos0);
  /* the bounds test-backend-ops sets for bf16 attention outputs (see its attention_case:
   * P is rounded to bf16, so the per-element bound is relative to |ref| + the RMS) */
  rv_cmp co = rv_compare(o_emu, o_ref, no, rv_rms(o_ref, no) + 1e-30);
  rv_cmp cl = rv_compare(l_emu, l_ref, nl, 0.1 * rv_rms(l_ref, nl) + 1e-30);
  rv_assert_close(what, &co, 1e-4, 1e-2);
  rv_assert_close(what, &cl, 1e-4, 1e-2);
  if (emu_races) fail_msg("%s: %d shared-memory races", what, (int)emu_races);
  free(qf), free(kvf), free(qh), free(kvh);
  free(o_ref), free(l_ref), free(o_emu), free(l_emu);
}

static void test_flash_emulated(void **state) {
  (void)state;
  emu_case(65, 300, 3, 64, RV_MASK_NONE, 0, 0, 0, 0, 1);
  emu_case(70, 130, 2, 128, RV_MASK_NONE, 0, 0, 0, 0, 1);
  emu_case(200, 200, 1, 64, RV_MASK_CAUSAL, 0, 7, 0, 0, 1); /* skip, full and partial tiles */
  emu_case(150, 260, 1, 64, RV_MASK_WINDOW, 3, 10, 100, 0, 1);
  emu_case(150, 260, 1, 64, RV_MASK_BAND, 4, 10, 100, 30, 1);
  emu_case(97, 300, 1, 64, RV_MASK_CAUSAL, 0, 5, 0, 40, 1); /* early queries see nothing */
  emu_case(130, 200, 1, 128, RV_MASK_CAUSAL, 0, 16, 100, 0, 1);
  emu_case(64, 64, 1, 64, RV_MASK_CAUSAL, 0, 4, 0, 1000, 1);     /* no key visible at all */
  emu_case(200, 100, 1, 64, RV_MASK_CAUSAL, 0, 10, 0, 100, 1);   /* first blocks skip every tile */
  emu_case(64, 600, 1, 64, RV_MASK_WINDOW, 3, 4, 5000, 4500, 1); /* long history: jump */
  emu_case(100, 600, 1, 64, RV_MASK_BAND, 2, 4, 5000, 4700, 1);
  emu_case(130, 200, 1, 64, RV_MASK_CAUSAL, 0, 7, 3000000000LL, 2999999950LL, 1); /* > 2^31 */
}

static void test_simple_emulated(void **state) {
  (void)state;
  emu_case(5, 7, 2, 8, RV_MASK_NONE, 0, 0, 0, 0, 0);
  emu_case(33, 200, 1, 80, RV_MASK_WINDOW, 1, 4, 100, 0, 0);
  emu_case(40, 90, 2, 32, RV_MASK_CAUSAL, 0, 5, 0, 40, 0);
}

/* ---- the other kernels, through their launchers, against cpu-ref ---- */

static std::vector<float> rnd(size_t n, float scale, float shift) { /* bf16-exact values */
  std::vector<float> x(n);
  rv_fill_normal(&g_rng, x.data(), n, scale);
  for (auto &v : x)
    v = rv_bf16_to_f32(rv_f32_to_bf16(v + shift));
  return x;
}

static std::vector<uint16_t> bf(const std::vector<float> &x) {
  std::vector<uint16_t> h(x.size());
  for (size_t i = 0; i < x.size(); i++)
    h[i] = rv_f32_to_bf16(x[i]);
  return h;
}

static std::vector<float> unbf(const std::vector<uint16_t> &h) {
  std::vector<float> x(h.size());
  for (size_t i = 0; i < h.size(); i++)
    x[i] = rv_bf16_to_f32(h[i]);
  return x;
}

static rv_backend *ref_backend() {
  rv_backend *ref = NULL;
  rv_backend_cfg rc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&rc, &ref), RV_OK);
  return ref;
}

static rv_tensor view2(void *data, rv_dtype dt, int64_t rows, int64_t cols, int64_t ld) {
  rv_tensor t = rv_tensor_2d(data, dt, rows, cols);
  t.stride[0] = ld;
  return t;
}

static void check(const char *what, const std::vector<float> &got, const std::vector<float> &want) {
  rv_cmp c = rv_compare(got.data(), want.data(), got.size(),
                        0.1 * rv_rms(want.data(), want.size()) + 1e-30);
  rv_assert_close(what, &c, 1e-4, 1e-2);
}

static void test_rows_emulated(void **state) {
  (void)state;
  rv_backend *ref = ref_backend();
  /* layernorm [5, 300] with row stride 310 and a large mean */
  enum { R = 5, C = 300, LD = 310 };
  std::vector<float> x = rnd(R * LD, 2.0f, 3.0f), g = rnd(C, 1.0f, 0.0f), b = rnd(C, 1.0f, 0.0f);
  std::vector<float> want(R * C, 0.0f);
  std::vector<uint16_t> xh = bf(x), gh = bf(g), bh = bf(b), yh(R * C, 0);
  rv_tensor tx = view2(x.data(), RV_F32, R, C, LD), ty = rv_tensor_2d(want.data(), RV_F32, R, C);
  rv_tensor tg = rv_tensor_1d(g.data(), RV_F32, C), tb = rv_tensor_1d(b.data(), RV_F32, C);
  assert_int_equal(rv_layernorm(ref, &tx, &tg, &tb, 1e-6f, &ty), RV_OK);
  rv_cu_mat mx = {xh.data(), R, C, LD}, my = {yh.data(), R, C, C};
  assert_int_equal(rv_cu_layernorm(0, mx, gh.data(), bh.data(), 1e-6f, my), cudaSuccess);
  check("emulated layernorm", unbf(yh), want);

  /* softmax [4, 100], one row all -inf (zeros out) */
  std::vector<float> sx = rnd(4 * 100, 4.0f, 0.0f), sw(4 * 100, 0.0f);
  for (int j = 0; j < 100; j++)
    sx[2 * 100 + j] = -INFINITY;
  std::vector<uint16_t> sxh = bf(sx), syh(4 * 100, 0);
  rv_tensor tsx = rv_tensor_2d(sx.data(), RV_F32, 4, 100),
            tsy = rv_tensor_2d(sw.data(), RV_F32, 4, 100);
  assert_int_equal(rv_softmax(ref, &tsx, 0.5f, &tsy), RV_OK);
  rv_cu_mat msx = {sxh.data(), 4, 100, 100}, msy = {syh.data(), 4, 100, 100};
  assert_int_equal(rv_cu_softmax(0, msx, 0.5f, msy), cudaSuccess);
  check("emulated softmax", unbf(syh), sw);
  rv_backend_free(ref);
}

static void test_elementwise_emulated(void **state) {
  (void)state;
  rv_backend *ref = ref_backend();
  for (int act = RV_ACT_GELU_ERF; act <= RV_ACT_GELU_TANH;
       act++) { /* gelu [3, 50] into a wider y */
    std::vector<float> x = rnd(3 * 50, 3.0f, 0.0f), want(3 * 60, 0.0f);
    std::vector<uint16_t> xh = bf(x), yh(3 * 60, 0);
    rv_tensor tx = rv_tensor_2d(x.data(), RV_F32, 3, 50),
              ty = view2(want.data(), RV_F32, 3, 50, 60);
    assert_int_equal(rv_gelu(ref, &tx, &ty, (rv_act)act), RV_OK);
    rv_cu_mat mx = {xh.data(), 3, 50, 50}, my = {yh.data(), 3, 50, 60};
    assert_int_equal(rv_cu_gelu(0, mx, my, act), cudaSuccess);
    check(act == RV_ACT_GELU_ERF ? "emulated gelu erf" : "emulated gelu tanh", unbf(yh), want);
  }
  { /* add with broadcast rows: [6, 20] + [3, 20] */
    std::vector<float> a = rnd(6 * 20, 1.0f, 0.0f), b = rnd(3 * 20, 1.0f, 0.0f), want(6 * 20, 0.0f);
    std::vector<uint16_t> ah = bf(a), bh = bf(b), yh(6 * 20, 0);
    rv_tensor ta = rv_tensor_2d(a.data(), RV_F32, 6, 20),
              tb = rv_tensor_2d(b.data(), RV_F32, 3, 20);
    rv_tensor ty = rv_tensor_2d(want.data(), RV_F32, 6, 20);
    assert_int_equal(rv_add(ref, &ta, &tb, &ty), RV_OK);
    rv_cu_mat ma = {ah.data(), 6, 20, 20}, mb = {bh.data(), 3, 20, 20}, my = {yh.data(), 6, 20, 20};
    assert_int_equal(rv_cu_add(0, ma, mb, my), cudaSuccess);
    check("emulated add", unbf(yh), want);
  }
  { /* copy: strided f32 [2, 3, 5] -> packed bf16, and back to a strided f32 */
    std::vector<float> src = rnd(2 * 40, 1.0f, 0.0f), back(2 * 40, 0.0f), want_back(2 * 40, 0.0f);
    std::vector<uint16_t> mid(30, 0), want_mid(30, 0);
    rv_cu_view4 s4 = {src.data(), RV_F32, {1, 2, 3, 5}, {0, 40, 12, 1}};
    rv_cu_view4 m4 = {mid.data(), RV_BF16, {1, 2, 3, 5}, {0, 15, 5, 1}};
    rv_cu_view4 b4 = {back.data(), RV_F32, {1, 2, 3, 5}, {0, 40, 12, 1}};
    assert_int_equal(rv_cu_copy(0, s4, m4), cudaSuccess);
    assert_int_equal(rv_cu_copy(0, m4, b4), cudaSuccess);
    rv_tensor ts = rv_tensor_3d(src.data(), RV_F32, 2, 3, 5),
              tm = rv_tensor_3d(want_mid.data(), RV_BF16, 2, 3, 5);
    rv_tensor tb = rv_tensor_3d(want_back.data(), RV_F32, 2, 3, 5);
    ts.stride[0] = tb.stride[0] = 40;
    ts.stride[1] = tb.stride[1] = 12;
    assert_int_equal(rv_copy(ref, &ts, &tm), RV_OK);
    assert_int_equal(rv_copy(ref, &tm, &tb), RV_OK);
    assert_memory_equal(mid.data(), want_mid.data(), mid.size() * 2);
    assert_memory_equal(back.data(), want_back.data(), back.size() * 4);
  }
  for (int t = 0; t < 4; t++) { /* fallback gemm: acc [5, 7] = 0.5 op(a) op(b), k = 3 */
    int ta = t & 1, tb = t >> 1;
    enum { M = 5, N = 7, K = 3 };
    std::vector<float> a = rnd(64, 1.0f, 0.0f), b = rnd(64, 1.0f, 0.0f); /* room for the strides */
    std::vector<float> acc(M * N, 0.0f), want(M * N, 0.0f);
    int64_t lda = (ta ? M : K) + 1, ldb = (tb ? K : N) + 1; /* rows one element wider */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        double sum = 0;
        for (int l = 0; l < K; l++)
          sum += (double)a[ta ? l * lda + i : i * lda + l] * b[tb ? j * ldb + l : l * ldb + j];
        want[i * N + j] = (float)(0.5 * sum);
      }
    std::vector<uint16_t> ah = bf(a), bh = bf(b);
    rv_cu_mat ma = {ah.data(), ta ? K : M, ta ? M : K, lda};
    rv_cu_mat mb = {bh.data(), tb ? N : K, tb ? K : N, ldb};
    assert_int_equal(rv_cu_gemm_fallback(0, ma, ta, mb, tb, M, N, K, 0.5f, acc.data()),
                     cudaSuccess);
    check("emulated gemm fallback", acc, want);
  }
  { /* gemm epilogue: c [4, 9] (row stride 11) = gelu_erf(acc + bias) + 0.5 c */
    std::vector<float> acc = rnd(4 * 9, 2.0f, 0.0f), bias = rnd(9, 0.5f, 0.0f),
                       c = rnd(4 * 11, 1.0f, 0.0f);
    std::vector<float> want = c;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 9; j++) {
        double v = (double)acc[i * 9 + j] + bias[j];
        v = 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
        want[i * 11 + j] = (float)(v + 0.5 * c[i * 11 + j]);
      }
    std::vector<uint16_t> bh = bf(bias), ch = bf(c);
    rv_cu_mat mc = {ch.data(), 4, 9, 11};
    assert_int_equal(rv_cu_gemm_epilogue(0, acc.data(), bh.data(), RV_ACT_GELU_ERF, 0.5f, mc),
                     cudaSuccess);
    check("emulated gemm epilogue", unbf(ch), want);
  }
  rv_backend_free(ref);
}

static void test_patchify_merge_emulated(void **state) {
  (void)state;
  rv_backend *ref = ref_backend();
  static const float mean[3] = {0.485f, 0.456f, 0.406f}, sd[3] = {0.229f, 0.224f, 0.225f};
  for (int u8 = 0; u8 < 2; u8++) { /* frames [2, 8, 12, 3], patch 4, tubelet 2 */
    enum {
      F = 2,
      H = 8,
      W = 12,
      P = 4,
      T = 2,
      NT = (F / T) * (H / P) * (W / P),
      DIM = 3 * T * P * P
    };
    std::vector<uint8_t> fu(F * H * W * 3);
    std::vector<float> ff(F * H * W * 3), want(NT * DIM, 0.0f);
    for (size_t i = 0; i < fu.size(); i++) {
      fu[i] = (uint8_t)(rv_rng_next(&g_rng) & 0xff);
      ff[i] = rv_rng_uniform(&g_rng);
    }
    std::vector<uint16_t> th(NT * DIM, 0);
    rv_tensor tf =
        rv_tensor_4d(u8 ? (void *)fu.data() : (void *)ff.data(), u8 ? RV_U8 : RV_F32, F, H, W, 3);
    rv_tensor tt = rv_tensor_2d(want.data(), RV_F32, NT, DIM);
    assert_int_equal(rv_patchify(ref, &tf, mean, sd, P, T, &tt), RV_OK);
    rv_cu_mat mt = {th.data(), NT, DIM, DIM};
    assert_int_equal(rv_cu_patchify(0, tf.data, u8, F, H, W, mean, sd, P, T, mt), cudaSuccess);
    check(u8 ? "emulated patchify u8" : "emulated patchify f32", unbf(th), want);
  }
  { /* merge [7, 2, 16] with -inf rows on either side and both */
    enum { NQ = 7, HH = 2, D = 16, NO = NQ * HH * D, NL = HH * NQ };
    std::vector<float> oa = rnd(NO, 1.0f, 0.0f), la = rnd(NL, 3.0f, 0.0f), ob = rnd(NO, 1.0f, 0.0f),
                       lb = rnd(NL, 3.0f, 0.0f);
    la[1] = lb[2] = la[5] = lb[5] = -INFINITY;
    std::vector<float> oa_ref = oa, la_ref = la;
    rv_tensor toa = rv_tensor_3d(oa_ref.data(), RV_F32, NQ, HH, D),
              tla = rv_tensor_2d(la_ref.data(), RV_F32, HH, NQ);
    rv_tensor tob = rv_tensor_3d(ob.data(), RV_F32, NQ, HH, D),
              tlb = rv_tensor_2d(lb.data(), RV_F32, HH, NQ);
    assert_int_equal(rv_attn_merge(ref, &toa, &tla, &tob, &tlb), RV_OK);
    assert_int_equal(rv_cu_attn_merge(0, oa.data(), HH * D, la.data(), NQ, ob.data(), HH * D,
                                      lb.data(), NQ, NQ, HH, D),
                     cudaSuccess);
    check("emulated merge o", oa, oa_ref);
    check("emulated merge lse", la, la_ref);
  }
  rv_backend_free(ref);
}

int main(void) {
  rv_rng_seed(&g_rng, 20261206);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flash_emulated),          cmocka_unit_test(test_simple_emulated),
      cmocka_unit_test(test_rows_emulated),           cmocka_unit_test(test_elementwise_emulated),
      cmocka_unit_test(test_patchify_merge_emulated),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
