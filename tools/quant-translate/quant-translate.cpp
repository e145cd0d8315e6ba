//===- quant-translate.cpp - QuantOpt import/export driver ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// quant-translate --import-onnx model.onnx -o model.mlir
// quant-translate --emit-ptx --target sm_90 kernels.mlir|model.onnx
// quant-translate --emit-gpu-mlir model.mlir|model.onnx
//
// --emit-ptx prints the PTX of every gpu.module of the input (docs/
// GPUBackend.md); an input without gpu.modules (a qnn or tensor-level
// model, or an ONNX file) is first lowered as quant-compile --target does.
// --emit-gpu-mlir prints that lowering: the host function with gpu.alloc,
// gpu.memcpy and gpu.launch_func, and the kernels as gpu.func.
//
// The output is written atomically (temporary file, then rename), so a
// failed import never leaves a partial file behind.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Import/ONNX/ONNXImporter.h"
#include "quantopt/Pipelines/Pipelines.h"
#include "quantopt/Support/FileSafety.h"
#include "quantopt/Target/CUDA/CUDATarget.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("quant-translate options");

static cl::opt<std::string> inputFilename(cl::Positional,
                                          cl::desc("<input file>"),
                                          cl::Required, cl::cat(category));
static cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                           cl::value_desc("filename"),
                                           cl::init("-"), cl::cat(category));

enum class Mode { ImportONNX, EmitPTX, EmitGPUMLIR };
static cl::opt<Mode>
    mode(cl::desc("Translation:"), cl::Required, cl::cat(category),
         cl::values(clEnumValN(Mode::ImportONNX, "import-onnx",
                               "Import an ONNX model into the qnn dialect"),
                    clEnumValN(Mode::EmitPTX, "emit-ptx",
                               "Print the PTX of every kernel (MLIR or ONNX "
                               "input)"),
                    clEnumValN(Mode::EmitGPUMLIR, "emit-gpu-mlir",
                               "Print the module lowered to host code and GPU "
                               "kernels (MLIR or ONNX input)")));
static cl::opt<std::string>
    target("target", cl::desc("GPU of --emit-ptx: sm_80, sm_86, sm_89, sm_90"),
           cl::init("sm_90"), cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::Prefix,
                                  cl::desc("Device optimization level (0-3)"),
                                  cl::init(3), cl::cat(category));

static cl::opt<bool> emitWeights(
    "emit-weights",
    cl::desc("Print weight blobs in full (by default blobs larger than "
             "--weights-elide-limit bytes are elided)"),
    cl::init(false), cl::cat(category));
static cl::opt<int64_t> elideLimit(
    "weights-elide-limit",
    cl::desc("Elide dense_resource weight blobs larger than this many bytes"),
    cl::init(1024), cl::cat(category));
static cl::opt<bool>
    normalize("normalize",
              cl::desc("Run the qnn-normalize pipeline on the imported module"),
              cl::init(false), cl::cat(category));
static cl::opt<int64_t> inlineLimit(
    "inline-constant-limit",
    cl::desc("Constants with at most this many elements are imported as "
             "inline dense attributes, larger ones as dense_resource blobs"),
    cl::init(64), cl::cat(category));

/// Points every dense_resource attribute of more than `limitBytes` bytes at
/// a blob-less resource named `<key>__elided__`. MLIR formats a referenced
/// blob as hex in full before it checks the resource string limit, so
/// printing a 1.6 GB weight only to drop it costs twice its size in memory
/// and seconds of formatting; an unreferenced blob is never read, and its
/// mmap'd pages stay untouched. The name keeps the weight recognizable.
static void elideLargeBlobs(mlir::ModuleOp module, int64_t limitBytes) {
  auto &blobs = mlir::DenseResourceElementsHandle::getManagerInterface(
      module.getContext());
  llvm::StringMap<mlir::DenseResourceElementsHandle> elided;
  module.walk([&](mlir::Operation *op) {
    for (mlir::NamedAttribute attr : op->getAttrs()) {
      auto resource =
          dyn_cast<mlir::DenseResourceElementsAttr>(attr.getValue());
      if (!resource)
        continue;
      const mlir::AsmResourceBlob *blob = resource.getRawHandle().getBlob();
      if (!blob || static_cast<int64_t>(blob->getData().size()) <= limitBytes)
        continue;
      StringRef key = resource.getRawHandle().getKey();
      auto it = elided.find(key);
      if (it == elided.end())
        it = elided.try_emplace(key, blobs.insert((key + "__elided__").str()))
                 .first;
      op->setAttr(attr.getName(), mlir::DenseResourceElementsAttr::get(
                                      resource.getType(), it->second));
    }
  });
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  quantopt::registerAllPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions({&category, &cl::getGeneralCategory()});
  cl::ParseCommandLineOptions(argc, argv, "QuantOpt translation driver\n");

  mlir::DialectRegistry registry;
  quantopt::registerAllDialects(registry);
  if (mode != Mode::ImportONNX)
    quantopt::registerCUDATargetDialects(registry);
  mlir::MLIRContext context(registry);
  quantopt::ModelDiagnosticHandler handler(&context, llvm::errs());

  bool mlirInput =
      mode != Mode::ImportONNX && !StringRef(inputFilename).ends_with(".onnx");
  // Refuse a destructive -o before any work: it must not be the input nor a
  // device, FIFO or directory.
  quantopt::InputSet inputs;
  inputs.add(inputFilename, mlirInput ? "input" : "ONNX model");
  if (Error err = inputs.checkOutput(outputFilename, "-o")) {
    logAllUnhandledErrors(std::move(err), errs(), "error: ");
    return 1;
  }
  if (optLevel > 3) {
    errs() << "error: -O" << optLevel << ": the level must be 0-3\n";
    return 1;
  }
  if (elideLimit < 0) {
    errs() << "error: --weights-elide-limit " << elideLimit
           << ": must be >= 0 (bytes)\n";
    return 1;
  }
  if (inlineLimit < 0) {
    errs() << "error: --inline-constant-limit " << inlineLimit
           << ": must be >= 0 (elements)\n";
    return 1;
  }
  mlir::OwningOpRef<mlir::ModuleOp> module;
  if (mlirInput) {
    context.loadAllAvailableDialects();
    llvm::SourceMgr sourceMgr;
    // "-" is standard input, a pipe by the user's choice; a named input
    // must be a regular file.
    std::unique_ptr<llvm::MemoryBuffer> buffer;
    if (inputFilename == "-") {
      auto stdinBuffer = llvm::MemoryBuffer::getSTDIN();
      if (!stdinBuffer) {
        errs() << "error: cannot read standard input: "
               << stdinBuffer.getError().message() << "\n";
        return 1;
      }
      buffer = std::move(*stdinBuffer);
    } else {
      auto file = quantopt::readRegularFile(inputFilename, "input",
                                            quantopt::kNoSizeLimit,
                                            /*requiresNullTerminator=*/true);
      if (!file) {
        logAllUnhandledErrors(file.takeError(), errs(), "error: ");
        return 1;
      }
      buffer = std::move(*file);
    }
    sourceMgr.AddNewSourceBuffer(std::move(buffer), SMLoc());
    module = mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
  } else {
    quantopt::ONNXImportOptions options;
    options.inlineElementLimit = inlineLimit;
    options.inputFiles = &inputs;
    module = quantopt::importONNXFile(inputFilename, &context, options);
  }
  if (!module)
    return 1;
  if (failed(mlir::verify(*module))) {
    llvm::errs() << inputFilename
                 << ": error: the imported module does not verify (see "
                    "above); please report this with the model attached\n";
    return 1;
  }
  if (normalize || (mode != Mode::ImportONNX && !mlirInput)) {
    mlir::PassManager pm(&context);
    if (failed(quantopt::buildNormalizePipeline(pm)) || failed(pm.run(*module)))
      return 1;
  }

  if (mode != Mode::ImportONNX) {
    if (!quantopt::getCUDAComputeCapability(target)) {
      llvm::errs() << "error: unknown --target '" << target << "'; valid: "
                   << llvm::join(quantopt::getSupportedCUDAChips(), ", ")
                   << "\n";
      return 1;
    }
    quantopt::CUDACompileOptions options;
    options.chip = target;
    options.optLevel = optLevel;
    std::string text;
    if (mode == Mode::EmitPTX) {
      auto ptx = quantopt::emitCUDAPTX(*module, options);
      if (!ptx) {
        llvm::errs() << inputFilename
                     << ": error: " << toString(ptx.takeError()) << "\n";
        return 1;
      }
      text = std::move(*ptx);
    } else {
      auto weights = quantopt::lowerToGPUDialect(*module, options);
      if (!weights) {
        llvm::errs() << inputFilename
                     << ": error: " << toString(weights.takeError()) << "\n";
        return 1;
      }
    }
    if (Error err = quantopt::writeOutputFile(outputFilename, "-o", inputs,
                                              [&](raw_ostream &os) {
                                                if (mode == Mode::EmitPTX)
                                                  os << text;
                                                else
                                                  module->print(os);
                                                return Error::success();
                                              })) {
      logAllUnhandledErrors(std::move(err), errs(), "error: ");
      return 1;
    }
    return 0;
  }

  mlir::OpPrintingFlags flags;
  if (!emitWeights) {
    elideLargeBlobs(*module, elideLimit);
    flags.elideLargeResourceString(elideLimit);
  }
  if (Error err = quantopt::writeOutputFile(outputFilename, "-o", inputs,
                                            [&](raw_ostream &os) {
                                              module->print(os, flags);
                                              return Error::success();
                                            })) {
    logAllUnhandledErrors(std::move(err), errs(), "error: ");
    return 1;
  }
  return 0;
}
