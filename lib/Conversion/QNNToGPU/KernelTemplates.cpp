//===- KernelTemplates.cpp - QuantOpt's GPU kernels from their templates --===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The hand-written kernels (W4A16Kernel.mlir, MMA8Kernel.mlir,
// MMA8WGKernel.mlir, DynQuantKernel.mlir, with the helper MMA8Epilogue.mlir)
// are valid MLIR as written: each is one variant (f16, a 4-deep pipeline,
// signed int8 activations, uint8 dynamic quantization), parsed and verified
// at build time by qnn-gpu-kernel-embed and embedded here as MLIR bytecode.
// The variants a module needs are made by rewriting the parsed IR, never
// its text:
//   - qgpu.params = {attr = "param", ...} on an op: the attribute `attr`
//     gets the variant's value of `param` (an integer keeps the attribute's
//     type; no value removes the attribute);
//   - qgpu.result = "param" on an op: its result takes the type `param`;
//   - qgpu.acc on an op: its results (and a loop's iteration arguments)
//     hold accumulators, their i32 elements replaced by the variant's
//     accumulator type (a constant becomes that type's zero);
//   - symbols renamed (the kernels' names) and calls redirected from a
//     default helper to the variant's (SymbolTable);
//   - types replaced across the template (bf16 for f16, AttrTypeReplacer).
// Then the qgpu.unroll loops are unrolled, the helpers inlined, and the
// kernels merged into the module's gpu.module @quantopt_kernels.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;

/// The W4A16 kernel for f16 or bf16 activations.
std::string qgpu::w4a16KernelName(Type elt) {
  return elt.isBF16() ? "qgpu_w4a16_bf16" : "qgpu_w4a16_f16";
}
namespace {

// The templates' MLIR bytecode, verified and written at build time.
alignas(16) const unsigned char kW4A16Bytecode[] = {
#include "W4A16Kernel.bc.inc"
};
alignas(16) const unsigned char kMMA8Bytecode[] = {
#include "MMA8Kernel.bc.inc"
};
alignas(16) const unsigned char kMMA8WGBytecode[] = {
#include "MMA8WGKernel.bc.inc"
};
alignas(16) const unsigned char kDynQuantBytecode[] = {
#include "DynQuantKernel.bc.inc"
};
alignas(16) const unsigned char kMMA8EpilogueBytecode[] = {
#include "MMA8Epilogue.bc.inc"
};

/// An embedded template and the file it was written in.
struct Template {
  StringRef bytecode;
  StringRef fileName;
};
template <size_t N>
Template embedded(const unsigned char (&bytes)[N], StringRef fileName) {
  return {StringRef(reinterpret_cast<const char *>(bytes), N), fileName};
}

/// How a variant differs from the variant its template is written as.
struct Variant {
  /// The values of the parameters the templates' qgpu.params and
  /// qgpu.result name (a null value removes the attribute).
  llvm::StringMap<Attribute> params;
  /// Symbols renamed: the template's name, the variant's.
  SmallVector<std::pair<std::string, std::string>> renames;
  /// Helpers chosen: every call of the first goes to the second.
  SmallVector<std::pair<StringRef, StringRef>> helpers;
  /// The accumulators' element type (null: i32, as written).
  Type acc;
  /// Every f16 type becomes this one (null: none replaced).
  Type f16As;
};

/// Inlines everything: the kernel sources' helper functions hold only
/// arith, math, scf, llvm and nvvm ops, valid wherever they are called.
struct KernelHelperInliner : InlinerInterface {
  using InlinerInterface::InlinerInterface;
  bool isLegalToInline(Operation *, Operation *, bool) const final {
    return true;
  }
  bool isLegalToInline(Region *, Region *, bool, IRMapping &) const final {
    return true;
  }
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
  void handleTerminator(Operation *op, ValueRange results) const final {
    for (auto [from, to] : llvm::zip(results, op->getOperands()))
      from.replaceAllUsesWith(to);
  }
  Value handleArgument(OpBuilder &, Operation *, Operation *, Value argument,
                       DictionaryAttr) const final {
    return argument;
  }
  Value handleResult(OpBuilder &, Operation *, Operation *, Value result,
                     DictionaryAttr) const final {
    return result;
  }
  void processInlinedCallBlocks(Operation *,
                                iterator_range<Region::iterator>) const final {}
  bool
  allowSingleBlockOptimization(iterator_range<Region::iterator>) const final {
    return true;
  }
};

/// Inlines the calls of the `func.func` helpers of a kernel source into its
/// kernels (helpers calling helpers too) and erases the helpers: the host
/// pipelines (bufferization, deallocation) run on every func.func, also
/// inside a gpu.module.
LogicalResult inlineHelpers(ModuleOp parsed) {
  KernelHelperInliner inliner(parsed.getContext());
  // An inlined helper may bring calls of other helpers: until none is left.
  for (;;) {
    SmallVector<func::CallOp> calls;
    parsed.walk([&](func::CallOp c) { calls.push_back(c); });
    if (calls.empty())
      break;
    for (func::CallOp call : calls) {
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (!callee || failed(inlineCall(
                         inliner,
                         [](OpBuilder &, Region *src, Block *inlineBlock,
                            Block *postInsertBlock, IRMapping &mapper, bool) {
                           src->cloneInto(inlineBlock->getParent(),
                                          postInsertBlock->getIterator(),
                                          mapper);
                         },
                         cast<CallOpInterface>(call.getOperation()),
                         cast<CallableOpInterface>(callee.getOperation()),
                         &callee.getBody())))
        return failure();
      call.erase();
    }
  }
  SmallVector<func::FuncOp> helpers;
  parsed.walk([&](func::FuncOp f) { helpers.push_back(f); });
  for (func::FuncOp f : helpers)
    f.erase();
  return success();
}

/// Reads the embedded template `tpl` (diagnostics name its file) or reports
/// that it does not parse on `module`. Not verified: a kernel calls helpers
/// of other templates.
OwningOpRef<ModuleOp> parseTemplate(ModuleOp module, const Template &tpl) {
  ParserConfig config(module.getContext(), /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> parsed =
      parseSourceString<ModuleOp>(tpl.bytecode, config, tpl.fileName);
  if (!parsed)
    module.emitError("internal error: the embedded GPU kernel template ")
        << tpl.fileName << " does not parse";
  return parsed;
}

/// The value of the parameter `name` of `variant`, or an error on `op`.
FailureOr<Attribute> paramValue(Operation *op, const Variant &variant,
                                StringRef name) {
  auto it = variant.params.find(name);
  if (it == variant.params.end())
    return op->emitError("internal error: no value for the GPU kernel "
                         "template parameter ")
           << name;
  return it->second;
}

/// Rewrites the template `parsed` (the kernel template with its helper
/// templates merged into `kernels`) into `variant`.
LogicalResult specialize(ModuleOp parsed, gpu::GPUModuleOp kernels,
                         const Variant &variant) {
  MLIRContext *ctx = parsed.getContext();
  for (const auto &[from, to] : variant.helpers)
    if (failed(SymbolTable::replaceAllSymbolUses(StringAttr::get(ctx, from),
                                                 StringAttr::get(ctx, to),
                                                 &kernels.getBodyRegion())))
      return kernels.emitError("internal error: cannot redirect the calls of ")
             << from;
  SymbolTable symbols(kernels);
  for (const auto &[from, to] : variant.renames)
    if (failed(symbols.rename(StringAttr::get(ctx, from), to)))
      return kernels.emitError("internal error: cannot rename ") << from;

  AttrTypeReplacer toAcc;
  if (variant.acc)
    toAcc.addReplacement([&](IntegerType t) -> std::optional<Type> {
      if (t.getWidth() == 32)
        return variant.acc;
      return std::nullopt;
    });
  WalkResult walked = parsed.walk([&](Operation *op) -> WalkResult {
    if (auto params = op->getAttrOfType<DictionaryAttr>("qgpu.params")) {
      op->removeAttr("qgpu.params");
      for (NamedAttribute param : params) {
        auto name = dyn_cast<StringAttr>(param.getValue());
        FailureOr<Attribute> value =
            name ? paramValue(op, variant, name.getValue())
                 : FailureOr<Attribute>(op->emitError(
                       "internal error: a qgpu.params entry is no string"));
        if (failed(value))
          return WalkResult::interrupt();
        Attribute current = op->getAttr(param.getName());
        auto integer = dyn_cast_if_present<IntegerAttr>(*value);
        if (!*value)
          op->removeAttr(param.getName());
        else if (integer && isa_and_present<IntegerAttr>(current))
          op->setAttr(param.getName(),
                      IntegerAttr::get(cast<IntegerAttr>(current).getType(),
                                       integer.getValue().getSExtValue()));
        else
          op->setAttr(param.getName(), *value);
      }
    }
    if (auto result = op->getAttrOfType<StringAttr>("qgpu.result")) {
      op->removeAttr("qgpu.result");
      FailureOr<Attribute> value = paramValue(op, variant, result.getValue());
      if (failed(value))
        return WalkResult::interrupt();
      auto type = dyn_cast_if_present<TypeAttr>(*value);
      if (!type || op->getNumResults() != 1) {
        op->emitError("internal error: qgpu.result needs a type parameter and "
                      "one result");
        return WalkResult::interrupt();
      }
      op->getResult(0).setType(type.getValue());
    }
    if (op->hasAttr("qgpu.acc")) {
      op->removeAttr("qgpu.acc");
      if (!variant.acc)
        return WalkResult::advance();
      for (Value v : op->getResults())
        v.setType(toAcc.replace(v.getType()));
      if (auto loop = dyn_cast<scf::ForOp>(op))
        for (Value v : loop.getRegionIterArgs())
          v.setType(toAcc.replace(v.getType()));
      if (auto cst = dyn_cast<arith::ConstantOp>(op))
        cst.setValueAttr(
            cast<TypedAttr>(Builder(ctx).getZeroAttr(cst.getType())));
    }
    return WalkResult::advance();
  });
  if (walked.wasInterrupted())
    return failure();
  if (variant.f16As) {
    AttrTypeReplacer replacer;
    replacer.addReplacement([&](Float16Type) -> Type { return variant.f16As; });
    replacer.recursivelyReplaceElementsIn(parsed, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
  }
  return success();
}

/// Reads the kernel template `tpl` and the helper templates whose
/// functions it calls (merged into its gpu.module), rewrites the result
/// into `variant`, verifies it, unrolls its qgpu.unroll loops, inlines the
/// helpers and merges the kernels into the module's @quantopt_kernels
/// (created if absent; symbols already there, such as the shared-memory
/// global, are kept).
LogicalResult instantiateKernel(ModuleOp module, const Template &tpl,
                                ArrayRef<Template> helpers,
                                const Variant &variant) {
  OwningOpRef<ModuleOp> parsed = parseTemplate(module, tpl);
  if (!parsed)
    return failure();
  auto kernels = *parsed->getOps<gpu::GPUModuleOp>().begin();
  for (const Template &helper : helpers) {
    OwningOpRef<ModuleOp> helperModule = parseTemplate(module, helper);
    if (!helperModule)
      return failure();
    for (auto helperKernels : helperModule->getOps<gpu::GPUModuleOp>())
      for (Operation &op :
           llvm::make_early_inc_range(helperKernels.getBody()->getOperations()))
        op.moveBefore(kernels.getBody(), kernels.getBody()->end());
  }
  if (failed(specialize(*parsed, kernels, variant)) || failed(verify(*parsed)))
    return module.emitError("internal error: a variant of the GPU kernel "
                            "template ")
           << tpl.fileName << " does not verify";
  SmallVector<scf::ForOp> loops;
  parsed->walk([&](scf::ForOp f) {
    if (f->hasAttr("qgpu.unroll"))
      loops.push_back(f); // post-order: inner loops first
  });
  for (scf::ForOp f : loops)
    if (failed(loopUnrollFull(f)))
      return module.emitError("internal error: cannot unroll a kernel loop");
  if (failed(inlineHelpers(*parsed)))
    return module.emitError("internal error: cannot inline a kernel helper");
  auto source = *parsed->getOps<gpu::GPUModuleOp>().begin();
  auto target = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
  if (!target) {
    source->remove();
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    b.insert(source);
    return success();
  }
  for (Operation &op :
       llvm::make_early_inc_range(source.getBody()->getOperations())) {
    auto sym = dyn_cast<SymbolOpInterface>(op);
    if (!sym || target.lookupSymbol(sym.getName()))
      continue;
    op.moveBefore(target.getBody(), target.getBody()->end());
  }
  return success();
}

/// The pipeline depth parameters of the kernels: stages, stages_m1 and
/// stages_m2 (stages - 1, - 2).
void setStages(MLIRContext *ctx, Variant &v, int64_t stages) {
  auto i32 = IntegerType::get(ctx, 32);
  v.params["stages"] = IntegerAttr::get(i32, stages);
  v.params["stages_m1"] = IntegerAttr::get(i32, stages - 1);
  v.params["stages_m2"] = IntegerAttr::get(i32, stages - 2);
}

/// The W4A16 kernel for `elt` (f16 or bf16). The template is the f16
/// kernel; for bf16 the kernel is renamed, its mma operands are i32 with
/// bf16 multiplicands, its nibble magic is 2^7 and every f16 type becomes
/// bf16.
LogicalResult addW4A16Kernel(ModuleOp module, int64_t stages, Type elt) {
  MLIRContext *ctx = module.getContext();
  bool bf16 = elt.isBF16();
  auto i32 = IntegerType::get(ctx, 32);
  Variant v;
  setStages(ctx, v, stages);
  v.params["flag"] = IntegerAttr::get(i32, stages * kW4A16StageBytes);
  v.params["magic"] = IntegerAttr::get(i32, bf16 ? 1124090624 : 1677747200);
  // (The parser infers f16 for f16 operands.)
  v.params["mma_type"] = NVVM::MMATypesAttr::get(
      ctx, bf16 ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16);
  v.params["optype"] = TypeAttr::get(
      bf16 ? Type(i32) : Type(VectorType::get({2}, Float16Type::get(ctx))));
  std::string name = w4a16KernelName(elt);
  if (bf16) {
    v.renames.push_back({"qgpu_w4a16_f16", name});
    v.renames.push_back({"qgpu_w4a16_f16_counters", name + "_counters"});
    v.f16As = elt;
  }
  return instantiateKernel(module, embedded(kW4A16Bytecode, "W4A16Kernel.mlir"),
                           {}, v);
}

/// The parameters of the 8-bit kernels' epilogue (MMA8Epilogue.mlir) for
/// the fp8 kernel or the int8 kernels with signed or unsigned (`u8`)
/// activations.
void setEpilogue(MLIRContext *ctx, Variant &v, bool fp8, bool u8) {
  v.params["fp8"] = IntegerAttr::get(IntegerType::get(ctx, 32), fp8 ? 1 : 0);
  if (u8)
    v.helpers.push_back({"qgpu_mma8_widen_s8", "qgpu_mma8_widen_u8"});
  if (fp8) {
    v.helpers.push_back({"qgpu_mma8_to_f32_int8", "qgpu_mma8_to_f32_fp8"});
    v.helpers.push_back({"qgpu_mma8_quantize_int8", "qgpu_mma8_quantize_fp8"});
    v.acc = Float32Type::get(ctx);
  }
}

/// The sm_90a warpgroup variant of the int8 kernel (MMA8WGKernel.mlir):
/// qgpu_w8a8_wg_{s8,u8}, with the 8-bit kernels' epilogue.
LogicalResult addMMA8WGKernel(ModuleOp module, int64_t stages, StringRef name) {
  MLIRContext *ctx = module.getContext();
  bool u8 = name == "qgpu_w8a8_wg_u8";
  Variant v;
  setStages(ctx, v, stages);
  setEpilogue(ctx, v, /*fp8=*/false, u8);
  v.params["atype"] = NVVM::WGMMATypesAttr::get(ctx, u8 ? NVVM::WGMMATypes::u8
                                                        : NVVM::WGMMATypes::s8);
  if (name != "qgpu_w8a8_wg_s8")
    v.renames.push_back({"qgpu_w8a8_wg_s8", name.str()});
  return instantiateKernel(
      module, embedded(kMMA8WGBytecode, "MMA8WGKernel.mlir"),
      embedded(kMMA8EpilogueBytecode, "MMA8Epilogue.mlir"), v);
}

/// The 8-bit tensor-core kernel `name`: qgpu_w8a8_{s8,u8} (int8 x int8 ->
/// i32, the activations signed or unsigned) or qgpu_fp8_e4m3 (e4m3 x e4m3
/// -> f32, sm_89+).
LogicalResult addMMA8Kernel(ModuleOp module, int64_t stages, StringRef name) {
  MLIRContext *ctx = module.getContext();
  bool fp8 = name == "qgpu_fp8_e4m3";
  bool u8 = name == "qgpu_w8a8_u8";
  Variant v;
  setStages(ctx, v, stages);
  setEpilogue(ctx, v, fp8, u8);
  if (u8)
    v.helpers.push_back({"qgpu_mma8_tile_s8", "qgpu_mma8_tile_u8"});
  if (fp8)
    v.helpers.push_back({"qgpu_mma8_tile_s8", "qgpu_mma8_tile_e4m3"});
  if (name != "qgpu_w8a8_s8")
    v.renames.push_back({"qgpu_w8a8_s8", name.str()});
  return instantiateKernel(module, embedded(kMMA8Bytecode, "MMA8Kernel.mlir"),
                           embedded(kMMA8EpilogueBytecode, "MMA8Epilogue.mlir"),
                           v);
}

/// The dynamic quantization kernels with `suffix`: "" (uint8, as written)
/// or "_e4m3" (renamed, with the e4m3 parameter and quantize helpers).
LogicalResult addDynQuantKernels(ModuleOp module, StringRef suffix) {
  Variant v;
  if (!suffix.empty()) {
    for (StringRef kernel : {"qgpu_dynq_rows", "qgpu_dynq_tensor"})
      v.renames.push_back({kernel.str(), (kernel + suffix).str()});
    if (suffix != "_e4m3")
      return module.emitError("internal error: no dynamic quantization "
                              "kernel ")
             << suffix;
    v.helpers.push_back({"qgpu_dynq_params", "qgpu_dynq_params_e4m3"});
    v.helpers.push_back({"qgpu_dynq_quantize", "qgpu_dynq_quantize_e4m3"});
  }
  return instantiateKernel(
      module, embedded(kDynQuantBytecode, "DynQuantKernel.mlir"), {}, v);
}

} // namespace

LogicalResult qgpu::instantiateKernels(ModuleOp module,
                                       const GPULoweringState &state) {
  int64_t stages = state.stages;
  auto has = [&](StringRef name) {
    auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
    return existing && existing.lookupSymbol(name);
  };
  if (state.fp8Kernel && failed(addMMA8Kernel(module, stages, "qgpu_fp8_e4m3")))
    return failure();
  for (StringRef suffix : state.dynqSuffixes)
    if (!has(("qgpu_dynq_rows" + suffix).str()) &&
        failed(addDynQuantKernels(module, suffix)))
      return failure();
  for (const std::string &name : state.mma8Kernels) {
    if (has(name))
      continue;
    if (failed(StringRef(name).starts_with("qgpu_w8a8_wg_")
                   ? addMMA8WGKernel(module, stages, name)
                   : addMMA8Kernel(module, stages, name)))
      return failure();
  }
  if (state.w4a16Kernels.empty() && state.mma8Kernels.empty() &&
      state.dynqSuffixes.empty() && !state.fp8Kernel)
    return success();
  for (Type elt : state.w4a16Kernels)
    if (!has(w4a16KernelName(elt)) &&
        failed(addW4A16Kernel(module, stages, elt)))
      return failure();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(module.getContext()));
  return success();
}
