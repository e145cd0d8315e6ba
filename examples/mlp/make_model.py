#!/usr/bin/env python3
"""Writes the example model: a small two-layer MLP classifier in ONNX.

    input [batch, 64] -> Gemm(128) -> Relu -> Gemm(10) -> Softmax -> probs [batch, 10]

Usage: make_model.py [OUT_PATH]   (default: model.onnx next to this script)

Weights are random from a fixed seed, so the file is reproducible; the batch
dimension is symbolic ("batch"); opset 17.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build(in_features=64, hidden=128, classes=10, seed=0):
    rng = np.random.default_rng(seed)

    def param(name, shape, scale):
        data = (scale * rng.standard_normal(shape)).astype(np.float32)
        return numpy_helper.from_array(data, name)

    inits = [
        param("fc1.weight", (hidden, in_features), 1.0 / np.sqrt(in_features)),
        param("fc1.bias", (hidden,), 0.1),
        param("fc2.weight", (classes, hidden), 1.0 / np.sqrt(hidden)),
        param("fc2.bias", (classes,), 0.1),
    ]
    nodes = [
        # Weights are [out, in] with transB=1, the way PyTorch exports Linear.
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
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", in_features])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch", classes])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="quantopt-examples")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "model.onnx")
    onnx.save_model(build(), out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
