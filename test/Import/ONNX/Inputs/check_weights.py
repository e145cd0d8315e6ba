#!/usr/bin/env python3
"""Checks that every dense_resource blob in imported MLIR holds exactly the
bytes of the ONNX initializer it came from.

The reference is onnx.numpy_helper (independent of our importer): for each
initializer we expect a blob whose key starts with the sanitized initializer
name and whose payload (after the 4-byte alignment header MLIR prints) is
the little-endian array data. Usage: check_weights.py MODEL.onnx MODEL.mlir
"""
import os
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def main(model_path, mlir_path):
    model = onnx.load_model(model_path, load_external_data=True,
                            )
    text = open(mlir_path).read()
    blobs = dict(re.findall(r'^\s*([\w.]+): "0x([0-9A-Fa-f]+)"', text, re.M))
    checked = 0
    for init in model.graph.initializer:
        array = numpy_helper.to_array(init,
                                      base_dir=os.path.dirname(model_path))
        key = re.sub(r"[^\w.]", "_", init.name)
        matches = [k for k in blobs if k == key or re.fullmatch(re.escape(key) + r"_\d+", k)]
        if not matches:
            if array.size <= 64:
                continue  # small constants are inline dense attributes
            print(f"FAIL: no blob for initializer {init.name!r} (key {key})")
            return 1
        payload = bytes.fromhex(blobs[matches[0]])[4:]
        expected = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        if payload != expected:
            print(f"FAIL: blob {matches[0]} differs from initializer {init.name!r}"
                  f" ({len(payload)} vs {len(expected)} bytes)")
            return 1
        checked += 1
    print(f"OK: {checked} blobs match their initializers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
