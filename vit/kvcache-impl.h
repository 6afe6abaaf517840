/* Internals of the ring KV cache shared by kvcache.c (storage, local attention) and
 * kvcache-ring.c (ranks, pass-Q). Private to vit/. */
#ifndef RINGVIT_KVCACHE_IMPL_H
#define RINGVIT_KVCACHE_IMPL_H

#include <ringvit/kvcache.h>

struct rv_kvcache {
  rv_backend *be;
  rv_comm *comm;
  int rank, size;
  int layers, heads, head_dim, tpf;
  int64_t cap;   /* frames, all ranks together */
  int64_t slots; /* frames per rank: ceil(cap / size) */
  rv_arena *arena;
  rv_tensor *k, *v;                         /* per layer [slots * tpf, H, D] act dtype */
  int64_t *appended;                        /* per layer: frames appended since init or reset */
  size_t kv_bytes;                          /* arena bytes of k and v */
  rv_tensor o_acc, lse_acc, o_tmp, lse_tmp; /* f32 [tpf, H, D] and [H, tpf] */
  size_t msg_bytes;                         /* one pass-Q message: q (act), o (f32), lse (f32) */
  void *msg[2];                             /* pass-Q message buffers */
};

/* Sets rank, size and msg_bytes from cfg->comm and checks that every rank's config agrees. */
rv_status rv_kvcache_join(rv_kvcache *c, const rv_kvcache_cfg *cfg);
/* The collective part of rv_kvcache_attend, after its argument checks. */
rv_status rv_kvcache_pass_q(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window, rv_tensor *o);
/* Adds this rank's visible history of `layer` to (o_acc, lse_acc); sets *started. */
rv_status rv_kvcache_add_local(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                               int32_t window, int *started);
/* Row ranges [row0, row0 + rows) of rank's frames among global frames [lo, n); count. */
int rv_kvcache_history_rows(const rv_kvcache *c, int rank, int64_t lo, int64_t n, int64_t row0[2],
                            int64_t rows[2]);

#endif
