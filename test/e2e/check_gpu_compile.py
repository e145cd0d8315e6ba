"""GPU target of quant-compile, checked without a GPU.

Compiles the models of the other e2e tests (the MLP and the transformer of
check_float_models.py, an ONNX MatMulNBits model as in
check_quantized_models.py, and the transformer quantized W4A16) with
`quant-compile --target sm_80` and `--target sm_90`, then checks each bundle:
the manifest's target and entry, and the fatbins embedded in the shared
object: each holds a cubin (ELF) that ptxas built for the requested chip and
the PTX of the same kernels (so that newer GPUs can JIT it). The fatbin
headers are parsed here; `cuobjdump -lelf -lptx` is also run on one fatbin
when the toolkit has it.

    check_gpu_compile.py --quant-compile BIN [--out-dir DIR] --work-dir DIR

The bundles are kept in --out-dir (default: the work dir) for a later run
on a GPU machine (quant-run BUNDLE --input ...).
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np

import e2e_common as E
import check_quantized_models as Q

sys.path.insert(0, os.path.join(E.ROOT, "test", "Runtime", "Bundle"))
from bundle_layout import section_bytes  # noqa: E402

FATBIN_MAGIC = 0xBA55ED50
KIND_PTX, KIND_ELF = 1, 2



def fatbins(blob):
    """(offset, [(kind, arch)]) of every fatbin in `blob`."""
    found = []
    start = 0
    magic = struct.pack("<I", FATBIN_MAGIC)
    while True:
        at = blob.find(magic, start)
        if at < 0:
            return found
        start = at + 4
        _, _, header, size = struct.unpack_from("<IHHQ", blob, at)
        if header != 16 or at + header + size > len(blob):
            continue
        entries = []
        off = at + header
        while off < at + header + size:
            kind, _, ehs, payload = struct.unpack_from("<HHIQ", blob, off)
            arch, = struct.unpack_from("<I", blob, off + 28)
            entries.append((kind, arch))
            off += ehs + payload
        found.append((at, at + header + size, entries))
        start = at + header + size


def find_cuobjdump():
    for d in (os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if d and os.access(os.path.join(d, "bin", "cuobjdump"), os.X_OK):
            return os.path.join(d, "bin", "cuobjdump")
    return shutil.which("cuobjdump")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quant-compile", required=True)
    p.add_argument("--work-dir", required=True)
    p.add_argument("--out-dir", help="where the bundles are saved")
    args = p.parse_args()
    if os.path.isdir(args.work_dir):
        shutil.rmtree(args.work_dir)
    os.makedirs(args.work_dir)
    out_dir = args.out_dir or args.work_dir
    os.makedirs(out_dir, exist_ok=True)

    import onnx
    import make_model

    c = E.Checker("e2e-gpu-compile")
    work = args.work_dir
    models = []
    mlp = os.path.join(work, "mlp.onnx")
    onnx.save_model(make_model.build_mlp(), mlp)
    models.append(("mlp", mlp, []))
    tr = os.path.join(work, "transformer.onnx")
    onnx.save_model(make_model.build_transformer(), tr)
    models.append(("transformer", tr, []))
    models.append(("transformer-w4a16", tr,
                   ["--scheme=w4a16", "--group-size=16"]))
    mmnb = os.path.join(work, "matmulnbits.onnx")
    Q._matmulnbits_model(mmnb, 256, 96, 32, True, True, seed=7)
    models.append(("matmulnbits", mmnb, []))
    # Static W8A8: a calibration table from a CPU compile, then the int8
    # tensor-core kernel on the GPU.
    calib = os.path.join(work, "mlp-calib.npz")
    np.savez(calib, input=np.random.default_rng(3).standard_normal(
        (16, 64)).astype(np.float32))

    def calibration_table(label, scheme):
        """The table of a static scheme, from a CPU compile of the MLP."""
        table = os.path.join(work, f"{label}.json")
        r = E.compile_model(args.quant_compile, mlp,
                            os.path.join(work, f"{label}-cpu.qob"),
                            f"--scheme={scheme}", f"--calib-data={calib}",
                            f"--save-calibration-table={table}", check=False)
        c.check(r.returncode == 0, f"{label}: calibration table (CPU "
                "compile)")
        return table

    table = calibration_table("mlp-w8a8", "w8a8")
    models.append(("mlp-w8a8", mlp,
                   ["--scheme=w8a8", f"--calibration-table={table}"]))

    # W8A8 without calibration: the fused dynamic quantization kernels
    # (per tensor and per token) feed the int8 tensor-core kernel.
    def dynamic_mlps(scheme):
        """The MLP with run-time activation scales, per tensor and per
        token."""
        flags = [f"--scheme={scheme}", "--activation-mode=dynamic"]
        return [(f"mlp-{scheme}-dynamic", mlp, flags),
                (f"mlp-{scheme}-per-token", mlp,
                 flags + ["--activation-granularity=per-token"])]

    models += dynamic_mlps("w8a8")
    # onnxruntime's quantize_dynamic with per-tensor weights: the run-time
    # scale times the weight scale is a 0-d op, a one-thread kernel.
    from onnxruntime.quantization import QuantType, quantize_dynamic
    fmlp = os.path.join(work, "mlp-matmul.onnx")
    Q._mlp_matmul(fmlp)
    ort_dyn = os.path.join(work, "mlp-ort-dynamic.onnx")
    quantize_dynamic(fmlp, ort_dyn, per_channel=False,
                     weight_type=QuantType.QInt8)
    models.append(("mlp-ort-dynamic", ort_dyn, []))
    # Forced kernel choices: W4A8 for per-channel int4 weights (per-token
    # dynamic activations + the int8 kernel), and all generic.
    models.append(("transformer-w4a8-forced", tr,
                   ["--scheme=w4a16", "--weight-granularity=per-channel",
                    "--gpu-kernel=w8a8"]))
    # M buckets: per-channel int4 weights, W4A8 from 64 rows, W4A16 below,
    # a run-time branch on M (both kernels in the bundle).
    models.append(("transformer-m-buckets", tr,
                   ["--scheme=w4a16", "--weight-granularity=per-channel",
                    "--gpu-w4a8-min-m=64"]))
    models.append(("mlp-w8a8-generic", mlp,
                   ["--scheme=w8a8", f"--calibration-table={table}",
                    "--gpu-kernel=generic"]))

    # fp8 (static, calibrated): the fp8 tensor-core kernel on sm_90, the
    # generic kernels on sm_80 (no fp8 tensor cores).
    fp8_table = calibration_table("mlp-fp8", "fp8")
    models.append(("mlp-fp8", mlp,
                   ["--scheme=fp8", f"--calibration-table={fp8_table}"]))

    # fp8 without calibration: the fused e4m3 quantization kernels feed
    # the fp8 kernel on sm_90 (per token: one quantization kernel per
    # layer); on sm_80 all of it is generic.
    models += dynamic_mlps("fp8")

    # The sm_90a warpgroup-MMA variant, forced (sm_90 only).
    models.append(("mlp-w8a8-wgmma", mlp,
                   ["--scheme=w8a8", "--activation-mode=dynamic",
                    "--gpu-kernel=w8a8-wgmma"]))
    # onnxruntime quantize_static transformer (QDQ, int8): weight matmuls
    # take the int8 kernel; the attention's activation x activation int8
    # matmuls are generic (recorded with the reason).
    qdq = os.path.join(work, "qdq-transformer.onnx")
    onnx.save_model(make_model.build_qdq(), qdq)
    models.append(("qdq-transformer", qdq, []))

    cuobjdump = find_cuobjdump()
    dumped = False
    for chip in ("sm_80", "sm_90"):
        cc = int(chip[3:])
        E.log(f"--target {chip}:")
        for label, path, flags in models:
            if "--gpu-kernel=w8a8-wgmma" in flags and chip != "sm_90":
                continue
            out = os.path.join(out_dir, f"{label}.{chip}.qob")
            r = E.compile_model(args.quant_compile, path, out,
                                f"--target={chip}", *flags, check=False)
            if not c.check(r.returncode == 0,
                           f"{label}: quant-compile --target {chip} "
                           f"{' '.join(flags)} (rc {r.returncode})"):
                E.log(r.stderr[-2000:])
                continue
            with open(out, "rb") as f:
                sections = section_bytes(f.read())
            manifest = json.loads(sections["manifest"])
            target = manifest.get("target", {})
            c.check(target == {"kind": "cuda", "chip": chip,
                               "compute_capability": cc} and
                    manifest.get("entry") == "quantopt_entry",
                    f"{label}: manifest target {json.dumps(target)}")
            # The kernel chosen for each quantized matmul, with its reason.
            # (transformer-w4a16 uses group 16, which the W4A16 kernel
            # does not take: generic kernels.)
            want = {"mlp-w8a8": {"w8a8"}, "matmulnbits": {"w4a16"},
                    "mlp-w8a8-dynamic": {"w8a8", "dynamic_quantize"},
                    "mlp-w8a8-per-token": {"w8a8", "dynamic_quantize"},
                    "mlp-ort-dynamic": {"w8a8", "dynamic_quantize"},
                    "transformer-w4a8-forced": {"w8a8", "dynamic_quantize"},
                    "transformer-m-buckets": {"w4a16", "w8a8",
                                              "dynamic_quantize"},
                    "mlp-w8a8-generic": {"generic"},
                    "mlp-fp8": {"fp8"} if cc >= 89 else {"generic"},
                    "mlp-fp8-dynamic": ({"fp8", "dynamic_quantize"}
                                        if cc >= 89 else {"generic"}),
                    "mlp-fp8-per-token": ({"fp8", "dynamic_quantize"}
                                          if cc >= 89 else {"generic"}),
                    "qdq-transformer": {"w8a8", "generic"},
                    "mlp-w8a8-wgmma": {"w8a8-wgmma", "dynamic_quantize"},
                    }.get(label)
            if want:
                # The report of every matmul's choice (generic ones too).
                report = manifest.get("kernel_choices", [])
                c.check(report and {k["choice"] for k in report} == want and
                        all(k["node"] and k["reason"] for k in report),
                        f"{label}: manifest kernel_choices {sorted(want)} "
                        f"with nodes and reasons ({len(report)} entries)")
                if label.startswith("mlp-fp8") and cc < 89:
                    c.check(all("sm_89" in k["reason"] for k in report),
                            f"{label}: the generic fallback says fp8 needs "
                            f"sm_89+")
                if label == "mlp-w8a8-generic" or want == {"generic"}:
                    c.check(not any(k.get("choice")
                                    for k in manifest.get("kernels", [])),
                            f"{label}: no hand-written kernel launched")
                    want = None
            if want == {"w8a8", "generic"}:
                want = {"w8a8"}  # launches: the generic ones have no choice
            if want:
                chosen = [k for k in manifest.get("kernels", [])
                          if k.get("choice")]
                c.check(chosen and {k["choice"] for k in chosen} == want and
                        all(k["reason"] for k in chosen),
                        f"{label}: manifest records the {sorted(want)} kernel "
                        f"choices with their reasons for {len(chosen)} "
                        f"launch(es)")
                rows_kernel = {"mlp-w8a8-per-token": "::qgpu_dynq_rows",
                               "mlp-fp8-per-token":
                               "::qgpu_dynq_rows_e4m3"}.get(label)
                if rows_kernel:
                    c.check(sum(k["kernel"].endswith(rows_kernel)
                                for k in chosen) == 2,
                            f"{label}: one per-token quantization kernel "
                            f"({rows_kernel[2:]}) per layer")
                if label == "transformer-m-buckets":
                    notes = {k["choice"]: k["reason"] for k in chosen
                             if k["choice"] != "dynamic_quantize"}
                    c.check(notes.get("w8a8", "").startswith(
                        "M >= 64 (w4a8-min-m, run-time branch)") and
                        notes.get("w4a16", "").startswith(
                            "M < 64 (w4a8-min-m, run-time branch)"),
                        f"{label}: both buckets' launches, each reason "
                        f"naming its bucket")
                if label == "mlp-fp8-per-token":
                    c.check(all("per-token activation scale" in k["reason"]
                                for k in chosen if k["choice"] == "fp8"),
                            f"{label}: the fp8 kernel takes per-token "
                            f"activation scales")
            so = next((v for k, v in sections.items()
                       if k not in ("manifest", "weights")), b"")
            bins = fatbins(so)
            kernels = len(manifest.get("kernels", []))
            good = [b for b in bins
                    if (KIND_ELF, cc) in b[2] and
                    any(k == KIND_PTX for k, _ in b[2])]
            c.check(bins and len(good) == len(bins) and kernels > 0,
                    f"{label}: {len(bins)} fatbin(s) for {kernels} kernel "
                    f"launch(es), each with an sm_{cc} cubin and PTX "
                    f"({sorted(set(e for b in bins for e in b[2]))} as "
                    f"(kind 1=PTX 2=ELF, arch))")
            if cuobjdump and bins and not dumped:
                dumped = True
                fb = os.path.join(work, f"{label}.{chip}.fatbin")
                with open(fb, "wb") as f:
                    f.write(so[bins[0][0]:bins[0][1]])
                d = subprocess.run([cuobjdump, "-lelf", "-lptx", fb],
                                   capture_output=True, text=True)
                c.check(d.returncode == 0 and chip in d.stdout and
                        "PTX" in d.stdout.upper(),
                        f"cuobjdump -lelf -lptx: {d.stdout.strip()!r}")
    if not cuobjdump:
        E.log("  (cuobjdump not found: fatbin headers checked only)")
    E.log(f"bundles saved in {out_dir}")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
