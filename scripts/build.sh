#!/usr/bin/env bash
# Configures and builds lagrad (Release) into ./build. Extra arguments go to cmake.
# The build runs on the machine that builds it, so it targets that CPU (AVX2/AVX-512 GEMMs are
# several times faster than the SSE2 baseline); set LAGRAD_NATIVE_ARCH=OFF for a portable build.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DLAGRAD_NATIVE_ARCH="${LAGRAD_NATIVE_ARCH:-ON}" "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
