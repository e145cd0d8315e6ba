#!/usr/bin/env python3
"""Already-quantized ONNX models (--scheme float) against onnxruntime.

  1. QDQ transformer from onnxruntime.quantization.quantize_static
     (make_model.py qdq: per-channel int8 weights, asymmetric int8
     activations, static shape [1, 8, 32]).
     Reference: ORT with graph optimizations DISABLED, which executes every
     QuantizeLinear/DequantizeLinear/MatMul as the ONNX spec defines them.
     Tolerance: exact (0). Our integer kernels must reproduce ONNX
     semantics bit for bit: the integer accumulator is exact, and the
     float epilogue performs the same operations in the same order as
     DequantizeLinear -> MatMul (f32) computes, so the difference must be
     0 (measured: 0 on every input).
     Also reported, not asserted: ORT with all optimizations, whose fused
     QLinear kernels requantize with a different rounding; through two
     layers, softmax and residuals that grows to ~0.3-0.8 absolute (5-15%
     relative RMS) on this model, and ORT unoptimized differs from ORT
     optimized by exactly the same amount.
  2. quantize_dynamic models (DynamicQuantizeLinear + MatMulInteger + Cast +
     Mul): an MLP (per-tensor and per-channel weights) and the transformer
     (its attention MatMuls, activation x activation, are quantized on both
     sides too), weights with reduce_range; reference ORT, optimizations
     disabled, tolerance TOL_DYNAMIC. And an MLP with full-range per-channel
     weights against numpy's evaluation of the ONNX semantics, exactly (ORT
     is reported only: its AVX2 kernel saturates, see TOL_DYNAMIC).
  3. com.microsoft MatMulNBits (4-bit): make_model's model (K=64, N=32,
     block 32) and larger ones (K=256, N=96, blocks 32 and 128, with and
     without zero points, 2-D and 3-D activations, K not a multiple of the
     block). Reference: ORT with default options (accuracy_level 0:
     dequantize to f32, then sgemm). Tolerance 1e-5 * max|ref|: both sides
     dequantize with one f32 rounding of (q - zp) * scale, so only the f32
     summation order differs (K <= 256: ~K * 2^-24 relative worst case
     ~1.5e-5 of sum|a*w|, observed ~1e-6).
"""

import os
import sys

import numpy as np

import e2e_common as E

# quantize_dynamic: the integer accumulation is exact on both sides, and the
# epilogue rounds the same way (ORT: float(acc) * (sa * sb); our kernel runs
# with unit weight scales and multiplies by the same run-time product), so
# the outputs agree to an ulp or two of f32 (measured: 0 for the MLPs,
# 4.8e-7 for the transformer, whose LayerNorm/softmax/erf differ by ulps).
# An ulp can in principle move a value across a rounding boundary of the
# next DynamicQuantizeLinear and change one integer by one step; the inputs
# are seeded, so that would be deterministic. Tolerance 1e-5 * max|ref|.
#
# The weights are quantized with reduce_range=True (7-bit): with full-range
# int8 weights ORT's AVX2 u8s8 GEMM (vpmaddubsw) saturates its 16-bit pair
# sums and is not the ONNX reference (docs/CPUBackend.md); that case is
# compared with a numpy evaluation of the ONNX semantics instead, exactly.
TOL_DYNAMIC = 1e-5


def rel_rms(a, b):
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b ** 2)))


def qdq_tests(args, c, rng):
    import onnx
    import make_model

    work = args.work_dir
    path = os.path.join(work, "qdq.onnx")
    onnx.save_model(make_model.build_qdq(), path)
    out = os.path.join(work, "qdq.qob")
    E.compile_model(args.quant_compile, path, out)
    plain = E.ort_session(path, optimized=False)
    fused = E.ort_session(path, optimized=True)
    E.log("QDQ transformer (quantize_static, int8 per-channel) vs ORT:")
    with E.bundle(out) as b:
        for i in range(6):
            x = (rng.standard_normal((1, 8, 32)) * (0.5 + 0.5 * i)).astype(
                np.float32)
            got = b.run(x=x)["y"]
            ref = E.ort_run(plain, {"x": x})["y"]
            E.compare(c, f"qdq sample {i} vs ORT (no graph optimizations), "
                      "exact", got, ref, 0.0)
            # Reported only: ORT's optimized graph (fused QLinear kernels)
            # is not the ONNX reference; it differs from ORT unoptimized by
            # exactly as much as from us.
            opt = E.ort_run(fused, {"x": x})["y"]
            E.log(f"       (info) sample {i} vs ORT optimized: max|diff| = "
                  f"{E.max_abs(got, opt):.3g}, rms rel "
                  f"{rel_rms(got, opt):.3g}; ORT unoptimized vs ORT "
                  f"optimized: max|diff| = {E.max_abs(ref, opt):.3g}")


def qdq_dynamic_tests(args, c, rng):
    """The same QDQ transformer with symbolic batch and sequence dims: one
    bundle for every shape, attention on the batched int8 kernel."""
    import onnx
    import make_model

    work = args.work_dir
    path = os.path.join(work, "qdq_dynamic.onnx")
    onnx.save_model(make_model.build_qdq(dynamic=True), path)
    out = os.path.join(work, "qdq_dynamic.qob")
    E.compile_model(args.quant_compile, path, out)
    plain = E.ort_session(path, optimized=False)
    E.log("QDQ transformer with dynamic batch and sequence vs ORT:")
    with E.bundle(out) as b:
        for shape in [(1, 8), (2, 5), (3, 11)]:
            x = rng.standard_normal((*shape, 32)).astype(np.float32)
            got = b.run(x=x)["y"]
            ref = E.ort_run(plain, {"x": x})["y"]
            E.compare(c, f"qdq dynamic {shape} vs ORT (no graph "
                      "optimizations), exact", got, ref, 0.0)


def _mlp_matmul(path, k=64, hidden=96, n=24, seed=21):
    """X[batch, k] -> MatMul+Add -> Relu -> MatMul+Add -> Y (dynamic batch)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((k, hidden)) / np.sqrt(k)).astype(np.float32)
    b1 = (0.1 * rng.standard_normal(hidden)).astype(np.float32)
    w2 = (rng.standard_normal((hidden, n)) / np.sqrt(hidden)).astype(np.float32)
    b2 = (0.1 * rng.standard_normal(n)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["X", "w1"], ["mm1"], name="fc1"),
        helper.make_node("Add", ["mm1", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu"),
        helper.make_node("MatMul", ["r1", "w2"], ["mm2"], name="fc2"),
        helper.make_node("Add", ["mm2", "b2"], ["Y"], name="fc2_bias"),
    ]
    g = helper.make_graph(
        nodes, "mlp_dyn",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", n])],
        initializer=[numpy_helper.from_array(a, nm) for nm, a in
                     (("w1", w1), ("b1", b1), ("w2", w2), ("b2", b2))])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 10
    onnx.save_model(m, path)


def _dql(x):
    """ONNX DynamicQuantizeLinear (uint8)."""
    lo = min(float(x.min()), 0.0)
    hi = max(float(x.max()), 0.0)
    scale = np.float32((np.float32(hi) - np.float32(lo)) / np.float32(255))
    zp = np.uint8(np.clip(np.round(np.float32(-lo) / scale), 0, 255))
    q = np.clip(np.round(x / scale) + zp, 0, 255).astype(np.uint8)
    return q, scale, zp


def _numpy_dynamic_mlp(model, x):
    """The quantize_dynamic MLP evaluated with ONNX semantics in numpy:
    DynamicQuantizeLinear, exact int32 MatMulInteger, Cast, Mul by
    (sa * sb), Add, Relu."""
    from onnx import numpy_helper

    w = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}

    def layer(h, name, bias):
        q, s, zp = _dql(h)
        acc = ((q.astype(np.int64) - int(zp)) @
               (w[name + "_quantized"].astype(np.int64) -
                w[name + "_zero_point"].astype(np.int64)))
        return acc.astype(np.int32).astype(np.float32) * (
            s * w[name + "_scale"]) + w[bias]

    return layer(np.maximum(layer(x, "w1", "b1"), 0), "w2", "b2")


def dynamic_tests(args, c, rng):
    import onnx
    import make_model
    from onnxruntime.quantization import QuantType, quantize_dynamic

    work = args.work_dir
    cases = []
    fmlp = os.path.join(work, "mlp_float.onnx")
    _mlp_matmul(fmlp)
    ftr = os.path.join(work, "tr_float.onnx")
    onnx.save_model(make_model.build_transformer(), ftr)
    for name, src, per_channel, shapes in (
            ("mlp", fmlp, False, [(1, 64), (5, 64), (32, 64)]),
            ("mlp-per-channel", fmlp, True, [(1, 64), (7, 64)]),
            ("transformer", ftr, False, [(1, 4, 32), (2, 9, 32)])):
        q = os.path.join(work, f"{name}_dyn.onnx")
        quantize_dynamic(src, q, per_channel=per_channel,
                         reduce_range=True,
                         weight_type=QuantType.QInt8)
        ops = sorted({n.op_type for n in onnx.load_model(q).graph.node})
        cases.append((name, q, shapes, ops))

    # Full-range int8 per-channel weights: numpy ONNX semantics, exact.
    full = os.path.join(work, "mlp_full_range_dyn.onnx")
    quantize_dynamic(fmlp, full, per_channel=True,
                     weight_type=QuantType.QInt8)
    out = os.path.join(work, "mlp_full_range_dyn.qob")
    E.compile_model(args.quant_compile, full, out)
    fmodel = onnx.load_model(full)
    sess = E.ort_session(full, optimized=False)
    E.log("quantize_dynamic MLP, full-range int8 per-channel weights, vs "
          "numpy ONNX semantics (exact):")
    with E.bundle(out) as b:
        for shape in ((1, 64), (9, 64)):
            x = rng.standard_normal(shape).astype(np.float32)
            got = b.run(X=x)["Y"]
            ref = _numpy_dynamic_mlp(fmodel, x)
            E.compare(c, f"mlp full-range {list(shape)} vs numpy", got, ref,
                      0.0)
            E.log(f"       (info) vs ORT: max|diff| = "
                  f"{E.max_abs(got, E.ort_run(sess, {'X': x})['Y']):.3g} "
                  "(ORT's AVX2 u8s8 GEMM saturates)")

    E.log(f"quantize_dynamic models (reduce_range) vs ORT (no graph "
          f"optimizations), "
          f"tolerance {TOL_DYNAMIC} * max|ref|:")
    for name, q, shapes, ops in cases:
        E.log(f"  {name}: ops {' '.join(ops)}")
        out = os.path.join(work, f"{name}_dyn.qob")
        E.compile_model(args.quant_compile, q, out)
        sess = E.ort_session(q, optimized=False)
        in_name = sess.get_inputs()[0].name
        out_name = sess.get_outputs()[0].name
        with E.bundle(out) as b:
            for shape in shapes:
                x = rng.standard_normal(shape).astype(np.float32)
                got = b.run({in_name: x})[out_name]
                ref = E.ort_run(sess, {in_name: x})[out_name]
                E.compare(c, f"{name} dynamic {list(shape)}", got, ref,
                          TOL_DYNAMIC * float(np.max(np.abs(ref))))


def _pack_4bit(values):
    """uint8 codes [..., 2m] -> [..., m], first element in the low nibble."""
    return (values[..., 0::2] | (values[..., 1::2] << 4)).astype(np.uint8)


def _matmulnbits_weights(k, n, block, seed):
    """Asymmetric 4-bit block quantization of a random [N, K] weight, in
    MatMulNBits' layout; K need not be a multiple of the block (the last
    block is zero-padded, as ORT's quantizer does)."""
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    nblocks = (k + block - 1) // block
    wp = np.zeros((n, nblocks * block), np.float32)
    wp[:, :k] = w
    wb = wp.reshape(n, nblocks, block)
    lo = np.minimum(wb.min(axis=-1), 0.0)
    hi = np.maximum(wb.max(axis=-1), 0.0)
    scales = ((hi - lo) / 15.0).astype(np.float32)
    scales[scales == 0] = 1.0
    zp = np.clip(np.round(-lo / scales), 0, 15).astype(np.uint8)
    q = np.clip(np.round(wb / scales[..., None]) + zp[..., None], 0,
                15).astype(np.uint8)
    zp_pad = zp
    if nblocks % 2:
        zp_pad = np.concatenate([zp, np.zeros((n, 1), np.uint8)], axis=1)
    return (_pack_4bit(q), scales.reshape(-1),
            _pack_4bit(zp_pad).reshape(-1))


def _matmulnbits_model(path, k, n, block, zero_points, rank3, seed):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    b_packed, scales, zp_packed = _matmulnbits_weights(k, n, block, seed)
    inputs = ["A", "B", "scales"]
    inits = [numpy_helper.from_array(b_packed, "B"),
             numpy_helper.from_array(scales, "scales")]
    if zero_points:
        inputs.append("zero_points")
        inits.append(numpy_helper.from_array(zp_packed, "zero_points"))
    else:
        # Without zero points MatMulNBits uses 8 (the middle of 0..15); the
        # codes were made for the asymmetric zero points, which is fine: any
        # 4-bit code is a valid weight.
        pass
    node = helper.make_node("MatMulNBits", inputs, ["Y"], name="mmnb",
                            domain="com.microsoft", K=k, N=n, bits=4,
                            block_size=block)
    a_shape = ["batch", "seq", k] if rank3 else ["batch", k]
    y_shape = ["batch", "seq", n] if rank3 else ["batch", n]
    g = helper.make_graph(
        [node], "mmnb",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, a_shape)],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, y_shape)],
        initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    onnx.save_model(m, path)


def matmulnbits_tests(args, c, rng):
    import onnx
    import make_model

    work = args.work_dir
    E.log("MatMulNBits (4-bit) vs ORT, tolerance 1e-5 * max|ref|:")
    models = []
    p = os.path.join(work, "mmnb_make_model.onnx")
    onnx.save_model(make_model.build_matmulnbits(), p)
    models.append(("make_model K=64 N=32 block=32 zp", p, "A", "Y", False, 64))
    for k, n, block, zp, rank3 in ((256, 96, 32, True, False),
                                  (256, 96, 128, True, True),
                                  (256, 96, 32, False, True),
                                  (256, 96, 128, False, False),
                                  (96, 40, 64, True, False)):  # K % block = 32
        p = os.path.join(work, f"mmnb_{k}_{n}_{block}_{int(zp)}_{int(rank3)}.onnx")
        _matmulnbits_model(p, k, n, block, zp, rank3, seed=k + n + block)
        models.append((f"K={k} N={n} block={block} "
                       f"{'zp' if zp else 'no zp'} {'3-D' if rank3 else '2-D'}",
                       p, "A", "Y", rank3, k))
    # K not a multiple of the block size: the last block is partial.
    p = os.path.join(work, "mmnb_partial.onnx")
    _matmulnbits_model(p, 80, 48, 32, True, False, seed=5)
    models.append(("K=80 N=48 block=32 (partial last block) zp", p, "A", "Y",
                   False, 80))
    for label, path, a, y, rank3, k in models:
        out = path[:-5] + ".qob"
        E.compile_model(args.quant_compile, path, out)
        sess = E.ort_session(path, optimized=True)
        shapes = [(1, 3, k), (2, 17, k)] if rank3 else [(1, k), (13, k)]
        with E.bundle(out) as b:
            for shape in shapes:
                x = rng.standard_normal(shape).astype(np.float32)
                got = b.run({a: x})[y]
                ref = E.ort_run(sess, {a: x})[y]
                E.compare(c, f"MatMulNBits {label} A{list(shape)}", got, ref,
                          1e-5 * max(1.0, float(np.max(np.abs(ref)))))


def main():
    args = E.parse_args(__doc__.split("\n")[0])
    c = E.Checker("e2e-quantized-models")
    rng = np.random.default_rng(12)
    for part in (qdq_tests, qdq_dynamic_tests, dynamic_tests,
                 matmulnbits_tests):
        try:
            part(args, c, rng)
        except Exception as e:  # report and go on with the other parts
            c.check(False, f"{part.__name__}: {type(e).__name__}: {e}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
