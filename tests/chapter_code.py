"""The code a chapter defines, for tests: its imports, functions, classes and UPPER_CASE constants
(computed without calls).

Single-use tables, figures and facts live in the chapter that shows them (book/*.md), not in hwlib.
``chapter_code("q1")`` runs only the definitions of the chapter's code cells (no training, no
records read), so a test can call the chapter's own functions on records of its choosing.
"""
from __future__ import annotations

import ast
import functools
import re
from types import SimpleNamespace

from conftest import REPO

_CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```", re.S | re.M)


def _literal(node) -> bool:
    """A constant's value: no call, and only names the definitions made (``original.Q1[...]``)."""
    return not any(isinstance(n, ast.Call) for n in ast.walk(node))


def _definitions(source: str) -> list[str]:
    body = re.sub(r"\A(?::[^\n]*\n)+\n?", "", source)          # the cell's :tags: lines
    keep = []
    for node in ast.parse(body).body:
        const = (isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets)
                 and _literal(node.value))
        if const or isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            keep.append(ast.get_source_segment(body, node))
    return keep


@functools.lru_cache(maxsize=None)
def chapter_code(chapter: str) -> SimpleNamespace:
    """The definitions of ``book/<chapter>.md``, executed in order, as attributes."""
    text = (REPO / "book" / f"{chapter}.md").read_text()
    ns: dict = {"__name__": f"chapter_{chapter}"}
    for cell in _CELL.findall(text):
        for block in _definitions(cell):
            try:
                exec(compile(block, f"book/{chapter}.md", "exec"), ns)
            except NameError:          # a constant computed from the page's data (X = X / 256): not a definition
                if not block.lstrip()[:1].isupper():
                    raise
    return SimpleNamespace(**{k: v for k, v in ns.items() if not k.startswith("__")})
