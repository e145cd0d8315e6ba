//===- quant-run.cpp - Run a QuantOpt bundle on .npy/.npz inputs ----------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// quant-run model.qob --input x.npy [--input name=y.npy] [--inputs-npz f.npz]
//           [--output out.npz | --output-dir DIR]
//           [--benchmark [--warmup N] [--iterations N] [--min-time S]
//                        [--flush-l2=false]]
//           [--device cpu|cuda] [--cuda-graph]
//           [--threads N] [--print-manifest] [--json]
//
// Loads the bundle through libquantrt's C API (which validates all of it),
// binds the arrays to the model inputs (by name, or in manifest order),
// runs it once and writes the outputs (.npz named by output, or one .npy per
// output) or prints a summary of each; --benchmark then times repeated
// runs (CUDA bundles: timed with CUDA events, see docs/Runtime.md). Every
// error exits non-zero with a message naming the bundle or file
// at fault and how to fix it; outputs are written atomically and only after
// everything else succeeded.
//
//===----------------------------------------------------------------------===//

#include "NpyIO.h"

#include "quantopt-c/Runtime.h"
#include "quantopt/Support/FileSafety.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

using namespace llvm;
using namespace quantopt;

static cl::OptionCategory category("quant-run options");

static cl::opt<std::string> bundlePath(cl::Positional, cl::Required,
                                       cl::desc("<bundle.qob>"),
                                       cl::cat(category));
static cl::list<std::string>
    inputArgs("input",
              cl::desc("An input array: FILE.npy binds the next input in "
                       "manifest order, NAME=FILE.npy the input NAME"),
              cl::value_desc("[name=]file.npy"), cl::cat(category));
static cl::list<std::string>
    inputNpzArgs("inputs-npz",
                 cl::desc("Input arrays from a .npz file, bound by entry "
                          "name (arr_N binds input N)"),
                 cl::value_desc("file.npz"), cl::cat(category));
static cl::opt<std::string>
    outputPath("output",
               cl::desc("Write the outputs to this .npz file, one entry per "
                        "output, named by output"),
               cl::value_desc("file.npz"), cl::cat(category));
static cl::alias outputAlias("o", cl::desc("Alias for --output"),
                             cl::aliasopt(outputPath), cl::cat(category));
static cl::opt<std::string>
    outputDir("output-dir",
              cl::desc("Write each output to DIR/<output name>.npy"),
              cl::value_desc("dir"), cl::cat(category));
static cl::opt<bool> benchmark("benchmark",
                               cl::desc("Time repeated runs of the model"),
                               cl::cat(category));
static cl::opt<unsigned> warmupRuns("warmup",
                                    cl::desc("--benchmark: untimed runs first"),
                                    cl::init(5), cl::cat(category));
static cl::opt<unsigned>
    iterations("iterations",
               cl::desc("--benchmark: at least this many timed runs"),
               cl::init(20), cl::cat(category));
static cl::opt<double>
    minTime("min-time",
            cl::desc("--benchmark: keep running until this many seconds of "
                     "timed runs"),
            cl::init(0.5), cl::cat(category));
static cl::opt<bool>
    flushL2("flush-l2",
            cl::desc("--benchmark, CUDA bundles: flush the GPU's L2 cache "
                     "before each timed run (default on; --flush-l2=false "
                     "keeps it warm)"),
            cl::init(true), cl::cat(category));
static cl::opt<std::string>
    deviceArg("device",
              cl::desc("Where the bundle must run: cpu or cuda (default: "
                       "where it was compiled for; a bundle compiled for the "
                       "other device is an error)"),
              cl::value_desc("cpu|cuda"), cl::cat(category));
static cl::opt<bool>
    cudaGraph("cuda-graph",
              cl::desc("CUDA bundles: capture the model into a CUDA graph "
                       "once and replay it"),
              cl::cat(category));
// libLLVM already registers an option named "threads", so ours is
// registered as --num-threads and main() maps --threads onto it.
static cl::opt<int> threads("num-threads",
                            cl::desc("Kernel threads (also --threads; "
                                     "default: the kernel library's, one per "
                                     "core)"),
                            cl::value_desc("N"), cl::init(0),
                            cl::cat(category));
static cl::opt<bool>
    printManifest("print-manifest",
                  cl::desc("Print the bundle's manifest and exit"),
                  cl::cat(category));
static cl::opt<bool>
    jsonOutput("json",
               cl::desc("Print one machine-readable JSON line instead of "
                        "the human-readable report"),
               cl::cat(category));

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Prints "quant-run: error: <message>" and returns the exit status.
/// --benchmark bounds: a run that cannot end is a mistake, not a benchmark.
static constexpr unsigned kMaxIterations = 1000000000;
static constexpr double kMaxMinTime = 86400;

static int error(const Twine &message) {
  WithColor::error(errs(), "quant-run") << message << "\n";
  return 1;
}

static void note(const Twine &message) {
  WithColor::note(errs(), "quant-run") << message << "\n";
}

namespace {

/// RAII owners of C API handles.
struct BundleHandle {
  qrt_bundle *bundle = nullptr;
  ~BundleHandle() { qrt_bundle_free(bundle); }
};
struct ResultHandle {
  qrt_result *result = nullptr;
  ResultHandle() = default;
  ResultHandle(const ResultHandle &) = delete;
  ~ResultHandle() { qrt_result_free(result); }
};

std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// An input array and where it came from, for messages.
struct BoundInput {
  NpyArray array;
  std::string source;
  bool bound = false;
};

float halfToFloat(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exponent = (h >> 10) & 0x1f,
           mantissa = h & 0x3ff;
  float value;
  if (exponent == 0)
    value = std::ldexp(static_cast<float>(mantissa), -24);
  else if (exponent == 31)
    value = mantissa ? NAN : INFINITY;
  else
    value = std::ldexp(static_cast<float>(mantissa | 0x400),
                       static_cast<int>(exponent) - 25);
  return sign ? -value : value;
}

/// Element `i` of a tensor as a double (for summaries).
double elementAt(const qrt_tensor &t, uint64_t i) {
  const auto *p = static_cast<const uint8_t *>(t.data);
  auto load = [&](auto type) {
    decltype(type) v;
    std::memcpy(&v, p + i * sizeof(v), sizeof(v));
    return static_cast<double>(v);
  };
  switch (t.dtype) {
  case QRT_DTYPE_FLOAT32:
    return load(float());
  case QRT_DTYPE_FLOAT16: {
    uint16_t h;
    std::memcpy(&h, p + 2 * i, 2);
    return halfToFloat(h);
  }
  case QRT_DTYPE_INT8:
    return load(int8_t());
  case QRT_DTYPE_UINT8:
  case QRT_DTYPE_BOOL:
    return load(uint8_t());
  case QRT_DTYPE_INT16:
    return load(int16_t());
  case QRT_DTYPE_UINT16:
    return load(uint16_t());
  case QRT_DTYPE_INT32:
    return load(int32_t());
  case QRT_DTYPE_INT64:
    return load(int64_t());
  case QRT_DTYPE_UINT32:
    return load(uint32_t());
  case QRT_DTYPE_UINT64:
    return load(uint64_t());
  case QRT_DTYPE_FLOAT64:
    return load(double());
  }
  return 0;
}

uint64_t numElements(const qrt_tensor &t) {
  uint64_t n = 1;
  for (int64_t i = 0; i < t.rank; ++i)
    n *= t.shape[i];
  return n;
}

std::string formatValue(double v) {
  std::string text;
  raw_string_ostream os(text);
  os << format("%.6g", v);
  return text;
}

/// Latency statistics in constant memory, however long the benchmark runs:
/// exact count, sum, min and max, and percentiles from a histogram of
/// logarithmic bins 0.1% wide from 1 ns to 10^7 ms (a percentile is the
/// geometric center of its bin, so it is within 0.05% of the sample at that
/// rank).
class LatencyStats {
public:
  LatencyStats() : bins(kNumBins, 0) {}

  void add(double ms) {
    ++count;
    sum += ms;
    lo = std::min(lo, ms);
    hi = std::max(hi, ms);
    ++bins[binOf(ms)];
  }
  uint64_t size() const { return count; }
  double total() const { return sum; }
  double min() const { return lo; }
  double max() const { return hi; }
  double mean() const { return sum / count; }

  /// The sample of rank q/100 * (count - 1), as numpy's "lower" method.
  double percentile(double q) const {
    uint64_t rank = static_cast<uint64_t>(std::floor(q / 100.0 * (count - 1)));
    uint64_t seen = 0;
    for (size_t b = 0; b < bins.size(); ++b) {
      seen += bins[b];
      if (seen > rank)
        return std::clamp(kMinMs * std::pow(kRatio, b + 0.5), lo, hi);
    }
    return hi;
  }

private:
  static constexpr double kMinMs = 1e-6, kMaxMs = 1e7, kRatio = 1.001;
  static inline const size_t kNumBins = static_cast<size_t>(
      std::ceil(std::log(kMaxMs / kMinMs) / std::log(kRatio)));

  static size_t binOf(double ms) {
    if (!(ms > kMinMs))
      return 0;
    double b = std::log(ms / kMinMs) / std::log(kRatio);
    return std::min(static_cast<size_t>(b), kNumBins - 1);
  }

  std::vector<uint64_t> bins;
  uint64_t count = 0;
  double sum = 0, lo = INFINITY, hi = -INFINITY;
};

/// A file name for output `name` (kept readable, never a path).
std::string outputFileName(StringRef name) {
  std::string file;
  for (char c : name)
    file += (isAlnum(c) || c == '_' || c == '-' || c == '.') ? c : '_';
  if (file.empty() || file[0] == '.')
    file = "_" + file;
  return file + ".npy";
}

} // namespace

//===----------------------------------------------------------------------===//
// Binding inputs
//===----------------------------------------------------------------------===//

/// The files quant-run reads; --output and --output-dir never replace one.
static InputSet inputFiles;

/// Reads the input arrays given on the command line and binds them to the
/// model's inputs. Returns the exit status on error.
static std::optional<int> bindInputs(qrt_bundle *bundle,
                                     std::vector<qrt_tensor_info> &infos,
                                     std::vector<BoundInput> &bound) {
  std::string inputNames;
  for (const qrt_tensor_info &info : infos)
    inputNames +=
        (inputNames.empty() ? "'" : ", '") + std::string(info.name) + "'";
  if (inputNames.empty())
    inputNames = "none";
  auto bind = [&](size_t index, NpyArray array,
                  const std::string &source) -> std::optional<int> {
    if (bound[index].bound)
      return error(source + ": input '" + infos[index].name +
                   "' is already given by " + bound[index].source +
                   "; give each input once");
    bound[index] = {std::move(array), source, true};
    return std::nullopt;
  };

  std::vector<std::pair<NpyArray, std::string>> positional;
  for (const std::string &arg : inputArgs) {
    StringRef text = arg;
    std::optional<size_t> index;
    StringRef file = text;
    if (!sys::fs::exists(text) && text.contains('=')) {
      auto [name, rest] = text.split('=');
      int64_t found;
      if (qrt_bundle_find_input(bundle, name.str().c_str(), &found) != QRT_OK)
        return error("--input " + arg + ": the model has no input named '" +
                     name + "'; its inputs are " + inputNames);
      index = found;
      file = rest;
    }
    Expected<NpyArray> array = readNpy(file);
    if (!array)
      return error(file + ": " + toString(array.takeError()));
    inputFiles.add(file, "--input");
    if (index) {
      if (std::optional<int> rc = bind(*index, std::move(*array), file.str()))
        return rc;
    } else {
      positional.emplace_back(std::move(*array), file.str());
    }
  }

  for (const std::string &path : inputNpzArgs) {
    auto arrays = readNpz(path);
    if (!arrays)
      return error(path + ": " + toString(arrays.takeError()));
    inputFiles.add(path, "--inputs-npz");
    for (auto &[key, array] : *arrays) {
      int64_t found;
      unsigned position;
      std::string source = path + " (entry '" + key + "')";
      if (qrt_bundle_find_input(bundle, key.c_str(), &found) == QRT_OK) {
        if (std::optional<int> rc = bind(found, std::move(array), source))
          return rc;
      } else if (StringRef(key).starts_with("arr_") &&
                 !StringRef(key).drop_front(4).getAsInteger(10, position) &&
                 position < infos.size()) {
        if (std::optional<int> rc = bind(position, std::move(array), source))
          return rc;
      } else {
        return error(path + ": entry '" + key +
                     "' matches no input of the model (its inputs are " +
                     inputNames + "); name the entries after the inputs");
      }
    }
  }

  // Unnamed --input files fill the remaining inputs in manifest order.
  size_t next = 0;
  for (auto &[array, source] : positional) {
    while (next < bound.size() && bound[next].bound)
      ++next;
    if (next == bound.size())
      return error(source + ": too many inputs: the model has " +
                   Twine(infos.size()) + " (" + inputNames +
                   "), all already given; remove this --input");
    bound[next] = {std::move(array), source, true};
  }

  for (auto [info, input] : llvm::zip(infos, bound)) {
    if (input.bound)
      continue;
    return error(Twine(bundlePath) + ": no array given for input '" +
                 info.name + "' (" + qrt_dtype_name(info.dtype) + " " +
                 formatShape(ArrayRef<int64_t>(info.shape, info.rank)) +
                 "); pass --input " + info.name + "=FILE.npy");
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// Reporting
//===----------------------------------------------------------------------===//

static json::Object summarize(StringRef name, const qrt_tensor &t) {
  uint64_t count = numElements(t);
  json::Array first;
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  for (uint64_t i = 0; i < count; ++i) {
    double v = elementAt(t, i);
    if (i < 8)
      first.push_back(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  json::Object summary{
      {"name", name},
      {"dtype", qrt_dtype_name(t.dtype)},
      {"shape", json::Array(ArrayRef<int64_t>(t.shape, t.rank))},
      {"first", std::move(first)}};
  if (count) {
    summary["min"] = lo;
    summary["max"] = hi;
    summary["mean"] = sum / count;
  }
  return summary;
}

static void printSummary(StringRef name, const qrt_tensor &t) {
  uint64_t count = numElements(t);
  outs() << name << ": " << qrt_dtype_name(t.dtype) << " "
         << formatShape(ArrayRef<int64_t>(t.shape, t.rank)) << "\n";
  if (!count) {
    outs() << "  (empty)\n";
    return;
  }
  double lo = INFINITY, hi = -INFINITY, sum = 0;
  std::string first;
  for (uint64_t i = 0; i < count; ++i) {
    double v = elementAt(t, i);
    if (i < 8)
      first += (i ? ", " : "") + formatValue(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  outs() << "  values: [" << first << (count > 8 ? ", ..." : "") << "]\n";
  outs() << "  min " << formatValue(lo) << "  max " << formatValue(hi)
         << "  mean " << formatValue(sum / count) << "\n";
}

/// Writes the outputs of `result`; returns the exit status on error.
static std::optional<int> writeOutputs(qrt_result *result) {
  int64_t count = 0;
  qrt_result_num_outputs(result, &count);
  std::vector<std::pair<std::string, std::string>> files;
  for (int64_t i = 0; i < count; ++i) {
    const char *name;
    qrt_tensor t;
    qrt_result_output(result, i, &name, &t);
    files.emplace_back(name,
                       writeNpy(t.dtype, ArrayRef(t.shape, t.rank), t.data,
                                numElements(t) * qrt_dtype_size(t.dtype)));
  }
  if (!outputPath.empty()) {
    Expected<std::string> npz = writeNpz(files);
    if (!npz)
      return error(outputPath + ": " + toString(npz.takeError()));
    if (Error e = writeOutputFile(outputPath, "--output", inputFiles,
                                  [&](raw_ostream &os) {
                                    os << *npz;
                                    return Error::success();
                                  }))
      return error(toString(std::move(e)));
    return std::nullopt;
  }
  if (std::error_code ec = sys::fs::create_directories(outputDir))
    return error(outputDir + ": cannot create the output directory (" +
                 ec.message() + "); pass a writable --output-dir");
  for (const auto &[name, contents] : files) {
    SmallString<256> path(outputDir);
    sys::path::append(path, outputFileName(name));
    if (Error e = writeOutputFile(path, "--output-dir", inputFiles,
                                  [&](raw_ostream &os) {
                                    os << contents;
                                    return Error::success();
                                  }))
      return error(toString(std::move(e)));
  }
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// main
//===----------------------------------------------------------------------===//

int main(int argc, char **argv) {
  InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(category);
  std::vector<std::string> argStorage(argv, argv + argc);
  for (std::string &arg : argStorage) {
    if (arg == "--")
      break;
    for (StringRef spelling : {"--threads", "-threads"})
      if (StringRef(arg) == spelling ||
          StringRef(arg).starts_with((spelling + "=").str()))
        arg = "--num-threads" + arg.substr(spelling.size());
  }
  std::vector<const char *> args;
  for (const std::string &arg : argStorage)
    args.push_back(arg.c_str());
  cl::ParseCommandLineOptions(
      args.size(), args.data(),
      "quant-run: run a QuantOpt bundle on .npy/.npz inputs\n\n"
      "  quant-run model.qob --input x.npy --output out.npz\n"
      "  quant-run model.qob --inputs-npz in.npz --benchmark --threads 4\n"
      "  quant-run gpu-model.qob --input x.npy --benchmark --cuda-graph\n\n"
      "CUDA bundles (compiled with quant-compile --target sm_XX) take and\n"
      "return the same host arrays; they need the NVIDIA driver\n"
      "(libcuda.so.1, or $QUANTOPT_CUDA_LIBRARY) and run on GPU\n"
      "$QUANTOPT_CUDA_DEVICE (default 0). Their --benchmark times each run\n"
      "with CUDA events (GPU time, inputs staged once, L2 flushed unless\n"
      "--flush-l2=false).\n");

  if (!outputPath.empty() && !outputDir.empty())
    return error("--output and --output-dir are both given; pick one");
  if (threads < 0)
    return error("--threads " + Twine(threads) +
                 ": must be >= 1 (or 0 for the default); pass a positive "
                 "thread count");
  if (benchmark && (iterations == 0 || iterations > kMaxIterations))
    return error("--iterations " + Twine(iterations) + ": must be 1-" +
                 Twine(kMaxIterations));
  if (benchmark && !(minTime >= 0 && minTime <= kMaxMinTime))
    return error("--min-time " + formatValue(minTime) +
                 ": must be a number of seconds from 0 to " +
                 formatValue(kMaxMinTime) + " (one day)");
  if (!benchmark)
    for (const cl::Option *o : std::initializer_list<const cl::Option *>{
             &warmupRuns, &iterations, &minTime, &flushL2})
      if (o->getNumOccurrences())
        return error("--" + o->ArgStr +
                     " applies to --benchmark; add "
                     "--benchmark or remove --" +
                     o->ArgStr);
  inputFiles.add(bundlePath, "bundle");
  std::optional<qrt_device> wantDevice;
  if (deviceArg == "cpu")
    wantDevice = QRT_DEVICE_CPU;
  else if (deviceArg == "cuda")
    wantDevice = QRT_DEVICE_CUDA;
  else if (!deviceArg.empty())
    return error("--device " + Twine(deviceArg) +
                 ": unknown device; pass --device cpu or --device cuda");

  // quant-run owns its process: let the runtime tune malloc for the
  // generated code's per-run allocations (libquantrt never does this by
  // itself, see qrt_tune_allocator). Not glibc: run untuned.
  (void)qrt_tune_allocator();

  BundleHandle handle;
  if (qrt_bundle_load(bundlePath.c_str(), &handle.bundle) != QRT_OK)
    return error(qrt_last_error());
  qrt_bundle *bundle = handle.bundle;
  qrt_device device = QRT_DEVICE_CPU;
  qrt_bundle_device(bundle, &device);
  bool onGpu = device == QRT_DEVICE_CUDA;
  if (wantDevice && *wantDevice != device)
    return error(
        Twine(bundlePath) + ": --device " + deviceArg + " but the bundle " +
        (onGpu ? "was compiled for an NVIDIA GPU (manifest target.kind "
                 "\"cuda\"); compile the model for the CPU with quant-compile, "
                 "or drop --device"
               : "was compiled for the CPU (manifest target.kind \"cpu\"); "
                 "compile the model for the GPU with quant-compile --target "
                 "sm_XX, or drop --device"));
  if (cudaGraph && qrt_bundle_set_cuda_graph(bundle, 1) != QRT_OK)
    return error(Twine(qrt_last_error()) + " (--cuda-graph)");

  if (printManifest) {
    const char *text;
    size_t size;
    qrt_bundle_manifest(bundle, &text, &size);
    Expected<json::Value> manifest = json::parse(StringRef(text, size));
    if (!manifest)
      return error(Twine(bundlePath) + ": " + toString(manifest.takeError()));
    if (jsonOutput)
      outs() << *manifest << "\n";
    else
      outs() << formatv("{0:2}", *manifest) << "\n";
    return 0;
  }

  int64_t numInputs = 0;
  qrt_bundle_num_inputs(bundle, &numInputs);
  std::vector<qrt_tensor_info> infos(numInputs);
  for (int64_t i = 0; i < numInputs; ++i)
    qrt_bundle_input_info(bundle, i, &infos[i]);
  std::vector<BoundInput> bound(numInputs);
  if (std::optional<int> rc = bindInputs(bundle, infos, bound))
    return *rc;

  std::vector<qrt_tensor> tensors;
  for (const BoundInput &input : bound)
    tensors.push_back({input.array.dtype,
                       static_cast<int64_t>(input.array.shape.size()),
                       input.array.shape.data(), input.array.data});

  // Refuse a destructive --output before running: the inputs are known.
  if (!outputPath.empty())
    if (Error e = inputFiles.checkOutput(outputPath, "--output"))
      return error(toString(std::move(e)));

  if (threads > 0 && qrt_set_num_threads(threads) != QRT_OK)
    return error(qrt_last_error());

  ResultHandle result;
  qrt_status status =
      qrt_bundle_run(bundle, tensors.data(), tensors.size(), &result.result);
  if (status != QRT_OK) {
    int rc = error(qrt_last_error());
    if (status == QRT_ERROR_INPUT)
      for (auto [info, input] : llvm::zip(infos, bound))
        note("input '" + Twine(info.name) + "' is " + input.source + " (" +
             qrt_dtype_name(input.array.dtype) + " " +
             formatShape(input.array.shape) + ")");
    return rc;
  }

  if (!outputPath.empty() || !outputDir.empty())
    if (std::optional<int> rc = writeOutputs(result.result))
      return *rc;

  if (!benchmark) {
    int64_t count = 0;
    qrt_result_num_outputs(result.result, &count);
    json::Array summaries;
    for (int64_t i = 0; i < count; ++i) {
      const char *name;
      qrt_tensor t;
      qrt_result_output(result.result, i, &name, &t);
      if (jsonOutput)
        summaries.push_back(summarize(name, t));
      else if (outputPath.empty() && outputDir.empty())
        printSummary(name, t);
    }
    if (jsonOutput)
      outs() << json::Value(json::Object{{"bundle", bundlePath},
                                         {"outputs", std::move(summaries)}})
             << "\n";
    return 0;
  }

  // Benchmark: warm-up runs, then timed runs until both the iteration count
  // and the minimum time are reached. CPU bundles: wall-clock time of each
  // qrt_bundle_run; CUDA bundles: CUDA event times from
  // qrt_bundle_benchmark, in batches of --iterations runs.
  LatencyStats times;
  if (onGpu) {
    unsigned warmup = warmupRuns;
    std::vector<double> batch(std::min<unsigned>(iterations, 4096));
    while (times.size() < iterations || times.total() < minTime * 1e3) {
      if (qrt_bundle_benchmark(bundle, tensors.data(), tensors.size(), warmup,
                               batch.size(), flushL2 ? 1 : 0,
                               batch.data()) != QRT_OK)
        return error(qrt_last_error());
      warmup = 0;
      for (double ms : batch)
        times.add(ms);
    }
  } else {
    using Clock = std::chrono::steady_clock;
    auto runOnce = [&]() -> bool {
      qrt_result *r = nullptr;
      if (qrt_bundle_run(bundle, tensors.data(), tensors.size(), &r) != QRT_OK)
        return false;
      qrt_result_free(r);
      return true;
    };
    for (unsigned i = 0; i < warmupRuns; ++i)
      if (!runOnce())
        return error(qrt_last_error());
    while (times.size() < iterations || times.total() < minTime * 1e3) {
      Clock::time_point start = Clock::now();
      if (!runOnce())
        return error(qrt_last_error());
      times.add(std::chrono::duration<double, std::milli>(Clock::now() - start)
                    .count());
    }
  }
  double total = times.total() / 1e3;
  double mean = times.mean();
  double median = times.percentile(50), p10 = times.percentile(10),
         p90 = times.percentile(90), p99 = times.percentile(99);
  double throughput = times.size() / total;
  const char *isa = qrt_kernel_isa();
  char gpuName[256] = "";
  if (onGpu)
    qrt_cuda_device_name(gpuName, sizeof(gpuName));
  if (jsonOutput) {
    json::Object report{{"bundle", bundlePath},
                        {"device", onGpu ? "cuda" : "cpu"},
                        {"timing", onGpu ? "cuda-events" : "wall-clock"},
                        {"threads", threads > 0 ? json::Value(int64_t(threads))
                                                : json::Value(nullptr)},
                        {"kernel_isa", isa},
                        {"warmup", int64_t(warmupRuns)},
                        {"iterations", int64_t(times.size())},
                        {"total_s", total},
                        {"median_ms", median},
                        {"mean_ms", mean},
                        {"p10_ms", p10},
                        {"p90_ms", p90},
                        {"p99_ms", p99},
                        {"min_ms", times.min()},
                        {"max_ms", times.max()},
                        {"throughput_per_s", throughput}};
    if (onGpu) {
      report["gpu"] = gpuName;
      report["cuda_graph"] = bool(cudaGraph);
      report["flush_l2"] = bool(flushL2);
    }
    outs() << json::Value(std::move(report)) << "\n";
    return 0;
  }
  if (onGpu)
    outs() << "benchmark: " << bundlePath << " (cuda: " << gpuName
           << ", CUDA graph " << (cudaGraph ? "on" : "off") << ", L2 "
           << (flushL2 ? "flushed" : "warm") << "), timed with CUDA events\n";
  else
    outs() << "benchmark: " << bundlePath << " (threads "
           << (threads > 0 ? std::to_string(threads) : std::string("default"))
           << ", kernels " << isa << ")\n";
  outs() << "  runs: " << times.size() << " timed after " << warmupRuns
         << " warm-up, " << format("%.3f", total) << " s\n";
  outs() << format("  latency (ms): median %.4f  mean %.4f  p10 %.4f  "
                   "p90 %.4f  p99 %.4f  min %.4f\n",
                   median, mean, p10, p90, p99, times.min());
  outs() << format("  throughput: %.2f runs/s\n", throughput);
  return 0;
}
