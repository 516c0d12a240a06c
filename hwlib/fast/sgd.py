"""The Q1 models' ``train_epoch`` compiled with numba: the same steps in the same sample order, in place,
skipping zero inputs (adding 0·w changes nothing). ``FastPerceptron`` equals ``Perceptron`` bit for bit on
course-view pixels; ``FastLogisticRegression`` and ``FastMLP`` equal theirs up to summation order
(``tests/test_q1_models.py``; speed: ``benchmarks/q1_sgd.py``).
"""
from __future__ import annotations

import numpy as np
from numba import njit
from numba.typed import List

from hwlib.errors import DataError
from hwlib.models.linear import LogisticRegression, Perceptron
from hwlib.models.mlp import MLP


def _check_Xy(X: np.ndarray, y: np.ndarray, order: np.ndarray, n_features: int, n_classes: int):
    """(X, y, order) as C-contiguous float64 / int64 arrays, or a DataError naming the problem."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.int64)
    order = np.ascontiguousarray(order, dtype=np.int64)
    if X.ndim != 2 or X.shape[1] != n_features:
        raise DataError(f"expected X of shape (N, {n_features}), got {X.shape}; "
                        "build features with hwlib.data.features and add the bias column with add_bias")
    if y.shape != (X.shape[0],):
        raise DataError(f"y has shape {y.shape} but X has {X.shape[0]} rows; pass one label per row")
    if y.size and (y.min() < 0 or y.max() >= n_classes):
        raise DataError(f"labels must lie in 0..{n_classes - 1}, got {y.min()}..{y.max()}")
    if order.ndim != 1 or (order.size and (order.min() < 0 or order.max() >= len(y))):
        raise DataError(f"order must be a 1-D array of row indices in 0..{len(y) - 1}")
    return X, y, order


# ----------------------------------------------------------------------------- linear models
@njit(cache=True)
def _add_scores(x, W, s):
    """s += x @ W, accumulating over the non-zero entries of x in index order."""
    for j in range(W.shape[0]):
        v = x[j]
        if v != 0.0:
            for k in range(W.shape[1]):
                s[k] += W[j, k] * v


@njit(cache=True)
def _softmax_minus_onehot(s, y, g):
    """g = softmax(s) − e_y, the gradient of −log softmax(s)_y."""
    m = s.max()
    z = 0.0
    for k in range(s.shape[0]):
        g[k] = np.exp(s[k] - m)
        z += g[k]
    for k in range(s.shape[0]):
        g[k] = g[k] / z
    g[y] -= 1.0


@njit(cache=True)
def _sgd_outer(W, x, g, lr):
    """W ← W − lr·(x ⊗ g), skipping the zero entries of x."""
    for j in range(W.shape[0]):
        v = x[j]
        if v != 0.0:
            for k in range(W.shape[1]):
                W[j, k] -= lr * (v * g[k])


@njit(cache=True, fastmath=True)
def _dot(a, b):
    """a · b summed in float64 (also when both are float32)."""
    acc = 0.0
    for j in range(a.shape[0]):
        acc += np.float64(a[j]) * b[j]
    return acc


@njit(cache=True, fastmath=True)
def _perceptron_block(WT, X, y, rows, S):
    """The textbook steps for the samples ``rows``, given S[i] = their scores at the block's start:
    a mistake on sample i updates WT and adds ±(x_i·x_j) to the later scores S[j, y_i], S[j, ŷ_i]."""
    for i in range(len(rows)):
        t = rows[i]
        yhat = np.argmax(S[i])
        if yhat != y[t]:
            x, wy, wh = X[t], WT[y[t]], WT[yhat]
            for j in range(x.shape[0]):
                wy[j] += x[j]
                wh[j] -= x[j]
            for r in range(i + 1, len(rows)):
                g = _dot(x, X[rows[r]])
                S[r, y[t]] += g
                S[r, yhat] -= g


@njit(cache=True)
def _zero_column(X, rows, j):
    """Feature j is 0 in every one of ``rows``."""
    for r in rows:
        if X[r, j] != 0.0:
            return False
    return True


@njit(cache=True, fastmath=True)
def _perceptron_epoch(X, y, order, W):
    # Blocks of eight samples: one pass over two class rows of W scores all eight (each weight loaded
    # once), then _perceptron_block replays the steps in order. fastmath may reorder the sums: with
    # course-view inputs (integers / 256) every partial sum is a multiple of 1/65536 far below 2**53,
    # so every order gives the exact scores of x @ W (ties included); otherwise they differ by rounding.
    # WT (classes × features) keeps the dot products contiguous.
    WT = W.T.copy()
    K, D = WT.shape
    S = np.empty((8, K))
    for p in range(0, len(order), 8):
        rows = order[p:p + 8]
        if len(rows) == 8:
            lo, hi = 0, D - 1                    # features 0 in all eight rows, leading and trailing
            while lo < D - 1 and _zero_column(X, rows, lo):
                lo += 1
            while hi > lo and _zero_column(X, rows, hi - 1):
                hi -= 1
            x0, x1, x2, x3 = X[rows[0], lo:hi], X[rows[1], lo:hi], X[rows[2], lo:hi], X[rows[3], lo:hi]
            x4, x5, x6, x7 = X[rows[4], lo:hi], X[rows[5], lo:hi], X[rows[6], lo:hi], X[rows[7], lo:hi]
            for k in range(0, K, 2):
                k1 = min(k + 1, K - 1)           # odd K: the last class is simply scored twice
                w, u = WT[k, lo:hi], WT[k1, lo:hi]   # (slices, so the loop below starts at 0 and vectorises)
                a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
                b0 = b1 = b2 = b3 = b4 = b5 = b6 = b7 = 0.0
                for j in range(hi - lo):
                    v, z = w[j], u[j]
                    a0 += x0[j] * v
                    a1 += x1[j] * v
                    a2 += x2[j] * v
                    a3 += x3[j] * v
                    a4 += x4[j] * v
                    a5 += x5[j] * v
                    a6 += x6[j] * v
                    a7 += x7[j] * v
                    b0 += x0[j] * z
                    b1 += x1[j] * z
                    b2 += x2[j] * z
                    b3 += x3[j] * z
                    b4 += x4[j] * z
                    b5 += x5[j] * z
                    b6 += x6[j] * z
                    b7 += x7[j] * z
                acc = ((a0, b0), (a1, b1), (a2, b2), (a3, b3), (a4, b4), (a5, b5), (a6, b6), (a7, b7))
                for i in range(8):               # plus the last feature (the bias column, when there is one)
                    S[i, k] = acc[i][0] + X[rows[i], D - 1] * WT[k, D - 1]
                    S[i, k1] = acc[i][1] + X[rows[i], D - 1] * WT[k1, D - 1]
        else:
            for i in range(len(rows)):
                for k in range(K):
                    S[i, k] = _dot(WT[k], X[rows[i]])
        _perceptron_block(WT, X, y, rows, S)
    W[:, :] = WT.T


@njit(cache=True)
def _logreg_epoch(X, y, order, W, lr, l2):
    K = W.shape[1]
    s = np.empty(K)
    g = np.empty(K)
    for t in order:
        x = X[t]
        s[:] = 0.0
        _add_scores(x, W, s)
        _softmax_minus_onehot(s, y[t], g)
        if l2 != 0.0:   # W ← W − lr·(x ⊗ g + l2·W), element by element as numpy evaluates it
            for j in range(W.shape[0]):
                for k in range(K):
                    W[j, k] -= lr * (x[j] * g[k] + l2 * W[j, k])
        else:
            _sgd_outer(W, x, g, lr)


@njit(cache=True)
def _to_float32(X):
    """(X as float32, whether every entry is exactly representable), in one pass."""
    out = np.empty(X.shape, dtype=np.float32)
    exact = True
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            v = np.float32(X[i, j])
            out[i, j] = v
            if v != X[i, j]:
                exact = False
    return out, exact


class FastPerceptron(Perceptron):
    """``Perceptron`` with a compiled epoch. The epoch is bound by reading X: a *read-only* X of float32
    numbers (course-view pixels are k/256) is copied once to float32 for the next epochs on that array
    (half the bytes, the same float64 sums); a writeable X may change, so it is read as it is."""

    _packed: tuple = (None, None)   # (the read-only X, its float32 copy or X itself)

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> None:
        X, y, order = _check_Xy(X, y, order, self.n_features, self.n_classes)
        _perceptron_epoch(self._compact(X), y, order, self.W)

    def _compact(self, X: np.ndarray) -> np.ndarray:
        """The float32 copy of a read-only, float32-exact X (made once per array), else X."""
        if X.flags.writeable:
            return X
        if self._packed[0] is not X:
            X32, exact = _to_float32(X)
            self._packed = (X, X32 if exact else X)
        return self._packed[1]


class FastLogisticRegression(LogisticRegression):
    """``LogisticRegression`` whose epoch runs compiled (the same steps, element by element)."""

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> None:
        X, y, order = _check_Xy(X, y, order, self.n_features, self.n_classes)
        _logreg_epoch(X, y, order, self.W, self.lr, self.l2)


# ----------------------------------------------------------------------------- MLP
@njit(cache=True)
def _mlp_epoch(X, y, order, Ws, bs, zs, acts, deltas, lr):
    L = len(Ws)
    for t in order:
        x = X[t]
        # forward
        for l in range(L):
            z = zs[l]
            z[:] = bs[l]
            _add_scores(x if l == 0 else acts[l - 1], Ws[l], z)
            if l < L - 1:
                a = acts[l]
                for k in range(z.shape[0]):
                    a[k] = z[k] if z[k] > 0.0 else 0.0
        _softmax_minus_onehot(zs[L - 1], y[t], deltas[L - 1])   # δ_L = p − e_y
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
            _sgd_outer(W, a_in, d, lr)
            b = bs[l]
            for k in range(b.shape[0]):
                b[k] -= lr * d[k]


class FastMLP(MLP):
    """``MLP`` whose epoch (forward, backpropagation, update per sample) runs compiled, in preallocated buffers."""

    def train_epoch(self, X: np.ndarray, y: np.ndarray, order: np.ndarray) -> None:
        X, y, order = _check_Xy(X, y, order, self.sizes[0], self.sizes[-1])
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
        _mlp_epoch(X, y, order, Ws, bs, zs, acts, deltas, self.lr)
