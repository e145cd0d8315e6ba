#!/usr/bin/env python3
"""qnn.quantize / qnn.dequantize constant folding vs the ONNX reference.

For every storage type (int8, uint8, int16, uint16, int4, uint4, the four
float8 types, int32 for dequantize) and granularity (per tensor, per axis,
blocked), random inputs that include exact ties (x / scale = k + 0.5),
out-of-range values (saturation) and zeros are quantized and dequantized by
folding in `quant-opt --canonicalize --qnn-evaluate-dequantize`; the results must equal what
onnx.reference's QuantizeLinear / DequantizeLinear (opset 21) compute, bit for
bit. The comparison is exact (tolerance 0): both sides implement the same
float32 arithmetic; the only allowance is that a dequantized NaN may be any
NaN (ONNX does not specify NaN payloads).

Usage: check_qdq_numerics.py QUANT_OPT
"""
import itertools
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

INT_TYPES = {
    "i8": (TensorProto.INT8, -128, 127),
    "ui8": (TensorProto.UINT8, 0, 255),
    "i16": (TensorProto.INT16, -32768, 32767),
    "ui16": (TensorProto.UINT16, 0, 65535),
    "i4": (TensorProto.INT4, -8, 7),
    "ui4": (TensorProto.UINT4, 0, 15),
}
FLOAT8_TYPES = {
    "f8E4M3FN": TensorProto.FLOAT8E4M3FN,
    "f8E5M2": TensorProto.FLOAT8E5M2,
    "f8E4M3FNUZ": TensorProto.FLOAT8E4M3FNUZ,
    "f8E5M2FNUZ": TensorProto.FLOAT8E5M2FNUZ,
}
SHAPE = (4, 6)
LAYOUTS = {  # name -> (axis, block_size, scale shape)
    "tensor": (1, 0, ()),
    "axis0": (0, 0, (4,)),
    "axis1": (1, 0, (6,)),
    "block": (1, 2, (4, 3)),
}


def hex_f32(a):
    return '"0x' + np.ascontiguousarray(a, dtype="<f4").tobytes().hex().upper() + '"'


def tensor_type(shape, elem):
    return "tensor<" + "".join(f"{d}x" for d in shape) + elem + ">"


def dense_ints(values):
    return "dense<" + str(np.asarray(values).astype(np.int64).tolist()) + ">"


def dense_reshaped(values, shape):
    if len(shape) == 0:
        return f"dense<{int(np.ravel(values)[0])}>"
    return dense_ints(values)


def make_inputs(rng, elem, layout):
    axis, block, sshape = LAYOUTS[layout]
    # Power-of-two scales make the exact ties below exact in float32.
    if rng.random() < 0.5:
        scale = np.float32(2.0) ** rng.integers(-4, 3, size=sshape).astype(np.float32)
    else:
        scale = rng.uniform(0.01, 2.0, size=sshape).astype(np.float32)
    scale = np.asarray(scale, dtype=np.float32).reshape(sshape)
    if elem in INT_TYPES:
        _, lo, hi = INT_TYPES[elem]
        zp = rng.integers(lo, hi + 1, size=sshape)
        if lo < 0:
            zp = rng.integers(lo // 4, hi // 4 + 1, size=sshape)
    else:
        zp = None
    full_scale = expand(scale, axis, block)
    k = rng.integers(-40000, 40000, size=SHAPE).astype(np.float32)
    x = (k + np.float32(0.5)) * full_scale                        # ties
    x = np.where(rng.random(SHAPE) < 0.4,
                 rng.normal(0, 3, SHAPE).astype(np.float32) * full_scale, x)
    x = np.where(rng.random(SHAPE) < 0.1, np.float32(0), x)
    x = np.where(rng.random(SHAPE) < 0.1,
                 np.float32(1e6) * np.sign(rng.normal(size=SHAPE)), x)
    return x.astype(np.float32), scale, zp


def expand(param, axis, block):
    p = np.asarray(param)
    if p.ndim == 0:
        return np.broadcast_to(p, SHAPE)
    if block == 0:
        shape = [1, 1]
        shape[axis] = p.shape[0]
        return np.broadcast_to(p.reshape(shape), SHAPE)
    return np.repeat(p, block, axis=axis)[: SHAPE[0], : SHAPE[1]]


def onnx_type(elem):
    return INT_TYPES[elem][0] if elem in INT_TYPES else FLOAT8_TYPES[elem]


def reference(op, inputs, axis, block, saturate, out_elem):
    names = ["x", "s", "z"][: len(inputs)]
    attrs = {"axis": axis}
    if block:
        attrs["block_size"] = block
    if op == "QuantizeLinear" and saturate is not None:
        attrs["saturate"] = int(saturate)
    node = helper.make_node(op, names, ["y"], **attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(n, numpy_helper.from_array(v).data_type, v.shape)
         for n, v in zip(names, inputs)],
        [helper.make_tensor_value_info("y", out_elem, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    return ReferenceEvaluator(model).run(None, dict(zip(names, inputs)))[0]


def typed_zero_point(zp, elem):
    """A numpy array of the ONNX storage type holding zp (for the reference)."""
    t = onnx_type(elem)
    dtype = onnx.helper.tensor_dtype_to_np_dtype(t)
    return np.asarray(zp).astype(dtype)


def decode(hex_or_scalar, elem, n):
    """Values of an MLIR dense attribute (hex or splat) as numbers/bytes."""
    if hex_or_scalar.startswith('"0x'):
        raw = bytes.fromhex(hex_or_scalar[3:-1])
    else:
        return None
    if elem == "f32":
        vals = np.frombuffer(raw, dtype="<f4")
    elif elem in ("i4", "ui4"):
        b = np.frombuffer(raw, dtype=np.uint8) & 0xF
        vals = b.astype(np.int64)
        if elem == "i4":
            vals = np.where(vals >= 8, vals - 16, vals)
    elif elem in FLOAT8_TYPES:
        vals = np.frombuffer(raw, dtype=np.uint8)
    else:
        dtype = {"i8": "<i1", "ui8": "<u1", "i16": "<i2", "ui16": "<u2"}[elem]
        vals = np.frombuffer(raw, dtype=dtype).astype(np.int64)
    if vals.size == 1 and n > 1:
        vals = np.repeat(vals, n)
    return vals


def main(quant_opt):
    rng = np.random.default_rng(1234)
    funcs, cases = [], []
    for elem, layout in itertools.product(list(INT_TYPES) + list(FLOAT8_TYPES), LAYOUTS):
        for saturate in ([True, False] if elem in FLOAT8_TYPES else [True]):
            axis, block, sshape = LAYOUTS[layout]
            x, scale, zp = make_inputs(rng, elem, layout)
            name = f"q_{elem}_{layout}_{int(saturate)}"
            zp_val = zp if zp is not None else np.zeros(sshape)
            if elem in FLOAT8_TYPES:
                zp_attr = "dense<0.0>" if not sshape else "dense<0.0>"
            else:
                zp_attr = dense_reshaped(zp_val, sshape)
            ty, sty, zty = tensor_type(SHAPE, "f32"), tensor_type(sshape, "f32"), tensor_type(sshape, elem)
            rty = tensor_type(SHAPE, elem)
            funcs.append(f"""
func.func @{name}() -> {rty} {{
  %x = qnn.constant dense<{hex_f32(x)}> : {ty}
  %s = qnn.constant dense<{hex_f32(scale) if sshape else repr(float(scale))}> : {sty}
  %z = qnn.constant {zp_attr} : {zty}
  %q = qnn.quantize %x, %s, %z {{axis = {axis} : i64, block_size = {block} : i64, saturate = {str(saturate).lower()}}} : ({ty}, {sty}, {zty}) -> {rty}
  return %q : {rty}
}}""")
            ref_zp = typed_zero_point(zp_val, elem)
            ref = reference("QuantizeLinear", [x, scale, ref_zp], axis, block,
                            saturate, onnx_type(elem))
            cases.append((name, elem, ref))

            # Dequantize the reference's quantized values back.
            dname = f"dq_{elem}_{layout}_{int(saturate)}"
            if elem in FLOAT8_TYPES:
                qbytes = np.asarray(ref).view(np.uint8)
                qattr = 'dense<"0x' + qbytes.tobytes().hex().upper() + '">'
                dq_inputs = [ref, scale]
                zpart, ztype = "", ""
            else:
                qattr = dense_ints(np.asarray(ref).astype(np.int64))
                dq_inputs = [ref, scale, ref_zp]
                zpart, ztype = ", %z", ", " + zty
                funcs.append("")
            zdef = f"\n  %z = qnn.constant {zp_attr} : {zty}" if zpart else ""
            funcs.append(f"""
func.func @{dname}() -> {ty} {{
  %q = qnn.constant {qattr} : {rty}
  %s = qnn.constant dense<{hex_f32(scale) if sshape else repr(float(scale))}> : {sty}{zdef}
  %x = qnn.dequantize %q, %s{zpart} {{axis = {axis} : i64, block_size = {block} : i64}} : ({rty}, {sty}{ztype}) -> {ty}
  return %x : {ty}
}}""")
            dref = reference("DequantizeLinear", dq_inputs, axis, block, None,
                             TensorProto.FLOAT)
            cases.append((dname, "f32", dref))

    module = "\n".join(funcs)
    r = subprocess.run([quant_opt, "-", "--canonicalize",
                        "--qnn-evaluate-dequantize", "--canonicalize",
                        "--mlir-print-elementsattrs-with-hex-if-larger=0"],
                       input=module, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr)
        return 1
    out = r.stdout
    failures = 0
    for name, elem, ref in cases:
        m = re.search(r"func\.func @" + name + r"\(\).*?qnn\.constant dense<(\"0x[0-9A-F]+\"|[^>]+)>", out, re.S)
        body = out[out.index("@" + name + "()"):].split("return", 1)[0]
        if "qnn.quantize" in body or "qnn.dequantize" in body:
            print(f"FAIL {name}: did not fold")
            failures += 1
            continue
        got = decode(m.group(1), elem, np.asarray(ref).size) if m else None
        if got is None:
            print(f"FAIL {name}: cannot read folded constant")
            failures += 1
            continue
        if elem in FLOAT8_TYPES:
            want = np.asarray(ref).view(np.uint8).ravel()
        elif elem == "f32":
            want = np.asarray(ref, dtype=np.float32).ravel()
            got = got.astype(np.float32)
            # Bit-exact, except that any NaN matches any NaN: the payload of a
            # NaN produced by float arithmetic is not specified by ONNX.
            same = (got.view(np.uint32) == want.view(np.uint32)) | (
                np.isnan(got) & np.isnan(want))
            if not same.all():
                i = int(np.argmin(same))
                print(f"FAIL {name}: element {i}: got {got[i]!r}, ONNX reference {want[i]!r}")
                failures += 1
            continue
        else:
            want = np.asarray(ref).astype(np.int64).ravel()
        if not np.array_equal(got, want):
            i = int(np.argmax(got != want))
            print(f"FAIL {name}: element {i}: got {got[i]}, ONNX reference {want[i]}")
            failures += 1
    total = len(cases)
    print(f"qdq-numerics: {total - failures} passed, {failures} failed "
          f"({total} cases, {total * SHAPE[0] * SHAPE[1]} elements, exact match)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
