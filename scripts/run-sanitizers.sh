#!/usr/bin/env bash
# The whole test suite built with AddressSanitizer + UndefinedBehaviorSanitizer in ./build-asan
# (its own build folder; the normal ./build is untouched). Any report fails the run.
# consumer_project is left out: it installs the library and builds a project without the
# sanitizer runtime, which cannot link against instrumented static libraries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# GCC 12 at -O1 with the sanitizers warns falsely inside <regex> (maybe-uninitialized).
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG -Wno-maybe-uninitialized" \
  -DLAGRAD_NATIVE_ARCH="${LAGRAD_NATIVE_ARCH:-ON}" -DLAGRAD_BUILD_TESTS=ON -DLAGRAD_INSTALL=OFF \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" >/dev/null
cmake --build build-asan --parallel "$(nproc)"
cd build-asan
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --output-on-failure --timeout 3000 -E '^(consumer_project|mpi)$'
# The MPI test runs lagrad under mpirun: Open MPI keeps allocations until exit by design, many
# in components it has unloaded by then (unsymbolizable, so no suppression file can name
# them). Leak checking stays on for every other test, which cover the same lagrad code; the
# address and undefined-behaviour checks stay on here too.
ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" ctest --output-on-failure --timeout 3000 -R '^mpi$'
