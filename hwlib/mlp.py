"""A multi-layer perceptron in plain numpy with hand-written backpropagation (Question 1.3).

Layers ``l = 1..L``: ``z_l = a_{l-1} @ W_l + b_l`` with ``a_0 = x``; hidden layers ``a_l = relu(z_l)``;
the output is ``p = softmax(z_L)`` with loss ``−log p_y``. Shapes: ``W_l`` is ``(n_{l-1}, n_l)``.
Backpropagation: ``δ_L = p − e_y``;  ``∇W_l = a_{l-1} ⊗ δ_l``,  ``∇b_l = δ_l``;
``δ_{l-1} = (W_l @ δ_l) ⊙ 1[z_{l-1} > 0]`` (with W_l before its update).
SGD with batch size 1:  ``W_l ← W_l − lr·∇W_l``,  ``b_l ← b_l − lr·∇b_l``.
Initialisation as the assignment asks: every weight ~ N(0.1, 0.1²), every bias 0.

The depth is a parameter: ``MLP(784, [100], 26)`` is the assignment's network, ``MLP(784,
[100, 100], 26)`` has two hidden layers. ``backward`` / ``update`` are the readable numpy version
(used by tests and the benchmark baseline); ``train_epoch`` runs the same steps for a whole epoch in
a compiled numba kernel that skips zero inputs (an exact no-op) and reuses preallocated buffers.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit
from numba.typed import List

from hwlib.errors import ConfigError, DataError
from hwlib.linear import _check_order, softmax


@njit(cache=True)
def _mlp_epoch(X, y, order, Ws, bs, zs, acts, deltas, lr):
    L = len(Ws)
    total = 0.0
    for t in order:
        x = X[t]
        # forward
        for l in range(L):
            W = Ws[l]
            z = zs[l]
            z[:] = bs[l]
            a_in = x if l == 0 else acts[l - 1]
            for j in range(W.shape[0]):
                v = a_in[j]
                if v != 0.0:
                    for k in range(W.shape[1]):
                        z[k] += W[j, k] * v
            if l < L - 1:
                a = acts[l]
                for k in range(z.shape[0]):
                    a[k] = z[k] if z[k] > 0.0 else 0.0
        # softmax cross-entropy, δ_L = p − e_y
        zL = zs[L - 1]
        d = deltas[L - 1]
        m = zL.max()
        s = 0.0
        for k in range(zL.shape[0]):
            d[k] = np.exp(zL[k] - m)
            s += d[k]
        for k in range(zL.shape[0]):
            d[k] = d[k] / s
        total += -(zL[y[t]] - m - np.log(s))
        d[y[t]] -= 1.0
        # backward: δ_{l-1} from the old W_l, then update W_l, b_l
        for l in range(L - 1, -1, -1):
            W = Ws[l]
            d = deltas[l]
            a_in = x if l == 0 else acts[l - 1]
            if l > 0:
                dp = deltas[l - 1]
                zp = zs[l - 1]
                for j in range(W.shape[0]):
                    if zp[j] > 0.0:
                        acc = 0.0
                        for k in range(W.shape[1]):
                            acc += W[j, k] * d[k]
                        dp[j] = acc
                    else:
                        dp[j] = 0.0
            for j in range(W.shape[0]):
                v = a_in[j]
                if v != 0.0:
                    for k in range(W.shape[1]):
                        W[j, k] -= lr * (v * d[k])
            b = bs[l]
            for k in range(b.shape[0]):
                b[k] -= lr * d[k]
    return total / max(len(order), 1)


class MLP:
    """Feed-forward relu network with a softmax cross-entropy output, trained by per-sample SGD.

    Parameters: ``n_features`` inputs, ``hidden`` a sequence of hidden widths (depth = its length),
    ``n_classes`` outputs, learning rate ``lr``, and ``seed`` for the N(0.1, 0.1²) weights.
    ``train_epoch`` returns the mean cross-entropy of the samples of the epoch, each measured
    just before its own update.
    """

    def __init__(self, n_features: int = 784, hidden: Sequence[int] = (100,), n_classes: int = 26,
                 *, lr: float = 1e-3, seed: int = 42, init_mean: float = 0.1, init_std: float = 0.1):
        hidden = [int(h) for h in hidden]
        if int(n_features) < 1 or int(n_classes) < 2 or any(h < 1 for h in hidden):
            raise ConfigError(f"need n_features ≥ 1, hidden widths ≥ 1, n_classes ≥ 2; got "
                              f"{n_features}, {hidden}, {n_classes}")
        if not (lr > 0 and np.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        self.sizes = [int(n_features), *hidden, int(n_classes)]
        self.lr = float(lr)
        rng = np.random.default_rng(seed)
        self.W = [rng.normal(init_mean, init_std, size=(a, b))
                  for a, b in zip(self.sizes[:-1], self.sizes[1:])]
        self.b = [np.zeros(b) for b in self.sizes[1:]]

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.sizes) - 2

    # --- readable numpy version -------------------------------------------------------------
    def forward(self, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations ``zs`` and activations ``acts`` (``acts[0]`` is X) for a row or a batch."""
        a = np.asarray(X, dtype=np.float64)
        zs, acts = [], [a]
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W + b
            zs.append(z)
            if l < len(self.W) - 1:
                a = np.maximum(z, 0.0)
                acts.append(a)
        return zs, acts

    def loss(self, x: np.ndarray, y: int) -> float:
        """Cross-entropy −log softmax(z_L)[y] of one sample."""
        zs, _ = self.forward(x)
        zL = zs[-1]
        m = zL.max()
        return float(-(zL[y] - m - np.log(np.exp(zL - m).sum())))

    def backward(self, x: np.ndarray, y: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Gradients (∇W_l, ∇b_l) of the cross-entropy of one sample, by backpropagation."""
        return self._loss_and_grads(x, y)[1:]

    def _loss_and_grads(self, x, y):
        zs, acts = self.forward(x)
        zL = zs[-1]
        m = zL.max()
        ce = float(-(zL[y] - m - np.log(np.exp(zL - m).sum())))
        delta = softmax(zL)
        delta[y] -= 1.0
        gW, gb = [None] * len(self.W), [None] * len(self.W)
        for l in range(len(self.W) - 1, -1, -1):
            gW[l] = np.outer(acts[l], delta)
            gb[l] = delta
            if l > 0:
                delta = (self.W[l] @ delta) * (zs[l - 1] > 0)
        return ce, gW, gb

    def update(self, x: np.ndarray, y: int) -> float:
        """One textbook SGD step on one sample; returns its cross-entropy before the step."""
        ce, gW, gb = self._loss_and_grads(x, y)
        for l in range(len(self.W)):
            self.W[l] -= self.lr * gW[l]
            self.b[l] -= self.lr * gb[l]
        return ce

    def predict(self, X: np.ndarray, batch: int = 8192) -> np.ndarray:
        """Predicted class of every row of X (argmax of the output scores)."""
        X = np.asarray(X, dtype=np.float64)
        out = np.empty(X.shape[0], dtype=np.int64)
        for i in range(0, X.shape[0], batch):
            out[i:i + batch] = self.forward(X[i:i + batch])[0][-1].argmax(axis=1)
        return out

    # --- compiled epoch -----------------------------------------------------------------------
    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> float:
        """The steps of ``update`` for the rows X[order[0]], X[order[1]], … (compiled)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.int64)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise DataError(f"expected X of shape (N, {self.sizes[0]}), got {X.shape}")
        if y.shape != (X.shape[0],) or (y.size and (y.min() < 0 or y.max() >= self.sizes[-1])):
            raise DataError(f"y must hold one label in 0..{self.sizes[-1] - 1} per row of X")
        order = _check_order(order, len(y))
        Ws, bs, zs, acts, deltas = List(), List(), List(), List(), List()
        for W, b in zip(self.W, self.b):
            Ws.append(W)   # the kernel updates these arrays in place
            bs.append(b)
            zs.append(np.empty(b.shape[0]))
            deltas.append(np.empty(b.shape[0]))
        for n in self.sizes[1:-1]:
            acts.append(np.empty(n))
        if not len(acts):
            acts.append(np.empty(1))   # typed lists need one element to know their type
        return float(_mlp_epoch(X, y, order, Ws, bs, zs, acts, deltas, self.lr))

    def state_dict(self) -> dict[str, np.ndarray]:
        d = {f"W{l + 1}": W.copy() for l, W in enumerate(self.W)}
        d.update({f"b{l + 1}": b.copy() for l, b in enumerate(self.b)})
        return d

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        for l in range(len(self.W)):
            W = np.asarray(state[f"W{l + 1}"], dtype=np.float64)
            b = np.asarray(state[f"b{l + 1}"], dtype=np.float64)
            if W.shape != self.W[l].shape or b.shape != self.b[l].shape:
                raise DataError(f"checkpoint layer {l + 1} has shapes {W.shape}, {b.shape}; the "
                                f"model expects {self.W[l].shape}, {self.b[l].shape}")
            self.W[l], self.b[l] = W.copy(), b.copy()
