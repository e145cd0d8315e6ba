"""The packed layout of QuantOpt's W4A16 GPU kernel, written from its
specification (docs/GPUBackend.md, "W4A16 kernel") in numpy, independently of
the compiler's C++ packer. Used to drive the kernel directly in the GPU tests
and benchmarks; the end-to-end tests go through the compiler's own packer.

Kernel tile constants: 64 columns per block (4 warps x 16), 128 k per stage.
"""

import numpy as np

BN = 64
BK = 128


def padded(k, n):
    return (k + BK - 1) // BK * BK, (n + BN - 1) // BN * BN


def pack_weights(u):
    """u: [K, N] unsigned nibbles (0..15). Returns uint32 words
    [Npad/64][Kpad/128][8 steps][32 lanes][4 groups]: for column group j
    (16 columns) of block nb and k16 step t of k-tile kt, lane l (q = l % 4,
    r = l / 4) holds, from bit 0 up in 4-bit fields, the nibbles at
    (k, n) = (2q, r), (2q+8, r), (2q, r+8), (2q+8, r+8) in bits 0..15 and
    the same with k + 1 in bits 16..31 (k relative to 16t, n to 16j)."""
    K, N = u.shape
    kp, np_ = padded(K, N)
    U = np.zeros((kp, np_), np.uint32)
    U[:K, :N] = u
    T, J = kp // 16, np_ // 16
    V = U.reshape(T, 16, J, 16)  # [t, kk, j, nn]
    lane = np.arange(32)
    q, r = lane % 4, lane // 4
    words = np.zeros((J, T, 32), np.uint32)
    fields = [(0, 0, 0), (4, 8, 0), (8, 0, 8), (12, 8, 8)]
    for shift, dk, dn in fields:
        lo = V[:, 2 * q + dk, :, r + dn]  # [32, T, J] (advanced index first)
        hi = V[:, 2 * q + dk + 1, :, r + dn]
        lo = np.transpose(lo, (2, 1, 0))  # -> [J, T, 32]... see below
        hi = np.transpose(hi, (2, 1, 0))
        words |= (lo << shift) | (hi << (shift + 16))
    nb, nkt = np_ // BN, kp // BK
    return np.ascontiguousarray(
        words.reshape(nb, 4, nkt, 8, 32).transpose(0, 2, 3, 4, 1))


def to_bf16_bits(x):
    """float32 -> bfloat16 bits (round to nearest even), as uint16."""
    b = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def from_bf16_bits(bits):
    """bfloat16 bits (uint16) -> float32."""
    return (np.asarray(bits, np.uint16).astype(np.uint32) << 16).view(
        np.float32)


def round_to(x, bf16):
    """x rounded to f16 or bf16, as float32."""
    if bf16:
        return from_bf16_bits(to_bf16_bits(x))
    return np.asarray(x, np.float32).astype(np.float16).astype(np.float32)


def pack_scales(scales, zero, group, bf16=False):
    """scales: [G, N] float, zero: [G, N] (the value subtracted from the
    unsigned nibble). Returns uint32 words [Npad/64][Kpad/group][8 r][8 i]
    for column 8i + r of the block: the f16 scale in bits 0..15 and the f16
    (1024 + zero) in bits 16..31 (bf16: bf16 scale and bf16 (128 + zero));
    padding has scale 0."""
    G, N = scales.shape
    kp, np_ = padded(G * group, N)
    Gp = kp // group
    base = 128.0 if bf16 else 1024.0
    s = np.zeros((Gp, np_), np.float32)
    z = np.full((Gp, np_), base, np.float32)
    s[:G, :N] = scales
    z[:G, :N] = base + zero
    if bf16:
        sb, zb = to_bf16_bits(s), to_bf16_bits(z)
    else:
        sb = s.astype(np.float16).view(np.uint16)
        zb = z.astype(np.float16).view(np.uint16)
    w = sb.astype(np.uint32) | (zb.astype(np.uint32) << 16)
    return np.ascontiguousarray(
        w.reshape(Gp, np_ // BN, 8, 8).transpose(1, 0, 3, 2))


def reference(a, u, scales, zero, group, bias=None, bf16=False):
    """float64 reference of h(a) @ h((u - zero) * h(scale)) + bias, h the
    rounding to f16 (or bf16); `a` is float32."""
    K, N = u.shape
    s = np.repeat(round_to(scales, bf16), group, axis=0)[:K]
    z = np.repeat(zero, group, axis=0)[:K]
    w = round_to((u.astype(np.float32) - z) * s, bf16)
    out = round_to(a, bf16).astype(np.float64) @ w.astype(np.float64)
    if bias is not None:
        out = out + bias
    return out
