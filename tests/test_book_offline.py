"""The built book: every chapter present, downloadable as .ipynb, and readable offline.

Builds once per session (``built_book`` in conftest: full profile, recorded results, -W). The browser
checks open pages from file:// in headless Chromium with every non-file request blocked.
"""
from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO, open_offline

pytestmark = pytest.mark.book


def _pages() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for c in toc["chapters"]]


def test_every_toc_page_is_built_with_local_assets_only(built_book):
    for page in _pages():
        html = (built_book / f"{page}.html").read_text()
        # no script or stylesheet from the network
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
        assert not remote, f"{page}.html loads {remote}"
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert any((built_book / "_static" / "hwlib" / f).is_file()
               for f in ("plotly.min.js", "plotly-cartesian.min.js"))


def test_notebook_chapters_are_downloadable_as_ipynb(built_book):
    import json
    for page in _pages():
        src = (REPO / f"{page}.md").read_text()
        if not src.startswith("---\njupytext:"):
            continue
        nb = built_book / "_sources" / f"{page}.ipynb"
        assert nb.is_file(), f"no {nb}"
        assert json.loads(nb.read_text())["cells"], nb
        assert f"{page.split('/')[-1]}.ipynb" in (built_book / f"{page}.html").read_text()


def test_data_page_offline_in_chromium(built_book, browser):
    page, blocked = open_offline(browser, (built_book / "book" / "data.html").as_uri())
    assert blocked == [], f"requests left the machine: {blocked}"
    imgs = page.eval_on_selector_all("main img", "els => els.map(e => [e.naturalWidth, e.src])")
    assert len(imgs) >= 4 and all(w > 0 for w, _ in imgs), imgs
    assert "synthetic" in page.inner_text("main").lower() or "emnist" in page.inner_text("main").lower()


def test_math_renders_offline(built_book, browser):
    """Some page with display math: MathJax (served locally) must have typeset it."""
    for p in _pages():
        html = (built_book / f"{p}.html").read_text()
        if 'class="math' in html:
            page, blocked = open_offline(browser, (built_book / f"{p}.html").as_uri())
            page.wait_for_selector("mjx-container", timeout=15000)
            assert page.locator("mjx-container").count() > 0
            assert blocked == [], f"requests left the machine from {p}: {blocked}"
            return
    pytest.skip("no page with math in the book yet")


def _page_text(path) -> str:
    """The visible text of a built page: tags dropped, entities decoded."""
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_chapters_show_the_code_that_ran(built_book):
    """Q1 and Q2 show the readable models where their questions ask for them, taken from the
    package source at build time: every line of each object's source is on the page, in order."""
    import inspect

    from hwlib.models.common import Classifier
    from hwlib.models.ffn import FFN, train_step
    from hwlib.models.linear import LogisticRegression, Perceptron
    from hwlib.models.mlp import MLP

    shown = {"q1": [Perceptron, Classifier.train_epoch, LogisticRegression.gradient, LogisticRegression.update,
                    MLP.forward, MLP.backward, MLP.update],
             "q2": [FFN.__init__, FFN.forward, train_step]}
    for page, objs in shown.items():
        text = _page_text(built_book / "book" / f"{page}.html")
        for obj in objs:
            pos = 0
            for line in (l.strip() for l in inspect.getsource(obj).splitlines()):
                if line:
                    found = text.find(line, pos)
                    assert found >= 0, f"{page}.html does not show {obj.__qualname__}: missing {line!r}"
                    pos = found + len(line)
