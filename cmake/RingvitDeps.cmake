# Finds the optional parts and reports them in one line. Each RINGVIT_WITH_X option can
# force a part off; ON means "use it when found".
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

option(RINGVIT_WITH_CUDA "Build the CUDA backend (nvcc, cudart, cuBLASLt)" ON)
option(RINGVIT_WITH_NCCL "Build the NCCL ring backend (needs CUDA)" ON)
option(RINGVIT_WITH_MPI "Build the Open MPI ring backend" ON)
option(RINGVIT_WITH_GSTREAMER "Build the GStreamer plugin" ON)
option(RINGVIT_WITH_FFMPEG "Build video ingest with FFmpeg" ON)
option(RINGVIT_WITH_OPENBLAS "Use OpenBLAS sgemm in the cpu backend" ON)
option(RINGVIT_WITH_FUZZ "Build libFuzzer targets (needs clang)" OFF)

# jansson parses model configs and JSON Lines: required, like libm.
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)

set(RV_HAVE_OPENBLAS OFF)
if(RINGVIT_WITH_OPENBLAS)
  pkg_check_modules(OPENBLAS IMPORTED_TARGET openblas)
  if(OPENBLAS_FOUND)
    set(RV_HAVE_OPENBLAS ON)
  endif()
endif()

set(RV_HAVE_FFMPEG OFF)
if(RINGVIT_WITH_FFMPEG)
  pkg_check_modules(FFMPEG IMPORTED_TARGET libavformat libavcodec libswscale libavutil)
  if(FFMPEG_FOUND)
    set(RV_HAVE_FFMPEG ON)
  endif()
endif()

set(RV_HAVE_GSTREAMER OFF)
if(RINGVIT_WITH_GSTREAMER)
  pkg_check_modules(GST IMPORTED_TARGET gstreamer-1.0>=1.22 gstreamer-base-1.0 gstreamer-video-1.0)
  pkg_check_modules(GSTCHECK IMPORTED_TARGET gstreamer-check-1.0)
  pkg_check_modules(CAIRO QUIET IMPORTED_TARGET cairo)                          # rvoverlay
  pkg_check_modules(GSTRTSP QUIET IMPORTED_TARGET gstreamer-rtsp-server-1.0)   # the RTSP test's server
  if(GST_FOUND AND CAIRO_FOUND)
    set(RV_HAVE_GSTREAMER ON)
  endif()
endif()

set(RV_HAVE_MPI OFF)
if(RINGVIT_WITH_MPI)
  find_package(MPI COMPONENTS C QUIET)
  if(MPI_C_FOUND)
    set(RV_HAVE_MPI ON)
  endif()
endif()

set(RV_HAVE_CUDA OFF)
if(RINGVIT_WITH_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80-real 90-real)
    endif()
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(RV_HAVE_CUDA ON)
      set(CMAKE_CUDA_STANDARD 17)
      set(CMAKE_CUDA_STANDARD_REQUIRED ON)
      # nvcc's flags for our .cu files; -lineinfo lets compute-sanitizer and profilers
      # point at source lines.
      set(RV_CUDA_FLAGS -lineinfo --Werror all-warnings
          -Xcompiler=-Wall,-Wextra,-Wno-unused-parameter)
    endif()
  endif()
endif()

set(RV_HAVE_NCCL OFF)
if(RINGVIT_WITH_NCCL AND RV_HAVE_CUDA)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR})
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    set(RV_HAVE_NCCL ON)
  endif()
endif()

set(RV_HAVE_CMOCKA OFF)
if(BUILD_TESTING)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
  set(RV_HAVE_CMOCKA ON)
endif()

function(rv_yesno var out)
  if(${var})
    set(${out} yes PARENT_SCOPE)
  else()
    set(${out} no PARENT_SCOPE)
  endif()
endfunction()
foreach(part CUDA NCCL MPI GSTREAMER FFMPEG OPENBLAS)
  rv_yesno(RV_HAVE_${part} rv_${part})
endforeach()
message(STATUS "ringvit ${PROJECT_VERSION}: CUDA=${rv_CUDA} NCCL=${rv_NCCL} MPI=${rv_MPI} "
               "GStreamer=${rv_GSTREAMER} FFmpeg=${rv_FFMPEG} OpenBLAS=${rv_OPENBLAS} "
               "build=${CMAKE_BUILD_TYPE}")

configure_file(${CMAKE_CURRENT_LIST_DIR}/config.h.in ${PROJECT_BINARY_DIR}/include/ringvit/config.h)
install(FILES ${PROJECT_BINARY_DIR}/include/ringvit/config.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ringvit)
