//===- CUDATarget.cpp - Compile a qnn module for an NVIDIA GPU ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The pipeline of docs/GPUBackend.md: qnn -> linalg (as the CPU target, with
// every matmul a linalg contraction), elementwise fusion, constants to
// weights, bufferization, loops -> 1-D grids of 256-thread blocks, host
// memory ops -> GPU runtime ops, kernel outlining, NVVM, and gpu.binary
// fatbins (cubin + PTX, built by the toolkit's ptxas and fatbinary) embedded
// in the host shared object that the CPU target's code emitter links.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CUDA/CUDATarget.h"
#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Support/FileSafety.h"

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Target/CUDA/GPUHostTransforms.h"
#include "quantopt/Target/CUDA/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

#include <set>
#include <tuple>

using namespace mlir;
using namespace quantopt;

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

std::optional<std::array<int64_t, 3>> constantDims(gpu::KernelDim3 dims) {
  std::array<int64_t, 3> out;
  Value vs[3] = {dims.x, dims.y, dims.z};
  for (int i = 0; i < 3; ++i) {
    APInt v;
    if (!vs[i] || !matchPattern(vs[i], m_ConstantInt(&v)))
      return std::nullopt;
    out[i] = v.getSExtValue();
  }
  return out;
}

llvm::json::Value dimsJSON(const std::optional<std::array<int64_t, 3>> &d) {
  if (!d)
    return nullptr;
  return llvm::json::Array{(*d)[0], (*d)[1], (*d)[2]};
}

} // namespace

//===----------------------------------------------------------------------===//
// Chips and toolkit
//===----------------------------------------------------------------------===//

llvm::ArrayRef<llvm::StringRef> quantopt::getSupportedCUDAChips() {
  static const std::vector<llvm::StringRef> chips = [] {
    std::vector<llvm::StringRef> names;
    for (const GPUTargetInfo &t : getGPUTargets())
      names.push_back(t.name);
    return names;
  }();
  return chips;
}

std::optional<int> quantopt::getCUDAComputeCapability(llvm::StringRef chip) {
  if (const GPUTargetInfo *info = lookupGPUTarget(chip))
    return info->computeCapability;
  return std::nullopt;
}

llvm::Expected<std::string> quantopt::findCUDAToolkit(llvm::StringRef option) {
  std::string path = option.str(), from = "--cuda-path";
  if (path.empty())
    if (std::optional<std::string> env =
            llvm::sys::Process::GetEnv("CUDA_PATH"))
      if (!env->empty()) {
        path = *env;
        from = "$CUDA_PATH";
      }
  if (path.empty()) {
    path = "/usr/local/cuda";
    from = "the default";
  }
  for (const char *tool : {"ptxas", "fatbinary"}) {
    llvm::SmallString<128> bin(path);
    llvm::sys::path::append(bin, "bin", tool);
    if (!llvm::sys::fs::can_execute(bin))
      return makeError("the CUDA toolkit at '" + path + "' (" + from +
                       ") has no " + tool + " (looked for " + bin +
                       "); install the CUDA compiler tools (e.g. apt install "
                       "cuda-nvcc-13-0, or the cuda-toolkit package) and point "
                       "--cuda-path or CUDA_PATH at the toolkit directory");
  }
  return path;
}

//===----------------------------------------------------------------------===//
// Pipeline
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<CompiledWeight>>
quantopt::lowerToGPUDialect(ModuleOp module,
                            const CUDACompileOptions &options) {
  MLIRContext *ctx = module.getContext();
  auto found = getModelFunction(module);
  if (!found)
    return found.takeError();
  func::FuncOp func = *found;
  func.setName("quantopt_model");

  // 1. qnn -> tensor-level upstream IR, matmuls as linalg contractions or
  //    launches of QuantOpt's kernels; elementwise chains fused; splat
  //    constants become fills.
  if (!lookupGPUTarget(options.chip) || !parseGPUKernel(options.kernel))
    return makeError("unknown GPU '" + options.chip + "' or kernel '" +
                     options.kernel + "'");
  GPUPipelineOptions pipeline;
  setGPUPipelineOptions(pipeline, options);
  PassManager pm(ctx);
  buildGPULowerPipeline(pm, pipeline);
  if (failed(pm.run(module)))
    return makeError("lowering to the GPU failed (see the errors above)");

  // 2. Every remaining tensor constant is a weight: data the .so held would
  //    be host memory, which kernels cannot read.
  ExternalizeOptions externalize;
  externalize.minBytes = 0;
  externalize.splats = true;
  // Small integer constants that no linalg op reads are shape data (the
  // target shape of a Reshape, pieces of a Concat of dims): they stay in
  // host memory, where the host code reads them.
  externalize.keepInCode = [](Operation *c) {
    auto t = cast<RankedTensorType>(c->getResult(0).getType());
    return t.getElementType().isSignlessIntOrIndex() &&
           t.getNumElements() <= 16 &&
           llvm::none_of(c->getUsers(), [](Operation *u) {
             return isa<linalg::LinalgOp>(u) && !isHostShapeComputation(u);
           });
  };
  auto weights = externalizeWeights(func, externalize);
  if (!weights)
    return weights.takeError();
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(ctx));

  // 3-5. Buffers, loops -> kernels, host memory ops -> GPU runtime ops.
  PassManager lower(ctx);
  buildGPUKernelPipeline(lower);
  if (failed(lower.run(module)))
    return makeError("mapping the model to GPU kernels failed (see the "
                     "errors above)");
  return std::move(*weights);
}

std::vector<CUDAKernelInfo> quantopt::listCUDAKernels(ModuleOp module) {
  std::vector<CUDAKernelInfo> kernels;
  module.walk([&](gpu::LaunchFuncOp launch) {
    CUDAKernelInfo k;
    k.module = launch.getKernelModuleName().str();
    k.name = launch.getKernelName().str();
    k.node = qnn::getNodeName(launch.getLoc());
    k.grid = constantDims(launch.getGridSizeOperandValues());
    k.block = constantDims(launch.getBlockSizeOperandValues());
    if (auto d = launch->getAttrOfType<DictionaryAttr>("qnn.kernel")) {
      if (auto n = d.getAs<StringAttr>("name"))
        k.choice = n.str();
      if (auto r = d.getAs<StringAttr>("reason"))
        k.reason = r.str();
    }
    kernels.push_back(std::move(k));
  });
  return kernels;
}

llvm::Expected<std::string>
quantopt::emitCUDAPTX(ModuleOp module, const CUDACompileOptions &options) {
  if (!getCUDAComputeCapability(options.chip))
    return makeError("unknown GPU '" + options.chip + "'");
  OwningOpRef<ModuleOp> copy(cast<ModuleOp>(module->clone()));
  bool hasKernels = !copy->getOps<gpu::GPUModuleOp>().empty();
  if (!hasKernels) {
    auto weights = lowerToGPUDialect(*copy, options);
    if (!weights)
      return weights.takeError();
  }
  // Only the device side: the host code may be at any level.
  MLIRContext *ctx = module.getContext();
  OwningOpRef<ModuleOp> device(ModuleOp::create(UnknownLoc::get(ctx)));
  device.get()->setAttrs(copy.get()->getAttrDictionary());
  OpBuilder b(device->getBodyRegion());
  for (auto m : copy->getOps<gpu::GPUModuleOp>())
    b.clone(*m);
  if (device->getOps<gpu::GPUModuleOp>().empty())
    return makeError("the module has no kernels");
  GPUPipelineOptions pipeline;
  setGPUPipelineOptions(pipeline, options);
  PassManager pm(ctx);
  buildGPUDeviceLoweringPipeline(pm, pipeline);
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  // libdevice (for math functions the kernels call) comes from the toolkit
  // that compiles bundles too, not from whatever $CUDA_HOME says; without a
  // toolkit, MLIR's default search applies.
  if (auto toolkit = findCUDAToolkit(options.toolkitPath))
    binary.toolkitPath = *toolkit;
  else
    llvm::consumeError(toolkit.takeError());
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (failed(pm.run(*device)))
    return makeError("generating PTX failed (see the errors above)");
  std::string ptx;
  for (auto bin : device->getOps<gpu::BinaryOp>())
    for (Attribute o : bin.getObjects()) {
      ptx += "// gpu.module @" + bin.getSymName().str() + "\n";
      ptx += cast<gpu::ObjectAttr>(o).getObject().str();
      ptx += "\n";
    }
  return ptx;
}

llvm::Expected<CompiledCUDAModel>
quantopt::compileForCUDA(ModuleOp module, const CUDACompileOptions &options) {
  MLIRContext *ctx = module.getContext();
  std::optional<int> cc = getCUDAComputeCapability(options.chip);
  if (!cc)
    return makeError("unknown GPU '" + options.chip +
                     "'; valid: " + llvm::join(getSupportedCUDAChips(), ", "));
  auto toolkit = findCUDAToolkit(options.toolkitPath);
  if (!toolkit)
    return toolkit.takeError();
  CompiledCUDAModel result;
  llvm::json::Array inputs, outputs;
  auto found = describeModelSignature(module, inputs, outputs);
  if (!found)
    return found.takeError();
  func::FuncOp func = *found;

  reportCompilePhase("start");
  auto weights = lowerToGPUDialect(module, options);
  if (!weights)
    return weights.takeError();
  result.weights = std::move(*weights);
  unsigned numArgs = func.getNumArguments();
  reportCompilePhase("lowering to GPU kernels");
  result.kernels = listCUDAKernels(module);
  if (auto fallbacks = module->getAttrOfType<ArrayAttr>("qnn.gpu_fallbacks"))
    for (auto d : fallbacks.getAsRange<DictionaryAttr>()) {
      CUDAKernelInfo k;
      k.node = d.getAs<StringAttr>("node").str();
      k.choice = d.getAs<StringAttr>("choice").str();
      k.reason = d.getAs<StringAttr>("reason").str();
      result.fallbacks.push_back(std::move(k));
    }
  if (!options.dumpGPUDialectPath.empty())
    if (llvm::Error e =
            writeOutputFile(options.dumpGPUDialectPath, "the GPU dialect dump",
                            InputSet(), [&](llvm::raw_ostream &os) {
                              module.print(os);
                              return llvm::Error::success();
                            }))
      return std::move(e);

  // 6. Device code to NVVM, host code to LLVM, kernels to fatbins.
  GPUPipelineOptions pipeline;
  setGPUPipelineOptions(pipeline, options);
  PassManager pm(ctx);
  buildGPUDeviceLoweringPipeline(pm, pipeline);
  pm.addPass(createGpuToLLVMConversionPass());
  buildHostLowerToLLVMPipeline(pm);
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = *toolkit;
  binary.compilationTarget = "fatbin";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  if (failed(pm.run(module)))
    return makeError("compiling the kernels for " + options.chip +
                     " failed (see the errors above)");
  reportCompilePhase("NVVM, ptxas, fatbinary");
  llvm::LLVMContext llvmCtx;
  auto translated = translateModelToLLVMIR(
      module, numArgs, options.dumpLLVMDialectPath, llvmCtx);
  if (!translated)
    return translated.takeError();
  std::unique_ptr<llvm::Module> llvmModule = std::move(*translated);
  // What the host code expects, for the runtime to check the manifest
  // against (the same descriptor as the CPU target's).
  llvm::json::Object abiFields;
  abiFields["entry"] = "quantopt_entry";
  abiFields["target"] = llvm::json::Object{
      {"kind", "cuda"}, {"chip", options.chip}, {"compute_capability", *cc}};
  abiFields["inputs"] = llvm::json::Array(inputs);
  abiFields["outputs"] = llvm::json::Array(outputs);
  addABIDescriptor(*llvmModule, abiFields, result.weights);
  CPUCompileOptions host;
  host.optLevel = options.optLevel;
  host.linker = options.linker;
  auto so = emitSharedObject(*llvmModule, host, host.cpu);
  if (!so)
    return so.takeError();
  result.sharedObject = std::move(*so);

  llvm::json::Array kernels;
  for (const CUDAKernelInfo &k : result.kernels) {
    llvm::json::Object o{{"node", k.node},
                         {"kernel", k.module + "::" + k.name},
                         {"grid", dimsJSON(k.grid)},
                         {"block", dimsJSON(k.block)}};
    if (!k.choice.empty()) {
      o["choice"] = k.choice;
      o["reason"] = k.reason;
    }
    kernels.push_back(std::move(o));
  }
  result.manifest["kernels"] = std::move(kernels);
  // The report of kernel choices: one entry per (node, choice, reason) of
  // a quantized matmul or dynamic quantization, hand-written or generic.
  llvm::json::Array choices;
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  for (const auto *list : {&result.kernels, &result.fallbacks})
    for (const CUDAKernelInfo &k : *list)
      if (!k.choice.empty() && seen.insert({k.node, k.choice, k.reason}).second)
        choices.push_back(llvm::json::Object{
            {"node", k.node}, {"choice", k.choice}, {"reason", k.reason}});
  result.manifest["kernel_choices"] = std::move(choices);
  result.manifest["inputs"] = std::move(inputs);
  result.manifest["outputs"] = std::move(outputs);
  result.manifest["entry"] = "quantopt_entry";
  result.manifest["target"] = llvm::json::Object{
      {"kind", "cuda"}, {"chip", options.chip}, {"compute_capability", *cc}};
  return result;
}

void quantopt::registerCUDATargetDialects(DialectRegistry &registry) {
  registerCPUTargetDialects(registry);
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect>();
  registerAllExtensions(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerGPUDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  registerNVVMDialectTranslation(registry);
}
