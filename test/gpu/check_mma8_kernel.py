#!/usr/bin/env python3
"""Runs QuantOpt's 8-bit tensor-core kernel (W8A8: PTX emitted by the
compiler, qgpu_w8a8_u8 and qgpu_w8a8_s8) on the GPU through the CUDA driver
API (cuda_driver.py), on weights packed by the numpy implementation of the
documented layout (mma8_layout.py), against a numpy evaluation of
qnn.quantized_matmul's semantics. --bench times it against cuBLASLt int8
(torch._int_mm) and cuBLAS fp16 (torch.matmul) in the same process (needs
PyTorch with CUDA).

Tolerances:
  - activation none/relu: exact. The i32 accumulation is exact and the
    epilogue performs the same f32 operations in the same order as the
    reference ((float(acc) * sa) * sb, then r / so, round half to even);
    f32 output compared bit for bit, int8 output exactly.
  - gelu/silu: the kernel's erf/exp are polynomial approximations (a few
    f32 ulp): f32 output within 1e-5 * max(1, |ref|); int8 output within
    one quantization step (a few-ulp difference can cross a rounding tie).
Each case runs twice and must give bit-identical results.

With --fp8-kernel (PTX of qgpu_fp8_e4m3, sm_89+) it also runs fp8 cases:
e4m3 activations and weights (random bytes, NaN encodings excluded) with a
per-tensor activation scale and per-tensor or per-column weight scales,
against float64 numpy on the decoded values (ml_dtypes). Tolerance per
element: 2^-10 * (|A| @ |W|) * sa * sb[n]: the products are exact, the
sum is f32 in another order, and fp8 tensor cores may accumulate with
fewer bits than f32; a wrong fragment gives errors of order |A| @ |W|.
The e4m3 output (outType 3) is compared within one e4m3 step of
ml_dtypes' rounding of the reference (saturated to 448).
--bench then also times it against cuBLASLt fp8 (torch._scaled_mm).

Without a GPU (no libcuda.so.1, no device) it prints SKIPPED and exits 0.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuda_driver  # noqa: E402
import mma8_layout as L  # noqa: E402

# M, K, N, activations (u8 per-row with zero points / s8 per-tensor),
# per-column weight scales, activation, output (None, "s8", "u8")
CASES = [
    (1, 4096, 4096, "u8", True, "none", None),
    (16, 4096, 4096, "s8", True, "none", "s8"),
    (130, 96, 200, "u8", True, "relu", None),
    (256, 1024, 384, "s8", False, "relu", "u8"),
    (77, 2048, 1000, "u8", True, "gelu", "s8"),
    (300, 512, 256, "s8", True, "silu", None),
    (1000, 4096, 1024, "u8", True, "gelu", None),
    (2048, 2048, 2048, "s8", True, "none", "s8"),
]
ACTS = {"none": 0, "relu": 1, "gelu": 2, "silu": 3}


def smem_bytes(stages):
    return max(stages * 16384, 128 * 136 * 4)


def make_case(rng, M, K, N, atype, per_col, out):
    w = rng.integers(-127, 128, size=(K, N)).astype(np.int8)
    bias = rng.integers(-20000, 20000, size=N).astype(np.int32)
    if atype == "u8":
        a = rng.integers(0, 256, size=(M, K)).astype(np.uint8)
        za = rng.integers(100, 156, size=M).astype(np.uint8)
        sa = (rng.random(M) * 0.02 + 0.001).astype(np.float32)
    else:
        a = rng.integers(-128, 128, size=(M, K)).astype(np.int8)
        za = np.zeros(1, np.int8)
        sa = np.array([0.013], np.float32)
    sb = ((rng.random(N) if per_col else rng.random(1)) * 0.002 + 1e-4)
    sb = sb.astype(np.float32)
    outspec = None
    if out:
        dtype = np.int8 if out == "s8" else np.uint8
        outspec = (np.float32(0.05 * np.sqrt(K / 64)),
                   3 if out == "s8" else 128, dtype)
    return a, za, sa, w, sb, bias, outspec


def kernel_launch(ptrs, M, N, K, a_per_row, b_per_col, act, out_type):
    """The 8-bit kernels' arguments and grid (MMA8Kernel.mlir's signature):
    ptrs = (A, packed B, column terms, sa, za, sb, so, zo, C) addresses."""
    Kp, Np = L.padded(K, N)
    args = [np.uint64(p) for p in ptrs] + [
        np.int32(M), np.int32(N), np.int32(K), np.int32(Np),
        np.int32(Kp // L.BK), np.int32(a_per_row), np.int32(b_per_col),
        np.int32(act), np.int32(out_type)]
    return args, (Np // L.BN, max(1, -(-M // L.BM)), 1)


def launch_case(drv, fn, stages, a, za, sa, w, sb, bias, act, outspec,
                pack=L.pack_weights):
    M, K = a.shape
    N = w.shape[1]
    ptr = [drv.put(x) for x in (a, pack(w), L.pack_columns(w, bias),
                                sa, za, sb)]
    so = zo = 0
    out_dtype = np.float32
    if outspec:
        so = drv.put(np.array([outspec[0]], np.float32))
        zo = drv.put(np.array([outspec[1]], outspec[2]))
        out_dtype = outspec[2]
    c = drv.alloc(M * N * np.dtype(out_dtype).itemsize)
    args, grid = kernel_launch(
        ptr + [so, zo, c], M, N, K, 1 if sa.size > 1 else 0,
        1 if sb.size > 1 else 0, ACTS[act],
        0 if not outspec else (1 if outspec[2] == np.int8 else 2))
    drv.launch(fn, grid, (256, 1, 1), args, smem_bytes(stages))
    return drv.get(c, (M, N), out_dtype)


def check(args, drv, kernel=None, prefix="qgpu_w8a8_", pack=L.pack_weights):
    module = drv.load(kernel or args.kernel)
    stages = args.stages
    fns = {t: drv.function(module, f"{prefix}{t}", smem_bytes(stages))
           for t in ("u8", "s8")}
    rng = np.random.default_rng(5)
    failures = 0
    for M, K, N, atype, per_col, act, out in CASES:
        a, za, sa, w, sb, bias, outspec = make_case(rng, M, K, N, atype,
                                                    per_col, out)
        ref = L.reference(a, za, sa, w, sb, bias, act, outspec)
        runs = [launch_case(drv, fns[atype], stages, a, za, sa, w, sb, bias,
                            act, outspec, pack) for _ in range(2)]
        got = runs[0]
        same = np.array_equal(runs[0].view(np.uint8), runs[1].view(np.uint8))
        if outspec:
            diff = np.abs(got.astype(np.int64) - ref.astype(np.int64))
            tol = 0 if act in ("none", "relu") else 1
            ok = diff.max() <= tol
            what = f"max |diff| {diff.max()} steps (tol {tol})"
        else:
            diff = np.abs(got.astype(np.float64) - ref.astype(np.float64))
            if act in ("none", "relu"):
                ok = np.array_equal(got.view(np.uint32), ref.view(np.uint32))
                what = f"bit-exact={ok} (max |diff| {diff.max():.3g})"
            else:
                tol = 1e-5 * np.maximum(1, np.abs(ref))
                ok = bool((diff <= tol).all())
                what = f"max |diff| {diff.max():.3g} (tol 1e-5*max(1,|ref|))"
        ok = ok and same and (np.isfinite(got).all() if not outspec else True)
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {prefix}{atype} M={M} K={K} N={N} "
              f"act={act} out={out or 'f32'} per-col={per_col}: {what}, "
              f"rerun identical={same}")
        drv.free_all()
    return failures


def make_timer(reps=50):
    """A timer of GPU work f(): median of `reps` CUDA-event times (ms), each
    after a 256 MiB read that cleans the L2."""
    import torch
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")

    def timed(f):
        times = []
        for _ in range(reps):
            flush.sum()
            s, e = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            s.record()
            f()
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
        return float(np.median(times))
    return timed


FP8_CASES = [(1, 4096, 4096, False), (130, 96, 200, True),
             (256, 1024, 384, True), (1000, 2048, 1024, False)]


def e4m3_bytes(rng, shape):
    """Random E4M3FN bytes without the NaN encodings (0x7F, 0xFF)."""
    b = rng.integers(0, 256, size=shape).astype(np.uint8)
    b[(b & 0x7F) == 0x7F] = 0x38  # 1.0
    return b


def launch_fp8(drv, fn, stages, a, sa, w, sb, so=None):
    """With `so`, the output is the e4m3 quantize of r / so (bytes)."""
    M, K = a.shape
    N = w.shape[1]
    _, Np = L.padded(K, N)
    cols = np.zeros(2 * Np, np.int32)
    ptr = [drv.put(x) for x in (a, L.pack_weights(w.view(np.int8)), cols,
                                sa, sb)]
    pso = drv.put(np.array([so], np.float32)) if so else 0
    c = drv.alloc(M * N * (1 if so else 4))
    args, grid = kernel_launch(
        [ptr[0], ptr[1], ptr[2], ptr[3], 0, ptr[4], pso, 0, c], M, N, K, 0,
        1 if sb.size > 1 else 0, 0, 3 if so else 0)
    drv.launch(fn, grid, (256, 1, 1), args, smem_bytes(stages))
    return drv.get(c, (M, N), np.uint8 if so else np.float32)


def check_fp8(args, drv):
    import ml_dtypes
    module = drv.load(args.fp8_kernel)
    fn = drv.function(module, "qgpu_fp8_e4m3", smem_bytes(args.stages))
    rng = np.random.default_rng(9)
    failures = 0
    for M, K, N, per_col in FP8_CASES:
        a = e4m3_bytes(rng, (M, K))
        w = e4m3_bytes(rng, (K, N))
        sa = np.array([0.013], np.float32)
        sb = ((rng.random(N) * 0.02 + 0.001) if per_col else
              np.array([0.004])).astype(np.float32)
        af = a.view(ml_dtypes.float8_e4m3fn).astype(np.float64)
        wf = w.view(ml_dtypes.float8_e4m3fn).astype(np.float64)
        scale = float(sa[0]) * sb.astype(np.float64)
        ref = (af @ wf) * scale
        bound = 2.0 ** -10 * (np.abs(af) @ np.abs(wf)) * scale + 1e-30
        runs = [launch_fp8(drv, fn, args.stages, a, sa, w, sb)
                for _ in range(2)]
        got = runs[0]
        same = np.array_equal(runs[0].view(np.uint32),
                              runs[1].view(np.uint32))
        ratio = float(np.max(np.abs(got - ref) / bound))
        ok = ratio <= 1 and same and np.isfinite(got).all()
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} fp8 M={M} K={K} N={N} "
              f"per-col={per_col}: max |diff| / bound {ratio:.3f}, rerun "
              f"identical={same}")
        # The e4m3 output (the next layer's quantize, saturating): within
        # one e4m3 step of the reference rounding (a value within the bound
        # above of a rounding boundary may round the other way).
        so = float(np.abs(ref).max()) / 300.0
        q = launch_fp8(drv, fn, args.stages, a, sa, w, sb, so)
        refq = np.clip(ref / so, -448, 448).astype(
            ml_dtypes.float8_e4m3fn).astype(np.float64)
        gotq = q.view(ml_dtypes.float8_e4m3fn).astype(np.float64)
        step = np.maximum(np.abs(refq) / 8, 2.0 ** -9)
        okq = bool((np.abs(gotq - refq) <= step + 1e-12).all())
        failures += not okq
        print(f"{'ok  ' if okq else 'FAIL'} fp8 M={M} K={K} N={N} e4m3 "
              f"output: max |diff| / e4m3 step "
              f"{float(np.max(np.abs(gotq - refq) / step)):.3f} (tol 1)")
        drv.free_all()
    return failures


def targets(what, goal, ratios):
    """Prints the worst and median speed-up of a target's shapes against
    its goal (issue 6); informational, the run does not fail on it."""
    if not ratios:
        return
    worst, median = min(ratios), float(np.median(ratios))
    print(f"target {what}: >= {goal}x wanted, worst x{worst:.2f}, median "
          f"x{median:.2f} over {len(ratios)} shapes: "
          f"{'MET' if worst >= goal else 'NOT MET'}")


def bench_fp8(args, drv):
    """Ours vs cuBLASLt fp8 (torch._scaled_mm, e4m3, f32 out), as bench."""
    import torch
    module = drv.load(args.fp8_kernel)
    fn = drv.function(module, "qgpu_fp8_e4m3", smem_bytes(args.stages))
    timed = make_timer()
    rows = []

    one = torch.ones((), device="cuda")
    for N, K in ((4096, 4096), (11008, 4096), (14336, 4096)):
        w = (torch.randn(K, N, device="cuda") * 0.5).to(torch.float8_e4m3fn)
        packed = torch.from_numpy(L.pack_weights(
            w.view(torch.int8).cpu().numpy())).cuda()
        cols = torch.zeros(2 * L.padded(K, N)[1], dtype=torch.int32,
                           device="cuda")
        wt = w.t().contiguous().t()
        sb = torch.full((N,), 1e-3, device="cuda")
        for M in (16, 128, 512, 2048, 8192):
            a = (torch.randn(M, K, device="cuda") * 0.5).to(
                torch.float8_e4m3fn)
            sa = torch.full((1,), 0.01, device="cuda")
            c = torch.empty((M, N), dtype=torch.float32, device="cuda")
            argv, grid = kernel_launch(
                [a.data_ptr(), packed.data_ptr(), cols.data_ptr(),
                 sa.data_ptr(), 0, sb.data_ptr(), 0, 0, c.data_ptr()],
                M, N, K, 0, 1, 0, 0)
            ours = timed(lambda: drv.launch(fn, grid, (256, 1, 1), argv,
                                            smem_bytes(args.stages),
                                            sync=False))
            lt = timed(lambda: torch._scaled_mm(a, wt, scale_a=one,
                                                scale_b=one,
                                                out_dtype=torch.float32))
            rows.append((N, K, M, ours, lt))
            print(f"fp8 N={N:6d} K={K:6d} M={M:5d}: ours {ours * 1e3:8.1f} "
                  f"us, cuBLASLt fp8 {lt * 1e3:8.1f} us (x{lt / ours:.2f})")
    targets("fp8 at M >= 2048 vs cuBLASLt fp8", 0.9,
            [lt / o for N, K, M, o, lt in rows if M >= 2048])
    if args.out:
        with open(args.out.replace(".csv", "-fp8.csv"), "w") as f:
            f.write(f"# {drv.describe()}; times in ms, median of 50, "
                    "L2 cleaned by a 256 MiB read\n")
            f.write("N,K,M,ours_ms,cublaslt_fp8_ms,speedup_vs_fp8\n")
            for N, K, M, o, lt in rows:
                f.write(f"{N},{K},{M},{o:.5f},{lt:.5f},{lt / o:.3f}\n")
    return 0


def bench(args, drv):
    """Ours vs cuBLASLt int8 (torch._int_mm, i32 out) and cuBLAS fp16, L2
    cleaned by a 256 MiB read before each timed launch, CUDA events,
    median of 50."""
    import torch
    module = drv.load(args.kernel)
    fn = drv.function(module, "qgpu_w8a8_s8", smem_bytes(args.stages))
    fn_wg = None
    if args.wg_kernel:
        fn_wg = drv.function(drv.load(args.wg_kernel), "qgpu_w8a8_wg_s8",
                             smem_bytes(args.stages))
    timed = make_timer()
    rows = []

    for N, K in ((4096, 4096), (11008, 4096), (4096, 11008), (14336, 4096),
                 (28672, 8192)):
        w = torch.randint(-127, 128, (K, N), dtype=torch.int8, device="cuda")
        packed = torch.from_numpy(L.pack_weights(w.cpu().numpy())).cuda()
        packed_wg = torch.from_numpy(L.pack_weights_wg(
            w.cpu().numpy())).cuda() if fn_wg else None
        cols = torch.from_numpy(L.pack_columns(w.cpu().numpy(), None)).cuda()
        wt = w.t().contiguous().t()  # column-major for _int_mm's B
        wh = w.half()
        sb = torch.full((N,), 1e-3, device="cuda")
        for M in (16, 128, 512, 2048, 8192):
            a = torch.randint(-128, 128, (M, K), dtype=torch.int8,
                              device="cuda")
            ah = a.half()
            sa = torch.full((1,), 0.01, device="cuda")
            za = torch.zeros(1, dtype=torch.int8, device="cuda")
            c = torch.empty((M, N), dtype=torch.float32, device="cuda")
            argv, grid = kernel_launch(
                [a.data_ptr(), packed.data_ptr(), cols.data_ptr(),
                 sa.data_ptr(), za.data_ptr(), sb.data_ptr(), 0, 0,
                 c.data_ptr()], M, N, K, 0, 1, 0, 0)
            ours = timed(lambda: drv.launch(fn, grid, (256, 1, 1), argv,
                                            smem_bytes(args.stages),
                                            sync=False))
            wg = float("nan")
            if fn_wg:
                argv_wg = list(argv)
                argv_wg[1] = np.uint64(packed_wg.data_ptr())
                wg = timed(lambda: drv.launch(fn_wg, grid, (256, 1, 1),
                                              argv_wg, smem_bytes(args.stages),
                                              sync=False))
            lt = timed(lambda: torch._int_mm(a, wt))
            f16 = timed(lambda: ah @ wh)
            tops = 2 * M * N * K / ours / 1e9
            rows.append((N, K, M, ours, lt, f16, wg))
            print(f"N={N:6d} K={K:6d} M={M:5d}: ours {ours * 1e3:8.1f} us "
                  f"({tops:6.1f} TOPS), wgmma {wg * 1e3:8.1f} us, cuBLASLt "
                  f"int8 {lt * 1e3:8.1f} us (x{lt / ours:.2f}, wgmma "
                  f"x{lt / wg:.2f}), cuBLAS fp16 {f16 * 1e3:8.1f} us "
                  f"(x{f16 / ours:.2f})")
    big = [r for r in rows if r[2] >= 2048]
    targets("int8 (mma.sync) at M >= 2048 vs cuBLASLt int8", 0.9,
            [lt / o for N, K, M, o, lt, f16, wg in big])
    targets("int8 (mma.sync) at M >= 2048 vs cuBLAS fp16", 1.6,
            [f16 / o for N, K, M, o, lt, f16, wg in big])
    if fn_wg:
        targets("int8 (wgmma) at M >= 2048 vs cuBLASLt int8", 0.9,
                [lt / wg for N, K, M, o, lt, f16, wg in big])
        targets("int8 (wgmma) at M >= 2048 vs cuBLAS fp16", 1.6,
                [f16 / wg for N, K, M, o, lt, f16, wg in big])
    if args.out:
        with open(args.out, "w") as f:
            f.write(f"# {drv.describe()}; times in ms, median of 50, "
                    "L2 cleaned by a 256 MiB read\n")
            f.write("N,K,M,ours_ms,cublaslt_int8_ms,cublas_fp16_ms,"
                    "speedup_vs_int8,speedup_vs_fp16,wgmma_ms,"
                    "wgmma_speedup_vs_int8,wgmma_speedup_vs_fp16\n")
            for N, K, M, o, lt, f16, wg in rows:
                f.write(f"{N},{K},{M},{o:.5f},{lt:.5f},{f16:.5f},"
                        f"{lt / o:.3f},{f16 / o:.3f},{wg:.5f},"
                        f"{lt / wg:.3f},{f16 / wg:.3f}\n")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True, help="PTX or cubin file")
    ap.add_argument("--stages", type=int, default=4)
    ap.add_argument("--fp8-kernel", help="PTX of qgpu_fp8_e4m3 (sm_89+)")
    ap.add_argument("--wg-kernel",
                    help="PTX of qgpu_w8a8_wg_{u8,s8} (sm_90a warpgroup MMA)")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--out", default=None, help="raw benchmark results (csv)")
    args = ap.parse_args()
    drv = cuda_driver.open_device()
    if drv is None:
        return 0
    failures = check(args, drv)
    if args.fp8_kernel:
        failures += check_fp8(args, drv)
    if args.wg_kernel:
        failures += check(args, drv, args.wg_kernel, "qgpu_w8a8_wg_",
                          L.pack_weights_wg)
    if args.bench:
        try:
            import torch  # noqa: F401
        except ImportError as e:
            print(f"--bench needs PyTorch with CUDA ({e})")
            return 1
        failures += bench(args, drv)
        if args.fp8_kernel:
            failures += bench_fp8(args, drv)
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
