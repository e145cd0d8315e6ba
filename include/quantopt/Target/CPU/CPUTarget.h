//===- CPUTarget.h - Compile a lowered module to a CPU shared object -*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The CPU half of `quant-compile`: takes a qnn module (normalized and, if
// wanted, quantized), lowers it through qnn-lower-to-cpu, bufferization and
// the LLVM dialect, and produces an x86-64 shared object with the entry
// `quantopt_entry` of docs/CPUBackend.md, the weights it reads as arguments,
// and the manifest fields that describe its inputs and outputs.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CPU_CPUTARGET_H
#define QUANTOPT_TARGET_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

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
};

struct CompiledWeight {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

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

/// Tensor-level upstream IR (after qnn-lower-to-cpu) to the LLVM dialect:
/// elementwise fusion, one-shot bufferization with identity layouts at
/// function boundaries, ownership-based deallocation, loops, LLVM.
void buildCPULowerToLLVMPipeline(mlir::OpPassManager &pm);

/// Dialects and external models (bufferization, LLVM IR translation) the
/// CPU target needs in a context.
void registerCPUTargetDialects(mlir::DialectRegistry &registry);

/// The host CPU's name and feature list as LLVM spells them.
std::string getHostCPUName();

} // namespace quantopt

#endif // QUANTOPT_TARGET_CPU_CPUTARGET_H
