#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rv-test.h"

void rv_rng_seed(rv_rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }

uint64_t rv_rng_next(rv_rng *r) {
  uint64_t x = r->s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  r->s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

float rv_rng_uniform(rv_rng *r) { return (float)((rv_rng_next(r) >> 40) * (1.0 / 16777216.0)); }

float rv_rng_normal(rv_rng *r) {
  double u1 = ((rv_rng_next(r) >> 11) + 1.0) * (1.0 / 9007199254740993.0);
  double u2 = (rv_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
  return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

void rv_fill_normal(rv_rng *r, float *x, size_t n, float scale) {
  for (size_t i = 0; i < n; i++) x[i] = scale * rv_rng_normal(r);
}

void rv_fill_uniform(rv_rng *r, float *x, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rv_rng_uniform(r);
}

double rv_rms(const float *x, size_t n) {
  double s = 0.0;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (isfinite(x[i])) {
      s += (double)x[i] * x[i];
      k++;
    }
  return k ? sqrt(s / (double)k) : 0.0;
}

rv_cmp rv_compare(const float *got, const float *ref, size_t n, double atol) {
  rv_cmp c = {0};
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < n; i++) {
    double g = got[i], f = ref[i];
    if (isnan(g) || isnan(f) || isinf(g) || isinf(f)) {
      int same = (isnan(g) && isnan(f)) || (isinf(g) && isinf(f) && (g > 0) == (f > 0));
      if (!same) c.nan_mismatch++;
      continue;
    }
    double d = fabs(g - f);
    num += d * d;
    den += f * f;
    if (d > c.max_abs) c.max_abs = d;
    double rel = d / (fabs(f) + atol);
    if (rel > c.max_rel) {
      c.max_rel = rel;
      c.worst = i;
    }
  }
  c.nmse = den > 0.0 ? num / den : num;
  return c;
}

void rv_assert_close(const char *what, const rv_cmp *c, double max_nmse, double max_rel) {
  if (c->nan_mismatch || !(c->nmse <= max_nmse) || !(c->max_rel <= max_rel)) {
    fail_msg("%s: nmse %.3g (max %.3g), max rel %.3g at %zu (max %.3g), max abs %.3g, "
             "NaN/Inf mismatches %zu",
             what, c->nmse, max_nmse, c->max_rel, c->worst, max_rel, c->max_abs, c->nan_mismatch);
  }
}

enum { GUARD = 64, GUARD_BYTE = 0xA5 };

void rv_guarded_alloc(rv_guarded *g, size_t bytes) {
  g->raw = malloc(bytes + 2 * GUARD + 64);
  assert_non_null(g->raw);
  /* keep data 64-byte aligned for SIMD loads */
  size_t pad = (64 - ((uintptr_t)(g->raw + GUARD) % 64)) % 64;
  g->data = g->raw + GUARD + pad;
  g->bytes = bytes;
  memset(g->raw, GUARD_BYTE, bytes + 2 * GUARD + 64);
}

int rv_guarded_intact(const rv_guarded *g) {
  const unsigned char *d = g->data;
  for (int i = 1; i <= GUARD; i++)
    if (d[-i] != GUARD_BYTE) return 0;
  for (int i = 0; i < GUARD; i++)
    if (d[g->bytes + i] != GUARD_BYTE) return 0;
  return 1;
}

void rv_guarded_free(rv_guarded *g) {
  free(g->raw);
  g->raw = NULL;
  g->data = NULL;
}

const char *rv_test_source_path(const char *rel, char *buf, size_t cap) {
  const char *root = getenv("RINGVIT_SOURCE_DIR");
  snprintf(buf, cap, "%s/%s", root ? root : ".", rel);
  return buf;
}
