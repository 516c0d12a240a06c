"""Recorded results: one JSON record per training run, with provenance, written atomically.

Layout: ``results/<dataset slug>/<profile>/<experiment>/<run>.json`` (+ ``<run>.npz`` for arrays such
as best-checkpoint weights); a *complete* record is never replaced by an incomplete one.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from hwlib.errors import ConfigError, ResultError
from hwlib.experiments.provenance import provenance
from hwlib.experiments.record_check import MAX_ARRAYS_BYTES, MAX_RECORD_BYTES, NAME, jsonable, problems
from hwlib.paths import SpecialFile, clean_stale_temps, make_temp, open_regular, results_dir, shown

SCHEMA = 1


def _check_name(kind: str, value: str) -> str:
    if not isinstance(value, str) or not NAME.match(value):
        raise ConfigError(
            f"invalid {kind} name {value!r}: use letters, digits and . _ = + - only "
            "(it becomes part of a file name under results/)")
    return value


def record_path(experiment: str, run: str, slug: str, profile: str, root: Path | None = None) -> Path:
    """Path of the JSON record of one run."""
    for kind, v in (("experiment", experiment), ("run", run), ("dataset", slug), ("profile", profile)):
        _check_name(kind, v)
    return Path(root or results_dir()) / slug / profile / experiment / f"{run}.json"


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


TMP_PATTERN = ".*.tmp"                   # the temporary files of _atomic_write
WRITE_TEST_PATTERN = ".hwlib-write-test.*"  # those of check_writable


def _atomic_write(path: Path, write) -> None:
    """Write through a locked temporary file renamed over ``path`` (a reader never sees half a file),
    with the umask's permissions; an OS error becomes a ResultError and leaves ``path`` untouched."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temp(path.parent, f".{path.name}.", ".tmp")
    except OSError as e:
        raise ResultError(f"cannot write {shown(path)} ({e.strerror or e}); make its folder writable or set "
                          "HWLIB_RESULTS to a writable folder, then rerun the same command") from e
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # before closing: the lock guards the file until it is renamed
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise ResultError(f"cannot write {shown(path)} ({e.strerror or e}); nothing was overwritten — free "
                              "space or set HWLIB_RESULTS to another folder, then rerun the same command to "
                              "resume") from e
        raise


def clean_temps(folder: Path) -> list[Path]:
    """Remove the temporary files that killed writers left in ``folder`` (never raises)."""
    removed = clean_stale_temps(folder, TMP_PATTERN) + clean_stale_temps(folder, WRITE_TEST_PATTERN)
    if removed:
        print(f"hwlib: removed {len(removed)} temporary file(s) left in {shown(folder)} by an interrupted "
              "run", file=sys.stderr)
    return removed


MIN_FREE_BYTES = 8 << 20  # a record is tens of kB, its weights up to a few MB


def check_writable(folder: Path, min_free: int = MIN_FREE_BYTES) -> None:
    """Fail before training when ``folder`` (created if needed, also by several processes at once) is
    not writable or has less than ``min_free`` bytes free; folders it made are removed again then."""
    made = []
    try:
        for p in reversed([folder, *folder.parents]):
            if p.is_dir():
                continue
            try:
                p.mkdir()
                made.append(p)
            except FileExistsError:
                if not p.is_dir():  # a file in the way (another process's folder would be fine)
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(p)) from None
        fd, tmp = make_temp(folder, ".hwlib-write-test.", "")
        try:
            os.unlink(tmp)
        finally:
            os.close(fd)
        free = shutil.disk_usage(folder).free
    except OSError as e:
        for p in reversed(made):
            try:
                p.rmdir()
            except OSError:
                pass
        raise ResultError(f"cannot write results into {shown(folder)} ({e.strerror or e}); make it writable or "
                          "set HWLIB_RESULTS to a writable folder with a shorter path — nothing was trained or "
                          "changed") from e
    if free < min_free:
        raise ResultError(f"only {free // 1024:,} KiB free for results in {shown(folder)} (at least "
                          f"{min_free >> 20} MiB needed); free space or set HWLIB_RESULTS to another folder "
                          "— nothing was trained or changed")


def save_record(record: dict, arrays: dict[str, np.ndarray] | None = None,
                root: Path | None = None) -> Path:
    """Write ``record`` (and ``arrays`` as an .npz beside it) atomically; return the JSON path. Refuses
    to replace a complete record with an incomplete one; an unreadable record in the way is moved aside."""
    record = {k: v for k, v in record.items() if not k.startswith("_")}
    slug = record["dataset"]["slug"]
    path = record_path(record["experiment"], record["run"], slug, record["profile"], root)
    if os.path.lexists(path):
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
    while os.path.lexists(dest):
        dest, n = path.with_name(f"{path.name}{suffix}.{n}"), n + 1
    try:
        os.replace(path, dest)
    except FileNotFoundError:
        return dest
    except OSError as e:
        raise ResultError(f"cannot move the unusable record {shown(path)} aside ({e.strerror}); make its "
                          "folder writable, or move it away by hand") from e
    npz = path.with_suffix(".npz")
    try:
        if os.path.lexists(npz):
            os.replace(npz, dest.with_name(dest.name.replace(path.name, npz.name, 1)))
    except FileNotFoundError:
        pass
    except OSError as e:
        raise ResultError(f"cannot move the arrays {shown(npz)} of an unusable record aside ({e.strerror}); "
                          "make its folder writable, or move it away by hand") from e
    return dest


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON (numpy values converted, NaN/inf as null), atomically."""
    payload = json.dumps(jsonable(obj), indent=1).encode() + b"\n"
    _atomic_write(path, lambda f: f.write(payload))
    return path


def _parse(path: Path) -> tuple[dict | None, str | None]:
    """(record, None), or (None, what is wrong with the file); never opens a FIFO, socket or device."""
    try:
        with open_regular(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_RECORD_BYTES:
                return None, f"{size:,} bytes, more than a record can be (at most {MAX_RECORD_BYTES:,})"
            text = f.read(MAX_RECORD_BYTES + 1)
    except SpecialFile as e:
        return None, f"{e.kind}, not a regular file"
    except OSError as e:
        return None, f"unreadable: {e.strerror or e}"
    try:
        rec = json.loads(text)
    except RecursionError:
        return None, "not a usable record (JSON nested too deeply)"
    except ValueError as e:  # invalid JSON, invalid UTF-8, absurd integers
        return None, f"not valid JSON ({str(e)[:200]})"
    if not isinstance(rec, dict) or rec.get("schema") != SCHEMA or isinstance(rec.get("schema"), bool):
        return None, f"not a hwlib result record of schema {SCHEMA}"
    try:
        bad = problems(rec, path)
    except RecursionError:
        bad = ["nested too deeply"]
    if bad:
        return None, f"{'marked complete but ' if rec.get('complete') is True else ''}{', '.join(bad)}"
    rec["_path"] = str(path)
    return rec, None


def load_record(experiment: str, run: str, slug: str, profile: str, root: Path | None = None) -> dict | None:
    """The record of one run, or None if there is none (a ResultError if it is unusable)."""
    path = record_path(experiment, run, slug, profile, root)
    if not os.path.lexists(path):
        return None
    rec, why = _parse(path)
    if why:
        raise ResultError(f"cannot use result record {path}: {why}; rerun with --force to move it aside "
                          "and redo the run")
    return rec


def scan(experiment: str, slug: str, profile: str, root: Path | None = None,
         sha256: str | None = None) -> tuple[list[dict], list[tuple[Path, str]]]:
    """(readable records, [(path, what is wrong)]) of an experiment for one dataset and profile; with
    ``sha256``, a complete record made from other data counts as wrong."""
    folder = record_path(experiment, "x", slug, profile, root).parent
    good, bad = [], []
    try:
        paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    except OSError as e:
        raise ResultError(f"cannot read the results folder {shown(folder)} ({e.strerror or e}); set "
                          "HWLIB_RESULTS to a readable folder with a shorter path") from None
    for p in paths:
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
    """One line naming every unusable record and the remedy, ``run EXPERIMENT --force``."""
    listed = "; ".join(f"{p} ({why})" for p, why in bad)
    commands = " and ".join(f"`python -m hwlib run {e} --force`" for e in dict.fromkeys(experiments))
    return ResultError(f"{len(bad)} unusable result record{'s' if len(bad) > 1 else ''}: {listed} — rerun with "
                       f"{commands} to move them aside (as .corrupt) and redo those runs")


def load_all(experiment: str, slug: str, profile: str, root: Path | None = None,
             complete_only: bool = True) -> list[dict]:
    """Every record of an experiment for one dataset and profile, sorted by run name (a ResultError
    naming every unreadable one)."""
    recs, bad = scan(experiment, slug, profile, root)
    if bad:
        raise bad_records_error(bad, [experiment])
    return [r for r in recs if r.get("complete") or not complete_only]


def arrays_path(record: dict) -> Path | None:
    """The arrays file of a record: ``<run>.npz`` beside it (never a path built from its content), or None."""
    name = record.get("arrays_file")
    if not name:
        return None
    path = Path(record["_path"])
    own = path.with_suffix(".npz")
    try:
        inside = own.resolve().parent == path.parent.resolve()
    except (OSError, RuntimeError):
        inside = False
    if name != own.name or not inside:
        raise ResultError(f"{path}: its 'arrays_file' {str(name)[:80]!r} is not {own.name!r} beside it; rerun "
                          f"`python -m hwlib run {record.get('experiment', 'NAME')} --force` to redo the run")
    return own


def _open_arrays(path: Path):
    """The weights file opened for reading: a regular file within MAX_ARRAYS_BYTES (OSError else)."""
    f = open_regular(path)
    if os.fstat(f.fileno()).st_size > MAX_ARRAYS_BYTES:
        f.close()
        raise OSError(errno.EFBIG, f"larger than weights can be (at most {MAX_ARRAYS_BYTES:,} bytes)", str(path))
    return f


def arrays_ok(record: dict) -> bool:
    """A record's arrays file (if it has one) is present, a regular file and readable as an archive."""
    try:
        path = arrays_path(record)
    except ResultError:
        return False
    if path is None:
        return True
    try:
        with _open_arrays(path) as f, zipfile.ZipFile(f) as zf:
            return bool(zf.namelist())
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, ValueError):
        return False


def load_arrays(record: dict) -> dict[str, np.ndarray]:
    """The arrays (e.g. best-checkpoint weights) saved with a record, at most MAX_ARRAYS_BYTES as declared."""
    path = arrays_path(record)
    if path is None:
        return {}
    try:
        with _open_arrays(path) as f:
            with zipfile.ZipFile(f) as zf:
                if sum(i.file_size for i in zf.infolist()) > MAX_ARRAYS_BYTES:
                    raise ValueError(f"its members declare more than {MAX_ARRAYS_BYTES:,} bytes")
            f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, MemoryError,
            NotImplementedError, RuntimeError) as e:
        raise ResultError(f"cannot read arrays {path} ({e}); rerun `python -m hwlib run "
                          f"{record.get('experiment', 'NAME')}` to regenerate it") from e


def best_run(records: list[dict]) -> dict:
    """The best run by ``rank_key``."""
    if not records:
        raise ResultError("no records to choose the best run from; run the experiment first "
                          "(python -m hwlib run NAME)")
    return min(records, key=rank_key)


def rank_key(record: dict) -> tuple:
    """The book's one order of runs, best first: higher best-dev accuracy, then the earlier epoch
    that reached it, then the run's name."""
    return (-record["summary"]["best_dev_acc"], record["summary"]["best_epoch"], record["run"])
