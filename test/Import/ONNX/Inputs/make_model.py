#!/usr/bin/env python3
"""Writes one ONNX model for the importer tests.

Usage: make_model.py KIND OUT_PATH
       make_model.py --list

Valid kinds:
  mlp          Gemm+Relu+Gemm+Softmax, input [batch, 64], opset 17.
  transformer  2-layer pre-LN transformer, hidden 32, 2 heads, inputs
               [batch, seq, 32], opset 20; intermediate value_info left empty
               on purpose so the importer has to infer shapes.
  qdq          `transformer` with static shapes [1, 8, 32], quantized by
               onnxruntime.quantization.quantize_static (QDQ, per-channel).
  matmulnbits  com.microsoft MatMulNBits (4 bits, block 32) + Add.
  external     MatMul+Add whose tensors live in `weights.bin` next to OUT_PATH.

Broken kinds (the importer must reject each):
  truncated garbage empty no_graph unsupported external_escape
  external_missing external_oob bad_opset missing_input

Every model is deterministic: random data comes from fixed seeds. Side files of
the external* kinds are written into the directory of OUT_PATH.
"""

import os
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
IR_VERSION = 10  # onnxruntime accepts IR <= 10 for the opsets used here.


def _init(name, array):
    # np.ascontiguousarray would turn 0-d arrays into 1-d ones.
    return numpy_helper.from_array(np.array(array, order="C"), name)


def _make_model(graph, opsets, ir_version=IR_VERSION):
    """opsets: dict domain -> version."""
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
        producer_name="quantopt-test-inputs",
    )
    model.ir_version = ir_version
    return model


def _check(model):
    onnx.checker.check_model(model, full_check=False)
    return model


# ---------------------------------------------------------------------------
# Valid models
# ---------------------------------------------------------------------------


def build_mlp(opset=17, in_features=64, hidden=128, classes=10, seed=0):
    """input [batch, 64] -> Gemm -> Relu -> Gemm -> Softmax -> probs [batch, 10].

    Weights are stored [out, in] with transB=1, as PyTorch exports Linear.
    """
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((hidden, in_features)) / np.sqrt(in_features)).astype(
        np.float32
    )
    b1 = (0.1 * rng.standard_normal(hidden)).astype(np.float32)
    w2 = (rng.standard_normal((classes, hidden)) / np.sqrt(hidden)).astype(np.float32)
    b2 = (0.1 * rng.standard_normal(classes)).astype(np.float32)
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1"],
                         name="fc1", transB=1),
        helper.make_node("Relu", ["fc1"], ["relu1"], name="relu1"),
        helper.make_node("Gemm", ["relu1", "fc2.weight", "fc2.bias"], ["logits"],
                         name="fc2", transB=1),
        helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", FLOAT, ["batch", in_features])],
        [helper.make_tensor_value_info("probs", FLOAT, ["batch", classes])],
        initializer=[
            _init("fc1.weight", w1),
            _init("fc1.bias", b1),
            _init("fc2.weight", w2),
            _init("fc2.bias", b2),
        ],
    )
    return _make_model(graph, {"": opset})


class _GraphBuilder:
    """Small helper that names values and collects nodes and initializers."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.inits = []
        self._count = {}

    def fresh(self, base):
        n = self._count.get(base, 0)
        self._count[base] = n + 1
        return f"{base}_{n}" if n else base

    def const(self, name, array):
        self.inits.append(_init(name, np.asarray(array)))
        return name

    def weight(self, name, shape, scale):
        return self.const(
            name, (scale * self.rng.standard_normal(shape)).astype(np.float32)
        )

    def op(self, op_type, inputs, name, **attrs):
        out = self.fresh(name)
        self.nodes.append(
            helper.make_node(op_type, inputs, [out], name=out, **attrs)
        )
        return out


def build_transformer(batch="batch", seq="seq", hidden=32, heads=2, layers=2,
                      ffn=64, opset=20, seed=1):
    """A pre-LN transformer encoder stack as exporters emit it.

    Layer 0 builds its Reshape targets from Shape/Gather/Unsqueeze/Concat and
    scales scores with Mul and uses the Gelu op; layer 1 uses constant Reshape
    targets, Div and the Erf decomposition of Gelu.
    """
    head_dim = hidden // heads
    g = _GraphBuilder(seed)
    x = "x"
    for li in range(layers):
        p = f"l{li}."

        def linear(inp, name, n_in, n_out):
            w = g.weight(p + name + ".weight", (n_in, n_out), 1.0 / np.sqrt(n_in))
            b = g.weight(p + name + ".bias", (n_out,), 0.02)
            mm = g.op("MatMul", [inp, w], p + name + ".matmul")
            return g.op("Add", [mm, b], p + name + ".add")

        def layernorm(inp, name):
            gamma = g.const(p + name + ".weight",
                            (1.0 + 0.1 * g.rng.standard_normal(hidden)).astype(np.float32))
            beta = g.const(p + name + ".bias",
                           (0.1 * g.rng.standard_normal(hidden)).astype(np.float32))
            return g.op("LayerNormalization", [inp, gamma, beta], p + name,
                        axis=-1, epsilon=1e-5)

        ln1 = layernorm(x, "ln1")
        q = linear(ln1, "q", hidden, hidden)
        k = linear(ln1, "k", hidden, hidden)
        v = linear(ln1, "v", hidden, hidden)

        if li == 0:
            # Shape arithmetic, as torch.onnx emits for x.view(b, s, h, d).
            shape = g.op("Shape", [ln1], p + "shape")
            i0 = g.const(p + "idx0", np.array(0, dtype=np.int64))
            i1 = g.const(p + "idx1", np.array(1, dtype=np.int64))
            ax0 = g.const(p + "axes0", np.array([0], dtype=np.int64))
            b_dim = g.op("Gather", [shape, i0], p + "batch_dim", axis=0)
            s_dim = g.op("Gather", [shape, i1], p + "seq_dim", axis=0)
            b_1d = g.op("Unsqueeze", [b_dim, ax0], p + "batch_1d")
            s_1d = g.op("Unsqueeze", [s_dim, ax0], p + "seq_1d")
            hd = g.const(p + "heads_dims", np.array([heads, head_dim], dtype=np.int64))
            hid = g.const(p + "hidden_dim", np.array([hidden], dtype=np.int64))
            split_shape = g.op("Concat", [b_1d, s_1d, hd], p + "split_shape", axis=0)
            merge_shape = g.op("Concat", [b_1d, s_1d, hid], p + "merge_shape", axis=0)
        else:
            split_shape = g.const(p + "split_shape",
                                  np.array([0, -1, heads, head_dim], dtype=np.int64))
            merge_shape = g.const(p + "merge_shape",
                                  np.array([0, -1, hidden], dtype=np.int64))

        def to_heads(t, name, perm):
            r = g.op("Reshape", [t, split_shape], p + name + ".reshape")
            return g.op("Transpose", [r], p + name + ".transpose", perm=perm)

        qh = to_heads(q, "q", [0, 2, 1, 3])  # [b, h, s, d]
        kt = to_heads(k, "k", [0, 2, 3, 1])  # [b, h, d, s]
        vh = to_heads(v, "v", [0, 2, 1, 3])  # [b, h, s, d]
        scores = g.op("MatMul", [qh, kt], p + "scores")
        if li == 0:
            scale = g.const(p + "scale", np.array(1.0 / np.sqrt(head_dim), dtype=np.float32))
            scaled = g.op("Mul", [scores, scale], p + "scaled")
        else:
            scale = g.const(p + "scale", np.array(np.sqrt(head_dim), dtype=np.float32))
            scaled = g.op("Div", [scores, scale], p + "scaled")
        probs = g.op("Softmax", [scaled], p + "probs", axis=-1)
        ctx = g.op("MatMul", [probs, vh], p + "ctx")
        ctx_t = g.op("Transpose", [ctx], p + "ctx.transpose", perm=[0, 2, 1, 3])
        ctx_m = g.op("Reshape", [ctx_t, merge_shape], p + "ctx.reshape")
        attn = linear(ctx_m, "o", hidden, hidden)
        x1 = g.op("Add", [x, attn], p + "residual1")

        ln2 = layernorm(x1, "ln2")
        h = linear(ln2, "fc1", hidden, ffn)
        if li == 0:
            act = g.op("Gelu", [h], p + "gelu")
        else:
            inv_sqrt2 = g.const(p + "inv_sqrt2", np.array(1.0 / np.sqrt(2.0), dtype=np.float32))
            one = g.const(p + "one", np.array(1.0, dtype=np.float32))
            half = g.const(p + "half", np.array(0.5, dtype=np.float32))
            t = g.op("Mul", [h, inv_sqrt2], p + "gelu.scale")
            e = g.op("Erf", [t], p + "gelu.erf")
            e1 = g.op("Add", [e, one], p + "gelu.add")
            hm = g.op("Mul", [h, e1], p + "gelu.mul")
            act = g.op("Mul", [hm, half], p + "gelu")
        y = linear(act, "fc2", ffn, hidden)
        x = g.op("Add", [x1, y], p + "residual2")

    x = g.op("Identity", [x], "y")
    graph = helper.make_graph(
        g.nodes,
        "transformer",
        [helper.make_tensor_value_info("x", FLOAT, [batch, seq, hidden])],
        [helper.make_tensor_value_info("y", FLOAT, [batch, seq, hidden])],
        initializer=g.inits,
    )
    return _make_model(graph, {"": opset})


def build_qdq(batch=1, seq=8, hidden=32, dynamic=False):
    """ONNX Runtime's quantize_static of the transformer; with `dynamic` the
    batch and sequence dims stay symbolic (calibrated on [batch, seq])."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    float_model = _check(build_transformer(
        batch="batch" if dynamic else batch, seq="seq" if dynamic else seq,
        hidden=hidden))

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(7)
            self._batches = iter(
                [{"x": rng.standard_normal((batch, seq, hidden)).astype(np.float32)}
                 for _ in range(4)]
            )

        def get_next(self):
            return next(self._batches, None)

    with tempfile.TemporaryDirectory() as tmp:
        fin = os.path.join(tmp, "float.onnx")
        fout = os.path.join(tmp, "qdq.onnx")
        onnx.save_model(float_model, fin)
        quantize_static(
            fin,
            fout,
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QInt8,
            weight_type=QuantType.QInt8,
            extra_options={"ActivationSymmetric": False},
        )
        return onnx.load_model(fout)


def _pack_4bit(values):
    """values: uint8 array [..., 2*m] of 4-bit codes -> [..., m], low nibble first."""
    lo = values[..., 0::2]
    hi = values[..., 1::2]
    return (lo | (hi << 4)).astype(np.uint8)


def matmulnbits_weights(k=64, n=32, block=32, seed=3):
    """Asymmetric 4-bit block quantization of a random [N, K] weight.

    Returns (packed B, scales, packed zero points, dequantized [K, N] weight).
    """
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((n, k)) / np.sqrt(k)).astype(np.float32)
    nblocks = (k + block - 1) // block
    wb = w.reshape(n, nblocks, block)
    lo = np.minimum(wb.min(axis=-1), 0.0)
    hi = np.maximum(wb.max(axis=-1), 0.0)
    scales = ((hi - lo) / 15.0).astype(np.float32)
    scales[scales == 0] = 1.0
    zp = np.clip(np.round(-lo / scales), 0, 15).astype(np.uint8)  # [n, nblocks]
    q = np.clip(np.round(wb / scales[..., None]) + zp[..., None], 0, 15).astype(np.uint8)
    b_packed = _pack_4bit(q)  # [n, nblocks, block/2]
    zp_pad = zp
    if nblocks % 2:
        zp_pad = np.concatenate([zp, np.zeros((n, 1), np.uint8)], axis=1)
    zp_packed = _pack_4bit(zp_pad).reshape(-1)  # [n * ceil(nblocks/2)]
    deq = (q.astype(np.float32) - zp[..., None]) * scales[..., None]
    return b_packed, scales.reshape(-1), zp_packed, deq.reshape(n, k).T.copy()


def build_matmulnbits(k=64, n=32, block=32, bits=4):
    b_packed, scales, zp_packed, _ = matmulnbits_weights(k, n, block)
    bias = (0.1 * np.random.default_rng(4).standard_normal(n)).astype(np.float32)
    nodes = [
        helper.make_node(
            "MatMulNBits",
            ["A", "B", "scales", "zero_points"],
            ["matmul"],
            name="matmulnbits0",
            domain="com.microsoft",
            K=k, N=n, bits=bits, block_size=block,
        ),
        helper.make_node("Add", ["matmul", "bias"], ["Y"], name="bias_add"),
    ]
    graph = helper.make_graph(
        nodes,
        "matmulnbits",
        [helper.make_tensor_value_info("A", FLOAT, ["batch", k])],
        [helper.make_tensor_value_info("Y", FLOAT, ["batch", n])],
        initializer=[
            _init("B", b_packed),
            _init("scales", scales),
            _init("zero_points", zp_packed),
            _init("bias", bias),
        ],
    )
    return _make_model(graph, {"": 17, "com.microsoft": 1})


def _linear_graph(weight_tensor, bias, name="linear"):
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["mm"], name="matmul0"),
        helper.make_node("Add", ["mm", "bias"], ["Y"], name="add0"),
    ]
    return helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("Y", FLOAT, ["batch", 64])],
        initializer=[weight_tensor, _init("bias", bias)],
    )


def _linear_weights(seed=5):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((64, 64)) / 8.0).astype(np.float32)
    b = (0.1 * rng.standard_normal(64)).astype(np.float32)
    return w, b


def write_external(out_path):
    w, b = _linear_weights()
    model = _check(_make_model(_linear_graph(_init("W", w), b, "external"), {"": 17}))
    side = os.path.join(os.path.dirname(os.path.abspath(out_path)), "weights.bin")
    if os.path.exists(side):
        os.remove(side)  # onnx appends to an existing file.
    onnx.save_model(
        model,
        out_path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )


def _external_tensor(name, dims, location, offset, length):
    """A float tensor whose data lives in an external file, written by hand."""
    t = TensorProto()
    t.name = name
    t.data_type = FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", str(offset)),
                       ("length", str(length))):
        entry = t.external_data.add()
        entry.key = key
        entry.value = value
    return t


def _external_broken(out_path, location, offset=0, side_bytes=None):
    w, b = _linear_weights()
    if side_bytes is not None:
        side = os.path.join(os.path.dirname(os.path.abspath(out_path)), location)
        with open(side, "wb") as f:
            f.write(side_bytes)
    t = _external_tensor("W", [64, 64], location, offset, w.nbytes)
    return _make_model(_linear_graph(t, b, "external_broken"), {"": 17})


# ---------------------------------------------------------------------------
# Broken models
# ---------------------------------------------------------------------------


def build_unsupported():
    """Valid ONNX with three ops the importer does not support."""
    rng = np.random.default_rng(6)
    w = (0.1 * rng.standard_normal((4, 3, 3, 3))).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["X", "conv0.weight"], ["conv"], name="conv0",
                         pads=[1, 1, 1, 1]),
        helper.make_node("LRN", ["conv"], ["lrn"], name="lrn0", size=3),
        helper.make_node("FooBar", ["lrn"], ["foo"], name="custom0", domain="com.example"),
        helper.make_node("Relu", ["foo"], ["Y"], name="relu0"),
    ]
    graph = helper.make_graph(
        nodes,
        "unsupported",
        [helper.make_tensor_value_info("X", FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("Y", FLOAT, [1, 4, 8, 8])],
        initializer=[_init("conv0.weight", w)],
    )
    return _make_model(graph, {"": 17, "com.example": 1})


def build_missing_input():
    w, b = _linear_weights()
    nodes = [
        helper.make_node("MatMul", ["X", "W"], ["mm"], name="matmul0"),
        helper.make_node("Add", ["mm", "does_not_exist"], ["Y"], name="add0"),
    ]
    graph = helper.make_graph(
        nodes,
        "missing_input",
        [helper.make_tensor_value_info("X", FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("Y", FLOAT, ["batch", 64])],
        initializer=[_init("W", w)],
    )
    return _make_model(graph, {"": 17})


def build_no_graph():
    model = onnx.ModelProto()
    model.ir_version = IR_VERSION
    model.producer_name = "quantopt-test-inputs"
    model.opset_import.extend([helper.make_opsetid("", 17)])
    return model


def build_types():
    """Initializers in every low-precision storage format the importer maps.

    int4/uint4 are packed two per byte, first element in the low nibble (as
    ONNX stores them); float16 uses the typed int32_data field rather than
    raw_data. A blocked int4 DequantizeLinear (opset 21) consumes the int4
    weight.
    """
    i4 = helper.make_tensor("w_i4", TensorProto.INT4, [2, 4],
                            [-8, -1, 0, 7, 3, -3, 1, 2])
    u4 = helper.make_tensor("w_u4", TensorProto.UINT4, [5], [0, 15, 1, 8, 9])
    f8 = helper.make_tensor("w_f8", TensorProto.FLOAT8E4M3FN, [3],
                            [1.0, -2.0, 448.0])
    f16 = helper.make_tensor("w_f16", TensorProto.FLOAT16, [2], [0.5, -1.5])
    b = helper.make_tensor("w_bool", TensorProto.BOOL, [3], [True, False, True])
    scale = helper.make_tensor("s", FLOAT, [2, 2], [0.5, 0.25, 1.0, 2.0])
    nodes = [
        helper.make_node("DequantizeLinear", ["w_i4", "s"], ["w_dq"],
                         name="dq_blocked", axis=1, block_size=2),
        helper.make_node("Identity", ["w_u4"], ["o_u4"], name="id_u4"),
        helper.make_node("Identity", ["w_f8"], ["o_f8"], name="id_f8"),
        helper.make_node("Identity", ["w_f16"], ["o_f16"], name="id_f16"),
        helper.make_node("Identity", ["w_bool"], ["o_bool"], name="id_bool"),
    ]
    outs = [
        helper.make_tensor_value_info("w_dq", FLOAT, [2, 4]),
        helper.make_tensor_value_info("o_u4", TensorProto.UINT4, [5]),
        helper.make_tensor_value_info("o_f8", TensorProto.FLOAT8E4M3FN, [3]),
        helper.make_tensor_value_info("o_f16", TensorProto.FLOAT16, [2]),
        helper.make_tensor_value_info("o_bool", TensorProto.BOOL, [3]),
    ]
    graph = helper.make_graph(nodes, "types", [], outs,
                              initializer=[i4, u4, f8, f16, b, scale])
    return _check(_make_model(graph, {"": 21}))


def _single_node(op, inputs, outputs, initializers=(), opset=17, **attrs):
    nodes = [helper.make_node(op, [i.name for i in inputs] +
                              [t.name for t in initializers],
                              [o.name for o in outputs], name=op.lower() + "0",
                              **attrs)]
    graph = helper.make_graph(nodes, "g", list(inputs), list(outputs),
                              initializer=list(initializers))
    return _make_model(graph, {"": opset})


def build_corrupt_tensor():
    """An initializer whose raw_data is shorter than its shape needs."""
    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "W")
    w.raw_data = w.raw_data[:20]
    x = helper.make_tensor_value_info("x", FLOAT, [2, 4])
    y = helper.make_tensor_value_info("y", FLOAT, [2, 4])
    return _single_node("MatMul", [x], [y], [w])


def build_bad_output_shape():
    """The graph declares an output shape the op cannot produce."""
    a = helper.make_tensor_value_info("a", FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", FLOAT, [3])
    y = helper.make_tensor_value_info("y", FLOAT, [4, 4])
    return _single_node("Add", [a, b], [y])


def build_bad_value_info():
    """value_info contradicting an op (a hint, as for onnxruntime): the
    intermediate 't' is declared [4, 4] but Add makes [2, 3]."""
    a = helper.make_tensor_value_info("a", FLOAT, [2, 3])
    b = helper.make_tensor_value_info("b", FLOAT, [3])
    y = helper.make_tensor_value_info("y", FLOAT, [2, 3])
    g = helper.make_graph([helper.make_node("Add", ["a", "b"], ["t"],
                                            name="add0"),
                           helper.make_node("Relu", ["t"], ["y"],
                                            name="relu0")],
                          "bad_value_info", [a, b], [y],
                          value_info=[helper.make_tensor_value_info(
                              "t", FLOAT, [4, 4])])
    return _make_model(g, {"": 17})


def build_shape_mismatch():
    """MatMul whose contraction dimensions differ (3 vs 5)."""
    x = helper.make_tensor_value_info("x", FLOAT, [2, 3])
    w = _init("W", np.ones((5, 4), np.float32))
    y = helper.make_tensor_value_info("y", FLOAT, None)
    return _single_node("MatMul", [x], [y], [w])


def build_string_tensor():
    """A graph input of element type STRING."""
    x = helper.make_tensor_value_info("x", TensorProto.STRING, [2])
    y = helper.make_tensor_value_info("y", TensorProto.STRING, [2])
    return _single_node("Identity", [x], [y])


def build_runtime_axes():
    """Unsqueeze whose axes are a graph input, not a constant."""
    x = helper.make_tensor_value_info("x", FLOAT, [2, 3])
    axes = helper.make_tensor_value_info("axes", TensorProto.INT64, [1])
    y = helper.make_tensor_value_info("y", FLOAT, None)
    return _single_node("Unsqueeze", [x, axes], [y])


def _write_bytes(out_path, data):
    with open(out_path, "wb") as f:
        f.write(data)


def write_kind(kind, out_path):
    out_dir = os.path.dirname(os.path.abspath(out_path))
    os.makedirs(out_dir, exist_ok=True)
    if kind == "mlp":
        onnx.save_model(_check(build_mlp()), out_path)
    elif kind == "transformer":
        onnx.save_model(_check(build_transformer()), out_path)
    elif kind == "qdq":
        onnx.save_model(_check(build_qdq()), out_path)
    elif kind == "matmulnbits":
        onnx.save_model(build_matmulnbits(), out_path)
    elif kind == "external":
        write_external(out_path)
    elif kind == "truncated":
        data = build_mlp().SerializeToString()
        _write_bytes(out_path, data[: len(data) // 2])
    elif kind == "garbage":
        rng = np.random.default_rng(8)
        # 0x0f is the tag of field 1 with wire type 7, which does not exist, so
        # the bytes can never parse as a ModelProto.
        _write_bytes(out_path, b"\x0f" + rng.integers(0, 256, 4095, dtype=np.uint8).tobytes())
    elif kind == "empty":
        _write_bytes(out_path, b"")
    elif kind == "no_graph":
        onnx.save_model(build_no_graph(), out_path)
    elif kind == "unsupported":
        onnx.save_model(build_unsupported(), out_path)
    elif kind == "external_escape":
        onnx.save_model(_external_broken(out_path, "../outside.bin"), out_path)
    elif kind == "external_missing":
        location = "missing_weights.bin"
        side = os.path.join(out_dir, location)
        if os.path.exists(side):
            os.remove(side)
        onnx.save_model(_external_broken(out_path, location), out_path)
    elif kind == "external_oob":
        # The file holds 1 KiB; the tensor claims 16 KiB starting at 512.
        onnx.save_model(
            _external_broken(out_path, "oob_weights.bin", offset=512,
                             side_bytes=bytes(1024)),
            out_path,
        )
    elif kind == "bad_opset":
        onnx.save_model(build_mlp(opset=9), out_path)
    elif kind == "missing_input":
        onnx.save_model(build_missing_input(), out_path)
    elif kind == "types":
        onnx.save_model(build_types(), out_path)
    elif kind in ("corrupt_tensor", "bad_output_shape", "bad_value_info",
                  "shape_mismatch",
                  "string_tensor", "runtime_axes"):
        onnx.save_model(globals()["build_" + kind](), out_path)
    else:
        raise SystemExit(f"make_model.py: unknown kind '{kind}' (try --list)")


VALID_KINDS = ["mlp", "transformer", "qdq", "matmulnbits", "external", "types"]
BROKEN_KINDS = ["truncated", "garbage", "empty", "no_graph", "unsupported",
                "external_escape", "external_missing", "external_oob",
                "bad_opset", "missing_input", "corrupt_tensor",
                "bad_output_shape", "bad_value_info", "shape_mismatch",
                "string_tensor",
                "runtime_axes"]


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(VALID_KINDS + BROKEN_KINDS))
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    write_kind(argv[1], argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
