#!/usr/bin/env bash
# ThreadSanitizer build of the lockstep CLI and the check tests in build-tsan/, then the tests
# where lockstep runs several devices at once (one thread and one queue each: `run` and
# `check` on `--device 0,0`, which opens lavapipe twice, and `check --variant`, whose parent
# runs the CPU reference in threads while it waits for its child processes). Any data race
# reported by TSan fails the run (halt_on_error, exit code 66).
#
#   scripts/tsan.sh                   # configure + build build-tsan/, run the multi-device tests
#   scripts/tsan.sh -R CheckInProcess # any other arguments are passed to ctest
#
# Environment: LOCKSTEP_TSAN_BUILD_DIR (default build-tsan), CC/CXX (default gcc/g++), JOBS.
# The Vulkan loader and lavapipe are not instrumented: TSan sees lockstep's own memory
# accesses and locks, which is what the threads share. Takes ~6 min to build on 2 cores, ~2 min
# to run.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${LOCKSTEP_TSAN_BUILD_DIR:-build-tsan}
jobs=${JOBS:-$(nproc)}
CC=${CC:-gcc}
CXX=${CXX:-g++}
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# Reports go to stderr, which the tests capture and print on failure; exitcode 66 makes
# lockstep exit non-zero so the test fails even where the output is not inspected.
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1${LOCKSTEP_EXTRA_TSAN_OPTIONS:+:$LOCKSTEP_EXTRA_TSAN_OPTIONS}"

t0=$(date +%s)
cmake -S . -B "$build" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS="-fsanitize=thread" -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
  -DLOCKSTEP_CHECK_TEST_VALIDATION=off >/dev/null
cmake --build "$build" -j "$jobs" --target lockstep lockstep_check_tests
t1=$(date +%s)
echo "tsan: build took $((t1 - t0)) s ($CXX, $jobs jobs)"

cd "$build"
# The validation layer is not instrumented either and multiplies the run time; these tests are
# about lockstep's threads, so it is off here (LOCKSTEP_CHECK_TEST_VALIDATION above; the
# regular test run has it on).
ctest_args=(--output-on-failure --timeout 1800 -E '^$')
if [ $# -eq 0 ]; then
  ctest_args+=(-R '^(CheckInProcess|RunConcurrent|CheckFailures\.AVariant)')
fi
ctest "${ctest_args[@]}" "$@"
t2=$(date +%s)
echo "tsan: tests took $((t2 - t1)) s; total $((t2 - t0)) s"
