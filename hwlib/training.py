"""The book's one training protocol, for the numpy models of Q1 and the PyTorch networks of Q2 alike.

``fit`` scores the model on the whole train and dev splits before training (epoch 0) and after each
epoch ``model.train_epoch(X, y, order)`` (``order`` a fresh permutation from ``shuffles``). When the dev
accuracy beats every earlier epoch's (strictly) it keeps a checkpoint; at the end the model goes back to
it and is scored once on the test split. A model needs ``train_epoch``, ``evaluate(X, y) -> (mean loss,
accuracy)``, ``state_dict()`` and ``load_state_dict(state)``. K models trained as one
(``hwlib.fast.batched.BatchedLearner``) take the same loop elementwise: ``evaluate`` returns arrays of K
and ``update_checkpoint(state, better)`` renews the checkpoint of the nets that improved.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from hwlib.errors import ConfigError, DataError, raise_pending

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "dev_loss", "dev_acc")


@dataclass
class FitResult:
    """A run's per-epoch history (epoch 0 = before training; ``epoch_time_s``: seconds in ``train_epoch``),
    the best checkpoint's epoch, dev accuracy, test loss and accuracy, and weights (arrays of K for K models)."""
    history: dict[str, list]
    best_epoch: int | np.ndarray
    best_dev_acc: float | np.ndarray
    test_loss: float | np.ndarray | None
    test_acc: float | np.ndarray | None
    wall_time_s: float
    state: dict = field(repr=False, default_factory=dict)
    config: object = None

    @property
    def final_train_acc(self) -> float:
        return self.history["train_acc"][-1]

    def describe(self) -> str:
        """One line for people: the best checkpoint's epoch, dev and test accuracy, the time taken."""
        test = "" if self.test_acc is None else f"; test accuracy {self.test_acc:.1%}"
        return (f"best validation accuracy {self.best_dev_acc:.1%} at epoch {self.best_epoch}"
                f"{test} ({self.wall_time_s:.1f} s)")

    def summary(self) -> dict:
        """The numbers a record keeps beside its history."""
        h = self.history
        out = {"best_epoch": self.best_epoch, "best_dev_acc": self.best_dev_acc,
               "test_acc": self.test_acc, "test_loss": self.test_loss,
               "train_acc_at_best": h["train_acc"][self.best_epoch],
               "final_train_acc": h["train_acc"][-1], "final_train_loss": h["train_loss"][-1],
               "final_dev_acc": h["dev_acc"][-1], "final_dev_loss": h["dev_loss"][-1],
               "max_train_acc": max(h["train_acc"])}
        if len(h.get("epoch_time_s", [])) > 1:
            out["mean_epoch_time_s"] = float(np.mean(h["epoch_time_s"][1:]))
        return out

    def split(self, states: list, configs: list | None = None) -> list["FitResult"]:
        """The result of K models trained as one, as K results (``states[k]``, ``configs[k]``), each
        charged 1/K of the wall time and of every ``epoch_time_s``."""
        K = len(states)
        out = []
        for k in range(K):
            pick = lambda x: None if x is None else np.asarray(x).reshape(K)[k].item()
            h = {"epoch": list(self.history["epoch"])}
            h.update({name: [pick(v) for v in self.history[name]] for name in HISTORY_KEYS[1:]})
            h["epoch_time_s"] = [t / K for t in self.history["epoch_time_s"]]
            out.append(FitResult(h, pick(self.best_epoch), pick(self.best_dev_acc), pick(self.test_loss),
                                 pick(self.test_acc), self.wall_time_s / K, states[k],
                                 None if configs is None else configs[k]))
        return out


def numpy_shuffles(n: int, seed: int) -> Iterator[np.ndarray]:
    """The per-epoch orders of Question 1: successive ``permutation(n)`` of ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    while True:
        yield rng.permutation(n)


def _pair(split, name: str):
    try:
        X, y = split
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a pair (X, y) of arrays") from None
    if len(X) != len(y) or len(y) == 0:
        raise DataError(f"{name}: X and y must hold the same, non-zero number of rows; got {len(X)} and {len(y)}")
    return X, y


def fit(model, train, dev, test=None, *, epochs: int, shuffles: Iterator, config=None,
        desc: str = "train", progress: bool | None = None, on_epoch=None) -> FitResult:
    """Train ``model`` for ``epochs`` epochs on ``(X, y)`` pairs, keeping the best-dev checkpoint. A tqdm bar
    on stderr shows progress (``progress=None``: when stderr is a terminal); ``on_epoch(epoch, history)``
    is called after every epoch."""
    if int(epochs) < 0:
        raise ConfigError(f"epochs must be ≥ 0, got {epochs}")
    t_start = time.perf_counter()
    (Xtr, ytr), (Xdv, ydv) = _pair(train, "train"), _pair(dev, "dev")
    hist: dict[str, list] = {k: [] for k in (*HISTORY_KEYS, "epoch_time_s")}
    best_epoch, best_acc, best_state = -1, -1.0, None
    bar = tqdm(range(int(epochs) + 1), desc=desc, unit="epoch", leave=False, dynamic_ncols=True,
               disable=None if progress is None else not progress)
    for epoch in bar:
        seconds = 0.0
        if epoch > 0:
            t0 = time.perf_counter()
            model.train_epoch(Xtr, ytr, next(shuffles))
            seconds = time.perf_counter() - t0
            raise_pending()                     # a Ctrl-C that numba's first compile swallowed
        tl, ta = model.evaluate(Xtr, ytr)
        dl, da = model.evaluate(Xdv, ydv)
        _check_finite(tl, epoch, desc)
        for k, v in zip(hist, (epoch, tl, ta, dl, da, seconds)):
            hist[k].append(v)
        better = np.asarray(da) > best_acc  # strictly better than every earlier epoch (per model)
        if better.any():
            best_epoch, best_acc = np.where(better, epoch, best_epoch), np.where(better, da, best_acc)
            best_state = model.state_dict() if better.all() else model.update_checkpoint(best_state, better)
        top = np.argmax(best_acc)           # the bar notes the best of K models
        bar.set_postfix({"dev": f"{np.max(da):.4f}",
                         "best": f"{np.ravel(best_acc)[top]:.4f}@{np.ravel(best_epoch)[top]}"})
        if on_epoch is not None:
            on_epoch(epoch, hist)
    bar.close()
    model.load_state_dict(best_state)
    test_loss = test_acc = None
    if test is not None:
        test_loss, test_acc = model.evaluate(*_pair(test, "test"))
    return FitResult(hist, _plain(best_epoch), _plain(best_acc), test_loss, test_acc,
                     time.perf_counter() - t_start, best_state, config)


def _plain(x):
    """A 0-d array (one model) as a Python number; an array of K as it is."""
    return x.item() if np.ndim(x) == 0 else x


def _check_finite(loss, epoch: int, desc: str) -> None:
    bad = ~np.isfinite(loss)
    if not bad.any():
        return
    if np.ndim(loss) == 0:
        which, value = "", loss
    else:
        idx = np.flatnonzero(bad)
        which = f" of model{'s' if len(idx) > 1 else ''} {', '.join(map(str, idx))} (of {bad.size}, from 0)"
        value = ", ".join(map(str, np.asarray(loss)[idx]))
    raise DataError(f"{desc}: the training loss{which} became {value} at epoch {epoch}; the learning "
                    "rate is too large for these features — lower lr")
