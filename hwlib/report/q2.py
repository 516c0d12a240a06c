"""Question 2's facts that several pages share: the report's Q2 claims (the chapter, the errata page)
and what Question 2 found (the chapter's summary, the intro's headline), with the few helpers they
need. The chapter's own tables, figures and facts are in its cells (book/q2.md).

Accuracies are fractions; differences of accuracies are in percentage points (``*_pts``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hwlib.experiments.q2 import DEPTH_WIDTH, TUNED
from hwlib.experiments.results import best_run
from hwlib.report.claims import Claim, Kind, Status, count, find
from hwlib.report.fmt import hp_words, pct, signed
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
    for r in records:
        if all(np.isclose(r["config"][k], v) for k, v in config.items()):
            return r
    return None


def pairs(keys, values, fmt=pct) -> str:
    """A compact data list "16: 74.3%, 32: 84.0%"."""
    return ", ".join(f"{k}: {fmt(v)}" for k, v in zip(keys, values))


# ------------------------------------------------------------------------------ the report's readings
RECHECK = "python -m hwlib run q2 --profile full --data PATH-TO-EMNIST"   # re-checks them on real data
GAP_LARGE_PTS = 3.0      # a train-dev gap this large (points) would count as "large"


def _where(records: list[dict]) -> str:
    synthetic = records[0].get("dataset", {}).get("synthetic", True) if records else True
    return "the stand-in" if synthetic else data_name(records)


def report_claims(width_records: list[dict], depth_records: list[dict], saturation_se: float = 2.0) -> list[Claim]:
    """The report's Q2 claims, each a ``Claim``.

    *Data-dependent* readings of accuracies (saturation with width, dropout, depth) are judged on our
    records and labelled with the data that shows them ("the stand-in shows it" / "… does not show
    it"), never as refuted; ``RECHECK`` re-runs them on real data. *Data-independent* claims — the
    protocol, and readings the report's own tables contradict — get a firm verdict.

    Saturation rule: above 128 units dev accuracy counts as saturated when the widest net's gain over
    128 is at most ``saturation_se`` standard errors of a dev accuracy, √(p(1−p)/n): a gain a
    dev split of n images cannot tell from none.
    """
    bw = best_per_width(width_records)
    ws = list(bw)
    dev = {w: r["summary"]["best_dev_acc"] for w, r in bw.items()}
    tr = {w: r["summary"]["final_train_acc"] for w, r in bw.items()}
    where = _where(width_records)
    words = {Status.SHOWN: f"{where} shows it", Status.NOT_SHOWN: f"{where} does not show it",
             Status.TOO_CLOSE: f"too close to call on {where}"}
    out = []

    def add(key, item, status, evidence, claim=None):
        out.append(Claim(f"q2.{key}", item, Kind.DATA_DEPENDENT, claim or READINGS[f"q2.{key}"], status,
                         words[status], evidence, recheck=RECHECK))

    def shown(ok: bool) -> Status:
        return Status.SHOWN if ok else Status.NOT_SHOWN

    if 128 in dev and len(ws) > 2:
        early, late = dev[128] - dev[ws[0]], dev[ws[-1]] - dev[128]
        se = dev_noise(bw[ws[-1]]) / 2
        ok = early > saturation_se * se and late <= saturation_se * se
        add("saturation", "2.2(a)", shown(ok),
            f"best dev {pairs([ws[0], 128, ws[-1]], [dev[ws[0]], dev[128], dev[ws[-1]]])}; gain up to 128 "
            f"{signed(100 * early)} points, after {signed(100 * late)}; saturated means a gain within "
            f"{saturation_se:g} standard errors of a dev accuracy (±{100 * saturation_se * se:.2f} points)")
    add("train_width", "2.2(c)", shown((np.diff([tr[w] for w in ws]) > 0).all()),
        "final train accuracy of the best run per width: " + pairs(ws, [tr[w] for w in ws]))
    wmax = ws[-1]
    with_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] > 0]
    no_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] == 0]
    if with_do and no_do:
        a, b = best_run(with_do), best_run(no_do)
        gain, noise = a["summary"]["best_dev_acc"] - b["summary"]["best_dev_acc"], dev_noise(a)
        add("dropout", "2.2(a)", Status.TOO_CLOSE if abs(gain) <= noise else shown(gain > 0),
            f"best dev with dropout {pct(a['summary']['best_dev_acc'])} ({hp_label(a['config'])}), without "
            f"{pct(b['summary']['best_dev_acc'])} ({hp_label(b['config'])}): {signed(100 * gain, 2)} points; "
            f"two standard errors ±{100 * noise:.2f} points",
            claim=f"{READINGS['q2.dropout'][:-1]} ({wmax} units).")
    if depth_records:
        recs = by_depth(depth_records)
        dd = [r["summary"]["best_dev_acc"] for r in recs]
        add("depth", "2.3(a)", shown((np.diff(dd) < 0).all()),
            f"{hp_label(recs[0]['config'])}; best dev " + pairs([r["config"]["depth"] for r in recs], dd))
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


def _report_depth_gaps() -> dict[int, float]:
    """Train − dev (points) per depth in the report's depth table."""
    return {d: 100 * (v["train"] - v["dev"]) for d, v in Q2_DEPTH.items()}


def _report_best_width() -> int:
    return max(Q2_WIDTH, key=lambda w: Q2_WIDTH[w]["dev"])


def internal_claims() -> list[Claim]:
    """The report's Q2 claims checked against its own tables and the assignment: no data needed."""
    gaps = _report_depth_gaps()
    wgap = {w: 100 * (Q2_WIDTH[w]["train"] - Q2_WIDTH[w]["dev"]) for w in (128, 256)}
    best_w = _report_best_width()
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
        claim("depth_gap", "2.3(a)", large, "The depth study shows a large generalization gap.",
              "train − dev in its depth table: " + ", ".join(f"depth {d}: {g:.1f}" for d, g in gaps.items())
              + f" points (we would call ≥ {GAP_LARGE_PTS:g} points large)",
              f"The gap stays between {min(gaps.values()):.1f} and {max(gaps.values()):.1f} points while training "
              f"accuracy itself falls from {pct(Q2_DEPTH[min(Q2_DEPTH)]['train'])} to "
              f"{pct(Q2_DEPTH[max(Q2_DEPTH)]['train'])}: the deeper networks underfit — they fit their own "
              "training data worse — which is not a generalization gap."),
        claim("dropout_gap", "2.2(a)", narrows, "Dropout narrows the generalization gap at width 256.",
              f"train − dev of its best runs: width 128 (no dropout) {wgap[128]:.1f} points, "
              f"width 256 (dropout {Q2_WIDTH[256]['dropout']:g}) {wgap[256]:.1f} points",
              f"In the report's own table the gap with dropout at 256 units ({wgap[256]:.1f} points) is no "
              f"smaller than without it at 128 ({wgap[128]:.1f} points)."),
        claim("depth_width", "2.3", best_w == DEPTH_WIDTH, f"Width {DEPTH_WIDTH} is the best width of the width study.",
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
    top = Q2_WIDTH[max(ws, key=lambda w: Q2_WIDTH[w]["dev"])]
    sgd = Q2_SETTINGS["optimizer"].lower() == "sgd"
    return [
        Claim("q2.optimizer", "2.2", Kind.DATA_INDEPENDENT, "The networks are trained in a vanilla SGD-style setup" + REVIEWER,
              Status.HOLDS if sgd else Status.WRONG, "holds" if sgd else "contradicted by the report's own settings",
              f"the report's settings for every width and depth run: {Q2_SETTINGS['optimizer']}, "
              f"{Q2_SETTINGS['activation']}, {Q2_SETTINGS['epochs']} epochs, batch {Q2_SETTINGS['batch']}. Adam divides "
              "each weight's step by a running root-mean-square of its gradients and adds momentum: not plain SGD",
              "" if sgd else f"The runs use {Q2_SETTINGS['optimizer']} with mini-batches of {Q2_SETTINGS['batch']}; "
              "the assignment allows SGD or Adam, one optimizer for all runs."),
        Claim("q2.interpolate", "2.2(c)", Kind.DATA_INDEPENDENT,
              "Training accuracy rises toward 1.0 with width, so that the widest networks interpolate" + REVIEWER,
              Status.PARTLY if rising else Status.WRONG,
              "holds in part: it rises, but no width interpolates" if rising else "contradicted by the report's own table",
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


def findings(width_records: list[dict], depth_records: list[dict]) -> dict:
    """What Question 2 found, for the chapter's closing summary and the intro's headline table: the
    best run of the grid and the best depth (test accuracy of the best-dev checkpoint) beside the
    report's, the verdict on each of the report's readings (``saturation``, ``train_width``,
    ``dropout``, ``depth``), and how many of its claims its own tables contradict."""
    top = best_run(width_records)
    rep_w = _report_best_width()
    claims = report_claims(width_records, depth_records)
    verdict = {key: getattr(find(claims, f"q2.{key}"), "verdict", "not judged (no runs)")
               for key in ("saturation", "train_width", "dropout", "depth")}
    bw = best_per_width(width_records)
    out = {"data": data_name(width_records), "synthetic": bool(width_records[0].get("dataset", {}).get("synthetic", True)),
           "runs": len(width_records), "top_width": top["config"]["width"], "top_hp": hp_label(top["config"]),
           "top_dev": top["summary"]["best_dev_acc"], "top_test": top["summary"]["test_acc"],
           "report_width": rep_w, "report_hp": hp_label(Q2_WIDTH[rep_w]), "report_test": Q2_WIDTH[rep_w]["test"],
           **{f"{k}_verdict": v for k, v in verdict.items()},
           "contradicted": count(claims, Status.WRONG),
           "independent": sum(c.kind is Kind.DATA_INDEPENDENT for c in claims),
           "dependent": sum(c.kind is Kind.DATA_DEPENDENT for c in claims),
           "widest": list(bw)[-1],
           "gain_after_128_pts": (100 * (bw[list(bw)[-1]]["summary"]["best_dev_acc"] - bw[128]["summary"]["best_dev_acc"])
                                  if 128 in bw else None)}
    if depth_records:
        recs = by_depth(depth_records)
        best = best_run(recs)
        rep_d = max(Q2_DEPTH, key=lambda d: Q2_DEPTH[d]["dev"])
        out.update(best_depth=best["config"]["depth"], depth_test=best["summary"]["test_acc"],
                   report_depth=rep_d, report_depth_test=Q2_DEPTH[rep_d]["test"])
    return out
