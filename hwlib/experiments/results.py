"""Recorded results: one JSON record per training run, with provenance, written atomically.

Layout: ``results/<dataset slug>/<profile>/<experiment>/<run>.json`` (+ ``<run>.npz`` for arrays such
as best-checkpoint weights). A write goes to a temporary file in the same folder and is renamed over
the target (``os.replace``), so a reader never sees half a file; a *complete* record is never
replaced by an incomplete one.
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from hwlib.errors import ConfigError, ResultError
from hwlib.paths import REPO_ROOT, results_dir

SCHEMA = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")


def _check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ConfigError(
            f"invalid {kind} name {value!r}: use letters, digits and . _ = + - only "
            "(it becomes part of a file name under results/)")
    return value


def record_path(experiment: str, run: str, slug: str, profile: str, root: Path | None = None) -> Path:
    """Path of the JSON record of one run."""
    for kind, v in (("experiment", experiment), ("run", run), ("dataset", slug), ("profile", profile)):
        _check_name(kind, v)
    return Path(root or results_dir()) / slug / profile / experiment / f"{run}.json"


# ---------------------------------------------------------------- provenance
def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware() -> dict:
    """CPU (and GPU, when torch is loaded and sees one) the run used."""
    hw = {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        hw["gpu"] = torch.cuda.get_device_name(0)
    return hw


def provenance(wall_time_s: float, started: str | None = None, command: str | None = None) -> dict:
    """Who/what/where produced a record: git commit, command, library versions, hardware, time."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "numba"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": versions,
        "hardware": hardware(),
        "started": started,
        "finished": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "wall_time_s": round(float(wall_time_s), 3),
    }


# ---------------------------------------------------------------- records
def make_record(experiment: str, run: str, *, dataset: dict, profile: str, config: dict,
                history: dict, summary: dict, wall_time_s: float, complete: bool = True,
                started: str | None = None, command: str | None = None) -> dict:
    """Assemble a record (dataset = ``Letters.describe()``)."""
    _check_name("experiment", experiment)
    _check_name("run", run)
    lengths = {k: len(v) for k, v in history.items()}
    if len(set(lengths.values())) > 1:
        raise ResultError(f"history columns of {experiment}/{run} differ in length: {lengths}")
    return {
        "schema": SCHEMA, "experiment": experiment, "run": run, "profile": profile,
        "complete": bool(complete), "dataset": dataset, "config": config,
        "history": history, "summary": summary,
        "provenance": provenance(wall_time_s, started=started, command=command),
    }


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, float) and not math.isfinite(x):
        return None  # JSON has no NaN/inf; null marks "not defined"
    if isinstance(x, Path):
        return str(x)
    return x


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_record(record: dict, arrays: dict[str, np.ndarray] | None = None,
                root: Path | None = None) -> Path:
    """Write ``record`` (and ``arrays`` as an .npz beside it) atomically; return the JSON path.

    Refuses (ResultError) to replace a complete record with an incomplete one.
    """
    record = {k: v for k, v in record.items() if not k.startswith("_")}
    slug = record["dataset"]["slug"]
    path = record_path(record["experiment"], record["run"], slug, record["profile"], root)
    old = _read_json(path) if path.exists() else None
    if old is not None and old.get("complete") and not record.get("complete"):
        raise ResultError(
            f"refusing to overwrite the complete record {path} with a partial one; "
            "delete it by hand if you really want to discard it")
    if arrays:
        npz = path.with_suffix(".npz")
        _atomic_write(npz, lambda f: np.savez_compressed(f, **arrays))
        record = {**record, "arrays_file": npz.name}
    return write_json(path, record)


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy values converted, NaN/inf as null), atomically."""
    payload = json.dumps(_jsonable(obj), indent=1).encode() + b"\n"
    _atomic_write(path, lambda f: f.write(payload))
    return path


def _read_json(path: Path) -> dict:
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ResultError(f"cannot read result record {path}: {e}. Delete it and rerun the experiment "
                          "(python -m hwlib run ...)") from e
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        raise ResultError(f"{path} is not a hwlib result record of schema {SCHEMA}; delete it and rerun")
    rec["_path"] = str(path)
    return rec


def load_record(experiment: str, run: str, slug: str, profile: str, root: Path | None = None) -> dict | None:
    """The record of one run, or None if there is none."""
    path = record_path(experiment, run, slug, profile, root)
    return _read_json(path) if path.exists() else None


def load_all(experiment: str, slug: str, profile: str, root: Path | None = None,
             complete_only: bool = True) -> list[dict]:
    """Every record of an experiment for one dataset and profile, sorted by run name."""
    folder = record_path(experiment, "x", slug, profile, root).parent
    if not folder.is_dir():
        return []
    recs = [_read_json(p) for p in sorted(folder.glob("*.json"))]
    return [r for r in recs if r.get("complete") or not complete_only]


def load_arrays(record: dict) -> dict[str, np.ndarray]:
    """The arrays (e.g. best-checkpoint weights) saved with a record."""
    name = record.get("arrays_file")
    if not name:
        return {}
    path = Path(record["_path"]).with_name(name)
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ResultError(f"cannot read arrays {path}: {e}; rerun the experiment to regenerate it") from e


def best_run(records: list[dict]) -> dict:
    """The run with the highest best-dev accuracy; ties go to the run that reached it at an earlier
    epoch, then to the run name's order."""
    if not records:
        raise ResultError("no records to choose the best run from; run the experiment first "
                          "(python -m hwlib run NAME)")
    return min(records, key=lambda r: (-r["summary"]["best_dev_acc"], r["summary"]["best_epoch"], r["run"]))


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
