"""Pictures of the data: sample grids, class balance, and the idx orientation fix (matplotlib)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from hwlib.constants import LETTERS, N_CLASSES
from hwlib.data import Letters, Split, class_counts
from hwlib.report.common import COLUMN_IN, FIG_FONT_PT


def sample_grid(split: Split, n: int = 40, ncols: int = 10, seed: int = 0, title: str | None = None,
                fig=None):
    """``n`` random images of ``split`` with their letters, white strokes on black as stored.

    ``fig`` may be a matplotlib Figure or SubFigure to draw into (default: a new figure)."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(split), size=min(n, len(split)), replace=False)
    nrows = int(np.ceil(len(idx) / ncols))
    if fig is None:
        w = min(COLUMN_IN, ncols * 0.68)
        fig = plt.figure(figsize=(w, nrows * (w / ncols) * 1.25 + 0.5))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < len(idx):
            ax.imshow(split.X[idx[k]], cmap="gray", vmin=0, vmax=255)
            ax.set_title(LETTERS[split.y[idx[k]]], fontsize=FIG_FONT_PT, pad=2)
    if title:
        fig.suptitle(title, fontsize=FIG_FONT_PT + 1)
    return fig


def compare_grids(named: dict[str, Split], n: int = 30, ncols: int = 6, seed: int = 0):
    """Sample grids of several datasets side by side (e.g. synthetic vs the real fragment)."""
    nrows = int(np.ceil(n / ncols))
    w = COLUMN_IN
    fig = plt.figure(figsize=(w, nrows * w / (len(named) * ncols) * 1.35 + 0.7))
    for sub, (name, split) in zip(np.atleast_1d(fig.subfigures(1, len(named), wspace=0.05)), named.items()):
        sample_grid(split, n=n, ncols=ncols, seed=seed, title=name, fig=sub)
    return fig


def class_balance(data: Letters):
    """Images per class in each split."""
    fig, ax = plt.subplots(figsize=(COLUMN_IN, 3.2))
    x = np.arange(N_CLASSES)
    w = 0.27
    for j, (name, s) in enumerate((("train", data.train), ("dev", data.dev), ("test", data.test))):
        ax.bar(x + (j - 1) * w, class_counts(s.y), width=w, label=f"{name} ({len(s):,})")
    ax.set_xticks(x, list(LETTERS), fontsize=FIG_FONT_PT)
    ax.tick_params(axis="y", labelsize=FIG_FONT_PT)
    ax.set_ylabel("images", fontsize=FIG_FONT_PT)
    ax.set_title(f"Class balance — {data.name}, {data.profile} profile", fontsize=FIG_FONT_PT + 1)
    ax.legend(ncol=3, fontsize=FIG_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    return fig


def class_means(split: Split):
    """Mean image of every class present — a quick check that orientation and labels agree."""
    present = [c for c in range(N_CLASSES) if np.any(split.y == c)]
    ncols = min(13, len(present))                      # two rows of 13: each mean large enough to read
    nrows = int(np.ceil(len(present) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(COLUMN_IN, nrows * (COLUMN_IN / ncols) * 1.3), squeeze=False)
    for ax in axes.ravel()[len(present):]:
        ax.axis("off")
    for ax, c in zip(axes.ravel(), present):
        ax.imshow(split.X[split.y == c].mean(0), cmap="gray")
        ax.set_title(LETTERS[c], fontsize=FIG_FONT_PT, pad=1)
        ax.axis("off")
    return fig


def orientation_fix(split: Split, n: int = 8, seed: int = 1):
    """Top: images as stored in the raw idx files (transposed); bottom: after transposing back."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(split), size=min(n, len(split)), replace=False)
    fig, axes = plt.subplots(2, len(idx), figsize=(min(COLUMN_IN, len(idx) * 0.7 + 1.2), 2.2))
    for j, i in enumerate(idx):
        for r, img in enumerate((split.X[i].T, split.X[i])):
            axes[r, j].imshow(img, cmap="gray")
            axes[r, j].axis("off")
        axes[0, j].set_title(LETTERS[split.y[i]], fontsize=FIG_FONT_PT)
    axes[0, 0].text(-4, 14, "as stored", ha="right", va="center", fontsize=FIG_FONT_PT)
    axes[1, 0].text(-4, 14, "upright", ha="right", va="center", fontsize=FIG_FONT_PT)
    return fig
