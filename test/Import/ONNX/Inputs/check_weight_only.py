#!/usr/bin/env python3
"""Evaluates the qnn.weight_only_matmul ops of fused IR with numpy and
compares with onnxruntime running the original ONNX model.

The IR must be printed with --mlir-print-elementsattrs-with-hex-if-larger=0
and with resource blobs (no elision). Dense i4/ui4 attributes hold one
element per byte (MLIR's storage); resource blobs of i4/ui4 hold two per
byte, the lower index in the low nibble (QuantOpt's documented layout).
Only models whose single output comes from one weight_only_matmul are
handled. Tolerance: rtol = atol = 1e-5 (float32 sums of K products in a
different order than onnxruntime's kernel).

Usage: check_weight_only.py MODEL.onnx FUSED.mlir
"""
import re
import sys

import numpy as np
import onnxruntime as ort

DTYPES = {"f32": np.float32, "i8": np.int8, "ui8": np.uint8}


def decode(raw, elem, shape, packed):
    n = int(np.prod(shape))
    if elem in ("i4", "ui4"):
        b = np.frombuffer(raw, dtype=np.uint8)
        if packed:
            b = np.stack([b & 0xF, b >> 4], axis=-1).reshape(-1)[:n]
        else:
            b = b & 0xF
        v = b.astype(np.int64)
        if elem == "i4":
            v = np.where(v >= 8, v - 16, v)
        return v.reshape(shape)
    v = np.frombuffer(raw, dtype=DTYPES[elem]).astype(np.float64 if elem == "f32" else np.int64)
    if v.size == 1 and n > 1:
        v = np.repeat(v, n)
    return v.reshape(shape)


def main(model_path, mlir_path):
    text = open(mlir_path).read()
    blobs = {k: bytes.fromhex(v)[4:] for k, v in
             re.findall(r'^\s*([\w.]+): "0x([0-9A-F]+)"', text, re.M)}
    consts = {}
    for name, body, ty in re.findall(
            r'(%\w+) = qnn\.constant (dense(?:_resource)?<[^>]*>) : tensor<([^>]*)>', text):
        *dims, elem = ty.split("x")
        shape = [int(d) for d in dims]
        if body.startswith("dense_resource"):
            raw, packed = blobs[body[len("dense_resource<"):-1]], True
        else:
            raw, packed = bytes.fromhex(body[len('dense<"0x'):-2]), False
        consts[name] = decode(raw, elem, shape, packed)
    m = re.search(r"qnn\.weight_only_matmul %\w+, (%\w+), (%\w+)"
                  r"(?: zero_points\((%\w+)\))?(?: bias\((%\w+)\))?"
                  r"(?: \{group_size = (\d+) : i64\})?", text)
    w, s, z, b, group = m.groups()
    w, s = consts[w], consts[s].astype(np.float32)
    z = consts[z] if z else np.zeros_like(s)
    group = int(group or 0)
    if group:
        s = np.repeat(s, group, axis=0)[: w.shape[0]]
        z = np.repeat(z, group, axis=0)[: w.shape[0]]
    wf = ((w.astype(np.float32) - z.astype(np.float32)) * s).astype(np.float32)
    x = np.random.default_rng(0).standard_normal((5, w.shape[0])).astype(np.float32)
    ours = x @ wf
    if b:
        ours = ours + consts[b].astype(np.float32)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    err = float(np.max(np.abs(ours - ref)))
    ok = np.allclose(ours, ref, rtol=1e-5, atol=1e-5)
    print(f"weight-only numerics: {'ok' if ok else 'MISMATCH'} "
          f"(max abs diff {err:.3g} over {ref.size} outputs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
