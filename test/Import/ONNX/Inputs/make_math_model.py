#!/usr/bin/env python3
"""Writes the small models of math-ops.test (elementwise ops, issue 16).

Usage: make_math_model.py KIND OUT_PATH

  ops             Clip with an int8 max only, Mean of three inputs, CastLike,
                  Equal + Not on bool, Mod (fmod 0 on int32), BitShift RIGHT,
                  Selu with a non-default alpha, IsInf (negative only),
                  Dropout with its mask; opset 21.
  bad_fmod        Mod with fmod = 2 (invalid).
  dropout_train   Dropout with training_mode = true and ratio 0.5 (invalid).
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def _model(nodes, inputs, outputs, inits=(), opset=21):
    graph = helper.make_graph(nodes, "math", inputs, outputs,
                              initializer=list(inits))
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def build_ops():
    F, I8, I32, B, U8 = (TensorProto.FLOAT, TensorProto.INT8,
                         TensorProto.INT32, TensorProto.BOOL,
                         TensorProto.UINT8)
    inits = [numpy_helper.from_array(np.array(5, np.int8), "hi"),
             numpy_helper.from_array(np.array(0.5, np.float32), "ratio")]
    nodes = [
        helper.make_node("Clip", ["q", "", "hi"], ["clipped"], name="clip"),
        helper.make_node("Mean", ["x", "y", "x"], ["mean"], name="mean"),
        helper.make_node("CastLike", ["i", "x"], ["casted"], name="castlike"),
        helper.make_node("Equal", ["i", "j"], ["eq"], name="eq"),
        helper.make_node("Not", ["eq"], ["ne"], name="not"),
        helper.make_node("Mod", ["i", "j"], ["rem"], name="mod"),
        helper.make_node("BitShift", ["u", "u"], ["shifted"], name="shift",
                         direction="RIGHT"),
        helper.make_node("Selu", ["x"], ["selu"], name="selu", alpha=2.0),
        helper.make_node("IsInf", ["x"], ["neginf"], name="isinf",
                         detect_positive=0),
        helper.make_node("Dropout", ["x", "ratio"], ["dropped", "mask"],
                         name="dropout"),
    ]
    inputs = [_vi("q", I8, [4]), _vi("x", F, [2, 3]), _vi("y", F, [3]),
              _vi("i", I32, [2, 3]), _vi("j", I32, [3]), _vi("u", U8, [4])]
    outputs = [_vi("clipped", I8, [4]), _vi("mean", F, [2, 3]),
               _vi("casted", F, [2, 3]), _vi("ne", B, [2, 3]),
               _vi("rem", I32, [2, 3]), _vi("shifted", U8, [4]),
               _vi("selu", F, [2, 3]), _vi("neginf", B, [2, 3]),
               _vi("dropped", F, [2, 3]), _vi("mask", B, [2, 3])]
    return _model(nodes, inputs, outputs, inits)


def build_bad_fmod():
    F = TensorProto.FLOAT
    node = helper.make_node("Mod", ["a", "b"], ["r"], name="bad_fmod", fmod=2)
    return _model([node], [_vi("a", F, [3]), _vi("b", F, [3])],
                  [_vi("r", F, [3])])


def build_dropout_train():
    F = TensorProto.FLOAT
    inits = [numpy_helper.from_array(np.array(0.5, np.float32), "ratio"),
             numpy_helper.from_array(np.array(True), "training")]
    node = helper.make_node("Dropout", ["x", "ratio", "training"], ["y"],
                            name="train_dropout")
    return _model([node], [_vi("x", F, [3])], [_vi("y", F, [3])], inits)


def main(argv):
    kinds = {"ops": build_ops, "bad_fmod": build_bad_fmod,
             "dropout_train": build_dropout_train}
    if len(argv) != 3 or argv[1] not in kinds:
        sys.exit(__doc__)
    onnx.save_model(kinds[argv[1]](), argv[2])


if __name__ == "__main__":
    main(sys.argv)
