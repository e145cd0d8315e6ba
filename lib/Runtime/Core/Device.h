//===- Device.h - Where a bundle's model runs -------------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The device interface of libquantrt. Every bundle owns one Device, made by
// createDevice() from the manifest's "target.kind" when the manifest has
// been parsed; the generic code (Loader.cpp, Run.cpp, CAPI.cpp) talks to
// the device only through this interface:
//
//   prepare          acquire the device for the bundle (open it, check that
//                    it can run the code, place the weights);
//   loadNativeCode   dlopen the bundle's host code in the device's context
//                    (a CUDA bundle's code loads its GPU module from a
//                    global constructor) and report what the load failed on;
//   unloadNativeCode dlclose it, in the same context;
//   run, benchmark   qrt_bundle_run and qrt_bundle_benchmark;
//   setGraphs        qrt_bundle_set_cuda_graph.
//
// CpuDevice (CpuDevice.cpp) calls the entry on host memory; CudaDevice
// (CUDA/) stages inputs, launches on a stream and copies the outputs back.
// Allocation, copies and synchronization are each device's business: the
// generic code never branches on the kind of device.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_DEVICE_H
#define QUANTOPT_LIB_RUNTIME_CORE_DEVICE_H

#include "quantopt-c/Runtime.h"

#include "llvm/ADT/STLFunctionalExtras.h"

#include <cstdint>
#include <memory>
#include <string>

struct qrt_bundle;
struct qrt_result;

namespace quantopt {
namespace runtime {

struct Failure;

class Device {
public:
  virtual ~Device();

  /// QRT_DEVICE_CPU or QRT_DEVICE_CUDA (qrt_bundle_device).
  virtual qrt_device kind() const = 0;

  /// Acquires the device for `bundle`, whose manifest and weights have been
  /// validated and whose native code is not loaded yet.
  virtual bool prepare(qrt_bundle &bundle, Failure &failure) = 0;

  /// Loads the native code by calling `open` (which dlopen()s it and fills
  /// in `failure` if that fails) in whatever context the code's global
  /// constructors need; fails if the code or what it loads does not load.
  virtual bool loadNativeCode(qrt_bundle &bundle,
                              llvm::function_ref<bool()> open,
                              Failure &failure);

  /// dlclose()s the native code (its global destructors may call the
  /// device).
  virtual void unloadNativeCode(qrt_bundle &bundle);

  /// Checks the inputs and runs the model once.
  virtual std::unique_ptr<qrt_result> run(const qrt_bundle &bundle,
                                          const qrt_tensor *inputs,
                                          int64_t numInputs,
                                          Failure &failure) = 0;

  /// Times `iterations` runs after `warmup` untimed ones; `timesMs`
  /// receives one entry per timed run.
  virtual bool benchmark(const qrt_bundle &bundle, const qrt_tensor *inputs,
                         int64_t numInputs, int32_t warmup, int32_t iterations,
                         bool flushL2, double *timesMs, Failure &failure) = 0;

  /// qrt_bundle_set_cuda_graph; devices without graphs refuse it.
  virtual bool setGraphs(qrt_bundle &bundle, bool enable, Failure &failure);
};

/// The device for a manifest "target.kind".
std::unique_ptr<Device> createDevice(qrt_device kind);

/// The implementations (CpuDevice.cpp; CUDA/CudaBundle.cpp, or NoCuda.cpp
/// when libquantrt is built without cuda.h).
std::unique_ptr<Device> createCpuDevice();
std::unique_ptr<Device> createCudaDevice();

/// The name of the CUDA device the runtime uses (QUANTOPT_CUDA_DEVICE),
/// loading the driver if needed; fails with the reason there is none
/// (qrt_cuda_device_name).
bool cudaDeviceName(std::string &name, Failure &failure);

} // namespace runtime
} // namespace quantopt

#endif // QUANTOPT_LIB_RUNTIME_CORE_DEVICE_H
