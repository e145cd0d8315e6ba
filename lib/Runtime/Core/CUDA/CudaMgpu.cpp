//===- CudaMgpu.cpp - The GPU runtime calls of generated code -------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The mgpu* functions the native code of a CUDA bundle calls, defined and
// exported by libquantrt. The signatures are those MLIR 22's gpu-to-llvm
// lowering declares (see docs/Runtime.md), but they are not MLIR's CUDA
// runtime wrappers: every mgpuStreamCreate returns the run's stream (a
// thread-local set around each run), so all the model's GPU work is ordered
// on one stream, events are unnecessary and stream capture sees everything;
// allocations are stream ordered (capturable into CUDA graphs); a launch
// with more than 48 KiB of dynamic shared memory raises the function's
// limit once; and no call aborts: each records its first CUDA error in the
// thread's call state (CudaStatus.h) for the runtime to report.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "CudaStatus.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <cstring>
#include <mutex>

using namespace llvm;
using namespace quantopt::runtime::cuda;

/// The GPU runtime calls are part of libquantrt's exported ABI.
#define QRT_MGPU_API extern "C" __attribute__((visibility("default")))

namespace {

/// The dynamic shared memory limit raised for each function, so that it is
/// raised once. Cleared when a module is unloaded (function handles may
/// then be reused).
struct SharedMemoryLimits {
  std::mutex mutex;
  DenseMap<CUfunction, int32_t> limits;
};

SharedMemoryLimits &sharedMemoryLimits() {
  static SharedMemoryLimits *limits = new SharedMemoryLimits;
  return *limits;
}

/// Allocations made with mgpuMemAlloc(host_shared): managed memory, which
/// cuMemFreeAsync cannot free.
struct ManagedAllocations {
  std::mutex mutex;
  DenseSet<void *> pointers;
};

ManagedAllocations &managedAllocations() {
  static ManagedAllocations *allocations = new ManagedAllocations;
  return *allocations;
}

/// The default dynamic shared memory limit of a launch.
constexpr int32_t kDefaultSharedMemory = 48 * 1024;

/// The driver for an mgpu* call; records an error if it is not loaded (the
/// native code was loaded by something other than libquantrt's loader).
const DriverApi *callApi(const char *call) {
  const DriverApi *api = driverApi();
  if (!api && callState.code == CUDA_SUCCESS) {
    callState.code = CUDA_ERROR_NOT_INITIALIZED;
    callState.error = std::string(call) +
                      " failed: the CUDA driver is not loaded (load the "
                      "bundle with qrt_bundle_load)";
  }
  return api;
}

} // namespace

QRT_MGPU_API void *mgpuModuleLoad(void *data, size_t /*size*/) {
  const DriverApi *api = callApi("mgpuModuleLoad");
  CUmodule module = nullptr;
  if (api && !check(api->p_cuModuleLoadData(&module, data), "cuModuleLoadData"))
    module = nullptr;
  return module;
}

QRT_MGPU_API void *mgpuModuleLoadJIT(void *data, int optLevel) {
  const DriverApi *api = callApi("mgpuModuleLoadJIT");
  if (!api)
    return nullptr;
  char log[4096] = {0};
  CUjit_option options[] = {CU_JIT_OPTIMIZATION_LEVEL, CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {reinterpret_cast<void *>(static_cast<intptr_t>(optLevel)),
                    log, reinterpret_cast<void *>(sizeof(log) - 1)};
  CUmodule module = nullptr;
  if (!check(api->p_cuModuleLoadDataEx(&module, data, 3, options, values),
             "cuModuleLoadDataEx (PTX)",
             log[0] ? std::string(": ") + log : std::string()))
    module = nullptr;
  return module;
}

QRT_MGPU_API void mgpuModuleUnload(void *module) {
  const DriverApi *api = driverApi();
  if (!api || !module)
    return;
  {
    SharedMemoryLimits &limits = sharedMemoryLimits();
    std::lock_guard<std::mutex> lock(limits.mutex);
    limits.limits.clear();
  }
  api->p_cuModuleUnload(static_cast<CUmodule>(module));
}

QRT_MGPU_API void *mgpuModuleGetFunction(void *module, const char *name) {
  const DriverApi *api = callApi("mgpuModuleGetFunction");
  if (!api)
    return nullptr;
  if (!module) {
    check(CUDA_ERROR_INVALID_HANDLE, "mgpuModuleGetFunction",
          std::string(": the GPU module of kernel '") + name +
              "' is not loaded");
    return nullptr;
  }
  CUfunction function = nullptr;
  if (!check(api->p_cuModuleGetFunction(&function,
                                        static_cast<CUmodule>(module), name),
             "cuModuleGetFunction", std::string(" for kernel '") + name + "'"))
    return nullptr;
  return function;
}

namespace {

/// Raises the dynamic shared memory limit of `function` to `bytes` once.
bool allowSharedMemory(const DriverApi &api, CUfunction function,
                       int32_t bytes) {
  if (bytes <= kDefaultSharedMemory)
    return true;
  SharedMemoryLimits &limits = sharedMemoryLimits();
  std::lock_guard<std::mutex> lock(limits.mutex);
  int32_t &limit = limits.limits[function];
  if (limit >= bytes)
    return true;
  if (!check(
          api.p_cuFuncSetAttribute(
              function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
          "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)",
          " for " + std::to_string(bytes) + " bytes"))
    return false;
  limit = bytes;
  return true;
}

} // namespace

QRT_MGPU_API void mgpuLaunchKernel(void *function, intptr_t gridX,
                                   intptr_t gridY, intptr_t gridZ,
                                   intptr_t blockX, intptr_t blockY,
                                   intptr_t blockZ, int32_t sharedMemory,
                                   void *stream, void **params, void **extra,
                                   size_t /*paramsCount*/) {
  const DriverApi *api = callApi("mgpuLaunchKernel");
  if (!api || !function)
    return;
  auto f = static_cast<CUfunction>(function);
  if (!allowSharedMemory(*api, f, sharedMemory))
    return;
  check(api->p_cuLaunchKernel(f, gridX, gridY, gridZ, blockX, blockY, blockZ,
                              sharedMemory, static_cast<CUstream>(stream),
                              params, extra),
        "cuLaunchKernel");
}

QRT_MGPU_API void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                                          intptr_t clusterY, intptr_t clusterZ,
                                          intptr_t gridX, intptr_t gridY,
                                          intptr_t gridZ, intptr_t blockX,
                                          intptr_t blockY, intptr_t blockZ,
                                          int32_t sharedMemory, void *stream,
                                          void **params, void **extra) {
  const DriverApi *api = callApi("mgpuLaunchClusterKernel");
  if (!api || !function)
    return;
  auto f = static_cast<CUfunction>(function);
  if (!allowSharedMemory(*api, f, sharedMemory))
    return;
  CUlaunchAttribute cluster;
  std::memset(&cluster, 0, sizeof(cluster));
  cluster.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  cluster.value.clusterDim.x = clusterX;
  cluster.value.clusterDim.y = clusterY;
  cluster.value.clusterDim.z = clusterZ;
  CUlaunchConfig config;
  std::memset(&config, 0, sizeof(config));
  config.gridDimX = gridX;
  config.gridDimY = gridY;
  config.gridDimZ = gridZ;
  config.blockDimX = blockX;
  config.blockDimY = blockY;
  config.blockDimZ = blockZ;
  config.sharedMemBytes = sharedMemory;
  config.hStream = static_cast<CUstream>(stream);
  config.attrs = &cluster;
  config.numAttrs = 1;
  check(api->p_cuLaunchKernelEx(&config, f, params, extra), "cuLaunchKernelEx");
}

/// Every stream of the model is the run's stream.
QRT_MGPU_API void *mgpuStreamCreate() { return callState.stream; }

QRT_MGPU_API void mgpuStreamDestroy(void * /*stream*/) {}

QRT_MGPU_API void mgpuStreamSynchronize(void *stream) {
  const DriverApi *api = callApi("mgpuStreamSynchronize");
  if (!api || callState.deferSynchronize)
    return;
  auto s = static_cast<CUstream>(stream);
  CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
  if (!check(api->p_cuStreamIsCapturing(s, &status), "cuStreamIsCapturing") ||
      status != CU_STREAM_CAPTURE_STATUS_NONE)
    return;
  check(api->p_cuStreamSynchronize(s), "cuStreamSynchronize");
}

// Events order work between streams. The model has one stream, so an event
// is only a token: recording and waiting are no-ops, and synchronizing on
// one synchronizes the run's stream.
namespace {
char eventToken;
} // namespace

QRT_MGPU_API void *mgpuEventCreate() { return &eventToken; }

QRT_MGPU_API void mgpuEventDestroy(void * /*event*/) {}

QRT_MGPU_API void mgpuEventRecord(void * /*event*/, void * /*stream*/) {}

QRT_MGPU_API void mgpuStreamWaitEvent(void * /*stream*/, void * /*event*/) {}

QRT_MGPU_API void mgpuEventSynchronize(void * /*event*/) {
  mgpuStreamSynchronize(callState.stream);
}

QRT_MGPU_API void *mgpuMemAlloc(uint64_t bytes, void *stream,
                                bool isHostShared) {
  const DriverApi *api = callApi("mgpuMemAlloc");
  if (!api || bytes == 0)
    return nullptr;
  CUdeviceptr pointer = 0;
  if (isHostShared) {
    if (!check(api->p_cuMemAllocManaged(&pointer, bytes, CU_MEM_ATTACH_GLOBAL),
               "cuMemAllocManaged", " of " + std::to_string(bytes) + " bytes"))
      return nullptr;
    ManagedAllocations &managed = managedAllocations();
    std::lock_guard<std::mutex> lock(managed.mutex);
    managed.pointers.insert(reinterpret_cast<void *>(pointer));
    return reinterpret_cast<void *>(pointer);
  }
  if (!check(api->p_cuMemAllocAsync(&pointer, bytes,
                                    static_cast<CUstream>(stream)),
             "cuMemAllocAsync", " of " + std::to_string(bytes) + " bytes"))
    return nullptr;
  return reinterpret_cast<void *>(pointer);
}

QRT_MGPU_API void mgpuMemFree(void *pointer, void *stream) {
  const DriverApi *api = callApi("mgpuMemFree");
  if (!api || !pointer)
    return;
  {
    ManagedAllocations &managed = managedAllocations();
    std::lock_guard<std::mutex> lock(managed.mutex);
    if (managed.pointers.erase(pointer)) {
      mgpuStreamSynchronize(stream);
      check(api->p_cuMemFree(reinterpret_cast<CUdeviceptr>(pointer)),
            "cuMemFree");
      return;
    }
  }
  check(api->p_cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(pointer),
                              static_cast<CUstream>(stream)),
        "cuMemFreeAsync");
}

QRT_MGPU_API void mgpuMemcpy(void *destination, void *source, size_t bytes,
                             void *stream) {
  const DriverApi *api = callApi("mgpuMemcpy");
  if (!api || bytes == 0)
    return;
  check(api->p_cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(destination),
                             reinterpret_cast<CUdeviceptr>(source), bytes,
                             static_cast<CUstream>(stream)),
        "cuMemcpyAsync");
}

QRT_MGPU_API void mgpuMemset32(void *destination, unsigned int value,
                               size_t count, void *stream) {
  const DriverApi *api = callApi("mgpuMemset32");
  if (!api || count == 0)
    return;
  check(api->p_cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(destination),
                                value, count, static_cast<CUstream>(stream)),
        "cuMemsetD32Async");
}

QRT_MGPU_API void mgpuMemset16(void *destination, unsigned short value,
                               size_t count, void *stream) {
  const DriverApi *api = callApi("mgpuMemset16");
  if (!api || count == 0)
    return;
  check(api->p_cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(destination),
                                value, count, static_cast<CUstream>(stream)),
        "cuMemsetD16Async");
}

/// The runtime picks the device ($QUANTOPT_CUDA_DEVICE) before the code
/// runs, so the code's own choice is ignored.
QRT_MGPU_API void mgpuSetDefaultDevice(int32_t /*device*/) {}
