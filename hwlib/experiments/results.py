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
import shutil
import subprocess
import sys
import tempfile
import zipfile
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


def _umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file renamed over ``path``; the file gets the umask's permissions.
    Any OS error (read-only folder, full disk) becomes a ResultError and leaves ``path`` untouched."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise ResultError(f"cannot write {path} ({e.strerror}); make its folder writable or set "
                          "HWLIB_RESULTS to a writable folder, then rerun the same command") from e
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ResultError(f"cannot write {path} ({e.strerror or e}); nothing was overwritten — free space "
                              "or set HWLIB_RESULTS to another folder, then rerun the same command to "
                              "resume") from e
        raise


MIN_FREE_BYTES = 8 << 20  # a record is tens of kB, its weights up to a few MB


def check_writable(folder: Path, min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before training when records could not be written into ``folder`` (created if needed):
    not creatable, read-only, or less than ``min_free`` bytes free."""
    made = []
    try:
        for p in reversed([folder, *folder.parents]):
            if not p.exists():
                p.mkdir()
                made.append(p)
        fd, tmp = tempfile.mkstemp(prefix=".hwlib-write-test.", dir=folder)
        os.close(fd)
        os.unlink(tmp)
        free = shutil.disk_usage(folder).free
    except OSError as e:
        for p in reversed(made):
            try:
                p.rmdir()
            except OSError:
                pass
        raise ResultError(f"cannot write results into {folder} ({e.strerror}); make it writable or set "
                          "HWLIB_RESULTS to a writable folder — nothing was trained or changed") from e
    if free < min_free:
        raise ResultError(f"only {free // 1024:,} KiB free for results in {folder} (at least "
                          f"{min_free >> 20} MiB needed); free space or set HWLIB_RESULTS to another folder "
                          "— nothing was trained or changed")


def save_record(record: dict, arrays: dict[str, np.ndarray] | None = None,
                root: Path | None = None) -> Path:
    """Write ``record`` (and ``arrays`` as an .npz beside it) atomically; return the JSON path.

    Refuses (ResultError) to replace a complete record with an incomplete one; an unreadable record
    in the way is moved aside (``<run>.json.corrupt``), never silently lost.
    """
    record = {k: v for k, v in record.items() if not k.startswith("_")}
    slug = record["dataset"]["slug"]
    path = record_path(record["experiment"], record["run"], slug, record["profile"], root)
    if path.exists():
        old, why = _parse(path)
        if why:
            move_aside(path)
        if old is not None and old.get("complete") and not record.get("complete"):
            raise ResultError(
                f"refusing to overwrite the complete record {path} with a partial one; "
                "delete it by hand if you really want to discard it")
    if arrays:
        npz = path.with_suffix(".npz")
        _atomic_write(npz, lambda f: np.savez_compressed(f, **arrays))
        record = {**record, "arrays_file": npz.name}
    return write_json(path, record)


def move_aside(path: Path, suffix: str = ".corrupt") -> Path:
    """Rename an unusable record (and its arrays) to ``<name><suffix>[.N]``, which no reader globs."""
    dest = path.with_name(path.name + suffix)
    n = 1
    while dest.exists():
        dest, n = path.with_name(f"{path.name}{suffix}.{n}"), n + 1
    try:
        os.replace(path, dest)
        npz = path.with_suffix(".npz")
        if npz.exists():
            os.replace(npz, dest.with_name(dest.name.replace(path.name, npz.name, 1)))
    except OSError as e:
        raise ResultError(f"cannot move the unusable record {path} aside ({e.strerror}); make its folder "
                          "writable, or move it away by hand") from e
    return dest


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy values converted, NaN/inf as null), atomically."""
    payload = json.dumps(_jsonable(obj), indent=1).encode() + b"\n"
    _atomic_write(path, lambda f: f.write(payload))
    return path


REQUIRED = {"experiment": str, "run": str, "profile": str, "dataset": dict, "config": dict,
            "history": dict, "summary": dict, "provenance": dict}


def _problems(rec: dict, path: Path) -> list[str]:
    """What a complete record lacks, or where it disagrees with the place it is stored."""
    bad = [f"no {k!r}" for k, t in REQUIRED.items() if not isinstance(rec.get(k), t)]
    if bad:
        return bad
    ds, summ = rec["dataset"], rec["summary"]
    bad += [f"no dataset {k!r}" for k in ("name", "slug", "sha256") if not isinstance(ds.get(k), str)]
    bad += [f"no summary {k!r}" for k in ("best_dev_acc", "best_epoch")
            if not isinstance(summ.get(k), (int, float)) or isinstance(summ.get(k), bool)]
    if not bad:
        where = (path.parent.parent.parent.name, path.parent.parent.name, path.parent.name, path.stem)
        says = (ds["slug"], rec["profile"], rec["experiment"], rec["run"])
        if where != says:
            bad.append(f"it says {'/'.join(says)} but lies in {'/'.join(where)}")
    return bad


def _parse(path: Path) -> tuple[dict | None, str | None]:
    """(record, None), or (None, what is wrong with the file)."""
    try:
        rec = json.loads(path.read_text())
    except OSError as e:
        return None, f"unreadable: {e.strerror}"
    except ValueError as e:
        return None, f"not valid JSON ({e})"
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA:
        return None, f"not a hwlib result record of schema {SCHEMA}"
    if rec.get("complete"):
        bad = _problems(rec, path)
        if bad:
            return None, f"marked complete but {', '.join(bad)}"
    rec["_path"] = str(path)
    return rec, None


def _read_json(path: Path) -> dict:
    rec, why = _parse(path)
    if why:
        raise ResultError(f"cannot use result record {path}: {why}; rerun with --force to move it aside "
                          "and redo the run")
    return rec


def load_record(experiment: str, run: str, slug: str, profile: str, root: Path | None = None) -> dict | None:
    """The record of one run, or None if there is none."""
    path = record_path(experiment, run, slug, profile, root)
    return _read_json(path) if path.exists() else None


def scan(experiment: str, slug: str, profile: str, root: Path | None = None,
         sha256: str | None = None) -> tuple[list[dict], list[tuple[Path, str]]]:
    """(readable records, [(path, what is wrong)]) of an experiment for one dataset and profile; with
    ``sha256``, a complete record made from other data (another content hash) counts as wrong."""
    folder = record_path(experiment, "x", slug, profile, root).parent
    good, bad = [], []
    for p in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec, why = _parse(p)
        if why:
            bad.append((p, why))
            continue
        got = rec.get("dataset", {}).get("sha256")
        if sha256 and rec.get("complete") and got != sha256:
            bad.append((p, f"recorded from other data: sha256 {str(got)[:12]}…, the data now loaded is "
                           f"{sha256[:12]}…"))
            continue
        good.append(rec)
    return good, bad


def bad_records_error(bad: list[tuple[Path, str]], experiments: list[str]) -> ResultError:
    """One line naming every unusable record and the remedy: ``run EXPERIMENT --force`` for each
    experiment that holds one."""
    listed = "; ".join(f"{p} ({why})" for p, why in bad)
    commands = " and ".join(f"`python -m hwlib run {e} --force`" for e in dict.fromkeys(experiments))
    return ResultError(f"{len(bad)} unusable result record{'s' if len(bad) > 1 else ''}: {listed} — rerun with "
                       f"{commands} to move them aside (as .corrupt) and redo those runs")


def load_all(experiment: str, slug: str, profile: str, root: Path | None = None,
             complete_only: bool = True) -> list[dict]:
    """Every record of an experiment for one dataset and profile, sorted by run name (a ResultError
    naming every unreadable one, if any)."""
    recs, bad = scan(experiment, slug, profile, root)
    if bad:
        raise bad_records_error(bad, [experiment])
    return [r for r in recs if r.get("complete") or not complete_only]


def arrays_ok(record: dict) -> bool:
    """A record's arrays file (if it has one) is present and readable as an archive."""
    name = record.get("arrays_file")
    if not name:
        return True
    try:
        with zipfile.ZipFile(Path(record["_path"]).with_name(name)) as zf:
            return bool(zf.namelist())
    except (OSError, zipfile.BadZipFile, EOFError, KeyError):
        return False


def load_arrays(record: dict) -> dict[str, np.ndarray]:
    """The arrays (e.g. best-checkpoint weights) saved with a record."""
    name = record.get("arrays_file")
    if not name:
        return {}
    path = Path(record["_path"]).with_name(name)
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        raise ResultError(f"cannot read arrays {path} ({e}); rerun `python -m hwlib run "
                          f"{record.get('experiment', 'NAME')}` to regenerate it") from e


def best_run(records: list[dict]) -> dict:
    """The run with the highest best-dev accuracy; ties go to the run that reached it at an earlier
    epoch, then to the run name's order."""
    if not records:
        raise ResultError("no records to choose the best run from; run the experiment first "
                          "(python -m hwlib run NAME)")
    return min(records, key=lambda r: (-r["summary"]["best_dev_acc"], r["summary"]["best_epoch"], r["run"]))


def config_changes(recorded: dict, wanted: dict) -> dict[str, tuple[Any, Any]]:
    """``{field: (recorded value, wanted value)}`` for every field of ``wanted`` that ``recorded`` lacks
    or stores differently (compared as JSON, so a tuple equals the stored list)."""
    return {k: (recorded.get(k), v) for k, v in wanted.items()
            if k not in recorded or _jsonable(recorded[k]) != _jsonable(v)}


def _show(v: Any) -> str:
    """A config value for people: floats short (``0.0001``) unless that would hide a difference."""
    if isinstance(v, float):
        return f"{v:g}" if float(f"{v:g}") == v else repr(v)
    return json.dumps(_jsonable(v), ensure_ascii=False)


def describe_changes(changes: dict[str, tuple[Any, Any]], recorded: dict) -> str:
    """``recorded with lr 0.0001, the code now says lr 0.001`` for the fields of ``config_changes``."""
    old = ", ".join(f"{k} {_show(a)}" if k in recorded else f"no {k}" for k, (a, _) in changes.items())
    new = ", ".join(f"{k} {_show(b)}" for k, (_, b) in changes.items())
    return f"recorded with {old}, the code now says {new}"


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
