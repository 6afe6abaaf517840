/* Ring KV cache across ranks: joining a comm and the pass-Q trip of a frame's queries. */
#include <ringvit/kvcache.h>

#include "kvcache-impl.h"

rv_status rv_kvcache_join(rv_kvcache *c, const rv_kvcache_cfg *cfg) {
  size_t es = rv_dtype_size(rv_backend_act_dtype(c->be));
  size_t hd = (size_t)c->heads * (size_t)c->head_dim, tpf = (size_t)c->tpf;
  c->rank = 0;
  c->size = 1;
  c->msg_bytes = tpf * hd * es + tpf * hd * 4 + tpf * (size_t)c->heads * 4;
  if (cfg->comm) return RV_FAIL(RV_ERR_UNSUPPORTED, "multi-rank KV caches are not in this build");
  return RV_OK;
}

/* Output rows of the finished accumulator, in the act dtype. */
static rv_status finish(rv_kvcache *c, rv_tensor *o) {
  rv_tensor acc = c->o_acc;
  acc.shape[0] = o->shape[0];
  return rv_copy(c->be, &acc, o);
}

rv_status rv_kvcache_pass_q(rv_kvcache *c, int layer, const rv_tensor *q, float scale,
                            int32_t window, rv_tensor *o) {
  rv_status st = RV_OK;
  int started = 0;
  RV_TRY(rv_kvcache_add_local(c, layer, q, scale, window, &started));
  if (!started) RV_TRY_FAIL(RV_ERR_INTERNAL, "the owner holds no visible frame");
  RV_TRY(finish(c, o));
fail:
  return st;
}
