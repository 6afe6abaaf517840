# Helpers shared by every module's CMakeLists.txt.

set(RV_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation -Wshadow
                -Wstrict-prototypes)
set_property(GLOBAL PROPERTY RV_MODULE_LIBS "")

# Our warnings on our C code; nvcc gets its own flags.
function(rv_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:${RV_WARNINGS}>)
endfunction()

# rv_module(name SOURCES ... DEPS ...): one static library per module, linked whole into
# libringvit.so. Public headers live in <module>/include and are included as <ringvit/x.h>.
function(rv_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(rv_${name} STATIC ${M_SOURCES})
  target_include_directories(rv_${name}
    PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
           $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(rv_${name} PUBLIC ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS})
  rv_warnings(rv_${name})
  set_property(GLOBAL APPEND PROPERTY RV_MODULE_LIBS rv_${name})
  install(DIRECTORY include/ringvit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()
