"""Shared fixtures: a private cache per session, the real fragment when present, the built book."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data" / "emnist-letters.npz"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(autouse=True)
def _private_results(tmp_path_factory, monkeypatch):
    """Tests never write into the repository's results/ nor read the user's real-data cache (the
    stand-in's sha256-pinned fonts live apart, in ~/.cache/hwlib/fonts, fetched once and shared)."""
    monkeypatch.setenv("HWLIB_RESULTS", str(tmp_path_factory.getbasetemp() / "results"))
    monkeypatch.setenv("HWLIB_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.delenv("HWLIB_DATA", raising=False)


@pytest.fixture(scope="session")
def fragment_path() -> Path:
    if not SHARED_DATA.is_file():
        pytest.skip(f"real EMNIST fragment not present at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """Build the whole book once (full profile → recorded results, warnings are errors); return html/.

    ``HWLIB_BOOK_HTML=<dir>`` reuses an already built ``_build/html`` instead (for quick reruns)."""
    if os.environ.get("HWLIB_BOOK_HTML"):
        return Path(os.environ["HWLIB_BOOK_HTML"])
    out = tmp_path_factory.mktemp("book")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run([str(jb), "build", str(REPO), "--path-output", str(out), "-W", "--keep-going"],
                          env=env, capture_output=True, text=True, timeout=1800)
    log = proc.stdout[-6000:] + proc.stderr[-6000:]
    (out / "build.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, f"book build failed (log {out / 'build.log'}):\n{log}"
    html = out / "_build" / "html"
    assert (html / "index.html").is_file()
    return html


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium driven by Playwright, or a skip saying how to enable it."""
    if CHROMIUM is None:
        pytest.skip("browser tests need Chromium: `apt-get install chromium` (then `make test`)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright package: `pip install playwright`")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_offline(browser, url: str):
    """Open ``url`` with every non-file request blocked; return (page, list of blocked URLs)."""
    ctx = browser.new_context()
    blocked: list[str] = []

    def handle(route):
        if route.request.url.startswith(("file://", "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", handle)
    page = ctx.new_page()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(1500)
    return page, blocked


def bold_rows(html: str) -> set[int]:
    """The rows of a table rendered by ``hwlib.report.frame.table`` that are bold (pandas' Styler
    styles cells by id in its own <style> block)."""
    import re
    style = html.split("</style>", 1)[0] if "</style>" in html else ""
    rules = re.findall(r"([^{}]+)\{\s*font-weight: bold;?\s*\}", style)
    return {int(m) for sel in rules for m in re.findall(r"_row(\d+)_col\d+", sel)}
