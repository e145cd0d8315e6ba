//===- KernelTemplates.cpp - QuantOpt's GPU kernels from their sources ----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The hand-written kernels (W4A16Kernel.mlir, MMA8Kernel.mlir,
// MMA8WGKernel.mlir, DynQuantKernel.mlir, embedded at build time) are
// instantiated for the variants a module needs (pipeline depth, element
// type, activation signedness), their helpers inlined and their qgpu.unroll
// loops unrolled, into the module's gpu.module @quantopt_kernels.
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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

const char *const kW4A16Source =
#include "W4A16Kernel.inc"
    ;
const char *const kMMA8Source =
#include "MMA8Kernel.inc"
    ;
const char *const kMMA8WGSource =
#include "MMA8WGKernel.inc"
    ;
const char *const kDynQuantSource =
#include "DynQuantKernel.inc"
    ;
const char *const kMMA8EpilogueSource =
#include "MMA8Epilogue.inc"
    ;

/// A kernel source (or a helper source: func.func helpers in a
/// gpu.module) with its placeholders filled in, and the file it comes from.
struct FilledSource {
  std::string text;
  StringRef fileName;
};

/// `src` with every `@NAME@` of `subs` replaced.
std::string fillPlaceholders(std::string src,
                             ArrayRef<std::pair<StringRef, std::string>> subs) {
  for (const auto &[from, to] : subs) {
    std::string key = "@" + from.str() + "@";
    for (size_t pos = 0; (pos = src.find(key, pos)) != std::string::npos;
         pos += to.size())
      src.replace(pos, key.size(), to);
  }
  return src;
}

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
/// kernels and erases the helpers: the host pipelines (bufferization,
/// deallocation) run on every func.func, also inside a gpu.module.
LogicalResult inlineHelpers(ModuleOp parsed) {
  KernelHelperInliner inliner(parsed.getContext());
  SmallVector<func::CallOp> calls;
  parsed.walk([&](func::CallOp c) { calls.push_back(c); });
  for (func::CallOp call : calls) {
    auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
        call, call.getCalleeAttr());
    if (!callee || failed(inlineCall(
                       inliner,
                       [](OpBuilder &, Region *src, Block *inlineBlock,
                          Block *postInsertBlock, IRMapping &mapper, bool) {
                         src->cloneInto(inlineBlock->getParent(),
                                        postInsertBlock->getIterator(), mapper);
                       },
                       cast<CallOpInterface>(call.getOperation()),
                       cast<CallableOpInterface>(callee.getOperation()),
                       &callee.getBody())))
      return failure();
    call.erase();
  }
  SmallVector<func::FuncOp> helpers;
  parsed.walk([&](func::FuncOp f) { helpers.push_back(f); });
  for (func::FuncOp f : helpers)
    f.erase();
  return success();
}

/// Parses `src` (diagnostics name its file) or reports that it does not
/// parse on `module`. Not verified: a kernel calls helpers of other sources.
OwningOpRef<ModuleOp> parseSource(ModuleOp module, const FilledSource &src) {
  ParserConfig config(module.getContext(), /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> parsed =
      parseSourceString<ModuleOp>(src.text, config, src.fileName);
  if (!parsed)
    module.emitError("internal error: the GPU kernel source ")
        << src.fileName << " does not parse";
  return parsed;
}

/// Parses a kernel source and the helper sources whose functions it calls
/// (merged into its gpu.module), specializes the result (`specialize`:
/// types replaced in the parsed IR), unrolls its qgpu.unroll loops, inlines
/// the helpers and merges the kernels into the module's @quantopt_kernels
/// (created if absent; symbols already there, such as the shared-memory
/// global, are kept).
LogicalResult
instantiateKernel(ModuleOp module, const FilledSource &src,
                  ArrayRef<FilledSource> helpers = {},
                  llvm::function_ref<void(ModuleOp)> specialize = {}) {
  OwningOpRef<ModuleOp> parsed = parseSource(module, src);
  if (!parsed)
    return failure();
  auto kernels = *parsed->getOps<gpu::GPUModuleOp>().begin();
  for (const FilledSource &helper : helpers) {
    OwningOpRef<ModuleOp> helperModule = parseSource(module, helper);
    if (!helperModule)
      return failure();
    for (auto helperKernels : helperModule->getOps<gpu::GPUModuleOp>())
      for (Operation &op :
           llvm::make_early_inc_range(helperKernels.getBody()->getOperations()))
        op.moveBefore(kernels.getBody(), kernels.getBody()->end());
  }
  if (specialize)
    specialize(*parsed);
  if (failed(verify(*parsed)))
    return module.emitError("internal error: the GPU kernel source ")
           << src.fileName << " does not verify";
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

/// The W4A16 kernel for `elt` (f16 or bf16). The source is written for f16;
/// for bf16 every f16 type of the parsed kernel is replaced.
LogicalResult addW4A16Kernel(ModuleOp module, int64_t stages, Type elt) {
  bool bf16 = elt.isBF16();
  auto toElt = [&](ModuleOp parsed) {
    if (!bf16)
      return;
    AttrTypeReplacer replacer;
    replacer.addReplacement([&](Float16Type) -> Type { return elt; });
    replacer.recursivelyReplaceElementsIn(parsed, /*replaceAttrs=*/true,
                                          /*replaceLocs=*/false,
                                          /*replaceTypes=*/true);
  };
  return instantiateKernel(
      module,
      {fillPlaceholders(
           kW4A16Source,
           {{"STAGES_M1", std::to_string(stages - 1)},
            {"STAGES", std::to_string(stages)},
            {"FLAG", std::to_string(stages * kW4A16StageBytes)},
            {"KERNEL", w4a16KernelName(elt)},
            {"OPTYPE", bf16 ? "i32" : "vector<2xf16>"},
            {"MMATYPES", bf16
                             ? ", multiplicandAPtxType = #nvvm.mma_type<bf16>, "
                               "multiplicandBPtxType = #nvvm.mma_type<bf16>"
                             : ""},
            {"MAGIC", bf16 ? "1124090624" : "1677747200"}}),
       "W4A16Kernel.mlir"},
      /*helpers=*/{}, toElt);
}

/// The int8 epilogue's start (TOF32): acc = raw - za * colsum + bias (i32,
/// wrapping: exact mod 2^32), then (float(acc) * sa) * sb as the op's
/// semantics.
constexpr const char *kInt8EpilogueStart =
    "%cza = arith.muli %za, %cs : i32\n"
    "%ai = arith.subi %rv, %cza : i32\n"
    "%ab = arith.addi %ai, %bv : i32\n"
    "%af = arith.sitofp %ab : i32 to f32\n"
    "%r1 = arith.mulf %af, %sa : f32\n"
    "%r = arith.mulf %r1, %sb : f32";

/// The fp8 epilogue's start (TOF32): r = ((raw * sa) * sb) + fbias (the
/// bias an f32 in the i32 parameter slot).
constexpr const char *kFP8EpilogueStart =
    "%r1 = arith.mulf %rv, %sa : f32\n"
    "%r2 = arith.mulf %r1, %sb : f32\n"
    "%bf = arith.bitcast %bv : i32 to f32\n"
    "%r = arith.addf %r2, %bf : f32";

/// The epilogue's quantized output byte %qb of %dv = r / so (QUANT_STORE):
/// for the int8 kernels saturate(round_half_even(%dv) + zo) to int8/uint8;
/// for the fp8 kernel e4m3(%dv), rounded to nearest even and saturated to
/// +-448 (cvt.rn.satfinite, sm_89+; NaN stays NaN, as the canonical 0x7F
/// whatever its sign), as ONNX QuantizeLinear with saturate.
constexpr const char *kInt8QuantStore =
    "%rd = math.roundeven %dv : f32\n"
    "%pl = arith.addf %rd, %zo : f32\n"
    "%c1f = arith.maximumf %pl, %lo : f32\n"
    "%c2f = arith.minimumf %c1f, %hi : f32\n"
    "%qi = arith.fptosi %c2f : f32 to i32\n"
    "%qb = arith.trunci %qi : i32 to i8";
constexpr const char *kFP8QuantStore =
    "%fz = arith.constant 0.0 : f32\n"
    "%qh = llvm.inline_asm \"cvt.rn.satfinite.e4m3x2.f32 $0, $1, $2;\", "
    "\"=h,f,f\" %fz, %dv : (f32, f32) -> i16\n"
    "%qb = arith.trunci %qh : i16 to i8";

/// The epilogue helper of the 8-bit kernels (MMA8Epilogue.mlir) for the
/// fp8 kernel or the int8 kernels with signed or unsigned (`u8`)
/// activations.
FilledSource mma8Epilogue(bool fp8, bool u8) {
  return {
      fillPlaceholders(kMMA8EpilogueSource,
                       {{"ACC", fp8 ? "f32" : "i32"},
                        {"TOF32", fp8 ? kFP8EpilogueStart : kInt8EpilogueStart},
                        {"QUANT_STORE", fp8 ? kFP8QuantStore : kInt8QuantStore},
                        {"ZEXT", u8 ? "arith.extui" : "arith.extsi"},
                        {"FP8", fp8 ? "1" : "0"}}),
      "MMA8Epilogue.mlir"};
}

/// The sm_90a warpgroup variant of the int8 kernel (MMA8WGKernel.mlir):
/// qgpu_w8a8_wg_{s8,u8}, with the 8-bit kernels' epilogue.
LogicalResult addMMA8WGKernel(ModuleOp module, int64_t stages, StringRef name) {
  bool u8 = name == "qgpu_w8a8_wg_u8";
  std::string accStruct = "!llvm.struct<(i32";
  for (int i = 1; i < 64; ++i)
    accStruct += ", i32";
  accStruct += ")>";
  // The accumulator struct as a vector (extractvalue needs constant
  // positions; the stores index the vector).
  std::string toVector = "%accv_0 = llvm.mlir.poison : vector<64xi32>\n";
  for (int i = 0; i < 64; ++i) {
    std::string is = std::to_string(i);
    std::string next = i == 63 ? "%accv" : "%accv_" + std::to_string(i + 1);
    toVector += "%ax_" + is + " = llvm.extractvalue %acc[" + is +
                "] : " + accStruct + "\n%ai_" + is + " = arith.constant " + is +
                " : i32\n" + next + " = llvm.insertelement %ax_" + is +
                ", %accv_" + is + "[%ai_" + is + " : i32] : vector<64xi32>\n";
  }
  return instantiateKernel(
      module,
      {fillPlaceholders(kMMA8WGSource,
                        {{"KERNEL", name.str()},
                         {"STAGES_M1", std::to_string(stages - 1)},
                         {"STAGES_M2", std::to_string(stages - 2)},
                         {"STAGES", std::to_string(stages)},
                         {"ATYPE", u8 ? "u8" : "s8"},
                         {"ACC_STRUCT", accStruct},
                         {"TO_VECTOR", toVector}}),
       "MMA8WGKernel.mlir"},
      mma8Epilogue(/*fp8=*/false, u8));
}

/// The 8-bit tensor-core kernel `name`: qgpu_w8a8_{s8,u8} (int8 x int8 ->
/// i32, the activations signed or unsigned) or qgpu_fp8_e4m3 (e4m3 x e4m3
/// -> f32, sm_89+).
LogicalResult addMMA8Kernel(ModuleOp module, int64_t stages, StringRef name) {
  bool fp8 = name == "qgpu_fp8_e4m3";
  bool u8 = name == "qgpu_w8a8_u8";
  std::string mma;
  if (fp8) {
    // mma.sync with e4m3 operands has no NVVM op in MLIR 22: inline PTX
    // (ISA 8.4, sm_89+), the accumulators tied to the results.
    mma = "%mr = llvm.inline_asm \"mma.sync.aligned.m16n8k32.row.col.f32."
          "e4m3.e4m3.f32 {$0,$1,$2,$3}, {$4,$5,$6,$7}, {$8,$9}, "
          "{$10,$11,$12,$13};\", \"=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3\" "
          "%va0, %va1, %va2, %va3, %vb0, %vb1, %c0v, %c1v, %c2v, %c3v : "
          "(i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> "
          "!llvm.struct<(f32, f32, f32, f32)>";
  } else {
    mma = std::string("%mr = nvvm.mma.sync A[%va0, %va1, %va2, %va3] "
                      "B[%vb0, %vb1] C[%c0v, %c1v, %c2v, %c3v] "
                      "{layoutA = #nvvm.mma_layout<row>, "
                      "layoutB = #nvvm.mma_layout<col>, "
                      "multiplicandAPtxType = #nvvm.mma_type<") +
          (u8 ? "u8" : "s8") +
          ">, multiplicandBPtxType = #nvvm.mma_type<s8>, "
          "intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, "
          "shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> "
          "!llvm.struct<(i32, i32, i32, i32)>";
  }
  return instantiateKernel(
      module,
      {fillPlaceholders(kMMA8Source, {{"KERNEL", name.str()},
                                      {"STAGES_M1", std::to_string(stages - 1)},
                                      {"STAGES_M2", std::to_string(stages - 2)},
                                      {"STAGES", std::to_string(stages)},
                                      {"ACC", fp8 ? "f32" : "i32"},
                                      {"MMA", mma},
                                      {"ZERO", fp8 ? "0.0" : "0"}}),
       "MMA8Kernel.mlir"},
      mma8Epilogue(fp8, u8));
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
        failed(instantiateKernel(
            module,
            {fillPlaceholders(kDynQuantSource, {{"SUFFIX", suffix.str()}}),
             "DynQuantKernel.mlir"})))
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
