#!/usr/bin/env bash
# Builds QuantOpt, then runs every check: clang-format and all ctest tests
# (lit suite, unit tests, ONNX node tests, docs-drift check), then the
# sanitizer stage: a second build tree (clang, ASan+UBSan, libFuzzer) runs
# the unit and error-path tests and each fuzz target (docs/Testing.md).
#
# Environment: as scripts/build.sh; QUANTOPT_BUILD_DIR selects the build tree;
# QUANTOPT_CLANG_FORMAT names the clang-format binary (default: clang-format).
# QUANTOPT_SKIP_SANITIZERS=1 skips the sanitizer stage (CI always runs it);
# QUANTOPT_SANITIZER_BUILD_DIR is its tree (default: build-asan);
# QUANTOPT_FUZZ_SECONDS is each fuzz target's run time (default: 60).
# Extra arguments are passed to the main ctest (e.g. -R lit, -j4).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${QUANTOPT_BUILD_DIR:-build}"
CLANG_FORMAT="${QUANTOPT_CLANG_FORMAT:-clang-format}"

if ! scripts/build.sh; then
  echo "[test] SUMMARY: FAILED: build"
  exit 1
fi

failed=()

# (a) Formatting.
mapfile -d '' sources < <(
  find include lib tools test/unit \( -name '*.cpp' -o -name '*.h' \) \
    -type f -print0 2>/dev/null | sort -z
)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "[test] clang-format: no sources, skipped"
elif "$CLANG_FORMAT" --dry-run --Werror "${sources[@]}"; then
  echo "[test] clang-format: ${#sources[@]} files OK ($("$CLANG_FORMAT" --version))"
else
  echo "[test] clang-format: FAILED (fix with: $CLANG_FORMAT -i <files>)"
  failed+=("clang-format")
fi

# (b) Every registered test; finding none is a failure, not a pass.
if ctest --test-dir "$BUILD_DIR" --output-on-failure --no-tests=error "$@"; then
  echo "[test] ctest: OK"
else
  failed+=("ctest")
fi

# The figures tests print (node-test and agreement counts) are in ctest's log.
log="$BUILD_DIR/Testing/Temporary/LastTest.log"
if [[ -f "$log" ]]; then
  echo "[test] reported by the tests:"
  grep -hE "^node-tests: |^node-tests-cpu: |^OK: quant-calibrate agrees|^FAILED: [0-9]+ mismatches|^e2e: " "$log" | sed 's/^/  /' || true
fi

# (c) Sanitizers and fuzzing, in their own tree so that the main build and
# tests above are unaffected. Tests that load libquantrt into python (ctypes)
# are left out: the ASan runtime would have to be preloaded into python; so
# are the slow numerics suites (e2e models, node tests, onnxruntime
# agreement, benchmarks), which exercise no other error paths.
SANITIZER_TESTS='^(lit|unit-models|unittests|calibration-unittests|calibration-cli-errors|kernel-unittests|runtime-bundle-(run|loader-errors|input-errors|benchmark)|e2e-compile-errors|fuzz-.*-replay)$'
SANITIZER_BUILD_TARGETS=(quant-opt quant-translate quant-calibrate qnn-gpu-kernel-check
  quant-compile quant-run quantrt quant-bundle-test-writer
  quantopt-unittests quantopt-calibration-unittests quantopt-kernel-unittests
  quantopt-fuzzers)

sanitizer_stage() {
  local dir="${QUANTOPT_SANITIZER_BUILD_DIR:-build-asan}"
  local seconds="${QUANTOPT_FUZZ_SECONDS:-60}"
  local start=$SECONDS
  if ! QUANTOPT_SANITIZER_BUILD_DIR="$dir" scripts/fuzz.sh --configure ||
    ! cmake --build "$dir" -j"$(nproc)" --target "${SANITIZER_BUILD_TARGETS[@]}"; then
    echo "[test] sanitizers: FAILED: build of $dir"
    return 1
  fi
  local build_s=$((SECONDS - start))

  # Reports go to files, so that one is seen even where a test captures a
  # tool's stderr or expects it to fail; any file fails the stage. Leaks
  # are not checked: the tools end with exit() and leave the MLIR context
  # and LLVM's globals to the OS on purpose (LSan reports them).
  local reports="$dir/sanitizer-reports"
  rm -rf "$reports"
  mkdir -p "$reports"
  local ok=1
  start=$SECONDS
  if ! ASAN_OPTIONS="abort_on_error=1:detect_leaks=0:log_path=$PWD/$reports/report" \
    UBSAN_OPTIONS="print_stacktrace=1:abort_on_error=1:log_path=$PWD/$reports/report" \
    ctest --test-dir "$dir" -R "$SANITIZER_TESTS" --output-on-failure \
      --no-tests=error; then
    ok=0
  fi
  local test_s=$((SECONDS - start))
  local ntests
  ntests="$(ctest --test-dir "$dir" -N -R "$SANITIZER_TESTS" | awk '/^Total Tests:/ {print $3}')"
  local found=()
  mapfile -t found < <(find "$reports" -type f | sort)
  if [[ ${#found[@]} -gt 0 ]]; then
    echo "[test] sanitizers: ${#found[@]} sanitizer report(s):"
    local f
    for f in "${found[@]}"; do
      echo "  --- $f"
      head -n 40 "$f" | sed 's/^/  /'
    done
    ok=0
  fi
  echo "[test] sanitizers: $ntests tests under ASan+UBSan, $( ((ok)) && echo OK || echo FAILED)" \
    "(build ${build_s} s, tests ${test_s} s, ${#found[@]} reports)"

  # Two fuzzers at a time: the CI machine has two cores.
  start=$SECONDS
  local targets
  mapfile -t targets < <(scripts/fuzz.sh --list)
  local logs=() t i j
  for ((i = 0; i < ${#targets[@]}; i += 2)); do
    for j in $i $((i + 1)); do
      [[ $j -lt ${#targets[@]} ]] || continue
      t="${targets[$j]}"
      logs[$j]="$dir/fuzz-summary-$t.txt"
      QUANTOPT_SANITIZER_BUILD_DIR="$dir" QUANTOPT_FUZZ_NO_BUILD=1 \
        scripts/fuzz.sh "$t" "$seconds" >"${logs[$j]}" 2>&1 &
    done
    wait
  done
  for i in "${!targets[@]}"; do
    t="${targets[$i]}"
    if grep -q "^\[fuzz\] $t: .*, OK$" "${logs[$i]}"; then
      sed -n "s/^\[fuzz\] \([^:]*\): \(.*\), OK$/[test] fuzz: \1 \2/p" \
        "${logs[$i]}"
    else
      echo "[test] fuzz: $t FAILED:"
      sed 's/^/  /' "${logs[$i]}"
      ok=0
    fi
  done
  echo "[test] fuzz: ${#targets[@]} targets, ${seconds} s each, $((SECONDS - start)) s in all"
  ((ok))
}

if [[ "${QUANTOPT_SKIP_SANITIZERS:-0}" == "1" ]]; then
  echo "[test] sanitizers: skipped (QUANTOPT_SKIP_SANITIZERS=1)"
elif ! sanitizer_stage; then
  failed+=("sanitizers")
fi

if [[ ${#failed[@]} -eq 0 ]]; then
  echo "[test] SUMMARY: all checks passed"
else
  echo "[test] SUMMARY: FAILED: ${failed[*]}"
  exit 1
fi
