#!/usr/bin/env python3
"""CPU check of the 8-bit tensor-core kernel's data layout (ctest
mma8-layout; no GPU needed).

The compiler packs a W8A8 weight at compile time (convert-qnn-to-gpu, the
`<node>.w8a8` and `<node>.w8a8_columns` blobs) and the kernel
(lib/Conversion/QNNToGPU/MMA8Kernel.mlir) reads it through shared memory
into mma.sync.m16n8k32 fragments. This script takes the blobs the compiler
actually emitted, replays every copy and shared-memory load of the kernel
with the addresses the template computes (cp.async of A with its XOR
swizzle and of B, ldmatrix.x4, the 16-byte B loads), interprets the
fragments with the PTX ISA's definition of m16n8k32 ("Matrix Fragments for
mma.m16n8k32": a0 = row g, k 4t..4t+3; a1 = row g+8; a2/a3 = k + 16;
b0 = column g, k 4t..4t+3; b1 = k + 16; c0, c1 = row g, columns 2t, 2t+1;
c2, c3 = row g+8), scatters the accumulators the way the epilogue does,
and compares the i32 result with numpy's A @ (W - zero point), exactly.
The column blob (colsum, bias) is compared with numpy too, and the packed
bytes with the numpy implementation of the documented layout
(mma8_layout.py, which the GPU kernel test packs with).

What it cannot check is the hardware itself (ptxas validity is
e2e-gpu-compile's job; execution is gpu-mma8-kernel's on a GPU).

    check_mma8_layout.py --quant-opt build/bin/quant-opt
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mma8_layout  # noqa: E402


# The warpgroup kernel's descriptor offsets (MMA8WGKernel.mlir).
WG_LBO, WG_SBO = 2048, 128


def run_compiler(quant_opt, K, N, w, zp, bias, lhs_type, wgmma=False):
    wtype = "ui8" if w.dtype == np.uint8 else "i8"
    zpart = ""
    ztypes = ""
    if zp is not None:
        zpart = " rhs_zero_point(%z)"
        ztypes = f", tensor<{N}x{wtype}>"
    rows = ",".join("[" + ",".join(str(int(v)) for v in row) + "]" for row in w)
    src = f"""
func.func @f(%x: tensor<?x{K}x{lhs_type}>, %sa: tensor<f32>, %za: tensor<{lhs_type}>) -> tensor<?x{N}xf32> {{
  %w = qnn.constant dense<[{rows}]> : tensor<{K}x{N}x{wtype}>
  %sb = qnn.constant dense<1.0> : tensor<{N}xf32>
"""
    if zp is not None:
        src += ("  %z = qnn.constant dense<[" +
                ",".join(str(int(v)) for v in zp) +
                f"]> : tensor<{N}x{wtype}>\n")
    src += ("  %b = qnn.constant dense<[" +
            ",".join(str(int(v)) for v in bias) + f"]> : tensor<{N}xi32>\n")
    src += (f"  %0 = qnn.quantized_matmul %x, %w, %sa, %za, %sb{zpart} "
            f"bias(%b) {{activation = \"none\"}} : (tensor<?x{K}x{lhs_type}>, "
            f"tensor<{K}x{N}x{wtype}>, tensor<f32>, tensor<{lhs_type}>, "
            f"tensor<{N}xf32>{ztypes}, tensor<{N}xi32>) -> "
            f"tensor<?x{N}xf32>\n  return %0 : tensor<?x{N}xf32>\n}}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".mlir", delete=False) as f:
        f.write(src)
        path = f.name
    try:
        option = ("--convert-qnn-to-gpu=chip=sm_90 kernel=w8a8-wgmma" if wgmma
                  else "--convert-qnn-to-gpu")
        out = subprocess.run([quant_opt, path, option],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(path)
    if wgmma:
        # The kernel's descriptors carry the offsets the emulation reads
        # with: stride byte offset (M/N) 128 in bits 32-45, leading byte
        # offset (K) 2048 in bits 16-29, each >> 4.
        desc = ((WG_SBO >> 4) << 32) | ((WG_LBO >> 4) << 16)
        assert f"arith.constant {desc} : i64" in out, \
            "the warpgroup kernel's descriptor offsets changed"
    blobs = {}
    for name, hexdata in re.findall(r'(\S+): "0x([0-9A-F]+)"', out):
        data = bytes.fromhex(hexdata)[4:]  # after the alignment word
        blobs[name.split(".")[-1]] = np.frombuffer(data, dtype=np.uint8)
    assert (("qgpu_w8a8_wg_" if wgmma else "qgpu_w8a8_") +
            ("u8" if lhs_type == "ui8" else "s8")) in out, \
        "the matmul did not take the 8-bit kernel"
    return blobs["w8a8"], blobs["w8a8_columns"]


def emulate(A, packed, K, N, Npad, numKT):
    """The kernel's integer result for A [M, K] (uint8 or int8)."""
    M = A.shape[0]
    mtiles = max(1, -(-M // 128))
    C = np.zeros((mtiles * 128, Npad), dtype=np.int64)
    signed_a = A.dtype == np.int8
    lanes = np.arange(32)
    g, t = lanes // 4, lanes % 4
    for mb in range(mtiles):
        for nb in range(Npad // 128):
            acc = np.zeros((8, 32, 64), dtype=np.int64)  # warp, lane, value
            for kt in range(numKT):
                smem = np.zeros(16384, dtype=np.uint8)
                # cp.async of A: chunk c = tid + 256 h -> row c / 4, chunk
                # c % 4 at chunk ^ ((row >> 1) & 3); zero past M and K.
                for c in range(512):
                    row, ch = c // 4, c % 4
                    grow, gk = mb * 128 + row, kt * 64 + ch * 16
                    sw = ch ^ ((row >> 1) & 3)
                    if grow < M and gk < K:
                        smem[row * 64 + sw * 16:row * 64 + sw * 16 + 16] = \
                            A[grow, gk:gk + 16].view(np.uint8)
                base = (nb * numKT + kt) * 8192
                smem[8192:16384] = packed[base:base + 8192]
                for warp in range(8):
                    wm, wn = warp >> 2, warp & 3
                    for ks in range(2):
                        bo = 8192 + ks * 4096 + wn * 1024 + lanes * 16
                        bw = [np.stack([smem[o + h * 512:o + h * 512 + 16]
                                        for o in bo]) for h in range(2)]
                        for mt in range(4):
                            # ldmatrix.x4: lane l gives the address of row
                            # 64 wm + 16 mt + l % 16, chunk 2 ks + l / 16.
                            row = wm * 64 + mt * 16 + (lanes % 16)
                            chunk = 2 * ks + lanes // 16
                            addr = row * 64 + (chunk ^ ((row >> 1) & 3)) * 16
                            # Register q of lane T: matrix q's row T / 4
                            # (address from lane 8q + T / 4), bytes 4 (T % 4).
                            frag = np.zeros((32, 4, 4), dtype=np.uint8)
                            for q in range(4):
                                a = addr[8 * q + g] + 4 * t
                                frag[:, q, :] = np.stack(
                                    [smem[x:x + 4] for x in a])
                            Atile = np.zeros((16, 32), dtype=np.int64)
                            fv = frag.view(np.int8) if signed_a else frag
                            for lane in range(32):
                                gg, tt = lane // 4, lane % 4
                                Atile[gg, 4 * tt:4 * tt + 4] = fv[lane, 0]
                                Atile[gg + 8, 4 * tt:4 * tt + 4] = fv[lane, 1]
                                Atile[gg, 16 + 4 * tt:20 + 4 * tt] = fv[lane, 2]
                                Atile[gg + 8, 16 + 4 * tt:20 + 4 * tt] = \
                                    fv[lane, 3]
                            for nt in range(4):
                                words = bw[nt // 2][:, 8 * (nt % 2):
                                                    8 * (nt % 2) + 8]
                                words = words.view(np.int8)
                                Btile = np.zeros((32, 8), dtype=np.int64)
                                for lane in range(32):
                                    gg, tt = lane // 4, lane % 4
                                    Btile[4 * tt:4 * tt + 4, gg] = \
                                        words[lane, 0:4]
                                    Btile[16 + 4 * tt:20 + 4 * tt, gg] = \
                                        words[lane, 4:8]
                                D = Atile @ Btile
                                e = 16 * mt + 4 * nt
                                acc[warp, :, e + 0] += D[g, 2 * t]
                                acc[warp, :, e + 1] += D[g, 2 * t + 1]
                                acc[warp, :, e + 2] += D[g + 8, 2 * t]
                                acc[warp, :, e + 3] += D[g + 8, 2 * t + 1]
            # Epilogue scatter: (mt, nt, r) -> row 64 wm + 16 mt + g +
            # 8 (r / 2), column 32 wn + 8 nt + 2 t + r % 2.
            for warp in range(8):
                wm, wn = warp >> 2, warp & 3
                for mt in range(4):
                    for nt in range(4):
                        for r in range(4):
                            rows = wm * 64 + mt * 16 + g + 8 * (r // 2)
                            cols = wn * 32 + nt * 8 + 2 * t + r % 2
                            C[mb * 128 + rows, nb * 128 + cols] = \
                                acc[warp, :, 16 * mt + 4 * nt + r]
    return C[:M, :N]


def emulate_wg(A, packed, K, N, Npad, numKT):
    """The warpgroup kernel (MMA8WGKernel.mlir) on the CPU: the cp.async
    copies into its shared-memory image, the matrix descriptors of each
    k32 step (start address, leading byte offset 2048 along K, stride byte
    offset 128 along M/N) read with the PTX ISA's canonical K-major layout
    without swizzle (element (r, k) of a descriptor at start + (r / 8) SBO
    + (r % 8) 16 + (k / 16) LBO + k % 16), the wgmma D fragment (register
    4 i + 2 h + j of thread t: row 16 (t / 32) + (t % 32) / 4 + 8 h,
    column 8 i + 2 (t % 4) + j) and the kernel's scatter to the epilogue."""
    M = A.shape[0]
    mtiles = max(1, -(-M // 128))
    C = np.zeros((mtiles * 128, Npad), dtype=np.int64)
    signed_a = A.dtype == np.int8
    LBO, SBO = WG_LBO, WG_SBO
    r = np.arange(128)
    k = np.arange(32)
    tt = np.arange(128)
    w_, l_ = tt // 32, tt % 32
    for mb in range(mtiles):
        for nb in range(Npad // 128):
            acc = np.zeros((2, 128, 64), dtype=np.int64)
            for kt in range(numKT):
                smem = np.zeros(16384, dtype=np.uint8)
                for c in range(512):
                    row, ch = c // 4, c % 4
                    grow, gk = mb * 128 + row, kt * 64 + ch * 16
                    if grow < M and gk < K:
                        o = ch * 2048 + row * 16
                        smem[o:o + 16] = A[grow, gk:gk + 16].view(np.uint8)
                base = (nb * numKT + kt) * 8192
                smem[8192:16384] = packed[base:base + 8192]
                for wg in range(2):
                    for ks in range(2):
                        def read(start, rows):
                            addr = (start + (rows[:, None] // 8) * SBO +
                                    (rows[:, None] % 8) * 16 +
                                    (k[None, :] // 16) * LBO + k[None, :] % 16)
                            return smem[addr]
                        a = read(ks * 4096 + wg * 1024, r[:64])
                        a = (a.view(np.int8) if signed_a else a).astype(
                            np.int64)
                        b = read(8192 + ks * 4096, r).view(np.int8).astype(
                            np.int64)  # [n, k]
                        D = a @ b.T  # [64, 128]
                        for i in range(16):
                            for h in range(2):
                                for j in range(2):
                                    acc[wg, :, 4 * i + 2 * h + j] += D[
                                        16 * w_ + l_ // 4 + 8 * h,
                                        8 * i + 2 * (l_ % 4) + j]
            for wg in range(2):
                for i in range(16):
                    for h in range(2):
                        for j in range(2):
                            rows = 64 * wg + 16 * w_ + l_ // 4 + 8 * h
                            cols = 8 * i + 2 * (l_ % 4) + j
                            C[mb * 128 + rows, nb * 128 + cols] = \
                                acc[wg, :, 4 * i + 2 * h + j]
    return C[:M, :N]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quant-opt", required=True)
    args = p.parse_args()
    rng = np.random.default_rng(7)
    failures = 0
    cases = [
        # K (multiple of 16, not of 64), N (not of 128), M (two row tiles)
        ("int8 weights, uint8 activations", 96, 200, 130, np.int8, None,
         "ui8"),
        ("uint8 weights with zero point 128, int8 activations", 160, 72, 17,
         np.uint8, 128, "i8"),
    ]
    for label, K, N, M, wdt, zp, lhs in cases:
        if wdt == np.int8:
            w = rng.integers(-128, 128, size=(K, N)).astype(np.int8)
        else:
            w = rng.integers(0, 256, size=(K, N)).astype(np.uint8)
        zpv = None if zp is None else np.full(N, zp, dtype=np.int64)
        bias = rng.integers(-1000, 1000, size=N)
        packed, columns = run_compiler(args.quant_opt, K, N, w, zpv, bias,
                                       lhs)
        Npad = -(-N // 128) * 128
        numKT = -(-K // 64)
        wq = w.astype(np.int64) - (0 if zpv is None else zpv[None, :])
        cols = columns.view(np.int32)
        colsum_ok = np.array_equal(cols[:N], wq.sum(axis=0)) and \
            np.array_equal(cols[Npad:Npad + N], bias) and \
            not cols[N:Npad].any() and not cols[Npad + N:].any()
        if lhs == "ui8":
            A = rng.integers(0, 256, size=(M, K)).astype(np.uint8)
        else:
            A = rng.integers(-128, 128, size=(M, K)).astype(np.int8)
        got = emulate(A, packed, K, N, Npad, numKT)
        ref = A.astype(np.int64) @ wq
        same_bytes = np.array_equal(packed.view(np.int8),
                                    mma8_layout.pack_weights(
                                        wq.astype(np.int8)))
        ok = np.array_equal(got, ref) and colsum_ok and same_bytes
        print(f"{'PASS' if ok else 'FAIL'}: {label}: K={K} N={N} M={M}: "
              f"emulated kernel vs numpy A @ (W - zp) exact "
              f"(max |diff| {np.max(np.abs(got - ref))}), column terms "
              f"{'match' if colsum_ok else 'DIFFER'}, packed bytes "
              f"{'equal' if same_bytes else 'DIFFER from'} mma8_layout.py")
        failures += not ok
        # The sm_90a warpgroup variant of the same matmul.
        packed_wg, columns_wg = run_compiler(args.quant_opt, K, N, w, zpv,
                                             bias, lhs, wgmma=True)
        got = emulate_wg(A, packed_wg, K, N, Npad, numKT)
        same_bytes = np.array_equal(packed_wg.view(np.int8),
                                    mma8_layout.pack_weights_wg(
                                        wq.astype(np.int8)))
        same_cols = np.array_equal(columns_wg, columns)
        ok = np.array_equal(got, ref) and same_bytes and same_cols
        print(f"{'PASS' if ok else 'FAIL'}: {label} (wgmma): emulated "
              f"warpgroup kernel vs numpy exact (max |diff| "
              f"{np.max(np.abs(got - ref))}), packed bytes "
              f"{'equal' if same_bytes else 'DIFFER from'} mma8_layout.py, "
              f"column terms {'same' if same_cols else 'DIFFER'}")
        failures += not ok
    if failures:
        print(f"{failures} case(s) failed")
        return 1
    print("all cases passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
