#!/usr/bin/env python3
"""Writes one ONNX model for the shape/index/reduction importer tests.

Usage: make_index_models.py KIND OUT_PATH

Kinds:
  mask       the causal-mask chain of an LLM export with a dynamic sequence
             length: Shape, Gather, Range, ConstantOfShape, Trilu, CumSum,
             opset 18;
  static     the same chain with a static length (it folds to constants);
  reduce     ReduceMin/Prod/L1/L2/LogSum/LogSumExp/SumSquare (opset 18 axes
             input), ArgMax, LogSoftmax, Flatten, Pad, Tile;
  indexed    GatherElements, GatherND (batch_dims 1), ScatterND (add),
             ScatterElements, OneHot, EyeLike, Size;
  bad_axis   CumSum whose axis is a graph input (must be a constant);
  bad_flat   Flatten of a tensor dynamic on both sides of the axis.
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

I64, F32 = TensorProto.INT64, TensorProto.FLOAT
n = helper.make_node


def c(name, v):
    return numpy_helper.from_array(np.asarray(v), name)


def vi(name, t, shape):
    return helper.make_tensor_value_info(name, t, shape)


def mask(seq):
    nodes = [
        n("Shape", ["x"], ["shape"]),
        n("Gather", ["shape", "one"], ["seq"], axis=0),
        n("Range", ["zero", "seq", "one"], ["pos"]),
        n("Unsqueeze", ["seq", "ax0"], ["seq1"]),
        n("Concat", ["seq1", "seq1"], ["shape2"], axis=0),
        n("ConstantOfShape", ["shape2"], ["full"],
          value=helper.make_tensor("v", F32, [1], [-np.inf])),
        n("Trilu", ["full", "one"], ["causal"], upper=1),
        n("CumSum", ["x", "one"], ["positions"]),
    ]
    inits = [c("zero", np.int64(0)), c("one", np.int64(1)),
             c("ax0", np.array([0], np.int64))]
    return helper.make_graph(
        nodes, "mask", [vi("x", I64, [1, seq])],
        [vi("pos", I64, [seq]), vi("causal", F32, [seq, seq]),
         vi("positions", I64, [1, seq])], initializer=inits), 18


def reduce_model():
    nodes = [n(op, ["x", "axes"], [op.lower()], keepdims=0)
             for op in ("ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                        "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")]
    nodes += [n("ArgMax", ["x"], ["argmax"], axis=-1, select_last_index=1),
              n("LogSoftmax", ["x"], ["logsoftmax"], axis=1),
              n("Flatten", ["x"], ["flat"], axis=1),
              n("Pad", ["x", "pads"], ["padded"], mode="reflect"),
              n("Tile", ["x", "reps"], ["tiled"])]
    outs = [vi(op.lower(), F32, None)
            for op in ("ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                       "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")]
    outs += [vi("argmax", I64, None), vi("logsoftmax", F32, None),
             vi("flat", F32, None), vi("padded", F32, None),
             vi("tiled", F32, None)]
    inits = [c("axes", np.array([1], np.int64)),
             c("pads", np.array([0, 1, 0, 0, 2, 0], np.int64)),
             c("reps", np.array([1, 2, 3], np.int64))]
    return helper.make_graph(nodes, "reduce", [vi("x", F32, [2, 3, 4])],
                             outs, initializer=inits), 18


def indexed():
    nodes = [
        n("GatherElements", ["x", "ie"], ["ge"], axis=1),
        n("GatherND", ["x", "ind"], ["gnd"], batch_dims=1),
        n("ScatterND", ["x", "isn", "upd"], ["snd"], reduction="add"),
        n("ScatterElements", ["x", "ie", "ge"], ["se"], axis=1),
        n("OneHot", ["ie", "depth", "vals"], ["oh"], axis=0),
        n("EyeLike", ["m"], ["eye"], k=1, dtype=TensorProto.INT32),
        n("Size", ["x"], ["size"]),
    ]
    inits = [c("ie", np.array([[0, 2], [-1, 1]], np.int64)),
             c("ind", np.array([[1], [0]], np.int64)),
             c("isn", np.array([[1, 2]], np.int64)),
             c("upd", np.array([1.0], np.float32)),
             c("depth", np.array(3, np.int64)),
             c("vals", np.array([0.0, 5.0], np.float32)),
             c("m", np.zeros((3, 4), np.float32))]
    outs = [vi(name, t, None) for name, t in
            (("ge", F32), ("gnd", F32), ("snd", F32), ("se", F32),
             ("oh", F32), ("eye", TensorProto.INT32), ("size", I64))]
    return helper.make_graph(nodes, "indexed", [vi("x", F32, [2, 3])], outs,
                             initializer=inits), 18


def bad_axis():
    return helper.make_graph(
        [n("CumSum", ["x", "axis"], ["y"])], "bad_axis",
        [vi("x", F32, [2, 3]), vi("axis", I64, [])], [vi("y", F32, [2, 3])]), 18


def bad_flat():
    return helper.make_graph(
        [n("Flatten", ["x"], ["y"], axis=1)], "bad_flat",
        [vi("x", F32, ["a", "b"])], [vi("y", F32, None)]), 18


def main():
    kind, out = sys.argv[1], sys.argv[2]
    makers = {"mask": lambda: mask("s"), "static": lambda: mask(4),
              "reduce": reduce_model, "indexed": indexed,
              "bad_axis": bad_axis, "bad_flat": bad_flat}
    graph, opset = makers[kind]()
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    if not kind.startswith("bad"):
        model = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        onnx.checker.check_model(model)
    onnx.save_model(model, out)


if __name__ == "__main__":
    main()
