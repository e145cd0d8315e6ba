//===- CUDATarget.h - Compile a qnn module for an NVIDIA GPU ----*- C++ -*-===//
//
// Part of the QuantOpt project.
//
//===----------------------------------------------------------------------===//
//
// The GPU half of `quant-compile --target sm_XX` (docs/GPUBackend.md): lowers
// a qnn module to linalg, maps every loop nest to a kernel, serializes the
// kernels with the CUDA toolkit (ptxas, fatbinary) into fatbins embedded in
// an x86-64 shared object whose entry `quantopt_entry` sees device pointers
// only and calls the runtime's mgpu* functions.
//
//===----------------------------------------------------------------------===//

#ifndef QUANTOPT_TARGET_CUDA_CUDATARGET_H
#define QUANTOPT_TARGET_CUDA_CUDATARGET_H

#include "quantopt/Target/CPU/CPUTarget.h"
#include "quantopt/Target/CUDA/GPUTargetInfo.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace quantopt {

struct CUDACompileOptions {
  /// The GPU: one of getSupportedCUDAChips().
  std::string chip = "sm_90";
  /// The CUDA toolkit (holding bin/ptxas and bin/fatbinary); empty means
  /// $CUDA_PATH, then /usr/local/cuda.
  std::string toolkitPath;
  /// Optimization level of the device code (NVPTX and ptxas) and of the
  /// host code (0-3).
  unsigned optLevel = 3;
  /// The C compiler driver used to link the host shared object.
  std::string linker = "cc";
  /// The kernel of every quantized matmul: "auto" (from the scheme and the
  /// chip), or forced: "w4a16", "w8a8", "w8a8-wgmma", "generic"
  /// (convert-qnn-to-gpu's kernel option).
  std::string kernel = "auto";
  /// With kernel "auto": per-channel int4 weight-only matmuls with at least
  /// this many rows run as W4A8 (0: never; convert-qnn-to-gpu's w4a8-min-m).
  int64_t w4a8MinM = 0;
  /// When set, the module after kernel outlining (host function with
  /// gpu.launch_func, gpu.modules with gpu.func kernels) is printed here.
  std::string dumpGPUDialectPath;
  /// When set, the host LLVM dialect module is printed here.
  std::string dumpLLVMDialectPath;
};

/// One generated kernel, for --print-kernels and the manifest.
struct CUDAKernelInfo {
  std::string module;
  std::string name;
  /// The ONNX node the kernel comes from ("" if unknown).
  std::string node;
  /// Launch sizes when they are compile-time constants.
  std::optional<std::array<int64_t, 3>> grid, block;
  /// For QuantOpt's hand-written kernels (convert-qnn-to-gpu): the kernel
  /// chosen for the matmul (w4a16, w8a8, ...) and why; empty for generated
  /// kernels.
  std::string choice, reason;
};

struct CompiledCUDAModel {
  std::vector<CompiledWeight> weights;
  std::string sharedObject;
  std::vector<CUDAKernelInfo> kernels;
  /// Quantized matmuls left to the generic kernels, with the reason
  /// (choice "generic"; module and name empty).
  std::vector<CUDAKernelInfo> fallbacks;
  /// Manifest entries: "inputs", "outputs", "target", "entry", "kernels".
  llvm::json::Object manifest;
};

/// The chips quant-compile --target accepts: sm_80, sm_86, sm_89, sm_90.
llvm::ArrayRef<llvm::StringRef> getSupportedCUDAChips();

/// 90 for "sm_90"; std::nullopt for anything getSupportedCUDAChips() lacks.
std::optional<int> getCUDAComputeCapability(llvm::StringRef chip);

/// The toolkit directory to use (`option`, else $CUDA_PATH, else
/// /usr/local/cuda), checked to hold bin/ptxas and bin/fatbinary; the error
/// says what is missing and how to install it.
llvm::Expected<std::string> findCUDAToolkit(llvm::StringRef option);

/// Steps 1-5 of the pipeline: the qnn module (public function: the model)
/// becomes a host function on device memrefs that allocates, copies and
/// launches, plus gpu.modules with the kernels (GPU dialect, before NVVM).
/// The model function is renamed `quantopt_model`; its constants become the
/// returned weights (leading arguments). Errors name the op that failed.
llvm::Expected<std::vector<CompiledWeight>>
lowerToGPUDialect(mlir::ModuleOp module, const CUDACompileOptions &options);

/// The kernels of a module after lowerToGPUDialect() (launch sizes taken
/// from the gpu.launch_func ops).
std::vector<CUDAKernelInfo> listCUDAKernels(mlir::ModuleOp module);

/// Options of the GPU pipelines (qnn-gpu-lower-pipeline,
/// qnn-gpu-device-pipeline).
struct GPUPipelineOptions : mlir::PassPipelineOptions<GPUPipelineOptions> {
  Option<GPUChip> chip{*this, "chip", llvm::cl::desc("Target GPU"),
                       llvm::cl::init(GPUChip::SM90), QUANTOPT_GPU_CHIP_VALUES};
  Option<GPUKernel> kernel{
      *this, "kernel",
      llvm::cl::desc("Kernel of every quantized matmul (convert-qnn-to-gpu)"),
      llvm::cl::init(GPUKernel::Auto), QUANTOPT_GPU_KERNEL_VALUES};
  Option<int64_t> w4a8MinM{
      *this, "w4a8-min-m",
      llvm::cl::desc("convert-qnn-to-gpu's w4a8-min-m (0: off)"),
      llvm::cl::init(0)};
  Option<unsigned> optLevel{
      *this, "opt-level",
      llvm::cl::desc("Optimization level of the device code (0-3)"),
      llvm::cl::init(3)};
};

/// The pipeline options of `options` (whose chip and kernel are valid).
void setGPUPipelineOptions(GPUPipelineOptions &pipeline,
                           const CUDACompileOptions &options);

/// Step 1 (qnn-gpu-lower-pipeline): qnn -> tensor-level upstream IR,
/// quantized matmuls as launches of QuantOpt's kernels, the rest as linalg;
/// elementwise chains fused; splat constants become fills.
void buildGPULowerPipeline(mlir::OpPassManager &pm,
                           const GPUPipelineOptions &options);

/// Steps 3-5 (qnn-gpu-kernel-pipeline): bufferization, kernel launches,
/// loops -> 1-D grids of 256-thread blocks, host memory ops -> GPU runtime
/// ops, kernel outlining, the host data check, async launches.
void buildGPUKernelPipeline(mlir::OpPassManager &pm);

/// Step 6, device half (qnn-gpu-device-pipeline): attaches the NVVM target
/// of `options` to every gpu.module (qnn-attach-nvvm-target; sm_90a
/// for warpgroup-MMA modules) and lowers their bodies to the NVVM/LLVM
/// dialects (erf/tanh/exp approximated, the rest through libdevice).
void buildGPUDeviceLoweringPipeline(mlir::OpPassManager &pm,
                                    const GPUPipelineOptions &options);

/// The PTX of every gpu.module of `module` (which may hold gpu.func
/// kernels, or be at the level lowerToGPUDialect() produces), each preceded
/// by a `// gpu.module @name` line. `module` is not changed.
llvm::Expected<std::string> emitCUDAPTX(mlir::ModuleOp module,
                                        const CUDACompileOptions &options);

/// Lowers `module` (consumed: it is rewritten in place) and builds the
/// shared object (fatbins with cubin for options.chip and PTX embedded).
llvm::Expected<CompiledCUDAModel>
compileForCUDA(mlir::ModuleOp module, const CUDACompileOptions &options);

/// Dialects, interfaces and translations the CUDA target needs.
void registerCUDATargetDialects(mlir::DialectRegistry &registry);

} // namespace quantopt

#endif // QUANTOPT_TARGET_CUDA_CUDATARGET_H
