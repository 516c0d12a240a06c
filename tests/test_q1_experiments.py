"""Q1 experiments in the quick profile: every record is written, a grid resumes without redoing
finished runs, stored weights reproduce the recorded test accuracy, the chapter helpers render."""
import os

import numpy as np
import pytest

from hwlib import q1, results
from hwlib.data import course_view, load_letters
from hwlib.experiments import run_experiment
from hwlib.linear import LogisticRegression, Perceptron, add_bias
from hwlib.mlp import MLP
from hwlib.train import accuracy

NAMES = ("q1.perceptron", "q1.logreg", "q1.features", "q1.grid", "q1.grid_hog", "q1.mlp")


@pytest.fixture(scope="module")
def data():
    return load_letters(profile="quick")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, data):
    root = tmp_path_factory.mktemp("q1results")
    recs = run_experiment("q1", "quick", root=root, data=data)
    return root, {n: [r for r in recs if r["experiment"] == n] for n in NAMES}


def test_every_experiment_records_its_runs(recorded, data):
    _, recs = recorded
    assert [r["run"] for r in recs["q1.perceptron"]] == ["perceptron"]
    assert [r["run"] for r in recs["q1.logreg"]] == ["logreg"]
    assert [r["run"] for r in recs["q1.mlp"]] == ["mlp_h100"]
    assert len(recs["q1.grid"]) == 12 and len(recs["q1.features"]) == 15 and len(recs["q1.grid_hog"]) == 6
    for n in NAMES:
        for r in recs[n]:
            h, s = r["history"], r["summary"]
            assert r["complete"] and r["profile"] == "quick" and r["dataset"]["sha256"] == data.sha256
            assert h["epoch"] == list(range(1, q1.EPOCHS["quick"] + 1))
            assert s["best_dev_acc"] == max(h["dev_acc"]) and 0 < s["test_acc"] <= 1
            assert r["config"]["batch_size"] == 1 and r["config"]["seed"] == 42
            assert r["provenance"]["wall_time_s"] > 0
    grid = {(r["config"]["features"], r["config"]["lr"], r["config"]["l2"]) for r in recs["q1.grid"]}
    assert grid == {(f, lr, l2) for f in ("raw", "maxpool2") for lr in (1e-4, 1e-3, 1e-2) for l2 in (1e-5, 1e-4)}
    assert {r["config"]["features"] for r in recs["q1.grid_hog"]} == {"hog"}
    # the same configuration in two experiments gives the same numbers (determinism)
    a = next(r for r in recs["q1.grid"] if r["run"] == "raw_lr1e-04_l21e-05")
    assert a["history"]["dev_acc"] == recs["q1.logreg"][0]["history"]["dev_acc"]
    assert "train_loss" in recs["q1.mlp"][0]["history"] and "train_loss" not in recs["q1.perceptron"][0]["history"]


def test_saved_weights_reproduce_the_test_accuracy(recorded, data):
    _, recs = recorded
    Xte_b, Xte = course_view(data.test.X, bias=True), course_view(data.test.X)
    tol = 2 / len(data.test.y)   # weights are stored as float32
    w = results.load_arrays(recs["q1.perceptron"][0])
    p = Perceptron(785)
    p.load_state_dict(w)
    assert abs(accuracy(p, Xte_b, data.test.y) - recs["q1.perceptron"][0]["summary"]["test_acc"]) <= tol
    w = results.load_arrays(recs["q1.logreg"][0])
    m = LogisticRegression(785)
    m.load_state_dict(w)
    assert abs(accuracy(m, Xte_b, data.test.y) - recs["q1.logreg"][0]["summary"]["test_acc"]) <= tol
    w = results.load_arrays(recs["q1.mlp"][0])
    assert all(v.dtype == np.float32 for v in w.values())
    mlp = MLP(784, [100], 26)
    mlp.load_state_dict(w)
    assert abs(accuracy(mlp, Xte, data.test.y) - recs["q1.mlp"][0]["summary"]["test_acc"]) <= tol


def test_grid_resumes_without_redoing_finished_runs(recorded, data):
    root, recs = recorded
    paths = {r["run"]: r["_path"] for r in recs["q1.grid"]}
    gone = "maxpool2_lr1e-03_l21e-04"
    before = {k: os.stat(p).st_mtime_ns for k, p in paths.items() if k != gone}
    old = next(r for r in recs["q1.grid"] if r["run"] == gone)
    os.remove(paths[gone])           # as if the run had been interrupted
    again = run_experiment("q1.grid", "quick", root=root, data=data)
    assert len(again) == 12
    assert {k: os.stat(p).st_mtime_ns for k, p in paths.items() if k != gone} == before
    new = next(r for r in again if r["run"] == gone)
    assert new["history"]["dev_acc"] == old["history"]["dev_acc"]
    assert new["summary"]["test_acc"] == old["summary"]["test_acc"]


def test_chapter_helpers_render(recorded, data):
    _, recs = recorded
    for r in (recs["q1.perceptron"][0], recs["q1.mlp"][0]):
        fig = q1.curves_figure(r)
        assert any(t.name and t.name.startswith("best validation") for t in fig.data)
    assert "Report" in q1.result_line(recs["q1.logreg"][0], "logreg")
    table = q1.grid_table(recs["q1.grid"])._repr_html_()
    assert table.count("<tr>") == 13 and "<b>" in table and "0.7195" in table
    heat = q1.grid_heatmap(recs["q1.grid"])
    assert heat.data[0].z.shape == (2, 6) and len(heat.layout.shapes) == 1
    heat = q1.grid_heatmap(recs["q1.grid"], extra=recs["q1.grid_hog"])
    assert heat.data[0].z.shape == (3, 6) and len(heat.layout.shapes) == 2
    assert "—" in q1.grid_table(recs["q1.grid_hog"])._repr_html_()
    assert "HOG" in q1.grid_verdict(recs["q1.grid"], extra=recs["q1.grid_hog"])
    rows = q1.feature_summary(recs["q1.features"])
    assert [r["features"] for r in rows] == list(q1.FEATURES)
    assert "PCA" in q1.feature_table(recs["q1.features"])._repr_html_()
    q1.feature_tradeoff_figure(recs["q1.features"])
    fig = q1.feature_pictures(data, n=3)
    assert len(fig.axes) == 3 * len(q1.FEATURES)
    html = q1.comparison_table(recs["q1.perceptron"][0], recs["q1.logreg"][0], recs["q1.grid"],
                               recs["q1.mlp"][0], recs["q1.grid_hog"])._repr_html_()
    assert "61.1%" in html and "87.8%" in html and "not in the report" in html
