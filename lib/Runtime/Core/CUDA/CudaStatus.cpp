//===- CudaStatus.cpp - CUresult to status, message and call state --------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "CudaStatus.h"

using namespace quantopt::runtime::cuda;

thread_local CallState quantopt::runtime::cuda::callState;

std::string quantopt::runtime::cuda::describe(const DriverApi &api,
                                              CUresult result) {
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

qrt_status quantopt::runtime::cuda::statusOf(CUresult result) {
  return result == CUDA_ERROR_OUT_OF_MEMORY ? QRT_ERROR_OUT_OF_MEMORY
                                            : QRT_ERROR_NATIVE_CODE;
}

bool quantopt::runtime::cuda::check(CUresult result, const char *call,
                                    const std::string &detail) {
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
