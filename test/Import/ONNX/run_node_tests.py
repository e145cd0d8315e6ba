#!/usr/bin/env python3
"""Imports the ONNX backend node tests that use only supported ops.

For every ONNX node test whose nodes are all in SUPPORTED_OPS (default
domain), runs

    quant-translate --import-onnx model.onnx -o tmp.mlir
    quant-opt tmp.mlir --verify-each -o /dev/null

and reports pass/fail counts. A test whose graph inputs, outputs, initializers
or Constant values use an element type we document as unsupported (see
UNSUPPORTED_ELEM_TYPES) is reported as excluded, not failed. The last line is

    node-tests: N passed, M failed, K excluded

and the exit status is 1 when M > 0.

Test data: --data-dir DIR uses DIR/node/<test>/model.onnx (or DIR/<test>/...).
Without it the models are written once into a cache directory (--cache-dir,
default build/onnx-node-data under the repository) and reused while the onnx
version is unchanged. onnx >= 1.19 no longer writes node tests with
`python3 -m onnx.backend.test.cmd_tools generate-data` (only the `real` and
`simple` model tests), so the cache is filled from the in-memory node test
cases (onnx.backend.test.loader.load_node_model_tests) in the same on-disk
layout; older onnx versions use generate-data.
"""

import argparse
import collections
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile

SUPPORTED_OPS = frozenset("""
    Add Sub Mul Div Pow Sqrt Reciprocal Neg Exp Log Abs Min Max Erf Tanh
    Sigmoid Relu Gelu Softmax LayerNormalization RMSNormalization ReduceMean
    ReduceSum ReduceMax MatMul Gemm Reshape Transpose Concat Split Slice Gather
    Squeeze Unsqueeze Expand Where Cast Constant Shape Identity QuantizeLinear
    DequantizeLinear DynamicQuantizeLinear MatMulInteger QLinearMatMul
""".split())
SUPPORTED_OPS |= frozenset(  # elementwise (issue 16)
    """
    CastLike Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor Not
    Mod Clip Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Floor
    Ceil Round Sign IsNaN IsInf Dropout Sum Mean Elu Selu Celu LeakyRelu
    HardSigmoid HardSwish Softplus Softsign ThresholdedRelu Mish PRelu
    Shrink Swish BitShift BitwiseAnd BitwiseOr BitwiseXor BitwiseNot
""".split())  # elementwise (issue 16)
SUPPORTED_OPS = SUPPORTED_OPS | frozenset("""
    ConstantOfShape Range Size Flatten EyeLike Trilu CumSum CumProd Tile Pad
    OneHot ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp
    ReduceSumSquare ArgMax ArgMin LogSoftmax Hardmax GatherElements GatherND
    ScatterND ScatterElements
""".split())  # shape/index/reduction (issue 16)
# Tests whose Pad pads are computed in the graph (CenterCropPad's function
# body): QuantOpt needs constant pads, so they are not selected.
OLD_OPSET_TESTS = re.compile(r"^test_dynamicquantizelinear.*_expanded$")
RUNTIME_ONLY_TESTS = re.compile(r"^test_center_crop_pad_.*_expanded$")  # shape/index/reduction (issue 16)

# Element types the importer documents as unsupported, by TensorProto name.
UNSUPPORTED_ELEM_TYPES = (
    "STRING", "COMPLEX64", "COMPLEX128", "FLOAT8E8M0", "INT2", "UINT2",
    "FLOAT4E2M1",
)

# Training-mode Dropout with a non-zero ratio: the expected outputs come from
# numpy's random generator. # elementwise (issue 16)
RANDOM_DROPOUT_TESTS = re.compile(
    r"test_training_dropout(_default)?(_mask)?")  # elementwise (issue 16)

DEFAULT_DOMAINS = ("", "ai.onnx")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------
# Test data
# ---------------------------------------------------------------------------


def _write_value(path, value, value_type, name):
    import onnx
    from onnx import numpy_helper

    if isinstance(value, onnx.TensorProto):
        proto = value
    elif value_type.HasField("map_type"):
        proto = numpy_helper.from_dict(value, name)
    elif value_type.HasField("sequence_type"):
        proto = numpy_helper.from_list(value, name)
    elif value_type.HasField("optional_type"):
        proto = numpy_helper.from_optional(value, name)
    else:
        proto = numpy_helper.from_array(value, name)
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())


def _write_node_tests_from_loader(out_dir):
    """Writes DIR/node/<test>/{model.onnx,test_data_set_N/*.pb}."""
    import warnings

    from onnx.backend.test.loader import load_node_model_tests

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the case generators warn on overflow
        cases = load_node_model_tests()
    for case in cases:
        case_dir = os.path.join(out_dir, "node", case.name)
        os.makedirs(case_dir, exist_ok=True)
        with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets or []):
            ds = os.path.join(case_dir, f"test_data_set_{i}")
            os.makedirs(ds, exist_ok=True)
            for kind, values, infos in (("input", inputs, graph.input),
                                        ("output", outputs, graph.output)):
                for j, value in enumerate(values):
                    info = infos[j]
                    _write_value(os.path.join(ds, f"{kind}_{j}.pb"), value,
                                 info.type, info.name)
    return len(cases)


def ensure_node_data(cache_dir):
    """Returns the directory holding <test>/model.onnx, generating it if needed."""
    import onnx

    node_dir = os.path.join(cache_dir, "node")
    marker = os.path.join(cache_dir, ".complete")
    stamp = f"onnx {onnx.__version__}\n"
    if os.path.isdir(node_dir) and os.path.exists(marker):
        with open(marker) as f:
            if f.read() == stamp:
                return node_dir
        log(f"[node-tests] {cache_dir} was made by another onnx version; regenerating")

    parent = os.path.dirname(os.path.abspath(cache_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".onnx-node-data.", dir=parent)
    try:
        log(f"[node-tests] generating ONNX node test data (onnx {onnx.__version__}) "
            f"into {cache_dir}")
        try:
            from onnx.backend.test.loader import load_node_model_tests  # noqa: F401
            have_loader = True
        except ImportError:
            have_loader = False
        if have_loader:
            count = _write_node_tests_from_loader(tmp)
        else:
            subprocess.run([sys.executable, "-m", "onnx.backend.test.cmd_tools",
                            "generate-data", "-o", tmp], check=True)
            count = len(os.listdir(os.path.join(tmp, "node")))
        with open(os.path.join(tmp, ".complete"), "w") as f:
            f.write(stamp)
        # Swap in atomically so concurrent runs never see a half-written cache.
        if os.path.exists(cache_dir):
            old = tempfile.mkdtemp(prefix=".onnx-node-data.old.", dir=parent)
            os.rename(cache_dir, os.path.join(old, "d"))
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, cache_dir)
        except OSError:
            # Another run finished first; use its copy.
            if not os.path.exists(marker):
                raise
        log(f"[node-tests] wrote {count} node tests")
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return node_dir


def resolve_data_dir(data_dir):
    node_dir = os.path.join(data_dir, "node")
    if os.path.isdir(node_dir):
        return node_dir
    return data_dir


# ---------------------------------------------------------------------------
# Selection
# ---------------------------------------------------------------------------


class Test:
    def __init__(self, name, path):
        self.name = name
        self.path = path
        self.ops = []          # op types, in order of first use
        self.opsets = {}       # domain -> version
        self.skip = None       # why the test is not selected (unsupported ops)
        self.exclude = None    # why a selected test is excluded (types)
        self.frozen = []       # graph inputs bound as constants (axes/split)


def _unsupported_type_names():
    from onnx import TensorProto

    names = {}
    for n in UNSUPPORTED_ELEM_TYPES:
        v = getattr(TensorProto, n, None)
        if v is not None:
            names[v] = n
    return names


def _type_problem(type_proto, bad_types):
    which = type_proto.WhichOneof("value")
    if which != "tensor_type":
        return f"non-tensor type ({which})"
    t = type_proto.tensor_type.elem_type
    if t in bad_types:
        return f"element type {bad_types[t]}"
    return None


def _walk_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _walk_nodes(attr.g)
            for g in attr.graphs:
                yield from _walk_nodes(g)


def inspect(name, path, bad_types):
    import onnx

    test = Test(name, path)
    model = onnx.load_model(path, load_external_data=False)
    test.opsets = {o.domain or "": o.version for o in model.opset_import}
    unsupported = []
    for node in _walk_nodes(model.graph):
        key = node.op_type if node.domain in DEFAULT_DOMAINS else \
            f"{node.domain}.{node.op_type}"
        if key not in test.ops:
            test.ops.append(key)
        if node.domain not in DEFAULT_DOMAINS or node.op_type not in SUPPORTED_OPS:
            if key not in unsupported:
                unsupported.append(key)
    if unsupported:
        test.skip = "ops " + ",".join(unsupported)
        return test
    # The expanded DynamicQuantizeLinear tests are opset-11 function bodies
    # whose Constant, ReduceMin/Max, Min/Max, Clip... QuantOpt imports from
    # opset 13 (it refuses older ones with a message to run
    # onnx.version_converter; errors.test checks it).
    if OLD_OPSET_TESTS.search(name):
        test.skip = f"opset {test.opsets.get('', '?')} ops (QuantOpt imports them from opset 13)"
        return test
    if RUNTIME_ONLY_TESTS.search(name):  # shape/index/reduction (issue 16)
        test.skip = "ops Pad (run-time pads)"  # shape/index/reduction (issue 16)
        return test  # shape/index/reduction (issue 16)
    if not test.ops:
        test.skip = "no nodes"
        return test

    g = model.graph
    problems = []
    for v in list(g.input) + list(g.output):
        p = _type_problem(v.type, bad_types)
        if p:
            problems.append(f"{v.name}: {p}")
    for t in g.initializer:
        if t.data_type in bad_types:
            problems.append(f"{t.name}: element type {bad_types[t.data_type]}")
    for node in g.node:
        for attr in node.attribute:
            if attr.HasField("t") and attr.t.data_type in bad_types:
                problems.append(f"{node.op_type} attribute {attr.name}: "
                                f"element type {bad_types[attr.t.data_type]}")
            if node.op_type == "Cast" and attr.name == "to" and attr.i in bad_types:
                problems.append(f"Cast to {bad_types[attr.i]}")
    if RANDOM_DROPOUT_TESTS.fullmatch(name):  # elementwise (issue 16)
        problems.append("Dropout in training mode with a non-zero ratio "
                        "drops at random; QuantOpt compiles inference")
    if problems:
        test.exclude = problems[0] + (f" (+{len(problems) - 1} more)"
                                      if len(problems) > 1 else "")
    return test


def collect(node_dir, name_filter):
    bad_types = _unsupported_type_names()
    tests = []
    for name in sorted(os.listdir(node_dir)):
        path = os.path.join(node_dir, name, "model.onnx")
        if not os.path.isfile(path):
            continue
        if name_filter and not re.search(name_filter, name):
            continue
        tests.append(inspect(name, path, bad_types))
    return tests


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------


def _first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return "(no output)"


# Inputs that QuantOpt requires to be compile-time constants (axes and split
# sizes become attributes of the qnn ops). Real models carry them as
# initializers or Constant nodes; some node tests feed them as graph inputs.
CONSTANT_SLOTS = {
    ("ReduceMean", 1), ("ReduceSum", 1), ("ReduceMax", 1),
    ("Squeeze", 1), ("Unsqueeze", 1), ("Split", 1),
}
# Dropout's ratio and training_mode decide at compile time whether it is the
# identity (QuantOpt compiles inference). # elementwise (issue 16)
CONSTANT_SLOTS |= {("Dropout", 1), ("Dropout", 2)}  # elementwise (issue 16)
CONSTANT_SLOTS |= {  # shape/index/reduction (issue 16)
    (op, 1) for op in ("ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                       "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare",
                       "CumSum", "CumProd", "Tile", "Pad", "OneHot")
} | {("Pad", 3)}  # shape/index/reduction (issue 16)


def freeze_constant_inputs(test, tmp):
    """Binds graph inputs used as axes/split to the test's own input data.

    Returns the path of the model to import (the original when nothing needs
    binding) and records the bound names in test.frozen.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model(test.path, load_external_data=False)
    g = model.graph
    slots = set()
    for node in g.node:
        for i, name in enumerate(node.input):
            if (node.op_type, i) in CONSTANT_SLOTS and name:
                slots.add(name)
    inputs = [v.name for v in g.input]
    bind = [n for n in inputs if n in slots]
    if not bind:
        return test.path
    data_dir = os.path.join(os.path.dirname(test.path), "test_data_set_0")
    for name in bind:
        k = inputs.index(name)
        tensor = onnx.TensorProto()
        with open(os.path.join(data_dir, f"input_{k}.pb"), "rb") as f:
            tensor.ParseFromString(f.read())
        tensor.name = name
        g.initializer.append(tensor)
    kept = [v for v in g.input if v.name not in bind]
    del g.input[:]
    g.input.extend(kept)
    test.frozen = bind
    path = os.path.join(tmp, "frozen.onnx")
    onnx.save_model(model, path)
    return path


def run_one(test, translate, opt, timeout):
    """Returns (ok, message)."""
    with tempfile.TemporaryDirectory(prefix="qo-node-") as tmp:
        mlir = os.path.join(tmp, "model.mlir")
        model_path = freeze_constant_inputs(test, tmp)
        steps = (
            ("import", [translate, "--import-onnx", model_path, "-o", mlir]),
            ("verify", [opt, mlir, "--verify-each", "-o", os.devnull]),
            ("normalize", [opt, mlir, "--qnn-normalize", "--verify-each",
                           "-o", os.devnull]),
        )
        for step, cmd in steps:
            try:
                r = subprocess.run(cmd, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   errors="replace", timeout=timeout)
            except subprocess.TimeoutExpired:
                return False, f"{step}: timed out after {timeout}s"
            if r.returncode != 0:
                what = (f"exit {r.returncode}" if r.returncode > 0
                        else f"signal {-r.returncode}")
                return False, f"{step} ({what}): {_first_line(r.stderr or r.stdout)}"
    return True, ""


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quant-translate", help="path to quant-translate")
    parser.add_argument("--quant-opt", help="path to quant-opt")
    parser.add_argument("--data-dir",
                        help="existing node test data (DIR/node/<test>/model.onnx)")
    parser.add_argument("--cache-dir",
                        default=os.path.join(ROOT, "build", "onnx-node-data"),
                        help="where to generate the data when --data-dir is not "
                             "given (default: %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds per tool invocation (default: %(default)s)")
    parser.add_argument("--filter", help="only tests whose name matches this regex")
    parser.add_argument("--list-only", action="store_true",
                        help="print the selected tests and exit")
    parser.add_argument("--verbose", "-v", action="store_true",
                        help="also print every passing test")
    args = parser.parse_args(argv)

    if not args.list_only:
        for flag, tool in (("--quant-translate", args.quant_translate),
                           ("--quant-opt", args.quant_opt)):
            if not tool:
                parser.error(f"{flag} is required unless --list-only")
            if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
                parser.error(f"{flag}: not an executable file: {tool}")

    if args.data_dir:
        node_dir = resolve_data_dir(args.data_dir)
    else:
        node_dir = ensure_node_data(args.cache_dir)
    if not os.path.isdir(node_dir):
        log(f"[node-tests] error: no node test data in {node_dir}")
        return 2

    tests = collect(node_dir, args.filter)
    selected = [t for t in tests if t.skip is None]
    runnable = [t for t in selected if t.exclude is None]
    excluded = [t for t in selected if t.exclude is not None]
    if not tests:
        log(f"[node-tests] error: no tests found in {node_dir}")
        return 2

    if args.list_only:
        for t in selected:
            opsets = ",".join(f"{d or 'ai.onnx'}:{v}"
                              for d, v in sorted(t.opsets.items()))
            status = f"  EXCLUDED ({t.exclude})" if t.exclude else ""
            log(f"{t.name}  [{' '.join(t.ops)}]  opset {opsets}{status}")
        per_op = collections.Counter(op for t in runnable for op in set(t.ops))
        log("")
        log("tests per op (runnable):")
        for op in sorted(SUPPORTED_OPS):
            log(f"  {op:<24} {per_op.get(op, 0)}")
        log(f"node-tests: {len(runnable)} selected, {len(excluded)} excluded, "
            f"{len(tests) - len(selected)} not selected (other ops), "
            f"from {len(tests)} in {node_dir}")
        return 0

    translate = os.path.abspath(args.quant_translate)
    opt = os.path.abspath(args.quant_opt)
    log(f"[node-tests] running {len(runnable)} tests from {node_dir} "
        f"with {args.jobs} jobs")
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as ex:
        futures = {ex.submit(run_one, t, translate, opt, args.timeout): t
                   for t in runnable}
        for fut in concurrent.futures.as_completed(futures):
            t = futures[fut]
            try:
                results[t.name] = fut.result()
            except Exception as e:  # a bug here must not hide other results
                results[t.name] = (False, f"runner error: {e!r}")

    passed = [t for t in runnable if results[t.name][0]]
    failed = [t for t in runnable if not results[t.name][0]]

    op_total = collections.Counter(op for t in runnable for op in set(t.ops))
    op_pass = collections.Counter(op for t in passed for op in set(t.ops))
    log("")
    log("per-op results (tests using the op: passed/total):")
    for op in sorted(op_total):
        mark = "" if op_pass[op] == op_total[op] else "   <-- failures"
        log(f"  {op:<24} {op_pass[op]:>4}/{op_total[op]:<4}{mark}")
    missing = sorted(SUPPORTED_OPS - set(op_total))
    if missing:
        log(f"  (no runnable node tests for: {' '.join(missing)})")

    if args.verbose:
        log("")
        log("passed:")
        for t in passed:
            log(f"  PASS {t.name}")
    if excluded:
        log("")
        log("excluded:")
        for t in excluded:
            log(f"  EXCLUDED {t.name} ({t.exclude})")
    if failed:
        log("")
        log("failures:")
        for t in failed:
            log(f"  FAIL {t.name}: {results[t.name][1]}")
    frozen = [t for t in passed if t.frozen]
    if frozen:
        log("")
        log(f"{len(frozen)} passing tests feed axes/split sizes as graph inputs; "
            "they were bound to the test's data as constants (QuantOpt "
            "requires constant axes):")
        log("  " + " ".join(t.name for t in frozen))
    log("")
    log(f"node-tests: {len(passed)} passed, {len(failed)} failed, "
        f"{len(excluded)} excluded")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
