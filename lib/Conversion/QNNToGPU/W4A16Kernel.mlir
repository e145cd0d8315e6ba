// The W4A16 GPU kernel of QuantOpt (docs/GPUBackend.md, "W4A16 kernel"):
// C[M, N] (f16) = A[M, K] (f16) x dequantize(B) (+ bias), with B int4
// packed at compile time by convert-qnn-to-gpu into the order the tensor-core
// fragments read.
//
// Block: 128 threads (4 warps), 64 columns, one 16-row tile of M (grid z),
// a range of k-tiles of 128 (grid y: split-K). Each stage of the
// stages-deep cp.async pipeline holds A (16 x 128 f16, 16-byte chunks
// XOR-swizzled by row for conflict-free ldmatrix), B (the block's 4 KiB of
// packed nibbles for the k-tile) and its scale words. Warp w computes k16
// steps 2w and 2w+1 of every stage over all 64 columns: an ldmatrix.x4 for
// its A fragment, one 16-byte shared load for its four packed words (eight
// n8 tiles), int4 -> f16 in registers ((w & 0x000F000F) | 0x64006400 is the
// f16 pair 1024 + u; minus 1024 + zero is exact; times the scale rounds
// once) and eight mma.sync.m16n8k16 with f32 accumulators. The four warps'
// accumulators are summed through shared memory in warp order. With
// split-K, every block writes its partial tile; the last block of a tile to
// arrive (a counter per tile, reset by that block) sums the partials in
// split order, so results are deterministic.
//
// Written, and verified at build time, as the f16 kernel with a 4-deep
// pipeline. The pass makes each variant by rewriting the parsed IR
// (KernelTemplates.cpp): the attributes named in an op's qgpu.params get
// the variant's value of the parameter named (stages, stages_m1 =
// stages - 1, flag = the byte offset of the block's flag after the stages,
// magic = the pair of 2^10 (f16) or 2^7 (bf16) whose low mantissa bits
// take the nibble: 0x64006400 or 0x43004300, mma_type = the mma
// multiplicand type, f16 or bf16); an op's qgpu.result names the
// parameter its result type takes (optype: the mma operand type,
// vector<2xf16>, or i32 for bf16). For bf16 the kernel and its counters
// are renamed and every f16 type of the module becomes bf16.
// Loops marked qgpu.unroll are fully unrolled by the pass.
module attributes {gpu.container_module} {
gpu.module @quantopt_kernels {
  llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32, alignment = 128 : i64} : !llvm.array<0 x i8>
  llvm.mlir.global internal @qgpu_w4a16_f16_counters(dense<0> : tensor<4096xi32>) {addr_space = 1 : i32, alignment = 16 : i64} : !llvm.array<4096 x i32>

  gpu.func @qgpu_w4a16_f16(%pA: i64, %pB: i64, %pS: i64, %pBias: i64, %pC: i64, %pWS: i64,
                           %M: i32, %N: i32, %K: i32, %Npad: i32, %ktPer: i32, %numKT: i32,
                           %log2g: i32, %hasBias: i32) kernel
      attributes {nvvm.maxntid = array<i32: 128, 1, 1>} {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c3 = arith.constant 3 : i32
    %c4 = arith.constant 4 : i32
    %c5 = arith.constant 5 : i32
    %c6 = arith.constant 6 : i32
    %c7 = arith.constant 7 : i32
    %c8 = arith.constant 8 : i32
    %c12 = arith.constant 12 : i32
    %c15 = arith.constant 15 : i32
    %c16 = arith.constant 16 : i32
    %c31 = arith.constant 31 : i32
    %c32 = arith.constant 32 : i32
    %c63 = arith.constant 63 : i32
    %c64 = arith.constant 64 : i32
    %c128 = arith.constant 128 : i32
    %c256 = arith.constant 256 : i32
    %c512 = arith.constant 512 : i32
    %c1024 = arith.constant 1024 : i32
    %c2048 = arith.constant 2048 : i32
    %c4096 = arith.constant 4096 : i32
    %cStage = arith.constant 9216 : i32
    %cBoff = arith.constant 4096 : i32
    %cSoff = arith.constant 8192 : i32
    %cFlag = arith.constant {qgpu.params = {value = "flag"}} 36864 : i32
    %cStages = arith.constant {qgpu.params = {value = "stages"}} 4 : i32
    %cStagesM1 = arith.constant {qgpu.params = {value = "stages_m1"}} 3 : i32
    %zf = arith.constant 0.0 : f32
    %mask = arith.constant 983055 : i32      // 0x000F000F
    %magic = arith.constant {qgpu.params = {value = "magic"}} 1677747200 : i32
    %zacc = arith.constant dense<0.0> : vector<32xf32>

    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %nb = nvvm.read.ptx.sreg.ctaid.x : i32
    %sp = nvvm.read.ptx.sreg.ctaid.y : i32
    %mt = nvvm.read.ptx.sreg.ctaid.z : i32
    %nsplit = nvvm.read.ptx.sreg.nctaid.y : i32
    %nblk = nvvm.read.ptx.sreg.nctaid.x : i32
    %warp = arith.shrui %tid, %c5 : i32
    %lane = arith.andi %tid, %c31 : i32
    %m0 = arith.muli %mt, %c16 : i32
    %kt0 = arith.muli %sp, %ktPer : i32
    %kt1a = arith.addi %kt0, %ktPer : i32
    %kt1 = arith.minsi %kt1a, %numKT : i32
    %nkt = arith.subi %kt1, %kt0 : i32
    %kpad = arith.muli %numKT, %c128 : i32
    %groupsPerN = arith.shrui %kpad, %log2g : i32
    %gs = arith.shrui %c128, %log2g : i32
    %gsChunks = arith.muli %gs, %c16 : i32

    %gA0 = llvm.inttoptr %pA : i64 to !llvm.ptr
    %gA = llvm.addrspacecast %gA0 : !llvm.ptr to !llvm.ptr<1>
    %gB0 = llvm.inttoptr %pB : i64 to !llvm.ptr
    %gB = llvm.addrspacecast %gB0 : !llvm.ptr to !llvm.ptr<1>
    %gS0 = llvm.inttoptr %pS : i64 to !llvm.ptr
    %gS = llvm.addrspacecast %gS0 : !llvm.ptr to !llvm.ptr<1>
    %smem = llvm.mlir.addressof @qgpu_dynamic_smem : !llvm.ptr<3>

    // Per-thread parts of the copy addresses, hoisted out of the k loop.
    // B: the block's packed words are [numKT][4 KiB] at nb * numKT * 4 KiB;
    // thread t copies chunks t and t + 128 of the k-tile.
    %nbKT = arith.muli %nb, %numKT : i32
    %nbKTL = arith.extui %nbKT : i32 to i64
    %c4096L = arith.constant 4096 : i64
    %bBlock = arith.muli %nbKTL, %c4096L : i64
    %t16 = arith.muli %tid, %c16 : i32
    %t16L = arith.extui %t16 : i32 to i64
    // Scales: [groupsPerN][64] words at nb * groupsPerN * 256.
    %nbG = arith.muli %nb, %groupsPerN : i32
    %sOk = arith.cmpi slt, %tid, %gsChunks : i32

    // Rows of A at or past M are never copied: zero them once in every
    // stage (the barrier before the first ldmatrix orders this).
    %rowsLeft0 = arith.subi %M, %m0 : i32
    %rowsValid = arith.minsi %rowsLeft0, %c16 : i32
    %zero4 = arith.constant dense<0> : vector<4xi32>
    scf.for %zs = %c0 to %cStages step %c1 : i32 {
      %zsBase = arith.muli %zs, %cStage : i32
      scf.for %h = %c0 to %c2 step %c1 : i32 {
        %hc = arith.muli %h, %c128 : i32
        %c = arith.addi %tid, %hc : i32
        %row = arith.shrui %c, %c4 : i32
        %rowPast = arith.cmpi sge, %row, %rowsValid : i32
        scf.if %rowPast {
          %cb = arith.muli %c, %c16 : i32
          %o = arith.addi %zsBase, %cb : i32
          %p = llvm.getelementptr %smem[%o] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          llvm.store %zero4, %p {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<3>
        }
      } {qgpu.unroll}
    }

    %end = arith.addi %nkt, %cStagesM1 : i32
    %acc = scf.for %it = %c0 to %end step %c1 iter_args(%accIn = %zacc) -> (vector<32xf32>) : i32 {
      // ---- issue the copies of k-tile %it (local index) ----
      %doLoad = arith.cmpi slt, %it, %nkt : i32
      scf.if %doLoad {
        %kt = arith.addi %kt0, %it : i32
        %st = arith.remui %it, %cStages : i32
        %stBase = arith.muli %st, %cStage : i32
        // A: chunks c = tid, tid + 128 of the 16 x 128 tile: row c / 16,
        // 16-byte column chunk c % 16 stored at chunk ^ (row % 8). Only
        // rows below M are copied (the others were zeroed once); columns
        // past K are zero-filled (source size 0).
        scf.for %h = %c0 to %c2 step %c1 : i32 {
          %hc = arith.muli %h, %c128 : i32
          %c = arith.addi %tid, %hc : i32
          %row = arith.shrui %c, %c4 : i32
          %rowOk = arith.cmpi slt, %row, %rowsValid : i32
          scf.if %rowOk {
            %kc = arith.andi %c, %c15 : i32
            %grow = arith.addi %m0, %row : i32
            %kbase = arith.muli %kt, %c128 : i32
            %kc8 = arith.muli %kc, %c8 : i32
            %gk = arith.addi %kbase, %kc8 : i32
            %kOk = arith.cmpi slt, %gk, %K : i32
            %growL = arith.extui %grow : i32 to i64
            %KL = arith.extui %K : i32 to i64
            %gkL = arith.extui %gk : i32 to i64
            %rowK = arith.muli %growL, %KL : i64
            %elt = arith.addi %rowK, %gkL : i64
            %zero64 = arith.constant 0 : i64
            %elt0 = arith.select %kOk, %elt, %zero64 : i64
            %src = llvm.getelementptr %gA[%elt0] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
            %n = arith.select %kOk, %c16, %c0 : i32
            %r7 = arith.andi %row, %c7 : i32
            %sw = arith.xori %kc, %r7 : i32
            %rowB = arith.muli %row, %c256 : i32
            %swB = arith.muli %sw, %c16 : i32
            %o1 = arith.addi %stBase, %rowB : i32
            %o2 = arith.addi %o1, %swB : i32
            %dst = llvm.getelementptr %smem[%o2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
            nvvm.cp.async.shared.global %dst, %src, 16, cache = cg, %n : !llvm.ptr<3>, !llvm.ptr<1>, i32
          }
        } {qgpu.unroll}
        // B: 4 KiB, contiguous in global and shared memory.
        %ktL = arith.extui %kt : i32 to i64
        %ktOff = arith.muli %ktL, %c4096L : i64
        %bTile = arith.addi %bBlock, %ktOff : i64
        scf.for %h = %c0 to %c2 step %c1 : i32 {
          %hc = arith.muli %h, %c2048 : i32
          %hcL = arith.extui %hc : i32 to i64
          %b1 = arith.addi %bTile, %t16L : i64
          %byte = arith.addi %b1, %hcL : i64
          %src = llvm.getelementptr %gB[%byte] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
          %o1 = arith.addi %stBase, %cBoff : i32
          %o2 = arith.addi %o1, %t16 : i32
          %o3 = arith.addi %o2, %hc : i32
          %dst = llvm.getelementptr %smem[%o3] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          nvvm.cp.async.shared.global %dst, %src, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
        } {qgpu.unroll}
        // Scales: gs groups x 64 words.
        scf.if %sOk {
          %ktg = arith.muli %kt, %gs : i32
          %q2 = arith.addi %nbG, %ktg : i32
          %q2L = arith.extui %q2 : i32 to i64
          %c256L = arith.constant 256 : i64
          %b0 = arith.muli %q2L, %c256L : i64
          %byte = arith.addi %b0, %t16L : i64
          %src = llvm.getelementptr %gS[%byte] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
          %o1 = arith.addi %stBase, %cSoff : i32
          %o2 = arith.addi %o1, %t16 : i32
          %dst = llvm.getelementptr %smem[%o2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          nvvm.cp.async.shared.global %dst, %src, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
        }
      }
      nvvm.cp.async.commit.group

      // ---- compute k-tile %it - (stages - 1) ----
      %cmpIdx = arith.subi %it, %cStagesM1 : i32
      %doCompute = arith.cmpi sge, %cmpIdx, %c0 : i32
      %res = scf.if %doCompute -> (vector<32xf32>) {
        nvvm.cp.async.wait.group 3 {qgpu.params = {n = "stages_m1"}}
        nvvm.barrier0
        %st = arith.remui %cmpIdx, %cStages : i32
        %stBase = arith.muli %st, %cStage : i32
        %r = scf.for %h = %c0 to %c2 step %c1 iter_args(%a = %accIn) -> (vector<32xf32>) : i32 {
          %w2 = arith.muli %warp, %c2 : i32
          %s16 = arith.addi %w2, %h : i32
          // A fragment (ldmatrix x4): lane supplies row lane % 16 of chunk
          // 2 * s16 + lane / 16.
          %row = arith.andi %lane, %c15 : i32
          %half = arith.shrui %lane, %c4 : i32
          %s2 = arith.muli %s16, %c2 : i32
          %chunk = arith.addi %s2, %half : i32
          %r7 = arith.andi %row, %c7 : i32
          %sw = arith.xori %chunk, %r7 : i32
          %rowB = arith.muli %row, %c256 : i32
          %swB = arith.muli %sw, %c16 : i32
          %o1 = arith.addi %stBase, %rowB : i32
          %o2 = arith.addi %o1, %swB : i32
          %pa = llvm.getelementptr %smem[%o2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %fa = "nvvm.ldmatrix"(%pa) <{num = 4 : i32, layout = #nvvm.mma_layout<row>,
                 shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>,
                 eltType = #nvvm.ld_st_matrix_elt_type<b16>}>
                 : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
          %fa0 = llvm.extractvalue %fa[0] : !llvm.struct<(i32, i32, i32, i32)>
          %fa1 = llvm.extractvalue %fa[1] : !llvm.struct<(i32, i32, i32, i32)>
          %fa2 = llvm.extractvalue %fa[2] : !llvm.struct<(i32, i32, i32, i32)>
          %fa3 = llvm.extractvalue %fa[3] : !llvm.struct<(i32, i32, i32, i32)>
          %va0 = llvm.bitcast %fa0 {qgpu.result = "optype"} : i32 to vector<2xf16>
          %va1 = llvm.bitcast %fa1 {qgpu.result = "optype"} : i32 to vector<2xf16>
          %va2 = llvm.bitcast %fa2 {qgpu.result = "optype"} : i32 to vector<2xf16>
          %va3 = llvm.bitcast %fa3 {qgpu.result = "optype"} : i32 to vector<2xf16>
          // The lane's four packed words (n16 groups 0..3) of step s16.
          %s512 = arith.muli %s16, %c512 : i32
          %l16 = arith.muli %lane, %c16 : i32
          %wo1 = arith.addi %stBase, %cBoff : i32
          %wo2 = arith.addi %wo1, %s512 : i32
          %wo3 = arith.addi %wo2, %l16 : i32
          %pw = llvm.getelementptr %smem[%wo3] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %words = llvm.load %pw {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
          // Scale words of the lane's eight columns 8i + lane / 4 (stored
          // at r * 8 + i of the group's 64 words).
          %k16 = arith.muli %s16, %c16 : i32
          %q = arith.shrui %k16, %log2g : i32
          %rr = arith.shrui %lane, %c2 : i32
          %q64 = arith.muli %q, %c64 : i32
          %rr8 = arith.muli %rr, %c8 : i32
          %si = arith.addi %q64, %rr8 : i32
          %sib = arith.muli %si, %c4 : i32
          %so1 = arith.addi %stBase, %cSoff : i32
          %so2 = arith.addi %so1, %sib : i32
          %ps0 = llvm.getelementptr %smem[%so2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %ps1 = llvm.getelementptr %ps0[%c16] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %sc0 = llvm.load %ps0 {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
          %sc1 = llvm.load %ps1 {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
          %r2 = scf.for %j = %c0 to %c4 step %c1 iter_args(%b = %a) -> (vector<32xf32>) : i32 {
            %word = llvm.extractelement %words[%j : i32] : vector<4xi32>
            // Scale words of tiles 2j and 2j + 1.
            %lowHalf = arith.cmpi ult, %j, %c2 : i32
            %scv = arith.select %lowHalf, %sc0, %sc1 : vector<4xi32>
            %j2 = arith.muli %j, %c2 : i32
            %ji0 = arith.andi %j2, %c3 : i32
            %ji1 = arith.addi %ji0, %c1 : i32
            %sw0 = llvm.extractelement %scv[%ji0 : i32] : vector<4xi32>
            %sw1 = llvm.extractelement %scv[%ji1 : i32] : vector<4xi32>
            %sc0h = llvm.bitcast %sw0 : i32 to vector<2xf16>
            %sc1h = llvm.bitcast %sw1 : i32 to vector<2xf16>
            %undef = llvm.mlir.poison : vector<2xf16>
            %s0v = llvm.shufflevector %sc0h, %undef [0, 0] : vector<2xf16>
            %z0v = llvm.shufflevector %sc0h, %undef [1, 1] : vector<2xf16>
            %s1v = llvm.shufflevector %sc1h, %undef [0, 0] : vector<2xf16>
            %z1v = llvm.shufflevector %sc1h, %undef [1, 1] : vector<2xf16>
            %wsh4 = arith.shrui %word, %c4 : i32
            %wsh8 = arith.shrui %word, %c8 : i32
            %wsh12 = arith.shrui %word, %c12 : i32
            %m0a = arith.andi %word, %mask : i32
            %m1a = arith.andi %wsh4, %mask : i32
            %m2a = arith.andi %wsh8, %mask : i32
            %m3a = arith.andi %wsh12, %mask : i32
            %x0 = arith.ori %m0a, %magic : i32
            %x1 = arith.ori %m1a, %magic : i32
            %x2 = arith.ori %m2a, %magic : i32
            %x3 = arith.ori %m3a, %magic : i32
            %h0 = llvm.bitcast %x0 : i32 to vector<2xf16>
            %h1 = llvm.bitcast %x1 : i32 to vector<2xf16>
            %h2 = llvm.bitcast %x2 : i32 to vector<2xf16>
            %h3 = llvm.bitcast %x3 : i32 to vector<2xf16>
            %d0 = llvm.fsub %h0, %z0v : vector<2xf16>
            %d1 = llvm.fsub %h1, %z0v : vector<2xf16>
            %d2 = llvm.fsub %h2, %z1v : vector<2xf16>
            %d3 = llvm.fsub %h3, %z1v : vector<2xf16>
            %wm0 = llvm.fmul %d0, %s0v : vector<2xf16>
            %wm1 = llvm.fmul %d1, %s0v : vector<2xf16>
            %wm2 = llvm.fmul %d2, %s1v : vector<2xf16>
            %wm3 = llvm.fmul %d3, %s1v : vector<2xf16>
            %wb0 = llvm.bitcast %wm0 {qgpu.result = "optype"} : vector<2xf16> to vector<2xf16>
            %wb1 = llvm.bitcast %wm1 {qgpu.result = "optype"} : vector<2xf16> to vector<2xf16>
            %wb2 = llvm.bitcast %wm2 {qgpu.result = "optype"} : vector<2xf16> to vector<2xf16>
            %wb3 = llvm.bitcast %wm3 {qgpu.result = "optype"} : vector<2xf16> to vector<2xf16>
            // Accumulators of tile 2j at 8j .. 8j + 3, of tile 2j + 1 at
            // 8j + 4 .. 8j + 7.
            %e0 = arith.muli %j, %c8 : i32
            %e1 = arith.addi %e0, %c1 : i32
            %e2 = arith.addi %e0, %c2 : i32
            %e3 = arith.addi %e0, %c3 : i32
            %e4 = arith.addi %e0, %c4 : i32
            %e5 = arith.addi %e0, %c5 : i32
            %e6 = arith.addi %e0, %c6 : i32
            %e7 = arith.addi %e0, %c7 : i32
            %p0 = llvm.extractelement %b[%e0 : i32] : vector<32xf32>
            %p1 = llvm.extractelement %b[%e1 : i32] : vector<32xf32>
            %p2 = llvm.extractelement %b[%e2 : i32] : vector<32xf32>
            %p3 = llvm.extractelement %b[%e3 : i32] : vector<32xf32>
            %p4 = llvm.extractelement %b[%e4 : i32] : vector<32xf32>
            %p5 = llvm.extractelement %b[%e5 : i32] : vector<32xf32>
            %p6 = llvm.extractelement %b[%e6 : i32] : vector<32xf32>
            %p7 = llvm.extractelement %b[%e7 : i32] : vector<32xf32>
            %m0r = nvvm.mma.sync A[%va0, %va1, %va2, %va3] B[%wb0, %wb1] C[%p0, %p1, %p2, %p3]
                   {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
                    qgpu.params = {multiplicandAPtxType = "mma_type", multiplicandBPtxType = "mma_type"},
                    shape = #nvvm.shape<m = 16, n = 8, k = 16>}
                   : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
            %m1r = nvvm.mma.sync A[%va0, %va1, %va2, %va3] B[%wb2, %wb3] C[%p4, %p5, %p6, %p7]
                   {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
                    qgpu.params = {multiplicandAPtxType = "mma_type", multiplicandBPtxType = "mma_type"},
                    shape = #nvvm.shape<m = 16, n = 8, k = 16>}
                   : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
            %n0 = llvm.extractvalue %m0r[0] : !llvm.struct<(f32, f32, f32, f32)>
            %n1 = llvm.extractvalue %m0r[1] : !llvm.struct<(f32, f32, f32, f32)>
            %n2 = llvm.extractvalue %m0r[2] : !llvm.struct<(f32, f32, f32, f32)>
            %n3 = llvm.extractvalue %m0r[3] : !llvm.struct<(f32, f32, f32, f32)>
            %n4 = llvm.extractvalue %m1r[0] : !llvm.struct<(f32, f32, f32, f32)>
            %n5 = llvm.extractvalue %m1r[1] : !llvm.struct<(f32, f32, f32, f32)>
            %n6 = llvm.extractvalue %m1r[2] : !llvm.struct<(f32, f32, f32, f32)>
            %n7 = llvm.extractvalue %m1r[3] : !llvm.struct<(f32, f32, f32, f32)>
            %u0 = llvm.insertelement %n0, %b[%e0 : i32] : vector<32xf32>
            %u1 = llvm.insertelement %n1, %u0[%e1 : i32] : vector<32xf32>
            %u2 = llvm.insertelement %n2, %u1[%e2 : i32] : vector<32xf32>
            %u3 = llvm.insertelement %n3, %u2[%e3 : i32] : vector<32xf32>
            %u4 = llvm.insertelement %n4, %u3[%e4 : i32] : vector<32xf32>
            %u5 = llvm.insertelement %n5, %u4[%e5 : i32] : vector<32xf32>
            %u6 = llvm.insertelement %n6, %u5[%e6 : i32] : vector<32xf32>
            %u7 = llvm.insertelement %n7, %u6[%e7 : i32] : vector<32xf32>
            scf.yield %u7 : vector<32xf32>
          } {qgpu.unroll}
          scf.yield %r2 : vector<32xf32>
        } {qgpu.unroll}
        // The stage is refilled by the next iteration's copies.
        nvvm.barrier0
        scf.yield %r : vector<32xf32>
      } else {
        scf.yield %accIn : vector<32xf32>
      }
      scf.yield %res : vector<32xf32>
    }
    nvvm.cp.async.wait.group 0
    nvvm.barrier0

    // ---- epilogue ----
    // Sum the four warps' accumulators through shared memory (warp order):
    // red[w][v][lane] for accumulator v (tile v / 4, register v % 4).
    scf.for %v = %c0 to %c32 step %c1 : i32 {
      %x = llvm.extractelement %acc[%v : i32] : vector<32xf32>
      %wv = arith.muli %warp, %c32 : i32
      %wv2 = arith.addi %wv, %v : i32
      %wv3 = arith.muli %wv2, %c32 : i32
      %wv4 = arith.addi %wv3, %lane : i32
      %wb = arith.muli %wv4, %c4 : i32
      %p = llvm.getelementptr %smem[%wb] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
      llvm.store %x, %p : f32, !llvm.ptr<3>
    } {qgpu.unroll}
    nvvm.barrier0

    %gC0 = llvm.inttoptr %pC : i64 to !llvm.ptr
    %gC = llvm.addrspacecast %gC0 : !llvm.ptr to !llvm.ptr<1>
    %gW0 = llvm.inttoptr %pWS : i64 to !llvm.ptr
    %gW = llvm.addrspacecast %gW0 : !llvm.ptr to !llvm.ptr<1>
    %gBias0 = llvm.inttoptr %pBias : i64 to !llvm.ptr
    %gBias = llvm.addrspacecast %gBias0 : !llvm.ptr to !llvm.ptr<1>
    %useBias = arith.cmpi ne, %hasBias, %c0 : i32
    %nb64 = arith.muli %nb, %c64 : i32
    %single = arith.cmpi eq, %nsplit, %c1 : i32
    %nmt = nvvm.read.ptx.sreg.nctaid.z : i32
    %mpadRows = arith.muli %nmt, %c16 : i32
    %spRows = arith.muli %sp, %mpadRows : i32
    %N64 = arith.extui %N : i32 to i64
    %Npad64 = arith.extui %Npad : i32 to i64
    // Thread t finishes values e = t + 128 k (k < 8): accumulator v = e / 32
    // of lane l = e % 32: row m0 + l / 4 (+ 8 for v % 4 >= 2), column
    // nb * 64 + 8 (v / 4) + 2 (l % 4) + v % 2.
    scf.for %kk = %c0 to %c8 step %c1 : i32 {
      %kk128 = arith.muli %kk, %c128 : i32
      %e = arith.addi %tid, %kk128 : i32
      %v = arith.shrui %e, %c5 : i32
      %l = arith.andi %e, %c31 : i32
      %reg = arith.andi %v, %c3 : i32
      %tile = arith.shrui %v, %c2 : i32
      %hiRow = arith.shrui %reg, %c1 : i32
      %hiRow8 = arith.muli %hiRow, %c8 : i32
      %l4 = arith.shrui %l, %c2 : i32
      %row0 = arith.addi %m0, %l4 : i32
      %row = arith.addi %row0, %hiRow8 : i32
      %lq = arith.andi %l, %c3 : i32
      %lq2 = arith.muli %lq, %c2 : i32
      %odd = arith.andi %reg, %c1 : i32
      %t8 = arith.muli %tile, %c8 : i32
      %cl0 = arith.addi %nb64, %t8 : i32
      %cl1 = arith.addi %cl0, %lq2 : i32
      %col = arith.addi %cl1, %odd : i32
      %rowOk = arith.cmpi slt, %row, %M : i32
      scf.if %rowOk {
        %sum = scf.for %w = %c0 to %c4 step %c1 iter_args(%s = %zf) -> (f32) : i32 {
          %wv = arith.muli %w, %c32 : i32
          %wv2 = arith.addi %wv, %v : i32
          %wv3 = arith.muli %wv2, %c32 : i32
          %wv4 = arith.addi %wv3, %l : i32
          %wb = arith.muli %wv4, %c4 : i32
          %p = llvm.getelementptr %smem[%wb] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %x = llvm.load %p : !llvm.ptr<3> -> f32
          %s2 = arith.addf %s, %x : f32
          scf.yield %s2 : f32
        } {qgpu.unroll}
        %col64 = arith.extui %col : i32 to i64
        scf.if %single {
          // Bias, f16 rounding, store what is inside [M, N].
          %colOk = arith.cmpi slt, %col, %N : i32
          scf.if %colOk {
            %b = scf.if %useBias -> (f32) {
              %pb = llvm.getelementptr %gBias[%col] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
              %bv = llvm.load %pb : !llvm.ptr<1> -> f32
              scf.yield %bv : f32
            } else {
              scf.yield %zf : f32
            }
            %s = arith.addf %sum, %b : f32
            %hv = arith.truncf %s : f32 to f16
            %row64 = arith.extui %row : i32 to i64
            %o0 = arith.muli %row64, %N64 : i64
            %o = arith.addi %o0, %col64 : i64
            %p = llvm.getelementptr %gC[%o] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
            llvm.store %hv, %p : f16, !llvm.ptr<1>
          }
        } else {
          // Split-K: this block's partial, f32 [splits * Mpad, Npad].
          %r = arith.addi %spRows, %row : i32
          %r64 = arith.extui %r : i32 to i64
          %o0 = arith.muli %r64, %Npad64 : i64
          %o = arith.addi %o0, %col64 : i64
          %p = llvm.getelementptr %gW[%o] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
          llvm.store %sum, %p : f32, !llvm.ptr<1>
        }
      }
    } {qgpu.unroll}

    %notSingle = arith.cmpi ne, %nsplit, %c1 : i32
    scf.if %notSingle {
      // The last block of this output tile to arrive sums the partials in
      // split order (deterministic) and stores the result.
      llvm.inline_asm has_side_effects "membar.gl;", "" : () -> ()
      nvvm.barrier0
      %counters = llvm.mlir.addressof @qgpu_w4a16_f16_counters : !llvm.ptr<1>
      %ci0 = arith.muli %mt, %nblk : i32
      %ci = arith.addi %ci0, %nb : i32
      %pcnt = llvm.getelementptr %counters[%ci] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
      %flag = llvm.getelementptr %smem[%cFlag] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
      %isT0 = arith.cmpi eq, %tid, %c0 : i32
      scf.if %isT0 {
        %old = llvm.atomicrmw add %pcnt, %c1 monotonic : !llvm.ptr<1>, i32
        llvm.store %old, %flag : i32, !llvm.ptr<3>
      }
      nvvm.barrier0
      %arrived = llvm.load %flag : !llvm.ptr<3> -> i32
      %lastIdx = arith.subi %nsplit, %c1 : i32
      %isLast = arith.cmpi eq, %arrived, %lastIdx : i32
      scf.if %isLast {
        llvm.inline_asm has_side_effects "membar.gl;", "" : () -> ()
        %rowsLeft = arith.subi %M, %m0 : i32
        %rows = arith.minsi %rowsLeft, %c16 : i32
        %work = arith.muli %rows, %c64 : i32
        scf.for %e = %tid to %work step %c128 : i32 {
          %r = arith.shrui %e, %c6 : i32
          %j = arith.andi %e, %c63 : i32
          %grow = arith.addi %m0, %r : i32
          %col = arith.addi %nb64, %j : i32
          %col64 = arith.extui %col : i32 to i64
          %sum = scf.for %s = %c0 to %nsplit step %c1 iter_args(%acc2 = %zf) -> (f32) : i32 {
            %sr0 = arith.muli %s, %mpadRows : i32
            %sr = arith.addi %sr0, %grow : i32
            %sr64 = arith.extui %sr : i32 to i64
            %off0 = arith.muli %sr64, %Npad64 : i64
            %off = arith.addi %off0, %col64 : i64
            %pp = llvm.getelementptr %gW[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
            %v = llvm.load volatile %pp : !llvm.ptr<1> -> f32
            %nx = arith.addf %acc2, %v : f32
            scf.yield %nx : f32
          }
          %colOk = arith.cmpi slt, %col, %N : i32
          scf.if %colOk {
            %b = scf.if %useBias -> (f32) {
              %pb = llvm.getelementptr %gBias[%col] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
              %bv = llvm.load %pb : !llvm.ptr<1> -> f32
              scf.yield %bv : f32
            } else {
              scf.yield %zf : f32
            }
            %s = arith.addf %sum, %b : f32
            %hv = arith.truncf %s : f32 to f16
            %grow64 = arith.extui %grow : i32 to i64
            %o0 = arith.muli %grow64, %N64 : i64
            %o = arith.addi %o0, %col64 : i64
            %p = llvm.getelementptr %gC[%o] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f16
            llvm.store %hv, %p : f16, !llvm.ptr<1>
          }
        }
        scf.if %isT0 {
          llvm.store %c0, %pcnt : i32, !llvm.ptr<1>
        }
      }
    }
    gpu.return
  }
}
}
