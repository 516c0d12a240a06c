"""How close the synthetic stand-in is to real EMNIST: the numbers ``benchmarks/realism.py`` recorded
(``results/realism.json``), as tables and facts for the Data chapter.

Accuracies in the record are percentages; the facts are fractions, like every other chapter's.
"""
from __future__ import annotations

import json

from hwlib.errors import ResultError
from hwlib.paths import results_dir
from hwlib.report import original
from hwlib.report.frame import html_table

# the targets for the stand-in (percent): transfer to real a–m (26-way), and linear models on
# the stand-in itself near the report's real-data accuracies
TARGETS = {"MLP, 100 units (Q1.3)": 60.0, "Q2 best": 65.0}
REPORT_LINEAR = {"logistic regression 1.2(a)": 100 * original.Q1["logreg"]["test_acc"],
                 "best raw-pixel grid run": 100 * original.Q1_GRID_BEST_TEST}
LINEAR_TOLERANCE = 3.0
COMMAND = "python benchmarks/realism.py --record [--real PATH-TO-EMNIST]"


def load() -> dict:
    """The recorded realism numbers (``results/realism.json``)."""
    path = results_dir() / "realism.json"
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ResultError(f"cannot read {path} ({exc}); record it with `{COMMAND}`") from exc
    if "versions" not in rec or not rec.get("ablation"):
        raise ResultError(f"{path} lacks the v2/v3 table or the ablation; record both with `{COMMAND}`")
    return rec


def _row(rec: dict, version: str, label: str) -> dict | None:
    rows = rec.get("versions", {}).get(version, {}).get("rows", {})
    if label.startswith("Q2 best"):
        label = next((k for k in rows if k.startswith("Q2 best")), label)
    return rows.get(label)


def table(rec: dict):
    """Every model the project trains on the stand-in, v2 → v3: stand-in test, real 26-way, restricted."""
    v2, v3 = rec["versions"]["v2"]["rows"], rec["versions"]["v3"]["rows"]
    classes = rec["real"]["classes"]
    span = f"{classes[0]}–{classes[-1]}" if len(classes) > 1 else classes

    def cell(label, key):
        a, b = _row(rec, "v2", label), _row(rec, "v3", label)
        return " → ".join("–" if x is None else f"{x[key]:.1f}" for x in (a, b))

    labels = list(v3) or list(v2)
    return html_table(["model trained on the stand-in", "stand-in test (v2 → v3)",
                       f"real {span}, 26-way", f"real {span}, {len(classes)}-way"],
                      [[lab, cell(lab, "standin_test"), cell(lab, "real_26way"), cell(lab, "real_restricted")]
                       for lab in labels],
                      caption=f"Accuracy in percent. Real images: {rec['real']['name']} ({rec['real']['n']:,} "
                              f"images, classes {span}), scored over all 26 classes and over the {len(classes)} "
                              f"present. Recorded by: {COMMAND}.")


def ablation_table(rec: dict):
    """The v3 ablation: one factor off at a time → transfer (the probe of benchmarks/realism.py)."""
    rows = rec.get("ablation") or []
    base = rows[0]["real_26way"] if rows else 0.0
    return html_table(["variant of v3", "real, 26-way", "change", "real, restricted"],
                      [[r["variant"], f"{r['real_26way']:.1f}",
                        "" if i == 0 else f"{r['real_26way'] - base:+.1f}", f"{r['real_restricted']:.1f}"]
                       for i, r in enumerate(rows)],
                      caption="Probe: 26,000 generated images, a 784-256-26 relu MLP, Adam lr 10⁻³, batch 64, "
                              "10 epochs, one seed; the probe's own spread between seeds is about ±1.5 points.")


def facts(rec: dict) -> dict:
    """Numbers for the Data chapter's sentences (fractions), and which targets the stand-in meets."""
    mlp = _row(rec, "v3", "MLP, 100 units (Q1.3)")
    q2 = _row(rec, "v3", "Q2 best")
    mlp2, q22 = _row(rec, "v2", "MLP, 100 units (Q1.3)"), _row(rec, "v2", "Q2 best")
    out = {"real_name": rec["real"]["name"], "real_n": rec["real"]["n"],
           "mlp_v2": mlp2["real_26way"] / 100, "mlp_v3": mlp["real_26way"] / 100,
           "q2_v2": q22["real_26way"] / 100, "q2_v3": q2["real_26way"] / 100,
           "mlp_target": TARGETS["MLP, 100 units (Q1.3)"] / 100, "q2_target": TARGETS["Q2 best"] / 100}
    out["mlp_met"] = "meets" if mlp["real_26way"] >= TARGETS["MLP, 100 units (Q1.3)"] else "misses"
    out["q2_met"] = "meets" if q2["real_26way"] >= TARGETS["Q2 best"] else "misses"
    for i, (label, real_acc) in enumerate(REPORT_LINEAR.items()):
        r = _row(rec, "v3", label)
        out[f"lin{i}_standin"] = r["standin_test"] / 100
        out[f"lin{i}_report"] = real_acc / 100
        out[f"lin{i}_within"] = "within" if abs(r["standin_test"] - real_acc) <= LINEAR_TOLERANCE else "outside"
    out["lin_tol"] = LINEAR_TOLERANCE
    conf = rec["versions"]["v3"].get("mlp_confusions") or []
    out["confusions"] = ", ".join(f"{c['true']} read as {c['pred']} ({c['share']:.0f} % of the {c['true']}'s)"
                                  for c in conf[:4]) or "not recorded"
    ref = rec.get("within_domain")
    if ref:
        out.update(ref_acc=ref["real_restricted"] / 100, ref_n=ref["n_train"])
    abl = rec.get("ablation") or []
    if abl:
        base = abl[0]["real_26way"]
        drops = sorted(((base - r["real_26way"], r["variant"]) for r in abl[1:-1]), reverse=True)
        out["top_factor"], out["top_drop"] = drops[0][1], drops[0][0]
        out["second_factor"], out["second_drop"] = drops[1][1], drops[1][0]
    return out


def findings(rec: dict, letters=None) -> dict:
    """What the Data chapter found, for its closing summary: the dataset every chapter trains on
    (``letters``: a ``Letters``), how well the stand-in's best models read real letters against a
    model trained on real ones (``ref_gap_pts``), and whether linear models on the stand-in land
    near the report's real-data accuracies."""
    f = facts(rec)
    out = {"mlp_real": f["mlp_v3"], "q2_real": f["q2_v3"], "real_n": f["real_n"], "real_name": f["real_name"],
           "lin_within": sum(f[f"lin{i}_within"] == "within" for i in range(len(REPORT_LINEAR))),
           "lin_n": len(REPORT_LINEAR), "lin_tol": f["lin_tol"], "top_factor": f.get("top_factor", "not recorded")}
    if "ref_acc" in f:
        restricted = _row(rec, "v3", "Q2 best")["real_restricted"] / 100
        out.update(ref_acc=f["ref_acc"], q2_restricted=restricted, ref_gap_pts=100 * (f["ref_acc"] - restricted))
    if letters is not None:
        d = letters.describe()
        out.update(data=d["name"], synthetic="synthetic" if d.get("synthetic") else "real",
                   train=len(letters.train), dev=len(letters.dev), test=len(letters.test))
    return out
