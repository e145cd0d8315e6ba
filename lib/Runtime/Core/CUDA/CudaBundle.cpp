//===- CudaBundle.cpp - Loading a CUDA bundle -----------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The CUDA device of a bundle: driver, device and compute capability
// checks, the primary context, the weights in device memory, the stream,
// and the load of the native code whose global constructor loads the GPU
// module (cubin or PTX, through mgpuModuleLoad*, see CudaMgpu.cpp).
//
//===----------------------------------------------------------------------===//

#include "CudaBundle.h"
#include "../RuntimeImpl.h"
#include "CudaStatus.h"

#include <dlfcn.h>

#include <algorithm>

using namespace llvm;
using namespace quantopt::runtime;
using namespace quantopt::runtime::cuda;

std::unique_ptr<Device> quantopt::runtime::createCudaDevice() {
  return std::make_unique<CudaDevice>();
}

ContextScope::ContextScope(CUcontext context) {
  if (const DriverApi *api = driverApi())
    pushed = api->p_cuCtxPushCurrent(context) == CUDA_SUCCESS;
}

ContextScope::~ContextScope() {
  CUcontext popped;
  if (pushed)
    driverApi()->p_cuCtxPopCurrent(&popped);
}

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

/// "compute capability 9.0".
static std::string capabilityText(int capability) {
  return "compute capability " + std::to_string(capability / 10) + "." +
         std::to_string(capability % 10);
}

/// What to do when the device cannot run code compiled for a newer GPU.
static std::string recompileAdvice(const DeviceInfo &device) {
  if (device.capability() >= 80)
    return "recompile the model for this GPU with quant-compile --target " +
           device.chip();
  return "QuantOpt's CUDA code needs compute capability 8.0 or newer: run "
         "it on a newer GPU, or compile the model for the CPU";
}

bool CudaDevice::prepare(qrt_bundle &bundle, Failure &failure) {
  std::string needs =
      "this bundle runs on an NVIDIA GPU (" + bundle.cudaChip + ") but ";
  DriverError error;
  if (!loadDriver(error))
    return failRun(bundle, failure, error.status,
                   needs + error.reason + "; " + error.fix);
  auto cuda = std::make_unique<CudaBundle>();
  if (!openDevice(cuda->device, error))
    return failRun(bundle, failure, error.status,
                   needs + error.reason + "; " + error.fix);
  const DeviceInfo &device = cuda->device;
  if (device.capability() < bundle.cudaCapability)
    return failRun(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
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
    return failRun(
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
      return failRun(
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
    return failRun(bundle, failure, statusOf(result),
                   "cannot create a CUDA stream on " + device.describe() +
                       ": " + describe(api, result));
  state = std::move(cuda);
  return true;
}

bool CudaDevice::loadNativeCode(qrt_bundle &bundle, function_ref<bool()> open,
                                Failure &failure) {
  const DriverApi &api = *driverApi();
  callState = CallState();
  api.p_cuCtxPushCurrent(state->context);
  bool loaded = open();
  CUcontext popped;
  api.p_cuCtxPopCurrent(&popped);
  CallState load = std::move(callState);
  callState = CallState();
  if (!loaded)
    return false;
  if (load.code == CUDA_SUCCESS)
    return true;
  const DeviceInfo &device = state->device;
  if (load.code == CUDA_ERROR_NO_BINARY_FOR_GPU)
    return failRun(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
                   "the bundle's GPU code is for " + bundle.cudaChip + " but " +
                       device.describe() + " is " + device.chip() + " (" +
                       capabilityText(device.capability()) +
                       ") and the code cannot be compiled for it (" +
                       load.error + "): " + recompileAdvice(device));
  if (load.code == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    return failRun(bundle, failure, QRT_ERROR_UNSUPPORTED_DEVICE,
                   "the NVIDIA driver (CUDA " +
                       std::to_string(theDriver().version / 1000) + "." +
                       std::to_string(theDriver().version % 1000 / 10) +
                       ") is older than the CUDA toolkit that compiled the "
                       "bundle's GPU code (" +
                       load.error + "); update the NVIDIA driver");
  return failRun(bundle, failure, statusOf(load.code),
                 "cannot load the bundle's GPU code on " + device.describe() +
                     ": " + load.error +
                     "; recompile the model with quant-compile");
}

void CudaDevice::unloadNativeCode(qrt_bundle &bundle) {
  ContextScope scope(state->context);
  CallScope calls(nullptr, false);
  ::dlclose(bundle.dlHandle);
}

bool CudaDevice::setGraphs(qrt_bundle &, bool enable, Failure &) {
  CudaBundle &cuda = *state;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  cuda.useGraph = enable;
  if (!enable && cuda.graph) {
    ContextScope scope(cuda.context);
    driverApi()->p_cuStreamSynchronize(cuda.stream);
    cuda.destroyGraph();
  }
  return true;
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
