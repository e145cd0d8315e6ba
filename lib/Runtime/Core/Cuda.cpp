//===- Cuda.cpp - CUDA bundles: driver, device memory, GPU runtime calls --===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The CUDA execution path of libquantrt (docs/Runtime.md):
//
//  - The driver. libcuda.so.1 (or $QUANTOPT_CUDA_LIBRARY) is dlopen'ed when
//    the first CUDA bundle is loaded, never before, so that CPU-only hosts
//    need no CUDA at all. Its functions are resolved with cuGetProcAddress
//    at the CUDA 12.0 ABI; cuda.h is used for types and constants only. The
//    device is $QUANTOPT_CUDA_DEVICE (default 0), used through its primary
//    context so that PyTorch or cuBLAS in the same process share it.
//
//  - A bundle. Its weights are copied to device memory once, at load; it
//    owns a non-blocking stream; its native code (x86-64 host code from
//    MLIR's gpu-to-llvm lowering) is dlopen'ed with the context current,
//    because its global constructor loads the GPU module.
//
//  - The GPU runtime calls (mgpu*) the native code makes, defined and
//    exported here. They are not MLIR's CUDA runtime wrappers: every
//    mgpuStreamCreate returns the run's stream (a thread-local set around
//    each run), so all the model's GPU work is ordered on one stream, events
//    are unnecessary and stream capture sees everything; allocations are
//    stream ordered (capturable into CUDA graphs); a launch with more than
//    48 KiB of dynamic shared memory raises the function's limit once; and
//    no call aborts: the first CUDA error of a load or run is recorded (the
//    call and the CUresult name) and reported by the runtime afterwards.
//
//  - A run. Inputs are copied to the device on the stream, the entry is
//    called on device descriptors (or its CUDA graph is replayed), outputs
//    are copied back into host buffers, every device buffer of the run is
//    freed, then the stream is synchronized and any recorded error
//    reported. Runs of one bundle are serialized by its mutex.
//
//===----------------------------------------------------------------------===//

#include "RuntimeImpl.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;

#if QUANTOPT_HAVE_CUDA_H

#include <cuda.h>

/// The GPU runtime calls are part of libquantrt's exported ABI.
#define QRT_MGPU_API extern "C" __attribute__((visibility("default")))

namespace {

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

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

/// The ABI the functions are requested at: drivers of CUDA 12.0 and newer.
constexpr int kCudaAbiVersion = 12000;

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

Driver &theDriver() {
  static Driver *driver = new Driver;
  return *driver;
}

/// The driver's functions once it is loaded and initialized, else null.
const DriverApi *driverApi() {
  Driver &driver = theDriver();
  return driver.ready.load(std::memory_order_acquire) ? &driver.api : nullptr;
}

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string describe(const DriverApi &api, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (api.p_cuGetErrorName)
    api.p_cuGetErrorName(result, &name);
  if (api.p_cuGetErrorString)
    api.p_cuGetErrorString(result, &text);
  if (!name && result == CUDA_ERROR_STUB_LIBRARY)
    name = "CUDA_ERROR_STUB_LIBRARY";
  std::string out = name ? name : "CUresult " + std::to_string(result);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

/// Loads and initializes the driver once per process.
bool loadDriver(DriverError &error) {
  Driver &driver = theDriver();
  std::lock_guard<std::mutex> lock(driver.mutex);
  if (driver.ready)
    return true;
  const char *override = std::getenv("QUANTOPT_CUDA_LIBRARY");
  std::string name = override && *override ? override : "libcuda.so.1";
  if (!driver.library) {
    driver.library = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!driver.library) {
      const char *message = ::dlerror();
      error.reason = "the CUDA driver library " + name +
                     " could not be loaded: " +
                     (message ? message : "unknown dlopen error");
      error.fix = "run it on a machine with the NVIDIA driver (or set "
                  "QUANTOPT_CUDA_LIBRARY to libcuda.so.1's path), or compile "
                  "the model for the CPU";
      return false;
    }
    driver.libraryName = name;
  }
  using GetProcAddress = CUresult (*)(const char *, void **, int, cuuint64_t,
                                      CUdriverProcAddressQueryResult *);
  auto getProcAddress = reinterpret_cast<GetProcAddress>(
      ::dlsym(driver.library, "cuGetProcAddress_v2"));
  if (!getProcAddress) {
    error.reason = "the CUDA driver " + name +
                   " is older than CUDA 12.0 (it lacks cuGetProcAddress_v2)";
    error.fix = "update the NVIDIA driver";
    return false;
  }
  DriverApi api;
  std::vector<std::string> missing;
  CUresult lookupError = CUDA_SUCCESS;
#define QRT_RESOLVE(name)                                                      \
  {                                                                            \
    void *function = nullptr;                                                  \
    CUdriverProcAddressQueryResult found;                                      \
    CUresult result = getProcAddress(#name, &function, kCudaAbiVersion,        \
                                     CU_GET_PROC_ADDRESS_DEFAULT, &found);     \
    if (result != CUDA_SUCCESS || !function)                                   \
      missing.push_back(#name);                                                \
    if (result != CUDA_SUCCESS && lookupError == CUDA_SUCCESS)                 \
      lookupError = result;                                                    \
    api.p_##name = reinterpret_cast<decltype(api.p_##name)>(function);         \
  }
  QRT_CUDA_FUNCTIONS(QRT_RESOLVE)
#undef QRT_RESOLVE
  if (lookupError != CUDA_SUCCESS && lookupError != CUDA_ERROR_NOT_FOUND) {
    // Not a missing function but a driver that does not work at all, such
    // as the CUDA toolkit's stub library.
    DriverApi names;
    names.p_cuGetErrorName = reinterpret_cast<decltype(names.p_cuGetErrorName)>(
        ::dlsym(driver.library, "cuGetErrorName"));
    names.p_cuGetErrorString =
        reinterpret_cast<decltype(names.p_cuGetErrorString)>(
            ::dlsym(driver.library, "cuGetErrorString"));
    error.reason = "the CUDA driver " + name +
                   " does not work: cuGetProcAddress failed: " +
                   describe(names, lookupError);
    error.fix = "install the NVIDIA driver and use its libcuda.so.1 (not the "
                "CUDA toolkit's stub library)";
    return false;
  }
  if (!missing.empty()) {
    error.reason = "the CUDA driver " + name + " lacks " + join(missing, ", ");
    error.fix = "update the NVIDIA driver to one for CUDA 12.0 or newer";
    return false;
  }
  if (CUresult result = api.p_cuInit(0); result != CUDA_SUCCESS) {
    error.reason = "cuInit failed: " + describe(api, result);
    error.fix = "check that the GPU is visible (nvidia-smi, "
                "CUDA_VISIBLE_DEVICES) and the driver is installed correctly";
    return false;
  }
  api.p_cuDriverGetVersion(&driver.version);
  driver.api = api;
  driver.ready.store(true, std::memory_order_release);
  return true;
}

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
bool openDevice(DeviceInfo &info, DriverError &error) {
  const DriverApi &api = *driverApi();
  const char *env = std::getenv("QUANTOPT_CUDA_DEVICE");
  int ordinal = 0;
  if (env && *env &&
      (StringRef(env).getAsInteger(10, ordinal) || ordinal < 0)) {
    error.reason = std::string("QUANTOPT_CUDA_DEVICE is \"") + env +
                   "\", not a device index";
    error.fix = "set it to a device number (0 for the first GPU)";
    return false;
  }
  int count = 0;
  if (CUresult result = api.p_cuDeviceGetCount(&count);
      result != CUDA_SUCCESS || count == 0) {
    error.reason = result != CUDA_SUCCESS
                       ? "cuDeviceGetCount failed: " + describe(api, result)
                       : std::string("no CUDA device is visible");
    error.fix = "check that the GPU is visible (nvidia-smi, "
                "CUDA_VISIBLE_DEVICES)";
    return false;
  }
  if (ordinal >= count) {
    error.reason = "QUANTOPT_CUDA_DEVICE is " + std::to_string(ordinal) +
                   " but only " + std::to_string(count) +
                   " CUDA device(s) are visible";
    error.fix = "set it to 0.." + std::to_string(count - 1);
    return false;
  }
  info.ordinal = ordinal;
  char name[256] = {0};
  CUresult result = api.p_cuDeviceGet(&info.device, ordinal);
  if (result == CUDA_SUCCESS)
    result = api.p_cuDeviceGetName(name, sizeof(name) - 1, info.device);
  if (result == CUDA_SUCCESS)
    result = api.p_cuDeviceGetAttribute(
        &info.major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, info.device);
  if (result == CUDA_SUCCESS)
    result = api.p_cuDeviceGetAttribute(
        &info.minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, info.device);
  if (result != CUDA_SUCCESS) {
    error.reason = "cannot query CUDA device " + std::to_string(ordinal) +
                   ": " + describe(api, result);
    error.fix = "check the GPU with nvidia-smi";
    return false;
  }
  info.name = name;
  return true;
}

//===----------------------------------------------------------------------===//
// State of the mgpu* calls
//===----------------------------------------------------------------------===//

/// What the mgpu* calls of the current thread see: the run's stream and the
/// first error of the current load or run.
struct CallState {
  CUstream stream = nullptr;
  /// While benchmarking: the model's own stream synchronizations are
  /// skipped, so that all timed runs are enqueued back to back.
  bool deferSynchronize = false;
  CUresult code = CUDA_SUCCESS;
  std::string error;
};

thread_local CallState callState;

/// Records the first failing CUDA call of the current load or run.
bool check(CUresult result, const char *call, const std::string &detail = "") {
  if (result == CUDA_SUCCESS)
    return true;
  if (callState.code == CUDA_SUCCESS) {
    callState.code = result;
    const DriverApi *api = driverApi();
    callState.error =
        std::string(call) + " failed: " +
        (api ? describe(*api, result) : "CUresult " + std::to_string(result)) +
        detail;
  }
  return false;
}

/// Sets the thread's call state for one load or run, and restores it.
class CallScope {
public:
  CallScope(CUstream stream, bool deferSynchronize) : saved(callState) {
    callState = CallState();
    callState.stream = stream;
    callState.deferSynchronize = deferSynchronize;
  }
  ~CallScope() { callState = saved; }
  CallScope(const CallScope &) = delete;
  CallScope &operator=(const CallScope &) = delete;

private:
  CallState saved;
};

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

/// Size of the buffer written to flush the L2 cache between timed runs
/// (larger than the L2 of every supported GPU).
constexpr size_t kFlushBytes = 256u << 20;

/// The CUresult of a failed driver call as a qrt_status.
qrt_status statusOf(CUresult result) {
  return result == CUDA_ERROR_OUT_OF_MEMORY ? QRT_ERROR_OUT_OF_MEMORY
                                            : QRT_ERROR_NATIVE_CODE;
}

} // namespace

//===----------------------------------------------------------------------===//
// A CUDA bundle
//===----------------------------------------------------------------------===//

namespace quantopt {
namespace runtime {

/// The CUDA state of one bundle.
class CudaBundle {
public:
  ~CudaBundle();

  /// Runs are serialized: they share the stream and the graph.
  std::mutex mutex;
  DeviceInfo device;
  /// The device's primary context, retained by this bundle.
  CUcontext context = nullptr;
  /// The weights section, copied to the device at load.
  CUdeviceptr weights = 0;
  uint64_t weightsSize = 0;
  CUstream stream = nullptr;
  /// qrt_bundle_set_cuda_graph.
  bool useGraph = false;

  /// The captured graph and the fixed input buffers it reads.
  struct Graph {
    std::vector<SmallVector<int64_t>> shapes;
    std::vector<CUdeviceptr> inputs;
    std::vector<uint64_t> inputBytes;
    /// The output descriptors written during the capture: the outputs the
    /// graph allocates keep their addresses on every replay.
    std::vector<int64_t> resultArea;
    CUgraphExec exec = nullptr;
  };
  std::unique_ptr<Graph> graph;

  void destroyGraph();
};

void CudaBundleDeleter::operator()(CudaBundle *cuda) const { delete cuda; }

} // namespace runtime
} // namespace quantopt

namespace {

/// Makes a context current on this thread for a scope.
class ContextScope {
public:
  explicit ContextScope(CUcontext context) {
    if (const DriverApi *api = driverApi())
      pushed = api->p_cuCtxPushCurrent(context) == CUDA_SUCCESS;
  }
  ~ContextScope() {
    CUcontext popped;
    if (pushed)
      driverApi()->p_cuCtxPopCurrent(&popped);
  }
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;

private:
  bool pushed = false;
};

} // namespace

void CudaBundle::destroyGraph() {
  if (!graph)
    return;
  const DriverApi &api = *driverApi();
  if (graph->exec)
    api.p_cuGraphExecDestroy(graph->exec);
  for (CUdeviceptr input : graph->inputs)
    if (input)
      api.p_cuMemFree(input);
  graph.reset();
}

CudaBundle::~CudaBundle() {
  const DriverApi *api = driverApi();
  if (!api || !context)
    return;
  {
    ContextScope scope(context);
    if (stream)
      api->p_cuStreamSynchronize(stream);
    destroyGraph();
    if (weights)
      api->p_cuMemFree(weights);
    if (stream)
      api->p_cuStreamDestroy(stream);
  }
  api->p_cuDevicePrimaryCtxRelease(device.device);
}

//===----------------------------------------------------------------------===//
// Loading
//===----------------------------------------------------------------------===//

namespace {

bool failBundle(const qrt_bundle &bundle, Failure &failure, qrt_status status,
                const Twine &message) {
  failure.status = status;
  failure.message = (bundle.path + ": " + message).str();
  return false;
}

/// "compute capability 9.0".
std::string capabilityText(int capability) {
  return "compute capability " + std::to_string(capability / 10) + "." +
         std::to_string(capability % 10);
}

/// What to do when the device cannot run code compiled for a newer GPU.
std::string recompileAdvice(const DeviceInfo &device) {
  if (device.capability() >= 80)
    return "recompile the model for this GPU with quant-compile --target " +
           device.chip();
  return "QuantOpt's CUDA code needs compute capability 8.0 or newer: run "
         "it on a newer GPU, or compile the model for the CPU";
}

} // namespace

bool quantopt::runtime::cudaPrepareBundle(qrt_bundle &bundle,
                                          Failure &failure) {
  std::string needs =
      "this bundle runs on an NVIDIA GPU (" + bundle.cudaChip + ") but ";
  DriverError error;
  if (!loadDriver(error))
    return failBundle(bundle, failure, error.status,
                      needs + error.reason + "; " + error.fix);
  std::unique_ptr<CudaBundle, CudaBundleDeleter> cuda(new CudaBundle);
  if (!openDevice(cuda->device, error))
    return failBundle(bundle, failure, error.status,
                      needs + error.reason + "; " + error.fix);
  const DeviceInfo &device = cuda->device;
  if (device.capability() < bundle.cudaCapability)
    return failBundle(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
                      "the bundle's GPU code is for " + bundle.cudaChip + " (" +
                          capabilityText(bundle.cudaCapability) + ") but " +
                          device.describe() + " is " + device.chip() + " (" +
                          capabilityText(device.capability()) +
                          "): " + recompileAdvice(device));

  const DriverApi &api = *driverApi();
  if (CUresult result =
          api.p_cuDevicePrimaryCtxRetain(&cuda->context, device.device);
      result != CUDA_SUCCESS) {
    cuda->context = nullptr;
    return failBundle(
        bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
        "cannot use " + device.describe() +
            ": cuDevicePrimaryCtxRetain failed: " + describe(api, result) +
            "; check that the GPU is not reserved by another "
            "process (compute mode) and works (nvidia-smi)");
  }
  ContextScope scope(cuda->context);

  // The model allocates its outputs and temporaries from the device's
  // default pool on every run: keep freed memory in the pool instead of
  // returning it to the system at every synchronization (a performance
  // setting only, so a failure is ignored).
  CUmemoryPool pool = nullptr;
  if (api.p_cuDeviceGetDefaultMemPool(&pool, device.device) == CUDA_SUCCESS) {
    cuuint64_t keep = ~cuuint64_t(0);
    api.p_cuMemPoolSetAttribute(pool, CU_MEMPOOL_ATTR_RELEASE_THRESHOLD, &keep);
  }

  // The weights section, in one allocation: every weight lies at its
  // manifest offset from the start of the section.
  uint64_t extent = 0;
  for (const WeightSpec &weight : bundle.weights)
    extent = std::max(extent, weight.offset + weight.size);
  if (extent > 0) {
    const uint8_t *section =
        bundle.weights.front().data - bundle.weights.front().offset;
    CUresult result = api.p_cuMemAlloc(&cuda->weights, extent);
    if (result == CUDA_SUCCESS)
      result = api.p_cuMemcpyHtoD(cuda->weights, section, extent);
    if (result != CUDA_SUCCESS)
      return failBundle(
          bundle, failure, statusOf(result),
          "cannot copy the " + Twine(extent) + " bytes of weights to " +
              device.describe() + ": " + describe(api, result) +
              (result == CUDA_ERROR_OUT_OF_MEMORY
                   ? "; free GPU memory or use a GPU with more memory"
                   : "; check the GPU with nvidia-smi"));
    cuda->weightsSize = extent;
  }
  if (CUresult result =
          api.p_cuStreamCreate(&cuda->stream, CU_STREAM_NON_BLOCKING);
      result != CUDA_SUCCESS)
    return failBundle(bundle, failure, statusOf(result),
                      "cannot create a CUDA stream on " + device.describe() +
                          ": " + describe(api, result));
  bundle.cuda = std::move(cuda);
  return true;
}

void quantopt::runtime::cudaBeginLoad(qrt_bundle &bundle) {
  callState = CallState();
  driverApi()->p_cuCtxPushCurrent(bundle.cuda->context);
}

bool quantopt::runtime::cudaEndLoad(qrt_bundle &bundle, Failure &failure) {
  CUcontext popped;
  driverApi()->p_cuCtxPopCurrent(&popped);
  CallState state = std::move(callState);
  callState = CallState();
  if (state.code == CUDA_SUCCESS)
    return true;
  const DeviceInfo &device = bundle.cuda->device;
  if (state.code == CUDA_ERROR_NO_BINARY_FOR_GPU)
    return failBundle(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
                      "the bundle's GPU code is for " + bundle.cudaChip +
                          " but " + device.describe() + " is " + device.chip() +
                          " (" + capabilityText(device.capability()) +
                          ") and the code cannot be compiled for it (" +
                          state.error + "): " + recompileAdvice(device));
  if (state.code == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    return failBundle(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
                      "the NVIDIA driver (CUDA " +
                          std::to_string(theDriver().version / 1000) + "." +
                          std::to_string(theDriver().version % 1000 / 10) +
                          ") is older than the CUDA toolkit that compiled the "
                          "bundle's GPU code (" +
                          state.error + "); update the NVIDIA driver");
  return failBundle(bundle, failure, statusOf(state.code),
                    "cannot load the bundle's GPU code on " +
                        device.describe() + ": " + state.error +
                        "; recompile the model with quant-compile");
}

void quantopt::runtime::cudaCloseNativeCode(qrt_bundle &bundle) {
  ContextScope scope(bundle.cuda->context);
  CallScope calls(nullptr, false);
  ::dlclose(bundle.dlHandle);
}

void quantopt::runtime::cudaSetGraph(qrt_bundle &bundle, bool enable) {
  CudaBundle &cuda = *bundle.cuda;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  cuda.useGraph = enable;
  if (!enable && cuda.graph) {
    ContextScope scope(cuda.context);
    driverApi()->p_cuStreamSynchronize(cuda.stream);
    cuda.destroyGraph();
  }
}

bool quantopt::runtime::cudaDeviceName(std::string &name, Failure &failure) {
  DriverError error;
  DeviceInfo device;
  if (!loadDriver(error) || !openDevice(device, error)) {
    failure.status = error.status;
    failure.message =
        "no usable CUDA device: " + error.reason + "; " + error.fix;
    return false;
  }
  name = device.name;
  return true;
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

namespace {

/// One execution of the model on staged device inputs.
class CudaRunner {
public:
  CudaRunner(const qrt_bundle &bundle, Failure &failure)
      : bundle(bundle), cuda(*bundle.cuda), api(*driverApi()),
        failure(failure) {}

  /// Checks the inputs and copies them to the device: into fixed buffers
  /// (capturing the graph first if needed) when graphs are on, else into
  /// buffers of this run. Every copy is enqueued on the stream.
  bool stage(const qrt_tensor *inputs, int64_t count);
  /// Enqueues the model once: replays the graph or calls the entry. The
  /// output descriptors are in `area` afterwards.
  void enqueue();
  /// Decodes the output descriptors; false (with `error`) if they do not
  /// match the manifest.
  bool decode(SmallVectorImpl<RawOutput> &raws, std::string &error);
  /// Enqueues the frees of the outputs the model allocated.
  void freeOutputs(ArrayRef<RawOutput> raws);
  /// Enqueues the frees of this run's input buffers.
  void freeInputs();
  /// Synchronizes the stream and turns a recorded CUDA error into a
  /// failure.
  bool finish();

  std::unique_ptr<qrt_result> run(const qrt_tensor *inputs, int64_t count);
  bool benchmark(const qrt_tensor *inputs, int64_t count, int32_t warmup,
                 int32_t iterations, bool flushL2, double *timesMs);

private:
  bool fail(qrt_status status, const Twine &message) {
    return failBundle(bundle, failure, status, message);
  }
  bool capture();
  /// Whether device address `p` is a weight or an input of this run.
  bool isForeign(uintptr_t p) const;

  const qrt_bundle &bundle;
  CudaBundle &cuda;
  const DriverApi &api;
  Failure &failure;
  CheckedInputs checked;
  std::vector<SmallVector<int64_t>> shapes;
  /// Input buffers (this run's, or the graph's).
  std::vector<CUdeviceptr> deviceInputs;
  bool ownsInputs = false;
  /// Descriptors of the weights and inputs, and the entry's arguments.
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> args;
  std::vector<int64_t> area;
};

bool CudaRunner::isForeign(uintptr_t p) const {
  auto inside = [p](uintptr_t begin, uint64_t size) {
    return begin && p >= begin && p < begin + std::max<uint64_t>(size, 1);
  };
  if (inside(cuda.weights, cuda.weightsSize))
    return true;
  for (size_t i = 0; i < deviceInputs.size(); ++i)
    if (inside(deviceInputs[i], checked.bytes[i]))
      return true;
  return false;
}

bool CudaRunner::stage(const qrt_tensor *inputs, int64_t count) {
  if (!checkInputs(bundle, inputs, count, checked, failure))
    return false;
  for (int64_t i = 0; i < count; ++i)
    shapes.emplace_back(ArrayRef<int64_t>(inputs[i].shape, inputs[i].rank));

  if (cuda.useGraph) {
    if (!cuda.graph || cuda.graph->shapes != shapes) {
      if (!capture())
        return false;
    }
    deviceInputs = cuda.graph->inputs;
  } else {
    ownsInputs = true;
    deviceInputs.assign(count, 0);
    for (int64_t i = 0; i < count; ++i)
      if (checked.bytes[i] > 0 &&
          !check(api.p_cuMemAllocAsync(&deviceInputs[i], checked.bytes[i],
                                       cuda.stream),
                 "cuMemAllocAsync"))
        return fail(statusOf(callState.code),
                    "cannot allocate device memory for input '" +
                        bundle.inputs[i].name + "' (" +
                        Twine(checked.bytes[i]) + " bytes) on " +
                        cuda.device.describe() + ": " + callState.error);
    size_t words = 0;
    for (const TensorSpec &spec : bundle.outputs)
      words += descriptorWords(spec.shape.size());
    area.assign(words, 0);
    args.push_back(area.data());
    descriptors.reserve(bundle.weights.size() + count);
    auto add = [&](uintptr_t data, ArrayRef<int64_t> shape) {
      descriptors.emplace_back(descriptorWords(shape.size()));
      fillDescriptor(descriptors.back().data(),
                     reinterpret_cast<const void *>(data), shape);
      args.push_back(descriptors.back().data());
    };
    for (const WeightSpec &weight : bundle.weights)
      add(cuda.weights + weight.offset, weight.shape);
    for (int64_t i = 0; i < count; ++i)
      add(deviceInputs[i], shapes[i]);
  }
  for (int64_t i = 0; i < count; ++i)
    if (checked.bytes[i] > 0 &&
        !check(api.p_cuMemcpyHtoDAsync(deviceInputs[i], inputs[i].data,
                                       checked.bytes[i], cuda.stream),
               "cuMemcpyHtoDAsync"))
      return fail(statusOf(callState.code),
                  "cannot copy input '" + bundle.inputs[i].name + "' to " +
                      cuda.device.describe() + ": " + callState.error);
  return true;
}

bool CudaRunner::capture() {
  // Earlier replays may still read the old buffers.
  if (!check(api.p_cuStreamSynchronize(cuda.stream), "cuStreamSynchronize"))
    return fail(statusOf(callState.code), "CUDA error on " +
                                              cuda.device.describe() + ": " +
                                              callState.error);
  cuda.destroyGraph();
  auto graph = std::make_unique<CudaBundle::Graph>();
  graph->shapes = shapes;
  graph->inputBytes.assign(checked.bytes.begin(), checked.bytes.end());
  graph->inputs.assign(shapes.size(), 0);
  // Until the graph is complete, it owns the buffers: destroyGraph frees
  // them if the capture fails.
  cuda.graph = std::move(graph);
  CudaBundle::Graph &g = *cuda.graph;
  for (size_t i = 0; i < shapes.size(); ++i)
    if (checked.bytes[i] > 0 &&
        !check(api.p_cuMemAlloc(&g.inputs[i], checked.bytes[i]),
               "cuMemAlloc")) {
      cuda.destroyGraph();
      return fail(statusOf(callState.code),
                  "cannot allocate the CUDA graph's buffer for input '" +
                      bundle.inputs[i].name + "' on " + cuda.device.describe() +
                      ": " + callState.error);
    }

  size_t words = 0;
  for (const TensorSpec &spec : bundle.outputs)
    words += descriptorWords(spec.shape.size());
  g.resultArea.assign(words, 0);
  std::vector<std::vector<int64_t>> captureDescriptors;
  std::vector<void *> captureArgs{g.resultArea.data()};
  captureDescriptors.reserve(bundle.weights.size() + shapes.size());
  auto add = [&](uintptr_t data, ArrayRef<int64_t> shape) {
    captureDescriptors.emplace_back(descriptorWords(shape.size()));
    fillDescriptor(captureDescriptors.back().data(),
                   reinterpret_cast<const void *>(data), shape);
    captureArgs.push_back(captureDescriptors.back().data());
  };
  for (const WeightSpec &weight : bundle.weights)
    add(cuda.weights + weight.offset, weight.shape);
  for (size_t i = 0; i < shapes.size(); ++i)
    add(g.inputs[i], shapes[i]);

  CUgraph captured = nullptr;
  if (check(api.p_cuStreamBeginCapture(cuda.stream,
                                       CU_STREAM_CAPTURE_MODE_RELAXED),
            "cuStreamBeginCapture")) {
    bundle.entry(captureArgs.data());
    check(api.p_cuStreamEndCapture(cuda.stream, &captured),
          "cuStreamEndCapture");
  }
  if (callState.code == CUDA_SUCCESS)
    check(
        api.p_cuGraphInstantiateWithFlags(
            &g.exec, captured, CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH),
        "cuGraphInstantiateWithFlags");
  if (captured)
    api.p_cuGraphDestroy(captured);
  if (callState.code != CUDA_SUCCESS) {
    std::string error = callState.error;
    CUresult code = callState.code;
    cuda.destroyGraph();
    return fail(statusOf(code), "cannot capture the model into a CUDA graph "
                                "on " +
                                    cuda.device.describe() + ": " + error +
                                    "; run it without CUDA graphs");
  }
  return true;
}

void CudaRunner::enqueue() {
  if (cuda.useGraph) {
    area = cuda.graph->resultArea;
    check(api.p_cuGraphLaunch(cuda.graph->exec, cuda.stream), "cuGraphLaunch");
    return;
  }
  std::fill(area.begin(), area.end(), 0);
  bundle.entry(args.data());
}

bool CudaRunner::decode(SmallVectorImpl<RawOutput> &raws, std::string &error) {
  raws.clear();
  return decodeOutputs(bundle, area, checked.dimValues, raws, error);
}

void CudaRunner::freeOutputs(ArrayRef<RawOutput> raws) {
  DenseSet<void *> freed;
  for (const RawOutput &raw : raws)
    if (raw.allocated &&
        !isForeign(reinterpret_cast<uintptr_t>(raw.allocated)) &&
        freed.insert(raw.allocated).second)
      check(api.p_cuMemFreeAsync(reinterpret_cast<CUdeviceptr>(raw.allocated),
                                 cuda.stream),
            "cuMemFreeAsync");
}

void CudaRunner::freeInputs() {
  if (!ownsInputs)
    return;
  for (CUdeviceptr input : deviceInputs)
    if (input)
      check(api.p_cuMemFreeAsync(input, cuda.stream), "cuMemFreeAsync");
  deviceInputs.clear();
}

bool CudaRunner::finish() {
  check(api.p_cuStreamSynchronize(cuda.stream), "cuStreamSynchronize");
  if (callState.code == CUDA_SUCCESS)
    return true;
  return fail(statusOf(callState.code), "CUDA error on " +
                                            cuda.device.describe() + ": " +
                                            callState.error);
}

std::unique_ptr<qrt_result> CudaRunner::run(const qrt_tensor *inputs,
                                            int64_t count) {
  if (!stage(inputs, count)) {
    freeInputs();
    check(api.p_cuStreamSynchronize(cuda.stream), "cuStreamSynchronize");
    return nullptr;
  }
  enqueue();

  SmallVector<RawOutput> raws;
  std::string error;
  bool consistent = decode(raws, error);
  auto result = std::make_unique<qrt_result>();
  // Strided outputs are copied whole into a staging buffer, then densified.
  struct Strided {
    size_t output;
    std::vector<uint8_t> staging;
    int64_t low;
  };
  std::vector<Strided> strided;
  bool outOfMemory = false;
  if (consistent && callState.code == CUDA_SUCCESS) {
    for (auto [spec, raw] : llvm::zip(bundle.outputs, raws)) {
      QrtResultOutput output;
      output.name = spec.name;
      output.dtype = spec.dtype;
      output.shape = raw.sizes;
      output.allocation = std::malloc(raw.bytes ? raw.bytes : 1);
      output.data = output.allocation;
      if (!output.allocation) {
        outOfMemory = true;
        error = "out of memory copying output '" + spec.name + "' (" +
                std::to_string(raw.bytes) + " bytes)";
        break;
      }
      size_t elementSize = dtypeSize(spec.dtype);
      if (raw.bytes > 0 && raw.contiguous) {
        check(api.p_cuMemcpyDtoHAsync(output.data,
                                      reinterpret_cast<CUdeviceptr>(raw.start),
                                      raw.bytes, cuda.stream),
              "cuMemcpyDtoHAsync");
      } else if (raw.bytes > 0) {
        int64_t low = 0, high = 0;
        for (auto [size, stride] : llvm::zip(raw.sizes, raw.strides)) {
          low += std::min<int64_t>(0, (size - 1) * stride);
          high += std::max<int64_t>(0, (size - 1) * stride);
        }
        Strided copy{result->outputs.size(), {}, low};
        copy.staging.resize((high - low + 1) * elementSize);
        check(
            api.p_cuMemcpyDtoHAsync(copy.staging.data(),
                                    reinterpret_cast<CUdeviceptr>(raw.start) +
                                        low * static_cast<int64_t>(elementSize),
                                    copy.staging.size(), cuda.stream),
            "cuMemcpyDtoHAsync");
        strided.push_back(std::move(copy));
      }
      result->outputs.push_back(std::move(output));
    }
  }
  freeOutputs(raws);
  freeInputs();
  if (!finish())
    return nullptr;
  if (outOfMemory || !consistent) {
    fail(outOfMemory ? QRT_ERROR_OUT_OF_MEMORY : QRT_ERROR_MODEL_OUTPUT,
         outOfMemory ? error : modelOutputMessage(error));
    return nullptr;
  }
  for (Strided &copy : strided) {
    QrtResultOutput &output = result->outputs[copy.output];
    const RawOutput &raw = raws[copy.output];
    size_t elementSize = dtypeSize(output.dtype);
    copyStrided(copy.staging.data() - copy.low * elementSize, raw.sizes,
                raw.strides, elementSize,
                static_cast<uint8_t *>(output.allocation));
  }
  return result;
}

bool CudaRunner::benchmark(const qrt_tensor *inputs, int64_t count,
                           int32_t warmup, int32_t iterations, bool flushL2,
                           double *timesMs) {
  CUdeviceptr flush = 0;
  std::vector<CUevent> events;
  auto cleanUp = [&] {
    freeInputs();
    api.p_cuStreamSynchronize(cuda.stream);
    for (CUevent event : events)
      api.p_cuEventDestroy(event);
    if (flush)
      api.p_cuMemFree(flush);
  };
  if (!stage(inputs, count)) {
    cleanUp();
    return false;
  }
  if (flushL2 && !check(api.p_cuMemAlloc(&flush, kFlushBytes), "cuMemAlloc")) {
    flush = 0;
    cleanUp();
    return fail(statusOf(callState.code),
                "cannot allocate the 256 MiB buffer that flushes the L2 "
                "cache on " +
                    cuda.device.describe() + ": " + callState.error +
                    "; benchmark without flushing the L2 cache");
  }
  for (int32_t i = 0; i < 2 * iterations && callState.code == CUDA_SUCCESS;
       ++i) {
    CUevent event = nullptr;
    if (check(api.p_cuEventCreate(&event, CU_EVENT_DEFAULT), "cuEventCreate"))
      events.push_back(event);
  }

  SmallVector<RawOutput> raws;
  std::string error;
  for (int32_t i = -warmup; i < iterations && callState.code == CUDA_SUCCESS;
       ++i) {
    if (i >= 0 && flush)
      check(api.p_cuMemsetD32Async(flush, 0, kFlushBytes / 4, cuda.stream),
            "cuMemsetD32Async");
    if (i >= 0)
      check(api.p_cuEventRecord(events[2 * i], cuda.stream), "cuEventRecord");
    enqueue();
    if (i >= 0)
      check(api.p_cuEventRecord(events[2 * i + 1], cuda.stream),
            "cuEventRecord");
    bool consistent = decode(raws, error);
    freeOutputs(raws);
    if (!consistent) {
      cleanUp();
      return fail(QRT_ERROR_MODEL_OUTPUT, modelOutputMessage(error));
    }
  }
  if (!finish()) {
    cleanUp();
    return false;
  }
  for (int32_t i = 0; i < iterations; ++i) {
    float ms = 0;
    if (!check(api.p_cuEventElapsedTime(&ms, events[2 * i], events[2 * i + 1]),
               "cuEventElapsedTime"))
      break;
    timesMs[i] = ms;
  }
  cleanUp();
  if (callState.code != CUDA_SUCCESS)
    return fail(statusOf(callState.code), "CUDA error on " +
                                              cuda.device.describe() + ": " +
                                              callState.error);
  return true;
}

} // namespace

std::unique_ptr<qrt_result>
quantopt::runtime::cudaRunBundle(const qrt_bundle &bundle,
                                 const qrt_tensor *inputs, int64_t numInputs,
                                 Failure &failure) {
  CudaBundle &cuda = *bundle.cuda;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  ContextScope scope(cuda.context);
  CallScope calls(cuda.stream, /*deferSynchronize=*/false);
  return CudaRunner(bundle, failure).run(inputs, numInputs);
}

bool quantopt::runtime::cudaBenchmarkBundle(const qrt_bundle &bundle,
                                            const qrt_tensor *inputs,
                                            int64_t numInputs, int32_t warmup,
                                            int32_t iterations, bool flushL2,
                                            double *timesMs, Failure &failure) {
  CudaBundle &cuda = *bundle.cuda;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  ContextScope scope(cuda.context);
  CallScope calls(cuda.stream, /*deferSynchronize=*/true);
  return CudaRunner(bundle, failure)
      .benchmark(inputs, numInputs, warmup, iterations, flushL2, timesMs);
}

//===----------------------------------------------------------------------===//
// GPU runtime calls of the generated code
//===----------------------------------------------------------------------===//
//
// The signatures are those MLIR 22's gpu-to-llvm lowering declares (see
// docs/Runtime.md). Each records its first CUDA error instead of aborting.

namespace {

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

#else // !QUANTOPT_HAVE_CUDA_H

// Built without the CUDA headers: CUDA bundles fail to load.

namespace quantopt {
namespace runtime {
class CudaBundle {};
void CudaBundleDeleter::operator()(CudaBundle *cuda) const { delete cuda; }
} // namespace runtime
} // namespace quantopt

static constexpr const char *kNoCuda =
    "this libquantrt was built without CUDA support (cuda.h was not found "
    "at build time); rebuild it with the CUDA toolkit's headers installed, "
    "or compile the model for the CPU";

bool quantopt::runtime::cudaPrepareBundle(qrt_bundle &bundle,
                                          Failure &failure) {
  failure.status = QRT_ERROR_UNSUPPORTED_DEVICE;
  failure.message = bundle.path + ": this bundle runs on an NVIDIA GPU (" +
                    bundle.cudaChip + ") but " + kNoCuda;
  return false;
}
void quantopt::runtime::cudaBeginLoad(qrt_bundle &) {}
bool quantopt::runtime::cudaEndLoad(qrt_bundle &, Failure &) { return true; }
void quantopt::runtime::cudaCloseNativeCode(qrt_bundle &bundle) {
  ::dlclose(bundle.dlHandle);
}
void quantopt::runtime::cudaSetGraph(qrt_bundle &, bool) {}
std::unique_ptr<qrt_result> quantopt::runtime::cudaRunBundle(const qrt_bundle &,
                                                             const qrt_tensor *,
                                                             int64_t,
                                                             Failure &failure) {
  failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
  return nullptr;
}
bool quantopt::runtime::cudaBenchmarkBundle(const qrt_bundle &,
                                            const qrt_tensor *, int64_t,
                                            int32_t, int32_t, bool, double *,
                                            Failure &failure) {
  failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
  return false;
}
bool quantopt::runtime::cudaDeviceName(std::string &, Failure &failure) {
  failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
  return false;
}

#endif // QUANTOPT_HAVE_CUDA_H
