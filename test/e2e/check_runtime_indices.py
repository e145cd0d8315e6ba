#!/usr/bin/env python3
"""Run-time Gather indices are bounds-checked in the CPU code.

Gather models whose indices are graph inputs (so only known at run time):

  embed    Gather(initializer [5, 3] f32, indices int64 [4]), axis 0 (an
           embedding lookup);
  cols     Gather(data [2, 6] f32 input, indices int32 [3] input), axis 1;
  dynamic  Gather(data [n, 3] f32 input, n dynamic, indices int64 [2]),
           axis 0: the bound is the run-time size of the dim.

For each: in-range indices (negative ones included) give onnxruntime's
result exactly (a gather copies values). An index past the end or before
-dim makes qrt_bundle_run fail with QRT_ERROR_INPUT and a qrt_last_error()
that names the node, the index and the valid range; onnxruntime, the
reference, rejects the same inputs. The same bundle then runs valid inputs
again (the error does not stick), and quant-run fails with the message.
Reading out of bounds instead would give garbage or crash, never the error.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import e2e_common as E

FLOAT = TensorProto.FLOAT


def _model(path, node, inputs, out_shape, initializers=()):
    graph = helper.make_graph(
        [node], "g", inputs,
        [helper.make_tensor_value_info("y", FLOAT, out_shape)],
        initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save_model(model, path)


def build(work):
    table = np.arange(15, dtype=np.float32).reshape(5, 3) / 4 - 1
    _model(os.path.join(work, "embed.onnx"),
           helper.make_node("Gather", ["table", "ids"], ["y"], name="embed"),
           [helper.make_tensor_value_info("ids", TensorProto.INT64, [4])],
           [4, 3], [numpy_helper.from_array(table, "table")])
    _model(os.path.join(work, "cols.onnx"),
           helper.make_node("Gather", ["x", "ids"], ["y"], name="cols",
                            axis=1),
           [helper.make_tensor_value_info("x", FLOAT, [2, 6]),
            helper.make_tensor_value_info("ids", TensorProto.INT32, [3])],
           [2, 3])
    _model(os.path.join(work, "dynamic.onnx"),
           helper.make_node("Gather", ["x", "ids"], ["y"], name="rows_dyn"),
           [helper.make_tensor_value_info("x", FLOAT, ["n", 3]),
            helper.make_tensor_value_info("ids", TensorProto.INT64, [2])],
           [2, 3])


def main():
    args = E.parse_args(__doc__.splitlines()[0])
    work = args.work_dir
    c = E.Checker("check_runtime_indices")
    build(work)
    rng = np.random.default_rng(0)
    x26 = rng.standard_normal((2, 6)).astype(np.float32)
    x43 = rng.standard_normal((4, 3)).astype(np.float32)
    i64, i32 = np.int64, np.int32
    # name -> (node, feeds builder, valid index sets, invalid (index, dim))
    cases = {
        "embed": ("embed", lambda ids: {"ids": np.array(ids, i64)},
                  [[0, 4, -1, -5], [2, 2, 3, -3]],
                  [([0, 5, 1, 1], 5, 5), ([-6, 0, 0, 0], -6, 5)]),
        "cols": ("cols", lambda ids: {"x": x26, "ids": np.array(ids, i32)},
                 [[0, 5, -6], [-1, 3, 3]],
                 [([6, 0, 0], 6, 6), ([0, -7, 0], -7, 6)]),
        "dynamic": ("rows_dyn",
                    lambda ids: {"x": x43, "ids": np.array(ids, i64)},
                    [[3, -4], [0, -1]],
                    [([4, 0], 4, 4), ([0, -5], -5, 4)]),
    }
    for name, (node, feeds, valid, invalid) in cases.items():
        model = os.path.join(work, name + ".onnx")
        qob = os.path.join(work, name + ".qob")
        E.compile_model(args.quant_compile, model, qob)
        b = E.bundle(qob)
        ort = E.ort_session(model)

        def run_valid(ids, when=""):
            f = feeds(ids)
            got = b.run(f)["y"]
            ref = E.ort_run(ort, f)["y"]
            c.check(got.shape == ref.shape and np.array_equal(got, ref),
                    f"{name}: indices {ids}{when} equal onnxruntime's result")

        for ids in valid:
            run_valid(ids)
        for ids, bad, dim in invalid:
            f = feeds(ids)
            try:
                E.ort_run(ort, f)
                c.check(False, f"{name}: onnxruntime rejects indices {ids}")
            except Exception:  # onnxruntime's own error types
                pass
            try:
                b.run(f)
                c.check(False, f"{name}: indices {ids} fail the run")
            except Exception as e:  # QuantOptError
                msg = str(e)
                expected = (f"node '{node}': Gather on axis "
                            f"{1 if name == 'cols' else 0}: index {bad} is "
                            f"out of range for a dimension of size {dim} "
                            f"(valid indices are [{-dim}, {dim - 1}])")
                c.check(getattr(e, "status", "") == "QRT_ERROR_INPUT"
                        and expected in msg,
                        f"{name}: indices {ids} fail with QRT_ERROR_INPUT "
                        f"naming the node and index: {msg}")
            run_valid(valid[0], " (after the failed run)")

        # The CLI reports the same error and a failure status.
        ids, bad, _ = invalid[0]
        npz = os.path.join(work, name + "_bad.npz")
        np.savez(npz, **feeds(ids))
        r = subprocess.run([args.quant_run, qob, "--inputs-npz", npz,
                            "--output", os.path.join(work, "out.npz")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace", timeout=120)
        c.check(r.returncode != 0 and f"node '{node}'" in r.stderr
                and f"index {bad} is out of range" in r.stderr,
                f"{name}: quant-run exits {r.returncode} with "
                f"{r.stderr.strip()!r}")
        b.close()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
