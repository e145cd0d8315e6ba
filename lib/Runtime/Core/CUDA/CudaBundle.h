//===- CudaBundle.h - The CUDA device of a bundle ---------------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// A CUDA bundle's weights are copied to device memory once, at load; it
// owns a non-blocking stream; its native code (x86-64 host code from MLIR's
// gpu-to-llvm lowering) is dlopen'ed with the device's primary context
// current, because its global constructor loads the GPU module. Runs of one
// bundle are serialized by its mutex. Private to libquantrt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDABUNDLE_H
#define QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDABUNDLE_H

#include "../Device.h"
#include "CudaDriver.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/Twine.h"

#include <memory>
#include <mutex>
#include <vector>

namespace quantopt::runtime::cuda {

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
    std::vector<llvm::SmallVector<int64_t>> shapes;
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

/// Makes a context current on this thread for a scope.
class ContextScope {
public:
  explicit ContextScope(CUcontext context);
  ~ContextScope();
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;

private:
  bool pushed = false;
};

/// The Device of a bundle whose manifest target is "cuda".
class CudaDevice final : public Device {
public:
  qrt_device kind() const override { return QRT_DEVICE_CUDA; }
  /// Loads the driver, opens the device (QUANTOPT_CUDA_DEVICE), checks its
  /// compute capability against the bundle's, retains the primary context,
  /// uploads the weights and creates the bundle's stream.
  bool prepare(qrt_bundle &bundle, Failure &failure) override;
  /// dlopen()s with the bundle's context current and collects the GPU
  /// module load errors of the code's global constructor.
  bool loadNativeCode(qrt_bundle &bundle, llvm::function_ref<bool()> open,
                      Failure &failure) override;
  void unloadNativeCode(qrt_bundle &bundle) override;
  /// CudaRunner.cpp.
  std::unique_ptr<qrt_result> run(const qrt_bundle &bundle,
                                  const qrt_tensor *inputs, int64_t numInputs,
                                  Failure &failure) override;
  bool benchmark(const qrt_bundle &bundle, const qrt_tensor *inputs,
                 int64_t numInputs, int32_t warmup, int32_t iterations,
                 bool flushL2, double *timesMs, Failure &failure) override;
  bool setGraphs(qrt_bundle &bundle, bool enable, Failure &failure) override;

private:
  std::unique_ptr<CudaBundle> state;
};

} // namespace quantopt::runtime::cuda

#endif // QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDABUNDLE_H
