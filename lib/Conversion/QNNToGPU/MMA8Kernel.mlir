// The 8-bit tensor-core matmul of QuantOpt (docs/GPUBackend.md, "W8A8 and
// FP8 kernel"): C[M, N] = epilogue(A[M, K] x B[K, N]) with A 8-bit
// activations (row-major, K contiguous) and B 8-bit weights packed at
// compile time by convert-qnn-to-gpu into the order of the tensor-core B
// fragments.
//
// Block: 256 threads (8 warps as 2 x 4), a 128 x 128 tile of C, k-tiles of
// 64 bytes. Each stage of the stages-deep cp.async pipeline holds the A
// tile (128 rows x 64 bytes; 16-byte chunk c of row r stored at chunk
// c ^ ((r >> 1) & 3), which makes every 8-row ldmatrix conflict-free) and
// the block's 8 KiB of packed B for the k-tile. One barrier per k-tile:
// the stage refilled in iteration i was consumed in iteration i - 1. Warp
// (wm, wn) computes rows 64 wm .. +64 and columns 32 wn .. +32 of the tile:
// per k32 step four ldmatrix.x4 (the b16 view of 16 x 32 bytes is exactly
// the 8-bit A fragment), two 16-byte shared loads of B (four n8 tiles) and
// sixteen mma.sync.m16n8k32.
//
// Epilogue (MMA8Epilogue.mlir, a helper this kernel and MMA8WGKernel.mlir
// call): the accumulators go through shared memory (rows padded to 136
// words) so that each thread then finishes four consecutive columns of a
// row with coalesced stores:
//   int8:  acc = raw - za[m] * colsum[n] + bias[n]        (i32, exact)
//          r = (float(acc) * sa[m]) * sb[n]
//   fp8:   r = ((raw * sa[m]) * sb[n]) + fbias[n]
//   r = activation(r)                    (none, relu, gelu (erf), silu)
//   out = r (f32), or saturate(round_half_even(r / so) + zo) (int8/uint8),
//   or (fp8 kernel) e4m3(r / so) rounded to nearest even and saturated.
// sa/za are per tensor or per row (per token), sb per tensor or per column.
//
// Written, and verified at build time, as qgpu_w8a8_s8 (int8 x int8 ->
// i32, signed activations) with a 4-deep pipeline. The pass makes each
// variant by rewriting the parsed IR (KernelTemplates.cpp): the kernel is
// renamed (qgpu_w8a8_u8, qgpu_fp8_e4m3); the attributes named in an op's
// qgpu.params get the variant's value of the parameter named (stages,
// stages_m1, stages_m2 = stages - 1, - 2); the results of the ops tagged
// qgpu.acc (the accumulators) take the accumulator type, i32 or f32 for
// e4m3 (a zero constant stays zero); and the calls of the mma helper
// @qgpu_mma8_tile_s8 go to the variant's (_u8, _e4m3). The epilogue has
// its own parameters.
// Loops marked qgpu.unroll are fully unrolled by the pass.
module attributes {gpu.container_module} {
gpu.module @quantopt_kernels {
  llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32, alignment = 128 : i64} : !llvm.array<0 x i8>

  // The mma of one m16n8k32 tile, per variant: int8 x int8 -> i32 with
  // signed (s8) or unsigned (u8) activations, and e4m3 x e4m3 -> f32
  // (mma.sync with e4m3 operands has no NVVM op in MLIR 22: inline PTX,
  // ISA 8.4, sm_89+, the accumulators tied to the results).
  func.func private @qgpu_mma8_tile_s8(%a0: i32, %a1: i32, %a2: i32, %a3: i32, %b0: i32, %b1: i32,
      %c0: i32, %c1: i32, %c2: i32, %c3: i32) -> !llvm.struct<(i32, i32, i32, i32)> {
    %mr = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%c0, %c1, %c2, %c3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<s8>, multiplicandBPtxType = #nvvm.mma_type<s8>, intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
    return %mr : !llvm.struct<(i32, i32, i32, i32)>
  }
  func.func private @qgpu_mma8_tile_u8(%a0: i32, %a1: i32, %a2: i32, %a3: i32, %b0: i32, %b1: i32,
      %c0: i32, %c1: i32, %c2: i32, %c3: i32) -> !llvm.struct<(i32, i32, i32, i32)> {
    %mr = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%c0, %c1, %c2, %c3] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<u8>, multiplicandBPtxType = #nvvm.mma_type<s8>, intOverflowBehavior = #nvvm.mma_int_overflow<wrapped>, shape = #nvvm.shape<m = 16, n = 8, k = 32>} : (i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
    return %mr : !llvm.struct<(i32, i32, i32, i32)>
  }
  func.func private @qgpu_mma8_tile_e4m3(%a0: i32, %a1: i32, %a2: i32, %a3: i32, %b0: i32, %b1: i32,
      %c0: f32, %c1: f32, %c2: f32, %c3: f32) -> !llvm.struct<(f32, f32, f32, f32)> {
    %mr = llvm.inline_asm "mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {$0,$1,$2,$3}, {$4,$5,$6,$7}, {$8,$9}, {$10,$11,$12,$13};", "=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3" %a0, %a1, %a2, %a3, %b0, %b1, %c0, %c1, %c2, %c3 : (i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    return %mr : !llvm.struct<(f32, f32, f32, f32)>
  }

  gpu.func @qgpu_w8a8_s8(%pA: i64, %pB: i64, %pP: i64, %pSA: i64, %pZA: i64, %pSB: i64,
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
    %c8 = arith.constant 8 : i32
    %c15 = arith.constant 15 : i32
    %c16 = arith.constant 16 : i32
    %c31 = arith.constant 31 : i32
    %c32 = arith.constant 32 : i32
    %c64 = arith.constant 64 : i32
    %c128 = arith.constant 128 : i32
    %c256 = arith.constant 256 : i32
    %c512 = arith.constant 512 : i32
    %c544 = arith.constant 544 : i32
    %c1024 = arith.constant 1024 : i32
    %c4096 = arith.constant 4096 : i32
    %cBoff = arith.constant 8192 : i32
    %cStage = arith.constant 16384 : i32
    %cStages = arith.constant {qgpu.params = {value = "stages"}} 4 : i32
    %cStagesM1 = arith.constant {qgpu.params = {value = "stages_m1"}} 3 : i32
    %c8192L = arith.constant 8192 : i64
    %zero64 = arith.constant 0 : i64
    %zacc = arith.constant {qgpu.acc} dense<0> : vector<64xi32>

    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %nb = nvvm.read.ptx.sreg.ctaid.x : i32
    %mb = nvvm.read.ptx.sreg.ctaid.y : i32
    %warp = arith.shrui %tid, %c5 : i32
    %lane = arith.andi %tid, %c31 : i32
    %wm = arith.shrui %warp, %c2 : i32
    %wn = arith.andi %warp, %c3 : i32
    %m0 = arith.muli %mb, %c128 : i32
    %n0 = arith.muli %nb, %c128 : i32

    %gA0 = llvm.inttoptr %pA : i64 to !llvm.ptr
    %gA = llvm.addrspacecast %gA0 : !llvm.ptr to !llvm.ptr<1>
    %gB0 = llvm.inttoptr %pB : i64 to !llvm.ptr
    %gB = llvm.addrspacecast %gB0 : !llvm.ptr to !llvm.ptr<1>
    %smem = llvm.mlir.addressof @qgpu_dynamic_smem : !llvm.ptr<3>

    // B: the block's packed k-tiles are [numKT][8 KiB] at nb * numKT * 8 KiB.
    %nbKT = arith.muli %nb, %numKT : i32
    %nbKTL = arith.extui %nbKT : i32 to i64
    %bBlock = arith.muli %nbKTL, %c8192L : i64
    %t16 = arith.muli %tid, %c16 : i32
    %t16L = arith.extui %t16 : i32 to i64
    %KL = arith.extui %K : i32 to i64

    // The pipeline: iteration j waits for k-tile c = j - (stages - 1) (at
    // most stages - 2 copy groups may still be in flight), passes the
    // barrier (every warp is done with k-tile c - 1, whose stage is
    // refilled next), issues the copies of k-tile j into stage j % stages
    // and computes k-tile c. Copies: A chunks tid and tid + 256 (row
    // chunk / 4, chunk % 4; rows past M and columns past K are
    // zero-filled), B chunks tid and tid + 256 of the contiguous 8 KiB.
    %end = arith.addi %numKT, %cStagesM1 : i32
    %acc = scf.for %it = %c0 to %end step %c1 iter_args(%accIn = %zacc) -> (vector<64xi32>) : i32 {
      %cmpIdx = arith.subi %it, %cStagesM1 : i32
      %doCompute = arith.cmpi sge, %cmpIdx, %c0 : i32
      scf.if %doCompute {
        nvvm.cp.async.wait.group 2 {qgpu.params = {n = "stages_m2"}}
        nvvm.barrier0
      }
      %doLoad = arith.cmpi slt, %it, %numKT : i32
      scf.if %doLoad {
        %ldSt = arith.remui %it, %cStages : i32
        %ldBase = arith.muli %ldSt, %cStage : i32
        %kb = arith.muli %it, %c64 : i32
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
          %rsh = arith.shrui %arow, %c1 : i32
          %r3 = arith.andi %rsh, %c3 : i32
          %sw = arith.xori %ach, %r3 : i32
          %rowB = arith.muli %arow, %c64 : i32
          %swB = arith.muli %sw, %c16 : i32
          %o1 = arith.addi %ldBase, %rowB : i32
          %o2 = arith.addi %o1, %swB : i32
          %dst = llvm.getelementptr %smem[%o2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          nvvm.cp.async.shared.global %dst, %src, 16, cache = cg, %nbytes : !llvm.ptr<3>, !llvm.ptr<1>, i32
        } {qgpu.unroll}
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

      %res = scf.if %doCompute -> (vector<64xi32>) {
      %st = arith.remui %cmpIdx, %cStages : i32
      %stBase = arith.muli %st, %cStage : i32
      %r = scf.for %ks = %c0 to %c2 step %c1 iter_args(%a = %accIn) -> (vector<64xi32>) : i32 {
        // B fragments of the warp's four n8 tiles: [ks][wn][half][lane][16 B].
        %ks4096 = arith.muli %ks, %c4096 : i32
        %wn1024 = arith.muli %wn, %c1024 : i32
        %l16 = arith.muli %lane, %c16 : i32
        %bo1 = arith.addi %stBase, %cBoff : i32
        %bo2 = arith.addi %bo1, %ks4096 : i32
        %bo3 = arith.addi %bo2, %wn1024 : i32
        %bo4 = arith.addi %bo3, %l16 : i32
        %pb0 = llvm.getelementptr %smem[%bo4] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
        %pb1 = llvm.getelementptr %pb0[%c512] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
        %bw0 = llvm.load %pb0 {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
        %bw1 = llvm.load %pb1 {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
        %r2 = scf.for %mt = %c0 to %c4 step %c1 iter_args(%b = %a) -> (vector<64xi32>) : i32 {
          // A fragment (ldmatrix x4): lane supplies row lane % 16 of the
          // m16 tile, chunk 2 ks + lane / 16.
          %wm64 = arith.muli %wm, %c64 : i32
          %mt16 = arith.muli %mt, %c16 : i32
          %lr = arith.andi %lane, %c16 : i32
          %lrow16 = arith.andi %lane, %c15 : i32
          %row0 = arith.addi %wm64, %mt16 : i32
          %row = arith.addi %row0, %lrow16 : i32
          %half = arith.shrui %lr, %c4 : i32
          %ks2 = arith.muli %ks, %c2 : i32
          %chunk = arith.addi %ks2, %half : i32
          %rsh = arith.shrui %row, %c1 : i32
          %r3 = arith.andi %rsh, %c3 : i32
          %sw = arith.xori %chunk, %r3 : i32
          %rowB = arith.muli %row, %c64 : i32
          %swB = arith.muli %sw, %c16 : i32
          %ao1 = arith.addi %stBase, %rowB : i32
          %ao2 = arith.addi %ao1, %swB : i32
          %pa = llvm.getelementptr %smem[%ao2] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          %fa = "nvvm.ldmatrix"(%pa) <{num = 4 : i32, layout = #nvvm.mma_layout<row>,
                 shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>,
                 eltType = #nvvm.ld_st_matrix_elt_type<b16>}>
                 : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32, i32, i32)>
          %va0 = llvm.extractvalue %fa[0] : !llvm.struct<(i32, i32, i32, i32)>
          %va1 = llvm.extractvalue %fa[1] : !llvm.struct<(i32, i32, i32, i32)>
          %va2 = llvm.extractvalue %fa[2] : !llvm.struct<(i32, i32, i32, i32)>
          %va3 = llvm.extractvalue %fa[3] : !llvm.struct<(i32, i32, i32, i32)>
          %r4 = scf.for %nt = %c0 to %c4 step %c1 iter_args(%d = %b) -> (vector<64xi32>) : i32 {
            // Tile nt: words 2 (nt % 2), +1 of the load nt / 2.
            %lowHalf = arith.cmpi ult, %nt, %c2 : i32
            %bw = arith.select %lowHalf, %bw0, %bw1 : vector<4xi32>
            %ntm = arith.andi %nt, %c1 : i32
            %bi0 = arith.muli %ntm, %c2 : i32
            %bi1 = arith.addi %bi0, %c1 : i32
            %vb0 = llvm.extractelement %bw[%bi0 : i32] : vector<4xi32>
            %vb1 = llvm.extractelement %bw[%bi1 : i32] : vector<4xi32>
            // Accumulators of (mt, nt) at 16 mt + 4 nt .. +3.
            %e16 = arith.muli %mt, %c16 : i32
            %e4 = arith.muli %nt, %c4 : i32
            %e0 = arith.addi %e16, %e4 : i32
            %e1 = arith.addi %e0, %c1 : i32
            %e2 = arith.addi %e0, %c2 : i32
            %e3 = arith.addi %e0, %c3 : i32
            %c0v = llvm.extractelement %d[%e0 : i32] {qgpu.acc} : vector<64xi32>
            %c1v = llvm.extractelement %d[%e1 : i32] {qgpu.acc} : vector<64xi32>
            %c2v = llvm.extractelement %d[%e2 : i32] {qgpu.acc} : vector<64xi32>
            %c3v = llvm.extractelement %d[%e3 : i32] {qgpu.acc} : vector<64xi32>
            %mr = func.call @qgpu_mma8_tile_s8(%va0, %va1, %va2, %va3, %vb0, %vb1, %c0v, %c1v, %c2v, %c3v) {qgpu.acc}
                : (i32, i32, i32, i32, i32, i32, i32, i32, i32, i32) -> !llvm.struct<(i32, i32, i32, i32)>
            %n0v = llvm.extractvalue %mr[0] {qgpu.acc} : !llvm.struct<(i32, i32, i32, i32)>
            %n1v = llvm.extractvalue %mr[1] {qgpu.acc} : !llvm.struct<(i32, i32, i32, i32)>
            %n2v = llvm.extractvalue %mr[2] {qgpu.acc} : !llvm.struct<(i32, i32, i32, i32)>
            %n3v = llvm.extractvalue %mr[3] {qgpu.acc} : !llvm.struct<(i32, i32, i32, i32)>
            %u0 = llvm.insertelement %n0v, %d[%e0 : i32] {qgpu.acc} : vector<64xi32>
            %u1 = llvm.insertelement %n1v, %u0[%e1 : i32] {qgpu.acc} : vector<64xi32>
            %u2 = llvm.insertelement %n2v, %u1[%e2 : i32] {qgpu.acc} : vector<64xi32>
            %u3 = llvm.insertelement %n3v, %u2[%e3 : i32] {qgpu.acc} : vector<64xi32>
            scf.yield %u3 : vector<64xi32>
          } {qgpu.acc, qgpu.unroll}
          scf.yield %r4 : vector<64xi32>
        } {qgpu.acc, qgpu.unroll}
        scf.yield %r2 : vector<64xi32>
      } {qgpu.acc, qgpu.unroll}
      scf.yield %r : vector<64xi32>
      } else {
        scf.yield %accIn : vector<64xi32>
      } {qgpu.acc}
      scf.yield %res : vector<64xi32>
    } {qgpu.acc}
    nvvm.cp.async.wait.group 0
    nvvm.barrier0

    // ---- epilogue ----
    // Accumulators to shared memory, [128][136] words: (mt, nt, r) is row
    // 64 wm + 16 mt + lane / 4 + 8 (r / 2), column 32 wn + 8 nt +
    // 2 (lane % 4) + r % 2; pairs r = 0, 1 and 2, 3 are one 8-byte store.
    %g = arith.shrui %lane, %c2 : i32
    %q = arith.andi %lane, %c3 : i32
    %q2 = arith.muli %q, %c2 : i32
    scf.for %mt = %c0 to %c4 step %c1 : i32 {
      scf.for %nt = %c0 to %c4 step %c1 : i32 {
        scf.for %hr = %c0 to %c2 step %c1 : i32 {
          %wm64 = arith.muli %wm, %c64 : i32
          %mt16 = arith.muli %mt, %c16 : i32
          %hr8 = arith.muli %hr, %c8 : i32
          %row0 = arith.addi %wm64, %mt16 : i32
          %row1 = arith.addi %row0, %g : i32
          %row = arith.addi %row1, %hr8 : i32
          %wn32 = arith.muli %wn, %c32 : i32
          %nt8 = arith.muli %nt, %c8 : i32
          %col0 = arith.addi %wn32, %nt8 : i32
          %col = arith.addi %col0, %q2 : i32
          %e16 = arith.muli %mt, %c16 : i32
          %e4 = arith.muli %nt, %c4 : i32
          %hr2 = arith.muli %hr, %c2 : i32
          %e0a = arith.addi %e16, %e4 : i32
          %e0 = arith.addi %e0a, %hr2 : i32
          %e1 = arith.addi %e0, %c1 : i32
          %x0 = llvm.extractelement %acc[%e0 : i32] {qgpu.acc} : vector<64xi32>
          %x1 = llvm.extractelement %acc[%e1 : i32] {qgpu.acc} : vector<64xi32>
          %pz = llvm.mlir.poison {qgpu.acc} : vector<2xi32>
          %v0 = llvm.insertelement %x0, %pz[%c0 : i32] {qgpu.acc} : vector<2xi32>
          %v1 = llvm.insertelement %x1, %v0[%c1 : i32] {qgpu.acc} : vector<2xi32>
          %rowW = arith.muli %row, %c544 : i32
          %colW = arith.muli %col, %c4 : i32
          %o = arith.addi %rowW, %colW : i32
          %p = llvm.getelementptr %smem[%o] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
          llvm.store %v1, %p {alignment = 8 : i64} : vector<2xi32>, !llvm.ptr<3>
        } {qgpu.unroll}
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
