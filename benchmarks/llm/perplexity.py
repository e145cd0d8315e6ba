#!/usr/bin/env python3
"""Perplexity and size of Gemma 3 270M bundles next to onnxruntime's
quantizers on the same ONNX model, scored the same way.

    python3 benchmarks/llm/perplexity.py [--model-dir DIR] [--build-dir build]
        [--schemes float,w8a8-dyn,w4a16-g128,...] [--peers float,dyn_int8_pc,...]
        [--limit N] [--work-dir DIR] [--out JSON]

Ours: each scheme is compiled from DIR/gemma3_270m_fp32.onnx by
quant-compile and scored by `python -m quantopt perplexity` (the
definition of ../shared/models/gemma3/ppl_ort.py: mean next-token NLL over
positions 1..n-1 of each evaluation chunk, log-softmax in float64).
Peers: onnxruntime on the float model and on the models its own quantizers
write (../shared/models/gemma3/quantize_ort.py: quantize_dynamic per-channel
int8 on MatMuls; MatMulNBits 4-bit block 128 asymmetric RTN, HQQ,
symmetric RTN), scored by ppl_ort.py itself, in the same run. A peer model
that does not exist yet is made first (minutes each).

Prints one table (perplexity, ratio to the float model of the same runtime,
weights/bundle size, compression vs float32 weights) and writes the raw
results with the machine record. Skips with a message when the model is not
prepared.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import time

import llm_common as lc

# name -> quant-compile arguments (after the model path).
SCHEMES = {
    "float": ["--scheme", "float"],
    # Per-channel int8 weights, int8 activations quantized per token at run
    # time: no calibration.
    "w8a8-dyn": ["--scheme", "w8a8", "--activation-mode", "dynamic",
                 "--activation-granularity", "per-token",
                 "--weight-granularity", "per-channel"],
    # Per-tensor dynamic activations: what onnxruntime's quantize_dynamic
    # does (its weights per channel here).
    "w8a8-dyn-pt": ["--scheme", "w8a8", "--activation-mode", "dynamic",
                    "--weight-granularity", "per-channel"],
    # Static activations calibrated on the 8 calibration chunks.
    "w8a8-static": ["--scheme", "w8a8", "--weight-granularity",
                    "per-channel", "--calib-data", "{calib}"],
    "w4a16-g128": ["--scheme", "w4a16", "--group-size", "128"],
    "w4a16-g32": ["--scheme", "w4a16", "--group-size", "32"],
}
PEERS = ["float", "dyn_int8_pc", "nbits_default", "nbits_hqq",
         "nbits_rtn_sym"]


def file_size(path):
    total = os.path.getsize(path)
    data = path + ".data"
    return total + (os.path.getsize(data) if os.path.exists(data) else 0)


def run(cmd, env=None):
    t = time.time()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n"
                           f"{p.stdout[-2000:]}\n{p.stderr[-4000:]}")
    return p.stdout, time.time() - t


def ours(a, t, name, extra):
    work = a.work_dir
    calib = os.path.join(work, "calib")
    if not os.path.isdir(calib):
        os.makedirs(calib)
        for f in sorted(glob.glob(os.path.join(a.model_dir, "corpus",
                                               "calib_*.npy"))):
            os.symlink(f, os.path.join(calib, os.path.basename(f)))
    bundle = os.path.join(work, f"gemma3_{name}.qob")
    args = [x.format(calib=calib) for x in SCHEMES[name.split("+")[0]]]
    args += extra
    _, compile_s = run([t["quant_compile"], os.path.join(
        a.model_dir, "gemma3_270m_fp32.onnx"), "-o", bundle, "--quiet"]
        + args)
    cmd = [sys.executable, "-m", "quantopt", "perplexity", bundle,
           "--chunks", os.path.join(a.model_dir, "corpus"), "--json"]
    if a.limit:
        cmd += ["--limit", str(a.limit)]
    out, _ = run(cmd, env=lc.ours_env(t))
    res = json.loads(out.strip().splitlines()[-1])
    rec = {"runtime": "quantopt", "model": name,
           "compile_args": args, "ppl": res["ppl"], "tokens": res["tokens"],
           "seconds": res["seconds"], "compile_seconds": round(compile_s, 1),
           "bytes": os.path.getsize(bundle)}
    if not a.keep:
        os.remove(bundle)
    return rec


def peer(a, name):
    d = a.model_dir
    py = lc.peer_python(d)
    model = "gemma3_270m_fp32.onnx" if name == "float" else \
        f"gemma3_270m_{name}.onnx"
    if not os.path.exists(os.path.join(d, model)):
        run([py, os.path.join(lc.SHARED_GEMMA, "quantize_ort.py"), d, name])
    if a.limit:
        # ppl_ort.py scores every chunk; a limited run scores a copy of the
        # first N through a temporary DIR holding links.
        tmp = os.path.join(a.work_dir, "ort_limited")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "corpus"))
        for f in sorted(glob.glob(os.path.join(d, "corpus",
                                               "eval_*.npy")))[:a.limit]:
            os.symlink(f, os.path.join(tmp, "corpus", os.path.basename(f)))
        base = tmp
    else:
        base = a.work_dir  # ppl_ort.py appends to DIR/ppl_results.jsonl
        os.makedirs(os.path.join(base, "corpus"), exist_ok=True)
        for f in glob.glob(os.path.join(d, "corpus", "eval_*.npy")):
            link = os.path.join(base, "corpus", os.path.basename(f))
            if not os.path.exists(link):
                os.symlink(f, link)
    out, _ = run([py, os.path.join(lc.SHARED_GEMMA, "ppl_ort.py"), base,
                  os.path.join(d, model), name])
    res = json.loads(out.strip().splitlines()[-1])
    return {"runtime": "onnxruntime", "model": name, "ppl": res["ppl"],
            "tokens": res["tokens"], "seconds": res["seconds"],
            "bytes": file_size(os.path.join(d, model))}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model-dir")
    p.add_argument("--build-dir", default=os.path.join(lc.ROOT, "build"))
    p.add_argument("--schemes", default="float,w8a8-dyn,w4a16-g128,w4a16-g32",
                   help="ours, comma-separated, from: " + ", ".join(SCHEMES)
                   + "; NAME+EXTRA adds the quant-compile flags of --extra-"
                   "NAME (e.g. w4a16-g32+emb8)")
    p.add_argument("--extra", action="append", default=[],
                   help="TAG=FLAGS: extra quant-compile flags for NAME+TAG "
                   "(e.g. emb8='--quantize-embeddings=int8')")
    p.add_argument("--peers", default=",".join(PEERS),
                   help="onnxruntime models, from: " + ", ".join(PEERS)
                   + " (empty: none)")
    p.add_argument("--limit", type=int, default=0,
                   help="score only the first N chunks (both sides)")
    p.add_argument("--work-dir", default="/tmp/quantopt-llm-ppl")
    p.add_argument("--keep", action="store_true", help="keep the bundles")
    p.add_argument("--out", help="raw JSON (default benchmarks/results/llm/"
                   "perplexity-<cpu>-<date>.json)")
    a = p.parse_args()
    a.model_dir = lc.model_dir(a.model_dir)
    lc.require_model(a.model_dir, ["gemma3_270m_fp32.onnx",
                                   "corpus/eval_00.npy"])
    t = lc.tools(a.build_dir)
    extras = {}
    for e in a.extra:
        tag, _, flags = e.partition("=")
        extras[tag] = flags.split()
    os.makedirs(a.work_dir, exist_ok=True)

    rows = []
    for name in [s for s in a.schemes.split(",") if s]:
        base, _, tag = name.partition("+")
        if base not in SCHEMES or (tag and tag not in extras):
            sys.exit(f"error: unknown scheme '{name}' (schemes: "
                     f"{', '.join(SCHEMES)}; +TAG needs --extra TAG=...)")
        print(f"quantopt {name} ...", flush=True)
        rows.append(ours(a, t, name, extras.get(tag, [])))
        print("  ", json.dumps(rows[-1]), flush=True)
    for name in [s for s in a.peers.split(",") if s]:
        if name not in PEERS:
            sys.exit(f"error: unknown peer '{name}' (peers: "
                     f"{', '.join(PEERS)})")
        print(f"onnxruntime {name} ...", flush=True)
        rows.append(peer(a, name))
        print("  ", json.dumps(rows[-1]), flush=True)

    f32 = file_size(os.path.join(a.model_dir, "gemma3_270m_fp32.onnx"))
    base = {r["runtime"]: r["ppl"] for r in rows if r["model"] == "float"}
    print(f"\n| runtime | model | perplexity | vs float | MB | vs fp32 "
          f"weights |\n|---|---|---|---|---|---|")
    for r in rows:
        rel = r["ppl"] / base[r["runtime"]] if r["runtime"] in base else None
        r["vs_float"] = rel
        r["compression"] = f32 / r["bytes"]
        print(f"| {r['runtime']} | {r['model']} | {r['ppl']:.4f} | "
              f"{'%.3f' % rel if rel else '-'} | {r['bytes'] / 1e6:.0f} | "
              f"{r['compression']:.2f}x |")
    if "quantopt" in base and "onnxruntime" in base:
        d = abs(base["quantopt"] / base["onnxruntime"] - 1)
        print(f"\nfloat: quantopt {base['quantopt']:.4f} vs onnxruntime "
              f"{base['onnxruntime']:.4f}: relative difference {d:.2e} "
              f"(target <= 1e-4)")
    lc.write_result(a.out or lc.default_result_path("perplexity"),
                    lc.machine({"model_dir": a.model_dir, "limit": a.limit,
                                "fp32_bytes": f32, "results": rows}))


if __name__ == "__main__":
    main()
