"""A transformer block end to end: ours vs onnxruntime, float and int8.

The block: test/Import/ONNX/Inputs/make_model.py's build_transformer (pre-LN
encoder layer as torch.onnx exports it: LayerNormalization, Q/K/V/O
MatMul+Add, Reshape/Transpose to heads, MatMul scores, Softmax, MatMul,
Gelu MLP of 4x width, residual Adds), with one layer, random weights and
static shape [batch, seq, hidden].

Variants:
  float       the float model: ours (--scheme float) vs ORT (all graph
              optimizations);
  qdq         onnxruntime.quantization.quantize_static of the float model
              (QDQ, per-channel int8 weights, uint8 activations, calibrated
              on a few random inputs): ours compiling the QDQ model vs ORT
              running the same QDQ model with all graph optimizations (its
              int8 fast path: QDQ groups fused into QLinear*/MatMulInteger);
  qdq-rr      the same with reduce_range=True (7-bit weights, which
              onnxruntime recommends on AVX2 without VNNI): ours takes
              qk_qgemm's vpmaddubsw path; vs ORT on the same model;
  qdq-attn-matmuls  just the two quantized attention MatMuls of the QDQ
              block (DequantizeLinear x2 -> MatMul -> QuantizeLinear, for
              scores [heads,seq,d]x[heads,d,seq] and context
              [heads,seq,seq]x[heads,seq,d]): what the activation x
              activation MatMuls cost inside `qdq`;
  w8a8-dyn    ours --scheme w8a8 --activation-mode=dynamic from the float
              model (for information; compared with ORT float);
  w4a16       ours --scheme w4a16 from the float model (for information).

    python3 benchmarks/bench_transformer.py [--quick] [--hidden 768 ...]
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile

import numpy as np
import onnx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def _make_model_module():
    path = os.path.join(common.ROOT, "test", "Import", "ONNX", "Inputs",
                        "make_model.py")
    spec = importlib.util.spec_from_file_location("qo_make_model", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def build_float(batch, seq, hidden, heads, ffn):
    mm = _make_model_module()
    model = mm.build_transformer(batch=batch, seq=seq, hidden=hidden,
                                 heads=heads, layers=1, ffn=ffn)
    onnx.checker.check_model(model)
    return model


def quantize_qdq(float_path, qdq_path, shape, samples=4, exclude=(),
                 reduce_range=False):
    from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                          QuantType, quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            rng = np.random.default_rng(7)
            self._it = iter([{"x": rng.standard_normal(shape).astype(
                np.float32)} for _ in range(samples)])

        def get_next(self):
            return next(self._it, None)

    quantize_static(float_path, qdq_path, Reader(),
                    quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    nodes_to_exclude=list(exclude),
                    reduce_range=reduce_range)
    normalize_scales(qdq_path)


def normalize_scales(path):
    """Rewrites [1]-shaped Q/DQ scales as scalars (same semantics).

    Works around a quant-compile bug (lib/Conversion, not ours to edit): a
    DequantizeLinear with a [1] scale, a rank-0 zero point and more than 64
    elements (the int32-quantized LayerNormalization bias that
    quantize_static writes, hidden >= 128) fails with "'linalg.generic' op
    expected operand #2 rank (0) to match the result rank of indexing_map
    (1)". Both runtimes run the rewritten model."""
    from onnx import numpy_helper
    model = onnx.load_model(path)
    inits = {i.name: i for i in model.graph.initializer}
    fixed = 0
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear"):
            s = inits.get(node.input[1])
            if s is not None and list(s.dims) == [1]:
                a = numpy_helper.to_array(s).reshape(())
                s.CopyFrom(numpy_helper.from_array(a, s.name))
                fixed += 1
    onnx.save_model(model, path)
    return fixed


def kernel_times(env, M, hidden, ffn):
    """qk-bench times of the block's six projection GEMMs alone (Q, K, V,
    O: [M,hidden]x[hidden,hidden]; fc1, fc2), summed per kernel kind: the
    rest of a model's time is generated code (LayerNorm, attention,
    Softmax, Gelu, Q/DQ, transposes) and the runtime."""
    if not env.qk_bench:
        return {}
    import subprocess
    shapes = [(M, hidden, hidden, 4), (M, ffn, hidden, 1), (M, hidden, ffn, 1)]
    cmd = [env.qk_bench, "--threads", str(env.threads), "--no-limits",
           "--iters", "15"]
    for kind in ("sgemm", "qgemm"):
        for m, n, k, _ in shapes:
            cmd += [f"--{kind}", f"{m},{n},{k}"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    cmd_b7 = cmd[:6] + ["--b7"] + [x for m, n, k, _ in shapes
                                   for x in ("--qgemm", f"{m},{n},{k}")]
    out_b7 = subprocess.run(cmd_b7, capture_output=True, text=True).stdout
    total = {}
    for line in out.splitlines() + out_b7.splitlines():
        r = json.loads(line)
        if r.get("b7"):
            r["kind"] = "qgemm-b7"
        w = next(c for m, n, k, c in shapes if (m, n, k) == (r["M"], r["N"],
                                                              r["K"]))
        total[r["kind"]] = total.get(r["kind"], 0.0) + w * r["ms"]
    return total


def build_attention_matmuls(batch, seq, d, heads):
    """The QDQ block's two attention MatMuls alone: uint8 inputs q, kt, p,
    v -> DequantizeLinear -> MatMul -> QuantizeLinear -> uint8 outputs."""
    from onnx import TensorProto, helper, numpy_helper
    U8 = TensorProto.UINT8
    inits = [numpy_helper.from_array(np.array(0.05, np.float32), "s"),
             numpy_helper.from_array(np.array(128, np.uint8), "z"),
             numpy_helper.from_array(np.array(1.0 / 255, np.float32), "sp"),
             numpy_helper.from_array(np.array(0, np.uint8), "zp"),
             numpy_helper.from_array(np.array(0.5, np.float32), "so")]
    nodes = [helper.make_node("DequantizeLinear", ["q", "s", "z"], ["qf"]),
             helper.make_node("DequantizeLinear", ["kt", "s", "z"], ["ktf"]),
             helper.make_node("MatMul", ["qf", "ktf"], ["sc"], name="scores"),
             helper.make_node("QuantizeLinear", ["sc", "so", "z"], ["scq"]),
             helper.make_node("DequantizeLinear", ["p", "sp", "zp"], ["pf"]),
             helper.make_node("DequantizeLinear", ["v", "s", "z"], ["vf"]),
             helper.make_node("MatMul", ["pf", "vf"], ["cx"], name="ctx"),
             helper.make_node("QuantizeLinear", ["cx", "so", "z"], ["cxq"])]
    graph = helper.make_graph(
        nodes, "attn",
        [helper.make_tensor_value_info("q", U8, [batch, heads, seq, d]),
         helper.make_tensor_value_info("kt", U8, [batch, heads, d, seq]),
         helper.make_tensor_value_info("p", U8, [batch, heads, seq, seq]),
         helper.make_tensor_value_info("v", U8, [batch, heads, seq, d])],
        [helper.make_tensor_value_info("scq", U8, [batch, heads, seq, seq]),
         helper.make_tensor_value_info("cxq", U8, [batch, heads, seq, d])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


def flops(seq, hidden, ffn, batch=1):
    proj = 2 * seq * hidden * (4 * hidden + 2 * ffn)
    attn = 2 * 2 * seq * seq * hidden
    return batch * (proj + attn)


def run(env, hidden=768, heads=12, seq=128, batch=1, ffn_mult=4):
    if env.quick:
        hidden, heads, seq = 128, 2, 32
    ffn = ffn_mult * hidden
    shape = (batch, seq, hidden)
    work = tempfile.mkdtemp(dir=env.work_dir)
    fpath = os.path.join(work, "block.onnx")
    qpath = os.path.join(work, "block.qdq.onnx")
    q2path = os.path.join(work, "attn-matmuls.qdq.onnx")
    onnx.save_model(build_float(batch, seq, hidden, heads, ffn), fpath)
    quantize_qdq(fpath, qpath, shape)
    rrpath = os.path.join(work, "block.qdq-rr.onnx")
    quantize_qdq(fpath, rrpath, shape, reduce_range=True)
    onnx.save_model(build_attention_matmuls(batch, seq, hidden // heads,
                                            heads), q2path)
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    feeds = {"x": x}
    min_time = 0.3 if env.quick else 1.5
    gflop = flops(seq, hidden, ffn, batch) / 1e9

    def t_ours(src, *flags, feeds_=None):
        feeds_ = feeds_ or feeds
        qob = os.path.join(work, os.path.basename(src) + "." +
                           ("_".join(f.strip("-") for f in flags) or "float")
                           + ".qob")
        compile_s, cmd = env.compile(src, qob, *flags)
        bundle = env.bundle(qob)
        y = list(bundle.run(feeds_).values())[0]
        t = common.time_loop(common.ours_runner(bundle, feeds_), 3, 20,
                             min_time)
        kernels = {}
        for k in bundle.manifest.get("kernels", []):
            kernels[k["kernel"]] = kernels.get(k["kernel"], 0) + 1
        bundle.close()
        os.remove(qob)
        return t, y, {"compile_s": compile_s, "command": cmd,
                      "kernels": kernels}

    def t_ort(src, level="all", feeds_=None):
        feeds_ = feeds_ or feeds
        sess = common.ort_session(src, env.threads, level)
        y = sess.run(None, feeds_)[0]
        t = common.time_loop(common.ort_runner(sess, feeds_), 3, 20,
                             min_time)
        return t, y

    def err(a, b):
        return float(np.abs(a - b).max() / (np.abs(b).max() + 1e-30))

    ort_f, y_ref = t_ort(fpath)
    ort_q, y_ort_q = t_ort(qpath)
    ort_rr, _ = t_ort(rrpath)
    rng = np.random.default_rng(5)
    d = hidden // heads
    attn_feeds = {n: rng.integers(0, 256, size=s_, dtype=np.uint8)
                  for n, s_ in (("q", (batch, heads, seq, d)),
                                ("kt", (batch, heads, d, seq)),
                                ("p", (batch, heads, seq, seq)),
                                ("v", (batch, heads, seq, d)))}
    ort_q2, _ = t_ort(q2path, feeds_=attn_feeds)
    kernel_ms = kernel_times(env, seq * batch, hidden, ffn)
    rows = []
    base = {"bench": "transformer", "batch": batch, "seq": seq,
            "hidden": hidden, "heads": heads, "ffn": ffn, "gflop": gflop}
    variants = [("float", fpath, (), ort_f, "ORT float"),
                ("qdq", qpath, (), ort_q, "ORT QDQ (all opts)"),
                ("qdq-rr", rrpath, (), ort_rr, "ORT same QDQ (all opts)"),
                ("qdq-attn-matmuls", q2path, (), ort_q2,
                 "ORT same model (all opts)"),
                ("w8a8-dyn", fpath,
                 ("--scheme=w8a8", "--activation-mode=dynamic"), ort_f,
                 "ORT float"),
                ("w4a16", fpath, ("--scheme=w4a16",), ort_f, "ORT float")]
    for name, src, flags, ort_t, ort_name in variants:
        rec = dict(base, variant=name, ort_baseline=ort_name)
        try:
            t, y, info = t_ours(src, *flags,
                                feeds_=attn_feeds if src == q2path else None)
        except Exception as e:
            rec["error"] = str(e)[:400]
            rows.append(rec)
            env.log(f"transformer {name}: FAILED {rec['error']}")
            continue
        g = gflop if src != q2path else 4.0 * batch * heads * seq * seq * d / 1e9
        rec.update(ours_ms=t["median_ms"], ort_ms=ort_t["median_ms"],
                   speedup=common.ratio(ort_t["median_ms"], t["median_ms"]),
                   ours_gflops=g / (t["median_ms"] / 1e3),
                   ort_gflops=g / (ort_t["median_ms"] / 1e3),
                   rel_err_vs_ort_float=(err(y, y_ref) if src != q2path
                                         else None),
                   load_avg=max(t["load_avg"], ort_t["load_avg"]),
                   others_cpu=max(t["others_cpu"] or 0,
                                  ort_t["others_cpu"] or 0),
                   compile_s=info["compile_s"],
                   compile_command=info["command"], kernels=info["kernels"])
        kind = {"float": "sgemm", "qdq": "qgemm", "qdq-rr": "qgemm-b7",
                "w8a8-dyn": "qgemm"}.get(name)
        if kind and kernel_ms.get(kind):
            rec["ours_projection_kernels_ms"] = kernel_ms[kind]
            rec["ours_rest_ms"] = t["median_ms"] - kernel_ms[kind]
        if name == "qdq":
            rec["ort_qdq_rel_err_vs_ort_float"] = err(y_ort_q, y_ref)
            rec["rel_err_vs_ort_qdq"] = err(y, y_ort_q)
        rows.append(rec)
        env.log(f"transformer {name}: ours {rec['ours_ms']:.2f} ms, "
                f"{ort_name} {rec['ort_ms']:.2f} ms, ratio "
                f"{rec['speedup']:.2f}x, err "
                f"{common.fmt(rec['rel_err_vs_ort_float'], 6)}"
                f", load {rec['load_avg']:.2f}")
    for p in (fpath, qpath, rrpath, q2path):
        os.remove(p)
    for f in os.listdir(work):
        os.remove(os.path.join(work, f))
    os.rmdir(work)
    return rows


COLUMNS = [("variant", "variant", 0), ("baseline", "ort_baseline", 0),
           ("ours ms", "ours_ms", 2), ("ORT ms", "ort_ms", 2),
           ("ours/ORT speed", "speedup", 2),
           ("ours GFLOP/s", "ours_gflops", 1),
           ("ours: 6 projection kernels alone ms",
            "ours_projection_kernels_ms", 2),
           ("ours: rest ms", "ours_rest_ms", 2),
           ("rel err vs ORT float", "rel_err_vs_ort_float", 4),
           ("load", "load_avg", 2),
           ("others' cores", "others_cpu", 2)]


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(common.ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--hidden", type=int, default=768)
    p.add_argument("--heads", type=int, default=12)
    p.add_argument("--seq", type=int, default=128)
    args = p.parse_args()
    env = common.Env(args.build_dir, args.threads, quick=args.quick)
    rows = run(env, args.hidden, args.heads, args.seq)
    for r in rows:
        print(json.dumps(r))
    print(common.markdown_table(rows, COLUMNS), file=sys.stderr)


if __name__ == "__main__":
    main()
