"""Results store: atomic writes, provenance, never a partial record over a complete one; the
experiment registry's resume behaviour; the CLI's error handling."""
from __future__ import annotations

import dataclasses
import re
import json
import subprocess
import sys

import numpy as np
import pytest

from hwlib import experiments
from hwlib.experiments import record_check, results
from hwlib.experiments.cli import main
from hwlib.data import Split, load_letters
from hwlib.errors import ConfigError, DataError, ResultError

DS = {"name": "toy", "slug": "toy-v1", "sha256": "0" * 64, "source": "test", "profile": "quick",
      "synthetic": True, "sizes": {"train": 1, "dev": 1, "test": 1}}


def _rec(run="r1", complete=True, acc=0.5):
    return results.make_record("t.exp", run, dataset=DS, profile="quick", config={"lr": 1e-3},
                               history={"epoch": [0, 1], "dev_acc": [0.1, acc]},
                               summary={"test_acc": acc, "best_dev_acc": acc, "best_epoch": 1},
                               wall_time_s=1.25, complete=complete)


def test_roundtrip_with_provenance_and_arrays(tmp_path):
    path = results.save_record(_rec(), arrays={"W": np.eye(3, dtype=np.float32)}, root=tmp_path)
    assert path == tmp_path / "toy-v1" / "quick" / "t.exp" / "r1.json"
    rec = results.load_record("t.exp", "r1", "toy-v1", "quick", root=tmp_path)
    prov = rec["provenance"]
    assert prov["wall_time_s"] == 1.25 and prov["versions"]["numpy"] == np.__version__
    assert prov["git_commit"] is None or len(prov["git_commit"]) == 40
    assert prov["hardware"]["cpu_count"] >= 1 and prov["command"]
    assert rec["dataset"]["sha256"] == "0" * 64 and rec["history"]["dev_acc"] == [0.1, 0.5]
    np.testing.assert_array_equal(results.load_arrays(rec)["W"], np.eye(3))
    assert not list(path.parent.glob("*.tmp")), "temporary files left behind"


def test_partial_never_replaces_complete(tmp_path):
    results.save_record(_rec(acc=0.7), root=tmp_path)
    with pytest.raises(ResultError, match="refusing to overwrite the complete record"):
        results.save_record(_rec(complete=False, acc=0.1), root=tmp_path)
    assert results.load_record("t.exp", "r1", "toy-v1", "quick", root=tmp_path)["summary"]["test_acc"] == 0.7
    results.save_record(_rec(acc=0.8), root=tmp_path)  # a complete rerun may replace it
    assert results.load_record("t.exp", "r1", "toy-v1", "quick", root=tmp_path)["summary"]["test_acc"] == 0.8


def test_failed_write_keeps_the_old_record(tmp_path, monkeypatch):
    path = results.save_record(_rec(acc=0.7), root=tmp_path)
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(results.os, "replace", boom)
    with pytest.raises(ResultError, match=r"r1.json \(No space left on device\); nothing was overwritten"):
        results.save_record(_rec(acc=0.9), root=tmp_path)
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp"))


def test_load_all_skips_partial_and_reports_corrupt(tmp_path):
    results.save_record(_rec("b"), root=tmp_path)
    results.save_record(_rec("a"), root=tmp_path)
    results.save_record(_rec("c", complete=False), root=tmp_path)
    assert [r["run"] for r in results.load_all("t.exp", "toy-v1", "quick", root=tmp_path)] == ["a", "b"]
    assert len(results.load_all("t.exp", "toy-v1", "quick", root=tmp_path, complete_only=False)) == 3
    (tmp_path / "toy-v1" / "quick" / "t.exp" / "a.json").write_text("{ half")
    with pytest.raises(ResultError, match=r"1 unusable result record: .*a.json \(not valid JSON.*--force"):
        results.load_all("t.exp", "toy-v1", "quick", root=tmp_path)


def test_nan_is_stored_as_null_and_names_are_checked(tmp_path):
    rec = _rec()
    rec["summary"]["loss"] = float("nan")
    p = results.save_record(rec, root=tmp_path)
    assert json.loads(p.read_text())["summary"]["loss"] is None
    with pytest.raises(ConfigError, match="invalid run name"):
        results.record_path("t.exp", "../escape", "toy-v1", "quick")
    with pytest.raises(ResultError, match="differ in length"):
        results.make_record("t.exp", "r", dataset=DS, profile="quick", config={}, summary={},
                            history={"epoch": [0, 1], "acc": [0.1]}, wall_time_s=0)


def test_best_run_ties_go_to_the_earlier_epoch_then_the_run_name():
    def rec(run, acc, epoch):
        return {"run": run, "summary": {"best_dev_acc": acc, "best_epoch": epoch}}

    assert results.best_run([rec("a", 0.5, 1), rec("b", 0.6, 9)])["run"] == "b"       # accuracy first
    assert results.best_run([rec("a", 0.6, 3), rec("b", 0.6, 2)])["run"] == "b"       # then the epoch
    assert results.best_run([rec("b", 0.6, 2), rec("a", 0.6, 2)])["run"] == "a"       # then the name
    with pytest.raises(ResultError, match="no records"):
        results.best_run([])


# ------------------------------------------------------------------ registry and resume
@pytest.fixture(scope="module")
def quick_data():
    return load_letters(profile="quick")


def test_grid_resumes_after_interruption(tmp_path, quick_data):
    calls = []

    @experiments.experiment("t.grid", help="toy grid")
    def grid(ctx):
        for run in ("a", "b", "c"):
            if ctx.done(run):
                continue
            if run == "c" and not calls.count("interrupted"):
                calls.append("interrupted")
                raise KeyboardInterrupt
            calls.append(run)
            ctx.save(run, config={}, history={"epoch": [0]}, summary={"x": 1, "best_dev_acc": 0.5, "best_epoch": 0}, wall_time_s=0.0)

    data = quick_data
    try:
        with pytest.raises(KeyboardInterrupt):
            experiments.run_experiment("t.grid", "quick", root=tmp_path, data=data)
        recs = experiments.run_experiment("t.grid", "quick", root=tmp_path, data=data)
        assert calls == ["a", "b", "interrupted", "c"]  # a and b were not redone
        assert [r["run"] for r in recs] == ["a", "b", "c"]
        assert recs[0]["dataset"]["slug"] == data.slug
        experiments.run_experiment("t", "quick", root=tmp_path, data=data, force=True)  # prefix + force
        assert calls[-3:] == ["a", "b", "c"]
    finally:
        experiments._REGISTRY.pop("t.grid", None)


def test_needs_run_first_and_hand_over_their_records(tmp_path, quick_data):
    calls = []

    @experiments.experiment("t.base", help="toy base")
    def base(ctx):
        calls.append("base")
        if not ctx.done("r"):
            calls.append("base saved")
            ctx.save("r", config={}, history={"epoch": [0]}, summary={"x": 1, "best_dev_acc": 0.5, "best_epoch": 0}, wall_time_s=0.0)

    @experiments.experiment("t.user", help="toy user", needs=("t.base",))
    def user(ctx):
        calls.append(("user sees", [r["run"] for r in ctx.records_of("t.base")]))
        ctx.save("u", config={}, history={"epoch": [0]}, summary={"x": 2, "best_dev_acc": 0.5, "best_epoch": 0}, wall_time_s=0.0)

    try:
        recs = experiments.run_experiment("t.user", "quick", root=tmp_path, data=quick_data)
        assert calls == ["base", "base saved", ("user sees", ["r"])]        # dependency first
        assert [(r["experiment"], r["run"]) for r in recs] == [("t.user", "u")]   # only what was asked
        calls.clear()
        experiments.run_experiment("t.user", "quick", root=tmp_path, data=quick_data, force=True)
        assert calls == ["base", ("user sees", ["r"])]     # --force redoes only the one asked for
    finally:
        experiments._REGISTRY.pop("t.base", None)
        experiments._REGISTRY.pop("t.user", None)


def test_context_refuses_data_without_training_images(tmp_path, quick_data):
    ctx = experiments.Context("t.x", "quick", quick_data, root=tmp_path)
    assert ctx.data is quick_data and ctx.load("r") is None and ctx.records() == []
    empty = dataclasses.replace(quick_data, train=Split(quick_data.train.X[:0], quick_data.train.y[:0]))
    with pytest.raises(DataError, match="no training images.*--data synthetic"):
        experiments.Context("t.x", "quick", empty, root=tmp_path)


def test_unknown_experiment_and_profile():
    with pytest.raises(ConfigError, match="unknown experiment 'nope'"):
        experiments.run_experiment("nope", "quick")
    with pytest.raises(ConfigError, match="unknown profile"):
        experiments.run_experiment("all", "medium")


def test_cli_errors_are_one_line_and_exit_2(tmp_path, capsys):
    assert main(["data", "info", "--data", str(tmp_path / "none.npz")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "hwlib data download" in err
    assert main(["run", "nope", "--profile", "quick"]) == 2


def test_cli_as_a_process(tmp_path):
    p = subprocess.run([sys.executable, "-m", "hwlib", "data", "info", "--data", str(tmp_path / "x.zip")],
                       capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and "no such file" in p.stderr
    p = subprocess.run([sys.executable, "-m", "hwlib", "data", "info", "--profile", "quick"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "SYNTHETIC" in p.stdout and "2600 images" in p.stdout


def test_config_changes_name_every_differing_field():
    rec = {"lr": 1e-4, "hidden": [100], "init": "zeros", "n_features": 785}
    assert record_check.config_changes(rec, {"lr": 1e-4, "hidden": (100,), "init": "zeros"}) == {}  # tuple = list
    changes = record_check.config_changes(rec, {"lr": 1e-3, "hidden": (200,), "init": "zeros", "seed": 42})
    assert list(changes) == ["lr", "hidden", "seed"]
    assert record_check.describe_changes(changes, rec) == (
        "recorded with lr 0.0001, hidden [100], no seed, the code now says lr 0.001, hidden [200], seed 42")


# ------------------------------------------------------------------ whatever a record holds (issue 22, item 4)
HOSTILE = [None, "oops", "", 5, -1, 1.5, 2.0, True, [], [1, "a"], {}, {"a": {"b": {"c": {"d": {"e": {"f": {"g": 1}}}}}}},
           float("nan"), float("inf"), "../../../../x", "/etc/passwd", "x" * 10_000, [[[[[[[[[[1]]]]]]]]]]]


def _fields(rec: dict):
    """(path of keys) of every field of a record, nested sections included."""
    for k, v in rec.items():
        yield (k,)
        if isinstance(v, dict):
            for kk in v:
                yield (k, kk)


def _consume(rec: dict) -> None:
    """What run, list and the book do with a record the store calls usable."""
    results.best_run([rec])
    record_check.describe_changes(record_check.config_changes(rec["config"], {"lr": 1e-3, "hidden": [3]}), rec["config"])
    results.arrays_ok(rec)
    try:
        results.load_arrays(rec)
    except ResultError:
        pass
    assert isinstance(rec["dataset"]["sha256"], str) and isinstance(rec["summary"]["best_dev_acc"], float)
    json.dumps(record_check.jsonable(rec))


def test_no_content_of_a_record_crashes_a_reader(tmp_path):
    """Every field of a real record (top level and one level down) replaced by each hostile value, or
    deleted: the store reports the record as unusable with a reason, or every consumer copes."""
    path = results.save_record(_rec(), arrays={"W": np.eye(3, dtype=np.float32)}, root=tmp_path)
    good = json.loads(path.read_text())
    variants = 0
    for keys in _fields(good):
        for value in [*HOSTILE, KeyError]:
            rec = json.loads(json.dumps(good))
            parent = rec if len(keys) == 1 else rec[keys[0]]
            if value is KeyError:
                del parent[keys[-1]]
            else:
                parent[keys[-1]] = value
            path.write_text(json.dumps(rec))  # NaN and Infinity as JSON literals, as Python writes them
            recs, bad = results.scan("t.exp", "toy-v1", "quick", root=tmp_path, sha256="0" * 64)
            variants += 1
            assert len(recs) + len(bad) == 1
            if bad:
                assert bad[0][1], (keys, value)
            elif recs[0].get("complete"):
                _consume(recs[0])
    assert variants > 500


@pytest.mark.parametrize("depth", [10, 900, 100_000])
def test_nested_json_of_any_depth_is_reported(tmp_path, depth):
    p = tmp_path / "toy-v1" / "quick" / "t.exp" / "r1.json"
    p.parent.mkdir(parents=True)
    p.write_text('{"schema": 1, "complete": true, "config": ' + "[" * depth + "]" * depth + "}")
    _, bad = results.scan("t.exp", "toy-v1", "quick", root=tmp_path)
    assert bad and re.search(r"nested|'config' is a list", bad[0][1])
