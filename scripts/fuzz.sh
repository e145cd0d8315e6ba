#!/usr/bin/env bash
# Builds (if needed) and runs one libFuzzer target of test/fuzz.
#
# Usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer options...]
#        scripts/fuzz.sh --replay TARGET   run the seeds and regressions once
#        scripts/fuzz.sh --configure       only configure the sanitizer tree
#        scripts/fuzz.sh --list            print the targets
#
# Targets: onnx_import, npy, calibration_table, bundle (docs/Testing.md).
# The fuzzers live in the sanitizer build tree (clang, ASan+UBSan, every
# library built with -fsanitize=fuzzer-no-link), the tree scripts/test.sh's
# sanitizer stage builds and tests too. A run starts from the committed seeds
# (test/fuzz/TARGET/seeds) and the inputs earlier runs found in
# $BUILD_DIR/fuzz-corpus/TARGET (kept out of git); a crashing input is saved
# in $BUILD_DIR/fuzz-artifacts/TARGET/ and makes the script fail. Copy it to
# test/fuzz/TARGET/regressions/ once fixed, so ctest replays it.
#
# Prints: [fuzz] TARGET: N execs in S s (R/s), C corpus inputs, OK|CRASH
#
# Environment:
#   QUANTOPT_SANITIZER_BUILD_DIR  the tree (default: build-asan)
#   QUANTOPT_CLANG                clang driver (default: clang-22, then clang)
#   QUANTOPT_FUZZ_JOBS            build parallelism (default: nproc)
#   QUANTOPT_FUZZ_NO_BUILD=1      use the built fuzzer as it is
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${QUANTOPT_SANITIZER_BUILD_DIR:-build-asan}"
TARGETS=(onnx_import npy calibration_table bundle)

die() { echo "[fuzz] error: $*" >&2; exit 2; }

find_clang() {
  if [[ -n "${QUANTOPT_CLANG:-}" ]]; then
    echo "$QUANTOPT_CLANG"
    return
  fi
  # The project includes LLVM 22's headers, which older clangs cannot parse;
  # Debian's clang-22 comes with llvm-22 (scripts/setup.sh installs it).
  local c
  for c in /usr/lib/llvm-22/bin/clang clang-22 clang; do
    if command -v "$c" >/dev/null 2>&1; then
      command -v "$c"
      return
    fi
  done
  die "no clang found; run scripts/setup.sh"
}

configure() {
  local clang
  clang="$(find_clang)"
  # -O1: ASan's usual level, and much quicker to compile than -O3; line
  # tables make the reports point at source lines. The main build uses g++,
  # which only warns where clang rejects a narrowing in braces (an
  # llvm::divideCeil result in an int64_t list); the values are in range.
  local flags="-O1 -gline-tables-only -DNDEBUG -Wno-c++11-narrowing"
  cmake -G Ninja -S . -B "$BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$clang" \
    -DCMAKE_CXX_COMPILER="${clang}++" \
    -DCMAKE_C_FLAGS_RELEASE="$flags" \
    -DCMAKE_CXX_FLAGS_RELEASE="$flags" \
    -DQUANTOPT_SANITIZERS=address,undefined \
    -DQUANTOPT_ENABLE_FUZZERS=ON \
    -DPython3_EXECUTABLE="$(command -v python3)" >/dev/null
}

is_target() {
  local t
  for t in "${TARGETS[@]}"; do [[ "$t" == "$1" ]] && return 0; done
  return 1
}

build_target() {
  [[ "${QUANTOPT_FUZZ_NO_BUILD:-0}" == "1" && -x "$BUILD_DIR/bin/fuzz_$1" ]] &&
    return 0
  [[ -f "$BUILD_DIR/build.ninja" ]] || configure
  cmake --build "$BUILD_DIR" -j"${QUANTOPT_FUZZ_JOBS:-$(nproc)}" \
    --target "fuzz_$1" >/dev/null ||
    die "building fuzz_$1 failed (cmake --build $BUILD_DIR --target fuzz_$1)"
}

# Corpus directories of the build tree: fuzz_bundle's template bundle and
# its manifest, compiled by the tree's quant-compile.
extra_corpus() {
  if [[ "$1" == bundle ]]; then
    echo "$BUILD_DIR/test/fuzz/bundle-template"
  fi
}

# Sanitizer settings: any report ends the run with a stack trace.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

case "${1:-}" in
  --list)
    printf '%s\n' "${TARGETS[@]}"
    exit 0
    ;;
  --configure)
    configure
    exit 0
    ;;
  --replay)
    target="${2:-}"
    is_target "$target" || die "unknown target '$target' (try --list)"
    build_target "$target"
    exec "$BUILD_DIR/bin/fuzz_$target" -runs=0 \
      "test/fuzz/$target/seeds" "test/fuzz/$target/regressions" \
      $(extra_corpus "$target")
    ;;
  "" | -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
esac

target="$1"
seconds="${2:-}"
shift 2 || true
is_target "$target" || die "unknown target '$target' (try --list)"
[[ "$seconds" =~ ^[0-9]+$ ]] || die "SECONDS must be a whole number"
build_target "$target"

corpus="$BUILD_DIR/fuzz-corpus/$target"
artifacts="$BUILD_DIR/fuzz-artifacts/$target"
mkdir -p "$corpus" "$artifacts"
log="$BUILD_DIR/fuzz-$target.log"

# New inputs go to the first directory (the work corpus); the committed
# seeds and regressions are only read. -timeout flags an input that takes
# more than 10 s as a hang; -rss_limit_mb one that needs over 2 GiB.
# (The braces keep bash's own "Aborted" line out of the output.)
status=0
{
  "$BUILD_DIR/bin/fuzz_$target" "$corpus" \
    "test/fuzz/$target/seeds" "test/fuzz/$target/regressions" \
    $(extra_corpus "$target") -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$artifacts/" -print_final_stats=1 \
    "$@" >"$log" 2>&1
} 2>/dev/null || status=$?

execs="$(awk '/^stat::number_of_executed_units:/ {print $2}' "$log" | tail -n 1)"
secs="$(awk '/^stat::average_exec_per_sec:/ {r=$2} END {print r}' "$log")"
units="$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | awk '{print $2}')"
if [[ $status -eq 0 ]]; then
  echo "[fuzz] $target: ${execs:-?} execs in $seconds s (${secs:-?}/s)," \
    "${units:-?} corpus inputs, OK"
else
  echo "[fuzz] $target: ${execs:-?} execs in $seconds s, CRASH (exit $status);" \
    "log $log, inputs in $artifacts/"
  grep -E "ERROR: |runtime error:|^SUMMARY|Test unit written|==[0-9]+== *#|^ *#[0-9]+ " \
    "$log" | head -n 40 >&2 || true
  exit 1
fi
