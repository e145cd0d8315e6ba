// Dynamic activation quantization on the GPU (docs/GPUBackend.md, "Dynamic
// quantization"): qnn.dynamic_quantize with the exact arithmetic of the op,
// the range reduction and the quantization fused in one kernel, so the
// 8-bit kernel that follows needs no calibration and no host round trip.
// uint8 (ONNX DynamicQuantizeLinear, per tensor or per token):
//   scale = (max(0, max x) - min(0, min x)) / 255
//   zp    = uint8(round_half_even(clamp(0 - min(0, min x) / scale, 0, 255)))
//   q     = uint8(clamp(round_half_even(x / scale) + zp, 0, 255))
// float8 E4M3FN (the fp8 kernel's activations; sm_89+):
//   amax  = max(0, -min x, max x)            (= max |x|)
//   scale = amax / 448, or 1 where that is 0 (amax 0 or below 448 times
//           the smallest subnormal), zp = 0
//   q     = e4m3(x / scale), round to nearest even, saturating to +-448,
//           NaN as 0x7F whatever its sign (cvt.rn.satfinite)
// min/max propagate NaN like arith.minimumf/maximumf in the CPU lowering.
//
// Per token: one 256-thread block per row (qgpu_dynq_rows); it
// reads the row twice (the second pass from L1/L2). Per tensor:
// qgpu_dynq_partials leaves the min/max of each block's grid-stride share
// in a [2 x blocks] scratch buffer, then every block of
// qgpu_dynq_tensor folds the (at most 1024) partials itself and
// quantizes its share; block 0 writes the scale and zero point. Block
// reductions use 64 bytes of dynamic shared memory.
//
// Written, and verified at build time, as the uint8 kernels. The pass makes
// the e4m3 ones by rewriting the parsed IR (KernelTemplates.cpp): the two
// kernels are renamed with the suffix _e4m3 and the calls of the parameter
// and quantize helpers go to their _e4m3 versions. The helpers are inlined
// and erased, so the e4m3 conversion (cvt.rn.satfinite.e4m3x2, sm_89+)
// reaches the PTX only in the _e4m3 kernels.
module attributes {gpu.container_module} {
gpu.module @quantopt_kernels {
  llvm.mlir.global external @qgpu_dynamic_smem() {addr_space = 3 : i32, alignment = 128 : i64} : !llvm.array<0 x i8>

  // The min and max of (%mn, %mx) over the 256 threads of the block, in
  // every thread: xor shuffles within each warp, then the 8 warp results
  // through shared memory.
  func.func private @qgpu_block_minmax(%mn: f32, %mx: f32) -> (f32, f32) {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c4 = arith.constant 4 : i32
    %c5 = arith.constant 5 : i32
    %c8 = arith.constant 8 : i32
    %c31 = arith.constant 31 : i32
    %full = arith.constant -1 : i32
    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %warp = arith.shrui %tid, %c5 : i32
    %lane = arith.andi %tid, %c31 : i32
    %w:2 = scf.for %s = %c0 to %c5 step %c1 iter_args(%a = %mn, %b = %mx) -> (f32, f32) : i32 {
      %sh = arith.subi %c4, %s : i32
      %off = arith.shli %c1, %sh : i32
      %oa = nvvm.shfl.sync bfly %full, %a, %off, %c31 : f32 -> f32
      %ob = nvvm.shfl.sync bfly %full, %b, %off, %c31 : f32 -> f32
      %na = arith.minimumf %a, %oa : f32
      %nb = arith.maximumf %b, %ob : f32
      scf.yield %na, %nb : f32, f32
    } {qgpu.unroll}
    %smem = llvm.mlir.addressof @qgpu_dynamic_smem : !llvm.ptr<3>
    %smemF = llvm.getelementptr %smem[0] : (!llvm.ptr<3>) -> !llvm.ptr<3>, f32
    // Readers of an earlier reduction are done with the slots.
    nvvm.barrier0
    %first = arith.cmpi eq, %lane, %c0 : i32
    scf.if %first {
      %pa = llvm.getelementptr %smemF[%warp] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, f32
      %wb = arith.addi %warp, %c8 : i32
      %pb = llvm.getelementptr %smemF[%wb] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, f32
      llvm.store %w#0, %pa : f32, !llvm.ptr<3>
      llvm.store %w#1, %pb : f32, !llvm.ptr<3>
    }
    nvvm.barrier0
    %inf = arith.constant 0x7F800000 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %r:2 = scf.for %i = %c0 to %c8 step %c1 iter_args(%a = %inf, %b = %ninf) -> (f32, f32) : i32 {
      %pa = llvm.getelementptr %smemF[%i] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, f32
      %ib = arith.addi %i, %c8 : i32
      %pb = llvm.getelementptr %smemF[%ib] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, f32
      %va = llvm.load %pa : !llvm.ptr<3> -> f32
      %vb = llvm.load %pb : !llvm.ptr<3> -> f32
      %na = arith.minimumf %a, %va : f32
      %nb = arith.maximumf %b, %vb : f32
      scf.yield %na, %nb : f32, f32
    } {qgpu.unroll}
    return %r#0, %r#1 : f32, f32
  }

  // The scale, the zero point (byte) and the zero point as f32, in the
  // order of operations of the CPU lowering.
  func.func private @qgpu_dynq_params(%mn: f32, %mx: f32) -> (f32, i8, f32) {
    %z = arith.constant 0.0 : f32
    %c255 = arith.constant 255.0 : f32
    %hi = arith.maximumf %mx, %z : f32
    %lo = arith.minimumf %mn, %z : f32
    %range = arith.subf %hi, %lo : f32
    %scale = arith.divf %range, %c255 : f32
    %d = arith.divf %lo, %scale : f32
    %v0 = arith.subf %z, %d : f32
    %v1 = arith.maximumf %v0, %z : f32
    %v2 = arith.minimumf %v1, %c255 : f32
    %v3 = math.roundeven %v2 : f32
    %zi = arith.fptosi %v3 : f32 to i32
    %zb = arith.trunci %zi : i32 to i8
    %zu = arith.extui %zb : i8 to i32
    %zf = arith.sitofp %zu : i32 to f32
    return %scale, %zb, %zf : f32, i8, f32
  }

  func.func private @qgpu_dynq_quantize(%x: f32, %scale: f32, %zf: f32) -> i8 {
    %z = arith.constant 0.0 : f32
    %c255 = arith.constant 255.0 : f32
    %d = arith.divf %x, %scale : f32
    %r = math.roundeven %d : f32
    %p = arith.addf %r, %zf : f32
    %c1 = arith.maximumf %p, %z : f32
    %c2 = arith.minimumf %c1, %c255 : f32
    %i = arith.fptosi %c2 : f32 to i32
    %b = arith.trunci %i : i32 to i8
    return %b : i8
  }

  // The e4m3 scale, zero point byte (0) and zero point (0.0).
  func.func private @qgpu_dynq_params_e4m3(%mn: f32, %mx: f32) -> (f32, i8, f32) {
    %z = arith.constant 0.0 : f32
    %one = arith.constant 1.0 : f32
    %c448 = arith.constant 448.0 : f32
    %zb = arith.constant 0 : i8
    %neg = arith.negf %mn : f32
    %a0 = arith.maximumf %neg, %mx : f32
    %amax = arith.maximumf %a0, %z : f32
    %s = arith.divf %amax, %c448 : f32
    %isZero = arith.cmpf oeq, %s, %z : f32
    %scale = arith.select %isZero, %one, %s : f32
    return %scale, %zb, %z : f32, i8, f32
  }

  func.func private @qgpu_dynq_quantize_e4m3(%x: f32, %scale: f32, %zf: f32) -> i8 {
    %z = arith.constant 0.0 : f32
    %d = arith.divf %x, %scale : f32
    %qh = llvm.inline_asm "cvt.rn.satfinite.e4m3x2.f32 $0, $1, $2;", "=h,f,f" %z, %d : (f32, f32) -> i16
    %qb = arith.trunci %qh : i16 to i8
    return %qb : i8
  }

  // Per token: block b quantizes row b of X [rows, cols] (row-major).
  gpu.func @qgpu_dynq_rows(%pX: i64, %pQ: i64, %pS: i64, %pZ: i64,
                           %rows: i32, %cols: i32) kernel
      attributes {nvvm.maxntid = array<i32: 256, 1, 1>} {
    %c0 = arith.constant 0 : i32
    %c256 = arith.constant 256 : i32
    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %row = nvvm.read.ptx.sreg.ctaid.x : i32
    %inRows = arith.cmpi slt, %row, %rows : i32
    scf.if %inRows {
      %gX0 = llvm.inttoptr %pX : i64 to !llvm.ptr
      %gX = llvm.addrspacecast %gX0 : !llvm.ptr to !llvm.ptr<1>
      %gQ0 = llvm.inttoptr %pQ : i64 to !llvm.ptr
      %gQ = llvm.addrspacecast %gQ0 : !llvm.ptr to !llvm.ptr<1>
      %gS0 = llvm.inttoptr %pS : i64 to !llvm.ptr
      %gS = llvm.addrspacecast %gS0 : !llvm.ptr to !llvm.ptr<1>
      %gZ0 = llvm.inttoptr %pZ : i64 to !llvm.ptr
      %gZ = llvm.addrspacecast %gZ0 : !llvm.ptr to !llvm.ptr<1>
      %rowL = arith.extui %row : i32 to i64
      %colsL = arith.extui %cols : i32 to i64
      %base = arith.muli %rowL, %colsL : i64
      %inf = arith.constant 0x7F800000 : f32
      %ninf = arith.constant 0xFF800000 : f32
      %mm:2 = scf.for %c = %tid to %cols step %c256 iter_args(%a = %inf, %b = %ninf) -> (f32, f32) : i32 {
        %cL = arith.extui %c : i32 to i64
        %off = arith.addi %base, %cL : i64
        %p = llvm.getelementptr %gX[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
        %x = llvm.load %p : !llvm.ptr<1> -> f32
        %na = arith.minimumf %a, %x : f32
        %nb = arith.maximumf %b, %x : f32
        scf.yield %na, %nb : f32, f32
      }
      %r:2 = func.call @qgpu_block_minmax(%mm#0, %mm#1) : (f32, f32) -> (f32, f32)
      %prm:3 = func.call @qgpu_dynq_params(%r#0, %r#1) : (f32, f32) -> (f32, i8, f32)
      %first = arith.cmpi eq, %tid, %c0 : i32
      scf.if %first {
        %ps = llvm.getelementptr %gS[%rowL] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
        llvm.store %prm#0, %ps : f32, !llvm.ptr<1>
        %pz = llvm.getelementptr %gZ[%rowL] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
        llvm.store %prm#1, %pz : i8, !llvm.ptr<1>
      }
      scf.for %c = %tid to %cols step %c256 : i32 {
        %cL = arith.extui %c : i32 to i64
        %off = arith.addi %base, %cL : i64
        %p = llvm.getelementptr %gX[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
        %x = llvm.load %p : !llvm.ptr<1> -> f32
        %q = func.call @qgpu_dynq_quantize(%x, %prm#0, %prm#2) : (f32, f32, f32) -> i8
        %pq = llvm.getelementptr %gQ[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
        llvm.store %q, %pq : i8, !llvm.ptr<1>
      }
    }
    gpu.return
  }

  // Per tensor, step 1: block b writes the min and max of elements
  // b * 256 + t + k * (blocks * 256) of X [n] to P[2b], P[2b + 1].
  gpu.func @qgpu_dynq_partials(%pX: i64, %pP: i64, %n: i64) kernel
      attributes {nvvm.maxntid = array<i32: 256, 1, 1>} {
    %c0 = arith.constant 0 : i32
    %c256L = arith.constant 256 : i64
    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %bid = nvvm.read.ptx.sreg.ctaid.x : i32
    %nblk = nvvm.read.ptx.sreg.nctaid.x : i32
    %gX0 = llvm.inttoptr %pX : i64 to !llvm.ptr
    %gX = llvm.addrspacecast %gX0 : !llvm.ptr to !llvm.ptr<1>
    %gP0 = llvm.inttoptr %pP : i64 to !llvm.ptr
    %gP = llvm.addrspacecast %gP0 : !llvm.ptr to !llvm.ptr<1>
    %tidL = arith.extui %tid : i32 to i64
    %bidL = arith.extui %bid : i32 to i64
    %nblkL = arith.extui %nblk : i32 to i64
    %b0 = arith.muli %bidL, %c256L : i64
    %start = arith.addi %b0, %tidL : i64
    %stride = arith.muli %nblkL, %c256L : i64
    %inf = arith.constant 0x7F800000 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %mm:2 = scf.for %i = %start to %n step %stride iter_args(%a = %inf, %b = %ninf) -> (f32, f32) : i64 {
      %p = llvm.getelementptr %gX[%i] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
      %x = llvm.load %p : !llvm.ptr<1> -> f32
      %na = arith.minimumf %a, %x : f32
      %nb = arith.maximumf %b, %x : f32
      scf.yield %na, %nb : f32, f32
    }
    %r:2 = func.call @qgpu_block_minmax(%mm#0, %mm#1) : (f32, f32) -> (f32, f32)
    %first = arith.cmpi eq, %tid, %c0 : i32
    scf.if %first {
      %c1 = arith.constant 1 : i32
      %i0 = arith.shli %bid, %c1 : i32
      %i1 = arith.addi %i0, %c1 : i32
      %pa = llvm.getelementptr %gP[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
      %pb = llvm.getelementptr %gP[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
      llvm.store %r#0, %pa : f32, !llvm.ptr<1>
      llvm.store %r#1, %pb : f32, !llvm.ptr<1>
    }
    gpu.return
  }

  // Per tensor, step 2: every block folds the %parts partials, block 0
  // stores the scale and zero point, and each block quantizes its
  // grid-stride share of X [n].
  gpu.func @qgpu_dynq_tensor(%pX: i64, %pP: i64, %pQ: i64, %pS: i64, %pZ: i64,
                             %n: i64, %parts: i32) kernel
      attributes {nvvm.maxntid = array<i32: 256, 1, 1>} {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c256 = arith.constant 256 : i32
    %c256L = arith.constant 256 : i64
    %tid = nvvm.read.ptx.sreg.tid.x : i32
    %bid = nvvm.read.ptx.sreg.ctaid.x : i32
    %nblk = nvvm.read.ptx.sreg.nctaid.x : i32
    %gX0 = llvm.inttoptr %pX : i64 to !llvm.ptr
    %gX = llvm.addrspacecast %gX0 : !llvm.ptr to !llvm.ptr<1>
    %gP0 = llvm.inttoptr %pP : i64 to !llvm.ptr
    %gP = llvm.addrspacecast %gP0 : !llvm.ptr to !llvm.ptr<1>
    %gQ0 = llvm.inttoptr %pQ : i64 to !llvm.ptr
    %gQ = llvm.addrspacecast %gQ0 : !llvm.ptr to !llvm.ptr<1>
    %gS0 = llvm.inttoptr %pS : i64 to !llvm.ptr
    %gS = llvm.addrspacecast %gS0 : !llvm.ptr to !llvm.ptr<1>
    %gZ0 = llvm.inttoptr %pZ : i64 to !llvm.ptr
    %gZ = llvm.addrspacecast %gZ0 : !llvm.ptr to !llvm.ptr<1>
    %inf = arith.constant 0x7F800000 : f32
    %ninf = arith.constant 0xFF800000 : f32
    %mm:2 = scf.for %j = %tid to %parts step %c256 iter_args(%a = %inf, %b = %ninf) -> (f32, f32) : i32 {
      %i0 = arith.shli %j, %c1 : i32
      %i1 = arith.addi %i0, %c1 : i32
      %pa = llvm.getelementptr %gP[%i0] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
      %pb = llvm.getelementptr %gP[%i1] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
      %va = llvm.load %pa : !llvm.ptr<1> -> f32
      %vb = llvm.load %pb : !llvm.ptr<1> -> f32
      %na = arith.minimumf %a, %va : f32
      %nb = arith.maximumf %b, %vb : f32
      scf.yield %na, %nb : f32, f32
    }
    %r:2 = func.call @qgpu_block_minmax(%mm#0, %mm#1) : (f32, f32) -> (f32, f32)
    %prm:3 = func.call @qgpu_dynq_params(%r#0, %r#1) : (f32, f32) -> (f32, i8, f32)
    %t0 = arith.cmpi eq, %tid, %c0 : i32
    %b0 = arith.cmpi eq, %bid, %c0 : i32
    %first = arith.andi %t0, %b0 : i1
    scf.if %first {
      llvm.store %prm#0, %gS : f32, !llvm.ptr<1>
      llvm.store %prm#1, %gZ : i8, !llvm.ptr<1>
    }
    %tidL = arith.extui %tid : i32 to i64
    %bidL = arith.extui %bid : i32 to i64
    %nblkL = arith.extui %nblk : i32 to i64
    %s0 = arith.muli %bidL, %c256L : i64
    %start = arith.addi %s0, %tidL : i64
    %stride = arith.muli %nblkL, %c256L : i64
    scf.for %i = %start to %n step %stride : i64 {
      %p = llvm.getelementptr %gX[%i] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
      %x = llvm.load %p : !llvm.ptr<1> -> f32
      %q = func.call @qgpu_dynq_quantize(%x, %prm#0, %prm#2) : (f32, f32, f32) -> i8
      %pq = llvm.getelementptr %gQ[%i] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
      llvm.store %q, %pq : i8, !llvm.ptr<1>
    }
    gpu.return
  }
}
}
