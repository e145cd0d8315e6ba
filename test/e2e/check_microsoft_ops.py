#!/usr/bin/env python3
"""The com.microsoft LLM ops against onnxruntime's CPU kernels.

One-node models (float32, dynamic batch and sequence lengths) compiled with
quant-compile --scheme float and run at two lengths, compared with
onnxruntime on the same file:

  SimplifiedLayerNormalization, SkipSimplifiedLayerNormalization (outputs 0
  and 3), SkipLayerNormalization (with beta and bias);
  RotaryEmbedding: [B, S, N*H] and [B, N, S, H] inputs, half-split and
  interleaved, full and partial rotary, [B, S] position ids;
  GroupQueryAttention: packed and separate Q/K/V, with and without a past,
  do_rotary, grouped heads (4 query heads on 2 and 1 K/V heads), a local
  window, softcap.

Tolerance 2e-5 absolute: float32 values of magnitude <= ~10 computed by a
different summation order (reductions over <= 64 terms, softmax over <= 12).
Errors: a GroupQueryAttention whose num_heads is not a multiple of
kv_num_heads and one with smooth_softmax fail to compile with a message
naming the node and the attribute.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import e2e_common as E

F32, I64, I32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32
ATOL = 2e-5
MS = "com.microsoft"


def save(path, nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17),
                                            helper.make_opsetid(MS, 1)])
    m.ir_version = 8
    onnx.save(m, path)


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def rope_caches(max_pos, half, rng):
    ang = rng.uniform(0, 3, (max_pos, half)).astype(np.float32)
    return (numpy_helper.from_array(np.cos(ang), "cos"),
            numpy_helper.from_array(np.sin(ang), "sin"))


def norm_models(d, rng):
    h = 32
    gamma = numpy_helper.from_array(rng.standard_normal(h).astype(np.float32),
                                    "gamma")
    beta = numpy_helper.from_array(rng.standard_normal(h).astype(np.float32),
                                   "beta")
    bias = numpy_helper.from_array(rng.standard_normal(h).astype(np.float32),
                                   "bias")
    x = vi("x", F32, ["b", "s", h])
    skip = vi("skip", F32, ["b", "s", h])
    models = {}
    p = os.path.join(d, "simplified_ln.onnx")
    save(p, [helper.make_node("SimplifiedLayerNormalization", ["x", "gamma"],
                              ["y"], epsilon=1e-6, axis=-1)],
         [x], [vi("y", F32, None)], [gamma])
    models["SimplifiedLayerNormalization"] = (p, ["x"])
    p = os.path.join(d, "skip_simplified_ln.onnx")
    save(p, [helper.make_node("SkipSimplifiedLayerNormalization",
                              ["x", "skip", "gamma"], ["y", "", "", "sum"],
                              domain=MS, epsilon=1e-6)],
         [x, skip], [vi("y", F32, None), vi("sum", F32, None)], [gamma])
    models["SkipSimplifiedLayerNormalization"] = (p, ["x", "skip"])
    p = os.path.join(d, "skip_ln.onnx")
    save(p, [helper.make_node("SkipLayerNormalization",
                              ["x", "skip", "gamma", "beta", "bias"],
                              ["y", "", "", "sum"], domain=MS,
                              epsilon=1e-5)],
         [x, skip], [vi("y", F32, None), vi("sum", F32, None)],
         [gamma, beta, bias])
    models["SkipLayerNormalization"] = (p, ["x", "skip"])
    return models


def rotary_models(d, rng):
    models = {}
    heads, hs = 4, 16
    for rank in (3, 4):
        for interleaved in (0, 1):
            for rot in (16, 8):
                cos, sin = rope_caches(64, rot // 2, rng)
                shape = ["b", "s", heads * hs] if rank == 3 else \
                    ["b", heads, "s", hs]
                name = f"rotary_r{rank}_i{interleaved}_d{rot}"
                p = os.path.join(d, name + ".onnx")
                attrs = dict(interleaved=interleaved, num_heads=heads)
                if rot != hs:
                    attrs["rotary_embedding_dim"] = rot
                save(p, [helper.make_node(
                    "RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"],
                    domain=MS, **attrs)],
                    [vi("x", F32, shape), vi("pos", I64, ["b", "s"])],
                    [vi("y", F32, None)], [cos, sin])
                models[name] = (p, ["x", "pos"], rank)
    return models


def gqa_model(path, heads, kv_heads, packed, past, rotary, window=-1,
              softcap=0.0, rng=None, extra=None):
    hs = 16
    inputs, inits = [], []
    if packed:
        inputs.append(vi("qkv", F32, ["b", "s", (heads + 2 * kv_heads) * hs]))
        names = ["qkv", "", ""]
    else:
        inputs += [vi("q", F32, ["b", "s", heads * hs]),
                   vi("k", F32, ["b", "s", kv_heads * hs]),
                   vi("v", F32, ["b", "s", kv_heads * hs])]
        names = ["q", "k", "v"]
    if past:
        inputs += [vi("past_k", F32, ["b", kv_heads, "p", hs]),
                   vi("past_v", F32, ["b", kv_heads, "p", hs])]
        names += ["past_k", "past_v"]
    else:
        names += ["", ""]
    inputs += [vi("seqlens_k", I32, ["b"]), vi("total", I32, [])]
    names += ["seqlens_k", "total"]
    if rotary:
        cos, sin = rope_caches(64, hs // 2, rng)
        inits += [cos, sin]
        names += ["cos", "sin"]
    attrs = dict(num_heads=heads, kv_num_heads=kv_heads, do_rotary=int(rotary),
                 local_window_size=window, softcap=softcap)
    attrs.update(extra or {})
    save(path, [helper.make_node("GroupQueryAttention", names,
                                 ["out", "present_k", "present_v"], domain=MS,
                                 **attrs)],
         inputs, [vi("out", F32, None), vi("present_k", F32, None),
                  vi("present_v", F32, None)], inits)


GQA = {
    # name: heads, kv_heads, packed, past, rotary, window, softcap
    "gqa_packed_rotary": (4, 2, True, True, True, -1, 0.0),
    "gqa_separate_nopast": (4, 1, False, False, False, -1, 0.0),
    "gqa_window_softcap": (4, 2, True, True, True, 3, 5.0),
    "gqa_mha_rotary": (4, 4, False, True, True, -1, 0.0),
}


def gqa_feeds(spec, seq, past_len, rng):
    heads, kv, packed, past, _, _, _ = spec
    hs = 16
    f = {}
    if packed:
        f["qkv"] = rng.standard_normal((1, seq, (heads + 2 * kv) * hs)) \
            .astype(np.float32)
    else:
        f["q"] = rng.standard_normal((1, seq, heads * hs)).astype(np.float32)
        f["k"] = rng.standard_normal((1, seq, kv * hs)).astype(np.float32)
        f["v"] = rng.standard_normal((1, seq, kv * hs)).astype(np.float32)
    if past:
        f["past_k"] = rng.standard_normal((1, kv, past_len, hs)).astype(
            np.float32)
        f["past_v"] = rng.standard_normal((1, kv, past_len, hs)).astype(
            np.float32)
    else:
        past_len = 0
    total = past_len + seq
    f["seqlens_k"] = np.array([total - 1], np.int32)
    f["total"] = np.array(total, np.int32)
    return f


def main():
    args = E.parse_args(__doc__.splitlines()[0])
    chk = E.Checker("microsoft-ops")
    d = args.work_dir
    rng = np.random.default_rng(11)

    def run_case(label, path, feeds_list):
        qob = path.replace(".onnx", ".qob")
        r = E.compile_model(args.quant_compile, path, qob, "--scheme", "float",
                            check=False)
        if not chk.check(r.returncode == 0, f"{label} compiles" + (
                "" if r.returncode == 0 else ": " + r.stderr.strip()[:400])):
            return
        ort = E.ort_session(path)
        b = E.bundle(qob)
        for tag, feeds in feeds_list:
            ref = E.ort_run(ort, feeds)
            got = b.run(**feeds)
            for out, v in ref.items():
                E.compare(chk, f"{label} {tag} {out}", got[out], v, ATOL)

    for label, (path, names) in norm_models(d, rng).items():
        cases = []
        for shape in ((2, 5), (1, 9)):
            cases.append((str(list(shape)), {
                n: rng.standard_normal((*shape, 32)).astype(np.float32)
                for n in names}))
        run_case(label, path, cases)

    for label, (path, _, rank) in rotary_models(d, rng).items():
        cases = []
        for b, s in ((2, 5), (1, 9)):
            x = rng.standard_normal((b, s, 64) if rank == 3 else
                                    (b, 4, s, 16)).astype(np.float32)
            pos = rng.integers(0, 64, (b, s), dtype=np.int64)
            cases.append((f"[{b}, {s}]", {"x": x, "pos": pos}))
        run_case(label, path, cases)

    for label, spec in GQA.items():
        path = os.path.join(d, label + ".onnx")
        gqa_model(path, *spec[:5], window=spec[5], softcap=spec[6], rng=rng)
        cases = [("prefill 6", gqa_feeds(spec, 6, 0, rng))]
        if spec[3]:
            cases += [("decode after 7", gqa_feeds(spec, 1, 7, rng)),
                      ("3 tokens after 5", gqa_feeds(spec, 3, 5, rng))]
        run_case(label, path, cases)

    # Errors name the node and the attribute.
    for label, heads, kv, extra, expect in (
            ("gqa_bad_heads", 3, 2, {}, "must be a positive multiple of "
             "kv_num_heads"),
            ("gqa_smooth_softmax", 4, 2, {"smooth_softmax": 1},
             "smooth_softmax=1 is not supported")):
        path = os.path.join(d, label + ".onnx")
        gqa_model(path, heads, kv, True, True, False, rng=rng, extra=extra)
        qob = os.path.join(d, label + ".qob")
        r = E.compile_model(args.quant_compile, path, qob, "--scheme", "float",
                            check=False)
        chk.check(r.returncode != 0 and expect in r.stderr and
                  "GroupQueryAttention" in r.stderr and
                  not os.path.exists(qob),
                  f"{label}: fails with '{expect}' and writes no bundle")
    return chk.finish()


if __name__ == "__main__":
    sys.exit(main())
