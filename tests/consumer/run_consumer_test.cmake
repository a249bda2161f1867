# Installs the already-built lagrad into a temporary prefix, checks the installed CMake package,
# then configures, builds and runs the consumer project against it with no flags of its own
# (main.cpp fails to compile if lagrad's -march or include/lagrad reached it).
# Arguments: BINARY_DIR (lagrad's build), SOURCE_DIR, WORK_DIR, CXX_COMPILER, GENERATOR, NATIVE_ARCH.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${WORK_DIR}/prefix
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed: ${rc}")
endif()

# The exported targets must name their dependencies by imported target, never by a path of the
# machine that built lagrad (a library, include or -L path breaks on any other machine).
file(GLOB targets_files ${WORK_DIR}/prefix/lib*/cmake/lagrad/lagradTargets*.cmake)
if(NOT targets_files)
  message(FATAL_ERROR "no lagradTargets*.cmake under ${WORK_DIR}/prefix")
endif()
foreach(f IN LISTS targets_files)
  # In an INTERFACE_* or IMPORTED_* property, an absolute path starts after a quote, ';', ':'
  # ($<LINK_ONLY:...>), '>', a space, -L or -I; lagrad's own files are "${_IMPORT_PREFIX}/...".
  file(STRINGS ${f} bad REGEX "^ *(INTERFACE|IMPORTED)_[A-Z_]+ .*([\";:> ]|-[LI])/")
  file(STRINGS ${f} march REGEX "-march|-mavx|-mtune")
  foreach(line IN LISTS bad march)
    message(SEND_ERROR "${f}: absolute path or -m flag in the exported targets:\n  ${line}")
  endforeach()
  if(bad OR march)
    message(FATAL_ERROR "the installed targets file is not relocatable")
  endif()
endforeach()

if(NOT NATIVE_ARCH)
  message(WARNING "lagrad was built without LAGRAD_NATIVE_ARCH: the consumer's -march leak check proves nothing")
endif()
# CMAKE_CXX_FLAGS empty (not taken from $CXXFLAGS): the consumer sees only what lagrad exports.
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
                        -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_CXX_FLAGS=
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                        -DLAGRAD_EXAMPLES_DIR=${SOURCE_DIR}/examples
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build --verbose RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed: ${rc}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer program failed: ${rc}")
endif()
# The data-parallel example, as a consumer builds it, run as one process.
execute_process(COMMAND ${WORK_DIR}/build/distributed_fit RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "the consumer's distributed_fit failed: ${rc}")
endif()
