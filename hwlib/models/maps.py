"""Maps from scores z in R^K to the probability simplex: softmax, sparsemax, relumax (numpy).

Every map works on the last axis and broadcasts over the leading (batch) axes; ``T`` is the
temperature, applied as f(z / T).

    softmax(z)_i     = exp(z_i) / sum_j exp(z_j)
    sparsemax(z)_i   = relu(z_i - tau),  tau such that sum_i relu(z_i - tau) = 1   (projection onto the simplex)
    relumax_b(z)_i   = relu(z_i - max z + b) / sum_j relu(z_j - max z + b),  b > 0

Closed forms derived in the Question 3 chapter (and checked against torch.autograd in the tests):
    Jacobian of relumax, with k = argmax z, S = {i : z_i - max z + b > 0}, D = sum_j relu(z_j - max z + b):
        d p_i / d z_j = ( 1[i in S] (delta_ij - delta_kj) - p_i (1[j in S] - |S| delta_kj) ) / D
    i.e. J = (diag(1_S) - p 1_S^T)(I - 1 e_k^T) / D; every row sums to 0 (shift invariance).
    Gradient of L(z) = -log((p_i + eps) / (1 + K eps)):  dL/dz_j = -J_ij / (p_i + eps).
"""
from __future__ import annotations

import numpy as np

from hwlib.errors import ConfigError, DataError

NAMES = ("softmax", "sparsemax", "relumax")


# ----------------------------------------------------------------------------- input checks
def _scores(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 0 or z.shape[-1] == 0:
        raise DataError(f"z must have at least one entry on its last axis, got shape {z.shape}; "
                        "pass a vector of K >= 1 scores (or a batch of shape (..., K)).")
    if not np.all(np.isfinite(z)):
        raise DataError("z contains NaN or infinite scores; clean the input (these maps need finite z).")
    return z


def _positive(name: str, value, remedy: str) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}; {remedy}")
    return arr


def _temperature(T) -> np.ndarray:
    return _positive("T", T, "the temperature scales z as z / T, use e.g. T=1.0 (T -> 0+ is the argmax limit).")


def _offset(b) -> np.ndarray:
    if b is None:
        raise ConfigError("relumax needs its offset b > 0, e.g. relumax(z, b=1.0).")
    return _positive("b", b, "relumax keeps the entries within b of the maximum, use e.g. b=1.0.")


def _per_row(arr: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A scalar, batch-shaped (z.shape[:-1]) or keepdims-shaped (..., 1) parameter, broadcast against z."""
    if arr.ndim == 0 or (arr.ndim == z.ndim and arr.shape[-1] == 1):
        return arr
    return arr[..., None]


# ----------------------------------------------------------------------------- the three maps
def softmax(z, T=1.0) -> np.ndarray:
    """softmax(z / T) on the last axis (max-subtracted for stability)."""
    z = _scores(z)
    s = z / _per_row(_temperature(T), z)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sparsemax_threshold(z) -> np.ndarray:
    """tau(z) with sum_i relu(z_i - tau) = 1, by sorting: O(K log K).

    With z sorted decreasingly, the support is the k largest entries, k = max{k : 1 + k z_(k) > sum_{j<=k} z_(j)},
    and tau = (sum_{j<=k} z_(j) - 1) / k. Returns shape z.shape[:-1].
    """
    z = _scores(z)
    zs = -np.sort(-z, axis=-1)
    cums = np.cumsum(zs, axis=-1)
    ks = np.arange(1, z.shape[-1] + 1, dtype=np.float64)
    support = 1.0 + ks * zs > cums          # true on a prefix of the sorted entries
    k = support.sum(axis=-1)                # >= 1: the largest entry always qualifies
    cum_k = np.take_along_axis(cums, (k - 1)[..., None].astype(np.intp), axis=-1)[..., 0]
    return (cum_k - 1.0) / k


def sparsemax(z, T=1.0) -> np.ndarray:
    """sparsemax(z / T) = argmin_{p in simplex} ||p - z/T||^2 = relu(z/T - tau)."""
    z = _scores(z)
    s = z / _per_row(_temperature(T), z)
    return np.maximum(s - sparsemax_threshold(s)[..., None], 0.0)


def _relumax_numerators(z, b, T=1.0) -> np.ndarray:
    z = _scores(z)
    s = z / _per_row(_temperature(T), z)
    return np.maximum(s - s.max(axis=-1, keepdims=True) + _per_row(_offset(b), s), 0.0)


def relumax(z, b, T=1.0) -> np.ndarray:
    """relumax_b(z / T)_i = relu(z_i/T - max z/T + b) / sum_j relu(z_j/T - max z/T + b), b > 0."""
    n = _relumax_numerators(z, b, T)
    return n / n.sum(axis=-1, keepdims=True)   # the max entry contributes b > 0: never 0/0


def relumax_denominator(z, b) -> np.ndarray:
    """D = sum_j relu(z_j - max z + b) (>= b). relumax_b(z) = sparsemax(z / D): relumax is sparsemax
    at the temperature D, since relu(z - max z + b)/D = relu(z/D - (max z - b)/D) already sums to 1."""
    return _relumax_numerators(z, b).sum(axis=-1)


def sparsemax_b(z) -> np.ndarray:
    """The offset b = max(z) - tau(z) (> 0) for which relumax_b(z) = sparsemax(z) (Question 3.2)."""
    z = _scores(z)
    return z.max(axis=-1) - sparsemax_threshold(z)


# ----------------------------------------------------------------------------- derivatives
def relumax_jacobian(z, b) -> np.ndarray:
    """J[..., i, j] = d relumax_b(z)_i / d z_j from the closed form (see the module docstring).

    Shape (..., K, K). At ties for the maximum or at z_j = max z - b the map has a kink; there we
    return the one-sided derivative with k = the first argmax and the boundary entry outside S.
    """
    z = _scores(z)
    bb = _per_row(_offset(b), z)
    K = z.shape[-1]
    n = np.maximum(z - z.max(axis=-1, keepdims=True) + bb, 0.0)
    D = n.sum(axis=-1)[..., None, None]
    p = n / D[..., 0]
    in_s = (n > 0).astype(np.float64)                         # 1_S
    k = np.argmax(z, axis=-1)
    e_k = np.zeros_like(z)
    np.put_along_axis(e_k, k[..., None], 1.0, axis=-1)
    eye = np.eye(K)
    a = in_s[..., :, None] * eye - p[..., :, None] * in_s[..., None, :]   # diag(1_S) - p 1_S^T
    return (a - a.sum(axis=-1, keepdims=True) * e_k[..., None, :]) / D     # A (I - 1 e_k^T) / D


def relumax_eps_loss(z, i, b, eps) -> np.ndarray:
    """L(z) = -log((relumax_b(z)_i + eps) / (1 + K eps)), the target's smoothed log-loss."""
    z = _scores(z)
    eps = _positive("eps", eps, "the smoothing eps keeps the loss finite, use e.g. eps=1e-2.")
    pi = _target(relumax(z, b), i)
    return -np.log((pi + eps) / (1.0 + z.shape[-1] * eps))


def relumax_eps_loss_grad(z, i, b, eps) -> np.ndarray:
    """dL/dz_j = -J_ij / (p_i + eps) for L(z) = -log((relumax_b(z)_i + eps) / (1 + K eps)).

    ``i`` is the target index (an int, or an int array of the batch shape). Shape like z.
    Note: when i is outside the support, row i of J is 0, so the gradient is exactly 0.
    """
    z = _scores(z)
    eps = _positive("eps", eps, "the smoothing eps keeps the loss finite, use e.g. eps=1e-2.")
    J = relumax_jacobian(z, b)
    p = relumax(z, b)
    idx = _target_index(z, i)
    row = np.take_along_axis(J, idx[..., None, None], axis=-2)[..., 0, :]
    pi = np.take_along_axis(p, idx[..., None], axis=-1)
    return -row / (pi + _per_row(eps, z))


def _target_index(z: np.ndarray, i) -> np.ndarray:
    K = z.shape[-1]
    idx = np.asarray(i)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ConfigError(f"target index i must be an integer class index, got {i!r}.")
    if np.any(idx < 0) or np.any(idx >= K):
        raise ConfigError(f"target index i={i!r} is out of range for K={K} classes; use 0 <= i < K.")
    return np.broadcast_to(idx, z.shape[:-1]).astype(np.intp)


def _target(p: np.ndarray, i) -> np.ndarray:
    idx = _target_index(p, i)
    return np.take_along_axis(p, idx[..., None], axis=-1)[..., 0]


# ----------------------------------------------------------------------------- K = 2, z = [0, t]
def _name(name: str) -> str:
    if name not in NAMES:
        raise ConfigError(f"unknown map {name!r}; choose one of {', '.join(NAMES)}.")
    return name


def _k2_b(name: str, b):
    if name == "relumax":
        return _offset(b)
    if b is not None:
        raise ConfigError(f"b is the relumax offset; {name} takes no b (pass b=None).")
    return None


def p2(name: str, t, b=None) -> np.ndarray:
    """Second coordinate of the map at z = [0, t], closed form, vectorised over t.

    softmax: 1/(1+e^-t).  sparsemax: 0 (t <= -1), (t+1)/2 (-1 < t < 1), 1 (t >= 1).
    relumax_b: 0 (t <= -b), (t+b)/(t+2b) (-b < t < 0), b/(2b-t) (0 <= t <= b), 1 (t >= b).
    """
    name = _name(name)
    b = _k2_b(name, b)
    t = np.asarray(t, dtype=np.float64)
    if name == "softmax":
        return 0.5 * (1.0 + np.tanh(t / 2.0))      # = e^t / (1 + e^t), no overflow
    if name == "sparsemax":
        return np.clip((t + 1.0) / 2.0, 0.0, 1.0)
    t, b = np.broadcast_arrays(t, b)
    out = np.where(t >= b, 1.0, 0.0)
    left = (t > -b) & (t < 0)
    right = (t >= 0) & (t < b)
    out = np.where(left, (t + b) / np.where(left, t + 2 * b, 1.0), out)
    return np.where(right, b / np.where(right, 2 * b - t, 1.0), out)


def dp2(name: str, t, b=None) -> np.ndarray:
    """d p2 / dt, closed form; NaN at the kinks where it does not exist (t = +-1 sparsemax, t = +-b relumax).

    softmax: p(1-p).  sparsemax: 1/2 inside (-1, 1), 0 outside.
    relumax_b: b/(t+2b)^2 on (-b, 0], b/(2b-t)^2 on [0, b), 0 outside (both pieces give 1/(4b) at t = 0).
    """
    name = _name(name)
    b = _k2_b(name, b)
    t = np.asarray(t, dtype=np.float64)
    if name == "softmax":
        p = p2("softmax", t)
        return p * (1.0 - p)
    if name == "sparsemax":
        return np.where(np.abs(t) == 1.0, np.nan, np.where(np.abs(t) < 1.0, 0.5, 0.0))
    t, b = np.broadcast_arrays(t, b)
    left = (t > -b) & (t < 0)
    right = (t >= 0) & (t < b)
    out = np.where(np.abs(t) == b, np.nan, 0.0)
    out = np.where(left, b / np.where(left, t + 2 * b, 1.0) ** 2, out)
    return np.where(right, b / np.where(right, 2 * b - t, 1.0) ** 2, out)


def apply(name: str, z, b=None, T=1.0) -> np.ndarray:
    """Dispatch by name: apply("relumax", z, b=1.0, T=0.5) == relumax(z, 1.0, 0.5)."""
    name = _name(name)
    if name == "relumax":
        return relumax(z, b, T)
    _k2_b(name, b)
    return softmax(z, T) if name == "softmax" else sparsemax(z, T)
