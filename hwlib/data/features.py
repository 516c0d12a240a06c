"""Feature maps for the linear models of Question 1.2(b): what a letter image becomes before ``x @ W``.

Each map takes uint8 images (N, 28, 28) and returns float64 rows (N, D), to which the linear models
append the bias (:func:`hwlib.models.linear.add_bias`); ``fit`` sees the training images only (only PCA
needs them); ``picture(images)`` shows per image what the map keeps.

* ``raw``       784 pixels / 256 (the course's view).
* ``maxpool2``  2×2 max pooling of pixels / 256 → 196: a one-pixel shift inside a block changes nothing.
* ``avgpool4``  4×4 average pooling → 49: cheapest, but thin strokes are averaged away.
* ``pca90``     the centred pixels on the 90 leading principal components of the training images.
* ``hog``       histograms of oriented gradients (Dalal & Triggs 2005): central differences, 9 unsigned
  orientation bins (linear vote, magnitude-weighted), 7×7-pixel cells, 2×2-cell blocks with stride 1,
  each normalised L2-Hys (L2, clip at 0.2, L2) → 3·3·36 = 324.
"""
from __future__ import annotations

import numpy as np

from hwlib.constants import PIXEL_SCALE
from hwlib.errors import ConfigError, DataError


def _images(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == 784:
        X = X.reshape(-1, 28, 28)
    if X.ndim != 3 or X.shape[1:] != (28, 28):
        raise DataError(f"feature maps take images of shape (N, 28, 28) or (N, 784); got {X.shape}")
    return X


def pool(X: np.ndarray, size: int, how: str) -> np.ndarray:
    """Non-overlapping ``size``×``size`` pooling (``how`` = "max" or "mean") of pixels / 256."""
    X = _images(X).astype(np.float64) / PIXEL_SCALE
    n, h, w = X.shape
    if h % size or w % size:
        raise ConfigError(f"pool size {size} does not divide the {h}×{w} image")
    B = X.reshape(n, h // size, size, w // size, size)
    return B.max(axis=(2, 4)) if how == "max" else B.mean(axis=(2, 4))


class FeatureMap:
    """Base class: ``fit(train_images)``, ``transform(images) -> (N, D)``, ``picture(images)``."""
    name = "raw"
    label = "raw pixels"

    def fit(self, X: np.ndarray) -> "FeatureMap":
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        X = _images(X)
        return X.reshape(len(X), -1).astype(np.float64) / PIXEL_SCALE

    def picture(self, X: np.ndarray) -> np.ndarray:
        return self.transform(X).reshape(-1, 28, 28)


class Raw(FeatureMap):
    """The 784 pixels divided by 256 (identical to ``hwlib.data.course_view``)."""


class Pool(FeatureMap):
    """``size``×``size`` max or average pooling."""

    def __init__(self, size: int, how: str):
        if how not in ("max", "mean"):
            raise ConfigError(f"pooling must be 'max' or 'mean', got {how!r}")
        self.size, self.how = int(size), how
        self.name = f"{'max' if how == 'max' else 'avg'}pool{self.size}"
        self.label = f"{self.size}×{self.size} {'max' if how == 'max' else 'average'} pooling"

    def transform(self, X):
        P = pool(X, self.size, self.how)
        return P.reshape(len(P), -1)

    def picture(self, X):
        return pool(X, self.size, self.how)


class PCA(FeatureMap):
    """Coordinates of the centred pixels on the leading principal directions of the training set."""

    def __init__(self, n_components: int = 90, max_fit_rows: int = 30000, seed: int = 0):
        if int(n_components) < 1 or int(n_components) > 784:
            raise ConfigError(f"n_components must be in 1..784, got {n_components}")
        self.k = int(n_components)
        self.max_fit_rows, self.seed = int(max_fit_rows), seed
        self.name, self.label = f"pca{self.k}", f"PCA, {self.k} components"
        self.fitted = False

    def fit(self, X):
        """Mean and top-k eigenvectors of the pixel covariance (at most ``max_fit_rows`` rows,
        a seeded random subset when there are more)."""
        P = Raw().transform(X)
        if len(P) < 2:
            raise DataError("PCA needs at least two training images")
        if len(P) > self.max_fit_rows:
            P = P[np.random.default_rng(self.seed).choice(len(P), self.max_fit_rows, replace=False)]
        self.mean_ = P.mean(axis=0)
        C = P - self.mean_
        evals, evecs = np.linalg.eigh(C.T @ C / (len(C) - 1))
        idx = np.argsort(evals)[::-1]
        evals, evecs = np.clip(evals[idx], 0, None), evecs[:, idx]
        evecs *= np.where(evecs[np.abs(evecs).argmax(axis=0), np.arange(784)] < 0, -1.0, 1.0)
        self.components_ = evecs[:, :self.k]
        self.explained_variance_ratio_ = evals[:self.k] / evals.sum()
        self.fitted = True
        return self

    def transform(self, X):
        if not self.fitted:
            raise ConfigError(f"feature map {self.name!r} must be fitted on training images first: "
                              f"call .fit(train_images)")
        return (Raw().transform(X) - self.mean_) @ self.components_

    def picture(self, X):
        """The reconstruction from the k coordinates, as a 28×28 image."""
        Z = self.transform(X)
        return (Z @ self.components_.T + self.mean_).reshape(-1, 28, 28)


class HOG(FeatureMap):
    """Histograms of oriented gradients with L2-Hys block normalisation (see the module docstring)."""

    def __init__(self, cell: int = 7, bins: int = 9, block: int = 2, clip: float = 0.2):
        if 28 % int(cell) or int(block) < 1 or 28 // int(cell) < int(block) or int(bins) < 2:
            raise ConfigError(f"HOG needs a cell size dividing 28, bins ≥ 2 and 1 ≤ block ≤ cells "
                              f"per side; got cell={cell}, bins={bins}, block={block}")
        self.cell, self.bins, self.block, self.clip = int(cell), int(bins), int(block), float(clip)
        self.name, self.label = "hog", f"HOG ({self.cell}px cells, {self.bins} bins, {self.block}×{self.block} blocks)"

    def cell_histograms(self, X: np.ndarray, chunk: int = 2048) -> np.ndarray:
        """(N, c, c, bins) magnitude-weighted orientation histograms, c = 28 / cell."""
        X = _images(X)
        c, nb = 28 // self.cell, self.bins
        out = np.empty((len(X), c, c, nb))
        for s in range(0, len(X), chunk):
            I = X[s:s + chunk].astype(np.float64) / 255.0
            gx = np.zeros_like(I)
            gy = np.zeros_like(I)
            gx[:, :, 1:-1] = I[:, :, 2:] - I[:, :, :-2]
            gy[:, 1:-1, :] = I[:, 2:, :] - I[:, :-2, :]
            mag = np.hypot(gx, gy)
            pos = (np.degrees(np.arctan2(gy, gx)) % 180.0) / (180.0 / nb) - 0.5
            lo = np.floor(pos)
            w_hi = pos - lo
            lo = lo.astype(np.int64) % nb
            hi = (lo + 1) % nb
            votes = np.zeros(I.shape + (nb,))
            np.put_along_axis(votes, lo[..., None], (mag * (1 - w_hi))[..., None], axis=-1)
            # lo ≠ hi always (nb ≥ 2), so the second vote lands in a different bin
            np.put_along_axis(votes, hi[..., None], (mag * w_hi)[..., None], axis=-1)
            n = len(I)
            out[s:s + n] = votes.reshape(n, c, self.cell, c, self.cell, nb).sum(axis=(2, 4))
        return out

    def transform(self, X):
        H = self.cell_histograms(X)
        n, c, b = len(H), H.shape[1], self.block
        nbk = c - b + 1
        parts = [H[:, i:i + nbk, j:j + nbk] for i in range(b) for j in range(b)]
        V = np.concatenate(parts, axis=-1)             # (n, nbk, nbk, b·b·bins)
        V = V / np.sqrt((V ** 2).sum(-1, keepdims=True) + 1e-6)
        V = np.minimum(V, self.clip)
        V = V / np.sqrt((V ** 2).sum(-1, keepdims=True) + 1e-6)
        return V.reshape(n, -1)

    def picture(self, X, px: int = 12) -> np.ndarray:
        """Each cell drawn as a star of line segments, one per bin, along the edge direction
        (perpendicular to the gradient) with brightness ∝ the bin's share of the cell's votes."""
        H = self.cell_histograms(X)
        H = H / (H.max(axis=(1, 2, 3), keepdims=True) + 1e-12)
        c, nb = H.shape[1], self.bins
        img = np.zeros((len(H), c * px, c * px))
        t = np.linspace(-0.45 * px, 0.45 * px, 3 * px)
        for b in range(nb):
            theta = np.radians((b + 0.5) * 180.0 / nb) + np.pi / 2     # edge ⟂ gradient
            dy, dx = np.sin(theta) * t, np.cos(theta) * t
            for i in range(c):
                for j in range(c):
                    rr = np.clip(np.round(i * px + px / 2 + dy).astype(int), 0, c * px - 1)
                    cc = np.clip(np.round(j * px + px / 2 + dx).astype(int), 0, c * px - 1)
                    img[:, rr, cc] = np.maximum(img[:, rr, cc], H[:, i, j, b][:, None])
        return img


FEATURES = ("raw", "maxpool2", "avgpool4", "pca90", "hog")


def make_feature(name: str) -> FeatureMap:
    """A fresh (unfitted) feature map by name: one of ``FEATURES``."""
    makers = {"raw": Raw, "maxpool2": lambda: Pool(2, "max"), "avgpool4": lambda: Pool(4, "mean"),
              "pca90": lambda: PCA(90), "hog": HOG}
    if name not in makers:
        raise ConfigError(f"unknown feature map {name!r}; choose one of {', '.join(FEATURES)}")
    return makers[name]()
