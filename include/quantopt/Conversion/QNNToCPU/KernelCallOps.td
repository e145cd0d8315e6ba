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

    ```mlir
    %r = qnn_cpu.kernel_call "qk_sgemm"
           ins(%a, %m, %w, %bias, %act : tensor<?x64xf32>, i64,
               tensor<2048xi8>, !llvm.ptr, i32)
           outs(%init : tensor<?x32xf32>) out_position 5 -> tensor<?x32xf32>
    ```
  }];
  let arguments = (ins StrAttr:$kernel, Variadic<AnyType>:$inputs,
                       Variadic<AnyShaped>:$outputs, I64Attr:$out_position);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $kernel (`ins` `(` $inputs^ `:` type($inputs) `)`)?
    `outs` `(` $outputs `:` type($outputs) `)`
    `out_position` $out_position attr-dict (`->` type($results)^)?
  }];
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
  let hasVerifier = 1;
}

#endif // QUANTOPT_CONVERSION_QNNTOCPU_KERNELCALLOPS_TD
