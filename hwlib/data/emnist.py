"""The official EMNIST Letters files: idx parsing, the NIST ``gzip.zip`` archive, and its download.

idx (big-endian): magic ``0x00000803`` + N, rows, cols, then the image bytes; ``0x00000801`` + N,
then the label bytes. EMNIST stores each image *transposed* (we swap rows and columns back) and
counts labels 1..26. Sizes are checked against :mod:`hwlib.data.limits` before anything is read or
allocated, checksums stream over chunks, and a FIFO, socket or device is never opened.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os
import stat
import struct
import sys
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from hwlib.constants import N_CLASSES
from hwlib.data.limits import (IDX_HEADER, MAX_IDX_ITEMS, OFFICIAL_TRAIN, check_memory, idx_kind,
                               max_gz_bytes, out_of_memory)
from hwlib.errors import DataError, activity
from hwlib.paths import SpecialFile, clean_stale_temps, make_temp, open_regular, shown, special_kind

URL = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
ZIP_MD5 = "58c8d27c78d21e728a6bc7b3cc06412e"  # as recorded by torchvision
# sha256 and size of each letters file inside the archive (folder "gzip/")
FILES = {
    "emnist-letters-train-images-idx3-ubyte.gz":
        ("6288f418a917e007bf5fddb823a2dc7a5c6a35031401b93292a539cb12bd881f", 30_804_864),
    "emnist-letters-train-labels-idx1-ubyte.gz":
        ("9759af91ea6bccdf07a6040fd085861f2ec88e37f7c3f5760f6feb57106fbe5c", 79_283),
    "emnist-letters-test-images-idx3-ubyte.gz":
        ("50f0e93d75b99b463e9760b8345866f22587fa2c2fba472730a5ba09c693412d", 5_039_157),
    "emnist-letters-test-labels-idx1-ubyte.gz":
        ("924955c31fe7fd809b7303b5c0141282955f4b8390c74cdfd5d80435e0f4b4cb", 144),
}
IMAGE_MAGIC, LABEL_MAGIC = 0x00000803, 0x00000801
REMEDY = "run `python -m hwlib data download` to fetch a fresh copy"


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a regular file, read in chunks (OSError, SpecialFile included, as raised)."""
    with open_regular(path) as f:
        return _sha256_stream(f, chunk)


def _sha256_stream(f, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    while block := f.read(chunk):
        h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- the four files, folder or zip
def _folder_openers(folder: Path) -> dict:
    """fname → a function opening that .gz of ``folder``, each checked first: present, a regular file,
    within ``max_gz_bytes``."""
    out = {}
    for fname in FILES:
        p = folder / fname
        try:
            st = os.stat(p)
        except (FileNotFoundError, NotADirectoryError):
            raise DataError(f"{folder}: missing {fname}; a folder of EMNIST idx files needs all four "
                            f"letters files ({', '.join(FILES)}) — {REMEDY}") from None
        except OSError as e:
            raise DataError(f"{shown(p)}: cannot be read ({e.strerror}); check its permissions or copy it "
                            "again") from None
        kind = special_kind(st.st_mode)
        if kind or stat.S_ISDIR(st.st_mode):
            raise DataError(f"{p}: {kind or 'a folder'} where the EMNIST file {fname} should be; hwlib does "
                            "not open it (reading a FIFO or device can block forever) — put the real file "
                            f"there, or {REMEDY}")
        limit = max_gz_bytes(idx_kind(fname))
        if st.st_size > limit:
            raise DataError(f"{p}: {st.st_size:,} bytes, more than an EMNIST letters {idx_kind(fname)} .gz can "
                            f"be (at most {limit:,}); it is not an EMNIST file — {REMEDY}")
        out[fname] = functools.partial(open_regular, p)
    return out


@contextmanager
def letters_files(path: Path, kind: str):
    """The four letters .gz files of an ``idx-folder`` or a ``nist-zip`` as ``{fname: open()}``; a zip
    member's declared size is checked against ``max_gz_bytes`` (zipfile never reads past it)."""
    if kind == "idx-folder":
        yield _folder_openers(path)
        return
    with open_regular(path) as fh, zipfile.ZipFile(fh) as zf:
        members = {Path(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
        out = {}
        for fname in FILES:
            info = members.get(fname)
            if info is None:
                raise DataError(f"{path}: the archive has no {fname}; is it the EMNIST gzip.zip? — {REMEDY}")
            limit = max_gz_bytes(idx_kind(fname))
            if info.file_size > limit:
                raise DataError(f"{path}:{fname}: the archive declares {info.file_size:,} bytes for it, more "
                                f"than an EMNIST letters {idx_kind(fname)} .gz can be (at most {limit:,}); "
                                f"it is corrupt or a decompression bomb — {REMEDY}")
            out[fname] = functools.partial(zf.open, info)
        yield out


@contextmanager
def _reading(path: Path):
    """Archive and stream errors while reading the four files, as one DataError naming ``path``."""
    try:
        yield
    except DataError:
        raise
    except SpecialFile as e:
        raise DataError(f"{e.filename}: {e.kind}, not a file hwlib reads (it could block forever); point "
                        "--data at the dataset file itself") from None
    except MemoryError as e:
        raise out_of_memory(str(path), e) from None
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error, OSError) as e:
        raise DataError(f"{shown(path)}: not a readable zip archive ({e}); it is truncated or corrupt — "
                        f"{REMEDY}") from None


def file_hashes(path: Path, kind: str) -> dict[str, str]:
    """sha256 of each of the four letters .gz files as stored, streamed (never a whole file in memory)."""
    with _reading(path), letters_files(path, kind) as files:
        out = {}
        for fname, open_ in files.items():
            with open_() as f:
                out[fname] = _sha256_stream(f)
        return out


def check_official(hashes: dict[str, str], source: str, verify: bool = True) -> bool:
    """Whether the four files (their sha256, from :func:`file_hashes`) are the official release.
    With ``verify`` a mismatch is a DataError."""
    for fname, (sha, _size) in FILES.items():
        got = hashes[fname]
        if got != sha:
            if verify:
                raise DataError(f"{source}:{fname}: sha256 {got[:16]}… does not match the official "
                                f"{sha[:16]}…; the file is corrupt or not the official release — "
                                f"{REMEDY}, or pass --no-verify (verify=False) if you trust this copy")
            return False
    return True


def digest(hashes: dict[str, str]) -> str:
    """One sha256 naming the content of the four files (the same for a folder and a zip)."""
    h = hashlib.sha256()
    for fname in FILES:
        h.update(f"{fname}:{hashes[fname]}\n".encode())
    return h.hexdigest()


# ---------------------------------------------------------------- decoding, streamed and bounded
_CHUNK = 1 << 20


def read_idx(open_, name: str, kind: str) -> np.ndarray:
    """One gzipped idx file (``open_()`` gives the .gz stream) as stored: "images" (N, 28, 28) uint8,
    "labels" (N,) uint8. N is checked against ``MAX_IDX_ITEMS`` and the memory at hand before the
    array is allocated; the stream must hold exactly that (decompression stops one chunk past it)."""
    want = IMAGE_MAGIC if kind == "images" else LABEL_MAGIC
    head_len = IDX_HEADER[kind]
    try:
        raw = open_()
    except SpecialFile as e:
        raise DataError(f"{name}: {e.kind}, not a file hwlib reads (it could block forever) — put the real "
                        f"file there, or {REMEDY}") from None
    except OSError as e:
        raise DataError(f"{name}: cannot be read ({e.strerror or e}); check its permissions or copy it "
                        "again") from None
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, zlib.error) as e:
        raise DataError(f"{name}: cannot be read from the archive ({e}); it is truncated, corrupt or "
                        f"encrypted — {REMEDY}") from None
    try:
        with raw, gzip.GzipFile(fileobj=raw, mode="rb") as g:
            head = g.read(head_len)
            if len(head) < head_len:
                raise DataError(f"{name}: only {len(head)} bytes, shorter than an idx header; the file is "
                                f"truncated — {REMEDY}")
            magic = struct.unpack(">I", head[:4])[0]
            if magic != want:
                raise DataError(f"{name}: idx magic number 0x{magic:08x}, expected 0x{want:08x} for {kind} "
                                f"(is this the right file?) — {REMEDY}")
            if kind == "images":
                n, rows, cols = struct.unpack(">III", head[4:16])
                if (rows, cols) != (28, 28):
                    raise DataError(f"{name}: images are {rows}x{cols}, expected 28x28 EMNIST images — {REMEDY}")
                shape = (n, rows, cols)
            else:
                n, = struct.unpack(">I", head[4:8])
                shape = (n,)
            if n > MAX_IDX_ITEMS:
                raise DataError(f"{name}: header announces {n:,} {kind}, more than an EMNIST letters file "
                                f"holds (at most {MAX_IDX_ITEMS:,}; the official training set has "
                                f"{OFFICIAL_TRAIN:,}); it is corrupt or not EMNIST Letters — {REMEDY}")
            size = int(np.prod(shape))
            check_memory(size, name)
            out = np.empty(size, np.uint8)
            view, got = memoryview(out), 0
            while got < size:
                k = g.readinto(view[got:got + _CHUNK])
                if not k:
                    break
                got += k
            if got < size:
                raise DataError(f"{name}: header announces {n} {kind} ({size} bytes) but the file holds "
                                f"{got} bytes; it is truncated or corrupt — {REMEDY}")
            extra = 0
            while extra <= _CHUNK and (block := g.read(_CHUNK)):
                extra += len(block)
            if extra:
                more = f"at least {size + extra:,}" if extra > _CHUNK else f"{size + extra:,}"
                raise DataError(f"{name}: header announces {n:,} {kind} ({size:,} bytes) but the file holds "
                                f"{more} bytes; it is corrupt — {REMEDY}")
            return out.reshape(shape)
    except DataError:
        raise
    except MemoryError as e:
        raise out_of_memory(name, e) from None
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as e:
        raise DataError(f"{name}: cannot be read from the archive ({e}); it is truncated or corrupt — "
                        f"{REMEDY}") from None
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{name}: not a valid gzip file ({e}); it is truncated or corrupt — {REMEDY}") from None


def read_letters(path: Path, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Train images, train labels, test images, test labels of an ``idx-folder`` or ``nist-zip``:
    images upright uint8, labels int64 0..25."""
    with _reading(path), letters_files(path, kind) as files:
        arrays = {fname: read_idx(open_, f"{path}:{fname}", idx_kind(fname)) for fname, open_ in files.items()}
    out = []
    for split in ("train", "test"):
        yn = f"emnist-letters-{split}-labels-idx1-ubyte.gz"
        X, y = arrays[f"emnist-letters-{split}-images-idx3-ubyte.gz"], arrays[yn]
        if len(X) != len(y):
            raise DataError(f"{path}: {split} has {len(X)} images but {len(y)} labels — {REMEDY}")
        if y.size and (y.min() < 1 or y.max() > N_CLASSES):
            raise DataError(f"{path}:{yn}: labels span {y.min()}..{y.max()}, expected EMNIST letters "
                            f"labels 1..26 — is this a letters file? {REMEDY[0].upper()}{REMEDY[1:]}")
        out += [np.ascontiguousarray(X.transpose(0, 2, 1)), y.astype(np.int64) - 1]
    return tuple(out)


def download(dest: Path, url: str = URL, md5: str = ZIP_MD5, files: dict | None = None,
             progressbar: bool = True) -> Path:
    """Fetch the NIST archive with pooch (md5-checked, kept under ``dest/../downloads`` so a second
    call costs nothing) and :func:`extract` the four letters files into ``dest``."""
    import pooch

    files = files or FILES
    dest = Path(dest)
    dl_dir = dest.parent / "downloads"
    try:
        with activity(f"downloading {url}", "nothing was installed; rerun `python -m hwlib data download` "
                                            "to fetch it again"):
            zpath = pooch.retrieve(url, known_hash=f"md5:{md5}", fname="emnist-gzip.zip", path=dl_dir,
                                   progressbar=progressbar)
    except ValueError as e:  # pooch's hash mismatch
        raise DataError(f"download of {url} failed its md5 check ({e}); the partial file was discarded, "
                        "try again later") from e
    except Exception as e:  # network errors from requests
        raise DataError(f"cannot download {url}: {e}. Check the internet connection, or download the "
                        f"archive by hand and run `python -m hwlib data import gzip.zip`") from e
    return extract(Path(zpath), dest, files)


def extract(zpath: Path, dest: Path, files: dict | None = None) -> Path:
    """Copy the letters files out of ``gzip.zip`` into ``dest``: atomically, sha256-checked while
    copying, a member of any other declared size refused before it is read."""
    files = files or FILES
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {shown(dest)} ({e.strerror}); pass --dest with a writable folder") from e
    if clean_stale_temps(dest, ".emnist-letters-*.part"):
        print(f"hwlib: removed the partial files an interrupted import left in {dest}", file=sys.stderr)
    tmp = None
    try:
        with activity(f"extracting the letters files into {dest}",
                      "no file was installed half-written; rerun the same command"), \
                open_regular(zpath) as fh, zipfile.ZipFile(fh) as zf:
            names = {Path(i.filename).name: i for i in zf.infolist() if not i.is_dir()}
            for fname, (sha, size) in files.items():
                info = names.get(fname)
                if info is None:
                    raise DataError(f"{zpath}: no {fname} inside; is it the EMNIST gzip.zip? — {REMEDY}")
                if info.file_size != size:
                    raise DataError(f"{zpath}:{fname}: the archive declares {info.file_size:,} bytes, the "
                                    f"official file has {size:,} — it is not the official file; delete "
                                    f"{zpath} and {REMEDY}")
                fd, tmp = make_temp(dest, f".{fname}.", ".part")
                h = hashlib.sha256()
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    while block := src.read(_CHUNK):
                        h.update(block)
                        out.write(block)
                    if h.hexdigest() != sha:
                        raise DataError(f"{zpath}:{fname}: sha256 {h.hexdigest()[:16]}… is not the official "
                                        f"{sha[:16]}…; the archive is corrupt — delete {zpath} and {REMEDY}")
                    out.flush()
                    os.replace(tmp, dest / fname)  # before closing: the lock guards the file until renamed
                    tmp = None
    except DataError:
        raise
    except SpecialFile as e:
        raise DataError(f"{zpath}: {e.kind}, not an archive hwlib reads (it could block forever); give "
                        "the path of NIST's gzip.zip file") from None
    except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError, RuntimeError) as e:
        raise DataError(f"{zpath}: not a readable zip archive ({e}); delete it and {REMEDY}") from e
    except OSError as e:
        raise DataError(f"cannot extract {shown(zpath)} into {shown(dest)} ({e.strerror or e}); free space or "
                        "pass --dest with a writable folder") from e
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
    return dest
