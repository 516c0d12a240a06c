"""Question 2's facts several pages share: the report's Q2 claims and what Question 2 found, with the helpers they
need. Accuracies are fractions; differences of accuracies are in percentage points (``*_pts``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hwlib.experiments.q2 import DEPTH_WIDTH, TUNED
from hwlib.experiments.results import best_run
from hwlib.report.claims import Claim, Kind, Status, count, find
from hwlib.report.fmt import hp_words, pct, signed
from hwlib.report.frame import seeded
from hwlib.report.original import Q2_DEPTH, Q2_DEPTH_HPARAMS, Q2_SETTINGS, Q2_WIDTH, READINGS


def hp_label(c: dict) -> str:
    """The tuned settings of a run, for people: "lr 10⁻³, no dropout, ℓ2 10⁻⁴"."""
    return hp_words({k: c[k] for k in ("lr", "dropout", "l2")})


def data_name(records: list[dict]) -> str:
    """The name of the dataset the records were trained on."""
    return records[0].get("dataset", {}).get("name", "our data") if records else "our data"


def dev_noise(record: dict) -> float:
    """Two standard errors of a dev accuracy near this record's: 2·√(p(1−p)/n), n = dev size."""
    n = record.get("dataset", {}).get("sizes", {}).get("dev") or 0
    p = record["summary"]["best_dev_acc"]
    return 2 * float(np.sqrt(p * (1 - p) / n)) if n else 0.0


def best_per_width(records: list[dict]) -> dict[int, dict]:
    """{width: the best run of that width} (``best_run``'s rule)."""
    return {w: best_run([r for r in records if r["config"]["width"] == w])
            for w in sorted({r["config"]["width"] for r in records})}


def by_depth(depth_records: list[dict]) -> list[dict]:
    return sorted(depth_records, key=lambda r: r["config"]["depth"])


def find_run(records: list[dict], **config) -> dict | None:
    """The record whose config has these values (e.g. width=32, lr=3e-4, dropout=0.2, l2=0)."""
    return next((r for r in records if all(np.isclose(r["config"][k], v) for k, v in config.items())), None)


def pairs(keys, values, fmt=pct) -> str:
    """A compact data list "16: 74.3%, 32: 84.0%"."""
    return ", ".join(f"{k}: {fmt(v)}" for k, v in zip(keys, values))


# ------------------------------------------------------------------------------ the report's readings
RECHECK = "python -m hwlib run q2 --profile full --data PATH-TO-EMNIST"   # re-checks them on real data
GAP_LARGE_PTS = 3.0      # a train-dev gap this large (points) would count as "large"


def measured(run: dict, seed_records: list[dict] | None, key: str = "best_dev_acc") -> tuple[float, float, int]:
    """(mean over seeds, uncertainty, number of seeds) of a run's ``key``; the uncertainty adds the standard errors of
    the seeds' mean and of a dev accuracy in quadrature: √(sd²/k + p(1−p)/n)."""
    v = np.array([r["summary"][key] for r in seeded(run, seed_records)])
    sd = float(v.std(ddof=1)) if v.size > 1 else 0.0
    return float(v.mean()), float(np.hypot(sd / np.sqrt(v.size), dev_noise(run) / 2)), int(v.size)


def report_claims(width_records: list[dict], depth_records: list[dict], depth_report_records: list[dict] | None = None,
                  seed_records: list[dict] | None = None, n_se: float = 2.0) -> list[Claim]:
    """The report's Q2 claims. Its readings of accuracies are judged on our records (means over seeds, "too close"
    within ``n_se`` standard errors of ``measured``) and labelled with the data that shows them, never refuted;
    claims its own tables and the assignment settle get a firm verdict."""
    bw = best_per_width(width_records)
    ws = list(bw)
    dev = {w: measured(r, seed_records) for w, r in bw.items()}
    tr = {w: measured(r, seed_records, "final_train_acc") for w, r in bw.items()}
    real = width_records and not width_records[0].get("dataset", {}).get("synthetic", True)
    where = data_name(width_records) if real else "the stand-in"
    words = {Status.SHOWN: f"{where} shows it", Status.NOT_SHOWN: f"{where} does not show it",
             Status.TOO_CLOSE: f"too close to call on {where}"}
    out = []

    def add(key, item, status, evidence, claim=None):
        out.append(Claim(f"q2.{key}", item, Kind.DATA_DEPENDENT, claim or READINGS[f"q2.{key}"], status,
                         words[status], evidence, recheck=RECHECK))

    def judged(diff: float, noise: float) -> Status:
        return Status.TOO_CLOSE if abs(diff) <= noise else Status.SHOWN if diff > 0 else Status.NOT_SHOWN

    def seeds_note(k: int) -> str:
        return f"mean of {k} seeds" if k > 1 else "one seed"

    if 128 in dev and len(ws) > 2:
        gains = {(a, b): 100 * (dev[b][0] - dev[a][0]) for a, b in zip(ws, ws[1:])}
        noise = {(a, b): 100 * n_se * np.hypot(dev[a][1], dev[b][1]) for a, b in gains}
        before = [g for (a, b), g in gains.items() if b <= 128]
        after = [g for (a, b), g in gains.items() if a >= 128]
        shrink = float(np.mean(before) - np.mean(after))
        shrink_noise = float(np.sqrt(np.mean([noise[k] ** 2 for k in gains])))
        last = list(gains)[-1]
        add("saturation", "2.2(a)", judged(shrink, shrink_noise),
            "What it measures: the gain in best dev accuracy per doubling of the width ("
            + seeds_note(dev[ws[-1]][2]) + "): " + ", ".join(
                f"{a}→{b}: {signed(g)} ± {noise[a, b]:.1f}" for (a, b), g in gains.items())
            + f" points (± {n_se:g} standard errors: seeds and dev-set size). Up to 128 units the gains average "
            f"{signed(float(np.mean(before)))} points, after 128 {signed(float(np.mean(after)))}: diminishing "
            "returns" + (" beyond the noise" if shrink > shrink_noise else "") + ". The last doubling still "
            + ("gains more than the noise (accuracy keeps rising, more slowly: no plateau)"
               if gains[last] > noise[last] else "gains no more than the noise"))
    rising = all(tr[b][0] - tr[a][0] > 0 for a, b in zip(ws, ws[1:]))
    add("train_width", "2.2(c)", Status.SHOWN if rising else Status.NOT_SHOWN,
        "final train accuracy of the best run per width (" + seeds_note(tr[ws[-1]][2]) + "): "
        + pairs(ws, [tr[w][0] for w in ws])
        + f"; the widest ends {100 * (1 - tr[ws[-1]][0]):.1f} points short of 1")
    wmax = ws[-1]
    with_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] > 0]
    no_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] == 0]
    if with_do and no_do:
        a, b = best_run(with_do), best_run(no_do)
        (ma, ua, ka), (mb, ub, kb) = measured(a, seed_records), measured(b, seed_records)
        spread = max(ua, ub)                        # a run without re-trainings borrows its width's seed noise
        gain, noise = 100 * (ma - mb), 100 * n_se * np.hypot(max(ua, spread), max(ub, spread))
        add("dropout", "2.2(a)", judged(gain, noise),
            f"What it measures: the best dev accuracy at {wmax} units with dropout ({pct(ma)}, {hp_label(a['config'])}, "
            f"{seeds_note(ka)}) against without ({pct(mb)}, {hp_label(b['config'])}, {seeds_note(kb)}): "
            f"{signed(gain, 2)} points, ± {noise:.2f} ({n_se:g} standard errors: seeds and dev-set size)",
            claim=f"{READINGS['q2.dropout'][:-1]} ({wmax} units).")
    studies = [(recs, label) for recs, label in ((depth_report_records, "the report's settings"),
                                                 (depth_records, f"the best {DEPTH_WIDTH}-unit settings of our grid"))
               if recs]
    if studies:
        parts, verdicts = [], []
        for recs, label in studies:
            recs = by_depth(recs)
            m = [measured(r, seed_records) for r in recs]
            fall = 100 * (m[0][0] - m[-1][0])
            noise = 100 * n_se * np.hypot(m[0][1], m[-1][1])
            rises = [100 * (b[0] - a[0]) > 100 * n_se * np.hypot(a[1], b[1]) for a, b in zip(m, m[1:])]
            verdicts.append(Status.NOT_SHOWN if any(rises) else judged(fall, noise))   # falls, and never rises
            parts.append(f"at {label} ({hp_label(recs[0]['config'])}, {seeds_note(m[0][2])}): best dev "
                         + pairs([r["config"]["depth"] for r in recs], [x[0] for x in m])
                         + f", depth {recs[0]['config']['depth']} → {recs[-1]['config']['depth']}: "
                         f"{signed(-fall)} ± {noise:.1f} points")
        add("depth", "2.3(a)", verdicts[0],
            "What it measures: best dev accuracy from the shallowest to the deepest net (it falls with depth "
            "when the deepest is lower beyond the noise and no added pair of layers gains beyond it), "
            + "; ".join(parts)
            + (". The first study repeats the report's settings; the second separates the effect of depth from "
               "that of the settings" if len(studies) > 1 else ""))
    internal = internal_claims()
    rep = find_run(width_records, width=DEPTH_WIDTH, **Q2_DEPTH_HPARAMS) if depth_records else None
    if rep is not None:
        best32 = best_run([r for r in width_records if r["config"]["width"] == DEPTH_WIDTH])
        c = internal[0]
        internal[0] = dataclasses.replace(c, evidence=c.evidence + (
            f"; on {where}, the report's settings reach {pct(rep['summary']['best_dev_acc'])} at width "
            f"{DEPTH_WIDTH}, the best {DEPTH_WIDTH}-unit run {pct(best32['summary']['best_dev_acc'])} "
            f"({hp_label(best32['config'])})"))
    return out + internal


REPORT_BEST_WIDTH = max(Q2_WIDTH, key=lambda w: Q2_WIDTH[w]["dev"])


def internal_claims() -> list[Claim]:
    """The report's Q2 claims checked against its own tables and the assignment: no data needed."""
    gaps = {d: 100 * (v["train"] - v["dev"]) for d, v in Q2_DEPTH.items()}    # train − dev, points
    wgap = {w: 100 * (Q2_WIDTH[w]["train"] - Q2_WIDTH[w]["dev"]) for w in (128, 256)}
    best_w = REPORT_BEST_WIDTH
    same = all(Q2_DEPTH_HPARAMS[k] == Q2_WIDTH[DEPTH_WIDTH][k] for k in TUNED)
    large = max(gaps.values()) >= GAP_LARGE_PTS
    narrows = wgap[256] < wgap[128] - 0.05
    contradicted = "contradicted by the report's own table"

    def claim(key, item, ok, words, evidence, correction):
        return Claim(f"q2.{key}", item, Kind.DATA_INDEPENDENT, words, Status.HOLDS if ok else Status.WRONG,
                     "holds" if ok else contradicted, evidence, "" if ok else correction)

    return [
        claim("depth_settings", "2.3", same,
              f"The depth study uses the best {DEPTH_WIDTH}-unit settings of 2.2(a) (the assignment's rule).",
              f"used {hp_label(Q2_DEPTH_HPARAMS)}; its table's best {DEPTH_WIDTH}-unit run: "
              f"{hp_label(Q2_WIDTH[DEPTH_WIDTH])}",
              f"The assignment asks for the depth study with {hp_label(Q2_WIDTH[DEPTH_WIDTH])}, the best 32-unit "
              "settings of the report's own table; this book's depth study reads its settings from its own grid."),
        Claim("q2.depth_gap", "2.3(a)", Kind.DATA_INDEPENDENT,
              "The depth study shows a large generalization gap (words from a garbled fragment of the report's "
              "text; its restated text has the depth table only).",
              Status.HOLDS if large else Status.UNSUPPORTED,
              "holds" if large else "not supported by the report's own table",
              "train − dev in its depth table: " + ", ".join(f"depth {d}: {g:.1f}" for d, g in gaps.items())
              + " points. The words come from a fragment of the report's text that did not survive extraction "
              "intact, so what they referred to cannot be read back; the table is what the report shows",
              "" if large else
              f"The report's own depth table shows train − dev gaps between {min(gaps.values()):.1f} and "
              f"{max(gaps.values()):.1f} points, while training accuracy itself falls from "
              f"{pct(Q2_DEPTH[min(Q2_DEPTH)]['train'])} to {pct(Q2_DEPTH[max(Q2_DEPTH)]['train'])}: the deeper "
              "networks fit their own training data worse (underfitting), which a generalization gap does not "
              "describe."),
        Claim("q2.dropout_gap", "2.2(a)", Kind.DATA_INDEPENDENT, "Dropout narrows the generalization gap at width 256.",
              Status.UNSUPPORTED, "not supported by the report's own table",
              f"its table has one run per width, the best: width 256 with dropout {Q2_WIDTH[256]['dropout']:g} "
              f"(train − dev {wgap[256]:.1f} points) and width 128 without (train − dev {wgap[128]:.1f} points). "
              "No width-256 run without dropout is reported, and comparing across widths mixes the effect of width "
              "with that of dropout",
              "Whether dropout narrows the gap at 256 units needs the 256-unit runs without dropout, which the "
              "report trained (its grid has them) but does not print; the gap printed at 256 with dropout is "
              + ("smaller" if narrows else "no smaller")
              + " than at 128 without, which says nothing about dropout alone."),
        claim("depth_width", "2.3", best_w == DEPTH_WIDTH,
              f"Width {DEPTH_WIDTH} is the best width of the width study.",
              f"width {DEPTH_WIDTH} is fixed by the assignment for the depth study; the best width in the "
              f"report's table is {best_w} (dev {pct(Q2_WIDTH[best_w]['dev'])}, "
              f"width {DEPTH_WIDTH}: {pct(Q2_WIDTH[DEPTH_WIDTH]['dev'])})",
              f"Width {best_w} is the best of the report's width study; {DEPTH_WIDTH} units is the width the "
              "assignment fixes for the depth study."),
    ] + reviewer_claims()


REVIEWER = " (words a reviewer of the report quotes; the report's restated text has only its settings and tables)"


def reviewer_claims() -> list[Claim]:
    """Readings a reviewer attributes to the report, checked against the report's own settings and tables
    (the restatement of the report holds their evidence, not their words, so the words are marked)."""
    ws = sorted(Q2_WIDTH)
    dev, tr = [Q2_WIDTH[w]["dev"] for w in ws], [Q2_WIDTH[w]["train"] for w in ws]
    steps = lambda v: ", ".join(f"{a}→{b}: {signed(100 * (y - x))}" for a, b, x, y in zip(ws, ws[1:], v, v[1:]))
    rising, slowing = bool((np.diff(tr) > 0).all()), bool((np.diff(np.diff(dev)) < 0).all())
    top = Q2_WIDTH[REPORT_BEST_WIDTH]
    sgd = Q2_SETTINGS["optimizer"].lower() == "sgd"
    return [
        Claim("q2.optimizer", "2.2", Kind.DATA_INDEPENDENT,
              "The networks are trained in a vanilla SGD-style setup" + REVIEWER,
              Status.HOLDS if sgd else Status.WRONG, "holds" if sgd else "contradicted by the report's own settings",
              f"the report's settings for every width and depth run: {Q2_SETTINGS['optimizer']}, "
              f"{Q2_SETTINGS['activation']}, {Q2_SETTINGS['epochs']} epochs, batch {Q2_SETTINGS['batch']}. Adam divides "
              "each weight's step by a running root-mean-square of its gradients and adds momentum: not plain SGD",
              "" if sgd else f"The runs use {Q2_SETTINGS['optimizer']} with mini-batches of {Q2_SETTINGS['batch']}; "
              "the assignment allows SGD or Adam, one optimizer for all runs."),
        Claim("q2.interpolate", "2.2(c)", Kind.DATA_INDEPENDENT,
              "Training accuracy rises toward 1.0 with width, so that the widest networks interpolate" + REVIEWER,
              Status.PARTLY if rising else Status.WRONG,
              "holds in part: it rises, but no width interpolates" if rising
              else "contradicted by the report's own table",
              "final training accuracy of the best run per width in the report's table: "
              + pairs(ws, tr) + f" (steps {steps(tr)} points); its best model ends at {pct(top['train'])}, "
              f"{100 * (1 - top['train']):.1f} points short of fitting every training letter",
              f"Training accuracy rises with width but reaches only {pct(max(tr))}: none of these networks "
              "interpolates its training set in 30 epochs."),
        Claim("q2.uat_plateau", "2.2(c)", Kind.DATA_INDEPENDENT,
              "Validation accuracy plateaus, which supports the Universal Approximation intuition" + REVIEWER,
              Status.PARTLY, "holds in part: the gains shrink; the theorem says nothing about them",
              "best validation accuracy per width in the report's table: " + pairs(ws, dev)
              + f" (steps {steps(dev)} points"
              + (", each smaller than the one before)" if slowing else ")")
              + ". The Universal Approximation Theorem says that one hidden layer, wide enough, can represent any "
              "continuous function on a compact set to any accuracy: a statement about what the network can "
              "represent, not about what Adam finds in 30 epochs, nor about accuracy on unseen letters",
              "The validation gains per doubling shrink; that is an observation about training and generalisation "
              "at these widths. The theorem neither predicts nor explains it (if anything, it says more width can "
              "fit the training set better, which the rising training accuracy shows)."),
    ]


def findings(width_records: list[dict], depth_records: list[dict], depth_report_records: list[dict] | None = None,
             seed_records: list[dict] | None = None) -> dict:
    """What Question 2 found: the best run of the grid and the best depth beside the report's, the verdict on each of
    the report's readings (``*_verdict``), and how many of its claims its own tables contradict."""
    top = best_run(width_records)
    rep_w = REPORT_BEST_WIDTH
    claims = report_claims(width_records, depth_records, depth_report_records, seed_records)
    verdict = {key: getattr(find(claims, f"q2.{key}"), "verdict", "not judged (no runs)")
               for key in ("saturation", "train_width", "dropout", "depth")}
    bw = best_per_width(width_records)
    out = {"data": data_name(width_records),
           "synthetic": bool(width_records[0].get("dataset", {}).get("synthetic", True)),
           "runs": len(width_records), "top_width": top["config"]["width"], "top_hp": hp_label(top["config"]),
           "top_dev": top["summary"]["best_dev_acc"], "top_test": top["summary"]["test_acc"],
           "report_width": rep_w, "report_hp": hp_label(Q2_WIDTH[rep_w]), "report_test": Q2_WIDTH[rep_w]["test"],
           **{f"{k}_verdict": v for k, v in verdict.items()},
           "contradicted": count(claims, Status.WRONG),
           "independent": sum(c.kind is Kind.DATA_INDEPENDENT for c in claims),
           "dependent": sum(c.kind is Kind.DATA_DEPENDENT for c in claims),
           "widest": list(bw)[-1],
           "gain_after_128_pts": (100 * (bw[list(bw)[-1]]["summary"]["best_dev_acc"]
                                         - bw[128]["summary"]["best_dev_acc"]) if 128 in bw else None)}
    if depth_records:
        best = best_run(depth_records)
        rep_d = max(Q2_DEPTH, key=lambda d: Q2_DEPTH[d]["dev"])
        out.update(best_depth=best["config"]["depth"], depth_test=best["summary"]["test_acc"],
                   report_depth=rep_d, report_depth_test=Q2_DEPTH[rep_d]["test"])
    return out
