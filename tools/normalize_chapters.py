"""Put the chapters (MyST notebooks) into the exact text JupyterLab and jupytext write back.

    .venv/bin/python tools/normalize_chapters.py            # rewrite book/*.md in place (= make chapters)
    .venv/bin/python tools/normalize_chapters.py --check    # list the chapters that would change; exit 1 if any
    .venv/bin/python tools/normalize_chapters.py DIR|FILE…  # other chapters (e.g. a copy of book/)

Only files whose text starts with a YAML header holding a ``jupytext:`` key are touched (references.md
is plain MyST and is left alone). Each is read with jupytext and written back with the jupytext
configuration that applies to it (book/jupytext.toml, the one JupyterLab's jupytext contents manager
loads), after three changes to the notebook's metadata:

* the header gets ``notebook_metadata_filter: -jupytext.text_representation.jupytext_version``
  under ``jupytext:`` (so upgrading jupytext never rewrites the header; see book/jupytext.toml for
  why this filter is in the header and not in the configuration);
* the kernelspec becomes the one the kernel of that name reports: JupyterLab sets it when the kernel
  starts (display name ``Python 3 (ipykernel)``), and an equal spec leaves the notebook unchanged;
* the metadata goes through an .ipynb (JSON with sorted keys), as in ``jupytext --to ipynb`` and
  back: jupytext writes the YAML header and cell options in the order it finds the keys.

The result is a fixed point: the text comes back byte-identical from md → ipynb → md and from a Lab
open-and-save. Running the script twice changes nothing the second time. Cells (sources, types,
metadata) are never changed, only their layout: the YAML header in block style, a blank line after
a code cell's ``:tags:`` line.
"""
from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.config import find_jupytext_configuration_file, load_jupytext_config

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"
FMT = {"extension": ".md", "format_name": "myst"}
NO_VERSION = "-jupytext.text_representation.jupytext_version"


def is_chapter(path: Path) -> bool:
    """A MyST notebook: the file opens with a YAML header that has a top-level ``jupytext:`` key."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].rstrip() != "---":
        return False
    for line in lines[1:]:
        if line.rstrip() == "---":
            return False
        if line.startswith("jupytext:"):
            return True
    return False


def chapter_config(path: Path):
    """The jupytext configuration that applies to ``path`` (JupytextConfiguration); an error if none.

    Without it jupytext would write its version into the header and keep Lab's cell metadata."""
    config_file = find_jupytext_configuration_file(str(path.resolve().parent))
    if config_file is None:
        raise SystemExit(f"error: no jupytext configuration found for {path} "
                         f"(expected a jupytext.toml beside it, like {BOOK / 'jupytext.toml'})")
    return load_jupytext_config(str(path.resolve()))


def installed_kernelspec(name: str) -> dict | None:
    """The kernelspec JupyterLab records when it starts kernel ``name``, or None when not installed."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:  # pragma: no cover - jupyter_client comes with jupyterlab
        return None
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return None
    return {"name": name, "display_name": spec.display_name, "language": spec.language}


def canonical_text(text: str, config) -> str:
    """The text jupytext writes for the notebook ``text`` (a MyST notebook), as described above."""
    nb = jupytext.reads(text, fmt=FMT, config=config)
    jmeta = nb.metadata.setdefault("jupytext", {})
    filters = [f.strip() for f in jmeta.get("notebook_metadata_filter", "").split(",") if f.strip()]
    if NO_VERSION not in filters and not {"all", "-all"} & set(filters):
        jmeta["notebook_metadata_filter"] = ",".join(filters + [NO_VERSION])
    if "kernelspec" in nb.metadata:
        spec = installed_kernelspec(nb.metadata["kernelspec"].get("name", ""))
        if spec is not None:
            nb.metadata["kernelspec"] = spec
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # sorted keys, as every .ipynb has them
    return jupytext.writes(nb, fmt=FMT, config=config)


def normalize(path: Path, check: bool = False) -> bool:
    """Rewrite ``path`` in canonical form (unless ``check``); return whether it was not canonical."""
    config = chapter_config(path)
    text = path.read_text(encoding="utf-8")
    new = canonical_text(text, config)
    for _ in range(3):  # it is a fixed point after one pass; make sure of it
        again = canonical_text(new, config)
        if again == new:
            break
        new = again
    else:
        raise SystemExit(f"error: jupytext does not reach a fixed point on {path}")
    if new == text:
        return False
    if not check:
        path.write_text(new, encoding="utf-8")
    return True


def chapters(targets: list[str]) -> list[Path]:
    paths: list[Path] = []
    for target in targets or [str(BOOK)]:
        p = Path(target)
        paths.extend(sorted(p.glob("*.md")) if p.is_dir() else [p])
    return [p for p in paths if is_chapter(p)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("targets", nargs="*", help="chapter files or folders (default: book/)")
    ap.add_argument("--check", action="store_true", help="change nothing; exit 1 if a chapter is not canonical")
    ap.add_argument("--diff", action="store_true", help="with --check: print what would change")
    args = ap.parse_args(argv)
    changed = []
    for path in chapters(args.targets):
        if normalize(path, check=args.check):
            changed.append(path)
            if args.check and args.diff:
                old = path.read_text(encoding="utf-8")
                new = canonical_text(old, chapter_config(path))
                sys.stdout.writelines(difflib.unified_diff(
                    old.splitlines(True), new.splitlines(True), f"{path}", f"{path} (canonical)"))
    verb = "not in canonical form" if args.check else "normalised"
    for path in changed:
        print(f"{verb}: {path}")
    if args.check and changed:
        print("run `make chapters` (tools/normalize_chapters.py) to fix", file=sys.stderr)
        return 1
    if not changed:
        print("all chapters already in canonical form")
    return 0


if __name__ == "__main__":
    sys.exit(main())
