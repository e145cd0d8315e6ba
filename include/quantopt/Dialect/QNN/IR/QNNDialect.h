//===- QNNDialect.h - QNN graph dialect ---------------------------*- C++
//-*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_H
#define QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Quant/IR/Quant.h"
#include "mlir/IR/Dialect.h"

#include "quantopt/Dialect/QNN/IR/QNNOpsDialect.h.inc"

#endif // QUANTOPT_DIALECT_QNN_IR_QNNDIALECT_H
