"""A multi-layer perceptron in plain numpy with hand-written backpropagation (Question 1.3).

Forward, layers l = 1..L:  z_l = a_{l-1} W_l + b_l with a_0 = x;  a_l = relu(z_l) for hidden
layers;  p = softmax(z_L), loss −log p_y.  W_l has shape (n_{l-1}, n_l).
Backpropagation:  δ_L = p − e_y;  ∇W_l = a_{l-1} ⊗ δ_l,  ∇b_l = δ_l;
                  δ_{l-1} = (δ_l W_lᵀ) ⊙ 1[z_{l-1} > 0]   (with W_l before its update; rows as
                  vectors, so for the 1-D δ_l of one sample the code writes it as W_l @ δ_l).
SGD with batch size 1:  W_l ← W_l − lr·∇W_l,  b_l ← b_l − lr·∇b_l.
Initialisation as the assignment asks: every weight ~ N(0.1, 0.1²), every bias 0.

``MLP(784, [100], 26)`` is the assignment's network; the list of hidden widths sets the depth.
``hwlib.fast.sgd.FastMLP`` runs the same epochs compiled; the tests prove they agree.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hwlib.constants import N_CLASSES, N_PIXELS
from hwlib.errors import ConfigError
from hwlib.models.common import Classifier, softmax


class MLP(Classifier):
    """Feed-forward relu network with a softmax cross-entropy output, trained by per-sample SGD."""

    def __init__(self, n_features: int = N_PIXELS, hidden: Sequence[int] = (100,),
                 n_classes: int = N_CLASSES, *, lr: float = 1e-3, seed: int = 42,
                 init_mean: float = 0.1, init_std: float = 0.1):
        hidden = [int(h) for h in hidden]
        if int(n_features) < 1 or int(n_classes) < 2 or any(h < 1 for h in hidden):
            raise ConfigError(f"need n_features ≥ 1, hidden widths ≥ 1, n_classes ≥ 2; got "
                              f"{n_features}, {hidden}, {n_classes}")
        if not (lr > 0 and np.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        self.sizes = [int(n_features), *hidden, int(n_classes)]
        self.n_features, self.lr = self.sizes[0], float(lr)
        rng = np.random.default_rng(seed)
        self.W = [rng.normal(init_mean, init_std, size=(m, n)) for m, n in zip(self.sizes, self.sizes[1:])]
        self.b = [np.zeros(n) for n in self.sizes[1:]]

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Output scores z_L of a row or a batch; keeps every z_l and a_l for ``backward``."""
        a = X
        self.z, self.a = [], [a]
        for l, (W, b) in enumerate(zip(self.W, self.b)):
            z = a @ W + b
            self.z.append(z)
            if l < len(self.W) - 1:          # hidden layer
                a = np.maximum(z, 0.0)
                self.a.append(a)
        return z

    def backward(self, y: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Backpropagation of −log softmax(z_L)_y through the last ``forward`` (one sample):
        the gradients (∇W_l, ∇b_l) of every layer."""
        delta = softmax(self.z[-1])
        delta[y] -= 1.0                                              # δ_L = p − e_y
        grad_W, grad_b = [None] * len(self.W), [None] * len(self.W)
        for l in reversed(range(len(self.W))):
            grad_W[l] = np.outer(self.a[l], delta)                   # a_{l-1} ⊗ δ_l
            grad_b[l] = delta
            if l > 0:
                delta = (self.W[l] @ delta) * (self.z[l - 1] > 0)    # δ_{l-1}
        return grad_W, grad_b

    def update(self, x: np.ndarray, y: int) -> None:
        """One SGD step on a single sample: forward, backward, then every W_l and b_l."""
        self.forward(x)
        grad_W, grad_b = self.backward(y)
        for l in range(len(self.W)):
            self.W[l] -= self.lr * grad_W[l]
            self.b[l] -= self.lr * grad_b[l]

    @property
    def depth(self) -> int:
        """Number of hidden layers."""
        return len(self.sizes) - 2

    def params(self) -> dict[str, np.ndarray]:
        out = {f"W{l + 1}": W for l, W in enumerate(self.W)}
        out.update({f"b{l + 1}": b for l, b in enumerate(self.b)})
        return out
