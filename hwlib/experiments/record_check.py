"""What makes a parsed result record usable (``problems``: what is wrong, in words), and how a
record's configuration differs from the code's (``config_changes``, ``describe_changes``).
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np

from hwlib.paths import special_kind

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")   # experiment, run, dataset and profile names
REQUIRED = {"experiment": str, "run": str, "profile": str, "dataset": dict, "config": dict,
            "history": dict, "summary": dict, "provenance": dict}
MAX_RECORD_BYTES = 16 << 20   # a record is tens of kB
MAX_ARRAYS_BYTES = 256 << 20  # weights: a few MB (the widest Q2 net stores well under 10 MB)
MAX_NESTING = 6               # lists/objects inside config, summary, provenance
_JSON_SCALARS = (str, int, float, bool, type(None))


def _type(v: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(v), type(v).__name__)


def _plain_json(v: Any, depth: int = MAX_NESTING) -> bool:
    """``v`` is JSON nested at most ``depth`` deep (checked no deeper, whatever it holds), numbers finite."""
    if isinstance(v, float):
        return math.isfinite(v)
    if isinstance(v, _JSON_SCALARS):
        return True
    if depth <= 0:
        return False
    if isinstance(v, list):
        return all(_plain_json(x, depth - 1) for x in v)
    if isinstance(v, dict):
        return all(_plain_json(x, depth - 1) for x in v.values())
    return False


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def problems(rec: dict, path: Path) -> list[str]:
    """Everything wrong with a parsed record: a field the code or the book reads of the wrong type, a
    number not finite, an accuracy outside [0, 1], absurd nesting, a bad arrays file; for a complete
    record also a missing field or a place that disagrees with it. Empty when the record is usable."""
    bad = []
    complete = rec.get("complete", False)
    if not isinstance(complete, bool):
        return [f"'complete' is {_type(complete)}, not true or false"]
    for k, t in REQUIRED.items():
        if k in rec and not isinstance(rec[k], t):
            bad.append(f"{k!r} is {_type(rec[k])}, not {_type(t())}")
        elif k not in rec and complete:
            bad.append(f"no {k!r}")
    if bad:
        return bad
    ds = rec.get("dataset", {})
    for k, t in (("name", str), ("slug", str), ("sha256", str), ("source", str), ("profile", str),
                 ("synthetic", bool), ("sizes", dict), ("notes", list)):
        if k in ds and not isinstance(ds[k], t):
            bad.append(f"dataset {k!r} is {_type(ds[k])}, not {_type(t())}")
        elif k not in ds and complete and k in ("name", "slug", "sha256"):
            bad.append(f"no dataset {k!r}")
    if isinstance(ds.get("sizes"), dict) and not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                      for v in ds["sizes"].values()):
        bad.append("dataset 'sizes' are not counts")
    if isinstance(ds.get("notes"), list) and not all(isinstance(v, str) for v in ds["notes"]):
        bad.append("dataset 'notes' are not strings")
    for section in ("config", "summary", "provenance"):
        if section in rec and not _plain_json(rec[section]):
            bad.append(f"{section!r} holds values nested deeper than {MAX_NESTING} levels or numbers that are "
                       "not finite")
    summ = rec.get("summary", {})
    for k, v in summ.items():
        if v is None:
            continue
        if k.endswith("_acc") and not (_number(v) and 0 <= v <= 1):
            bad.append(f"summary {k!r} is {v!r:.40}, not an accuracy in [0, 1]")
        elif (k.endswith(("_loss", "_s")) or k == "best_epoch") and not _number(v):
            bad.append(f"summary {k!r} is {_type(v)}, not a number")
    if "best_epoch" in summ and not (isinstance(summ["best_epoch"], int) and not isinstance(summ["best_epoch"], bool)
                                    and summ["best_epoch"] >= 0):
        bad.append("summary 'best_epoch' is not an epoch number")
    if complete:
        bad += [f"no summary {k!r}" for k in ("best_dev_acc", "best_epoch") if summ.get(k) is None]
    hist = rec.get("history", {})
    if not all(isinstance(v, list) and all(x is None or _number(x) for x in v) for v in hist.values()):
        bad.append("'history' columns are not lists of numbers")
    elif len({len(v) for v in hist.values()}) > 1:
        bad.append("'history' columns differ in length")
    if "arrays_file" in rec:
        bad += _arrays_file_problems(rec["arrays_file"], path)
    for k in ("experiment", "run", "profile"):
        if k in rec and not NAME.match(rec[k]):
            bad.append(f"{k!r} {rec[k]!r:.60} is not a valid name")
    if not bad and complete:
        where = (path.parent.parent.parent.name, path.parent.parent.name, path.parent.name, path.stem)
        says = (ds["slug"], rec["profile"], rec["experiment"], rec["run"])
        if where != says:
            bad.append(f"it says {'/'.join(x[:80] for x in says)} but lies in {'/'.join(where)}")
    return bad


def _arrays_file_problems(name: Any, path: Path) -> list[str]:
    """``arrays_file`` must be ``<run>.npz`` beside the record: where it exists, a regular file of bounded size."""
    own = path.with_suffix(".npz")
    if name != own.name:
        return [f"'arrays_file' is {name!r:.80}, not {own.name!r} (a record's arrays lie beside it)"]
    try:
        st = os.stat(own)
        inside = own.resolve().parent == path.parent.resolve()
    except FileNotFoundError:
        return []  # a deleted weights file is regenerated by running again
    except (OSError, RuntimeError) as e:
        return [f"its arrays file {own.name} cannot be read ({getattr(e, 'strerror', None) or e})"]
    if not inside:
        return [f"its arrays file {own.name} is a link to a file outside the record's folder"]
    kind = special_kind(st.st_mode)
    if kind or not stat.S_ISREG(st.st_mode):
        return [f"its arrays file {own.name} is {kind or 'not a regular file'}"]
    if st.st_size > MAX_ARRAYS_BYTES:
        return [f"its arrays file {own.name} has {st.st_size:,} bytes, more than weights need "
                f"(at most {MAX_ARRAYS_BYTES:,})"]
    return []


def jsonable(x: Any) -> Any:
    """``x`` as JSON stores it: numpy values as Python numbers, NaN/inf as null, paths as text."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.generic):
        return jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN/inf; null marks "not defined"
    if isinstance(x, Path):
        return str(x)
    return x


def config_changes(recorded: dict, wanted: dict) -> dict[str, tuple[Any, Any]]:
    """``{field: (recorded value, wanted value)}`` for every field of ``wanted`` that ``recorded`` lacks
    or stores differently (compared as JSON, so a tuple equals the stored list)."""
    return {k: (recorded.get(k), v) for k, v in wanted.items()
            if k not in recorded or jsonable(recorded[k]) != jsonable(v)}


def _show(v: Any) -> str:
    """A config value for people: floats short (``0.0001``) unless that would hide a difference."""
    if isinstance(v, float):
        return f"{v:g}" if float(f"{v:g}") == v else repr(v)
    return json.dumps(jsonable(v), ensure_ascii=False)


def describe_changes(changes: dict[str, tuple[Any, Any]], recorded: dict) -> str:
    """``recorded with lr 0.0001, the code now says lr 0.001`` for the fields of ``config_changes``."""
    old = ", ".join(f"{k} {_show(a)}" if k in recorded else f"no {k}" for k, (a, _) in changes.items())
    new = ", ".join(f"{k} {_show(b)}" for k, (_, b) in changes.items())
    return f"recorded with {old}, the code now says {new}"
