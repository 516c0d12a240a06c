"""Question 1's tables, figures and facts, computed from recorded runs.

Facts are dicts of numbers and short labels; the chapter writes the sentences around them
(``book.facts``, read by ``{eval}`` roles). Thresholds that decide a label are named parameters.
"""
from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd

from hwlib.constants import LETTERS
from hwlib.data.features import FEATURES, make_feature
from hwlib.errors import ResultError
from hwlib.experiments.q1 import FEATURE_L2, FEATURE_LRS, GRID_FEATURES, GRID_L2S, GRID_LRS, PROPOSED_FEATURES
from hwlib.report.common import best_run
from hwlib.report.common import COLUMN_IN, FIG_FONT_PT, polish
from hwlib.report import original
from hwlib.report.claims import Claim, Kind, Status
from hwlib.report.fmt import acc, fmt, hp_words, pct, pow10, signed
from hwlib.report.frame import best, records_frame, table

REPORT_DEV_N = 20_800          # the report's validation split (the course's): images
NOISE_SE = 2.0                 # a difference beyond this many standard errors of an accuracy is real


def _short(label: str) -> str:
    """A feature map's label without its parameters: "HOG (7px cells, …)" -> "HOG"."""
    return label.split(" (")[0]


def record(records: list[dict], run: str | None = None) -> dict:
    """The record of ``run`` (or the first one) among ``records``; a ResultError if absent."""
    for r in records:
        if run is None or r["run"] == run:
            return r
    raise ResultError(f"no record{' ' + repr(run) if run else ''} among {len(records)} records; "
                      "run the experiment (python -m hwlib run q1.<name>)")


def _with_words(facts: dict) -> dict:
    """Each learning-rate or ℓ2 fact ``*_lr`` / ``*_l2`` also as ``*_lr_h`` / ``*_l2_h``, written for people
    ("10⁻³"), for the chapter's sentences."""
    return {**facts, **{f"{k}_h": pow10(v) for k, v in facts.items()
                        if re.search(r"_(lr|l2)$", k) and isinstance(v, (int, float))}}


def _grid_key(rec: dict) -> tuple:
    c = rec["config"]
    return (c["features"], float(c["lr"]), float(c["l2"]))


# ------------------------------------------------------------------------------ facts
def run_facts(rec: dict, report_key: str) -> dict:
    """One run's answer beside the report's: best validation accuracy and epoch, epochs, test
    accuracy of that checkpoint (``dev``, ``epoch``, ``epochs``, ``test``), the report's numbers as
    it prints them (``report_test``, and ``report_dev``/``report_epoch`` where it prints them), and
    other groups' (``other_dev``, ``other_epoch``, ``other_test``) where the book quotes them."""
    s = rec["summary"]
    out = {"dev": s["best_dev_acc"], "epoch": s["best_epoch"], "epochs": rec["config"]["epochs"],
           "test": s["test_acc"]}
    for prefix, source in (("report", original.Q1), ("other", original.Q1_OTHER_GROUPS)):
        for key, name in (("best_dev_acc", "dev"), ("best_epoch", "epoch"), ("test_acc", "test")):
            if key in source.get(report_key, {}):
                out[f"{prefix}_{name}"] = source[report_key][key]
    return out


def feature_summary(records: list[dict]) -> list[dict]:
    """Per feature map: its best run over the learning rates, with dimension and timings."""
    out = {}
    for r in records:
        out.setdefault(r["config"]["features"], []).append(r)
    rows = []
    for f in [f for f in FEATURES if f in out] + [f for f in out if f not in FEATURES]:
        b = best_run(out[f])
        s = b["summary"]
        rows.append({"features": f, "label": b["config"]["feature_label"], "dim": s["dim"],
                     "best_dev_acc": s["best_dev_acc"], "lr": b["config"]["lr"], "test_acc": s["test_acc"],
                     "epoch_time_s": float(np.mean([x["summary"]["mean_epoch_time_s"] for x in out[f]])),
                     "feature_time_s": s["feature_time_s"],
                     "dev_by_lr": {x["config"]["lr"]: x["summary"]["best_dev_acc"] for x in out[f]},
                     "explained_variance": s.get("explained_variance")})
    return rows


def feature_facts(records: list[dict], tolerance: float = 0.01) -> dict:
    """The most accurate feature map, the cheapest one within ``tolerance`` of raw pixels' best
    validation accuracy (``cheap_label`` is "none" when no map qualifies), and the report's
    2×2 max pooling — each with its accuracy, gain over raw pixels in points and time ratio."""
    rows = {r["features"]: r for r in feature_summary(records)}
    raw = rows["raw"]

    def about(prefix: str, r: dict) -> dict:
        return {f"{prefix}_label": r["label"], f"{prefix}_dim": r["dim"], f"{prefix}_dev": r["best_dev_acc"],
                f"{prefix}_lr": r["lr"], f"{prefix}_gain_pts": 100 * (r["best_dev_acc"] - raw["best_dev_acc"]),
                f"{prefix}_time_ratio": r["epoch_time_s"] / raw["epoch_time_s"]}

    out = {"raw_dev": raw["best_dev_acc"], "tolerance_pts": 100 * tolerance,
           **about("best", max(rows.values(), key=lambda r: r["best_dev_acc"]))}
    cheap = [r for r in rows.values() if r["features"] != "raw" and r["best_dev_acc"] >= raw["best_dev_acc"] - tolerance]
    if cheap:
        out.update(about("cheap", min(cheap, key=lambda r: r["epoch_time_s"])))
    else:
        out["cheap_label"] = "none"
    if "maxpool2" in rows:
        out.update(about("maxpool", rows["maxpool2"]))
    return _with_words(out)


def grid_facts(records: list[dict], extra: list[dict] | None = None) -> dict:
    """The best run of the assignment's grid (``best_*``), the report's best setting
    (``report_*``), the best of the ``extra`` runs (the same settings with HOG, ``hog_*``), and per
    feature map its best learning rate, the spread of validation accuracy across learning rates
    and the largest difference between the two ℓ2 values at one learning rate (in points)."""
    b = best_run(records)
    (rf, rlr, rl2), rdev = max(original.Q1_GRID.items(), key=lambda kv: kv[1])
    out = {"best_label": b["config"]["feature_label"], "best_lr": b["config"]["lr"], "best_l2": b["config"]["l2"],
           "best_dev": b["summary"]["best_dev_acc"], "best_epoch": b["summary"]["best_epoch"],
           "best_test": b["summary"]["test_acc"], "report_features": rf, "report_lr": rlr, "report_l2": rl2,
           "report_dev": rdev, "report_test": original.Q1_GRID_BEST_TEST}
    extra = list(extra or [])
    if extra:
        h = best_run(extra)
        out.update(hog_lr=h["config"]["lr"], hog_l2=h["config"]["l2"], hog_dev=h["summary"]["best_dev_acc"],
                   hog_test=h["summary"]["test_acc"],
                   hog_vs_best_pts=100 * (h["summary"]["test_acc"] - b["summary"]["test_acc"]))
    for r0 in records + extra:
        f = r0["config"]["features"]
        if f"{f}_best_lr" in out:
            continue
        rs = [r for r in records + extra if r["config"]["features"] == f]
        devs = [r["summary"]["best_dev_acc"] for r in rs]
        out[f"{f}_best_lr"] = best_run(rs)["config"]["lr"]
        out[f"{f}_lr_spread_pts"] = 100 * (max(devs) - min(devs))
        out[f"{f}_l2_gap_pts"] = 100 * max(abs(r["summary"]["best_dev_acc"] - q["summary"]["best_dev_acc"])
                                           for r in rs for q in rs if r["config"]["lr"] == q["config"]["lr"])
    return _with_words(out)


def findings(recs: dict[str, list[dict]]) -> dict:
    """What Question 1 found, for the chapter's closing summary and the intro's headline table:
    ``recs`` maps experiment names ("q1.perceptron", "q1.logreg", "q1.features", "q1.grid",
    "q1.grid_hog", "q1.mlp") to their records. Test accuracies of best-validation checkpoints
    (``*_test``) beside the report's (``*_report``), the best grid run's settings in words, the
    HOG runs' gain, and how many of the report's Q1 claims its own numbers contradict."""
    perc, logreg = record(recs["q1.perceptron"], "perceptron"), record(recs["q1.logreg"], "logreg")
    mlp = record(recs["q1.mlp"], "mlp_h100")
    grid = best_run(recs["q1.grid"])
    claims = report_claims(recs.get("q1.features") or [])
    out = {"data": perc["dataset"]["name"], "synthetic": bool(perc["dataset"].get("synthetic")),
           "perceptron_test": perc["summary"]["test_acc"], "perceptron_report": original.Q1["perceptron"]["test_acc"],
           "logreg_test": logreg["summary"]["test_acc"], "logreg_report": original.Q1["logreg"]["test_acc"],
           "mlp_test": mlp["summary"]["test_acc"], "mlp_report": original.Q1["mlp"]["test_acc"],
           "mlp_gain_pts": 100 * (mlp["summary"]["test_acc"] - logreg["summary"]["test_acc"]),
           "grid_test": grid["summary"]["test_acc"], "grid_report": original.Q1_GRID_BEST_TEST,
           "grid_hp": hp_words(grid["config"]),
           "claims": len(claims), "contradicted": sum(c.status is Status.WRONG for c in claims),
           "partly": sum(c.status is Status.PARTLY for c in claims)}
    if recs.get("q1.grid_hog"):
        hog = best_run(recs["q1.grid_hog"])
        out.update(hog_test=hog["summary"]["test_acc"], hog_hp=hp_words(hog["config"]),
                   hog_vs_grid_pts=100 * (hog["summary"]["test_acc"] - grid["summary"]["test_acc"]))
    return out


# ------------------------------------------------------------------------------ tables
def grid_table(records: list[dict]):
    """The grid: each run's best validation accuracy (and epoch), the report's value for the same
    setting, and the test accuracy of the best run (by validation), which is bold."""
    order = {f: i for i, f in enumerate(GRID_FEATURES + (PROPOSED_FEATURES,))}
    f = records_frame(records)
    f = f.assign(order=f["features"].map(order).fillna(len(order))).sort_values(["order", "lr", "l2"])
    top = best(f)
    report = [original.Q1_GRID.get(k) for k in zip(f["features"], f["lr"], f["l2"])]
    shown = pd.DataFrame({"features": f["feature_label"], "lr": f["lr"], "ℓ2": f["l2"],
                          "best validation (ours)": f["dev"], "at epoch": f["epoch"],
                          "test (best run)": f["test"].where(f["run"] == top["run"]),
                          "best validation (report)": report})
    in_report = any(v is not None for v in report)
    return table(shown, bold=f["run"] == top["run"],
                 formats={"lr": pow10, "ℓ2": pow10, "best validation (ours)": acc, "test (best run)": acc,
                          "best validation (report)": acc},
                 caption=f"Best run: {hp_words(top['record']['config'])} — test accuracy {acc(top['test'])}"
                         + (f" (report's best run, real EMNIST: {acc(original.Q1_GRID_BEST_TEST)})."
                            if in_report else "."))


def feature_table(records: list[dict]):
    """The feature maps side by side: dimension, best validation accuracy per learning rate, training
    time per epoch (relative to raw pixels) and the one-off cost of computing the features."""
    rows = pd.DataFrame(feature_summary(records))
    raw_t = rows.loc[rows["features"] == "raw", "epoch_time_s"]
    raw_t = float(raw_t.iloc[0]) if len(raw_t) else None
    shown = pd.DataFrame({
        "features": [r.label + (f" ({fmt(r.explained_variance, 'share')} variance)"
                                if pd.notna(r.explained_variance) else "")
                     for r in rows.itertuples()],
        "dimension": rows["dim"],
        **{f"best val., lr {pow10(lr)}": [d.get(lr) for d in rows["dev_by_lr"]] for lr in FEATURE_LRS},
        "train time / epoch": [f"{t:.2f} s" + (f" ({t / raw_t:.2f}×)" if raw_t else "") for t in rows["epoch_time_s"]],
        "feature extraction (all splits)": [f"{t:.1f} s" for t in rows["feature_time_s"]]})
    return table(shown, bold=rows["best_dev_acc"] == rows["best_dev_acc"].max(),
                 formats={f"best val., lr {pow10(lr)}": acc for lr in FEATURE_LRS},
                 caption=f"Logistic regression, ℓ2 {pow10(FEATURE_L2)}; bold: the highest validation accuracy.")


def comparison_table(perceptron: dict, logreg: dict, grid_records: list[dict], mlp: dict,
                     hog_records: list[dict] | None = None):
    """HTML table: every Q1 number we got beside the report's (test accuracy of best checkpoints);
    with ``hog_records``, a row for the grid's settings with HOG features (no report counterpart)."""
    def ours(r: dict) -> list:
        s = r["summary"]
        return [f"{acc(s['best_dev_acc'])} @ {s['best_epoch']}", acc(s["test_acc"])]

    def theirs(key: str) -> list:
        rep, other = original.Q1[key], original.Q1_OTHER_GROUPS.get(key, {})
        dev = (f"{acc(rep['best_dev_acc'])} @ {rep['best_epoch']}" if "best_dev_acc" in rep else
               f"not printed (other groups: {acc(other['best_dev_acc'])} @ {other['best_epoch']})")
        return [dev, acc(rep["test_acc"])]

    g = best_run(grid_records)
    (rf, rlr, rl2), rdev = max(original.Q1_GRID.items(), key=lambda kv: kv[1])
    rows = [["1 perceptron", *ours(perceptron), *theirs("perceptron")],
            ["2(a) logistic regression", *ours(logreg), *theirs("logreg")],
            [f"2(c) best grid run ({hp_words(g['config'])})",
             *ours(g), f"{acc(rdev)} ({rf}, lr {pow10(rlr)}, ℓ2 {pow10(rl2)})", acc(original.Q1_GRID_BEST_TEST)],
            ["3 MLP (100 relu)", *ours(mlp), *theirs("mlp")]]
    if hog_records:
        h = best_run(hog_records)
        rows.insert(3, [f"2(c) same settings, HOG features (lr {pow10(h['config']['lr'])}, ℓ2 {pow10(h['config']['l2'])})",
                        *ours(h), "— (not in the report)", "—"])
    ds = perceptron["dataset"]["name"]
    return table(pd.DataFrame(rows, columns=["question", "best validation @ epoch (ours)", "test (ours)",
                                             "best validation @ epoch (report)", "test (report)"]),
                 caption=f"Ours: {ds}, profile {perceptron['profile']}. Report: real EMNIST Letters "
                         "— a different dataset.")


# ------------------------------------------------------------------------------ the report's claims
def report_claims(feature_records: list[dict]) -> list[Claim]:
    """The report's Q1 claims about its feature map, each a ``Claim``.

    What max pooling costs in accuracy is decided by the report's own grid (data-independent): the loss
    is real when it exceeds ``NOISE_SE`` standard errors of a validation accuracy on the report's
    validation split. The time ratio is set beside ours: how much cheaper an epoch gets depends on
    the dimension, not on the data, but the seconds depend on the machine."""
    grid = original.Q1_GRID
    best = {feat: max(v for k, v in grid.items() if k[0] == feat) for feat in GRID_FEATURES}
    loss = 100 * (best["maxpool2"] - best["raw"])
    per_lr = {x: 100 * (max(grid["maxpool2", x, y] for y in GRID_L2S) - max(grid["raw", x, y] for y in GRID_L2S))
              for x in GRID_LRS}
    raw_by_lr = [max(grid["raw", x, y] for y in GRID_L2S) for x in GRID_LRS]
    lr_effect = 100 * (max(raw_by_lr) - min(raw_by_lr))
    p = best["raw"]
    noise = 100 * NOISE_SE * math.sqrt(p * (1 - p) / REPORT_DEV_N)
    real = abs(loss) > noise
    out = [Claim(
        "q1.pooling_loss", "1.2(b)", Kind.DATA_INDEPENDENT,
        f"2×2 max pooling trains faster with {original.Q1_POOLING_LOSS}.",
        Status.PARTLY if real else Status.HOLDS,
        "holds in part: the loss is real, and small beside the learning rate's effect" if real else "holds",
        f"Its best validation accuracy: raw pixels {best['raw']:.4f}, max pooling {best['maxpool2']:.4f} "
        f"({signed(loss)} points); per learning rate " + ", ".join(f"lr {pow10(x)}: {signed(d)}" for x, d in per_lr.items())
        + f" points. Two standard errors of a validation accuracy on its {REPORT_DEV_N:,} validation images: "
        f"±{noise:.1f} points. The learning rate alone moves raw pixels' best validation accuracy by "
        f"{lr_effect:.1f} points.",
        f"Max pooling costs {-loss:.1f} points of best validation accuracy in the report's own grid (up to "
        f"{-min(per_lr.values()):.1f} at one learning rate): more than the noise of a validation accuracy, "
        f"less than the learning rate's effect." if real else "")]
    rows = {r["features"]: r for r in feature_summary(feature_records)} if feature_records else {}
    times = original.Q1_FEATURE_TIMES_S
    theirs = times["raw"] / times["maxpool2"]
    if "raw" in rows and "maxpool2" in rows:
        ours = rows["raw"]["epoch_time_s"] / rows["maxpool2"]["epoch_time_s"]
        same = abs(math.log(ours / theirs)) <= math.log(1.5)
        out.append(Claim(
            "q1.pooling_time", "1.2(b)", Kind.MACHINE_DEPENDENT, "Max pooling trains in ~35 s instead of ~1 min 20 s.",
            Status.HOLDS if same else Status.DIFFERS,
            "consistent with our measurement" if same else f"we measure {ours:.1f}× rather than {theirs:.1f}×",
            f"The report's times make max pooling {theirs:.1f}× faster. Our logistic regression epochs: raw pixels "
            f"{rows['raw']['epoch_time_s']:.2f} s, max pooling {rows['maxpool2']['epoch_time_s']:.2f} s "
            f"({ours:.1f}× faster), on the machine named in the records.",
            "" if same else f"The speed-up depends on the machine; on ours it is {ours:.1f}×."))
    return out


# ------------------------------------------------------------------------------ figures
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
    text = [[("" if np.isnan(v) else f"{100 * v:.1f}%") for v in row] for row in Z]
    fig = go.Figure(go.Heatmap(z=Z, x=[f"lr {pow10(lr)}<br>ℓ2 {pow10(l2)}" for lr, l2 in cols],
                               y=[_short(labels.get(f, f)) for f in feats], text=text, texttemplate="%{text}",
                               textfont=dict(size=12), colorscale="Viridis",
                               hovertemplate="%{y}, %{x}: best validation %{z:.1%}<extra></extra>",
                               colorbar=dict(title="best val.", tickformat=".0%")))
    title = []
    for recs, color, what in ((records, "crimson", "best of the grid"), (extra, "orange", "best with HOG")):
        if recs:
            best = best_run(recs)
            bf, blr, bl2 = _grid_key(best)
            bi, bj = feats.index(bf), cols.index((blr, bl2))
            fig.add_shape(type="rect", x0=bj - 0.5, x1=bj + 0.5, y0=bi - 0.5, y1=bi + 0.5,
                          line=dict(color=color, width=4))
            title.append(f"{what} ({color}): test {pct(best['summary']['test_acc'])}")
    fig.update_layout(title=dict(text="Best validation accuracy per run<br><span style='font-size:13px'>"
                                 + " · ".join(title) + "</span>"),
                      height=300 + 50 * len(feats), margin=dict(t=95, l=10, r=10))
    return polish(fig)


def feature_tradeoff_figure(records: list[dict]):
    """Plotly scatter: best validation accuracy against training time per epoch, one point per
    feature map (trace 0 holds them all), its marker's size growing with the dimension. The names,
    with their dimensions, sit in the legend (one marker-only entry per map) rather than beside the
    points, so no name is cut at the plot's edge or laid over another at any width."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative
    rows = feature_summary(records)
    colors = [qualitative.Plotly[i % len(qualitative.Plotly)] for i in range(len(rows))]
    sizes = [8 + 4 * math.log2(max(r["dim"], 1)) for r in rows]
    fig = go.Figure(go.Scatter(
        x=[r["epoch_time_s"] for r in rows], y=[r["best_dev_acc"] for r in rows], mode="markers",
        showlegend=False, marker=dict(size=sizes, color=colors, line=dict(color="white", width=1)),
        customdata=[[html.escape(r["label"]), f"{r['dim']:,}"] for r in rows],
        hovertemplate=("%{customdata[0]}<br>%{customdata[1]} values per letter<br>"
                       "training time per epoch %{x:.2f} s<br>best validation accuracy %{y:.1%}<extra></extra>")))
    for r, color in zip(rows, colors):          # legend entries only: no data, no tooltip
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"{_short(r['label'])} ({r['dim']:,} values)",
                                 marker=dict(size=12, color=color), hoverinfo="skip"))
    fig.update_layout(title="Feature maps: accuracy against cost<br>"
                            "<span style='font-size:13px'>marker size: dimension</span>",
                      height=460, xaxis_title="training time per epoch (s)", yaxis_title="best validation accuracy",
                      yaxis_tickformat=".0%", margin=dict(t=80), legend=dict(orientation="h", y=-0.25))
    return polish(fig)


def feature_pictures(data, n: int = 6, names=FEATURES, seed: int = 0):
    """Matplotlib figure: ``n`` training letters (rows = feature maps) as each map sees them."""
    import matplotlib.pyplot as plt
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data.train), size=min(n, len(data.train)), replace=False)
    X, y = data.train.X[idx], data.train.y[idx]
    width = min(COLUMN_IN, 0.85 * len(idx) + 1.6)        # drawn at the text column's width: fonts keep their size
    cell = (width - 1.6) / len(idx)
    fig, axes = plt.subplots(len(names), len(idx), figsize=(width, cell * len(names) + 0.4), squeeze=False)
    for i, name in enumerate(names):
        fmap = make_feature(name).fit(data.train.X)
        pics, dim = fmap.picture(X), fmap.transform(X[:1]).shape[1]
        for j in range(len(idx)):
            ax = axes[i, j]
            ax.imshow(pics[j], cmap="gray", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(LETTERS[y[j]], fontsize=FIG_FONT_PT)
            if j == 0:
                ax.set_ylabel(f"{_short(fmap.label if hasattr(fmap, 'label') else name)}\n{dim} values",
                              fontsize=FIG_FONT_PT, rotation=0, ha="right", va="center")
    fig.tight_layout(pad=0.3)
    return fig
