#!/usr/bin/env bash
# Installs what lockstep needs on Debian 12 (only what is missing) and builds it in build/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config
  libvulkan-dev glslang-tools spirv-tools      # Vulkan headers/loader, GLSL -> SPIR-V, spirv-val
  mesa-vulkan-drivers vulkan-validationlayers  # lavapipe (a CPU Vulkan device) and the Khronos validation layer
  libgtest-dev libstb-dev libxxhash-dev nlohmann-json3-dev libcli11-dev
  libhdf5-dev                                  # Keras HDF5 weight files
  libpng-dev libjpeg62-turbo-dev               # image decoding (PNG, JPEG)
  clang                                        # the sanitizer build (scripts/sanitize.sh; gcc if absent)
  libonnx-dev libprotobuf-dev protobuf-compiler # ONNX models
  libonnx-testdata                             # the ONNX project's operator conformance cases
  chromium                                     # tests: the HTML report opens in headless Chromium
  python3-numpy python3-pil python3-h5py       # tests: NumPy reads our files, Pillow parity, h5py writes Keras files
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"
