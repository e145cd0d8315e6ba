#!/usr/bin/env python3
"""Writes one semantically invalid ONNX model for validation.test.

Usage: make_invalid.py KIND OUT_PATH
       make_invalid.py --list

Each model is well-formed protobuf that breaks one ONNX rule the importer
must catch. Kinds marked `checker` are also rejected by onnx.checker (the
independent reference): the script asserts that it raises, so a test cannot
pass on a model that was valid after all. Kinds marked `valid` must pass
onnx.checker and import cleanly (the in-range counterparts).
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64


def _model(nodes, inputs, outputs, initializers=(), opset=17, value_info=(),
           domains=None):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=list(initializers),
                              value_info=list(value_info))
    opsets = {"": opset, **(domains or {})}
    model = helper.make_model(
        graph, producer_name="quantopt-test-inputs",
        opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()])
    model.ir_version = 10
    return model


def _vi(name, dims, elem=FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _gather(indices, dims=(3, 4), axis=0, name="gather0", out=None):
    """Gather of a [3, 4] input with constant `indices` (an initializer)."""
    node = helper.make_node("Gather", ["x", "idx"], ["y"], name=name,
                            axis=axis)
    return _model([node], [_vi("x", list(dims))], [_vi("y", out)],
                  [_i64("idx", indices)])


def too_many_inputs():
    # Gather-13 takes exactly data and indices.
    node = helper.make_node("Gather", ["x", "idx", "idx"], ["y"],
                            name="gather0")
    return _model([node], [_vi("x", [3, 4])], [_vi("y", None)],
                  [_i64("idx", [0])])


def too_few_inputs():
    node = helper.make_node("Add", ["a"], ["y"], name="add0")
    return _model([node], [_vi("a", [2])], [_vi("y", [2])])


def too_many_outputs():
    node = helper.make_node("Relu", ["x"], ["y", "z"], name="relu0")
    return _model([node], [_vi("x", [2])], [_vi("y", [2])])


def wrong_attr_type():
    # axis as a float: make_node would infer FLOAT from the Python value.
    node = helper.make_node("Gather", ["x", "idx"], ["y"], name="gather0",
                            axis=1.0)
    return _model([node], [_vi("x", [3, 4])], [_vi("y", None)],
                  [_i64("idx", [0])])


def missing_required_attr():
    node = helper.make_node("Cast", ["x"], ["y"], name="cast0")
    return _model([node], [_vi("x", [2])], [_vi("y", None)])


def unknown_attr():
    node = helper.make_node("Relu", ["x"], ["y"], name="relu0", alpha=0.1)
    return _model([node], [_vi("x", [2])], [_vi("y", [2])])


def old_schema_attr():
    # Split-18 takes `num_outputs`; at opset 13 the attribute does not exist.
    node = helper.make_node("Split", ["x"], ["a", "b"], name="split0",
                            axis=0, num_outputs=2)
    return _model([node], [_vi("x", [4])], [_vi("a", [2]), _vi("b", [2])],
                  opset=13)


def unnamed_bad_node():
    # No node name: the diagnostic falls back to "<op>#<index>".
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Neg", ["r", "r"], ["y"])]
    return _model(nodes, [_vi("x", [2])], [_vi("y", [2])])


def contrib_unknown_attr():
    # com.microsoft attributes come and go without a version bump: warning.
    rng = np.random.default_rng(0)
    k, n, block = 32, 4, 32
    b = numpy_helper.from_array(
        rng.integers(0, 256, (n, 1, block // 2), dtype=np.uint8), "B")
    scales = numpy_helper.from_array(np.ones(n, np.float32), "scales")
    node = helper.make_node("MatMulNBits", ["A", "B", "scales"], ["Y"],
                            name="mmnb0", domain="com.microsoft", K=k, N=n,
                            bits=4, block_size=block, future_knob=3)
    return _model([node], [_vi("A", [1, k])], [_vi("Y", [1, n])],
                  [b, scales], domains={"com.microsoft": 1})


def gather_past_end():
    return _gather([0, 3])


def gather_negative_past_dim():
    return _gather([-1, -4])


def gather_axis1_past_end():
    return _gather([[4]], axis=1, name="gather_cols")


def gather_in_range():
    return _gather([-3, -1, 0, 2], out=[4, 4])


def split_bad_sizes():
    node = helper.make_node("Split", ["x", "sizes"], ["a", "b"],
                            name="split0", axis=0)
    return _model([node], [_vi("x", [5])], [_vi("a", None), _vi("b", None)],
                  [_i64("sizes", [2, 2])])


def negative_dim_input():
    node = helper.make_node("Relu", ["x"], ["y"], name="relu0")
    return _model([node], [_vi("x", [2, -3])], [_vi("y", None)])


def negative_dim_output():
    node = helper.make_node("Relu", ["x"], ["y"], name="relu0")
    return _model([node], [_vi("x", [2])], [_vi("y", [-1])])


def negative_dim_value_info():
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu0"),
             helper.make_node("Neg", ["r"], ["y"], name="neg0")]
    return _model(nodes, [_vi("x", [2])], [_vi("y", [2])],
                  value_info=[_vi("r", [-2])])


def external_data():
    """MatMul whose weight lives in `weights.bin` (written by the caller:
    the lit test makes it a FIFO or a symlink to /dev/zero)."""
    w = TensorProto(name="W", data_type=FLOAT, dims=[4, 4],
                    data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "weights.bin"), ("offset", "0"),
                       ("length", "64")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul0")
    return _model([node], [_vi("x", [2, 4])], [_vi("y", [2, 4])], [w])


# kind -> (builder, reference): "checker" models must fail onnx.checker,
# "valid" ones must pass it, None: onnx.checker does not judge the rule
# (constant index values, declared dims, external data files).
KINDS = {
    "too_many_inputs": (too_many_inputs, "checker"),
    "too_few_inputs": (too_few_inputs, "checker"),
    "too_many_outputs": (too_many_outputs, "checker"),
    "wrong_attr_type": (wrong_attr_type, "checker"),
    "missing_required_attr": (missing_required_attr, "checker"),
    "unknown_attr": (unknown_attr, "checker"),
    "old_schema_attr": (old_schema_attr, "checker"),
    "unnamed_bad_node": (unnamed_bad_node, "checker"),
    "contrib_unknown_attr": (contrib_unknown_attr, None),
    "gather_past_end": (gather_past_end, None),
    "gather_negative_past_dim": (gather_negative_past_dim, None),
    "gather_axis1_past_end": (gather_axis1_past_end, None),
    "gather_in_range": (gather_in_range, "valid"),
    "split_bad_sizes": (split_bad_sizes, None),
    "negative_dim_input": (negative_dim_input, None),
    "negative_dim_output": (negative_dim_output, None),
    "negative_dim_value_info": (negative_dim_value_info, None),
    "external_data": (external_data, None),
}


def main(argv):
    if len(argv) == 2 and argv[1] == "--list":
        print("\n".join(KINDS))
        return 0
    if len(argv) != 3 or argv[1] not in KINDS:
        print(__doc__, file=sys.stderr)
        return 2
    build, reference = KINDS[argv[1]]
    model = build()
    if reference == "checker":
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError:
            pass
        else:
            sys.exit(f"make_invalid.py: onnx.checker accepts '{argv[1]}'; "
                     "the test model is not invalid")
    elif reference == "valid":
        onnx.checker.check_model(model)
    os.makedirs(os.path.dirname(os.path.abspath(argv[2])), exist_ok=True)
    onnx.save_model(model, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
