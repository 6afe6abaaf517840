/* Built when CUDA is not: the cuda backend kind exists but is never available. */
#include "backend-impl.h"

int rv_backend_cuda_available(void) { return 0; }

rv_status rv_backend_cuda_create(const rv_backend_cfg *cfg, rv_backend **out) {
  (void)cfg;
  (void)out;
  return RV_FAIL(RV_ERR_UNSUPPORTED, "this ringvit was built without CUDA");
}
