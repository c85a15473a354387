#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer) build of the whole project
# (library, tools, tests) and a run of its test suite (ctest). Any sanitizer report fails the run
# (-fno-sanitize-recover=all; a leak makes the process exit non-zero).
#
#   scripts/sanitize.sh                 # configure + build build-asan/, run every test
#   scripts/sanitize.sh --quick         # the representative subset (see QUICK below)
#   scripts/sanitize.sh -R Npy          # any other arguments are passed to ctest
#
# Environment: LOCKSTEP_ASAN_BUILD_DIR (default build-asan), CC/CXX (default clang/clang++ where
# installed, else gcc/g++), JOBS (build parallelism, default nproc), CTEST_JOBS (default nproc).
#
# Only the Vulkan driver, loader and validation layer are suppressed, never project code:
# see scripts/lsan.supp for each suppression and why.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${LOCKSTEP_ASAN_BUILD_DIR:-build-asan}
jobs=${JOBS:-$(nproc)}
ctest_jobs=${CTEST_JOBS:-$(nproc)}

if [ -z "${CC:-}" ] || [ -z "${CXX:-}" ]; then
  if command -v clang >/dev/null && command -v clang++ >/dev/null; then
    CC=clang CXX=clang++
  else
    CC=gcc CXX=g++
  fi
fi

sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"

# The sanitizer runtime options, exported before the build too: gtest_discover_tests runs the
# test executables at build time.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1:strict_string_checks=1:detect_invalid_pointer_pairs=0:symbolize=1${LOCKSTEP_EXTRA_ASAN_OPTIONS:+:$LOCKSTEP_EXTRA_ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:report_error_type=1"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

# The Vulkan loader dlclose()s the driver (lavapipe) and the layers when the instance is
# destroyed, before LeakSanitizer looks at the heap at exit: memory those libraries still hold in
# their globals then looks leaked, from an "<unknown module>" that no suppression can name.
# keep_loaded.so makes dlclose() a no-op in the test processes so that their globals stay
# visible (and their frames named), and only real leaks are reported.
mkdir -p "$build"
printf 'int dlclose(void *handle) { (void)handle; return 0; }\n' >"$build/keep_loaded.c"
cc -shared -fPIC -O2 -o "$build/keep_loaded.so" "$build/keep_loaded.c"
preload="$root/$build/keep_loaded.so"
case "$build" in /*) preload="$build/keep_loaded.so" ;; esac
if ! "$CXX" --version 2>/dev/null | grep -qi clang; then
  # gcc links the ASan runtime dynamically: it need not come first in the library list.
  export ASAN_OPTIONS="$ASAN_OPTIONS:verify_asan_link_order=0"
fi

t0=$(date +%s)
# RelWithDebInfo's -O2 -g, without its -DNDEBUG: asserts stay on in the sanitizer build.
cmake -S . -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" \
  -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j "$jobs"
t1=$(date +%s)
echo "sanitize: build took $((t1 - t0)) s ($CXX, $jobs jobs)"

# QUICK: every test but the device suite at lavapipe widths 128 and 512 (the host code and
# every Vulkan call are the same as at width 256, only the driver's subgroup size differs) and
# the two largest Keras round trips (VGG19 at 64x64 with and without its classifier, ~200 MB of
# weights each: the same reader and writer code as the ResNet-50, VGG11 whole-model and 32x32
# notop round trips that stay in), the ONNX round trips of ResNet-50 and VGG19 (the VGG11 ones
# run the same importer), and the device suite's Networks.* and CliRun.* (below) — CI's budget.
ctest_args=(--output-on-failure -j "$ctest_jobs" --timeout 1800)
if [ "${1:-}" = "--quick" ]; then
  shift
  ctest_args+=(-E '^(device_tests_width_(128|512)|KerasRoundTrip\.(NotopFiles|Vgg19WithClassifier)|Models/OnnxRoundTrip\..*/(resnet50|vgg19)_.*)$')
  # The device suite at width 256 without its whole-network and CLI tests (the check, fault and
  # ONNX/Keras round-trip tests run whole networks through the same host code). Tests that
  # ctest names one by one pass --gtest_filter, which takes precedence over this.
  export GTEST_FILTER='-Networks.*:CliRun.*'
fi
cd "$build"
LD_PRELOAD="$preload${LD_PRELOAD:+:$LD_PRELOAD}" ctest "${ctest_args[@]}" "$@"
t2=$(date +%s)
echo "sanitize: tests took $((t2 - t1)) s; total $((t2 - t0)) s"
