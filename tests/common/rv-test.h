/* Helpers shared by ringvit's cmocka tests: deterministic random data, tensor comparison
 * with NMSE and per-element tolerance, buffers with guard bytes, and skip codes. */
#ifndef RINGVIT_RV_TEST_H
#define RINGVIT_RV_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the three headers above first */
#include <cmocka.h>

#include <ringvit/kernels.h>

/* ctest treats this exit code as "skipped" (SKIP_RETURN_CODE). */
#define RV_TEST_SKIP_CODE 77

/* Deterministic xorshift generator; each test seeds its own. */
typedef struct rv_rng {
  uint64_t s;
} rv_rng;
void rv_rng_seed(rv_rng *r, uint64_t seed);
uint64_t rv_rng_next(rv_rng *r);
float rv_rng_uniform(rv_rng *r);              /* [0, 1) */
float rv_rng_normal(rv_rng *r);               /* mean 0, variance 1 */
void rv_fill_normal(rv_rng *r, float *x, size_t n, float scale);
void rv_fill_uniform(rv_rng *r, float *x, size_t n, float lo, float hi);

/* Comparison of got against ref (both f32, n elements). */
typedef struct rv_cmp {
  double nmse;        /* sum (got - ref)^2 / sum ref^2 */
  double max_abs;     /* max |got - ref| */
  double max_rel;     /* max |got - ref| / (|ref| + atol) */
  size_t worst;       /* index of max_rel */
  size_t nan_mismatch; /* elements where exactly one side is NaN, or infinities differ */
} rv_cmp;
/* Root mean square of the finite entries. */
double rv_rms(const float *x, size_t n);
rv_cmp rv_compare(const float *got, const float *ref, size_t n, double atol);
/* Fails the test with a message when cmp breaks any bound. */
void rv_assert_close(const char *what, const rv_cmp *cmp, double max_nmse, double max_rel);

/* A host buffer with 64 guard bytes of a known pattern on each side. */
typedef struct rv_guarded {
  unsigned char *raw;
  void *data;
  size_t bytes;
} rv_guarded;
void rv_guarded_alloc(rv_guarded *g, size_t bytes);
int rv_guarded_intact(const rv_guarded *g); /* 1 when both guards are untouched */
void rv_guarded_free(rv_guarded *g);

/* Path of a file under the source tree (RINGVIT_SOURCE_DIR, set by ctest). */
const char *rv_test_source_path(const char *rel, char *buf, size_t cap);

#endif
