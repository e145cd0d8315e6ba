#!/usr/bin/env python3
"""Runs QuantOpt's W4A16 kernel (PTX or cubin emitted by the compiler) on the
GPU through the CUDA driver API (ctypes, cuda_driver.py: only the NVIDIA
driver and numpy are needed), on weights packed by the numpy implementation
of the documented layout (w4a16_layout.py), and checks it against a float64
numpy reference of the same quantized math. --bench (and --once, for
profilers) use CuPy: its cuBLAS matmul is the peer.

Tolerance: the kernel multiplies f16 operands exactly and accumulates in f32
on the tensor cores, then rounds to f16; the reference is float64 of the
same f16 operands. |out - ref| <= 2e-3 * max|ref| + 1 f16 ulp of |ref|
covers f32 accumulation over K <= 16384 and the final f16 rounding.

Without a GPU (no libcuda.so.1, no device) it prints SKIPPED and exits 0.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuda_driver  # noqa: E402
import w4a16_layout as L  # noqa: E402

KERNEL = "qgpu_w4a16_f16"
KERNEL_BF16 = "qgpu_w4a16_bf16"


STAGE_BYTES = 9216


def split_k(n_blocks, num_kt, sms, mult=4):
    """The compiler's split-K choice (docs/GPUBackend.md): at least `mult`
    blocks per SM at M = 1."""
    want = max(1, -(-mult * sms // n_blocks))
    s = min(want, num_kt)
    per = -(-num_kt // s)
    return -(-num_kt // per), per


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True, help="PTX or cubin file")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--out", default=None, help="write raw results here")
    ap.add_argument("--stages", type=int, default=4,
                    help="pipeline depth the kernel was built with")
    ap.add_argument("--carveout", type=int, default=None,
                    help="preferred shared memory carveout (percent)")
    ap.add_argument("--once", default=None, metavar="N,K,M",
                    help="launch once on this shape (for profilers) and exit")
    ap.add_argument("--split-mult", default="4",
                    help="comma-separated blocks-per-SM targets to time")
    ap.add_argument("--bench-m", default="1,4,16,64",
                    help="comma-separated M values --bench times")
    return ap.parse_args()


CASES = [
    # M, K, N, group, signed, zp, bias, force_split[, bf16]
    (1, 4096, 4096, 128, True, False, False, None),
    (1, 4096, 4096, 32, False, True, True, None),
    (3, 1024, 192, 64, True, True, False, None),
    (16, 2048, 1000, 128, False, True, True, None),
    (17, 520, 72, 32, True, False, True, None),
    (64, 4096, 512, 128, True, True, False, None),
    (5, 11008, 256, 128, False, False, False, None),
    (1, 4096, 4096, 128, True, True, True, 7),
    (100, 256, 128, 64, True, True, True, None),
]
BF16_CASES = [(1, 4096, 4096, 128, True, False, True, None, True),
              (7, 1024, 200, 32, False, True, False, None, True),
              (33, 2048, 512, 64, True, True, True, None, True)]


def random_weights(rng, K, N, group, signed, zp, bias):
    """Random nibbles [K, N], scales and zero points [K/group, N] (8 or 0
    without zero points, for signed or unsigned int4) and an optional
    bias [N]."""
    u = rng.integers(0, 16, size=(K, N)).astype(np.uint8)
    G = -(-K // group)
    scales = (rng.random((G, N)) * 0.02 + 0.001).astype(np.float32)
    if zp:
        zero = rng.integers(0, 16, size=(G, N)).astype(np.float32)
    else:
        zero = np.full((G, N), 8.0 if signed else 0.0, np.float32)
    b = rng.standard_normal(N).astype(np.float32) if bias else None
    return u, scales, zero, b


def grid_of(M, K, N, sms, force_split=None, mult=4):
    """Grid, split count and k-tiles per split, as the compiler computes
    them (convert-qnn-to-gpu)."""
    kp, np_ = L.padded(K, N)
    num_kt = kp // L.BK
    nb = np_ // L.BN
    mt = max(1, -(-M // 16))
    s, per = split_k(nb, num_kt, sms, mult)
    if mt > 4 or nb * 4 > 4096:
        s, per = 1, num_kt
    if force_split:
        per = -(-num_kt // force_split)
        s = -(-num_kt // per)
    return (nb, s, mt), s, per, num_kt, np_


def check(args, drv):
    """The numerics checks, through the driver API."""
    smem = args.stages * STAGE_BYTES + 16
    module = drv.load(args.kernel)
    fns = {}
    for bf16, name in ((False, KERNEL), (True, KERNEL_BF16)):
        try:
            fns[bf16] = drv.function(module, name, smem)
        except cuda_driver.CudaError:
            continue  # the PTX may hold only one variant
    sms = drv.sm_count()
    rng = np.random.default_rng(1)
    cases = CASES + (BF16_CASES if True in fns else [])
    failures = 0
    for case in cases:
        M, K, N, group, signed, zp, bias, force = case[:8]
        bf16 = len(case) > 8 and case[8]
        u, scales, zero, b = random_weights(rng, K, N, group, signed, zp,
                                            bias)
        a = rng.standard_normal((M, K)).astype(np.float32)
        ref = L.reference(a, u, scales, zero, group, b, bf16)
        grid, used, per, num_kt, np_ = grid_of(M, K, N, sms, force)
        w_d = drv.put(L.pack_weights(u))
        s_d = drv.put(L.pack_scales(scales, zero, group, bf16))
        a_d = drv.put(L.to_bf16_bits(a) if bf16 else a.astype(np.float16))
        b_d = drv.put(b) if b is not None else 0
        ws_d = drv.alloc(4 * num_kt * grid[2] * 16 * np_)
        nan_bits = 0x7FC0 if bf16 else 0x7E00
        outs = []
        for _ in range(2):  # the second run reuses the split-K counters
            c_d = drv.alloc(2 * M * N)
            drv.fill16(c_d, nan_bits, M * N)  # poison
            drv.launch(fns[bf16], grid, (128, 1, 1),
                       [np.uint64(a_d), np.uint64(w_d), np.uint64(s_d),
                        np.uint64(b_d), np.uint64(c_d), np.uint64(ws_d),
                        np.int32(M), np.int32(N), np.int32(K), np.int32(np_),
                        np.int32(per), np.int32(num_kt),
                        np.int32(int(np.log2(group))),
                        np.int32(1 if b is not None else 0)], smem)
            outs.append(drv.get(c_d, (M, N), np.uint16))
        bits = outs[0]
        out = (L.from_bf16_bits(bits) if bf16 else
               bits.view(np.float16).astype(np.float32)).astype(np.float64)
        err = np.abs(out - ref)
        # f32 accumulation in another order, one final rounding (half an
        # ulp: 2^-11 relative for f16, 2^-9 for bf16; twice that allowed).
        ulp = 2.0 ** (-8 if bf16 else -10)
        tol = 2e-3 * np.abs(ref).max() + np.abs(ref) * ulp
        same = bool((outs[1] == bits).all())
        ok = bool(np.isfinite(out).all() and (err <= tol).all()) and same
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {'bf16' if bf16 else 'f16 '} M={M} "
              f"K={K} N={N} g={group} signed={signed} zp={zp} bias={bias} "
              f"split={used}: max err {err.max():.3g} (tol "
              f"{tol.min():.3g}..{tol.max():.3g}), rerun identical={same}")
        drv.free_all()
    return failures


def main():
    args = parse_args()
    drv = cuda_driver.open_device()
    if drv is None:
        return 0
    failures = 0 if args.once else check(args, drv)
    if args.bench or args.once:
        try:
            import cupy  # noqa: F401
        except ImportError as e:
            print(f"--bench and --once need CuPy ({e})")
            return 1
        failures += cupy_main(args)
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


def cupy_main(args):
    """--once (a few launches for a profiler) and --bench (against cuBLAS),
    through CuPy."""
    import cupy as cp

    mod = cp.RawModule(path=args.kernel)
    smem = args.stages * STAGE_BYTES + 16
    fns = {}
    for bf16, name in ((False, KERNEL), (True, KERNEL_BF16)):
        try:
            fns[bf16] = mod.get_function(name)
        except Exception:  # noqa: BLE001 - the PTX may hold only one
            continue
        fns[bf16].max_dynamic_shared_size_bytes = smem
        if args.carveout is not None:
            fns[bf16].preferred_shared_memory_carveout = args.carveout
    fn = fns[False]
    props = cp.cuda.runtime.getDeviceProperties(0)
    sms = props["multiProcessorCount"]
    rng = np.random.default_rng(1)

    def prepare(K, N, group, signed, with_zp, bias, bf16=False):
        u, scales, zero, b = random_weights(rng, K, N, group, signed,
                                            with_zp, bias)
        words = L.pack_weights(u)
        sw = L.pack_scales(scales, zero, group, bf16)
        return u, scales, zero, b, cp.asarray(words), cp.asarray(sw)

    def launch(a_d, w_d, s_d, b_d, c_d, ws_d, M, K, N, group, force_split=None,
               stream=None, mult=4, bf16=False):
        grid, s, per, num_kt, np_ = grid_of(M, K, N, sms, force_split, mult)
        log2g = int(np.log2(group))
        fns[bf16](grid, (128, 1, 1),
           (np.uint64(a_d.data.ptr), np.uint64(w_d.data.ptr),
            np.uint64(s_d.data.ptr),
            np.uint64(b_d.data.ptr if b_d is not None else 0),
            np.uint64(c_d.data.ptr), np.uint64(ws_d.data.ptr),
            np.int32(M), np.int32(N), np.int32(K), np.int32(np_),
            np.int32(per), np.int32(num_kt), np.int32(log2g),
            np.int32(1 if b_d is not None else 0)), stream=stream,
           shared_mem=smem)
        return s

    if args.once:
        N, K, M = (int(v) for v in args.once.split(","))
        u, scales, zero, b, w_d, s_d = prepare(K, N, 128, True, False, False)
        a_d = cp.asarray(rng.standard_normal((M, K)).astype(np.float16))
        c_d = cp.empty((M, N), np.float16)
        kp, np_ = L.padded(K, N)
        ws_d = cp.empty((kp // L.BK) * 4 * 16 * np_, np.float32)
        for _ in range(3):
            launch(a_d, w_d, s_d, None, c_d, ws_d, M, K, N, 128)
        cp.cuda.runtime.deviceSynchronize()
        return 0

    if args.bench:
        mults = [int(m) for m in args.split_mult.split(",")]
        bench(cp, fn, launch, prepare, sms, args.out, mults,
              [int(m) for m in args.bench_m.split(",")])
    return 0


def bench(cp, fn, launch, prepare, sms, out_path, mults, ms):
    """Our kernel vs cuBLAS fp16 GEMM (cupy.matmul) in this process; L2
    flushed before every timed launch by reading (not writing: dirty lines
    would be written back during the timed kernel) a 256 MiB buffer; median
    of 50 event-timed runs."""
    flush = cp.ones(64 << 20, np.int32)
    shapes = [(4096, 4096), (11008, 4096), (4096, 11008), (14336, 4096),
              (28672, 8192)]
    rows = []

    def timed(f, reps=50):
        ts = []
        for _ in range(5):
            f()
        for _ in range(reps):
            flush.sum()
            e0, e1 = cp.cuda.Event(), cp.cuda.Event()
            e0.record()
            f()
            e1.record()
            ts.append((e0, e1))
        cp.cuda.runtime.deviceSynchronize()
        return float(np.median([cp.cuda.get_elapsed_time(a, b) for a, b in ts]))

    # Device-to-device copy bandwidth (bytes read + written).
    big = cp.empty(1 << 30, np.uint8)
    big2 = cp.empty(1 << 30, np.uint8)
    tcopy = timed(lambda: big2.__setitem__(Ellipsis, big), 10)
    bw = 2 * (1 << 30) / (tcopy * 1e-3)
    del big, big2
    print(f"device-to-device copy: {bw / 1e9:.0f} GB/s (read + write)")
    for (N, K) in shapes:
        u, scales, zero, b, w_d, s_d = prepare(K, N, 128, True, False, False)
        for M in ms:
            a = cp.asarray(np.random.default_rng(0).standard_normal((M, K)),
                           dtype=cp.float16)
            kp, np_ = L.padded(K, N)
            ws = cp.empty((kp // L.BK) * 4 * 16 * np_, np.float32)
            c = cp.empty((M, N), np.float16)
            t_all = {mu: timed(lambda: launch(a, w_d, s_d, None, c, ws, M, K,
                                              N, 128, mult=mu))
                     for mu in mults}
            t_ours = t_all[mults[0]]
            if len(mults) > 1:
                print("   split targets: " + ", ".join(
                    f"{mu}/SM {t*1e3:.1f} us" for mu, t in t_all.items()))
            wf = cp.asarray(np.random.default_rng(0).standard_normal((K, N)),
                            dtype=cp.float16)
            t_cublas = timed(lambda: cp.matmul(a, wf))
            wbytes = w_d.nbytes + s_d.nbytes
            gbs = wbytes / (t_ours * 1e-3) / 1e9
            rows.append((N, K, M, t_ours, t_cublas, t_cublas / t_ours, gbs,
                         gbs * 1e9 / bw))
            print(f"N={N:6d} K={K:6d} M={M:5d}: ours {t_ours*1e3:8.1f} us  "
                  f"cuBLAS fp16 {t_cublas*1e3:8.1f} us  speedup "
                  f"{t_cublas/t_ours:5.2f}x  weights {gbs:6.0f} GB/s "
                  f"({100*gbs*1e9/bw:4.0f}% of copy)")
            del wf
    if out_path:
        import datetime
        props = cp.cuda.runtime.getDeviceProperties(0)
        driver = cp.cuda.runtime.driverGetVersion()
        with open(out_path, "w") as f:
            f.write(f"# device {props['name'].decode()}, {sms} SMs, CUDA "
                    f"driver API {driver}, "
                    f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
                    f"copy bandwidth {bw / 1e9:.0f} GB/s (read + write)\n")
            f.write("N,K,M,ours_ms,cublas_fp16_ms,speedup,weight_GBps,"
                    "fraction_of_copy_bw\n")
            for r in rows:
                f.write(",".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    sys.exit(main())
