#!/usr/bin/env python3
"""Checks the LLM user tools of the quantopt package on a toy causal LM.

The toy model is input_ids [1, n] -> Gather(embedding) -> MatMul -> logits
[1, n, vocab], random weights. Its bundle (quant-compile --scheme float) is
scored by `python -m quantopt perplexity`; the expected figure is computed
here from onnxruntime's logits of the same ONNX model with an independent
formulation (np.logaddexp.reduce over the vocabulary, float64). Tolerance:
1e-6 relative on the perplexity -- both sides take float32 logits that
agree to a few ulps (one 64-long dot product per logit), and the NLL is
averaged in float64.

User errors (no chunks, a chunk of the wrong dtype, an unknown output) exit
1 with a message naming the file or output and how to fix it.
"""

import json
import os
import subprocess
import sys

import numpy as np

import e2e_common as c

VOCAB, WIDTH = 97, 64


def make_toy_lm(path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)
    emb = rng.standard_normal((VOCAB, WIDTH)).astype(np.float32)
    proj = (rng.standard_normal((WIDTH, VOCAB)) / 4).astype(np.float32)
    g = helper.make_graph(
        [helper.make_node("Gather", ["emb", "input_ids"], ["h"]),
         helper.make_node("MatMul", ["h", "proj"], ["logits"])],
        "toy_lm",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                       [1, "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       [1, "seq", VOCAB])],
        [numpy_helper.from_array(emb, "emb"),
         numpy_helper.from_array(proj, "proj")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]),
              path)


def reference_ppl(model, files):
    s = c.ort_session(model)
    nll = []
    for f in files:
        ids = np.load(f)
        lg = s.run(["logits"], {"input_ids": ids})[0][0].astype(np.float64)
        logz = np.logaddexp.reduce(lg[:-1], axis=-1)
        nll.append(logz - lg[np.arange(ids.shape[1] - 1), ids[0, 1:]])
    return float(np.exp(np.concatenate(nll).mean()))


def run_cli(*args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(c.ROOT, "python-bindings") + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "quantopt", *args],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env)


def main():
    args = c.parse_args(__doc__.splitlines()[0])
    chk = c.Checker("llm-tools")
    w = args.work_dir
    model = os.path.join(w, "toy_lm.onnx")
    make_toy_lm(model)
    qob = os.path.join(w, "toy_lm.qob")
    c.compile_model(args.quant_compile, model, qob, "--scheme", "float")

    chunks = os.path.join(w, "chunks")
    os.makedirs(chunks)
    rng = np.random.default_rng(11)
    files = []
    for i, n in enumerate((16, 33, 64)):
        f = os.path.join(chunks, f"eval_{i:02d}.npy")
        np.save(f, rng.integers(0, VOCAB, (1, n), dtype=np.int64))
        files.append(f)
    np.save(os.path.join(chunks, "calib_00.npy"),
            np.zeros((1, 8), np.int64))  # not matched by the default pattern

    ref = reference_ppl(model, files)
    r = run_cli("perplexity", qob, "--chunks", chunks, "--json")
    if chk.check(r.returncode == 0, f"perplexity exits 0 ({r.stderr.strip()})"):
        res = json.loads(r.stdout)
        rel = abs(res["ppl"] - ref) / ref
        chk.check(rel <= 1e-6, f"perplexity {res['ppl']:.6f} vs onnxruntime "
                  f"{ref:.6f} (relative {rel:.2g}, tolerance 1e-6)")
        chk.check(res["tokens"] == 15 + 32 + 63 and res["chunks"] == 3,
                  f"scored {res['tokens']} predictions in {res['chunks']} "
                  "chunks (expected 110 in 3)")
    r = run_cli("perplexity", qob, "--chunks", chunks, "--limit", "1")
    chk.check(r.returncode == 0 and "over 15 predictions in 1 chunks"
              in r.stdout, f"--limit 1 scores one chunk: {r.stdout.strip()}")

    # User errors.
    empty = os.path.join(w, "empty")
    os.makedirs(empty)
    r = run_cli("perplexity", qob, "--chunks", empty)
    chk.check(r.returncode == 1 and "no chunk files 'eval_*.npy'" in r.stderr,
              f"no chunks: exit {r.returncode}, {r.stderr.strip()}")
    bad = os.path.join(w, "bad")
    os.makedirs(bad)
    np.save(os.path.join(bad, "eval_00.npy"), np.zeros((1, 8), np.int32))
    r = run_cli("perplexity", qob, "--chunks", bad)
    chk.check(r.returncode == 1 and "expected int64 [1, n] token ids"
              in r.stderr, f"int32 chunk: exit {r.returncode}, "
              f"{r.stderr.strip()}")
    r = run_cli("perplexity", qob, "--chunks", chunks, "--output-name", "x")
    chk.check(r.returncode == 1 and "has no output 'x'" in r.stderr,
              f"unknown output: exit {r.returncode}, {r.stderr.strip()}")
    r = run_cli("perplexity", os.path.join(w, "missing.qob"), "--chunks",
                chunks)
    chk.check(r.returncode == 1 and "missing.qob" in r.stderr,
              f"missing bundle: exit {r.returncode}, {r.stderr.strip()}")
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
