#!/usr/bin/env python3
"""End-to-end GPU tests (ctest gpu-models): ONNX models compiled with
quant-compile --target sm_XX, run on the GPU through libquantrt, compared
with onnxruntime on the CPU.

    check_gpu_models.py --quantrt libquantrt.so --work-dir DIR
        [--quant-compile quant-compile] [--quant-run quant-run]
        [--target sm_90] [--prebuilt DIR] [--prepare-only]
        [--bench --results FILE.csv]

With --quant-compile the models are generated and compiled into --work-dir;
with --prebuilt the .onnx/.qob pairs of that directory are used (bundles
compiled elsewhere, e.g. carried to a GPU machine). --prepare-only stops
after compiling. Without a usable GPU it prints "SKIPPED: no CUDA device"
and exits 0.

Tolerances (max |got - ref| against onnxruntime's CPU result):
  - float models: 2e-5 * max(1, max|ref|): f32 arithmetic in another order
    and the polynomial erf/exp (a few ulp), as on the CPU backend;
  - W4A16 (MatMulNBits, f32 model): 4e-3 * max|ref|: the kernel rounds the
    activations and the dequantized weights to f16 (2^-11 relative each)
    and accumulates in f32;
  - W4A16 (MatMulNBits, f16 model): 4e-3 * max|ref| + 1 f16 ulp of the
    output: same operands as onnxruntime, f32 accumulation in another
    order, one f16 rounding of the output;
  - our w4a16 scheme on the float transformer: relative RMS error against
    onnxruntime's float model <= 0.25 (4-bit weights with group 32; the
    CPU backend measures 0.15 for the same scheme).
Every model also runs with CUDA graphs on, which must give bit-identical
outputs, and once through `quant-run --device cuda`.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))
import e2e_common as E  # noqa: E402


def matmulnbits_f16_model(path, k, n, block, seed):
    """A MatMulNBits model with f16 activations and scales, [M, K]."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    import check_quantized_models as Q

    b_packed, scales, zp = Q._matmulnbits_weights(k, n, block, seed)
    node = helper.make_node("MatMulNBits", ["A", "B", "scales", "zp"], ["Y"],
                            name="mmnb16", domain="com.microsoft", K=k, N=n,
                            bits=4, block_size=block)
    g = helper.make_graph(
        [node], "mmnb16",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT16, ["M", k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT16, ["M", n])],
        initializer=[numpy_helper.from_array(b_packed, "B"),
                     numpy_helper.from_array(scales.astype(np.float16),
                                             "scales"),
                     numpy_helper.from_array(zp, "zp")])
    m = helper.make_model(g, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    m.ir_version = 10
    onnx.save_model(m, path)


def float_tol(ref):
    return 2e-5 * max(1.0, float(np.max(np.abs(ref))))


def w4_tol(ref):
    return 4e-3 * float(np.max(np.abs(ref.astype(np.float64))))


def w4_f16_tol(ref):
    r = np.abs(ref.astype(np.float64))
    return 4e-3 * float(r.max()) + float(r.max()) * 2.0 ** -10


# label -> (flags, {input: shape builder}, tolerance or None, rel-RMS bound)
def mlp_input(rng, rows):
    return {"input": rng.standard_normal((rows, 64)).astype(np.float32)}


def transformer_input(rng, shape):
    return {"x": rng.standard_normal((shape[0], shape[1], 32)).astype(
        np.float32)}


def fp8_tol(ref):
    return 1e-2 * float(np.max(np.abs(ref)))


MODELS = {
    "mlp": ([], mlp_input, float_tol, None, (1, 3, 17, 64)),
    "transformer": ([], transformer_input, float_tol, None,
        ((1, 1), (2, 5), (4, 33))),
    "transformer-w4a16": (["--scheme=w4a16", "--group-size=32"],
                          transformer_input,
                          None, 0.25, ((1, 1), (2, 5))),
    "matmulnbits": ([], lambda rng, s: {"A": rng.standard_normal(
        (s[0], s[1], 256)).astype(np.float32)}, w4_tol, None,
        ((1, 1), (3, 7), (5, 40))),
    "matmulnbits-f16": ([], lambda rng, s: {"A": rng.standard_normal(
        (s, 1024)).astype(np.float16)}, w4_f16_tol, None, (1, 4, 16, 33, 100)),
    # Static W8A8 (calibration table from a CPU compile): the matmuls take
    # the int8 tensor-core kernel with the fused epilogue (bias, relu, the
    # next layer's quantize). Reference: the CPU bundle of the same model
    # and table (QuantOpt's CPU integer kernels, checked bit-exact against
    # onnxruntime's QDQ execution in quantized-models): the integer math and
    # the f32 epilogue order are the same, so only the softmax's polynomial
    # exp differs: float_tol.
    "mlp-w8a8": (["--scheme=w8a8", "--calibration-table={work}/mlp-w8a8.json"],
                 mlp_input, float_tol, None,
                 (1, 3, 17, 64, 300)),
    # W8A8 without calibration: the fused dynamic quantization kernels (per
    # tensor, per token) feed the int8 kernel. Reference: the CPU bundle of
    # the same model and flags, whose dynamic quantization has the same
    # arithmetic (min/max are exact in any order, IEEE division, round half
    # to even): float_tol, as for mlp-w8a8.
    "mlp-w8a8-dynamic": (["--scheme=w8a8", "--activation-mode=dynamic"],
                         mlp_input, float_tol, None,
                         (1, 5, 64, 300, 3000)),
    "mlp-w8a8-per-token": (["--scheme=w8a8", "--activation-mode=dynamic",
                            "--activation-granularity=per-token"],
                           mlp_input, float_tol, None,
                           (1, 5, 64, 300)),
    # onnxruntime quantize_dynamic (DynamicQuantizeLinear + MatMulInteger,
    # per-tensor weights): reference the CPU bundle (checked against
    # onnxruntime in quantized-models).
    "mlp-ort-dynamic": ([], lambda rng, s: {"X": rng.standard_normal(
        (s, 64)).astype(np.float32)}, float_tol, None, (1, 7, 200)),
    # Forced kernel choices. W4A8 (per-channel int4 weights, per-token
    # dynamic activations on the int8 kernel): relative RMS error against
    # onnxruntime's float model <= 0.25 as for transformer-w4a16 (8-bit
    # activations add ~0.4% to the 4-bit weights' error). All generic:
    # the CPU bundle's arithmetic, float_tol.
    "transformer-w4a8-forced": (["--scheme=w4a16",
                                 "--weight-granularity=per-channel",
                                 "--gpu-kernel=w8a8"], transformer_input,
                                None, 0.25, ((1, 1), (2, 5), (4, 33))),
    # M buckets (--gpu-w4a8-min-m=64, per-channel int4): M = 1 and 10 run
    # the W4A16 branch, M = 132 the W4A8 one (a run-time branch on M);
    # bound as for the two kernels' own models.
    "transformer-m-buckets": (["--scheme=w4a16",
                               "--weight-granularity=per-channel",
                               "--gpu-w4a8-min-m=64"], transformer_input,
                              None, 0.25, ((1, 1), (2, 5), (4, 33))),
    "mlp-w8a8-generic": (["--scheme=w8a8",
                          "--calibration-table={work}/mlp-w8a8.json",
                          "--gpu-kernel=generic"],
                         mlp_input, float_tol, None,
                         (1, 17, 300)),
    # fp8 (static; sm_89/sm_90: the fp8 tensor-core kernel). Reference:
    # the CPU bundle (same e4m3 activations and weights, f32 products
    # summed in another order, and the tensor cores' fp8 accumulation, which
    # keeps fewer than f32's bits): 1e-2 * max|ref|, a loose bound against
    # a broken kernel (a wrong fragment gives errors of order max|ref|).
    "mlp-fp8": (["--scheme=fp8", "--calibration-table={work}/mlp-fp8.json"],
                mlp_input, fp8_tol, None, (1, 17, 300)),
    # fp8 with dynamic activations (no calibration): the fused e4m3
    # quantization kernels (per tensor; per token, whose scales the fp8
    # kernel applies per row) feed the fp8 kernel on sm_89/sm_90. Reference
    # and tolerance as for mlp-fp8 (the quantization itself is exact:
    # gpu-dynq-kernel).
    "mlp-fp8-dynamic": (["--scheme=fp8", "--activation-mode=dynamic"],
                        mlp_input, fp8_tol, None, (1, 17, 300)),
    "mlp-fp8-per-token": (["--scheme=fp8", "--activation-mode=dynamic",
                           "--activation-granularity=per-token"],
                          mlp_input, fp8_tol, None, (1, 17, 300)),
    # The sm_90a warpgroup-MMA variant of the int8 kernel (forced; only
    # with --target sm_90): the same integer result and epilogue as the
    # CPU bundle, float_tol as for mlp-w8a8.
    "mlp-w8a8-wgmma": (["--scheme=w8a8", "--activation-mode=dynamic",
                        "--gpu-kernel=w8a8-wgmma"],
                       mlp_input, float_tol, None,
                       (1, 5, 64, 300, 3000)),
    # onnxruntime quantize_static transformer (QDQ int8; the CPU backend is
    # bit-exact with onnxruntime on it). On the GPU the integer matmuls are
    # exact, but softmax / layer norm / gelu use other f32 code (polynomial
    # exp/erf, another summation order), which can move a requantized
    # activation by one step: relative RMS error vs onnxruntime <= 0.02.
    "qdq-transformer": ([], transformer_input, None, 0.02,
        ((1, 8), (2, 5))),
}

# Models whose reference is the CPU bundle of the same model and flags.
CPU_REFERENCE = ("mlp-w8a8", "mlp-w8a8-dynamic", "mlp-w8a8-per-token",
                 "mlp-ort-dynamic", "mlp-w8a8-generic", "mlp-fp8",
                 "mlp-fp8-dynamic", "mlp-fp8-per-token", "mlp-w8a8-wgmma")


def runs_on(flags, target):
    """Whether a model's flags compile for `target` (the warpgroup variant
    is sm_90 only)."""
    return "--gpu-kernel=w8a8-wgmma" not in flags or target == "sm_90"


def make_models(work):
    import onnx
    import make_model
    import check_quantized_models as Q
    paths = {}
    for label in MODELS:
        paths[label] = os.path.join(work, label + ".onnx")
    onnx.save_model(make_model.build_mlp(), paths["mlp"])
    onnx.save_model(make_model.build_transformer(), paths["transformer"])
    onnx.save_model(make_model.build_transformer(), paths["transformer-w4a16"])
    Q._matmulnbits_model(paths["matmulnbits"], 256, 96, 32, True, True,
                         seed=7)
    matmulnbits_f16_model(paths["matmulnbits-f16"], 1024, 520, 64, seed=3)
    for label in ("mlp-w8a8", "mlp-w8a8-dynamic", "mlp-w8a8-per-token",
                  "mlp-w8a8-generic", "mlp-fp8", "mlp-fp8-dynamic",
                  "mlp-fp8-per-token", "mlp-w8a8-wgmma"):
        onnx.save_model(make_model.build_mlp(), paths[label])
    onnx.save_model(make_model.build_transformer(),
                    paths["transformer-w4a8-forced"])
    onnx.save_model(make_model.build_transformer(),
                    paths["transformer-m-buckets"])
    onnx.save_model(make_model.build_qdq(), paths["qdq-transformer"])
    from onnxruntime.quantization import QuantType, quantize_dynamic
    fmlp = os.path.join(work, "mlp-matmul.onnx")
    Q._mlp_matmul(fmlp)
    quantize_dynamic(fmlp, paths["mlp-ort-dynamic"], per_channel=False,
                     weight_type=QuantType.QInt8)
    return paths


def prepare_w8a8(quant_compile, work, c):
    """The calibration table and the CPU reference bundle of mlp-w8a8."""
    calib = os.path.join(work, "mlp-w8a8-calib.npz")
    rng = np.random.default_rng(11)
    np.savez(calib, input=rng.standard_normal((64, 64)).astype(np.float32))
    r = E.compile_model(quant_compile, os.path.join(work, "mlp-w8a8.onnx"),
                        os.path.join(work, "mlp-w8a8-cpu.qob"),
                        "--scheme=w8a8", f"--calib-data={calib}",
                        "--save-calibration-table=" +
                        os.path.join(work, "mlp-w8a8.json"), check=False)
    if not c.check(r.returncode == 0, "mlp-w8a8: CPU reference bundle and "
                   "calibration table"):
        E.log(r.stderr[-2000:])
    # The fp8 table (from a CPU compile with calibration data).
    r = E.compile_model(quant_compile, os.path.join(work, "mlp-fp8.onnx"),
                        os.path.join(work, "mlp-fp8-calib.qob"),
                        "--scheme=fp8", f"--calib-data={calib}",
                        "--save-calibration-table=" +
                        os.path.join(work, "mlp-fp8.json"), check=False)
    if not c.check(r.returncode == 0, "mlp-fp8: calibration table"):
        E.log(r.stderr[-2000:])
    for label in CPU_REFERENCE:
        if label == "mlp-w8a8":
            continue
        flags = [f.replace("{work}", work) for f in MODELS[label][0]
                 if not f.startswith("--gpu-kernel")]
        r = E.compile_model(quant_compile, os.path.join(work, label + ".onnx"),
                            os.path.join(work, label + "-cpu.qob"),
                            *flags, check=False)
        if not c.check(r.returncode == 0, f"{label}: CPU reference bundle"):
            E.log(r.stderr[-2000:])


def bench_model(path, n, k):
    matmulnbits_f16_model(path, k, n, 128, seed=5)


def ort_reference(model, feeds, float_model=None):
    sess = E.ort_session(float_model or model, optimized=False)
    return E.ort_run(sess, feeds)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quantrt", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--quant-compile")
    p.add_argument("--quant-run")
    p.add_argument("--target", default="sm_90")
    p.add_argument("--prebuilt")
    p.add_argument("--prepare-only", action="store_true")
    p.add_argument("--bench", action="store_true")
    p.add_argument("--results")
    args = p.parse_args()
    os.environ["QUANTOPT_RUNTIME_LIB"] = os.path.abspath(args.quantrt)
    os.makedirs(args.work_dir, exist_ok=True)
    c = E.Checker("gpu-models")

    src = args.prebuilt or args.work_dir
    if not args.prebuilt:
        if not args.quant_compile:
            p.error("--quant-compile or --prebuilt is required")
        paths = make_models(args.work_dir)
        prepare_w8a8(args.quant_compile, args.work_dir, c)
        for label, (flags, *_rest) in MODELS.items():
            if not runs_on(flags, args.target):
                continue
            out = os.path.join(args.work_dir, label + ".qob")
            flags = [f.replace("{work}", args.work_dir) for f in flags]
            r = E.compile_model(args.quant_compile, paths[label], out,
                                f"--target={args.target}", *flags,
                                check=False)
            if not c.check(r.returncode == 0,
                           f"{label}: quant-compile --target {args.target}"):
                E.log(r.stderr[-2000:])
        if args.bench:
            bench_model(os.path.join(args.work_dir, "bench-4096x4096.onnx"),
                        4096, 4096)
            r = E.compile_model(
                args.quant_compile,
                os.path.join(args.work_dir, "bench-4096x4096.onnx"),
                os.path.join(args.work_dir, "bench-4096x4096.qob"),
                f"--target={args.target}", check=False)
            c.check(r.returncode == 0, "bench model compiles")
        if args.prepare_only:
            return c.finish()

    from quantopt import runtime
    try:
        name = runtime.cuda_device_name(library=args.quantrt)
    except runtime.QuantOptError as e:
        print(f"SKIPPED: no CUDA device ({e})")
        return 0
    E.log(f"device: {name}")

    rng = np.random.default_rng(2026)
    for label, (flags, make_inputs, tol, rms_bound, shapes) in MODELS.items():
        if not runs_on(flags, args.target):
            continue
        bundle_path = os.path.join(src, label + ".qob")
        model = os.path.join(src, label + ".onnx")
        if not c.check(os.path.exists(bundle_path), f"{label}: bundle exists"):
            continue
        with runtime.Bundle(bundle_path, library=args.quantrt) as b:
            c.check(b.device == "cuda", f"{label}: is a CUDA bundle")
            for shape in shapes:
                feeds = make_inputs(rng, shape)
                if label in CPU_REFERENCE:
                    with runtime.Bundle(os.path.join(src, label + "-cpu.qob"),
                                        library=args.quantrt) as cpu:
                        ref = cpu.run(**feeds)
                else:
                    ref = ort_reference(model, feeds)
                b.set_cuda_graph(False)
                got = b.run(**feeds)
                b.set_cuda_graph(True)
                got_graph = b.run(**feeds)
                got_graph2 = b.run(**feeds)
                for key, r in ref.items():
                    g = got[key]
                    if tol is not None:
                        against = ("the CPU bundle" if label in CPU_REFERENCE
                                   else "onnxruntime")
                        E.compare(c, f"{label} {shape} {key} vs {against}",
                                  g, r, tol(r))
                    else:
                        d = g.astype(np.float64) - r.astype(np.float64)
                        rel = float(np.sqrt((d * d).mean()) /
                                    max(np.sqrt((r.astype(np.float64) ** 2)
                                                .mean()), 1e-30))
                        c.check(np.isfinite(g).all() and rel <= rms_bound,
                                f"{label} {shape} {key}: relative RMS error "
                                f"{rel:.4f} vs onnxruntime float (bound "
                                f"{rms_bound})")
                    c.check(np.array_equal(got_graph[key], g) and
                            np.array_equal(got_graph2[key], g),
                            f"{label} {shape} {key}: CUDA graph replays are "
                            f"bit-identical")

    # quant-run --device cuda on one bundle.
    if args.quant_run:
        with tempfile.TemporaryDirectory() as tmp:
            x = rng.standard_normal((3, 64)).astype(np.float32)
            np.savez(os.path.join(tmp, "in.npz"), input=x)
            r = subprocess.run([args.quant_run, os.path.join(src, "mlp.qob"),
                                "--device", "cuda", "--inputs-npz",
                                os.path.join(tmp, "in.npz"), "--output",
                                os.path.join(tmp, "out.npz")],
                               capture_output=True, text=True)
            ok = c.check(r.returncode == 0,
                         f"quant-run --device cuda mlp.qob (rc {r.returncode})")
            if not ok:
                E.log(r.stderr[-2000:])
            else:
                got = dict(np.load(os.path.join(tmp, "out.npz")))["probs"]
                ref = ort_reference(os.path.join(src, "mlp.onnx"),
                                    {"input": x})["probs"]
                E.compare(c, "quant-run --device cuda: probs vs onnxruntime",
                          got, ref, float_tol(ref))
            r = subprocess.run([args.quant_run, os.path.join(src, "mlp.qob"),
                                "--device", "cuda", "--benchmark",
                                "--inputs-npz", os.path.join(tmp, "in.npz")],
                               capture_output=True, text=True)
            c.check(r.returncode == 0 and "CUDA events" in r.stdout + r.stderr,
                    "quant-run --device cuda --benchmark reports CUDA-event "
                    "times")
            E.log((r.stdout + r.stderr)[-600:])

    if args.bench:
        bench(c, args, src)
    return c.finish()


def bench(c, args, src):
    """Our W4A16 bundle (one MatMulNBits layer, f16, 4096 x 4096) against
    cuBLAS fp16 (torch.matmul) in this process: each timed run is preceded
    by a read of 256 MiB (clean L2), median of 50 event-timed runs, CUDA
    graphs on for the bundle (its per-run allocations and launch)."""
    import torch
    from quantopt import runtime
    path = os.path.join(src, "bench-4096x4096.qob")
    if not os.path.exists(path):
        c.check(False, "bench bundle exists")
        return
    rows = []
    flush = torch.ones(64 << 20, dtype=torch.int32, device="cuda")
    with runtime.Bundle(path, library=args.quantrt) as b:
        b.set_cuda_graph(True)
        for m in (1, 4, 16, 64):
            a = np.random.default_rng(m).standard_normal((m, 4096)).astype(
                np.float16)
            ours = float(np.median(b.benchmark({"A": a}, warmup=5,
                                               iterations=50, flush_l2=True)))
            at = torch.from_numpy(a).cuda()
            wt = torch.randn(4096, 4096, dtype=torch.float16, device="cuda")
            ts = []
            for i in range(55):
                flush.sum()
                e0 = torch.cuda.Event(enable_timing=True)
                e1 = torch.cuda.Event(enable_timing=True)
                e0.record()
                torch.matmul(at, wt)
                e1.record()
                if i >= 5:
                    ts.append((e0, e1))
            torch.cuda.synchronize()
            cublas = float(np.median([x.elapsed_time(y) for x, y in ts]))
            rows.append((4096, 4096, m, ours, cublas, cublas / ours))
            E.log(f"bundle W4A16 4096x4096 M={m}: {ours * 1e3:.1f} us, "
                  f"cuBLAS fp16 {cublas * 1e3:.1f} us, speedup "
                  f"{cublas / ours:.2f}x")
    c.check(all(r[3] > 0 for r in rows), "bundle benchmark produced times")
    if args.results:
        with open(args.results, "w") as f:
            f.write("N,K,M,bundle_ms,cublas_fp16_ms,speedup\n")
            for r in rows:
                f.write(",".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    sys.exit(main())
