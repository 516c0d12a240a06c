"""The official EMNIST Letters files: idx parsing, the NIST ``gzip.zip`` archive, and its download.

idx format (big-endian): magic ``0x00000803`` (ubyte, 3 dims) + N, rows, cols, then N·rows·cols
bytes for images; ``0x00000801`` + N, then N bytes for labels. EMNIST stores each image
*transposed*, so we swap rows and columns to get upright letters; its labels are 1..26.
"""
from __future__ import annotations

import gzip
import hashlib
import shutil
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from hwlib.constants import N_CLASSES
from hwlib.errors import DataError

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
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def parse_idx(raw: bytes, name: str, kind: str) -> np.ndarray:
    """Decode idx bytes: ``kind`` is "images" → (N,28,28) uint8 as stored, "labels" → (N,) uint8."""
    want = IMAGE_MAGIC if kind == "images" else LABEL_MAGIC
    head = 16 if kind == "images" else 8
    if len(raw) < head:
        raise DataError(f"{name}: only {len(raw)} bytes, shorter than an idx header; the file is "
                        f"truncated — {REMEDY}")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != want:
        raise DataError(f"{name}: idx magic number 0x{magic:08x}, expected 0x{want:08x} for {kind} "
                        f"(is this the right file?) — {REMEDY}")
    if kind == "images":
        n, rows, cols = struct.unpack(">III", raw[4:16])
        if (rows, cols) != (28, 28):
            raise DataError(f"{name}: images are {rows}x{cols}, expected 28x28 EMNIST images — {REMEDY}")
        shape = (n, rows, cols)
    else:
        n, = struct.unpack(">I", raw[4:8])
        shape = (n,)
    size = int(np.prod(shape))
    if len(raw) - head != size:
        raise DataError(f"{name}: header announces {n} {kind} ({size} bytes) but the file holds "
                        f"{len(raw) - head} bytes; it is truncated or corrupt — {REMEDY}")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise DataError(f"{name}: not a valid gzip file ({e}); it is truncated or corrupt — {REMEDY}") from e


def gz_files_in_folder(folder: Path) -> dict[str, bytes]:
    """The four letters .gz files of a folder, as stored (compressed), keyed by file name."""
    out = {}
    for fname in FILES:
        p = folder / fname
        if not p.is_file():
            raise DataError(f"{folder}: missing {fname}; a folder of EMNIST idx files needs all four "
                            f"letters files ({', '.join(FILES)}) — {REMEDY}")
        try:
            out[fname] = p.read_bytes()
        except OSError as e:
            raise DataError(f"{p}: cannot be read ({e.strerror}); check its permissions or copy it "
                            "again") from e
    return out


def gz_files_in_zip(path: Path) -> dict[str, bytes]:
    """The four letters .gz files inside NIST's ``gzip.zip`` (folder ``gzip/``), as stored."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = {Path(n).name: n for n in zf.namelist()}
            out = {}
            for fname in FILES:
                if fname not in names:
                    raise DataError(f"{path}: the archive has no {fname}; is it the EMNIST gzip.zip? — {REMEDY}")
                out[fname] = zf.read(names[fname])
            return out
    except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as e:
        raise DataError(f"{path}: not a readable zip archive ({e}); it is truncated or corrupt — {REMEDY}") from e


def check_official(raw: dict[str, bytes], source: str, verify: bool = True) -> bool:
    """Whether the four files are the official release (sha256). With ``verify`` a mismatch is a
    DataError — one policy for a folder and for the zip archive."""
    for fname, (sha, _size) in FILES.items():
        got = hashlib.sha256(raw[fname]).hexdigest()
        if got != sha:
            if verify:
                raise DataError(f"{source}:{fname}: sha256 {got[:16]}… does not match the official "
                                f"{sha[:16]}…; the file is corrupt or not the official release — "
                                f"{REMEDY}, or pass --no-verify (verify=False) if you trust this copy")
            return False
    return True


def digest(raw: dict[str, bytes]) -> str:
    """One sha256 naming the content of the four files (the same for a folder and a zip)."""
    h = hashlib.sha256()
    for fname in FILES:
        h.update(f"{fname}:{hashlib.sha256(raw[fname]).hexdigest()}\n".encode())
    return h.hexdigest()


def decompress(raw: dict[str, bytes], source: str) -> dict[str, bytes]:
    return {fname: _gunzip(data, f"{source}:{fname}") for fname, data in raw.items()}


def verify_folder(folder: Path) -> dict[str, str]:
    """sha256 of each letters file, checked against the official values (DataError on mismatch)."""
    check_official(gz_files_in_folder(folder), str(folder))
    return {fname: sha for fname, (sha, _size) in FILES.items()}


def decode(files: dict[str, bytes], source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Official train/test images (upright, uint8) and labels (0..25, int64)."""
    arrays = {}
    for split in ("train", "test"):
        xn = f"emnist-letters-{split}-images-idx3-ubyte.gz"
        yn = f"emnist-letters-{split}-labels-idx1-ubyte.gz"
        X = parse_idx(files[xn], f"{source}:{xn}", "images")
        y = parse_idx(files[yn], f"{source}:{yn}", "labels")
        if len(X) != len(y):
            raise DataError(f"{source}: {split} has {len(X)} images but {len(y)} labels — {REMEDY}")
        if y.size and (y.min() < 1 or y.max() > N_CLASSES):
            raise DataError(f"{source}:{yn}: labels span {y.min()}..{y.max()}, expected EMNIST letters "
                            f"labels 1..26 — is this a letters file? {REMEDY[0].upper()}{REMEDY[1:]}")
        arrays[split] = (np.ascontiguousarray(X.transpose(0, 2, 1)), y.astype(np.int64) - 1)
    return (*arrays["train"], *arrays["test"])


def download(dest: Path, url: str = URL, md5: str = ZIP_MD5, files: dict | None = None,
             progressbar: bool = True) -> Path:
    """Fetch the NIST archive with pooch (hash-checked, resumable cache), extract only the four
    letters files into ``dest``, check each one's sha256, and return ``dest``.

    The archive (~536 MB) is kept under ``dest/../downloads`` so a second call costs nothing.
    """
    import pooch

    files = files or FILES
    dest = Path(dest)
    dl_dir = dest.parent / "downloads"
    try:
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
    """Copy the letters files out of ``gzip.zip`` into ``dest`` (atomically, sha256-checked)."""
    files = files or FILES
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {dest} ({e.strerror}); pass --dest with a writable folder") from e
    try:
        with zipfile.ZipFile(zpath) as zf:
            names = {Path(n).name: n for n in zf.namelist()}
            for fname, (sha, _size) in files.items():
                if fname not in names:
                    raise DataError(f"{zpath}: no {fname} inside; is it the EMNIST gzip.zip? — {REMEDY}")
                tmp = dest / f".{fname}.part"
                with zf.open(names[fname]) as src, open(tmp, "wb") as out:
                    shutil.copyfileobj(src, out)
                got = sha256_file(tmp)
                if got != sha:
                    tmp.unlink()
                    raise DataError(f"{zpath}:{fname}: sha256 {got[:16]}… is not the official {sha[:16]}…; "
                                    f"the archive is corrupt — delete {zpath} and {REMEDY}")
                tmp.replace(dest / fname)
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise DataError(f"{zpath}: not a readable zip archive ({e}); delete it and {REMEDY}") from e
    except OSError as e:
        raise DataError(f"cannot extract {zpath} into {dest} ({e.strerror}); free space or pass --dest "
                        "with a writable folder") from e
    return dest
