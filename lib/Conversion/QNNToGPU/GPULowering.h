//===- GPULowering.h - Shared pieces of convert-qnn-to-gpu ------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// What the kernel families' patterns (W4A16.cpp, MMA8.cpp, FP8.cpp,
// DynamicQuantize.cpp) share: the state of one run of the pass (options,
// the kernels to instantiate, fallbacks), launch and buffer helpers, and the
// kernel templates (KernelTemplates.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_LIB_CONVERSION_QNNTOGPU_GPULOWERING_H
#define QUANTOPT_LIB_CONVERSION_QNNTOGPU_GPULOWERING_H

#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Target/CUDA/GPUTargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/SetVector.h"

#include <set>
#include <string>

namespace quantopt::qgpu {

/// The gpu.module holding QuantOpt's kernels.
constexpr llvm::StringLiteral kKernelModule = "quantopt_kernels";
/// Bytes of one pipeline stage of the W4A16 kernel: A 16x128 f16, B 4 x
/// 1 KiB, scales <= 1 KiB.
constexpr int64_t kW4A16StageBytes = 9216;

/// One run of convert-qnn-to-gpu: its options, what the patterns decided
/// (kernels to instantiate, fallbacks, counts) and whether one failed with
/// an error.
struct GPULoweringState {
  GPULoweringState(const GPUTargetInfo &target, int64_t stages,
                   GPUKernel kernel, int64_t w4a8MinM)
      : target(target), stages(stages), kernel(kernel), w4a8MinM(w4a8MinM) {}

  const GPUTargetInfo &target;
  int64_t stages;
  GPUKernel kernel;
  int64_t w4a8MinM;

  /// Whether both 8-bit kernels' forced choice applies.
  bool forced8() const {
    return kernel == GPUKernel::W8A8 || kernel == GPUKernel::W8A8WGMMA;
  }

  /// Marks `op` for the generic lowering (qnn.gpu_fallback, in place of its
  /// kernel choice) and records it (node, reason) in
  /// `fallbacks` (the module's qnn.gpu_fallbacks, which the manifest
  /// reports).
  void fallBack(mlir::RewriterBase &rewriter, mlir::Operation *op,
                llvm::StringRef why);

  /// `lowered`, or, where the lowering failed with a reason (`why`, the
  /// op unchanged), success after fallBack(); failure where it failed
  /// with an error.
  mlir::LogicalResult loweredOrFallBack(mlir::RewriterBase &rewriter,
                                        mlir::Operation *op,
                                        mlir::LogicalResult lowered,
                                        llvm::StringRef why) {
    if (mlir::succeeded(lowered))
      return mlir::success();
    if (why.empty())
      return mlir::failure();
    fallBack(rewriter, op, why);
    return mlir::success();
  }

  llvm::SmallVector<mlir::Attribute> fallbacks;
  /// W4A16 kernels by activation type (f16, bf16), in order of first use.
  llvm::SetVector<mlir::Type> w4a16Kernels;
  /// 8-bit kernels by name.
  std::set<std::string> mma8Kernels;
  bool fp8Kernel = false;
  /// Dynamic quantization kernels: "" (uint8) and/or "_e4m3".
  llvm::SmallSetVector<llvm::StringRef, 2> dynqSuffixes;
  int64_t numW4A16 = 0, numMMA8 = 0, numDynamicQuantize = 0;
  bool failed = false;
};

/// The pattern of one kernel family: it matches the ops that
/// qnn-select-gpu-kernels gave a kernel (kKernelChoiceAttr, below) and that
/// are not fallbacks yet, marks those given "generic" as fallbacks and
/// lowers the others with lowerChoice(); an error stops the pass.
template <typename OpTy>
struct GPUKernelPattern : mlir::OpRewritePattern<OpTy> {
  GPUKernelPattern(mlir::MLIRContext *ctx, GPULoweringState &state)
      : mlir::OpRewritePattern<OpTy>(ctx), state(state) {}

  mlir::LogicalResult
  matchAndRewrite(OpTy op, mlir::PatternRewriter &rewriter) const final;

  /// Lowers `op` to the kernel `name` (chosen for `reason`), or marks it
  /// as a fallback with the reason it cannot take it; fails after an
  /// error.
  virtual mlir::LogicalResult
  lowerChoice(OpTy op, llvm::StringRef name, llvm::StringRef reason,
              mlir::PatternRewriter &rewriter) const = 0;

protected:
  GPULoweringState &state;
};

/// Pattern sets, one per kernel family. Each runs as its own phase of the
/// pass (fp8, weight-only, 8-bit, dynamic quantization): the weight-only
/// patterns create the 8-bit matmuls and dynamic quantizations of W4A8.
void populateFP8Patterns(mlir::RewritePatternSet &patterns,
                         GPULoweringState &state);
void populateW4A16Patterns(mlir::RewritePatternSet &patterns,
                           GPULoweringState &state);
void populateMMA8Patterns(mlir::RewritePatternSet &patterns,
                          GPULoweringState &state);
void populateDynamicQuantizePatterns(mlir::RewritePatternSet &patterns,
                                     GPULoweringState &state);

//===----------------------------------------------------------------------===//
// Kernel choice (SelectGPUKernels.cpp, qnn-select-gpu-kernels)
//===----------------------------------------------------------------------===//

/// The choice qnn-select-gpu-kernels records on an op: {name, reason}.
constexpr llvm::StringLiteral kKernelChoiceAttr = "qnn.gpu_kernel";

/// Whether `m` multiplies dequantized float8 E4M3FN activations by a
/// dequantized constant float8 E4M3FN weight (the fp8 scheme's layers).
bool isFP8MatMul(qnn::MatMulOp m);

/// Why `w` cannot run as W4A8 on the int8 kernel ("" if it can:
/// per-channel scales, f32 activations, a constant weight, K % 16 == 0).
std::string whyNotW4A8(qnn::WeightOnlyMatMulOp w);

/// Records the kernel choice of `op` (kKernelChoiceAttr) unless it has one
/// or is no kernel candidate; fails with an error on `op` for a forced
/// kernel it cannot take.
mlir::LogicalResult selectGPUKernel(mlir::Operation *op,
                                    const GPUTargetInfo &target,
                                    GPUKernel kernel, int64_t w4a8MinM);

/// selectGPUKernel() on every `OpTy` of `module`, stopping at the first
/// error.
template <typename OpTy>
mlir::LogicalResult selectGPUKernels(mlir::ModuleOp module,
                                     const GPUTargetInfo &target,
                                     GPUKernel kernel, int64_t w4a8MinM) {
  return mlir::failure(
      module
          .walk([&](OpTy op) {
            return mlir::failed(selectGPUKernel(op, target, kernel, w4a8MinM))
                       ? mlir::WalkResult::interrupt()
                       : mlir::WalkResult::advance();
          })
          .wasInterrupted());
}

/// The (name, reason) recorded on `op`, if any.
std::optional<std::pair<llvm::StringRef, llvm::StringRef>>
getGPUKernelChoice(mlir::Operation *op);

template <typename OpTy>
mlir::LogicalResult
GPUKernelPattern<OpTy>::matchAndRewrite(OpTy op,
                                        mlir::PatternRewriter &rewriter) const {
  if (op->hasAttr("qnn.gpu_fallback") || state.failed)
    return mlir::failure();
  std::optional<std::pair<llvm::StringRef, llvm::StringRef>> choice =
      getGPUKernelChoice(op);
  if (!choice)
    return mlir::failure();
  if (choice->first == "generic") {
    state.fallBack(rewriter, op, choice->second);
    return mlir::success();
  }
  mlir::LogicalResult result =
      lowerChoice(op, choice->first, choice->second, rewriter);
  if (mlir::failed(result))
    state.failed = true;
  return result;
}

//===----------------------------------------------------------------------===//
// Kernel templates (KernelTemplates.cpp)
//===----------------------------------------------------------------------===//

/// Adds the kernels `state` asks for to the module's @quantopt_kernels.
mlir::LogicalResult instantiateKernels(mlir::ModuleOp module,
                                       const GPULoweringState &state);

/// The W4A16 kernel for f16 or bf16 activations.
std::string w4a16KernelName(mlir::Type elt);

//===----------------------------------------------------------------------===//
// IR helpers (LoweringUtils.cpp)
//===----------------------------------------------------------------------===//

/// A launch of `@quantopt_kernels::@kernel` with grid `grid`, `blockX`
/// threads and `smem` bytes of dynamic shared memory on `args`, as a call of
/// its launch declaration, recording the choice and its reason for the
/// manifest (qnn.kernel).
mlir::func::CallOp emitLaunch(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Operation *anchor, llvm::StringRef kernel,
                              llvm::ArrayRef<mlir::Value> grid, int64_t blockX,
                              int64_t smem, llvm::ArrayRef<mlir::Value> args,
                              llvm::StringRef choice, llvm::StringRef reason);

/// `v` with element type `elt` (float extension or truncation).
mlir::Value castElements(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v,
                         mlir::Type elt);

/// A resource blob constant "<node>.<suffix>" of `op` holding `bytes`.
mlir::Value blob(mlir::OpBuilder &b, mlir::Location loc, mlir::Operation *op,
                 llvm::StringRef suffix, llvm::ArrayRef<char> bytes);

/// The device address of a tensor's buffer (identity layout), as i64.
mlir::Value addressOf(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value tensor);

/// The device address of a memref, as i64.
mlir::Value bufferAddress(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value memref);

/// The value of a constant operand (qnn or arith), or null.
mlir::ElementsAttr constantOf(mlir::Value v);

/// The rows of a [..., K] operand (the product of all but its last
/// dimension) and the dynamic dimensions of a result of type `rType` that
/// shares those leading dimensions.
mlir::Value flattenRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                        mlir::RankedTensorType rType,
                        llvm::SmallVectorImpl<mlir::Value> &outDynDims);

/// `v` with a signless element type: the CPU lowering that runs after this
/// pass converts unsigned tensors to signless ones and meets values of the
/// original type through unrealized casts, which cancel with this one.
mlir::Value signless(mlir::OpBuilder &b, mlir::Location loc, mlir::Value v);

/// The device address of a kernel parameter: a run-time tensor's buffer,
/// or a constant's values (f32, or bytes for integers) as a resource blob
/// "<node>.<suffix>" of at least 64 bytes (the GPU target keeps tiny
/// integer constants that no linalg op reads in host code, as shape data).
mlir::Value paramAddress(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Operation *anchor, mlir::Value v,
                         llvm::StringRef suffix);

/// A fresh 64-byte aligned output buffer of `rType`'s shape with element
/// `elt`, and its address as i64.
std::pair<mlir::Value, mlir::Value> outputBuffer(mlir::OpBuilder &b,
                                                 mlir::Location loc,
                                                 mlir::RankedTensorType rType,
                                                 mlir::Type elt,
                                                 mlir::ValueRange dynDims);

/// The result tensor of a kernel's output buffer `buf`, cast to `type`
/// where its element type differs (unsigned, float8).
mlir::Value resultTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::Value buf, mlir::RankedTensorType type);

} // namespace quantopt::qgpu

#endif // QUANTOPT_LIB_CONVERSION_QNNTOGPU_GPULOWERING_H
