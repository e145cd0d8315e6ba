// The sm_90a variant of QuantOpt's 8-bit tensor-core matmul
// (docs/GPUBackend.md, "The warpgroup variant"): the same contract, tiles,
// pipeline and epilogue as MMA8Kernel.mlir, with the tensor-core work done
// by warpgroup MMA (wgmma.mma_async m64n128k32, s32 += u8/s8 x s8) reading
// both operands from shared memory through matrix descriptors.
//
// Block: 256 threads = 2 warpgroups, a 128 x 128 tile of C; warpgroup g
// computes rows 64 g .. +64, all 128 columns (64 i32 accumulators per
// thread). Each stage of the stages-deep cp.async pipeline holds, K-major
// and without swizzle (core matrices of 8 rows x 16 bytes, contiguous):
//   A: byte (row r, k) at (k / 16) * 2048 + r * 16 + k % 16 (128 rows),
//   B: byte (column n, k) at 8192 + (k / 16) * 2048 + n * 16 + k % 16,
// so for a k32 step both descriptors have a leading-dimension (K) byte
// offset of 2048 and a stride-dimension (M / N) byte offset of 128. B's
// k-tiles are packed at compile time in exactly that image (8 KiB,
// contiguous per block and k-tile). cp.async writes go through the generic
// proxy and wgmma reads through the async proxy: every thread fences
// (fence.proxy.async.shared::cta) after its copies land, before the
// barrier.
//
// Accumulator layout (wgmma D, per warpgroup): register 4 i + 2 h + j of
// thread t (warp w = t / 32 of the warpgroup, lane l) is row
// 16 w + l / 4 + 8 h, column 8 i + 2 (l % 4) + j. They go through shared
// memory ([128][136] words) to the shared epilogue (MMA8Epilogue.mlir,
// called as in MMA8Kernel.mlir).
//
// Written, and verified at build time, as qgpu_w8a8_wg_s8 (signed
// activations) with a 4-deep pipeline. The pass makes each variant by
// rewriting the parsed IR (KernelTemplates.cpp): the kernel is renamed
// (qgpu_w8a8_wg_u8) and the attributes named in an op's qgpu.params get
// the variant's value of the parameter named: stages, stages_m1 and
// stages_m2 (stages - 1, - 2), atype (the wgmma A type, s8 or u8); the
// epilogue has its own. !acc is the accumulator struct of 64 i32, turned
// into a vector by the helper @qgpu_wg_acc_to_vector.
// Loops marked qgpu.unroll are fully unrolled by the pass.
!acc = !llvm.struct<(i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32)>

module attributes {gpu.container_module} {
gpu.module @quantopt_kernels {
  llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32, alignment = 128 : i64} : !llvm.array<0 x i8>

  // The accumulator struct as a vector (extractvalue needs constant
  // positions; the stores index the vector).
  func.func private @qgpu_wg_acc_to_vector(%acc: !acc) -> vector<64xi32> {
    %accv_0 = llvm.mlir.poison : vector<64xi32>
    %ax_0 = llvm.extractvalue %acc[0] : !acc
    %ai_0 = arith.constant 0 : i32
    %accv_1 = llvm.insertelement %ax_0, %accv_0[%ai_0 : i32] : vector<64xi32>
    %ax_1 = llvm.extractvalue %acc[1] : !acc
    %ai_1 = arith.constant 1 : i32
    %accv_2 = llvm.insertelement %ax_1, %accv_1[%ai_1 : i32] : vector<64xi32>
    %ax_2 = llvm.extractvalue %acc[2] : !acc
    %ai_2 = arith.constant 2 : i32
    %accv_3 = llvm.insertelement %ax_2, %accv_2[%ai_2 : i32] : vector<64xi32>
    %ax_3 = llvm.extractvalue %acc[3] : !acc
    %ai_3 = arith.constant 3 : i32
    %accv_4 = llvm.insertelement %ax_3, %accv_3[%ai_3 : i32] : vector<64xi32>
    %ax_4 = llvm.extractvalue %acc[4] : !acc
    %ai_4 = arith.constant 4 : i32
    %accv_5 = llvm.insertelement %ax_4, %accv_4[%ai_4 : i32] : vector<64xi32>
    %ax_5 = llvm.extractvalue %acc[5] : !acc
    %ai_5 = arith.constant 5 : i32
    %accv_6 = llvm.insertelement %ax_5, %accv_5[%ai_5 : i32] : vector<64xi32>
    %ax_6 = llvm.extractvalue %acc[6] : !acc
    %ai_6 = arith.constant 6 : i32
    %accv_7 = llvm.insertelement %ax_6, %accv_6[%ai_6 : i32] : vector<64xi32>
    %ax_7 = llvm.extractvalue %acc[7] : !acc
    %ai_7 = arith.constant 7 : i32
    %accv_8 = llvm.insertelement %ax_7, %accv_7[%ai_7 : i32] : vector<64xi32>
    %ax_8 = llvm.extractvalue %acc[8] : !acc
    %ai_8 = arith.constant 8 : i32
    %accv_9 = llvm.insertelement %ax_8, %accv_8[%ai_8 : i32] : vector<64xi32>
    %ax_9 = llvm.extractvalue %acc[9] : !acc
    %ai_9 = arith.constant 9 : i32
    %accv_10 = llvm.insertelement %ax_9, %accv_9[%ai_9 : i32] : vector<64xi32>
    %ax_10 = llvm.extractvalue %acc[10] : !acc
    %ai_10 = arith.constant 10 : i32
    %accv_11 = llvm.insertelement %ax_10, %accv_10[%ai_10 : i32] : vector<64xi32>
    %ax_11 = llvm.extractvalue %acc[11] : !acc
    %ai_11 = arith.constant 11 : i32
    %accv_12 = llvm.insertelement %ax_11, %accv_11[%ai_11 : i32] : vector<64xi32>
    %ax_12 = llvm.extractvalue %acc[12] : !acc
    %ai_12 = arith.constant 12 : i32
    %accv_13 = llvm.insertelement %ax_12, %accv_12[%ai_12 : i32] : vector<64xi32>
    %ax_13 = llvm.extractvalue %acc[13] : !acc
    %ai_13 = arith.constant 13 : i32
    %accv_14 = llvm.insertelement %ax_13, %accv_13[%ai_13 : i32] : vector<64xi32>
    %ax_14 = llvm.extractvalue %acc[14] : !acc
    %ai_14 = arith.constant 14 : i32
    %accv_15 = llvm.insertelement %ax_14, %accv_14[%ai_14 : i32] : vector<64xi32>
    %ax_15 = llvm.extractvalue %acc[15] : !acc
    %ai_15 = arith.constant 15 : i32
    %accv_16 = llvm.insertelement %ax_15, %accv_15[%ai_15 : i32] : vector<64xi32>
    %ax_16 = llvm.extractvalue %acc[16] : !acc
    %ai_16 = arith.constant 16 : i32
    %accv_17 = llvm.insertelement %ax_16, %accv_16[%ai_16 : i32] : vector<64xi32>
    %ax_17 = llvm.extractvalue %acc[17] : !acc
    %ai_17 = arith.constant 17 : i32
    %accv_18 = llvm.insertelement %ax_17, %accv_17[%ai_17 : i32] : vector<64xi32>
    %ax_18 = llvm.extractvalue %acc[18] : !acc
    %ai_18 = arith.constant 18 : i32
    %accv_19 = llvm.insertelement %ax_18, %accv_18[%ai_18 : i32] : vector<64xi32>
    %ax_19 = llvm.extractvalue %acc[19] : !acc
    %ai_19 = arith.constant 19 : i32
    %accv_20 = llvm.insertelement %ax_19, %accv_19[%ai_19 : i32] : vector<64xi32>
    %ax_20 = llvm.extractvalue %acc[20] : !acc
    %ai_20 = arith.constant 20 : i32
    %accv_21 = llvm.insertelement %ax_20, %accv_20[%ai_20 : i32] : vector<64xi32>
    %ax_21 = llvm.extractvalue %acc[21] : !acc
    %ai_21 = arith.constant 21 : i32
    %accv_22 = llvm.insertelement %ax_21, %accv_21[%ai_21 : i32] : vector<64xi32>
    %ax_22 = llvm.extractvalue %acc[22] : !acc
    %ai_22 = arith.constant 22 : i32
    %accv_23 = llvm.insertelement %ax_22, %accv_22[%ai_22 : i32] : vector<64xi32>
    %ax_23 = llvm.extractvalue %acc[23] : !acc
    %ai_23 = arith.constant 23 : i32
    %accv_24 = llvm.insertelement %ax_23, %accv_23[%ai_23 : i32] : vector<64xi32>
    %ax_24 = llvm.extractvalue %acc[24] : !acc
    %ai_24 = arith.constant 24 : i32
    %accv_25 = llvm.insertelement %ax_24, %accv_24[%ai_24 : i32] : vector<64xi32>
    %ax_25 = llvm.extractvalue %acc[25] : !acc
    %ai_25 = arith.constant 25 : i32
    %accv_26 = llvm.insertelement %ax_25, %accv_25[%ai_25 : i32] : vector<64xi32>
    %ax_26 = llvm.extractvalue %acc[26] : !acc
    %ai_26 = arith.constant 26 : i32
    %accv_27 = llvm.insertelement %ax_26, %accv_26[%ai_26 : i32] : vector<64xi32>
    %ax_27 = llvm.extractvalue %acc[27] : !acc
    %ai_27 = arith.constant 27 : i32
    %accv_28 = llvm.insertelement %ax_27, %accv_27[%ai_27 : i32] : vector<64xi32>
    %ax_28 = llvm.extractvalue %acc[28] : !acc
    %ai_28 = arith.constant 28 : i32
    %accv_29 = llvm.insertelement %ax_28, %accv_28[%ai_28 : i32] : vector<64xi32>
    %ax_29 = llvm.extractvalue %acc[29] : !acc
    %ai_29 = arith.constant 29 : i32
    %accv_30 = llvm.insertelement %ax_29, %accv_29[%ai_29 : i32] : vector<64xi32>
    %ax_30 = llvm.extractvalue %acc[30] : !acc
    %ai_30 = arith.constant 30 : i32
    %accv_31 = llvm.insertelement %ax_30, %accv_30[%ai_30 : i32] : vector<64xi32>
    %ax_31 = llvm.extractvalue %acc[31] : !acc
    %ai_31 = arith.constant 31 : i32
    %accv_32 = llvm.insertelement %ax_31, %accv_31[%ai_31 : i32] : vector<64xi32>
    %ax_32 = llvm.extractvalue %acc[32] : !acc
    %ai_32 = arith.constant 32 : i32
    %accv_33 = llvm.insertelement %ax_32, %accv_32[%ai_32 : i32] : vector<64xi32>
    %ax_33 = llvm.extractvalue %acc[33] : !acc
    %ai_33 = arith.constant 33 : i32
    %accv_34 = llvm.insertelement %ax_33, %accv_33[%ai_33 : i32] : vector<64xi32>
    %ax_34 = llvm.extractvalue %acc[34] : !acc
    %ai_34 = arith.constant 34 : i32
    %accv_35 = llvm.insertelement %ax_34, %accv_34[%ai_34 : i32] : vector<64xi32>
    %ax_35 = llvm.extractvalue %acc[35] : !acc
    %ai_35 = arith.constant 35 : i32
    %accv_36 = llvm.insertelement %ax_35, %accv_35[%ai_35 : i32] : vector<64xi32>
    %ax_36 = llvm.extractvalue %acc[36] : !acc
    %ai_36 = arith.constant 36 : i32
    %accv_37 = llvm.insertelement %ax_36, %accv_36[%ai_36 : i32] : vector<64xi32>
    %ax_37 = llvm.extractvalue %acc[37] : !acc
    %ai_37 = arith.constant 37 : i32
    %accv_38 = llvm.insertelement %ax_37, %accv_37[%ai_37 : i32] : vector<64xi32>
    %ax_38 = llvm.extractvalue %acc[38] : !acc
    %ai_38 = arith.constant 38 : i32
    %accv_39 = llvm.insertelement %ax_38, %accv_38[%ai_38 : i32] : vector<64xi32>
    %ax_39 = llvm.extractvalue %acc[39] : !acc
    %ai_39 = arith.constant 39 : i32
    %accv_40 = llvm.insertelement %ax_39, %accv_39[%ai_39 : i32] : vector<64xi32>
    %ax_40 = llvm.extractvalue %acc[40] : !acc
    %ai_40 = arith.constant 40 : i32
    %accv_41 = llvm.insertelement %ax_40, %accv_40[%ai_40 : i32] : vector<64xi32>
    %ax_41 = llvm.extractvalue %acc[41] : !acc
    %ai_41 = arith.constant 41 : i32
    %accv_42 = llvm.insertelement %ax_41, %accv_41[%ai_41 : i32] : vector<64xi32>
    %ax_42 = llvm.extractvalue %acc[42] : !acc
    %ai_42 = arith.constant 42 : i32
    %accv_43 = llvm.insertelement %ax_42, %accv_42[%ai_42 : i32] : vector<64xi32>
    %ax_43 = llvm.extractvalue %acc[43] : !acc
    %ai_43 = arith.constant 43 : i32
    %accv_44 = llvm.insertelement %ax_43, %accv_43[%ai_43 : i32] : vector<64xi32>
    %ax_44 = llvm.extractvalue %acc[44] : !acc
    %ai_44 = arith.constant 44 : i32
    %accv_45 = llvm.insertelement %ax_44, %accv_44[%ai_44 : i32] : vector<64xi32>
    %ax_45 = llvm.extractvalue %acc[45] : !acc
    %ai_45 = arith.constant 45 : i32
    %accv_46 = llvm.insertelement %ax_45, %accv_45[%ai_45 : i32] : vector<64xi32>
    %ax_46 = llvm.extractvalue %acc[46] : !acc
    %ai_46 = arith.constant 46 : i32
    %accv_47 = llvm.insertelement %ax_46, %accv_46[%ai_46 : i32] : vector<64xi32>
    %ax_47 = llvm.extractvalue %acc[47] : !acc
    %ai_47 = arith.constant 47 : i32
    %accv_48 = llvm.insertelement %ax_47, %accv_47[%ai_47 : i32] : vector<64xi32>
    %ax_48 = llvm.extractvalue %acc[48] : !acc
    %ai_48 = arith.constant 48 : i32
    %accv_49 = llvm.insertelement %ax_48, %accv_48[%ai_48 : i32] : vector<64xi32>
    %ax_49 = llvm.extractvalue %acc[49] : !acc
    %ai_49 = arith.constant 49 : i32
    %accv_50 = llvm.insertelement %ax_49, %accv_49[%ai_49 : i32] : vector<64xi32>
    %ax_50 = llvm.extractvalue %acc[50] : !acc
    %ai_50 = arith.constant 50 : i32
    %accv_51 = llvm.insertelement %ax_50, %accv_50[%ai_50 : i32] : vector<64xi32>
    %ax_51 = llvm.extractvalue %acc[51] : !acc
    %ai_51 = arith.constant 51 : i32
    %accv_52 = llvm.insertelement %ax_51, %accv_51[%ai_51 : i32] : vector<64xi32>
    %ax_52 = llvm.extractvalue %acc[52] : !acc
    %ai_52 = arith.constant 52 : i32
    %accv_53 = llvm.insertelement %ax_52, %accv_52[%ai_52 : i32] : vector<64xi32>
    %ax_53 = llvm.extractvalue %acc[53] : !acc
    %ai_53 = arith.constant 53 : i32
    %accv_54 = llvm.insertelement %ax_53, %accv_53[%ai_53 : i32] : vector<64xi32>
    %ax_54 = llvm.extractvalue %acc[54] : !acc
    %ai_54 = arith.constant 54 : i32
    %accv_55 = llvm.insertelement %ax_54, %accv_54[%ai_54 : i32] : vector<64xi32>
    %ax_55 = llvm.extractvalue %acc[55] : !acc
    %ai_55 = arith.constant 55 : i32
    %accv_56 = llvm.insertelement %ax_55, %accv_55[%ai_55 : i32] : vector<64xi32>
    %ax_56 = llvm.extractvalue %acc[56] : !acc
    %ai_56 = arith.constant 56 : i32
    %accv_57 = llvm.insertelement %ax_56, %accv_56[%ai_56 : i32] : vector<64xi32>
    %ax_57 = llvm.extractvalue %acc[57] : !acc
    %ai_57 = arith.constant 57 : i32
    %accv_58 = llvm.insertelement %ax_57, %accv_57[%ai_57 : i32] : vector<64xi32>
    %ax_58 = llvm.extractvalue %acc[58] : !acc
    %ai_58 = arith.constant 58 : i32
    %accv_59 = llvm.insertelement %ax_58, %accv_58[%ai_58 : i32] : vector<64xi32>
    %ax_59 = llvm.extractvalue %acc[59] : !acc
    %ai_59 = arith.constant 59 : i32
    %accv_60 = llvm.insertelement %ax_59, %accv_59[%ai_59 : i32] : vector<64xi32>
    %ax_60 = llvm.extractvalue %acc[60] : !acc
    %ai_60 = arith.constant 60 : i32
    %accv_61 = llvm.insertelement %ax_60, %accv_60[%ai_60 : i32] : vector<64xi32>
    %ax_61 = llvm.extractvalue %acc[61] : !acc
    %ai_61 = arith.constant 61 : i32
    %accv_62 = llvm.insertelement %ax_61, %accv_61[%ai_61 : i32] : vector<64xi32>
    %ax_62 = llvm.extractvalue %acc[62] : !acc
    %ai_62 = arith.constant 62 : i32
    %accv_63 = llvm.insertelement %ax_62, %accv_62[%ai_62 : i32] : vector<64xi32>
    %ax_63 = llvm.extractvalue %acc[63] : !acc
    %ai_63 = arith.constant 63 : i32
    %accv = llvm.insertelement %ax_63, %accv_63[%ai_63 : i32] : vector<64xi32>
    return %accv : vector<64xi32>
  }

  gpu.func @qgpu_w8a8_wg_s8(%pA: i64, %pB: i64, %pP: i64, %pSA: i64, %pZA: i64, %pSB: i64,
                     %pSO: i64, %pZO: i64, %pC: i64,
                     %M: i32, %N: i32, %K: i32, %Npad: i32, %numKT: i32,
                     %aPerRow: i32, %bPerCol: i32, %act: i32, %outType: i32) kernel
      attributes {nvvm.maxntid = array<i32: 256, 1, 1>} {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c3 = arith.constant 3 : i32
    %c4 = arith.constant 4 : i32
    %c5 = arith.constant 5 : i32
    %c7 = arith.constant 7 : i32
    %c8 = arith.constant 8 : i32
    %c16 = arith.constant 16 : i32
    %c31 = arith.constant 31 : i32
    %c64 = arith.constant 64 : i32
    %c127 = arith.constant 127 : i32
    %c128 = arith.constant 128 : i32
    %c256 = arith.constant 256 : i32
    %c544 = arith.constant 544 : i32
    %c1024 = arith.constant 1024 : i32
    %c2048 = arith.constant 2048 : i32
    %c4096 = arith.constant 4096 : i32
    %cBoff = arith.constant 8192 : i32
    %cStage = arith.constant 16384 : i32
    %cStages = arith.constant {qgpu.params = {value = "stages"}} 4 : i32
    %cStagesM1 = arith.constant {qgpu.params = {value = "stages_m1"}} 3 : i32
    %c8192L = arith.constant 8192 : i64
    %zero64 = arith.constant 0 : i64
    // Descriptor bits other than the start address: leading byte offset
    // 2048 >> 4 in bits 16-29, stride byte offset 128 >> 4 in bits 32-45,
    // base offset 0, no swizzle.
    %descHi = arith.constant 34368126976 : i64
    %c4L = arith.constant 4 : i64
    %c16383L = arith.constant 16383 : i64

    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %nb = nvvm.read.ptx.sreg.ctaid.x : i32
    %mb = nvvm.read.ptx.sreg.ctaid.y : i32
    %lane = arith.andi %tid, %c31 : i32
    %wg = arith.shrui %tid, %c7 : i32
    %wt = arith.andi %tid, %c127 : i32
    %ww = arith.shrui %wt, %c5 : i32
    %m0 = arith.muli %mb, %c128 : i32
    %n0 = arith.muli %nb, %c128 : i32

    %gA0 = llvm.inttoptr %pA : i64 to !llvm.ptr
    %gA = llvm.addrspacecast %gA0 : !llvm.ptr to !llvm.ptr<1>
    %gB0 = llvm.inttoptr %pB : i64 to !llvm.ptr
    %gB = llvm.addrspacecast %gB0 : !llvm.ptr to !llvm.ptr<1>
    %smem = llvm.mlir.addressof @qgpu_dynamic_smem : !llvm.ptr<3>
    %smemI = llvm.ptrtoint %smem : !llvm.ptr<3> to i32

    %nbKT = arith.muli %nb, %numKT : i32
    %nbKTL = arith.extui %nbKT : i32 to i64
    %bBlock = arith.muli %nbKTL, %c8192L : i64
    %t16 = arith.muli %tid, %c16 : i32
    %t16L = arith.extui %t16 : i32 to i64
    %KL = arith.extui %K : i32 to i64
    %zacc = llvm.mlir.zero : !acc

    // The pipeline as in MMA8Kernel.mlir: iteration j waits for k-tile
    // c = j - (stages - 1), fences and passes the barrier, issues the
    // copies of k-tile j into stage j % stages and computes k-tile c.
    %end = arith.addi %numKT, %cStagesM1 : i32
    %acc = scf.for %it = %c0 to %end step %c1 iter_args(%accIn = %zacc) -> (!acc) : i32 {
      %cmpIdx = arith.subi %it, %cStagesM1 : i32
      %doCompute = arith.cmpi sge, %cmpIdx, %c0 : i32
      scf.if %doCompute {
        nvvm.cp.async.wait.group 2 {qgpu.params = {n = "stages_m2"}}
        nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
        nvvm.barrier0
      }
      %doLoad = arith.cmpi slt, %it, %numKT : i32
      scf.if %doLoad {
        %ldSt = arith.remui %it, %cStages : i32
        %ldBase = arith.muli %ldSt, %cStage : i32
        %kb = arith.muli %it, %c64 : i32
        // A chunks tid and tid + 256: row chunk / 4, 16-byte chunk
        // chunk % 4 (rows past M and columns past K zero-filled).
        scf.for %h = %c0 to %c2 step %c1 : i32 {
          %hc = arith.muli %h, %c256 : i32
          %cc = arith.addi %tid, %hc : i32
          %arow = arith.shrui %cc, %c2 : i32
          %ach = arith.andi %cc, %c3 : i32
          %agrow = arith.addi %m0, %arow : i32
          %ach16 = arith.muli %ach, %c16 : i32
          %gk = arith.addi %kb, %ach16 : i32
          %rOk = arith.cmpi slt, %agrow, %M : i32
          %kOk = arith.cmpi slt, %gk, %K : i32
          %okA = arith.andi %rOk, %kOk : i1
          %agrowL = arith.extui %agrow : i32 to i64
          %gkL = arith.extui %gk : i32 to i64
          %rk = arith.muli %agrowL, %KL : i64
          %el = arith.addi %rk, %gkL : i64
          %el0 = arith.select %okA, %el, %zero64 : i64
          %src = llvm.getelementptr %gA[%el0] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
          %nbytes = arith.select %okA, %c16, %c0 : i32
          %chB = arith.muli %ach, %c2048 : i32
          %rowB = arith.muli %arow, %c16 : i32
          %o1 = arith.addi %ldBase, %chB : i32
          %o2 = arith.addi %o1, %rowB : i32
          %dst = llvm.getelementptr %smem[%o2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          nvvm.cp.async.shared.global %dst, %src, 16, cache = cg, %nbytes : !llvm.ptr<3>, !llvm.ptr<1>, i32
        } {qgpu.unroll}
        // B: the block's packed k-tile, 8 KiB contiguous, as is.
        %ktL = arith.extui %it : i32 to i64
        %ktOff = arith.muli %ktL, %c8192L : i64
        %bTile = arith.addi %bBlock, %ktOff : i64
        scf.for %h = %c0 to %c2 step %c1 : i32 {
          %hc = arith.muli %h, %c4096 : i32
          %hcL = arith.extui %hc : i32 to i64
          %b1 = arith.addi %bTile, %t16L : i64
          %byte = arith.addi %b1, %hcL : i64
          %src = llvm.getelementptr %gB[%byte] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
          %o1 = arith.addi %ldBase, %cBoff : i32
          %o2 = arith.addi %o1, %t16 : i32
          %o3 = arith.addi %o2, %hc : i32
          %dst = llvm.getelementptr %smem[%o3] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          nvvm.cp.async.shared.global %dst, %src, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
        } {qgpu.unroll}
      }
      nvvm.cp.async.commit.group

      %res = scf.if %doCompute -> (!acc) {
        %st = arith.remui %cmpIdx, %cStages : i32
        %stBase = arith.muli %st, %cStage : i32
        %wgA = arith.muli %wg, %c1024 : i32
        nvvm.wgmma.fence.aligned
        %r = scf.for %ks = %c0 to %c2 step %c1 iter_args(%a = %accIn) -> (!acc) : i32 {
          %ks4096 = arith.muli %ks, %c4096 : i32
          %ao1 = arith.addi %stBase, %ks4096 : i32
          %ao2 = arith.addi %ao1, %wgA : i32
          %aAddr = arith.addi %smemI, %ao2 : i32
          %bo1 = arith.addi %ao1, %cBoff : i32
          %bAddr = arith.addi %smemI, %bo1 : i32
          %aAddrL = arith.extui %aAddr : i32 to i64
          %bAddrL = arith.extui %bAddr : i32 to i64
          %aStart0 = arith.shrui %aAddrL, %c4L : i64
          %bStart0 = arith.shrui %bAddrL, %c4L : i64
          %aStart = arith.andi %aStart0, %c16383L : i64
          %bStart = arith.andi %bStart0, %c16383L : i64
          %descA = arith.ori %descHi, %aStart : i64
          %descB = arith.ori %descHi, %bStart : i64
          %n = nvvm.wgmma.mma_async %descA, %descB, %a, #nvvm.shape<m = 64, n = 128, k = 32>, D[<s32>, <one>, <wrapped>], A[<s8>, <one>, <row>], B[<s8>, <one>, <col>] {qgpu.params = {typeA = "atype"}} : !acc -> !acc
          scf.yield %n : !acc
        } {qgpu.unroll}
        // wait_group 0 here is what makes refilling stage it % STAGES after
        // the next barrier safe: no wgmma of this iteration still reads
        // shared memory then. Waiting for fewer (to overlap the MMAs with
        // the next iteration) needs the prefetch distance cut to STAGES - 2
        // first, or a cp.async would overwrite a tile an MMA is reading.
        nvvm.wgmma.commit.group.sync.aligned
        nvvm.wgmma.wait.group.sync.aligned 0
        scf.yield %r : !acc
      } else {
        scf.yield %accIn : !acc
      }
      scf.yield %res : !acc
    }
    nvvm.cp.async.wait.group 0
    nvvm.barrier0

    // ---- accumulators to shared memory, [128][136] words ----
    %accv = func.call @qgpu_wg_acc_to_vector(%acc) : (!acc) -> vector<64xi32>
    %g = arith.shrui %lane, %c2 : i32
    %q = arith.andi %lane, %c3 : i32
    %q2 = arith.muli %q, %c2 : i32
    %wgRow = arith.muli %wg, %c64 : i32
    %wwRow = arith.muli %ww, %c16 : i32
    %rowBase0 = arith.addi %wgRow, %wwRow : i32
    %rowBase = arith.addi %rowBase0, %g : i32
    scf.for %i = %c0 to %c16 step %c1 : i32 {
      scf.for %hr = %c0 to %c2 step %c1 : i32 {
        %hr8 = arith.muli %hr, %c8 : i32
        %row = arith.addi %rowBase, %hr8 : i32
        %i8 = arith.muli %i, %c8 : i32
        %col = arith.addi %i8, %q2 : i32
        %i4 = arith.muli %i, %c4 : i32
        %hr2 = arith.muli %hr, %c2 : i32
        %e0 = arith.addi %i4, %hr2 : i32
        %e1 = arith.addi %e0, %c1 : i32
        %x0 = llvm.extractelement %accv[%e0 : i32] : vector<64xi32>
        %x1 = llvm.extractelement %accv[%e1 : i32] : vector<64xi32>
        %pz = llvm.mlir.poison : vector<2xi32>
        %v0 = llvm.insertelement %x0, %pz[%c0 : i32] : vector<2xi32>
        %v1 = llvm.insertelement %x1, %v0[%c1 : i32] : vector<2xi32>
        %rowW = arith.muli %row, %c544 : i32
        %colW = arith.muli %col, %c4 : i32
        %o = arith.addi %rowW, %colW : i32
        %p = llvm.getelementptr %smem[%o] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
        llvm.store %v1, %p {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<3>
      } {qgpu.unroll}
    } {qgpu.unroll}
    nvvm.barrier0

    // The epilogue (MMA8Epilogue.mlir).
    func.call @qgpu_mma8_epilogue(%smem, %tid, %m0, %n0, %pP, %pSA, %pZA, %pSB,
        %pSO, %pZO, %pC, %M, %N, %Npad, %aPerRow, %bPerCol, %act, %outType)
        : (!llvm.ptr<3>, i32, i32, i32, i64, i64, i64, i64, i64, i64, i64,
           i32, i32, i32, i32, i32, i32, i32) -> ()
    gpu.return
  }
}
}
