"""Figures and tables for people: every Plotly figure of the Q1 and Q2 chapters (executed on the
recorded runs, live cells included) and the curves of hwlib fill the text column (autosize, no fixed width),
every text in them is at least 11 px, log axes carry few ticks, no run id appears in any title,
legend, label or caption; matplotlib figures are drawn at most the column's width with text of at
least 11 px at their displayed size."""
from __future__ import annotations

import json
import re

import matplotlib
import matplotlib.text
import numpy as np
import pytest

from chapter_code import chapter_code
from conftest import REPO
from hwlib.data import Letters, Split
from hwlib.experiments import results
from hwlib.report import q1, q2
from hwlib.report.common import COLUMN_IN, FIG_DPI, best_run, curves_figure, show_plotly

MIN_PX = 11
COLUMN_PX = COLUMN_IN * FIG_DPI
RUN_ID = re.compile(r"w\d{3}_lr=|_lr\d|_lr=|_l2\d|_l2=|drop=")


def _recorded(experiment: str) -> list[dict]:
    from hwlib.data import dataset_slug
    recs = results.load_all(experiment, dataset_slug(), "full", root=REPO / "results")
    if not recs:
        pytest.skip(f"no recorded {experiment} runs")
    return recs


def _chapter_figures(chapter: str) -> dict:
    """Every Plotly figure a chapter shows, by the first line of its title: the chapter executed as
    a notebook on the recorded full-profile runs (as the book builds it)."""
    import os
    import jupytext
    import plotly.graph_objects as go
    from nbclient import NotebookClient
    nb = jupytext.read(REPO / "book" / f"{chapter}.md")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "book")}}).execute(env=env)
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            d = o.get("data", {}).get("application/vnd.plotly.v1+json")
            if d is not None:
                fig = go.Figure(d)
                out[fig.layout.title.text.split("<br>")[0]] = fig
                assert '"responsive": true' in o["data"]["text/html"], fig.layout.title.text
    return out


@pytest.fixture(scope="module")
def figures():
    _recorded("q1.grid"), _recorded("q2.width")        # skip where the records are absent
    D = _recorded("q2.depth")
    figs = {**_chapter_figures("q1"), **_chapter_figures("q2")}
    figs["q1 curves, log"] = curves_figure(_recorded("q1.mlp")[0], "1.3 MLP", log_loss=True)
    figs["default title"] = curves_figure(best_run(D))
    return figs


def _one(figures: dict, start: str):
    """The figure whose title starts with ``start``."""
    found = [f for name, f in figures.items() if name.startswith(start)]
    assert len(found) == 1, (start, list(figures))
    return found[0]


def _sizes(layout: dict) -> list[tuple[str, float]]:
    """Every font size a figure's text is drawn at (an unset size falls back to the layout's font)."""
    base = layout.get("font", {}).get("size", 12)
    out = [("font", base), ("legend", layout.get("legend", {}).get("font", {}).get("size", base)),
           ("title", layout.get("title", {}).get("font", {}).get("size", base))]
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key):
            out.append((f"{key} ticks", axis.get("tickfont", {}).get("size", base)))
            out.append((f"{key} title", axis.get("title", {}).get("font", {}).get("size", base)))
    out += [(f"annotation {a.get('text')}", a.get("font", {}).get("size", base)) for a in layout.get("annotations", [])]
    return out


def test_plotly_figures_fill_the_column_with_readable_text(figures):
    for name, fig in figures.items():
        layout = fig.to_plotly_json()["layout"]
        assert layout.get("autosize") is True and "width" not in layout, name
        small = [(what, s) for what, s in _sizes(layout) if s < MIN_PX]
        assert not small, (name, small)
        for trace in fig.data:
            size = (getattr(trace, "textfont", None) and trace.textfont.size) or layout["font"]["size"]
            assert size >= MIN_PX, (name, trace.name)
        # show_plotly renders responsively, without a fixed pixel width
        html = show_plotly(fig)._repr_mimebundle_()["text/html"]
        assert '"responsive": true' in html and not re.search(r'style="height:\d+px; width:\d+px', html)
    titles = " ".join(figures)
    assert "recorded run, full profile" in titles and "trained just now" in titles.lower()


def test_no_run_ids_in_figure_texts(figures):
    for name, fig in figures.items():
        d = fig.to_plotly_json()
        texts = json.dumps({"layout": d["layout"], "names": [t.get("name") for t in d["data"]],
                            "text": [t.get("text") for t in d["data"]]}, ensure_ascii=False, default=str)
        assert not RUN_ID.search(texts), (name, RUN_ID.search(texts))
    heatmap = _one(figures, "Best validation accuracy per run")
    assert "best of the grid" in heatmap.layout.title.text    # the title names both outlines
    assert "<br>" in heatmap.layout.title.text                # on its own line, not clipped
    assert len(figures) >= 14, list(figures)                 # live and recorded, Q1 and Q2


def test_log_axes_have_few_uncrowded_ticks(figures):
    for name in ("q1 curves, log", "2.2(b) Best run", "2.3(b) Best depth", "2.1 Trained just now"):
        ax = _one(figures, name).layout.yaxis
        assert ax.type == "log" and 2 <= len(ax.tickvals) <= 8, (name, ax.tickvals)
        ratios = np.diff(np.log10(ax.tickvals))
        assert ratios.min() >= 0.09, (name, ax.tickvals)     # neighbours at least a factor 1.25 apart
    for name in ("2.2(a) Dev accuracy against width", "2.2(c) Final training accuracy against width"):
        ax = _one(figures, name).layout.xaxis
        assert ax.type == "log" and list(ax.tickvals) == [16, 32, 64, 128, 256]


def test_tables_name_settings_not_run_ids():
    grid, W, D = _recorded("q1.grid"), _recorded("q2.width"), _recorded("q2.depth")
    for table in (chapter_code("q1").grid_table(grid), chapter_code("q2").width_lr_table(W), chapter_code("q2").width_pivot_table(W), chapter_code("q2").width_table(W),
                  chapter_code("q2").width_comparison_table(W), chapter_code("q2").depth_table(D)):
        assert not RUN_ID.search(table._repr_html_()), RUN_ID.search(table._repr_html_())
    at_a_glance = chapter_code("q2").width_lr_table(W)._repr_html_()
    assert at_a_glance.count("<tr>") == 1 + len(chapter_code("q2").widths_of(W)) and at_a_glance.count("★") == 2   # one in the caption
    full = chapter_code("q2").width_table(W)._repr_html_()
    assert full.startswith("<details><summary>") and full.count("<tr>") == len(W) + 1


def _letters() -> Letters:
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(26), 4)
    X = (rng.random((len(y), 28, 28)) * 255).astype(np.uint8)
    s = Split(X, y)
    return Letters(s, s, s, name="test-letters", slug="t", sha256="0" * 64, source="test", profile="quick",
                   synthetic=True)


def _small_texts(fig) -> list[tuple[str, float]]:
    """Texts of a matplotlib figure smaller than MIN_PX at the size the page shows the figure."""
    width_px = fig.get_figwidth() * FIG_DPI
    scale = min(1.0, COLUMN_PX / width_px)
    return [(t.get_text(), t.get_fontsize() * FIG_DPI / 72 * scale) for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip() and t.get_fontsize() * FIG_DPI / 72 * scale < MIN_PX]


def test_matplotlib_figures_are_readable_at_the_column_width():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    data = _letters()
    for name, fig in (("feature pictures", chapter_code("q1").feature_pictures(data, n=8)),
                      ("sample grid", chapter_code("data").sample_grid(data.train, n=40, title="t")),
                      ("compare grids", chapter_code("data").compare_grids({"a": data.test, "b": data.test})),
                      ("class balance", chapter_code("data").class_balance(data)), ("class means", chapter_code("data").class_means(data.train)),
                      ("orientation", chapter_code("data").orientation_fix(data.train))):
        assert fig.get_figwidth() <= COLUMN_IN + 1e-9 or not _small_texts(fig), name
        assert not _small_texts(fig), (name, _small_texts(fig))
        plt.close(fig)
    fig = chapter_code("q1").feature_pictures(data, n=3)
    labels = [ax.get_ylabel() for ax in fig.axes if ax.get_ylabel()]
    assert labels[0].startswith("raw pixels") and all("values" in lab for lab in labels)
    plt.close(fig)
