/* Small helpers shared by the benchmarks: wall clock, median of repeated runs, peak RSS. */
#ifndef RINGVIT_BENCH_COMMON_H
#define RINGVIT_BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static inline double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs fn(ctx) once to warm up, then `reps` times; returns the median seconds. */
static inline double bench_median(void (*fn)(void *), void *ctx, int reps) {
  double t[64];
  if (reps > 64) reps = 64;
  fn(ctx);
  for (int i = 0; i < reps; i++) {
    double t0 = bench_now();
    fn(ctx);
    t[i] = bench_now() - t0;
  }
  for (int i = 1; i < reps; i++) /* insertion sort: reps is small */
    for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
      double x = t[j];
      t[j] = t[j - 1];
      t[j - 1] = x;
    }
  return t[reps / 2];
}

/* Best of `reps` runs after a warm-up: on a shared machine the fastest run is the one
 * least disturbed by other processes, so ratios of bests are the most repeatable. */
static inline double bench_best(void (*fn)(void *), void *ctx, int reps) {
  fn(ctx);
  double best = 1e300;
  for (int i = 0; i < reps; i++) {
    double t0 = bench_now();
    fn(ctx);
    double t = bench_now() - t0;
    if (t < best) best = t;
  }
  return best;
}

/* Deterministic standard-normal values (xorshift64 and Box-Muller), without the test library. */
typedef struct rv_rng_lite {
  uint64_t s; /* non-zero */
} rv_rng_lite;

static inline double bench_uniform(rv_rng_lite *r) { /* (0, 1) */
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

static inline float bench_normal(rv_rng_lite *r) {
  double u = bench_uniform(r), v = bench_uniform(r);
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* Peak resident set size of this process, MiB. */
static inline double bench_peak_rss_mib(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0;
}

#endif
