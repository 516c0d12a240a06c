"""Small helpers that chapter cells call: figures that work offline, dataset banners, records.

Chapters never train for minutes: ``recorded_or_live`` returns the recorded runs of the active
dataset and profile from ``results/``; only when there are none does it run the experiment in the
*quick* profile, into a throw-away folder, and says so.
"""
from __future__ import annotations

import functools
import html
import tempfile
from pathlib import Path

from hwlib import results
from hwlib.data import active_profile, dataset_slug


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
    """Use instead of ``fig.show()`` (whose output the book would drop)."""
    return PlotlyFigure(fig)


class HTMLBlock:
    def __init__(self, body: str):
        self.body = body

    def _repr_html_(self) -> str:
        return self.body


def admonition(title: str, body_html: str, kind: str = "note") -> HTMLBlock:
    return HTMLBlock(f'<div class="admonition {kind}"><p class="admonition-title">{html.escape(title)}</p>'
                     f"{body_html}</div>")


def dataset_banner(obj, live: bool = False) -> HTMLBlock:
    """Name the dataset (and profile, hash, provenance) behind a page, a table or a figure.

    ``obj`` is a ``Letters``, a record, or a list of records.
    """
    if isinstance(obj, list):
        obj = obj[0] if obj else None
    if obj is None:
        return admonition("Dataset", "<p>No records.</p>", "warning")
    if isinstance(obj, dict) and live:
        ds, extra = obj["dataset"], ""
    elif isinstance(obj, dict):
        ds, prof = obj["dataset"], obj.get("provenance", {})
        extra = (f" Recorded by <code>{html.escape(prof.get('command') or '?')}</code> at git "
                 f"<code>{(prof.get('git_commit') or '?')[:10]}</code> on {html.escape(prof.get('finished') or '?')}"
                 f" ({html.escape(prof.get('hardware', {}).get('cpu', '?'))}).")
    else:
        ds, extra = obj.describe(), ""
    synth = ds.get("synthetic")
    sizes = ", ".join(f"{k} {v:,}" for k, v in ds.get("sizes", {}).items())
    body = (f"<p><b>{html.escape(ds['name'])}</b>{' — <b>synthetic letters rendered from fonts, not real handwriting</b>' if synth else ''}; "
            f"profile <code>{html.escape(ds['profile'])}</code> ({sizes}); sha256 <code>{ds['sha256'][:16]}…</code>.{extra}</p>")
    if live:
        body += ("<p><b>No recorded full-profile results exist for this dataset, so these numbers were "
                 "computed live in the quick profile</b> (a small subset, few epochs): they show the code "
                 "path, not the answer. Record the full run with <code>make reproduce</code>.</p>")
    return admonition("Dataset behind these numbers", body, "warning" if (synth or live) else "note")


@functools.lru_cache(maxsize=None)
def _live(experiment: str, slug: str) -> tuple[dict, ...]:
    from hwlib.data import load_letters
    from hwlib.experiments import run_experiment
    root = Path(tempfile.mkdtemp(prefix="hwlib-live-"))
    data = load_letters(profile="quick")
    if len(data.train) == 0:  # e.g. HWLIB_DATA points at the real test-only fragment
        data = load_letters("synthetic", profile="quick")
    return tuple(run_experiment(experiment, "quick", root=root, data=data))


def recorded_or_live(experiment: str, profile: str | None = None) -> tuple[list[dict], bool]:
    """(records, live): recorded runs for the active dataset + profile, else a live quick run."""
    profile = profile or active_profile()
    slug = dataset_slug()
    recs = results.load_all(experiment, slug, profile)
    if recs:
        return recs, False
    return list(_live(experiment, slug)), True


def html_table(header: list[str], rows: list[list], highlight: set[int] | None = None,
               caption: str | None = None) -> HTMLBlock:
    """A plain HTML table (rows with an index in ``highlight`` are bold) — no pandas needed."""
    highlight = highlight or set()
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{'<b>' if i in highlight else ''}{html.escape(str(c))}"
                         f"{'</b>' if i in highlight else ''}</td>" for c in r) + "</tr>"
        for i, r in enumerate(rows))
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return HTMLBlock(f'<table class="table">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')
