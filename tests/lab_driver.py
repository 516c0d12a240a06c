"""Drive JupyterLab as a reader does: a private ``jupyter lab`` server, a chapter opened in headless
Chromium as a notebook (the Jupytext viewer), Run All, and a report of what each cell shows.

Used by ``tests/test_lab.py``. Nothing here saves a document: autosave is off in the server's own
settings, no save command is ever sent, and ``LabPage.writes`` lists any request that would have
written through the contents API (the tests assert it stays empty).

The server runs with ``--LabApp.expose_app_in_browser=True`` so the page has ``window.jupyterapp``:
the report reads each cell's source, outputs and metadata from the notebook model, and what is
drawn from the cell's DOM.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

#: User settings the server starts with (JUPYTERLAB_SETTINGS_DIR is private to the test).
#: defaultViewers: what ``make lab`` sets, so a MyST ``.md`` opens as a notebook via jupytext.
#: autosave off: opening and running a chapter must never write to it.
#: windowingMode none: every cell stays in the DOM and laid out (Lab 4's default virtualises).
SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {
        "defaultViewers": {"markdown": "Jupytext Notebook", "myst": "Jupytext Notebook"},
        "autosave": False,
    },
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}

EVAL_ROLE = re.compile(r"\{eval\}`([^`]+)`")
ROLE = re.compile(r"\{([a-z][\w:.-]*)\}`([^`]*)`")


def myst_installed() -> str | None:
    """None when jupyterlab-myst (server and lab extension) is installed, else why not."""
    import importlib.util

    if importlib.util.find_spec("jupyterlab_myst") is None:
        return "the JupyterLab test needs jupyterlab-myst: `.venv/bin/pip install jupyterlab-myst`"
    ext = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst" / "package.json"
    if not ext.is_file():
        return f"jupyterlab-myst's lab extension is missing ({ext}): reinstall jupyterlab-myst"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc), children before grandchildren."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(0), []):
            out.append(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class LabServer:
    """A ``jupyter lab`` subprocess serving ``notebook_dir`` on 127.0.0.1 with a random token."""

    notebook_dir: Path
    home: Path                       # private settings, workspaces, data and runtime dirs, the log
    env: dict = field(default_factory=dict)
    port: int = 0
    token: str = ""
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, name: str) -> str:
        """``name`` opened alone, in a fresh workspace (no tab of an earlier page is restored)."""
        return f"{self.base}/lab/workspaces/t{secrets.token_hex(4)}/tree/{name}?reset&token={self.token}"

    @property
    def log(self) -> Path:
        return self.home / "lab.log"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def start(self, timeout: float = 120) -> "LabServer":
        settings = self.home / "settings"
        for plugin, values in SETTINGS.items():
            f = settings / f"{plugin}.jupyterlab-settings"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(values))
        for d in ("workspaces", "data", "runtime", "config"):
            (self.home / d).mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update({"JUPYTERLAB_SETTINGS_DIR": str(settings),
                    "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),
                    "JUPYTER_DATA_DIR": str(self.home / "data"),       # trust signatures land here
                    "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
                    "JUPYTER_CONFIG_DIR": str(self.home / "config"),   # no ~/.jupyter config
                    "JUPYTER_PLATFORM_DIRS": "1"})
        env.update(self.env)
        self.port, self.token = _free_port(), secrets.token_hex(16)
        jupyter = Path(sys.executable).with_name("jupyter")
        cmd = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
               "--ServerApp.port_retries=0", f"--ServerApp.token={self.token}",
               f"--notebook-dir={self.notebook_dir}", "--LabApp.expose_app_in_browser=True",
               # Lab checkpoints a document when it opens it: keep that copy out of the notebook dir
               f"--FileCheckpoints.checkpoint_dir={self.home / 'checkpoints'}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=self.log.open("wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self._log_tail()}")
            try:
                self.api("/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"jupyter lab did not answer in {timeout:.0f} s:\n{self._log_tail()}")
                time.sleep(0.25)

    def _log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> list[int]:
        """Shut down every kernel, then the server (its process group; kernels run in sessions of
        their own, so they are also found and ended by pid). Returns the pids that had to be killed;
        raises if any process of the server is still alive afterwards."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            try:
                for k in self.api("/api/kernels") or []:
                    self.api(f"/api/kernels/{k['id']}", method="DELETE")
            except (urllib.error.URLError, OSError):
                pass
        below = _descendants(self.proc.pid)
        pgid = self.proc.pid
        if self.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)
        killed = []
        for pid in below:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in below) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.proc = None
        alive = [p for p in below if _alive(p)]
        if alive:
            raise RuntimeError(f"processes of the Lab server survived SIGKILL: {alive}")
        return killed


# --- the page --------------------------------------------------------------------------------

_REPORT_JS = r"""
() => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const nb = panel.content;
  const text = el => el ? el.innerText : '';
  return {
    path: panel.context.path,
    kernel: panel.sessionContext.kernelDisplayStatus,
    cells: nb.widgets.map((cell, index) => {
      const m = cell.model;
      const c = {index, type: m.type, source: m.sharedModel.getSource(), trusted: !!m.trusted};
      if (m.type === 'code') {
        const input = cell.node.querySelector('.jp-Cell-inputWrapper .jp-InputArea-editor');
        c.inputHidden = !!cell.inputHidden;
        c.inputVisible = !cell.inputHidden && !!input && input.checkVisibility() &&
                         input.getBoundingClientRect().height > 0;
        c.executionCount = m.executionCount;
        c.prompt = text(cell.node.querySelector('.jp-InputPrompt'));
        c.errors = m.outputs.toJSON().filter(o => o.output_type === 'error')
                     .map(o => `${o.ename}: ${o.evalue}`);
        // Lab 4.6 draws an error output like a stderr stream (a progress bar is one):
        // the model's output_type tells them apart; on the page, only the traceback does
        c.errorDom = Array.from(cell.node.querySelectorAll(
            '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
            .map(text).filter(t => t.includes('Traceback (most recent call last)'));
      } else if (m.type === 'markdown') {
        const myst = cell.node.querySelector('.jp-MarkdownOutput .myst, .jp-Cell-inputWrapper .myst');
        const md = myst || cell.node.querySelector('.jp-RenderedMarkdown, .jp-MarkdownOutput');
        c.rendered = !!cell.rendered;
        c.myst = !!myst;
        c.text = text(md);
        c.html = md ? md.innerHTML : '';
        // inline code outside code blocks: what jupyterlab-myst draws for an unevaluated {eval}
        c.inlineCode = md ? Array.from(md.querySelectorAll('code')).filter(e => !e.closest('pre'))
                              .map(e => e.textContent) : [];
        c.exprErrors = md ? Array.from(md.querySelectorAll(
            '[data-mime-type="application/vnd.jupyter.stderr"], .myst-RenderedExpressionError'))
            .map(e => e.textContent) : [];
        c.userExpressions = (m.getMetadata('user_expressions') || []).map(u => ({
            expression: u.expression, status: u.result && u.result.status,
            text: u.result && u.result.data ? (u.result.data['text/plain'] || '') : '',
            error: u.result && u.result.status !== 'ok' ? `${u.result.ename}: ${u.result.evalue}` : ''}));
      }
      return c;
    }),
  };
}
"""

# Resolves once the kernel has been idle with no cell queued or running for `quiet` ms.
_SETTLED_JS = r"""
([quiet]) => {
  const panel = window.jupyterapp.shell.currentWidget;
  const busy = panel.sessionContext.kernelDisplayStatus !== 'idle' ||
    Array.from(panel.content.node.querySelectorAll('.jp-InputPrompt')).some(p => p.textContent.includes('*'));
  const now = Date.now();
  if (busy || window.__labBusyAt === undefined) window.__labBusyAt = now;
  return now - window.__labBusyAt >= quiet;
}
"""


class LabPage:
    """One notebook opened in its own browser context; ``writes`` records contents-API writes."""

    def __init__(self, browser, server: LabServer, name: str, timeout_s: float = 120):
        self.name = name
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.writes: list[str] = []
        self.console_errors: list[str] = []
        self.page.on("request", self._watch)
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.goto(server.url(name))
        self.page.wait_for_function(
            "() => window.jupyterapp && window.jupyterapp.shell.currentWidget &&"
            " window.jupyterapp.shell.currentWidget.node.querySelector('.jp-Notebook .jp-Cell')",
            timeout=timeout_s * 1000)
        self.page.wait_for_function(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.kernelDisplayStatus === 'idle'",
            timeout=timeout_s * 1000)

    def _watch(self, request) -> None:
        url = request.url.split("?")[0]
        if "/api/contents" not in url or request.method in ("GET", "HEAD"):
            return
        if request.method == "POST" and url.endswith("/checkpoints"):
            return      # Lab's checkpoint on open: the server writes it under LabServer.home
        self.writes.append(f"{request.method} {request.url.split('?')[0]}")

    def opened_as(self) -> dict:
        """What the main area shows for the document: widget classes and the document's path."""
        return self.page.evaluate("""() => {
            const w = window.jupyterapp.shell.currentWidget;
            return {classes: w.node.className, path: w.context ? w.context.path : null,
                    notebook: w.node.classList.contains('jp-NotebookPanel'),
                    editors: document.querySelectorAll('#jp-main-dock-panel .jp-FileEditor').length};
        }""")

    def run_all(self, timeout_s: float = 300) -> float:
        """Run → Run All Cells from the menu bar; wait until the kernel is idle with no cell
        queued or running (for 1.5 s, so a markdown cell's expression request counts). Returns
        the seconds it took."""
        t0 = time.monotonic()
        self.page.locator("#jp-menu-panel .lm-MenuBar-item", has_text="Run").first.click()
        self.page.locator("#jp-mainmenu-run .lm-Menu-item[data-command='runmenu:run-all']").click()
        # wait until the first code cell is queued or has run, so "idle" below means "done"
        self.page.wait_for_function(
            "() => { const c = window.jupyterapp.shell.currentWidget.content.widgets"
            ".find(w => w.model.type === 'code');"
            " return !c || c.model.executionCount !== null ||"
            " c.node.querySelector('.jp-InputPrompt').textContent.includes('*'); }", timeout=30000)
        self.page.evaluate("() => { delete window.__labBusyAt; }")
        self.page.wait_for_function(_SETTLED_JS, arg=[1500], timeout=timeout_s * 1000, polling=250)
        return time.monotonic() - t0

    def report(self) -> dict:
        return self.page.evaluate(_REPORT_JS)

    def screenshot(self, path: Path) -> None:
        self.page.screenshot(path=str(path), full_page=True)

    def close(self) -> None:
        self.context.close()     # no beforeunload prompt, no save


# --- what a reader must see ------------------------------------------------------------------

RAW_ROLE = re.compile(r"\{(?:eval|glue|cite|doc|ref|numref|eq|term|download|math)\b[^}]*\}|"
                      r"\{[a-z][\w:.-]*\}`")
# a number then %, not a format spec left in the text (":.1%" of an unrendered glue key)
PERCENT = re.compile(r"(?<![\w:.])\d+(?:[.,]\d+)?[\s\u00a0\u202f]?%")


def problems(report: dict, min_percentages: int = 10, min_fit_cells: int = 2) -> list[str]:
    """Everything that is wrong with a run notebook, one line each (empty when all is well)."""
    out: list[str] = []
    cells = report["cells"]
    code = [c for c in cells if c["type"] == "code"]
    md = [c for c in cells if c["type"] == "markdown"]
    for c in code:
        first = c["source"].strip().splitlines()[0][:60] if c["source"].strip() else ""
        where = f"cell {c['index']} ({first!r})"
        for e in c["errors"]:
            out.append(f"{where}: error output: {e.strip()[:300]}")
        if c["errorDom"] and not c["errors"]:
            out.append(f"{where}: a traceback is shown: {c['errorDom'][0].strip()[-300:]}")
        if c["source"].strip() and c["executionCount"] is None:
            out.append(f"{where}: not executed (prompt {c['prompt']!r})")
    for c in md:
        where = f"markdown cell {c['index']}"
        if not c["rendered"]:
            out.append(f"{where}: not rendered")
            continue
        if not c["myst"]:
            out.append(f"{where}: not rendered by jupyterlab-myst (no .myst widget)")
        raw = sorted(set(RAW_ROLE.findall(c["text"])))
        if raw:
            out.append(f"{where}: raw MyST role text {raw} in: {_around(c['text'], raw[0])}")
        unresolved = "Citation Not Found" in c["html"] or re.search(r'class="[^"]*cite', c["html"])
        if "⚠" in c["text"] or unresolved:
            out.append(f"{where}: a citation jupyterlab-myst cannot resolve (write it as a link to "
                       f"its key, [\\[Author, year\\]](#key)): {_around(c['text'], '⚠')}")
        if "`" in c["text"]:
            out.append(f"{where}: backtick remnant in: {_around(c['text'], '`')}")
        for name, body in ROLE.findall(c["source"]):
            if name.startswith("glue"):
                out.append(f"{where}: {{{name}}}`{body}` is not rendered by jupyterlab-myst "
                           f"(the reader sees {body!r}): use {{eval}}")
        wanted = EVAL_ROLE.findall(c["source"])
        got = {u["expression"]: u for u in c["userExpressions"]}
        for expr in wanted:
            u = got.get(expr)
            if u is None:
                out.append(f"{where}: {{eval}}`{expr}` was not evaluated (no user_expressions result)")
            elif u["status"] != "ok":
                out.append(f"{where}: {{eval}}`{expr}` failed: {u['error']}")
            elif not u["text"].strip("'\" "):
                out.append(f"{where}: {{eval}}`{expr}` evaluated to empty text {u['text']!r}")
            if expr in c["inlineCode"]:
                out.append(f"{where}: {{eval}}`{expr}` is drawn as code, not as its value")
        for e in c["exprErrors"]:
            out.append(f"{where}: inline expression shows an error: {e.strip()[:300]}")
    prose = "\n".join(c["text"] for c in md)
    n = len(PERCENT.findall(prose))
    if n < min_percentages:
        out.append(f"only {n} percentages in the rendered prose (want ≥ {min_percentages}): "
                   f"{PERCENT.findall(prose)}")
    fits = [c["index"] for c in code if c["inputVisible"] and "fit(" in c["source"]]
    if len(fits) < min_fit_cells:
        hidden = [c["index"] for c in code if not c["inputVisible"] and "fit(" in c["source"]]
        out.append(f"{len(fits)} visible code cells call fit( (want ≥ {min_fit_cells}): visible {fits}, "
                   f"hidden {hidden}")
    return out


def _around(text: str, needle: str, width: int = 70) -> str:
    i = text.find(needle)
    return repr(text[max(0, i - width):i + len(needle) + width]) if i >= 0 else repr(text[:2 * width])
