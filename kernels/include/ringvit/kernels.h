/* Everything of the kernels layer: status and logging, tensors, backends, arena, ops. */
#ifndef RINGVIT_KERNELS_H
#define RINGVIT_KERNELS_H

#include <ringvit/status.h>
#include <ringvit/tensor.h>
#include <ringvit/backend.h>
#include <ringvit/arena.h>
#include <ringvit/ops.h>
#include <ringvit/geometry.h>

#endif
