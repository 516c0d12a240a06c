"""The report's Q1 claims and the realism record: verdicts from the report's own numbers, and the
Data chapter's realism facts from a recorded benchmark run."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chapter_code import chapter_code

from hwlib.errors import ResultError
from hwlib.report import errata, q1
from hwlib.report.claims import Kind, Status


def _feature_record(features, seconds):
    return {"run": features, "config": {"features": features, "feature_label": features, "lr": 1e-3},
            "summary": {"dim": 784, "best_dev_acc": 0.7, "best_epoch": 5, "test_acc": 0.7, "mean_epoch_time_s": seconds,
                        "feature_time_s": 0.1}}


def test_q1_claims_from_the_reports_own_numbers():
    claims = {c.key: c for c in q1.report_claims([])}
    assert list(claims) == ["q1.pooling_loss"]     # no feature records: no time comparison
    pool = claims["q1.pooling_loss"]
    assert pool.kind is Kind.DATA_INDEPENDENT and "little accuracy lost" in pool.claim   # the report's words
    # its own grid: best raw 0.7195, best pooled 0.7095 -> -1.0 point, beyond ±0.6 points of noise
    # (two standard errors on 20,800 validation images) and below the learning rate's 2.4 points
    assert pool.status is Status.PARTLY and "(−1.0 points)" in pool.evidence and "±0.6 points" in pool.evidence
    assert "2.4 points" in pool.evidence
    assert "1.0 points" in pool.correction and "2.7" in pool.correction    # lr 10⁻⁴: −2.7 points


def test_q1_time_ratio_is_set_beside_ours():
    same = q1.report_claims([_feature_record("raw", 2.0), _feature_record("maxpool2", 0.9)])[-1]
    assert same.kind is Kind.MACHINE_DEPENDENT and same.status is Status.HOLDS
    assert same.verdict == "consistent with our measurement"
    other = q1.report_claims([_feature_record("raw", 2.0), _feature_record("maxpool2", 2.0)])[-1]
    assert other.status is Status.DIFFERS and other.verdict == "we measure 1.0× rather than 2.3×"
    html = errata.blocks(q1.report_claims([]), "Q1")._repr_html_()
    assert html.count('data-tone="partly"') == 1 and "data-independent" in html


def _realism_record():
    rows = {"perceptron": [50.0, 30.0, 31.0], "logistic regression 1.2(a)": [68.0, 40.0, 41.0],
            "best raw-pixel grid run": [76.0, 41.0, 42.0], "best HOG grid run": [88.0, 55.0, 56.0],
            "MLP, 100 units (Q1.3)": [90.0, 64.0, 66.0], "Q2 best setting (width 256)": [95.0, 68.0, 69.0]}
    v3 = {"rows": {k: dict(zip(("standin_test", "real_tuning", "real_held_out"), [a, b - 8, c - 8]))
                   for k, (a, b, c) in rows.items()}}
    v4 = {"rows": {k: dict(zip(("standin_test", "real_tuning", "real_held_out"), v)) for k, v in rows.items()},
          "mlp_confusions": [{"true": "i", "pred": "l", "share": 30.0}]}
    ablation = [{"variant": "v4 as generated", "real_tuning": 65.0, "real_held_out": 66.0},
                {"variant": "Hershey fonts instead of handwriting fonts", "real_tuning": 55.0, "real_held_out": 56.0},
                {"variant": "no jitter", "real_tuning": 65.5, "real_held_out": 66.0},
                {"variant": "no elastic field", "real_tuning": 62.0, "real_held_out": 63.0},
                {"variant": "v3 (for scale)", "real_tuning": 40.0, "real_held_out": 40.0}]
    return {"real": {"name": "real", "sha256": "0" * 64, "n": 10000, "classes": "abcdefghijklm",
                     "halves": "even / odd rank"}, "report_logreg": 69.6,
            "versions": {"v3": v3, "v4": v4}, "ablation": ablation,
            "within_domain": {"n_train": 5000, "n_test": 5000, "real_held_out": 87.0},
            "family_scores": {"caveat": 80.0, "kristi": 20.0}, "family_bar": 75.0,
            "stroke_widths": {name: {"n": n, "mean": m, "sd": sd, "p10": m - sd, "p50": m, "p90": m + sd}
                              for name, n, m, sd in (("real tuning half", 5000, 3.4, 1.1), ("real held-out half", 5000, 3.4, 1.0),
                                                     ("v3", 2600, 3.8, 0.9), ("v4", 2600, 3.5, 1.2))}}


def test_realism_facts_and_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_RESULTS", str(tmp_path))
    with pytest.raises(ResultError, match="benchmarks/realism.py"):
        chapter_code("data").load_realism()
    (tmp_path / "realism.json").write_text(json.dumps(_realism_record()))
    rec = chapter_code("data").load_realism()
    f = chapter_code("data").realism_facts(rec)
    assert f["mlp_v4_held"] == pytest.approx(0.66) and f["mlp_met"] == "meets"      # target 65 % held-out
    assert f["q2_v4_held"] == pytest.approx(0.69) and f["q2_met"] == "misses"       # target 70 %
    assert f["mlp_v3_held"] == pytest.approx(0.58) and f["mlp_half_gap_pts"] == pytest.approx(-2.0)
    assert f["lr_within"] == "within" and f["lr_dist_pts"] == pytest.approx(-1.6)   # 68 vs 69.6, ±5
    assert (f["top_factor"], f["top_drop"]) == ("Hershey fonts instead of handwriting fonts", 10.0)
    assert (f["second_factor"], f["second_drop"]) == ("no elastic field", 3.0)   # v3 "for scale" is no factor
    assert f["ref_acc"] == pytest.approx(0.87) and f["fam_n"] == 2
    html = chapter_code("data").realism_table(rec)._repr_html_()
    assert "56.0 → 64.0" in html and "held-out half (v3 → v4)" in html
    assert "-10.0" in chapter_code("data").ablation_table(rec)._repr_html_()
    assert (f["w_tune_sd"], f["w_v3_sd"], f["w_v4_sd"]) == (1.1, 0.9, 1.2) and f["pen_v4"] == "1.5–6"
    widths = chapter_code("data").widths_table(rec)._repr_html_()
    assert "real held-out half" in widths and ">4.4<" in widths and "v4 2,600" in widths     # p90 of the held-out half
    fams = chapter_code("data").family_table(rec)._repr_html_()
    assert fams.index("caveat") < fams.index("kristi") and ">no<" in fams
    for part in ("ablation", "stroke_widths"):
        (tmp_path / "realism.json").write_text(json.dumps({k: v for k, v in rec.items() if k != part}))
        with pytest.raises(ResultError, match="stroke widths or the ablation"):
            chapter_code("data").load_realism()


def test_realism_benchmark_runs_on_the_fragment(tmp_path):
    """benchmarks/realism.py --quick end to end on the real fragment (skipped where it is absent)."""
    root = Path(__file__).resolve().parent.parent
    if not (root.parent / "shared" / "data" / "emnist-letters.npz").is_file():
        pytest.skip("the real EMNIST fragment (../shared/data) is not on this machine")
    env = {**os.environ, "HWLIB_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, str(root / "benchmarks" / "realism.py"), "--quick"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "MLP, 100 units (Q1.3)" in out.stdout and "no per-class case mix" in out.stdout
    assert "held-out half" in out.stdout and "handwriting families" in out.stdout
    assert "within-domain reference" in out.stdout and "stroke widths" in out.stdout


def test_realism_benchmark_skips_without_real_letters(tmp_path):
    root = Path(__file__).resolve().parent.parent
    bad = subprocess.run([sys.executable, str(root / "benchmarks" / "realism.py"), "--real", str(tmp_path / "none.npz")],
                         cwd=root, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "none.npz" in bad.stderr and "Traceback" not in bad.stderr
