/* Register-blocked AVX-512 micro-kernels for the two products of CPU flash attention,
 * computed transposed: queries run along the vector lanes.
 *
 * Why not sgemm: attention's products are small and thin (K = head dim for Q K^T, N =
 * head dim for P V), so a general sgemm spends much of its time packing, and a key tile
 * would need transposing for every query tile. With queries in the lanes, K and V are
 * read as stored (each element broadcast into the FMAs), only the query tile is
 * transposed, once, and the softmax runs over keys with plain vector max / exp / add.
 *
 *   qk_t: st [bk, ldq] = k [bk, d] . qt [d, ldq]         6 keys x 64 queries a block
 *   pv_t: acct [d, ldq] += v^T [d, bk] . pt [bk, ldq]   6 dims x 64 queries a block
 *
 * ldq (queries, padded) is a multiple of 16. Built for AVX-512F with function attributes
 * and chosen at run time, so the library runs on any x86-64; elsewhere callers use sgemm. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "cpu-fast-impl.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>

#define RV_AVX512       __attribute__((target("avx512f,fma"), always_inline)) static inline
#define RV_AVX512_ENTRY __attribute__((target("avx512f,fma")))

/* RINGVIT_CPU_PORTABLE=1 forces the sgemm path, so tests cover it on AVX-512 machines too. */
int rv_attn_micro_ok(void) {
  const char *portable = getenv("RINGVIT_CPU_PORTABLE");
  return __builtin_cpu_supports("avx512f") && !(portable && portable[0] == '1');
}

/* Register blocks: MR keys (qk) or head dims (pv) by up to 4 vectors of 16 queries, so
 * 24 accumulators and 10 loads feed 24 FMAs. */
enum { MR_MAX = 6, NV_MAX = 4, QBLK = 16 * NV_MAX };

/* The one register block both products are made of, over NV*16 queries:
 *   out[r][q] (+)= sum_j a[r * ars + j * acs] * bv[j][q]    r < MR, j < n
 * a's elements are broadcast from where they are stored, bv rows are vector loads.
 *   qk: a = k (r = key, j = head dim), bv = qt, out = st, fresh accumulators
 *   pv: a = v (r = head dim, j = key), bv = pt, out = acct, accumulating */
RV_AVX512 void bcast_block(const float *bv, int64_t ldb, const float *a, int64_t ars, int64_t acs,
                           int64_t n, float *out, int accumulate, const int MR, const int NV) {
  __m512 c[MR_MAX][NV_MAX];
  for (int r = 0; r < MR; r++)
    for (int x = 0; x < NV; x++)
      c[r][x] = accumulate ? _mm512_loadu_ps(out + r * ldb + 16 * x) : _mm512_setzero_ps();
  for (int64_t j = 0; j < n; j++) {
    __m512 b[NV_MAX];
    for (int x = 0; x < NV; x++)
      b[x] = _mm512_loadu_ps(bv + j * ldb + 16 * x);
    for (int r = 0; r < MR; r++) {
      __m512 av = _mm512_set1_ps(a[r * ars + j * acs]);
      for (int x = 0; x < NV; x++)
        c[r][x] = _mm512_fmadd_ps(av, b[x], c[r][x]);
    }
  }
  for (int r = 0; r < MR; r++)
    for (int x = 0; x < NV; x++)
      _mm512_storeu_ps(out + r * ldb + 16 * x, c[r][x]);
}

/* Every (MR, NV) a call can need, as constants, so the accumulators live in registers. */
#define BLOCK_NV(fn, mr, ...)                                                                      \
  switch (nv) {                                                                                    \
  case 1: fn(__VA_ARGS__, mr, 1); break;                                                           \
  case 2: fn(__VA_ARGS__, mr, 2); break;                                                           \
  case 3: fn(__VA_ARGS__, mr, 3); break;                                                           \
  default: fn(__VA_ARGS__, mr, 4); break;                                                          \
  }
#define BLOCK(fn, ...)                                                                             \
  switch (mr) {                                                                                    \
  case 1: BLOCK_NV(fn, 1, __VA_ARGS__) break;                                                      \
  case 2: BLOCK_NV(fn, 2, __VA_ARGS__) break;                                                      \
  case 3: BLOCK_NV(fn, 3, __VA_ARGS__) break;                                                      \
  case 4: BLOCK_NV(fn, 4, __VA_ARGS__) break;                                                      \
  case 5: BLOCK_NV(fn, 5, __VA_ARGS__) break;                                                      \
  default: BLOCK_NV(fn, 6, __VA_ARGS__) break;                                                     \
  }

/* Splits n rows into blocks of at most MR_MAX, as even as possible (64 = 6*9 + 5*2, not
 * 6*10 + 4), and returns the size of block b of nblk. */
static inline int even_block(int64_t n, int64_t nblk, int64_t b) {
  return (int)(n / nblk + (b < n % nblk ? 1 : 0));
}

/* out [rows, ldb] (+)= A [rows, n] . bv [n, ldb], A's element (r, j) at a[r * ars + j * acs],
 * in register blocks of MR_MAX rows by QBLK queries. */
RV_AVX512 void bcast_product(const float *bv, int64_t ldb, const float *a, int64_t ars, int64_t acs,
                             int64_t rows, int64_t n, float *out, int accumulate) {
  int64_t nblk = (rows + MR_MAX - 1) / MR_MAX;
  for (int64_t b = 0, row0 = 0; b < nblk; row0 += even_block(rows, nblk, b), b++) {
    int mr = even_block(rows, nblk, b);
    for (int64_t q0 = 0; q0 < ldb; q0 += QBLK) {
      int nv = ldb - q0 >= QBLK ? NV_MAX : (int)((ldb - q0) / 16);
      BLOCK(bcast_block, bv + q0, ldb, a + row0 * ars, ars, acs, n, out + row0 * ldb + q0,
            accumulate)
    }
  }
}

RV_AVX512_ENTRY void rv_attn_qk_t(const float *qt, int64_t ldq, const float *k, int64_t ks,
                                  int64_t bk, int64_t d, float *st) {
  bcast_product(qt, ldq, k, ks, 1, bk, d, st, 0);
}

RV_AVX512_ENTRY void rv_attn_pv_t(const float *pt, int64_t ldq, int64_t bk, const float *v,
                                  int64_t vs, int64_t d, float *acct) {
  bcast_product(pt, ldq, v, 1, vs, d, bk, acct, 1);
}

/* e^x for 16 lanes to about 2e-7 relative: x = n ln2 + r (Cody-Waite split, |r| <= ln2/2),
 * a degree-6 Taylor polynomial of e^r, and 2^n applied by scalef. Lanes below -87 give
 * exactly 0, so masked (-inf) scores carry no weight. */
RV_AVX512 __m512 exp16(__m512 x) {
  __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.0f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_maskz_scalef_ps((__mmask16)~tiny, p, n);
}

/* Same contract as rv_vec_softmax_cols (vecmath.c), 16 queries at a time, each group's
 * key column read twice while it sits in L1. */
RV_AVX512_ENTRY void rv_attn_softmax_cols(float *st, int64_t ldq, int64_t bk, float *m, float *l,
                                          float *alpha) {
  const __m512 ninf = _mm512_set1_ps(-INFINITY);
  for (int64_t r = 0; r < ldq; r += 16) {
    __m512 old = _mm512_loadu_ps(m + r), mx = old;
    for (int64_t c = 0; c < bk; c++)
      mx = _mm512_max_ps(mx, _mm512_loadu_ps(st + c * ldq + r));
    /* a query that has seen nothing yet keeps max -inf: subtract 0 so exp(-inf) = 0 */
    __m512 sub =
        _mm512_mask_blend_ps(_mm512_cmp_ps_mask(mx, ninf, _CMP_EQ_OQ), mx, _mm512_setzero_ps());
    __m512 a = exp16(_mm512_sub_ps(old, sub)), sum = _mm512_setzero_ps();
    for (int64_t c = 0; c < bk; c++) {
      __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(st + c * ldq + r), sub));
      _mm512_storeu_ps(st + c * ldq + r, e);
      sum = _mm512_add_ps(sum, e);
    }
    _mm512_storeu_ps(m + r, mx);
    _mm512_storeu_ps(alpha + r, a);
    _mm512_storeu_ps(l + r, _mm512_fmadd_ps(_mm512_loadu_ps(l + r), a, sum));
  }
}

#else /* no AVX-512 build: callers take the sgemm path */

int rv_attn_micro_ok(void) { return 0; }
void rv_attn_qk_t(const float *qt, int64_t ldq, const float *k, int64_t ks, int64_t bk, int64_t d,
                  float *st) {
  (void)qt, (void)ldq, (void)k, (void)ks, (void)bk, (void)d, (void)st;
}
void rv_attn_pv_t(const float *pt, int64_t ldq, int64_t bk, const float *v, int64_t vs, int64_t d,
                  float *acct) {
  (void)pt, (void)ldq, (void)bk, (void)v, (void)vs, (void)d, (void)acct;
}
void rv_attn_softmax_cols(float *st, int64_t ldq, int64_t bk, float *m, float *l, float *alpha) {
  (void)st, (void)ldq, (void)bk, (void)m, (void)l, (void)alpha;
}
#endif
