//===- NoCuda.cpp - The CUDA device of a libquantrt built without CUDA ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Built instead of CUDA/ when cuda.h was not found: CUDA bundles fail to
// load, and qrt_cuda_device_name says why.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "RuntimeImpl.h"

using namespace quantopt::runtime;

static constexpr const char *kNoCuda =
    "this libquantrt was built without CUDA support (cuda.h was not found "
    "at build time); rebuild it with the CUDA toolkit's headers installed, "
    "or compile the model for the CPU";

namespace {

class NoCudaDevice final : public Device {
public:
  qrt_device kind() const override { return QRT_DEVICE_CUDA; }
  bool prepare(qrt_bundle &bundle, Failure &failure) override {
    failure.status = QRT_ERROR_UNSUPPORTED_DEVICE;
    failure.message = bundle.path + ": this bundle runs on an NVIDIA GPU (" +
                      bundle.cudaChip + ") but " + kNoCuda;
    return false;
  }
  std::unique_ptr<qrt_result> run(const qrt_bundle &, const qrt_tensor *,
                                  int64_t, Failure &failure) override {
    failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
    return nullptr;
  }
  bool benchmark(const qrt_bundle &, const qrt_tensor *, int64_t, int32_t,
                 int32_t, bool, double *, Failure &failure) override {
    failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
    return false;
  }
  bool setGraphs(qrt_bundle &, bool, Failure &) override { return true; }
};

} // namespace

std::unique_ptr<Device> quantopt::runtime::createCudaDevice() {
  return std::make_unique<NoCudaDevice>();
}

bool quantopt::runtime::cudaDeviceName(std::string &, Failure &failure) {
  failure = {QRT_ERROR_UNSUPPORTED_DEVICE, kNoCuda};
  return false;
}
