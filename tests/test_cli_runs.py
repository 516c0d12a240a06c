"""`run` and `list` say what they do: a run recorded with other settings than the code's is retrained
and named, every run ends with a summary line (best dev/test, record path), and `list` never
generates the synthetic letters just to look at the records."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hwlib.data import load_letters, synthetic
from hwlib.experiments import q1, q2, results
from hwlib.experiments.cli import main

REPO = Path(__file__).resolve().parents[1]
SLUG = f"synthetic-v{synthetic.GENERATOR_VERSION}-seed42"


def cli(args, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m hwlib ARGS`` with a clean HWLIB_* environment plus ``env``."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}
    full.update({"OMP_NUM_THREADS": "1", **env})
    return subprocess.run([sys.executable, "-m", "hwlib", *map(str, args)], cwd=REPO, env=full,
                          capture_output=True, text=True, timeout=timeout)


def _record(root: Path, exp: str = "q1.logreg", run: str = "logreg") -> Path:
    return root / SLUG / "quick" / exp / f"{run}.json"


@pytest.fixture
def res(tmp_path, monkeypatch) -> Path:
    """A private results root (the synthetic cache stays the session's)."""
    monkeypatch.setenv("HWLIB_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def test_a_changed_learning_rate_is_retrained_and_named(res, monkeypatch, capsys):
    assert main(["run", "q1.logreg", "--profile", "quick"]) == 0
    path = _record(res)
    old = json.loads(path.read_text())
    assert old["config"]["lr"] == 1e-4
    capsys.readouterr()

    monkeypatch.setattr(q1, "LOGREG_A", {"lr": 1e-3, "l2": 1e-5})  # as if someone edited q1.py
    assert main(["run", "q1.logreg", "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert "[hwlib] q1.logreg/logreg: recorded with lr 0.0001, the code now says lr 0.001 — retraining\n" in out
    assert "[hwlib] q1.logreg (quick): 1 run trained, 0 reused" in out
    new = json.loads(path.read_text())
    assert new["config"]["lr"] == 1e-3 and new["config"]["l2"] == 1e-5
    assert new["history"]["dev_acc"] != old["history"]["dev_acc"]
    assert new["provenance"]["finished"] >= old["provenance"]["finished"]


def test_every_differing_field_is_named_and_a_failed_retrain_keeps_the_old_record(res, monkeypatch, capsys):
    assert main(["run", "q1.logreg", "--profile", "quick"]) == 0
    path = _record(res)
    before = path.read_bytes(), path.with_suffix(".npz").read_bytes()
    capsys.readouterr()
    monkeypatch.setattr(q1, "LOGREG_A", {"lr": 1e-4, "l2": 1e-4})
    monkeypatch.setattr(q1, "EPOCHS", {"full": 20, "quick": 2})

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(q1, "fit", interrupted)
    assert main(["run", "q1.logreg", "--profile", "quick"]) == 130
    out = capsys.readouterr().out
    assert ("q1.logreg/logreg: recorded with l2 1e-05, epochs 5, the code now says l2 0.0001, epochs 2 "
            "— retraining") in out
    assert (path.read_bytes(), path.with_suffix(".npz").read_bytes()) == before  # nothing lost


def test_an_unchanged_run_is_reused_and_the_summary_names_the_best_run(res):
    env = {"HWLIB_RESULTS": str(res), "HWLIB_CACHE": os.environ["HWLIB_CACHE"]}
    p = cli(["run", "q1.logreg", "--profile", "quick"], env)
    assert p.returncode == 0, p.stderr
    path = _record(res)
    mtime = path.stat().st_mtime_ns
    p = cli(["run", "q1.logreg", "--profile", "quick"], env)
    assert p.returncode == 0, p.stderr
    assert path.stat().st_mtime_ns == mtime and "retraining" not in p.stdout
    s = json.loads(path.read_text())["summary"]
    (line,) = [ln for ln in p.stdout.splitlines() if ln.startswith("[hwlib] q1.logreg (quick)")]
    assert line.startswith("[hwlib] q1.logreg (quick): 0 runs trained, 1 reused in ")
    assert (f"— best: logreg, dev {100 * s['best_dev_acc']:.1f}% (epoch {s['best_epoch']}), "
            f"test {100 * s['test_acc']:.1f}%; record ") in line
    assert Path(line.rsplit("; record ", 1)[1]).resolve() == path.resolve()    # nothing trained: no pool counts


def test_the_summary_picks_the_best_run_by_dev_accuracy(res, monkeypatch, capsys):
    monkeypatch.setattr(q1, "EPOCHS", {"full": 20, "quick": 1})
    monkeypatch.setattr(q1, "GRID_LRS", (1e-3,))
    monkeypatch.setattr(q1, "GRID_FEATURES", ("maxpool2",))
    assert main(["run", "q1.grid", "--profile", "quick"]) == 0
    recs = results.load_all("q1.grid", SLUG, "quick", res)
    best = results.best_run(recs)
    out = capsys.readouterr().out
    assert re.search(rf"q1.grid \(quick\): 2 runs trained, 0 reused in [\d.]+ s — best: {re.escape(best['run'])}, "
                     rf"dev {100 * best['summary']['best_dev_acc']:.1f}%", out)
    # a run the code no longer defines is named, not silently kept
    monkeypatch.setattr(q1, "GRID_L2S", (1e-5,))
    assert main(["run", "q1.grid", "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert "q1.grid (quick): 0 runs trained, 1 reused" in out
    assert "1 record(s) in" in out and "(maxpool2_lr1e-03_l21e-04)" in out


def test_list_on_an_empty_cache_generates_nothing(tmp_path):
    cache, res = tmp_path / "cache", tmp_path / "results"
    results.save_record(results.make_record(
        "q1.logreg", "logreg", dataset={"name": "x", "slug": SLUG, "sha256": "0" * 64}, profile="full",
        config={}, history={"epoch": [0]}, summary={"best_dev_acc": 0.5, "best_epoch": 0}, wall_time_s=0),
        root=res)
    t0 = time.perf_counter()
    # the full profile: generating it would take minutes
    p = cli(["list", "--profile", "full"], {"HWLIB_CACHE": str(cache), "HWLIB_RESULTS": str(res)}, timeout=60)
    took = time.perf_counter() - t0
    assert p.returncode == 0, p.stderr
    assert not cache.exists() or not any(cache.rglob("*")), list(cache.rglob("*"))
    assert took < 30, took
    assert p.stdout.splitlines()[0] == (
        f"dataset {SLUG} (full): not generated yet, so the records' data hash is not checked — "
        "`python -m hwlib data synthetic --profile full` generates it")
    assert re.search(r"^q1\.logreg +1 recorded run\(s\)", p.stdout, re.M)


def test_list_checks_the_hash_when_the_data_is_there(tmp_path):
    """Cached synthetic letters and real data files are hashed, and records of other data refused."""
    env = {"HWLIB_CACHE": os.environ["HWLIB_CACHE"], "HWLIB_RESULTS": str(tmp_path / "r")}
    d = load_letters(profile="quick")  # generates the quick letters in the session cache if needed
    p = cli(["list", "--profile", "quick"], env)
    assert p.returncode == 0 and p.stdout.startswith(f"dataset {SLUG} (quick): synthetic-letters-v{synthetic.GENERATOR_VERSION}, "
                                                     f"sha256 {d.sha256[:12]}…"), p.stdout
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(26), 6)
    X = rng.integers(0, 60, size=(len(y), 28, 28), dtype=np.uint8)
    X[np.arange(len(y)), 2 + y % 24, :] = 255
    f = tmp_path / "real.npz"
    np.savez(f, train_images=X, train_labels=y, test_images=X, test_labels=y)
    real = load_letters(str(f), profile="quick")
    p = cli(["list", "--profile", "quick", "--data", f], env)
    assert p.returncode == 0 and f"sha256 {real.sha256[:12]}…" in p.stdout.splitlines()[0], p.stdout
    results.save_record(results.make_record(
        "q1.logreg", "logreg", dataset={"name": "x", "slug": real.slug, "sha256": "0" * 64}, profile="quick",
        config={}, history={"epoch": [0]}, summary={"best_dev_acc": 0.5, "best_epoch": 0}, wall_time_s=0),
        root=tmp_path / "r")
    p = cli(["list", "--profile", "quick", "--data", f], env)
    assert p.returncode == 2 and "recorded from other data" in p.stderr


def test_a_q2_run_recorded_with_other_settings_follows_the_same_rule(res, monkeypatch, capsys):
    monkeypatch.setattr(q2, "GRID_WIDTHS", (4,))
    monkeypatch.setattr(q2, "GRID_LRS", (1e-3,))
    monkeypatch.setattr(q2, "GRID_DROPOUTS", (0.0,))
    monkeypatch.setattr(q2, "EPOCHS", {"full": 1, "quick": 1})
    monkeypatch.setenv("HWLIB_WORKERS", "1")
    assert main(["run", "q2.width", "--profile", "quick"]) == 0
    assert "2 runs trained, 0 reused" in capsys.readouterr().out
    run = q2.run_name(q2.width_grid_configs(1)[0])
    path = _record(res, "q2.width", run)
    rec = json.loads(path.read_text())
    rec["config"]["batch_size"] = 32  # as if the code had said batch 32 when it was recorded
    path.write_text(json.dumps(rec))
    assert main(["run", "q2.width", "--profile", "quick"]) == 0
    out = capsys.readouterr().out
    assert (f"[hwlib] q2.width/{run}: recorded with batch_size 32, the code now says batch_size 64 "
            "— retraining") in out
    assert "q2.width (quick): 1 run trained, 1 reused" in out
    assert json.loads(path.read_text())["config"]["batch_size"] == 64
