"""The whole book as one PDF (``make pdf`` → ``_build/pdf/book.pdf``): build tooling beside the book.

Jupyter Book builds a single-page HTML (``--builder singlehtml``; the chapters execute again, as the
prose's ``{eval}`` roles need their kernel), and the headless Chromium the browser tests
use prints it: offline, after MathJax has typeset every equation and plotly.js has drawn every
figure in its default state. Usage::

    python book/_ext/book_pdf.py                      # build into _build/, print _build/pdf/book.pdf
    python book/_ext/book_pdf.py --html _build/singlehtml/index.html --pdf /tmp/book.pdf   # print only
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]    # the book root (book/_ext/ → repository)

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
# A4 with 15 mm margins is about 680 CSS px wide: lay the page out at that width so the figures
# (responsive plotly.js) and the text column are drawn as they will be printed.
PRINT_WIDTH_PX = 680
MARGIN = "15mm"


def chromium_path() -> str | None:
    """The system Chromium (``apt-get install chromium``), or None."""
    for name in ("chromium", "chromium-browser"):
        if found := shutil.which(name):
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def build_singlehtml(path_output: Path, source: Path = REPO_ROOT, env: dict | None = None,
                     timeout: int = 1800) -> Path:
    """Build the book as one HTML page under ``path_output/_build/singlehtml`` (executing every
    chapter in the environment ``env``, default this process's); return the page."""
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(source), "--builder", "singlehtml", "--path-output",
                           str(path_output), "-W", "--keep-going"], env=env or dict(os.environ),
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"singlehtml build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    page = Path(path_output) / "_build" / "singlehtml" / "index.html"
    if not page.is_file():
        raise RuntimeError(f"the singlehtml build wrote no {page}")
    return page


def print_pdf(html: Path, pdf: Path, chromium: str | None = None, browser=None,
              timeout_ms: int = 120_000) -> Path:
    """Print ``html`` to ``pdf`` (A4) in headless Chromium with every non-file request blocked,
    once MathJax has typeset the page and plotly.js has drawn every figure. ``browser``: an
    already launched Playwright browser to use (a test session's), else one is started."""
    pdf = Path(pdf)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if browser is not None:
        _print_with(browser, Path(html), pdf, timeout_ms)
        return pdf
    from playwright.sync_api import sync_playwright

    chromium = chromium or chromium_path()
    if chromium is None:
        raise RuntimeError("printing the book needs Chromium: `apt-get install chromium`")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            _print_with(browser, Path(html), pdf, timeout_ms)
        finally:
            browser.close()
    return pdf


def _print_with(browser, html: Path, pdf: Path, timeout_ms: int) -> None:
    ctx = browser.new_context(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
    try:
        ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:", "about:"))
                  else r.abort())
        page = ctx.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(html.resolve().as_uri(), wait_until="load")
        page.wait_for_function("() => !window.MathJax || (MathJax.startup && MathJax.startup.promise)")
        page.evaluate("() => window.MathJax ? MathJax.startup.promise : null")
        page.wait_for_function("""() => Array.from(document.querySelectorAll('.plotly-graph-div'))
                                   .every(g => g._fullLayout && g.querySelector('.main-svg'))""")
        page.wait_for_timeout(500)
        page.pdf(path=str(pdf), format="A4", print_background=True,
                 margin={"top": MARGIN, "bottom": MARGIN, "left": MARGIN, "right": MARGIN})
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="book/_ext/book_pdf.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--path-output", type=Path, default=REPO_ROOT,
                    help="where jupyter-book builds (its _build/ holds the execution cache); default: the repository")
    ap.add_argument("--html", type=Path, help="print this single-page HTML instead of building one")
    ap.add_argument("--pdf", type=Path, default=REPO_ROOT / "_build" / "pdf" / "book.pdf")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    html = args.html or build_singlehtml(args.path_output)
    out = print_pdf(html, args.pdf)
    print(f"{out} ({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
