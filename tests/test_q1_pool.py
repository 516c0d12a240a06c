"""Q1 runs in worker processes (hwlib.experiments.pool): the same records as in-process, the
scheduler's order, the seeds experiment, the progress line, and bad settings."""
import numpy as np
import pytest

from hwlib.data import load_letters
from hwlib.errors import ConfigError, ResultError
from hwlib.experiments import pool, q1, registry, results, run_experiment

TIMES = {"epoch_time_s", "mean_epoch_time_s", "feature_time_s"}


@pytest.fixture(scope="module")
def data():
    return load_letters(profile="quick")


def _runs(recs):
    return {(r["experiment"], r["run"]): r for r in recs}


def test_workers_give_bit_identical_records(data, tmp_path, monkeypatch):
    """pca90 (fitted on the training images), the perceptron and the MLP (random initial weights):
    histories, summaries and stored weights equal bit for bit in 2 workers and in this process."""
    monkeypatch.setenv("HWLIB_WORKERS", "1")
    here = _runs(run_experiment("q1.perceptron", "quick", root=tmp_path / "a", data=data)
                 + run_experiment("q1.mlp", "quick", root=tmp_path / "a", data=data)
                 + run_experiment("q1.features", "quick", root=tmp_path / "a", data=data))
    monkeypatch.setenv("HWLIB_WORKERS", "2")
    # one call: all three experiments share one pool of 2 workers
    there = _runs(run_experiment("q1", "quick", root=tmp_path / "b", data=data))
    assert set(here) <= set(there) and len(here) == 17
    for key, a in here.items():
        b = there[key]
        assert a["config"] == b["config"], key
        for k in a["history"]:
            if k not in TIMES:
                assert a["history"][k] == b["history"][k], (key, k)
        assert {k: v for k, v in a["summary"].items() if k not in TIMES} == {
            k: v for k, v in b["summary"].items() if k not in TIMES}, key
        wa, wb = results.load_arrays(a), results.load_arrays(b)
        assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa), key


def test_next_job_keeps_a_worker_on_its_feature_map():
    J = lambda key, group, cost: pool.Job(key, print, None, group, cost)
    pending = [J("a1", "raw", 30), J("a2", "raw", 40), J("h1", "hog", 10), J("h2", "hog", 12), J("m", "mlp", 35)]
    # a fresh worker takes the group with the most work (raw: 70), its most expensive job first
    assert pool.next_job(pending, None).key == "a2"
    # a worker holding hog stays on hog although raw's and the MLP's jobs cost more
    assert pool.next_job(pending, "hog").key == "h2"
    assert pool.next_job(pending, "hog").key == "h1"
    # hog is used up: the group with the most pending work (mlp 35 > raw 30)
    assert pool.next_job(pending, "hog").key == "m"
    assert pool.next_job(pending, "mlp").key == "a1" and not pending


def test_seeds_retrain_the_verdict_runs_with_two_more_seeds(data, tmp_path):
    recs = run_experiment("q1.seeds", "quick", root=tmp_path, data=data)
    grid = results.load_all("q1.grid", data.slug, "quick", tmp_path)
    hog = results.load_all("q1.grid_hog", data.slug, "quick", tmp_path)
    best = q1.best_grid_runs(grid, hog)
    bases = ["perceptron", "logreg", "mlp_h100", *(best[f]["run"] for f in ("raw", "maxpool2", "hog"))]
    assert sorted(r["run"] for r in recs) == sorted(q1.seed_run_name(b, s) for b in bases for s in q1.EXTRA_SEEDS)
    assert registry()["q1.seeds"].needs == ("q1.grid", "q1.grid_hog")
    for r in recs:
        c = r["config"]
        base = r["run"].rsplit("_seed", 1)[0]
        assert c["seed"] == int(r["run"].rsplit("_seed", 1)[1]) and c["seed"] in q1.EXTRA_SEEDS
        exp, src = c["seed_of"].split("/")
        assert src == base and exp in {"q1.perceptron", "q1.logreg", "q1.mlp", "q1.grid", "q1.grid_hog"}
        if exp.startswith("q1.grid"):
            b = best[c["features"]]
            assert (c["lr"], c["l2"], c["features"]) == (b["config"]["lr"], b["config"]["l2"], b["config"]["features"])
            assert r["history"]["dev_acc"] != b["history"]["dev_acc"]   # another shuffling order
    # the three seeds of the MLP start from different weights
    m = {r["config"]["seed"]: r for r in recs if r["config"]["model"] == "mlp"}
    assert m[43]["history"]["train_loss"][0] != m[44]["history"]["train_loss"][0]
    # rerunning reuses every record; without the grid's records q1.seeds refuses, naming the remedy
    again = run_experiment("q1.seeds", "quick", root=tmp_path, data=data)
    assert [r["_path"] for r in again] == [r["_path"] for r in recs]
    with pytest.raises(ResultError, match=r"q1.grid has 0 of its 12 records.*run q1.grid"):
        q1._grid_records(type("C", (), {"records_of": lambda self, n: [], "profile": "quick", "seed": 42})(),
                         "q1.grid", q1.GRID_FEATURES, q1.GRID_LRS, q1.GRID_L2S)


def test_progress_line_counts_runs_and_time_left():
    p = pool.Progress([(2, 30.0), (1, 10.0)], 2)
    assert "0/3 runs" in p.line() and "left" not in p.line()
    p.replan((1, 10.0), [pool.Job("x", print, None, "raw", 20.0), pool.Job("y", print, None, "raw", 20.0)])
    p.done(pool.Job("x", print, None, "raw", 20.0))
    assert "1/4 runs" in p.line() and "left" in p.line()
    p.close()


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_bad_workers_setting_is_refused(monkeypatch, value):
    monkeypatch.setenv("HWLIB_WORKERS", value)
    with pytest.raises(ConfigError, match=r"HWLIB_WORKERS=.* must be a positive integer"):
        pool.workers("full")


def test_default_workers(monkeypatch):
    monkeypatch.delenv("HWLIB_WORKERS", raising=False)
    assert pool.workers("quick") == 1
    assert pool.workers("full") == min(2, __import__("os").cpu_count())


@pytest.mark.parametrize("scale", [256.0, 3.0])   # float32-exact course view, and inexact inputs
def test_fast_perceptron_on_a_read_only_array_equals_the_readable_epoch(scale):
    """A read-only X is read through its float32 copy when that copy is exact (else as it is): the
    weights equal the readable model's bit for bit on exact inputs (to rounding on others)."""
    from hwlib.fast.sgd import FastPerceptron
    from hwlib.models.linear import Perceptron, add_bias
    rng = np.random.default_rng(5)
    X = add_bias(rng.integers(0, 256, (301, 40)) * (rng.random((301, 40)) < 0.3) / scale)
    X.flags.writeable = False
    y = rng.integers(0, 7, 301)
    a, b = FastPerceptron(41, 7), Perceptron(41, 7)
    for epoch in range(3):
        order = rng.permutation(301)
        a.train_epoch(X, y, order)
        b.train_epoch(X, y, order)
        if scale == 256.0:
            assert np.array_equal(a.W, b.W), epoch
        else:
            np.testing.assert_allclose(a.W, b.W, rtol=1e-12, atol=1e-12)
    assert (a._packed[1].dtype == np.float32) == (scale == 256.0)
