#!/usr/bin/env python3
"""Outputs never destroy inputs; inputs are read within bounds.

For every tool and every output flag: an output that is one of the tool's
inputs (by path, through a symlink or a hard link) or an existing non-regular
file (device, FIFO, directory) is refused with a message naming the flag, the
exit status is non-zero and the input's bytes are unchanged. For every input:
a FIFO, /dev/zero or a directory is refused at once (each case runs under a
timeout, so a regression hangs only until then). A symlinked output keeps its
link and gets the new contents; no temporary file is left behind.

    check_file_safety.py --quant-compile BIN --quant-run BIN --quantrt LIB
        --quant-translate BIN --quant-calibrate BIN --work-dir DIR
"""

import argparse
import hashlib
import os
import re
import subprocess
import sys

import numpy as np

import e2e_common as E

TIMEOUT = 60


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def run(argv):
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=TIMEOUT,
                           stdin=subprocess.DEVNULL)
        return r.returncode, (r.stderr + r.stdout).strip()
    except subprocess.TimeoutExpired:
        return None, f"timed out after {TIMEOUT} s"


def stray_temps(directory):
    return [f for f in os.listdir(directory) if ".temp-stream-" in f]


def refused(c, label, argv, pattern, keep=()):
    """argv must fail with a message matching `pattern`, leaving every file
    in `keep` byte-identical and no temporary file next to it."""
    before = {p: digest(p) for p in keep if os.path.isfile(p)}
    rc, text = run(argv)
    why = []
    if rc is None:
        why.append(text)
    elif rc == 0:
        why.append("exit status 0")
    elif rc < 0:
        why.append(f"killed by signal {-rc}")
    if not re.search(pattern, text):
        why.append(f"message does not match /{pattern}/")
    for p, d in before.items():
        if not os.path.isfile(p) or digest(p) != d:
            why.append(f"{os.path.basename(p)} was changed")
    for p in keep:
        d = os.path.dirname(p) or "."
        if os.path.isdir(d) and stray_temps(d):
            why.append(f"temporary files left in {d}: {stray_temps(d)}")
    first = next((l for l in text.splitlines() if "error" in l.lower()),
                 text.splitlines()[0] if text else "(no output)")
    c.check(not why, f"{label}: {first[:180]}"
            + (f"  [{'; '.join(why)}]" if why else ""))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quant-translate", required=True)
    p.add_argument("--quant-calibrate", required=True)
    ours, rest = p.parse_known_args()
    args = E.parse_args(__doc__.split("\n")[0], rest)
    import onnx
    import make_model

    c = E.Checker("e2e-file-safety")
    w = args.work_dir
    qc, qr = args.quant_compile, args.quant_run
    qt, qcal = ours.quant_translate, ours.quant_calibrate

    model = os.path.join(w, "mlp.onnx")
    onnx.save_model(make_model.build_mlp(), model)
    x = os.path.join(w, "x.npy")
    np.save(x, np.ones((2, 64), np.float32))
    calib = os.path.join(w, "calib")
    os.makedirs(calib)
    np.save(os.path.join(calib, "s0.npy"), np.ones((2, 64), np.float32))
    bundle = os.path.join(w, "mlp.qob")
    E.compile_model(qc, model, bundle)
    table = os.path.join(w, "table.json")
    rc, text = run([qc, model, "--scheme", "w8a8", "--calib-data", calib,
                    "--save-calibration-table", table, "-o",
                    os.path.join(w, "calibrated.qob"), "--quiet"])
    c.check(rc == 0 and os.path.isfile(table),
            f"reference: a w8a8 compile saves its calibration table "
            f"(exit {rc})")
    outputs_npz = os.path.join(w, "out.npz")

    link = os.path.join(w, "model-link.onnx")
    os.symlink(model, link)
    hard = os.path.join(w, "model-hard.onnx")
    os.link(model, hard)
    fifo = os.path.join(w, "fifo")
    os.mkfifo(fifo)
    a_dir = os.path.join(w, "a_dir")
    os.makedirs(a_dir)
    same = r"is the .*same file.*refusing to overwrite an input"

    E.log("outputs that are inputs:")
    for flag in ("-o", "--emit-mlir"):
        extra = [] if flag == "-o" else ["-o", os.path.join(w, "o.qob")]
        for label, target in (("path", model), ("symlink", link),
                              ("hard link", hard)):
            refused(c, f"quant-compile {flag} = the model ({label})",
                    [qc, model, *extra, flag, target],
                    re.escape(flag) + ".*" + same, keep=[model])
    refused(c, "quant-compile --save-calibration-table = the model",
            [qc, model, "--scheme", "w8a8", "--calib-data", calib, "-o",
             os.path.join(w, "o.qob"), "--save-calibration-table", model],
            r"--save-calibration-table.*" + same, keep=[model])
    refused(c, "quant-compile --save-calibration-table = a calibration "
            "sample", [qc, model, "--scheme", "w8a8", "--calib-data", calib,
                       "-o", os.path.join(w, "o.qob"),
                       "--save-calibration-table",
                       os.path.join(calib, "s0.npy")],
            r"--save-calibration-table.*" + same,
            keep=[os.path.join(calib, "s0.npy")])
    refused(c, "quant-compile -o = --calibration-table",
            [qc, model, "--scheme", "w8a8", "--calibration-table", table,
             "-o", table], r"-o.*" + same, keep=[table])
    refused(c, "quant-compile -o and --emit-mlir the same new path",
            [qc, model, "-o", os.path.join(w, "x.out"), "--emit-mlir",
             os.path.join(w, "x.out")], r"both write")
    refused(c, "quant-translate -o = the input",
            [qt, "--import-onnx", model, "-o", model], r"-o.*" + same,
            keep=[model])
    refused(c, "quant-translate -o = the input (symlink)",
            [qt, "--import-onnx", model, "-o", link], r"-o.*" + same,
            keep=[model])
    refused(c, "quant-run --output = the bundle",
            [qr, bundle, "--input", x, "--output", bundle],
            r"--output.*" + same, keep=[bundle])
    bundle_hard = os.path.join(w, "bundle-hard.qob")
    os.link(bundle, bundle_hard)
    refused(c, "quant-run --output = the bundle (hard link)",
            [qr, bundle, "--input", x, "--output", bundle_hard],
            r"--output.*" + same, keep=[bundle])
    refused(c, "quant-run --output = an --input file",
            [qr, bundle, "--input", x, "--output", x], r"--output.*" + same,
            keep=[x])
    # The output directory holds a file named after the output that is
    # also the input.
    odir = os.path.join(w, "odir")
    os.makedirs(odir)
    probs = os.path.join(odir, "probs.npy")
    np.save(probs, np.ones((2, 64), np.float32))
    refused(c, "quant-run --output-dir whose output file is an --input",
            [qr, bundle, "--input", probs, "--output-dir", odir],
            r"--output-dir.*" + same, keep=[probs])
    refused(c, "quant-calibrate -o = an --input array",
            [qcal, "--input", f"x={x}", "-o", x], r"-o.*" + same, keep=[x])

    E.log("outputs that are not regular files:")
    for label, target, pattern in (
            ("/dev/full", "/dev/full", r"character device"),
            ("a FIFO", fifo, r"FIFO"),
            ("a directory", a_dir, r"directory")):
        refused(c, f"quant-compile -o {label}", [qc, model, "-o", target],
                r"-o '.*' is (a|an) .*" + pattern + r".*refusing to "
                r"replace it")
        refused(c, f"quant-translate -o {label}",
                [qt, "--import-onnx", model, "-o", target],
                r"-o '.*' is .*" + pattern)
        refused(c, f"quant-run --output {label}",
                [qr, bundle, "--input", x, "--output", target],
                r"--output '.*' is .*" + pattern)
        refused(c, f"quant-compile --emit-mlir {label}",
                [qc, model, "-o", os.path.join(w, "o.qob"), "--emit-mlir",
                 target], r"--emit-mlir '.*' is .*" + pattern)
    c.check(os.path.exists("/dev/full") and not os.path.isfile("/dev/full"),
            "/dev/full is still a device node")
    c.check(not os.path.exists(os.path.join(w, "o.qob")),
            "no bundle written by the refused --emit-mlir compiles")

    # An external data file is an input too (recorded by the importer).
    ext_dir = os.path.join(w, "ext")
    os.makedirs(ext_dir)
    ext_model = os.path.join(ext_dir, "model.onnx")
    onnx.save_model(make_model.build_mlp(), ext_model,
                    save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx.data", size_threshold=0)
    ext_data = os.path.join(ext_dir, "model.onnx.data")
    for flag in ("-o", "--emit-mlir"):
        extra = [] if flag == "-o" else ["-o", os.path.join(w, "o.qob")]
        refused(c, f"quant-compile {flag} = the model's external data file",
                [qc, ext_model, *extra, flag, ext_data],
                re.escape(flag) + r".*is the external data file.*same file.*"
                r"refusing to overwrite an input",
                keep=[ext_data])
    refused(c, "quant-translate -o = the model's external data file",
            [qt, "--import-onnx", ext_model, "-o", ext_data],
            r"-o.*is the external data file.*same file.*refusing to "
            r"overwrite an input", keep=[ext_data])

    E.log("inputs that are not regular files (each under a "
          f"{TIMEOUT} s timeout):")
    zero_link = os.path.join(w, "zero.npy")
    os.symlink("/dev/zero", zero_link)
    for label, target, pattern in (("/dev/zero", "/dev/zero",
                                    r"character device"),
                                   ("a FIFO", fifo, r"FIFO"),
                                   ("a directory", a_dir, r"directory")):
        out = os.path.join(w, "never.qob")
        refused(c, f"quant-compile model = {label}", [qc, target, "-o", out],
                pattern)
        c.check(not os.path.exists(out), f"  no output for model = {label}")
        refused(c, f"quant-translate input = {label}",
                [qt, "--import-onnx", target], pattern)
        refused(c, f"quant-run --input {label}",
                [qr, bundle, "--input", target], pattern)
        refused(c, f"quant-run --inputs-npz {label}",
                [qr, bundle, "--inputs-npz", target], pattern)
        refused(c, f"quant-compile --calibration-table {label}",
                [qc, model, "--scheme", "w8a8", "--calibration-table",
                 target, "-o", out], pattern)
        refused(c, f"quant-calibrate --input {label}",
                [qcal, "--input", f"x={target}", "-o",
                 os.path.join(w, "t.json")], pattern)
    bad_calib = os.path.join(w, "calib_zero")
    os.makedirs(bad_calib)
    os.symlink("/dev/zero", os.path.join(bad_calib, "s0.npy"))
    refused(c, "quant-compile --calib-data with a symlink to /dev/zero",
            [qc, model, "--scheme", "w8a8", "--calib-data", bad_calib, "-o",
             os.path.join(w, "never.qob")], r"s0\.npy.*character device")
    fifo_calib = os.path.join(w, "calib_fifo")
    os.makedirs(fifo_calib)
    os.mkfifo(os.path.join(fifo_calib, "s0.npy"))
    refused(c, "quant-compile --calib-data with a FIFO sample",
            [qc, model, "--scheme", "w8a8", "--calib-data", fifo_calib, "-o",
             os.path.join(w, "never.qob")], r"s0\.npy.*FIFO")

    E.log("malformed inputs with bounded cost:")
    nested = os.path.join(w, "nested.json")
    with open(nested, "w") as f:
        f.write("[" * 100000)
    refused(c, "quant-compile --calibration-table of 100,000 '['",
            [qc, model, "--scheme", "w8a8", "--calibration-table", nested,
             "-o", os.path.join(w, "never.qob")],
            r"nested\.json.*nests deeper than 64")
    bomb = os.path.join(w, "bomb.npz")
    np.savez_compressed(bomb, input=np.zeros((2, 64), np.float32))
    data = bytearray(open(bomb, "rb").read())
    # Claim 4 GiB - 1 uncompressed in the central directory entry.
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24:cd + 28] = (0xFFFFFFFE).to_bytes(4, "little")
    open(bomb, "wb").write(bytes(data))
    refused(c, "quant-run --inputs-npz declaring a 4 GiB inflated entry",
            [qr, bundle, "--inputs-npz", bomb],
            r"more than deflate can produce")

    E.log("writes that succeed:")
    target = os.path.join(w, "real-out.npz")
    with open(target, "wb") as f:
        f.write(b"old")
    out_link = os.path.join(w, "out-link.npz")
    os.symlink(target, out_link)
    rc, text = run([qr, bundle, "--input", x, "--output", out_link])
    ok = (rc == 0 and os.path.islink(out_link)
          and np.load(target)["probs"].shape == (2, 10))
    c.check(ok, f"quant-run --output through a symlink keeps the link and "
            f"replaces its target (exit {rc})")
    # /dev/null discards the output without replacing the device: the usual
    # way to check that a model compiles.
    for tool, argv in (("quant-compile", [qc, model, "-o", "/dev/null",
                                          "--quiet"]),
                       ("quant-translate", [qt, "--import-onnx", model, "-o",
                                            "/dev/null"]),
                       ("quant-run", [qr, bundle, "--input", x, "--output",
                                      "/dev/null"])):
        rc, text = run(argv)
        c.check(rc == 0 and os.path.exists("/dev/null")
                and not os.path.isfile("/dev/null"),
                f"{tool} -o /dev/null succeeds and /dev/null stays a device "
                f"(exit {rc})")
    dangling = os.path.join(w, "dangling.npz")
    os.symlink("dangling-target.npz", dangling)
    rc, text = run([qr, bundle, "--input", x, "--output", dangling])
    c.check(rc == 0 and os.path.islink(dangling)
            and os.path.isfile(os.path.join(w, "dangling-target.npz")),
            f"quant-run --output through a dangling symlink creates its "
            f"target and keeps the link (exit {rc})")
    rc, text = run([qc, model, "-o", outputs_npz + ".qob", "--quiet"])
    c.check(rc == 0 and not stray_temps(w),
            f"a normal compile succeeds and leaves no temporary file "
            f"(exit {rc})")
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
