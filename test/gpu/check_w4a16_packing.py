#!/usr/bin/env python3
"""The compiler's W4A16 weight packing (convert-qnn-to-gpu, C++) against the
numpy implementation of the documented layout (w4a16_layout.py), byte for
byte, for signed and unsigned int4, with and without zero points, group
sizes 32/64/128, per channel and a coarse group of 256, f32 and bf16
activations, and K, N that are
not multiples of the kernel's tiles. Runs without a GPU (ctest
w4a16-packing); the kernel's use of the layout is checked on a GPU by
check_w4a16_kernel.py and check_gpu_models.py.

    check_w4a16_packing.py --quant-opt build/bin/quant-opt
"""

import argparse
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import w4a16_layout as L  # noqa: E402


def dense(values, type_str):
    body = np.array2string(values, separator=",", threshold=1 << 30,
                           max_line_width=1 << 30,
                           formatter={"all": lambda v: repr(v.item())})
    return f"dense<{body}> : {type_str}"


def resources(text):
    """name -> bytes of the builtin dialect resources of a printed module."""
    out = {}
    for name, hexstr in re.findall(r'"?([\w.]+)"?\s*:\s*"0x([0-9A-Fa-f]+)"',
                                   text.split("{-#", 1)[-1]):
        raw = bytes.fromhex(hexstr)
        out[name] = raw[4:]  # leading uint32: the blob's alignment
    return out


def run_case(quant_opt, rng, K, N, group, signed, zp, bf16=False):
    lo, hi = (-8, 7) if signed else (0, 15)
    w = rng.integers(lo, hi + 1, size=(K, N)).astype(np.int64)
    G = 1 if group == 0 else -(-K // group)
    sshape = (N,) if group == 0 else (G, N)
    scales = (rng.random(sshape) * 0.05 + 0.001).astype(np.float32)
    zps = rng.integers(lo, hi + 1, size=sshape).astype(np.int64) if zp else None
    it = "i4" if signed else "ui4"
    ft = "bf16" if bf16 else "f32"
    stype = "x".join(str(d) for d in sshape)
    ops = [f'%w = qnn.constant {dense(w, f"tensor<{K}x{N}x{it}>")}',
           f'%s = qnn.constant {dense(scales, f"tensor<{stype}x{ft}>")}']
    zarg = ""
    if zp:
        ops.append(f'%z = qnn.constant {dense(zps, f"tensor<{stype}x{it}>")}')
        zarg = " zero_points(%z)"
    ztype = f", tensor<{stype}x{it}>" if zp else ""
    attr = f" {{group_size = {group} : i64}}" if group else ""
    src = (f"func.func @f(%x: tensor<?x{K}x{ft}>) -> tensor<?x{N}x{ft}> {{\n  "
           + "\n  ".join(ops) +
           f"\n  %r = qnn.weight_only_matmul %x, %w, %s{zarg}{attr} : "
           f"(tensor<?x{K}x{ft}>, tensor<{K}x{N}x{it}>, tensor<{stype}x{ft}>"
           f"{ztype}) -> tensor<?x{N}x{ft}>\n  return %r : tensor<?x{N}x{ft}>"
           "\n}\n")
    r = subprocess.run([quant_opt, "-", "--convert-qnn-to-gpu"], input=src,
                       capture_output=True, text=True)
    if r.returncode != 0:
        return False, "quant-opt failed: " + r.stderr[-800:]
    blobs = resources(r.stdout)
    got_w = next((v for k, v in blobs.items() if k.endswith("w4a16")), None)
    got_s = next((v for k, v in blobs.items()
                  if k.endswith("w4a16_scales")), None)
    if got_w is None or got_s is None:
        return False, f"no packed blobs in the output ({sorted(blobs)})"

    # The documented layout, from numpy.
    offset = 8 if signed else 0
    u = (w + offset).astype(np.uint8)
    eff = 128 if group == 0 or group % 128 == 0 else group
    kp, _ = L.padded(K, N)
    geff = kp // eff
    src_group = [(q * eff) // group if group else 0 for q in range(geff)]
    s_eff = np.zeros((geff, N), np.float32)
    z_eff = np.zeros((geff, N), np.float32)
    for q in range(geff):
        if q * eff >= K:
            continue  # padding: scale 0 (pack_scales pads past G)
        row = scales if group == 0 else scales[src_group[q]]
        s_eff[q] = row
        z_eff[q] = offset + ((zps if group == 0 else zps[src_group[q]])
                             if zp else 0)
    real = -(-K // eff)
    want_w = L.pack_weights(u).tobytes()
    want_s = L.pack_scales(s_eff[:real], z_eff[:real], eff, bf16).tobytes()
    ok_w, ok_s = got_w == want_w, got_s == want_s
    detail = ""
    if not ok_w:
        a = np.frombuffer(got_w, np.uint32)
        b = np.frombuffer(want_w, np.uint32)
        n = min(a.size, b.size)
        bad = np.nonzero(a[:n] != b[:n])[0]
        detail += (f"weights: {a.size} vs {b.size} words, first mismatch "
                   f"{bad[:1]} ")
    if not ok_s:
        detail += f"scales: {len(got_s)} vs {len(want_s)} bytes"
    return ok_w and ok_s, detail


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quant-opt", required=True)
    args = p.parse_args()
    rng = np.random.default_rng(5)
    cases = [
        # K, N, group, signed, zero points
        (256, 96, 32, True, False),
        (200, 70, 64, False, True),
        (128, 64, 0, True, True),
        (512, 64, 256, False, False),
        (384, 192, 128, True, True),
        (136, 8, 32, False, False),
        # bf16 activations: bf16 scale and 128 + zero point words.
        (256, 96, 64, True, True, True),
        (200, 70, 0, False, False, True),
    ]
    failures = 0
    for case in cases:
        ok, detail = run_case(args.quant_opt, rng, *case)
        failures += not ok
        K, N, g, signed, zp = case[:5]
        elt = "bf16" if len(case) > 5 else "f32"
        print(f"{'ok  ' if ok else 'FAIL'} {elt} K={K} N={N} group={g} "
              f"{'i4' if signed else 'ui4'} zero_points={zp} {detail}")
    print(f"w4a16-packing: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
