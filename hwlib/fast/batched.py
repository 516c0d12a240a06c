"""K feed-forward nets of one shape trained side by side as one model (the Q2 grid): ``fit_batched``
reproduces ``hwlib.models.ffn.fit`` run on each configuration alone (``tests/test_q2_batched.py``).

The nets of a unit (``hwlib.experiments.q2.batch_units``: one shape and seed; lr, dropout and ℓ2 free)
start from the same weights and see the same mini-batches, so they share every step: the first layers
form one matrix ``W_in`` (784, K·w), one product per batch instead of K; the later ones are stacked
(K, ·, ·) tensors for ``torch.baddbmm``. The loss Σ_k mean-CE_k has net k's own gradient in net k's
weights; ``backprop`` writes it by hand: ∂L/∂z = (softmax(z) − onehot(y))/B, ∂L/∂W = hᵀ δ,
δ ← (δ Wᵀ) ⊙ φ'(a) ⊙ mask; ``loss`` keeps the autograd route for the tests.

Equal to training alone: the initial weights and mini-batch order bit for bit; with dropout 0 every
per-epoch number up to rounding (~1e-5). Dropout masks come from numpy's PCG64 seeded with the run's
seed, not from ``nn.Dropout``'s stream: those runs are statistically, not numerically, the same.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch
from torch.nn import functional as F

from hwlib import training
from hwlib.constants import N_CLASSES
from hwlib.errors import ConfigError
from hwlib.fast.kernels import fast_path, kernels, matmul
from hwlib.fast.optim import BatchedAdam, BatchedSGD, model_views
from hwlib.models.ffn import ACTIVATIONS, FFN, FFNConfig, as_tensors, default_device, permutations
from hwlib.training import HISTORY_KEYS, FitResult

_ACT = {"relu": torch.relu, "tanh": torch.tanh}
_ACT_INPLACE = {"relu": torch.relu_, "tanh": torch.tanh_}
SHARED_FIELDS = ("width", "depth", "activation", "optimizer", "epochs", "batch_size", "seed")


class BatchedFFN:
    """K nets of one width, depth and activation, with per-net dropout rates ``p`` (K,). ``params`` (leaf
    tensors): ``w_in`` (D, K·w), whose columns k·w:(k+1)·w are net k's first ``nn.Linear.weight.T``,
    ``b_in`` (K·w,), per further hidden layer ``w`` (K, w, w) and ``b`` (K, 1, w), then (K, w, C), (K, 1, C)."""

    def __init__(self, params: list[torch.Tensor], K: int, width: int, activation: str, p):
        if activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        self.params, self.K, self.width, self.activation = params, K, width, activation
        self.depth = (len(params) - 2) // 2
        self.p = torch.as_tensor(p, dtype=params[0].dtype, device=params[0].device).reshape(K)
        if (self.p < 0).any() or (self.p >= 1).any():
            raise ConfigError(f"dropout rates must lie in [0, 1), got {self.p.tolist()}")
        on = torch.nonzero(self.p > 0).flatten().tolist()
        self._drop = (on[0], on[-1] + 1) if on else None  # range of nets that drop units
        if on:  # per-unit dropout rate and survivor scale 1/(1 − p) of the dropping nets, (R, T) for
            # the two layouts: first layer (1, columns of nets k0..k1), later layers (k1 − k0, w)
            pd = self.p[on[0]:on[-1] + 1]
            sc = 1.0 / (1.0 - pd)
            self._drop_rates = {True: (pd.repeat_interleave(width)[None], sc.repeat_interleave(width)[None]),
                                False: (pd[:, None].expand(-1, width).contiguous(),
                                        sc[:, None].expand(-1, width).contiguous())}
            self._drop_np = {k: (np.floor(q.double().cpu().numpy() * 2.0 ** 16).astype(np.uint16),
                                 s.cpu().numpy()) for k, (q, s) in self._drop_rates.items()}
        self.rng = np.random.default_rng(0)  # dropout masks; see reseed()
        self._grads = [torch.empty_like(t) for t in params]  # backprop writes here every step
        self._scratch: dict[tuple, torch.Tensor] = {}

    @classmethod
    def replicate(cls, model: FFN, p: Sequence[float]) -> "BatchedFFN":
        """K = len(p) copies of ``model``'s weights (same start for every net)."""
        return cls.stack([model] * len(p), p)

    @classmethod
    def stack(cls, models: Sequence[FFN], p: Sequence[float] | None = None) -> "BatchedFFN":
        """Stack nets of one shape (their weights are copied)."""
        m0 = models[0]
        if any((m.width, m.depth, m.activation, m.n_features) != (m0.width, m0.depth, m0.activation,
                                                                  m0.n_features) for m in models):
            raise ConfigError("stacked nets must share width, depth, activation and input size")
        p = [m.dropout for m in models] if p is None else list(p)
        with torch.no_grad():
            lins = [m.linears() for m in models]
            params = [torch.cat([l[0].weight.T for l in lins], 1).contiguous(),
                      torch.cat([l[0].bias for l in lins]).contiguous()]
            for j in range(1, len(lins[0])):
                params.append(torch.stack([l[j].weight.T for l in lins]).contiguous())
                params.append(torch.stack([l[j].bias[None, :] for l in lins]).contiguous())
        params = [t.detach().clone().requires_grad_(True) for t in params]
        return cls(params, len(models), m0.width, m0.activation, p)

    def unstack(self, k: int, params: list[torch.Tensor] | None = None) -> FFN:
        """Net k as an ordinary ``FFN`` (weights copied; from ``params`` if given, e.g. a checkpoint)."""
        P = self.params if params is None else params
        D, C, w = P[0].shape[0], P[-1].shape[-1], self.width
        model = FFN(D, C, w, self.depth, self.activation, float(self.p[k]))
        with torch.no_grad():
            lins = model.linears()
            lins[0].weight.copy_(P[0][:, k * w:(k + 1) * w].T)
            lins[0].bias.copy_(P[1][k * w:(k + 1) * w])
            for j in range(1, len(lins)):
                lins[j].weight.copy_(P[2 * j][k].T)
                lins[j].bias.copy_(P[2 * j + 1][k, 0])
        return model.to(P[0].device)

    def _dropout(self, h: torch.Tensor, first: bool) -> torch.Tensor:
        m = self._mask(first, h)
        return h if m is None else h * m

    def forward(self, X: torch.Tensor, train: bool = False, params: list[torch.Tensor] | None = None):
        """Logits (K, B, C) of all nets on the same inputs X (B, D)."""
        P = self.params if params is None else params
        act = _ACT[self.activation]
        drop = train and self._drop is not None
        B = X.shape[0]
        if torch.is_grad_enabled() and P[0].requires_grad:
            h = act(torch.addmm(P[1], X, P[0]))  # (B, K·w)
        else:  # no graph needed: the fast product, as in backprop, and the activation in place
            a = matmul(X, P[0].detach(), X.new_empty(B, P[0].shape[1])).add_(P[1].detach())
            h = _ACT_INPLACE[self.activation](a)
        if drop:
            h = self._dropout(h, True)
        h = h.view(B, self.K, self.width).transpose(0, 1)  # (K, B, w)
        for j in range(1, self.depth):
            h = act(torch.baddbmm(P[2 * j + 1], h, P[2 * j]))
            if drop:
                h = self._dropout(h, False)
        return torch.baddbmm(P[-1], h, P[-2])

    __call__ = forward

    def loss(self, X: torch.Tensor, y: torch.Tensor, train: bool = True) -> torch.Tensor:
        """Σ_k mean cross-entropy of net k on (X, y): its gradient in net k's weights is net k's own."""
        z = self.forward(X, train)
        return F.cross_entropy(z.reshape(-1, z.shape[-1]), y.repeat(self.K), reduction="sum") / len(y)

    def reseed(self, seed: int) -> None:
        """Restart the dropout stream (numpy PCG64 on the CPU, else torch's global generator)."""
        self.rng = np.random.default_rng(seed)
        if self.params[0].device.type != "cpu":
            torch.manual_seed(seed)

    def _mask(self, first: bool, h: torch.Tensor, slot: int | None = None) -> torch.Tensor | None:
        """The inverted-dropout multiplier for h (None when no net drops): 0 with probability p_k, else
        1/(1 − p_k), on net k's units; ``first``: h is (B, K·w), else (K, B, w). With ``slot`` (the layer)
        it lives in a buffer kept between steps, 1 outside the range of dropping nets. On the CPU a unit
        survives iff its 16 bits of PCG64 read ≥ ⌊p·2¹⁶⌋ (one numba pass: 0.2 ms per step at width 256,
        against 1.15 ms for torch.rand and a product); elsewhere torch.rand."""
        if self._drop is None:
            return None
        k0, k1 = self._drop
        mask = torch.ones_like(h) if slot is None else self._buffer(f"mask{slot}", tuple(h.shape), fill=1.0)
        part = mask[:, k0 * self.width:k1 * self.width][None] if first else mask[k0:k1]  # (R, S, T)
        if h.device.type == "cpu":
            self._fill_mask_cpu(part, first)
        else:
            self._fill_mask_torch(part, first)
        return mask

    def _fill_mask_cpu(self, part: torch.Tensor, first: bool) -> None:
        n = part.numel()
        raw = self.rng.bit_generator.random_raw((n + 3) // 4).view(np.uint16)[:n]
        thr, scale = self._drop_np[first]
        kernels().dropout_mask(raw.reshape(part.shape), thr, scale, part.numpy())

    def _fill_mask_torch(self, part: torch.Tensor, first: bool) -> None:
        q, scale = self._drop_rates[first]
        part.copy_((torch.rand(part.shape, dtype=part.dtype, device=part.device) >= q[:, None]) * scale[:, None])

    def _act_backward(self, dh: torch.Tensor, out: torch.Tensor, mask) -> torch.Tensor:
        """∂L/∂a from ∂L/∂h, where h = φ(a)·mask and out = φ(a)."""
        if mask is not None:
            dh = dh * mask
        if self.activation == "relu":
            return torch.ops.aten.threshold_backward(dh, out, 0)
        return torch.ops.aten.tanh_backward(dh, out)

    @torch.no_grad()
    def backprop(self, X: torch.Tensor, y: torch.Tensor) -> None:
        """Set each ``.grad`` to the gradient of ``loss(X, y)`` (fresh dropout masks), by hand: a forward
        pass keeping φ(a) and the masks, then δ backwards. ``y``: class indices (B,) or one-hot (B, C)."""
        P, K, w, B = self.params, self.K, self.width, X.shape[0]
        act = _ACT[self.activation]
        G = self._grads
        a1 = matmul(X, P[0].detach(), self._buffer("a1", (B, K * w)))
        out1 = _ACT_INPLACE[self.activation](a1.add_(P[1]))  # φ(X W_in + b_in), (B, K·w)
        m1 = self._mask(True, out1, 0)
        h = out1 if m1 is None else torch.mul(out1, m1, out=self._buffer("h1", out1.shape))
        h = h.view(B, K, w).transpose(0, 1)  # (K, B, w)
        saved = []  # (input h, φ(a), mask) of each stacked layer
        for j in range(1, self.depth):
            out = act(torch.baddbmm(P[2 * j + 1], h, P[2 * j]))
            m = self._mask(False, out, j)
            saved.append((h, out, m))
            h = out if m is None else out * m
        z = torch.baddbmm(P[-1], h, P[-2])  # (K, B, C)
        dz = torch.softmax(z, -1)
        onehot = y if y.dim() == 2 else F.one_hot(y, z.shape[-1]).to(dz.dtype)
        dz.sub_(onehot).mul_(1.0 / B)  # ∂L/∂z of Σ_k mean-CE_k
        torch.bmm(h.transpose(1, 2), dz, out=G[-2])
        torch.sum(dz, 1, keepdim=True, out=G[-1])
        dh = torch.bmm(dz, P[-2].transpose(1, 2))
        for j in range(self.depth - 1, 0, -1):
            h_in, out, m = saved[j - 1]
            da = self._act_backward(dh, out, m)
            torch.bmm(h_in.transpose(1, 2), da, out=G[2 * j])
            torch.sum(da, 1, keepdim=True, out=G[2 * j + 1])
            dh = torch.bmm(da, P[2 * j].transpose(1, 2))
        if fast_path(out1):  # one numba pass
            da = self._buffer("da1", out1.shape)
            kernels().first_backward(dh.numpy(), out1.numpy(), (out1 if m1 is None else m1).numpy(), m1 is not None,
                         self.activation == "relu", da.numpy(), G[1].numpy())
        else:
            da = self._act_backward(dh.transpose(0, 1).reshape(B, K * w), out1, m1)
            torch.sum(da, 0, out=G[1])
        matmul(X.t(), da, G[0])
        for p, g in zip(P, G):
            p.grad = g

    def _buffer(self, name: str, shape: tuple, fill: float | None = None) -> torch.Tensor:
        """A scratch tensor kept between steps, one per name and shape (``fill``: its value when made)."""
        t = self._scratch.get((name, shape))
        if t is None:
            t = self._scratch[(name, shape)] = self.params[0].new_empty(shape)
            if fill is not None:
                t.fill_(fill)
        return t

    @torch.no_grad()
    def evaluate(self, X: torch.Tensor, y: torch.Tensor, params=None, chunk: int | None = None):
        """Per-net (mean cross-entropy, accuracy) in eval mode, float64 arrays (K,); rows go in
        chunks of about 2^20 first-layer activations (4 MB, cache-sized)."""
        if len(y) == 0:
            raise ConfigError("cannot evaluate on an empty split")
        P = [p.detach() for p in (self.params if params is None else params)]
        K = self.K
        chunk = chunk or max(256, (1 << 20) // (K * self.width))
        loss = torch.zeros(K, dtype=torch.float64, device=X.device)
        correct = torch.zeros(K, dtype=torch.int64, device=X.device)
        for i in range(0, len(y), chunk):
            yc = y[i:i + chunk]
            z = self.forward(X[i:i + chunk], False, P)  # (K, n, C)
            ce = F.cross_entropy(z.reshape(-1, z.shape[-1]), yc.repeat(K), reduction="none")
            loss += ce.view(K, -1).sum(1, dtype=torch.float64)
            correct += (z.argmax(-1) == yc).sum(1)
        n = len(y)
        return (loss / n).cpu().numpy(), (correct.double() / n).cpu().numpy()


def check_batchable(configs: Sequence[FFNConfig]) -> None:
    """Configurations can share a batched model iff they differ only in lr, dropout and ℓ2."""
    if not configs:
        raise ConfigError("fit_batched needs at least one configuration")
    c0 = configs[0]
    for c in configs[1:]:
        diff = [f for f in SHARED_FIELDS if getattr(c, f) != getattr(c0, f)]
        if diff:
            raise ConfigError(f"configurations trained together must share {', '.join(SHARED_FIELDS)}; "
                              f"{c} differs from {c0} in {', '.join(diff)}")


def train_epoch(net: BatchedFFN, opt: BatchedAdam | BatchedSGD, X: torch.Tensor, Y: torch.Tensor,
                perm: torch.Tensor, batch_size: int, scratch=None) -> None:
    """One pass over the rows ``perm`` of (X, Y one-hot), ``batch_size`` rows a step, gathered once into
    ``scratch`` (tensors shaped like X and Y) so that every mini-batch is a contiguous slice."""
    Xs, Ys = scratch if scratch is not None else (torch.empty_like(X), torch.empty_like(Y))
    Xs, Ys = Xs[:len(perm)], Ys[:len(perm)]
    torch.index_select(X, 0, perm, out=Xs)
    torch.index_select(Y, 0, perm, out=Ys)
    for i in range(0, len(perm), batch_size):
        net.backprop(Xs[i:i + batch_size], Ys[i:i + batch_size])
        opt.step()


class BatchedLearner:
    """``hwlib.models.ffn.Learner`` for a ``BatchedFFN``: ``evaluate`` returns arrays of K; a checkpoint
    is a copy of the stacked parameters, ``update_checkpoint`` renews it for some nets only."""

    def __init__(self, net: BatchedFFN, optimizer: BatchedAdam | BatchedSGD, batch_size: int):
        self.net, self.optimizer, self.batch_size = net, optimizer, batch_size
        self._y = self._Y = self._scratch = None

    def train_epoch(self, X: torch.Tensor, y: torch.Tensor, order: torch.Tensor) -> None:
        if self._y is not y:  # backprop takes one-hot rows; made once, with the gather buffers
            self._y, self._Y = y, F.one_hot(y, N_CLASSES).to(X.dtype)
            self._scratch = (torch.empty_like(X), torch.empty_like(self._Y))
        train_epoch(self.net, self.optimizer, X, self._Y, order.to(X.device), self.batch_size, self._scratch)

    def evaluate(self, X: torch.Tensor, y: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        return self.net.evaluate(X, y)

    def state_dict(self) -> list[torch.Tensor]:
        return [p.detach().clone() for p in self.net.params]

    @torch.no_grad()
    def load_state_dict(self, state: list[torch.Tensor]) -> None:
        for p, b in zip(self.net.params, state):
            p.copy_(b)

    @torch.no_grad()
    def update_checkpoint(self, state: list[torch.Tensor], better: np.ndarray) -> list[torch.Tensor]:
        """Copy the current weights of the nets where ``better`` (K,) into ``state``; return it."""
        sel = torch.as_tensor(better, device=state[0].device).view(1, self.net.K, 1)
        now = model_views(self.net, [p.detach() for p in self.net.params])
        for b, p in zip(model_views(self.net, state), now):
            b.copy_(torch.where(sel, p, b))
        return state


def fit_batched(configs: Sequence[FFNConfig], train, dev, test=None, *, device=None, log=None,
                backend: str = "auto", progress: bool | None = False) -> list[FitResult]:
    """Train every configuration at once with ``hwlib.training.fit``: one ``FitResult`` per configuration,
    in order, recording what ``hwlib.models.ffn.fit`` records, each charged 1/K of the unit's times.
    ``log(epoch, hist)`` gets arrays (epoch + 1, K) per metric. No progress bar unless ``progress``."""
    check_batchable(configs)
    c0 = configs[0]
    t0 = time.perf_counter()
    device = torch.device(device) if device is not None else default_device()
    Xtr, ytr = as_tensors(train, device)
    torch.manual_seed(c0.seed)  # the initial weights fit() would draw for each of them
    base = FFN.from_config(c0, Xtr.shape[1], N_CLASSES).to(device)
    net = BatchedFFN.replicate(base, [c.dropout for c in configs])
    net.reseed(c0.seed)
    Opt = BatchedAdam if c0.optimizer == "adam" else BatchedSGD
    learner = BatchedLearner(net, Opt(net, [c.lr for c in configs], [c.l2 for c in configs], backend=backend),
                             c0.batch_size)
    on_epoch = None if log is None else (
        lambda epoch, hist: log(epoch, {k: np.stack(hist[k]) for k in HISTORY_KEYS[1:]}))
    res = training.fit(learner, (Xtr, ytr), as_tensors(dev, device),
                       None if test is None else as_tensors(test, device), epochs=c0.epochs,
                       shuffles=permutations(len(ytr), c0.seed), on_epoch=on_epoch, progress=progress,
                       desc=f"width {c0.width}, depth {c0.depth}, {len(configs)} nets")
    res.wall_time_s = time.perf_counter() - t0
    states = [{n: v.detach().cpu() for n, v in net.unstack(k, res.state).state_dict().items()}
              for k in range(len(configs))]
    return res.split(states, list(configs))
