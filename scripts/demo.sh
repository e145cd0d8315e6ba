#!/usr/bin/env bash
# Builds QuantOpt, then does its main job on the bundled example MLP: shows
# the IR at each stage (imported, normalized, quantized), compiles the model
# in float and in three quantization schemes into bundles, runs them, and
# prints accuracy against onnxruntime float and speed against onnxruntime
# (float and int8) measured in the same process (scripts/demo.py).
#
# Environment: as scripts/build.sh; QUANTOPT_BUILD_DIR selects the build tree.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BUILD_DIR="${QUANTOPT_BUILD_DIR:-build}"

scripts/build.sh

MODEL=examples/mlp/model.onnx
if [[ ! -f "$MODEL" ]]; then
  echo "[demo] $MODEL missing; generating it"
  python3 examples/mlp/make_model.py "$MODEL"
fi

OUT_DIR="$BUILD_DIR/demo"
mkdir -p "$OUT_DIR"
IMPORTED="$OUT_DIR/model.mlir"
NORMALIZED="$OUT_DIR/model.norm.mlir"

echo "[demo] importing $MODEL"
"$BUILD_DIR/bin/quant-translate" --import-onnx "$MODEL" -o "$IMPORTED"
echo "[demo] normalizing"
"$BUILD_DIR/bin/quant-opt" "$IMPORTED" --qnn-normalize -o "$NORMALIZED"
QUANTIZED="$OUT_DIR/model.w4a16.mlir"
echo "[demo] quantizing (W4A16, groups of 32, RTN) and fusing"
"$BUILD_DIR/bin/quant-translate" --import-onnx "$MODEL" --emit-weights \
  -o "$OUT_DIR/model.weights.mlir"
"$BUILD_DIR/bin/quant-opt" "$OUT_DIR/model.weights.mlir" \
  --qnn-quantize-pipeline='scheme=w4a16 group-size=32' \
  --mlir-elide-resource-strings-if-larger=64 -o "$QUANTIZED"

# Prints the func.func signatures and op counts (by op name) of an MLIR file.
summarize() {
  python3 - "$1" <<'PY'
import collections
import re
import sys

path = sys.argv[1]
text = open(path, encoding="utf-8").read()
# Drop the dialect-resource section at the end (weights blobs).
text = text.split("\n{-#", 1)[0]
sigs = []
ops = collections.Counter()
pending = None  # a func.func signature that spans several lines
for line in text.splitlines():
    line = line.split("//", 1)[0]
    if pending is not None or re.match(r"\s*func\.func\b", line):
        pending = (pending or "") + " " + line.strip()
        # A definition's signature ends at its body's "{"; a declaration
        # (func.func private) has no body.
        if pending.endswith("{") or "private" in pending.split("@")[0]:
            sigs.append(pending.rstrip("{").strip())
            pending = None
    if re.match(r"\s*return\b", line):
        ops["func.return"] += 1
        continue
    # Generic form "qnn.foo"(...) or custom form `%x = qnn.foo ...` / `qnn.foo ...`.
    m = re.match(r'\s*(?:%[^=]+=\s*)?"?([a-z_][\w]*\.[\w.]+)"?[\s(<{:]', line + " ")
    if m:
        ops[m.group(1)] += 1
print(f"  file: {path}")
for s in sigs:
    print("  signature: " + " ".join(s.split()))
width = max((len(k) for k in ops), default=0)
for name, count in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])):
    print(f"    {name:<{width}}  {count}")
print(f"  total ops: {sum(ops.values())}")
PY
}

echo
echo "== imported IR =="
summarize "$IMPORTED"
echo
echo "== after --qnn-normalize =="
summarize "$NORMALIZED"
echo
echo "== after --qnn-quantize-pipeline='scheme=w4a16 group-size=32' =="
summarize "$QUANTIZED"
echo
echo "[demo] outputs:"
echo "  $ROOT/$IMPORTED"
echo "  $ROOT/$NORMALIZED"
echo "  $ROOT/$QUANTIZED"
echo
echo "[demo] compiling (quant-compile), running (libquantrt) and comparing with onnxruntime"
python3 scripts/demo.py "$BUILD_DIR" "$MODEL" "$OUT_DIR/bundles"
