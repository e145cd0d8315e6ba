//===- quant-translate.cpp - QuantOpt import/export driver ----------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// quant-translate --import-onnx model.onnx -o model.mlir
//
// The output is written atomically (temporary file, then rename), so a
// failed import never leaves a partial file behind.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Import/ONNX/ONNXImporter.h"
#include "quantopt/Pipelines/Pipelines.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
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

enum class Mode { ImportONNX };
static cl::opt<Mode>
    mode(cl::desc("Translation:"), cl::Required, cl::cat(category),
         cl::values(clEnumValN(Mode::ImportONNX, "import-onnx",
                               "Import an ONNX model into the qnn dialect")));

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

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  quantopt::registerAllPasses();
  mlir::registerAsmPrinterCLOptions();
  mlir::registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions({&category, &cl::getGeneralCategory()});
  cl::ParseCommandLineOptions(argc, argv, "QuantOpt translation driver\n");

  mlir::DialectRegistry registry;
  quantopt::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  quantopt::ModelDiagnosticHandler handler(&context, llvm::errs());

  quantopt::ONNXImportOptions options;
  options.inlineElementLimit = inlineLimit;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      quantopt::importONNXFile(inputFilename, &context, options);
  if (!module)
    return 1;
  if (failed(mlir::verify(*module))) {
    llvm::errs() << inputFilename
                 << ": error: the imported module does not verify (see "
                    "above); please report this with the model attached\n";
    return 1;
  }
  if (normalize) {
    mlir::PassManager pm(&context);
    if (failed(quantopt::buildNormalizePipeline(pm)) || failed(pm.run(*module)))
      return 1;
  }

  mlir::OpPrintingFlags flags;
  if (!emitWeights)
    flags.elideLargeResourceString(elideLimit);
  if (Error err = writeToOutput(outputFilename, [&](raw_ostream &os) {
        module->print(os, flags);
        return Error::success();
      })) {
    logAllUnhandledErrors(std::move(err), errs(),
                          "error: cannot write '" + outputFilename + "': ");
    return 1;
  }
  return 0;
}
