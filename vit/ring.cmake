# Ring attention, KV cache and comm backends (issue 5): sources and dependencies for
# rv_module(vit ...) in CMakeLists.txt.
set(vit_ring_sources ring.c ring-layout.c kvcache.c kvcache-ring.c comm.c comm-local.c)
set(vit_ring_deps)
if(RV_HAVE_MPI)
  list(APPEND vit_ring_sources comm-mpi.c)
  list(APPEND vit_ring_deps MPI::MPI_C)
else()
  list(APPEND vit_ring_sources comm-mpi-off.c)
endif()
if(RV_HAVE_NCCL)
  list(APPEND vit_ring_sources comm-nccl.c)
  list(APPEND vit_ring_deps ${NCCL_LIBRARY})
else()
  list(APPEND vit_ring_sources comm-nccl-off.c)
endif()
if(RV_HAVE_CUDA) # comm-local copies device buffers with cudaMemcpy
  list(APPEND vit_ring_deps CUDA::cudart)
endif()
