"""Runs QuantOpt bundles from Python: a thin ctypes wrapper over libquantrt.

    from quantopt.runtime import Bundle, benchmark_stats
    with Bundle("model.qob") as model:
        outputs = model.run(x=np.zeros((2, 64), np.float32))   # dict
        times_ms = model.benchmark({"x": x}, iterations=100)   # numpy array
        print(benchmark_stats(times_ms)["median_ms"])

CUDA bundles (model.device == "cuda") take and return the same numpy arrays;
they need the NVIDIA driver and run on GPU $QUANTOPT_CUDA_DEVICE (default 0).
model.set_cuda_graph(True) replays a captured CUDA graph; their benchmark
times are CUDA event times (see docs/Runtime.md).

libquantrt.so is found through the `library` argument, else the
QUANTOPT_RUNTIME_LIB environment variable. It is loaded with RTLD_GLOBAL:
the native code of a bundle resolves its kernel calls (qk_*) against it.

Errors of the C API are raised as QuantOptError, whose message is the
runtime's (naming the bundle, the input or field, and what to do) and whose
`status` is the C status name ("QRT_ERROR_INPUT", ...).
"""

import ctypes
import json
import os

import numpy as np

__all__ = ["Bundle", "QuantOptError", "TensorInfo", "load_library",
           "set_num_threads", "tune_allocator", "kernel_isa",
           "cuda_device_name",
           "benchmark_stats"]

# qrt_dtype values, in the order of include/quantopt-c/Runtime.h.
_DTYPES = [np.float32, np.float16, np.int8, np.uint8, np.int16, np.uint16,
           np.int32, np.int64, np.uint32, np.uint64, np.bool_, np.float64]
_DTYPE_CODES = {np.dtype(t): code for code, t in enumerate(_DTYPES)}


class QuantOptError(RuntimeError):
    """A failure reported by libquantrt."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class _TensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int),
                ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p))]


class _Tensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int), ("rank", ctypes.c_int64),
                ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("data", ctypes.c_void_p)]


class GenerateOptions(ctypes.Structure):
    """qrt_generate_options of include/quantopt-c/Runtime.h."""
    _fields_ = [("max_new_tokens", ctypes.c_int64),
                ("temperature", ctypes.c_double),
                ("top_k", ctypes.c_int64), ("top_p", ctypes.c_double),
                ("seed", ctypes.c_uint64),
                ("eos_ids", ctypes.POINTER(ctypes.c_int64)),
                ("num_eos_ids", ctypes.c_int64)]


class GenerateStats(ctypes.Structure):
    """qrt_generate_stats of include/quantopt-c/Runtime.h."""
    _fields_ = [("prompt_tokens", ctypes.c_int64),
                ("generated_tokens", ctypes.c_int64),
                ("prefill_ms", ctypes.c_double),
                ("decode_ms", ctypes.c_double),
                ("decode_steps", ctypes.c_int64),
                ("sample_ms", ctypes.c_double),
                ("uses_kv_cache", ctypes.c_int32),
                ("stop_reason", ctypes.c_int32)]


# qrt_token_callback: int32_t (*)(void *user_data, int64_t token).
TOKEN_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p,
                                  ctypes.c_int64)


class TensorInfo:
    """An input or output of a bundle: name, numpy dtype, shape (-1 for a
    dynamic dim) and dim names (None where unnamed)."""

    def __init__(self, name, dtype, shape, dims):
        self.name, self.dtype, self.shape, self.dims = name, dtype, shape, dims

    def __repr__(self):
        return (f"TensorInfo(name={self.name!r}, dtype={self.dtype}, "
                f"shape={self.shape}, dims={self.dims})")


_libraries = {}


def load_library(path=None):
    """Loads libquantrt (once per path) and declares its functions."""
    path = path or os.environ.get("QUANTOPT_RUNTIME_LIB")
    if not path:
        raise QuantOptError(
            "QRT_ERROR_IO",
            "libquantrt not found: pass library=/path/to/libquantrt.so or "
            "set QUANTOPT_RUNTIME_LIB")
    path = os.path.abspath(path)
    if path in _libraries:
        return _libraries[path]
    try:
        lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    except OSError as e:
        raise QuantOptError("QRT_ERROR_IO",
                            f"{path}: cannot load libquantrt ({e}); check "
                            f"the path or QUANTOPT_RUNTIME_LIB") from None
    c_int64_p = ctypes.POINTER(ctypes.c_int64)
    signatures = {
        "qrt_last_error": (ctypes.c_char_p, []),
        "qrt_status_name": (ctypes.c_char_p, [ctypes.c_int]),
        "qrt_api_version": (ctypes.c_int32, []),
        "qrt_bundle_load": (ctypes.c_int,
                            [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]),
        "qrt_bundle_free": (None, [ctypes.c_void_p]),
        "qrt_bundle_manifest": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(ctypes.c_size_t)]),
        "qrt_bundle_num_inputs": (ctypes.c_int, [ctypes.c_void_p, c_int64_p]),
        "qrt_bundle_num_outputs": (ctypes.c_int, [ctypes.c_void_p, c_int64_p]),
        "qrt_bundle_input_info": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(_TensorInfo)]),
        "qrt_bundle_output_info": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(_TensorInfo)]),
        "qrt_bundle_run": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(_Tensor), ctypes.c_int64,
            ctypes.POINTER(ctypes.c_void_p)]),
        "qrt_result_free": (None, [ctypes.c_void_p]),
        "qrt_result_num_outputs": (ctypes.c_int, [ctypes.c_void_p, c_int64_p]),
        "qrt_result_output": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p),
            ctypes.POINTER(_Tensor)]),
        "qrt_set_num_threads": (ctypes.c_int, [ctypes.c_int32]),
        "qrt_kernel_isa": (ctypes.c_char_p, []),
        "qrt_bundle_device": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_int)]),
        "qrt_bundle_set_cuda_graph": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.c_int32]),
        "qrt_bundle_benchmark": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(_Tensor), ctypes.c_int64,
            ctypes.c_int32, ctypes.c_int32, ctypes.c_int32,
            ctypes.POINTER(ctypes.c_double)]),
        "qrt_cuda_device_name": (ctypes.c_int, [
            ctypes.c_char_p, ctypes.c_size_t]),
        "qrt_tune_allocator": (ctypes.c_int, []),
        "qrt_generate_options_init": (None, [
            ctypes.POINTER(GenerateOptions)]),
        "qrt_generator_create": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(GenerateOptions),
            ctypes.POINTER(ctypes.c_void_p)]),
        "qrt_generator_free": (None, [ctypes.c_void_p]),
        "qrt_generator_prefill": (ctypes.c_int, [
            ctypes.c_void_p, c_int64_p, ctypes.c_int64, c_int64_p]),
        "qrt_generator_step": (ctypes.c_int, [ctypes.c_void_p, c_int64_p]),
        "qrt_generator_generate": (ctypes.c_int, [
            ctypes.c_void_p, c_int64_p, ctypes.c_int64, TOKEN_CALLBACK,
            ctypes.c_void_p, c_int64_p, ctypes.c_int64, c_int64_p]),
        "qrt_generator_stats": (ctypes.c_int, [
            ctypes.c_void_p, ctypes.POINTER(GenerateStats)]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    _libraries[path] = lib
    return lib


def _check(lib, status):
    if status != 0:
        raise QuantOptError(lib.qrt_status_name(status).decode(),
                            lib.qrt_last_error().decode())


def set_num_threads(n, library=None):
    """Thread count of the kernels, for every bundle of the process."""
    lib = load_library(library)
    _check(lib, lib.qrt_set_num_threads(int(n)))


def tune_allocator(library=None):
    """Opt-in, process-wide: tunes glibc's malloc for the generated code's
    per-run allocations (qrt_tune_allocator). Loading a bundle never does
    this; call it once if the process is yours to tune (benchmarks, CLIs).
    Raises QuantOptError where the C library is not glibc."""
    lib = load_library(library)
    _check(lib, lib.qrt_tune_allocator())


def kernel_isa(library=None):
    """The kernel code path on this host: "avx512vnni", "avx2", "scalar"
    (or "none" if the runtime was built without kernels)."""
    return load_library(library).qrt_kernel_isa().decode()


def cuda_device_name(library=None):
    """The name of the GPU CUDA bundles run on ($QUANTOPT_CUDA_DEVICE,
    default 0). Raises QuantOptError (status QRT_ERROR_UNSUPPORTED_DEVICE,
    with the reason) when there is no usable CUDA driver or device."""
    lib = load_library(library)
    buffer = ctypes.create_string_buffer(256)
    _check(lib, lib.qrt_cuda_device_name(buffer, len(buffer)))
    return buffer.value.decode()


def benchmark_stats(times_ms):
    """Statistics of Bundle.benchmark's times, in milliseconds."""
    ms = np.asarray(times_ms, dtype=np.float64)
    total = float(ms.sum()) / 1e3
    return {"iterations": len(ms), "total_s": total,
            "median_ms": float(np.median(ms)), "mean_ms": float(ms.mean()),
            "p10_ms": float(np.percentile(ms, 10)),
            "p90_ms": float(np.percentile(ms, 90)),
            "p99_ms": float(np.percentile(ms, 99)),
            "min_ms": float(ms.min()), "max_ms": float(ms.max()),
            "throughput_per_s": len(ms) / total if total > 0 else
            float("inf")}


def _info(raw):
    rank = raw.rank
    return TensorInfo(
        raw.name.decode(), np.dtype(_DTYPES[raw.dtype]),
        tuple(raw.shape[i] for i in range(rank)),
        tuple(None if raw.dim_names[i] is None else raw.dim_names[i].decode()
              for i in range(rank)))


class _OwnedHandle:
    """A C handle freed by `_FREE` (the name of a qrt_*_free function) on
    close, on leaving a `with` block, or when collected."""

    _FREE = None
    _handle = None

    def close(self):
        if self._handle:
            getattr(self._lib, self._FREE)(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class Bundle(_OwnedHandle):
    """A loaded, validated bundle. Loading checks everything (checksums,
    manifest, CPU features) and raises QuantOptError on any problem."""

    _FREE = "qrt_bundle_free"

    def __init__(self, path, library=None):
        self._handle = None
        self._lib = load_library(library)
        self.path = os.fspath(path)
        handle = ctypes.c_void_p()
        _check(self._lib,
               self._lib.qrt_bundle_load(self.path.encode(),
                                         ctypes.byref(handle)))
        self._handle = handle
        text, size = ctypes.c_char_p(), ctypes.c_size_t()
        _check(self._lib, self._lib.qrt_bundle_manifest(
            handle, ctypes.byref(text), ctypes.byref(size)))
        self.manifest = json.loads(ctypes.string_at(text, size.value))
        self.inputs = self._infos(self._lib.qrt_bundle_num_inputs,
                                  self._lib.qrt_bundle_input_info)
        self.outputs = self._infos(self._lib.qrt_bundle_num_outputs,
                                   self._lib.qrt_bundle_output_info)
        device = ctypes.c_int()
        _check(self._lib, self._lib.qrt_bundle_device(
            handle, ctypes.byref(device)))
        self._device = "cuda" if device.value == 1 else "cpu"

    @property
    def device(self):
        """Where the bundle runs: "cpu" or "cuda"."""
        return self._device

    def set_cuda_graph(self, enable=True):
        """CUDA bundles: capture the model into a CUDA graph once per set of
        input shapes and replay it (raises QuantOptError for a CPU
        bundle)."""
        self._require_open()
        _check(self._lib, self._lib.qrt_bundle_set_cuda_graph(
            self._handle, 1 if enable else 0))

    def _infos(self, count_fn, info_fn):
        count = ctypes.c_int64()
        _check(self._lib, count_fn(self._handle, ctypes.byref(count)))
        infos = []
        for i in range(count.value):
            raw = _TensorInfo()
            _check(self._lib, info_fn(self._handle, i, ctypes.byref(raw)))
            infos.append(_info(raw))
        return infos

    def _prepare(self, args, kwargs):
        """Input arrays in manifest order, and the C tensors over them."""
        if len(args) == 1 and isinstance(args[0], dict) and not kwargs:
            kwargs, args = args[0], ()
        names = [info.name for info in self.inputs]
        arrays = list(args) + [None] * (len(names) - len(args))
        if len(args) > len(names):
            raise QuantOptError(
                "QRT_ERROR_INPUT",
                f"{self.path}: {len(args)} inputs given, the model has "
                f"{len(names)} ({', '.join(names)})")
        for name, value in kwargs.items():
            if name not in names:
                raise QuantOptError(
                    "QRT_ERROR_INPUT",
                    f"{self.path}: the model has no input named '{name}'; "
                    f"its inputs are {', '.join(names)}")
            index = names.index(name)
            if arrays[index] is not None:
                raise QuantOptError(
                    "QRT_ERROR_INPUT",
                    f"{self.path}: input '{name}' is given twice")
            arrays[index] = value
        tensors = (_Tensor * max(len(names), 1))()
        keep = []
        for i, (info, value) in enumerate(zip(self.inputs, arrays)):
            if value is None:
                raise QuantOptError(
                    "QRT_ERROR_INPUT",
                    f"{self.path}: no array given for input '{info.name}' "
                    f"({info.dtype} {list(info.shape)})")
            array = np.asarray(value, order="C")  # keeps 0-d arrays 0-d
            code = _DTYPE_CODES.get(array.dtype)
            if code is None:
                raise QuantOptError(
                    "QRT_ERROR_INPUT",
                    f"{self.path}: input '{info.name}': dtype {array.dtype} "
                    f"is not supported, expected {info.dtype}; convert it "
                    f"with .astype(np.{info.dtype})")
            shape = (ctypes.c_int64 * max(array.ndim, 1))(*array.shape)
            keep += [array, shape]
            tensors[i].dtype = code
            tensors[i].rank = array.ndim
            tensors[i].shape = shape
            tensors[i].data = array.ctypes.data
        return tensors, len(names), keep

    def _require_open(self):
        if not self._handle:
            raise QuantOptError("QRT_ERROR_INVALID_ARGUMENT",
                                f"{self.path}: the bundle is closed")

    def _run_raw(self, tensors, count):
        self._require_open()
        result = ctypes.c_void_p()
        _check(self._lib, self._lib.qrt_bundle_run(
            self._handle, tensors, count, ctypes.byref(result)))
        return result

    def run(self, *args, **kwargs):
        """Runs the model on numpy arrays given in manifest order, by name,
        or as one dict; returns {output name: numpy array} (copies)."""
        tensors, count, keep = self._prepare(args, kwargs)
        result = self._run_raw(tensors, count)
        try:
            n = ctypes.c_int64()
            _check(self._lib, self._lib.qrt_result_num_outputs(
                result, ctypes.byref(n)))
            outputs = {}
            for i in range(n.value):
                name, tensor = ctypes.c_char_p(), _Tensor()
                _check(self._lib, self._lib.qrt_result_output(
                    result, i, ctypes.byref(name), ctypes.byref(tensor)))
                dtype = np.dtype(_DTYPES[tensor.dtype])
                shape = tuple(tensor.shape[d] for d in range(tensor.rank))
                # One copy, straight into the array the caller gets.
                array = np.empty(shape, dtype=dtype)
                if array.nbytes:
                    ctypes.memmove(array.ctypes.data, tensor.data,
                                   array.nbytes)
                outputs[name.value.decode()] = array
            return outputs
        finally:
            self._lib.qrt_result_free(result)
            del keep

    __call__ = run

    def benchmark(self, inputs, warmup=5, iterations=20, flush_l2=True):
        """Times `iterations` runs after `warmup` untimed ones and returns
        their times in milliseconds (a numpy array; benchmark_stats()
        summarizes it). `inputs`: a dict by name or a sequence in manifest
        order. CPU bundles: wall-clock time of each run. CUDA bundles: CUDA
        event times, inputs staged on the GPU once, the L2 cache flushed
        before each run if `flush_l2`, CUDA graphs replayed if on."""
        if isinstance(inputs, dict):
            tensors, count, keep = self._prepare((), inputs)
        else:
            tensors, count, keep = self._prepare(tuple(inputs), {})
        self._require_open()
        iterations = int(iterations)
        if iterations < 1 or int(warmup) < 0:
            raise QuantOptError(
                "QRT_ERROR_INVALID_ARGUMENT",
                f"{self.path}: benchmark needs iterations >= 1 and "
                f"warmup >= 0 (got {iterations} and {warmup})")
        times = (ctypes.c_double * iterations)()
        try:
            _check(self._lib, self._lib.qrt_bundle_benchmark(
                self._handle, tensors, count, int(warmup), iterations,
                1 if flush_l2 else 0, times))
        finally:
            del keep
        return np.array(times[:], dtype=np.float64)
