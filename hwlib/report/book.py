"""What chapter cells call besides tables and figures: dataset banners, recorded-or-live results (chapters never
train for minutes), the package source on the page, and the facts the sentences quote (``{eval}`` roles)."""
from __future__ import annotations

import functools
import html
import inspect
import json
import sys
import tempfile
import textwrap
from pathlib import Path

from hwlib.data import active_profile, dataset_slug
from hwlib.experiments import results
from hwlib.paths import REPO_ROOT, results_dir
from hwlib.report.common import HTMLBlock, admonition
from hwlib.report.fmt import fmt


def dataset_banner(obj, live: bool = False) -> HTMLBlock:
    """Name the dataset (and profile, hash, provenance) behind ``obj``: a ``Letters``, a record or a list of records."""
    if isinstance(obj, list):
        obj = obj[0] if obj else None
    if obj is None:
        return admonition("Dataset", "<p>No records.</p>", "warning")
    if isinstance(obj, dict) and live:
        ds, extra = obj["dataset"], ""
    elif isinstance(obj, dict):
        ds, prof = obj["dataset"], obj.get("provenance", {})
        extra = (f" Recorded by <code>{html.escape(prof.get('command') or '?')}</code> at git "
                 f"<code>{(prof.get('git_commit') or '?')[:10]}</code> on {html.escape(prof.get('finished') or '?')}"
                 f" ({html.escape(prof.get('hardware', {}).get('cpu', '?'))}).")
    else:
        ds, extra = obj.describe(), ""
    synth = ds.get("synthetic")
    sizes = ", ".join(f"{k} {v:,}" for k, v in ds.get("sizes", {}).items())
    fake = " — <b>synthetic letters (handwriting fonts drawn by a simulated pen), not real EMNIST</b>" if synth else ""
    body = (f"<p><b>{html.escape(ds['name'])}</b>{fake}; profile <code>{html.escape(ds['profile'])}</code> ({sizes}); "
            f"sha256 <code>{ds['sha256'][:16]}…</code>.{extra}</p>")
    if live:
        body += ("<p><b>No recorded full-profile results exist for this dataset, so these numbers were "
                 "computed live in the quick profile</b> (a small subset, few epochs): they show the code "
                 "path, not the answer. Record the full run with <code>make reproduce</code>.</p>")
    return admonition("Dataset behind these numbers", body, "warning" if (synth or live) else "note")


@functools.lru_cache(maxsize=None)
def _live_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="hwlib-live-"))


@functools.lru_cache(maxsize=None)
def small_letters():
    """The letters a chapter trains on live, in seconds: the quick profile of the page's dataset, or of the
    synthetic letters when that dataset has no training images (e.g. the real test-only fragment)."""
    from hwlib.data import load_letters
    data = load_letters(profile="quick")
    if len(data.train) == 0:
        print(f"hwlib: {data.name} ({data.source}) has no training images; the live quick runs use the "
              "SYNTHETIC letters instead (point HWLIB_DATA at a full dataset for real numbers)",
              file=sys.stderr)
        data = load_letters("synthetic", profile="quick")
    return data


@functools.lru_cache(maxsize=None)
def _live(experiment: str, slug: str) -> tuple[dict, ...]:
    from hwlib.experiments import run_experiment
    return tuple(run_experiment(experiment, "quick", root=_live_root(), data=small_letters()))


def recorded_or_live(experiment: str, profile: str | None = None) -> tuple[list[dict], bool]:
    """(records, live): recorded runs for the active dataset + profile, else a live quick run into one throw-away
    folder per session (experiments that need others share it, so nothing is trained twice)."""
    profile = profile or active_profile()
    slug = dataset_slug()
    recs = results.load_all(experiment, slug, profile)
    if recs:
        return recs, False
    return list(_live(experiment, slug)), True


class Source:
    """The source code of hwlib's functions or classes as a highlighted code block, with the files they come from."""

    def __init__(self, *objs):
        self.objs = objs

    def text(self) -> str:
        return "\n\n".join(textwrap.dedent(inspect.getsource(o)).rstrip() for o in self.objs)

    def _repr_markdown_(self) -> str:
        files = dict.fromkeys(Path(inspect.getsourcefile(o)).resolve().relative_to(REPO_ROOT).as_posix()
                              for o in self.objs)
        names = ", ".join(f"`{o.__qualname__}`" for o in self.objs)
        return f"```python\n{self.text()}\n```\n\n{names} from " + ", ".join(f"`{f}`" for f in files)


show_source = Source    # show the package's own code of objs on the page: what the page shows is what ran


class Shown:
    """A value as the prose shows it: plain text, without the quotes a string's repr would add."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


class Facts(dict):
    """The numbers and labels a chapter's sentences quote with ``{eval}`` roles: ``facts["perc_dev:acc"]`` is the fact
    ``perc_dev`` as the book prints an accuracy (``hwlib.report.fmt.KINDS``), ``facts["perc_epoch"]`` is it as is."""

    def __getitem__(self, key: str) -> Shown:
        name, _, kind = key.partition(":")
        return Shown(fmt(dict.__getitem__(self, name), kind))

    def add(self, prefix: str, facts: dict) -> None:
        """Keep every fact of ``facts`` as ``<prefix>_<key>``."""
        for key, value in facts.items():
            dict.__setitem__(self, f"{prefix}_{key}", value)


def realism_rows(record: dict) -> dict | None:
    """How models trained on ``record``'s stand-in read real letters (rows of results/realism.json)."""
    if not record["dataset"].get("synthetic"):
        return None
    try:                                   # "synthetic-letters-v4" -> the rows of "v4"
        return json.loads((results_dir() / "realism.json").read_text())["versions"][
            record["dataset"]["name"].rsplit("-", 1)[-1]]["rows"]
    except (OSError, ValueError, KeyError):
        return None
