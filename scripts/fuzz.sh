#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang, -fsanitize=fuzzer,address,undefined) in
# build-fuzz/ and runs each one for SECONDS (default 60), one after the other, starting from the
# seed corpus and the regression inputs. Fails on any finding (crash, sanitizer report, leak,
# timeout, out-of-memory); the input that caused it is left in build-fuzz/findings/<target>/.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 600 onnx npy    # these targets, 10 minutes each
#
# New inputs that grew coverage are kept in build-fuzz/corpus/<target>/ between runs (not
# committed; merge the useful ones into fuzz/corpus with -merge=1, see fuzz/README.md).
# Environment: LOCKSTEP_FUZZ_BUILD_DIR (default build-fuzz), JOBS (build parallelism, default
# nproc), CC/CXX (default clang/clang++).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-60}
[ $# -gt 0 ] && shift
build=${LOCKSTEP_FUZZ_BUILD_DIR:-build-fuzz}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
jobs=${JOBS:-$(nproc)}
CC=${CC:-clang}
CXX=${CXX:-clang++}
if ! "$CXX" --version 2>/dev/null | grep -qi clang; then
  echo "fuzz: libFuzzer needs clang (apt-get install clang libclang-rt-14-dev); CXX is $CXX" >&2
  exit 2
fi

# The top-level CMakeLists.txt adds fuzz/ (LOCKSTEP_FUZZ=ON builds the libFuzzer executables).
src=$root

# Coverage instrumentation (fuzzer-no-link) and the sanitizers on every library the targets
# link; -fsanitize=fuzzer itself only on the fuzz_* executables (fuzz/CMakeLists.txt). Any
# UBSan report stops the run (no suppressions).
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
t0=$(date +%s)
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DLOCKSTEP_FUZZ=ON -DLOCKSTEP_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target lockstep_fuzzers -j "$jobs"
echo "fuzz: build took $(($(date +%s) - t0)) s"

# Options for every run, as if the process had 2 GiB of memory: a single allocation over 2 GiB
# fails (max_allocation_size_mb). A C library gets NULL (allocator_may_return_null), as from
# glibc, and must report an error (libhdf5 asks for 8 GiB on some corrupt files, stb_image for
# 2 GiB on some PNGs); C++ `new` still dies, as a finding. The quarantine is kept small so that
# those libraries' large short-lived buffers do not add up to the RSS limit.
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=2048:quarantine_size_mb=64:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1${LOCKSTEP_EXTRA_ASAN_OPTIONS:+:$LOCKSTEP_EXTRA_ASAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$root/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# -max_len per target: above the largest seed. -rss_limit_mb / -malloc_limit_mb: a 2 GiB
# budget for one input (the largest image the decoder accepts, 2^28 pixels, needs ~1.5 GiB).
# keras_h5 parses each input in a child process (engine/keras/keras_h5_isolation.cpp) with its
# own limits (3 s of CPU, 1 GiB of address space: fuzz/keras_h5_fuzz.cpp), below these.
declare -A max_len=([npy]=8192 [image]=65536 [onnx]=65536 [keras_h5]=131072 [pipeline_cache]=4096 [result_reader]=65536)
available=()
for f in "$build"/fuzz/fuzz_*; do
  [ -x "$f" ] && available+=("$(basename "$f" | sed 's/^fuzz_//')")
done
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${available[@]}")

failed=()
for t in "${targets[@]}"; do
  exe=$build/fuzz/fuzz_$t
  [ -x "$exe" ] || { echo "fuzz: no target '$t' (built: ${available[*]})" >&2; exit 2; }
  work=$build/corpus/$t
  findings=$build/findings/$t
  mkdir -p "$work" "$findings"
  dirs=("$work" "$root/fuzz/corpus/$t")
  [ -d "$root/fuzz/regressions/$t" ] && dirs+=("$root/fuzz/regressions/$t")
  echo "fuzz: $t for $seconds s"
  log=$build/fuzz-$t.log
  set +e
  "$exe" -max_total_time="$seconds" -max_len="${max_len[$t]:-65536}" -rss_limit_mb=2048 -malloc_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 -artifact_prefix="$findings/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed "s/^/  $t: /"  || true
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FAILED (exit $rc): see $log and $findings/" >&2
    tail -40 "$log" >&2
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: no findings (${targets[*]}, $seconds s each)"
