#!/usr/bin/env bash
# Quick start 1: set up, build, and run the demo on the built-in default — every op in fixed
# and free order on every Vulkan device (lavapipe on a machine without a GPU), fixed order
# checked bit for bit against the CPU reference; then ResNet-50 on a generated image.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
./build/tools/lockstep devices
./build/tools/lockstep demo
# A whole network: ResNet-50 with synthetic weights on a generated image, fixed order,
# every layer checked bit for bit against the CPU reference.
./build/tools/lockstep run --model resnet50 --check --fingerprint
