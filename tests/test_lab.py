"""The real use of the chapters: JupyterLab in headless Chromium opens q1.md and q2.md as notebooks
(jupytext's viewer, as ``make lab`` sets it), Run → Run All Cells, and what a reader then sees is
checked: no cell error, no raw MyST role in the prose rendered by jupyterlab-myst, every
``{eval}`` expression evaluated and shown as its value, percentages in the prose, and at least two
visible code cells that call ``fit(``.

A private ``jupyter lab`` (``tests/lab_driver.py``) serves the notebook folder with its own
settings, workspaces, data, runtime and checkpoint folders, autosave off, and is stopped with its
kernels at the end. Nothing is saved: the test fails if the page sends any write to the contents
API. The kernels get ``HWLIB_PROFILE=quick`` and ``OMP_NUM_THREADS=1`` on top of the environment
``make lab`` would see (recorded results are only read; live quick runs go to a temporary folder).

The driver and its checks are first proven on a small MyST notebook written here, and on broken
ones that each check must catch.

Needs Chromium, the playwright package and jupyterlab-myst; otherwise it skips with a one-line reason.
"""
from __future__ import annotations

import time

import pytest

from conftest import REPO
from lab_driver import LabPage, LabServer, myst_installed, problems

pytestmark = pytest.mark.browser

CHAPTER_TIMEOUT_S = 300          # Run All of one chapter (the quick profile trains small models live)
LAB_ENV = {"HWLIB_PROFILE": "quick", "OMP_NUM_THREADS": "1"}

HEADER = """---
jupytext:
  text_representation: {extension: .md, format_name: myst}
kernelspec: {display_name: Python 3, language: python, name: python3}
---
"""

SAMPLES = {
    # what a converted chapter looks like: numbers as {eval}, a citation, a page link, fit( twice
    "sample.md": HEADER + """
# Sample

```{code-cell} ipython3
acc, dev = 0.613, 0.587
def fit(x):
    return x
```

Test accuracy {eval}`f"{acc:.1%}"`, validation {eval}`f"{dev:.1%}"` after {eval}`3 + 2` epochs,
as in [\\[Somebody, 2020\\]](#somekey); see [the other page](other.md).

```{code-cell} ipython3
fit(acc)
```
""",
    # what each check must catch in the prose: a glue role, a failing expression, fit( only in a
    # cell whose input is hidden, no percentage
    "broken_prose.md": HEADER + """
# Broken prose

```{code-cell} ipython3
---
jupyter:
  source_hidden: true
---
acc = 0.5
def fit(x):
    return x
fit(acc)
```

Glued {glue:text}`acc:.1%`, and {eval}`undefined_name`, as {cite:p}`somekey` says.
""",
    # a cell that raises (Run All stops there)
    "broken_cell.md": HEADER + """
# Broken cell

```{code-cell} ipython3
print("progress", file=__import__("sys").stderr)
```

```{code-cell} ipython3
1 / 0
```
""",
}


@pytest.fixture(scope="session")
def lab_ready(browser):
    """The browser, once jupyterlab-myst is known to be installed (else skip, saying how)."""
    reason = myst_installed()
    if reason:
        pytest.skip(reason)
    return browser


def _serve(notebook_dir, home):
    server = LabServer(notebook_dir, home, env=dict(LAB_ENV)).start()
    yield server
    server.stop()          # raises if the server or one of its kernels is still alive


@pytest.fixture(scope="module")
def sample_lab(lab_ready, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab-samples")
    for name, text in SAMPLES.items():
        (folder / name).write_text(text)
    yield from _serve(folder, tmp_path_factory.mktemp("lab-home"))


@pytest.fixture(scope="module")
def book_lab(lab_ready, tmp_path_factory):
    yield from _serve(REPO / "book", tmp_path_factory.mktemp("lab-home"))


def _open(browser, server, name) -> LabPage:
    page = LabPage(browser, server, name)
    shown = page.opened_as()
    assert shown["notebook"] and shown["path"] == name and shown["editors"] == 0, \
        f"{name} did not open as a notebook (the Jupytext viewer): {shown}"
    return page


def _fail_report(page: LabPage, tmp_path, found: list[str]) -> str:
    shot = tmp_path / f"{page.name}.png"
    page.screenshot(shot)
    return f"{page.name} in JupyterLab ({len(found)} problems; screenshot {shot}):\n  " + "\n  ".join(found)


def test_sample_notebook_runs_and_shows_its_numbers(sample_lab, lab_ready, tmp_path):
    page = _open(lab_ready, sample_lab, "sample.md")
    try:
        before = page.report()
        md = [c for c in before["cells"] if "{eval}" in c["source"]][0]
        # before running, jupyterlab-myst draws each expression as code; the notebook is untrusted
        assert 'f"{acc:.1%}"' in md["inlineCode"] and not md["trusted"], md
        page.run_all(timeout_s=60)
        report = page.report()
        found = problems(report, min_percentages=2, min_fit_cells=2)
        assert not found, _fail_report(page, tmp_path, found)
        text = [c for c in report["cells"] if "{eval}" in c["source"]][0]["text"]
        # evaluated without any "Trust Notebook": the results are text/plain
        assert "61.3%" in text and "58.7%" in text and "after 5 epochs" in text, text
        assert "[Somebody, 2020]" in text and "the other page" in text, text
        assert not page.writes, f"the page wrote through the contents API: {page.writes}"
    finally:
        page.close()


@pytest.mark.parametrize("name, expected", [
    ("broken_prose.md", ["{glue:text}`acc:.1%` is not rendered", "{eval}`undefined_name` failed: NameError",
                         "inline expression shows an error: NameError", "percentages in the rendered prose (want ≥ 10)",
                         "0 visible code cells call fit( (want ≥ 2): visible [], hidden [1]",
                         "a citation jupyterlab-myst cannot resolve"]),
    ("broken_cell.md", ["error output: ZeroDivisionError: division by zero"]),
])
def test_the_checks_catch_a_broken_notebook(sample_lab, lab_ready, name, expected):
    page = _open(lab_ready, sample_lab, name)
    try:
        page.run_all(timeout_s=60)
        found = problems(page.report())
        missed = [e for e in expected if not any(e in f for f in found)]
        assert not missed, f"{name}: problems not reported: {missed}\nreported: {found}"
        assert not any("stderr" in f or "progress" in f for f in found), \
            f"stderr output (progress bars) is not an error: {found}"
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.parametrize("chapter, min_percentages, min_fit_cells", [
    ("q1.md", 10, 2), ("q2.md", 10, 2),        # the chapters that train models on the page
    ("data.md", 5, 0), ("q3.md", 0, 0), ("errata.md", 0, 0), ("intro.md", 0, 0)])
def test_chapter_runs_all_in_jupyterlab(book_lab, lab_ready, chapter, min_percentages, min_fit_cells,
                                        tmp_path, record_property):
    t0 = time.monotonic()
    page = _open(lab_ready, book_lab, chapter)
    opened = time.monotonic() - t0
    try:
        ran = page.run_all(timeout_s=CHAPTER_TIMEOUT_S)
        record_property("run_all_s", round(ran, 1))
        print(f"{chapter}: opened in {opened:.1f} s, Run All took {ran:.1f} s")
        found = problems(page.report(), min_percentages=min_percentages, min_fit_cells=min_fit_cells)
        assert not found, _fail_report(page, tmp_path, found)
        assert not page.writes, f"the page wrote through the contents API: {page.writes}"
    finally:
        page.close()
