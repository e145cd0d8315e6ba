//===- CPUTarget.h - Compile a lowered module to a CPU shared object -*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The CPU half of `quant-compile`: takes a qnn module (normalized and, if
// wanted, quantized), lowers it through convert-qnn-to-cpu, bufferization and
// the LLVM dialect, and produces an x86-64 shared object with the entry
// `quantopt_entry` of docs/CPUBackend.md, the weights it reads as arguments,
// and the manifest fields that describe its inputs and outputs.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CPU_CPUTARGET_H
#define QUANTOPT_TARGET_CPU_CPUTARGET_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <memory>

#include <string>
#include <vector>

namespace llvm {
class Module;
} // namespace llvm

namespace quantopt {

struct CPUCompileOptions {
  /// LLVM CPU name for the generated code ("x86-64-v3", "native", ...).
  std::string cpu = "x86-64-v3";
  /// Constants at least this large become weights in the bundle instead of
  /// data in the shared object.
  int64_t externalizeMinBytes = 256;
  /// LLVM optimization level of the generated code (0-3). The kernels are
  /// precompiled, so lower levels only affect the elementwise code.
  unsigned optLevel = 3;
  /// The C compiler driver used to link the object into a shared object.
  std::string linker = "cc";
  /// When set, the LLVM dialect module is printed here (debugging).
  std::string dumpLLVMDialectPath;
  /// Whether the compiled module is the only user of its weights' resource
  /// blobs (quant-compile's final compile, not the calibration one, whose
  /// module is a clone that shares them): the float weights that packing
  /// replaced are freed once lowered, and every weight's blob once
  /// CompiledWeight::release is called. Blobs created by this compile
  /// (packed weights) are released either way.
  bool ownsWeights = false;
};

/// A weight of the bundle. Its bytes are either owned (`bytes`) or a view
/// of a resource blob of the module's context (`view`, e.g. the mmap'd
/// external data of the ONNX model or a packed weight), which stays valid
/// until `release` is called, so that a compile never copies the weights.
struct CompiledWeight {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
  llvm::ArrayRef<char> view;
  /// Frees the blob `view` points into once no other weight of the same
  /// blob needs it (set only when that is safe); the writer calls it after
  /// writing the bytes.
  std::function<void()> release;

  llvm::ArrayRef<char> data() const {
    return view.data() ? view : llvm::ArrayRef<char>(bytes);
  }
};

/// Frees the data of every resource blob of `module`'s context that no
/// attribute of `module` references (dense_resource weights that folding,
/// quantization or packing replaced). Only for a module that is the
/// context's only user of its blobs. Returns the bytes freed.
uint64_t releaseUnreferencedResources(mlir::ModuleOp module);

struct CompiledCPUModel {
  std::vector<CompiledWeight> weights;
  std::string sharedObject;
  /// Manifest entries: "inputs", "outputs", "target", "entry", "kernels".
  llvm::json::Object manifest;
};

/// The dtype name of the manifest for an element type, or "" if it has none.
std::string getManifestDType(mlir::Type elementType);

/// Lowers `module` (consumed: it is rewritten in place) and builds the
/// shared object. Errors name the op or the step that failed.
llvm::Expected<CompiledCPUModel>
compileForCPU(mlir::ModuleOp module, const CPUCompileOptions &options);

/// Quantized qnn to tensor-level upstream IR and kernel calls:
/// qnn-evaluate-dequantize, convert-qnn-to-cpu, canonicalize, cse
/// (registered as qnn-cpu-convert).
void buildCPUConvertPipeline(mlir::OpPassManager &pm);

/// buildCPUConvertPipeline() then buildCPULowerToLLVMPipeline() (registered
/// as qnn-cpu-pipeline; compileForCPU externalizes weights in between).
void buildCPUPipeline(mlir::OpPassManager &pm);

/// Registers qnn-cpu-convert, qnn-cpu-bufferize, qnn-cpu-lower-to-llvm and
/// qnn-cpu-pipeline.
void registerCPUTargetPipelines();

/// Tensor-level upstream IR (after convert-qnn-to-cpu) to the LLVM dialect:
/// elementwise fusion, one-shot bufferization with identity layouts at
/// function boundaries, kernel calls, ownership-based deallocation, loops,
/// LLVM (registered as qnn-cpu-lower-to-llvm).
void buildCPULowerToLLVMPipeline(mlir::OpPassManager &pm);

/// The first steps of buildCPULowerToLLVMPipeline(), shared with the GPU
/// target: canonicalization and linalg elementwise fusion on tensors ...
void buildElementwiseFusionPipeline(mlir::OpPassManager &pm);

/// ... then one-shot bufferization (identity layouts), qnn-lower-kernel-calls,
/// ownership-based deallocation, bufferization to memref.
void buildBufferizePipeline(mlir::OpPassManager &pm);

/// The last part of buildCPULowerToLLVMPipeline(), shared with the GPU
/// target's host code: affine, scf, math, memref, arith, index, func and cf
/// to the LLVM dialect.
void buildHostLowerToLLVMPipeline(mlir::OpPassManager &pm);

/// Dialects and external models (bufferization, LLVM IR translation) the
/// CPU target needs in a context.
void registerCPUTargetDialects(mlir::DialectRegistry &registry);

/// The host CPU's name and feature list as LLVM spells them.
std::string getHostCPUName();

//===----------------------------------------------------------------------===//
// Pieces shared with the other targets (lib/Target/CUDA)
//===----------------------------------------------------------------------===//

/// The manifest entry ("name", "dtype", "shape", "dims") of a model input or
/// output of type `type` with the argument or result attributes `attrs`.
llvm::Expected<llvm::json::Object>
describeModelValue(mlir::Type type, mlir::DictionaryAttr attrs,
                   llvm::StringRef fallbackName);

/// Finds the model function (getModelFunction), appends the manifest
/// entries of its inputs and outputs and then drops their argument and
/// result attributes (the metadata lives in the manifest). Fails on a type
/// without a bundle dtype or a model without outputs.
llvm::Expected<mlir::func::FuncOp>
describeModelSignature(mlir::ModuleOp module, llvm::json::Array &inputs,
                       llvm::json::Array &outputs);

/// Adds the `quantopt_entry` wrapper over the model's C interface (with
/// `numArgs` weight and input arguments), optionally prints the LLVM dialect
/// module to `dumpLLVMDialectPath`, and translates it to LLVM IR.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateModelToLLVMIR(mlir::ModuleOp module, unsigned numArgs,
                       llvm::StringRef dumpLLVMDialectPath,
                       llvm::LLVMContext &llvmCtx);

/// The single public function with a body that the targets compile.
llvm::Expected<mlir::func::FuncOp> getModelFunction(mlir::ModuleOp module);

struct ExternalizeOptions {
  /// Non-splat constants smaller than this stay in the code.
  int64_t minBytes = 256;
  /// Whether splat constants (any size) become weights too.
  bool splats = false;
  /// When set, constants it returns true for stay in the code.
  std::function<bool(mlir::Operation *)> keepInCode;
  /// When set, the weights of the resource blobs it returns true for get a
  /// CompiledWeight::release that frees the blob.
  std::function<bool(mlir::DenseResourceElementsAttr)> releasable;
};

/// Turns the tensor constants of `func` selected by `options` (never i1)
/// into leading arguments, in order, and marks every argument read-only for
/// bufferization; the bundle carries the bytes.
llvm::Expected<std::vector<CompiledWeight>>
externalizeWeights(mlir::func::FuncOp func, const ExternalizeOptions &options);

/// Adds `void quantopt_entry(void **args)`, which unpacks the pointer array
/// (args[0]: the result struct if `hasResults`, then `numArgs` memref
/// descriptors) into the C-interface wrapper `cifaceName`.
mlir::LogicalResult addEntryWrapper(mlir::ModuleOp module,
                                    llvm::StringRef cifaceName, bool hasResults,
                                    unsigned numArgs);

/// Optimizes `module` for the x86-64 CPU `cpu` at `options.optLevel` and
/// links it with `options.linker` into a shared object (undefined symbols
/// allowed: the runtime provides them), returned as bytes.
llvm::Expected<std::string> emitSharedObject(llvm::Module &module,
                                             const CPUCompileOptions &options,
                                             llvm::StringRef cpu);

/// Emits the ABI descriptor of quantopt/Runtime/BundleFormat.h into `module`
/// as the exported constant `quantopt_abi`: the "entry", "target", "inputs"
/// and "outputs" of `manifest` (as the bundle's manifest will have them) and
/// `weights` in argument order, with the offsets the bundle writer gives
/// them. The runtime refuses a manifest that disagrees with it.
void addABIDescriptor(llvm::Module &module, const llvm::json::Object &manifest,
                      llvm::ArrayRef<CompiledWeight> weights);

/// Prints the time since the last call when QUANTOPT_TIME_PHASES is set.
void reportCompilePhase(const char *name);

} // namespace quantopt

#endif // QUANTOPT_TARGET_CPU_CPUTARGET_H
