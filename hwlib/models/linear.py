"""Linear classifiers trained one sample at a time (Question 1.1 and 1.2), in plain numpy.

Both score a feature row x ∈ R^D (its last entry a constant 1, the bias feature) with a weight
matrix W ∈ R^{D×K} that starts at zero: scores s = x W, prediction ŷ = argmax_k s_k.

* Perceptron:  if ŷ ≠ y:  W[:, y] += x,  W[:, ŷ] −= x.
* Logistic regression (SGD, batch size 1, ℓ2):  p = softmax(x W),  W ← W − lr·(x ⊗ (p − e_y) + l2·W).

An epoch applies the update to the rows ``X[order[0]], X[order[1]], …``. ``hwlib.fast.sgd`` runs
the same epochs compiled; ``tests/test_q1_models.py`` proves they agree.
"""
from __future__ import annotations

import numpy as np

from hwlib.constants import N_CLASSES
from hwlib.errors import ConfigError
from hwlib.models.common import Classifier, softmax


def add_bias(X: np.ndarray) -> np.ndarray:
    """Append the constant-1 bias feature (as the course's loader did): (N, D) → (N, D + 1)."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X, np.ones((X.shape[0], 1))])


class LinearModel(Classifier):
    """Scores s = x W with W ∈ R^{D×K} starting at zero; subclasses define ``update``."""

    def __init__(self, n_features: int, n_classes: int = N_CLASSES):
        if int(n_features) < 1 or int(n_classes) < 2:
            raise ConfigError(f"need n_features ≥ 1 and n_classes ≥ 2, got {n_features}, {n_classes}")
        self.n_features, self.n_classes = int(n_features), int(n_classes)
        self.W = np.zeros((self.n_features, self.n_classes))

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Scores X W: one row of K scores per sample."""
        return X @ self.W

    def params(self) -> dict[str, np.ndarray]:
        return {"W": self.W}


class Perceptron(LinearModel):
    """Multi-class perceptron: ŷ = argmax(x W); on a mistake W[:, y] += x and W[:, ŷ] −= x.

    This is SGD with step 1 on the perceptron criterion max_k s_k − s_y, which ``evaluate``
    reports as its loss. No learning rate: scaling every step would only rescale W.
    """

    def criterion(self, scores: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The perceptron criterion max_k s_k − s_y per row (0 when the prediction is right)."""
        return scores.max(axis=1) - scores[np.arange(len(y)), y]

    def update(self, x: np.ndarray, y: int) -> None:
        """One perceptron step on a single sample."""
        y_hat = np.argmax(x @ self.W)
        if y_hat != y:
            self.W[:, y] += x
            self.W[:, y_hat] -= x


class LogisticRegression(LinearModel):
    """Multinomial logistic regression trained by SGD with batch size 1 and an ℓ2 penalty.

    Per-sample objective  L(W) = −log softmax(x W)_y + (l2/2)·‖W‖²  (the bias row included);
    its gradient is x ⊗ (p − e_y) + l2·W, so ``l2`` is the coefficient of ½‖W‖².
    ``evaluate`` reports the mean cross-entropy (without the ℓ2 term) as the loss.
    """

    def __init__(self, n_features: int, n_classes: int = N_CLASSES, *, lr: float = 1e-4, l2: float = 1e-5):
        super().__init__(n_features, n_classes)
        if not (lr > 0 and np.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        if not (l2 >= 0 and np.isfinite(l2)):
            raise ConfigError(f"l2 must be ≥ 0, got {l2!r}")
        self.lr, self.l2 = float(lr), float(l2)

    def gradient(self, x: np.ndarray, y: int) -> np.ndarray:
        """∇_W L at one sample: x ⊗ (softmax(x W) − e_y) + l2·W, shape (D, K)."""
        p = softmax(x @ self.W)
        p[y] -= 1.0
        return np.outer(x, p) + self.l2 * self.W

    def update(self, x: np.ndarray, y: int) -> None:
        """One SGD step on a single sample: W ← W − lr·∇_W L."""
        self.W -= self.lr * self.gradient(x, y)
