//===- QNNToGPU.cpp - Weight-only int4 matmuls to the W4A16 GPU kernel ----===//
//
// Part of the QuantOpt project.
//
// Rewrites qnn.weight_only_matmul with constant int4 weights into launches
// of the W4A16 kernel (W4A16Kernel.mlir, embedded below) on buffers of the
// tensor-level IR, with the weights packed here, at compile time, into the
// order the kernel's tensor-core fragments read (docs/GPUBackend.md). The
// rest of the model is left to qnn-lower-to-cpu{kernel-library=false} and
// the GPU target's loop mapping.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Utils/NodeNames.h"
#include "quantopt/Conversion/Passes.h"

#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Dialect/QNN/Utils/QuantNumerics.h"

#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Transforms/InliningUtils.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSwitch.h"

#include <array>
#include <cstring>
#include <set>

namespace quantopt {
#define GEN_PASS_DEF_QNNLOWERTOGPUPASS
#define GEN_PASS_DEF_QNNMATERIALIZEGPULAUNCHESPASS
#include "quantopt/Conversion/Passes.h.inc"
} // namespace quantopt

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

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

constexpr StringLiteral kKernelModule = "quantopt_kernels";

/// The W4A16 kernel for f16 or bf16 activations.
std::string w4a16KernelName(Type elt) {
  return elt.isBF16() ? "qgpu_w4a16_bf16" : "qgpu_w4a16_f16";
}
/// Columns per block and k per pipeline stage (the kernel's constants).
constexpr int64_t kBlockN = 64, kBlockK = 128;
/// Bytes of one pipeline stage: A 16x128 f16, B 4 x 1 KiB, scales <= 1 KiB.
constexpr int64_t kStageBytes = 9216;
/// Split-K counters in the kernel module: (m-tile, n-block) pairs.
constexpr int64_t kNumCounters = 4096;
/// Split-K is used up to this many 16-row tiles of M.
constexpr int64_t kMaxSplitMTiles = 4;

int64_t smCount(StringRef chip) {
  return llvm::StringSwitch<int64_t>(chip)
      .Case("sm_80", 108)
      .Case("sm_86", 84)
      .Case("sm_89", 128)
      .Case("sm_90", 132)
      .Default(0);
}

/// `v` rounded to f16 (or bf16), as bits.
uint16_t toHalfBits(float v, bool &overflow, bool bf16 = false) {
  llvm::APFloat f(v);
  bool lost = false;
  f.convert(bf16 ? llvm::APFloat::BFloat() : llvm::APFloat::IEEEhalf(),
            llvm::APFloat::rmNearestTiesToEven, &lost);
  overflow |= f.isInfinity() || f.isNaN();
  return static_cast<uint16_t>(f.bitcastToAPInt().getZExtValue());
}

/// A weight in the kernel's layout (docs/GPUBackend.md, "W4A16 kernel").
struct PackedW4 {
  int64_t K, N, Kpad, Npad, group;
  /// uint32 [Npad/64][Kpad/128][8 steps][32 lanes][4 groups]: for the
  /// column group j (16 columns) of block nb and the k16 step t of k-tile
  /// kt, lane l (q = l % 4, r = l / 4) holds the nibbles of (k, n) =
  /// (2q, r), (2q+8, r), (2q, r+8), (2q+8, r+8) in bits 0-15 (4 bits each,
  /// in that order) and those of k + 1 in bits 16-31 (k relative to the
  /// step, n to the group). A block's k-tile is 4 KiB, contiguous.
  std::vector<char> words;
  /// uint32 [Npad/64][Kpad/group][8 r][8 i] for column 8i + r of the block:
  /// f16 scale in bits 0-15, f16 (1024 + zero point) in bits 16-31 (bf16
  /// kernel: bf16 scale and bf16 (128 + zero point)); padding has scale 0.
  std::vector<char> scales;
};

/// Packs a [K, N] int4 weight (values as bytes, `isSigned` for i4) with
/// scales and zero points in the qnn op's layouts. Returns a reason on
/// failure.
FailureOr<PackedW4> packW4(ArrayRef<int8_t> w, bool isSigned,
                           ArrayRef<float> scales,
                           std::optional<SmallVector<int64_t>> zeroPoints,
                           int64_t K, int64_t N, int64_t group, bool bf16,
                           std::string &why) {
  int64_t eff = group;
  if (group == 0 || group % 128 == 0)
    eff = 128; // per channel, per tensor or coarse groups: replicated
  else if (group != 32 && group != 64 && group != 128) {
    why = "group size " + std::to_string(group) +
          " (the kernel takes 32, 64, 128, multiples of 128, per channel)";
    return failure();
  }
  PackedW4 p;
  p.K = K;
  p.N = N;
  p.group = eff;
  p.Kpad = (K + kBlockK - 1) / kBlockK * kBlockK;
  p.Npad = (N + kBlockN - 1) / kBlockN * kBlockN;
  int64_t offset = isSigned ? 8 : 0;
  auto u = [&](int64_t k, int64_t n) -> uint32_t {
    if (k >= K || n >= N)
      return 0;
    return static_cast<uint32_t>(w[k * N + n] + offset) & 0xF;
  };
  int64_t T = p.Kpad / 16, J = p.Npad / 16;
  std::vector<uint32_t> words(J * T * 32);
  static const int fields[4][3] = {{0, 0, 0}, {4, 8, 0}, {8, 0, 8}, {12, 8, 8}};
  for (int64_t j = 0; j < J; ++j)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t l = 0; l < 32; ++l) {
        int64_t q = l % 4, r = l / 4;
        uint32_t word = 0;
        for (const auto &f : fields) {
          int64_t k = 16 * t + 2 * q + f[1], n = 16 * j + r + f[2];
          word |= u(k, n) << f[0];
          word |= u(k + 1, n) << (f[0] + 16);
        }
        // [nb][kt][t % 8][l][j % 4]
        int64_t nb = j / 4, kt = t / 8;
        words[((((nb * (T / 8) + kt) * 8 + t % 8) * 32 + l) * 4) + j % 4] =
            word;
      }
  p.words.resize(words.size() * 4);
  std::memcpy(p.words.data(), words.data(), p.words.size());

  int64_t groupsPad = p.Kpad / eff;
  std::vector<uint32_t> sw(p.Npad / kBlockN * groupsPad * kBlockN);
  bool overflow = false;
  // The magic number of the kernel's int4 -> float trick: 2^10 for f16
  // (mantissa step 1 in [1024, 2048)), 2^7 for bf16 ([128, 256)).
  float base = bf16 ? 128.0f : 1024.0f;
  uint16_t padZero = toHalfBits(base, overflow, bf16);
  for (int64_t nb = 0; nb < p.Npad / kBlockN; ++nb)
    for (int64_t g = 0; g < groupsPad; ++g)
      for (int64_t jj = 0; jj < kBlockN; ++jj) {
        int64_t n = nb * kBlockN + jj, k = g * eff;
        uint32_t word = uint32_t(padZero) << 16;
        if (n < N && k < K) {
          int64_t idx = scales.size() == 1 ? 0
                        : group == 0       ? n
                                           : (k / group) * N + n;
          float zp = static_cast<float>(offset);
          if (zeroPoints)
            zp += static_cast<float>(
                (*zeroPoints)[zeroPoints->size() == 1 ? 0 : idx]);
          word = toHalfBits(scales[idx], overflow, bf16) |
                 (uint32_t(toHalfBits(base + zp, overflow, bf16)) << 16);
        }
        // [nb][g][r][i] for the block's column jj = 8i + r.
        sw[(nb * groupsPad + g) * kBlockN + (jj % 8) * 8 + jj / 8] = word;
      }
  if (overflow) {
    why = "a scale outside the f16 range";
    return failure();
  }
  p.scales.resize(sw.size() * 4);
  std::memcpy(p.scales.data(), sw.data(), p.scales.size());
  return p;
}

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

std::string nodeName(Operation *op) { return getNodeName(op->getLoc()); }

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

/// Parses a kernel source whose placeholders are filled in, unrolls its
/// qgpu.unroll loops and merges it into the module's @quantopt_kernels
/// (created if absent; symbols already there, such as the shared-memory
/// global, are kept).
LogicalResult instantiateKernel(ModuleOp module, const std::string &src) {
  ParserConfig config(module.getContext());
  OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(src, config);
  if (!parsed)
    return module.emitError("internal error: a GPU kernel does not parse");
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

/// The W4A16 kernel for `elt` (f16 or bf16).
LogicalResult addW4A16Kernel(ModuleOp module, int64_t stages, Type elt) {
  bool bf16 = elt.isBF16();
  return instantiateKernel(
      module,
      fillPlaceholders(
          kW4A16Source,
          {{"STAGES_M1", std::to_string(stages - 1)},
           {"STAGES", std::to_string(stages)},
           {"FLAG", std::to_string(stages * kStageBytes)},
           {"KERNEL", w4a16KernelName(elt)},
           {"OPTYPE", bf16 ? "i32" : "vector<2xf16>"},
           {"MMATYPES", bf16 ? ", multiplicandAPtxType = #nvvm.mma_type<bf16>, "
                               "multiplicandBPtxType = #nvvm.mma_type<bf16>"
                             : ""},
           {"MAGIC", bf16 ? "1124090624" : "1677747200"},
           {"ELT", bf16 ? "bf16" : "f16"}}));
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

/// The sm_90a warpgroup variant of the int8 kernel (MMA8WGKernel.mlir):
/// qgpu_w8a8_wg_{s8,u8}, with the int8 kernel's epilogue.
LogicalResult addMMA8WGKernel(ModuleOp module, int64_t stages, StringRef name) {
  bool u8 = name == "qgpu_w8a8_wg_u8";
  StringRef src(kMMA8Source);
  size_t from = src.find("    // ---- the shared epilogue");
  size_t to = src.find("    gpu.return", from);
  if (from == StringRef::npos || to == StringRef::npos)
    return module.emitError("internal error: the int8 kernel's epilogue "
                            "markers are missing");
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
      module, fillPlaceholders(kMMA8WGSource,
                               {{"EPILOGUE", src.slice(from, to).str()},
                                {"KERNEL", name.str()},
                                {"STAGES_M1", std::to_string(stages - 1)},
                                {"STAGES_M2", std::to_string(stages - 2)},
                                {"STAGES", std::to_string(stages)},
                                {"ATYPE", u8 ? "u8" : "s8"},
                                {"ACC_STRUCT", accStruct},
                                {"TO_VECTOR", toVector},
                                {"ACC", "i32"},
                                {"TOF32", kInt8EpilogueStart},
                                {"QUANT_STORE", kInt8QuantStore},
                                {"ZEXT", u8 ? "arith.extui" : "arith.extsi"},
                                {"FP8", "0"}}));
}

/// The 8-bit tensor-core kernel `name`: qgpu_w8a8_{s8,u8} (int8 x int8 ->
/// i32, the activations signed or unsigned) or qgpu_fp8_e4m3 (e4m3 x e4m3
/// -> f32, sm_89+).
LogicalResult addMMA8Kernel(ModuleOp module, int64_t stages, StringRef name) {
  bool fp8 = name == "qgpu_fp8_e4m3";
  bool u8 = name == "qgpu_w8a8_u8";
  std::string mma;
  std::string toF32;
  if (fp8) {
    // mma.sync with e4m3 operands has no NVVM op in MLIR 22: inline PTX
    // (ISA 8.4, sm_89+), the accumulators tied to the results.
    mma = "%mr = llvm.inline_asm \"mma.sync.aligned.m16n8k32.row.col.f32."
          "e4m3.e4m3.f32 {$0,$1,$2,$3}, {$4,$5,$6,$7}, {$8,$9}, "
          "{$10,$11,$12,$13};\", \"=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3\" "
          "%va0, %va1, %va2, %va3, %vb0, %vb1, %c0v, %c1v, %c2v, %c3v : "
          "(i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> "
          "!llvm.struct<(f32, f32, f32, f32)>";
    toF32 = "%r1 = arith.mulf %rv, %sa : f32\n"
            "%r2 = arith.mulf %r1, %sb : f32\n"
            "%bf = arith.bitcast %bv : i32 to f32\n"
            "%r = arith.addf %r2, %bf : f32";
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
    toF32 = kInt8EpilogueStart;
  }
  return instantiateKernel(
      module,
      fillPlaceholders(kMMA8Source,
                       {{"KERNEL", name.str()},
                        {"STAGES_M1", std::to_string(stages - 1)},
                        {"STAGES_M2", std::to_string(stages - 2)},
                        {"STAGES", std::to_string(stages)},
                        {"ACC", fp8 ? "f32" : "i32"},
                        {"MMA", mma},
                        {"TOF32", toF32},
                        {"QUANT_STORE", fp8 ? kFP8QuantStore : kInt8QuantStore},
                        {"ZEXT", u8 ? "arith.extui" : "arith.extsi"},
                        {"FP8", fp8 ? "1" : "0"},
                        {"ZERO", fp8 ? "0.0" : "0"}}));
}

struct QNNLowerToGPUPass
    : quantopt::impl::QNNLowerToGPUPassBase<QNNLowerToGPUPass> {
  using QNNLowerToGPUPassBase::QNNLowerToGPUPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int64_t sms = smCount(chip);
    if (sms == 0) {
      module.emitError("qnn-lower-to-gpu: unknown chip '")
          << chip << "' (expected sm_80, sm_86, sm_89 or sm_90)";
      return signalPassFailure();
    }
    if (stages < 2 || stages > 12) {
      module.emitError("qnn-lower-to-gpu: stages must be in [2, 12]");
      return signalPassFailure();
    }
    if (!llvm::is_contained({"auto", "w4a16", "w8a8", "w8a8-wgmma", "generic"},
                            StringRef(kernel))) {
      module.emitError("qnn-lower-to-gpu: unknown kernel '")
          << kernel << "' (expected auto, w4a16, w8a8, w8a8-wgmma or generic)";
      return signalPassFailure();
    }
    if (w4a8MinM < 0 || (w4a8MinM > 0 && kernel != "auto")) {
      module.emitError("qnn-lower-to-gpu: w4a8-min-m must be 0 (off) or a "
                       "positive row count with kernel=auto, got ")
          << static_cast<int64_t>(w4a8MinM) << " with kernel=" << kernel;
      return signalPassFailure();
    }
    bool wgmma = kernel == "w8a8-wgmma";
    if (wgmma && chip != "sm_90") {
      module.emitError("qnn-lower-to-gpu: kernel=w8a8-wgmma needs chip sm_90 "
                       "(warpgroup MMA is sm_90a only), got ")
          << chip;
      return signalPassFailure();
    }
    // Both 8-bit kernels take the same layers.
    bool forced8 = kernel == "w8a8" || wgmma;
    fallbacks.clear();
    // fp8: matmul(dequantize(e4m3 activations), dequantize(e4m3 weight)).
    SmallVector<MatMulOp> fp8Ops;
    module.walk([&](MatMulOp m) {
      if (isFP8MatMul(m))
        fp8Ops.push_back(m);
    });
    bool fp8Kernel = false;
    for (MatMulOp m : fp8Ops) {
      std::string why;
      if (kernel == "generic") {
        fallBack(m, "forced by kernel=generic");
      } else if (kernel == "w4a16" || forced8) {
        m.emitOpError("is an fp8 matmul and cannot take the ")
            << kernel << " kernel (forced by kernel=" << kernel
            << "); use --gpu-kernel=auto (kernel=auto) or generic";
        return signalPassFailure();
      } else if (succeeded(lowerFP8(m, why))) {
        fp8Kernel = true;
        ++numMMA8;
      } else if (!why.empty()) {
        fallBack(m, why);
      } else {
        return signalPassFailure();
      }
    }
    if (fp8Kernel && failed(addMMA8Kernel(module, stages, "qgpu_fp8_e4m3")))
      return signalPassFailure();
    SmallVector<WeightOnlyMatMulOp> ops;
    module.walk([&](WeightOnlyMatMulOp w) { ops.push_back(w); });
    llvm::SetVector<Type> kernels;
    for (WeightOnlyMatMulOp w : ops) {
      if (kernel == "generic") {
        fallBack(w, "forced by kernel=generic");
        continue;
      }
      if (forced8) {
        if (failed(rewriteToW4A8(w)))
          return signalPassFailure();
        continue;
      }
      std::string whyNot = w4a8MinM > 0 ? whyNotW4A8(w) : "";
      if (w4a8MinM > 0 && !whyNot.empty())
        w->setAttr("qnn.choice_note",
                   OpBuilder(w).getStringAttr(
                       "W4A16 for every M: w4a8-min-m does not apply (" +
                       whyNot + ")"));
      if (failed(w4a8MinM > 0 && whyNot.empty()
                     ? bucketByM(w, sms, kernels)
                     : lowerW4A16OrFallBack(w, sms, kernels)))
        return signalPassFailure();
    }
    SmallVector<QuantizedMatMulOp> qops;
    module.walk([&](QuantizedMatMulOp q) { qops.push_back(q); });
    std::set<std::string> mma8Kernels;
    for (QuantizedMatMulOp q : qops) {
      std::string why, name;
      if (kernel == "generic") {
        fallBack(q, "forced by kernel=generic");
      } else if (kernel == "w4a16") {
        q.emitOpError("cannot take the w4a16 kernel (forced by kernel=w4a16): "
                      "its activations are quantized to 8 bits and the W4A16 "
                      "kernel multiplies float activations by int4 weights; "
                      "use --scheme=w4a16, or --gpu-kernel=auto (kernel=auto)");
        return signalPassFailure();
      } else if (succeeded(lowerMMA8(q, why, name, wgmma))) {
        mma8Kernels.insert(name);
        ++numMMA8;
      } else if (!why.empty()) {
        if (forced8) {
          q.emitOpError("cannot take the ")
              << kernel.getValue()
              << " kernel (forced by kernel=" << kernel.getValue()
              << "): " << why
              << "; use --gpu-kernel=auto (kernel=auto) to let it fall back";
          return signalPassFailure();
        }
        fallBack(q, why);
      } else {
        return signalPassFailure();
      }
    }
    if (!fallbacks.empty())
      module->setAttr("qnn.gpu_fallbacks",
                      ArrayAttr::get(&getContext(), fallbacks));
    // Dynamic quantization kernels: uint8 on every chip, e4m3 where the
    // conversion instruction exists (sm_89+; below, the generic lowering
    // converts in software).
    SmallVector<DynamicQuantizeOp> dops;
    module.walk([&](DynamicQuantizeOp d) {
      if (!d.getE4m3() || fp8Chip())
        dops.push_back(d);
    });
    llvm::SmallSetVector<StringRef, 2> dynqSuffixes;
    for (DynamicQuantizeOp d : dops) {
      dynqSuffixes.insert(d.getE4m3() ? "_e4m3" : "");
      if (failed(lowerDynamicQuantize(d)))
        return signalPassFailure();
      ++numDynamicQuantize;
    }
    for (StringRef suffix : dynqSuffixes) {
      auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
      if (!(existing &&
            existing.lookupSymbol(("qgpu_dynq_rows" + suffix).str())) &&
          failed(instantiateKernel(
              module,
              fillPlaceholders(kDynQuantSource, {{"SUFFIX", suffix.str()}}))))
        return signalPassFailure();
    }
    for (const std::string &name : mma8Kernels) {
      auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
      if (existing && existing.lookupSymbol(name))
        continue;
      if (failed(StringRef(name).starts_with("qgpu_w8a8_wg_")
                     ? addMMA8WGKernel(module, stages, name)
                     : addMMA8Kernel(module, stages, name)))
        return signalPassFailure();
    }
    if (kernels.empty() && mma8Kernels.empty() && dops.empty() && !fp8Kernel)
      return;
    for (Type elt : kernels) {
      std::string name = w4a16KernelName(elt);
      auto existing = module.lookupSymbol<gpu::GPUModuleOp>(kKernelModule);
      if (existing && existing.lookupSymbol(name))
        continue;
      if (failed(addW4A16Kernel(module, stages, elt)))
        return signalPassFailure();
    }
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
  }

  /// The kernel's activation type for `w`: bf16 stays bf16, f16 and f32
  /// use the f16 kernel.
  static Type kernelElementType(WeightOnlyMatMulOp w) {
    Type elt = cast<ShapedType>(w.getInput().getType()).getElementType();
    Builder b(w.getContext());
    return elt.isBF16() ? b.getBF16Type() : b.getF16Type();
  }

  /// Rewrites `w`; on an unsupported case returns failure with `why` set
  /// (the op stays for the generic lowering).
  LogicalResult lower(WeightOnlyMatMulOp w, int64_t sms, std::string &why);

  /// Rewrites an 8-bit `q` into a launch of the W8A8 kernel (`kernel` is
  /// set to its name); on an unsupported case returns failure with `why`
  /// set.
  LogicalResult lowerMMA8(QuantizedMatMulOp q, std::string &why,
                          std::string &kernel, bool wgmma);

  /// Whether `m` multiplies dequantized float8 E4M3FN activations by a
  /// dequantized constant float8 E4M3FN weight (the fp8 scheme's layers).
  static bool isFP8MatMul(MatMulOp m);

  /// Whether the target has float8 tensor cores and conversions (sm_89+).
  bool fp8Chip() const { return chip == "sm_89" || chip == "sm_90"; }

  /// Rewrites an fp8 matmul into a launch of the fp8 tensor-core kernel
  /// (sm_89+); on an unsupported case returns failure with `why` set.
  LogicalResult lowerFP8(MatMulOp m, std::string &why);

  /// Marks `op` for the generic lowering and records it (node, reason) in
  /// the module's qnn.gpu_fallbacks, which the manifest reports.
  void fallBack(Operation *op, StringRef why) {
    Builder b(op->getContext());
    op->setAttr("qnn.gpu_fallback", b.getStringAttr(why));
    fallbacks.push_back(b.getDictionaryAttr(
        {b.getNamedAttr("node", b.getStringAttr(nodeName(op))),
         b.getNamedAttr("choice", b.getStringAttr("generic")),
         b.getNamedAttr("reason", b.getStringAttr(why))}));
  }
  SmallVector<Attribute> fallbacks;

  /// kernel=w8a8 on an int4 weight-only matmul: W4A8, the activations
  /// quantized per token at run time (qnn.dynamic_quantize) and the int4
  /// weights taken by the 8-bit kernel. Fails with an error where the
  /// weight's scales are grouped or the activations are not f32.
  LogicalResult rewriteToW4A8(WeightOnlyMatMulOp w);

  /// Why `w` cannot run as W4A8 on the int8 kernel ("" if it can:
  /// per-channel scales, f32 activations, a constant weight, K % 16 == 0).
  static std::string whyNotW4A8(WeightOnlyMatMulOp w);

  /// w4a8-min-m: W4A8 for M >= w4a8MinM, W4A16 below; a static M decides
  /// now, a dynamic one through an scf.if on the run-time row count whose
  /// branches hold one lowering each.
  LogicalResult bucketByM(WeightOnlyMatMulOp w, int64_t sms,
                          llvm::SetVector<Type> &kernels);

  /// Lowers `w` to the W4A16 kernel, or records the generic fallback.
  LogicalResult lowerW4A16OrFallBack(WeightOnlyMatMulOp w, int64_t sms,
                                     llvm::SetVector<Type> &kernels);

  /// Rewrites `d` into launches of the fused dynamic quantization kernels
  /// (DynQuantKernel.mlir): one per token, or partials + quantize per
  /// tensor.
  LogicalResult lowerDynamicQuantize(DynamicQuantizeOp d);
};

/// The private declaration whose calls stand for launches of `kernel`
/// until qnn-gpu-materialize-launches.
func::FuncOp launchDeclaration(ModuleOp module, SymbolRefAttr kernel,
                               TypeRange types) {
  std::string name = "quantopt_launch_" + kernel.getLeafReference().str();
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b(module.getBodyRegion());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(types, {}));
  f.setPrivate();
  f->setAttr("qgpu.kernel", kernel);
  return f;
}

struct QNNMaterializeGPULaunchesPass
    : quantopt::impl::QNNMaterializeGPULaunchesPassBase<
          QNNMaterializeGPULaunchesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> decls;
    for (auto f : module.getOps<func::FuncOp>())
      if (f->hasAttr("qgpu.kernel"))
        decls.push_back(f);
    for (func::FuncOp decl : decls) {
      auto kernel = cast<SymbolRefAttr>(decl->getAttr("qgpu.kernel"));
      std::optional<SymbolTable::UseRange> uses = decl.getSymbolUses(module);
      for (const SymbolTable::SymbolUse &use : *uses) {
        auto call = dyn_cast<func::CallOp>(use.getUser());
        if (!call || call.getNumOperands() < 7) {
          use.getUser()->emitOpError("unexpected use of a launch declaration");
          return signalPassFailure();
        }
        OpBuilder b(call);
        ValueRange o = call.getOperands();
        auto launch = gpu::LaunchFuncOp::create(
            b, call.getLoc(), kernel, gpu::KernelDim3{o[0], o[1], o[2]},
            gpu::KernelDim3{o[3], o[4], o[5]}, o[6], o.drop_front(7), Type(),
            ValueRange{});
        if (Attribute a = call->getAttr("qnn.kernel"))
          launch->setAttr("qnn.kernel", a);
        call.erase();
      }
      decl.erase();
    }
  }
};

/// A launch of `@quantopt_kernels::@kernel` with grid `grid`, `blockX`
/// threads and `smem` bytes of dynamic shared memory on `args`, as a call of
/// its launch declaration, recording the choice and its reason for the
/// manifest (qnn.kernel).
func::CallOp emitLaunch(OpBuilder &b, Location loc, Operation *anchor,
                        StringRef kernel, ArrayRef<Value> grid, int64_t blockX,
                        int64_t smem, ArrayRef<Value> args, StringRef choice,
                        StringRef reason) {
  MLIRContext *ctx = b.getContext();
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> operands(grid.begin(), grid.end());
  operands.resize(3, c1);
  operands.append({arith::ConstantIndexOp::create(b, loc, blockX), c1, c1,
                   arith::ConstantIntOp::create(b, loc, smem, 32)});
  operands.append(args.begin(), args.end());
  auto ref = SymbolRefAttr::get(ctx, kKernelModule,
                                {FlatSymbolRefAttr::get(ctx, kernel)});
  func::FuncOp decl = launchDeclaration(anchor->getParentOfType<ModuleOp>(),
                                        ref, ValueRange(operands).getTypes());
  auto call = func::CallOp::create(b, loc, decl, operands);
  call->setAttr(
      "qnn.kernel",
      b.getDictionaryAttr({b.getNamedAttr("name", b.getStringAttr(choice)),
                           b.getNamedAttr("reason", b.getStringAttr(reason))}));
  return call;
}

Value castElements(OpBuilder &b, Location loc, Value v, Type elt) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == elt)
    return v;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, v);
  Value init = tensor::EmptyOp::create(b, loc, sizes, elt);
  AffineMap id = b.getMultiDimIdentityMap(t.getRank());
  SmallVector<utils::IteratorType> iters(t.getRank(),
                                         utils::IteratorType::parallel);
  bool widen =
      elt.getIntOrFloatBitWidth() > t.getElementType().getIntOrFloatBitWidth();
  return linalg::GenericOp::create(
             b, loc, init.getType(), v, init, ArrayRef<AffineMap>{id, id},
             iters,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value r =
                   widen ? (Value)arith::ExtFOp::create(nb, nl, elt, a[0])
                         : (Value)arith::TruncFOp::create(nb, nl, elt, a[0]);
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

std::string blobName(Operation *op, StringRef suffix) {
  return getBlobName(op->getLoc(), suffix);
}

Value blob(OpBuilder &b, Location loc, StringRef name, ArrayRef<char> bytes) {
  return createBlobConstant(b, loc, name, bytes);
}

/// The device address of a tensor's buffer (identity layout), as i64.
Value addressOf(OpBuilder &b, Location loc, Value tensor) {
  auto t = cast<RankedTensorType>(tensor.getType());
  auto m = MemRefType::get(t.getShape(), t.getElementType());
  Value buf = bufferization::ToBufferOp::create(b, loc, m, tensor,
                                                /*readOnly=*/true);
  Value idx = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buf);
  return arith::IndexCastOp::create(b, loc, b.getI64Type(), idx);
}

/// The value of a constant operand (qnn or arith), or null.
ElementsAttr constantOf(Value v) {
  if (!v)
    return {};
  if (auto c = v.getDefiningOp<qnn::ConstantOp>())
    return c.getValue();
  if (auto c = v.getDefiningOp<arith::ConstantOp>())
    return dyn_cast<ElementsAttr>(c.getValue());
  return {};
}

/// The rows of a [..., K] operand (the product of all but its last
/// dimension) and the dynamic dimensions of a result of type `rType` that
/// shares those leading dimensions.
Value flattenRows(OpBuilder &b, Location loc, Value x, RankedTensorType rType,
                  SmallVectorImpl<Value> &outDynDims) {
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  for (int64_t i = 0; i + 1 < rank; ++i) {
    Value d = tensor::DimOp::create(b, loc, x, i);
    rows = arith::MulIOp::create(b, loc, rows, d);
    if (rType.isDynamicDim(i))
      outDynDims.push_back(d);
  }
  return rows;
}

/// The device address of a kernel parameter: a run-time tensor's buffer,
/// or a constant's values (f32, or bytes for integers) as a resource blob
/// "<node>.<suffix>" of at least 64 bytes (the GPU target keeps tiny
/// integer constants that no linalg op reads in host code, as shape data).
Value paramAddress(OpBuilder &b, Location loc, Operation *anchor, Value v,
                   StringRef suffix);

/// A fresh 64-byte aligned output buffer of `rType`'s shape with element
/// `elt`, and its address as i64.
std::pair<Value, Value> outputBuffer(OpBuilder &b, Location loc,
                                     RankedTensorType rType, Type elt,
                                     ValueRange dynDims) {
  Value buf =
      memref::AllocOp::create(b, loc, MemRefType::get(rType.getShape(), elt),
                              dynDims, b.getI64IntegerAttr(64));
  Value addr = arith::IndexCastOp::create(
      b, loc, b.getI64Type(),
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, buf));
  return {buf, addr};
}

LogicalResult QNNLowerToGPUPass::lower(WeightOnlyMatMulOp w, int64_t sms,
                                       std::string &why) {
  ElementsAttr wAttr, sAttr, zAttr, bAttr;
  wAttr = constantOf(w.getWeight());
  sAttr = constantOf(w.getScales());
  zAttr = constantOf(w.getZeroPoints());
  bAttr = constantOf(w.getBias());
  if (!wAttr || !sAttr || (w.getZeroPoints() && !zAttr) ||
      (w.getBias() && !bAttr)) {
    why = "non-constant weights, scales, zero points or bias";
    return failure();
  }
  auto wType = cast<ShapedType>(wAttr.getType());
  auto wElt = cast<IntegerType>(wType.getElementType());
  if (wElt.getWidth() != 4) {
    why = "8-bit weights (the GPU kernel is int4)";
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto rType = cast<RankedTensorType>(w.getResult().getType());
  Type xElt = xType.getElementType();
  if (!(xElt.isF16() || xElt.isBF16() || xElt.isF32()) ||
      rType.getElementType() != xElt) {
    why = "activations that are not f16, bf16 or f32";
    return failure();
  }
  if (K % 8 != 0) {
    why = "K = " + std::to_string(K) + " is not a multiple of 8";
    return failure();
  }
  auto bytes = getWeightBytes(wAttr);
  auto scales = getFloatValues(sAttr);
  std::optional<SmallVector<float>> bias;
  std::optional<SmallVector<int64_t>> zps;
  if (zAttr)
    zps = getIntValues(zAttr);
  if (bAttr)
    bias = getFloatValues(bAttr);
  if (!bytes || !scales || (zAttr && !zps) || (bAttr && !bias)) {
    w.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  Type kElt = kernelElementType(w);
  auto packed = packW4(*bytes, !wElt.isUnsigned(), *scales, zps, K, N,
                       w.getGroupSize(), kElt.isBF16(), why);
  if (failed(packed))
    return failure();

  // Split-K for small M: about four blocks per SM at M = 1 (measured best
  // of 2, 4 and 6 on an H100 with 4 stages: benchmarks/results).
  int64_t nBlocks = packed->Npad / kBlockN, numKT = packed->Kpad / kBlockK;
  int64_t split = std::min<int64_t>((4 * sms + nBlocks - 1) / nBlocks, numKT);
  if (nBlocks * kMaxSplitMTiles > kNumCounters)
    split = 1;
  int64_t ktPer = (numKT + split - 1) / split;
  split = (numKT + ktPer - 1) / ktPer;

  OpBuilder b(w);
  Location loc = w.getLoc();
  Type f16 = kElt, i32 = b.getI32Type(); // the kernel's activation type
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto toI32 = [&](Value v) {
    return (Value)arith::IndexCastOp::create(b, loc, i32, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };

  // The activations as f16, in their own shape: the kernel reads them as
  // [M, K] rows (identity layout), M the product of the leading dims.
  Value x = castElements(b, loc, w.getInput(), f16);
  SmallVector<Value> outDynDims;
  Value m = flattenRows(b, loc, x, rType, outDynDims);

  Value wBlob = blob(b, loc, blobName(w, "w4a16"), packed->words);
  Value sBlob = blob(b, loc, blobName(w, "w4a16_scales"), packed->scales);
  Value biasAddr = arith::ConstantIntOp::create(b, loc, 0, 64);
  if (bias) {
    ArrayRef<char> bb(reinterpret_cast<const char *>(bias->data()),
                      bias->size() * sizeof(float));
    biasAddr = addressOf(b, loc, blob(b, loc, blobName(w, "bias"), bb));
  }

  // Grid: (N / 64, split, ceil(M / 16)); split-K only for small M.
  Value c1 = idx(1);
  Value mTiles = arith::CeilDivUIOp::create(b, loc, m, idx(16));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, c1);
  Value small = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule, mTiles,
                                      idx(kMaxSplitMTiles));
  Value splitV = arith::SelectOp::create(b, loc, small, idx(split), c1);
  Value ktPerV =
      arith::SelectOp::create(b, loc, small, cI32(ktPer), cI32(numKT));
  Value wsElems = arith::MulIOp::create(
      b, loc, arith::MulIOp::create(b, loc, splitV, mTiles),
      idx(16 * packed->Npad));
  wsElems = arith::MaxUIOp::create(b, loc, wsElems, idx(16));

  auto outType = MemRefType::get(rType.getShape(), f16);
  Value outBuf = memref::AllocOp::create(b, loc, outType, outDynDims,
                                         b.getI64IntegerAttr(64));
  auto wsType = MemRefType::get({ShapedType::kDynamic}, b.getF32Type());
  Value wsBuf = memref::AllocOp::create(b, loc, wsType, ValueRange{wsElems},
                                        b.getI64IntegerAttr(64));
  auto address = [&](Value memref) {
    Value i = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    return (Value)arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
  };
  SmallVector<Value> args{addressOf(b, loc, x),
                          addressOf(b, loc, wBlob),
                          addressOf(b, loc, sBlob),
                          biasAddr,
                          address(outBuf),
                          address(wsBuf),
                          toI32(m),
                          cI32(N),
                          cI32(K),
                          cI32(packed->Npad),
                          ktPerV,
                          cI32(numKT),
                          cI32(llvm::Log2_64(packed->group)),
                          cI32(bias ? 1 : 0)};
  std::string reason =
      "int4 weights, group " + std::to_string(packed->group) + ", " +
      std::to_string(split) +
      "-way split-K for M <= " + std::to_string(16 * kMaxSplitMTiles) + " (" +
      std::to_string(nBlocks) + " column blocks, " + std::to_string(sms) +
      " SMs on " + chip + ")";
  if (auto note = w->getAttrOfType<StringAttr>("qnn.choice_note"))
    reason = note.str() + "; " + reason;
  emitLaunch(b, loc, w, w4a16KernelName(kElt), {idx(nBlocks), splitV, mTiles},
             128, stages * kStageBytes + 16, args,
             kElt.isBF16() ? "w4a16_bf16" : "w4a16", reason);

  Value out = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(rType.getShape(), f16), outBuf,
      /*restrict=*/true, /*writable=*/true);
  out = castElements(b, loc, out, xElt);
  w.getResult().replaceAllUsesWith(out);
  w.erase();
  return success();
}

/// `v` with a signless element type: the CPU lowering that runs after this
/// pass converts unsigned tensors to signless ones and meets values of the
/// original type through unrealized casts, which cancel with this one.
Value signless(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Type elt = t.getElementType();
  // float8 E4M3FN tensors are bytes after the CPU lowering too.
  if (isa<Float8E4M3FNType>(elt))
    return UnrealizedConversionCastOp::create(b, loc, t.clone(b.getI8Type()), v)
        .getResult(0);
  auto it = dyn_cast<IntegerType>(elt);
  if (!it || it.isSignless())
    return v;
  Type s = t.clone(IntegerType::get(b.getContext(), it.getWidth()));
  return UnrealizedConversionCastOp::create(b, loc, s, v).getResult(0);
}

Value paramAddress(OpBuilder &b, Location loc, Operation *anchor, Value v,
                   StringRef suffix) {
  ElementsAttr c = constantOf(v);
  if (!c)
    return addressOf(b, loc, signless(b, loc, v));
  std::vector<char> bytes;
  if (isa<FloatType>(c.getElementType())) {
    auto f = getFloatValues(c);
    bytes.resize(f->size() * 4);
    std::memcpy(bytes.data(), f->data(), bytes.size());
  } else {
    // Named: a range-for over `*getIntValues(c)` would iterate a destroyed
    // temporary (ASan: stack-use-after-scope).
    auto ints = getIntValues(c);
    for (int64_t x : *ints)
      bytes.push_back(static_cast<char>(x));
  }
  bytes.resize(std::max<size_t>(bytes.size(), 64), 0);
  return addressOf(b, loc, blob(b, loc, blobName(anchor, suffix), bytes));
}

/// Tile sizes of the 8-bit kernel (MMA8Kernel.mlir).
constexpr int64_t kMMA8BlockM = 128, kMMA8BlockN = 128, kMMA8BlockK = 64;

/// A [K, N] 8-bit weight in the 8-bit kernel's layout (docs/GPUBackend.md):
/// bytes [Npad/128][Kpad/64][ks 2][wn 4][h 2][lane 32][t 2][reg 2][4], where
/// byte j of register reg of n8 tile 2h + t of warp column wn holds
/// B'[k][n] for k = 64 kt + 32 ks + 4 (lane % 4) + 16 reg + j and
/// n = 128 nb + 32 wn + 8 (2h + t) + lane / 4 (zero outside [K, N]); and
/// the column terms [Npad] i32 colsum(B') then [Npad] i32 bias.
struct PackedMMA8 {
  int64_t Kpad, Npad;
  std::vector<char> words;
  std::vector<char> columns;
};

PackedMMA8 packMMA8(ArrayRef<int8_t> values, int64_t K, int64_t N,
                    ArrayRef<int32_t> bias, bool wgmma) {
  PackedMMA8 p;
  p.Kpad = llvm::alignTo(K, kMMA8BlockK);
  p.Npad = llvm::alignTo(N, kMMA8BlockN);
  p.words.assign(p.Npad * p.Kpad, 0);
  int64_t numKT = p.Kpad / kMMA8BlockK;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int64_t nb = n / 128, nn = n % 128, wn = nn / 32, nt = nn % 32 / 8;
      int64_t kt = k / 64, kk = k % 64, ks = kk / 32, k32 = kk % 32;
      int64_t reg = k32 / 16, q = k32 % 16 / 4, j = k32 % 4;
      int64_t lane = (nn % 8) * 4 + q, h = nt / 2, t = nt % 2;
      int64_t off = (nb * numKT + kt) * 8192 +
                    ((((ks * 4 + wn) * 2 + h) * 32 + lane) * 2 + t) * 8 +
                    reg * 4 + j;
      // The warpgroup kernel's shared-memory image (MMA8WGKernel.mlir):
      // K-major core matrices, [k / 16][n][k % 16] within the k-tile.
      if (wgmma)
        off = (nb * numKT + kt) * 8192 + (kk / 16) * 2048 + nn * 16 + kk % 16;
      p.words[off] = static_cast<char>(values[k * N + n]);
    }
  std::vector<int32_t> cols(2 * p.Npad, 0);
  for (int64_t n = 0; n < N; ++n) {
    uint32_t sum = 0;
    for (int64_t k = 0; k < K; ++k)
      sum += static_cast<uint32_t>(static_cast<int32_t>(values[k * N + n]));
    cols[n] = static_cast<int32_t>(sum);
    cols[p.Npad + n] = bias.empty() ? 0 : bias[n];
  }
  p.columns.resize(cols.size() * 4);
  std::memcpy(p.columns.data(), cols.data(), p.columns.size());
  return p;
}

LogicalResult QNNLowerToGPUPass::lowerMMA8(QuantizedMatMulOp q,
                                           std::string &why,
                                           std::string &kernel, bool wgmma) {
  ElementsAttr wAttr = constantOf(q.getRhs());
  ElementsAttr zAttr = constantOf(q.getRhsZeroPoint());
  ElementsAttr bAttr = constantOf(q.getBias());
  if (!wAttr || (q.getRhsZeroPoint() && !zAttr) || (q.getBias() && !bAttr)) {
    why = "a right operand that is not a constant weight (activation x "
          "activation), or a non-constant weight zero point or bias";
    return failure();
  }
  auto wType = cast<ShapedType>(wAttr.getType());
  if (wType.getRank() != 2) {
    why = "a weight of rank " + std::to_string(wType.getRank());
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  auto lhsType = cast<RankedTensorType>(q.getLhs().getType());
  auto rType = cast<RankedTensorType>(q.getResult().getType());
  if (K % 16 != 0) {
    why = "K = " + std::to_string(K) +
          " is not a multiple of 16 (the kernel copies 16-byte rows)";
    return failure();
  }
  // The weight minus its zero point must be int8 (int8 with zero point 0,
  // uint8 with 128, any 4-bit weight).
  auto bytes = getWeightBytes(wAttr);
  std::optional<SmallVector<int64_t>> zps;
  if (zAttr)
    zps = getIntValues(zAttr);
  std::optional<SmallVector<int64_t>> biasValues;
  if (bAttr)
    biasValues = getIntValues(bAttr);
  if (!bytes || (zAttr && !zps) || (bAttr && !biasValues)) {
    q.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  bool wUnsigned = cast<IntegerType>(wType.getElementType()).isUnsigned();
  std::vector<int8_t> values(K * N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      int64_t v = (*bytes)[k * N + n];
      if (wUnsigned)
        v = static_cast<uint8_t>(v);
      int64_t z = zps ? (*zps)[zps->size() == 1 ? 0 : n] : 0;
      int64_t d = v - z;
      if (d < -128 || d > 127) {
        why = "a weight zero point that takes weight - zero point out of "
              "int8 (column " +
              std::to_string(n) + ")";
        return failure();
      }
      values[k * N + n] = static_cast<int8_t>(d);
    }
  SmallVector<int32_t> bias;
  if (biasValues)
    for (int64_t v : *biasValues)
      bias.push_back(static_cast<int32_t>(v));
  if (!bias.empty() && static_cast<int64_t>(bias.size()) != N) {
    why = "a bias that is not per output channel";
    return failure();
  }
  PackedMMA8 packed = packMMA8(values, K, N, bias, wgmma);

  bool aUnsigned = cast<IntegerType>(lhsType.getElementType()).isUnsigned();
  kernel = std::string(wgmma ? "qgpu_w8a8_wg_" : "qgpu_w8a8_") +
           (aUnsigned ? "u8" : "s8");
  OpBuilder b(q);
  Location loc = q.getLoc();
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };
  // Per tensor when the parameter has one element, else one per row
  // (the lhs shape with a last dimension of 1) or per column ([N]).
  auto perElement = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return !(t.hasStaticShape() && t.getNumElements() == 1);
  };

  Value lhs = signless(b, loc, q.getLhs());
  SmallVector<Value> outDynDims;
  Value m = flattenRows(b, loc, lhs, rType, outDynDims);
  Value wBlob = blob(b, loc, blobName(q, "w8a8"), packed.words);
  Value pBlob = blob(b, loc, blobName(q, "w8a8_columns"), packed.columns);
  Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
  int64_t outType = 0;
  if (q.getOutputScale())
    outType =
        cast<IntegerType>(
            cast<ShapedType>(q.getOutputZeroPoint().getType()).getElementType())
                .isUnsigned()
            ? 2
            : 1;
  int64_t act = llvm::StringSwitch<int64_t>(q.getActivation())
                    .Case("relu", 1)
                    .Case("gelu", 2)
                    .Case("silu", 3)
                    .Default(0);

  Type outElt = rType.getElementType();
  if (auto it = dyn_cast<IntegerType>(outElt))
    outElt = b.getIntegerType(it.getWidth());
  auto [outBuf, outAddr] = outputBuffer(b, loc, rType, outElt, outDynDims);
  Value numKT = cI32(packed.Kpad / kMMA8BlockK);
  // Scales and zero points: run-time tensors by address; constants become
  // resource blobs like the weights (uploaded once, never stored from the
  // host).
  auto param = [&](Value v, StringRef suffix) {
    return paramAddress(b, loc, q, v, suffix);
  };
  SmallVector<Value> args{
      addressOf(b, loc, lhs),
      addressOf(b, loc, wBlob),
      addressOf(b, loc, pBlob),
      param(q.getLhsScale(), "lhs_scale"),
      param(q.getLhsZeroPoint(), "lhs_zero_point"),
      param(q.getRhsScale(), "rhs_scale"),
      outType ? param(q.getOutputScale(), "output_scale") : zero64,
      outType ? param(q.getOutputZeroPoint(), "output_zero_point") : zero64,
      outAddr,
      arith::IndexCastOp::create(b, loc, i32, m),
      cI32(N),
      cI32(K),
      cI32(packed.Npad),
      numKT,
      cI32(perElement(q.getLhsScale()) ? 1 : 0),
      cI32(perElement(q.getRhsScale()) ? 1 : 0),
      cI32(act),
      cI32(outType)};
  if (perElement(q.getLhsScale()) != perElement(q.getLhsZeroPoint())) {
    why = "an lhs scale and zero point of different granularity";
    return failure();
  }
  Value mTiles = arith::CeilDivUIOp::create(b, loc, m, idx(kMMA8BlockM));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, idx(1));
  int64_t smemBytes = std::max<int64_t>(stages * 16384, 128 * 136 * 4);
  std::string reason =
      std::string(aUnsigned ? "uint8" : "int8") +
      " activations x int8 weights on int8 tensor cores (" +
      (wgmma ? "sm_90a warpgroup MMA wgmma m64n128k32, forced by "
               "kernel=w8a8-wgmma, "
             : "mma.sync m16n8k32, ") +
      "128x128 tiles, " + std::to_string(stages) + "-stage cp.async), " +
      (perElement(q.getLhsScale()) ? "per-token" : "per-tensor") +
      " activation scale, epilogue: " + q.getActivation().str() +
      (outType ? ", requantized output" : ", f32 output");
  if (auto note = q->getAttrOfType<StringAttr>("qnn.choice_note"))
    reason = note.str() + "; " + reason;
  emitLaunch(b, loc, q, kernel, {idx(packed.Npad / kMMA8BlockN), mTiles}, 256,
             smemBytes, args, wgmma ? "w8a8-wgmma" : "w8a8", reason);
  Value out = bufferization::ToTensorOp::create(b, loc, rType.clone(outElt),
                                                outBuf, /*restrict=*/true,
                                                /*writable=*/true);
  if (out.getType() != rType)
    out = UnrealizedConversionCastOp::create(b, loc, rType, out).getResult(0);
  q.getResult().replaceAllUsesWith(out);
  q.erase();
  return success();
}

/// The dequantize of float8 E4M3FN data behind `v`, or null.
static DequantizeOp fp8Dequantize(Value v) {
  auto d = v.getDefiningOp<DequantizeOp>();
  if (!d || !isa<Float8E4M3FNType>(
                cast<ShapedType>(d.getInput().getType()).getElementType()))
    return {};
  return d;
}

bool QNNLowerToGPUPass::isFP8MatMul(MatMulOp m) {
  return fp8Dequantize(m.getLhs()) && fp8Dequantize(m.getRhs());
}

LogicalResult QNNLowerToGPUPass::lowerFP8(MatMulOp m, std::string &why) {
  DequantizeOp a = fp8Dequantize(m.getLhs()), w = fp8Dequantize(m.getRhs());
  if (!fp8Chip()) {
    why =
        "fp8 tensor cores need sm_89 or sm_90 (target " + chip.getValue() + ")";
    return failure();
  }
  ElementsAttr wAttr = constantOf(w.getInput());
  auto wType = cast<RankedTensorType>(w.getInput().getType());
  auto aType = cast<RankedTensorType>(a.getInput().getType());
  auto rType = cast<RankedTensorType>(m.getResult().getType());
  if (!wAttr || wType.getRank() != 2 || aType.getRank() < 1 ||
      !rType.getElementType().isF32()) {
    why = "not a [K, N] constant fp8 weight with f32 output";
    return failure();
  }
  int64_t K = wType.getDimSize(0), N = wType.getDimSize(1);
  if (K % 16 != 0) {
    why = "K = " + std::to_string(K) +
          " is not a multiple of 16 (the kernel copies 16-byte rows)";
    return failure();
  }
  // Scales: activations per tensor; the weight per tensor or per output
  // column (axis 1); zero points absent or zero; no blocks.
  // Elements of a scale; -1 when its shape is not static (a run-time
  // per-token scale).
  auto count = [](Value v) -> int64_t {
    if (!v)
      return 0;
    auto t = cast<ShapedType>(v.getType());
    return t.hasStaticShape() ? t.getNumElements() : -1;
  };
  auto zeroOrAbsent = [](Value zp) {
    if (!zp)
      return true;
    ElementsAttr c = constantOf(zp);
    if (!c)
      return false;
    auto bytes = getWeightBytes(c);
    return bytes && llvm::all_of(*bytes, [](int8_t v) {
             return (static_cast<uint8_t>(v) & 0x7F) == 0;
           });
  };
  bool wPerCol = count(w.getScale()) == N && N != 1;
  // Per token: the activation scale blocked along K with one block per row
  // ([..., 1], as qnn.dynamic_quantize per_token leaves it); the kernel
  // reads it per output row.
  int64_t aRank = aType.getRank();
  // Its leading dimensions must be the activations' (equal, or both
  // dynamic as when both come from the same tensor), so that the kernel's
  // per-row read stays inside it.
  auto sType = a.getScale() ? dyn_cast<RankedTensorType>(a.getScale().getType())
                            : nullptr;
  bool aPerRow = a.getBlockSize() != 0 && a.getBlockSize() == K &&
                 aType.getDimSize(aRank - 1) == K &&
                 (a.getAxis() == aRank - 1 || a.getAxis() == -1) && sType &&
                 sType.getRank() == aRank && sType.getDimSize(aRank - 1) == 1 &&
                 sType.getShape().drop_back() == aType.getShape().drop_back();
  if (!a.getScale() || (count(a.getScale()) != 1 && !aPerRow) ||
      !w.getScale() ||
      (count(w.getScale()) != 1 && !(wPerCol && w.getAxis() == 1)) ||
      (a.getBlockSize() != 0 && !aPerRow) || w.getBlockSize() != 0 ||
      !constantOf(w.getScale()) || !zeroOrAbsent(a.getZeroPoint()) ||
      !zeroOrAbsent(w.getZeroPoint())) {
    why = "fp8 scales the kernel does not take (it needs per-tensor or "
          "per-token activation and per-tensor or per-column weight scales, "
          "zero points 0)";
    return failure();
  }
  auto bytes = getWeightBytes(wAttr);
  if (!bytes) {
    m.emitOpError("weight data is not available (elided?)");
    return failure();
  }
  PackedMMA8 packed = packMMA8(*bytes, K, N, {}, /*wgmma=*/false);
  // The epilogue fused into the kernel: a following add of a constant
  // per-column f32 bias, then relu / gelu (erf) / silu, each the only user
  // of the value before it.
  Operation *last = m;
  SmallVector<float> bias;
  auto onlyUser = [](Operation *op) -> Operation * {
    return op->hasOneUse() ? *op->getUsers().begin() : nullptr;
  };
  if (auto add = dyn_cast_or_null<AddOp>(onlyUser(m))) {
    Value other = add.getLhs() == m.getResult() ? add.getRhs() : add.getLhs();
    ElementsAttr c = constantOf(other);
    auto t = dyn_cast<RankedTensorType>(other.getType());
    std::optional<SmallVector<float>> values;
    if (c && t && t.getRank() == 1 && t.getDimSize(0) == N &&
        t.getElementType().isF32() && add.getType() == rType &&
        (values = getFloatValues(c))) {
      bias = std::move(*values);
      last = add;
    }
  }
  int64_t act = 0;
  if (Operation *u = onlyUser(last);
      u && u->getNumResults() == 1 && u->getResult(0).getType() == rType) {
    if (isa<ReluOp>(u))
      act = 1;
    else if (auto g = dyn_cast<GeluOp>(u); g && g.getApproximate() == "none")
      act = 2;
    else if (isa<SiluOp>(u))
      act = 3;
    if (act)
      last = u;
  }
  // The next layer's quantize to e4m3 (per-tensor constant scale, zero
  // point absent or 0, saturating): the kernel writes e4m3 bytes.
  QuantizeOp requant;
  if (auto qz = dyn_cast_or_null<QuantizeOp>(onlyUser(last))) {
    auto qt = cast<RankedTensorType>(qz.getOutput().getType());
    ElementsAttr sc = constantOf(qz.getScale());
    if (isa<Float8E4M3FNType>(qt.getElementType()) && qz.getSaturate() && sc &&
        sc.getNumElements() == 1 && qz.getBlockSize() == 0 &&
        zeroOrAbsent(qz.getZeroPoint()) && qt.getShape() == rType.getShape() &&
        getFloatValues(sc))
      requant = qz;
  }
  // The column words: unused colsum, then the f32 bias bits.
  std::fill(packed.columns.begin(), packed.columns.end(), 0);
  for (auto [n, v] : llvm::enumerate(bias))
    std::memcpy(packed.columns.data() + 4 * (packed.Npad + n), &v, 4);

  OpBuilder b(m);
  Location loc = m.getLoc();
  Type i32 = b.getI32Type();
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto cI32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(b, loc, v, 32);
  };
  Value lhs = signless(b, loc, a.getInput());
  SmallVector<Value> outDynDims;
  Value rows = flattenRows(b, loc, lhs, rType, outDynDims);
  Type outElt = requant ? (Type)b.getI8Type() : (Type)b.getF32Type();
  auto [outBuf, outAddr] = outputBuffer(b, loc, rType, outElt, outDynDims);
  auto param = [&](Value v, StringRef suffix) {
    return paramAddress(b, loc, m, v, suffix);
  };
  Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
  SmallVector<Value> args{
      addressOf(b, loc, lhs),
      addressOf(b, loc, blob(b, loc, blobName(m, "fp8"), packed.words)),
      addressOf(b, loc,
                blob(b, loc, blobName(m, "fp8_columns"), packed.columns)),
      param(a.getScale(), "lhs_scale"),
      zero64,
      param(w.getScale(), "rhs_scale"),
      requant ? param(requant.getScale(), "output_scale") : zero64,
      zero64,
      outAddr,
      arith::IndexCastOp::create(b, loc, i32, rows),
      cI32(N),
      cI32(K),
      cI32(packed.Npad),
      cI32(packed.Kpad / kMMA8BlockK),
      cI32(aPerRow ? 1 : 0),
      cI32(wPerCol ? 1 : 0),
      cI32(act),
      cI32(requant ? 3 : 0)};
  Value mTiles = arith::CeilDivUIOp::create(b, loc, rows, idx(kMMA8BlockM));
  mTiles = arith::MaxUIOp::create(b, loc, mTiles, idx(1));
  std::string reason =
      "float8 e4m3 activations x e4m3 weights on fp8 tensor cores (mma.sync "
      "m16n8k32, f32 accumulation, 128x128 tiles, " +
      std::to_string(stages) + "-stage cp.async), " +
      (aPerRow ? "per-token" : "per-tensor") + " activation scale, " +
      (wPerCol ? "per-column" : "per-tensor") + " weight scale, epilogue: " +
      llvm::join(
          llvm::make_filter_range(
              std::array<std::string, 3>{
                  bias.empty() ? "" : "bias",
                  std::array<const char *, 4>{"", "relu", "gelu", "silu"}[act],
                  requant ? "the next layer's e4m3 quantize" : ""},
              [](const std::string &p) { return !p.empty(); }),
          " + ") +
      (bias.empty() && !act && !requant ? "none" : "") +
      (requant ? "" : ", f32 output");
  emitLaunch(
      b, loc, m, "qgpu_fp8_e4m3", {idx(packed.Npad / kMMA8BlockN), mTiles}, 256,
      std::max<int64_t>(stages * 16384, 128 * 136 * 4), args, "fp8", reason);
  Value out = bufferization::ToTensorOp::create(b, loc, rType.clone(outElt),
                                                outBuf, /*restrict=*/true,
                                                /*writable=*/true);
  if (requant) {
    out = UnrealizedConversionCastOp::create(b, loc,
                                             requant.getOutput().getType(), out)
              .getResult(0);
    requant.getOutput().replaceAllUsesWith(out);
    requant.erase();
  }
  last->getResult(0).replaceAllUsesWith(out);
  // The fused chain, last op first.
  while (last != m) {
    Operation *prev = last->getOperand(0).getDefiningOp();
    if (isa<AddOp>(last) && prev != m)
      prev = last->getOperand(1).getDefiningOp();
    last->erase();
    last = prev;
  }
  m.erase();
  // (a and w may be one op: matmul(d, d) of a square constant.)
  if (w->use_empty())
    w.erase();
  if (a != w && a->use_empty())
    a.erase();
  return success();
}

LogicalResult QNNLowerToGPUPass::rewriteToW4A8(WeightOnlyMatMulOp w) {
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto wType = cast<RankedTensorType>(w.getWeight().getType());
  auto fail = [&](const Twine &why) {
    return w.emitOpError("cannot take the w8a8 kernel (forced by "
                         "kernel=w8a8, as W4A8 with per-token dynamic "
                         "activations): ")
           << why << "; use --gpu-kernel=auto (kernel=auto)";
  };
  if (w.getGroupSize() != 0)
    return fail("its weight scales are grouped along K (group size " +
                Twine(w.getGroupSize()) +
                "), which the int8 kernel's per-channel epilogue cannot apply");
  if (!xType.getElementType().isF32() || xType.getRank() < 1)
    return fail("its activations are not f32");
  OpBuilder b(w);
  Location loc = w.getLoc();
  SmallVector<int64_t> sShape(xType.getShape());
  sShape.back() = 1;
  auto ui8 = IntegerType::get(b.getContext(), 8, IntegerType::Unsigned);
  auto dq = DynamicQuantizeOp::create(
      b, loc,
      TypeRange{xType.clone(ui8), RankedTensorType::get(sShape, b.getF32Type()),
                RankedTensorType::get(sShape, ui8)},
      w.getInput(), b.getBoolAttr(true));
  Type rType = w.getResult().getType();
  auto q = QuantizedMatMulOp::create(
      b, loc, rType, dq.getOutput(), w.getWeight(), dq.getScale(),
      dq.getZeroPoint(), w.getScales(), w.getZeroPoints(), Value(), Value(),
      Value(), b.getStringAttr("none"));
  auto note = w->getAttrOfType<StringAttr>("qnn.choice_note");
  q->setAttr("qnn.choice_note",
             note ? note
                  : b.getStringAttr("W4A8 forced by kernel=w8a8 on an int4 "
                                    "weight-only matmul (activations quantized "
                                    "per token at run time)"));
  Value out = q.getResult();
  if (Value bias = w.getBias())
    out = AddOp::create(b, loc, rType, out, bias);
  w.getResult().replaceAllUsesWith(out);
  w.erase();
  return success();
}

std::string QNNLowerToGPUPass::whyNotW4A8(WeightOnlyMatMulOp w) {
  auto xType = dyn_cast<RankedTensorType>(w.getInput().getType());
  auto wType = cast<ShapedType>(w.getWeight().getType());
  if (w.getGroupSize() != 0)
    return "grouped weight scales";
  if (!xType || xType.getRank() < 1 || !xType.getElementType().isF32())
    return "activations that are not f32";
  if (!constantOf(w.getWeight()) || wType.getRank() != 2)
    return "not a constant [K, N] weight";
  if (wType.getDimSize(0) % 16 != 0)
    return "K is not a multiple of 16";
  return "";
}

LogicalResult
QNNLowerToGPUPass::lowerW4A16OrFallBack(WeightOnlyMatMulOp w, int64_t sms,
                                        llvm::SetVector<Type> &kernels) {
  std::string why;
  Type elt = kernelElementType(w);
  if (succeeded(lower(w, sms, why))) {
    kernels.insert(elt);
    ++numW4A16;
    return success();
  }
  if (why.empty())
    return failure();
  fallBack(w, why);
  return success();
}

LogicalResult QNNLowerToGPUPass::bucketByM(WeightOnlyMatMulOp w, int64_t sms,
                                           llvm::SetVector<Type> &kernels) {
  auto xType = cast<RankedTensorType>(w.getInput().getType());
  auto bigNote = [&](StringRef how) {
    return ("M >= " + Twine(w4a8MinM) + " (w4a8-min-m, " + how +
            "): W4A8, the activations quantized per token at run time")
        .str();
  };
  auto smallNote = [&](StringRef how) {
    return ("M < " + Twine(w4a8MinM) + " (w4a8-min-m, " + how + ")").str();
  };
  // A static row count decides at compile time.
  if (llvm::all_of(xType.getShape().drop_back(),
                   [](int64_t d) { return !ShapedType::isDynamic(d); })) {
    int64_t rows = 1;
    for (int64_t d : xType.getShape().drop_back())
      rows *= d;
    std::string how = "M = " + std::to_string(rows);
    OpBuilder b(w);
    if (rows >= w4a8MinM) {
      w->setAttr("qnn.choice_note", b.getStringAttr(bigNote(how)));
      return rewriteToW4A8(w);
    }
    w->setAttr("qnn.choice_note", b.getStringAttr(smallNote(how)));
    return lowerW4A16OrFallBack(w, sms, kernels);
  }
  // A dynamic one: both lowerings, behind a branch on the rows at run time.
  OpBuilder b(w);
  Location loc = w.getLoc();
  Value rows = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i + 1 < xType.getRank(); ++i)
    rows = arith::MulIOp::create(
        b, loc, rows, tensor::DimOp::create(b, loc, w.getInput(), i));
  Value big =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, rows,
                            arith::ConstantIndexOp::create(b, loc, w4a8MinM));
  Type rType = w.getResult().getType();
  auto branch = scf::IfOp::create(b, loc, TypeRange{rType}, big,
                                  /*withElseRegion=*/true);
  auto cloneInto = [&](Block &block, const std::string &note) {
    OpBuilder inner = OpBuilder::atBlockEnd(&block);
    auto copy = cast<WeightOnlyMatMulOp>(inner.clone(*w));
    copy->setAttr("qnn.choice_note", inner.getStringAttr(note));
    scf::YieldOp::create(inner, loc, copy.getResult());
    return copy;
  };
  WeightOnlyMatMulOp large =
      cloneInto(branch.getThenRegion().front(), bigNote("run-time branch"));
  WeightOnlyMatMulOp small =
      cloneInto(branch.getElseRegion().front(), smallNote("run-time branch"));

  w.getResult().replaceAllUsesWith(branch.getResult(0));
  w.erase();
  if (failed(rewriteToW4A8(large)))
    return failure();
  return lowerW4A16OrFallBack(small, sms, kernels);
}

LogicalResult QNNLowerToGPUPass::lowerDynamicQuantize(DynamicQuantizeOp d) {
  OpBuilder b(d);
  Location loc = d.getLoc();
  Value x = d.getInput();
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t rank = xType.getRank();
  bool perToken = d.getPerToken();
  StringRef suffix = d.getE4m3() ? "_e4m3" : "";
  StringRef what = d.getE4m3() ? "float8 e4m3" : "uint8";
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(b, loc, v);
  };
  auto toI32 = [&](Value v) {
    return (Value)arith::IndexCastOp::create(b, loc, b.getI32Type(), v);
  };
  // Rows (every dimension but the last) and columns; per tensor, n = all.
  SmallVector<Value> dims;
  for (int64_t i = 0; i < rank; ++i)
    dims.push_back(tensor::DimOp::create(b, loc, x, i));
  Value rows = idx(1);
  for (int64_t i = 0; i + 1 < rank; ++i)
    rows = arith::MulIOp::create(b, loc, rows, dims[i]);
  Value cols = rank ? dims.back() : idx(1);

  // Outputs: q like x; the scale and zero point [..., 1] per token, 0-d per
  // tensor (the op's result shapes).
  auto alloc = [&](RankedTensorType t, Type elt) {
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (t.isDynamicDim(i))
        dyn.push_back(dims[i]);
    return (Value)memref::AllocOp::create(b, loc,
                                          MemRefType::get(t.getShape(), elt),
                                          dyn, b.getI64IntegerAttr(64));
  };
  Type i8 = b.getI8Type(), f32 = b.getF32Type();
  auto qType = cast<RankedTensorType>(d.getOutput().getType());
  auto sType = cast<RankedTensorType>(d.getScale().getType());
  auto zType = cast<RankedTensorType>(d.getZeroPoint().getType());
  Value qBuf = alloc(qType, i8), sBuf = alloc(sType, f32),
        zBuf = alloc(zType, i8);
  auto address = [&](Value memref) {
    Value i = memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
    return (Value)arith::IndexCastOp::create(b, loc, b.getI64Type(), i);
  };
  Value xAddr = addressOf(b, loc, x);
  constexpr int64_t kMaxPartials = 1024;
  if (perToken) {
    // One block per row; at least one block (an empty grid is an error).
    Value grid = arith::MaxUIOp::create(b, loc, rows, idx(1));
    emitLaunch(b, loc, d, ("qgpu_dynq_rows" + suffix).str(), {grid}, 256, 64,
               {xAddr, address(qBuf), address(sBuf), address(zBuf), toI32(rows),
                toI32(cols)},
               "dynamic_quantize",
               ("per-token " + what +
                " range and quantization fused, one 256-thread block per row")
                   .str());
  } else {
    Value n = arith::MulIOp::create(b, loc, rows, cols);
    Value n64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
    // Partials: one block per 256 elements up to 1024 blocks; the quantize
    // step: up to 4 elements per thread at first, then grid-stride.
    Value parts = arith::CeilDivUIOp::create(b, loc, n, idx(256));
    parts = arith::MinUIOp::create(b, loc, parts, idx(kMaxPartials));
    parts = arith::MaxUIOp::create(b, loc, parts, idx(1));
    Value qBlocks = arith::CeilDivUIOp::create(b, loc, n, idx(1024));
    qBlocks = arith::MinUIOp::create(b, loc, qBlocks, idx(65535));
    qBlocks = arith::MaxUIOp::create(b, loc, qBlocks, idx(1));
    Value partBuf = memref::AllocOp::create(
        b, loc, MemRefType::get({2 * kMaxPartials}, f32), ValueRange{},
        b.getI64IntegerAttr(64));
    emitLaunch(b, loc, d, "qgpu_dynq_partials", {parts}, 256, 64,
               {xAddr, address(partBuf), n64}, "dynamic_quantize",
               "per-tensor range: block partials (step 1 of 2)");
    emitLaunch(b, loc, d, ("qgpu_dynq_tensor" + suffix).str(), {qBlocks}, 256,
               64,
               {xAddr, address(partBuf), address(qBuf), address(sBuf),
                address(zBuf), n64, toI32(parts)},
               "dynamic_quantize",
               ("per-tensor " + what +
                " quantization, the partials folded in every block (step 2 of "
                "2)")
                   .str());
  }
  auto result = [&](Value buf, RankedTensorType t) -> Value {
    Type elt = cast<MemRefType>(buf.getType()).getElementType();
    Value v = bufferization::ToTensorOp::create(b, loc, t.clone(elt), buf,
                                                /*restrict=*/true,
                                                /*writable=*/true);
    if (v.getType() != t)
      v = UnrealizedConversionCastOp::create(b, loc, t, v).getResult(0);
    return v;
  };
  d.getOutput().replaceAllUsesWith(result(qBuf, qType));
  d.getScale().replaceAllUsesWith(result(sBuf, sType));
  d.getZeroPoint().replaceAllUsesWith(result(zBuf, zType));
  d.erase();
  return success();
}

} // namespace
