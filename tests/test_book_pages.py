"""Every page of the built book as a reader meets it, in headless Chromium from file://, offline:

* no display equation is wider than the text column, on a desktop (1280 px) and a phone (390 px);
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
    too_wide = []
    for path in _pages(built_book):
        page, _ = _open(browser, path.as_uri(), WIDTHS[0])
        for width in _each_width(page):
            too_wide += [f"{path.name} @ {width}px: {e['width']} px of math in {e['room']} px "
                         f"({e['outside']} px outside the column): {e['tex']!r}"
                         for e in page.evaluate(_OVERFLOW_JS)]
        page.context.close()
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
    too_wide = []
    for path in _pages(built_book):
        page, _ = _open(browser, path.as_uri(), WIDTHS[0])
        for media in ("screen", "print"):
            page.emulate_media(media=media)
            for width in _each_width(page, pause_ms=200):
                too_wide += [f"{path.name} @ {width}px ({media}): <pre> of {e['scroll']} px content in "
                             f"{e['client']} px, box {e['width']} px in a {e['column']} px column "
                             f"({e['outside']} px outside): {e['code']!r}"
                             for e in page.evaluate(_CODE_OVERFLOW_JS)]
        page.context.close()
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
