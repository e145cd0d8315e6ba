//===- CudaDriver.cpp - Loading libcuda and opening the device ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The driver symbol table (resolved with cuGetProcAddress at the CUDA 12.0
// ABI) and the device named by $QUANTOPT_CUDA_DEVICE, see CudaDriver.h.
//
//===----------------------------------------------------------------------===//

#include "CudaDriver.h"
#include "CudaStatus.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

using namespace llvm;
using namespace quantopt::runtime::cuda;

/// The ABI the functions are requested at: drivers of CUDA 12.0 and newer.
static constexpr int kCudaAbiVersion = 12000;

Driver &quantopt::runtime::cuda::theDriver() {
  static Driver *driver = new Driver;
  return *driver;
}

const DriverApi *quantopt::runtime::cuda::driverApi() {
  Driver &driver = theDriver();
  return driver.ready.load(std::memory_order_acquire) ? &driver.api : nullptr;
}

bool quantopt::runtime::cuda::loadDriver(DriverError &error) {
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

bool quantopt::runtime::cuda::openDevice(DeviceInfo &info, DriverError &error) {
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
