"""Q2 chapter helpers: tables, figures and sentences are built from records and say what the
records say (checked on records whose numbers we set)."""
from __future__ import annotations

import copy
import re

import numpy as np
import pytest

from hwlib import q2


def fake_record(width, lr, dropout, l2, dev, train, test=None, depth=1, epochs=4, best_epoch=None):
    """A record shaped like the experiments' (history rising to ``dev``/``train``)."""
    E = epochs
    t = np.linspace(0, 1, E + 1)
    h = {"epoch": list(range(E + 1)),
         "train_loss": list(3.3 - 2.5 * t), "dev_loss": list(3.3 - 2.0 * t),
         "train_acc": list(0.04 + (train - 0.04) * t), "dev_acc": list(0.04 + (dev - 0.04) * t)}
    be = E if best_epoch is None else best_epoch
    cfg = {"width": width, "depth": depth, "activation": "relu", "dropout": dropout, "lr": lr, "l2": l2,
           "optimizer": "adam", "epochs": E, "batch_size": 64, "seed": 42}
    run = q2.run_name(q2.FFNConfig(**cfg)) if depth == 1 else q2.depth_run_name(depth)
    return {"run": run, "config": cfg, "history": h,
            "summary": {"best_dev_acc": h["dev_acc"][be], "best_epoch": be, "test_acc": test or dev - 0.01,
                        "test_loss": 1.0, "final_train_acc": train, "final_dev_acc": dev,
                        "final_train_loss": h["train_loss"][-1]},
            "provenance": {"started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:10:00+00:00",
                           "hardware": {"cpu": "test CPU", "cpu_count": 2}},
            "dataset": {"name": "test", "slug": "t", "sha256": "0" * 64, "profile": "quick",
                        "synthetic": True, "sizes": {}}}


@pytest.fixture
def grid():
    """Widths 16..256; dev saturates after 128; dropout helps only at 256; l2 never wins."""
    best_dev = {16: 0.70, 32: 0.78, 64: 0.83, 128: 0.86, 256: 0.865}
    recs = []
    for w in q2.GRID_WIDTHS:
        for do in q2.GRID_DROPOUTS:
            for lr in q2.GRID_LRS:
                for l2 in q2.GRID_L2S:
                    dev = best_dev[w] - 0.05 * abs(np.log10(lr / 1e-3)) - 0.002 * (l2 > 0)
                    dev -= 0.01 * (do > 0) if w < 256 else -0.003 * (do > 0)
                    recs.append(fake_record(w, lr, do, l2, dev, train=min(0.99, dev + 0.0004 * w)))
    return recs


@pytest.fixture
def depth():
    return [fake_record(32, 1e-3, 0.0, 0.0, dev, train, depth=L)
            for L, dev, train in [(1, 0.78, 0.80), (3, 0.80, 0.84), (5, 0.79, 0.83), (7, 0.75, 0.77), (9, 0.70, 0.71)]]


def test_best_per_width_and_table(grid):
    bw = q2.best_per_width(grid)
    assert list(bw) == [16, 32, 64, 128, 256]
    assert bw[256]["config"]["dropout"] == 0.2 and bw[128]["config"]["dropout"] == 0.0
    assert all(r["config"]["lr"] == 1e-3 and r["config"]["l2"] == 0 for r in bw.values())
    html = q2.width_table(grid)._repr_html_()
    assert html.count("<tr>") == 81 and html.count("<b>") == 5 * 8  # 5 bold rows × 8 cells
    assert f"{bw[256]['summary']['best_dev_acc']:.4f}" in html
    cmp = q2.width_comparison_table(grid)._repr_html_()
    assert "0.909" in cmp and f"{bw[256]['summary']['best_dev_acc']:.3f}" in cmp  # report's beside ours


def test_width_sentences_follow_the_records(grid):
    text = q2.width_trend_text(grid)
    assert "70.0% at 16 units" in text and "86.8% at 256 units" in text
    assert "rises at every step" in text and "diminishing returns" in text
    assert "dropout 0.2 wins at widths 256" in text and "ℓ2 1e-4 at no width" in text
    eff = q2.factor_effects(grid)
    assert max(eff, key=eff.get) == "lr"
    assert "the learning rate matters most" in q2.factor_effects_text(grid)
    flat = copy.deepcopy(grid)
    for r in flat:  # make every width equally good: the sentence must change
        r["summary"]["best_dev_acc"] = 0.8 + 1e-4 * r["config"]["lr"]
    assert "rises at every step" not in q2.width_trend_text(flat)


def test_curve_sentence_detects_overfitting_and_convergence():
    r = fake_record(64, 1e-3, 0.0, 0.0, 0.85, 0.95, epochs=10, best_epoch=4)
    r["history"]["dev_loss"] = [3.0, 1.0, 0.6, 0.5, 0.45, 0.47, 0.5, 0.55, 0.6, 0.66, 0.7]
    r["history"]["train_loss"] = [3.0, 1.0, 0.5, 0.3, 0.2, 0.15, 0.12, 0.0843, 0.0842, 0.0841, 0.0840]
    text = q2.curve_text(r)
    assert "epoch 4 of 10" in text and "overfitting" in text and "lowest at epoch 4" in text
    assert "essentially flat" in text
    r["history"]["dev_loss"] = list(np.linspace(3, 0.4, 11))
    r["history"]["train_loss"] = list(np.linspace(3, 0.3, 11))
    text = q2.curve_text(r)
    assert "no sign of overfitting" in text and "still going down" in text


def test_train_width_sentence(grid):
    text = q2.train_width_text(grid)
    tr = [r["summary"]["final_train_acc"] for r in q2.best_per_width(grid).values()]
    assert f"{100 * tr[0]:.1f}%" in text and f"{100 * tr[-1]:.1f}%" in text
    assert "No run reaches 100%" in text


def test_depth_helpers(grid, depth):
    html = q2.depth_table(depth)._repr_html_()
    assert html.count("<tr>") == 6 and "0.524" in html  # report's depth-9 dev beside ours
    text = q2.depth_trend_text(depth, grid)
    assert "The best depth is **3**" in text and "3 of 4 steps" in text
    hp_text = q2.depth_hparams_text(grid, depth)
    assert "used exactly these settings" in hp_text
    wrong = copy.deepcopy(depth)
    for r in wrong:
        r["config"]["lr"] = 3e-4
    assert "**not** the current best" in q2.depth_hparams_text(grid, wrong)


def test_depth_fit_sentence(depth):
    text = q2.depth_fit_text(depth)
    assert "2 of the 4 deeper networks fit the training set better" in text and "depth 3, 5." in text
    assert "peaks at 3 layers (84.0%)" in text and "optimisation, not overfitting" in text
    shallow_wins = copy.deepcopy(depth)
    for r in shallow_wins[1:]:
        r["summary"]["final_train_acc"] = 0.5
    assert "0 of the 4 deeper networks" in q2.depth_fit_text(shallow_wins)


def test_close_results_are_called_too_close(grid, depth):
    close = copy.deepcopy(grid)
    for r in close:
        r["dataset"]["sizes"] = {"dev": 20800}
        if r["config"]["width"] == 256 and r["config"]["dropout"] > 0:
            r["summary"]["best_dev_acc"] -= 0.0035  # now 0.05 points above the best without dropout
    verdicts = {c["claim"]: c["verdict"] for c in q2.report_claims(close, depth)}
    assert verdicts["Dropout helps at the widest setting (256 units)."] == "too close to call here"
    assert "not decisive" in q2.width_trend_text(close)
    p = close[0]["summary"]["best_dev_acc"]
    assert q2.dev_noise(close[0]) == pytest.approx(2 * np.sqrt(p * (1 - p) / 20800))
    better = copy.deepcopy(depth)
    for r in better[1:]:
        r["summary"]["final_train_acc"] = 0.95
    assert "All 4 deeper networks" in q2.depth_fit_text(better)


def test_report_claims_are_judged_on_the_records(grid, depth):
    claims = {c["claim"].split(" (")[0]: c["verdict"] for c in q2.report_claims(grid, depth)}
    assert claims["Dev accuracy rises quickly up to ~128 units, then saturates."] == "holds here"
    assert claims["Training accuracy keeps rising toward 1 with width."] == "holds here"
    assert claims["Dropout helps at the widest setting"] == "holds here"
    assert claims["Accuracy falls with depth"] == "does not hold here"
    assert claims["The depth study uses the best 32-unit settings of 2.2(a)"].startswith("does not hold")
    html = q2.claims_table(q2.report_claims(grid, depth))._repr_html_()
    assert html.count("<b>") == 2 * 3


def test_figures_build(grid, depth):
    best = q2.best_record_any(grid)
    for fig, n in ((q2.dev_vs_width_figure(grid), 4), (q2.curves_figure(best), 5),
                   (q2.train_vs_width_figure(grid), 4), (q2.train_vs_depth_figure(depth), 4)):
        assert len(fig.data) == n
        fig.to_json()
    t = q2.grid_wall_time(grid)
    assert t["span_s"] == 600 and t["runs"] == 80


def test_init_signal_shows_the_first_layer_gradient_shrinking_with_depth():
    X = np.random.default_rng(0).integers(0, 256, (64, 28, 28)).astype(np.uint8)
    sig = q2.init_signal(X, depths=(1, 5, 9))
    g = [sig[L]["grad"][0] for L in (1, 5, 9)]
    assert g[0] > g[1] > g[2] and len(sig[9]["grad"]) == 9 and len(sig[9]["act_std"]) == 9
    text = q2.init_signal_text(sig)
    assert re.search(r"multiplied by about 0\.\d\d per layer", text)


def test_pivot_table(grid):
    html = q2.width_pivot_table(grid)._repr_html_()
    assert html.count("<tr>") == 1 + 20 and html.count("<b>") == 5 and html.count("★") == 2  # one in the caption
    assert html.count("<td title=") == 80
