#include <ringvit/ringvit.h>

#define STR_(x) #x
#define STR(x)  STR_(x)

const char *rv_version_string(void) {
  return "ringvit " RINGVIT_VERSION
         " (CUDA=" STR(RV_HAVE_CUDA) " NCCL=" STR(RV_HAVE_NCCL) " MPI=" STR(
             RV_HAVE_MPI) " GStreamer=" STR(RV_HAVE_GSTREAMER) " FFmpeg=" STR(RV_HAVE_FFMPEG) " Ope"
                                                                                              "nBLA"
                                                                                              "S"
                                                                                              "=" STR(RV_HAVE_OPENBLAS) "; 1 = built in)";
}
