//===- NodeNames.cpp - ONNX node names and resource blobs -----------------===//

#include "quantopt/Dialect/QNN/Utils/NodeNames.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

std::string quantopt::qnn::getNodeName(Location loc) {
  std::string name;
  loc->walk([&](Location l) {
    if (auto n = dyn_cast<NameLoc>(l)) {
      name = n.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return name;
}

std::string quantopt::qnn::getBlobName(Location loc, StringRef suffix) {
  std::string n = getNodeName(loc);
  return (n.empty() ? std::string("packed") : n) + "." + suffix.str();
}

Value quantopt::qnn::createBlobConstant(OpBuilder &b, Location loc,
                                        StringRef name, ArrayRef<char> bytes) {
  auto type = RankedTensorType::get({(int64_t)bytes.size()}, b.getI8Type());
  auto attr = DenseResourceElementsAttr::get(
      type, name, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
  return arith::ConstantOp::create(b, loc, attr);
}
