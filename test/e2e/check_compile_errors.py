#!/usr/bin/env python3
"""User errors of quant-compile: each must exit non-zero, print
"quant-compile: error:" (or LLVM's option parser's "quant-compile: ...")
with a message that names the problem (checked by a regex), and create no
output file. One case also checks that an existing output file is left
untouched by a failed compile.
"""

import os
import re
import subprocess
import sys

import numpy as np

import e2e_common as E


def main():
    args = E.parse_args(__doc__.split("\n")[0])
    import onnx
    import make_model
    from onnx import TensorProto, helper

    c = E.Checker("e2e-compile-errors")
    work = args.work_dir
    tr = os.path.join(work, "transformer.onnx")
    onnx.save_model(make_model.build_transformer(), tr)
    garbage = os.path.join(work, "garbage.onnx")
    make_model.write_kind("garbage", garbage)
    truncated = os.path.join(work, "truncated.onnx")
    make_model.write_kind("truncated", truncated)
    unsupported = os.path.join(work, "unsupported.onnx")
    make_model.write_kind("unsupported", unsupported)
    # A valid model with one op the importer lacks (LpNormalization).
    lpnorm = os.path.join(work, "lpnorm.onnx")
    g = helper.make_graph(
        [helper.make_node("LpNormalization", ["x"], ["y"], name="lpnorm0")],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 10
    onnx.save_model(m, lpnorm)

    calib = os.path.join(work, "calib")
    os.makedirs(calib)
    np.savez(os.path.join(calib, "s0.npz"),
             x=np.zeros((1, 4, 32), np.float32))
    wrong = os.path.join(work, "calib_wrong")
    os.makedirs(wrong)
    np.savez(os.path.join(wrong, "s0.npz"),
             input=np.zeros((1, 4, 32), np.float32))
    empty = os.path.join(work, "calib_empty")
    os.makedirs(empty)
    a_file = os.path.join(work, "a_file")
    with open(a_file, "w") as f:
        f.write("not a directory\n")

    out = os.path.join(work, "out.qob")
    cases = [
        ("unknown --scheme value", [tr, "--scheme", "w3a5"],
         r"w3a5"),
        ("unknown --activation-mode value",
         [tr, "--scheme", "w8a8", "--activation-mode", "sometimes"],
         r"sometimes"),
        ("static w8a8 without --calib-data", [tr, "--scheme", "w8a8"],
         r"--calib-data"),
        ("--calib-data directory missing",
         [tr, "--scheme", "w8a8", "--calib-data",
          os.path.join(work, "no_such_dir")],
         r"no_such_dir' does not exist"),
        ("--calib-data directory without samples",
         [tr, "--scheme", "w8a8", "--calib-data", empty],
         r"holds no \.npz or \.npy files"),
        ("--calib-data .npz with a wrong input name",
         [tr, "--scheme", "w8a8", "--calib-data", wrong],
         r"no array named 'x'"),
        ("model file missing", [os.path.join(work, "missing.onnx")],
         r"missing\.onnx"),
        ("malformed ONNX (garbage bytes)", [garbage], r"garbage\.onnx"),
        ("malformed ONNX (truncated)", [truncated], r"truncated\.onnx"),
        ("unsupported ops (Conv, LRN, com.example.FooBar)", [unsupported],
         r"LRN|FooBar|Conv"),
        ("unsupported op (LpNormalization)", [lpnorm], r"LpNormalization"),
        ("unknown --gpu-kernel value",
         [tr, "--target", "sm_90", "--gpu-kernel", "fastest"],
         r"unknown --gpu-kernel 'fastest'; valid: auto, w4a16, w8a8, "
         r"w8a8-wgmma, generic"),
        ("unknown --activation-granularity value",
         [tr, "--scheme", "w8a8", "--activation-mode", "dynamic",
          "--activation-granularity", "per-row"],
         r"unknown --activation-granularity 'per-row'; valid: per-tensor, "
         r"per-token"),
        ("per-token activations with static (calibrated) ranges",
         [tr, "--scheme", "w8a8", "--activation-granularity", "per-token",
          "--calib-data", calib],
         r"activation-granularity=per-token needs activation-mode=dynamic"),
        ("--gpu-kernel=w8a8-wgmma on a GPU other than sm_90",
         [tr, "--target", "sm_80", "--gpu-kernel", "w8a8-wgmma"],
         r"--gpu-kernel=w8a8-wgmma needs --target sm_90"),
        ("--gpu-kernel without a GPU target",
         [tr, "--gpu-kernel", "w8a8"], r"--gpu-kernel applies to GPU "
         r"targets"),
        ("negative --gpu-w4a8-min-m",
         [tr, "--target", "sm_90", "--gpu-w4a8-min-m", "-4"],
         r"--gpu-w4a8-min-m must be 0 \(off\) or a positive row count, "
         r"got -4"),
        ("--gpu-w4a8-min-m without a GPU target",
         [tr, "--gpu-w4a8-min-m", "64"],
         r"--gpu-w4a8-min-m applies to GPU targets with --gpu-kernel=auto"),
        ("--gpu-w4a8-min-m with a forced kernel",
         [tr, "--target", "sm_90", "--gpu-kernel", "w4a16",
          "--gpu-w4a8-min-m", "64"],
         r"--gpu-w4a8-min-m applies to GPU targets with --gpu-kernel=auto"),
        # Forced kernels the matmul cannot take: named node, what, how to fix.
        ("--gpu-kernel=w4a16 on W8A8 matmuls",
         [tr, "--target", "sm_90", "--scheme", "w8a8", "--activation-mode",
          "dynamic", "--gpu-kernel", "w4a16"],
         r"node 'l0\.q\.matmul'.*cannot take the w4a16 kernel.*"
         r"--gpu-kernel=auto"),
        ("--gpu-kernel=w8a8 on int4 weights with grouped scales",
         [tr, "--target", "sm_90", "--scheme", "w4a16", "--group-size",
          "16", "--gpu-kernel", "w8a8"],
         r"cannot take the w8a8 kernel.*grouped along K \(group size 16\)"),
        # Numeric ranges and exact strings.
        ("--group-size 0", [tr, "--scheme", "w4a16", "--group-size", "0"],
         r"--group-size 0: must be a positive number"),
        ("--group-size -1", [tr, "--scheme", "w4a16", "--group-size=-1"],
         r"--group-size -1: must be a positive number"),
        ("--group-size 2^41", [tr, "--scheme", "w4a16", "--group-size",
                               "2199023255552"],
         r"--group-size 2199023255552: must be a positive number.*at most"),
        ("--scheme with a trailing space", [tr, "--scheme", "w4a16 "],
         r"unknown --scheme 'w4a16 '"),
        ("--symmetric not a boolean",
         [tr, "--scheme", "w4a16", "--symmetric", "yes"],
         r"--symmetric 'yes': must be true or false"),
        ("unknown --cpu (was an LLVM fatal error)", [tr, "--cpu", "bogus"],
         r"unknown --cpu 'bogus'"),
        ("--cpu with a GPU target", [tr, "--target", "sm_90", "--cpu",
                                     "x86-64-v4"],
         r"--cpu applies to CPU bundles"),
        ("-O4", [tr, "-O4"], r"-O4: the level must be 0-3"),
        ("--linker that links nothing", [tr, "--linker", "/bin/true"],
         r"the linker produced an empty shared object.*--linker "
         r"'/bin/true'"),
        ("--linker that does not exist", [tr, "--linker", "no-such-cc"],
         r"--linker 'no-such-cc' is not an executable program"),
        # Options that would have no effect with the others given.
        ("--group-size with per-channel weights",
         [tr, "--scheme", "w8a8", "--activation-mode", "dynamic",
          "--group-size", "64"],
         r"--group-size applies to per-group weights, but --scheme=w8a8 has "
         r"per-channel weights by default"),
        ("--group-size with --weight-granularity=per-channel",
         [tr, "--scheme", "w4a16", "--weight-granularity", "per-channel",
          "--group-size", "64"],
         r"--group-size applies to per-group weights.*"
         r"--weight-granularity=per-channel"),
        ("--group-size with --scheme=float", [tr, "--group-size", "64"],
         r"--group-size has no effect with --scheme=float"),
        ("--activation-mode with --scheme=float",
         [tr, "--activation-mode", "dynamic"],
         r"--activation-mode has no effect with --scheme=float"),
        ("--calib-data with --scheme=float", [tr, "--calib-data", calib],
         r"--calib-data has no effect with --scheme=float"),
        ("--calib-data with a weight-only scheme",
         [tr, "--scheme", "w4a16", "--calib-data", calib],
         r"--calib-data has no effect with --scheme=w4a16 \(weight-only"),
        ("--calib-data with dynamic activations",
         [tr, "--scheme", "w8a8", "--activation-mode", "dynamic",
          "--calib-data", calib],
         r"--calib-data has no effect with --activation-mode=dynamic"),
        ("--calib-data and --calibration-table together",
         [tr, "--scheme", "w8a8", "--calib-data", calib,
          "--calibration-table", a_file],
         r"--calib-data and --calibration-table both give"),
        ("--save-calibration-table without --calib-data",
         [tr, "--scheme", "w8a8", "--calibration-table", a_file,
          "--save-calibration-table", os.path.join(work, "t.json")],
         r"--save-calibration-table writes the table computed from "
         r"--calib-data"),
        ("--calib-method without --calib-data",
         [tr, "--scheme", "w8a8", "--activation-mode", "static",
          "--calibration-table", a_file, "--calib-method", "entropy"],
         r"--calib-method applies to --calib-data"),
    ]
    E.log("quant-compile errors (exit status, message, no output file):")
    for label, argv, pattern in cases:
        check_error(c, args.quant_compile, label, argv + ["-o", out], pattern,
                    out)

    # Output path not writable. The tests run as root in CI, where file
    # permissions do not stop writes, so use a parent that does not exist
    # and a parent that is a regular file.
    for label, bad in (("output directory missing",
                        os.path.join(work, "no_dir", "m.qob")),
                       ("output parent is a file",
                        os.path.join(a_file, "m.qob"))):
        check_error(c, args.quant_compile, label, [tr, "-o", bad],
                    re.escape(bad), bad)

    # A failed compile leaves an existing output untouched.
    with open(out, "wb") as f:
        f.write(b"previous bundle")
    r = E.compile_model(args.quant_compile, tr, out, "--scheme", "w8a8",
                        check=False)
    with open(out, "rb") as f:
        kept = f.read() == b"previous bundle"
    c.check(r.returncode != 0 and kept,
            "failed compile leaves an existing output file untouched")
    os.remove(out)
    return c.finish()


def check_error(c, tool, label, argv, pattern, out):
    r = subprocess.run([tool, *argv], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, errors="replace")
    text = (r.stderr + r.stdout).strip()
    lines = text.splitlines()
    first = next((l for l in lines if re.search(pattern, l)),
                 next((l for l in lines if "error:" in l),
                      lines[0] if lines else "(no output)"))
    ok = (r.returncode != 0 and re.search(pattern, text) is not None
          and "error" in text.lower() and not os.path.exists(out))
    why = []
    if r.returncode == 0:
        why.append("exit status 0")
    if r.returncode < 0:
        why.append(f"killed by signal {-r.returncode}")
    if not re.search(pattern, text):
        why.append(f"message does not match /{pattern}/")
    if os.path.exists(out):
        why.append("output file was created")
        if os.path.isfile(out):
            os.remove(out)
    c.check(ok, f"{label}: exit {r.returncode}: {first[:200]}"
            + (f"  [{'; '.join(why)}]" if why else ""))


if __name__ == "__main__":
    sys.exit(main())
