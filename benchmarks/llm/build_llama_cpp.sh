#!/usr/bin/env bash
# Builds llama.cpp, the peer of the LLM benchmarks, from PyPI's
# llama-cpp-python sdist (its vendor/llama.cpp), and makes the GGUFs the
# benchmark compares against from Gemma 3 270M's float weights.
#
#   benchmarks/llm/build_llama_cpp.sh [GEMMA_DIR]
#
# GEMMA_DIR is prepare.sh's folder (default $QUANTOPT_MODELS/gemma3 or
# ~/.cache/quantopt-models/gemma3). Writes, next to it:
#   ../llama.cpp/bin/{llama-bench,llama-perplexity,llama-quantize}
#   GEMMA_DIR/gguf/gemma3_270m_{f32,q8_0,q4_0,q4_k_m}.gguf
# The F32 GGUF is converted from GEMMA_DIR/hf_fp32 with llama.cpp's
# convert_hf_to_gguf.py, run in prepare.sh's venv (it has torch,
# transformers and gguf). Idempotent; ~15 min on 2 cores.
set -euo pipefail
GEMMA="${1:-${QUANTOPT_MODELS:-$HOME/.cache/quantopt-models}/gemma3}"
[[ -d $GEMMA/hf_fp32 ]] || {
  echo "error: $GEMMA/hf_fp32 not found: run ../shared/models/gemma3/prepare.sh first" >&2
  exit 1
}
DEST="$(dirname "$GEMMA")/llama.cpp"
SRC="$DEST/src"
VERSION=0.3.36 # llama-cpp-python; its sha256 is checked against PyPI's
mkdir -p "$DEST/bin" "$GEMMA/gguf"

if [[ ! -f $SRC/CMakeLists.txt ]]; then
  url_sha=$(python3 - "$VERSION" <<'EOF'
import json, sys, urllib.parse, urllib.request
base = "https://pypi.org/pypi/llama-cpp-python/json"
j = json.load(urllib.request.urlopen(base, timeout=60))
for u in j["releases"][sys.argv[1]]:
    if u["packagetype"] == "sdist":
        print(urllib.parse.urljoin(base, u["url"]), u["digests"]["sha256"])
        break
EOF
)
  read -r url sha <<<"$url_sha"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  curl -sSfL -o "$tmp/sdist.tar.gz" "$url"
  echo "$sha  $tmp/sdist.tar.gz" | sha256sum -c --quiet
  tar -xzf "$tmp/sdist.tar.gz" -C "$tmp"
  rm -rf "$SRC"
  mv "$tmp"/llama_cpp_python-*/vendor/llama.cpp "$SRC"
fi

if [[ ! -x $DEST/bin/llama-bench ]]; then
  cmake -G Ninja -S "$SRC" -B "$DEST/build" -DCMAKE_BUILD_TYPE=Release \
    -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DBUILD_SHARED_LIBS=OFF
  ninja -C "$DEST/build" llama-bench llama-perplexity llama-quantize
  cp "$DEST"/build/bin/llama-{bench,perplexity,quantize} "$DEST/bin/"
fi

PY="$GEMMA/venv/bin/python"
F32="$GEMMA/gguf/gemma3_270m_f32.gguf"
if [[ ! -f $F32 ]]; then
  "$PY" "$SRC/convert_hf_to_gguf.py" "$GEMMA/hf_fp32" --outtype f32 \
    --outfile "$F32.tmp"
  mv "$F32.tmp" "$F32"
fi
for q in q8_0 q4_0 q4_k_m; do
  out="$GEMMA/gguf/gemma3_270m_$q.gguf"
  [[ -f $out ]] || "$DEST/bin/llama-quantize" "$F32" "$out" "${q^^}" 2 >/dev/null
done
ls -la "$DEST/bin" "$GEMMA/gguf"
