#!/usr/bin/env bash
# README command (2): install dependencies, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh -DLAGRAD_BUILD_TESTS=ON
cd build && ctest --output-on-failure --timeout 1500
