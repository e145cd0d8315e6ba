//===- CudaRunner.cpp - Running a CUDA bundle: streams, graphs, events ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// A run: inputs are copied to the device on the bundle's stream, the entry
// is called on device descriptors (or its CUDA graph is replayed), outputs
// are copied back into host buffers, every device buffer of the run is
// freed, then the stream is synchronized and any recorded error reported.
// A benchmark times each run with a pair of events on the stream.
//
//===----------------------------------------------------------------------===//

#include "../RuntimeImpl.h"
#include "CudaBundle.h"
#include "CudaStatus.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cstdlib>

using namespace llvm;
using namespace quantopt::runtime;
using namespace quantopt::runtime::cuda;

/// Size of the buffer written to flush the L2 cache between timed runs
/// (larger than the L2 of every supported GPU).
static constexpr size_t kFlushBytes = 256u << 20;

namespace {

/// One execution of the model on staged device inputs.
class CudaRunner {
public:
  CudaRunner(const qrt_bundle &bundle, CudaBundle &cuda, Failure &failure)
      : bundle(bundle), cuda(cuda), api(*driverApi()), failure(failure) {}

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
    return failRun(bundle, failure, status, message);
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

std::unique_ptr<qrt_result> CudaDevice::run(const qrt_bundle &bundle,
                                            const qrt_tensor *inputs,
                                            int64_t numInputs,
                                            Failure &failure) {
  CudaBundle &cuda = *state;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  ContextScope scope(cuda.context);
  CallScope calls(cuda.stream, /*deferSynchronize=*/false);
  return CudaRunner(bundle, cuda, failure).run(inputs, numInputs);
}

bool CudaDevice::benchmark(const qrt_bundle &bundle, const qrt_tensor *inputs,
                           int64_t numInputs, int32_t warmup,
                           int32_t iterations, bool flushL2, double *timesMs,
                           Failure &failure) {
  CudaBundle &cuda = *state;
  std::lock_guard<std::mutex> lock(cuda.mutex);
  ContextScope scope(cuda.context);
  CallScope calls(cuda.stream, /*deferSynchronize=*/true);
  return CudaRunner(bundle, cuda, failure)
      .benchmark(inputs, numInputs, warmup, iterations, flushL2, timesMs);
}
