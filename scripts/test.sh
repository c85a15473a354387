#!/usr/bin/env bash
# Quick start 2: set up, build, and run the whole test suite (unit tests, device tests at
# lavapipe widths 128/256/512 under the validation layer, the cross-width hash comparison, the
# fault tests, the fuzz regression replays), then the sanitizer run: an ASan + UBSan + LSan
# build and a representative part of the suite (scripts/sanitize.sh --quick; README.md,
# "Reliability"). LOCKSTEP_SKIP_SANITIZE=1 leaves the sanitizer run out.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
t1=$(date +%s)
(cd build && ctest --output-on-failure -j 2)
t2=$(date +%s)
echo "test: setup + build $((t1 - t0)) s, tests $((t2 - t1)) s"
if [ "${LOCKSTEP_SKIP_SANITIZE:-0}" != 1 ]; then
  bash scripts/sanitize.sh --quick
  echo "test: sanitizer run $(($(date +%s) - t2)) s; total $(($(date +%s) - t0)) s"
fi
