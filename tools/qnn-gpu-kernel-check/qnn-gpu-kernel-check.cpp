//===- qnn-gpu-kernel-check.cpp - Build-time check of the GPU kernels -----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// Instantiates every variant of QuantOpt's GPU kernel templates that
// convert-qnn-to-gpu can request (lib/Conversion/QNNToGPU: W4A16Kernel.mlir
// for f16 and bf16, MMA8Kernel.mlir for s8/u8 activations and e4m3,
// MMA8WGKernel.mlir for s8/u8, DynQuantKernel.mlir for uint8 and e4m3, each
// for every pipeline depth the pass accepts) through the pass's own
// instantiateKernels() (the embedded bytecode of each template, rewritten
// into the variant), then runs the verifier on the result. Each variant
// is checked alone and, per pipeline depth, all of them in one module (as a
// model using every kernel gets them). The build runs it, so a variant
// that does not verify fails the build, not a user's compile (each
// template as written is checked before it is embedded, by
// qnn-gpu-kernel-embed).
//
// Usage: qnn-gpu-kernel-check [-o <stamp file written on success>]
//
//===----------------------------------------------------------------------===//

#include "GPULowering.h"

#include "quantopt/Dialect/QNN/IR/QNNDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qgpu;

namespace {

/// The pipeline depths convert-qnn-to-gpu accepts (its `stages` option).
constexpr int64_t kMinStages = 2, kMaxStages = 12;

/// One variant: the template it comes from, its parameter values in words,
/// and what it adds to the lowering's state.
struct Variant {
  std::string kernelTemplate;
  std::string values;
  std::function<void(GPULoweringState &)> request;
};

/// Every variant the kernel patterns (W4A16.cpp, MMA8.cpp, FP8.cpp,
/// DynamicQuantize.cpp) can request for `stages`.
std::vector<Variant> variantsFor(MLIRContext &ctx, int64_t stages) {
  std::string s = "STAGES=" + std::to_string(stages);
  std::vector<Variant> v;
  for (Type elt : {Type(Float16Type::get(&ctx)), Type(BFloat16Type::get(&ctx))})
    v.push_back({"W4A16Kernel.mlir",
                 s + ", ELT=" + (elt.isBF16() ? "bf16" : "f16"),
                 [elt](GPULoweringState &st) { st.w4a16Kernels.insert(elt); }});
  for (const char *name : {"qgpu_w8a8_s8", "qgpu_w8a8_u8"})
    v.push_back(
        {"MMA8Kernel.mlir", s + ", KERNEL=" + name,
         [name](GPULoweringState &st) { st.mma8Kernels.insert(name); }});
  v.push_back({"MMA8Kernel.mlir", s + ", KERNEL=qgpu_fp8_e4m3",
               [](GPULoweringState &st) { st.fp8Kernel = true; }});
  for (const char *name : {"qgpu_w8a8_wg_s8", "qgpu_w8a8_wg_u8"})
    v.push_back(
        {"MMA8WGKernel.mlir", s + ", KERNEL=" + name,
         [name](GPULoweringState &st) { st.mma8Kernels.insert(name); }});
  // The dynamic quantization kernels do not depend on the pipeline depth.
  if (stages == kMinStages)
    for (const char *suffix : {"", "_e4m3"})
      v.push_back(
          {"DynQuantKernel.mlir", std::string("SUFFIX=") + suffix,
           [suffix](GPULoweringState &st) { st.dynqSuffixes.insert(suffix); }});
  return v;
}

/// Instantiates what `request` asks for into an empty module and verifies
/// it; on failure, prints the diagnostics under `what`.
bool check(MLIRContext &ctx, int64_t stages, StringRef what,
           llvm::function_ref<void(GPULoweringState &)> request) {
  std::string diags;
  llvm::raw_string_ostream os(diags);
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    os << "  " << d.getLocation() << ": " << d << "\n";
    // The first line of each note ("see current operation" prints the
    // whole module).
    for (Diagnostic &note : d.getNotes())
      os << "    note: " << StringRef(note.str()).split('\n').first << "\n";
    return success();
  });
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(&ctx));
  GPULoweringState state(getGPUTargets().back(), stages, GPUKernel::Auto,
                         /*w4a8MinM=*/0);
  request(state);
  bool ok = succeeded(instantiateKernels(*module, state)) &&
            succeeded(verify(*module));
  if (!ok)
    llvm::errs() << "qnn-gpu-kernel-check: error: GPU kernel template " << what
                 << " does not instantiate, parse or verify:\n"
                 << diags;
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::opt<std::string> stamp(
      "o", llvm::cl::desc("Stamp file to write when every variant verifies"),
      llvm::cl::value_desc("file"), llvm::cl::init(""));
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "Checks every variant of QuantOpt's GPU kernel templates\n");

  DialectRegistry registry;
  registry.insert<arith::ArithDialect, bufferization::BufferizationDialect,
                  func::FuncDialect, gpu::GPUDialect, linalg::LinalgDialect,
                  LLVM::LLVMDialect, math::MathDialect, memref::MemRefDialect,
                  NVVM::NVVMDialect, scf::SCFDialect, tensor::TensorDialect,
                  qnn::QNNDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  int failures = 0, checked = 0;
  for (int64_t stages = kMinStages; stages <= kMaxStages; ++stages) {
    std::vector<Variant> variants = variantsFor(ctx, stages);
    for (const Variant &v : variants) {
      ++checked;
      if (!check(ctx, stages, v.kernelTemplate + " [" + v.values + "]",
                 v.request))
        ++failures;
    }
    ++checked;
    if (!check(ctx, stages,
               "set (every kernel in one module, STAGES=" +
                   std::to_string(stages) + ")",
               [&](GPULoweringState &st) {
                 for (const Variant &v : variants)
                   v.request(st);
               }))
      ++failures;
  }
  if (failures) {
    llvm::errs() << "qnn-gpu-kernel-check: " << failures << " of " << checked
                 << " GPU kernel instantiations failed\n";
    return 1;
  }
  llvm::outs() << "qnn-gpu-kernel-check: " << checked
               << " GPU kernel instantiations parse and verify\n";
  if (!stamp.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(stamp, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      llvm::errs() << "qnn-gpu-kernel-check: cannot write " << stamp << ": "
                   << ec.message() << "\n";
      return 1;
    }
    out << checked << " GPU kernel instantiations verified\n";
  }
  return 0;
}
