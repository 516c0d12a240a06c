"""The whole book as one PDF (``make pdf`` → ``_build/pdf/book.pdf``): build tooling beside the book.

Jupyter Book builds a single-page HTML (``--builder singlehtml``; the chapters execute again, as the
prose's ``{eval}`` roles need their kernel), and the headless Chromium the browser tests
use prints it: offline, after MathJax has typeset every equation and plotly.js has drawn every
figure in its default state, each redrawn at the printed column's width. The PDF has

* page numbers ("7 / 93") in the footer of every page;
* a document outline (bookmarks) of every heading, titled as the page shows them;
* a contents list at the front, every chapter and section with its page: the page is printed
  twice, the first print placing the headings (read back from its outline with pypdf), the
  second with their page numbers filled in (the numbers take the room of the placeholders, so
  nothing moves);
* no UI: the hidden code cells and their "Show code cell source" toggles are left out, other
  ``<details>`` blocks are printed open without their "(click to open)" (``static/hwlib-print.css``);
  figures are not split across pages; a table shorter than a third of a page is kept whole, a longer
  one breaks between rows, its caption and header repeated on every page it spans.

After ``make pdf`` the HTML book (``_build/html``) links the PDF from every page's sidebar
(``hwlib_sphinx.link_pdf``, which copies it to ``_build/html/book.pdf``). Usage::

    python book/_ext/book_pdf.py                      # build into _build/, print _build/pdf/book.pdf
    python book/_ext/book_pdf.py --html _build/singlehtml/index.html --pdf /tmp/book.pdf   # print only
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import unicodedata
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


# Before printing, in print media: every <details> block but the hidden code cells open
# (static/hwlib-print.js), short tables kept whole, and each Plotly figure redrawn at its column's printed width, so that no
# colour bar or legend is cut off at the column's edge.
PREPARE_JS = """async () => {
  if (window.hwlibOpenForPrint) window.hwlibOpenForPrint();
  else document.querySelectorAll('details:not(.above-input)').forEach(d => { d.open = true; });
  // a table shorter than a third of a page is kept on one page; a longer one may break between
  // rows, its caption moved into the first row of its header, which Chromium keeps with the first
  // body row and repeats on every page the table spans
  const third = 330;
  document.querySelectorAll('article table').forEach(t => {
    if (t.getBoundingClientRect().height < third) { t.style.breakInside = 'avoid'; return; }
    const cap = t.querySelector(':scope > caption'), head = t.querySelector(':scope > thead');
    if (!cap || !head) return;
    const cols = Math.max(...Array.from(t.rows).map(r => Array.from(r.cells).reduce((n, c) => n + c.colSpan, 0)));
    const row = document.createElement('tr'), cell = document.createElement('th');
    row.className = 'hwlib-caption-row';
    cell.className = 'hwlib-caption';
    cell.colSpan = cols;
    cell.innerHTML = cap.innerHTML;
    row.appendChild(cell);
    head.prepend(row);
    cap.remove();
  });
  const figs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  let fitted = 0;
  for (const gd of figs) {
    const room = Math.floor(gd.parentElement.getBoundingClientRect().width);
    if (!gd._fullLayout || !room) continue;
    if (gd._fullLayout.width > room + 1 || gd.getBoundingClientRect().width > room + 1) {
      await Plotly.relayout(gd, {width: room, autosize: false});
      fitted++;
    }
  }
  return fitted;
}"""

# The contents list at the front: the single page's headings of level 2 (the introduction's sections
# and the chapters) and 3 (the chapters' sections), each linked, with a page number to fill in
# ("000" until the first print has placed them: the same width, so the layout does not change).
CONTENTS_JS = """() => {
  const article = document.querySelector('article.bd-article') || document.body;
  const entries = [];
  const items = Array.from(article.querySelectorAll('h2, h3')).filter(h => h.closest('section') && h.closest('section').id);
  const list = document.createElement('ol');
  items.forEach((h, i) => {
    const level = h.tagName === 'H2' ? 1 : 2;
    const title = h.cloneNode(true);
    title.querySelectorAll('a.headerlink').forEach(a => a.remove());
    const key = 'hwlib-toc-' + i;
    h.dataset.hwlibToc = key;
    const li = document.createElement('li');
    li.className = 'hwlib-toc-' + level;
    li.innerHTML = '<a href="#' + h.closest('section').id + '"><span class="hwlib-toc-title"></span>' +
                   '<span class="hwlib-toc-leader"></span><span class="hwlib-toc-page" data-key="' + key + '">000</span></a>';
    li.querySelector('.hwlib-toc-title').innerHTML = title.innerHTML;
    list.appendChild(li);
    entries.push(key);
  });
  const box = document.createElement('nav');
  box.id = 'hwlib-contents';
  box.setAttribute('aria-label', 'Contents');
  box.innerHTML = '<h2>Contents</h2>';
  box.appendChild(list);
  const old = document.getElementById('jb-print-toc');
  if (old) old.replaceWith(box); else article.prepend(box);
  return entries;
}"""

# The page's headings as print shows them, in document order (what Chromium's document outline is
# made of): their text (a formula as its TeX, without backslashes and braces: the outline holds
# plain text) and, for those in the contents list, their key.
HEADINGS_JS = r"""() => {
  const tex = new Map();
  if (window.MathJax && MathJax.startup && MathJax.startup.document)
    MathJax.startup.document.getMathItemsWithin(document.body).forEach(m => tex.set(m.typesetRoot, m.math));
  const plain = t => t.replace(/\\(mathbf|mathrm|boldsymbol|operatorname|text|left|right|,|;|!)/g, ' ')
                      .replace(/\\([A-Za-z]+)/g, '$1').replace(/[{}]/g, '').replace(/\s+/g, ' ').trim();
  return Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'))
    .filter(h => h.getClientRects().length && getComputedStyle(h).visibility !== 'hidden')
    .map(h => {
      const c = h.cloneNode(true);
      const originals = Array.from(h.querySelectorAll('mjx-container'));
      Array.from(c.querySelectorAll('mjx-container')).forEach((m, i) =>
        m.replaceWith(document.createTextNode(tex.has(originals[i]) ? plain(tex.get(originals[i])) : m.textContent)));
      c.querySelectorAll('a.headerlink').forEach(a => a.remove());
      const bare = h.cloneNode(true);
      bare.querySelectorAll('a.headerlink, mjx-container').forEach(a => a.remove());
      return {key: h.dataset.hwlibToc || null, level: +h.tagName[1], text: c.textContent.replace(/\s+/g, ' ').trim(),
              bare: bare.textContent};
    });
}"""

FILL_JS = """pages => { document.querySelectorAll('#hwlib-contents .hwlib-toc-page').forEach(s => {
  s.textContent = pages[s.dataset.key] !== undefined ? String(pages[s.dataset.key]) : ''; }); }"""

FOOTER = ('<div style="width: 100%; font-size: 9px; font-family: sans-serif; color: #444; text-align: center;">'
          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')


def _pdf(page, path: Path) -> None:
    page.pdf(path=str(path), format="A4", print_background=True, outline=True, tagged=True,
             display_header_footer=True, header_template="<div></div>", footer_template=FOOTER,
             margin={"top": MARGIN, "bottom": MARGIN, "left": MARGIN, "right": MARGIN})


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def outline(pdf: Path) -> list[tuple[int, str, int]]:
    """The PDF's document outline, flattened in order: (depth, title, page number from 1)."""
    from pypdf import PdfReader
    reader, out = PdfReader(pdf), []

    def walk(items, depth):
        for it in items:
            if isinstance(it, list):
                walk(it, depth + 1)
            else:
                out.append((depth, it.title, reader.get_destination_page_number(it) + 1))
    walk(reader.outline, 0)
    return out


def match_outline(pdf: Path, headings: list[dict]) -> list[tuple[int, dict]]:
    """Pair each outline entry of ``pdf`` (by its index in document order) with the printed heading
    it was made from: in order, by their text (letters and digits; Chromium's titles may lose the
    spaces at line ends, repeat a wrapped line or drop a formula, hence the prefix comparison)."""
    marks, pairs, j = outline(pdf), [], 0
    for h in headings:
        wants = {_key(h["text"]), _key(h.get("bare") or "")} - {""}
        for k in range(j, len(marks)):
            got = _key(marks[k][1])
            if got and any(got == w or got.startswith(w[:20]) or w.startswith(got[:20]) for w in wants):
                pairs.append((k, h))
                j = k + 1
                break
    return pairs


def heading_pages(pdf: Path, headings: list[dict]) -> dict[str, int]:
    """The page (from 1) of each contents entry, ``key`` → page, read from ``pdf``'s outline."""
    marks = outline(pdf)
    return {h["key"]: marks[k][2] for k, h in match_outline(pdf, headings) if h["key"]}


def retitle_outline(pdf: Path, headings: list[dict]) -> int:
    """Give the outline entries of ``pdf`` their headings' text as the page shows it (keeping
    Chromium's destinations); returns how many entries were retitled."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, TextStringObject

    titles = {k: h["text"] for k, h in match_outline(pdf, headings)}
    writer = PdfWriter(clone_from=str(pdf))
    root = writer._root_object.get("/Outlines")
    items, index = [], 0

    def walk(node):
        while node is not None:
            node = node.get_object()
            items.append(node)
            if "/First" in node:
                walk(node["/First"])
            node = node.get("/Next")
    if root is not None and "/First" in root.get_object():
        walk(root.get_object()["/First"])
    for index, item in enumerate(items):
        if index in titles:
            item[NameObject("/Title")] = TextStringObject(titles[index])
    with open(pdf, "wb") as f:
        writer.write(f)
    return len(titles)


def _print_with(browser, html: Path, pdf: Path, timeout_ms: int) -> None:
    """Print twice: the first print places the headings (read back from its outline), the second
    has their page numbers in the contents list; a third only if the numbers moved a page."""
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
        page.emulate_media(media="print")
        page.evaluate(CONTENTS_JS)
        page.evaluate(PREPARE_JS)
        page.wait_for_timeout(500)
        headings = page.evaluate(HEADINGS_JS)
        draft = pdf.with_name(pdf.stem + ".draft.pdf")
        pages: dict = {}
        try:
            for _ in range(3):
                _pdf(page, draft)
                placed = heading_pages(draft, headings)
                if placed == pages:
                    break
                pages = placed
                page.evaluate(FILL_JS, pages)
            retitle_outline(draft, headings)
            draft.replace(pdf)
        finally:
            draft.unlink(missing_ok=True)
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
    from pypdf import PdfReader
    print(f"{out}: {len(PdfReader(out).pages)} pages, {out.stat().st_size / 1e6:.1f} MB, "
          f"in {time.perf_counter() - t0:.0f} s")
    site = args.path_output / "_build" / "html"
    if args.html is None and (site / "index.html").is_file():
        from hwlib_sphinx import link_pdf        # beside this file
        n = link_pdf(site, out)
        print(f"{site / 'book.pdf'}: linked from {n} pages of the HTML book")
    return 0


if __name__ == "__main__":
    sys.exit(main())
