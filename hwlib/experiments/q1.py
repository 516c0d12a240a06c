"""Question 1 experiments (``python -m hwlib run q1.<name>``): configurations and runners.

Experiments — one record per run, skipped when a complete record of the configuration the code sets
now exists (so an interrupted grid resumes; a run whose settings changed here is retrained):
  q1.perceptron  multi-class perceptron on raw pixels (+ bias), 20 epochs
  q1.logreg      logistic regression (a): lr 1e-4, ℓ2 1e-5, 20 epochs
  q1.features    (b) every feature map of :mod:`hwlib.data.features` × lr {1e-4, 1e-3, 1e-2}, ℓ2 1e-5
  q1.grid        (c) lr {1e-4, 1e-3, 1e-2} × ℓ2 {1e-5, 1e-4} × {raw, 2×2 max pooling} = 12 runs
                 (the report's feature choice, so the 12 numbers compare one to one)
  q1.grid_hog    the same 6 (lr, ℓ2) settings with HOG, the features this book proposes in (b)
  q1.mlp         one hidden layer of 100 relu units, lr 1e-3, weights ~ N(0.1, 0.1²), 20 epochs
The quick profile runs the same code for ``EPOCHS["quick"]`` epochs on the small data subset.
Every run follows ``hwlib.training.fit``: batch size 1, shuffle per epoch from ``default_rng(42)``,
train/dev loss and accuracy before training and after each epoch, best-dev checkpoint, whose
weights are stored (float32) beside the record and whose test accuracy is the run's answer.
The models are the readable ones of ``hwlib.models`` with their compiled epochs (``hwlib.fast.sgd``).
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from tqdm import tqdm

from hwlib.constants import N_CLASSES
from hwlib.data import course_view
from hwlib.data.features import FEATURES, make_feature
from hwlib.experiments import Context, experiment
from hwlib.experiments.provenance import now
from hwlib.fast.sgd import FastLogisticRegression, FastMLP, FastPerceptron
from hwlib.models.linear import add_bias
from hwlib.training import fit, numpy_shuffles

EPOCHS = {"full": 20, "quick": 5}
LOGREG_A = {"lr": 1e-4, "l2": 1e-5}
FEATURE_LRS = (1e-4, 1e-3, 1e-2)
FEATURE_L2 = 1e-5
GRID_LRS = (1e-4, 1e-3, 1e-2)
GRID_L2S = (1e-5, 1e-4)
GRID_FEATURES = ("raw", "maxpool2")
PROPOSED_FEATURES = "hog"     # our answer to (b); q1.grid_hog runs the grid's 6 settings with it
MLP_CONFIG = {"hidden": [100], "lr": 1e-3, "init_mean": 0.1, "init_std": 0.1}


# ------------------------------------------------------------------------------ running
class _FeatureCache:
    """The most recently built feature matrices (one feature map at a time: full-size matrices
    are hundreds of MB), keyed by dataset hash and feature name."""

    def __init__(self):
        self.key, self.value = None, None

    def get(self, data, name: str):
        """((train, dev, test) matrices with the bias column, info, seconds spent building now)."""
        key = (data.sha256, data.profile, name)
        if key == self.key:
            return (*self.value, 0.0)
        self.key = self.value = None
        t0 = time.perf_counter()
        splits = (data.train, data.dev, data.test)
        with tqdm(total=sum(map(len, splits)), desc=f"{name} features", unit="img", disable=None,
                  leave=False) as bar:
            fmap = make_feature(name).fit(data.train.X)
            mats = []
            for s in splits:
                mats.append(add_bias(fmap.transform(s.X)))
                bar.update(len(s))
        info = {"dim": int(mats[0].shape[1] - 1), "feature_time_s": time.perf_counter() - t0,
                "label": fmap.label}
        if hasattr(fmap, "explained_variance_ratio_"):
            info["explained_variance"] = float(fmap.explained_variance_ratio_.sum())
        self.key, self.value = key, (mats, info)
        return (*self.value, info["feature_time_s"])


_FEATURES = _FeatureCache()


def run_name(features: str, lr: float, l2: float) -> str:
    """Run name of a logistic-regression run, e.g. ``raw_lr1e-03_l21e-05``."""
    return f"{features}_lr{lr:.0e}_l2{l2:.0e}"


def _config(ctx: Context, config: dict) -> dict:
    """``config`` plus the protocol fields every Q1 run records: classes, epochs, batch size, seed."""
    return {**config, "n_classes": N_CLASSES, "epochs": EPOCHS[ctx.profile], "batch_size": 1, "seed": ctx.seed}


def linear_config(ctx: Context, model: str, features: str, lr: float | None = None,
                  l2: float | None = None) -> dict:
    """The configuration a perceptron or logistic-regression run records, known before training
    (the data adds only ``n_features``)."""
    config = {"model": model, "features": features, "feature_label": make_feature(features).label,
              "init": "zeros", "bias": "constant-1 feature (last row of W)"}
    if model == "logreg":
        config.update(lr=lr, l2=l2, l2_convention="step adds l2*W (objective + l2/2*||W||^2)")
    else:
        config.update(lr=1.0)
    return _config(ctx, config)


def mlp_config(ctx: Context) -> dict:
    """The configuration the MLP run records, known before training (the data adds ``n_features``)."""
    cfg = MLP_CONFIG
    return _config(ctx, {"model": "mlp", "features": "raw", **cfg, "activation": "relu",
                         "init": f"weights ~ N({cfg['init_mean']}, {cfg['init_std']}^2), biases 0"})


def _train_and_save(ctx: Context, run: str, model, splits, config: dict, extra_summary: dict,
                    extra_seconds: float = 0.0) -> None:
    """``fit`` one model on ``splits`` ((X, y) for train, dev, test) and record the run with ``config``."""
    started = now()
    t0 = time.perf_counter()
    r = fit(model, *splits, epochs=config["epochs"], shuffles=numpy_shuffles(len(splits[0][1]), ctx.seed),
            desc=f"{ctx.experiment}/{run}")
    ctx.save(run, config=config, history=r.history, summary={**r.summary(), **extra_summary},
             wall_time_s=time.perf_counter() - t0 + extra_seconds, started=started,
             arrays={k: np.asarray(v, dtype=np.float32) for k, v in r.state.items()})


def _run_linear(ctx: Context, run: str, model: str, features: str, lr: float | None = None,
                l2: float | None = None) -> None:
    """Train and record one linear run unless a record of its current configuration exists."""
    config = linear_config(ctx, model, features, lr, l2)
    if ctx.done(run, config):
        return
    data = ctx.data
    (Xtr, Xdv, Xte), info, built_s = _FEATURES.get(data, features)
    D = Xtr.shape[1]
    m = FastPerceptron(D) if model == "perceptron" else FastLogisticRegression(D, lr=lr, l2=l2)
    splits = [(X, s.y) for X, s in zip((Xtr, Xdv, Xte), (data.train, data.dev, data.test))]
    _train_and_save(ctx, run, m, splits, {**config, "n_features": D},
                    {k: v for k, v in info.items() if k != "label"}, built_s)


@experiment("q1.perceptron", help="Q1.1 multi-class perceptron, raw pixels, 20 epochs")
def perceptron(ctx: Context) -> None:
    _run_linear(ctx, "perceptron", "perceptron", "raw")


@experiment("q1.logreg", help=f"Q1.2(a) logistic regression, lr {LOGREG_A['lr']:g}, l2 {LOGREG_A['l2']:g}, "
                              f"{EPOCHS['full']} epochs")
def logreg(ctx: Context) -> None:
    _run_linear(ctx, "logreg", "logreg", "raw", **LOGREG_A)


def _logreg_runs(ctx: Context, features, lrs, l2s) -> None:
    """Logistic regression for every (features, lr, ℓ2) in the product, features outermost."""
    for f, lr, l2 in itertools.product(features, lrs, l2s):
        _run_linear(ctx, run_name(f, lr, l2), "logreg", f, lr, l2)


@experiment("q1.features", help="Q1.2(b) feature maps x 3 learning rates (logistic regression)")
def features(ctx: Context) -> None:
    _logreg_runs(ctx, FEATURES, FEATURE_LRS, (FEATURE_L2,))


@experiment("q1.grid", help="Q1.2(c) 3 lr x 2 l2 x {raw, 2x2 max pooling} = 12 runs (resumable)")
def grid(ctx: Context) -> None:
    _logreg_runs(ctx, GRID_FEATURES, GRID_LRS, GRID_L2S)


@experiment("q1.grid_hog", help="Q1.2(c) the grid's 3 lr x 2 l2 settings with HOG features (our (b) proposal)")
def grid_hog(ctx: Context) -> None:
    _logreg_runs(ctx, (PROPOSED_FEATURES,), GRID_LRS, GRID_L2S)


@experiment("q1.mlp", help=f"Q1.3 MLP, {MLP_CONFIG['hidden'][0]} relu units, SGD bs 1, lr {MLP_CONFIG['lr']:g}, "
                           f"{EPOCHS['full']} epochs")
def mlp(ctx: Context) -> None:
    run, config = "mlp_h100", mlp_config(ctx)
    if ctx.done(run, config):
        return
    data = ctx.data
    splits = [(course_view(s.X), s.y) for s in (data.train, data.dev, data.test)]
    cfg = MLP_CONFIG
    model = FastMLP(splits[0][0].shape[1], cfg["hidden"], N_CLASSES, lr=cfg["lr"], seed=ctx.seed,
                    init_mean=cfg["init_mean"], init_std=cfg["init_std"])
    _train_and_save(ctx, run, model, splits, {**config, "n_features": model.n_features}, {})
