"""PyTorch versions of softmax / sparsemax / relumax, usable inside a network (last axis, batched).

``sparsemax`` and ``relumax`` are autograd Functions with explicit backward passes from the closed forms:
    sparsemax:  dz = 1_S * (g - mean_{j in S} g_j)                      (Martins & Astudillo 2016)
    relumax_b:  w = 1_S * (g - p.g) / D,  dz = w - e_k * sum(w)          (= J^T g, J from hwlib.models.maps)
``sparsemax_autograd`` / ``relumax_autograd`` build the same maps from differentiable primitives
(sort, cumsum, max, relu) so that the tests can compare the hand-written backward with torch.autograd.
"""
from __future__ import annotations

import torch

from hwlib.errors import ConfigError


def _check_positive(name: str, value: float, remedy: str) -> float:
    value = float(value)
    if not (value > 0 and value < float("inf")):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}; {remedy}")
    return value


def _check_T(T: float) -> float:
    return _check_positive("T", T, "the temperature scales z as z / T, use e.g. T=1.0.")


def _check_b(b: float) -> float:
    return _check_positive("b", b, "relumax keeps the entries within b of the maximum, use e.g. b=1.0.")


def sparsemax_threshold(z: torch.Tensor) -> torch.Tensor:
    """tau with sum relu(z - tau) = 1 on the last axis (sort-based, differentiable by autograd)."""
    zs, _ = torch.sort(z, dim=-1, descending=True)
    cums = zs.cumsum(dim=-1)
    ks = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    k = (1 + ks * zs > cums).sum(dim=-1, keepdim=True)
    return (cums.gather(-1, k - 1) - 1) / k.to(z.dtype)


class SparsemaxFunction(torch.autograd.Function):
    """sparsemax on the last axis with the paper's backward: dz = 1_S (g - mean_S g)."""

    @staticmethod
    def forward(ctx, z):
        p = torch.clamp(z - sparsemax_threshold(z), min=0)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, g):
        (p,) = ctx.saved_tensors
        s = (p > 0).to(g.dtype)
        v = (g * s).sum(dim=-1, keepdim=True) / s.sum(dim=-1, keepdim=True)
        return s * (g - v)


class RelumaxFunction(torch.autograd.Function):
    """relumax_b on the last axis; backward is J^T g with the closed-form Jacobian."""

    @staticmethod
    def forward(ctx, z, b: float):
        n = torch.relu(z - z.max(dim=-1, keepdim=True).values + b)
        d = n.sum(dim=-1, keepdim=True)
        p = n / d
        k = z.argmax(dim=-1, keepdim=True)
        ctx.save_for_backward(p, d, k)
        return p

    @staticmethod
    def backward(ctx, g):
        p, d, k = ctx.saved_tensors
        s = (p > 0).to(g.dtype)
        w = s * (g - (g * p).sum(dim=-1, keepdim=True)) / d
        dz = w.scatter_add(-1, k, -w.sum(dim=-1, keepdim=True))
        return dz, None


def softmax(z: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """softmax(z / T) on the last axis."""
    return torch.softmax(z / _check_T(T), dim=-1)


def sparsemax(z: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """sparsemax(z / T) on the last axis (explicit backward)."""
    return SparsemaxFunction.apply(z / _check_T(T))


def relumax(z: torch.Tensor, b: float, T: float = 1.0) -> torch.Tensor:
    """relumax_b(z / T) on the last axis (explicit backward)."""
    return RelumaxFunction.apply(z / _check_T(T), _check_b(b))


def sparsemax_autograd(z: torch.Tensor, T: float = 1.0) -> torch.Tensor:
    """sparsemax from primitives; its gradient is torch.autograd's, the reference for the tests."""
    s = z / _check_T(T)
    return torch.relu(s - sparsemax_threshold(s))


def relumax_autograd(z: torch.Tensor, b: float, T: float = 1.0) -> torch.Tensor:
    """relumax_b from primitives (max, relu, sum); gradient by torch.autograd."""
    s = z / _check_T(T)
    n = torch.relu(s - s.max(dim=-1, keepdim=True).values + _check_b(b))
    return n / n.sum(dim=-1, keepdim=True)


class Sparsemax(torch.nn.Module):
    """Layer form of :func:`sparsemax` (last axis)."""

    def __init__(self, T: float = 1.0):
        super().__init__()
        self.T = _check_T(T)

    def forward(self, z):
        return sparsemax(z, self.T)

    def extra_repr(self) -> str:
        return f"T={self.T}"


class Relumax(torch.nn.Module):
    """Layer form of :func:`relumax` (last axis)."""

    def __init__(self, b: float = 1.0, T: float = 1.0):
        super().__init__()
        self.b, self.T = _check_b(b), _check_T(T)

    def forward(self, z):
        return relumax(z, self.b, self.T)

    def extra_repr(self) -> str:
        return f"b={self.b}, T={self.T}"


def eps_log_loss(p: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Mean over the batch of -log((p_y + eps) / (1 + K eps)): finite even when p_y = 0."""
    eps = _check_positive("eps", eps, "the smoothing eps keeps the loss finite, use e.g. eps=1e-2.")
    py = p.gather(-1, y.long().unsqueeze(-1)).squeeze(-1)
    return -(torch.log(py + eps) - torch.log(torch.tensor(1 + p.shape[-1] * eps, dtype=p.dtype))).mean()
