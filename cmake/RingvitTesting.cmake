# Open MPI creates its session folder under the temporary directory with a racy mkdir, so
# two mpiruns started at once by `ctest -j` can fail in orte_init: each test gets its own.
function(rv_test_mpi_tmpdir name out)
  set(dir ${PROJECT_BINARY_DIR}/mpi-tmp/${name})
  file(MAKE_DIRECTORY ${dir})
  set(${out} "OMPI_MCA_orte_tmpdir_base=${dir}" PARENT_SCOPE)
endfunction()

# rv_test(name SOURCES ... LIBS ... LABELS ... [TIMEOUT s] [ARGS ...]): one cmocka
# executable, registered with ctest. Exit code 77 means "skipped" (no GPU, say).
function(rv_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE rv_testutil ${T_LIBS})
  rv_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  rv_test_mpi_tmpdir(${name} mpi_tmp)
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" SKIP_RETURN_CODE 77
                       TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "RINGVIT_LOG=warn;RINGVIT_SOURCE_DIR=${PROJECT_SOURCE_DIR};${mpi_tmp}")
endfunction()

# rv_mpi_test(name NP n EXE target [MPIRUN_ARGS ...] ARGS ...): runs an existing test
# executable under mpirun.
function(rv_mpi_test name)
  cmake_parse_arguments(T "" "NP;EXE;TIMEOUT" "ARGS;LABELS;MPIRUN_ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_test(NAME ${name}
           COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe ${T_MPIRUN_ARGS} -np ${T_NP}
                   $<TARGET_FILE:${T_EXE}> ${T_ARGS})
  rv_test_mpi_tmpdir(${name} mpi_tmp)
  set_tests_properties(${name} PROPERTIES LABELS "mpi;${T_LABELS}" SKIP_RETURN_CODE 77
                       TIMEOUT ${T_TIMEOUT}
                       ENVIRONMENT "RINGVIT_LOG=warn;OMPI_MCA_rmaps_base_oversubscribe=1;RINGVIT_SOURCE_DIR=${PROJECT_SOURCE_DIR};${mpi_tmp}")
endfunction()
