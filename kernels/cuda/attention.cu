/* One ring step of attention on the GPU: a Q block against a K/V block, returning the
 * block's output (f32) and log-sum-exp (f32) so that steps merge exactly.
 *
 * flash: tensor cores through mma.sync m16n8k16 (bf16 in, f32 accumulate; sm_80 and up),
 * FlashAttention-2 style. A block of WARPS warps owns BM = 16 MT WARPS queries of one head;
 * each warp owns 16 MT of them (MT m-tiles, which share every K and V fragment). K/V tiles
 * of BN keys go through shared memory (cp.async; V's load overlaps Q K^T, the next K's
 * overlaps P V); the scores stay in registers, where the online softmax rescales the
 * running output, and become the A operand of P V without a trip through shared memory.
 * Tiles are classified per block by frame ranges: invisible tiles are skipped (never
 * loaded), fully visible ones take no per-element mask, only the boundary ones do.
 * Head dims 64 and 128.
 *
 * simple: one warp per (query, head), any head dim up to RV_CU_ATTN_MAX_D, any alignment;
 * the fallback for shapes the flash kernel does not take. */
#include <stdint.h>
#include <string.h>

#include "cuda-common.cuh"

/* Tile shape: WARPS warps, each owning MT m-tiles of 16 query rows; BN keys per K/V
 * tile (a multiple of 16). -DRV_ATTN_WARPS=8 -DRV_ATTN_MT=2 -DRV_ATTN_BN=128 (say) builds
 * another shape for tuning runs. */
#ifndef RV_ATTN_WARPS
#define RV_ATTN_WARPS 4
#endif
#ifndef RV_ATTN_MT
#define RV_ATTN_MT 1
#endif
#ifndef RV_ATTN_BN
#define RV_ATTN_BN 64
#endif
enum {
  WARPS = RV_ATTN_WARPS,
  MT = RV_ATTN_MT,
  BM = 16 * MT * WARPS,
  BN = RV_ATTN_BN,
  FLASH_THREADS = 32 * WARPS
};
static_assert(BN % 16 == 0 && WARPS >= 1 && WARPS <= 8 && MT >= 1 && MT <= 2, "tile shape");
/* A tuning build also sets RV_ATTN_VARIANT (a suffix such as _w8_n128): its flash launcher
 * gets that suffix, and the parts that do not depend on the tile shape are left out. */
#define RV_ATTN_CAT2(a, b) a##b
#define RV_ATTN_CAT(a, b)  RV_ATTN_CAT2(a, b)
#ifdef RV_ATTN_VARIANT
#define RV_ATTN_NAME(x) RV_ATTN_CAT(x, RV_ATTN_VARIANT)
#else
#define RV_ATTN_NAME(x) x
#endif
enum { TILE_SKIP = 0, TILE_PARTIAL = 1, TILE_FULL = 2 };

/* ---- masks, shared by both kernels ---- */

/* The frame of a token position (>= 0 when masked): 32-bit division when it fits, as it
 * nearly always does (a 64-bit one costs several times more, and it runs per tile). */
static __device__ __forceinline__ int64_t frame_of(const rv_cu_attn &a, int64_t pos) {
  if (pos <= 0x7fffffff) return (int64_t)((uint32_t)pos / (uint32_t)a.tpf);
  return pos / a.tpf;
}

static __device__ __forceinline__ int64_t key_frame(const rv_cu_attn &a, int64_t j) {
  return frame_of(a, a.k_pos0 + j);
}

static __device__ __forceinline__ int frames_allowed(const rv_cu_attn &a, int64_t qf, int64_t kf) {
  int64_t d = qf - kf;
  return d >= a.lo && d <= a.hi;
}

/* Frames of a block's first and last query, computed once per block. */
typedef struct qspan {
  int64_t f0, f1;
} qspan;

static __device__ qspan block_frames(const rv_cu_attn &a, int64_t q0, int64_t nq_t) {
  qspan q = {0, 0};
  if (a.mask != RV_MASK_NONE) {
    q.f0 = frame_of(a, a.q_pos0 + q0);
    q.f1 = frame_of(a, a.q_pos0 + q0 + nq_t - 1);
  }
  return q;
}

/* The block's queries against keys [k0, k0 + nk_t): skipped, partial or full. */
static __device__ int tile_class(const rv_cu_attn &a, qspan q, int64_t k0, int64_t nk_t) {
  int edge = nk_t < BN; /* keys past the end are masked per element */
  if (a.mask == RV_MASK_NONE) return edge ? TILE_PARTIAL : TILE_FULL;
  int64_t kf0 = key_frame(a, k0), kf1 = key_frame(a, k0 + nk_t - 1);
  /* qf - kf spans [q.f0 - kf1, q.f1 - kf0] */
  if (q.f1 - kf0 < a.lo || q.f0 - kf1 > a.hi) return TILE_SKIP;
  int full = q.f0 - kf1 >= a.lo && q.f1 - kf0 <= a.hi;
  return full && !edge ? TILE_FULL : TILE_PARTIAL;
}

/* The first tile at or after kt that some query of the block sees (ntiles if none), and
 * its class. Frames grow with the key index, so tiles before the window's far edge are
 * jumped over, and once a tile starts past every query's near edge (causal, window) no
 * later tile is visible: the scan never walks the invisible part of a long sequence. */
static __device__ int64_t next_tile(const rv_cu_attn &a, qspan q, int64_t kt, int64_t ntiles,
                                    int *cls) {
  if (a.mask != RV_MASK_NONE && a.hi < INT64_MAX / 4) {
    int64_t j0 = (q.f0 - a.hi) * a.tpf - a.k_pos0; /* keys before j0: in no query's window */
    if (j0 / BN > kt) kt = j0 / BN;
  }
  for (; kt < ntiles; kt++) {
    int64_t k0 = kt * BN;
    if (a.mask != RV_MASK_NONE && q.f1 - key_frame(a, k0) < a.lo) break;
    *cls = tile_class(a, q, k0, min((int64_t)BN, a.nk - k0));
    if (*cls != TILE_SKIP) return kt;
  }
  *cls = TILE_SKIP;
  return ntiles;
}

/* ---- tensor-core primitives (PTX, sm_80+) ----
 * tests/kernels/test-cuda-emu.cc compiles this file for the host with RV_CUDA_EMULATE and
 * its own versions of these primitives and of the dynamic shared memory, so the kernels'
 * own code runs on the CPU. */
#ifndef RV_CUDA_EMULATE
#define RV_DYNAMIC_SMEM(name) extern __shared__ __align__(16) unsigned char name[]

static __device__ __forceinline__ unsigned smem_addr(const void *p) {
  return (unsigned)__cvta_generic_to_shared(p);
}

static __device__ __forceinline__ void cp_async16(void *s, const void *g) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_addr(s)), "l"(g));
}

static __device__ __forceinline__ void st_shared_zero16(void *s) {
  *reinterpret_cast<uint4 *>(s) = make_uint4(0u, 0u, 0u, 0u);
}

static __device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::);
}

static __device__ __forceinline__ void cp_async_wait_all() {
  asm volatile("cp.async.wait_group 0;\n" ::: "memory");
}

static __device__ __forceinline__ void ldsm_x4(uint32_t r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

static __device__ __forceinline__ void ldsm_x4_trans(uint32_t r[4], const void *p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(smem_addr(p)));
}

/* c[16x8] += a[16x16] b[16x8], bf16 operands, f32 accumulators. */
static __device__ __forceinline__ void mma_bf16(float c[4], const uint32_t a[4], uint32_t b0,
                                                uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, "
               "{%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
#endif

/* 2^x on the special-function unit alone (relative error under 2^-22; -inf gives 0):
 * exp2f adds range handling around the same instruction, and the exponentials are a
 * large share of the work at head dim 64. */
#ifndef RV_CUDA_EMULATE
static __device__ __forceinline__ float fast_exp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
#endif

static __device__ __forceinline__ uint32_t pack_bf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi); /* .x (lo) is the low half */
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

/* Rows [row0, row0 + ROWS) of one head into shared memory (row pitch D + 8 elements, so the
 * eight rows an ldmatrix reads fall in different banks); rows past n become zeros, so
 * that masked keys never multiply stale (possibly non-finite) values. */
template <int D, int ROWS>
static __device__ __forceinline__ void load_tile(bf16 *s, const bf16 *g, int64_t ld, int64_t h,
                                                 int64_t row0, int64_t n) {
  constexpr int CH = D / 8; /* 16-byte chunks per row */
  for (int c = threadIdx.x; c < ROWS * CH; c += FLASH_THREADS) {
    int r = c / CH, cc = c % CH;
    bf16 *dst = s + r * (D + 8) + cc * 8;
    if (row0 + r < n)
      cp_async16(dst, g + (row0 + r) * ld + h * D + cc * 8);
    else
      st_shared_zero16(dst);
  }
}

template <int D>
static __global__ void __launch_bounds__(FLASH_THREADS) flash_kernel(const rv_cu_attn a) {
  constexpr int LD = D + 8, KSTEPS = D / 16, DTILES = D / 8, NTILES = BN / 8, ROWS = 2 * MT;
  RV_DYNAMIC_SMEM(smem_raw);
  bf16 *sq = reinterpret_cast<bf16 *>(smem_raw);
  bf16 *sk = sq + BM * LD, *sv = sk + BN * LD;
  const bf16 *gq = static_cast<const bf16 *>(a.q), *gk = static_cast<const bf16 *>(a.k),
             *gv = static_cast<const bf16 *>(a.v);
  /* query blocks in reverse: with causal masks the later ones have the most tiles, and
   * starting them first leaves the light ones to fill the tail of the grid */
  const int64_t h = blockIdx.y, q0 = (int64_t)(gridDim.x - 1 - blockIdx.x) * BM;
  const int64_t nq_t = min((int64_t)BM, a.nq - q0), ntiles = (a.nk + BN - 1) / BN;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, t4 = lane & 3;
  const float scale2 = a.scale * 1.4426950408889634f; /* exp(x) = exp2(x log2 e) */
  const int wrow = warp * 16 * MT;                    /* the warp's first row in the block */

  /* this thread's query rows: r = 2 mt + half is row wrow + 16 mt + g + 8 half (the
   * accumulator rows of m-tile mt), and their frames */
  int64_t row[ROWS], qf[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    row[r] = q0 + wrow + 16 * (r >> 1) + g + 8 * (r & 1);
    qf[r] = a.mask == RV_MASK_NONE ? 0 : frame_of(a, a.q_pos0 + row[r]);
  }

  const qspan qs = block_frames(a, q0, nq_t);
  int cls;
  int64_t kt = next_tile(a, qs, 0, ntiles, &cls);
  load_tile<D, BM>(sq, gq, a.ldq, h, q0, a.nq);
  if (kt < ntiles) load_tile<D, BN>(sk, gk, a.ldk, h, kt * BN, a.nk);
  cp_async_commit();
  cp_async_wait_all();
  __syncthreads();

  /* with one m-tile per warp the Q fragments stay in registers for the whole block; with
   * more they are read from shared memory at each k-step (registers go to S and O) */
  uint32_t qfrag[MT == 1 ? KSTEPS : 1][4];
  if (MT == 1) {
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++)
      ldsm_x4(qfrag[MT == 1 ? kk : 0],
              sq + (wrow + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + kk * 16 + (lane >> 4) * 8);
  }

  float oacc[MT][DTILES][4];
#pragma unroll
  for (int mt = 0; mt < MT; mt++)
#pragma unroll
    for (int i = 0; i < DTILES; i++)
      oacc[mt][i][0] = oacc[mt][i][1] = oacc[mt][i][2] = oacc[mt][i][3] = 0.0f;
  float m[ROWS], l[ROWS];
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    m[r] = -CUDART_INF_F;
    l[r] = 0.0f;
  }

  while (kt < ntiles) {
    const int64_t k0 = kt * BN;
    load_tile<D, BN>(sv, gv, a.ldv, h, k0, a.nk); /* overlaps S = Q K^T */
    cp_async_commit();

    /* S [16 MT x BN] per warp = Q K^T; each K fragment serves every m-tile */
    float s[MT][NTILES][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int i = 0; i < NTILES; i++)
        s[mt][i][0] = s[mt][i][1] = s[mt][i][2] = s[mt][i][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < KSTEPS; kk++) {
      uint32_t qa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; mt++) {
        if (MT == 1) {
#pragma unroll
          for (int i = 0; i < 4; i++)
            qa[mt][i] = qfrag[MT == 1 ? kk : 0][i];
        } else {
          ldsm_x4(qa[mt], sq + (wrow + 16 * mt + (lane & 7) + ((lane >> 3) & 1) * 8) * LD +
                              kk * 16 + (lane >> 4) * 8);
        }
      }
#pragma unroll
      for (int np = 0; np < NTILES / 2; np++) {
        uint32_t kb[4];
        ldsm_x4(kb, sk + (np * 16 + (lane & 7) + (lane >> 4) * 8) * LD + kk * 16 +
                        ((lane >> 3) & 1) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          mma_bf16(s[mt][2 * np], qa[mt], kb[0], kb[1]);
          mma_bf16(s[mt][2 * np + 1], qa[mt], kb[2], kb[3]);
        }
      }
    }

    /* scale, mask, online softmax (log2 domain); element e of tile nt of m-tile mt is
     * row 2 mt + e / 2, key k0 + nt * 8 + 2 t4 + e % 2 */
    float tmax[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++)
      tmax[r] = -CUDART_INF_F;
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int nt = 0; nt < NTILES; nt++) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
          const int r = 2 * mt + (e >> 1);
          float x = s[mt][nt][e] * scale2;
          if (cls == TILE_PARTIAL) {
            int64_t j = k0 + nt * 8 + 2 * t4 + (e & 1);
            int ok =
                j < a.nk && (a.mask == RV_MASK_NONE || frames_allowed(a, qf[r], key_frame(a, j)));
            if (!ok) x = -CUDART_INF_F;
          }
          s[mt][nt][e] = x;
          tmax[r] = fmaxf(tmax[r], x);
        }
      }
    float alpha[ROWS], muse[ROWS];
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
      /* the four threads of a quad hold one row between them */
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 1));
      tmax[r] = fmaxf(tmax[r], __shfl_xor_sync(0xffffffffu, tmax[r], 2));
      float mnew = fmaxf(m[r], tmax[r]);
      muse[r] = mnew == -CUDART_INF_F ? 0.0f : mnew; /* nothing seen yet: no -inf - -inf */
      alpha[r] = fast_exp2(m[r] - muse[r]);
      m[r] = mnew;
      l[r] *= alpha[r];
    }
    uint32_t pfrag[MT][BN / 16][4];
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int nt = 0; nt < NTILES; nt++) {
        const int r0 = 2 * mt, r1 = 2 * mt + 1;
        float p0 = fast_exp2(s[mt][nt][0] - muse[r0]), p1 = fast_exp2(s[mt][nt][1] - muse[r0]);
        float p2 = fast_exp2(s[mt][nt][2] - muse[r1]), p3 = fast_exp2(s[mt][nt][3] - muse[r1]);
        l[r0] += p0 + p1;
        l[r1] += p2 + p3;
        /* the accumulator layout of S is the A-operand layout of P: tile nt holds keys
         * 8 (nt % 2) .. + 7 of k-step nt / 2 */
        pfrag[mt][nt >> 1][(nt & 1) * 2 + 0] = pack_bf16(p0, p1);
        pfrag[mt][nt >> 1][(nt & 1) * 2 + 1] = pack_bf16(p2, p3);
      }
#pragma unroll
    for (int mt = 0; mt < MT; mt++)
#pragma unroll
      for (int i = 0; i < DTILES; i++) {
        oacc[mt][i][0] *= alpha[2 * mt];
        oacc[mt][i][1] *= alpha[2 * mt];
        oacc[mt][i][2] *= alpha[2 * mt + 1];
        oacc[mt][i][3] *= alpha[2 * mt + 1];
      }

    cp_async_wait_all(); /* V is in; every warp is done with K */
    __syncthreads();
    int next_cls;
    const int64_t next = next_tile(a, qs, kt + 1, ntiles, &next_cls);
    if (next < ntiles) load_tile<D, BN>(sk, gk, a.ldk, h, next * BN, a.nk); /* overlaps P V */
    cp_async_commit();

    /* O [16 MT x D] += P [16 MT x BN] V [BN x D]; each V fragment serves every m-tile */
#pragma unroll
    for (int kk = 0; kk < BN / 16; kk++) {
#pragma unroll
      for (int dp = 0; dp < DTILES / 2; dp++) {
        uint32_t vb[4];
        ldsm_x4_trans(vb, sv + (kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * LD + dp * 16 +
                              (lane >> 4) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; mt++) {
          mma_bf16(oacc[mt][2 * dp], pfrag[mt][kk], vb[0], vb[1]);
          mma_bf16(oacc[mt][2 * dp + 1], pfrag[mt][kk], vb[2], vb[3]);
        }
      }
    }
    kt = next;
    cls = next_cls;
    cp_async_wait_all(); /* the next K is in; every warp is done with V */
    __syncthreads();
  }

  /* finish: o = O / l, lse = ln 2 (m + log2 l); rows that saw nothing get 0 and -inf */
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
    l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
  }
#pragma unroll
  for (int r = 0; r < ROWS; r++) {
    if (row[r] >= a.nq) continue;
    const int mt = r >> 1, half = r & 1;
    float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
    float *orow = a.o + row[r] * a.ldo + h * D;
#pragma unroll
    for (int i = 0; i < DTILES; i++) {
      orow[i * 8 + 2 * t4] = oacc[mt][i][2 * half] * inv;
      orow[i * 8 + 2 * t4 + 1] = oacc[mt][i][2 * half + 1] * inv;
    }
    if (t4 == 0)
      a.lse[h * a.ldl + row[r]] =
          l[r] > 0.0f ? (m[r] + log2f(l[r])) * 0.69314718055994531f : -CUDART_INF_F;
  }
}

template <int D> static size_t flash_smem() {
  return (size_t)(BM + 2 * BN) * (D + 8) * sizeof(bf16);
}

template <int D> static cudaError_t launch_flash(cudaStream_t s, const rv_cu_attn *a) {
  size_t smem = flash_smem<D>();
  cudaError_t e =
      cudaFuncSetAttribute(flash_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
  if (e != cudaSuccess) return e;
  dim3 grid((unsigned)((a->nq + BM - 1) / BM), (unsigned)a->heads);
  RV_LAUNCH(flash_kernel<D>, grid, FLASH_THREADS, smem, s, *a);
  return cudaGetLastError();
}

extern "C" cudaError_t RV_ATTN_NAME(rv_cu_attention_flash)(cudaStream_t s, const rv_cu_attn *a) {
  return a->d == 64 ? launch_flash<64>(s, a) : launch_flash<128>(s, a);
}

#ifndef RV_ATTN_VARIANT
#ifndef RV_CUDA_EMULATE
extern "C" int rv_cu_attention_fast_ok(const rv_cu_attn *a) {
  if (a->d != 64 && a->d != 128) return 0;
  if (a->heads > 65535 || (a->nq + BM - 1) / BM > 0x7fffffff) return 0;
  /* 16-byte cp.async: every row of every head starts on a 16-byte boundary */
  if ((uintptr_t)a->q % 16 || (uintptr_t)a->k % 16 || (uintptr_t)a->v % 16) return 0;
  return a->ldq % 8 == 0 && a->ldk % 8 == 0 && a->ldv % 8 == 0;
}
#endif

/* ---- the plain kernel ---- */

enum { SIMPLE_THREADS = 256, SIMPLE_PER_LANE = RV_CU_ATTN_MAX_D / 32 };

static __global__ void __launch_bounds__(SIMPLE_THREADS) simple_kernel(const rv_cu_attn a) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (SIMPLE_THREADS / 32);
  for (int64_t w = blockIdx.x * (int64_t)(SIMPLE_THREADS / 32) + (threadIdx.x >> 5);
       w < a.nq * a.heads; w += warps) {
    const int64_t h = w / a.nq, i = w % a.nq;
    const int64_t qf = a.mask == RV_MASK_NONE ? 0 : frame_of(a, a.q_pos0 + i);
    float qv[SIMPLE_PER_LANE], acc[SIMPLE_PER_LANE];
#pragma unroll
    for (int u = 0; u < SIMPLE_PER_LANE; u++) {
      int64_t c = lane + 32 * u;
      qv[u] = c < a.d ? ld_bf16(a.q, i * a.ldq + h * a.d + c) : 0.0f;
      acc[u] = 0.0f;
    }
    float m = -CUDART_INF_F, l = 0.0f;
    for (int64_t j = 0; j < a.nk; j++) {
      if (a.mask != RV_MASK_NONE && !frames_allowed(a, qf, key_frame(a, j))) continue;
      float dot = 0.0f;
#pragma unroll
      for (int u = 0; u < SIMPLE_PER_LANE; u++) {
        int64_t c = lane + 32 * u;
        if (c < a.d) dot += qv[u] * ld_bf16(a.k, j * a.ldk + h * a.d + c);
      }
      float sc = warp_sum(dot) * a.scale;
      float mnew = fmaxf(m, sc);
      float alpha = expf(m - mnew), p = expf(sc - mnew); /* m = -inf at first: alpha = 0 */
      l = l * alpha + p;
#pragma unroll
      for (int u = 0; u < SIMPLE_PER_LANE; u++) {
        int64_t c = lane + 32 * u;
        float vv = c < a.d ? ld_bf16(a.v, j * a.ldv + h * a.d + c) : 0.0f;
        acc[u] = acc[u] * alpha + p * vv;
      }
      m = mnew;
    }
    float inv = l > 0.0f ? 1.0f / l : 0.0f;
#pragma unroll
    for (int u = 0; u < SIMPLE_PER_LANE; u++) {
      int64_t c = lane + 32 * u;
      if (c < a.d) a.o[i * a.ldo + h * a.d + c] = acc[u] * inv;
    }
    if (lane == 0) a.lse[h * a.ldl + i] = l > 0.0f ? m + logf(l) : -CUDART_INF_F;
  }
}

extern "C" cudaError_t rv_cu_attention_simple(cudaStream_t s, const rv_cu_attn *a) {
  RV_LAUNCH(simple_kernel, rv_cu_blocks(a->nq * a->heads * 32, SIMPLE_THREADS), SIMPLE_THREADS, 0,
            s, *a);
  return cudaGetLastError();
}
#endif
