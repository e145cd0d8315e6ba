#!/usr/bin/env bash
# Configures and builds QuantOpt into build/ (Ninja, Release).
#
# Environment:
#   QUANTOPT_SKIP_SETUP=1   do not run scripts/setup.sh first
#   QUANTOPT_BUILD_DIR      build directory (default: build)
#   QUANTOPT_BUILD_TYPE     CMAKE_BUILD_TYPE (default: Release)
# Extra arguments are passed to the cmake configure step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

if [[ "${QUANTOPT_SKIP_SETUP:-0}" != "1" ]]; then
  scripts/setup.sh
fi

BUILD_DIR="${QUANTOPT_BUILD_DIR:-build}"
BUILD_TYPE="${QUANTOPT_BUILD_TYPE:-Release}"
PYTHON="$(command -v python3)"

# Configuring an existing build tree is cheap, so always do it: it picks up
# CMakeLists.txt changes and a different python3 on PATH.
cmake -G Ninja -S . -B "$BUILD_DIR" \
  -DCMAKE_BUILD_TYPE="$BUILD_TYPE" \
  -DPython3_EXECUTABLE="$PYTHON" \
  "$@"
cmake --build "$BUILD_DIR" -j"$(nproc)"
