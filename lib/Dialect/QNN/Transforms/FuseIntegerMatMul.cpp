//===- FuseIntegerMatMul.cpp - W8A8 Q/DQ + matmul to quantized_matmul -----===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#include "quantopt/Dialect/QNN/Transforms/Passes.h"

using namespace mlir;
using namespace quantopt;
using namespace quantopt::qnn;

void qnn::populateFuseIntegerMatMulPatterns(RewritePatternSet &patterns) {}
