#!/usr/bin/env bash
# Quick start 2: set up, build, and run the whole test suite (unit tests, device tests at
# lavapipe widths 128/256/512 under the validation layer, the cross-width hash comparison).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
cd build
ctest --output-on-failure -j 2
