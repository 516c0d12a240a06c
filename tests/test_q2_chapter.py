"""Q2 chapter: tables, figures and the facts its sentences quote are built from records and say what
the records say (checked on records whose numbers we set). The facts are numbers and short labels;
these tests assert those, not the chapter's wording."""
from __future__ import annotations

import copy

import numpy as np
import pytest

from chapter_code import chapter_code
from conftest import bold_rows
from hwlib.experiments import q2 as runs
from hwlib.experiments.results import best_run
from hwlib.models.ffn import FFNConfig
from hwlib.report import book, errata, original, q2
from hwlib.report.claims import Kind, Status, find
from hwlib.report.common import curves_figure
from hwlib.report.fmt import acc
from hwlib.training import FitResult


def fake_record(width, lr, dropout, l2, dev, train, test=None, depth=1, epochs=4, best_epoch=None):
    """A record shaped like the experiments' (history rising to ``dev``/``train``; the summary is
    ``FitResult.summary()`` of that history, as the experiments save it; plain floats, as read
    back from the JSON records)."""
    E = epochs
    t = np.linspace(0, 1, E + 1)
    h = {"epoch": list(range(E + 1)),
         "train_loss": (3.3 - 2.5 * t).tolist(), "train_acc": (0.04 + (train - 0.04) * t).tolist(),
         "dev_loss": (3.3 - 2.0 * t).tolist(), "dev_acc": (0.04 + (dev - 0.04) * t).tolist()}
    be = E if best_epoch is None else best_epoch
    cfg = {"width": width, "depth": depth, "activation": "relu", "dropout": dropout, "lr": lr, "l2": l2,
           "optimizer": "adam", "epochs": E, "batch_size": 64, "seed": 42}
    run = runs.run_name(FFNConfig(**cfg)) if depth == 1 else runs.depth_run_name(depth)
    summary = FitResult(h, be, h["dev_acc"][be], 1.0, test or dev - 0.01, 1.0).summary()
    summary["load_avg_1min_at_save"] = 1.5
    return {"run": run, "config": cfg, "history": h, "summary": summary,
            "provenance": {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:10:00+00:00",
                           "hardware": {"cpu": "test CPU", "cpu_count": 2}},
            "dataset": {"name": "test", "slug": "t", "sha256": "0" * 64, "profile": "quick",
                        "synthetic": True, "sizes": {}}}


@pytest.fixture
def grid():
    """Widths 16..256; dev saturates after 128; dropout helps only at 256; l2 never wins."""
    best_dev = {16: 0.70, 32: 0.78, 64: 0.83, 128: 0.86, 256: 0.865}
    recs = []
    for w in runs.GRID_WIDTHS:
        for do in runs.GRID_DROPOUTS:
            for lr in runs.GRID_LRS:
                for l2 in runs.GRID_L2S:
                    dev = best_dev[w] - 0.05 * abs(np.log10(lr / 1e-3)) - 0.002 * (l2 > 0)
                    dev -= 0.01 * (do > 0) if w < 256 else -0.003 * (do > 0)
                    recs.append(fake_record(w, lr, do, l2, dev, train=min(0.99, dev + 0.0004 * w)))
    return recs


@pytest.fixture
def depth():
    return [fake_record(32, 1e-3, 0.0, 0.0, dev, train, depth=L)
            for L, dev, train in [(1, 0.78, 0.80), (3, 0.80, 0.84), (5, 0.79, 0.83), (7, 0.75, 0.77), (9, 0.70, 0.71)]]


def test_fake_records_carry_the_summary_the_experiments_save(grid):
    s = grid[0]["summary"]
    assert {"best_dev_acc", "best_epoch", "test_acc", "final_train_acc", "train_acc_at_best",
            "final_dev_acc", "max_train_acc", "load_avg_1min_at_save"} <= set(s)
    assert s["final_train_acc"] == grid[0]["history"]["train_acc"][-1]


def test_best_per_width_and_table(grid):
    bw = q2.best_per_width(grid)
    assert list(bw) == [16, 32, 64, 128, 256] == chapter_code("q2").widths_of(grid)
    assert bw[256]["config"]["dropout"] == 0.2 and bw[128]["config"]["dropout"] == 0.0
    assert all(r["config"]["lr"] == 1e-3 and r["config"]["l2"] == 0 for r in bw.values())
    for w, r in bw.items():  # the same rule as the experiments' best_run, per width
        assert r is best_run([x for x in grid if x["config"]["width"] == w])
    html = chapter_code("q2").width_table(grid)._repr_html_()
    assert html.count("<tr>") == 81 and len(bold_rows(html)) == 5    # the best run of each width
    assert acc(bw[256]["summary"]["best_dev_acc"]) in html
    cmp = chapter_code("q2").width_comparison_table(grid)._repr_html_()
    assert "90.9%" in cmp and acc(bw[256]["summary"]["best_dev_acc"]) in cmp  # report's beside ours
    assert q2.hp_label(bw[256]["config"]) == "lr 10⁻³, dropout 0.2, no ℓ2" and q2.hp_label(bw[256]["config"]) in cmp
    assert q2.find_run(grid, width=32, lr=3e-4, dropout=0.2, l2=0.0)["run"] == "w032_lr=0.0003_drop=0.2_l2=0"
    assert q2.find_run(grid, width=48) is None and chapter_code("q2").epochs_of(grid) == 4


def test_width_facts_follow_the_records(grid):
    f = chapter_code("q2").width_facts(grid)
    assert (f["w_first"], f["w_last"]) == (16, 256)
    assert f["dev_first"] == pytest.approx(0.70) and f["dev_last"] == pytest.approx(0.868)
    assert f["trend"] == "rises at every step"
    assert f["returns"] == "each doubling gains less than the one before"
    assert f["steps"] == "16→32: +8.0, 32→64: +5.0, 64→128: +3.0, 128→256: +0.8"
    assert f["top_width"] == 256 and f["top_hp"] == "lr 10⁻³, dropout 0.2, no ℓ2"
    assert f["top_dev"] == pytest.approx(0.868)
    assert f["winning_lrs"] == "0.001"
    assert f["dropout_widths"] == "256" and f["l2_widths"] == "none"
    # no dev size recorded: no noise band, so no run ties with the top one
    assert f["noise_pts"] == 0 and f["rivals"] == 0 and f["ranking"] == "decisive"

    flat = copy.deepcopy(grid)
    for r in flat:  # make every width equally good: the trend label must change
        r["summary"]["best_dev_acc"] = 0.8 + 1e-4 * r["config"]["lr"]
    ff = chapter_code("q2").width_facts(flat)
    assert ff["trend"] != "rises at every step"
    assert ff["trend"] == "never falls by more than 0.2 points from one step to the next"
    assert ff["returns"] == "the gains per doubling do not shrink steadily"
    assert ff["winning_lrs"] == "0.003" and ff["dev_first"] == ff["dev_last"] == pytest.approx(0.8 + 3e-7)


def test_trend_labels():
    assert chapter_code("q2").trend([0.1, 0.2, 0.3]) == "rises at every step"
    assert chapter_code("q2").trend([0.3, 0.2, 0.1]) == "falls at every step"
    assert chapter_code("q2").trend([0.3, 0.301, 0.4]).startswith("never falls by more than 0.2 points")
    assert chapter_code("q2").trend([0.4, 0.399, 0.3]).startswith("never rises by more than 0.2 points")
    assert chapter_code("q2").trend([0.1, 0.3, 0.2]) == "is not monotone"
    assert chapter_code("q2").trend([0.1, 0.11, 0.12], tol=0.05).startswith("never falls by more than 5 points")


def test_factor_facts(grid):
    eff = chapter_code("q2").factor_effects(grid)
    assert max(eff, key=eff.get) == "lr"
    # ℓ2 costs 0.2 points everywhere; dropout 1 point below 256 and +0.3 at 256: mean 0.86 points
    assert eff["l2"] == pytest.approx(0.002) and eff["dropout"] == pytest.approx((4 * 0.01 + 0.003) / 5)
    f = chapter_code("q2").factor_facts(grid)
    assert f["most"] == "the learning rate" and f["n_widths"] == 5
    assert f["effect_lr_pts"] == pytest.approx(100 * eff["lr"]) and f["effect_l2_pts"] == pytest.approx(0.2)
    assert f["width_span_pts"] == pytest.approx(16.8)
    # within a width: lr 1e-4 is 0.05·log10(10) = 5 points below 1e-3, plus dropout and ℓ2
    assert f["spread_min_pts"] == pytest.approx(5.2 + 0.3) and f["spread_max_pts"] == pytest.approx(5 + 1 + 0.2)
    no_lr = copy.deepcopy(grid)
    for r in no_lr:  # take away the learning rate's effect: another factor must lead
        r["summary"]["best_dev_acc"] += 0.05 * abs(np.log10(r["config"]["lr"] / 1e-3))
    assert chapter_code("q2").factor_facts(no_lr)["most"] == "dropout"


def test_curve_facts_detect_overfitting_and_convergence():
    r = fake_record(64, 1e-3, 0.0, 0.0, 0.85, 0.95, epochs=10, best_epoch=4)
    r["history"]["dev_loss"] = [3.0, 1.0, 0.6, 0.5, 0.45, 0.47, 0.5, 0.55, 0.6, 0.66, 0.7]
    r["history"]["train_loss"] = [3.0, 1.0, 0.5, 0.3, 0.2, 0.15, 0.12, 0.0843, 0.0842, 0.0841, 0.0840]
    f = chapter_code("q2").curve_facts(r)
    assert (f["epoch"], f["epochs"]) == (4, 10) and f["dev"] == r["summary"]["best_dev_acc"]
    assert f["dev_loss_min_epoch"] == 4 and f["dev_loss_min"] == 0.45 and f["dev_loss_end"] == 0.7
    assert "overfitting" in f["overfit_label"] and "no sign" not in f["overfit_label"]
    assert f["loss_label"] == "flat" and f["k"] == 3 and f["late_change"] == pytest.approx(-0.0003)
    assert f["gap_end_pts"] == pytest.approx(10.0) and f["train_end"] == pytest.approx(0.95)
    assert f["fit_label"] == "does not fit"  # 95% < the 97% that counts as fitting the training set
    assert chapter_code("q2").curve_facts(r, fitted=0.9)["fit_label"] == "fits"

    r["history"]["dev_loss"] = list(np.linspace(3, 0.4, 11))
    r["history"]["train_loss"] = list(np.linspace(3, 0.3, 11))
    f = chapter_code("q2").curve_facts(r)
    assert f["overfit_label"].endswith("no sign of overfitting in the loss") and f["dev_loss_min_epoch"] == 10
    assert f["loss_label"] == "still falling"
    assert chapter_code("q2").curve_facts(r, flat_tolerance=5)["loss_label"] == "flat"  # the threshold is a parameter
    fitted = fake_record(256, 1e-3, 0.0, 0.0, 0.88, 0.99, epochs=6)
    assert chapter_code("q2").curve_facts(fitted)["fit_label"] == "fits"


def test_train_width_facts(grid):
    f = chapter_code("q2").train_width_facts(grid)
    tr = [r["summary"]["final_train_acc"] for r in q2.best_per_width(grid).values()]
    assert f["train_first"] == pytest.approx(tr[0]) == pytest.approx(0.7064)
    assert f["train_last"] == pytest.approx(tr[-1]) == pytest.approx(0.9704)
    assert f["trend"] == "rises at every step"
    assert f["full_widths"] == "none" and f["epochs"] == 4  # no run reaches 100%
    assert f["max_last"] == pytest.approx(0.9704)
    assert f["gap_first_pts"] == pytest.approx(0.64) and f["gap_last_pts"] == pytest.approx(10.24)
    full = copy.deepcopy(grid)
    full[-1]["summary"]["final_train_acc"] = 1.0  # one width-256 run fits its training set
    assert chapter_code("q2").train_width_facts(full)["full_widths"] == "256"


def test_depth_helpers(grid, depth):
    html = chapter_code("q2").depth_table(depth)._repr_html_()
    assert html.count("<tr>") == 6 and "52.4%" in html and len(bold_rows(html)) == 1  # report's depth-9 dev
    assert [r["config"]["depth"] for r in q2.by_depth(depth[::-1])] == [1, 3, 5, 7, 9]
    f = chapter_code("q2").depth_facts(depth)
    assert f["best_depth"] == 3 and f["best_dev"] == pytest.approx(0.80) and f["deepest"] == 9
    assert f["deep_vs_one_pts"] == pytest.approx(-8.0) and f["n_steps"] == 4
    assert f["same_direction"] == 3  # only 1→3 rises where the report's falls
    assert (f["report_first"], f["report_last"]) == (0.817, 0.524)
    assert f["ties"] == "none" and f["train_trend"] == "is not monotone"

    h = chapter_code("q2").depth_hparams_facts(grid, depth)
    assert h["used"] == "these settings" and h["src_run"] == "w032_lr=0.001_drop=0_l2=0"
    assert h["n_runs"] == 16 and h["src_dev"] == pytest.approx(0.78)
    # the report's (lr 3e-4, dropout 0.2, ℓ2 0) rank among our 32-unit runs, and how far behind
    assert h["report_dev"] == pytest.approx(0.78 - 0.05 * np.log10(1e-3 / 3e-4) - 0.01)
    assert h["report_vs_best_pts"] == pytest.approx(100 * (h["report_dev"] - 0.78))
    ranked = sorted((r["summary"]["best_dev_acc"] for r in grid if r["config"]["width"] == 32), reverse=True)
    assert h["report_rank"] == ranked.index(h["report_dev"]) + 1
    wrong = copy.deepcopy(depth)
    for r in wrong:
        r["config"]["lr"] = 3e-4
    assert h["used"] != chapter_code("q2").depth_hparams_facts(grid, wrong)["used"]
    assert chapter_code("q2").depth_hparams_facts(grid, wrong)["used"].startswith("lr 3·10⁻⁴, no dropout, no ℓ2, not these")


def test_depth_fit_facts(depth):
    f = chapter_code("q2").depth_fit_facts(depth)
    assert f["n_better"] == 2 and f["n_deeper"] == 4 and f["better_depths"] == "3, 5"
    assert f["peak_depth"] == 3 and f["peak_train"] == pytest.approx(0.84) and f["train_one"] == pytest.approx(0.80)
    assert f["limit"] == "optimisation" and f["overfit"] == "no overfitting"
    assert f["gap_min_pts"] == pytest.approx(1.0) and f["gap_max_pts"] == pytest.approx(4.0)
    shallow_wins = copy.deepcopy(depth)
    for r in shallow_wins[1:]:
        r["summary"]["final_train_acc"] = 0.5
    g = chapter_code("q2").depth_fit_facts(shallow_wins)
    assert g["n_better"] == 0 and g["better_depths"] == "none" and g["peak_depth"] == 1
    deepest_best = copy.deepcopy(depth)
    deepest_best[-1]["summary"]["final_train_acc"] = 0.99
    g = chapter_code("q2").depth_fit_facts(deepest_best)
    assert g["limit"] == "none seen" and g["peak_depth"] == 9 and g["overfit"] == "overfitting"
    assert chapter_code("q2").depth_fit_facts(depth, overfit_gap=0.03)["overfit"] == "overfitting"


def test_close_results_are_called_too_close(grid, depth):
    close = copy.deepcopy(grid)
    for r in close:
        r["dataset"]["sizes"] = {"dev": 20800}
        if r["config"]["width"] == 256 and r["config"]["dropout"] > 0:
            r["summary"]["best_dev_acc"] -= 0.0035  # now 0.05 points below the best without dropout
    dropout = find(q2.report_claims(close, depth), "q2.dropout")
    assert dropout.status is Status.TOO_CLOSE and dropout.verdict == "too close to call on the stand-in"
    assert dropout.claim == "Dropout helps at the widest setting (256 units)."
    f = chapter_code("q2").width_facts(close)
    assert f["ranking"] == "not decisive" and f["rivals"] >= 1
    p = close[0]["summary"]["best_dev_acc"]
    assert q2.dev_noise(close[0]) == pytest.approx(2 * np.sqrt(p * (1 - p) / 20800))
    assert f["noise_pts"] == pytest.approx(100 * q2.dev_noise(best_run(close)))
    # a ten times larger dev split (±0.15 points): 256 with dropout leads by 0.3 points, beyond noise
    sized = copy.deepcopy(grid)
    for r in sized:
        r["dataset"]["sizes"] = {"dev": 208000}
    assert chapter_code("q2").width_facts(sized)["ranking"] == "decisive"
    assert find(q2.report_claims(sized, depth), "q2.dropout").status is Status.SHOWN
    noisy_depth = copy.deepcopy(depth)
    for r in noisy_depth:
        r["dataset"]["sizes"] = {"dev": 1000}  # ±2.5 points
    assert chapter_code("q2").depth_facts(noisy_depth)["ties"] == "1, 5"  # within two standard errors of depth 3
    better = copy.deepcopy(depth)
    for r in better[1:]:
        r["summary"]["final_train_acc"] = 0.95
    g = chapter_code("q2").depth_fit_facts(better)
    assert g["n_better"] == g["n_deeper"] == 4


def test_report_claims_are_judged_on_the_records(grid, depth):
    grid = copy.deepcopy(grid)
    for r in grid:
        r["dataset"] = {**r.get("dataset", {}), "sizes": {"dev": 4000}}   # two standard errors ±1.1 points
    claims = {c.key: c for c in q2.report_claims(grid, depth)}
    status = {k: c.status for k, c in claims.items()}
    # data-dependent readings say what the data shows, never "refuted"
    assert status["q2.saturation"] is Status.SHOWN and claims["q2.saturation"].verdict == "the stand-in shows it"
    assert status["q2.train_width"] is Status.SHOWN
    assert status["q2.dropout"] is Status.TOO_CLOSE                 # +0.3 ± 1.1
    assert status["q2.depth"] is Status.NOT_SHOWN and claims["q2.depth"].verdict == "the stand-in does not show it"
    assert claims["q2.saturation"].claim == original.READINGS["q2.saturation"]     # the report's words
    for c in claims.values():
        assert c.kind in (Kind.DATA_DEPENDENT, Kind.DATA_INDEPENDENT)
        assert c.status.is_open == (c.kind is Kind.DATA_DEPENDENT)
    # data-independent claims: firm verdicts from the report's own tables and the assignment
    for key in ("q2.depth_settings", "q2.depth_width"):
        assert status[key] is Status.WRONG and claims[key].verdict == "contradicted by the report's own table", key
    for key in ("q2.depth_gap", "q2.dropout_gap"):       # its table neither shows nor contradicts these (issue 20)
        assert status[key] is Status.UNSUPPORTED and claims[key].verdict == "not supported by the report's own table", key
    assert "garbled" in claims["q2.depth_gap"].claim and "No width-256 run without dropout" in claims["q2.dropout_gap"].evidence
    assert "depth 1: 1.1" in claims["q2.depth_gap"].evidence
    # readings a reviewer quotes, checked against the report's own settings and tables (issue 20)
    assert status["q2.optimizer"] is Status.WRONG and "Adam" in claims["q2.optimizer"].evidence
    assert status["q2.interpolate"] is Status.PARTLY and "94.9%" in claims["q2.interpolate"].evidence
    assert status["q2.uat_plateau"] is Status.PARTLY and "represent" in claims["q2.uat_plateau"].evidence
    assert "4.0 points" in claims["q2.dropout_gap"].evidence
    html = errata.blocks(q2.report_claims(grid, depth), "Q2")._repr_html_()
    assert html.count('data-tone="wrong"') == 3 and html.count('data-tone="partly"') == 2
    assert html.count('data-tone="unsupported"') == 2
    assert html.count('data-tone="open"') == 4
    assert html.count("Re-check on real data with <code>" + q2.RECHECK) == 4
    # "too close" is a parameter: in combined standard errors (seeds and dev-set size); the reading
    # measures whether the gain per doubling shrinks, so a huge noise makes it too close to call
    assert find(q2.report_claims(grid, depth, n_se=50), "q2.saturation").status is Status.TOO_CLOSE
    assert "per doubling" in claims["q2.saturation"].evidence and "one seed" in claims["q2.saturation"].evidence
    # on real data the labels name it
    real = copy.deepcopy(grid)
    for r in real:
        r["dataset"] = {**r["dataset"], "synthetic": False, "name": "emnist-letters"}
    assert find(q2.report_claims(real, depth), "q2.train_width").verdict == "emnist-letters shows it"
    # without depth records only the width readings (and the report-internal checks) are judged
    assert len([c for c in q2.report_claims(grid, []) if c.kind is Kind.DATA_DEPENDENT]) == 3


def test_report_claims_accept_numpy_numbers(grid, depth):
    """Records built in memory may hold numpy floats (e.g. from a numpy history); the verdicts must
    not depend on the number type."""
    np_grid = copy.deepcopy(grid)
    for r in np_grid:
        r["summary"]["best_dev_acc"] = np.float64(r["summary"]["best_dev_acc"])
    assert [c.status for c in q2.report_claims(np_grid, depth)] == \
        [c.status for c in q2.report_claims(grid, depth)]


def test_figures_build(grid, depth):
    best = best_run(grid)
    fig = curves_figure(best)
    assert len(fig.data) == 5
    fig.to_json()
    assert curves_figure(best, "t", log_loss=True).layout.yaxis.type == "log"
    t = chapter_code("q2").grid_wall_time(grid)
    assert t["span_s"] == 600 and t["minutes"] == 10 and t["runs"] == 80
    assert t["machine"] == "test CPU (2 cores)" and t["load_avg"] == 1.5


def test_pivot_table(grid):
    html = chapter_code("q2").width_pivot_table(grid)._repr_html_()
    assert html.count("<tr>") == 1 + 20 and html.count("<b>") == 5 and html.count("★") == 2  # one in the caption
    assert html.count("%</td>") + html.count("%</b></td>") + html.count("★</b></td>") == 80


def test_chapter_reads_recorded_runs_before_training(monkeypatch):
    """recorded_or_live hands recorded runs over as they are, without training."""
    import hwlib.report.book as bk
    recs = [fake_record(16, 1e-3, 0.0, 0.0, 0.7, 0.72)]
    monkeypatch.setattr(bk.results, "load_all", lambda exp, slug, profile: recs if exp == "q2.width" else [])
    monkeypatch.setattr(bk, "_live", lambda exp, slug: pytest.fail("trained although records exist"))
    got, live = book.recorded_or_live("q2.width", "quick")
    assert got is recs and live is False


def test_chapter_depth_and_width_share_one_live_run(monkeypatch):
    """With nothing recorded, the chapter's two calls train live into one folder: the depth study
    runs the grid it needs, and the width call then finds it instead of training it again."""
    import shutil
    for name, value in (("GRID_WIDTHS", (4, 8)), ("GRID_LRS", (1e-3, 3e-3)), ("EPOCHS", {"full": 1, "quick": 1}),
                        ("DEPTH_WIDTH", 8), ("DEPTHS", (1, 2))):
        monkeypatch.setattr(runs, name, value)  # 16 grid runs and 2 depths of one epoch
    monkeypatch.setenv("HWLIB_WORKERS", "1")
    real, trained = runs.fit_batched, []
    monkeypatch.setattr(runs, "fit_batched", lambda unit, *a, **k: trained.append(len(unit)) or real(unit, *a, **k))
    book._live.cache_clear()
    book._live_root.cache_clear()
    try:
        D, live_d = book.recorded_or_live("q2.depth", "quick")
        n_depth = len(trained)
        W, live_w = book.recorded_or_live("q2.width", "quick")
    finally:
        root = book._live_root()
        book._live.cache_clear()
        book._live_root.cache_clear()
        shutil.rmtree(root, ignore_errors=True)
    assert live_d and live_w
    assert sorted(r["config"]["depth"] for r in D) == [1, 2] and len(W) == 16
    assert len(trained) == n_depth  # the width call trained nothing more
    assert sum(trained) == 16 + 2  # every grid run and every depth trained exactly once
    src = best_run([r for r in W if r["config"]["width"] == 8])["run"]
    assert {r["config"]["hparams_from"] for r in D} == {f"q2.width/{src}"}  # the depth study read this grid


def test_report_table_facts_are_the_reports_numbers():
    f = chapter_code("q2").report_table_facts()
    gaps = [100 * (v["train"] - v["dev"]) for v in original.Q2_DEPTH.values()]
    assert f["depth_gap_min_pts"] == min(gaps) < f["depth_gap_max_pts"] == max(gaps) < q2.GAP_LARGE_PTS
    assert f["best_width"] == 256


def test_readings_use_the_mean_and_spread_over_seeds(grid, depth):
    """A reading rests on the mean over the seeds a run was trained with, and its noise adds the
    seeds' spread to the dev set's (issue 20); the depth reading is made at the report's settings."""
    g = copy.deepcopy(grid)
    for r in g:
        r["experiment"], r["dataset"] = "q2.width", {**r["dataset"], "sizes": {"dev": 4000}}
    bw = q2.best_per_width(g)
    seeds = []
    for w, r in bw.items():
        for k, seed in enumerate((43, 44)):
            x = copy.deepcopy(r)
            x["run"], x["config"] = f"{r['run']}_seed{seed}", {**r["config"], "seed": seed, "seed_of": f"q2.width/{r['run']}"}
            x["summary"]["best_dev_acc"] += 0.02 if k else -0.02
            seeds.append(x)
    mean, noise, n = q2.measured(bw[256], seeds)
    assert n == 3 and mean == pytest.approx(bw[256]["summary"]["best_dev_acc"])
    assert noise == pytest.approx(np.hypot(0.02 / np.sqrt(3), q2.dev_noise(bw[256]) / 2))
    assert [x["run"] for x in q2.seeded(bw[256], seeds)][1:] == [f"{bw[256]['run']}_seed43", f"{bw[256]['run']}_seed44"]
    claims = {c.key: c for c in q2.report_claims(g, depth, seed_records=seeds)}
    assert "mean of 3 seeds" in claims["q2.saturation"].evidence and "seeds and dev-set size" in claims["q2.dropout"].evidence
    # the report's settings: a study that falls at every pair of layers shows it, whatever the tuned one does
    report_depth = [fake_record(32, 3e-4, 0.2, 0.0, dev, dev + 0.01, depth=L)
                    for L, dev in [(1, 0.80), (3, 0.77), (5, 0.72), (7, 0.65), (9, 0.55)]]
    d = find(q2.report_claims(g, depth, report_depth, seeds), "q2.depth")
    assert d.status is Status.SHOWN and "the report's settings" in d.evidence and "best 32-unit settings" in d.evidence
    assert find(q2.report_claims(g, depth), "q2.depth").status is Status.NOT_SHOWN    # the tuned study rises first
