//===- CpuDevice.cpp - Running a bundle on the CPU ------------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The CPU device: the entry is called on memref descriptors of the mapped
// weights and the caller's inputs, on the calling thread (the kernels fan
// out inside their qk_* calls), and the result descriptors the generated
// code filled in are taken over (docs/CPUBackend.md, "Model entry ABI").
//
// Results are returned as dense row-major buffers. A result buffer the
// model malloc'ed is handed to the caller as is when it is contiguous;
// everything else is copied: strided results, results whose `allocated`
// lies inside an input, a weight or the mapped bundle (not ours to free),
// and a second result aliasing the buffer of an earlier one.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "RuntimeImpl.h"
#include "quantopt/Runtime/Kernels.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;

namespace {

class Runner {
public:
  Runner(const qrt_bundle &bundle, Failure &failure)
      : bundle(bundle), failure(failure) {}

  std::unique_ptr<qrt_result> run(const qrt_tensor *inputs, int64_t count);

private:
  bool fail(qrt_status status, const Twine &message) {
    return failRun(bundle, failure, status, message);
  }
  bool collectResults(ArrayRef<int64_t> area, const qrt_tensor *inputs,
                      qrt_result &result);
  /// Whether `p` points into an input, a weight or the mapped bundle.
  bool isForeign(const void *p, const qrt_tensor *inputs) const;

  const qrt_bundle &bundle;
  Failure &failure;
  CheckedInputs checked;
};

bool Runner::isForeign(const void *p, const qrt_tensor *inputs) const {
  // An empty buffer still owns its address: a result that returns it is
  // the caller's memory, not the model's.
  auto inside = [p](const void *begin, uint64_t size) {
    auto b = reinterpret_cast<uintptr_t>(begin);
    auto x = reinterpret_cast<uintptr_t>(p);
    return begin && x >= b && x < b + std::max<uint64_t>(size, 1);
  };
  if (inside(bundle.fileData, bundle.fileSize))
    return true;
  for (const WeightSpec &weight : bundle.weights)
    if (inside(weight.data, weight.size))
      return true;
  for (size_t i = 0; i < checked.bytes.size(); ++i)
    if (inside(inputs[i].data, checked.bytes[i]))
      return true;
  return false;
}

bool Runner::collectResults(ArrayRef<int64_t> area, const qrt_tensor *inputs,
                            qrt_result &result) {
  SmallVector<RawOutput> raws;
  std::string error;
  decodeOutputs(bundle, area, checked.dimValues, raws, error);
  // Every distinct malloc'ed buffer the model returned; freed unless kept.
  DenseSet<void *> owned;
  for (const RawOutput &raw : raws)
    if (raw.allocated && !isForeign(raw.allocated, inputs))
      owned.insert(raw.allocated);
  if (!error.empty()) {
    for (void *p : owned)
      std::free(p);
    return fail(QRT_ERROR_MODEL_OUTPUT, modelOutputMessage(error));
  }

  // Keep a contiguous owned buffer for the first output that returns it;
  // copy everything else. All copies happen before any buffer is freed.
  DenseSet<void *> kept;
  for (auto [spec, raw] : llvm::zip(bundle.outputs, raws)) {
    QrtResultOutput output;
    output.name = spec.name;
    output.dtype = spec.dtype;
    output.shape = raw.sizes;
    if (raw.allocated && raw.contiguous && owned.count(raw.allocated) &&
        kept.insert(raw.allocated).second) {
      output.allocation = raw.allocated;
      output.data = const_cast<uint8_t *>(raw.start);
    } else {
      void *copy = std::malloc(raw.bytes ? raw.bytes : 1);
      if (!copy) {
        for (void *p : owned)
          if (!kept.count(p))
            std::free(p);
        return fail(QRT_ERROR_OUT_OF_MEMORY, "out of memory copying output '" +
                                                 spec.name + "' (" +
                                                 Twine(raw.bytes) + " bytes)");
      }
      if (raw.bytes > 0)
        copyStrided(raw.start, raw.sizes, raw.strides, dtypeSize(spec.dtype),
                    static_cast<uint8_t *>(copy));
      output.allocation = copy;
      output.data = copy;
    }
    result.outputs.push_back(std::move(output));
  }
  for (void *p : owned)
    if (!kept.count(p))
      std::free(p);
  return true;
}

std::unique_ptr<qrt_result> Runner::run(const qrt_tensor *inputs,
                                        int64_t count) {
  if (!checkInputs(bundle, inputs, count, checked, failure))
    return nullptr;

  // One descriptor per weight and input, then the result area.
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> args;
  size_t resultWords = 0;
  for (const TensorSpec &spec : bundle.outputs)
    resultWords += descriptorWords(spec.shape.size());
  std::vector<int64_t> resultArea(resultWords, 0);
  args.push_back(resultArea.data());
  auto addDescriptor = [&](const void *data, ArrayRef<int64_t> shape) {
    descriptors.emplace_back(descriptorWords(shape.size()));
    fillDescriptor(descriptors.back().data(), data, shape);
    args.push_back(descriptors.back().data());
  };
  descriptors.reserve(bundle.weights.size() + count);
  for (const WeightSpec &weight : bundle.weights)
    addDescriptor(weight.data, weight.shape);
  for (int64_t i = 0; i < count; ++i)
    addDescriptor(inputs[i].data,
                  ArrayRef<int64_t>(inputs[i].shape, inputs[i].rank));

  qk_take_error(); // nothing stale from an earlier run on this thread
  bundle.entry(args.data());
  // Errors the generated code or the kernels reported (out-of-range
  // run-time indices, a packed operand, a kernel workspace): the results are
  // freed and the run fails with the message.
  int32_t code = 0;
  const char *modelError = qk_take_error_code(&code);
  std::string modelMessage = modelError ? modelError : "";

  auto result = std::make_unique<qrt_result>();
  if (!collectResults(resultArea, inputs, *result))
    return nullptr;
  if (modelError) {
    fail(code == QK_ERROR_OUT_OF_MEMORY         ? QRT_ERROR_OUT_OF_MEMORY
         : code == QK_ERROR_BAD_PACKED_DATA     ? QRT_ERROR_INVALID_BUNDLE
         : code == QK_ERROR_WORKSPACE_TOO_SMALL ? QRT_ERROR_NATIVE_CODE
                                                : QRT_ERROR_INPUT,
         modelMessage);
    return nullptr;
  }
  return result;
}

class CpuDevice final : public Device {
public:
  qrt_device kind() const override { return QRT_DEVICE_CPU; }
  /// The weights are used in place, in the mapped file.
  bool prepare(qrt_bundle &, Failure &) override { return true; }
  std::unique_ptr<qrt_result> run(const qrt_bundle &bundle,
                                  const qrt_tensor *inputs, int64_t numInputs,
                                  Failure &failure) override {
    return Runner(bundle, failure).run(inputs, numInputs);
  }
  bool benchmark(const qrt_bundle &bundle, const qrt_tensor *inputs,
                 int64_t numInputs, int32_t warmup, int32_t iterations,
                 bool flushL2, double *timesMs, Failure &failure) override;
};

} // namespace

std::unique_ptr<Device> quantopt::runtime::createCpuDevice() {
  return std::make_unique<CpuDevice>();
}

bool CpuDevice::benchmark(const qrt_bundle &bundle, const qrt_tensor *inputs,
                          int64_t numInputs, int32_t warmup, int32_t iterations,
                          bool /*flushL2*/, double *timesMs, Failure &failure) {
  // CPU: wall-clock time of each whole run, results freed untimed.
  using Clock = std::chrono::steady_clock;
  for (int32_t i = -warmup; i < iterations; ++i) {
    Clock::time_point start = Clock::now();
    std::unique_ptr<qrt_result> result =
        Runner(bundle, failure).run(inputs, numInputs);
    Clock::time_point end = Clock::now();
    if (!result)
      return false;
    if (i >= 0)
      timesMs[i] =
          std::chrono::duration<double, std::milli>(end - start).count();
  }
  return true;
}
