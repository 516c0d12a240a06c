"""Question 1 experiments (``python -m hwlib run q1.<name>``) and the chapter's tables and figures.

Experiments — one record per run, skipped when already complete, so an interrupted grid resumes:
  q1.perceptron  multi-class perceptron on raw pixels (+ bias), 20 epochs
  q1.logreg      logistic regression (a): lr 1e-4, ℓ2 1e-5, 20 epochs
  q1.features    (b) every feature map of :mod:`hwlib.features` × lr {1e-4, 1e-3, 1e-2}, ℓ2 1e-5
  q1.grid        (c) lr {1e-4, 1e-3, 1e-2} × ℓ2 {1e-5, 1e-4} × {raw, 2×2 max pooling} = 12 runs
                 (the report's feature choice, so the 12 numbers compare one to one)
  q1.grid_hog    the same 6 (lr, ℓ2) settings with HOG, the features this book proposes in (b)
  q1.mlp         one hidden layer of 100 relu units, lr 1e-3, weights ~ N(0.1, 0.1²), 20 epochs
The quick profile runs the same code for ``EPOCHS["quick"]`` epochs on the small data subset.
Every run: batch size 1, shuffle per epoch from ``default_rng(42)``, best-dev checkpoint, whose
weights are stored (float32) beside the record and whose test accuracy is the run's answer.
"""
from __future__ import annotations

import math
import time

import numpy as np

from hwlib import results
from hwlib.experiments import Context, experiment
from hwlib.features import FEATURES, make_feature
from hwlib.linear import LogisticRegression, Perceptron, add_bias
from hwlib.mlp import MLP
from hwlib.train import fit

EPOCHS = {"full": 20, "quick": 5}
LOGREG_A = {"lr": 1e-4, "l2": 1e-5}
FEATURE_LRS = (1e-4, 1e-3, 1e-2)
FEATURE_L2 = 1e-5
GRID_LRS = (1e-4, 1e-3, 1e-2)
GRID_L2S = (1e-5, 1e-4)
GRID_FEATURES = ("raw", "maxpool2")
PROPOSED_FEATURES = "hog"     # our answer to (b); q1.grid_hog runs the grid's 6 settings with it
MLP_CONFIG = {"hidden": [100], "lr": 1e-3, "init_mean": 0.1, "init_std": 0.1}

# The original report's numbers (real EMNIST Letters, course split): see shared/brief.
REPORT = {
    "perceptron": {"best_dev_acc": 0.613, "best_epoch": 6, "test_acc": 0.611},
    "logreg": {"best_dev_acc": 0.697, "best_epoch": 20, "test_acc": 0.696},
    "mlp": {"best_dev_acc": 0.878, "best_epoch": 20, "test_acc": 0.878},
    "grid": {("raw", 1e-4, 1e-5): 0.6940, ("raw", 1e-4, 1e-4): 0.6951,
             ("raw", 1e-3, 1e-5): 0.7192, ("raw", 1e-3, 1e-4): 0.7195,
             ("raw", 1e-2, 1e-5): 0.6992, ("raw", 1e-2, 1e-4): 0.6948,
             ("maxpool2", 1e-4, 1e-5): 0.6668, ("maxpool2", 1e-4, 1e-4): 0.6680,
             ("maxpool2", 1e-3, 1e-5): 0.7091, ("maxpool2", 1e-3, 1e-4): 0.7095,
             ("maxpool2", 1e-2, 1e-5): 0.7086, ("maxpool2", 1e-2, 1e-4): 0.7067},
    "grid_best_test_acc": 0.721,
}


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
        fmap = make_feature(name).fit(data.train.X)
        mats = [add_bias(fmap.transform(s.X)) for s in (data.train, data.dev, data.test)]
        info = {"dim": int(mats[0].shape[1] - 1), "feature_time_s": time.perf_counter() - t0,
                "label": fmap.label}
        if hasattr(fmap, "explained_variance_ratio_"):
            info["explained_variance"] = float(fmap.explained_variance_ratio_.sum())
        self.key, self.value = key, (mats, info)
        return (*self.value, info["feature_time_s"])


_FEATURES = _FeatureCache()


def _f32(state: dict) -> dict:
    return {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}


def run_name(features: str, lr: float, l2: float) -> str:
    """Run name of a logistic-regression run, e.g. ``raw_lr1e-03_l21e-05``."""
    return f"{features}_lr{lr:.0e}_l2{l2:.0e}"


def _run_linear(ctx: Context, run: str, model: str, features: str, lr: float | None = None,
                l2: float | None = None) -> None:
    if ctx.done(run):
        return
    data = ctx.data
    (Xtr, Xdv, Xte), info, built_s = _FEATURES.get(data, features)
    D = Xtr.shape[1]
    m = Perceptron(D) if model == "perceptron" else LogisticRegression(D, lr=lr, l2=l2)
    epochs = EPOCHS[ctx.profile]
    started = results.now()
    t0 = time.perf_counter()
    r = fit(m, (Xtr, data.train.y), (Xdv, data.dev.y), (Xte, data.test.y), epochs=epochs,
            seed=ctx.seed, desc=f"{ctx.experiment}/{run}")
    config = {"model": model, "features": features, "feature_label": info["label"],
              "n_features": D, "n_classes": 26, "epochs": epochs, "batch_size": 1, "seed": ctx.seed,
              "init": "zeros", "bias": "constant-1 feature (last row of W)"}
    if model == "logreg":
        config.update(lr=lr, l2=l2, l2_convention="step adds l2*W (objective + l2/2*||W||^2)")
    else:
        config.update(lr=1.0)
    summary = {**r.summary(), **{k: v for k, v in info.items() if k != "label"}}
    ctx.save(run, config=config, history=r.history, summary=summary,
             wall_time_s=time.perf_counter() - t0 + built_s, arrays=_f32(r.best_state), started=started)


@experiment("q1.perceptron", help="Q1.1 multi-class perceptron, raw pixels, 20 epochs")
def perceptron(ctx: Context) -> None:
    _run_linear(ctx, "perceptron", "perceptron", "raw")


@experiment("q1.logreg", help="Q1.2(a) logistic regression, lr 1e-4, l2 1e-5, 20 epochs")
def logreg(ctx: Context) -> None:
    _run_linear(ctx, "logreg", "logreg", "raw", **LOGREG_A)


@experiment("q1.features", help="Q1.2(b) feature maps x 3 learning rates (logistic regression)")
def features(ctx: Context) -> None:
    for f in FEATURES:
        for lr in FEATURE_LRS:
            _run_linear(ctx, run_name(f, lr, FEATURE_L2), "logreg", f, lr, FEATURE_L2)


@experiment("q1.grid", help="Q1.2(c) 3 lr x 2 l2 x {raw, 2x2 max pooling} = 12 runs (resumable)")
def grid(ctx: Context) -> None:
    for f in GRID_FEATURES:
        for lr in GRID_LRS:
            for l2 in GRID_L2S:
                _run_linear(ctx, run_name(f, lr, l2), "logreg", f, lr, l2)


@experiment("q1.grid_hog", help="Q1.2(c) the grid's 3 lr x 2 l2 settings with HOG features (our (b) proposal)")
def grid_hog(ctx: Context) -> None:
    for lr in GRID_LRS:
        for l2 in GRID_L2S:
            _run_linear(ctx, run_name(PROPOSED_FEATURES, lr, l2), "logreg", PROPOSED_FEATURES, lr, l2)


@experiment("q1.mlp", help="Q1.3 MLP, 100 relu units, SGD bs 1, lr 1e-3, 20 epochs")
def mlp(ctx: Context) -> None:
    run = "mlp_h100"
    if ctx.done(run):
        return
    data = ctx.data
    from hwlib.data import course_view
    Xtr, Xdv, Xte = (course_view(s.X) for s in (data.train, data.dev, data.test))
    cfg = MLP_CONFIG
    model = MLP(Xtr.shape[1], cfg["hidden"], 26, lr=cfg["lr"], seed=ctx.seed,
                init_mean=cfg["init_mean"], init_std=cfg["init_std"])
    epochs = EPOCHS[ctx.profile]
    started = results.now()
    t0 = time.perf_counter()
    r = fit(model, (Xtr, data.train.y), (Xdv, data.dev.y), (Xte, data.test.y), epochs=epochs,
            seed=ctx.seed, desc=f"{ctx.experiment}/{run}")
    config = {"model": "mlp", "features": "raw", "n_features": Xtr.shape[1], "n_classes": 26,
              "epochs": epochs, "batch_size": 1, "seed": ctx.seed, **cfg, "activation": "relu",
              "init": f"weights ~ N({cfg['init_mean']}, {cfg['init_std']}^2), biases 0"}
    ctx.save(run, config=config, history=r.history, summary=r.summary(),
             wall_time_s=time.perf_counter() - t0, arrays=_f32(r.best_state), started=started)


# ------------------------------------------------------------------------------ chapter helpers
def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.{digits}f}%"


def record(records: list[dict], run: str | None = None) -> dict:
    """The record of ``run`` (or the first one) among ``records``; a ResultError if absent."""
    from hwlib.errors import ResultError
    for r in records:
        if run is None or r["run"] == run:
            return r
    raise ResultError(f"no record{' ' + repr(run) if run else ''} among {len(records)} records; "
                      "run the experiment (python -m hwlib run q1.<name>)")


def curves_figure(record: dict, title: str | None = None):
    """Plotly figure: train and dev accuracy per epoch, the best-dev epoch marked, test accuracy
    of that checkpoint in the legend; with a second panel for the train loss when recorded."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    h, s = record["history"], record["summary"]
    has_loss = "train_loss" in h
    fig = make_subplots(rows=1, cols=2 if has_loss else 1, horizontal_spacing=0.12,
                        subplot_titles=("accuracy", "train loss (mean over the epoch)") if has_loss else None)
    fig.add_trace(go.Scatter(x=h["epoch"], y=h["train_acc"], name="train", mode="lines+markers"), 1, 1)
    fig.add_trace(go.Scatter(x=h["epoch"], y=h["dev_acc"], name="validation", mode="lines+markers"), 1, 1)
    be = s["best_epoch"]
    fig.add_trace(go.Scatter(x=[be], y=[s["best_dev_acc"]], mode="markers", name=(
        f"best validation {_pct(s['best_dev_acc'])} (epoch {be}); its test accuracy {_pct(s['test_acc'])}"),
        marker=dict(symbol="star", size=16, color="crimson")), 1, 1)
    fig.add_vline(x=be, line_dash="dot", line_color="crimson", row=1, col=1)
    if has_loss:
        fig.add_trace(go.Scatter(x=h["epoch"], y=h["train_loss"], name="train loss",
                                 mode="lines+markers", line_color="gray"), 1, 2)
        fig.update_yaxes(title_text="cross-entropy", row=1, col=2)
        fig.update_xaxes(title_text="epoch", row=1, col=2)
    fig.update_xaxes(title_text="epoch", row=1, col=1)
    fig.update_yaxes(title_text="accuracy", tickformat=".0%", row=1, col=1)
    fig.update_layout(title=title or record["run"], height=420, legend=dict(orientation="h", y=-0.25),
                      margin=dict(t=70))
    return fig


def result_line(record: dict, report_key: str) -> str:
    """Markdown sentence: our best validation epoch/accuracy and test accuracy beside the report's."""
    s, rep = record["summary"], REPORT[report_key]
    d = 100 * (s["test_acc"] - rep["test_acc"])
    return (f"**Ours:** best validation accuracy {_pct(s['best_dev_acc'])} at epoch {s['best_epoch']} "
            f"of {s['epochs']}; test accuracy of that checkpoint **{_pct(s['test_acc'])}**. "
            f"**Report (real EMNIST):** validation {_pct(rep['best_dev_acc'])} at epoch {rep['best_epoch']}, "
            f"test {_pct(rep['test_acc'])} — a difference of {d:+.1f} points on test.")


def _grid_key(rec: dict) -> tuple:
    c = rec["config"]
    return (c["features"], float(c["lr"]), float(c["l2"]))


def best_run(records: list[dict]) -> dict:
    """The run with the highest best-validation accuracy (first in run order on ties)."""
    return max(records, key=lambda r: r["summary"]["best_dev_acc"])


def grid_table(records: list[dict]):
    """HTML table of the grid: each run's best validation accuracy (and epoch), the report's value
    for the same setting, and test accuracy; the best run (by validation) in bold."""
    from hwlib.book import html_table
    order = {f: i for i, f in enumerate(GRID_FEATURES + (PROPOSED_FEATURES,))}
    recs = sorted(records, key=lambda r: (order.get(r["config"]["features"], 99), *_grid_key(r)[1:]))
    best = best_run(recs)
    rows = []
    for r in recs:
        f, lr, l2 = _grid_key(r)
        s = r["summary"]
        rows.append([r["config"]["feature_label"], f"{lr:g}", f"{l2:g}", f"{s['best_dev_acc']:.4f}",
                     s["best_epoch"], f"{s['test_acc']:.4f}" if r is best else "",
                     f"{REPORT['grid'][(f, lr, l2)]:.4f}" if (f, lr, l2) in REPORT["grid"] else "—"])
    in_report = any(_grid_key(r) in REPORT["grid"] for r in recs)
    return html_table(["features", "lr", "ℓ2", "best validation (ours)", "at epoch",
                       "test (best run)", "best validation (report)"], rows,
                      highlight={recs.index(best)},
                      caption=f"Best run: {best['run']} — test accuracy {_pct(best['summary']['test_acc'])}"
                              + (f" (report's best run: {_pct(REPORT['grid_best_test_acc'])})." if in_report else "."))


def grid_heatmap(records: list[dict], extra: list[dict] | None = None):
    """Plotly heatmap of best validation accuracy: rows = features, columns = (lr, ℓ2). The best of
    ``records`` (the assignment's grid) is outlined in crimson with its test accuracy; rows from
    ``extra`` (e.g. the same settings with HOG) are added below, their best outlined in orange."""
    import plotly.graph_objects as go
    extra = list(extra or [])
    allrecs = list(records) + extra
    order = GRID_FEATURES + (PROPOSED_FEATURES,)
    present = {r["config"]["features"] for r in allrecs}
    feats = [f for f in order if f in present] + sorted(present - set(order))
    cols = [(lr, l2) for lr in GRID_LRS for l2 in GRID_L2S]
    Z = np.full((len(feats), len(cols)), np.nan)
    labels = {}
    for r in allrecs:
        f, lr, l2 = _grid_key(r)
        if (lr, l2) in cols:
            Z[feats.index(f), cols.index((lr, l2))] = r["summary"]["best_dev_acc"]
            labels[f] = r["config"]["feature_label"]
    xl = [f"lr {lr:g}<br>ℓ2 {l2:g}" for lr, l2 in cols]
    yl = [labels.get(f, f) for f in feats]
    text = [[("" if np.isnan(v) else f"{v:.4f}") for v in row] for row in Z]
    fig = go.Figure(go.Heatmap(z=Z, x=xl, y=yl, text=text, texttemplate="%{text}", colorscale="Viridis",
                               colorbar=dict(title="best val.", tickformat=".0%")))
    title = []
    for recs, color, what in ((records, "crimson", "best of the grid"), (extra, "orange", "best with HOG")):
        if not recs:
            continue
        best = best_run(recs)
        bf, blr, bl2 = _grid_key(best)
        bi, bj = feats.index(bf), cols.index((blr, bl2))
        fig.add_shape(type="rect", x0=bj - 0.5, x1=bj + 0.5, y0=bi - 0.5, y1=bi + 0.5,
                      line=dict(color=color, width=4))
        title.append(f"{what} ({color}): test {_pct(best['summary']['test_acc'])}")
    fig.update_layout(title="Best validation accuracy per run — " + "; ".join(title),
                      height=260 + 45 * len(feats), margin=dict(t=60))
    return fig


def feature_summary(records: list[dict]) -> list[dict]:
    """Per feature map: its best run over the learning rates, with dimension and timings."""
    out = {}
    for r in records:
        f = r["config"]["features"]
        if f not in out or r["summary"]["best_dev_acc"] > out[f]["summary"]["best_dev_acc"]:
            out[f] = r
    rows = []
    for f in [f for f in FEATURES if f in out] + [f for f in out if f not in FEATURES]:
        r = out[f]
        s = r["summary"]
        same = [x for x in records if x["config"]["features"] == f]
        rows.append({"features": f, "label": r["config"]["feature_label"], "dim": s["dim"],
                     "best_dev_acc": s["best_dev_acc"], "lr": r["config"]["lr"], "test_acc": s["test_acc"],
                     "epoch_time_s": float(np.mean([x["summary"]["mean_epoch_time_s"] for x in same])),
                     "feature_time_s": s["feature_time_s"],
                     "dev_by_lr": {x["config"]["lr"]: x["summary"]["best_dev_acc"] for x in same},
                     "explained_variance": s.get("explained_variance")})
    return rows


def feature_table(records: list[dict]):
    """HTML table comparing the feature maps: dimension, best validation accuracy per learning rate,
    training time per epoch (relative to raw pixels) and the one-off cost of computing the features."""
    from hwlib.book import html_table
    rows = feature_summary(records)
    raw_t = next((r["epoch_time_s"] for r in rows if r["features"] == "raw"), None)
    best_i = max(range(len(rows)), key=lambda i: rows[i]["best_dev_acc"])
    body = []
    for r in rows:
        label = r["label"] + (f" ({100 * r['explained_variance']:.0f}% variance)"
                              if r["explained_variance"] is not None else "")
        body.append([label, r["dim"]] + [f"{r['dev_by_lr'].get(lr, float('nan')):.4f}" for lr in FEATURE_LRS]
                    + [f"{r['epoch_time_s']:.2f} s" + (f" ({r['epoch_time_s'] / raw_t:.2f}×)" if raw_t else ""),
                       f"{r['feature_time_s']:.1f} s"])
    return html_table(["features", "dimension"] + [f"best val., lr {lr:g}" for lr in FEATURE_LRS]
                      + ["train time / epoch", "feature extraction (all splits)"], body, highlight={best_i},
                      caption=f"Logistic regression, ℓ2 {FEATURE_L2:g}; bold: the highest validation accuracy.")


def feature_tradeoff_figure(records: list[dict]):
    """Plotly scatter: best validation accuracy against training time per epoch, one point per
    feature map, labelled with its dimension."""
    import plotly.graph_objects as go
    rows = feature_summary(records)
    fig = go.Figure(go.Scatter(
        x=[r["epoch_time_s"] for r in rows], y=[r["best_dev_acc"] for r in rows], mode="markers+text",
        text=[f"{r['features']} (D={r['dim']})" for r in rows], textposition="top center",
        marker=dict(size=[8 + 4 * math.log2(max(r["dim"], 1)) for r in rows])))
    fig.update_layout(title="Feature maps: accuracy against cost", height=380,
                      xaxis_title="training time per epoch (s)", yaxis_title="best validation accuracy",
                      yaxis_tickformat=".0%")
    return fig


def feature_pictures(data, n: int = 6, names=FEATURES, seed: int = 0):
    """Matplotlib figure: ``n`` training letters (rows = feature maps) as each map sees them."""
    import matplotlib.pyplot as plt
    from hwlib.data import LETTERS
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data.train), size=min(n, len(data.train)), replace=False)
    X, y = data.train.X[idx], data.train.y[idx]
    fig, axes = plt.subplots(len(names), len(idx), figsize=(1.4 * len(idx), 1.5 * len(names)),
                             squeeze=False)
    for i, name in enumerate(names):
        fmap = make_feature(name).fit(data.train.X)
        pics = fmap.picture(X)
        dim = fmap.transform(X[:1]).shape[1]
        for j in range(len(idx)):
            ax = axes[i, j]
            ax.imshow(pics[j], cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"'{LETTERS[y[j]]}'")
            if j == 0:
                ax.set_ylabel(f"{name}\n{dim} values", fontsize=9)
    fig.tight_layout()
    return fig


def comparison_table(perceptron: dict, logreg: dict, grid_records: list[dict], mlp: dict,
                     hog_records: list[dict] | None = None):
    """HTML table: every Q1 number we got beside the report's (test accuracy of best checkpoints);
    with ``hog_records``, a row for the grid's settings with HOG features (no report counterpart)."""
    from hwlib.book import html_table
    g = best_run(grid_records)
    rep = REPORT
    rep_best = max(rep["grid"].items(), key=lambda kv: kv[1])
    rows = [
        ["1 perceptron", f"{_pct(perceptron['summary']['best_dev_acc'])} @ {perceptron['summary']['best_epoch']}",
         _pct(perceptron["summary"]["test_acc"]), f"{_pct(rep['perceptron']['best_dev_acc'])} @ 6",
         _pct(rep["perceptron"]["test_acc"])],
        ["2(a) logistic regression", f"{_pct(logreg['summary']['best_dev_acc'])} @ {logreg['summary']['best_epoch']}",
         _pct(logreg["summary"]["test_acc"]), f"{_pct(rep['logreg']['best_dev_acc'])} @ 20",
         _pct(rep["logreg"]["test_acc"])],
        [f"2(c) best grid run ({g['run']})", f"{_pct(g['summary']['best_dev_acc'], 2)} @ {g['summary']['best_epoch']}",
         _pct(g["summary"]["test_acc"]), f"{_pct(rep_best[1], 2)} (raw, lr {rep_best[0][1]:g}, ℓ2 {rep_best[0][2]:g})",
         _pct(rep["grid_best_test_acc"])],
        ["3 MLP (100 relu)", f"{_pct(mlp['summary']['best_dev_acc'])} @ {mlp['summary']['best_epoch']}",
         _pct(mlp["summary"]["test_acc"]), f"{_pct(rep['mlp']['best_dev_acc'])} @ 20", _pct(rep["mlp"]["test_acc"])],
    ]
    if hog_records:
        h = best_run(hog_records)
        rows.insert(3, [f"2(c) same settings, HOG features ({h['run']})",
                        f"{_pct(h['summary']['best_dev_acc'], 2)} @ {h['summary']['best_epoch']}",
                        _pct(h["summary"]["test_acc"]), "— (not in the report)", "—"])
    ds = perceptron["dataset"]["name"]
    return html_table(["question", "best validation @ epoch (ours)", "test (ours)",
                       "best validation @ epoch (report)", "test (report)"], rows,
                      caption=f"Ours: {ds}, profile {perceptron['profile']}. Report: real EMNIST Letters.")


def feature_verdict(records: list[dict]) -> str:
    """Markdown: which feature map is most accurate, and which is cheapest without losing accuracy
    (within one point of raw pixels), computed from the records."""
    rows = {r["features"]: r for r in feature_summary(records)}
    best = max(rows.values(), key=lambda r: r["best_dev_acc"])
    raw = rows.get("raw")
    out = [f"Most accurate: **{best['label']}** ({best['dim']} values), best validation accuracy "
           f"{_pct(best['best_dev_acc'])} at lr {best['lr']:g}"]
    if raw is not None:
        out[0] += (f", against {_pct(raw['best_dev_acc'])} for raw pixels "
                   f"({100 * (best['best_dev_acc'] - raw['best_dev_acc']):+.1f} points), at "
                   f"{best['epoch_time_s'] / raw['epoch_time_s']:.2f}× raw's training time per epoch.")
        cheap = [r for r in rows.values() if r["features"] != "raw"
                 and r["best_dev_acc"] >= raw["best_dev_acc"] - 0.01]
        if cheap:
            c = min(cheap, key=lambda r: r["epoch_time_s"])
            out.append(f"Cheapest without losing more than a point against raw pixels: **{c['label']}** "
                       f"({c['dim']} values, {c['epoch_time_s'] / raw['epoch_time_s']:.2f}× raw's time "
                       f"per epoch, validation {_pct(c['best_dev_acc'])}).")
        else:
            out.append("No cheaper map stays within a point of raw pixels.")
        mp = rows.get("maxpool2")
        if mp is not None:
            out.append(f"The report's choice, 2×2 max pooling: {_pct(mp['best_dev_acc'])} "
                       f"({100 * (mp['best_dev_acc'] - raw['best_dev_acc']):+.1f} points against raw) at "
                       f"{mp['epoch_time_s'] / raw['epoch_time_s']:.2f}× the time per epoch.")
    return " ".join(out)


def grid_verdict(records: list[dict], extra: list[dict] | None = None) -> str:
    """Markdown: the best run of the assignment's grid and its test accuracy, the best run of the
    ``extra`` runs (the same settings with HOG) against it, and the best setting per feature map."""
    extra = list(extra or [])
    best = best_run(records)
    f, lr, l2 = _grid_key(best)
    out = [f"Best run by validation accuracy: **{best['config']['feature_label']}, lr {lr:g}, ℓ2 {l2:g}** — "
           f"validation {_pct(best['summary']['best_dev_acc'], 2)} at epoch {best['summary']['best_epoch']}, "
           f"**test {_pct(best['summary']['test_acc'], 2)}** (report: raw pixels, lr 0.001, ℓ2 0.0001, "
           f"validation 71.95%, test {_pct(REPORT['grid_best_test_acc'])})."]
    if extra:
        h = best_run(extra)
        out.append(f"With {h['config']['feature_label']} (our proposal in (b)), the best of the same six settings "
                   f"is lr {h['config']['lr']:g}, ℓ2 {h['config']['l2']:g}: validation "
                   f"{_pct(h['summary']['best_dev_acc'], 2)}, **test {_pct(h['summary']['test_acc'], 2)}** "
                   f"({100 * (h['summary']['test_acc'] - best['summary']['test_acc']):+.1f} points against the "
                   f"best of the 12).")
    allrecs = list(records) + extra
    for feat in [f for f in GRID_FEATURES + (PROPOSED_FEATURES,) if any(r["config"]["features"] == f for r in allrecs)]:
        rs = [r for r in allrecs if r["config"]["features"] == feat]
        if rs:
            b = best_run(rs)
            spread = max(r["summary"]["best_dev_acc"] for r in rs) - min(r["summary"]["best_dev_acc"] for r in rs)
            l2gap = max(abs(r["summary"]["best_dev_acc"] - s["summary"]["best_dev_acc"])
                        for r in rs for s in rs if r["config"]["lr"] == s["config"]["lr"])
            out.append(f"{b['config']['feature_label']}: best at lr {b['config']['lr']:g}; validation "
                       f"accuracies span {100 * spread:.1f} points across learning rates, while the two ℓ2 "
                       f"values at the same learning rate differ by at most {100 * l2gap:.2f} points.")
    return " ".join(out)


def initial_logits(data, n: int = 200, seed: int = 42) -> str:
    """Markdown: the scale of the MLP's first outputs under the N(0.1, 0.1²) initialisation."""
    from hwlib.data import course_view
    X = course_view(data.train.X[:n])
    m = MLP(784, MLP_CONFIG["hidden"], 26, seed=seed, init_mean=MLP_CONFIG["init_mean"],
            init_std=MLP_CONFIG["init_std"])
    zs, _ = m.forward(X)
    h, out = zs[0], zs[-1]
    y = data.train.y[:n]
    trail = out.max(axis=1) - out[np.arange(len(y)), y]
    ce = np.mean([m.loss(x, t) for x, t in zip(X, y)])
    return (f"On {n} training letters ({100 * np.mean(X > 0):.0f}% of their pixels non-zero), the "
            f"untrained network's hidden pre-activations average "
            f"{h.mean():.1f} ({100 * np.mean(h > 0):.0f}% positive), its output scores average "
            f"{out.mean():.0f} with a spread (standard deviation across the 26 classes) of "
            f"{out.std(axis=1).mean():.1f}, and the correct class trails the top score by {trail.mean():.1f} "
            f"on average: from the start the softmax gives the correct class almost no probability, and "
            f"the mean cross-entropy is {ce:.1f} "
            f"(a uniform guess would give ln 26 = {np.log(26):.2f}).")
