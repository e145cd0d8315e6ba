//===- quant-compile.cpp - ONNX model to a QuantOpt bundle ----------------===//
//
// Part of the QuantOpt project.
//
// quant-compile model.onnx --scheme=w8a8 [--calib-data DIR] -o model.qob
//
// Imports, quantizes, compiles for the CPU (default) or an NVIDIA GPU
// (--target sm_80|sm_86|sm_89|sm_90, docs/GPUBackend.md) and writes the
// bundle in one command. With static activation quantization the calibration
// loop runs here: the float model, instrumented to return every tensor to
// calibrate, is compiled for this CPU, run on the calibration samples through
// libquantrt, and its outputs stream into the calibration library; the
// resulting table is folded into the quantized model.
//
//===----------------------------------------------------------------------===//

#include "quantopt-c/Runtime.h"
#include "quantopt/Calibration/CalibrationTable.h"
#include "quantopt/Calibration/Calibrator.h"
#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Import/ONNX/ONNXImporter.h"
#include "quantopt/Pipelines/Pipelines.h"
#include "quantopt/Runtime/BundleFormat.h"
#include "quantopt/Support/FileSafety.h"
#include "quantopt/Target/CPU/BundleWriter.h"
#include "quantopt/Target/CPU/CPUTarget.h"
#include "quantopt/Target/CUDA/CUDATarget.h"

#include "../quant-run/NpyIO.h"

#include "mlir/Dialect/Quant/IR/QuantTypes.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Object/ELFObjectFile.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/WithColor.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace quantopt;
namespace cl = llvm::cl;

static cl::OptionCategory category("quant-compile options");
static cl::opt<std::string> inputPath(cl::Positional, cl::Required,
                                      cl::desc("<model.onnx>"),
                                      cl::cat(category));
static cl::opt<std::string> outputPath("o", cl::Required,
                                       cl::desc("Output bundle (.qob)"),
                                       cl::value_desc("path"),
                                       cl::cat(category));
static cl::opt<std::string>
    scheme("scheme",
           cl::desc("float (no quantization), w8a8, w8a16, w4a16, w4a8 or "
                    "fp8 (default: float)"),
           cl::init("float"), cl::cat(category));
static cl::opt<std::string>
    weightGranularity("weight-granularity",
                      cl::desc("per-tensor, per-channel or per-group"),
                      cl::cat(category));
static cl::opt<int64_t> groupSize("group-size",
                                  cl::desc("Rows of K per weight scale"),
                                  cl::init(0), cl::cat(category));
static cl::opt<std::string>
    symmetric("symmetric", cl::desc("Symmetric weights: true or false"),
              cl::cat(category));
static cl::opt<std::string>
    activationMode("activation-mode",
                   cl::desc("static (calibrated) or dynamic (per tensor at "
                            "run time); default static"),
                   cl::cat(category));
static cl::opt<std::string> activationGranularity(
    "activation-granularity",
    cl::desc("per-tensor (default) or per-token (one scale and zero point "
             "per row; with --activation-mode=dynamic)"),
    cl::cat(category));
static cl::list<std::string>
    excludeNodes("exclude-nodes", cl::CommaSeparated,
                 cl::desc("Regexes of node names to keep in float"),
                 cl::cat(category));
static cl::list<std::string>
    excludeOpTypes("exclude-op-types", cl::CommaSeparated,
                   cl::desc("Op names to keep in float"), cl::cat(category));
static cl::opt<std::string> calibData(
    "calib-data",
    cl::desc("Calibration samples: a directory of .npz files (arrays named "
             "by input), a directory of .npy files (single-input models), "
             "or one .npz file"),
    cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string> calibMethod("calib-method",
                                        cl::desc("minmax, percentile, "
                                                 "entropy or mse"),
                                        cl::init("minmax"), cl::cat(category));
static cl::opt<std::string> calibTable(
    "calibration-table",
    cl::desc("Use an existing calibration table instead of --calib-data"),
    cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string>
    saveCalibTable("save-calibration-table",
                   cl::desc("Also write the computed calibration table here"),
                   cl::value_desc("path"), cl::cat(category));
static cl::opt<std::string> cpu("cpu",
                                cl::desc("CPU of the generated code: "
                                         "x86-64-v3 (AVX2, default), "
                                         "x86-64-v4, native, ..."),
                                cl::init("x86-64-v3"), cl::cat(category));
static cl::opt<std::string>
    target("target",
           cl::desc("What the bundle runs on: cpu (default), or the NVIDIA "
                    "GPU sm_80, sm_86, sm_89 or sm_90"),
           cl::init("cpu"), cl::cat(category));
static cl::opt<std::string> gpuKernel(
    "gpu-kernel",
    cl::desc("GPU targets: the kernel of every quantized matmul: auto "
             "(default: from the scheme and the GPU), or forced: w4a16, "
             "w8a8 (int4 weight-only matmuls run as W4A8 with per-token "
             "dynamic activations), w8a8-wgmma (sm_90: the warpgroup-MMA "
             "variant, not yet validated on hardware), generic"),
    cl::init("auto"), cl::cat(category));
static cl::opt<int64_t> gpuW4A8MinM(
    "gpu-w4a8-min-m",
    cl::desc("GPU targets, --gpu-kernel=auto: per-channel int4 weight-only "
             "matmuls with at least N rows (M) run as W4A8 on the int8 "
             "kernel (activations quantized per token at run time), fewer "
             "rows on the W4A16 kernel; a dynamic M is bucketed at run "
             "time. 0 (default): W4A16 for every M"),
    cl::value_desc("N"), cl::init(0), cl::cat(category));
static cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("CUDA toolkit of GPU targets, holding bin/ptxas and "
             "bin/fatbinary (default: $CUDA_PATH, else /usr/local/cuda)"),
    cl::value_desc("dir"), cl::cat(category));
static cl::opt<unsigned>
    optLevel("O", cl::Prefix,
             cl::desc("Optimization level of the generated code (0-3, "
                      "default 3; the kernels are always optimized)"),
             cl::init(3), cl::cat(category));
static cl::opt<std::string> linker("linker",
                                   cl::desc("C compiler driver used to link"),
                                   cl::init("cc"), cl::cat(category));
static cl::opt<std::string>
    emitMLIR("emit-mlir",
             cl::desc("Also write the quantized qnn module (before lowering)"),
             cl::value_desc("path"), cl::cat(category));
static cl::opt<bool>
    printKernels("print-kernels",
                 cl::desc("Print the kernel chosen for each matmul and why "
                          "(GPU targets: every generated kernel with its "
                          "node and launch sizes)"),
                 cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No progress output"),
                           cl::cat(category));

static int fail(const llvm::Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "quant-compile") << msg << "\n";
  return 1;
}

static llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

namespace {

/// The quantize pipeline options as the pass option string.
std::string pipelineOptions(llvm::StringRef tablePath) {
  std::string s = "scheme=" + scheme;
  if (!weightGranularity.empty())
    s += " weight-granularity=" + weightGranularity;
  if (groupSize > 0)
    s += " group-size=" + std::to_string(groupSize);
  if (!symmetric.empty())
    s += " symmetric=" + symmetric;
  if (!activationMode.empty())
    s += " activation-mode=" + activationMode;
  if (!activationGranularity.empty())
    s += " activation-granularity=" + activationGranularity;
  if (!excludeNodes.empty())
    s += " exclude-nodes=" + llvm::join(excludeNodes, ",");
  if (!excludeOpTypes.empty())
    s += " exclude-op-types=" + llvm::join(excludeOpTypes, ",");
  if (!tablePath.empty())
    s += " calibration-table=" + tablePath.str();
  return s;
}

bool needsCalibration(ModuleOp module) {
  bool found = false;
  module.walk([&](qnn::QuantizeOp q) {
    if (isa<quant::CalibratedQuantizedType>(
            cast<ShapedType>(q.getType()).getElementType()))
      found = true;
  });
  return found;
}

/// Every file this compile reads; no output may replace one of them.
InputSet inputFiles;

/// One calibration sample: input name -> array.
using Sample = std::map<std::string, NpyArray>;

llvm::Expected<std::vector<std::string>> listSamples(llvm::StringRef path) {
  std::vector<std::string> files;
  if (!llvm::sys::fs::is_directory(path)) {
    if (!llvm::sys::fs::exists(path))
      return makeError("--calib-data '" + path + "' does not exist");
    files.push_back(path.str());
    return files;
  }
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec)) {
    llvm::StringRef ext = llvm::sys::path::extension(it->path());
    if (ext == ".npz" || ext == ".npy")
      files.push_back(it->path());
  }
  if (ec)
    return makeError("cannot list '" + path + "': " + ec.message());
  llvm::sort(files);
  for (const std::string &f : files)
    inputFiles.add(f, "calibration sample");
  if (files.empty())
    return makeError("--calib-data '" + path +
                     "' holds no .npz or .npy files; write one sample per "
                     "file with numpy.savez(path, **{input_name: array})");
  return files;
}

llvm::Expected<Sample> readSample(llvm::StringRef file,
                                  llvm::ArrayRef<std::string> inputNames) {
  Sample s;
  if (file.ends_with(".npy")) {
    if (inputNames.size() != 1)
      return makeError(file +
                       ": a .npy sample only fits a model with one "
                       "input; this one has " +
                       std::to_string(inputNames.size()) +
                       ": use .npz files with arrays named by input");
    auto a = readNpy(file);
    if (!a)
      return a.takeError();
    s[inputNames[0]] = std::move(*a);
    return s;
  }
  auto entries = readNpz(file);
  if (!entries)
    return entries.takeError();
  for (auto &[name, a] : *entries)
    s[name] = std::move(a);
  for (const std::string &n : inputNames)
    if (!s.count(n))
      return makeError(file + ": no array named '" + n +
                       "' (the model's input); arrays must be named by "
                       "input");
  return s;
}

/// Replaces each dequantize(quantize(x)) by x: the float model the
/// calibration runs.
void stripFakeQuant(ModuleOp module) {
  module.walk([](qnn::DequantizeOp dq) {
    if (auto q = dq.getInput().getDefiningOp<qnn::QuantizeOp>())
      if (q.getInput().getType() == dq.getType())
        dq.replaceAllUsesWith(q.getInput());
  });
  module.walk([](qnn::DequantizeOp dq) {
    if (dq->use_empty())
      dq.erase();
  });
  module.walk([](qnn::QuantizeOp q) {
    if (q->use_empty())
      q.erase();
  });
}

llvm::Error writeBundleFile(llvm::StringRef path,
                            std::vector<CompiledWeight> &compiledWeights,
                            const std::string &sharedObject,
                            llvm::json::Object manifest,
                            llvm::json::Object extra) {
  std::vector<BundleWeight> weights;
  for (CompiledWeight &w : compiledWeights) {
    BundleWeight bw;
    bw.name = w.name;
    bw.dtype = w.dtype;
    bw.shape.assign(w.shape.begin(), w.shape.end());
    llvm::ArrayRef<char> data = w.data();
    bw.bytes = llvm::ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(data.data()), data.size());
    weights.push_back(std::move(bw));
  }
  for (auto &kv : extra)
    manifest[kv.first] = std::move(kv.second);
  llvm::ArrayRef<uint8_t> so(
      reinterpret_cast<const uint8_t *>(sharedObject.data()),
      sharedObject.size());
  // Streamed: neither the weights section nor the bundle is ever built in
  // memory, and each weight is freed once written (docs/Memory.md).
  return writeOutputFile(
      path, "-o", inputFiles, [&](llvm::raw_ostream &os) -> llvm::Error {
        return writeBundleStreamed(os, std::move(manifest), weights, so,
                                   [&](size_t i) {
                                     if (compiledWeights[i].release)
                                       compiledWeights[i].release();
                                   });
      });
}

llvm::Error runtimeError(llvm::StringRef what) {
  return makeError(what + ": " + qrt_last_error());
}

/// Compiles the instrumented float model, runs it on every sample and
/// returns the calibration table.
llvm::Expected<calibration::CalibrationTable>
calibrate(ModuleOp normalized, llvm::StringRef dataPath) {
  auto method = calibration::parseMethod(calibMethod);
  if (!method)
    return makeError("--calib-method: " + llvm::toString(method.takeError()));
  calibration::CalibrationOptions options;
  options.method = *method;
  if (llvm::Error e = options.validate())
    return std::move(e);

  OwningOpRef<ModuleOp> module(cast<ModuleOp>(normalized->clone()));
  {
    auto qopts = QuantizePipelineOptions::createFromString(pipelineOptions(""));
    if (!qopts)
      return makeError("invalid quantization options");
    PassManager pm(module->getContext());
    buildCalibrationPipeline(pm, *qopts);
    if (failed(pm.run(*module)))
      return makeError("instrumenting the model for calibration failed");
  }
  // The calibration keys, in result order, after the model's own outputs.
  func::FuncOp func = *module->getOps<func::FuncOp>().begin();
  std::vector<std::string> keys;
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    if (auto k =
            func.getResultAttrOfType<StringAttr>(i, "qnn.calibration_key")) {
      keys.push_back(k.str());
      func.setResultAttr(i, "qnn.name", k);
    } else {
      keys.push_back("");
    }
  }
  stripFakeQuant(*module);
  std::vector<std::string> inputNames;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto n = func.getArgAttrOfType<StringAttr>(i, "qnn.name");
    inputNames.push_back(n ? n.str() : "input" + std::to_string(i));
  }

  CPUCompileOptions copts;
  copts.cpu = "native";
  copts.linker = linker;
  auto compiled = compileForCPU(*module, copts);
  if (!compiled)
    return compiled.takeError();
  llvm::SmallString<128> tmp;
  if (auto ec =
          llvm::sys::fs::createTemporaryFile("quantopt-calib", "qob", tmp))
    return makeError("cannot create a temporary file: " + ec.message());
  llvm::FileRemover remover(tmp);
  if (llvm::Error e =
          writeBundleFile(tmp, compiled->weights, compiled->sharedObject,
                          std::move(compiled->manifest), {}))
    return std::move(e);
  qrt_bundle *bundle = nullptr;
  if (qrt_bundle_load(tmp.c_str(), &bundle) != QRT_OK)
    return runtimeError("loading the calibration model");
  llvm::scope_exit freeBundle([&] { qrt_bundle_free(bundle); });

  auto files = listSamples(dataPath);
  if (!files)
    return files.takeError();
  std::map<std::string, calibration::TensorStatistics> stats;
  for (const std::string &k : keys) {
    if (k.empty())
      continue;
    auto s = calibration::TensorStatistics::create(options);
    if (!s)
      return s.takeError();
    stats.emplace(k, std::move(*s));
  }
  bool tty = llvm::sys::Process::StandardErrIsDisplayed() && !quiet;
  for (auto [i, file] : llvm::enumerate(*files)) {
    auto sample = readSample(file, inputNames);
    if (!sample)
      return sample.takeError();
    std::vector<qrt_tensor> inputs;
    for (const std::string &n : inputNames) {
      const NpyArray &a = (*sample)[n];
      inputs.push_back(
          qrt_tensor{a.dtype, (int64_t)a.shape.size(), a.shape.data(), a.data});
    }
    qrt_result *result = nullptr;
    if (qrt_bundle_run(bundle, inputs.data(), inputs.size(), &result) != QRT_OK)
      return runtimeError(file);
    llvm::scope_exit freeResult([&] { qrt_result_free(result); });
    for (auto [r, key] : llvm::enumerate(keys)) {
      if (key.empty())
        continue;
      qrt_tensor t;
      if (qrt_result_output(result, r, nullptr, &t) != QRT_OK)
        return runtimeError(file);
      int64_t n = 1;
      for (int64_t d = 0; d < t.rank; ++d)
        n *= t.shape[d];
      if (t.dtype != QRT_DTYPE_FLOAT32)
        return makeError("calibration output '" + key + "' is not float32");
      if (llvm::Error e = stats.at(key).observe(
              llvm::ArrayRef<float>(static_cast<const float *>(t.data), n)))
        return makeError(file + ": tensor '" + key +
                         "': " + llvm::toString(std::move(e)));
    }
    if (tty)
      llvm::errs() << "\rquant-compile: calibrating: " << (i + 1) << "/"
                   << files->size() << " samples";
  }
  if (tty)
    llvm::errs() << "\n";
  calibration::CalibrationTable table;
  table.options = options;
  for (auto &[key, s] : stats) {
    auto range = s.compute();
    if (!range)
      return makeError("tensor '" + key +
                       "': " + llvm::toString(range.takeError()));
    table.tensors[key] = *range;
  }
  return table;
}

/// The linker's product must be an x86-64 ELF shared object exporting the
/// manifest's entry symbol; anything else (say --linker=/bin/true, which
/// writes nothing and exits 0) would make an unusable bundle.
llvm::Error checkLinkedObject(llvm::StringRef bytes,
                              const llvm::json::Object &manifest) {
  std::string hint = "; check --linker '" + linker +
                     "' (a C compiler driver such as cc, gcc or clang)";
  if (bytes.empty())
    return makeError("the linker produced an empty shared object" + hint);
  auto object = llvm::object::ObjectFile::createObjectFile(
      llvm::MemoryBufferRef(bytes, "native"));
  if (!object)
    return makeError("the linker's output is not an object file (" +
                     llvm::toString(object.takeError()) + ")" + hint);
  auto *elf = llvm::dyn_cast<llvm::object::ELF64LEObjectFile>(object->get());
  if (!elf || elf->getArch() != llvm::Triple::x86_64 ||
      elf->getELFFile().getHeader().e_type != llvm::ELF::ET_DYN)
    return makeError("the linker's output is not an x86-64 ELF shared "
                     "object" +
                     hint);
  llvm::StringRef entry =
      manifest.getString("entry").value_or(bundle::kDefaultEntry);
  for (const llvm::object::ELFSymbolRef &sym : elf->getDynamicSymbolIterators())
    if (auto name = sym.getName(); name && *name == entry) {
      auto flags = sym.getFlags();
      if (flags && !(*flags & llvm::object::SymbolRef::SF_Undefined))
        return llvm::Error::success();
    }
  return makeError("the linked shared object does not define the entry "
                   "symbol '" +
                   entry + "'" + hint);
}

using OptionList = std::vector<const cl::Option *>;

/// Every output against every input known so far (and against each other);
/// returns the exit status on error.
std::optional<int> checkOutputs() {
  struct NamedOutput {
    const char *flag;
    const std::string &path;
  };
  NamedOutput outputs[] = {{"-o", outputPath},
                           {"--emit-mlir", emitMLIR},
                           {"--save-calibration-table", saveCalibTable}};
  for (auto [i, out] : llvm::enumerate(outputs)) {
    if (out.path.empty())
      continue;
    if (llvm::Error e = inputFiles.checkOutput(out.path, out.flag))
      return fail(llvm::toString(std::move(e)));
    for (const NamedOutput &other : llvm::ArrayRef(outputs).take_front(i))
      if (!other.path.empty() && other.path == out.path &&
          out.path != "/dev/null")
        return fail(std::string(out.flag) + " and " + other.flag +
                    " both write '" + out.path +
                    "'; give them different paths");
  }
  return std::nullopt;
}

/// Rejects option values out of range and options that would have no
/// effect with the others given; returns the exit status on error.
std::optional<int> validateOptions() {
  auto given = [](const cl::Option &o) { return o.getNumOccurrences() > 0; };
  static const char *const kSchemes[] = {"float", "w8a8", "w8a16",
                                         "w4a16", "w4a8", "fp8"};
  if (!llvm::is_contained(kSchemes, llvm::StringRef(scheme)))
    return fail("unknown --scheme '" + scheme +
                "'; valid: float, w8a8, w8a16, w4a16, w4a8, fp8");
  bool isFloat = scheme == "float";
  bool weightOnly = scheme == "w8a16" || scheme == "w4a16";
  bool fourBit = scheme == "w4a16" || scheme == "w4a8";
  // Options that only mean something when weights are quantized.
  if (isFloat)
    for (const cl::Option *o :
         OptionList{&weightGranularity, &groupSize, &symmetric, &activationMode,
                    &activationGranularity, std::addressof(excludeNodes),
                    std::addressof(excludeOpTypes), &calibData, &calibMethod,
                    &calibTable, &saveCalibTable})
      if (given(*o))
        return fail("--" + o->ArgStr +
                    " has no effect with --scheme=float (no quantization); "
                    "choose a quantizing --scheme or remove --" +
                    o->ArgStr);
  // Options that only mean something when activations are quantized, and
  // the calibration ones only when they are quantized statically.
  if (weightOnly)
    for (const cl::Option *o :
         OptionList{&activationMode, &activationGranularity, &calibData,
                    &calibMethod, &calibTable, &saveCalibTable})
      if (given(*o))
        return fail("--" + o->ArgStr +
                    " has no effect with --scheme=" + scheme +
                    " (weight-only: activations stay float); remove --" +
                    o->ArgStr + " or choose w8a8, w4a8 or fp8");
  if (!activationMode.empty() && activationMode != "static" &&
      activationMode != "dynamic")
    return fail("unknown --activation-mode '" + activationMode +
                "'; valid: static, dynamic");
  if (!activationGranularity.empty() && activationGranularity != "per-tensor" &&
      activationGranularity != "per-token")
    return fail("unknown --activation-granularity '" + activationGranularity +
                "'; valid: per-tensor, per-token");
  if (activationMode == "dynamic")
    for (const cl::Option *o :
         OptionList{&calibData, &calibMethod, &calibTable, &saveCalibTable})
      if (given(*o))
        return fail("--" + o->ArgStr +
                    " has no effect with --activation-mode=dynamic (ranges "
                    "are computed at run time); remove --" +
                    o->ArgStr + " or use --activation-mode=static");
  if (given(calibData) && given(calibTable))
    return fail("--calib-data and --calibration-table both give the "
                "activation ranges; pass one of them");
  if (given(saveCalibTable) && !given(calibData))
    return fail("--save-calibration-table writes the table computed from "
                "--calib-data; add --calib-data DIR or remove "
                "--save-calibration-table");
  if (given(calibMethod) && !given(calibData))
    return fail("--calib-method applies to --calib-data; add --calib-data "
                "DIR or remove --calib-method");
  if (!symmetric.empty() && symmetric != "true" && symmetric != "false")
    return fail("--symmetric '" + symmetric + "': must be true or false");
  if (!weightGranularity.empty() && weightGranularity != "per-tensor" &&
      weightGranularity != "per-channel" && weightGranularity != "per-group")
    return fail("unknown --weight-granularity '" + weightGranularity +
                "'; valid: per-tensor, per-channel, per-group");
  if (given(groupSize)) {
    // The kernels index groups with 32-bit arithmetic; no real K comes near.
    if (groupSize <= 0 || groupSize > (int64_t(1) << 24))
      return fail("--group-size " + std::to_string(groupSize) +
                  ": must be a positive number of rows of K, at most " +
                  std::to_string(int64_t(1) << 24) + " (typical: 32, 64, 128)");
    bool perGroup = weightGranularity == "per-group" ||
                    (weightGranularity.empty() && fourBit);
    if (!perGroup)
      return fail(
          "--group-size applies to per-group weights, but --scheme=" + scheme +
          (weightGranularity.empty()
               ? " has per-channel weights by default"
               : " with --weight-granularity=" + weightGranularity) +
          "; add --weight-granularity=per-group or remove --group-size");
  }
  if (optLevel > 3)
    return fail("-O" + std::to_string(optLevel) + ": the level must be 0-3");
  bool gpu = target != "cpu";
  if (given(cpu)) {
    if (gpu)
      return fail("--cpu applies to CPU bundles; remove --cpu or --target " +
                  target);
    // The same check LLVM's X86 backend makes, made before it can end the
    // process with a fatal error on an unknown name.
    if (cpu != "native" &&
        llvm::X86::parseArchX86(cpu, /*Only64Bit=*/true) == llvm::X86::CK_None)
      return fail("unknown --cpu '" + cpu +
                  "'; use an x86-64 CPU name LLVM knows, e.g. x86-64-v3, "
                  "x86-64-v4, skylake-avx512, znver4, sapphirerapids, or "
                  "native (list: llc -mtriple=x86_64 -mcpu=help)");
  }
  if (llvm::sys::findProgramByName(linker).getError() &&
      !llvm::sys::fs::can_execute(linker.getValue()))
    return fail("--linker '" + linker +
                "' is not an executable program on PATH; pass a C compiler "
                "driver such as cc, gcc or clang");

  // Inputs first, so that outputs can be checked against them.
  inputFiles.add(inputPath, "ONNX model");
  if (given(calibTable))
    inputFiles.add(calibTable, "calibration table");
  // The samples now, so that an output naming one is refused before any
  // work (listSamples records them).
  if (given(calibData) && !isFloat && !weightOnly &&
      activationMode != "dynamic" && !gpu)
    if (auto files = listSamples(calibData); !files)
      return fail(llvm::toString(files.takeError()));
  return checkOutputs();
}

/// Prints the GPU kernels for --print-kernels.
void printCUDAKernels(llvm::ArrayRef<CUDAKernelInfo> kernels) {
  auto dims = [](const std::optional<std::array<int64_t, 3>> &d) {
    if (!d)
      return std::string("dynamic");
    return "(" + std::to_string((*d)[0]) + "," + std::to_string((*d)[1]) + "," +
           std::to_string((*d)[2]) + ")";
  };
  for (const CUDAKernelInfo &k : kernels)
    llvm::outs() << (k.node.empty() ? "?" : k.node) << ": " << k.module
                 << "::" << k.name << " grid=" << dims(k.grid)
                 << " block=" << dims(k.block)
                 << (k.choice.empty() ? ""
                                      : " [" + k.choice + ": " + k.reason + "]")
                 << "\n";
}

int compile() {
  if (std::optional<int> rc = validateOptions())
    return *rc;
  bool gpu = target != "cpu";
  if (gpu && !getCUDAComputeCapability(target))
    return fail("unknown --target '" + target + "'; valid: cpu, " +
                llvm::join(getSupportedCUDAChips(), ", "));
  if (!llvm::is_contained({"auto", "w4a16", "w8a8", "w8a8-wgmma", "generic"},
                          llvm::StringRef(gpuKernel)))
    return fail("unknown --gpu-kernel '" + gpuKernel +
                "'; valid: auto, w4a16, w8a8, w8a8-wgmma, generic");
  if (gpuKernel == "w8a8-wgmma" && target != "sm_90")
    return fail("--gpu-kernel=w8a8-wgmma needs --target sm_90 (warpgroup "
                "MMA exists only on sm_90a parts: H100, H200)");
  if (gpuW4A8MinM < 0)
    return fail("--gpu-w4a8-min-m must be 0 (off) or a positive row count, "
                "got " +
                std::to_string(gpuW4A8MinM));
  if (gpuW4A8MinM > 0 && (!gpu || gpuKernel != "auto"))
    return fail("--gpu-w4a8-min-m applies to GPU targets with "
                "--gpu-kernel=auto; add --target sm_80 (or sm_86, sm_89, "
                "sm_90) and remove --gpu-kernel, or remove --gpu-w4a8-min-m");
  if (!gpu && gpuKernel != "auto")
    return fail("--gpu-kernel applies to GPU targets; add --target sm_80 "
                "(or sm_86, sm_89, sm_90), or remove --gpu-kernel");
  if (gpu && !calibData.empty())
    return fail("--calib-data runs the model on this machine's CPU and is "
                "not supported with --target " +
                target +
                " yet: compute the table with a CPU compile "
                "(--save-calibration-table) and pass --calibration-table");
  if (gpu) {
    // Fail before any long-running step.
    auto toolkit = findCUDAToolkit(cudaPath);
    if (!toolkit)
      return fail(llvm::toString(toolkit.takeError()));
  }
  DialectRegistry registry;
  registerAllDialects(registry);
  registerONNXImportDialects(registry);
  registerCPUTargetDialects(registry);
  if (gpu)
    registerCUDATargetDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  ModelDiagnosticHandler handler(&context, llvm::errs());

  bool isFloat = scheme == "float";
  ONNXImportOptions importOptions;
  importOptions.inputFiles = &inputFiles;
  OwningOpRef<ModuleOp> module =
      importONNXFile(inputPath, &context, importOptions);
  if (!module)
    return 1;
  // The model's external data files are known now; no output may be one.
  if (std::optional<int> rc = checkOutputs())
    return *rc;
  {
    PassManager pm(&context);
    if (failed(buildNormalizePipeline(pm)) || failed(pm.run(*module)))
      return fail("normalizing the model failed");
  }
  // Weights that folding replaced (docs/Memory.md); here and after each
  // stage below, the module is the only user of the context's blobs.
  releaseUnreferencedResources(*module);
  if (isFloat) {
    // A model that is already quantized (QDQ, QLinearMatMul, MatMulInteger,
    // MatMulNBits) still becomes integer kernels; a float model is
    // unchanged.
    PassManager pm(&context);
    buildFuseQuantizedPipeline(pm);
    if (failed(pm.run(*module)))
      return fail("recognizing the model's quantized layers failed");
  }
  std::string tablePath;
  llvm::SmallString<128> tmpTable;
  std::optional<llvm::FileRemover> tableRemover;
  if (!isFloat) {
    // Validate the options before any long-running step.
    auto qopts = QuantizePipelineOptions::createFromString(pipelineOptions(""));
    if (!qopts)
      return fail("invalid quantization options (see above); e.g. "
                  "--scheme=w8a8 --activation-mode=dynamic");
    bool quantizesActivations = qopts->scheme == qnn::QuantScheme::W8A8 ||
                                qopts->scheme == qnn::QuantScheme::W4A8 ||
                                qopts->scheme == qnn::QuantScheme::FP8;
    if (quantizesActivations &&
        qopts->activationMode == qnn::ActivationMode::Static &&
        calibTable.empty() && calibData.empty())
      return fail("scheme '" + scheme +
                  "' quantizes activations statically and needs their "
                  "ranges: pass --calib-data DIR (samples of the model's "
                  "inputs) or --calibration-table FILE, or use "
                  "--activation-mode=dynamic");
    if (!calibTable.empty()) {
      // Read it once here for a clear message (the pass reads it again).
      if (auto table = calibration::readCalibrationTable(calibTable); !table)
        return fail("--calibration-table: " +
                    llvm::toString(table.takeError()));
      tablePath = calibTable;
    } else if (!calibData.empty()) {
      auto table = calibrate(*module, calibData);
      if (!table)
        return fail(llvm::toString(table.takeError()));
      if (auto ec = llvm::sys::fs::createTemporaryFile("quantopt-table", "json",
                                                       tmpTable))
        return fail("cannot create a temporary file: " + ec.message());
      tableRemover.emplace(tmpTable);
      if (llvm::Error e = calibration::writeCalibrationTable(*table, tmpTable))
        return fail(llvm::toString(std::move(e)));
      if (!saveCalibTable.empty())
        if (llvm::Error e = calibration::writeCalibrationTable(
                *table, saveCalibTable, inputFiles, "--save-calibration-table"))
          return fail(llvm::toString(std::move(e)));
      tablePath = tmpTable.str().str();
    }
    auto qopts2 =
        QuantizePipelineOptions::createFromString(pipelineOptions(tablePath));
    PassManager pm(&context);
    buildQuantizePipeline(pm, *qopts2);
    if (failed(pm.run(*module)))
      return fail("quantizing the model failed");
    // The float weights that quantization replaced, and the calibration
    // compile's packed weights.
    releaseUnreferencedResources(*module);
    if (needsCalibration(*module))
      return fail("scheme '" + scheme +
                  "' quantizes activations statically and needs their "
                  "ranges: pass --calib-data DIR (samples of the model's "
                  "inputs) or --calibration-table FILE, or use "
                  "--activation-mode=dynamic");
  }
  if (!emitMLIR.empty())
    if (llvm::Error e = writeOutputFile(emitMLIR, "--emit-mlir", inputFiles,
                                        [&](llvm::raw_ostream &os) {
                                          module->print(os);
                                          return llvm::Error::success();
                                        }))
      return fail(llvm::toString(std::move(e)));
  llvm::json::Object extra;
  extra["producer"] = llvm::json::Object{{"name", "quantopt"},
                                         {"version", "0.1.0"},
                                         {"llvm", LLVM_VERSION_STRING}};
  extra["source"] = llvm::json::Object{
      {"path", llvm::sys::path::filename(inputPath).str()},
      {"scheme", scheme},
      {"options", isFloat ? std::string() : pipelineOptions("")}};
  if (gpu) {
    CUDACompileOptions gopts;
    gopts.chip = target;
    gopts.toolkitPath = cudaPath;
    gopts.linker = linker;
    gopts.optLevel = optLevel;
    gopts.kernel = gpuKernel;
    gopts.w4a8MinM = gpuW4A8MinM;
    auto compiled = compileForCUDA(*module, gopts);
    if (!compiled)
      return fail(inputPath + ": " + llvm::toString(compiled.takeError()));
    if (llvm::Error e =
            checkLinkedObject(compiled->sharedObject, compiled->manifest))
      return fail(llvm::toString(std::move(e)));
    if (printKernels) {
      printCUDAKernels(compiled->kernels);
      for (const CUDAKernelInfo &k : compiled->fallbacks)
        llvm::outs() << (k.node.empty() ? "?" : k.node) << ": generic kernels ["
                     << k.choice << ": " << k.reason << "]\n";
    }
    if (llvm::Error e = writeBundleFile(
            outputPath, compiled->weights, compiled->sharedObject,
            std::move(compiled->manifest), std::move(extra)))
      return fail(outputPath + ": " + llvm::toString(std::move(e)));
    return 0;
  }
  CPUCompileOptions copts;
  copts.cpu = cpu;
  copts.linker = linker;
  copts.optLevel = optLevel;
  // The module is the context's only one now: the weights it replaces are
  // freed as it goes, and each weight once it is in the bundle.
  copts.ownsWeights = true;
  auto compiled = compileForCPU(*module, copts);
  if (!compiled)
    return fail(inputPath + ": " + llvm::toString(compiled.takeError()));
  if (llvm::Error e =
          checkLinkedObject(compiled->sharedObject, compiled->manifest))
    return fail(llvm::toString(std::move(e)));
  if (printKernels)
    if (const llvm::json::Array *kernels =
            compiled->manifest.getArray("kernels"))
      for (const llvm::json::Value &k : *kernels)
        if (const llvm::json::Object *o = k.getAsObject())
          llvm::outs() << o->getString("node").value_or("?") << ": "
                       << o->getString("kernel").value_or("?") << " ("
                       << o->getString("reason").value_or("") << ")\n";
  if (llvm::Error e =
          writeBundleFile(outputPath, compiled->weights, compiled->sharedObject,
                          std::move(compiled->manifest), std::move(extra)))
    return fail(outputPath + ": " + llvm::toString(std::move(e)));
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  registerAllPasses();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "QuantOpt: ONNX model -> quantized, compiled "
                              "bundle\n");
  return compile();
}
