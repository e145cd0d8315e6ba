//===- KernelCallOps.td - The qnn_cpu kernel-call dialect --*- tablegen -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_TD
#define QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def QNNCPU_Dialect : Dialect {
  let name = "qnn_cpu";
  let cppNamespace = "::quantopt::qnn_cpu";
  let summary = "Calls into QuantOpt's CPU kernel library";
  let description = [{
    The ops convert-qnn-to-cpu produces for the work it leaves to the
    kernel library (docs/CPUBackend.md), in destination-passing style so
    that one-shot bufferization places their outputs; qnn-lower-kernel-calls
    turns them into calls after bufferization.
  }];
}

def QNNCPU_KernelCallOp : Op<QNNCPU_Dialect, "kernel_call", [
    AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>,
    DestinationStyleOpInterface]> {
  let summary = "A call of a qk_* kernel that writes its outputs";
  let description = [{
    Calls the kernel `kernel` (a `qk_*` function of the runtime's kernel
    library) with `ins` then `outs`: shaped operands are passed as pointers
    to their first element (identity layout), the others (sizes, flags,
    `!llvm.ptr` null pointers) as they are. The output pointers are passed
    at argument position `out_position` of the call. On tensors the op has
    one result per output, which the kernel writes entirely (it does not
    read the output); on buffers it has none.

    A kernel that needs scratch memory takes a `workspace`: a 1-d i8
    tensor (buffer after bufferization) of at least the bytes the kernel's
    `qk_*_workspace_bytes` function returns, passed as the call's last two
    arguments (a pointer to its first byte and its size as i64). The kernel
    writes it and never reads what was there before, so bufferization
    allocates it like any intermediate buffer, and calls may share one.

    ```mlir
    %r = qnn_cpu.kernel_call "qk_sgemm"
           ins(%a, %m, %w, %bias, %act : tensor<?x64xf32>, i64,
               tensor<2048xi8>, !llvm.ptr, i32)
           outs(%init : tensor<?x32xf32>) out_position 5 -> tensor<?x32xf32>
    %q = qnn_cpu.kernel_call "qk_wo_matmul"
           ins(%a, %m, %w, %none : tensor<?x64xf32>, i64, tensor<4160xi8>,
               !llvm.ptr)
           outs(%init : tensor<?x32xf32>) out_position 4
           workspace(%ws : tensor<?xi8>) -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, Variadic<AnyType>:$inputs,
                       Variadic<AnyShaped>:$outputs,
                       Optional<AnyShaped>:$workspace, I64Attr:$out_position);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let builders = [
    // A call without a workspace.
    OpBuilder<(ins "::mlir::TypeRange":$results, "::mlir::StringAttr":$kernel,
                   "::mlir::ValueRange":$inputs, "::mlir::ValueRange":$outputs,
                   "::mlir::IntegerAttr":$out_position), [{
      build($_builder, $_state, results, kernel, inputs, outputs,
            ::mlir::Value(), out_position);
    }]>
  ];
  let assemblyFormat = [{
    $kernel (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)`
    `out_position` $out_position
    (`workspace` `(` $workspace^ `:` type($workspace) `)`)?
    attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
  let hasVerifier = 1;
}

#endif // QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_TD
