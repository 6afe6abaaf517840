/* Stream cases shared by the KV cache tests (one rank, local threads, mpirun): a stream of
 * frames through rv_kvcache, every frame's output compared with frame-causal attention
 * recomputed over the whole history. The run itself makes no cmocka calls, so it can run
 * on any thread; rv_stream_result_assert checks the result on the test's thread. */
#ifndef RINGVIT_STREAM_CASE_H
#define RINGVIT_STREAM_CASE_H

#include <ringvit/kvcache.h>

#include "rv-test.h"

typedef struct rv_stream_case {
  const char *name;
  int layers, heads, head_dim, tpf;
  int64_t capacity;
  int frames;     /* frames streamed */
  int32_t window; /* frames, 0 = all held */
  int nq;         /* queries per frame (<= tpf): the frame's first nq tokens */
  int owner_only; /* 1: ranks other than the frame's owner pass tensors with NULL data */
} rv_stream_case;

typedef struct rv_stream_result {
  rv_cmp worst; /* comparison of the frame with the largest relative error */
  int worst_frame, worst_layer;
  int64_t frames_held; /* rv_kvcache_frames after the stream */
  size_t bytes;        /* rv_kvcache_bytes */
} rv_stream_result;

extern const rv_stream_case rv_stream_cases[];
extern const size_t rv_stream_case_count;

/* Streams sc->frames frames through a cache over (be, comm) as rank `rank` of `size` and
 * compares every output. */
rv_status rv_stream_case_run(const rv_stream_case *sc, rv_backend *be, rv_comm *comm, int rank,
                             int size, rv_stream_result *res);
/* Fails the test unless every frame matched (fp32 max relative error <= 1e-5). */
void rv_stream_result_assert(const rv_stream_case *sc, const rv_stream_result *res, int size);

#endif
