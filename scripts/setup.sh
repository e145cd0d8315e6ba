#!/usr/bin/env bash
# Installs everything QuantOpt needs to build and test on Debian 12 (bookworm).
#
# Idempotent: when every system package is already installed and the Python
# modules import, it does nothing beyond a few quick checks, so build.sh can
# call it every time.
# LLVM/MLIR 22 come from Debian's own archive (bookworm-security).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

APT_PACKAGES=(
  cmake ninja-build g++
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libprotobuf-dev protobuf-compiler libgtest-dev
  clang-format python3 python3-pip
  clang-22 libclang-rt-22-dev
)
# clang-22 and its sanitizer/libFuzzer runtimes build the sanitizer tree of
# scripts/test.sh and scripts/fuzz.sh (Debian 12's clang-14 cannot parse
# LLVM 22's headers); they come from the same suite as LLVM 22.
LLVM_PACKAGES=(libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  clang-22 libclang-rt-22-dev)

log() { echo "[setup] $*"; }

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -E "$@"
  else
    echo "[setup] error: need root (or sudo) to run: $*" >&2
    return 1
  fi
}

is_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

has_candidate() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  [[ -n "$cand" && "$cand" != "(none)" ]]
}

install_apt_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    log "no dpkg-query: not a Debian system, skipping apt packages"
    return 0
  fi
  local missing=()
  local p
  for p in "${APT_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "system packages: all installed"
    return 0
  fi
  log "installing system packages: ${missing[*]}"
  as_root apt-get update
  for p in "${LLVM_PACKAGES[@]}"; do
    if ! is_installed "$p" && ! has_candidate "$p"; then
      log "error: Debian package $p has no install candidate; LLVM/MLIR 22"
      log "       come from Debian 12's bookworm-security suite: enable it in"
      log "       /etc/apt/sources.list.d and rerun this script"
      exit 1
    fi
  done
  as_root apt-get install -y --no-install-recommends "${missing[@]}"
}

python_deps_ok() {
  python3 -c 'import onnx, onnxruntime, numpy, pytest, lit' >/dev/null 2>&1
}

install_python_packages() {
  if python_deps_ok; then
    log "python packages: all importable ($(command -v python3))"
    return 0
  fi
  log "installing python packages with $(command -v python3)"
  local req="${ROOT}/requirements.txt"
  local out
  if ! out="$(python3 -m pip install -r "$req" 2>&1)"; then
    if grep -q "externally-managed-environment" <<<"$out"; then
      log "pip refused (PEP 668); retrying with --break-system-packages"
      python3 -m pip install --break-system-packages -r "$req"
    else
      echo "$out" >&2
      return 1
    fi
  else
    echo "$out" | tail -n 3
  fi
  python_deps_ok || {
    echo "[setup] error: python packages still not importable" >&2
    return 1
  }
}

install_apt_packages
install_python_packages
log "done"
