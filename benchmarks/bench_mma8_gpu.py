#!/usr/bin/env python3
"""The 8-bit tensor-core kernels (W8A8 int8, its sm_90a warpgroup variant,
fp8 e4m3) vs cuBLASLt int8, cuBLAS fp16 and cuBLASLt fp8, in one process,
on an NVIDIA GPU (issue 6's targets).

    benchmarks/bench_mma8_gpu.py [--build build] [--target sm_90]
        [--out benchmarks/results/gpu-<device>-<date>-mma8.csv]

Emits the kernels' PTX exactly as the compiler does (quant-opt
--convert-qnn-to-gpu | quant-translate --emit-ptx) from the lit tests'
modules: convert-qnn-to-gpu-mma8.mlir (int8 mma.sync), on sm_89/sm_90
convert-qnn-to-gpu-fp8.mlir (fp8), on sm_90 convert-qnn-to-gpu-wgmma.mlir (the
warpgroup variant). Then runs test/gpu/check_mma8_kernel.py --bench: the
numerics checks first (a kernel that fails them is not timed), then
M in {16, 128, 512, 2048, 8192} on LLM shapes, each side timed with CUDA
events in the same process: ours through the CUDA driver API, the peers
through PyTorch (torch._int_mm: cuBLASLt int8; torch.matmul on f16:
cuBLAS; torch._scaled_mm: cuBLASLt fp8). Prints the ratios against the
targets (int8 >= 0.9x cuBLASLt int8 and >= 1.6x cuBLAS fp16 at M >= 2048;
fp8 >= 0.9x cuBLASLt fp8) and writes the raw rows as CSV with a header
naming the device, driver and date.

Then the W4A16 kernel (test/gpu/check_w4a16_kernel.py --bench, needs CuPy)
on the same M values and the shapes both benches share, and a table of
the three kernels per (N, K, M): which is fastest, and the smallest M from
which the int8 kernel beats W4A16 on every shape, the value to give
--gpu-w4a8-min-m (the int8 time excludes the per-token quantization
kernel, a read of the activations, so the boundary is a lower bound).
"""

import argparse
import math
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def emit(build, module, pass_options, target, out):
    src = os.path.join(ROOT, "test", "Conversion", "QNNToGPU", module)
    opt = subprocess.run(
        [os.path.join(build, "bin", "quant-opt"), src,
         f"--convert-qnn-to-gpu={pass_options}", "--canonicalize"],
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
           "--kernel", emit(args.build, "convert-qnn-to-gpu-mma8.mlir",
                            f"chip={args.target}", args.target,
                            ptx("mma8-bench.ptx")), "--bench"]
    if args.target in ("sm_89", "sm_90"):
        cmd += ["--fp8-kernel",
                emit(args.build, "convert-qnn-to-gpu-fp8.mlir",
                     f"chip={args.target}", args.target,
                     ptx("fp8-bench.ptx"))]
    if args.target == "sm_90":
        cmd += ["--wg-kernel",
                emit(args.build, "convert-qnn-to-gpu-wgmma.mlir",
                     "chip=sm_90 kernel=w8a8-wgmma", "sm_90",
                     ptx("wg-bench.ptx"))]
    out = args.out or os.path.join(args.build, "mma8-bench.csv")
    cmd += ["--out", out]
    rc = subprocess.call(cmd)
    w4_out = out.replace(".csv", "-w4a16.csv")
    w4 = [sys.executable,
          os.path.join(ROOT, "test", "gpu", "check_w4a16_kernel.py"),
          "--kernel", emit(args.build, "convert-qnn-to-gpu.mlir",
                           f"chip={args.target}", args.target,
                           ptx("w4a16-bench.ptx")),
          "--bench", "--bench-m", ",".join(str(m) for m in M_VALUES),
          "--out", w4_out]
    rc |= subprocess.call(w4)
    if os.path.exists(out) and os.path.exists(w4_out):
        compare(read_csv(out), read_csv(w4_out),
                read_csv(out.replace(".csv", "-fp8.csv")))
    return rc


M_VALUES = (16, 128, 512, 2048, 8192)


def read_csv(path):
    """{(N, K, M): {column: float}} of a bench CSV ('#' header lines)."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        lines = [ln.strip() for ln in f if ln.strip() and ln[0] != "#"]
    names = lines[0].split(",")
    rows = {}
    for ln in lines[1:]:
        v = dict(zip(names, (float(x) for x in ln.split(","))))
        rows[(int(v["N"]), int(v["K"]), int(v["M"]))] = v
    return rows


def compare(int8, w4a16, fp8):
    """The three kernels per shared (N, K, M) and the M boundary from which
    the int8 kernel (the faster of mma.sync and wgmma) beats W4A16."""
    keys = sorted(set(int8) & set(w4a16), key=lambda k: (k[0], k[1], k[2]))
    if not keys:
        print("kernel choice: no shapes timed by both benches")
        return None
    print("kernel choice (ms; fastest marked *):")
    wins = {}
    for key in keys:
        wg = int8[key].get("wgmma_ms", math.nan)
        times = {"w4a16": w4a16[key]["ours_ms"],
                 "int8": (int8[key]["ours_ms"] if math.isnan(wg) else
                          min(int8[key]["ours_ms"], wg))}
        if key in fp8:
            times["fp8"] = fp8[key]["ours_ms"]
        best = min(times, key=times.get)
        print(f"  N={key[0]:6d} K={key[1]:6d} M={key[2]:5d}: " + ", ".join(
            f"{k} {t:.4f}{'*' if k == best else ''}"
            for k, t in times.items()))
        wins.setdefault(key[2], []).append(times["int8"] < times["w4a16"])
    bound = next((m for m in sorted(wins)
                  if all(all(wins[n]) for n in wins if n >= m)), None)
    print("suggested --gpu-w4a8-min-m: " +
          (str(bound) if bound is not None else
           "none (W4A16 is faster somewhere at every M timed)"))
    return bound


if __name__ == "__main__":
    sys.exit(main())
