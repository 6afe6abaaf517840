/* Growing buffers of the pipeline's stages. */
#ifndef RINGVIT_RESERVE_IMPL_H
#define RINGVIT_RESERVE_IMPL_H

#include <stdlib.h>

#include <ringvit/status.h>

/* Grows *p to hold at least `need` bytes (*cap: its size). Capacities only grow, to twice
 * the old one at least, so a buffer that grows a frame at a time reallocates rarely and the
 * steady state allocates nothing; `what` names the buffer in the error. */
static inline rv_status rv_reserve(void **p, size_t *cap, size_t need, const char *what) {
  if (need <= *cap) return RV_OK;
  size_t want = need > 2 * *cap ? need : 2 * *cap;
  void *np = realloc(*p, want);
  if (!np) return RV_FAIL(RV_ERR_NOMEM, "%s: %zu bytes", what, want);
  *p = np;
  *cap = want;
  return RV_OK;
}

#endif
