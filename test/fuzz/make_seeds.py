#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (test/fuzz/<target>/seeds/).

Usage: make_seeds.py [--build-dir build] [--out-dir test/fuzz]
       make_seeds.py --template DIR --quant-compile TOOL

Every seed is a real, valid file made the way users make them, so the fuzzer
starts from inputs that get past the first checks:
  onnx_import        small models from test/Import/ONNX/Inputs/make_model.py
  npy                numpy.save / savez / savez_compressed files, every dtype
                     a bundle tensor may have, .npy format versions 1, 2, 3
  calibration_table  tables written by quant-calibrate (several methods)
  bundle             a tiny MLP bundle compiled by quant-compile (also the
                     template of the manifest mode, see fuzz_bundle.cpp) and
                     the manifest texts of that and of a w8a8 bundle

The seeds are committed; rerun this only to change them (it needs onnx,
numpy and the quant-calibrate/quant-compile of a build tree). Everything is
deterministic except what the compiler embeds in a bundle.

With --template, writes only mlp.qob and mlp.manifest.json into DIR: the
build does this with its own quant-compile for fuzz_bundle's manifest mode,
so that the template always has the bundle format of the sources (the
committed bundle seeds may be older; they still exercise the loader).
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "test", "Import", "ONNX", "Inputs"))
import make_model  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "test", "Runtime", "Bundle"))
from bundle_layout import section_bytes  # noqa: E402


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def reset(directory):
    """Removes the old seeds so that renamed ones do not pile up."""
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.remove(os.path.join(directory, name))


def onnx_seeds(out):
    small_mlp = make_model.build_mlp(in_features=8, hidden=8, classes=4)
    write(os.path.join(out, "mlp.onnx"), small_mlp.SerializeToString())
    write(os.path.join(out, "mlp_opset13.onnx"),
          make_model.build_mlp(opset=13, in_features=4, hidden=4,
                               classes=2).SerializeToString())
    write(os.path.join(out, "types.onnx"),
          make_model.build_types().SerializeToString())
    write(os.path.join(out, "matmulnbits.onnx"),
          make_model.build_matmulnbits(k=32, n=8, block=32).SerializeToString())
    write(os.path.join(out, "transformer.onnx"),
          make_model.build_transformer(hidden=8, heads=2,
                                       layers=1).SerializeToString())
    for kind in ("shape_mismatch", "runtime_axes", "unsupported"):
        model = getattr(make_model, "build_" + kind)()
        write(os.path.join(out, kind + ".onnx"), model.SerializeToString())
    return small_mlp


def npy_bytes(array, version=None):
    f = io.BytesIO()
    if version is None:
        np.save(f, array)
    else:
        np.lib.format.write_array(f, array, version=version)
    return f.getvalue()


def npy_seeds(out):
    rng = np.random.default_rng(11)
    arrays = {
        "f32_2x3": rng.standard_normal((2, 3)).astype(np.float32),
        "f16_4": rng.standard_normal(4).astype(np.float16),
        "i8_3x2x2": rng.integers(-128, 127, (3, 2, 2), dtype=np.int8),
        "u8_5": rng.integers(0, 255, 5, dtype=np.uint8),
        "i16_2": np.array([-3, 7], dtype=np.int16),
        "u16_2": np.array([3, 7], dtype=np.uint16),
        "i32_2x2": np.arange(4, dtype=np.int32).reshape(2, 2),
        "i64_3": np.array([1, -2, 3], dtype=np.int64),
        "u32_1": np.array([5], dtype=np.uint32),
        "u64_scalar": np.array(9, dtype=np.uint64),
        "bool_4": np.array([True, False, True, True]),
        "f32_empty_0x3": np.zeros((0, 3), dtype=np.float32),
    }
    for name, array in arrays.items():
        write(os.path.join(out, name + ".npy"), npy_bytes(array))
    write(os.path.join(out, "f32_v2.npy"),
          npy_bytes(arrays["f32_2x3"], version=(2, 0)))
    write(os.path.join(out, "f32_v3.npy"),
          npy_bytes(arrays["f32_2x3"], version=(3, 0)))
    for name, save in (("stored.npz", np.savez),
                       ("compressed.npz", np.savez_compressed)):
        f = io.BytesIO()
        save(f, input=arrays["f32_2x3"], mask=arrays["bool_4"])
        write(os.path.join(out, name), f.getvalue())


def calibration_seeds(out, build_dir):
    tool = os.path.join(build_dir, "bin", "quant-calibrate")
    rng = np.random.default_rng(12)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for key in ("input", "hidden/relu:0"):
            for batch in range(2):
                path = os.path.join(tmp, f"{len(inputs)}.npy")
                np.save(path, rng.standard_normal((4, 8)).astype(np.float32))
                inputs += ["--input", f"{key}={path}"]
        for method, extra in (("minmax", []),
                              ("minmax", ["--moving-average"]),
                              ("percentile", ["--num-bins=64"]),
                              ("entropy", []),
                              ("mse", ["--num-bins=64", "--symmetric"])):
            name = method + ("_" + extra[0].lstrip("-").split("=")[0]
                             if extra else "") + ".json"
            subprocess.run([tool, "--method=" + method, *extra, *inputs,
                            "-o", os.path.join(out, name)], check=True)



def bundle_seeds(out, tool, mlp, schemes=("float", "w8a8")):
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "mlp.onnx")
        onnx.save_model(mlp, model)
        calib = os.path.join(tmp, "calib.npz")
        rng = np.random.default_rng(13)
        np.savez(calib, input=rng.standard_normal((4, 8)).astype(np.float32))
        # The oldest x86-64 level, so the template loads on any x86-64 CPU.
        for scheme, extra in (("float", []),
                              ("w8a8", ["--calib-data=" + calib])):
            if scheme not in schemes:
                continue
            bundle = os.path.join(tmp, scheme + ".qob")
            subprocess.run([tool, model, "--quiet", "--cpu=x86-64",
                            "--scheme=" + scheme, *extra, "-o", bundle],
                           check=True)
            with open(bundle, "rb") as f:
                data = f.read()
            if scheme == "float":
                write(os.path.join(out, "mlp.qob"), data)
            write(os.path.join(out, f"mlp_{scheme}.manifest.json"),
                  section_bytes(data)["manifest"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--out-dir", default=HERE)
    parser.add_argument("--template", metavar="DIR")
    parser.add_argument("--quant-compile", metavar="TOOL")
    args = parser.parse_args()
    if args.template:
        with open(os.path.join(HERE, "onnx_import", "seeds", "mlp.onnx"),
                  "rb") as f:
            mlp = onnx.load_model_from_string(f.read())
        os.makedirs(args.template, exist_ok=True)
        bundle_seeds(args.template, args.quant_compile, mlp,
                     schemes=("float",))
        os.replace(os.path.join(args.template, "mlp_float.manifest.json"),
                   os.path.join(args.template, "mlp.manifest.json"))
        return 0
    dirs = {t: os.path.join(args.out_dir, t, "seeds")
            for t in ("onnx_import", "npy", "calibration_table", "bundle")}
    for d in dirs.values():
        reset(d)
    mlp = onnx_seeds(dirs["onnx_import"])
    npy_seeds(dirs["npy"])
    calibration_seeds(dirs["calibration_table"], args.build_dir)
    bundle_seeds(dirs["bundle"],
                 os.path.join(args.build_dir, "bin", "quant-compile"), mlp)
    for target, d in dirs.items():
        names = sorted(os.listdir(d))
        size = sum(os.path.getsize(os.path.join(d, n)) for n in names)
        print(f"{target}: {len(names)} seeds, {size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
