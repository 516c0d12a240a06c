"""Helpers the chapters' figures share: HTML blocks, the offline Plotly wrapper and the per-epoch
curves of a recorded run (numpy and PyTorch runs alike record epochs 0..E of loss and accuracy)."""
from __future__ import annotations

import html
import math

from hwlib.experiments.results import best_run
from hwlib.report.fmt import hp_words, pct

__all__ = ["COLUMN_IN", "FIG_DPI", "FIG_FONT_PT", "FONT_PX", "HTMLBlock", "PlotlyFigure", "admonition", "best_run",
           "curves_figure", "log_ticks", "polish", "recorded_title", "show_plotly"]


class HTMLBlock:
    """A piece of HTML that Jupyter and the book display as such."""

    def __init__(self, body: str):
        self.body = body

    def _repr_html_(self) -> str:
        return self.body


def admonition(title: str, body_html: str, kind: str = "note") -> HTMLBlock:
    return HTMLBlock(f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
                     f"{body_html}</div>")


class PlotlyFigure:
    """Display wrapper: Jupyter gets plotly's own mimetype (interactive, kernel-side plotly.js);
    the book gets a static HTML div that uses the locally served plotly.min.js (no CDN)."""

    def __init__(self, fig):
        self.fig = fig

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {
            "application/vnd.plotly.v1+json": self.fig.to_plotly_json(),
            "text/html": self.fig.to_html(include_plotlyjs=False, full_html=False,
                                          config={"displaylogo": False, "responsive": True}),
        }


def show_plotly(fig) -> PlotlyFigure:
    """Use instead of ``fig.show()`` (whose output the book would drop); styled by ``polish``."""
    return PlotlyFigure(polish(fig))


FONT_PX = 13     # base font of every Plotly figure; legends and ticks one pixel smaller, titles larger
# matplotlib figures: the book's text column is about 690 px, so a figure at most COLUMN_IN inches wide
# (at 100 dpi) is shown at its own size, and FIG_FONT_PT points are 15 px on the page
COLUMN_IN, FIG_DPI, FIG_FONT_PT = 6.8, 100, 11


def polish(fig):
    """The book's figure style: width from the text column (autosize, no fixed width), fonts of at
    least 12 px for ticks and legends, room at the top for a two-line title."""
    fig.update_layout(autosize=True, width=None, font=dict(size=FONT_PX), legend=dict(font=dict(size=FONT_PX - 1)),
                      title=dict(font=dict(size=FONT_PX + 3)), hoverlabel=dict(font=dict(size=FONT_PX)))
    fig.update_xaxes(tickfont=dict(size=FONT_PX - 1), title_font=dict(size=FONT_PX))
    fig.update_yaxes(tickfont=dict(size=FONT_PX - 1), title_font=dict(size=FONT_PX))
    fig.update_annotations(font=dict(size=FONT_PX))
    return fig


def log_ticks(values) -> list[float]:
    """Tick values for a log axis over ``values``: 1, 2, 5 times powers of ten, never crowded."""
    v = [float(x) for x in values if x and x > 0]
    lo, hi = math.floor(math.log10(min(v))), math.ceil(math.log10(max(v)))
    for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 8), tuple(range(1, 10))):
        ticks = [round(m * 10.0 ** e, 12) for e in range(lo, hi + 1) for m in mantissas]
        inside = [t for t in ticks if min(v) / 1.3 <= t <= max(v) * 1.3]
        if len(inside) >= 3:
            break
    return inside


def recorded_title(record: dict, what: str) -> str:
    """A recorded run's figure title, every setting read from the record itself: "1.2(a) Logistic
    regression — recorded run, full profile: raw pixels, lr 10⁻⁴, ℓ2 10⁻⁵; 20 epochs, 104,000 letters"."""
    c = dict(record["config"])
    if c.get("model") == "perceptron":
        c.pop("lr", None)                       # the perceptron has no learning rate
    n = record.get("dataset", {}).get("sizes", {}).get("train")
    return (f"{what} — recorded run, {record.get('profile', '?')} profile:<br>{hp_words(c)}; "
            f"{c['epochs']} epochs" + (f", {n:,} letters" if n else ""))


def curves_figure(record, title: str | None = None, log_loss: bool = False):
    """Train and dev loss, and accuracy, per epoch (0 = before training), the best-dev epoch marked with its test
    accuracy in the legend; ``record`` is a recorded run or a ``hwlib.training.FitResult``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    if not isinstance(record, dict):              # a FitResult
        record = {"history": record.history, "summary": record.summary(), "config": {}}
    h, s = record["history"], record["summary"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("loss per epoch" + (" (log scale)" if log_loss else ""), "accuracy"))
    for col, (a, b) in ((1, ("train_loss", "dev_loss")), (2, ("train_acc", "dev_acc"))):
        for key, color in ((a, "#1f77b4"), (b, "#ff7f0e")):
            name = key.replace("_", " ").replace("dev", "validation")
            value = "%{y:.1%}" if col == 2 else "%{y:.3f}"          # an accuracy, or a cross-entropy
            fig.add_trace(go.Scatter(x=h["epoch"], y=h[key], name=name, mode="lines+markers",
                                     line=dict(color=color), legendgroup=key,
                                     hovertemplate=f"epoch %{{x}}: {name} {value}<extra></extra>"), 1, col)
        fig.add_vline(x=s["best_epoch"], line_dash="dot", line_color="crimson", row=1, col=col)
    fig.add_trace(go.Scatter(x=[s["best_epoch"]], y=[s["best_dev_acc"]], mode="markers",
                             marker=dict(symbol="star", size=15, color="crimson"),
                             hovertemplate="epoch %{x}: best validation accuracy %{y:.1%}<extra></extra>",
                             name=f"best validation {pct(s['best_dev_acc'])} (epoch {s['best_epoch']}); "
                                  f"test {pct(s['test_acc'])}"), 1, 2)
    fig.update_xaxes(title_text="epoch")
    if log_loss:
        ticks = log_ticks(h["train_loss"] + h["dev_loss"])
        fig.update_yaxes(type="log", tickvals=ticks, ticktext=[f"{t:g}" for t in ticks], row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_layout(title=title or hp_words(record["config"]), height=460, legend=dict(orientation="h", y=-0.22),
                      margin=dict(t=90, l=60, r=20))
    return polish(fig)

