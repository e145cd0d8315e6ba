//===- ONNXImporterTest.cpp - Library API of the ONNX importer ------------===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Import/ONNX/ONNXImporter.h"
#include "quantopt/Dialect/QNN/IR/QNNOps.h"
#include "quantopt/Pipelines/Pipelines.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cstdlib>

using namespace mlir;
using namespace quantopt;

namespace {

std::string dataPath(llvm::StringRef relative) {
  const char *root = std::getenv("QUANTOPT_UNIT_DATA");
  llvm::SmallString<256> path(root ? root : ".");
  llvm::sys::path::append(path, relative);
  return std::string(path);
}

class ONNXImporterTest : public ::testing::Test {
protected:
  ONNXImporterTest() {
    DialectRegistry registry;
    registerAllDialects(registry);
    context.appendDialectRegistry(registry);
  }
  MLIRContext context;
};

TEST_F(ONNXImporterTest, ExternalDataIsMappedInPlace) {
  std::string model = dataPath("external/model.onnx");
  ASSERT_TRUE(llvm::sys::fs::exists(model))
      << "run the unit-models ctest fixture first (" << model << ")";
  OwningOpRef<ModuleOp> module = importONNXFile(model, &context);
  ASSERT_TRUE(module);
  ASSERT_TRUE(succeeded(verify(*module)));

  qnn::ConstantOp weight;
  module->walk([&](qnn::ConstantOp op) {
    if (isa<DenseResourceElementsAttr>(op.getValue()))
      weight = op;
  });
  ASSERT_TRUE(weight);
  auto attr = cast<DenseResourceElementsAttr>(weight.getValue());
  AsmResourceBlob *blob = attr.getRawHandle().getBlob();
  ASSERT_NE(blob, nullptr);
  // A copy would be a heap blob aligned to 64 bytes and mutable; the mapped
  // file is used read-only with the element alignment.
  EXPECT_FALSE(blob->isMutable());
  EXPECT_EQ(blob->getDataAlignment(), 4u);

  // The bytes are the file's bytes (the generator writes one tensor at 0).
  auto file = llvm::MemoryBuffer::getFile(dataPath("external/weights.bin"));
  ASSERT_TRUE(bool(file));
  ArrayRef<char> data = blob->getData();
  ASSERT_EQ(data.size(), 64u * 64u * 4u);
  EXPECT_EQ(0,
            std::memcmp(data.data(), (*file)->getBufferStart(), data.size()));
}

TEST_F(ONNXImporterTest, GarbageFailsWithDiagnostic) {
  llvm::SmallString<128> path;
  int fd;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("garbage", "onnx", fd, path));
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << "\x0f\x01\x02 definitely not protobuf";
  }
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  OwningOpRef<ModuleOp> module = importONNXFile(path, &context);
  EXPECT_FALSE(module);
  EXPECT_NE(message.find("cannot parse"), std::string::npos) << message;
  llvm::sys::fs::remove(path);
}

TEST_F(ONNXImporterTest, MissingFileFailsWithDiagnostic) {
  std::string message;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  EXPECT_FALSE(importONNXFile("/nonexistent/dir/model.onnx", &context));
  EXPECT_NE(message.find("cannot open ONNX model"), std::string::npos)
      << message;
}

} // namespace
