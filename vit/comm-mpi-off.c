/* Built when Open MPI is not: the mpi comm kind exists but cannot be made. */
#include "comm-impl.h"

rv_status rv_comm_mpi_init(const rv_comm_mpi_cfg *cfg, rv_comm **out) {
  (void)cfg;
  if (out) *out = NULL;
  return RV_FAIL(RV_ERR_UNSUPPORTED, "this ringvit was built without MPI");
}

rv_status rv_comm_mpi_finalize(void) { return RV_OK; }
