#!/usr/bin/env bash
# README command (1): install dependencies, build, and run the main job end to end.
# Until the fluid pipeline lands this trains the small MLP example.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
./build/fit_mlp --checkpoint out/fit_mlp.ckpt
