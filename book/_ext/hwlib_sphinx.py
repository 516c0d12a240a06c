"""Sphinx extension for the offline book: build tooling, not part of ``hwlib`` (which it may import).

Loaded by ``_config.yml`` (``sphinx: local_extensions: {hwlib_sphinx: book/_ext}``, which puts this
folder on ``sys.path``). It

* stops the build before any chapter executes when the data the chapters would read is unusable
  (``HWLIB_DATA``, ``HWLIB_PROFILE``): hwlib's one-line ``error: …`` (the file and the remedy) and
  exit status 2, as ``python -m hwlib`` does — instead of a traceback in a report file under
  hundreds of ``{eval}`` warnings. A relative ``HWLIB_DATA`` is made absolute first, so the chapters
  (whose kernels start in ``book/``) read the file the build checked;
* serves plotly.js (no CDN) only on the pages that hold a Plotly figure: the partial "cartesian"
  bundle of the same plotly.js version (npm's ``plotly.js-cartesian-dist-min``, 1.5 MB, fetched once
  by pooch with a pinned sha256) when it draws every trace type of the page, else the full
  ``plotly.min.js`` (4.8 MB) of the installed ``plotly`` package — also the fallback offline;
* ships only the part of MathJax the pages use (``tex-chtml.js``, the TeX extensions its
  ``autoload`` fetches on demand, the CHTML fonts), taken from ``sphinx-mathjax-offline``'s copy;
* drops what no reader needs: the theme's ``fontawesome.js`` (the theme's CSS already draws the
  icons from the web fonts), source maps, translations of the theme into other languages, and
  ``sphinx-thebe`` (live code via Binder, unused here; Jupyter Book loads it unasked and it
  declared ``THEBE_JS_URL`` twice on every page, an error in the console);
* writes the single-page build (``--builder singlehtml``, for ``make pdf``) to ``index.html``;
* offers each executed chapter as a downloadable ``.ipynb`` in the theme's download menu;
* labels the bibliography as the text cites, author–year ("Bottou, 2010", "Cohen et al., 2017"):
  the ``hwlib-author-year`` pybtex style (``bibtex_default_style`` in ``_config.yml``);
* makes code blocks wrap inside the text column, on screen and in print (``static/hwlib-code.css``),
  each wrapped line hanging under its own indentation (every line of a Pygments block in a
  ``<span class="hwlib-line">``; the text, newlines included, is unchanged);
* makes tables reflow on a phone (``static/hwlib-tables.css``): every body cell of a table with a
  header row carries ``data-label="<its column header>"`` (``label_tables``), and the tables that
  would not fit a 390 px screen, or hold prose, get the class ``hwlib-cards``: under 640 px each of
  their rows is a card, each cell beside (or, with formulas or long prose, under) its label; other
  tables scroll sideways inside their own box, never the page; captions wrap at word boundaries;
* prints cleanly (``static/hwlib-print.css``, ``static/hwlib-print.js``; ``book_pdf.py`` prints the
  single page with them): hidden code cells left out, other ``<details>`` blocks printed open,
  hints such as "(click to open)" in a ``<summary>`` marked screen-only (``screen_only_hints``),
  figures kept on one page, long tables and code allowed to break between rows and lines;
* links the printed book from every page once ``make pdf`` has made it (``link_pdf``): the HTML
  build, when ``_build/pdf/book.pdf`` exists, and ``book_pdf.py``, after printing, copy it to
  ``_build/html/book.pdf`` and add "Download the book as PDF" (N pages, printed <date>) to the
  left sidebar (to the footer on a phone); without a PDF no page links one;
* gives search results their text snippets when the book is opened from a file: browsers refuse
  the ``fetch()`` of each result page that Sphinx's ``searchtools.js`` makes for the snippet, so
  ``search.html`` alone loads ``hwlib/search-pages.js`` (the text of every page's main block,
  written at the end of the build) and ``static/hwlib-search-offline.js``, which answers those
  requests from it under ``file://`` (over http nothing changes).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from sphinx.util import logging

PLOTLY_JS = "hwlib/plotly.min.js"
PLOTLY_PARTIAL_JS = "hwlib/plotly-cartesian.min.js"
# The partial bundle (1.5 MB instead of 4.8 MB) per plotly.js version of the plotly package: npm
# tarball and its sha256. Its trace types, from the package's README:
PARTIAL_PLOTLY = {
    "4.1.1": ("https://registry.npmjs.org/plotly.js-cartesian-dist-min/-/plotly.js-cartesian-dist-min-4.1.1.tgz",
              "c5f9a84666b97e571a04de689e09319869e60900e265c89eac2f71d0b5a0de88"),
}
CARTESIAN_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                              "histogram2dcontour", "image", "pie", "scatter", "scatterternary", "violin"})
_PLOTLY_CALL = re.compile(r"Plotly\.(newPlot|addFrames)\(\s*[\"'][^\"']*[\"']\s*,\s*")
_BUNDLE: dict = {}
logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SEARCH_PAGES_JS = "hwlib/search-pages.js"

# What of MathJax the pages use, relative to its folder: the combined component the page loads,
# the TeX extensions ``autoload`` may fetch for a macro (\boldsymbol, \cancel, ...), and the fonts.
MATHJAX_KEEP = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2")
# The theme's icons come from its CSS + web fonts; this script only re-draws them as SVG.
FONTAWESOME_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
UNNEEDED_STATIC = ("scripts/fontawesome.js", "scripts/fontawesome.js.LICENSE.txt", "locales",
                   "webpack-macros.html", "sbt-webpack-macros.html")


def data_error() -> str | None:
    """hwlib's message when the data the chapters would load is unusable, else None. Cheap: it
    resolves the dataset as ``load_letters()`` does and identifies it (file type, format from the
    first bytes, content sha256, the official checksums for idx files), but never decodes nor
    generates it — deeper faults (labels, pixel range) still fail in the chapters' first cell."""
    from hwlib.data import letters
    from hwlib.errors import HwlibError

    try:
        letters.active_profile()
        letters.identify()
    except HwlibError as e:
        return f"error: {e}"
    return None


def check_data(app, config) -> None:
    """At ``config-inited``, before any notebook executes: on unusable data print hwlib's error line
    and end the build with exit status 2 (nothing is printed for good data)."""
    if getattr(config, "nb_execution_mode", None) == "off":
        return
    from hwlib.data.letters import SYNTHETIC
    data = os.path.expanduser(os.environ.get("HWLIB_DATA") or "")
    if data.strip() and data != SYNTHETIC and not os.path.isabs(data):
        os.environ["HWLIB_DATA"] = os.path.abspath(data)   # as meant here; the kernels start in book/
    line = data_error()
    if line is None:
        return
    if sys.stderr.isatty():
        from sphinx.util.console import bold, red
        line = bold(red(line))
    print(f"\n{line}", file=sys.stderr, flush=True)
    sys.exit(2)


def _plotly_source() -> Path:
    import plotly
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _mathjax_source() -> Path:
    import importlib
    return Path(importlib.import_module("sphinx-mathjax-offline").__file__).parent / "static" / "mathjax"


def _drop_unused_listeners(app, config) -> None:
    """Unhook sphinx-thebe (every hook) and sphinx-mathjax-offline's copy of all of MathJax."""
    for listeners in app.events.listeners.values():
        listeners[:] = [l for l in listeners
                        if getattr(l.handler, "__module__", "") != "sphinx_thebe"
                        and getattr(l.handler, "__name__", "") != "copy_mathjax_files"]
    app.registry.css_files = [(f, kw) for f, kw in app.registry.css_files if f != "sphinx-thebe.css"]


def trace_types(body: str) -> set[str]:
    """The trace types the Plotly figures of a page draw (data and animation frames), read from the
    ``Plotly.newPlot(id, data, …)`` / ``Plotly.addFrames(id, frames)`` calls that plotly writes."""
    dec, types = json.JSONDecoder(), set()
    for m in _PLOTLY_CALL.finditer(body):
        try:
            items, _ = dec.raw_decode(body, m.end())
        except ValueError:
            types.add("?")  # unreadable: the full bundle is the safe choice
            continue
        for it in items if isinstance(items, list) else []:
            traces = it.get("data", []) if m.group(1) == "addFrames" else [it]
            types.update(t.get("type", "scatter") for t in traces if isinstance(t, dict))
    return types


def partial_plotly() -> Path | None:
    """The npm registry's ``plotly.js-cartesian-dist-min`` bundle for the plotly.js version that the
    ``plotly`` package ships, fetched once into the user cache by pooch (sha256-checked); None when
    no bundle is pinned for that version or it cannot be fetched (e.g. offline)."""
    if "partial" in _BUNDLE:
        return _BUNDLE["partial"]
    from plotly.offline import get_plotlyjs_version
    import pooch
    from hwlib.paths import cache_dir
    pinned = PARTIAL_PLOTLY.get(get_plotlyjs_version())
    path = None
    if pinned:
        url, sha = pinned
        try:
            files = pooch.retrieve(url, known_hash=f"sha256:{sha}", path=cache_dir() / "plotly",
                                   processor=pooch.Untar(members=["package/plotly-cartesian.min.js"]),
                                   progressbar=False)
            path = Path(files[0])
        except Exception as e:  # offline, registry down, hash mismatch: the full bundle still works
            logger.info(f"hwlib: partial plotly.js bundle unavailable ({e}); figure pages load the full "
                        "plotly.min.js")
    _BUNDLE["partial"] = path
    return path


def _plotly_where_needed(app, pagename, templatename, context, doctree) -> None:
    """Add plotly.js to a page with a Plotly figure: the partial bundle when it draws every trace
    type of the page, else the ``plotly`` package's full bundle."""
    body = context.get("body", "")
    if 'class="plotly-graph-div"' not in body:
        return
    if trace_types(body) <= CARTESIAN_TRACES and partial_plotly() is not None:
        app.add_js_file(PLOTLY_PARTIAL_JS)
    else:
        _BUNDLE["full"] = True
        app.add_js_file(PLOTLY_JS)


def copy_mathjax(outdir: Path) -> None:
    src, dest = _mathjax_source(), Path(outdir) / "_static" / "mathjax"
    shutil.rmtree(dest, ignore_errors=True)
    for part in MATHJAX_KEEP:
        if (src / part).is_dir():
            shutil.copytree(src / part, dest / part)
        else:
            (dest / part).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / part, dest / part)


def slim_site(outdir: Path) -> None:
    """Drop the theme's files no page needs; unlink ``fontawesome.js`` from every page."""
    static = Path(outdir) / "_static"
    for name in UNNEEDED_STATIC:
        path = static / name
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    for smap in static.rglob("*.map"):
        smap.unlink()
    for page in Path(outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = FONTAWESOME_TAG.sub("", text)
        if new != text:
            page.write_text(new, encoding="utf-8")


def _finish(app, exc) -> None:
    if exc is not None or app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / PLOTLY_JS
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.unlink(missing_ok=True)
    if _BUNDLE.get("full"):
        shutil.copyfile(_plotly_source(), dest)
    if partial_plotly() is not None:
        shutil.copyfile(partial_plotly(), dest.with_name(Path(PLOTLY_PARTIAL_JS).name))
    copy_mathjax(Path(app.outdir))
    slim_site(Path(app.outdir))
    if app.builder.name == "html":
        write_search_pages(app)
        link_pdf(Path(app.outdir), Path(app.outdir).parent / "pdf" / PDF_NAME)
    if app.builder.name == "singlehtml":
        _singlehtml_at_root(app)


_MAIN_START = (re.compile(r'<(article)\b[^>]*\bclass="[^"]*\bbd-article\b[^>]*>'),   # the theme's text
               re.compile(r'<(article|main|div)\b[^>]*\brole="main"[^>]*>'))          # Sphinx's default
_DROP = re.compile(r'<(script|style)\b.*?</\1\s*>|<a class="headerlink".*?</a>|<!--.*?-->', re.S | re.I)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)([^>]*)>")
_BLOCK = frozenset("address article aside blockquote br dd details div dl dt figcaption figure footer h1 h2 h3 "
                   "h4 h5 h6 header hr li main nav ol p pre section summary table tbody td tfoot th thead tr "
                   "ul".split())
_ID = re.compile(r'\bid="([^"]*)"')


def page_text(html: str) -> str:
    """The text of a built page reduced to what the search snippet needs: the article (not the
    header and contents list around it) inside ``<div role="main">``, which searchtools.js reads,
    its entities kept, with the ``<section id=…>`` elements that anchored results look up;
    scripts, styles, header links and every other tag dropped."""
    m = _MAIN_START[0].search(html) or _MAIN_START[1].search(html)
    if not m:
        return ""
    end = html.find(f"</{m.group(1)}>", m.end())
    body = _DROP.sub(" ", html[m.end():end if end >= 0 else len(html)])

    def tag(t):
        name = t.group(2).lower()
        if name == "section":
            if t.group(1):
                return "</section>"
            i = _ID.search(t.group(3))
            return f'<section id="{i.group(1)}">' if i else "<section>"
        return " " if name in _BLOCK else ""

    text = re.sub(r"[ \t\r\f\v]*\n\s*", "\n", re.sub(r"[ \t]+", " ", _TAG.sub(tag, body)))
    return f'<div role="main">{text.strip()}</div>'


def write_search_pages(app) -> None:
    """``_static/hwlib/search-pages.js``: ``HWLIB_SEARCH_PAGES = {docname: page_text}`` for every
    built page, read back from the written HTML (complete also after an incremental build)."""
    out, pages = Path(app.outdir), {}
    for doc in sorted(app.env.found_docs):
        page = out / f"{doc}{app.builder.out_suffix}"
        if page.is_file():
            pages[doc] = page_text(page.read_text(encoding="utf-8"))
    dest = out / "_static" / SEARCH_PAGES_JS
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(pages, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    dest.write_text(f"window.HWLIB_SEARCH_PAGES = {data};\n", encoding="utf-8")


def _search_offline(app, pagename, templatename, context, doctree) -> None:
    """On the search page only: the page texts and the file:// stand-in for ``fetch()``."""
    if pagename == "search" and app.builder.name == "html":
        app.add_js_file(SEARCH_PAGES_JS)
        app.add_js_file("hwlib-search-offline.js")


_HIGHLIGHT_PRE = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre>)', re.S)


def hang_lines(body: str) -> str:
    """Wrap each line of the Pygments blocks of ``body`` in ``<span class="hwlib-line"
    style="--hang:Nch">`` (N: its leading spaces), so that hwlib-code.css can indent its
    continuation lines; a block whose lines do not each close their own tags is left as it is."""
    import html as _html

    def block(m):
        lines = m.group(2).split("\n")
        if any(l.count("<span") != l.count("</span>") or "<pre" in l for l in lines):
            return m.group(0)
        out = []
        for line in lines:
            text = _html.unescape(re.sub(r"<[^>]*>", "", line))
            if not text.strip():
                out.append(line)
                continue
            hang = len(text) - len(text.lstrip(" "))
            out.append(f'<span class="hwlib-line" style="--hang:{hang}ch">{line}</span>')
        return m.group(1) + "\n".join(out) + m.group(3)

    return _HIGHLIGHT_PRE.sub(block, body)


_TABLE = re.compile(r"(<table\b)([^>]*)(>)(.*?)(</table>)", re.S)
_THEAD = re.compile(r"<thead\b[^>]*>(.*?)</thead>", re.S)
_TBODY = re.compile(r"(<tbody\b[^>]*>)(.*?)(</tbody>)", re.S)
_TR = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
_CELL = re.compile(r"<(t[dh])\b([^>]*)>(.*?)</\1>", re.S)
_CELL_START = re.compile(r"<t[dh]\b([^>]*)>")
_SPAN = re.compile(r'\bcolspan="?(\d+)')
# A table of 3+ columns becomes cards on a phone (static/hwlib-tables.css) when it holds prose (a
# cell of CARD_PROSE characters or more), or when it has at most CARD_ROWS rows and would not fit a
# 390 px screen (the sum over its columns of the longest unbreakable word, ~7.5 px a character + 16
# px padding, over PHONE_COLUMN_PX). Longer numeric grids keep their rows and scroll in their own box.
# Cards of a table with mathematics or long prose (a cell of CARD_STACK characters) put each label
# above its value (class hwlib-stacked), which then has the card's whole width.
CARD_ROWS, CARD_PROSE, CARD_STACK, PHONE_COLUMN_PX = 12, 40, 80, 358


def _cell_text(fragment: str) -> str:
    import html as _html
    return re.sub(r"\s+", " ", _html.unescape(re.sub(r"<[^>]*>", " ", fragment))).strip()


def _column_labels(thead: str) -> list[str]:
    """One label per column: the texts of the header rows above it (colspans spread), distinct
    ones joined with " · "."""
    columns: list[list[str]] = []
    for row in _TR.findall(thead):
        col = 0
        for _tag, attrs, inner in _CELL.findall(row):
            span = int(m.group(1)) if (m := _SPAN.search(attrs)) else 1
            for c in range(col, col + span):
                while len(columns) <= c:
                    columns.append([])
                text = _cell_text(inner)
                if text and text not in columns[c]:
                    columns[c].append(text)
            col += span
    return [" · ".join(parts) for parts in columns]


def _label_table(m: re.Match) -> str:
    import html as _html
    open_, attrs, gt, inner, close = m.groups()
    head, body = _THEAD.search(inner), _TBODY.search(inner)
    if not head or not body or "data-label=" in inner:
        return m.group(0)
    labels = _column_labels(head.group(1))
    rows = _TR.findall(body.group(2))
    cells = [[_cell_text(c[2]) for c in _CELL.findall(r)] for r in rows]
    widest = {}
    for row in [labels] + cells:
        for i, text in enumerate(row):
            word = max((len(w) for w in text.split()), default=0)
            widest[i] = max(widest.get(i, 0), word)
    natural_px = sum(7.5 * n + 16 for n in widest.values())
    longest = max((len(t) for r in cells for t in r), default=0)
    prose = longest >= CARD_PROSE
    cards = len(labels) >= 3 and (prose or (natural_px > PHONE_COLUMN_PX and len(rows) <= CARD_ROWS))

    def label_row(row: re.Match) -> str:
        col = 0

        def label_cell(cell: re.Match) -> str:
            nonlocal col
            cattrs = cell.group(1)
            label = labels[col] if col < len(labels) else ""
            col += int(s.group(1)) if (s := _SPAN.search(cattrs)) else 1
            return f'{cell.group(0)[:-1]} data-label="{_html.escape(label)}">' if label else cell.group(0)

        return _CELL_START.sub(label_cell, row.group(0))

    new_body = body.group(1) + _TR.sub(label_row, body.group(2)) + body.group(3)
    inner = inner[:body.start()] + new_body + inner[body.end():]
    if cards:
        stacked = longest >= CARD_STACK or 'class="math' in body.group(2)
        classes = "hwlib-cards hwlib-stacked" if stacked else "hwlib-cards"
        if re.search(r'\bclass="', attrs):
            attrs = re.sub(r'\bclass="', f'class="{classes} ', attrs, count=1)
        else:
            attrs += f' class="{classes}"'
    return open_ + attrs + gt + inner + close


def label_tables(body: str) -> str:
    """Give every cell of a table with a header row ``data-label="<its column's header>"``, and the
    tables that would not fit a phone's width (or hold prose) the class ``hwlib-cards``: under
    640 px static/hwlib-tables.css shows each of their rows as a card, each cell beside its label."""
    return _TABLE.sub(_label_table, body)


_SUMMARY = re.compile(r"(<summary\b[^>]*>)(.*?)(</summary>)", re.S)
_SCREEN_HINT = re.compile(r"\s*\((?:click|tap) to (?:open|expand|show)[^()<]*\)", re.I)
# in the prose, an instruction for a toggle that print omits or opens: "(click <em>Show code cell
# source</em>)", "(open the block to see all of them)"
_PROSE_HINT = re.compile(r"\s*\((?:(?:click|tap)\s+<em>[^<]*</em>|open the (?:block|toggle)\b[^()<]*)\)", re.I)


def screen_only_hints(body: str) -> str:
    """Put the hints meant for the screen in a ``<span class="hwlib-screen-only">``, which print
    leaves out: "(click to open)" in a ``<summary>`` (print shows the block open) and a
    parenthesis of the prose that says to click a toggle, e.g. "(click *Show code cell source*)"
    (print omits the hidden code cells and their toggles) or "(open the block to see all of them)"."""
    def screen_only(h):
        return f'<span class="hwlib-screen-only">{h.group(0)}</span>'

    def summary(m):
        return m.group(1) + _SCREEN_HINT.sub(screen_only, m.group(2)) + m.group(3)
    body = _SUMMARY.sub(summary, body) if "<summary" in body else body
    return _PROSE_HINT.sub(screen_only, body)


PDF_NAME = "book.pdf"                   # beside index.html in the HTML output
_PDF_LINK = re.compile(r'\s*<div class="hwlib-pdf-link[^"]*">.*?</div><!-- /hwlib-pdf-link -->', re.S)
# where the link goes: the end of the left sidebar (on a phone, the menu) and the page's footer
# (shown only where the sidebar is not, static/hwlib-print.css)
_PDF_PLACES = (re.compile(r'(<div class="sidebar-primary-items__end[^"]*">)'),
               re.compile(r'(<div class="bd-footer-content__inner[^"]*">)'))


def link_pdf(html_dir: Path, pdf: Path | None) -> int:
    """Offer the printed book on every page of the HTML output ``html_dir``: copy ``pdf``
    (``make pdf``'s ``_build/pdf/book.pdf``) to ``html_dir/book.pdf`` and add "Download the book as
    PDF" (N pages, printed <date>) at the end of the left sidebar and, where the sidebar is hidden
    (a phone), in the page's footer, linking it relatively. With ``pdf`` None or missing, remove the copy and the links: no page ever links a
    PDF that is not there. Idempotent; returns the number of pages that link the PDF.

    The HTML build calls it when it finishes (with ``_build/pdf/book.pdf`` if that exists) and
    ``book_pdf.py`` after printing, so the pages link the PDF as soon as ``make pdf`` made one."""
    import datetime as _dt
    import html as _html
    html_dir = Path(html_dir)
    dest = html_dir / PDF_NAME
    have = pdf is not None and Path(pdf).is_file()
    if have:
        if Path(pdf).resolve() != dest.resolve():
            shutil.copyfile(pdf, dest)
        try:
            from pypdf import PdfReader
            n = len(PdfReader(dest).pages)
            pages = f"{n} page{'s' if n != 1 else ''}, "
        except Exception:                 # pypdf missing or the file unreadable: no count
            pages = ""
        when = _dt.datetime.fromtimestamp(Path(pdf).stat().st_mtime, _dt.timezone.utc).strftime("%Y-%m-%d")
        note = f"{pages}printed {when}"
    else:
        dest.unlink(missing_ok=True)
    linked = 0
    for page in sorted(html_dir.rglob("*.html")):
        if "_static" in page.relative_to(html_dir).parts:
            continue
        text = page.read_text(encoding="utf-8")
        new = _PDF_LINK.sub("", text)
        if have and _PDF_PLACES[0].search(new):
            rel = "../" * (len(page.relative_to(html_dir).parts) - 1) + PDF_NAME
            for place, where in zip(_PDF_PLACES, ("sidebar-primary-item", "footer-item")):
                link = (f'\n<div class="hwlib-pdf-link {where}"><a class="reference" href="{rel}" '
                        f'title="The whole book as one PDF, printed by make pdf">'
                        f'<i class="fa-solid fa-file-pdf"></i> Download the book as PDF</a> '
                        f'<span class="hwlib-pdf-note">{_html.escape(note)}</span></div><!-- /hwlib-pdf-link -->')
                new = place.sub(lambda m: m.group(1) + link, new, count=1)
            linked += 1
        if new != text:
            page.write_text(new, encoding="utf-8")
    return linked


def _add_static(app, config) -> None:
    if str(STATIC) not in config.html_static_path:
        config.html_static_path = [*config.html_static_path, str(STATIC)]


def _singlehtml_at_root(app) -> None:
    """The single page links its assets relative to the output folder, but Sphinx writes it to
    ``<root_doc>.html`` (here ``book/intro.html``, one folder down): put it at ``index.html``."""
    out = Path(app.outdir)
    page = out / f"{app.config.root_doc}.html"
    if page.parent != out and page.is_file():
        page.replace(out / "index.html")
        if not any(page.parent.iterdir()):
            page.parent.rmdir()


def author_year_label(entry) -> str:
    """"Bottou, 2010", "Dalal and Triggs, 2005", "Cohen et al., 2017": as the text's citations read."""
    from pybtex.richtext import Text
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [Text.from_latex(" ".join(p.prelast_names + p.last_names)).render_as("text") for p in persons]
    who = (last[0] if len(last) == 1 else " and ".join(last) if len(last) == 2
           else f"{last[0]} et al." if last else entry.fields.get("title", entry.key))
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


def _register_bib_style() -> None:
    from pybtex.plugin import register_plugin
    from pybtex.style.formatting.unsrt import Style as UnsrtStyle
    from pybtex.style.labels import BaseLabelStyle

    class AuthorYearLabels(BaseLabelStyle):
        def format_labels(self, sorted_entries):
            labels = [author_year_label(e) for e in sorted_entries]
            for i, label in enumerate(labels):     # same authors and year: 2010a, 2010b
                same = [j for j, other in enumerate(labels) if other == label]
                yield label + ("abcdefghijklmnopqrstuvwxyz"[same.index(i)] if len(same) > 1 else "")

    class AuthorYearStyle(UnsrtStyle):
        default_label_style = "hwlib-author-year"
        default_sorting_style = "author_year_title"

    register_plugin("pybtex.style.labels", "hwlib-author-year", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "hwlib-author-year", AuthorYearStyle)


def _ipynb_download(app, pagename, templatename, context, doctree) -> None:
    """Copy the executed notebook of a MyST-notebook page into ``_sources`` and link it."""
    nb = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not nb.is_file() or context.get("ipynb_source"):
        return
    dest = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(nb, dest)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(0, {
                "type": "link", "url": f"{context['pathto']('_sources', 1)}/{pagename}.ipynb",
                "text": ".ipynb", "icon": "fas fa-code", "tooltip": "Download notebook file",
                "label": "download-notebook-button"})


def _on_body(rewrite):
    """An ``html-page-context`` handler that passes the page's body through ``rewrite``."""
    def handler(app, pagename, templatename, context, doctree) -> None:
        if "body" in context:
            context["body"] = rewrite(context["body"])
    return handler


def setup(app):
    _register_bib_style()
    app.connect("config-inited", check_data, priority=100)
    app.connect("config-inited", _drop_unused_listeners, priority=900)
    app.connect("html-page-context", _plotly_where_needed)
    app.connect("build-finished", _finish)
    app.connect("html-page-context", _ipynb_download, priority=600)
    app.connect("config-inited", _add_static)
    app.connect("html-page-context", _search_offline)
    for rewrite in (hang_lines, label_tables, screen_only_hints):     # each page's HTML, rewritten in turn
        app.connect("html-page-context", _on_body(rewrite))
    app.add_css_file("hwlib-code.css")
    app.add_css_file("hwlib-tables.css")
    app.add_css_file("hwlib-print.css")
    app.add_js_file("hwlib-print.js")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
