"""Question 1's facts several pages share: the report's Q1 claims and what Question 1 found."""
from __future__ import annotations

import math

import numpy as np

from hwlib.errors import ResultError
from hwlib.experiments.q1 import GRID_FEATURES, GRID_L2S, GRID_LRS
from hwlib.experiments.results import best_run
from hwlib.report import original
from hwlib.report.claims import Claim, Kind, Status, count
from hwlib.report.fmt import hp_words, pow10, signed

REPORT_DEV_N = 20_800          # the report's validation split (the course's): images
NOISE_SE = 2.0                 # a difference beyond this many standard errors of an accuracy is real


def record(records: list[dict], run: str | None = None) -> dict:
    """The record of ``run`` (or the first one) among ``records``; a ResultError if absent."""
    for r in records:
        if run is None or r["run"] == run:
            return r
    raise ResultError(f"no record{' ' + repr(run) if run else ''} among {len(records)} records; "
                      "run the experiment (python -m hwlib run q1.<name>)")


def findings(recs: dict[str, list[dict]]) -> dict:
    """What Question 1 found (``recs``: experiment name -> records): test accuracies of the best-validation
    checkpoints (``*_test``) beside the report's (``*_report``), the best grid run's settings, the HOG runs' gain,
    and how many of the report's Q1 claims its own numbers contradict."""
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
           "claims": len(claims), "contradicted": count(claims, Status.WRONG),
           "partly": count(claims, Status.PARTLY)}
    if recs.get("q1.grid_hog"):
        hog = best_run(recs["q1.grid_hog"])
        out.update(hog_test=hog["summary"]["test_acc"], hog_hp=hp_words(hog["config"]),
                   hog_vs_grid_pts=100 * (hog["summary"]["test_acc"] - grid["summary"]["test_acc"]))
    return out


def report_claims(feature_records: list[dict]) -> list[Claim]:
    """The report's Q1 claims about its feature map: what max pooling costs in accuracy, from the report's own grid
    (real beyond ``NOISE_SE`` standard errors of a validation accuracy), and its time ratio beside ours."""
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
        f"({signed(loss)} points); per learning rate "
        + ", ".join(f"lr {pow10(x)}: {signed(d)}" for x, d in per_lr.items())
        + f" points. Two standard errors of a validation accuracy on its {REPORT_DEV_N:,} validation images: "
        f"±{noise:.1f} points. The learning rate alone moves raw pixels' best validation accuracy by "
        f"{lr_effect:.1f} points.",
        f"Max pooling costs {-loss:.1f} points of best validation accuracy in the report's own grid (up to "
        f"{-min(per_lr.values()):.1f} at one learning rate): more than the noise of a validation accuracy, "
        f"less than the learning rate's effect." if real else "")]
    times = original.Q1_FEATURE_TIMES_S
    theirs = times["raw"] / times["maxpool2"]
    raw_t, pool_t = (float(np.mean(t)) if t else None for t in (      # mean seconds per epoch
        [r["summary"]["mean_epoch_time_s"] for r in feature_records if r["config"]["features"] == f]
        for f in ("raw", "maxpool2")))
    if raw_t and pool_t:
        ours = raw_t / pool_t
        same = abs(math.log(ours / theirs)) <= math.log(1.5)
        out.append(Claim(
            "q1.pooling_time", "1.2(b)", Kind.MACHINE_DEPENDENT,
            "Max pooling trains in ~35 s instead of ~1 min 20 s.",
            Status.HOLDS if same else Status.DIFFERS,
            "consistent with our measurement" if same else f"we measure {ours:.1f}× rather than {theirs:.1f}×",
            f"The report's times make max pooling {theirs:.1f}× faster. Our logistic regression epochs: raw pixels "
            f"{raw_t:.2f} s, max pooling {pool_t:.2f} s ({ours:.1f}× faster), on the machine named in the records.",
            "" if same else f"The speed-up depends on the machine; on ours it is {ours:.1f}×."))
    return out
