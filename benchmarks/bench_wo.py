"""int4 weight-only matmul: one com.microsoft MatMulNBits node per shape,
ours (qk_wo_matmul) vs onnxruntime MatMulNBits with accuracy_level 0 (f32
compute) and 4 (int8 compute: activations quantized per block).

The model: y[M,N] f32 = MatMulNBits(a[M,K] f32 input, B (4-bit codes,
[N, K/block, block/2] uint8), scales [N*K/block] f32, zero_points (packed
4-bit, asymmetric as onnxruntime's quantizer writes them)).

The last-level cache is flushed (untimed) before every run of both sides,
so the weights stream from DRAM as they do in a model larger than L3.
Bandwidth fraction at M=1: bytes of weights read per run / time, over the
DRAM read bandwidth of qk-bench. Two byte counts: `onnx_weight_bytes`
(4-bit codes + f32 scales + 4-bit zero points: what ORT reads) and
`ours_packed_bytes` (our packed blob: 4-bit codes + f32 scale + f32 offset
per group and column, what our kernel reads); each side's fraction uses its
own count.

    python3 benchmarks/bench_wo.py [--quick]
"""

import ctypes
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

NK = [(4096, 4096), (11008, 4096), (4096, 11008)]
FULL = [(m, n, k, b) for m in (1, 16) for n, k in NK for b in (32, 128)]
QUICK = [(1, 1024, 1024, 32), (16, 1024, 1024, 128)]


def build_model(M, N, K, block, accuracy_level, seed=0):
    rng = np.random.default_rng(seed)
    kb = (K + block - 1) // block
    codes = rng.integers(0, 256, size=(N, kb, block // 2), dtype=np.uint8)
    scales = (0.002 + 0.002 * rng.random(N * kb)).astype(np.float32)
    zp_bytes = (kb + 1) // 2
    zps = rng.integers(6, 10, size=(N, zp_bytes * 2), dtype=np.uint8)
    zps = (zps[:, 0::2] | (zps[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
    inits = [numpy_helper.from_array(codes, "B"),
             numpy_helper.from_array(scales, "scales"),
             numpy_helper.from_array(zps, "zero_points")]
    node = helper.make_node(
        "MatMulNBits", ["a", "B", "scales", "zero_points"], ["y"],
        name="wo", domain="com.microsoft", K=K, N=N, bits=4, block_size=block,
        accuracy_level=accuracy_level)
    graph = helper.make_graph(
        [node], "wo",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [M, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 21), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    weight_bytes = codes.nbytes + scales.nbytes + zps.nbytes
    return model, weight_bytes


def packed_bytes(env, N, K, block):
    lib = ctypes.CDLL(env.runtime_lib)
    lib.qk_wo_packed_size.restype = ctypes.c_int64
    lib.qk_wo_packed_size.argtypes = [ctypes.c_int64, ctypes.c_int64,
                                      ctypes.c_int32, ctypes.c_int64]
    return int(lib.qk_wo_packed_size(K, N, 4, block))


def run_shape(env, M, N, K, block, flush):
    base = os.path.join(env.work_dir, f"wo_{M}x{N}x{K}_b{block}")
    rng = np.random.default_rng(1)
    a = rng.standard_normal((M, K)).astype(np.float32)
    feeds = {"a": a}
    paths = {}
    for level in (0, 4):
        model, wbytes = build_model(M, N, K, block, level)
        paths[level] = f"{base}_acc{level}.onnx"
        onnx.save_model(model, paths[level])
    qob = base + ".qob"
    compile_s, cmd = env.compile(paths[0], qob)
    bundle = env.bundle(qob)
    ours_fn = common.ours_runner(bundle, feeds)
    y_ours = bundle.run(a=a)["y"]
    min_time = 0.2 if env.quick else 0.5
    t_ours = common.time_loop(ours_fn, 2, 10, min_time, flush=flush)
    ours_bytes = packed_bytes(env, N, K, block)
    lim = env.limits()
    rec = {"bench": "wo", "M": M, "N": N, "K": K, "bits": 4, "block": block,
           "ours_ms": t_ours["median_ms"], "ours_min_ms": t_ours["min_ms"],
           "onnx_weight_bytes": wbytes, "ours_packed_bytes": ours_bytes,
           "compile_s": compile_s, "compile_command": cmd,
           "load_avg": t_ours["load_avg"],
           "others_cpu": t_ours["others_cpu"] or 0}
    for level in (0, 4):
        try:
            sess = common.ort_session(paths[level], env.threads)
            ort_fn = common.ort_runner(sess, feeds)
            y_ort = sess.run(None, feeds)[0]
            t = common.time_loop(ort_fn, 2, 10, min_time, flush=flush)
        except Exception as e:  # an accuracy level this build lacks
            rec[f"ort_acc{level}_error"] = str(e)[:200]
            continue
        rec[f"ort_acc{level}_ms"] = t["median_ms"]
        rec[f"speedup_vs_acc{level}"] = common.ratio(t["median_ms"],
                                                     t_ours["median_ms"])
        denom = np.abs(y_ort).max() + 1e-30
        rec[f"max_rel_diff_vs_acc{level}"] = float(
            np.abs(y_ours - y_ort).max() / denom)
        rec["load_avg"] = max(rec["load_avg"], t["load_avg"])
        rec["others_cpu"] = max(rec["others_cpu"], t["others_cpu"] or 0)
        if lim.get("read_gbs"):
            gbs = wbytes / (t["median_ms"] / 1e3) / 1e9
            rec[f"ort_acc{level}_gbs"] = gbs
            rec[f"ort_acc{level}_frac_bw"] = gbs / lim["read_gbs"]
        del ort_fn, sess
    if lim.get("read_gbs"):
        gbs = ours_bytes / (t_ours["median_ms"] / 1e3) / 1e9
        rec["ours_gbs"] = gbs
        rec["ours_frac_bw"] = gbs / lim["read_gbs"]
        rec["ours_frac_bw_onnx_bytes"] = (
            wbytes / (t_ours["median_ms"] / 1e3) / 1e9 / lim["read_gbs"])
    if env.qk_bench:
        # The kernel alone, rotating over weight copies larger than L3
        # (qk-bench), against the bundle after an L3 flush.
        import subprocess
        out = subprocess.run(
            [env.qk_bench, "--threads", str(env.threads), "--no-limits",
             "--iters", "15", "--wo", f"{M},{N},{K},4,{block}"],
            capture_output=True, text=True).stdout
        for line in out.splitlines():
            k = json.loads(line)
            rec["kernel_alone_ms"] = k["ms"]
            if lim.get("read_gbs"):
                rec["kernel_alone_frac_bw"] = k["gbs"] / lim["read_gbs"]
    del ours_fn
    bundle.close()
    for p in list(paths.values()) + [qob]:
        os.remove(p)
    return rec


def run(env, shapes=None):
    shapes = shapes or (QUICK if env.quick else FULL)
    flush = common.Flusher()
    results = []
    for M, N, K, block in shapes:
        rec = run_shape(env, M, N, K, block, flush)
        env.log(f"wo M={M} N={N} K={K} block={block}: ours "
                f"{rec['ours_ms']:.3f} ms, ORT acc0 "
                f"{rec.get('ort_acc0_ms', float('nan')):.3f} ms, acc4 "
                f"{rec.get('ort_acc4_ms', float('nan')):.3f} ms, ratio vs "
                f"acc4 {rec.get('speedup_vs_acc4', float('nan')):.2f}x, "
                f"ours {100 * rec.get('ours_frac_bw', 0):.0f}% BW, "
                f"load {rec['load_avg']:.2f}")
        results.append(rec)
    return results


COLUMNS = [("M", "M", 0), ("N", "N", 0), ("K", "K", 0), ("block", "block", 0),
           ("ours ms", "ours_ms", 3), ("ORT acc0 ms", "ort_acc0_ms", 3),
           ("ORT acc4 ms", "ort_acc4_ms", 3),
           ("ours/ORT acc0", "speedup_vs_acc0", 2),
           ("ours/ORT acc4", "speedup_vs_acc4", 2),
           ("ours GB/s", "ours_gbs", 1), ("ours frac BW", "ours_frac_bw", 2),
           ("kernel alone ms (qk-bench)", "kernel_alone_ms", 3),
           ("kernel alone frac BW", "kernel_alone_frac_bw", 2),
           ("ORT acc4 frac BW", "ort_acc4_frac_bw", 2),
           ("rel diff acc0", "max_rel_diff_vs_acc0", 6),
           ("load", "load_avg", 2), ("others' cores", "others_cpu", 2)]


def main():
    common.standalone_main(__doc__, run, COLUMNS, "M,N,K,block tuples")


if __name__ == "__main__":
    main()
