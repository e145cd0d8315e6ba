#!/usr/bin/env python3
"""Causal masks and positions built inside the graph, at run-time lengths.

One model that makes an LLM's attention mask and position ids from the
shapes of its inputs the way torch.onnx.export (dynamo, opset 18) and
optimum exports do, with a DYNAMIC sequence length `s`:

  seq      = Gather(Shape(input_ids), 1)              (a run-time scalar)
  pos      = Range(0, seq, 1)                          int64 [s]
  rel      = Unsqueeze(pos, 0) - Unsqueeze(pos, 1)     int64 [s, s]
  shape2   = Concat(Unsqueeze(seq), Unsqueeze(seq))
  causal   = Trilu(ConstantOfShape(shape2, -inf), k=1, upper)  f32 [s, s]
  allowed  = Cast(Trilu(ConstantOfShape(shape2, 1), lower), bool)
  mask     = Where(allowed, 0, -inf)                  f32 [1, 1, s, s]
  position = CumSum(attention_mask, axis 1) - 1        int64 [1, s]
  last     = GatherElements(position, argmax over the mask)  int64 [1, 1]

compiled once with quant-compile --scheme float and run by quant-run at two
sequence lengths (left-padded attention masks). Every output is an integer
or a 0/-inf mask, so each must equal onnxruntime's exactly.

Run-time indices of the new indexed ops are bounds-checked like Gather's
(check_runtime_indices.py): GatherElements and ScatterND with indices that
are graph inputs match onnxruntime in range (negative ones wrap), and an
index out of range fails quant-run with a message naming the node.
"""

import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import e2e_common as E

I64, F32 = TensorProto.INT64, TensorProto.FLOAT


def build(path):
    def const(name, value):
        return numpy_helper.from_array(np.asarray(value), name)

    n = helper.make_node
    nodes = [
        n("Shape", ["input_ids"], ["shape"]),
        n("Gather", ["shape", "one"], ["seq"], axis=0),
        n("Range", ["zero", "seq", "one"], ["pos"]),
        n("Unsqueeze", ["pos", "ax0"], ["cols"]),
        n("Unsqueeze", ["pos", "ax1"], ["rows"]),
        n("Sub", ["cols", "rows"], ["rel"]),
        n("Unsqueeze", ["seq", "ax0"], ["seq1"]),
        n("Concat", ["seq1", "seq1"], ["shape2"], axis=0),
        n("ConstantOfShape", ["shape2"], ["neginf"],
          value=helper.make_tensor("v", F32, [1], [-np.inf])),
        n("Trilu", ["neginf", "one"], ["causal"], upper=1),
        n("ConstantOfShape", ["shape2"], ["ones"],
          value=helper.make_tensor("v", I64, [1], [1])),
        n("Trilu", ["ones"], ["lower"], upper=0),
        n("Cast", ["lower"], ["allowed"], to=TensorProto.BOOL),
        n("Where", ["allowed", "fzero", "fneginf"], ["mask2"]),
        n("Unsqueeze", ["mask2", "ax01"], ["mask"]),
        n("CumSum", ["attention_mask", "one"], ["csum"]),
        n("Sub", ["csum", "one"], ["position"]),
        n("ArgMax", ["attention_mask"], ["first"], axis=1, keepdims=1),
        n("GatherElements", ["position", "first"], ["start"], axis=1),
    ]
    inits = [const("zero", np.int64(0)), const("one", np.int64(1)),
             const("ax0", np.array([0], np.int64)),
             const("ax1", np.array([1], np.int64)),
             const("ax01", np.array([0, 1], np.int64)),
             const("fzero", np.float32(0)),
             const("fneginf", np.float32(-np.inf))]
    graph = helper.make_graph(
        nodes, "causal_mask",
        [helper.make_tensor_value_info("input_ids", I64, [1, "s"]),
         helper.make_tensor_value_info("attention_mask", I64, [1, "s"])],
        [helper.make_tensor_value_info("pos", I64, ["s"]),
         helper.make_tensor_value_info("rel", I64, ["s", "s"]),
         helper.make_tensor_value_info("causal", F32, ["s", "s"]),
         helper.make_tensor_value_info("mask", F32, [1, 1, "s", "s"]),
         helper.make_tensor_value_info("position", I64, [1, "s"]),
         helper.make_tensor_value_info("start", I64, [1, 1])],
        initializer=inits)
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, path)


def build_indexed(work):
    n = helper.make_node
    for name, node, inputs in (
        ("ge", n("GatherElements", ["x", "ids"], ["y"], name="ge", axis=1),
         [helper.make_tensor_value_info("ids", I64, [2, 2])]),
        ("snd", n("ScatterND", ["x", "ids", "u"], ["y"], name="snd"),
         [helper.make_tensor_value_info("ids", I64, [2, 1]),
          helper.make_tensor_value_info("u", F32, [2, 3])])):
        out = [2, 2] if name == "ge" else [4, 3]
        xshape = [2, 3] if name == "ge" else [4, 3]
        graph = helper.make_graph(
            [node], name, [helper.make_tensor_value_info("x", F32, xshape)]
            + inputs, [helper.make_tensor_value_info("y", F32, out)])
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", 18)])
        model.ir_version = 10
        onnx.checker.check_model(model)
        onnx.save_model(model, os.path.join(work, name + ".onnx"))


def check_indexed(args, c):
    work = args.work_dir
    build_indexed(work)
    rng = np.random.default_rng(0)
    x23 = rng.standard_normal((2, 3)).astype(np.float32)
    x43 = rng.standard_normal((4, 3)).astype(np.float32)
    u = rng.standard_normal((2, 3)).astype(np.float32)
    cases = {
        "ge": (lambda ids: {"x": x23, "ids": np.array(ids, np.int64)},
               [[0, 2], [-1, -3]], [[0, 3], [1, 1]], 3, 3),
        "snd": (lambda ids: {"x": x43, "ids": np.array(ids, np.int64),
                             "u": u},
                [[3], [-4]], [[1], [-5]], -5, 4),
    }
    for name, (feeds, good, bad, bad_index, dim) in cases.items():
        model = os.path.join(work, name + ".onnx")
        qob = os.path.join(work, name + ".qob")
        E.compile_model(args.quant_compile, model, qob, "--scheme", "float")
        ort = E.ort_session(model)
        for ids, ok in ((good, True), (bad, False)):
            npz = os.path.join(work, f"{name}_in.npz")
            out = os.path.join(work, f"{name}_out.npz")
            np.savez(npz, **feeds(ids))
            r = subprocess.run([args.quant_run, qob, "--inputs-npz", npz,
                                "--output", out], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True,
                               errors="replace", timeout=120)
            if ok:
                same = r.returncode == 0 and np.array_equal(
                    np.load(out)["y"], E.ort_run(ort, feeds(ids))["y"])
                c.check(same, f"{name}: run-time indices {ids} equal "
                              f"onnxruntime's result")
            else:
                c.check(r.returncode != 0 and f"node '{name}'" in r.stderr
                        and f"index {bad_index} is out of range" in r.stderr
                        and f"size {dim}" in r.stderr,
                        f"{name}: indices {ids} fail quant-run "
                        f"({r.returncode}) with {r.stderr.strip()!r}")


def main():
    args = E.parse_args(__doc__.splitlines()[0])
    work = args.work_dir
    c = E.Checker("check_causal_mask")
    model = os.path.join(work, "causal_mask.onnx")
    qob = os.path.join(work, "causal_mask.qob")
    build(model)
    E.compile_model(args.quant_compile, model, qob, "--scheme", "float")
    ort = E.ort_session(model)
    for s, pad in ((5, 2), (9, 3)):
        ids = np.arange(100, 100 + s, dtype=np.int64)[None, :]
        am = np.ones((1, s), np.int64)
        am[0, :pad] = 0
        inputs = os.path.join(work, f"in_{s}.npz")
        out = os.path.join(work, f"out_{s}.npz")
        np.savez(inputs, input_ids=ids, attention_mask=am)
        r = subprocess.run([args.quant_run, qob, "--inputs-npz", inputs,
                            "--output", out], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, errors="replace",
                           timeout=120)
        if not c.check(r.returncode == 0,
                       f"s={s}: quant-run exits 0 ({r.stderr.strip()[:200]})"):
            continue
        got = dict(np.load(out))
        ref = E.ort_run(ort, {"input_ids": ids, "attention_mask": am})
        for name, want in ref.items():
            have = got.get(name)
            ok = (have is not None and have.dtype == want.dtype
                  and have.shape == want.shape and np.array_equal(have, want))
            c.check(ok, f"s={s}: '{name}' {want.dtype}{list(want.shape)} "
                        f"equals onnxruntime's exactly")
    check_indexed(args, c)
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
