#!/usr/bin/env python3
"""float8 E4M3FN on the CPU backend.

  1. QuantizeLinear -> DequantizeLinear to float8e4m3fn (opset 19), per
     tensor and per axis, saturate=1 and saturate=0, on values that cover
     normals, subnormals, exact rounding ties, the saturation boundary
     (448, 464, 480), infinities and NaN. Exact (bit for bit, NaN where the
     reference has NaN) against:
       - onnxruntime for saturate=1;
       - the ONNX reference implementation (onnx.reference) for saturate=0:
         onnxruntime maps magnitudes in [464, 480) (and 480 itself) to 448
         there, where the ONNX specification (and its reference) rounds to
         nearest even first and gives NaN past 448 (480 is such a value).
  2. The fp8 scheme (static per-tensor activations, per-channel weights)
     on the MLP: close to the float model (relative RMS error; fp8 E4M3
     has 3 mantissa bits, ~3% per rounding; the bound guards against a
     broken lowering, which gives errors of order 1).
"""

import os
import sys

import numpy as np

import e2e_common as E


def qdq_model(path, saturate, axis_scale):
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh
    if axis_scale:
        s = nh.from_array(np.array([0.5, 0.03125, 3.0], np.float32), "s")
        z = h.make_tensor("z", T.FLOAT8E4M3FN, [3], [0.0, 0.0, 0.0])
        shape = ["N", 3]
    else:
        s = nh.from_array(np.array(0.5, np.float32), "s")
        z = h.make_tensor("z", T.FLOAT8E4M3FN, [], [0.0])
        shape = ["N"]
    q = h.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="q",
                    saturate=saturate, axis=1 if axis_scale else 1)
    dq = h.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="dq",
                     axis=1 if axis_scale else 1)
    g = h.make_graph([q, dq], "fp8_qdq",
                     [h.make_tensor_value_info("x", T.FLOAT, shape)],
                     [h.make_tensor_value_info("y", T.FLOAT, shape)],
                     initializer=[s, z])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 19)])
    m.ir_version = 9
    onnx.save_model(m, path)


def test_values(rng):
    # Exact ties of the E4M3 grid (times the 0.5 scale): midpoints between
    # neighbours, normal and subnormal.
    grid = []
    for e in range(-6, 9):
        for m in range(8):
            grid.append((1 + m / 8) * 2.0 ** e)
    grid += [m * 2.0 ** -9 for m in range(8)]
    grid = np.array(sorted(set(grid)))
    ties = (grid[:-1] + grid[1:]) / 2
    special = [0.0, -0.0, 448, 464, 470, 479.9, 480, 500, 1e9, np.inf,
               -np.inf, np.nan, 2 ** -10, 2 ** -12, 2.0 ** -6, 2 ** -6.5]
    v = np.concatenate([ties, -ties, special, -np.array(special),
                        rng.standard_normal(3000) * 50,
                        rng.standard_normal(1000) * 1e-2,
                        rng.standard_normal(500) * 1e-3])
    return (v * 0.5).astype(np.float32)  # the models' (first) scale


def same(got, ref):
    nan = np.isnan(ref)
    return int(((np.isnan(got) != nan) | (~nan & (got != ref))).sum())


def main():
    args = E.parse_args(__doc__.split("\n")[0])
    import onnx
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    c = E.Checker("e2e-fp8")
    work = args.work_dir
    rng = np.random.default_rng(8)
    x1 = test_values(rng)
    n = len(x1) // 3 * 3
    x2 = x1[:n].reshape(-1, 3) * np.array([1, 1 / 16, 6], np.float32)
    for saturate in (1, 0):
        for axis_scale, x in ((False, x1), (True, x2)):
            label = (f"QDQ float8e4m3fn saturate={saturate} "
                     f"{'per-axis' if axis_scale else 'per-tensor'}")
            path = os.path.join(work, f"qdq_{saturate}_{int(axis_scale)}.onnx")
            qdq_model(path, saturate, axis_scale)
            out = path.replace(".onnx", ".qob")
            E.compile_model(args.quant_compile, path, out)
            with E.bundle(out) as b:
                got = b.run(x=x)["y"]
            if saturate:
                ref = ort.InferenceSession(
                    path, providers=["CPUExecutionProvider"]).run(
                        None, {"x": x})[0]
                who = "onnxruntime"
            else:
                with np.errstate(all="ignore"):
                    ref = ReferenceEvaluator(onnx.load(path)).run(
                        None, {"x": x})[0]
                who = "onnx.reference"
            bad = same(got, ref)
            c.check(bad == 0, f"{label}: {x.size} values, {bad} differ from "
                    f"{who} (exact)")

    # The fp8 scheme on the MLP, static activations.
    mlp = os.path.join(E.ROOT, "examples", "mlp", "model.onnx")
    calib = os.path.join(work, "calib.npz")
    np.savez(calib, input=rng.standard_normal((64, 64)).astype(np.float32))
    out = os.path.join(work, "mlp-fp8.qob")
    E.compile_model(args.quant_compile, mlp, out, "--scheme=fp8",
                    f"--calib-data={calib}")
    x = rng.standard_normal((40, 64)).astype(np.float32)
    ref = E.ort_run(E.ort_session(mlp), {"input": x})["probs"]
    with E.bundle(out) as b:
        got = b.run(input=x)["probs"]
    d = got.astype(np.float64) - ref
    rel = float(np.sqrt((d * d).mean()) / np.sqrt((ref * ref).mean()))
    c.check(rel <= 0.1, f"fp8 scheme MLP: rms(q - f)/rms(f) = {rel:.4f} "
            f"(bound 0.1), argmax agreement "
            f"{(got.argmax(1) == ref.argmax(1)).mean():.2f}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
