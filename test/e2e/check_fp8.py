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
  3. The fp8 scheme with dynamic activations (--activation-mode=dynamic,
     per tensor and per token) on one MatMul: the run-time scale is
     max|x| / 448 (1 where that is 0) over the tensor or each row.
     Reference: numpy computes those scales and the weight's (max|column|
     / 448) in f32, onnxruntime converts x / scale and w / scale to e4m3
     (QuantizeLinear saturate=1, scale 1) and back, and float64 numpy
     multiplies. Rows cover an all-zero row, a row whose max is 448
     (scale 1) holding exact ties of the e4m3 grid, subnormals, a row
     whose max / 448 underflows to 0, and a 1e30 : 1e-30 spread. Tolerance 1e-5 * (|x_q| @ |w_q|) per output:
     f32 accumulation over K = 64 (< 64 * 2^-24 relative); one e4m3
     rounding step of one element moves an output by about 2^-4 of one
     of its 64 terms, far above it. Then the per-token MLP against the
     float model (relative RMS <= 0.1, as 2).
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


def matmul_model(path, w):
    import onnx
    from onnx import TensorProto as T, helper as h, numpy_helper as nh
    k, n = w.shape
    g = h.make_graph([h.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
                     "fp8_dynamic",
                     [h.make_tensor_value_info("x", T.FLOAT, ["M", k])],
                     [h.make_tensor_value_info("y", T.FLOAT, ["M", n])],
                     initializer=[nh.from_array(w, "w")])
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 19)])
    m.ir_version = 9
    onnx.save_model(m, path)


def ort_e4m3(work, u):
    """e4m3(u) back in f32 by onnxruntime (QuantizeLinear to float8e4m3fn
    with scale 1 and saturate=1, then DequantizeLinear)."""
    path = os.path.join(work, "e4m3_unit.onnx")
    if not os.path.exists(path):
        qdq_model(path, 1, False)
        import onnx
        from onnx import numpy_helper as nh
        m = onnx.load(path)
        for i, t in enumerate(m.graph.initializer):
            if t.name == "s":
                m.graph.initializer[i].CopyFrom(
                    nh.from_array(np.array(1.0, np.float32), "s"))
        onnx.save_model(m, path)
    flat = u.astype(np.float32).reshape(-1)
    return E.ort_run(E.ort_session(path), {"x": flat})["y"].reshape(u.shape)


def dynamic_inputs(rng, k):
    x = rng.standard_normal((9, k)).astype(np.float32) * 3
    x[1] = 0
    # Max 448 (scale exactly 1): exact ties of the e4m3 grid round to even.
    ties = np.array([448, 1.0625, 1.1875, -3.25, 0.0029296875, 2 ** -10,
                     -2 ** -10, 240 + 8, 13.0], np.float32)
    x[2] = 0.5
    x[2, :len(ties)] = ties
    x[3] *= 1e30
    x[3, 5] = 1e-30
    x[4] *= 1e-3
    x[5, ::2] = 2 ** -9 * 448 / 2 ** 7
    # max|x| / 448 underflows to 0 (subnormal inputs): scale 1, bytes 0.
    x[6] = 1e-44
    x[6, ::3] = -1e-45
    return x


def check_dynamic(c, args, work, rng):
    k, n = 64, 48
    w = (rng.standard_normal((k, n)) *
         rng.uniform(0.1, 4, n)).astype(np.float32)
    w[:, 3] = 0  # an all-zero column: the weight scale is 0 there
    path = os.path.join(work, "fp8_dynamic.onnx")
    matmul_model(path, w)
    x = dynamic_inputs(rng, k)
    sw = np.max(np.abs(w), axis=0) / np.float32(448)
    with np.errstate(divide="ignore", invalid="ignore"):
        wq = np.where(sw > 0, ort_e4m3(work, w / sw) * sw, 0)
    for gran in ("per-tensor", "per-token"):
        amax = (np.max(np.abs(x), axis=1, keepdims=True) if gran == "per-token"
                else np.max(np.abs(x)).reshape(1, 1))
        sx = (amax / np.float32(448)).astype(np.float32)
        sx = np.where(sx == 0, np.float32(1), sx).astype(np.float32)
        xq = ort_e4m3(work, x / sx) * sx
        ref = xq.astype(np.float64) @ wq.astype(np.float64)
        tol = 1e-5 * (np.abs(xq).astype(np.float64) @
                      np.abs(wq).astype(np.float64)) + 1e-35
        out = os.path.join(work, f"fp8_dynamic_{gran}.qob")
        E.compile_model(args.quant_compile, path, out, "--scheme=fp8",
                        "--activation-mode=dynamic",
                        f"--activation-granularity={gran}")
        with E.bundle(out) as b:
            got = b.run(x=x)["y"].astype(np.float64)
        bad = int((np.abs(got - ref) > tol).sum())
        c.check(bad == 0 and np.isfinite(got).all(),
                f"fp8 dynamic {gran} MatMul: {got.size} outputs, {bad} "
                f"outside 1e-5 * (|x_q| @ |w_q|) of the onnxruntime-e4m3 "
                f"reference (max |got - ref| / tol "
                f"{float(np.max(np.abs(got - ref) / tol)):.3g})")


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

    # Dynamic activations.
    check_dynamic(c, args, work, rng)
    out = os.path.join(work, "mlp-fp8-per-token.qob")
    E.compile_model(args.quant_compile, mlp, out, "--scheme=fp8",
                    "--activation-mode=dynamic",
                    "--activation-granularity=per-token")
    with E.bundle(out) as b:
        got = b.run(input=x)["probs"]
    d = got.astype(np.float64) - ref
    rel = float(np.sqrt((d * d).mean()) / np.sqrt((ref * ref).mean()))
    c.check(rel <= 0.1, f"fp8 scheme MLP, dynamic per-token activations: "
            f"rms(q - f)/rms(f) = {rel:.4f} (bound 0.1)")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
