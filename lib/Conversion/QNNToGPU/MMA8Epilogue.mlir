// The epilogue of QuantOpt's 8-bit tensor-core kernels (MMA8Kernel.mlir,
// MMA8WGKernel.mlir; docs/GPUBackend.md, "W8A8 and FP8 kernel"), a helper
// both kernels call once their accumulators are in shared memory (%smem,
// rows of 136 words, a 128 x 128 tile at (%m0, %n0)); the pass parses it
// into the kernel's module and inlines it (KernelTemplates.cpp):
//   int8:  acc = raw - za[m] * colsum[n] + bias[n]        (i32, exact)
//          r = (float(acc) * sa[m]) * sb[n]
//   fp8:   r = ((raw * sa[m]) * sb[n]) + fbias[n]
//   r = activation(r)                    (none, relu, gelu (erf), silu)
//   out = r (f32), or saturate(round_half_even(r / so) + zo) (int8/uint8),
//   or (fp8 kernel) e4m3(r / so) rounded to nearest even and saturated.
//
// Written, and verified at build time, for the int8 kernels with signed
// activations. The pass makes each variant by rewriting the parsed IR
// (KernelTemplates.cpp): the ops tagged qgpu.acc read accumulators of the
// variant's type (i32, or f32 for fp8); the constant tagged
// qgpu.params = {value = "fp8"} is 1 for fp8; and calls of the helpers
// below go to the variant's: how an A zero point byte widens
// (@qgpu_mma8_widen_s8 / _u8), the epilogue's start (@qgpu_mma8_to_f32_int8
// / _fp8: %r from the raw accumulator %rv) and the quantized output byte
// of %dv = r / so (@qgpu_mma8_quantize_int8 / _fp8).
// Loops marked qgpu.unroll are fully unrolled by the pass.
module {
gpu.module @quantopt_kernels {
  // How an A zero point byte widens: signed or unsigned activations.
  func.func private @qgpu_mma8_widen_s8(%b: i8) -> i32 {
    %w = arith.extsi %b : i8 to i32
    return %w : i32
  }
  func.func private @qgpu_mma8_widen_u8(%b: i8) -> i32 {
    %w = arith.extui %b : i8 to i32
    return %w : i32
  }
  // The epilogue's start. int8: acc = raw - za * colsum + bias (i32,
  // wrapping: exact mod 2^32), then (float(acc) * sa) * sb as the op's
  // semantics.
  func.func private @qgpu_mma8_to_f32_int8(%rv: i32, %za: i32, %cs: i32, %bv: i32, %sa: f32, %sb: f32) -> f32 {
    %cza = arith.muli %za, %cs : i32
    %ai = arith.subi %rv, %cza : i32
    %ab = arith.addi %ai, %bv : i32
    %af = arith.sitofp %ab : i32 to f32
    %r1 = arith.mulf %af, %sa : f32
    %r = arith.mulf %r1, %sb : f32
    return %r : f32
  }
  // fp8: r = ((raw * sa) * sb) + fbias (the bias an f32 in the i32
  // parameter slot).
  func.func private @qgpu_mma8_to_f32_fp8(%rv: f32, %za: i32, %cs: i32, %bv: i32, %sa: f32, %sb: f32) -> f32 {
    %r1 = arith.mulf %rv, %sa : f32
    %r2 = arith.mulf %r1, %sb : f32
    %bf = arith.bitcast %bv : i32 to f32
    %r = arith.addf %r2, %bf : f32
    return %r : f32
  }
  // The quantized output byte of %dv = r / so: for the int8 kernels
  // saturate(round_half_even(%dv) + zo) to int8/uint8 ([lo, hi]); for the
  // fp8 kernel e4m3(%dv), rounded to nearest even and saturated to +-448
  // (cvt.rn.satfinite, sm_89+; NaN stays NaN, as the canonical 0x7F
  // whatever its sign), as ONNX QuantizeLinear with saturate.
  func.func private @qgpu_mma8_quantize_int8(%dv: f32, %zo: f32, %lo: f32, %hi: f32) -> i8 {
    %rd = math.roundeven %dv : f32
    %pl = arith.addf %rd, %zo : f32
    %c1f = arith.maximumf %pl, %lo : f32
    %c2f = arith.minimumf %c1f, %hi : f32
    %qi = arith.fptosi %c2f : f32 to i32
    %qb = arith.trunci %qi : i32 to i8
    return %qb : i8
  }
  func.func private @qgpu_mma8_quantize_fp8(%dv: f32, %zo: f32, %lo: f32, %hi: f32) -> i8 {
    %fz = arith.constant 0.0 : f32
    %qh = llvm.inline_asm "cvt.rn.satfinite.e4m3x2.f32 $0, $1, $2;", "=h,f,f" %fz, %dv : (f32, f32) -> i16
    %qb = arith.trunci %qh : i16 to i8
    return %qb : i8
  }

  func.func private @qgpu_mma8_epilogue(%smem: !llvm.ptr<3>, %tid: i32, %m0: i32, %n0: i32,
      %pP: i64, %pSA: i64, %pZA: i64, %pSB: i64, %pSO: i64, %pZO: i64, %pC: i64,
      %M: i32, %N: i32, %Npad: i32, %aPerRow: i32, %bPerCol: i32, %act: i32,
      %outType: i32) {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c3 = arith.constant 3 : i32
    %c4 = arith.constant 4 : i32
    %c5 = arith.constant 5 : i32
    %c16 = arith.constant 16 : i32
    %c31 = arith.constant 31 : i32
    %c256 = arith.constant 256 : i32
    %c544 = arith.constant 544 : i32
    %gC0 = llvm.inttoptr %pC : i64 to !llvm.ptr
    %gC = llvm.addrspacecast %gC0 : !llvm.ptr to !llvm.ptr<1>
    %gP0 = llvm.inttoptr %pP : i64 to !llvm.ptr
    %gP = llvm.addrspacecast %gP0 : !llvm.ptr to !llvm.ptr<1>
    %gSA0 = llvm.inttoptr %pSA : i64 to !llvm.ptr
    %gSA = llvm.addrspacecast %gSA0 : !llvm.ptr to !llvm.ptr<1>
    %gZA0 = llvm.inttoptr %pZA : i64 to !llvm.ptr
    %gZA = llvm.addrspacecast %gZA0 : !llvm.ptr to !llvm.ptr<1>
    %gSB0 = llvm.inttoptr %pSB : i64 to !llvm.ptr
    %gSB = llvm.addrspacecast %gSB0 : !llvm.ptr to !llvm.ptr<1>
    %gSO0 = llvm.inttoptr %pSO : i64 to !llvm.ptr
    %gSO = llvm.addrspacecast %gSO0 : !llvm.ptr to !llvm.ptr<1>
    %gZO0 = llvm.inttoptr %pZO : i64 to !llvm.ptr
    %gZO = llvm.addrspacecast %gZO0 : !llvm.ptr to !llvm.ptr<1>
    %perRow = arith.cmpi ne, %aPerRow, %c0 : i32
    %perCol = arith.cmpi ne, %bPerCol, %c0 : i32
    %quantOut = arith.cmpi ne, %outType, %c0 : i32
    %unsignedOut = arith.cmpi eq, %outType, %c2 : i32
    %true = arith.constant true
    %isFP8 = arith.constant {qgpu.params = {value = "fp8"}} 0 : i32
    %fp8 = arith.cmpi ne, %isFP8, %c0 : i32
    %NL = arith.extui %N : i32 to i64
    %NpadL = arith.extui %Npad : i32 to i64
    // Output requantization parameters (per tensor).
    %so = scf.if %quantOut -> (f32) {
      %v = llvm.load %gSO : !llvm.ptr<1> -> f32
      scf.yield %v : f32
    } else {
      %one = arith.constant 1.0 : f32
      scf.yield %one : f32
    }
    // An fp8 output (outType 3) has no zero point to read.
    %isFp8Out = arith.cmpi eq, %outType, %c3 : i32
    %notFp8Out = arith.xori %isFp8Out, %true : i1
    %intOut = arith.andi %quantOut, %notFp8Out : i1
    %zo = scf.if %intOut -> (f32) {
      %zb = llvm.load %gZO : !llvm.ptr<1> -> i8
      %zs = arith.extsi %zb : i8 to i32
      %zu = arith.extui %zb : i8 to i32
      %zi = arith.select %unsignedOut, %zu, %zs : i32
      %zf = arith.sitofp %zi : i32 to f32
      scf.yield %zf : f32
    } else {
      %zf0 = arith.constant 0.0 : f32
      scf.yield %zf0 : f32
    }
    %qminS = arith.constant -128.0 : f32
    %qmaxS = arith.constant 127.0 : f32
    %qminU = arith.constant 0.0 : f32
    %qmaxU = arith.constant 255.0 : f32
    %lo = arith.select %unsignedOut, %qminU, %qminS : f32
    %hi = arith.select %unsignedOut, %qmaxU, %qmaxS : f32

    // Thread t finishes quads e = t + 256 i: row e / 32, columns
    // 4 (e % 32) .. +3.
    scf.for %i = %c0 to %c16 step %c1 : i32 {
      %i256 = arith.muli %i, %c256 : i32
      %e = arith.addi %tid, %i256 : i32
      %row = arith.shrui %e, %c5 : i32
      %cq = arith.andi %e, %c31 : i32
      %col = arith.muli %cq, %c4 : i32
      %grow = arith.addi %m0, %row : i32
      %gcol = arith.addi %n0, %col : i32
      %rowOk = arith.cmpi slt, %grow, %M : i32
      %colOk = arith.cmpi slt, %gcol, %N : i32
      %ok = arith.andi %rowOk, %colOk : i1
      scf.if %ok {
        %rowW = arith.muli %row, %c544 : i32
        %colW = arith.muli %col, %c4 : i32
        %o = arith.addi %rowW, %colW : i32
        %p = llvm.getelementptr %smem[%o] : (!llvm.ptr<3>, i32) -> !llvm.ptr<3>, i8
        %raw = llvm.load %p {alignment = 16 : i64, qgpu.acc} : !llvm.ptr<3> -> vector<4xi32>
        // Row parameters.
        %ri = arith.select %perRow, %grow, %c0 : i32
        %psa = llvm.getelementptr %gSA[%ri] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
        %sa = llvm.load %psa : !llvm.ptr<1> -> f32
        // Column parameters: [Npad] colsum, [Npad] bias (i32, or f32 bias
        // for fp8), column scales [Npad] or [1].
        %pcs = llvm.getelementptr %gP[%gcol] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
        %gcolB = arith.addi %gcol, %Npad : i32
        %pbs = llvm.getelementptr %gP[%gcolB] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i32
        %colsum = llvm.load %pcs {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %biasv = llvm.load %pbs {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xi32>
        %za = scf.if %fp8 -> (i32) {
          scf.yield %c0 : i32
        } else {
          %pza = llvm.getelementptr %gZA[%ri] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, i8
          %zab = llvm.load %pza : !llvm.ptr<1> -> i8
          %zai = func.call @qgpu_mma8_widen_s8(%zab) : (i8) -> i32
          scf.yield %zai : i32
        }
        %growL = arith.extui %grow : i32 to i64
        %rowOff = arith.muli %growL, %NL : i64
        scf.for %j = %c0 to %c4 step %c1 : i32 {
          %cj = arith.addi %gcol, %j : i32
          %inN = arith.cmpi slt, %cj, %N : i32
          scf.if %inN {
            %rv = llvm.extractelement %raw[%j : i32] {qgpu.acc} : vector<4xi32>
            %cs = llvm.extractelement %colsum[%j : i32] : vector<4xi32>
            %bv = llvm.extractelement %biasv[%j : i32] : vector<4xi32>
            %bi = arith.select %perCol, %cj, %c0 : i32
            %psb = llvm.getelementptr %gSB[%bi] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
            %sb = llvm.load %psb : !llvm.ptr<1> -> f32
            %r = func.call @qgpu_mma8_to_f32_int8(%rv, %za, %cs, %bv, %sa, %sb)
                : (i32, i32, i32, i32, f32, f32) -> f32
            %isRelu = arith.cmpi eq, %act, %c1 : i32
            %isGelu = arith.cmpi eq, %act, %c2 : i32
            %isSilu = arith.cmpi eq, %act, %c3 : i32
            %ra = scf.if %isRelu -> (f32) {
              %z = arith.constant 0.0 : f32
              %m = arith.maximumf %r, %z : f32
              scf.yield %m : f32
            } else {
              %rg = scf.if %isGelu -> (f32) {
                %h = arith.constant 0.5 : f32
                %one = arith.constant 1.0 : f32
                %rs2 = arith.constant 0.707106769 : f32
                %xs = arith.mulf %r, %rs2 : f32
                %er = math.erf %xs : f32
                %hx = arith.mulf %h, %r : f32
                %op = arith.addf %one, %er : f32
                %gv = arith.mulf %hx, %op : f32
                scf.yield %gv : f32
              } else {
                %rsl = scf.if %isSilu -> (f32) {
                  %one = arith.constant 1.0 : f32
                  %nr = arith.negf %r : f32
                  %ex = math.exp %nr : f32
                  %den = arith.addf %one, %ex : f32
                  %sg = arith.divf %one, %den : f32
                  %sv = arith.mulf %r, %sg : f32
                  scf.yield %sv : f32
                } else {
                  scf.yield %r : f32
                }
                scf.yield %rsl : f32
              }
              scf.yield %rg : f32
            }
            %cjL = arith.extui %cj : i32 to i64
            %off = arith.addi %rowOff, %cjL : i64
            scf.if %quantOut {
              %dv = arith.divf %ra, %so : f32
              %qb = func.call @qgpu_mma8_quantize_int8(%dv, %zo, %lo, %hi)
                  : (f32, f32, f32, f32) -> i8
              %pq = llvm.getelementptr %gC[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i8
              llvm.store %qb, %pq : i8, !llvm.ptr<1>
            } else {
              %pf = llvm.getelementptr %gC[%off] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
              llvm.store %ra, %pf : f32, !llvm.ptr<1>
            }
          }
        } {qgpu.unroll}
      }
    }
    return
  }
}
}
