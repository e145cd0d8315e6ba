#!/usr/bin/env python3
"""W4A16 GPU kernel vs cuBLAS fp16 GEMM, in one process, on an NVIDIA GPU.

    benchmarks/bench_w4a16_gpu.py [--build build] [--target sm_90]
        [--out benchmarks/results/gpu-<device>-<date>-w4a16-kernel.csv]

Emits the kernel's PTX exactly as the compiler does (quant-opt
--convert-qnn-to-gpu | quant-translate --emit-ptx; or --kernel FILE for a PTX
built elsewhere), then runs test/gpu/check_w4a16_kernel.py: the numerics
checks first, then the timing of M in {1, 4, 16, 64} on the LLM shapes
N x K = 4096x4096, 11008x4096, 4096x11008, 14336x4096, 28672x8192 (int4,
group 128), each launch preceded by a read of 256 MiB so that neither side
finds its weights in L2, median of 50 CUDA-event-timed launches, against
cupy.matmul on f16 (cuBLAS) with the same protocol. Prints speed-ups and the
weight bandwidth as a fraction of the measured device-to-device copy
bandwidth; writes the raw rows as CSV with a header naming the device,
driver and date.

The end-to-end counterpart (a bundle through libquantrt with CUDA graphs)
is `test/gpu/check_gpu_models.py --bench`.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--target", default="sm_90")
    p.add_argument("--kernel", help="PTX file (default: emit it)")
    p.add_argument("--out", help="CSV of the timings")
    p.add_argument("--split-mult", default="4")
    args = p.parse_args()
    kernel = args.kernel
    if not kernel:
        kernel = os.path.join(args.build, "w4a16-bench.ptx")
        src = os.path.join(ROOT, "test", "Conversion", "QNNToGPU",
                           "convert-qnn-to-gpu.mlir")
        opt = subprocess.run(
            [os.path.join(args.build, "bin", "quant-opt"), src,
             f"--convert-qnn-to-gpu=chip={args.target}", "--canonicalize"],
            check=True, capture_output=True, text=True)
        with open(kernel, "w") as f:
            subprocess.run(
                [os.path.join(args.build, "bin", "quant-translate"),
                 "--emit-ptx", "--target", args.target, "-"],
                input=opt.stdout, check=True, stdout=f, text=True)
    cmd = [sys.executable, os.path.join(ROOT, "test", "gpu",
                                        "check_w4a16_kernel.py"),
           "--kernel", kernel, "--bench", "--split-mult", args.split_mult]
    if args.out:
        cmd += ["--out", args.out]
    return subprocess.call(cmd)


if __name__ == "__main__":
    sys.exit(main())
