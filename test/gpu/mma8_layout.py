"""numpy implementation of the 8-bit tensor-core kernel's weight layout and
of qnn.quantized_matmul's numerics (docs/GPUBackend.md, "W8A8 kernel"),
written from the documentation, independently of the compiler's packer.
"""

import numpy as np

BM, BN, BK = 128, 128, 64


def padded(K, N):
    return -(-K // BK) * BK, -(-N // BN) * BN


def pack_weights(wq):
    """wq: [K, N] int8 (weight minus zero point). Bytes
    [Npad/128][Kpad/64][ks 2][wn 4][h 2][lane 32][t 2][reg 2][4]: byte j of
    register reg of n8 tile 2h + t holds wq[k, n] for
    k = 64 kt + 32 ks + 4 (lane % 4) + 16 reg + j,
    n = 128 nb + 32 wn + 8 (2h + t) + lane / 4."""
    K, N = wq.shape
    Kp, Np = padded(K, N)
    w = np.zeros((Kp, Np), np.int8)
    w[:K, :N] = wq
    # axes of w as [nb, wn, h, t, g][kt, ks, reg, q, j]
    v = w.reshape(Kp // 64, 2, 2, 4, 4, Np // 128, 4, 2, 2, 8)
    # k axes: kt, ks, reg, q, j ; n axes: nb, wn, h, t, g
    v = v.transpose(5, 0, 1, 6, 7, 9, 3, 8, 2, 4)
    # -> [nb][kt][ks][wn][h][g][q][t][reg][j]; lane = 4 g + q
    return np.ascontiguousarray(v).reshape(-1)


def pack_weights_wg(wq):
    """The warpgroup (wgmma, sm_90a) kernel's layout of wq [K, N] int8: per
    128-column block and 64-row k-tile, the shared-memory image of B,
    K-major without swizzle: bytes [Npad/128][Kpad/64][k / 16][n 128]
    [k % 16] (k, n relative to the tile)."""
    K, N = wq.shape
    Kp, Np = padded(K, N)
    w = np.zeros((Kp, Np), np.int8)
    w[:K, :N] = wq
    # w axes [kt, kc, j][nb, n]
    v = w.reshape(Kp // 64, 4, 16, Np // 128, 128)
    v = v.transpose(3, 0, 1, 4, 2)  # [nb][kt][kc][n][j]
    return np.ascontiguousarray(v).reshape(-1)


def pack_columns(wq, bias):
    K, N = wq.shape
    _, Np = padded(K, N)
    cols = np.zeros(2 * Np, np.int32)
    cols[:N] = wq.astype(np.int64).sum(axis=0).astype(np.int32)
    if bias is not None:
        cols[Np:Np + N] = bias
    return cols


def reference(a, za, sa, wq, sb, bias, act, out):
    """qnn.quantized_matmul in numpy: a [M, K] (uint8/int8), za/sa one or M
    entries, wq [K, N] int8, sb one or N entries, bias [N] int32 or None,
    act in none/relu/gelu/silu, out None (f32) or (so, zo, dtype)."""
    M = a.shape[0]
    acc = (a.astype(np.int64) - np.asarray(za, np.int64).reshape(-1, 1)) \
        @ wq.astype(np.int64)
    if bias is not None:
        acc = acc + bias.astype(np.int64)
    acc = acc.astype(np.int32)  # wraps like the kernel (never needed here)
    r = acc.astype(np.float32) * np.asarray(sa, np.float32).reshape(-1, 1)
    r = (r * np.asarray(sb, np.float32).reshape(1, -1)).astype(np.float32)
    if act == "relu":
        r = np.maximum(r, np.float32(0))
    elif act == "gelu":
        from math import erf
        e = np.vectorize(lambda x: erf(float(x) * 0.7071067811865476))(r)
        r = (np.float32(0.5) * r * (1 + e.astype(np.float32))).astype(
            np.float32)
    elif act == "silu":
        r = (r / (1 + np.exp(-r.astype(np.float64)))).astype(np.float32)
    if out is None:
        return r.reshape(M, -1)
    so, zo, dtype = out
    info = np.iinfo(dtype)
    q = np.round(r / np.float32(so)) + np.float32(zo)
    return np.clip(q, info.min, info.max).astype(dtype)
