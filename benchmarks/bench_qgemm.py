"""int8 GEMM: one QLinearMatMul node per shape, ours (qk_qgemm) vs
onnxruntime (MLAS QGEMM).

The model: y[M,N] (uint8) = QLinearMatMul(a[M,K] uint8 input, a_scale,
a_zero_point, b[K,N] int8 constant, b_scale[N] (per column), b_zero_point
(zero), y_scale, y_zero_point). GOPS = 2*M*N*K / median time; the fraction
of peak is MAC/s over the int8 multiply-accumulate peak of all threads that
qk-bench measures (vpmaddwd on AVX2).

    python3 benchmarks/bench_qgemm.py [--quick] [--shapes M,N,K ...]
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

LLM_NK = [(4096, 4096), (11008, 4096), (4096, 11008)]
FULL_SHAPES = (
    [(m, m, m) for m in (1, 64, 256, 1024)]
    + [(m, n, k) for m in (1, 16, 256, 1024) for n, k in LLM_NK]
    + [(4096, 4096, 4096)])
QUICK_SHAPES = [(1, 256, 256), (64, 256, 256), (256, 512, 512)]


def build_model(M, N, K, seed=0):
    rng = np.random.default_rng(seed)
    # 7-bit weights, as onnxruntime's quantizer writes with reduce_range
    # (recommended on AVX2 without VNNI): MLAS' u8s8 kernel uses vpmaddubsw,
    # whose 16-bit pair sums saturate with full-range int8 weights.
    b = rng.integers(-64, 64, size=(K, N), dtype=np.int8)
    b_scale = (0.01 + 0.01 * rng.random(N)).astype(np.float32)
    inits = [
        numpy_helper.from_array(np.array(0.02, np.float32), "a_scale"),
        numpy_helper.from_array(np.array(128, np.uint8), "a_zero_point"),
        numpy_helper.from_array(b, "b"),
        numpy_helper.from_array(b_scale, "b_scale"),
        numpy_helper.from_array(np.zeros(N, np.int8), "b_zero_point"),
        numpy_helper.from_array(
            np.array(0.02 * 0.015 * np.sqrt(K) * 75, np.float32), "y_scale"),
        numpy_helper.from_array(np.array(128, np.uint8), "y_zero_point"),
    ]
    node = helper.make_node(
        "QLinearMatMul",
        ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
         "y_scale", "y_zero_point"], ["y"], name="qgemm")
    graph = helper.make_graph(
        [node], "qgemm",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [M, K])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [M, N])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return model


def run_shape(env, M, N, K, budget_s):
    path = os.path.join(env.work_dir, f"qgemm_{M}x{N}x{K}.onnx")
    qob = path.replace(".onnx", ".qob")
    onnx.save_model(build_model(M, N, K), path)
    compile_s, cmd = env.compile(path, qob)
    rng = np.random.default_rng(1)
    a = rng.integers(0, 256, size=(M, K), dtype=np.uint8)
    feeds = {"a": a}

    bundle = env.bundle(qob)
    ours_fn = common.ours_runner(bundle, feeds)
    sess = common.ort_session(path, env.threads)
    ort_fn = common.ort_runner(sess, feeds)
    # Same numerics check: rounding of the float requantize may differ by 1.
    y_ours = bundle.run(a=a)["y"].astype(np.int32)
    y_ort = sess.run(None, feeds)[0].astype(np.int32)
    max_diff = int(np.abs(y_ours - y_ort).max())

    gop = 2.0 * M * N * K / 1e9
    # Large shapes: few runs (each takes a second or more).
    est = max(gop / 200.0, 1e-4)
    iters = 10 if est < 0.05 else 3
    warmup = 2 if est < 0.2 else 1
    min_time = 0.3 if env.quick else min(1.0, budget_s)
    t_ours = common.time_loop(ours_fn, warmup, iters, min_time)
    t_ort = common.time_loop(ort_fn, warmup, iters, min_time)
    lim = env.limits()
    rec = {"bench": "qgemm", "M": M, "N": N, "K": K,
           "ours_ms": t_ours["median_ms"], "ort_ms": t_ort["median_ms"],
           "ours_min_ms": t_ours["min_ms"], "ort_min_ms": t_ort["min_ms"],
           "runs": [t_ours["runs"], t_ort["runs"]],
           "ours_gops": gop / (t_ours["median_ms"] / 1e3),
           "ort_gops": gop / (t_ort["median_ms"] / 1e3),
           "speedup": common.ratio(t_ort["median_ms"], t_ours["median_ms"]),
           "max_abs_diff_vs_ort": max_diff, "compile_s": compile_s,
           "compile_command": cmd,
           "load_avg": max(t_ours["load_avg"], t_ort["load_avg"]),
           "others_cpu": max(t_ours["others_cpu"] or 0,
                             t_ort["others_cpu"] or 0)}
    if lim.get("int8_gmacs"):
        peak_gops = 2 * lim["int8_gmacs"]
        rec["ours_frac_peak"] = rec["ours_gops"] / peak_gops
        rec["ort_frac_peak"] = rec["ort_gops"] / peak_gops
    del ours_fn, ort_fn, sess
    bundle.close()
    for p in (path, qob):
        os.remove(p)
    return rec


def run(env, shapes=None):
    shapes = shapes or (QUICK_SHAPES if env.quick else FULL_SHAPES)
    results = []
    for M, N, K in shapes:
        rec = run_shape(env, M, N, K, budget_s=1.0)
        env.log(f"qgemm M={M} N={N} K={K}: ours {rec['ours_ms']:.3f} ms "
                f"({rec['ours_gops']:.1f} GOPS, "
                f"{100 * rec.get('ours_frac_peak', 0):.0f}% peak), ORT "
                f"{rec['ort_ms']:.3f} ms, ratio {rec['speedup']:.2f}x, "
                f"load {rec['load_avg']:.2f}")
        results.append(rec)
    return results


COLUMNS = [("M", "M", 0), ("N", "N", 0), ("K", "K", 0),
           ("ours ms", "ours_ms", 3), ("ORT ms", "ort_ms", 3),
           ("ours/ORT speed", "speedup", 2), ("ours GOPS", "ours_gops", 1),
           ("ORT GOPS", "ort_gops", 1),
           ("ours frac int8 peak", "ours_frac_peak", 2),
           ("ORT frac int8 peak", "ort_frac_peak", 2),
           ("max |diff|", "max_abs_diff_vs_ort", 0), ("load", "load_avg", 2),
           ("others' cores", "others_cpu", 2)]


def main():
    common.standalone_main(__doc__, run, COLUMNS, "M,N,K triples")


if __name__ == "__main__":
    main()
