"""The one training loop of Question 1, shared by the perceptron, logistic regression and the MLP.

For epoch ``e = 1..epochs``: draw ``order = rng.permutation(N)`` from ``numpy.random.default_rng(seed)``
(so a seed fixes every shuffle), call ``model.train_epoch(X_train, y_train, order)`` (one SGD step per
sample, in that order), then measure train and dev accuracy. A checkpoint (``model.state_dict()``) is
kept whenever the dev accuracy beats every earlier epoch's (strictly, so ties keep the earlier epoch);
at the end the model is put back to that checkpoint and scored once on the test split.

A model needs ``train_epoch(X, y, order) -> mean loss | None``, ``predict(X)``, ``state_dict()`` and
``load_state_dict(state)`` — :mod:`hwlib.linear` and :mod:`hwlib.mlp` provide them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from hwlib.errors import ConfigError, DataError


def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows of X whose predicted class equals y."""
    if len(y) == 0:
        raise DataError("cannot measure accuracy on an empty split")
    return float(np.mean(model.predict(X) == y))


@dataclass
class FitResult:
    """What ``fit`` returns: per-epoch history, the best-dev checkpoint and its test accuracy."""
    history: dict[str, list]
    best_epoch: int
    best_dev_acc: float
    test_acc: float
    best_state: dict[str, np.ndarray] = field(repr=False)

    def summary(self) -> dict:
        h = self.history
        return {"best_epoch": self.best_epoch, "best_dev_acc": self.best_dev_acc,
                "test_acc": self.test_acc, "final_train_acc": h["train_acc"][-1],
                "final_dev_acc": h["dev_acc"][-1], "epochs": len(h["epoch"]),
                "mean_epoch_time_s": float(np.mean(h["epoch_time_s"]))}


def _xy(split, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        X, y = split
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a pair (X, y) of arrays") from None
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if X.ndim != 2 or len(X) != len(y):
        raise DataError(f"{name}: X must be 2-D with one row per label; got X {X.shape}, y {y.shape}")
    return X, y


def fit(model, train, dev, test, *, epochs: int = 20, seed: int = 42, desc: str = "train",
        progress: bool | None = None) -> FitResult:
    """Train ``model`` for ``epochs`` epochs of per-sample SGD; keep the best-dev checkpoint.

    ``train``, ``dev``, ``test`` are ``(X, y)`` pairs of feature rows and labels. History keys:
    ``epoch`` (1-based), ``train_acc``, ``dev_acc``, ``epoch_time_s`` (training only, evaluation
    excluded) and ``train_loss`` when the model reports one (mean loss over the epoch's samples,
    each taken just before its update). A tqdm bar on stderr shows progress and the ETA
    (``progress=None``: only when stderr is a terminal, so notebooks and logs stay clean).
    """
    if int(epochs) < 1:
        raise ConfigError(f"epochs must be ≥ 1, got {epochs}")
    (Xtr, ytr), (Xdv, ydv), (Xte, yte) = _xy(train, "train"), _xy(dev, "dev"), _xy(test, "test")
    rng = np.random.default_rng(seed)
    hist: dict[str, list] = {"epoch": [], "train_acc": [], "dev_acc": [], "epoch_time_s": []}
    best_dev, best_epoch, best_state = -1.0, 0, model.state_dict()
    bar = tqdm(range(1, int(epochs) + 1), desc=desc, unit="epoch",
               disable=None if progress is None else not progress,
               leave=False, dynamic_ncols=True)
    for epoch in bar:
        order = rng.permutation(len(ytr))
        t0 = time.perf_counter()
        loss = model.train_epoch(Xtr, ytr, order)
        dt = time.perf_counter() - t0
        tr_acc, dv_acc = accuracy(model, Xtr, ytr), accuracy(model, Xdv, ydv)
        hist["epoch"].append(epoch)
        hist["train_acc"].append(tr_acc)
        hist["dev_acc"].append(dv_acc)
        hist["epoch_time_s"].append(dt)
        if loss is not None:
            if not np.isfinite(loss):
                raise DataError(f"{desc}: the training loss became {loss} at epoch {epoch}; the "
                                "learning rate is too large for these features — lower lr")
            hist.setdefault("train_loss", []).append(float(loss))
        if dv_acc > best_dev:
            best_dev, best_epoch, best_state = dv_acc, epoch, model.state_dict()
        bar.set_postfix(dev=f"{dv_acc:.4f}", best=f"{best_dev:.4f}@{best_epoch}")
    bar.close()
    model.load_state_dict(best_state)
    return FitResult(hist, best_epoch, best_dev, accuracy(model, Xte, yte), best_state)
