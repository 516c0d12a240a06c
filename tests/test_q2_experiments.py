"""Q2 experiments: records per run, resume after an interruption, depth settings read from the
recorded width grid (which q2.depth declares it needs), the parallel-worker path, and the rule that
picks the best run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hwlib.data import load_letters
from hwlib.errors import ConfigError, ResultError
from hwlib.experiments import Context, pool, q2, registry, results, run_experiment
from hwlib.experiments.results import best_run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    return load_letters(profile="quick")


@pytest.fixture
def tiny_grid(monkeypatch):
    """The grid's code with 2 widths × 2 lr × 2 dropout × 2 ℓ2 = 16 runs of 1 epoch."""
    monkeypatch.setattr(q2, "GRID_WIDTHS", (4, 8))
    monkeypatch.setattr(q2, "GRID_LRS", (1e-3, 3e-3))
    monkeypatch.setattr(q2, "EPOCHS", {"full": 1, "quick": 1})
    monkeypatch.setattr(q2, "DEPTH_WIDTH", 8)
    monkeypatch.setattr(q2, "DEPTHS", (1, 2))
    monkeypatch.setattr(q2, "UNIT_MAX_COLUMNS", 16)  # units of 4 nets at width 4, 2 at width 8: 6 units
    monkeypatch.setenv("HWLIB_WORKERS", "1")


def _files(root: Path, experiment: str) -> dict[str, float]:
    return {p.name: p.stat().st_mtime_ns for p in root.rglob(f"{experiment}/*.json")}


def test_width_grid_records_every_run_and_resumes(tiny_grid, data, tmp_path, monkeypatch):
    recs = run_experiment("q2.width", "quick", root=tmp_path, data=data)
    assert len(recs) == 16 and all(r["complete"] for r in recs)
    names = {r["run"] for r in recs}
    assert names == {q2.run_name(c) for c in q2.width_grid_configs(1)}
    r = recs[0]
    assert len(r["history"]["dev_acc"]) == 2 and r["history"]["epoch"] == [0, 1]
    assert r["dataset"]["slug"] == data.slug and r["provenance"]["wall_time_s"] > 0
    assert {"best_dev_acc", "best_epoch", "test_acc", "final_train_acc"} <= set(r["summary"])

    before = _files(tmp_path, "q2.width")
    victim = q2.run_name(q2.width_grid_configs(1)[-1])  # width 8, dropout 0.2
    next(tmp_path.rglob(f"q2.width/{victim}.json")).unlink()
    trained = []
    real = q2.fit_batched
    monkeypatch.setattr(q2, "fit_batched", lambda unit, *a, **k: trained.append(unit) or real(unit, *a, **k))
    run_experiment("q2.width", "quick", root=tmp_path, data=data)
    assert [[q2.run_name(c) for c in u] for u in trained] == [[victim]]  # only the missing run
    after = _files(tmp_path, "q2.width")
    assert set(after) == set(before)
    assert all(after[n] == before[n] for n in before if n != f"{victim}.json")  # others untouched


def test_interrupted_grid_keeps_finished_units(tiny_grid, data, tmp_path, monkeypatch):
    real, calls = q2.fit_batched, []

    def flaky(unit, *a, **k):
        calls.append(unit)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the machine goes away during the second unit
        return real(unit, *a, **k)

    monkeypatch.setattr(q2, "fit_batched", flaky)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("q2.width", "quick", root=tmp_path, data=data)
    saved = results.load_all("q2.width", data.slug, "quick", tmp_path)
    assert {r["run"] for r in saved} == {q2.run_name(c) for c in calls[0]}  # first unit kept
    monkeypatch.setattr(q2, "fit_batched", real)
    calls.clear()
    monkeypatch.setattr(q2, "fit_batched", lambda unit, *a, **k: calls.append(unit) or real(unit, *a, **k))
    assert len(run_experiment("q2.width", "quick", root=tmp_path, data=data)) == 16
    assert len(calls) == 5  # the 5 unfinished units, not the finished one


def test_depth_reads_the_best_32_unit_settings_from_the_records(tiny_grid, data, tmp_path):
    width = run_experiment("q2.width", "quick", root=tmp_path, data=data)
    # promote one particular width-8 run by editing its record: the depth study must follow it
    chosen = next(r for r in width if r["config"]["width"] == 8 and r["config"]["dropout"] > 0
                  and r["config"]["l2"] > 0 and r["config"]["lr"] == 1e-3)
    path = Path(chosen["_path"])
    rec = json.loads(path.read_text())
    rec["summary"]["best_dev_acc"] = 0.999
    path.write_text(json.dumps(rec))
    hp, src = q2.depth_hparams(results.load_all("q2.width", data.slug, "quick", tmp_path))
    assert src["run"] == chosen["run"] and hp == {"lr": 1e-3, "dropout": 0.2, "l2": 1e-4}
    depth = run_experiment("q2.depth", "quick", root=tmp_path, data=data)
    assert [r["config"]["depth"] for r in depth] == [1, 2]
    for r in depth:
        assert {k: r["config"][k] for k in ("lr", "dropout", "l2")} == hp
        assert r["config"]["width"] == 8 and r["config"]["hparams_from"] == f"q2.width/{chosen['run']}"
        assert len(r["history"]["dev_acc"]) == 2


def test_depth_runs_the_grid_first_when_it_is_missing(tiny_grid, data, tmp_path):
    assert registry()["q2.depth"].needs == ("q2.width",)
    depth = run_experiment("q2.depth", "quick", root=tmp_path, data=data)
    assert len(depth) == 2 and {r["experiment"] for r in depth} == {"q2.depth"}  # only what was asked
    assert len(results.load_all("q2.width", data.slug, "quick", tmp_path)) == 16  # in the same root


def test_depth_study_alone_refuses_an_incomplete_grid(tiny_grid, data, tmp_path):
    ctx = Context("q2.depth", "quick", data, root=tmp_path)
    with pytest.raises(ResultError, match="run q2.width"):
        q2.depth_study(ctx)  # no grid at all
    run_experiment("q2.width", "quick", root=tmp_path, data=data)
    victim = next(tmp_path.rglob("q2.width/*.json"))
    victim.unlink()
    with pytest.raises(ResultError, match="15 of its 16"):
        q2.depth_study(ctx)
    assert results.load_all("q2.depth", data.slug, "quick", tmp_path) == []  # nothing trained


def test_depth_ignores_grid_records_of_other_settings(tiny_grid, data, tmp_path):
    """A width record left by another number of epochs is not part of this profile's grid."""
    run_experiment("q2.width", "quick", root=tmp_path, data=data)
    path = next(p for p in tmp_path.rglob("q2.width/*.json") if p.stem.startswith("w008"))
    rec = json.loads(path.read_text())
    rec["config"]["epochs"] = 99
    rec["summary"]["best_dev_acc"] = 0.999  # would win if it counted
    path.write_text(json.dumps(rec))
    ctx = Context("q2.depth", "quick", data, root=tmp_path)
    with pytest.raises(ResultError, match="15 of its 16"):
        q2.depth_study(ctx)
    # run_experiment completes the grid first: the stale record is retrained and replaced
    depth = run_experiment("q2.depth", "quick", root=tmp_path, data=data)
    fresh = json.loads(path.read_text())
    assert fresh["config"]["epochs"] == 1 and fresh["summary"]["best_dev_acc"] != 0.999
    assert len(depth) == 2


def test_best_run_rule():
    def rec(run, dev, epoch):
        return {"run": run, "summary": {"best_dev_acc": dev, "best_epoch": epoch}}
    a, b, c, d = rec("b", 0.8, 3), rec("a", 0.8, 3), rec("c", 0.8, 1), rec("d", 0.7, 0)
    assert best_run([d, a, b]) is b  # highest dev; a tie goes to the run name's order
    assert best_run([a, b, c, d]) is c  # ...but first to the run that got there at an earlier epoch
    assert best_run([d, rec("e", 0.9, 9)])["run"] == "e"
    with pytest.raises(ResultError):
        best_run([])


def test_parallel_workers_give_the_same_records(tiny_grid, data, tmp_path, monkeypatch):
    monkeypatch.setattr(q2, "GRID_WIDTHS", (4,))
    monkeypatch.setattr(q2, "GRID_DROPOUTS", (0.0,))
    monkeypatch.setattr(q2, "GRID_L2S", (0.0, 1e-4))  # 4 runs, each its own unit:
    monkeypatch.setattr(q2, "grid_units", lambda cfgs: [[c] for c in cfgs])  # 4 units
    one = run_experiment("q2.width", "quick", root=tmp_path / "a", data=data)
    monkeypatch.setenv("HWLIB_WORKERS", "2")
    two = run_experiment("q2.width", "quick", root=tmp_path / "b", data=data)
    assert [r["run"] for r in one] == [r["run"] for r in two]
    for a, b in zip(one, two):
        numbers = lambda r: {k: v for k, v in r["history"].items() if k != "epoch_time_s"}  # a clock reading
        assert numbers(a) == numbers(b) and a["summary"]["test_acc"] == b["summary"]["test_acc"]


def test_grid_definition_matches_the_assignment():
    cfgs = q2.width_grid_configs()
    assert len(cfgs) == 80 and len({q2.run_name(c) for c in cfgs}) == 80
    assert {c.width for c in cfgs} == {16, 32, 64, 128, 256}
    assert all(c.epochs == 30 and c.batch_size == 64 and c.depth == 1 for c in cfgs)
    assert {(c.optimizer, c.activation) for c in cfgs} == {("adam", "relu")}
    units = q2.grid_units(cfgs)
    assert sorted(q2.run_name(c) for u in units for c in u) == sorted(map(q2.run_name, cfgs))  # each run once
    assert sorted((u[0].width, len(u)) for u in units) == [(16, 16), (32, 16), (64, 16), (128, 8), (128, 8),
                                                           (256, 4), (256, 4), (256, 4), (256, 4)]
    assert all(len(u) * u[0].width <= q2.UNIT_MAX_COLUMNS for u in units)
    costs = [q2.unit_seconds(u) for u in units]
    assert costs == sorted(costs, reverse=True)  # the most expensive units start first
    for u in units:  # one width per unit; dropout nets form one contiguous block at the end
        assert len({c.width for c in u}) == 1
        assert [c.dropout for c in u] == sorted(c.dropout for c in u)
    assert all(len(u) == 1 for u in q2.batch_units(cfgs, max_columns=1))


def test_workers_setting(monkeypatch):
    monkeypatch.setenv("HWLIB_WORKERS", "0")
    with pytest.raises(ConfigError, match="HWLIB_WORKERS"):
        pool.workers("full")
    monkeypatch.setenv("HWLIB_THREADS", "two")
    with pytest.raises(ConfigError, match="HWLIB_THREADS"):
        pool.threads()
    monkeypatch.delenv("HWLIB_WORKERS")
    monkeypatch.delenv("HWLIB_THREADS")
    assert pool.workers("quick") == 1 and pool.threads() == 1


def test_depth_report_runs_the_reports_settings_without_the_grid(tiny_grid, data, tmp_path):
    assert registry()["q2.depth_report"].needs == ()
    recs = run_experiment("q2.depth_report", "quick", root=tmp_path, data=data)
    assert [r["run"] for r in recs] == ["depth=1", "depth=2"]
    for r in recs:
        assert {k: r["config"][k] for k in ("lr", "dropout", "l2")} == {"lr": 3e-4, "dropout": 0.2, "l2": 0.0}
        assert r["config"]["width"] == 8 and r["config"]["seed"] == 42 and "report" in r["config"]["hparams_from"]
    assert results.load_all("q2.width", data.slug, "quick", tmp_path) == []  # it needs no grid


def test_seeds_retrain_the_verdict_runs_with_other_seeds(tiny_grid, data, tmp_path, monkeypatch):
    trained = []
    real = q2.fit_batched
    monkeypatch.setattr(q2, "fit_batched", lambda unit, *a, **k: trained.append(unit) or real(unit, *a, **k))
    recs = {r["run"]: r for r in run_experiment("q2.seeds", "quick", root=tmp_path, data=data)}
    width = results.load_all("q2.width", data.slug, "quick", tmp_path)
    assert len(width) == 16  # the grid ran first
    best = {w: best_run([r for r in width if r["config"]["width"] == w]) for w in (4, 8)}
    want = {f"{best[w]['run']}_seed{s}" for w in (4, 8) for s in (43, 44)}
    want |= {f"{study}={L}_seed{s}" for study in ("depth", "report_depth") for L in (1, 2) for s in (43, 44)}
    assert set(recs) == want
    for name, r in recs.items():
        seed = int(name[-2:])
        assert r["config"]["seed"] == seed and r["config"]["seed_of"]
        src = r["config"]["seed_of"]
        if name.startswith("report_depth"):
            assert src == f"q2.depth_report/depth={r['config']['depth']}" and r["config"]["lr"] == 3e-4
        elif name.startswith("depth"):
            assert src == f"q2.depth/depth={r['config']['depth']}"
            assert r["config"]["hparams_from"] == f"q2.width/{best[8]['run']}"
        else:
            assert src == f"q2.width/{r['run'][:-len('_seed43')]}"
            seed42 = next(x for x in width if x["run"] == src.split("/")[1])
            assert {k: seed42["config"][k] for k in ("width", "lr", "dropout", "l2")} == \
                   {k: r["config"][k] for k in ("width", "lr", "dropout", "l2")}
            assert r["history"]["train_loss"] != seed42["history"]["train_loss"]  # another seed, another run
    # the best width-8 run is depth=1 of the depth study: trained once, recorded under both names
    for s in (43, 44):
        a, b = recs[f"{best[8]['run']}_seed{s}"], recs[f"depth=1_seed{s}"]
        assert a["history"] == b["history"] and a["config"]["same_run_as"] == [f"depth=1_seed{s}"]
    # a unit holds one seed and one depth: both depth studies of it, as 2 nets
    seeded = [u for u in trained if u[0].seed != 42]  # not the grid's units
    assert all(len({(c.seed, c.depth, c.width) for c in u}) == 1 for u in seeded)
    assert sorted(len(u) for u in seeded) == [1, 1, 2, 2, 2, 2]
    assert sum(map(len, seeded)) == len(recs) - 2
    trained.clear()
    run_experiment("q2.seeds", "quick", root=tmp_path, data=data)
    assert trained == []  # everything recorded: nothing retrained


def test_a_seed_changes_the_run_and_repeats_it():
    """``seed`` drives the batched trainer's initial weights (and its shuffles and dropout masks): another
    seed gives another run, the same seed the same numbers."""
    from hwlib.fast.batched import fit_batched
    g = torch.Generator().manual_seed(0)
    X, y = torch.rand(300, 784, generator=g), torch.randint(0, 26, (300,), generator=g)
    cfg = q2.FFNConfig(width=8, depth=2, dropout=0.2, lr=1e-3, optimizer="adam", epochs=1, batch_size=32)
    numbers = lambda r: {k: v for k, v in r.history.items() if k != "epoch_time_s"}
    a, b, c = (fit_batched([cfg.replace(seed=s)], (X, y), (X[:50], y[:50]))[0] for s in (42, 42, 43))
    assert numbers(a) == numbers(b)
    assert a.history["train_loss"][0] != c.history["train_loss"][0]  # other initial weights
