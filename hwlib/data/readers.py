"""Reading a dataset path: what it is (from its bytes, not its name), whether it is sound, its arrays.

``identify(path)`` names the format and a sha256 of the content without decoding any array; its
``slug`` (the results folder) is ``emnist-letters`` for the official files, else carries that sha256.
``read(source)`` decodes it into ``{"train": (X, y), ["dev": (X, y),] "test": (X, y)}``: images uint8
(N, 28, 28) 0..255 as stored, labels int64 0..25. Every failure is a DataError naming file and remedy.
"""
from __future__ import annotations

import errno
import os
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwlib.constants import IMAGE_SIDE, N_CLASSES, N_PIXELS
from hwlib.data import emnist
from hwlib.data.limits import (MAX_NPZ_ARRAY_BYTES, MAX_NPZ_BYTES, MAX_NPZ_MEMBERS, check_memory,
                               out_of_memory)
from hwlib.errors import ConfigError, DataError
from hwlib.paths import SpecialFile, open_regular, shown, special_kind

COURSE_KEYS = ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")
NPZ_KEYS = ("train_images", "train_labels", "test_images", "test_labels")
FORMATS = ("the course's emnist-letters.npz, a folder of the four EMNIST idx .gz files, "
           "or NIST's gzip.zip")


@dataclass(frozen=True)
class Source:
    """A dataset file or folder, identified: its kind, a sha256 of its content, its results slug."""
    path: Path
    kind: str
    sha256: str
    official: bool = False

    @property
    def slug(self) -> str:
        if self.kind in ("idx-folder", "nist-zip"):
            return "emnist-letters" if self.official else f"emnist-letters-{self.sha256[:10]}"
        return f"emnist-{'course' if self.kind == 'course-npz' else 'npz'}-{self.sha256[:10]}"


# ---------------------------------------------------------------- paths and formats
def _special(path, kind: str, origin: str) -> DataError:
    return DataError(f"{path}: {kind} (from {origin}), not a dataset file — hwlib does not open it "
                     f"(reading it could block forever); point {origin} at {FORMATS}")


def _unreachable(path: Path, e: OSError, origin: str) -> DataError:
    """The DataError for an OSError raised by stat(path); its handling never raises itself."""
    code = e.errno
    if code == errno.ELOOP:
        return DataError(f"{shown(path)}: a symbolic link that loops back on itself; point {origin} at the "
                         "dataset file itself")
    if code == errno.ENAMETOOLONG:
        return DataError(f"{shown(path)}: the path is too long for the file system (a name over 255 "
                         f"characters, or the whole path over 4,095) (from {origin}); move the dataset to a "
                         f"shorter path and point {origin} at it")
    if code in (errno.ENOENT, errno.ENOTDIR):
        try:
            link = os.readlink(path) if stat.S_ISLNK(os.lstat(path).st_mode) else None
        except OSError:
            link = None
        if link is not None:
            return DataError(f"{shown(path)}: a symbolic link to {shown(link)}, which does not exist; fix the "
                             f"link or point {origin} at the dataset file")
        return DataError(f"{shown(path)}: no such file or folder (from {origin}). Point --data or HWLIB_DATA at "
                         f"{FORMATS} — or run `python -m hwlib data download`")
    if code in (errno.EACCES, errno.EPERM):
        return DataError(f"{shown(path)}: cannot be read ({e.strerror}); check its permissions")
    return DataError(f"{shown(path)}: cannot be read ({e.strerror or e}) (from {origin}); check the path, "
                     f"or point {origin} at another copy")


def check_path(path: Path, origin: str = "--data") -> Path:
    """``path`` resolved, or a DataError for a path that cannot be reached or a FIFO, socket or device
    (refused by its type, never opened). ``origin`` names where it came from (``--data``, ``HWLIB_DATA``)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise _unreachable(Path(path), e, origin) from None
    except ValueError as e:  # an embedded NUL byte
        raise DataError(f"{path!r}: not a usable path ({e}); point {origin} at the dataset file") from None
    kind = special_kind(st.st_mode)
    if kind:
        raise _special(path, kind, origin)
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError) as e:
        raise DataError(f"{shown(path)}: cannot be resolved ({e}); point {origin} at the dataset file itself") from None


def _open(path: Path, origin: str = "--data"):
    """The file at ``path`` opened for reading (a regular file only), or a DataError."""
    try:
        return open_regular(path)
    except SpecialFile as e:
        raise _special(path, e.kind, origin) from None
    except OSError as e:
        raise DataError(f"{shown(path)}: cannot be read ({e.strerror or e}); check its permissions") from None


def _sniff(path: Path) -> str:
    """The kind of a file from its first bytes and, for a zip, its member names."""
    with _open(path) as f:
        try:
            head = f.read(4)
        except OSError as e:
            raise DataError(f"{path}: cannot be read ({e.strerror}); check its permissions") from e
        if not head:
            raise DataError(f"{path}: the file is empty (0 bytes); copy it again, or point --data at "
                            f"{FORMATS}")
        if head[:2] == b"PK":
            try:
                f.seek(0)
                with zipfile.ZipFile(f) as zf:
                    names = zf.namelist()
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
                raise DataError(f"{path}: starts like a zip/npz archive but cannot be opened ({e}); it is "
                                "truncated or corrupt — copy or download it again") from e
            if not names:
                raise DataError(f"{path}: an empty zip archive; point --data at {FORMATS}")
            if all(n.endswith(".npy") for n in names):
                keys = {n[:-4] for n in names}
                return "course-npz" if keys & {"X_train", "y_train"} else "images-npz"
            return "nist-zip"
    if head[:2] == b"\x1f\x8b":
        raise DataError(f"{path}: a single gzip file; EMNIST comes as four idx .gz files — point --data "
                        f"at the folder that holds all four ({', '.join(emnist.FILES)}) or at NIST's "
                        "gzip.zip")
    if head == b"\x93NUM":
        raise DataError(f"{path}: a single .npy array; save the splits together with np.savez under the "
                        f"keys {', '.join(COURSE_KEYS)} (or {', '.join(NPZ_KEYS)})")
    raise DataError(f"{path}: unknown data format (neither a zip/npz archive nor a folder); point --data "
                    f"at {FORMATS}")


def identify(path: Path, verify: bool = True) -> Source:
    """The kind and content hash of the dataset at ``path`` (checked with :func:`check_path`)."""
    kind = "idx-folder" if path.is_dir() else _sniff(path)
    if kind in ("idx-folder", "nist-zip"):
        hashes = emnist.file_hashes(path, kind)
        return Source(path, kind, emnist.digest(hashes), emnist.check_official(hashes, str(path), verify))
    try:
        sha = emnist.sha256_file(path)
    except SpecialFile as e:
        raise _special(path, e.kind, "--data") from None
    except OSError as e:
        raise DataError(f"{path}: cannot be read ({e.strerror or e}); check its permissions") from None
    return Source(path, kind, sha)


# ---------------------------------------------------------------- npz, safely
def _header(f, version):
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(f)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(f)
    # version 3.0 (utf-8 field names) has no public reader; numpy 2 keeps the private one in _format_impl
    private = getattr(np.lib.format, "_read_array_header", None) or np.lib._format_impl._read_array_header
    return private(f, version)


def load_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an npz, every member checked before anything is allocated: count and declared sizes
    within :mod:`hwlib.data.limits`, no pickled objects, the header's size equal to the declared one
    (zipfile never reads past it, so a bomb stops there), and the whole fitting in memory."""
    try:
        with _open(path) as fh, zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_NPZ_MEMBERS:
                raise DataError(f"{path}: {len(infos):,} arrays, more than an EMNIST npz holds (at most "
                                f"{MAX_NPZ_MEMBERS}); save only the six splits with np.savez")
            total = 0
            for info in infos:
                name = info.filename[:-4]
                if info.file_size > MAX_NPZ_ARRAY_BYTES:
                    raise DataError(f"{path}: array {name!r} declares {info.file_size:,} bytes uncompressed, "
                                    f"more than an EMNIST array can need (at most {MAX_NPZ_ARRAY_BYTES:,}); it "
                                    "is corrupt or a decompression bomb — use the course's emnist-letters.npz "
                                    "or re-export the arrays with np.savez")
                with zf.open(info) as f:
                    shape, _fortran, dtype = _header(f, np.lib.format.read_magic(f))
                    held = info.file_size - f.tell()
                if dtype.hasobject:
                    raise DataError(f"{path}: array {name!r} holds Python objects (pickled data), which "
                                    "hwlib does not load for safety; save plain numeric arrays "
                                    "(uint8 images, integer labels) with np.savez")
                claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if claimed != held:
                    raise DataError(f"{path}: array {name!r} claims shape {shape} ({claimed:,} bytes) but "
                                    f"the file holds {held:,} bytes; it is corrupt or truncated — copy it "
                                    "again or re-export it with np.savez")
                total += claimed
            if total > MAX_NPZ_BYTES:
                raise DataError(f"{path}: its arrays hold {total:,} bytes uncompressed, more than an EMNIST npz "
                                f"can (at most {MAX_NPZ_BYTES:,}); use the course's emnist-letters.npz or "
                                "re-export the arrays with np.savez")
            check_memory(total, str(path))
            out = {}
            for info in infos:
                with zf.open(info) as f:
                    out[info.filename[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
            return out
    except DataError:
        raise
    except MemoryError as e:
        raise out_of_memory(str(path), e) from None
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error, NotImplementedError,
            RuntimeError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e}); it may be truncated or corrupt — copy it "
                        "again") from e


# ---------------------------------------------------------------- arrays
def check_images(X: np.ndarray, where: str) -> np.ndarray:
    """Images as uint8 (N, 28, 28) pixels 0..255, or a DataError saying what is wrong with them."""
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == N_PIXELS:
        X = X.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if X.ndim != 3 or X.shape[1:] != (28, 28):
        raise DataError(f"{where}: images have shape {X.shape}; expected (N, 784) or (N, 28, 28) "
                        "28x28 EMNIST images — save them in one of those shapes")
    if X.dtype.kind not in "biuf":
        raise DataError(f"{where}: images of dtype {X.dtype}; save them as uint8 pixels 0..255")
    if X.dtype.kind == "f" and not np.isfinite(X).all():
        raise DataError(f"{where}: images contain NaN or infinite values; re-export the file "
                        "with uint8 pixels 0..255")
    if X.size and (X.min() < 0 or X.max() > 255):
        raise DataError(f"{where}: pixel values span {X.min()}..{X.max()}; expected uint8 pixels "
                        "0..255 (undo any scaling or centring before saving)")
    if X.dtype.kind == "f" and not np.array_equal(X, np.round(X)):
        raise DataError(f"{where}: float pixel values that are not whole numbers; expected uint8 pixels "
                        "0..255 (undo any scaling before saving)")
    if X.size and X.max() <= 1:
        raise DataError(f"{where}: every pixel is 0 or 1 (max {X.max()}), i.e. images scaled to 0..1 or "
                        "binarised; hwlib expects pixels 0..255 — multiply by 255 and save as uint8")
    return np.ascontiguousarray(X.astype(np.uint8))


def check_labels(y: np.ndarray, n: int, where: str, base: int) -> np.ndarray:
    """Labels as int64 0..25 from labels counted from ``base`` (0 or 1)."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind not in "biuf" or (y.dtype.kind == "f" and (not np.isfinite(y).all()
                                                               or not np.array_equal(y, np.round(y)))):
        raise DataError(f"{where}: labels are not whole numbers; save integer class labels (0..25 or 1..26)")
    if len(y) != n:
        raise DataError(f"{where}: {n} images but {len(y)} labels; save exactly one label per image")
    y = y.astype(np.int64) - base
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        other = 1 - base
        raise DataError(f"{where}: labels span {y.min() + base}..{y.max() + base}, outside {base}.."
                        f"{N_CLASSES - 1 + base} (26 letter classes counted from {base}); if they count "
                        f"from {other}, pass --label-base {other} (load_letters(label_base={other}))")
    return y


def course_label_base(z: dict, path: Path, label_base: int | None) -> int:
    """0 or 1: given, or read off the labels when they settle it (a 0 or a 26 occurs); never guessed."""
    if label_base is not None:
        if label_base not in (0, 1):
            raise ConfigError(f"--label-base {label_base!r}: use 0 (labels 0..25) or 1 (labels 1..26)")
        return label_base
    ys = [np.asarray(z[k]).reshape(-1) for k in ("y_train", "y_valid", "y_test")]
    ys = [y for y in ys if y.size and y.dtype.kind in "biuf"]
    if not ys:
        return 0
    lo, hi = min(y.min() for y in ys), max(y.max() for y in ys)
    if lo == 0 and hi <= N_CLASSES - 1:
        return 0
    if lo >= 1 and hi == N_CLASSES:
        return 1
    if 1 <= lo and hi <= N_CLASSES - 1:
        raise DataError(f"{path}: labels span {lo:g}..{hi:g}, which reads both as 0..25 missing 'a' and as "
                        "1..26 missing 'z'; say which with --label-base 0 or --label-base 1 "
                        "(load_letters(label_base=...))")
    return 0 if lo <= 0 else 1  # out of range either way: check_labels says how


# ---------------------------------------------------------------- readers
def _npz_arrays(z: dict, path: Path, kind: str, label_base: int | None) -> tuple[dict, list[str]]:
    course = kind == "course-npz"
    keys = COURSE_KEYS if course else NPZ_KEYS
    missing = [k for k in keys if k not in z]
    if missing and course:
        raise DataError(f"{path}: missing keys {missing}; the course npz needs {', '.join(COURSE_KEYS)} "
                        f"(found: {', '.join(sorted(z)) or 'none'}) — re-export it with np.savez under those keys")
    if missing:
        raise DataError(f"{path}: missing keys {missing}; expected either the course keys "
                        f"({', '.join(COURSE_KEYS)}) or {', '.join(NPZ_KEYS)} — re-export it with np.savez under "
                        "one of those sets of keys")
    base = course_label_base(z, path, label_base) if course else (0 if label_base is None else label_base)
    splits = ("train", "dev", "test") if course else ("train", "test")
    out = {}
    for split, xk, yk in zip(splits, keys[::2], keys[1::2]):  # keys alternate images, labels
        X = check_images(z[xk], f"{path}:{xk}")
        out[split] = (X, check_labels(z[yk], len(X), f"{path}:{yk}", base))
    notes = [] if course or len(out["train"][1]) else ["no training images: usable for evaluation and pictures only"]
    return out, notes + (["labels shifted from 1..26 to 0..25"] if base == 1 else [])


def read(source: Source, label_base: int | None = None) -> tuple[dict, list[str]]:
    """The arrays of an identified dataset and notes on what was done to them."""
    p = source.path
    try:
        if source.kind in ("idx-folder", "nist-zip"):
            Xtr, ytr, Xte, yte = emnist.read_letters(p, source.kind)
            notes = ["images transposed to upright, labels 1..26 shifted to 0..25"]
            if not source.official:
                notes.append("not the official release (sha256 differs; read with --no-verify)")
            return {"train": (Xtr, ytr), "test": (Xte, yte)}, notes
        return _npz_arrays(load_npz(p), p, source.kind, label_base)
    except MemoryError as e:
        raise out_of_memory(str(p), e) from None
