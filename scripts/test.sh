#!/usr/bin/env bash
# Builds QuantOpt, then runs every check: clang-format and all ctest tests
# (lit suite, unit tests, ONNX node tests, docs-drift check).
#
# Environment: as scripts/build.sh; QUANTOPT_BUILD_DIR selects the build tree;
# QUANTOPT_CLANG_FORMAT names the clang-format binary (default: clang-format).
# Extra arguments are passed to ctest (e.g. -R lit, -j4).
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

if [[ ${#failed[@]} -eq 0 ]]; then
  echo "[test] SUMMARY: all checks passed"
else
  echo "[test] SUMMARY: FAILED: ${failed[*]}"
  exit 1
fi
