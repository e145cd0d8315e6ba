// The sm_90a variant of QuantOpt's 8-bit tensor-core matmul
// (docs/GPUBackend.md, "The warpgroup variant"): the same contract, tiles,
// pipeline and epilogue as MMA8Kernel.mlir, with the tensor-core work done
// by warpgroup MMA (wgmma.mma_async m64n128k32, s32 += u8/s8 x s8) reading
// both operands from shared memory through matrix descriptors.
//
// Block: 256 threads = 2 warpgroups, a 128 x 128 tile of C; warpgroup g
// computes rows 64 g .. +64, all 128 columns (64 i32 accumulators per
// thread). Each stage of the @STAGES@-deep cp.async pipeline holds, K-major
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
// Placeholders, each a name between two at-signs, replaced by the pass:
// KERNEL, STAGES, STAGES_M1, STAGES_M2, ATYPE (u8 or s8), ACC_STRUCT (the
// struct of 64 i32) and TO_VECTOR (the accumulator struct %acc as
// vector<64xi32> %accv).
// Loops marked qgpu.unroll are fully unrolled by the pass.
module attributes {gpu.container_module} {
gpu.module @quantopt_kernels {
  llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32, alignment = 128 : i64} : !llvm.array<0 x i8>

  gpu.func @@KERNEL@(%pA: i64, %pB: i64, %pP: i64, %pSA: i64, %pZA: i64, %pSB: i64,
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
    %cStages = arith.constant @STAGES@ : i32
    %cStagesM1 = arith.constant @STAGES_M1@ : i32
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
    %zacc = llvm.mlir.zero : @ACC_STRUCT@

    // The pipeline as in MMA8Kernel.mlir: iteration j waits for k-tile
    // c = j - (stages - 1), fences and passes the barrier, issues the
    // copies of k-tile j into stage j % stages and computes k-tile c.
    %end = arith.addi %numKT, %cStagesM1 : i32
    %acc = scf.for %it = %c0 to %end step %c1 iter_args(%accIn = %zacc) -> (@ACC_STRUCT@) : i32 {
      %cmpIdx = arith.subi %it, %cStagesM1 : i32
      %doCompute = arith.cmpi sge, %cmpIdx, %c0 : i32
      scf.if %doCompute {
        nvvm.cp.async.wait.group @STAGES_M2@
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

      %res = scf.if %doCompute -> (@ACC_STRUCT@) {
        %st = arith.remui %cmpIdx, %cStages : i32
        %stBase = arith.muli %st, %cStage : i32
        %wgA = arith.muli %wg, %c1024 : i32
        nvvm.wgmma.fence.aligned
        %r = scf.for %ks = %c0 to %c2 step %c1 iter_args(%a = %accIn) -> (@ACC_STRUCT@) : i32 {
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
          %n = nvvm.wgmma.mma_async %descA, %descB, %a, #nvvm.shape<m = 64, n = 128, k = 32>, D[<s32>, <one>, <wrapped>], A[<@ATYPE@>, <one>, <row>], B[<s8>, <one>, <col>] : @ACC_STRUCT@ -> @ACC_STRUCT@
          scf.yield %n : @ACC_STRUCT@
        } {qgpu.unroll}
        // wait_group 0 here is what makes refilling stage it % STAGES after
        // the next barrier safe: no wgmma of this iteration still reads
        // shared memory then. Waiting for fewer (to overlap the MMAs with
        // the next iteration) needs the prefetch distance cut to STAGES - 2
        // first, or a cp.async would overwrite a tile an MMA is reading.
        nvvm.wgmma.commit.group.sync.aligned
        nvvm.wgmma.wait.group.sync.aligned 0
        scf.yield %r : @ACC_STRUCT@
      } else {
        scf.yield %accIn : @ACC_STRUCT@
      }
      scf.yield %res : @ACC_STRUCT@
    }
    nvvm.cp.async.wait.group 0
    nvvm.barrier0

    // ---- accumulators to shared memory, [128][136] words ----
    @TO_VECTOR@
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
