"""``torch.optim.Adam`` / ``SGD`` (coupled weight decay) for the K nets of a ``BatchedFFN`` at once, each
with its own learning rate η_k and ℓ2 λ_k. Adam, in torch's order of operations:
g ← g + λ_k θ;  m ← m + (1−β1)(g − m);  v ← β2 v + (1−β2) g²;  θ ← θ − (η_k / (1−β1^t)) · m / (√v / √(1−β2^t) + ε).
On the CPU one fused numba kernel per step, elsewhere torch operations.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from hwlib.errors import ConfigError
from hwlib.fast.kernels import fast_path, kernels


def model_views(net, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """Each parameter-shaped tensor as (R, K, n): axis 1 indexes the net."""
    K = net.K
    return [t.reshape(t.shape[0] if j == 0 else 1, K, -1) for j, t in enumerate(tensors)]


class _BatchedOptimizer:
    def __init__(self, net, lr: Sequence[float], l2: Sequence[float], backend: str = "auto"):
        self.net = net
        self.lr = np.asarray(lr, dtype=np.float64).reshape(net.K)
        self.l2 = np.asarray(l2, dtype=np.float64).reshape(net.K)
        if not (np.isfinite(self.lr).all() and (self.lr > 0).all()):
            raise ConfigError(f"learning rates must be positive, got {self.lr.tolist()}")
        if not (np.isfinite(self.l2).all() and (self.l2 >= 0).all()):
            raise ConfigError(f"ℓ2 values must be ≥ 0, got {self.l2.tolist()}")
        device = net.params[0].device
        if backend == "auto":
            backend = "numba" if fast_path(net.params[0]) else "torch"
        if backend not in ("numba", "torch"):
            raise ConfigError(f"unknown optimizer backend {backend!r}; use 'auto', 'numba' or 'torch'")
        if backend == "numba" and device.type != "cpu":
            raise ConfigError("the numba optimizer backend runs on the CPU only; use backend='torch'")
        self.backend = backend
        self.views = model_views(net, net.params)
        dt = net.params[0].dtype
        self._wd_t = torch.tensor(self.l2, dtype=dt, device=device).view(1, net.K, 1)
        self._wd_np = self.l2.astype(np.float32)
        self._arrays_key: list[int] | None = None  # see _arrays()
        self._arrays_cache: list[tuple[np.ndarray, ...]] = []

    def zero_grad(self):
        for p in self.net.params:
            p.grad = None

    def _grads(self):
        return model_views(self.net, [p.grad for p in self.net.params])

    def _arrays(self) -> list[tuple[np.ndarray, ...]]:
        """numpy (R, K, n) views of each parameter, its gradient and state; rebuilt only when the
        gradients move to other tensors (``BatchedFFN.backprop`` reuses them)."""
        grads = [p.grad for p in self.net.params]
        key = [g.data_ptr() for g in grads]
        if self._arrays_key != key:
            state = [self.views, model_views(self.net, grads)] + [
                model_views(self.net, s) for s in self._state()]
            self._arrays_cache = [tuple(t.detach().numpy() for t in ts) for ts in zip(*state)]
            self._arrays_key = key
        return self._arrays_cache

    def _state(self) -> list[list[torch.Tensor]]:
        return []


class BatchedAdam(_BatchedOptimizer):
    """``torch.optim.Adam(lr=lr[k], weight_decay=l2[k])`` applied to every net k at once."""

    def __init__(self, net, lr, l2, betas=(0.9, 0.999), eps=1e-8, backend="auto"):
        super().__init__(net, lr, l2, backend)
        self.b1, self.b2, self.eps = betas[0], betas[1], eps
        self.t = 0
        self.m = [torch.zeros_like(p) for p in net.params]
        self.v = [torch.zeros_like(p) for p in net.params]
        self.mv, self.vv = model_views(net, self.m), model_views(net, self.v)

    def _state(self):
        return [self.m, self.v]

    @torch.no_grad()
    def step(self):
        self.t += 1
        bc1, bc2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        step = -self.lr / bc1
        bc2_sqrt = math.sqrt(bc2)
        if self.backend == "numba":
            adam = kernels().adam
            s32 = step.astype(np.float32)
            args = (np.float32(1 - self.b1), np.float32(self.b2), np.float32(1 - self.b2),
                    np.float32(bc2_sqrt), np.float32(self.eps))
            for p, g, m, v in self._arrays():
                adam(p, g, m, v, s32, self._wd_np, *args)
            return
        st = torch.tensor(step, dtype=self.m[0].dtype, device=self.m[0].device).view(1, self.net.K, 1)
        for p, g, m, v in zip(self.views, self._grads(), self.mv, self.vv):
            g = g + self._wd_t * p
            m.lerp_(g, 1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.add_(st * m / (v.sqrt() / bc2_sqrt + self.eps))


class BatchedSGD(_BatchedOptimizer):
    """``torch.optim.SGD(lr=lr[k], weight_decay=l2[k])`` (no momentum) for every net k at once."""

    @torch.no_grad()
    def step(self):
        if self.backend == "numba":
            sgd = kernels().sgd
            lr = (-self.lr).astype(np.float32)
            for p, g in self._arrays():
                sgd(p, g, lr, self._wd_np)
            return
        lr = torch.tensor(-self.lr, dtype=self.net.params[0].dtype,
                          device=self.net.params[0].device).view(1, self.net.K, 1)
        for p, g in zip(self.views, self._grads()):
            p.add_(lr * (g + self._wd_t * p))

