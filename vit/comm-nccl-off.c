/* Built when NCCL is not: the nccl comm kind exists but cannot be made. */
#include "comm-impl.h"

int rv_comm_nccl_device_count(void) { return 0; }

rv_status rv_comm_nccl_make(const rv_comm_group_cfg *cfg, rv_comm **comms) {
  (void)cfg;
  (void)comms;
  return RV_FAIL(RV_ERR_UNSUPPORTED, "this ringvit was built without NCCL");
}

rv_status rv_comm_nccl_mpi_init(const rv_comm_nccl_cfg *cfg, rv_comm **out) {
  (void)cfg;
  if (out) *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED, "this ringvit was built without NCCL");
}
