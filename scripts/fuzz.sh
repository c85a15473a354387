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

# The top-level CMakeLists.txt adds fuzz/ under LOCKSTEP_FUZZ. Until it does, an overlay of the
# source tree (symbolic links, and a CMakeLists.txt with those lines added) stands in for it.
src=$root
if ! grep -q 'add_subdirectory(fuzz)' CMakeLists.txt; then
  src=$build/src
  mkdir -p "$src"
  for e in "$root"/*; do
    [ "$(basename "$e")" = CMakeLists.txt ] || ln -sfn "$e" "$src/$(basename "$e")"
  done
  { cat CMakeLists.txt; printf '\noption(LOCKSTEP_FUZZ "libFuzzer targets" OFF)\nadd_subdirectory(fuzz)\n'; } \
    >"$src/CMakeLists.txt.new"
  cmp -s "$src/CMakeLists.txt.new" "$src/CMakeLists.txt" 2>/dev/null || mv "$src/CMakeLists.txt.new" "$src/CMakeLists.txt"
  rm -f "$src/CMakeLists.txt.new"
fi

# Coverage instrumentation (fuzzer-no-link) and the sanitizers on every library the targets
# link; -fsanitize=fuzzer itself only on the fuzz_* executables (fuzz/CMakeLists.txt).
# Three UBSan checks are built recoverable only so that fuzz/ubsan.supp can name them (UBSan
# suppresses recoverable checks only); halt_on_error=1 below still stops on any report it
# does not suppress.
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
flags+=" -fsanitize-recover=signed-integer-overflow,shift-exponent,nonnull-attribute"
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
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/fuzz/ubsan.supp"
# The fuzz targets step over the inputs of findings still open (fuzz/open/, fuzz/README.md) so
# that a run is not stopped by them again; their replay tests still run them.
export LOCKSTEP_FUZZ_SKIP_OPEN=1

# -max_len per target: above the largest seed. -rss_limit_mb / -malloc_limit_mb: a 2 GiB
# budget for one input (the largest image the decoder accepts, 2^28 pixels, needs ~1.5 GiB).
declare -A max_len=([npy]=8192 [image]=65536 [onnx]=65536 [keras_h5]=131072 [pipeline_cache]=4096 [result_reader]=65536)
available=()
for f in "$build"/fuzz/fuzz_*; do
  [ -x "$f" ] && available+=("$(basename "$f" | sed 's/^fuzz_//')")
done
# Left out of the default set while its open findings make every run fail within seconds
# (fuzz/README.md, "Findings": libhdf5 1.10.8 memory errors on corrupt files). Name it to run it
# (scripts/fuzz.sh 600 keras_h5); drop it from this list once load_keras_weights isolates libhdf5.
skip_by_default=(${LOCKSTEP_FUZZ_SKIP_TARGETS-keras_h5})
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for t in "${available[@]}"; do
    if [[ " ${skip_by_default[*]} " == *" $t "* ]]; then
      echo "fuzz: NOT running $t by default: open findings, see fuzz/README.md" >&2
    else
      targets+=("$t")
    fi
  done
fi

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
