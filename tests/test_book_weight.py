"""The built site's weight: what a reader's browser must load for each page, and the whole site.

A page's weight is its HTML plus every local ``<script src>`` and ``<link rel="stylesheet" href>`` it
references (resolved relative to the page; fonts and images not counted). Text pages stay under
2.5 MB, pages with an interactive Plotly figure 5 MB, and the
whole site stays under 15 MB.

Pages with a Plotly figure may weigh 5 MB: they load the partial "cartesian" plotly.js bundle
(1.5 MB; scatter, heatmap and scatterternary are all we draw), which the book build fetches from the
npm registry with a pinned sha256 (``partial_plotly`` in ``book/_ext/hwlib_sphinx.py``). A build that could not
fetch it (offline) falls back to the ``plotly`` package's full bundle; the budget test then says so
and skips those pages rather than passing them.
``HWLIB_BOOK_HTML=<dir>`` reuses an already built ``_build/html`` (see ``built_book``).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "book" / "_ext"))   # the book's Sphinx extension, as _config.yml loads it
import hwlib_sphinx  # noqa: E402

pytestmark = pytest.mark.book

MB = 1_000_000
TEXT_PAGE_MAX = 2.5 * MB

PLOTLY_PAGE_MAX = 5 * MB
SITE_MAX = 15 * MB

_SCRIPT = re.compile(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", re.I)
_LINK = re.compile(r"<link\b[^>]*>", re.I)


def referenced_assets(page: Path) -> set[Path]:
    """Local scripts and stylesheets ``page`` references, as resolved files (missing ones included)."""
    html = page.read_text(encoding="utf-8")
    urls = _SCRIPT.findall(html)
    for tag in _LINK.findall(html):
        if re.search(r"\brel=\"?stylesheet", tag, re.I):
            m = re.search(r"\bhref=\"([^\"]+)\"", tag, re.I)
            if m:
                urls.append(m.group(1))
    out = set()
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:          # remote: test_book_offline forbids those
            continue
        out.add((page.parent / unquote(parts.path)).resolve())
    return out


def has_plotly_figure(page: Path) -> bool:
    return 'class="plotly-graph-div"' in page.read_text(encoding="utf-8")


def page_weight(page: Path) -> tuple[int, list[Path]]:
    """(bytes, missing assets): the HTML plus every referenced local script and stylesheet."""
    assets = referenced_assets(page)
    missing = sorted(a for a in assets if not a.is_file())
    return page.stat().st_size + sum(a.stat().st_size for a in assets if a.is_file()), missing


def site_pages(html_dir: Path) -> list[Path]:
    """Every HTML page of the site (not the theme's template leftovers under ``_static``)."""
    return sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.relative_to(html_dir).parts)


def site_weights(html_dir: Path) -> dict[str, int]:
    return {p.relative_to(html_dir).as_posix(): page_weight(p)[0] for p in site_pages(html_dir)}


def test_every_page_within_its_budget(built_book):
    rows, over, missing, full_bundle = [], [], [], []
    for page in site_pages(built_book):
        weight, gone = page_weight(page)
        plotly = has_plotly_figure(page)
        if any(a.name == "plotly.min.js" for a in referenced_assets(page)):
            full_bundle.append(page.name)
        limit = PLOTLY_PAGE_MAX if plotly else TEXT_PAGE_MAX
        name = page.relative_to(built_book).as_posix()
        rows.append(f"{name:24s} {weight / MB:6.2f} MB{'  (plotly)' if plotly else ''}")
        missing += [f"{name} → {m}" for m in gone]
        if weight > limit:
            over.append(f"{name}: {weight / MB:.2f} MB > {limit / MB:.1f} MB")
    print("\n".join(rows))
    assert not missing, f"pages reference files that are not in the site: {missing}"
    assert not over, "pages over their weight budget:\n" + "\n".join(over)
    if full_bundle:
        assert hwlib_sphinx.partial_plotly() is None, (
            f"{full_bundle} load the full plotly.min.js although the partial bundle is available: "
            f"they draw trace types outside {sorted(hwlib_sphinx.CARTESIAN_TRACES)}")
        pytest.skip(f"built offline: {full_bundle} load the full plotly.js (the partial bundle could not "
                    "be fetched), so the 5 MB budget was not checked for them")


def test_figures_draw_only_trace_types_of_the_partial_bundle(built_book):
    for page in site_pages(built_book):
        if has_plotly_figure(page):
            types = hwlib_sphinx.trace_types(page.read_text(encoding="utf-8"))
            assert types and types <= hwlib_sphinx.CARTESIAN_TRACES, (page.name, types)


def test_plotly_loads_only_where_a_figure_is(built_book):
    pages = site_pages(built_book)
    with_fig = [p for p in pages if has_plotly_figure(p)]
    assert with_fig, "no page with a Plotly figure: the test would prove nothing"
    for page in pages:
        loads = any("plotly" in a.name for a in referenced_assets(page))
        assert loads == has_plotly_figure(page), (
            f"{page.name}: {'loads plotly.js without a figure' if loads else 'has a figure but no plotly.js'}")


def test_site_within_budget(built_book):
    # the PDF (copied in once `make pdf` has run) is a download of its own that no page loads
    total = sum(f.stat().st_size for f in built_book.rglob("*") if f.is_file() and f.name != "book.pdf")
    print(f"site: {total / MB:.1f} MB")
    assert total <= SITE_MAX, f"the site is {total / MB:.1f} MB > {SITE_MAX / MB:.0f} MB"
