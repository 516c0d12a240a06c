"""The intro's headline table: for each question, our result, the report's, and the verdict, with
the dataset named. Every cell comes from the chapters' own facts (``q1.findings``,
``q2_facts.findings``, ``q3.findings``); a data-dependent comparison on the synthetic stand-in is
never a verdict on the report (its numbers are on real EMNIST).
"""
from __future__ import annotations

import html

from hwlib.report import book, q1, q2_facts, q3
from hwlib.report.common import HTMLBlock
from hwlib.report.fmt import pct, signed

LEVEL_TOLERANCE_PTS = 1.0     # on the same data, a test accuracy this close to the report's counts as reproduced


def records() -> tuple[dict[str, list[dict]], bool]:
    """Every experiment's records (recorded, or live in the quick profile) and whether any was live."""
    from hwlib.experiments import registry
    out, live = {}, False
    for name in registry():
        out[name], was_live = book.recorded_or_live(name)
        live = live or was_live
    return out, live


def level_verdict(ours: float, theirs: float, synthetic: bool, tol_pts: float = LEVEL_TOLERANCE_PTS) -> str:
    """How an accuracy compares with the report's: never compared across datasets."""
    if synthetic:
        return "not compared: different data"
    d = 100 * (ours - theirs)
    return "reproduced" if abs(d) <= tol_pts else f"{signed(d)} points from the report's"


def headline(recs: dict[str, list[dict]], n_per_case: int = 10) -> dict:
    """Rows (question, what, ours, the report's, verdict) and the data behind them."""
    f1 = q1.findings(recs)
    W, D = recs["q2.width"], recs["q2.depth"]
    f2 = q2_facts.findings(W, D)
    agr = q3.autograd_agreement(n_per_case=n_per_case)
    f3 = q3.findings(q3.check_report_claims(agr), agr)
    syn = f1["synthetic"]
    rows = [
        ("Q1", "perceptron, test accuracy", pct(f1["perceptron_test"]), pct(f1["perceptron_report"]),
         level_verdict(f1["perceptron_test"], f1["perceptron_report"], syn)),
        ("Q1", "MLP with 100 relu units, test accuracy", pct(f1["mlp_test"]), pct(f1["mlp_report"]),
         level_verdict(f1["mlp_test"], f1["mlp_report"], syn)),
        ("Q1", "the report's claims about its pooled features", "—", "—",
         f"{f1['contradicted']} of {f1['claims']} contradicted, {f1['partly']} holding in part, by the report's own numbers"),
        ("Q2", "best run of the 80-run width grid, test accuracy",
         f"{pct(f2['top_test'])} (width {f2['top_width']}, {f2['top_hp']})",
         f"{pct(f2['report_test'])} (width {f2['report_width']}, {f2['report_hp']})",
         level_verdict(f2["top_test"], f2["report_test"], f2["synthetic"])),
        ("Q2", "dev accuracy saturates above 128 units",
         f"{signed(f2['gain_after_128_pts'])} points from 128 to {f2['widest']} units"
         if f2["gain_after_128_pts"] is not None else "—", "saturates", f2["saturation_verdict"]),
        ("Q2", "accuracy falls with depth (width 32)",
         f"best depth {f2['best_depth']} ({pct(f2['depth_test'])} test)" if "best_depth" in f2 else "—",
         f"best depth {f2.get('report_depth', 1)}, falling to depth 9", f2["depth_verdict"]),
        ("Q2", "the report's claims checked against its own tables and the assignment", "—", "—",
         f"{f2['contradicted']} of {f2['independent']} contradicted by the report's own tables"),
        ("Q3", "the derivations: softmax, sparsemax, relumax",
         f"{f3['confirmed']} confirmed, {f3['refuted']} refuted, {f3['partly']} partly right",
         f"{f3['n']} claims", f"refuted: items {f3['refuted_items']}; partly right: item {f3['partly_items']}"),
    ]
    return {"rows": rows, "data": f1["data"], "synthetic": syn, "q1": f1, "q2": f2, "q3": f3}


def headline_table(h: dict) -> HTMLBlock:
    """The headline table, with the dataset named in the header and the caption."""
    data = html.escape(h["data"])
    kind = "the synthetic stand-in, not handwriting" if h["synthetic"] else "real data"
    head = ("<tr><th>question</th><th>what</th>"
            f"<th>ours ({data})</th><th>the report's (real EMNIST Letters)</th><th>verdict</th></tr>")
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in h["rows"])
    cap = (f"Ours: {data} ({kind}); the report's: real EMNIST Letters, the course's split. Accuracies are "
           "test accuracies of the best-validation checkpoint."
           + (" On different data the levels are not compared, and readings of accuracies are what the "
              "stand-in shows, not verdicts on the report." if h["synthetic"] else ""))
    return HTMLBlock(f'<table class="table headline"><caption>{html.escape(cap)}</caption>'
                     f"<thead>{head}</thead><tbody>{body}</tbody></table>")
