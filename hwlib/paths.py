"""Where things live on disk (the repository, the recorded results, the user cache), and how hwlib
touches files there safely. Environment overrides: ``HWLIB_RESULTS`` (results root), ``HWLIB_CACHE``
(cache root).
"""
from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

SPECIAL_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFSOCK: "a socket",
                 stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
STALE_EMPTY_S = 60.0  # an empty, unlocked temporary file younger than this may be a writer's, just made


def results_dir() -> Path:
    """Root of recorded results (``results/`` in the repository unless HWLIB_RESULTS is set)."""
    return Path(os.environ.get("HWLIB_RESULTS") or REPO_ROOT / "results")


def cache_dir() -> Path:
    """User cache for generated / downloaded data (``~/.cache/hwlib`` unless HWLIB_CACHE is set)."""
    base = os.environ.get("HWLIB_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hwlib"


# ---------------------------------------------------------------- file types
def special_kind(mode: int) -> str | None:
    """The kind of a FIFO, socket or device file mode (e.g. "a FIFO (named pipe)"); None for any other."""
    return SPECIAL_KINDS.get(stat.S_IFMT(mode))


class SpecialFile(OSError):
    """A FIFO, socket or device where a regular file was expected; it was not opened for reading."""

    def __init__(self, path, kind: str):
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", str(path))
        self.kind = kind


def open_regular(path: os.PathLike | str):
    """``open(path, "rb")`` for a regular file only: SpecialFile for a FIFO, socket or device,
    IsADirectoryError for a folder, any other OSError as ``open`` raises it. The type is checked before
    opening and again on the descriptor (opened non-blocking, so a FIFO swapped in between cannot block)."""
    kind = special_kind(os.stat(path).st_mode)
    if kind:
        raise SpecialFile(path, kind)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise SpecialFile(path, special_kind(mode) or "not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def shown(path, limit: int = 240) -> str:
    """``path`` as text, its middle elided when it is longer than ``limit`` characters."""
    s = str(path)
    if len(s) <= limit:
        return s
    return f"{s[:limit // 2 - 10]}…{s[-(limit // 2 - 10):]} ({len(s):,} characters)"


# ---------------------------------------------------------------- temporary files
def make_temp(folder: Path, prefix: str, suffix: str = ".tmp") -> tuple[int, str]:
    """``tempfile.mkstemp`` in ``folder``, holding an advisory lock (``flock``) until its descriptor is
    closed: close it only after renaming the file into place or deleting it."""
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks only while a cleaner looks at it (microseconds)
    except OSError:
        pass  # a file system without locks: the age rule of clean_stale_temps still protects it
    return fd, name


def clean_stale_temps(folder: Path, pattern: str) -> list[Path]:
    """Remove the temporary files matching ``pattern`` in ``folder`` left by killed writers (unlocked,
    and either non-empty or older than a minute: a live writer locks its file before writing a byte);
    return them. Never raises."""
    removed = []
    try:
        candidates = sorted(folder.glob(pattern))
    except OSError:
        return removed
    for p in candidates:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                continue  # locked: a live writer
            if st.st_size == 0 and time.time() - st.st_mtime < STALE_EMPTY_S:
                continue
            if os.stat(p, follow_symlinks=False).st_ino != st.st_ino:
                continue  # replaced meanwhile
            os.unlink(p)
            removed.append(p)
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed
