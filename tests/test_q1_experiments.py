"""Q1 experiments in the quick profile: every record is written, a grid resumes without redoing
finished runs, stored weights reproduce the recorded test accuracy, the chapter's tables, figures
and facts render and say what the records say."""
import copy
import math
import os

import numpy as np
import pytest

from chapter_code import chapter_code
from conftest import bold_rows

from hwlib.constants import N_CLASSES, N_PIXELS
from hwlib.data import course_view, load_letters
from hwlib.data.features import FEATURES
from hwlib.errors import ResultError
from hwlib.experiments import q1, results, run_experiment
from hwlib.models.linear import LogisticRegression, Perceptron
from hwlib.models.mlp import MLP
from hwlib.report import q1 as rq1
from hwlib.report import original
from hwlib.report.common import curves_figure
from hwlib.report.fmt import acc, hp_words

NAMES = ("q1.perceptron", "q1.logreg", "q1.features", "q1.grid", "q1.grid_hog", "q1.mlp")
SUMMARY_KEYS = {"best_epoch", "best_dev_acc", "test_acc", "test_loss", "train_acc_at_best", "final_train_acc",
                "final_train_loss", "final_dev_acc", "final_dev_loss", "max_train_acc", "mean_epoch_time_s"}


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
    E = q1.EPOCHS["quick"]
    assert [r["run"] for r in recs["q1.perceptron"]] == ["perceptron"]
    assert [r["run"] for r in recs["q1.logreg"]] == ["logreg"]
    assert [r["run"] for r in recs["q1.mlp"]] == ["mlp_h100"]
    assert len(recs["q1.grid"]) == 12 and len(recs["q1.features"]) == 15 and len(recs["q1.grid_hog"]) == 6
    for n in NAMES:
        for r in recs[n]:
            h, s, c = r["history"], r["summary"], r["config"]
            assert r["complete"] and r["profile"] == "quick" and r["dataset"]["sha256"] == data.sha256
            # epoch 0 = before training, then one entry per epoch; losses for every model
            assert h["epoch"] == list(range(E + 1)) and c["epochs"] == E
            for k in ("train_loss", "train_acc", "dev_loss", "dev_acc", "epoch_time_s"):
                assert len(h[k]) == E + 1, (r["run"], k)
            assert h["epoch_time_s"][0] == 0.0 and all(t > 0 for t in h["epoch_time_s"][1:])
            assert SUMMARY_KEYS <= set(s)
            # the best checkpoint: the first epoch with the highest dev accuracy
            assert s["best_dev_acc"] == max(h["dev_acc"]) and s["best_epoch"] == h["dev_acc"].index(max(h["dev_acc"]))
            assert s["train_acc_at_best"] == h["train_acc"][s["best_epoch"]]
            assert s["max_train_acc"] == max(h["train_acc"])
            assert (s["final_train_acc"], s["final_train_loss"], s["final_dev_acc"], s["final_dev_loss"]) == (
                h["train_acc"][-1], h["train_loss"][-1], h["dev_acc"][-1], h["dev_loss"][-1])
            assert s["mean_epoch_time_s"] == pytest.approx(np.mean(h["epoch_time_s"][1:]))
            assert 0 < s["test_acc"] <= 1 and s["test_loss"] > 0
            assert c["batch_size"] == 1 and c["seed"] == 42 and c["n_classes"] == N_CLASSES
            assert r["provenance"]["wall_time_s"] > 0
            if c["model"] != "mlp":          # linear runs also record their features
                assert s["dim"] == c["n_features"] - 1 and s["feature_time_s"] >= 0
                assert ("explained_variance" in s) == (c["features"] == "pca90")
    grid = {(r["config"]["features"], r["config"]["lr"], r["config"]["l2"]) for r in recs["q1.grid"]}
    assert grid == {(f, lr, l2) for f in q1.GRID_FEATURES for lr in q1.GRID_LRS for l2 in q1.GRID_L2S}
    assert grid == {(f, lr, l2) for f in ("raw", "maxpool2") for lr in (1e-4, 1e-3, 1e-2) for l2 in (1e-5, 1e-4)}
    assert {r["config"]["features"] for r in recs["q1.grid_hog"]} == {"hog"}
    assert {(r["config"]["features"], r["config"]["lr"]) for r in recs["q1.features"]} == {
        (f, lr) for f in FEATURES for lr in q1.FEATURE_LRS}
    assert {r["run"] for r in recs["q1.grid"]} == {q1.run_name(*k) for k in grid}
    assert q1.run_name("raw", 1e-3, 1e-5) == "raw_lr1e-03_l21e-05"
    # the same configuration in two experiments gives the same numbers (determinism)
    a = next(r for r in recs["q1.grid"] if r["run"] == "raw_lr1e-04_l21e-05")
    assert (recs["q1.logreg"][0]["config"]["lr"], recs["q1.logreg"][0]["config"]["l2"]) == (1e-4, 1e-5)
    assert {k: v for k, v in a["history"].items() if k != "epoch_time_s"} == {
        k: v for k, v in recs["q1.logreg"][0]["history"].items() if k != "epoch_time_s"}
    # before training (W = 0) every class scores the same: the perceptron criterion is 0 and
    # logistic regression's cross-entropy is ln 26; the MLP starts from its random weights
    p, lg = recs["q1.perceptron"][0]["history"], recs["q1.logreg"][0]["history"]
    assert p["train_loss"][0] == 0.0 and p["train_acc"][0] == lg["train_acc"][0]
    assert lg["train_loss"][0] == pytest.approx(math.log(N_CLASSES), rel=1e-12)
    m = recs["q1.mlp"][0]
    assert m["config"]["hidden"] == [100] and m["config"]["lr"] == 1e-3 and m["config"]["n_features"] == N_PIXELS


def test_saved_weights_reproduce_the_test_scores(recorded, data):
    _, recs = recorded
    Xte_b, Xte, yte = course_view(data.test.X, bias=True), course_view(data.test.X), data.test.y
    tol = 2 / len(yte)   # weights are stored as float32
    for model, rec in ((Perceptron(N_PIXELS + 1), recs["q1.perceptron"][0]),
                       (LogisticRegression(N_PIXELS + 1), recs["q1.logreg"][0]),
                       (MLP(N_PIXELS, [100], N_CLASSES), recs["q1.mlp"][0])):
        w = results.load_arrays(rec)
        assert all(v.dtype == np.float32 for k, v in w.items() if not k.startswith("misclassified_"))
        model.load_state_dict(w)
        X = Xte if isinstance(model, MLP) else Xte_b
        loss, acc = model.evaluate(X, yte)
        assert abs(acc - rec["summary"]["test_acc"]) <= tol, rec["run"]
        assert loss == pytest.approx(rec["summary"]["test_loss"], rel=1e-3), rec["run"]
        # the test confusion matrix and the kept mistakes are those of this checkpoint
        conf = np.array(rec["summary"]["test_confusion"])
        assert conf.sum() == len(yte) and np.trace(conf) / len(yte) == pytest.approx(rec["summary"]["test_acc"])
        assert np.array_equal(conf.sum(1), np.bincount(yte, minlength=N_CLASSES))
        imgs, true, pred = (w[f"misclassified_{k}"] for k in ("images", "true", "pred"))
        assert len(imgs) == min(40, len(yte) - np.trace(conf)) and (true != pred).all()
        Xm = course_view(imgs) if isinstance(model, MLP) else course_view(imgs, bias=True)
        assert (model.predict(Xm) == pred).mean() >= 0.95, rec["run"]       # float32 weights may flip a tie


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


# ------------------------------------------------------------------ the chapter's figures and tables
def test_curves_figure(recorded):
    _, recs = recorded
    for r in (recs["q1.perceptron"][0], recs["q1.mlp"][0]):
        fig = curves_figure(r)
        star = [t for t in fig.data if t.name and t.name.startswith("best validation")]
        assert len(star) == 1
        assert list(star[0].x) == [r["summary"]["best_epoch"]] and list(star[0].y) == [r["summary"]["best_dev_acc"]]
        curves = {t.legendgroup: t for t in fig.data if t.legendgroup}
        assert set(curves) == {"train_loss", "dev_loss", "train_acc", "dev_acc"}
        for k, t in curves.items():
            assert list(t.x) == r["history"]["epoch"] and list(t.y) == r["history"][k]
        assert fig.layout.title.text == hp_words(r["config"]) and r["run"] not in fig.layout.title.text
    fig = curves_figure(recs["q1.mlp"][0], title="MLP", log_loss=True)
    assert fig.layout.title.text == "MLP" and fig.layout.yaxis.type == "log"


def test_record_lookup(recorded):
    _, recs = recorded
    assert rq1.record(recs["q1.grid"], "raw_lr1e-03_l21e-05")["run"] == "raw_lr1e-03_l21e-05"
    assert rq1.record(recs["q1.logreg"]) is recs["q1.logreg"][0]
    with pytest.raises(ResultError, match="no record 'nope'"):
        rq1.record(recs["q1.grid"], "nope")


def test_grid_table_and_heatmap(recorded):
    _, recs = recorded
    best = results.best_run(recs["q1.grid"])
    table = chapter_code("q1").grid_table(recs["q1.grid"])._repr_html_()
    assert table.count("<tr>") == 13 and acc(0.7195) in table          # the report's best setting
    bold = bold_rows(table)
    assert len(bold) == 1
    row = table.split("<tr>")[2 + bold.pop()]                           # header, then the rows
    assert acc(best["summary"]["test_acc"]) in row and acc(best["summary"]["best_dev_acc"]) in row
    heat = chapter_code("q1").grid_heatmap(recs["q1.grid"])
    assert heat.data[0].z.shape == (2, 6) and len(heat.layout.shapes) == 1
    assert np.nanmax(heat.data[0].z) == best["summary"]["best_dev_acc"]
    heat = chapter_code("q1").grid_heatmap(recs["q1.grid"], extra=recs["q1.grid_hog"])
    assert heat.data[0].z.shape == (3, 6) and len(heat.layout.shapes) == 2
    # in-cell labels fit a phone's 35-px cell: "69.4" (the colour bar carries the %), at 11 px
    assert all(len(t) <= 4 for row in heat.data[0].text for t in row) and heat.data[0].textfont.size == 11
    assert "—" in chapter_code("q1").grid_table(recs["q1.grid_hog"])._repr_html_()   # HOG: no report counterpart


def test_feature_tables_and_figures(recorded, data):
    _, recs = recorded
    rows = chapter_code("q1").feature_summary(recs["q1.features"])
    assert [r["features"] for r in rows] == list(FEATURES)
    for row in rows:
        runs = [r for r in recs["q1.features"] if r["config"]["features"] == row["features"]]
        assert row["best_dev_acc"] == max(r["summary"]["best_dev_acc"] for r in runs)
        assert row["lr"] == results.best_run(runs)["config"]["lr"]
        assert set(row["dev_by_lr"]) == set(q1.FEATURE_LRS) and row["dim"] == runs[0]["summary"]["dim"]
    assert [r["dim"] for r in rows] == [784, 196, 49, 90, 324]
    assert "PCA" in chapter_code("q1").feature_table(recs["q1.features"])._repr_html_()
    fig = chapter_code("q1").feature_tradeoff_figure(recs["q1.features"])
    assert list(fig.data[0].y) == [r["best_dev_acc"] for r in rows]
    fig = chapter_code("q1").feature_pictures(data, n=3)
    assert len(fig.axes) == 3 * len(FEATURES)


def test_comparison_table(recorded):
    _, recs = recorded
    html = chapter_code("q1").comparison_table(recs["q1.perceptron"][0], recs["q1.logreg"][0], recs["q1.grid"],
                                recs["q1.mlp"][0], recs["q1.grid_hog"])._repr_html_()
    assert "61.1%" in html and "87.8%" in html and "not in the report" in html   # the report's numbers
    assert html.count("<tr>") == 6
    for r in (recs["q1.perceptron"][0], recs["q1.logreg"][0], recs["q1.mlp"][0]):
        assert f"{100 * r['summary']['test_acc']:.1f}%" in html


# ------------------------------------------------------------------ the chapter's facts
def test_run_facts_are_the_records_numbers(recorded):
    _, recs = recorded
    for key, exp in (("perceptron", "q1.perceptron"), ("logreg", "q1.logreg"), ("mlp", "q1.mlp")):
        rec = recs[exp][0]
        f = chapter_code("q1").run_facts(rec, key)
        s = rec["summary"]
        assert (f["dev"], f["epoch"], f["test"], f["epochs"]) == (
            s["best_dev_acc"], s["best_epoch"], s["test_acc"], q1.EPOCHS["quick"])
        rep, other = original.Q1[key], original.Q1_OTHER_GROUPS.get(key, {})
        assert f["report_test"] == rep["test_acc"] and f.get("report_dev") == rep.get("best_dev_acc")
        assert f.get("other_dev") == other.get("best_dev_acc") and f.get("other_epoch") == other.get("best_epoch")
    # the report prints no validation accuracy for 1.1 and 1.2(a): those numbers are other groups'
    assert "report_dev" not in chapter_code("q1").run_facts(recs["q1.perceptron"][0], "perceptron")
    assert chapter_code("q1").run_facts(recs["q1.perceptron"][0], "perceptron")["report_test"] == 0.611
    changed = copy.deepcopy(recs["q1.logreg"][0])
    changed["summary"].update(best_dev_acc=0.5, best_epoch=2, test_acc=0.25)
    f = chapter_code("q1").run_facts(changed, "logreg")
    assert (f["dev"], f["epoch"], f["test"]) == (0.5, 2, 0.25)


def _with_dev(records, run, acc):
    """A copy of ``records`` in which ``run``'s best validation accuracy is ``acc``."""
    out = copy.deepcopy(records)
    next(r for r in out if r["run"] == run)["summary"]["best_dev_acc"] = acc
    return out


def test_grid_facts_follow_the_records(recorded):
    _, recs = recorded
    grid, hog = recs["q1.grid"], recs["q1.grid_hog"]
    f = chapter_code("q1").grid_facts(grid, hog)
    b, h = results.best_run(grid), results.best_run(hog)
    assert (f["best_label"], f["best_lr"], f["best_l2"], f["best_dev"], f["best_epoch"], f["best_test"]) == (
        b["config"]["feature_label"], b["config"]["lr"], b["config"]["l2"], b["summary"]["best_dev_acc"],
        b["summary"]["best_epoch"], b["summary"]["test_acc"])
    assert (f["report_features"], f["report_lr"], f["report_l2"], f["report_dev"], f["report_test"]) == (
        "raw", 1e-3, 1e-4, 0.7195, 0.721)
    assert (f["hog_lr"], f["hog_l2"], f["hog_dev"], f["hog_test"]) == (
        h["config"]["lr"], h["config"]["l2"], h["summary"]["best_dev_acc"], h["summary"]["test_acc"])
    assert f["hog_vs_best_pts"] == pytest.approx(100 * (h["summary"]["test_acc"] - b["summary"]["test_acc"]))
    for feat, rs in (("raw", [r for r in grid if r["config"]["features"] == "raw"]),
                     ("maxpool2", [r for r in grid if r["config"]["features"] == "maxpool2"]), ("hog", hog)):
        devs = {(r["config"]["lr"], r["config"]["l2"]): r["summary"]["best_dev_acc"] for r in rs}
        assert f[f"{feat}_best_lr"] == results.best_run(rs)["config"]["lr"]
        assert f[f"{feat}_lr_spread_pts"] == pytest.approx(100 * (max(devs.values()) - min(devs.values())))
        assert f[f"{feat}_l2_gap_pts"] == pytest.approx(
            100 * max(abs(devs[lr, 1e-5] - devs[lr, 1e-4]) for lr in q1.GRID_LRS))
    assert "hog_lr" not in chapter_code("q1").grid_facts(grid)       # no extra runs, no HOG facts
    # the labels switch when the records do
    f = chapter_code("q1").grid_facts(_with_dev(grid, "maxpool2_lr1e-02_l21e-04", 0.99))
    assert (f["best_label"], f["best_lr"], f["best_l2"], f["best_dev"], f["maxpool2_best_lr"]) == (
        "2×2 max pooling", 1e-2, 1e-4, 0.99, 1e-2)
    f = chapter_code("q1").grid_facts(_with_dev(grid, "raw_lr1e-04_l21e-05", 0.99))
    assert (f["best_label"], f["best_lr"], f["best_l2"], f["raw_best_lr"]) == ("raw pixels", 1e-4, 1e-5, 1e-4)


def test_feature_facts_follow_the_records(recorded):
    _, recs = recorded
    records = recs["q1.features"]
    rows = {r["features"]: r for r in chapter_code("q1").feature_summary(records)}
    raw = rows["raw"]
    f = chapter_code("q1").feature_facts(records)
    best = max(rows.values(), key=lambda r: r["best_dev_acc"])
    assert f["raw_dev"] == raw["best_dev_acc"] and f["tolerance_pts"] == pytest.approx(1.0)
    assert (f["best_label"], f["best_dim"], f["best_dev"], f["best_lr"]) == (
        best["label"], best["dim"], best["best_dev_acc"], best["lr"])
    assert f["best_gain_pts"] == pytest.approx(100 * (best["best_dev_acc"] - raw["best_dev_acc"]))
    assert f["best_time_ratio"] == pytest.approx(best["epoch_time_s"] / raw["epoch_time_s"])
    mp = rows["maxpool2"]
    assert (f["maxpool_label"], f["maxpool_dim"], f["maxpool_dev"]) == (mp["label"], 196, mp["best_dev_acc"])
    assert f["maxpool_gain_pts"] == pytest.approx(100 * (mp["best_dev_acc"] - raw["best_dev_acc"]))
    # the cheap map: the fastest non-raw map within the tolerance of raw pixels, or "none"
    f = chapter_code("q1").feature_facts(records, tolerance=1.0)                    # every map qualifies
    fastest = min((r for r in rows.values() if r["features"] != "raw"), key=lambda r: r["epoch_time_s"])
    assert f["cheap_label"] == fastest["label"] and f["cheap_dim"] == fastest["dim"]
    assert chapter_code("q1").feature_facts(records, tolerance=-1.0)["cheap_label"] == "none"   # none can
    # the labels switch when the records do
    for feat in ("avgpool4", "hog"):
        run = q1.run_name(feat, q1.FEATURE_LRS[0], q1.FEATURE_L2)
        f = chapter_code("q1").feature_facts(_with_dev(records, run, 0.99), tolerance=-1.0)
        assert (f["best_label"], f["best_dim"], f["best_dev"], f["best_lr"]) == (
            rows[feat]["label"], rows[feat]["dim"], 0.99, q1.FEATURE_LRS[0])
        assert f["cheap_label"] == "none"


