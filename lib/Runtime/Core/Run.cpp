//===- Run.cpp - The parts of a run every device shares -------------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// What a run does the same way on every device: check the caller's inputs
// against the manifest, build the MLIR memref descriptors the entry takes,
// decode the result descriptors it fills in (docs/CPUBackend.md, "Model
// entry ABI"), and densify strided results. qrt_bundle_run and
// qrt_bundle_benchmark go to the bundle's Device (CpuDevice.cpp, CUDA/).
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "RuntimeImpl.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace llvm;
using namespace quantopt;
using namespace quantopt::runtime;

qrt_result::~qrt_result() {
  for (QrtResultOutput &output : outputs)
    std::free(output.allocation);
}

/// Number of elements of `shape`, or false on overflow.
static bool numElements(ArrayRef<int64_t> shape, uint64_t &count) {
  count = 1;
  for (int64_t dim : shape)
    if (__builtin_mul_overflow(count, static_cast<uint64_t>(dim), &count))
      return false;
  return true;
}

/// A rank-r memref descriptor: allocated, aligned, offset, sizes[r],
/// strides[r], as 3 + 2r 64-bit words.
void quantopt::runtime::fillDescriptor(int64_t *words, const void *data,
                                       ArrayRef<int64_t> shape) {
  int64_t rank = shape.size();
  words[0] = reinterpret_cast<intptr_t>(data);
  words[1] = reinterpret_cast<intptr_t>(data);
  words[2] = 0;
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    words[3 + i] = shape[i];
    words[3 + rank + i] = stride;
    stride *= shape[i];
  }
}

/// Copies a strided tensor into a dense row-major buffer.
void quantopt::runtime::copyStrided(const uint8_t *src, ArrayRef<int64_t> sizes,
                                    ArrayRef<int64_t> strides,
                                    size_t elementSize, uint8_t *dst) {
  int64_t rank = sizes.size();
  if (rank == 0) {
    std::memcpy(dst, src, elementSize);
    return;
  }
  SmallVector<int64_t> index(rank, 0);
  int64_t inner = sizes[rank - 1];
  bool innerContiguous = strides[rank - 1] == 1;
  while (true) {
    int64_t offset = 0;
    for (int64_t d = 0; d + 1 < rank; ++d)
      offset += index[d] * strides[d];
    const uint8_t *row = src + offset * static_cast<int64_t>(elementSize);
    if (innerContiguous) {
      std::memcpy(dst, row, inner * elementSize);
      dst += inner * elementSize;
    } else {
      for (int64_t j = 0; j < inner; ++j, dst += elementSize)
        std::memcpy(dst,
                    row + j * strides[rank - 1] *
                              static_cast<int64_t>(elementSize),
                    elementSize);
    }
    int64_t d = rank - 2;
    for (; d >= 0; --d) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
    if (d < 0)
      return;
  }
}

/// Fails a check of a run of `bundle`.
bool quantopt::runtime::failRun(const qrt_bundle &bundle, Failure &failure,
                                qrt_status status, const Twine &message) {
  failure.status = status;
  failure.message = (bundle.path + ": " + message).str();
  return false;
}

bool quantopt::runtime::checkInputs(const qrt_bundle &bundle,
                                    const qrt_tensor *inputs, int64_t count,
                                    CheckedInputs &checked, Failure &failure) {
  auto fail = [&](qrt_status status, const Twine &message) {
    return failRun(bundle, failure, status, message);
  };
  size_t expected = bundle.inputs.size();
  if (count < 0 || static_cast<size_t>(count) != expected) {
    std::string names;
    for (const TensorSpec &spec : bundle.inputs)
      names += (names.empty() ? "'" : ", '") + spec.name + "'";
    return fail(QRT_ERROR_INPUT,
                "expected " + Twine(expected) + " input(s) (" + names +
                    "), got " + Twine(count) +
                    "; pass one tensor per input, in manifest order");
  }
  if (count > 0 && !inputs)
    return fail(QRT_ERROR_INVALID_ARGUMENT, "the inputs array is NULL");

  struct Binding {
    int64_t value;
    std::string input;
    int64_t dim;
  };
  StringMap<Binding> bindings;
  for (int64_t i = 0; i < count; ++i) {
    const TensorSpec &spec = bundle.inputs[i];
    const qrt_tensor &tensor = inputs[i];
    std::string where = "input '" + spec.name + "'";
    std::string expectedShape = formatShape(spec.shape);
    if (tensor.dtype != spec.dtype)
      return fail(QRT_ERROR_INPUT,
                  where + ": dtype is " + dtypeName(tensor.dtype) +
                      ", expected " + dtypeName(spec.dtype) +
                      "; convert the array to " + dtypeName(spec.dtype));
    if (tensor.rank < 0 || (tensor.rank > 0 && !tensor.shape))
      return fail(QRT_ERROR_INVALID_ARGUMENT,
                  where + ": invalid rank or NULL shape");
    ArrayRef<int64_t> shape(tensor.shape, tensor.rank);
    if (static_cast<size_t>(tensor.rank) != spec.shape.size())
      return fail(QRT_ERROR_INPUT, where + ": rank is " + Twine(tensor.rank) +
                                       " (shape " + formatShape(shape) +
                                       "), expected " +
                                       Twine(spec.shape.size()) + " (shape " +
                                       expectedShape + "); reshape the array");
    for (auto [d, size] : llvm::enumerate(shape)) {
      if (size < 0)
        return fail(QRT_ERROR_INVALID_ARGUMENT, where + ": dim " + Twine(d) +
                                                    " is " + Twine(size) +
                                                    "; sizes must be >= 0");
      int64_t want = spec.shape[d];
      if (want >= 0 && size != want)
        return fail(QRT_ERROR_INPUT,
                    where + ": dim " + Twine(d) + " is " + Twine(size) +
                        ", expected " + Twine(want) + " (shape " +
                        formatShape(shape) + ", expected " + expectedShape +
                        "); pass an array whose dim " + Twine(d) + " is " +
                        Twine(want));
      const std::string &dimName = spec.dimNames[d];
      if (dimName.empty())
        continue;
      auto [it, inserted] = bindings.try_emplace(
          dimName, Binding{size, spec.name, static_cast<int64_t>(d)});
      if (!inserted && it->second.value != size)
        return fail(QRT_ERROR_INPUT,
                    where + ": dim " + Twine(d) + " ('" + dimName + "') is " +
                        Twine(size) + ", but input '" + it->second.input +
                        "' dim " + Twine(it->second.dim) + " ('" + dimName +
                        "') is " + Twine(it->second.value) +
                        "; inputs must agree on the size of a named dim");
    }
    uint64_t elements;
    uint64_t bytes;
    if (!numElements(shape, elements) ||
        __builtin_mul_overflow(elements, dtypeSize(tensor.dtype), &bytes))
      return fail(QRT_ERROR_INVALID_ARGUMENT,
                  where + ": shape " + formatShape(shape) + " is too large");
    if (bytes > 0 && !tensor.data)
      return fail(QRT_ERROR_INVALID_ARGUMENT, where + ": data is NULL");
    checked.bytes.push_back(bytes);
  }
  for (const auto &binding : bindings)
    checked.dimValues[binding.getKey()] = binding.getValue().value;
  return true;
}

bool quantopt::runtime::decodeOutputs(const qrt_bundle &bundle,
                                      ArrayRef<int64_t> area,
                                      const StringMap<int64_t> &dimValues,
                                      SmallVectorImpl<RawOutput> &raws,
                                      std::string &error) {
  size_t word = 0;
  for (const TensorSpec &spec : bundle.outputs) {
    int64_t rank = spec.shape.size();
    RawOutput raw;
    raw.allocated = reinterpret_cast<void *>(area[word]);
    auto *aligned = reinterpret_cast<const uint8_t *>(area[word + 1]);
    int64_t offset = area[word + 2];
    raw.sizes.assign(area.begin() + word + 3, area.begin() + word + 3 + rank);
    raw.strides.assign(area.begin() + word + 3 + rank,
                       area.begin() + word + 3 + 2 * rank);
    word += descriptorWords(rank);
    size_t elementSize = dtypeSize(spec.dtype);
    raw.start = aligned + offset * static_cast<int64_t>(elementSize);

    uint64_t elements = 0;
    std::string where = "output '" + spec.name + "'";
    if (error.empty()) {
      for (int64_t d = 0; d < rank && error.empty(); ++d) {
        int64_t size = raw.sizes[d];
        int64_t want = spec.shape[d];
        auto bound = spec.dimNames[d].empty()
                         ? dimValues.end()
                         : dimValues.find(spec.dimNames[d]);
        if (bound != dimValues.end() && want < 0)
          want = bound->second;
        if (size < 0 || (want >= 0 && size != want))
          error = (where + " dim " + Twine(d) + " is " + Twine(size) +
                   ", expected " + Twine(want))
                      .str();
      }
      if (error.empty() &&
          (!numElements(raw.sizes, elements) ||
           __builtin_mul_overflow(elements, elementSize, &raw.bytes)))
        error = where + " has an impossibly large shape";
      if (error.empty() && raw.bytes > 0 && !aligned)
        error = where + " has a NULL data pointer";
    }
    raw.contiguous = true;
    int64_t stride = 1;
    for (int64_t d = rank - 1; d >= 0 && elements > 0; --d) {
      if (raw.sizes[d] != 1 && raw.strides[d] != stride)
        raw.contiguous = false;
      stride *= raw.sizes[d];
    }
    raws.push_back(std::move(raw));
  }
  return error.empty();
}

std::string quantopt::runtime::modelOutputMessage(StringRef error) {
  return ("the model returned a result inconsistent with its manifest: " +
          error +
          "; the bundle is inconsistent: recompile the model with "
          "quant-compile")
      .str();
}

std::unique_ptr<qrt_result>
quantopt::runtime::runBundle(const qrt_bundle &bundle, const qrt_tensor *inputs,
                             int64_t numInputs, Failure &failure) {
  return bundle.device->run(bundle, inputs, numInputs, failure);
}

bool quantopt::runtime::benchmarkBundle(const qrt_bundle &bundle,
                                        const qrt_tensor *inputs,
                                        int64_t numInputs, int32_t warmup,
                                        int32_t iterations, bool flushL2,
                                        double *timesMs, Failure &failure) {
  return bundle.device->benchmark(bundle, inputs, numInputs, warmup, iterations,
                                  flushL2, timesMs, failure);
}
