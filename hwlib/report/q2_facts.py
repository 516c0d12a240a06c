"""Question 2's facts: the numbers and short verdict labels the chapter's sentences are built from,
computed from recorded runs. Every threshold that decides a label is a named parameter; the facts
include it so that the sentence can say which value it used.

Accuracies are fractions (the chapter formats them ``:.1%``); differences of accuracies are in
percentage points (``*_pts``).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from hwlib.experiments.q2 import DEPTH_WIDTH, TUNED
from hwlib.report.claims import Claim, Kind, Status, count, find
from hwlib.report.common import best_run
from hwlib.report.fmt import pct, signed
from hwlib.report.original import Q2_DEPTH, Q2_DEPTH_HPARAMS, Q2_WIDTH, READINGS
from hwlib.report.q2 import (best_per_width, by_depth,
                             data_name, dev_noise, epochs_of, find_run, hp_label)

TREND_TOLERANCE = 0.002   # steps smaller than this (0.2 points) count as flat in ``trend``


def trend(values, tol: float = TREND_TOLERANCE) -> str:
    """How a sequence moves from step to step, as a label."""
    d = np.diff(values)
    if (d > tol).all():
        return "rises at every step"
    if (d < -tol).all():
        return "falls at every step"
    if (d > -tol).all():
        return f"never falls by more than {100 * tol:g} points from one step to the next"
    if (d < tol).all():
        return f"never rises by more than {100 * tol:g} points from one step to the next"
    return "is not monotone"


def _pairs(keys, values, fmt=pct) -> str:
    """A compact data list "16: 74.3%, 32: 84.0%"."""
    return ", ".join(f"{k}: {fmt(v)}" for k, v in zip(keys, values))


def _listed(values) -> str:
    """"16, 32" or "none"."""
    return ", ".join(map(str, values)) if values else "none"


def width_facts(records: list[dict]) -> dict:
    """2.2(a): best dev accuracy per width and its trend, whether each doubling gains less than the
    one before, the overall best run and how many runs are within two standard errors of it, and
    which settings win at which widths."""
    bw = best_per_width(records)
    ws, dev = list(bw), [r["summary"]["best_dev_acc"] for r in bw.values()]
    gains = np.diff(dev)
    top = best_run(records)
    noise = dev_noise(top)
    rivals = [r for r in records if r is not top
              and top["summary"]["best_dev_acc"] - r["summary"]["best_dev_acc"] <= noise]
    return {"w_first": ws[0], "w_last": ws[-1], "dev_first": dev[0], "dev_last": dev[-1],
            "trend": trend(dev), "steps": ", ".join(f"{a}→{b}: {100 * g:+.1f}" for a, b, g in zip(ws, ws[1:], gains)),
            "returns": ("each doubling gains less than the one before" if len(gains) > 1 and (np.diff(gains) < 0).all()
                        else "the gains per doubling do not shrink steadily"),
            "top_width": top["config"]["width"], "top_hp": hp_label(top["config"]),
            "top_dev": top["summary"]["best_dev_acc"], "noise_pts": 100 * noise, "rivals": len(rivals),
            "ranking": "not decisive" if rivals else "decisive",
            "winning_lrs": ", ".join(f"{x:g}" for x in sorted({r["config"]["lr"] for r in bw.values()})),
            "dropout_widths": _listed([w for w, r in bw.items() if r["config"]["dropout"] > 0]),
            "l2_widths": _listed([w for w, r in bw.items() if r["config"]["l2"] > 0])}


def factor_effects(records: list[dict]) -> dict[str, float]:
    """Main effect of each tuned hyper-parameter: for each width, the spread (max − min) of the
    mean best-dev accuracy across that parameter's values (averaging over the others), then the
    mean of those spreads over widths."""
    out = {}
    for k in TUNED:
        spreads = []
        for w in best_per_width(records):
            rs = [r for r in records if r["config"]["width"] == w]
            means = [np.mean([r["summary"]["best_dev_acc"] for r in rs if r["config"][k] == v])
                     for v in sorted({r["config"][k] for r in rs})]
            spreads.append(max(means) - min(means))
        out[k] = float(np.mean(spreads))
    return out


def factor_facts(records: list[dict]) -> dict:
    """The spread between the best and worst run within one width, the span of the widths' best
    runs, and each hyper-parameter's main effect (``effect_lr``, ``effect_dropout``, ``effect_l2``
    in points) with the one that matters most."""
    names = {"lr": "the learning rate", "dropout": "dropout", "l2": "ℓ2"}
    eff = factor_effects(records)
    spread = [max(r["summary"]["best_dev_acc"] for r in rs) - min(r["summary"]["best_dev_acc"] for r in rs)
              for rs in ([r for r in records if r["config"]["width"] == w] for w in best_per_width(records))]
    best = [r["summary"]["best_dev_acc"] for r in best_per_width(records).values()]
    return {"spread_min_pts": 100 * min(spread), "spread_max_pts": 100 * max(spread),
            "width_span_pts": 100 * (max(best) - min(best)), "n_widths": len(best),
            **{f"effect_{k}_pts": 100 * v for k, v in eff.items()}, "most": names[max(eff, key=eff.get)]}


def curve_facts(record: dict, flat_tolerance: float = 0.01, overfit_tolerance: float = 0.02,
                fitted: float = 0.97) -> dict:
    """2.2(b)/2.3(b): one run's convergence and fit read off its history. The training loss counts
    as flat when it changed by less than ``flat_tolerance`` of its value over the last ``k`` epochs;
    the dev loss as rising when it ends more than ``overfit_tolerance`` above its minimum; the run
    as not fitting its training set when the final train accuracy is below ``fitted``."""
    h, s = record["history"], record["summary"]
    E = h["epoch"][-1]
    tl, dl, ta, da = (np.asarray(h[k]) for k in ("train_loss", "dev_loss", "train_acc", "dev_acc"))
    k = max(1, min(5, E // 3))
    late = tl[-1] - tl[-1 - k]
    dmin = int(np.argmin(dl))
    rising = dmin < E and dl[-1] > dl[dmin] * (1 + overfit_tolerance)
    return {"dev": s["best_dev_acc"], "epoch": s["best_epoch"], "epochs": E, "test": s["test_acc"],
            "loss_start": tl[0], "loss_end": tl[-1], "k": k, "late_change": late,
            "flat_pct": 100 * flat_tolerance, "overfit_pct": 100 * overfit_tolerance,
            "loss_label": "still falling" if late < -flat_tolerance * tl[-1] else "flat",
            "dev_loss_min_epoch": dmin, "dev_loss_min": dl[dmin], "dev_loss_end": dl[-1],
            "overfit_label": ("rises after its minimum while the training loss keeps falling: overfitting"
                              if rising else "has not turned upwards: no sign of overfitting in the loss"),
            "gap_end_pts": 100 * (ta[-1] - da[-1]), "drop_after_pts": 100 * (s["best_dev_acc"] - da[-1]),
            "train_end": ta[-1], "fitted": fitted,
            "fit_label": "fits" if ta[-1] >= fitted else "does not fit"}


def train_width_facts(records: list[dict]) -> dict:
    """2.2(c): final train accuracy of each width's best run and its trend, the highest final train
    accuracy of any run of the smallest and largest width, the widths where some run reaches 100%,
    and the train − dev gap of the best run at both ends."""
    bw = best_per_width(records)
    ws = list(bw)
    tr = [r["summary"]["final_train_acc"] for r in bw.values()]
    mx = [max(r["summary"]["final_train_acc"] for r in records if r["config"]["width"] == w) for w in ws]
    gap = [r["summary"]["final_train_acc"] - r["summary"]["best_dev_acc"] for r in bw.values()]
    return {"w_first": ws[0], "w_last": ws[-1], "train_first": tr[0], "train_last": tr[-1],
            "trend": trend(tr), "max_first": mx[0], "max_last": mx[-1], "epochs": epochs_of(records),
            "full_widths": _listed([w for w, m in zip(ws, mx) if m >= 1.0]),
            "gap_first_pts": 100 * gap[0], "gap_last_pts": 100 * gap[-1]}


def depth_hparams_facts(width_records: list[dict], depth_records: list[dict]) -> dict:
    """2.3: the best 32-unit run of our grid, whether the depth study used its settings, and where
    the report's depth settings rank among our 32-unit runs."""
    ranked = sorted((r for r in width_records if r["config"]["width"] == DEPTH_WIDTH),
                    key=lambda r: -r["summary"]["best_dev_acc"])
    src = best_run(ranked)
    used = {k: depth_records[0]["config"][k] for k in TUNED}
    rep = find_run(width_records, width=DEPTH_WIDTH, **Q2_DEPTH_HPARAMS)
    out = {"src_run": src["run"], "src_hp": hp_label(src["config"]), "src_dev": src["summary"]["best_dev_acc"],
           "used": "these settings" if used == {k: src["config"][k] for k in TUNED} else
                   f"{hp_label(used)}, not these — rerun `python -m hwlib run q2.depth --force`",
           "report_hp": hp_label(Q2_DEPTH_HPARAMS), "n_runs": len(ranked)}
    if rep is not None:
        out.update(report_rank=ranked.index(rep) + 1, report_dev=rep["summary"]["best_dev_acc"],
                   report_vs_best_pts=100 * (rep["summary"]["best_dev_acc"] - src["summary"]["best_dev_acc"]))
    return out


def depth_facts(depth_records: list[dict]) -> dict:
    """2.3(a): best dev and final train accuracy per depth, the best depth (and those within two
    standard errors of it), the deepest net against the one-layer net, and at how many steps our
    dev accuracy moves in the same direction as the report's."""
    recs = by_depth(depth_records)
    Ls = [r["config"]["depth"] for r in recs]
    dev = [r["summary"]["best_dev_acc"] for r in recs]
    tr = [r["summary"]["final_train_acc"] for r in recs]
    best = best_run(recs)
    noise = dev_noise(best)
    ties = [r["config"]["depth"] for r in recs if r is not best
            and best["summary"]["best_dev_acc"] - r["summary"]["best_dev_acc"] <= noise]
    out = {"dev_by_depth": _pairs(Ls, dev), "train_by_depth": _pairs(Ls, tr), "train_trend": trend(tr),
           "best_depth": best["config"]["depth"], "best_dev": best["summary"]["best_dev_acc"],
           "best_test": best["summary"]["test_acc"], "deepest": Ls[-1],
           "deep_vs_one_pts": 100 * (dev[-1] - dev[0]), "ties": _listed(ties), "noise_pts": 100 * noise,
           "n_steps": len(Ls) - 1}
    rep = [Q2_DEPTH[L]["dev"] for L in Ls if L in Q2_DEPTH]
    if len(rep) == len(Ls):
        out.update(report_first=rep[0], report_last=rep[-1],
                   same_direction=int((np.sign(np.diff(dev)) == np.sign(np.diff(rep))).sum()))
    return out


def depth_fit_facts(depth_records: list[dict], overfit_gap: float = 0.05) -> dict:
    """2.3(c): how many deeper nets fit the training set better than the one-layer net, where the
    training accuracy peaks, what limits the deepest nets ("optimisation" when they fit their own
    training data worse than a shallower net, else "none seen"), and the train − dev gap range
    (overfitting is called when the gap reaches ``overfit_gap``)."""
    recs = by_depth(depth_records)
    Ls = [r["config"]["depth"] for r in recs]
    tr = [r["summary"]["final_train_acc"] for r in recs]
    gap = [r["summary"]["final_train_acc"] - r["summary"]["best_dev_acc"] for r in recs]
    k = int(np.argmax(tr))
    better = [L for L, t in zip(Ls[1:], tr[1:]) if t > tr[0]]
    return {"n_better": len(better), "n_deeper": len(Ls) - 1, "better_depths": _listed(better),
            "train_one": tr[0], "peak_depth": Ls[k], "peak_train": tr[k], "deepest": Ls[-1], "train_last": tr[-1],
            "limit": "optimisation" if k < len(Ls) - 1 else "none seen",
            "gap_min_pts": 100 * min(gap), "gap_max_pts": 100 * max(gap), "overfit_gap_pts": 100 * overfit_gap,
            "overfit": "overfitting" if max(gap) >= overfit_gap else "no overfitting"}


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
            f"best dev {_pairs([ws[0], 128, ws[-1]], [dev[ws[0]], dev[128], dev[ws[-1]]])}; gain up to 128 "
            f"{signed(100 * early)} points, after {signed(100 * late)}; saturated means a gain within "
            f"{saturation_se:g} standard errors of a dev accuracy (±{100 * saturation_se * se:.2f} points)")
    add("train_width", "2.2(c)", shown((np.diff([tr[w] for w in ws]) > 0).all()),
        "final train accuracy of the best run per width: " + _pairs(ws, [tr[w] for w in ws]))
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
            f"{hp_label(recs[0]['config'])}; best dev " + _pairs([r["config"]["depth"] for r in recs], dd))
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


def report_table_facts() -> dict:
    """Numbers of the report's own Q2 tables that the chapter's prose cites: the train − dev gap range
    over its depth table (points) and its best width."""
    gaps = _report_depth_gaps().values()
    return {"depth_gap_min_pts": min(gaps), "depth_gap_max_pts": max(gaps), "best_width": _report_best_width()}


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
