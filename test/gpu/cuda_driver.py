"""A minimal CUDA driver API binding (ctypes) for the GPU tests: load a PTX
or cubin module, allocate and copy device memory, launch a kernel, all on
the primary context of device 0. Needs only the NVIDIA driver
(libcuda.so.1) and numpy, so the kernel tests run on any GPU machine.
"""

import ctypes

import numpy as np


class CudaError(RuntimeError):
    pass


class Driver:
    def __init__(self, library="libcuda.so.1", device=0):
        self.lib = ctypes.CDLL(library)
        self._check(self.lib.cuInit(0), "cuInit")
        dev = ctypes.c_int()
        self._check(self.lib.cuDeviceGet(ctypes.byref(dev), device),
                    "cuDeviceGet")
        self.device = dev
        ctx = ctypes.c_void_p()
        self._check(self.lib.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev),
                    "cuDevicePrimaryCtxRetain")
        self._check(self.lib.cuCtxSetCurrent(ctx), "cuCtxSetCurrent")
        self.ctx = ctx
        self.lib.cuMemAlloc_v2.argtypes = [ctypes.POINTER(ctypes.c_uint64),
                                           ctypes.c_size_t]
        self.lib.cuMemcpyHtoD_v2.argtypes = [ctypes.c_uint64, ctypes.c_void_p,
                                             ctypes.c_size_t]
        self.lib.cuMemcpyDtoH_v2.argtypes = [ctypes.c_void_p, ctypes.c_uint64,
                                             ctypes.c_size_t]
        self.lib.cuMemsetD16_v2.argtypes = [ctypes.c_uint64, ctypes.c_ushort,
                                            ctypes.c_size_t]
        self.lib.cuMemFree_v2.argtypes = [ctypes.c_uint64]
        self.lib.cuModuleGetFunction.argtypes = [
            ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_char_p]
        self.lib.cuFuncSetAttribute.argtypes = [ctypes.c_void_p, ctypes.c_int,
                                                ctypes.c_int]
        self.lib.cuLaunchKernel.argtypes = [
            ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint,
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        self._allocs = []

    def _check(self, rc, what):
        if rc != 0:
            name = ctypes.c_char_p()
            try:
                self.lib.cuGetErrorName(rc, ctypes.byref(name))
            except Exception:  # noqa: BLE001
                pass
            raise CudaError(f"{what} failed: {rc} "
                            f"{name.value.decode() if name.value else ''}")

    def name(self):
        buf = ctypes.create_string_buffer(256)
        self._check(self.lib.cuDeviceGetName(buf, 256, self.device),
                    "cuDeviceGetName")
        return buf.value.decode()

    def driver_version(self):
        """The driver's CUDA version, e.g. "13.0"."""
        v = ctypes.c_int()
        self._check(self.lib.cuDriverGetVersion(ctypes.byref(v)),
                    "cuDriverGetVersion")
        return f"{v.value // 1000}.{v.value % 1000 // 10}"

    def describe(self):
        """Device, driver CUDA version and UTC date, for result headers."""
        import datetime
        now = datetime.datetime.now(datetime.timezone.utc)
        return (f"device: {self.name()}; driver CUDA "
                f"{self.driver_version()}; date: {now:%Y-%m-%d %H:%M} UTC")

    def sm_count(self):
        v = ctypes.c_int()
        # CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
        self._check(self.lib.cuDeviceGetAttribute(ctypes.byref(v), 16,
                                                  self.device),
                    "cuDeviceGetAttribute")
        return v.value

    def load(self, path):
        data = open(path, "rb").read()
        if path.endswith(".ptx") and not data.endswith(b"\0"):
            data += b"\0"
        self._image = ctypes.create_string_buffer(data, len(data))
        mod = ctypes.c_void_p()
        self._check(self.lib.cuModuleLoadData(ctypes.byref(mod), self._image),
                    "cuModuleLoadData")
        return mod

    def function(self, module, name, dynamic_smem):
        fn = ctypes.c_void_p()
        self._check(self.lib.cuModuleGetFunction(ctypes.byref(fn), module,
                                                 name.encode()),
                    f"cuModuleGetFunction({name})")
        # CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
        self._check(self.lib.cuFuncSetAttribute(fn, 8, dynamic_smem),
                    "cuFuncSetAttribute")
        return fn

    def alloc(self, nbytes):
        p = ctypes.c_uint64()
        self._check(self.lib.cuMemAlloc_v2(ctypes.byref(p), max(nbytes, 16)),
                    "cuMemAlloc")
        self._allocs.append(p.value)
        return p.value

    def put(self, array):
        a = np.ascontiguousarray(array)
        p = self.alloc(a.nbytes)
        self._check(self.lib.cuMemcpyHtoD_v2(p, a.ctypes.data, a.nbytes),
                    "cuMemcpyHtoD")
        return p

    def fill16(self, ptr, bits, count):
        self._check(self.lib.cuMemsetD16_v2(ptr, bits, count), "cuMemsetD16")

    def get(self, ptr, shape, dtype):
        out = np.empty(shape, dtype)
        self._check(self.lib.cuMemcpyDtoH_v2(out.ctypes.data, ptr, out.nbytes),
                    "cuMemcpyDtoH")
        return out

    def launch(self, fn, grid, block, args, smem, sync=True):
        """args: numpy scalars (np.uint64 pointers, np.int32 values). With
        sync=False it returns right after the launch (benchmarks time it
        with events on the same, legacy default, stream)."""
        holders = [np.array([a]) for a in args]
        params = (ctypes.c_void_p * len(holders))(
            *[h.ctypes.data for h in holders])
        self._check(self.lib.cuLaunchKernel(fn, *grid, *block, smem, None,
                                            params, None),
                    "cuLaunchKernel")
        if sync:
            self.sync()

    def sync(self):
        self._check(self.lib.cuCtxSynchronize(), "cuCtxSynchronize")

    def free_all(self):
        for p in self._allocs:
            self.lib.cuMemFree_v2(p)
        self._allocs = []


def open_device():
    """The Driver of device 0 after printing its name, or None after
    printing "SKIPPED: no CUDA device (...)" (no libcuda.so.1, no device):
    the GPU tests then exit 0."""
    try:
        drv = Driver()
        name = drv.name()
    except (OSError, CudaError) as e:
        print(f"SKIPPED: no CUDA device ({e})")
        return None
    print(f"device: {name}")
    return drv
