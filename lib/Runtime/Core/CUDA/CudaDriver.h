//===- CudaDriver.h - The dynamically loaded CUDA driver --------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// libcuda.so.1 (or $QUANTOPT_CUDA_LIBRARY) is dlopen'ed when the first CUDA
// bundle is loaded, never before, so that CPU-only hosts need no CUDA at
// all. Its functions are resolved with cuGetProcAddress at the CUDA 12.0
// ABI; cuda.h is used for types and constants only. The device is
// $QUANTOPT_CUDA_DEVICE (default 0). Private to libquantrt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDADRIVER_H
#define QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDADRIVER_H

#include "quantopt-c/Runtime.h"

#include <cuda.h>

#include <atomic>
#include <mutex>
#include <string>

namespace quantopt::runtime::cuda {

/// Every driver function the runtime calls. Each is resolved by its base
/// name at the CUDA 12.0 ABI, and typed after its declaration in cuda.h
/// (whose macros name the versioned symbol, e.g. cuMemAlloc_v2).
#define QRT_CUDA_FUNCTIONS(X)                                                  \
  X(cuGetErrorName)                                                            \
  X(cuGetErrorString)                                                          \
  X(cuInit)                                                                    \
  X(cuDriverGetVersion)                                                        \
  X(cuDeviceGetCount)                                                          \
  X(cuDeviceGet)                                                               \
  X(cuDeviceGetName)                                                           \
  X(cuDeviceGetAttribute)                                                      \
  X(cuDevicePrimaryCtxRetain)                                                  \
  X(cuDevicePrimaryCtxRelease)                                                 \
  X(cuCtxPushCurrent)                                                          \
  X(cuCtxPopCurrent)                                                           \
  X(cuMemAlloc)                                                                \
  X(cuMemAllocManaged)                                                         \
  X(cuMemFree)                                                                 \
  X(cuMemAllocAsync)                                                           \
  X(cuDeviceGetDefaultMemPool)                                                 \
  X(cuMemPoolSetAttribute)                                                     \
  X(cuMemFreeAsync)                                                            \
  X(cuMemcpyHtoD)                                                              \
  X(cuMemcpyHtoDAsync)                                                         \
  X(cuMemcpyDtoHAsync)                                                         \
  X(cuMemcpyAsync)                                                             \
  X(cuMemsetD32Async)                                                          \
  X(cuMemsetD16Async)                                                          \
  X(cuStreamCreate)                                                            \
  X(cuStreamDestroy)                                                           \
  X(cuStreamSynchronize)                                                       \
  X(cuStreamIsCapturing)                                                       \
  X(cuStreamBeginCapture)                                                      \
  X(cuStreamEndCapture)                                                        \
  X(cuEventCreate)                                                             \
  X(cuEventDestroy)                                                            \
  X(cuEventRecord)                                                             \
  X(cuEventElapsedTime)                                                        \
  X(cuModuleLoadData)                                                          \
  X(cuModuleLoadDataEx)                                                        \
  X(cuModuleUnload)                                                            \
  X(cuModuleGetFunction)                                                       \
  X(cuFuncSetAttribute)                                                        \
  X(cuLaunchKernel)                                                            \
  X(cuLaunchKernelEx)                                                          \
  X(cuGraphInstantiateWithFlags)                                               \
  X(cuGraphLaunch)                                                             \
  X(cuGraphExecDestroy)                                                        \
  X(cuGraphDestroy)

struct DriverApi {
#define QRT_DECLARE(name) decltype(&::name) p_##name = nullptr;
  QRT_CUDA_FUNCTIONS(QRT_DECLARE)
#undef QRT_DECLARE
};

/// Why the driver or the device cannot be used, and what to do about it.
struct DriverError {
  qrt_status status = QRT_ERROR_UNSUPPORTED_DEVICE;
  std::string reason;
  std::string fix;
};

/// The process-wide driver. Never destroyed: native code may call the mgpu*
/// functions from its global destructors at exit.
struct Driver {
  std::mutex mutex;
  std::atomic<bool> ready{false};
  void *library = nullptr;
  std::string libraryName;
  int version = 0;
  DriverApi api;
};

Driver &theDriver();

/// The driver's functions once it is loaded and initialized, else null.
const DriverApi *driverApi();

/// Loads and initializes the driver once per process.
bool loadDriver(DriverError &error);

/// The device CUDA bundles run on.
struct DeviceInfo {
  int ordinal = 0;
  CUdevice device = 0;
  std::string name;
  int major = 0, minor = 0;

  int capability() const { return major * 10 + minor; }
  std::string chip() const { return "sm_" + std::to_string(capability()); }
  /// "device 0 (NVIDIA H100)".
  std::string describe() const {
    return "device " + std::to_string(ordinal) + " (" + name + ")";
  }
};

/// Opens device $QUANTOPT_CUDA_DEVICE (default 0) of the loaded driver.
bool openDevice(DeviceInfo &info, DriverError &error);

} // namespace quantopt::runtime::cuda

#endif // QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDADRIVER_H
