"""Linear classifiers trained one sample at a time: multi-class perceptron and multinomial
logistic regression (Question 1.1 and 1.2).

Both score a feature vector ``x`` (shape ``(D,)``, usually with a constant-1 bias feature last)
with a weight matrix ``W`` of shape ``(D, K)``: ``scores = x @ W``, prediction ``argmax(scores)``
(ties go to the lowest class index, as ``np.argmax``). ``W`` starts at zero.

* Perceptron (step size 1):  ŷ = argmax(x @ W);  if ŷ ≠ y:  W[:, y] += x,  W[:, ŷ] -= x.
* Logistic regression, SGD with batch size 1 on the per-sample objective
  ``−log softmax(x @ W)[y] + (l2/2)·‖W‖²`` (the ℓ2 term covers every entry of W, the bias row
  included):  p = softmax(x @ W);  W ← W − lr·(x ⊗ (p − e_y) + l2·W).
  So the gradient step adds ``l2·W`` (not ``2·l2·W``): ``l2`` is the coefficient of ½‖W‖².

Each class has two equivalent ways to learn:
``update(x, y)`` is the textbook per-sample numpy step (readable; the tests compare against it,
and ``benchmarks/q1_sgd.py`` times the same loop written out in plain numpy), and ``train_epoch(X, y, order)`` runs a whole epoch of exactly the same
steps in a compiled numba kernel (no Python per sample; zero inputs skipped where that pays —
adding ``0·w`` changes nothing). The numbers are the same up to floating-point summation order;
the perceptron's are bit-identical on course-view pixels (all its sums are exact there).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from hwlib.errors import ConfigError, DataError


def _check_Xy(X: np.ndarray, y: np.ndarray, n_features: int, n_classes: int):
    """Return (X, y) as C-contiguous float64 / int64 arrays, or raise a DataError."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(f"expected X of shape (N, {n_features}), got {X.shape}; "
                        "build features with hwlib.features and add the bias column with add_bias")
    if y.shape != (X.shape[0],):
        raise DataError(f"y has shape {y.shape} but X has {X.shape[0]} rows; pass one label per row")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, got {y.min()}..{y.max()}")
    return X, y


def _check_order(order: np.ndarray, n: int) -> np.ndarray:
    order = np.ascontiguousarray(order, dtype=np.int64)
    if order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= n)):
        raise DataError(f"order must be a 1-D array of row indices in 0..{n - 1}")
    return order


def add_bias(X: np.ndarray) -> np.ndarray:
    """Append a constant-1 column (the bias feature of the course's loader): (N, D) → (N, D+1)."""
    X = np.asarray(X, dtype=np.float64)
    return np.hstack([X, np.ones((X.shape[0], 1))])


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, computed stably as exp(z − max z) / Σ exp(z − max z)."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@njit(cache=True)
def _scores(x, W, s):
    """s = x @ W, accumulating over the non-zero entries of x in index order."""
    s[:] = 0.0
    for j in range(W.shape[0]):
        v = x[j]
        if v != 0.0:
            for k in range(W.shape[1]):
                s[k] += W[j, k] * v


@njit(cache=True, fastmath=True)
def _dot(a, b):
    acc = 0.0
    for j in range(a.shape[0]):
        acc += a[j] * b[j]
    return acc


@njit(cache=True, fastmath=True)
def _perceptron_block(WT, X, y, rows, S):
    """The textbook steps for the samples ``rows``, given S[i] = their scores at the block's start:
    a mistake on sample i updates WT and adds ±(x_i·x_j) to the later scores S[j, y_i], S[j, ŷ_i]."""
    mistakes = 0
    for i in range(len(rows)):
        t = rows[i]
        yhat = np.argmax(S[i])
        if yhat != y[t]:
            mistakes += 1
            x, wy, wh = X[t], WT[y[t]], WT[yhat]
            for j in range(x.shape[0]):
                wy[j] += x[j]
                wh[j] -= x[j]
            for r in range(i + 1, len(rows)):
                g = _dot(x, X[rows[r]])
                S[r, y[t]] += g
                S[r, yhat] -= g
    return mistakes


@njit(cache=True, fastmath=True)
def _perceptron_epoch(X, y, order, W):
    # Blocks of four samples: one pass over two class rows of W gives eight scores at once (each
    # weight is loaded once for four samples; leading features that are 0 in all four are skipped),
    # then _perceptron_block replays the four steps in order, correcting later scores for earlier
    # updates. fastmath lets LLVM reorder the sums: with course-view inputs (integers / 256) every
    # weight is a multiple of 1/256 and every partial sum a multiple of 1/65536 far below 2**53, so
    # all orders give the same, exact scores, and the corrected block scores equal x @ W bit for bit
    # (ties included); for other inputs they differ by rounding only. Works on a (classes × features)
    # copy so the dot products are contiguous.
    WT = W.T.copy()
    K, D = WT.shape
    S = np.empty((4, K))
    mistakes = 0
    for p in range(0, len(order), 4):
        rows = order[p:p + 4]
        if len(rows) == 4:
            lo = 0                               # leading features that are 0 in all four rows
            while lo < D and (X[rows[0], lo] == 0.0 and X[rows[1], lo] == 0.0
                              and X[rows[2], lo] == 0.0 and X[rows[3], lo] == 0.0):
                lo += 1
            x0, x1, x2, x3 = X[rows[0], lo:], X[rows[1], lo:], X[rows[2], lo:], X[rows[3], lo:]
            for k in range(0, K, 2):
                k1 = min(k + 1, K - 1)           # odd K: the last class is simply scored twice
                w, u = WT[k, lo:], WT[k1, lo:]   # (slices, so the loop below starts at 0 and vectorises)
                a0 = a1 = a2 = a3 = b0 = b1 = b2 = b3 = 0.0
                for j in range(D - lo):
                    v, z = w[j], u[j]
                    a0 += x0[j] * v
                    a1 += x1[j] * v
                    a2 += x2[j] * v
                    a3 += x3[j] * v
                    b0 += x0[j] * z
                    b1 += x1[j] * z
                    b2 += x2[j] * z
                    b3 += x3[j] * z
                S[0, k], S[1, k], S[2, k], S[3, k] = a0, a1, a2, a3
                S[0, k1], S[1, k1], S[2, k1], S[3, k1] = b0, b1, b2, b3
        else:
            for i in range(len(rows)):
                for k in range(K):
                    S[i, k] = _dot(WT[k], X[rows[i]])
        mistakes += _perceptron_block(WT, X, y, rows, S)
    W[:, :] = WT.T
    return mistakes


@njit(cache=True)
def _logreg_epoch(X, y, order, W, lr, l2):
    K = W.shape[1]
    s = np.empty(K)
    g = np.empty(K)
    total = 0.0
    for t in order:
        x = X[t]
        _scores(x, W, s)
        m = s.max()
        z = 0.0
        for k in range(K):
            g[k] = np.exp(s[k] - m)
            z += g[k]
        for k in range(K):
            g[k] = g[k] / z
        total += -(s[y[t]] - m - np.log(z))
        g[y[t]] -= 1.0
        # W ← W − lr·(x ⊗ g + l2·W), element by element as numpy evaluates it
        for j in range(W.shape[0]):
            v = x[j]
            if l2 != 0.0:
                for k in range(K):
                    W[j, k] -= lr * (v * g[k] + l2 * W[j, k])
            elif v != 0.0:
                for k in range(K):
                    W[j, k] -= lr * (v * g[k])
    return total / max(len(order), 1)


class _Linear:
    """Shared parts: the weight matrix, prediction and checkpoint state."""

    def __init__(self, n_features: int, n_classes: int = 26):
        if int(n_features) < 1 or int(n_classes) < 2:
            raise ConfigError(f"need n_features ≥ 1 and n_classes ≥ 2, got {n_features}, {n_classes}")
        self.n_features, self.n_classes = int(n_features), int(n_classes)
        self.W = np.zeros((self.n_features, self.n_classes))

    def scores(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.W

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted class of every row of X (argmax of the scores, lowest index on ties)."""
        return self.scores(X).argmax(axis=1)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"W": self.W.copy()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        W = np.asarray(state["W"], dtype=np.float64)
        if W.shape != self.W.shape:
            raise DataError(f"checkpoint W has shape {W.shape}, the model expects {self.W.shape}")
        self.W = W.copy()


class Perceptron(_Linear):
    """Multi-class perceptron: ŷ = argmax(x @ W); on a mistake W[:, y] += x and W[:, ŷ] -= x.

    No update when the prediction is right; no learning rate (it would only rescale W).
    ``train_epoch`` returns no loss (the perceptron minimises none we report).
    """

    def update(self, x: np.ndarray, y: int) -> bool:
        """One textbook step on a single sample; returns whether W changed."""
        yhat = int(np.argmax(x @ self.W))
        if yhat != y:
            self.W[:, y] += x
            self.W[:, yhat] -= x
            return True
        return False

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> None:
        """The steps of ``update`` for the rows X[order[0]], X[order[1]], … (compiled).

        Scores four samples per pass over W, then takes their steps in order, adding ±x_i·x_j to a
        later sample's scores after a mistake on sample i (bit-identical on course-view pixels)."""
        X, y = _check_Xy(X, y, self.n_features, self.n_classes)
        _perceptron_epoch(X, y, _check_order(order, len(y)), self.W)
        return None


class LogisticRegression(_Linear):
    """Multinomial logistic regression by SGD, batch size 1, ℓ2 penalty.

    Per-sample objective  L(W) = −log softmax(x @ W)[y] + (l2/2)·‖W‖²  (bias row included),
    gradient  ∇L = x ⊗ (p − e_y) + l2·W,  step  W ← W − lr·∇L.
    ``train_epoch`` returns the mean cross-entropy of the samples seen in the epoch, each
    measured just before its own update (the ℓ2 term is not included).
    """

    def __init__(self, n_features: int, n_classes: int = 26, *, lr: float = 1e-4, l2: float = 1e-5):
        super().__init__(n_features, n_classes)
        if not (lr > 0 and np.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        if not (l2 >= 0 and np.isfinite(l2)):
            raise ConfigError(f"l2 must be ≥ 0, got {l2!r}")
        self.lr, self.l2 = float(lr), float(l2)

    def loss(self, x: np.ndarray, y: int) -> float:
        """Per-sample objective −log p_y + (l2/2)‖W‖² at the current W."""
        p = softmax(x @ self.W)
        return float(-np.log(p[y]) + 0.5 * self.l2 * np.sum(self.W ** 2))

    def gradient(self, x: np.ndarray, y: int) -> np.ndarray:
        """∇_W of ``loss(x, y)``: x ⊗ (p − e_y) + l2·W, shape (D, K)."""
        g = softmax(x @ self.W)
        g[y] -= 1.0
        return np.outer(x, g) + self.l2 * self.W

    def update(self, x: np.ndarray, y: int) -> float:
        """One textbook SGD step on a single sample; returns its cross-entropy before the step."""
        s = x @ self.W
        p = softmax(s)
        ce = float(-np.log(p[y]))
        p[y] -= 1.0
        self.W -= self.lr * (np.outer(x, p) + self.l2 * self.W)
        return ce

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> float:
        """The steps of ``update`` for the rows X[order[0]], X[order[1]], … (compiled)."""
        X, y = _check_Xy(X, y, self.n_features, self.n_classes)
        return float(_logreg_epoch(X, y, _check_order(order, len(y)), self.W, self.lr, self.l2))
