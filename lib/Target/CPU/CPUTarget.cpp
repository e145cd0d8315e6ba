//===- CPUTarget.cpp - Compile a qnn module to a CPU shared object --------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Target/CPU/CPUTarget.h"
#include "quantopt/Dialect/QNN/Utils/NodeNames.h"

#include <chrono>

#include "quantopt/Conversion/Passes.h"
#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h"
#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Transforms/Passes.h"
#include "quantopt/Runtime/BundleFormat.h"
#include "quantopt/Support/FileSafety.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/BufferizationToMemRef/BufferizationToMemRef.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToFuncs/MathToFuncs.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace quantopt;

namespace {

llvm::Error makeError(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

/// Features of the named CPU levels, as the runtime checks them.
std::vector<std::string> featuresOf(llvm::StringRef cpu) {
  std::vector<std::string> f;
  auto add = [&](std::initializer_list<const char *> names) {
    for (const char *n : names)
      f.push_back(n);
  };
  if (cpu == "x86-64")
    return f;
  add({"sse4.2", "popcnt"});
  if (cpu == "x86-64-v2")
    return f;
  add({"avx", "avx2", "fma", "f16c", "bmi", "bmi2"});
  if (cpu == "x86-64-v3")
    return f;
  add({"avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"});
  return f;
}

std::vector<std::string> hostFeatures() {
  static const char *const known[] = {
      "sse4.2",   "popcnt",   "avx",      "avx2",      "fma",
      "f16c",     "bmi",      "bmi2",     "avx512f",   "avx512bw",
      "avx512vl", "avx512dq", "avx512cd", "avx512vnni"};
  llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> f;
  for (const char *k : known)
    if (host.lookup(k))
      f.push_back(k);
  return f;
}

llvm::json::Array shapeJSON(ShapedType t) {
  llvm::json::Array a;
  for (int64_t d : t.getShape())
    a.push_back(ShapedType::isDynamic(d) ? int64_t(-1) : d);
  return a;
}

} // namespace

llvm::Expected<llvm::json::Object>
quantopt::describeModelValue(Type type, DictionaryAttr attrs,
                             llvm::StringRef fallbackName) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t)
    return makeError("model inputs and outputs must be ranked tensors");
  std::string dtype = getManifestDType(t.getElementType());
  if (dtype.empty())
    return makeError("element type of '" + fallbackName +
                     "' cannot be a model input or output on the CPU");
  llvm::json::Object o;
  std::string name = fallbackName.str();
  if (attrs)
    if (auto n = attrs.getAs<StringAttr>("qnn.name"))
      name = n.str();
  o["name"] = name;
  o["dtype"] = dtype;
  o["shape"] = shapeJSON(t);
  llvm::json::Array dims;
  ArrayAttr names = attrs ? attrs.getAs<ArrayAttr>("qnn.dims") : ArrayAttr();
  for (int64_t i = 0; i < t.getRank(); ++i) {
    StringAttr n;
    if (names && i < (int64_t)names.size())
      n = dyn_cast<StringAttr>(names[i]);
    if (t.isDynamicDim(i) && n && !n.getValue().empty())
      dims.push_back(n.str());
    else
      dims.push_back(nullptr);
  }
  o["dims"] = std::move(dims);
  return o;
}

namespace {

bool isConstant(Value v) {
  bool transposed = false;
  v = qnn::stripMatrixTranspose(v, transposed);
  return v && (v.getDefiningOp<qnn::ConstantOp>() ||
               v.getDefiningOp<arith::ConstantOp>());
}

/// Which kernel each matmul of `func` becomes, and why (the same criteria as
/// convert-qnn-to-cpu), for the manifest and the compile report.
llvm::json::Array describeKernels(func::FuncOp func) {
  llvm::json::Array kernels;
  auto add = [&](Operation *op, StringRef kernel, const std::string &why) {
    kernels.push_back(
        llvm::json::Object{{"node", qnn::getNodeName(op->getLoc())},
                           {"op", op->getName().getStringRef()},
                           {"kernel", kernel},
                           {"reason", why}});
  };
  func.walk([&](Operation *op) {
    if (auto q = dyn_cast<qnn::QuantizedMatMulOp>(op)) {
      auto rhs = cast<ShapedType>(q.getRhs().getType());
      if (!isConstant(q.getRhs()) || rhs.getRank() != 2) {
        auto perTensor = [](Value v) {
          return !v || cast<ShapedType>(v.getType()).getNumElements() == 1;
        };
        auto lhs = cast<ShapedType>(q.getLhs().getType());
        bool sameBatch = lhs.getRank() == rhs.getRank() && lhs.getRank() >= 2;
        for (int64_t i = 0; sameBatch && i + 2 < lhs.getRank(); ++i)
          sameBatch = lhs.getDimSize(i) == rhs.getDimSize(i);
        if (sameBatch && !q.getBias() && q.getActivation() == "none" &&
            perTensor(q.getLhsScale()) && perTensor(q.getLhsZeroPoint()) &&
            perTensor(q.getRhsScale()) && perTensor(q.getRhsZeroPoint()) &&
            perTensor(q.getOutputScale()))
          add(op, "qk_qgemm_batched",
              "the right operand is an activation (attention): packed at "
              "run time per batch item, batch items in parallel");
        else
          add(op, "linalg-int32-contraction",
              "the right operand is an activation and the parameters are "
              "not per tensor (or there is a bias or an activation): i32 "
              "contraction then the epilogue, in generated code");
        return;
      }
      std::string epi = q.getActivation().str();
      if (q.getOutputScale())
        epi += " + requantize";
      add(op, "qk_qgemm",
          "int8 x int" + std::to_string(rhs.getElementTypeBitWidth()) +
              " -> i32 GEMM, [K,N] = [" + std::to_string(rhs.getDimSize(0)) +
              "," + std::to_string(rhs.getDimSize(1)) +
              "] packed at compile time with column corrections; epilogue " +
              epi + " fused; AVX-512 VNNI or AVX2 chosen at run time");
      return;
    }
    if (auto w = dyn_cast<qnn::WeightOnlyMatMulOp>(op)) {
      auto wt = cast<ShapedType>(w.getWeight().getType());
      add(op, "qk_wo_matmul",
          "weight-only int" + std::to_string(wt.getElementTypeBitWidth()) +
              (w.getGroupSize() ? ", group " + std::to_string(w.getGroupSize())
                                : std::string(", per channel")) +
              ": weights stay packed, dequantized in registers; memory "
              "bound at small M (decode)");
      return;
    }
    if (auto m = dyn_cast<qnn::MatMulOp>(op)) {
      auto t = cast<ShapedType>(m.getType());
      if (!t.getElementType().isF32()) {
        add(op, "linalg-contraction", "non-f32 matmul");
        return;
      }
      if (isConstant(m.getRhs()))
        add(op, "qk_sgemm", "f32 GEMM, weights packed at compile time");
      else
        add(op, "qk_sgemm_batched",
            "f32 GEMM of two activations (attention), packed at run time");
    }
  });
  return kernels;
}

} // namespace

llvm::Expected<std::vector<CompiledWeight>>
quantopt::externalizeWeights(func::FuncOp func,
                             const ExternalizeOptions &options) {
  std::vector<std::pair<arith::ConstantOp, ArrayRef<char>>> found;
  func.walk([&](arith::ConstantOp c) {
    auto t = dyn_cast<RankedTensorType>(c.getType());
    if (!t || t.getElementType().isInteger(1))
      return;
    if (options.keepInCode && options.keepInCode(c))
      return;
    if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = r.getRawHandle().getBlob();
      if (blob)
        found.push_back({c, blob->getData()});
      return;
    }
    if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()))
      if (d.isSplat() ? options.splats
                      : (int64_t)d.getRawData().size() >= options.minBytes)
        found.push_back({c, d.getRawData()});
  });
  std::vector<CompiledWeight> weights;
  llvm::DenseMap<void *, std::shared_ptr<int>> blobUsers;
  OpBuilder b(func.getContext());
  for (auto [i, entry] : llvm::enumerate(found)) {
    auto [c, bytes] = entry;
    auto t = cast<RankedTensorType>(c.getType());
    CompiledWeight w;
    w.name = "w" + std::to_string(i);
    if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
      w.name = r.getRawHandle().getKey().str();
    w.dtype = getManifestDType(t.getElementType());
    if (w.dtype.empty()) {
      std::string type;
      llvm::raw_string_ostream os(type);
      os << t;
      return makeError("internal error: a constant of type " + type +
                       " (node '" + qnn::getNodeName(c.getLoc()) +
                       "') has no bundle dtype");
    }
    w.shape.assign(t.getShape().begin(), t.getShape().end());
    // The bytes stay where they are (a resource blob, e.g. the mmap'd
    // external data or a packed weight, or a uniqued attribute that lives
    // as long as the context): copying every weight here cost the weights'
    // size once more. Only a splat is expanded.
    if (auto d = dyn_cast<DenseElementsAttr>(c.getValue()); d && d.isSplat())
      for (int64_t e = 0; e < t.getNumElements(); ++e)
        w.bytes.insert(w.bytes.end(), bytes.begin(), bytes.end());
    else
      w.view = bytes;
    if (auto r = dyn_cast<DenseResourceElementsAttr>(c.getValue());
        r && options.releasable && options.releasable(r)) {
      // Freed after the last weight of the same blob has been written.
      auto *entry = r.getRawHandle().getResource();
      std::shared_ptr<int> &users = blobUsers[entry];
      if (!users)
        users = std::make_shared<int>(0);
      ++*users;
      w.release = [entry, users = users]() {
        if (--*users == 0)
          entry->setBlob(AsmResourceBlob());
      };
    }
    if (failed(func.insertArgument(i, t, b.getDictionaryAttr({}), c.getLoc())))
      return makeError("cannot add a weight argument");
    c.getResult().replaceAllUsesWith(func.getArgument(i));
    c.erase();
    weights.push_back(std::move(w));
  }
  // Nothing writes into weights or inputs: bufferization copies instead.
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    func.setArgAttr(i, bufferization::BufferizationDialect::kWritableAttrName,
                    b.getBoolAttr(false));
  return weights;
}

LogicalResult quantopt::addEntryWrapper(ModuleOp module, StringRef cifaceName,
                                        bool hasResults, unsigned numArgs) {
  auto target = module.lookupSymbol<LLVM::LLVMFuncOp>(cifaceName);
  if (!target)
    return module.emitError("missing C interface ") << cifaceName;
  MLIRContext *ctx = module.getContext();
  OpBuilder b(module.getBodyRegion());
  Location loc = module.getLoc();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto fnType =
      LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptr});
  auto entry = LLVM::LLVMFuncOp::create(b, loc, "quantopt_entry", fnType);
  Block *block = entry.addEntryBlock(b);
  b.setInsertionPointToStart(block);
  SmallVector<Value> args;
  auto load = [&](int64_t i) {
    Value gep = LLVM::GEPOp::create(b, loc, ptr, ptr, block->getArgument(0),
                                    ArrayRef<LLVM::GEPArg>{(int32_t)i});
    return (Value)LLVM::LoadOp::create(b, loc, ptr, gep);
  };
  if (hasResults)
    args.push_back(load(0));
  for (unsigned i = 0; i < numArgs; ++i)
    args.push_back(load(i + 1));
  LLVM::CallOp::create(b, loc, target, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return success();
}

void quantopt::reportCompilePhase(const char *name) {
  static bool enabled = getenv("QUANTOPT_TIME_PHASES") != nullptr;
  static auto last = std::chrono::steady_clock::now();
  auto now = std::chrono::steady_clock::now();
  if (enabled)
    llvm::errs() << "quant-compile: " << name << ": "
                 << std::chrono::duration<double>(now - last).count() << " s\n";
  last = now;
}

void quantopt::addABIDescriptor(llvm::Module &module,
                                const llvm::json::Object &manifest,
                                llvm::ArrayRef<CompiledWeight> weights) {
  namespace fmt = quantopt::bundle;
  llvm::json::Object abi{{"abi_version", fmt::kABIVersion}};
  for (llvm::StringRef key : {"entry", "target", "inputs", "outputs"})
    if (const llvm::json::Value *value = manifest.get(key))
      abi[key] = *value;
  std::vector<uint64_t> sizes, offsets(weights.size());
  for (const CompiledWeight &w : weights)
    sizes.push_back(w.data().size());
  fmt::layoutWeights(sizes, offsets.data());
  llvm::json::Array entries;
  for (auto [w, offset] : llvm::zip(weights, offsets))
    entries.push_back(
        llvm::json::Object{{"name", w.name},
                           {"dtype", w.dtype},
                           {"shape", llvm::json::Array(w.shape)},
                           {"offset", static_cast<int64_t>(offset)},
                           {"size", static_cast<int64_t>(w.data().size())}});
  abi["weights"] = std::move(entries);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::json::Value(std::move(abi));
  os.flush();
  // Exported (external linkage, default visibility) so that the loader
  // finds it in the dynamic symbol table; constant, so it lands in .rodata
  // with its NUL terminator and a symbol size the loader can bound.
  llvm::Constant *init = llvm::ConstantDataArray::getString(
      module.getContext(), text, /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      module, init->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, init, fmt::kABISymbol);
  global->setAlignment(llvm::Align(1));
}

llvm::Expected<std::string>
quantopt::emitSharedObject(llvm::Module &module,
                           const CPUCompileOptions &options,
                           llvm::StringRef cpu) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return makeError("no LLVM target for " + triple.str() + ": " + err);
  std::string features;
  if (options.cpu == "native") {
    for (auto &f : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(f.second ? "+" : "-") + f.first().str();
  }
  llvm::TargetOptions to;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, to, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
      : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                              : llvm::CodeGenOptLevel::None));
  if (!tm)
    return makeError("LLVM does not know the CPU '" + cpu + "'");
  module.setDataLayout(tm->createDataLayout());
  module.setTargetTriple(triple);
  auto optimize =
      makeOptimizingTransformer(std::min(options.optLevel, 3u), 0, tm.get());
  if (llvm::Error e = optimize(&module))
    return std::move(e);
  reportCompilePhase("LLVM optimization");

  llvm::SmallString<128> objPath, soPath, errPath;
  if (auto ec = llvm::sys::fs::createTemporaryFile("quantopt", "o", objPath))
    return makeError("cannot create a temporary file: " + ec.message());
  llvm::FileRemover objRemover(objPath);
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(objPath, ec);
    if (ec)
      return makeError("cannot write " + objPath + ": " + ec.message());
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile))
      return makeError("LLVM cannot emit an object file for this target");
    pm.run(module);
  }
  reportCompilePhase("code generation");
  if (auto ec = llvm::sys::fs::createTemporaryFile("quantopt", "so", soPath))
    return makeError("cannot create a temporary file: " + ec.message());
  llvm::FileRemover soRemover(soPath);
  if (auto ec = llvm::sys::fs::createTemporaryFile("quantopt", "log", errPath))
    return makeError("cannot create a temporary file: " + ec.message());
  llvm::FileRemover errRemover(errPath);
  llvm::ErrorOr<std::string> linker =
      llvm::sys::findProgramByName(options.linker);
  if (!linker)
    return makeError("cannot find the linker driver '" + options.linker +
                     "' on PATH; install a C compiler (apt install gcc) or "
                     "pass --linker");
  llvm::SmallVector<llvm::StringRef> argv{*linker, "-shared", "-o",
                                          soPath,  objPath,   "-lm"};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, errPath, errPath};
  std::string msg;
  int rc = llvm::sys::ExecuteAndWait(*linker, argv, std::nullopt, redirects, 0,
                                     0, &msg);
  if (rc != 0) {
    auto log = llvm::MemoryBuffer::getFile(errPath);
    return makeError("linking the shared object failed (" + *linker +
                     "): " + (log ? (*log)->getBuffer().str() : msg));
  }
  reportCompilePhase("link");
  auto so = llvm::MemoryBuffer::getFile(soPath);
  if (!so)
    return makeError("cannot read back the shared object");
  return (*so)->getBuffer().str();
}

void quantopt::registerCPUTargetDialects(DialectRegistry &registry) {
  registry.insert<affine::AffineDialect, arith::ArithDialect,
                  bufferization::BufferizationDialect, cf::ControlFlowDialect,
                  func::FuncDialect, linalg::LinalgDialect, LLVM::LLVMDialect,
                  math::MathDialect, memref::MemRefDialect, scf::SCFDialect,
                  tensor::TensorDialect, qnn_cpu::QNNCPUDialect>();
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  cf::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  scf::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
  memref::registerAllocationOpInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
}

std::string quantopt::getManifestDType(Type t) {
  if (t.isF32())
    return "float32";
  if (t.isF16())
    return "float16";
  if (t.isF64())
    return "float64";
  // bfloat16 has no runtime dtype (libquantrt, numpy I/O).
  if (auto i = dyn_cast<IntegerType>(t)) {
    if (i.getWidth() == 1)
      return "bool";
    if (i.getWidth() < 8 || i.getWidth() > 64)
      return "";
    return (i.isUnsigned() ? "uint" : "int") + std::to_string(i.getWidth());
  }
  return "";
}

std::string quantopt::getHostCPUName() {
  return llvm::sys::getHostCPUName().str();
}

llvm::Expected<func::FuncOp> quantopt::getModelFunction(ModuleOp module) {
  func::FuncOp func;
  for (auto f : module.getOps<func::FuncOp>())
    if (f.isPublic() && !f.isExternal()) {
      if (func)
        return makeError("the module has more than one public function");
      func = f;
    }
  if (!func)
    return makeError("the module has no public function to compile");
  return func;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
quantopt::translateModelToLLVMIR(ModuleOp module, unsigned numArgs,
                                 llvm::StringRef dumpLLVMDialectPath,
                                 llvm::LLVMContext &llvmCtx) {
  if (failed(addEntryWrapper(module, "_mlir_ciface_quantopt_model", true,
                             numArgs)))
    return makeError("cannot build the entry point");
  if (!dumpLLVMDialectPath.empty())
    if (llvm::Error e =
            writeOutputFile(dumpLLVMDialectPath, "the LLVM dialect dump",
                            InputSet(), [&](llvm::raw_ostream &os) {
                              module.print(os);
                              return llvm::Error::success();
                            }))
      return std::move(e);
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmCtx, "quantopt_model");
  if (!llvmModule)
    return makeError("translation to LLVM IR failed");
  reportCompilePhase("translation to LLVM IR");
  return llvmModule;
}

llvm::Expected<func::FuncOp>
quantopt::describeModelSignature(ModuleOp module, llvm::json::Array &inputs,
                                 llvm::json::Array &outputs) {
  auto found = getModelFunction(module);
  if (!found)
    return found.takeError();
  func::FuncOp func = *found;
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto d =
        describeModelValue(func.getArgumentTypes()[i], func.getArgAttrDict(i),
                           "input" + std::to_string(i));
    if (!d)
      return d.takeError();
    inputs.push_back(std::move(*d));
  }
  for (unsigned i = 0; i < func.getNumResults(); ++i) {
    auto d =
        describeModelValue(func.getResultTypes()[i], func.getResultAttrDict(i),
                           "output" + std::to_string(i));
    if (!d)
      return d.takeError();
    outputs.push_back(std::move(*d));
  }
  if (func.getNumResults() == 0)
    return makeError("the model has no outputs");
  // The metadata is in the manifest now; LLVM has no use for it.
  for (unsigned i = 0; i < func.getNumArguments(); ++i)
    func.setArgAttrs(i, ArrayRef<NamedAttribute>{});
  for (unsigned i = 0; i < func.getNumResults(); ++i)
    func.setResultAttrs(i, ArrayRef<NamedAttribute>{});
  return func;
}

llvm::Expected<CompiledCPUModel>
quantopt::compileForCPU(ModuleOp module, const CPUCompileOptions &options) {
  namespace fmt = quantopt::bundle;
  MLIRContext *ctx = module.getContext();
  CompiledCPUModel result;
  llvm::json::Array inputs, outputs;
  auto found = describeModelSignature(module, inputs, outputs);
  if (!found)
    return found.takeError();
  func::FuncOp func = *found;
  func.setName("quantopt_model");

  result.manifest["kernels"] = describeKernels(func);
  // The blobs the module had before this compile may be shared with
  // another module of the context (calibration compiles a clone); those
  // created here (packed weights) are this compile's alone.
  llvm::StringSet<> before;
  if (!options.ownsWeights)
    module->walk([&](Operation *op) {
      for (NamedAttribute a : op->getAttrs())
        a.getValue().walk([&](DenseResourceElementsAttr r) {
          before.insert(r.getRawHandle().getKey());
        });
    });
  // qnn -> tensor-level upstream IR.
  reportCompilePhase("start");
  PassManager pm(ctx);
  buildCPUConvertPipeline(pm);
  if (failed(pm.run(module)))
    return makeError("lowering to the CPU failed (see the errors above)");

  reportCompilePhase("convert-qnn-to-cpu");
  // The float weights that packing replaced are dead now.
  if (options.ownsWeights)
    releaseUnreferencedResources(module);
  ExternalizeOptions externalize;
  externalize.minBytes = options.externalizeMinBytes;
  externalize.releasable = [&](DenseResourceElementsAttr r) {
    return options.ownsWeights || !before.contains(r.getRawHandle().getKey());
  };
  auto weights = externalizeWeights(func, externalize);
  if (!weights)
    return weights.takeError();
  result.weights = std::move(*weights);
  unsigned numArgs = func.getNumArguments();
  func->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                UnitAttr::get(ctx));

  PassManager lower(ctx);
  buildCPULowerToLLVMPipeline(lower);
  if (failed(lower.run(module)))
    return makeError("lowering to LLVM failed (see the errors above)");
  reportCompilePhase("lowering to LLVM dialect");
  llvm::LLVMContext llvmCtx;
  auto translated = translateModelToLLVMIR(
      module, numArgs, options.dumpLLVMDialectPath, llvmCtx);
  if (!translated)
    return translated.takeError();
  std::unique_ptr<llvm::Module> llvmModule = std::move(*translated);
  std::string cpu = options.cpu == "native" ? getHostCPUName() : options.cpu;

  llvm::json::Array features;
  for (const std::string &f :
       options.cpu == "native" ? hostFeatures() : featuresOf(cpu))
    features.push_back(f);
  result.manifest["inputs"] = std::move(inputs);
  result.manifest["outputs"] = std::move(outputs);
  result.manifest["entry"] = fmt::kDefaultEntry;
  result.manifest["target"] =
      llvm::json::Object{{"kind", "cpu"},
                         {"arch", "x86_64"},
                         {"cpu", cpu},
                         {"features", std::move(features)}};
  addABIDescriptor(*llvmModule, result.manifest, result.weights);
  auto so = emitSharedObject(*llvmModule, options, cpu);
  if (!so)
    return so.takeError();
  result.sharedObject = std::move(*so);
  return result;
}
