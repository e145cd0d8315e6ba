//===- Device.cpp - The device interface's defaults and factory -----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "RuntimeImpl.h"

#include <dlfcn.h>

using namespace llvm;
using namespace quantopt::runtime;

Device::~Device() = default;

bool Device::loadNativeCode(qrt_bundle &, function_ref<bool()> open,
                            Failure &) {
  return open();
}

void Device::unloadNativeCode(qrt_bundle &bundle) {
  ::dlclose(bundle.dlHandle);
}

bool Device::setGraphs(qrt_bundle &bundle, bool, Failure &failure) {
  failure.status = QRT_ERROR_INVALID_ARGUMENT;
  failure.message = bundle.path + ": CUDA graphs apply to CUDA bundles only; "
                                  "this bundle runs on the CPU";
  return false;
}

std::unique_ptr<Device> quantopt::runtime::createDevice(qrt_device kind) {
  switch (kind) {
  case QRT_DEVICE_CPU:
    return createCpuDevice();
  case QRT_DEVICE_CUDA:
    return createCudaDevice();
  }
  return nullptr;
}
