"""Every page of the built book as a reader meets it, in headless Chromium from file://, offline:

* no display equation is wider than the text column, on a desktop (1280 px) and a phone (390 px);
* on a phone (390 px) tables reflow: no table is wider than the screen, every verdict is on screen
  without sideways scrolling (narrow tables become cards), captions wrap, the page never scrolls sideways;
* the console stays clean: no error message, no uncaught exception, no request leaving the machine,
  no local file missing (MathJax's lazily loaded TeX extensions included);
* no page names a path of the machine that built it; the bibliography's labels read as the text cites.

``HWLIB_BOOK_HTML=<dir>`` reuses an already built ``_build/html`` (see ``built_book``).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO

WIDTHS = (1280, 390)


def _pages(html: Path) -> list[Path]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    pages = [html / f"{p}.html" for p in [toc["root"]] + [c["file"] for c in toc["chapters"]]]
    return pages + [p for p in (html / "search.html",) if p.is_file()]


def _open(browser, url: str, width: int):
    """Open ``url`` at ``width`` px with every non-file request blocked; record console errors,
    uncaught exceptions, blocked requests and failed (e.g. missing) local files."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    log = {"console": [], "pageerror": [], "blocked": [], "failed": []}

    def route(r):
        if r.request.url.startswith(("file://", "data:", "blob:", "about:")):
            r.continue_()
        else:
            log["blocked"].append(r.request.url)
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["pageerror"].append(str(e)))
    page.on("requestfailed", lambda r: log["failed"].append(r.url) if r.url.startswith("file://") else None)
    page.goto(url, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_timeout(500)
    return page, log


def _overflows(built_book, browser, js: str, media: tuple, pause_ms: int, say) -> list[str]:
    """Every element ``js`` reports on every page, at each of ``WIDTHS`` and each ``media``, in words."""
    out = []
    for path in _pages(built_book):
        page, _ = _open(browser, path.as_uri(), WIDTHS[0])
        for m in media:
            page.emulate_media(media=m)
            for width in _each_width(page, pause_ms=pause_ms):
                out += [f"{path.name} @ {width}px ({m}): {say(e)}" for e in page.evaluate(js)]
        page.context.close()
    return out


def _each_width(page, pause_ms: int = 300):
    """Set ``page`` to each of ``WIDTHS`` in turn, yielding the width once the layout settled."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(pause_ms)
        yield width


# For each display equation: its rendered width (the mjx-math box, not the container, which
# MathJax or the theme may make scrollable) against the width of the column that holds it.
_OVERFLOW_JS = """() => {
  const column = document.querySelector('main article') || document.querySelector('main') || document.body;
  const col = column.getBoundingClientRect();
  return Array.from(document.querySelectorAll('mjx-container[display="true"]')).map(c => {
    const m = c.querySelector('mjx-math').getBoundingClientRect();
    const box = c.parentElement.getBoundingClientRect();
    return {tex: (c.closest('.math') || c).textContent.slice(0, 80), width: Math.round(m.width),
            room: Math.round(Math.min(box.width, col.width)),
            outside: Math.round(Math.max(col.left - m.left, m.right - col.right, 0))};
  }).filter(e => e.width > e.room + 1 || e.outside > 1);
}"""


@pytest.mark.browser
def test_display_math_fits_the_column(built_book, browser):
    too_wide = _overflows(built_book, browser, _OVERFLOW_JS, ("screen",), 300,
                          lambda e: f"{e['width']} px of math in {e['room']} px ({e['outside']} px outside the "
                                    f"column): {e['tex']!r}")
    assert not too_wide, "display math wider than its column:\n" + "\n".join(too_wide)


@pytest.mark.browser
def test_every_page_has_a_clean_console(built_book, browser):
    problems = []
    for path in _pages(built_book):
        page, log = _open(browser, path.as_uri(), WIDTHS[0])
        problems += [f"{path.name}: {kind}: {what}" for kind, items in log.items() for what in items]
        page.context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.browser
def test_mathjax_lazy_extensions_are_shipped(built_book, browser):
    """Macros that MathJax's autoload fetches on first use (\\boldsymbol, \\cancel, \\cases-like
    environments of mathtools) typeset offline: the trimmed MathJax still has them."""
    page, log = _open(browser, (built_book / "book" / "q3.html").as_uri(), WIDTHS[0])
    out = page.evaluate("""() => MathJax.tex2chtmlPromise(
        '\\\\boldsymbol{x} + \\\\cancel{y} + \\\\bbox[2px]{z} + \\\\mathclap{w} + \\\\color{red}{v}',
        {display: true}).then(n => n.outerHTML)""")
    page.context.close()
    assert "mjx-merror" not in out and "mjx-math" in out, out[:500]
    assert not log["failed"] and not log["console"] and not log["pageerror"], log


@pytest.mark.book
def test_no_page_names_a_machine_path(built_book):
    home = str(Path.home())
    for page in sorted(built_book.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for path in {str(REPO), home, str(built_book.parent.parent)}:
            assert not re.search(re.escape(path) + r"(?=[/\"'<\s])", text), f"{page.name} shows {path}"


@pytest.mark.book
def test_bibliography_labels_read_as_cited(built_book):
    refs = (built_book / "book" / "references.html").read_text(encoding="utf-8")
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]+)<', refs)
    assert labels, "no bibliography labels found"
    assert all(re.fullmatch(r"[^\W\d].*, \d{4}[a-z]?", label) for label in labels), labels
    assert "Bottou, 2010" in labels and "Cohen et al., 2017" in labels
    assert "$" not in re.sub(r"<script.*?</script>", "", refs, flags=re.S), "unrendered TeX in references"
    q1 = (built_book / "book" / "q1.html").read_text(encoding="utf-8")
    assert ">Bottou, 2010<" in q1


_PROSE_JS = """() => {
  const main = (document.querySelector('article') || document.body).cloneNode(true);
  main.querySelectorAll('mjx-container, script, style, pre, code, .highlight, .plotly-graph-div')
      .forEach(e => e.remove());
  return main.textContent;
}"""
_TEX = re.compile(r"\\[A-Za-z]{2,}|\$")


@pytest.mark.browser
def test_no_latex_outside_math_in_the_prose(built_book, browser):
    """After MathJax has typeset a page, its text (outside code and figures) holds no TeX source:
    no control word such as \\mathbf and no $ — e.g. a line starting with "+ 2c" that Markdown
    took for a list item would leave its formula raw."""
    raw = []
    for path in _pages(built_book):
        page, _ = _open(browser, path.as_uri(), WIDTHS[0])      # MathJax has typeset the page
        text = page.evaluate(_PROSE_JS)
        raw += [f"{path.name}: …{text[max(0, m.start() - 60):m.end() + 40]!r}…" for m in _TEX.finditer(text)]
        page.context.close()
    assert not raw, "TeX outside math:\n" + "\n".join(raw[:20])


# For each visible code block (<pre>): its content width against its own box, and its box against
# the text column (the article), which it must neither exceed nor stick out of.
_CODE_OVERFLOW_JS = """() => {
  const column = document.querySelector('main article') || document.querySelector('main') || document.body;
  const col = column.getBoundingClientRect();
  return Array.from(document.querySelectorAll('pre')).filter(p => p.getClientRects().length).map(p => {
    const r = p.getBoundingClientRect();
    return {code: p.textContent.slice(0, 60), scroll: p.scrollWidth, client: p.clientWidth,
            width: Math.round(r.width), column: Math.round(col.width),
            outside: Math.round(Math.max(col.left - r.left, r.right - col.right, 0))};
  }).filter(e => e.scroll > e.client + 1 || e.width > e.column + 1 || e.outside > 1);
}"""


@pytest.mark.browser
def test_code_blocks_wrap_inside_the_column(built_book, browser):
    """Code cells, their outputs and literal blocks wrap their long lines (book/_ext/static/
    hwlib-code.css): no <pre> scrolls sideways or is wider than the text column, on a desktop and a
    phone, on screen and as printed (``make pdf``), where a scrolled line would be cut off."""
    too_wide = _overflows(built_book, browser, _CODE_OVERFLOW_JS, ("screen", "print"), 200,
                          lambda e: f"<pre> of {e['scroll']} px content in {e['client']} px, box {e['width']} px "
                                    f"in a {e['column']} px column ({e['outside']} px outside): {e['code']!r}")
    assert not too_wide, "code blocks wider than the column:\n" + "\n".join(too_wide)


@pytest.mark.browser
def test_search_from_a_file_shows_snippets(built_book, browser):
    """search.html opened from file:// lists the pages with a text snippet each (served from
    _static/hwlib/search-pages.js, since browsers refuse fetch() on file:// URLs), and the console
    stays clean: no refused fetch, no uncaught "Failed to fetch"."""
    page, log = _open(browser, (built_book / "search.html").as_uri() + "?q=perceptron", WIDTHS[0])
    page.wait_for_function("""() => {
        const items = document.querySelectorAll('#search-results li');
        return items.length > 0 && /finished/i.test(document.querySelector('#search-results').textContent)
            && document.querySelectorAll('#search-results li p.context').length === items.length;
    }""", timeout=20000)
    page.wait_for_timeout(300)
    results = page.evaluate("""() => Array.from(document.querySelectorAll('#search-results li')).map(li => ({
        title: li.querySelector('a').textContent, snippet: li.querySelector('p.context').textContent}))""")
    page.context.close()
    assert any(r["title"].startswith("Question 1") for r in results), results
    assert all(r["snippet"].strip() for r in results), results
    assert any("perceptron" in r["snippet"].lower() for r in results), results
    assert not any(log.values()), log


def test_code_line_spans_and_search_text_keep_the_text():
    """The build-time rewrites behind the two checks above, without a build: hang_lines wraps each
    line of a Pygments block and changes none of its text; page_text keeps an article's text and
    section ids and drops scripts, header links and the page around the article."""
    import html as _html
    import sys
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    from hwlib_sphinx import hang_lines, page_text

    block = ('<div class="highlight"><pre><span></span><span class="k">for</span> x <span class="ow">in</span> y:\n'
             '    <span class="n">f</span>(x, &quot;a&quot;)\n\n</pre></div>')
    out = hang_lines(block)
    assert out.count('class="hwlib-line"') == 2 and 'style="--hang:4ch"' in out
    strip = lambda s: _html.unescape(re.sub(r"<[^>]*>", "", s))
    assert strip(out) == strip(block)
    page = ('<main role="main"><nav>Contents</nav><article class="bd-article"><section id="s-1"><h1>Title'
            '<a class="headerlink" href="#s-1">#</a></h1><p>The <em>perceptron</em> &amp; more</p>'
            '<script>var x = 1;</script></section></article></main>')
    text = page_text(page)
    assert text.startswith('<div role="main"><section id="s-1">') and "</section>" in text
    assert "perceptron &amp; more" in text and "Contents" not in text and "var x" not in text
    assert "#" not in strip(text)


PHONE = 390
# At 390 px: the page's own sideways scroll, and every visible table, caption and verdict cell (a cell
# labelled with a "verdict" column header) whose box leaves the screen or whose content is wider
# than its box; and, per card table, its cells whose content overflows the card.
_PHONE_TABLES_JS = """() => {
  const vw = document.documentElement.clientWidth, out = [];
  const off = r => r.left < -1 || r.right > vw + 1;
  const name = e => (e.closest('table') && e.closest('table').className || '') + ' ' + e.textContent.trim().slice(0, 50);
  document.querySelectorAll('article table').forEach(t => {
    if (!t.getClientRects().length) return;
    const r = t.getBoundingClientRect();
    if (off(r)) out.push(`table ${Math.round(r.left)}..${Math.round(r.right)} px: ${name(t)}`);
    const cap = t.querySelector('caption');
    if (cap && (off(cap.getBoundingClientRect()) || cap.scrollWidth > cap.clientWidth + 1))
      out.push(`caption cut (${cap.scrollWidth} px in ${cap.clientWidth}): ${name(cap)}`);
    if (t.classList.contains('hwlib-cards'))
      t.querySelectorAll('td, th').forEach(c => {
        if (c.getClientRects().length && c.scrollWidth > c.clientWidth + 1)
          out.push(`card cell ${c.dataset.label}: ${c.scrollWidth} px in ${c.clientWidth}: ${name(c)}`);
      });
  });
  const verdicts = Array.from(document.querySelectorAll('article td[data-label]'))
      .filter(c => /verdict/i.test(c.dataset.label));
  verdicts.forEach(c => {
    const r = c.getBoundingClientRect();
    if (off(r) || c.scrollWidth > c.clientWidth + 1) out.push(`verdict off screen (${Math.round(r.left)}..${Math.round(r.right)} px): ${name(c)}`);
  });
  const page = document.scrollingElement.scrollWidth;
  if (page > vw + 1) out.push(`the page scrolls sideways: ${page} px in ${vw}`);
  return {problems: out, verdicts: verdicts.length};
}"""


@pytest.mark.browser
def test_tables_reflow_on_a_phone(built_book, browser):
    """At 390 × 844 (issue 23, item 3): the intro's and Q3's verdicts are on screen without sideways
    scrolling (tables too wide for a phone show each row as a card, each cell labelled with its
    column header: book/_ext/static/hwlib-tables.css), no table is wider than the screen (long
    numeric grids scroll inside their own box), captions wrap, and no page scrolls sideways."""
    problems, verdicts = [], {}
    for name in ("intro", "errata", "q3"):
        path = built_book / "book" / f"{name}.html"
        page, _ = _open(browser, path.as_uri(), PHONE)
        page.set_viewport_size({"width": PHONE, "height": 844})
        page.wait_for_timeout(300)
        got = page.evaluate(_PHONE_TABLES_JS)
        problems += [f"{name}.html: {p}" for p in got["problems"]]
        verdicts[name] = got["verdicts"]
        page.context.close()
    assert not problems, "at 390 px:\n" + "\n".join(problems)
    assert verdicts["intro"] >= 5 and verdicts["q3"] >= 5, f"verdict cells found: {verdicts}"


def test_table_cells_are_labelled_with_their_headers():
    """hwlib_sphinx.label_tables, without a build: each body cell gets its column's header as
    data-label (colspans spread), a table with prose becomes cards, a long numeric grid does not,
    a table without a header row is left as it is."""
    import sys
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    from hwlib_sphinx import label_tables

    prose = ('<table class="table headline"><caption>c</caption><thead><tr><th>question</th><th>what</th>'
             '<th>verdict</th></tr></thead><tbody><tr><td>Q1</td><td>perceptron, test accuracy</td>'
             '<td>not compared: the levels are on different data &amp; splits</td></tr></tbody></table>')
    out = label_tables(prose)
    assert 'class="hwlib-cards table headline"' in out
    assert '<td data-label="question">Q1</td>' in out and 'data-label="verdict">not compared' in out
    grid = ("<table><thead><tr><th>width</th><th>lr</th><th>dev</th></tr></thead><tbody>"
            + "<tr><td>16</td><td>0.001</td><td>61.2%</td></tr>" * 30 + "</tbody></table>")
    out = label_tables(grid)
    assert "hwlib-cards" not in out and out.count('data-label="dev"') == 30
    spans = ('<table><thead><tr><th colspan="2">ours</th><th>report</th></tr><tr><th>dev</th><th>test</th>'
             '<th>test</th></tr></thead><tbody><tr><th>a</th><td>1</td><td>2</td></tr></tbody></table>')
    out = label_tables(spans)
    assert '<th data-label="ours · dev">a</th>' in out and '<td data-label="report · test">2</td>' in out
    bare = "<table><tbody><tr><td>1</td></tr></tbody></table>"
    assert label_tables(bare) == bare


def test_print_hints_and_the_pdf_link(tmp_path):
    """Without a build: "(click to open)" in a <summary> is marked screen-only (print shows the
    block open); link_pdf copies the PDF beside index.html and links it from every page's sidebar,
    relative to the page, and with no PDF it removes both the copy and the links."""
    import sys
    sys.path.insert(0, str(REPO / "book" / "_ext"))
    from hwlib_sphinx import link_pdf, screen_only_hints

    out = screen_only_hints("<details><summary>All 80 runs: test accuracy (click to open)</summary>t</details>")
    assert out == ('<details><summary>All 80 runs: test accuracy<span class="hwlib-screen-only"> (click to open)'
                   '</span></summary>t</details>')
    prose = "<p>The other code cells (click <em>Show code cell source</em>) show it.</p>"
    assert screen_only_hints(prose) == ('<p>The other code cells<span class="hwlib-screen-only"> (click <em>Show '
                                        'code cell source</em>)</span> show it.</p>')
    prose = "<p>The same runs (open the block to see all of them):</p><p>(open questions)</p>"
    assert screen_only_hints(prose) == ('<p>The same runs<span class="hwlib-screen-only"> (open the block to see '
                                        'all of them)</span>:</p><p>(open questions)</p>')

    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    page = ('<html><body><div class="sidebar-primary-items__end sidebar-primary__section">\n</div>'
            '<footer><div class="bd-footer-content__inner container">\n</div></footer></body></html>')
    for name in ("book/intro.html", "search.html"):
        (html / name).write_text(page)
    pdf = tmp_path / "pdf" / "book.pdf"
    pdf.parent.mkdir()
    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    writer.write(pdf)
    assert link_pdf(html, pdf) == 2
    assert (html / "book.pdf").read_bytes() == pdf.read_bytes()
    intro, search = (html / "book/intro.html").read_text(), (html / "search.html").read_text()
    assert 'href="../book.pdf"' in intro and 'href="book.pdf"' in search
    assert intro.count("Download the book as PDF") == 2 and "1 page, printed " in intro   # sidebar, footer
    assert link_pdf(html, pdf) == 2 and (html / "book/intro.html").read_text().count("Download the book") == 2
    pdf.unlink()
    assert link_pdf(html, pdf) == 0
    assert not (html / "book.pdf").exists() and (html / "book/intro.html").read_text() == page
