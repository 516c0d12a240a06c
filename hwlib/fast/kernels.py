"""CPU helpers of the batched Q2 trainer (``hwlib.fast.batched``): numpy BLAS products and numba
kernels (the fused Adam and SGD updates, the dropout-mask filler, the first layer's fused backward),
each proven equal to the torch operations it replaces by the tests.
"""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import torch


def fast_path(t: torch.Tensor) -> bool:
    """CPU float32: products through numpy's BLAS and the numba kernels; elsewhere torch ops."""
    return t.device.type == "cpu" and t.dtype == torch.float32


def matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out = a @ b (X W_in and Xᵀ δ). CPU float32 goes through numpy's OpenBLAS: for these short, wide
    shapes (64 × 784 × K·w) 20–35 % faster than torch's MKL on our AMD EPYC (``benchmarks/q2_grid.py``)."""
    if fast_path(out):
        np.matmul(a.numpy(), b.numpy(), out=out.numpy())
    else:
        torch.mm(a, b, out=out)
    return out


@functools.cache
def kernels() -> SimpleNamespace:
    """The numba kernels, compiled on first use (cached on disk by numba)."""
    # Serial: the updates are memory-bound, and numba's thread pool would fight torch's OpenMP threads
    # (setting numba's thread count even resets torch's); parallelism comes from torch's products or from
    # units in separate processes. error_model="numpy" drops the division-by-zero check that would stop
    # LLVM from vectorizing.
    from numba import njit

    opts = dict(cache=True, error_model="numpy", boundscheck=False)

    @njit(**opts)
    def adam(p, g, m, v, step, wd, one_minus_b1, b2, one_minus_b2, bc2_sqrt, eps):
        # p, g, m, v: (R, K, n), axis 1 = the net; step and wd per net. torch.optim.Adam's order of
        # operations: denom = √v / √(1−β2^t) + ε;  p ← p + step · (m / denom).
        R, K, n = p.shape
        for r in range(R):
            for k in range(K):
                s, d = step[k], wd[k]
                pr, gr, mr, vr = p[r, k], g[r, k], m[r, k], v[r, k]
                for i in range(n):
                    pi = pr[i]
                    gi = gr[i] + d * pi
                    mi = mr[i] + one_minus_b1 * (gi - mr[i])
                    vi = vr[i] * b2 + one_minus_b2 * gi * gi
                    mr[i] = mi
                    vr[i] = vi
                    pr[i] = pi + s * (mi / (np.sqrt(vi) / bc2_sqrt + eps))

    @njit(**opts)
    def sgd(p, g, lr, wd):
        R, K, n = p.shape
        for r in range(R):
            for k in range(K):
                s, d = lr[k], wd[k]
                pr, gr = p[r, k], g[r, k]
                for i in range(n):
                    pi = pr[i]
                    pr[i] = pi + s * (gr[i] + d * pi)

    @njit(**opts)
    def dropout_mask(raw, thr, scale, out):
        # raw, out: (R, S, T); thr, scale: (R, T). out = scale where raw ≥ thr, else 0.
        R, S, T = out.shape
        zero = scale[0, 0] * 0  # of the mask's dtype
        for r in range(R):
            th, sc = thr[r], scale[r]
            for s in range(S):
                rw, o = raw[r, s], out[r, s]
                for t in range(T):
                    o[t] = sc[t] if rw[t] >= th[t] else zero

    @njit(**opts)
    def first_backward(dh, out, mask, masked, relu, da, db):
        # The first layer's ∂L/∂a (B, K·w) and ∂L/∂b_in (K·w,) from ∂L/∂h in the stacked layout
        # (K, B, w): da = dhᵀ ⊙ mask ⊙ φ'(a), φ' from out = φ(a) (relu: [out > 0]; tanh: 1 − out²);
        # db = Σ_b da. float32 only. Replaces a transpose copy, two products and a reduction.
        K, B, w = dh.shape
        zero, one = np.float32(0), np.float32(1)
        db[:] = zero
        for b in range(B):
            for k in range(K):
                lo = k * w
                d, o, m = dh[k, b], out[b, lo:lo + w], mask[b, lo:lo + w]
                r, acc = da[b, lo:lo + w], db[lo:lo + w]
                for j in range(w):
                    g = d[j] * m[j] if masked else d[j]
                    if relu:
                        g = g if o[j] > zero else zero
                    else:
                        g = g * (one - o[j] * o[j])
                    r[j] = g
                    acc[j] += g

    return SimpleNamespace(adam=adam, sgd=sgd, dropout_mask=dropout_mask, first_backward=first_backward)
