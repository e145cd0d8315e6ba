//===- qnn-gpu-kernel-embed.cpp - GPU kernel template to embedded bytecode ===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The build step that turns one GPU kernel template of
// lib/Conversion/QNNToGPU (W4A16Kernel.mlir, MMA8Kernel.mlir, ...) into
// what convert-qnn-to-gpu embeds: the template is parsed and verified as
// written (its default variant), together with the helper templates whose
// functions it calls (--helper, merged into its gpu.module for the check
// only), and written as MLIR bytecode into a C++ include file of bytes. A
// template that does not parse or verify fails the build, naming the file.
// The variants are made at compile time by rewriting the parsed IR
// (KernelTemplates.cpp), and qnn-gpu-kernel-check verifies every one.
//
// Usage: qnn-gpu-kernel-embed <template.mlir> [--helper <helper.mlir>]...
//            -o <out.inc>
//
//===----------------------------------------------------------------------===//

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

/// Parses the template at `path`; its locations name the file by its base
/// name (as the pass's diagnostics do). Diagnostics go through `sourceMgr`.
OwningOpRef<ModuleOp>
parseTemplate(MLIRContext &ctx, llvm::SourceMgr &sourceMgr, StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer) {
    llvm::errs() << "qnn-gpu-kernel-embed: error: cannot read " << path << ": "
                 << buffer.getError().message() << "\n";
    return nullptr;
  }
  // The diagnostics handler shows source lines from `sourceMgr`'s buffer
  // of the same name.
  StringRef name = llvm::sys::path::filename(path);
  unsigned id = sourceMgr.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy((*buffer)->getBuffer(), name),
      llvm::SMLoc());
  // Verified below, with its helpers.
  ParserConfig config(&ctx, /*verifyAfterParse=*/false);
  return parseSourceString<ModuleOp>(sourceMgr.getMemoryBuffer(id)->getBuffer(),
                                     config, name);
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::opt<std::string> input(llvm::cl::Positional, llvm::cl::Required,
                                   llvm::cl::desc("<kernel template .mlir>"));
  llvm::cl::list<std::string> helpers(
      "helper",
      llvm::cl::desc("A helper template whose functions the template calls"),
      llvm::cl::value_desc("file"));
  llvm::cl::opt<std::string> output(
      "o", llvm::cl::Required,
      llvm::cl::desc("The C++ include file of the bytecode's bytes"),
      llvm::cl::value_desc("file"));
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "Verifies a GPU kernel template and writes it as embedded bytecode\n");

  DialectRegistry registry;
  registry.insert<arith::ArithDialect, func::FuncDialect, gpu::GPUDialect,
                  LLVM::LLVMDialect, math::MathDialect, NVVM::NVVMDialect,
                  scf::SCFDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);

  auto fail = [&](StringRef what) {
    llvm::errs() << "qnn-gpu-kernel-embed: error: the GPU kernel template "
                 << input << " " << what << "\n";
    return 1;
  };
  OwningOpRef<ModuleOp> kernel = parseTemplate(ctx, sourceMgr, input);
  if (!kernel)
    return fail("does not parse");
  auto kernels = kernel->getOps<gpu::GPUModuleOp>();
  if (kernels.empty())
    return fail("has no gpu.module");

  // The check: the template with its helpers' functions, verified.
  OwningOpRef<ModuleOp> checked = kernel->clone();
  gpu::GPUModuleOp target = *checked->getOps<gpu::GPUModuleOp>().begin();
  for (const std::string &helper : helpers) {
    OwningOpRef<ModuleOp> parsed = parseTemplate(ctx, sourceMgr, helper);
    if (!parsed)
      return fail("has a helper template that does not parse: " + helper);
    for (auto helperKernels : parsed->getOps<gpu::GPUModuleOp>())
      for (Operation &op :
           llvm::make_early_inc_range(helperKernels.getBody()->getOperations()))
        op.moveBefore(target.getBody(), target.getBody()->end());
  }
  if (failed(verify(*checked)))
    return fail("does not verify");

  std::string bytes;
  llvm::raw_string_ostream bytecode(bytes);
  if (failed(writeBytecodeToFile(*kernel, bytecode)))
    return fail("cannot be written as bytecode");

  std::error_code ec;
  llvm::raw_fd_ostream out(output, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    llvm::errs() << "qnn-gpu-kernel-embed: error: cannot write " << output
                 << ": " << ec.message() << "\n";
    return 1;
  }
  out << "// Generated by qnn-gpu-kernel-embed from "
      << llvm::sys::path::filename(input) << ": its MLIR bytecode.\n";
  for (size_t i = 0; i < bytes.size(); ++i)
    out << static_cast<unsigned>(static_cast<unsigned char>(bytes[i]))
        << ((i + 1) % 24 == 0 ? ",\n" : ",");
  out << "\n";
  return 0;
}
