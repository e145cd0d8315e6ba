//===- CudaStatus.h - CUresult to status, message and call state -*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// No CUDA call of libquantrt aborts: the first failing call of the current
// load or run is recorded in the thread's call state (the call and the
// CUresult name) and reported by the runtime afterwards as a qrt_status and
// a message. Private to libquantrt.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDASTATUS_H
#define QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDASTATUS_H

#include "CudaDriver.h"

#include <string>

namespace quantopt::runtime::cuda {

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)".
std::string describe(const DriverApi &api, CUresult result);

/// The CUresult of a failed driver call as a qrt_status.
qrt_status statusOf(CUresult result);

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

extern thread_local CallState callState;

/// Records the first failing CUDA call of the current load or run.
bool check(CUresult result, const char *call, const std::string &detail = "");

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

} // namespace quantopt::runtime::cuda

#endif // QUANTOPT_LIB_RUNTIME_CORE_CUDA_CUDASTATUS_H
