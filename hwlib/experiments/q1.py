"""Question 1 experiments (``python -m hwlib run q1.<name>``): configurations and runners.

  q1.perceptron  multi-class perceptron on raw pixels (+ bias)
  q1.logreg      logistic regression (a): lr 1e-4, ℓ2 1e-5
  q1.features    (b) every feature map of :mod:`hwlib.data.features` × lr {1e-4, 1e-3, 1e-2}, ℓ2 1e-5
  q1.grid        (c) lr {1e-4, 1e-3, 1e-2} × ℓ2 {1e-5, 1e-4} × {raw, 2×2 max pooling} = 12 runs
  q1.grid_hog    the grid's 6 (lr, ℓ2) settings with HOG, the features this book proposes in (b)
  q1.mlp         one hidden layer of 100 relu units, lr 1e-3, weights ~ N(0.1, 0.1²)
  q1.seeds       the verdict-bearing runs again with seeds ``EXTRA_SEEDS`` (``<run>_seed43`` …)

Every run follows ``hwlib.training.fit`` (batch size 1, seed 42 unless named) with the compiled
epochs of ``hwlib.fast.sgd``, and stores its best-dev checkpoint (float32) beside its record. Each
experiment plans its runs as jobs of :mod:`hwlib.experiments.pool`, grouped by feature map.
"""
from __future__ import annotations

import itertools
import time

import numpy as np
from tqdm import tqdm

from hwlib.constants import N_CLASSES
from hwlib.data import course_view
from hwlib.data.features import FEATURES, make_feature
from hwlib.errors import ResultError
from hwlib.experiments import Context, current_records, experiment, pool, seed_run_name
from hwlib.experiments.provenance import now
from hwlib.experiments.results import best_run
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
MISCLASSIFIED_KEPT = 40      # test images a run gets wrong, kept beside its weights for the chapter
MLP_CONFIG = {"hidden": [100], "lr": 1e-3, "init_mean": 0.1, "init_std": 0.1}
EXTRA_SEEDS = (43, 44)        # q1.seeds: with the records' seed 42, three seeds per verdict-bearing run
MLP_INPUT = "course view"     # the MLP's input matrix: a "feature map" of its own for the scheduler
# for scheduling and the ETA only: feature dimensions, and seconds per epoch per 104,000 samples on
# one core of the 2-core machine (fitted to the recorded runs: per-sample cost grows with the dimension)
_DIMS = {"raw": 784, "maxpool2": 196, "avgpool4": 49, "pca90": 90, "hog": 324}


def expected_seconds(features: str, epochs: int, n_train: int) -> float:
    """A run's expected wall time on one core (scheduling and ETA only; never recorded)."""
    per_epoch = 2.0 if features == MLP_INPUT else 0.35 + 0.0018 * _DIMS.get(features, 784)
    return epochs * per_epoch * n_train / 104_000


# ------------------------------------------------------------------------------ in a worker
_FEATURES: dict = {}  # the latest feature matrices: one map at a time (full size: hundreds of MB)


def _features(splits, data_key: str, name: str, progress: bool | None):
    """((train, dev, test) matrices, info, seconds spent building now) of feature map ``name`` for the
    data ``data_key`` names: the linear models' features with the bias column, or the MLP's course view."""
    if _FEATURES.get("key") == (data_key, name):
        return (*_FEATURES["value"], 0.0)
    _FEATURES.clear()
    t0 = time.perf_counter()
    info: dict = {}
    if name == MLP_INPUT:
        mats = [course_view(s.X) for s in splits]
    else:
        with tqdm(total=sum(map(len, splits)), desc=f"{name} features", unit="img",
                  disable=None if progress is None else not progress, leave=False) as bar:
            fmap = make_feature(name).fit(splits[0].X)
            mats = []
            for s in splits:
                mats.append(add_bias(fmap.transform(s.X)))
                bar.update(len(s))
        info = {"dim": int(mats[0].shape[1] - 1), "feature_time_s": time.perf_counter() - t0}
        if hasattr(fmap, "explained_variance_ratio_"):
            info["explained_variance"] = float(fmap.explained_variance_ratio_.sum())
    for m in mats:
        m.flags.writeable = False   # shared by the runs of this map (and lets FastPerceptron keep a copy)
    _FEATURES.update(key=(data_key, name), value=(mats, info))
    return mats, info, time.perf_counter() - t0


def train_run(spec: dict) -> dict:
    """Train one run as ``spec`` says on the data of :func:`pool.worker_data`; return its history,
    summary, weights and timings."""
    splits = [pool.worker_data(k) for k in ("train", "dev", "test")]
    started = now()
    mats, info, built_s = _features(splits, spec["data"], spec["features"], spec["progress"])
    D = mats[0].shape[1]
    if spec["model"] == "perceptron":
        model = FastPerceptron(D)
    elif spec["model"] == "logreg":
        model = FastLogisticRegression(D, lr=spec["lr"], l2=spec["l2"])
    else:
        cfg = MLP_CONFIG
        model = FastMLP(D, cfg["hidden"], N_CLASSES, lr=cfg["lr"], seed=spec["seed"],
                        init_mean=cfg["init_mean"], init_std=cfg["init_std"])
    t0 = time.perf_counter()
    r = fit(model, *[(X, s.y) for X, s in zip(mats, splits)], epochs=spec["epochs"],
            shuffles=numpy_shuffles(len(splits[0]), spec["seed"]), desc=spec["desc"], progress=spec["progress"])
    wall = time.perf_counter() - t0 + built_s
    pred, y = model.predict(mats[2]), splits[2].y          # the best checkpoint (fit restored it)
    confusion = np.bincount(y * N_CLASSES + pred, minlength=N_CLASSES ** 2).reshape(N_CLASSES, N_CLASSES)
    wrong = np.flatnonzero(pred != y)[:MISCLASSIFIED_KEPT]
    return {"n_features": D, "history": r.history,
            "summary": {**r.summary(), **info, "test_confusion": confusion.tolist()},
            "state": {**{k: np.asarray(v, dtype=np.float32) for k, v in r.state.items()},
                      "misclassified_images": np.asarray(splits[2].X[wrong], np.uint8),
                      "misclassified_true": y[wrong], "misclassified_pred": pred[wrong]},
            "started": started, "wall_time_s": wall}


# ------------------------------------------------------------------------------ configurations
def run_name(features: str, lr: float, l2: float) -> str:
    """Run name of a logistic-regression run, e.g. ``raw_lr1e-03_l21e-05``."""
    return f"{features}_lr{lr:.0e}_l2{l2:.0e}"


def _config(ctx: Context, config: dict, seed: int | None = None) -> dict:
    """``config`` plus the protocol fields every Q1 run records: classes, epochs, batch size, seed."""
    return {**config, "n_classes": N_CLASSES, "epochs": EPOCHS[ctx.profile], "batch_size": 1,
            "seed": ctx.seed if seed is None else seed}


def linear_config(ctx: Context, model: str, features: str, lr: float | None = None,
                  l2: float | None = None, seed: int | None = None) -> dict:
    """The configuration a perceptron or logistic-regression run records (training adds ``n_features``)."""
    config = {"model": model, "features": features, "feature_label": make_feature(features).label,
              "init": "zeros", "bias": "constant-1 feature (last row of W)"}
    if model == "logreg":
        config.update(lr=lr, l2=l2, l2_convention="step adds l2*W (objective + l2/2*||W||^2)")
    else:
        config.update(lr=1.0)
    return _config(ctx, config, seed)


def mlp_config(ctx: Context, seed: int | None = None) -> dict:
    """The configuration the MLP run records (training adds ``n_features``)."""
    cfg = MLP_CONFIG
    return _config(ctx, {"model": "mlp", "features": "raw", **cfg, "activation": "relu",
                         "init": f"weights ~ N({cfg['init_mean']}, {cfg['init_std']}^2), biases 0"}, seed)


def _job(ctx: Context, run: str, config: dict) -> list[pool.Job]:
    """The job training ``run`` with ``config`` (none when a record of it exists), saved as it ends."""
    if ctx.done(run, config):
        return []
    features = MLP_INPUT if config["model"] == "mlp" else config["features"]
    spec = {k: config.get(k) for k in ("model", "lr", "l2", "seed", "epochs")}
    spec.update(features=features, data=f"{ctx.data.sha256}/{ctx.profile}", desc=f"{ctx.experiment}/{run}",
                progress=None if ctx.in_process else False)

    def save(res: dict) -> None:
        ctx.save(run, config={**config, "n_features": res["n_features"]}, history=res["history"],
                 summary=res["summary"], wall_time_s=res["wall_time_s"], started=res["started"],
                 arrays=res["state"])

    return [pool.Job(f"{ctx.experiment}/{run}", train_run, spec, features,
                     expected_seconds(features, spec["epochs"], len(ctx.data.train)), save)]


def _logreg_jobs(ctx: Context, features, lrs, l2s) -> list[pool.Job]:
    """Logistic regression for every (features, lr, ℓ2) in the product."""
    return [j for f, lr, l2 in itertools.product(features, lrs, l2s)
            for j in _job(ctx, run_name(f, lr, l2), linear_config(ctx, "logreg", f, lr, l2))]


def _estimate(runs: list[tuple[str, int]]):
    """An ``estimate(profile, n_train)`` giving (runs, expected seconds) for (features, count) pairs."""
    def estimate(profile: str, n_train: int) -> tuple[int, float]:
        return (sum(n for _, n in runs),
                sum(n * expected_seconds(f, EPOCHS[profile], n_train) for f, n in runs))
    return estimate


# ------------------------------------------------------------------------------ experiments
@experiment("q1.perceptron", help="Q1.1 multi-class perceptron, raw pixels, 20 epochs", pooled=True,
            estimate=_estimate([("raw", 1)]))
def perceptron(ctx: Context) -> list[pool.Job]:
    return _job(ctx, "perceptron", linear_config(ctx, "perceptron", "raw"))


@experiment("q1.logreg", help=f"Q1.2(a) logistic regression, lr {LOGREG_A['lr']:g}, l2 {LOGREG_A['l2']:g}, "
                              f"{EPOCHS['full']} epochs", pooled=True, estimate=_estimate([("raw", 1)]))
def logreg(ctx: Context) -> list[pool.Job]:
    return _job(ctx, "logreg", linear_config(ctx, "logreg", "raw", **LOGREG_A))


@experiment("q1.features", help="Q1.2(b) feature maps x 3 learning rates (logistic regression)", pooled=True,
            estimate=_estimate([(f, len(FEATURE_LRS)) for f in FEATURES]))
def features(ctx: Context) -> list[pool.Job]:
    return _logreg_jobs(ctx, FEATURES, FEATURE_LRS, (FEATURE_L2,))


@experiment("q1.grid", help="Q1.2(c) 3 lr x 2 l2 x {raw, 2x2 max pooling} = 12 runs (resumable)", pooled=True,
            estimate=_estimate([(f, len(GRID_LRS) * len(GRID_L2S)) for f in GRID_FEATURES]))
def grid(ctx: Context) -> list[pool.Job]:
    return _logreg_jobs(ctx, GRID_FEATURES, GRID_LRS, GRID_L2S)


@experiment("q1.grid_hog", help="Q1.2(c) the grid's 3 lr x 2 l2 settings with HOG features (our (b) proposal)",
            pooled=True, estimate=_estimate([(PROPOSED_FEATURES, len(GRID_LRS) * len(GRID_L2S))]))
def grid_hog(ctx: Context) -> list[pool.Job]:
    return _logreg_jobs(ctx, (PROPOSED_FEATURES,), GRID_LRS, GRID_L2S)


@experiment("q1.mlp", help=f"Q1.3 MLP, {MLP_CONFIG['hidden'][0]} relu units, SGD bs 1, lr {MLP_CONFIG['lr']:g}, "
                           f"{EPOCHS['full']} epochs", pooled=True, estimate=_estimate([(MLP_INPUT, 1)]))
def mlp(ctx: Context) -> list[pool.Job]:
    return _job(ctx, "mlp_h100", mlp_config(ctx))


def best_grid_runs(grid_records: list[dict], hog_records: list[dict]) -> dict[str, dict]:
    """The best (``best_run``) raw, 2×2-max-pooling and HOG records of q1.grid and q1.grid_hog, by features."""
    out = {}
    for f, recs in (("raw", grid_records), ("maxpool2", grid_records), (PROPOSED_FEATURES, hog_records)):
        mine = [r for r in recs if r["config"].get("features") == f]
        if not mine:
            raise ResultError(f"no {f} record of q1.grid{'_hog' * (f == PROPOSED_FEATURES)} for this profile; "
                              "run `python -m hwlib run q1.seeds`, which runs the grids first")
        out[f] = best_run(mine)
    return out


def _grid_records(ctx: Context, name: str, features, lrs, l2s) -> list[dict]:
    """The records of grid ``name`` made by its current configurations — all of them, or a ResultError."""
    want = {run_name(f, lr, l2): linear_config(ctx, "logreg", f, lr, l2)
            for f, lr, l2 in itertools.product(features, lrs, l2s)}
    return current_records(ctx, name, want, name)


@experiment("q1.seeds", needs=("q1.grid", "q1.grid_hog"), pooled=True,
            estimate=_estimate([("raw", 3 * len(EXTRA_SEEDS)), ("maxpool2", len(EXTRA_SEEDS)),
                                (PROPOSED_FEATURES, len(EXTRA_SEEDS)), (MLP_INPUT, len(EXTRA_SEEDS))]),
            help="seeds 43, 44 of the perceptron, logreg (a), the MLP and the best raw / max-pooling / HOG grid runs")
def seeds(ctx: Context) -> list[pool.Job]:
    best = best_grid_runs(_grid_records(ctx, "q1.grid", GRID_FEATURES, GRID_LRS, GRID_L2S),
                          _grid_records(ctx, "q1.grid_hog", (PROPOSED_FEATURES,), GRID_LRS, GRID_L2S))
    jobs = []
    for seed in EXTRA_SEEDS:
        runs = {"perceptron": linear_config(ctx, "perceptron", "raw", seed=seed),
                "logreg": linear_config(ctx, "logreg", "raw", **LOGREG_A, seed=seed),
                "mlp_h100": mlp_config(ctx, seed)}
        for f, rec in best.items():
            c = rec["config"]
            runs[rec["run"]] = {**linear_config(ctx, "logreg", f, c["lr"], c["l2"], seed=seed),
                                "seed_of": f"{rec['experiment']}/{rec['run']}", "chosen_as": f"best {f} run"}
        for run, config in runs.items():
            config.setdefault("seed_of", f"q1.{'mlp' if run == 'mlp_h100' else run}/{run}")
            jobs += _job(ctx, seed_run_name(run, seed), config)
    return jobs
