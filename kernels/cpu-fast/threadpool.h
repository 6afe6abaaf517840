/* A fixed pool of worker threads running one parallel loop at a time. The calling thread
 * works too, so a pool of n runs n - 1 threads. Chunks are handed out dynamically. */
#ifndef RINGVIT_THREADPOOL_H
#define RINGVIT_THREADPOOL_H

#include <stdint.h>

#include <ringvit/status.h>

typedef struct rv_pool rv_pool;

/* fn processes items [begin, end) on worker `tid` (0 .. threads - 1). */
typedef void (*rv_pool_fn)(void *ctx, int64_t begin, int64_t end, int tid);

rv_status rv_pool_create(int threads, rv_pool **out);
void rv_pool_free(rv_pool *pool); /* NULL-safe */
int rv_pool_threads(const rv_pool *pool);

/* Runs fn over [0, n) in chunks of `grain` items and returns when all are done. Callers on
 * several threads (a pipeline's decode thread patchifying while its encoder runs) take turns:
 * one job at a time. */
void rv_pool_run(rv_pool *pool, rv_pool_fn fn, void *ctx, int64_t n, int64_t grain);

/* Online cores, at least 1. */
int rv_online_cores(void);

#endif
