"""``make pdf``: the whole book as one PDF, printed by headless Chromium from the single-page build.

The single-page build reuses the execution cache of the session's HTML build (``built_book``); the
PDF's text must hold every chapter's title and the numbers of the recorded runs as the chapters
print them, typeset math and drawn figures included.
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
