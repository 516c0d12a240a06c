"""``make pdf``: the whole book as one PDF, printed by headless Chromium from the single-page build.

The single-page build reuses the execution cache of the session's HTML build (``built_book``); the
PDF's text must hold every chapter's title and the numbers of the recorded runs as the chapters
print them, typeset math and drawn figures included. As a book (issue 23, item 6): every page is
numbered, the outline (bookmarks) holds every chapter, the contents list gives each chapter's page,
and no UI of the web page is printed ("Show code cell source", "(click to open)").
"""
from __future__ import annotations

import os
import re
import sys
import unicodedata

import pytest
import yaml

from conftest import REPO

sys.path.insert(0, str(REPO / "book" / "_ext"))   # the printer lives beside the book (make pdf runs it there)
import book_pdf as printer  # noqa: E402

pytestmark = [pytest.mark.book, pytest.mark.browser]


def _titles() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    titles = []
    for page in [toc["root"]] + [c["file"] for c in toc["chapters"]]:
        heading = next(l for l in (REPO / f"{page}.md").read_text().splitlines() if l.startswith("# "))
        titles.append(heading[2:].strip())
    return titles


def _normal(text: str) -> str:
    """Ligatures (ﬁ) unfolded, typographic quotes made plain, line breaks and runs of spaces single."""
    text = unicodedata.normalize("NFKC", text).translate(str.maketrans("‘’“”", "''\"\""))
    return re.sub(r"\s+", " ", text)


@pytest.fixture(scope="module")
def book_pdf(built_book, browser, tmp_path_factory):
    pypdf = pytest.importorskip("pypdf")

    env = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}   # as built_book built
    html = printer.build_singlehtml(built_book.parent.parent, env=env)
    out = printer.print_pdf(html, tmp_path_factory.mktemp("pdf") / "book.pdf", browser=browser)
    reader = pypdf.PdfReader(out)
    return out, len(reader.pages), _normal("\n".join(p.extract_text() for p in reader.pages))


@pytest.fixture(scope="module")
def pdf_pages(book_pdf):
    """The text of each page of the PDF, normalised as ``_normal`` does."""
    import pypdf
    return [_normal(p.extract_text()) for p in pypdf.PdfReader(book_pdf[0]).pages]


def test_pdf_has_every_chapter_title(book_pdf):
    out, pages, text = book_pdf
    assert pages > 20, f"{out}: only {pages} pages"
    missing = [t for t in _titles() if _normal(t) not in text]
    assert not missing, f"chapter titles not in the PDF: {missing}"


def test_pdf_prints_the_recorded_numbers(book_pdf, monkeypatch):
    """Q1.1's test accuracy, read from the record with hwlib's loader and formatted as the chapter
    formats it ({glue:text}`perc_test:.1%`), is in the PDF; display math is typeset, not TeX source
    (the code listings do hold TeX strings, so only the delimiters MathJax replaces are looked for)."""
    from hwlib.data import dataset_slug
    from hwlib.experiments import results
    from hwlib.report import q1

    for var in ("HWLIB_RESULTS", "HWLIB_CACHE"):      # the build's view: the repository's results
        monkeypatch.delenv(var, raising=False)
    recs = results.load_all("q1.perceptron", dataset_slug(), "full", root=REPO / "results")
    test_acc = q1.record(recs, "perceptron")["summary"]["test_acc"]
    _, _, text = book_pdf
    assert f"test accuracy of that checkpoint {test_acc:.1%}" in text
    assert "\\[" not in text and "\\(" not in text, "untypeset math (Sphinx's \\[ \\( delimiters) in the PDF"


def test_pdf_has_an_outline_of_every_chapter(book_pdf):
    """Bookmarks: one entry per heading, nested, titled as the page reads (Chromium's titles lose
    the spaces at line ends and repeat wrapped lines; book_pdf.retitle_outline mends them), each
    pointing at a page; every chapter title is among them, in reading order."""
    out, pages, _ = book_pdf
    marks = printer.outline(out)
    assert len(marks) > 20 and max(depth for depth, _, _ in marks) >= 2, marks[:10]
    titles = [_normal(t) for _, t, _ in marks]
    missing = [t for t in _titles() if _normal(t) not in titles]
    assert not missing, f"chapters without a bookmark: {missing}\n{titles}"
    chapter_pages = [marks[titles.index(_normal(t))][2] for t in _titles()[1:]]
    assert chapter_pages == sorted(chapter_pages) and all(1 <= p <= pages for p in chapter_pages), chapter_pages


def test_pdf_pages_are_numbered(pdf_pages):
    """The footer of every page reads "n / N"."""
    n = len(pdf_pages)
    unnumbered = [i for i, text in enumerate(pdf_pages, 1) if not re.search(rf"(?<!\d){i} / {n}(?!\d)", text)]
    assert not unnumbered, f"pages without 'n / {n}' in the footer: {unnumbered[:20]}"


def test_pdf_contents_list_gives_each_chapter_its_page(book_pdf, pdf_pages):
    """The contents list at the front names every chapter with the page its bookmark points to."""
    out, _, _ = book_pdf
    marks = {_normal(t): page for _, t, page in printer.outline(out)}
    front = " ".join(pdf_pages[:3])
    assert "Contents" in front
    wrong = []
    for title in _titles()[1:]:
        page = marks.get(_normal(title))
        if page is None or not re.search(re.escape(_normal(title)) + rf"[ .]*{page}(?!\d)", front):
            wrong.append(f"{title!r} (bookmark: page {page})")
    assert not wrong, "contents entries without their page: " + "; ".join(wrong) + f"\n{front[:3000]}"


def test_pdf_prints_no_ui_labels(book_pdf):
    """No toggle label ("Show code cell source", 42 of them on the web pages) nor hint for a click
    is printed: hidden code cells are left out, <details> blocks printed open without their hint."""
    _, _, text = book_pdf
    for label in ("Show code cell", "Hide code cell", "click to open", "Click to show"):
        assert label.lower() not in text.lower(), f"{label!r} printed: …{text[max(0, text.lower().find(label.lower()) - 200):][:400]}…"


def test_print_layout_in_the_browser(built_book, browser):
    """The single page as book_pdf prepares it for print: every <details> block but the hidden code
    cells open, the hidden code cells not displayed, no Plotly figure wider than its column."""
    html = built_book.parent.parent / "_build" / "singlehtml" / "index.html"
    if not html.is_file():
        pytest.skip("no single-page build (the book_pdf fixture makes one)")
    ctx = browser.new_context(viewport={"width": printer.PRINT_WIDTH_PX, "height": 1000})
    ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:", "about:"))
              else r.abort())
    page = ctx.new_page()
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.plotly-graph-div'))
                               .every(g => g._fullLayout && g.querySelector('.main-svg'))""", timeout=120_000)
    page.emulate_media(media="print")
    page.evaluate(printer.PREPARE_JS)
    got = page.evaluate("""() => ({
      closed: Array.from(document.querySelectorAll('details:not(.above-input)')).filter(d => !d.open).length,
      code_toggles_shown: Array.from(document.querySelectorAll('details.above-input')).filter(d => d.getClientRects().length).length,
      code_toggles: document.querySelectorAll('details.above-input').length,
      wide_figures: Array.from(document.querySelectorAll('.plotly-graph-div')).filter(g =>
          g.getBoundingClientRect().width > g.parentElement.getBoundingClientRect().width + 1).length})""")
    ctx.close()
    assert got["code_toggles"] > 0 and got["code_toggles_shown"] == 0, got
    assert got["closed"] == 0 and got["wide_figures"] == 0, got
