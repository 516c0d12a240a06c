"""Chapters survive JupyterLab (issue 18, item 4).

Every chapter (book/*.md with a ``jupytext:`` header) must come back byte-identical

* from md → ipynb → md through jupytext, with the configuration JupyterLab loads (book/jupytext.toml);
* from an open-and-save in JupyterLab: jupytext's own contents manager (the code behind Lab's
  "Jupytext Notebook" viewer and its REST contents API) reads the chapter, the notebook gets what
  Lab and its extensions add (kernelspec and language_info when the kernel starts, widget state,
  jupyterlab-myst's ``user_expressions``, ``execution`` timings, ``trusted``, ``collapsed``,
  ``scrolled``, ``editable``, hidden inputs, collapsed headings, slideshow), and is saved again.

These hold once a chapter is in canonical form: ``make chapters`` (tools/normalize_chapters.py) puts
it there. The normaliser itself is checked on a copy of book/: it reaches that form, keeps every
cell, and a second run changes nothing. book/references.md (plain MyST, no header) must survive a
Lab save too. Last, a notebook exported or paired into book/ (``jupytext --to ipynb book/q3.md``)
must not break the book build: _config.yml excludes it, checked with Sphinx's own document discovery.
"""
from __future__ import annotations

import copy
import difflib
import importlib.util
import json
import logging
import shutil
from pathlib import Path

import jupytext
import pytest
import yaml
from jupytext.config import find_jupytext_configuration_file, load_jupytext_config

from conftest import REPO

BOOK = REPO / "book"
CONFIG = BOOK / "jupytext.toml"
MYST = "md:myst"


def _load_normaliser():
    spec = importlib.util.spec_from_file_location("normalize_chapters", REPO / "tools" / "normalize_chapters.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


nc = _load_normaliser()
CHAPTERS = nc.chapters([str(BOOK)])
FIX = "not in canonical form: run `make chapters` (tools/normalize_chapters.py) once the edits are in"


# --- the two save paths -------------------------------------------------------------------------

def md_ipynb_md(path: Path, tmp: Path) -> str:
    """``path`` through an .ipynb file and back to MyST text, with the configuration Lab would use."""
    config = load_jupytext_config(str(path))
    nb = jupytext.read(path, config=config)
    ipynb = tmp / (path.stem + ".ipynb")
    jupytext.write(nb, ipynb, fmt="ipynb", config=config)
    return jupytext.writes(jupytext.read(ipynb), fmt=MYST, config=config)


def lab_state(nb: dict) -> None:
    """Add to a notebook model (JSON, as Lab holds it) what JupyterLab and its extensions add."""
    meta = nb["metadata"]
    spec = nc.installed_kernelspec(meta.get("kernelspec", {}).get("name", "python3"))
    if spec is not None and meta.get("kernelspec") != spec:  # Lab's _updateSpec: only when it differs
        meta["kernelspec"] = spec
    meta["language_info"] = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                             "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                             "pygments_lexer": "ipython3", "version": "3.11.9"}
    meta["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                      "version_minor": 0}}
    for cell in nb["cells"]:
        md = cell["metadata"]
        md["execution"] = {"iopub.execute_input": "2026-12-04T12:00:00.000Z",
                           "iopub.status.busy": "2026-12-04T12:00:00.000Z",
                           "iopub.status.idle": "2026-12-04T12:00:01.000Z",
                           "shell.execute_reply": "2026-12-04T12:00:01.000Z"}
        md["trusted"] = True
        md["editable"] = True
        md["deletable"] = True
        md["slideshow"] = {"slide_type": ""}
        md["jupyter"] = {"source_hidden": True}
        if cell["cell_type"] == "code":
            md["collapsed"] = False
            md["scrolled"] = True
            md["ExecuteTime"] = {"end_time": "2026-12-04T12:00:01", "start_time": "2026-12-04T12:00:00"}
        if cell["cell_type"] == "markdown":
            md["jp-MarkdownHeadingCollapsed"] = True
            md["user_expressions"] = [{"expression": "facts['x']",
                                       "result": {"status": "ok", "data": {"text/plain": "'0.5%'"},
                                                  "metadata": {}}}]


def lab_save(root: Path, name: str, with_lab_state: bool = True) -> str:
    """Open ``name`` (under Lab's root ``root``) as Lab does, optionally add Lab's state, save it back
    through the same contents manager; return the file's new text."""
    from jupytext import TextFileContentsManager

    cm = TextFileContentsManager(root_dir=str(root))
    model = cm.get(name, type="notebook", content=True)
    nb = json.loads(json.dumps(model["content"]))  # what travels to the browser and back (key order kept)
    if with_lab_state:
        lab_state(nb)
    cm.save({"type": "notebook", "format": "json", "content": nb}, name)
    return (root / name).read_text(encoding="utf-8")


def lab_copy(tmp: Path, files: list[Path]) -> Path:
    """A Lab root like `make lab`'s (book/): the given files and book/jupytext.toml."""
    root = tmp / "lab"
    root.mkdir()
    for f in [*files, CONFIG]:
        shutil.copy2(f, root / f.name)
    return root


def assert_same(new: str, old: str, what: str, hint: str = "") -> None:
    """Byte equality, reported as a short unified diff of what the save would change."""
    if new != old:
        diff = list(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "file", "after save"))
        shown = "".join(diff[:40]) + (f"... ({len(diff) - 40} more diff lines)\n" if len(diff) > 40 else "")
        pytest.fail(f"{what} changes the file{': ' + hint if hint else ''}\n{shown}", pytrace=False)


def header(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


# --- configuration ------------------------------------------------------------------------------

def test_chapters_exist():
    assert {p.name for p in CHAPTERS} >= {"intro.md", "data.md", "q1.md", "q2.md", "q3.md", "errata.md"}


def test_lab_and_cli_find_the_same_configuration():
    """`make lab` serves book/; Lab's jupytext contents manager looks for a configuration only inside
    the folder it serves, the CLI in the file's folder and its parents: both must find book/jupytext.toml."""
    from jupytext import TextFileContentsManager

    assert CONFIG.is_file()
    for chapter in CHAPTERS:
        assert Path(find_jupytext_configuration_file(str(chapter.parent))) == CONFIG
    cm = TextFileContentsManager(root_dir=str(BOOK))
    assert cm.get_config_file("").strip("/") == "jupytext.toml"
    config = load_jupytext_config(str(BOOK / "q1.md"))
    cell_filter = {k.strip() for k in config.cell_metadata_filter.split(",")}
    for key in ["user_expressions", "execution", "trusted", "collapsed", "scrolled", "editable", "deletable",
                "slideshow", "jp-MarkdownHeadingCollapsed", "jupyter", "ExecuteTime"]:
        assert f"-{key}" in cell_filter, key
    assert not any(k.lstrip("-+") in {"all", "tags"} for k in cell_filter), "tags must reach the chapters"
    # a notebook filter here would override the "-all" of header-less Markdown (references.md)
    assert not config.notebook_metadata_filter
    formats = [config.formats] if isinstance(config.formats, str) else list(config.formats or [])
    assert not any(formats), "chapters are not paired: the .md file is the only copy"


def test_makefile_lab_serves_book_and_chapters_target_exists():
    makefile = (REPO / "Makefile").read_text()
    assert "--notebook-dir=book" in makefile          # the folder that holds jupytext.toml
    assert "\nchapters:" in makefile and "tools/normalize_chapters.py" in makefile
    assert "jupyterlab-myst" in (REPO / "requirements.txt").read_text()


# --- the chapters as they are in the repository ---------------------------------------------------

@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_canonical(chapter):
    text = chapter.read_text(encoding="utf-8")
    meta = header(text)
    assert "jupytext_version" not in meta["jupytext"]["text_representation"], FIX
    assert_same(nc.canonical_text(text, nc.chapter_config(chapter)), text, f"normalising {chapter.name}", FIX)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_survives_md_ipynb_md(chapter, tmp_path):
    text = chapter.read_text(encoding="utf-8")
    assert_same(md_ipynb_md(chapter, tmp_path), text, f"md → ipynb → md of {chapter.name}", FIX)


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_chapter_survives_a_lab_save(chapter, tmp_path):
    text = chapter.read_text(encoding="utf-8")
    root = lab_copy(tmp_path, [chapter])
    assert_same(lab_save(root, chapter.name), text, f"a JupyterLab save of {chapter.name}", FIX)


def test_references_page_survives_a_lab_save(tmp_path):
    """book/references.md has no notebook header; opened as a notebook in Lab it must stay so."""
    refs = BOOK / "references.md"
    assert not nc.is_chapter(refs)
    root = lab_copy(tmp_path, [refs])
    assert_same(lab_save(root, refs.name), refs.read_text(encoding="utf-8"), "a JupyterLab save of references.md")


# --- the normaliser, on a copy of book/ -----------------------------------------------------------

@pytest.fixture(scope="module")
def normalised(tmp_path_factory):
    """A copy of book/ (chapters as they are now, and jupytext.toml) put through the normaliser."""
    root = tmp_path_factory.mktemp("normalised")
    for f in [*BOOK.glob("*.md"), CONFIG]:
        shutil.copy2(f, root / f.name)
    assert nc.main([str(root)]) == 0
    return root


def test_normaliser_leaves_references_alone(normalised):
    assert (normalised / "references.md").read_bytes() == (BOOK / "references.md").read_bytes()


def test_normaliser_is_idempotent(normalised, capsys):
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in normalised.glob("*.md")}
    assert nc.main(["--check", str(normalised)]) == 0
    assert nc.main([str(normalised)]) == 0
    assert "already in canonical form" in capsys.readouterr().out
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in normalised.glob("*.md")} == before


def test_normaliser_check_mode_changes_nothing(tmp_path, capsys):
    """--check on a chapter in the old compact layout reports it, exits 1 and leaves it as it was."""
    old = ("---\njupytext:\n  text_representation: {extension: .md, format_name: myst}\n"
           "kernelspec: {display_name: Python 3, language: python, name: python3}\n---\n\n# T\n\n"
           "```{code-cell} ipython3\n:tags: [hide-input]\nx = 1\n```\n")
    shutil.copy2(CONFIG, tmp_path / CONFIG.name)
    (tmp_path / "t.md").write_text(old)
    assert nc.main(["--check", str(tmp_path)]) == 1
    assert (tmp_path / "t.md").read_text() == old
    assert "make chapters" in capsys.readouterr().err
    assert nc.main([str(tmp_path)]) == 0
    assert ":tags: [hide-input]\n\nx = 1\n" in (tmp_path / "t.md").read_text()


def test_normaliser_refuses_a_chapter_without_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTEXT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.setattr("jupytext.config.JUPYTEXT_CEILING_DIRECTORIES", [str(tmp_path)])
    monkeypatch.setattr("jupytext.config.find_global_jupytext_configuration_file", lambda: None)
    shutil.copy2(CHAPTERS[0], tmp_path / CHAPTERS[0].name)
    with pytest.raises(SystemExit, match="no jupytext configuration"):
        nc.main([str(tmp_path)])


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_normalised_chapter_keeps_every_cell(chapter, normalised):
    """Only the layout changes: same cells (type, source, metadata), same notebook metadata except
    the kernelspec's display name (now the kernel's own) and the header's jupytext-version filter."""
    before = jupytext.read(chapter)
    after = jupytext.read(normalised / chapter.name)
    assert [(c.cell_type, c.source, c.metadata) for c in after.cells] == \
           [(c.cell_type, c.source, c.metadata) for c in before.cells]
    b, a = copy.deepcopy(before.metadata), copy.deepcopy(after.metadata)
    assert a["kernelspec"]["name"] == b["kernelspec"]["name"]
    for m in (a, b):
        m["kernelspec"].pop("display_name")
        m["jupytext"].pop("notebook_metadata_filter", None)
        m["jupytext"]["text_representation"] = {k: v for k, v in m["jupytext"]["text_representation"].items()
                                                 if k in ("extension", "format_name")}
    assert a == b


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_normalised_chapter_survives_md_ipynb_md_and_lab(chapter, normalised, tmp_path):
    path = normalised / chapter.name
    text = path.read_text(encoding="utf-8")
    assert "jupytext_version" not in header(text)["jupytext"]["text_representation"]
    assert_same(md_ipynb_md(path, tmp_path), text, "md → ipynb → md")
    root = lab_copy(tmp_path, [path])
    assert_same(lab_save(root, chapter.name, with_lab_state=False), text, "a plain open-and-save")
    assert_same(lab_save(root, chapter.name), text, "a save with everything Lab adds")
    assert_same(lab_save(root, chapter.name), text, "a second save")


def test_lab_state_would_leak_without_the_configuration(normalised, tmp_path):
    """The round trip proves something: without book/jupytext.toml, Lab's state reaches the file."""
    root = tmp_path / "noconfig"
    root.mkdir()
    shutil.copy2(normalised / "q1.md", root / "q1.md")
    saved = lab_save(root, "q1.md")
    assert "user_expressions" in saved and "source_hidden" in saved


def test_jupytext_upgrade_does_not_touch_the_header(normalised, tmp_path, monkeypatch):
    """The header keeps no jupytext version: another jupytext version writes the same text."""
    import jupytext.header

    path = normalised / "q1.md"
    text = path.read_text(encoding="utf-8")
    monkeypatch.setattr(jupytext.header, "__version__", "9.9.9")
    assert md_ipynb_md(path, tmp_path) == text


# --- notebooks exported or paired into book/ ------------------------------------------------------

def _sphinx_exclude_patterns() -> list[str]:
    from jupyter_book.config import get_final_config

    final, _ = get_final_config(user_yaml=REPO / "_config.yml", sourcedir=REPO, validate=False,
                                cli_config={"latex_individualpages": False})
    return final["exclude_patterns"]


def test_config_yml_excludes_notebooks_in_book():
    user = yaml.safe_load((REPO / "_config.yml").read_text())["exclude_patterns"]
    assert "book/*.ipynb" in user
    from sphinx.util.matching import Matcher

    matcher = Matcher(_sphinx_exclude_patterns())
    assert matcher("book/q3.ipynb") and matcher("book/Untitled.ipynb")
    assert not any(matcher(f"book/{p.name}") for p in BOOK.glob("*.md"))


def _discover(srcdir: Path, exclude: list[str], caplog) -> tuple[set, list[str]]:
    from sphinx.project import Project

    caplog.clear()
    project = Project(str(srcdir), {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"})
    with caplog.at_level(logging.WARNING):
        docnames = project.discover(exclude_paths=exclude)
    return docnames, [r.getMessage() for r in caplog.records if "multiple files found" in r.getMessage()]


def test_stray_notebook_next_to_a_chapter_does_not_break_the_build(tmp_path, caplog):
    """What `make book` hit: `jupytext --to ipynb book/q3.md` left book/q3.ipynb, and Sphinx found two
    files for the document book/q3 (a warning, an error under -W). With _config.yml it finds one."""
    (tmp_path / "book").mkdir()
    shutil.copy2(BOOK / "q3.md", tmp_path / "book" / "q3.md")
    nb = jupytext.read(BOOK / "q3.md")
    jupytext.write(nb, tmp_path / "book" / "q3.ipynb", fmt="ipynb")
    docnames, warnings = _discover(tmp_path, [], caplog)
    assert warnings, "control: without the pattern Sphinx reports two files for book/q3"
    docnames, warnings = _discover(tmp_path, _sphinx_exclude_patterns(), caplog)
    assert docnames == {"book/q3"} and not warnings
