#!/usr/bin/env python3
"""Runs QuantOpt's fused dynamic quantization kernels (PTX emitted by the
compiler from test/Conversion/QNNToGPU/convert-qnn-to-gpu-dynq.mlir:
qgpu_dynq_rows per token, qgpu_dynq_partials + qgpu_dynq_tensor per
tensor) on the GPU through the CUDA driver API, against the ONNX reference
implementation of DynamicQuantizeLinear (onnx.reference), applied to the
whole tensor or to each row.

Tolerance: exact. min/max are exact in any order, the scale is one IEEE
subtraction and division, and rounding is half to even on both sides, so
scale, zero point and every quantized byte must be bit-identical. An
all-zero row has scale 0 (ONNX leaves the quotients undefined there); the
kernel, like the CPU lowering, gives zero point 0 and bytes 0, checked
separately. Each case runs twice and must give identical bytes.

With --e4m3-kernel (PTX from convert-qnn-to-gpu-dynq-fp8.mlir, sm_89+), the
float8 E4M3FN kernels (qgpu_dynq_rows_e4m3, qgpu_dynq_partials +
qgpu_dynq_tensor_e4m3) run on the same cases and on NaN, infinity and
saturation rows. Reference: the scale max|x| / 448 (1 where that is 0)
by numpy in f32, and the bytes by onnx.reference's QuantizeLinear to
float8e4m3fn with that scale (saturate=1). Exact: every scale bit and
byte; where the reference is NaN (of either sign) the byte must be the
canonical 0x7F, as the CPU lowering writes it.

Without a GPU it prints SKIPPED and exits 0.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cuda_driver  # noqa: E402

SMEM = 64
MAX_PARTS = 1024


def onnx_dql(x):
    """ONNX DynamicQuantizeLinear by the onnx package's reference
    implementation: (y, scale, zero point)."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    node = helper.make_node("DynamicQuantizeLinear", ["x"], ["y", "s", "z"])
    g = helper.make_graph(
        [node], "dql", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                      None)],
        [helper.make_tensor_value_info(n, t, None) for n, t in
         (("y", TensorProto.UINT8), ("s", TensorProto.FLOAT),
          ("z", TensorProto.UINT8))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    y, s, z = ReferenceEvaluator(m).run(None, {"x": x})
    return y, np.float32(s), np.uint8(z)


def onnx_e4m3(x, scale):
    """onnx.reference QuantizeLinear(x, scale, 0 as float8e4m3fn,
    saturate=1) as bytes; scale per row ([rows]) or a scalar."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator
    scale = np.asarray(scale, np.float32)
    zshape = list(scale.shape)
    z = helper.make_tensor("z", TensorProto.FLOAT8E4M3FN, zshape,
                           [0.0] * int(np.prod(zshape, dtype=np.int64)))
    node = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["y"],
                            axis=0, saturate=1)
    g = helper.make_graph(
        [node], "q8", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                     None),
                       helper.make_tensor_value_info("s", TensorProto.FLOAT,
                                                     None)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT8E4M3FN, None)],
        initializer=[z])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 19)])
    with np.errstate(all="ignore"):
        y, = ReferenceEvaluator(m).run(None, {"x": x, "s": scale})
    return np.asarray(y).view(np.uint8)


def e4m3_scale(amax):
    s = (np.asarray(amax, np.float32) / np.float32(448)).astype(np.float32)
    return np.where(s == 0, np.float32(1), s).astype(np.float32)


def same_e4m3(got, ref):
    """Bytes equal; where the reference is NaN (either sign), the kernel's
    byte is the canonical 0x7F (as the CPU lowering's)."""
    nan_r = (ref & 0x7F) == 0x7F
    return np.where(nan_r, got == 0x7F, got == ref)


def same_f32(a, b):
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return (np.isnan(a) & np.isnan(b)) | (a.view(np.uint32) ==
                                          b.view(np.uint32))


def per_token(drv, fn, x):
    rows, cols = x.shape
    px = drv.put(x)
    q, s, z = drv.alloc(max(x.size, 1)), drv.alloc(4 * rows), drv.alloc(rows)
    drv.launch(fn, (max(rows, 1), 1, 1), (256, 1, 1),
               [np.uint64(px), np.uint64(q), np.uint64(s), np.uint64(z),
                np.int32(rows), np.int32(cols)], SMEM)
    return (drv.get(q, x.shape, np.uint8), drv.get(s, (rows,), np.float32),
            drv.get(z, (rows,), np.uint8))


def per_tensor(drv, fns, x):
    n = x.size
    parts = min(max(-(-n // 256), 1), MAX_PARTS)
    blocks = min(max(-(-n // 1024), 1), 65535)
    px = drv.put(x)
    p = drv.alloc(8 * MAX_PARTS)
    q, s, z = drv.alloc(max(n, 1)), drv.alloc(4), drv.alloc(1)
    drv.launch(fns[0], (parts, 1, 1), (256, 1, 1),
               [np.uint64(px), np.uint64(p), np.int64(n)], SMEM)
    drv.launch(fns[1], (blocks, 1, 1), (256, 1, 1),
               [np.uint64(px), np.uint64(p), np.uint64(q), np.uint64(s),
                np.uint64(z), np.int64(n), np.int32(parts)], SMEM)
    return (drv.get(q, x.shape, np.uint8), drv.get(s, (1,), np.float32)[0],
            drv.get(z, (1,), np.uint8)[0])


def cases(rng):
    """(label, x [rows, cols] f32)."""
    yield "mixed signs", rng.standard_normal((37, 300)).astype(np.float32)
    yield "one row, long", (3 * rng.standard_normal((1, 8192))).astype(
        np.float32)
    yield "positive only", rng.random((5, 64)).astype(np.float32) + 0.5
    yield "negative only", -rng.random((9, 48)).astype(np.float32) - 0.25
    x = rng.standard_normal((130, 96)).astype(np.float32)
    x[7] = 0.0  # an all-zero row
    yield "zero row", x
    # Exact ties: multiples of scale / 2 (the range is [-2.55, 2.55]).
    t = (rng.integers(-255, 256, size=(16, 128)) * 0.01).astype(np.float32)
    t[:, 0], t[:, 1] = -2.55, 2.55
    yield "ties", t
    # Over 1024 * 256 elements: the per-tensor partials grid-stride.
    yield "4M elements", rng.standard_normal((2048, 2048)).astype(np.float32)
    yield "not a multiple of 256", rng.standard_normal((3, 7)).astype(
        np.float32)


def e4m3_cases(rng):
    yield from cases(rng)
    x = rng.standard_normal((6, 100)).astype(np.float32)
    x[0, 3] = np.nan  # the row's scale and bytes are NaN
    x[1, 7] = np.inf  # scale inf: finite values / inf = 0, inf / inf NaN
    x[2] *= 1e30
    x[3] *= 1e-38  # subnormal inputs
    x[4, :4] = [448, 1.0625, -1.1875, 2 ** -10]  # scale 1, exact ties
    x[4, 4:] = 0.5
    x[5] = -0.0
    yield "specials", x
    t = np.full((2, 50), 1e-44, np.float32)  # max / 448 underflows: scale 1
    t[1, ::2] = -1e-45
    yield "tiny", t


def check_e4m3(args, drv, report):
    module = drv.load(args.e4m3_kernel)
    rows_fn = drv.function(module, "qgpu_dynq_rows_e4m3", SMEM)
    tensor_fns = (drv.function(module, "qgpu_dynq_partials", SMEM),
                  drv.function(module, "qgpu_dynq_tensor_e4m3", SMEM))
    rng = np.random.default_rng(18)
    for label, x in e4m3_cases(rng):
        runs = [per_token(drv, rows_fn, x) for _ in range(2)]
        q, s, z = runs[0]
        same = (np.array_equal(q, runs[1][0]) and
                bool(same_f32(s, runs[1][1]).all()) and
                np.array_equal(z, runs[1][2]))
        with np.errstate(invalid="ignore"):
            rs = e4m3_scale(np.max(np.abs(x), axis=1))
        rq = onnx_e4m3(x, rs)
        rows_ok = (same_f32(s, rs) & (z == 0) &
                   same_e4m3(q, rq).all(axis=1))
        report(rows_ok.all() and same,
               f"e4m3 per token, {label} {x.shape}: "
               f"{int((~rows_ok).sum())} row(s) differ from numpy scale + "
               f"onnx.reference bytes, rerun identical={same}")
        runs = [per_tensor(drv, tensor_fns, x) for _ in range(2)]
        q, s, z = runs[0]
        same = (np.array_equal(runs[0][0], runs[1][0]) and
                same_f32(runs[0][1], runs[1][1]))
        with np.errstate(invalid="ignore"):
            rs = e4m3_scale(np.max(np.abs(x)))
        rq = onnx_e4m3(x, rs)
        good = same_e4m3(q, rq)
        report(bool(same_f32(s, rs)) and z == 0 and good.all() and same,
               f"e4m3 per tensor, {label} {x.shape}: scale {s!r} vs "
               f"{rs!r}, {int((~good).sum())} byte(s) differ, rerun "
               f"identical={same}")
        drv.free_all()


def check(args, drv):
    module = drv.load(args.kernel)
    rows_fn = drv.function(module, "qgpu_dynq_rows", SMEM)
    tensor_fns = (drv.function(module, "qgpu_dynq_partials", SMEM),
                  drv.function(module, "qgpu_dynq_tensor", SMEM))
    rng = np.random.default_rng(17)
    failures = 0

    def report(ok, what):
        nonlocal failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {what}")

    for label, x in cases(rng):
        # Per token.
        runs = [per_token(drv, rows_fn, x) for _ in range(2)]
        q, s, z = runs[0]
        same = all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1]))
        bad = 0
        for r in range(x.shape[0]):
            if not x[r].any():
                ok = s[r] == 0 and z[r] == 0 and not q[r].any()
            else:
                ry, rs, rz = onnx_dql(x[r])
                ok = (np.float32(s[r]).view(np.uint32) ==
                      rs.view(np.uint32) and z[r] == rz and
                      np.array_equal(q[r], ry))
            bad += not ok
        report(bad == 0 and same,
               f"per token, {label} {x.shape}: {bad} row(s) differ from "
               f"onnx.reference, rerun identical={same}")
        # Per tensor.
        runs = [per_tensor(drv, tensor_fns, x) for _ in range(2)]
        q, s, z = runs[0]
        same = (np.array_equal(runs[0][0], runs[1][0]) and
                runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2])
        ry, rs, rz = onnx_dql(x)
        ok = (np.float32(s).view(np.uint32) == rs.view(np.uint32) and
              z == rz and np.array_equal(q, ry))
        report(ok and same,
               f"per tensor, {label} {x.shape}: scale {s!r} vs {rs!r}, zero "
               f"point {z} vs {rz}, {int((q != ry).sum())} byte(s) differ, "
               f"rerun identical={same}")
        drv.free_all()
    if args.e4m3_kernel:
        check_e4m3(args, drv, report)
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel", required=True, help="PTX or cubin file")
    ap.add_argument("--e4m3-kernel",
                    help="PTX of the e4m3 kernels (sm_89+; optional)")
    args = ap.parse_args()
    drv = cuda_driver.open_device()
    if drv is None:
        return 0
    failures = check(args, drv)
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
