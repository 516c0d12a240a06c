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
    rows = {"perceptron": [50.0, 30.0, 40.0], "logistic regression 1.2(a)": [68.0, 40.0, 48.0],
            "best raw-pixel grid run": [76.0, 41.0, 49.0], "best HOG grid run": [88.0, 55.0, 60.0],
            "MLP, 100 units (Q1.3)": [90.0, 58.0, 64.0], "Q2 best setting (width 256)": [95.0, 66.0, 70.0]}
    version = {"rows": {k: dict(zip(("standin_test", "real_26way", "real_restricted"), v)) for k, v in rows.items()},
               "generation_s": 100.0}
    ablation = [{"variant": "v3 as generated", "real_26way": 58.0, "real_restricted": 65.0},
                {"variant": "one font", "real_26way": 50.0, "real_restricted": 57.0},
                {"variant": "no jitter", "real_26way": 58.5, "real_restricted": 65.0},
                {"variant": "no v2 share", "real_26way": 55.0, "real_restricted": 62.0},
                {"variant": "v2 (for scale)", "real_26way": 50.0, "real_restricted": 56.0}]
    return {"real": {"name": "real", "sha256": "0" * 64, "n": 10000, "classes": "abcdefghijklm"},
            "versions": {"v2": version, "v3": version}, "ablation": ablation,
            "within_domain": {"n_train": 7200, "n_test": 2800, "real_restricted": 87.0}}


def test_realism_facts_and_tables(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_RESULTS", str(tmp_path))
    with pytest.raises(ResultError, match="benchmarks/realism.py"):
        chapter_code("data").load_realism()
    (tmp_path / "realism.json").write_text(json.dumps(_realism_record()))
    rec = chapter_code("data").load_realism()
    f = chapter_code("data").realism_facts(rec)
    assert f["mlp_v3"] == pytest.approx(0.58) and f["mlp_met"] == "misses"
    assert f["q2_v3"] == pytest.approx(0.66) and f["q2_met"] == "meets"
    assert f["lin0_within"] == "within" and f["lin1_within"] == "outside"     # 68 vs 69.6; 76 vs 72.1
    assert (f["top_factor"], f["top_drop"]) == ("one font", 8.0)
    assert (f["second_factor"], f["second_drop"]) == ("no v2 share", 3.0)
    assert f["ref_acc"] == pytest.approx(0.87)
    html = chapter_code("data").realism_table(rec)._repr_html_()
    assert "58.0 → 58.0" in html and "a–m, 13-way" in html
    assert "-8.0" in chapter_code("data").ablation_table(rec)._repr_html_()
    del rec["ablation"]
    (tmp_path / "realism.json").write_text(json.dumps(rec))
    with pytest.raises(ResultError, match="ablation"):
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
    assert "within-domain reference" in out.stdout


def test_realism_benchmark_skips_without_real_letters(tmp_path):
    root = Path(__file__).resolve().parent.parent
    bad = subprocess.run([sys.executable, str(root / "benchmarks" / "realism.py"), "--real", str(tmp_path / "none.npz")],
                         cwd=root, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "none.npz" in bad.stderr and "Traceback" not in bad.stderr
