"""Slider figures (offline Plotly) and the Jupyter explorer: the data each slider step shows is the map."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hwlib.errors import ConfigError
from hwlib.models import maps
from chapter_code import chapter_code


@pytest.fixture(scope="module")
def k2fig():
    return chapter_code("q3").k2_slider_figure()


def _arr(v):
    return np.array([np.nan if x is None else x for x in v], dtype=float)


def test_k2_sliders_compose_b_and_T(k2fig):
    """Apply every (b step, T step) pair as plotly.js would and compare the visible curves with maps.p2."""
    meta = k2fig.layout.meta
    t = np.array(meta["t"])
    b_slider, T_slider = k2fig.layout.sliders
    assert b_slider.currentvalue.prefix == "b = " and T_slider.currentvalue.prefix == "T = "
    for bi, b_step in enumerate(b_slider.steps):
        for Ti, T_step in enumerate(T_slider.steps):
            visible = [tr.visible for tr in k2fig.data]
            for idx, v in zip(b_step.args[1], b_step.args[0]["visible"]):
                visible[idx] = v
            ys = dict(zip(T_step.args[1], T_step.args[0]["y"]))
            b, T = meta["bs"][bi], meta["Ts"][Ti]
            shown = [(m, _arr(ys[i])) for i, m in enumerate(meta["traces"]) if visible[i]]
            assert len(shown) == 6
            for m, y in shown:
                bb = b if m["name"] == "relumax" else None
                if m["name"] == "relumax":
                    assert m["b"] == b
                ref = maps.p2(m["name"], t / T, bb) if m["which"] == "p" else maps.dp2(m["name"], t / T, bb) / T
                np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-9)


def test_k2_slider_steps_change_the_data(k2fig):
    b_slider, T_slider = k2fig.layout.sliders
    vis = [tuple(s.args[0]["visible"]) for s in b_slider.steps]
    assert len(set(vis)) == len(vis)
    y0 = [json.dumps(s.args[0]["y"]) for s in T_slider.steps]
    assert len(set(y0)) == len(y0)


def test_derivative_gaps_at_kinks(k2fig):
    meta = k2fig.layout.meta
    t = np.array(meta["t"])
    i = next(i for i, m in enumerate(meta["traces"]) if m["name"] == "sparsemax" and m["which"] == "dp")
    y = _arr(k2fig.data[i].y)
    assert np.isnan(y[np.isin(t, [-1.0, 1.0])]).all() and np.isfinite(y[~np.isin(t, [-1.0, 1.0])]).all()


def test_k2_figure_is_offline_html(k2fig):
    html = k2fig.to_html(include_plotlyjs=False, full_html=False)
    assert "cdn" not in html.lower() and "https://" not in html.replace("https://plot.ly", "")
    assert len(html) < 600_000


def test_simplex_markers_follow_the_maps():
    z = (1.0, 0.4, -0.3)
    fig = chapter_code("q3").simplex_figure(z=z)
    meta = fig.layout.meta
    b_slider, T_slider = fig.layout.sliders
    for Ti, step in enumerate(T_slider.steps):
        T = meta["Ts"][Ti]
        for pos, i in enumerate(step.args[1]):
            m = meta["traces"][i]
            p = [step.args[0][k][pos][0] for k in "abc"]
            np.testing.assert_allclose(p, maps.apply(m["name"], z, b=m["b"], T=T), rtol=1e-4, atol=1e-9)
    assert len({tuple(s.args[0]["visible"]) for s in b_slider.steps}) == len(meta["bs"])
    # small T: sparsemax and relumax sit on a corner (sparse), softmax strictly inside
    first = T_slider.steps[0].args
    P = {meta["traces"][i]["name"] + str(meta["traces"][i]["b"]): [first[0][k][pos][0] for k in "abc"]
         for pos, i in enumerate(first[1])}
    assert P["sparsemaxNone"] == [1.0, 0.0, 0.0] and P["relumax1.0"] == [1.0, 0.0, 0.0]
    assert min(P["softmaxNone"]) > 0


def test_figure_parameter_errors():
    with pytest.raises(ConfigError, match="must be among"):
        chapter_code("q3").k2_slider_figure(b0=0.33)
    with pytest.raises(ConfigError, match="K = 3"):
        chapter_code("q3").simplex_figure(z=(1.0, 2.0))
    with pytest.raises(ConfigError, match="lo < hi"):
        chapter_code("q3").t_grid(1.0, -1.0, 10)


def test_static_k2_plot_draws_all_maps():
    import matplotlib.pyplot as plt
    fig = chapter_code("q3").k2_plot(bs=(0.5, 2.0))
    labels = [ln.get_label() for ln in fig.axes[0].lines if not ln.get_label().startswith("_")]
    assert labels == ["softmax", "sparsemax", "relumax, b = 0.5", "relumax, b = 2"]
    plt.close(fig)


def test_jupyter_explorer_reacts_to_every_slider():
    ex = chapter_code("q3").K2Explorer(t=0.5, b=1.0, T=1.0)
    assert ex.values()["relumax"] == pytest.approx((2 / 3, 4 / 9))        # b/(2b - t), b/(2b - t)^2
    assert "0.6667" in ex.readout.value
    png, text = ex.image.value, ex.readout.value
    ex.b.value = 2.0
    assert ex.values()["relumax"][0] == pytest.approx(2 / 3.5)
    assert ex.image.value != png and ex.readout.value != text
    ex.T.value = 0.5                                                  # z / T = [0, 1]: sparsemax saturates
    assert ex.values()["sparsemax"][0] == pytest.approx(1.0)
    assert "does not exist" in ex.readout.value                       # t / T = 1 is sparsemax's kink
    ex.t.value = -2.0
    assert ex.values()["softmax"][0] == pytest.approx(1 / (1 + np.exp(4.0)))
    bundle = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_k2_legend_clear_of_titles_toolbar_and_sliders(k2fig):
    """The legend hangs under the x axis (at the top it overlapped the panel titles and Plotly's
    toolbar at 390 and 1280 px), and the sliders come after it, inside the bottom margin."""
    legend, (b, T) = k2fig.layout.legend, k2fig.layout.sliders
    assert legend.yanchor == "top" and legend.y < 0
    assert legend.y > b.y > T.y
    plot_px = k2fig.layout.height - k2fig.layout.margin.t - k2fig.layout.margin.b
    assert -T.y * plot_px + 70 <= k2fig.layout.margin.b        # the lower slider (about 70 px) fits
