#!/usr/bin/env python3
"""LLM speed on the CPU: Gemma 3 270M prefill and decode, QuantOpt against
onnxruntime and llama.cpp in the same run.

    python3 benchmarks/llm/bench_llm.py [--model-dir DIR] [--build-dir build]
        [--threads 2] [--ours float,w8a8-dyn,w4a16-g128]
        [--ort float,int8,nbits4] [--llama f32,q8_0,q4_0,q4_k_m]
        [--prefill 512] [--contexts 128,512] [--out JSON]

What is timed (median over repeated runs, `threads` threads everywhere):
- prefill: one run of the KV-cache export with `prefill` prompt tokens and
  an empty past (tokens/s = prefill / time);
- decode at context L: one step of the KV export with one new token and a
  past of L positions (tokens/s = 1 / time).
QuantOpt: bundles compiled from DIR/gemma3_270m_fp32_kv.onnx, run through
the ctypes runtime (outputs freed unread). onnxruntime: the same KV ONNX in
float, quantized by its quantize_dynamic (int8, per channel, MatMul only)
and by MatMulNBitsQuantizer (4 bits, block 128, accuracy_level 4 set on
every MatMulNBits node), with io-binding. llama.cpp: `llama-bench` on GGUFs
of the same float weights (made by benchmarks/llm/build_llama_cpp.sh),
`-p PREFILL -n 32 -d 0,L...`, `--repack 0` (its repacking path crashed on
an AMX Xeon, see ../shared/models/README.md); a missing llama.cpp build is
reported, not fatal.

Prints a table with each row's ratio to onnxruntime float and writes the
raw results with the CPU model and ISA (benchmarks/results/llm/).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np

import llm_common as lc
from common import Env, ort_runner, ort_session, ours_runner, time_loop

OURS = {
    "float": ["--scheme", "float"],
    "w8a8-dyn": ["--scheme", "w8a8", "--activation-mode", "dynamic",
                 "--activation-granularity", "per-token",
                 "--weight-granularity", "per-channel"],
    "w4a16-g128": ["--scheme", "w4a16", "--group-size", "128"],
    "w4a16-g32": ["--scheme", "w4a16", "--group-size", "32"],
}
ORT_MODELS = ["float", "int8", "nbits4"]
LLAMA = ["f32", "q8_0", "q4_0", "q4_k_m"]

KV_ONNX = "gemma3_270m_fp32_kv.onnx"


def kv_feeds(inputs, new_tokens, past_len, rng):
    """Feeds of a KV step: int64 ids, float32 pasts of past_len positions."""
    feeds = {}
    for name, shape in inputs:
        if name == "input_ids":
            feeds[name] = rng.integers(2, 1000, (1, new_tokens),
                                       dtype=np.int64)
        else:
            # [batch, kv_heads, past, head_dim]
            dims = [1, shape[1], past_len, shape[3]]
            feeds[name] = (rng.standard_normal(dims) * 0.5).astype(
                np.float32)
    return feeds


def onnx_inputs(path):
    import onnx
    m = onnx.load(path, load_external_data=False)
    return [(i.name, [d.dim_value or d.dim_param
                      for d in i.type.tensor_type.shape.dim])
            for i in m.graph.input]


def time_model(run_for, inputs, a, rng, label):
    """run_for(feeds) -> callable; returns the prefill/decode figures."""
    res = {}
    fn = run_for(kv_feeds(inputs, a.prefill, 0, rng))
    t = time_loop(fn, warmup=1, iterations=3, min_time=1.0, max_time=20)
    res["prefill_ms"] = t["median_ms"]
    res["prefill_tok_s"] = a.prefill / t["median_ms"] * 1e3
    for ctx in a.contexts:
        fn = run_for(kv_feeds(inputs, 1, ctx, rng))
        t = time_loop(fn, warmup=3, iterations=20, min_time=1.0,
                      max_time=20)
        res[f"decode{ctx}_ms"] = t["median_ms"]
        res[f"decode{ctx}_tok_s"] = 1e3 / t["median_ms"]
    res["load_avg"] = os.getloadavg()[0]
    print(f"  {label}: " + json.dumps({k: round(v, 2) for k, v in
                                      res.items()}), flush=True)
    return res


def make_ort_model(a, name):
    """The KV export quantized by onnxruntime's own tools (made once, in
    prepare.sh's venv, next to the model)."""
    d = a.model_dir
    if name == "float":
        return os.path.join(d, KV_ONNX)
    out = os.path.join(d, f"gemma3_270m_kv_{name}.onnx")
    if os.path.exists(out):
        return out
    code = {
        "int8": (
            "from onnxruntime.quantization import quantize_dynamic, QuantType\n"
            "quantize_dynamic(SRC, TMP, weight_type=QuantType.QInt8, "
            "op_types_to_quantize=['MatMul'], per_channel=True, "
            "use_external_data_format=True)\n"),
        "nbits4": (
            "import onnx\n"
            "from onnxruntime.quantization import matmul_nbits_quantizer as q\n"
            "cfg = q.DefaultWeightOnlyQuantConfig(block_size=128, "
            "is_symmetric=True, bits=4, accuracy_level=4)\n"
            "m = q.MatMulNBitsQuantizer(onnx.load(SRC), bits=4, "
            "block_size=128, is_symmetric=True, accuracy_level=4, "
            "algo_config=cfg)\n"
            "m.process()\n"
            "for n in m.model.model.graph.node:\n"
            "    if n.op_type == 'MatMulNBits':\n"
            "        a = [x for x in n.attribute if x.name == 'accuracy_level']\n"
            "        assert a and a[0].i == 4, n.name\n"
            "m.model.save_model_to_file(TMP, use_external_data_format=True)\n"),
    }[name]
    tmp = out + ".tmp.onnx"
    src = os.path.join(d, KV_ONNX)
    subprocess.run([lc.peer_python(d), "-c",
                    f"SRC={src!r}\nTMP={tmp!r}\n" + code], check=True)
    # The external data file keeps the temporary name it was saved with;
    # the .onnx refers to it by that name, so only the .onnx is renamed.
    os.replace(tmp, out)
    return out


def llama_bench(a, q):
    bench = os.path.join(os.path.dirname(a.model_dir), "llama.cpp", "bin",
                         "llama-bench")
    gguf = os.path.join(a.model_dir, "gguf", f"gemma3_270m_{q}.gguf")
    if not (os.path.exists(bench) and os.path.exists(gguf)):
        return {"skipped": f"{bench} or {gguf} missing: run "
                "benchmarks/llm/build_llama_cpp.sh"}
    depths = ",".join(str(c) for c in [0] + a.contexts)
    cmd = [bench, "-m", gguf, "-t", str(a.threads), "-p", str(a.prefill),
           "-n", "32", "-d", depths, "--repack", "0", "-r", "3", "-o",
           "json"]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        return {"failed": p.stderr[-1500:], "command": " ".join(cmd)}
    rows = json.loads(p.stdout)
    res = {"command": " ".join(cmd), "raw": rows}
    for r in rows:
        depth = r.get("n_depth", 0)
        if r["n_prompt"] and depth == 0:
            res["prefill_tok_s"] = r["avg_ts"]
        elif r["n_gen"] and depth in a.contexts:
            res[f"decode{depth}_tok_s"] = r["avg_ts"]
    print(f"  llama.cpp {q}: " + json.dumps(
        {k: round(v, 2) for k, v in res.items() if k.endswith("tok_s")}),
        flush=True)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir")
    p.add_argument("--build-dir", default=os.path.join(lc.ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ours", default="float,w8a8-dyn,w4a16-g128")
    p.add_argument("--ours-extra", default="",
                   help="extra quant-compile flags for every bundle")
    p.add_argument("--ort", default=",".join(ORT_MODELS))
    p.add_argument("--llama", default=",".join(LLAMA))
    p.add_argument("--prefill", type=int, default=512)
    p.add_argument("--contexts", default="128,512")
    p.add_argument("--work-dir", default="/tmp/quantopt-llm-bench")
    p.add_argument("--out")
    a = p.parse_args()
    a.model_dir = lc.model_dir(a.model_dir)
    a.contexts = [int(c) for c in a.contexts.split(",") if c]
    lc.require_model(a.model_dir, [KV_ONNX])
    env = Env(a.build_dir, threads=a.threads, work_dir=a.work_dir,
              verbose=False)
    rng = np.random.default_rng(0)
    inputs = onnx_inputs(os.path.join(a.model_dir, KV_ONNX))
    rows = []

    for name in [s for s in a.ours.split(",") if s]:
        bundle_path = os.path.join(a.work_dir, f"gemma3_kv_{name}.qob")
        flags = OURS[name] + a.ours_extra.split()
        start = time.time()
        subprocess.run([env.quant_compile, os.path.join(a.model_dir, KV_ONNX),
                        "-o", bundle_path, "--quiet", *flags], check=True)
        compile_s = time.time() - start
        bundle = env.rt.Bundle(bundle_path)
        r = time_model(lambda f: ours_runner(bundle, f), inputs, a, rng,
                       f"quantopt {name}")
        r.update(runtime="quantopt", model=name, flags=flags,
                 compile_seconds=round(compile_s, 1),
                 bytes=os.path.getsize(bundle_path))
        rows.append(r)
        bundle.close()
        os.remove(bundle_path)

    import onnxruntime as ort
    for name in [s for s in a.ort.split(",") if s]:
        path = make_ort_model(a, name)
        sess = ort_session(path, a.threads)
        r = time_model(lambda f: ort_runner(sess, f), inputs, a, rng,
                       f"onnxruntime {name}")
        r.update(runtime="onnxruntime", model=name, version=ort.__version__)
        rows.append(r)
        del sess

    for q in [s for s in a.llama.split(",") if s]:
        r = llama_bench(a, q)
        r.update(runtime="llama.cpp", model=q)
        rows.append(r)

    base = next((r for r in rows if r["runtime"] == "onnxruntime"
                 and r["model"] == "float"), None)
    keys = ["prefill_tok_s"] + [f"decode{c}_tok_s" for c in a.contexts]
    print(f"\n{lc.cpu_model()} ({lc.cpu_tag()}), {a.threads} threads; "
          "tokens/s (x onnxruntime float)")
    print("| runtime | model | prefill " + str(a.prefill) + " | " +
          " | ".join(f"decode @{c}" for c in a.contexts) + " |")
    print("|---|---|---|" + "---|" * len(a.contexts))
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            if v is None:
                cells.append("-")
                continue
            x = f" ({v / base[k]:.2f}x)" if base and base.get(k) else ""
            cells.append(f"{v:.1f}{x}")
        print(f"| {r['runtime']} | {r['model']} | " + " | ".join(cells) +
              " |")
    lc.write_result(a.out or lc.default_result_path("bench_llm"),
                    lc.machine({"threads": a.threads,
                                "kernel_isa": env.rt.kernel_isa(),
                                "prefill": a.prefill,
                                "contexts": a.contexts, "results": rows}))


if __name__ == "__main__":
    main()
