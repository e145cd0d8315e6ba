#!/usr/bin/env python3
"""The 8-bit tensor-core kernels (W8A8 int8, its sm_90a warpgroup variant,
fp8 e4m3) vs cuBLASLt int8, cuBLAS fp16 and cuBLASLt fp8, in one process,
on an NVIDIA GPU (issue 6's targets).

    benchmarks/bench_mma8_gpu.py [--build build] [--target sm_90]
        [--out benchmarks/results/gpu-<device>-<date>-mma8.csv]

Emits the kernels' PTX exactly as the compiler does (quant-opt
--qnn-lower-to-gpu | quant-translate --emit-ptx) from the lit tests'
modules: lower-to-gpu-mma8.mlir (int8 mma.sync), on sm_89/sm_90
lower-to-gpu-fp8.mlir (fp8), on sm_90 lower-to-gpu-wgmma.mlir (the
warpgroup variant). Then runs test/gpu/check_mma8_kernel.py --bench: the
numerics checks first (a kernel that fails them is not timed), then
M in {16, 128, 512, 2048, 8192} on LLM shapes, each side timed with CUDA
events in the same process: ours through the CUDA driver API, the peers
through PyTorch (torch._int_mm: cuBLASLt int8; torch.matmul on f16:
cuBLAS; torch._scaled_mm: cuBLASLt fp8). Prints the ratios against the
targets (int8 >= 0.9x cuBLASLt int8 and >= 1.6x cuBLAS fp16 at M >= 2048;
fp8 >= 0.9x cuBLASLt fp8) and writes the raw rows as CSV with a header
naming the device, driver and date.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emit(build, module, pass_options, target, out):
    src = os.path.join(ROOT, "test", "Conversion", "QNNToGPU", module)
    opt = subprocess.run(
        [os.path.join(build, "bin", "quant-opt"), src,
         f"--qnn-lower-to-gpu={pass_options}", "--canonicalize"],
        check=True, capture_output=True, text=True)
    with open(out, "w") as f:
        subprocess.run(
            [os.path.join(build, "bin", "quant-translate"), "--emit-ptx",
             "--target", target, "-"],
            input=opt.stdout, check=True, stdout=f, text=True)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--target", default="sm_90")
    p.add_argument("--out", help="CSV of the timings")
    args = p.parse_args()
    ptx = lambda name: os.path.join(args.build, name)  # noqa: E731
    cmd = [sys.executable,
           os.path.join(ROOT, "test", "gpu", "check_mma8_kernel.py"),
           "--kernel", emit(args.build, "lower-to-gpu-mma8.mlir",
                            f"chip={args.target}", args.target,
                            ptx("mma8-bench.ptx")), "--bench"]
    if args.target in ("sm_89", "sm_90"):
        cmd += ["--fp8-kernel",
                emit(args.build, "lower-to-gpu-fp8.mlir",
                     f"chip={args.target}", args.target,
                     ptx("fp8-bench.ptx"))]
    if args.target == "sm_90":
        cmd += ["--wg-kernel",
                emit(args.build, "lower-to-gpu-wgmma.mlir",
                     "chip=sm_90 kernel=w8a8-wgmma", "sm_90",
                     ptx("wg-bench.ptx"))]
    if args.out:
        cmd += ["--out", args.out]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
