#!/usr/bin/env bash
# Quick start 1: set up, build, and run the demo on the built-in default — every op in fixed
# and free order on every Vulkan device (lavapipe on a machine without a GPU), fixed order
# checked bit for bit against the CPU reference; then ResNet-50 on a generated image; then
# lockstep check on ResNet-50 across three subgroup sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
./build/tools/lockstep devices
./build/tools/lockstep demo
# A whole network: ResNet-50 with synthetic weights on a generated image, fixed order,
# every layer checked bit for bit against the CPU reference.
./build/tools/lockstep run --model resnet50 --check --fingerprint
# lockstep check at 224x224: ResNet-50 on lavapipe at three vector widths (subgroup sizes 4, 8,
# 16; one child process each) and on the CPU reference: fixed order bit-identical everywhere,
# every layer; free order's divergence per layer and device pair. The HTML report is written too.
./build/tools/lockstep check --model resnet50 --denormals preserve \
  --variant LP_NATIVE_VECTOR_WIDTH=128 --variant LP_NATIVE_VECTOR_WIDTH=256 --variant LP_NATIVE_VECTOR_WIDTH=512 \
  --html build/check-resnet50.html
