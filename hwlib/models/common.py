"""What the numpy models of Question 1 share: softmax, cross-entropy, and the ``Classifier`` base.

A model scores a batch of rows ``X`` (N, D) with ``forward(X)`` → scores (N, K); it predicts
``argmax`` of the scores (lowest class on ties) and measures itself with a per-row ``criterion``
(cross-entropy for logistic regression and the MLP, the perceptron criterion for the perceptron).
"""
from __future__ import annotations

import numpy as np

from hwlib.errors import DataError


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = exp(z_k − max z) / Σ_j exp(z_j − max z), along the last axis."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def cross_entropy(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-row −log softmax(s)_y = log Σ_k exp(s_k) − s_y (computed with the max subtracted)."""
    m = scores.max(axis=1, keepdims=True)
    lse = np.log(np.exp(scores - m).sum(axis=1)) + m[:, 0]
    return lse - scores[np.arange(len(y)), y]


class Classifier:
    """Base of the numpy models: the epoch, prediction, evaluation and checkpoints, built from a
    model's ``forward``, ``update``, ``criterion`` and ``params`` (its weight arrays, by name)."""

    n_features: int

    def forward(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def criterion(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Per-row loss of the scores (cross-entropy unless a model says otherwise)."""
        return cross_entropy(scores, y)

    def params(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def update(self, x: np.ndarray, y: int) -> None:
        """One SGD step on a single sample (x, y)."""
        raise NotImplementedError

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> None:
        """One epoch of SGD with batch size 1: ``update`` on X[order[0]], X[order[1]], … in turn."""
        for i in order:
            self.update(X[i], y[i])

    def predict(self, X: np.ndarray, chunk: int = 8192) -> np.ndarray:
        """Predicted class of every row of X: the argmax of its scores."""
        X = np.asarray(X, dtype=np.float64)
        out = np.empty(len(X), dtype=np.int64)
        for i in range(0, len(X), chunk):
            out[i:i + chunk] = self.forward(X[i:i + chunk]).argmax(axis=1)
        return out

    def evaluate(self, X: np.ndarray, y: np.ndarray, chunk: int = 8192) -> tuple[float, float]:
        """(mean loss, accuracy) on all rows of (X, y), in chunks of ``chunk`` rows."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.int64)
        if len(y) == 0:
            raise DataError("cannot evaluate on an empty split")
        if X.ndim != 2 or X.shape[1] != self.n_features or len(X) != len(y):
            raise DataError(f"expected X of shape (N, {self.n_features}) and N labels, got X {X.shape}, "
                            f"y {y.shape}; build rows with hwlib.data.features (+ add_bias for linear models)")
        loss, correct = 0.0, 0
        for i in range(0, len(y), chunk):
            s, yc = self.forward(X[i:i + chunk]), y[i:i + chunk]
            loss += float(self.criterion(s, yc).sum())
            correct += int((s.argmax(axis=1) == yc).sum())
        return loss / len(y), correct / len(y)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every weight array (a checkpoint)."""
        return {name: p.copy() for name, p in self.params().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy a checkpoint's arrays into the model's own (shapes must match)."""
        for name, p in self.params().items():
            if name not in state:
                raise DataError(f"checkpoint has no array {name!r}; it has {sorted(state)}")
            new = np.asarray(state[name], dtype=np.float64)
            if new.shape != p.shape:
                raise DataError(f"checkpoint {name} has shape {new.shape}, the model expects {p.shape}")
            p[...] = new
