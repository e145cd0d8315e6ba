"""Runs the CPU benchmarks (int8 GEMM, int4 weight-only, transformer block)
against onnxruntime in one process and writes

    benchmarks/results/cpu-<date>.json   environment, machine limits, and one
                                         record per measurement
    benchmarks/results/cpu-<date>.md     summary tables with ratios,
                                         fractions of machine limits and
                                         the issue's targets

    python3 benchmarks/run_cpu.py            # full run (~10 minutes)
    python3 benchmarks/run_cpu.py --quick    # smoke run (~30 s), for CI
    python3 benchmarks/run_cpu.py --only qgemm wo

Options: --build-dir (default build/: bin/quant-compile, lib/libquantrt.so,
bin/qk-bench), --threads (default 2: the machine's cores), --out-dir.
"""

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_qgemm  # noqa: E402
import bench_transformer  # noqa: E402
import bench_wo  # noqa: E402
import common  # noqa: E402


def targets(results):
    """The issue's targets, evaluated on the records."""
    out = []
    rows = [r for r in results.get("qgemm", []) if r["M"] >= 256]
    for label, big in (("M>=256", rows),
                       ("M>=256, LLM shapes (N, K >= 4096)",
                        [r for r in rows if min(r["N"], r["K"]) >= 4096])):
        if not big:
            continue
        worst_speed = min(r["speedup"] for r in big)
        worst_frac = min(r.get("ours_frac_peak") or 0 for r in big)
        best_speed = max(r["speedup"] for r in big)
        best_frac = max(r.get("ours_frac_peak") or 0 for r in big)
        out.append((f"int8 GEMM {label}: >= 1.2x ORT",
                    f"min {worst_speed:.2f}x, max {best_speed:.2f}x",
                    worst_speed >= 1.2))
        out.append((f"int8 GEMM {label}: >= 60% of int8 peak",
                    f"min {100 * worst_frac:.0f}%, max {100 * best_frac:.0f}%",
                    worst_frac >= 0.6))
    m1 = [r for r in results.get("wo", []) if r["M"] == 1]
    if m1:
        for level, what in ((0, "accuracy_level 0, f32 like ours"),
                            (4, "accuracy_level 4, int8 activations")):
            speeds = [r[f"speedup_vs_acc{level}"] for r in m1
                      if r.get(f"speedup_vs_acc{level}")]
            if speeds:
                out.append((f"int4 weight-only M=1: >= 1.5x ORT MatMulNBits "
                            f"({what})",
                            f"min {min(speeds):.2f}x, max {max(speeds):.2f}x",
                            min(speeds) >= 1.5))
        frac = [r.get("ours_frac_bw") or 0 for r in m1]
        out.append(("int4 weight-only M=1: >= 70% of DRAM read bandwidth",
                    f"min {100 * min(frac):.0f}%, max {100 * max(frac):.0f}%",
                    min(frac) >= 0.7))
    qdq = [r for r in results.get("transformer", [])
           if r.get("variant") == "qdq" and "speedup" in r]
    if qdq:
        s = qdq[0]["speedup"]
        out.append(("quantized transformer block faster than ORT int8",
                     f"{s:.2f}x", s > 1.0))
    return out


def refresh_fractions(doc):
    """Recomputes the fractions of machine limits from doc["limits"] (after
    normalize_limits), e.g. for a results file written before it."""
    lim = common.normalize_limits(doc["limits"], doc["environment"]["threads"])
    peak = lim.get("int8_gmacs")
    for r in doc["results"].get("qgemm", []):
        if peak:
            r["ours_frac_peak"] = r["ours_gops"] / (2 * peak)
            r["ort_frac_peak"] = r["ort_gops"] / (2 * peak)
    doc["targets"] = [{"target": n, "measured": v, "met": ok}
                      for n, v, ok in targets(doc["results"])]
    return doc


def summary(doc):
    env, lim, res = doc["environment"], doc["limits"], doc["results"]
    lines = [f"# CPU benchmarks, {env['date']}", "",
             f"- CPU: {env['cpu']}, {env['cores']} cores, flags "
             f"{' '.join(env['cpu_flags'])}; kernel path: {env['kernel_isa']}",
             f"- threads: {env['threads']} (ours and ORT intra_op)",
             f"- onnxruntime {env['onnxruntime']}, numpy {env['numpy']}, "
             f"Python {env['python']}",
             f"- load average at start: "
             f"{', '.join(f'{x:.2f}' for x in env['load_avg'])}; at end: "
             f"{', '.join(f'{x:.2f}' for x in doc['load_avg_end'])} "
             "(each row has the 1-minute load when it was measured)",
             f"- command: `{env['command']}`",
             f"- machine limits (qk-bench, `{lim.get('command', '-')}`): "
             f"int8 MAC peak {common.fmt(lim.get('int8_gmacs'), 1)} GMAC/s "
             f"({lim.get('int8_instr', '-')}, all threads), f32 FMA peak "
             f"{common.fmt(lim.get('f32_gflops'), 1)} GFLOP/s, DRAM read "
             f"{common.fmt(lim.get('read_gbs'), 2)} GB/s", "",
             "Ratios are ORT time / our time (> 1: ours faster). `load` is "
             "the 1-minute load average after the measurement (our 2 "
             "threads count for ~2); `others' cores` is the CPU time other "
             "processes used during it, in cores (the noise).", ""]
    if "qgemm" in res:
        lines += ["## int8 GEMM (QLinearMatMul, u8 x s8 -> u8)", "",
                  common.markdown_table(res["qgemm"], bench_qgemm.COLUMNS),
                  ""]
    if "wo" in res:
        lines += ["## int4 weight-only (MatMulNBits, bits 4)", "",
                  "L3 flushed before every run. Fractions of bandwidth: "
                  "bytes each kernel reads (ours: packed blob) / time / "
                  "qk-bench DRAM read bandwidth.", "",
                  common.markdown_table(res["wo"], bench_wo.COLUMNS), ""]
    if "transformer" in res:
        t = res["transformer"]
        if t:
            lines += [f"## Transformer block (hidden {t[0]['hidden']}, heads "
                      f"{t[0]['heads']}, MLP {t[0]['ffn']}, seq {t[0]['seq']},"
                      f" batch {t[0]['batch']}; {t[0]['gflop']:.2f} GFLOP)",
                      ""]
        lines += [common.markdown_table(t, bench_transformer.COLUMNS), ""]
        errors = [r for r in t if "error" in r]
        for r in errors:
            lines.append(f"- {r['variant']}: failed: `{r['error']}`")
    lines += ["## Targets", "", "| target | measured | met |",
              "| --- | --- | --- |"]
    for name, value, ok in targets(res):
        lines.append(f"| {name} | {value} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--build-dir", default=os.path.join(common.ROOT, "build"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", nargs="*", choices=["qgemm", "wo", "transformer"])
    p.add_argument("--out-dir",
                   default=os.path.join(common.ROOT, "benchmarks", "results"))
    p.add_argument("--tag", default="", help="suffix of the result files")
    p.add_argument("--wo-m", nargs="*", type=int,
                   help="weight-only: only these M (default 1 and 16)")
    p.add_argument("--qgemm-min-m", type=int, default=0,
                   help="int8 GEMM: only shapes with M >= this")
    p.add_argument("--from-json", help="re-render the summary of a results "
                   "file (refreshing the fractions of machine limits)")
    args = p.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            doc = refresh_fractions(json.load(f))
        with open(args.from_json, "w") as f:
            json.dump(doc, f, indent=1)
        text = summary(doc)
        with open(args.from_json[:-len(".json")] + ".md", "w") as f:
            f.write(text)
        print(text)
        return
    env = common.Env(args.build_dir, args.threads, quick=args.quick)
    doc = {"environment": common.environment(env), "limits": env.limits(),
           "results": {}}
    env.log("limits:", json.dumps(doc["limits"]))
    benches = args.only or ["qgemm", "wo", "transformer"]
    if "qgemm" in benches:
        shapes = [s for s in (bench_qgemm.QUICK_SHAPES if args.quick
                              else bench_qgemm.FULL_SHAPES)
                  if s[0] >= args.qgemm_min_m]
        doc["results"]["qgemm"] = bench_qgemm.run(env, shapes)
    if "wo" in benches:
        shapes = [s for s in (bench_wo.QUICK if args.quick else bench_wo.FULL)
                  if not args.wo_m or s[0] in args.wo_m]
        doc["results"]["wo"] = bench_wo.run(env, shapes)
    if "transformer" in benches:
        doc["results"]["transformer"] = bench_transformer.run(env)
    doc["load_avg_end"] = list(os.getloadavg())
    refresh_fractions(doc)
    os.makedirs(args.out_dir, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M")
    base = os.path.join(args.out_dir, f"cpu-{stamp}"
                        f"{'-quick' if args.quick else ''}{args.tag}")
    with open(base + ".json", "w") as f:
        json.dump(doc, f, indent=1)
    text = summary(doc)
    with open(base + ".md", "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {base}.json and {base}.md", file=sys.stderr)


if __name__ == "__main__":
    main()
