/* The CUDA attention kernels' own source (kernels/cuda/attention.cu), run on the CPU and
 * checked against cpu-ref, so that their index arithmetic, masks, tile skipping, online
 * softmax and output layout are tested where there is no GPU.
 *
 * The file is compiled for the host with RV_CUDA_EMULATE; this test supplies what the
 * device would: one host thread per CUDA thread, one block at a time, barriers for
 * __syncthreads and for the warp-wide operations, and ldmatrix / mma.sync / shuffles
 * written out from their PTX definitions (fragment layouts of m16n8k16 with bf16
 * operands and f32 accumulators; ldmatrix lane l supplies row l % 8 of matrix l / 8 and
 * receives elements 2 (l % 4), +1 of row l / 4, or with .trans of column l / 4).
 * cp.async becomes a plain copy, so races between copies and reads cannot show here:
 * compute-sanitizer's racecheck on the GPU covers those (tests/bench/gpu-check.sh). */
#include <pthread.h>

#include <algorithm>
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
#undef __launch_bounds__
#define __global__
#define __device__
#define __launch_bounds__(...)

static thread_local uint3 emu_tid, emu_bid;
static dim3 emu_bdim, emu_gdim;
#define threadIdx emu_tid
#define blockIdx emu_bid
#define blockDim emu_bdim
#define gridDim emu_gdim

struct emu_warp {
  pthread_barrier_t bar;
  uint32_t word[32][8];
  const void *ptr[32];
};

struct emu_block {
  pthread_barrier_t bar;
  emu_warp warp[32];
  std::vector<unsigned char> smem;
};

static emu_block *emu_blk; /* the block running now */

static inline int emu_lane() { return (int)(threadIdx.x & 31); }
static inline emu_warp &emu_w() { return emu_blk->warp[threadIdx.x >> 5]; }
static inline void emu_warp_sync() { pthread_barrier_wait(&emu_w().bar); }
static inline void __syncthreads() { pthread_barrier_wait(&emu_blk->bar); }

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

static inline void cp_async16(void *s, const void *g) { memcpy(s, g, 16); }
static inline void cp_async_commit() {}
static inline void cp_async_wait_all() {}

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
  for (int i = 0; i < 4; i++) w.word[l][i] = a[i];
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
  for (int i = 0; i < 4; i++) c[i] += d[i];
}

#define RV_CUDA_EMULATE 1
#include "cuda/attention.cu"

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
      for (unsigned w = 0; w < threads / 32; w++) pthread_barrier_init(&blk->warp[w].bar, NULL, 32);
      blk->smem.assign(smem_bytes + 16, 0xff);
      emu_blk = blk;
      std::vector<std::thread> th;
      for (unsigned t = 0; t < threads; t++)
        th.emplace_back([=] {
          emu_tid = make_uint3(t, 0, 0);
          emu_bid = make_uint3(bx, by, 0);
          body();
        });
      for (auto &x : th) x.join();
      for (unsigned w = 0; w < threads / 32; w++) pthread_barrier_destroy(&blk->warp[w].bar);
      pthread_barrier_destroy(&blk->bar);
      delete blk;
    }
}

/* The launches of attention.cu's launchers, on the emulated device. */
static void emu_attention(const rv_cu_attn &a, int flash) {
  if (flash && a.d == 64)
    emu_launch(dim3((unsigned)((a.nq + BM - 1) / BM), (unsigned)a.heads), FLASH_THREADS,
               flash_smem<64>(), [&] { flash_kernel<64>(a); });
  else if (flash)
    emu_launch(dim3((unsigned)((a.nq + BM - 1) / BM), (unsigned)a.heads), FLASH_THREADS,
               flash_smem<128>(), [&] { flash_kernel<128>(a); });
  else
    emu_launch(dim3(rv_cu_blocks(a.nq * a.heads * 32, SIMPLE_THREADS)), SIMPLE_THREADS, 0,
               [&] { simple_kernel(a); });
}

/* ---- the test: emulated kernel against cpu-ref on equal (bf16-rounded) inputs ---- */

static rv_rng g_rng;

static float *bf16_rounded(size_t n) {
  float *x = (float *)malloc(sizeof(float) * n);
  rv_fill_normal(&g_rng, x, n, 1.0f);
  for (size_t i = 0; i < n; i++) x[i] = rv_bf16_to_f32(rv_f32_to_bf16(x[i]));
  return x;
}

static uint16_t *to_bf16(const float *x, size_t n) {
  uint16_t *h = (uint16_t *)aligned_alloc(64, (sizeof(uint16_t) * n + 63) / 64 * 64);
  for (size_t i = 0; i < n; i++) h[i] = rv_f32_to_bf16(x[i]);
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
  for (size_t i = 0; i < no; i++) o_emu[i] = NAN; /* every element must be written */
  for (size_t i = 0; i < nl; i++) l_emu[i] = NAN;
  rv_attn_params p = {1.0f / sqrtf((float)d), mask, window, tpf, q_pos0, k_pos0};

  /* the reference, on f32 copies of the same values */
  rv_backend *ref = NULL;
  rv_backend_cfg rc = {RV_BACKEND_CPU_REF, 1, 0};
  assert_int_equal(rv_backend_init(&rc, &ref), RV_OK);
  int64_t st[3] = {3 * cd, d, 1};
  rv_tensor tq = rv_tensor_3d(qf, RV_F32, nq, heads, d), tk = rv_tensor_3d(kvf + cd, RV_F32, nk, heads, d);
  rv_tensor tv = rv_tensor_3d(kvf + 2 * cd, RV_F32, nk, heads, d);
  for (int i = 0; i < 3; i++) tq.stride[i] = tk.stride[i] = tv.stride[i] = st[i];
  rv_tensor to = rv_tensor_3d(o_ref, RV_F32, nq, heads, d), tl = rv_tensor_2d(l_ref, RV_F32, heads, nq);
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
  emu_attention(a, want_flash);

  char what[160];
  snprintf(what, sizeof what, "emulated %s nq%lld nk%lld h%lld d%lld mask%d w%d tpf%d q0 %lld k0 %lld",
           want_flash ? "flash" : "simple", (long long)nq, (long long)nk, (long long)heads,
           (long long)d, (int)mask, window, tpf, (long long)q_pos0, (long long)k_pos0);
  /* the bounds test-backend-ops sets for bf16 attention outputs (see its attention_case:
   * P is rounded to bf16, so the per-element bound is relative to |ref| + the RMS) */
  rv_cmp co = rv_compare(o_emu, o_ref, no, rv_rms(o_ref, no) + 1e-30);
  rv_cmp cl = rv_compare(l_emu, l_ref, nl, 0.1 * rv_rms(l_ref, nl) + 1e-30);
  rv_assert_close(what, &co, 1e-4, 1e-2);
  rv_assert_close(what, &cl, 1e-4, 1e-2);
  free(qf), free(kvf), free(qh), free(kvh);
  free(o_ref), free(l_ref), free(o_emu), free(l_emu);
}

static void test_flash_emulated(void **state) {
  (void)state;
  emu_case(65, 300, 3, 64, RV_MASK_NONE, 0, 0, 0, 0, 1);
  emu_case(70, 130, 2, 128, RV_MASK_NONE, 0, 0, 0, 0, 1);
  emu_case(200, 200, 1, 64, RV_MASK_CAUSAL, 0, 7, 0, 0, 1);      /* skip, full and partial tiles */
  emu_case(150, 260, 1, 64, RV_MASK_WINDOW, 3, 10, 100, 0, 1);
  emu_case(150, 260, 1, 64, RV_MASK_BAND, 4, 10, 100, 30, 1);
  emu_case(97, 300, 1, 64, RV_MASK_CAUSAL, 0, 5, 0, 40, 1);      /* early queries see nothing */
  emu_case(130, 200, 1, 128, RV_MASK_CAUSAL, 0, 16, 100, 0, 1);
  emu_case(64, 64, 1, 64, RV_MASK_CAUSAL, 0, 4, 0, 1000, 1);     /* no key visible at all */
}

static void test_simple_emulated(void **state) {
  (void)state;
  emu_case(5, 7, 2, 8, RV_MASK_NONE, 0, 0, 0, 0, 0);
  emu_case(33, 200, 1, 80, RV_MASK_WINDOW, 1, 4, 100, 0, 0);
  emu_case(40, 90, 2, 32, RV_MASK_CAUSAL, 0, 5, 0, 40, 0);
}

int main(void) {
  rv_rng_seed(&g_rng, 20261206);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flash_emulated),
      cmocka_unit_test(test_simple_emulated),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
