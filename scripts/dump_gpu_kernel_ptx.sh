#!/usr/bin/env bash
# Dumps the PTX of QuantOpt's GPU kernels for every QNNToGPU lit input and
# option set (chip, pipeline depth, kernel choice), one file per
# (input, options), into OUTDIR. Run it before and after a change to the
# kernel templates (lib/Conversion/QNNToGPU/*.mlir, KernelTemplates.cpp)
# and diff the two directories: `diff -r before after` (use new, empty
# directories: the count at the end is of the files in OUTDIR). Build the
# "before" tools first and copy build/bin/{quant-opt,quant-translate} to
# <dir>/bin, then pass <dir> as BUILD_DIR. Option sets a lowering rejects
# (wgmma before sm_90, fp8 before sm_89) leave no file.
#
# Usage: scripts/dump_gpu_kernel_ptx.sh BUILD_DIR OUTDIR
set -u
build=${1:?build dir}
out=${2:?output dir}
root=$(cd "$(dirname "$0")/.." && pwd)
opt=$build/bin/quant-opt
tr=$build/bin/quant-translate
mkdir -p "$out"
inputs=(
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-mma8.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-fp8.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-dynq.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-dynq-fp8.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-wgmma.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-m-buckets.mlir
  "$root"/test/Conversion/QNNToGPU/convert-qnn-to-gpu-kernel-choice.mlir
)
# One job per (input, chip, pipeline depth, kernel choice); w4a8-min-m=128
# only for the M-bucket input.
jobs=()
for f in "${inputs[@]}"; do
  minms="0"
  [[ $f == *m-buckets* ]] && minms="0 128"
  for chip in sm_80 sm_89 sm_90; do
    for stages in 2 3 4 12; do
      for kernel in auto w8a8 w8a8-wgmma; do
        for minm in $minms; do
          jobs+=("$f|$chip|$stages|$kernel|$minm")
        done
      done
    done
  done
done
dump_one() {
  IFS='|' read -r f chip stages kernel minm <<< "$1"
  name="$(basename "$f" .mlir).$chip.s$stages.$kernel.m$minm.ptx"
  if "$opt" "$f" --convert-qnn-to-gpu="chip=$chip stages=$stages kernel=$kernel w4a8-min-m=$minm" \
      --canonicalize 2>/dev/null |
      "$tr" --emit-ptx --target "$chip" - > "$out/$name" 2>/dev/null; then
    :
  else
    rm -f "$out/$name"
  fi
}
export -f dump_one
export opt tr out
printf '%s\n' "${jobs[@]}" | xargs -P "${JOBS:-2}" -I{} bash -c 'dump_one "$1"' _ {}
f=$root/test/Target/CUDA/model-to-gpu-kernels.mlir
for chip in sm_80 sm_89 sm_90; do
  "$tr" --emit-ptx --target "$chip" "$f" > "$out/model-to-gpu-kernels.$chip.ptx" 2>/dev/null &&
    true
done
echo "dumped $(ls "$out" | wc -l) PTX files into $out (of ${#jobs[@]} option sets + 3)"
