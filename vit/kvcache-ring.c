/* Ring KV cache across ranks: joining a comm, and pass-Q.
 *
 * Frame f lives on rank f mod R, so the m = min(R, visible frames) ranks holding part of
 * a layer's visible history are the owner of the newest frame and the m - 1 ranks before
 * it. The message (queries, running output and log-sum-exp) starts at the owner, which
 * adds its part; each holder in turn receives it from its next rank, adds its part and
 * sends it to its previous rank; the last holder sends it back to the owner, which
 * finishes the output and broadcasts it to every rank. */
#include <ringvit/comm.h>
#include <ringvit/kvcache.h>

#include "kvcache-impl.h"
#include "ring-impl.h"

rv_status rv_kvcache_join(rv_kvcache *c, const rv_kvcache_cfg *cfg) {
  static const char *const names[] = {"layers",           "heads",           "head_dim",
                                      "tokens_per_frame", "capacity_frames", "act dtype"};
  c->rank = 0;
  c->size = 1;
  if (!cfg->comm) return RV_OK;
  c->rank = rv_comm_rank(cfg->comm);
  c->size = rv_comm_size(cfg->comm);
  if (rv_comm_mem(cfg->comm) != rv_backend_mem(c->be))
    return RV_FAIL(RV_ERR_INVALID,
                   "the comm exchanges buffers in other memory than backend %s uses",
                   rv_backend_name(c->be));
  int64_t vals[] = {c->layers, c->heads, c->head_dim, c->tpf, c->cap, rv_backend_act_dtype(c->be)};
  return rv_comm_check_same(cfg->comm, "KV cache config differs across ranks", 6, names, vals);
}

/* The owner's output rows, from the message's running output, in the act dtype. */
static rv_status finish(rv_kvcache *c, rv_tensor *o) {
  rv_tensor acc = rv_ring_rows(&c->mo, 0, o->shape[0]);
  return rv_copy(c->be, &acc, o);
}

/* One hop of the message: receive from `src` or send to `dst` (-1 = neither). */
static rv_status hop(rv_kvcache *c, int src, int dst) {
  rv_comm_xfer x = {0};
  if (dst >= 0) x.send = c->msg, x.send_bytes = c->msg_bytes, x.dst = dst;
  if (src >= 0) x.recv = c->msg, x.recv_bytes = c->msg_bytes, x.src = src;
  return rv_comm_sendrecv(c->comm, &x);
}

/* The owner: starts the message with its queries and part, and gets it back. */
static rv_status trip_owner(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window, int m, rv_tensor *o) {
  rv_status st = RV_OK;
  int started = 0, R = c->size;
  rv_tensor mq = rv_ring_rows(&c->mq, 0, q->shape[0]);
  RV_TRY(rv_copy(c->be, q, &mq));
  RV_TRY(rv_kvcache_add_local(c, layer, &mq, scale, window, &started));
  if (!started) RV_TRY_FAIL(RV_ERR_INTERNAL, "the owner holds no visible frame");
  if (m > 1) {
    int last = (c->rank - (m - 1) + R) % R;
    RV_TRY(hop(c, -1, rv_comm_prev(c->comm)));
    RV_TRY(hop(c, last, -1));
  }
  RV_TRY(finish(c, o));
fail:
  return st;
}

/* A holder at position pos (1 .. m-1) of the trip. */
static rv_status trip_holder(rv_kvcache *c, int layer, float scale, int32_t window, int nq, int pos,
                             int m, int owner) {
  rv_status st = RV_OK;
  int started = 1; /* the owner's part is in the message */
  RV_TRY(hop(c, rv_comm_next(c->comm), -1));
  rv_tensor mq = rv_ring_rows(&c->mq, 0, nq);
  RV_TRY(rv_kvcache_add_local(c, layer, &mq, scale, window, &started));
  RV_TRY(hop(c, -1, pos == m - 1 ? owner : rv_comm_prev(c->comm)));
fail:
  return st;
}

static rv_status trip(rv_kvcache *c, int layer, const rv_tensor *q, float scale, int32_t window,
                      rv_tensor *o) {
  rv_status st = RV_OK;
  int64_t n = c->appended[layer], visible = n - rv_kvcache_first_visible(c, n, window);
  int R = c->size, owner = (int)((n - 1) % R);
  int m = visible < R ? (int)visible : R, pos = (owner - c->rank + R) % R;
  if (pos == 0)
    RV_TRY(trip_owner(c, layer, q, scale, window, m, o));
  else if (pos < m)
    RV_TRY(trip_holder(c, layer, scale, window, (int)o->shape[0], pos, m, owner));
  RV_TRY(rv_comm_bcast(c->comm, o->data, rv_tensor_span_bytes(o), owner));
fail:
  return st;
}

rv_status rv_kvcache_pass_q(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window, rv_tensor *o) {
  rv_status st = RV_OK;
  if (c->size == 1) {
    int started = 0;
    RV_TRY(rv_kvcache_add_local(c, layer, q, scale, window, &started));
    if (!started) RV_TRY_FAIL(RV_ERR_INTERNAL, "the owner holds no visible frame");
    return finish(c, o);
  }
  if (!rv_tensor_is_contiguous(o)) RV_TRY_FAIL(RV_ERR_SHAPE, "o must have packed rows");
  st = trip(c, layer, q, scale, window, o);
  if (st < 0) rv_comm_abort(c->comm, rv_last_error());
fail:
  return st;
}
