/* The whole public API of ringvit. */
#ifndef RINGVIT_RINGVIT_H
#define RINGVIT_RINGVIT_H

#include <ringvit/config.h>
#include <ringvit/kernels.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "ringvit 0.1.0 (CUDA=yes NCCL=yes MPI=yes GStreamer=yes FFmpeg=yes OpenBLAS=yes)" */
const char *rv_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
