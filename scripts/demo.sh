#!/usr/bin/env bash
# Quick start 1: set up, build, and run the demo on the built-in default — every op in fixed
# and free order on every Vulkan device (lavapipe on a machine without a GPU), fixed order
# checked bit for bit against the CPU reference.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
./build/tools/lockstep devices
./build/tools/lockstep demo
