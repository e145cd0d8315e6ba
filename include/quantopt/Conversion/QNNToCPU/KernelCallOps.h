//===- KernelCallOps.h - The qnn_cpu kernel-call dialect --------*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_H
#define QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "quantopt/Conversion/QNNToCPU/KernelCallDialect.h.inc"

#define GET_OP_CLASSES
#include "quantopt/Conversion/QNNToCPU/KernelCallOps.h.inc"

#endif // QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_H
