"""Bad input, end to end: every case drives the real CLI and must exit 2 with one line
(``error: …``) that names the offending file or option and a remedy — no traceback — while the
results tree is byte-for-byte what it was before. Cases are grouped by layer and by class of fault;
each builds its own fixture in a fresh folder.

The matrix runs once per module (fixture ``outcomes``): cases that exercise the command line, the
environment, special files, bombs or limits run as ``python -m hwlib`` processes, three at a time
(with a timeout, so a blocking read fails instead of hanging, and bombs under ``ulimit -v``); cases
about file contents and records call ``hwlib.experiments.cli.main`` in this process, meanwhile.
After the matrix: interruptions (SIGTERM/SIGINT), temporary files left by a kill, concurrency, and
the behaviours that used to be silent, checked as they should be.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import traceback
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from conftest import REPO

FILES = ("emnist-letters-train-images-idx3-ubyte.gz", "emnist-letters-train-labels-idx1-ubyte.gz",
         "emnist-letters-test-images-idx3-ubyte.gz", "emnist-letters-test-labels-idx1-ubyte.gz")
REMEDY = (r"(run|rerun|use|set|pass|point|give|copy|delete|free|make|multiply|fix|say|undo|re-export|"
          r"save|check|choose|see|move|put)")
PARALLEL = 3                      # CLI processes at once (2 cores: a process spends much of its life importing)
BASE_ENV = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}  # read once: threads run cli()
BOMB_LIMITS = ["sh", "-c", 'ulimit -v 1500000 && ulimit -f 200000 && exec "$0" "$@"']  # 1.5 GB memory, 200 MB files


# ------------------------------------------------------------------ fixtures on disk
def letters(n: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images per class: noise plus a class-dependent bar, pixels 0..255."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(26), n)
    X = rng.integers(0, 60, size=(len(y), 28, 28), dtype=np.uint8)
    X[np.arange(len(y)), 2 + y % 24, :] = 255
    return X, y


def course(**over) -> dict:
    X, y = letters()
    d = {"X_train": X.reshape(-1, 784), "y_train": y + 1, "X_valid": X.reshape(-1, 784), "y_valid": y + 1,
         "X_test": X.reshape(-1, 784), "y_test": y + 1}
    d.update(over)
    return d


def images_npz(**over) -> dict:
    X, y = letters()
    d = {"train_images": X, "train_labels": y, "test_images": X, "test_labels": y}
    d.update(over)
    return d


def npz(path: Path, arrays: dict) -> Path:
    np.savez(path, **arrays)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def idx_raw(n_train: int = 3, n_test: int = 1, **over) -> dict[str, bytes]:
    Xtr, ytr = letters(n_train, 0)
    Xte, yte = letters(n_test, 1)
    raw = {FILES[0]: struct.pack(">IIII", 0x803, len(Xtr), 28, 28) + Xtr.transpose(0, 2, 1).tobytes(),
           FILES[1]: struct.pack(">II", 0x801, len(ytr)) + (ytr + 1).astype(np.uint8).tobytes(),
           FILES[2]: struct.pack(">IIII", 0x803, len(Xte), 28, 28) + Xte.transpose(0, 2, 1).tobytes(),
           FILES[3]: struct.pack(">II", 0x801, len(yte)) + (yte + 1).astype(np.uint8).tobytes()}
    raw.update(over)
    return raw


def gz_folder(folder: Path, raw: dict[str, bytes] | None = None, plain: tuple[str, ...] = ()) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, b in (raw or idx_raw()).items():
        (folder / name).write_bytes(b if name in plain else gzip.compress(b, mtime=0))
    return folder


def nist_zip(path: Path, raw: dict[str, bytes] | None = None, skip: str = "") -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, b in (raw or idx_raw()).items():
            if name != skip:
                zf.writestr(f"gzip/{name}", gzip.compress(b, mtime=0))
        zf.writestr("gzip/emnist-digits-test-labels-idx1-ubyte.gz", gzip.compress(b"other", mtime=0))
    return path


def npy_member(shape, descr: str = "|u1", data: bytes = b"") -> bytes:
    """An .npy file whose header claims ``shape`` but holds only ``data``."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


def forged_npz(path: Path, shape, data: bytes = b"\0" * 64) -> Path:
    good = course()
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in good.items():
            b = io.BytesIO()
            np.save(b, v)
            zf.writestr(f"{k}.npy", npy_member(shape, data=data) if k == "X_train" else b.getvalue())
    return path


def truncated_gz(folder: Path) -> Path:
    gz_folder(folder)
    f = folder / FILES[2]
    f.write_bytes(f.read_bytes()[:60])
    return folder


def symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def loop(t: Path) -> Path:
    a, b = t / "a.npz", t / "b.npz"
    a.symlink_to(b)
    b.symlink_to(a)
    return a


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> Path:
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    s.close()  # the socket file stays
    return path


def sparse(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no room on disk."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


# ------------------------------------------------------------------ bombs: huge when expanded, small on disk
def deflate_zeros(n: int, head: bytes = b"") -> bytes:
    """A raw deflate stream of ``head`` and ``n`` zero bytes: one compressed 16 MiB block repeated
    (full flushes make the blocks independent), about n/1000 bytes, built in milliseconds."""
    block = 1 << 24

    def part(data: bytes, mode: int) -> bytes:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        return co.compress(data) + co.flush(mode)
    q, r = divmod(n, block)
    return (part(head, zlib.Z_FULL_FLUSH) if head else b"") + part(bytes(block), zlib.Z_FULL_FLUSH) * q \
        + part(bytes(r), zlib.Z_FINISH)


def raw_zip(path: Path, members) -> Path:
    """A zip written by hand from ``(name, raw deflate bytes, declared size, crc32)`` members, so that
    a member can expand to gigabytes (its crc is not checked before the declared size is)."""
    out, central = bytearray(), bytearray()
    for name, data, size, crc in members:
        nb, off = name.encode(), len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(nb), 0) + nb + data
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size,
                               len(nb), 0, 0, 0, 0, 0, off) + nb
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))
    return path


def plain(name: str, data: bytes):
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    return name, co.compress(data) + co.flush(), len(data), zlib.crc32(data)


BOMB_BYTES = 0xFFFF0000  # 4.29 GB: the largest size a zip declares without zip64


def zip_bomb(path: Path) -> Path:
    """NIST's layout whose train-images member expands to 4.29 GB (4 MB on disk)."""
    raw = idx_raw()
    members = [plain(f"gzip/{n}", gzip.compress(b, mtime=0)) for n, b in raw.items() if n != FILES[0]]
    return raw_zip(path, [(f"gzip/{FILES[0]}", deflate_zeros(BOMB_BYTES), BOMB_BYTES, 0), *members])


def gzip_bomb(folder: Path) -> Path:
    """An idx folder whose train-images .gz announces 78 images and then expands to 2 GiB (2 MB)."""
    gz_folder(folder)
    head = idx_raw()[FILES[0]][:16]
    stream = deflate_zeros(2 << 30, head)
    (folder / FILES[0]).write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + stream + struct.pack("<II", 0, 0))
    return folder


def npy_bytes(a: np.ndarray) -> bytes:
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def npz_bomb(path: Path, arrays: dict[str, int]) -> Path:
    """A course npz whose arrays named in ``arrays`` are zeros of that many bytes (uint8, header true
    to the size), expanding to gigabytes from a few MB."""
    members = []
    for k, v in course().items():
        if k in arrays:
            head = npy_member((arrays[k],))
            members.append((f"{k}.npy", deflate_zeros(arrays[k], head), len(head) + arrays[k], 0))
        else:
            members.append(plain(f"{k}.npy", npy_bytes(v)))
    return raw_zip(path, members)


# ------------------------------------------------------------------ result records as fixtures
def record(slug: str, exp: str, run: str, **over) -> dict:
    rec = {"schema": 1, "experiment": exp, "run": run, "profile": "quick", "complete": True,
           "dataset": {"name": "x", "slug": slug, "sha256": "0" * 64}, "config": {},
           "history": {"epoch": [0]}, "summary": {"best_dev_acc": 0.5, "best_epoch": 0},
           "provenance": {"git_commit": None}}
    rec.update(over)
    return rec


def put(root: Path, slug: str, exp: str, run: str, content) -> Path:
    p = root / slug / "quick" / exp / f"{run}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content if isinstance(content, str) else json.dumps(content))
    return p


# ------------------------------------------------------------------ running the CLI
def tree_hash(root: Path) -> str:
    h = hashlib.sha256()
    if root.is_file():
        return hashlib.sha256(root.read_bytes()).hexdigest()
    for p in sorted(root.rglob("*")) if root.exists() else []:
        h.update(str(p.relative_to(root)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()


def cli(args, env: dict, prefix: list[str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m hwlib ARGS`` with a clean HWLIB_* environment plus ``env``; with ``prefix`` (a
    ``sh -c SCRIPT`` command whose script ends in ``exec "$0" "$@"``), run inside it. A process
    still running after ``timeout`` seconds is killed and reported (return code None)."""
    full = {**BASE_ENV, "OMP_NUM_THREADS": "1", **env}
    cmd = [sys.executable, "-m", "hwlib", *map(str, args)]
    if prefix:
        cmd = [*prefix, *cmd]
    try:
        return subprocess.run(cmd, cwd=REPO, env=full, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return subprocess.CompletedProcess(cmd, None, out, f"TIMEOUT: still running after {timeout} s (blocked?)")


def in_process(args, env: dict) -> subprocess.CompletedProcess:
    """``hwlib.experiments.cli.main(ARGS)`` in this process with HWLIB_* replaced by ``env``; an
    exception escaping main is reported like a traceback on stderr (return code None)."""
    from hwlib.experiments.cli import main
    saved = {k: v for k, v in os.environ.items() if k.startswith("HWLIB_")}
    out, err = io.StringIO(), io.StringIO()
    try:
        for k in saved:
            del os.environ[k]
        os.environ.update(env)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main([str(a) for a in args])
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 2
            except BaseException:
                traceback.print_exc(file=err)
                rc = None
    finally:
        for k in [k for k in os.environ if k.startswith("HWLIB_")]:
            del os.environ[k]
        os.environ.update(saved)
    return subprocess.CompletedProcess(list(args), rc, out.getvalue(), err.getvalue())


def assert_clear_error(p: subprocess.CompletedProcess, names: str, extra: str = "", status: int = 2) -> str:
    """Exit ``status`` (2), one ``error:`` line (the last), naming ``names`` (a regex) and a remedy;
    no traceback; any other stderr line is a ``hwlib:`` notice."""
    err = p.stderr
    assert "Traceback" not in err and "Traceback" not in p.stdout, err
    assert p.returncode == status, (p.returncode, err[-2000:], p.stdout[-500:])
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    assert all(ln.startswith(("error: ", "hwlib: ", "[hwlib]")) for ln in lines), err
    assert re.search(names, errors[0]), (names, errors[0])
    assert re.search(REMEDY, errors[0].split(":", 1)[1]), errors[0]
    if extra:
        assert re.search(extra, errors[0]), (extra, errors[0])
    return errors[0]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A shared synthetic cache (quick profile) and a populated results tree to protect."""
    base = tmp_path_factory.mktemp("bad-inputs")
    cache = base / "cache"
    p = cli(["data", "synthetic", "--profile", "quick"], {"HWLIB_CACHE": str(cache)})
    assert p.returncode == 0, p.stderr
    results = base / "results"
    put(results, "synthetic-v3-seed42", "q1.mlp", "kept", record("synthetic-v3-seed42", "q1.mlp", "kept"))
    return {"cache": cache, "results": results}


# ------------------------------------------------------------------ the matrix
@dataclass
class Case:
    """One bad input: ``build(t)`` makes its files in a fresh folder ``t`` and returns the argv;
    ``names`` is a regex the error line must match; ``env`` adds to the environment ({t} → t)."""
    id: str
    build: Callable[[Path], list]
    names: str
    env: dict = field(default_factory=dict)
    inproc: bool = False          # main() in this process: the command line itself is not under test
    status: int = 2
    prefix: list[str] | Callable[[Path], list[str] | None] | None = None  # a callable of t; None from it: skip
    timeout: int = 120


# cases about file contents and records run in this process; the rest (paths, the environment,
# options, special files, bombs, limits) as processes
IN_PROCESS = ("file-", "folder-", "npz-", "img-", "lab-", "idx-", "zip-", "run-", "store-", "list-", "rec-")


def cases(rows, **kw) -> list[Case]:
    """Case objects from rows ``(id, build, names[, env])``."""
    out = []
    for row in rows:
        c = row if isinstance(row, Case) else Case(*row, **kw)
        if not isinstance(row, Case) and "inproc" not in kw:
            c.inproc = c.id.startswith(IN_PROCESS) and c.id != "lab-base-2"
        out.append(c)
    return out


# (id, build(tmp) -> argv, names-regex[, extra env]) — argv may mention paths made by build.
def D(*args):  # "data info --data X"
    return ["data", "info", "--profile", "quick", "--data", *args]


def R(*args):  # "run q1.perceptron --data X"
    return ["run", "q1.perceptron", "--profile", "quick", "--data", *args]


CASES = cases([
    # --- paths: where --data / HWLIB_DATA point
    ("path-missing-npz", lambda t: D(t / "none.npz"), r"none\.npz: no such file.*--data"),
    ("path-missing-folder", lambda t: D(t / "nowhere" / ""), r"nowhere: no such file"),
    ("path-empty-arg", lambda t: D(""), r"--data is empty"),
    ("path-blank-arg", lambda t: D("   "), r"--data is empty"),
    ("path-symlink-loop", lambda t: D(loop(t)), r"a\.npz: a symbolic link that loops"),
    ("path-self-link", lambda t: D(symlink(t / "s.npz", t / "s.npz")), r"s\.npz: a symbolic link that loops"),
    ("path-dangling-link", lambda t: D(symlink(t / "d.npz", t / "gone.npz")), r"d\.npz: a symbolic link to .*gone\.npz"),
    ("path-run-missing", lambda t: R(t / "none.npz"), r"none\.npz: no such file"),
    ("env-missing", lambda t: ["data", "info", "--profile", "quick"], r"elsewhere\.npz: no such file.*HWLIB_DATA",
     {"HWLIB_DATA": "{t}/elsewhere.npz"}),
    ("env-loop", lambda t: (loop(t), ["data", "info", "--profile", "quick"])[1], r"a\.npz: a symbolic link that loops",
     {"HWLIB_DATA": "{t}/a.npz"}),
    ("env-run-missing", lambda t: ["run", "q1.logreg", "--profile", "quick"], r"gone\.zip: no such file",
     {"HWLIB_DATA": "{t}/gone.zip"}),
    ("file-empty-npz", lambda t: D(write(t / "e.npz", b"")), r"e\.npz: the file is empty"),
    ("file-empty-noext", lambda t: D(write(t / "data", b"")), r"data: the file is empty"),
    ("file-csv", lambda t: D(write(t / "x.csv", b"1,2,3\n")), r"x\.csv: unknown data format"),
    ("file-random-noext", lambda t: D(write(t / "blob", os.urandom(256).replace(b"PK", b"pk"))), r"blob: unknown data format"),
    ("file-single-gz", lambda t: D(write(t / "one.gz", gzip.compress(b"x"))), r"one\.gz: a single gzip file"),
    ("file-single-npy", lambda t: (np.save(t / "a.npy", np.zeros(3)), D(t / "a.npy"))[1], r"a\.npy: a single \.npy array"),
    ("folder-empty", lambda t: (t.joinpath("f").mkdir(), D(t / "f"))[1], r"f: missing emnist-letters-train-images"),
    ("folder-three-files", lambda t: ((gz_folder(t / "g") / FILES[3]).unlink(), D(t / "g"))[1], r"g: missing emnist-letters-test-labels"),
    # --- npz: the archive itself
    ("npz-truncated", lambda t: D(write(t / "t.npz", npz(t / "ok.npz", course()).read_bytes()[:3000])), r"t\.npz: starts like a zip/npz.*truncated"),
    ("npz-pk-garbage", lambda t: D(write(t / "g.npz", b"PK\x03\x04 nothing")), r"g\.npz: starts like a zip/npz"),
    ("npz-empty-zip", lambda t: D(write(t / "z.npz", b"PK\x05\x06" + b"\0" * 18)), r"z\.npz: an empty zip archive"),
    ("npz-header-1TB", lambda t: D(forged_npz(t / "big.npz", (10**12,))), r"big\.npz: array 'X_train' claims shape \(1000000000000,\)"),
    ("npz-header-2x", lambda t: D(forged_npz(t / "two.npz", (156, 784), bytes(78 * 784))), r"two\.npz: array 'X_train' claims"),
    ("npz-header-short", lambda t: D(forged_npz(t / "s.npz", (2, 784), bytes(3 * 784))), r"s\.npz: array 'X_train' claims"),
    ("npz-pickle", lambda t: D(npz(t / "p.npz", course(y_test=np.array([{"a": 1}] * 78, dtype=object)))), r"p\.npz: array 'y_test' holds Python objects"),
    ("npz-unrelated-keys", lambda t: D(npz(t / "u.npz", {"foo": np.zeros(3)})), r"u\.npz: missing keys"),
    ("npz-course-missing-key", lambda t: D(npz(t / "m.npz", {k: v for k, v in course().items() if k != "y_test"})), r"m\.npz: missing keys \['y_test'\]"),
    ("npz-images-missing-key", lambda t: D(npz(t / "m.npz", {k: v for k, v in images_npz().items() if k != "test_labels"})), r"m\.npz: missing keys \['test_labels'\]"),
    # --- npz: images
    ("img-30x30", lambda t: D(npz(t / "i.npz", course(X_train=np.full((78, 30, 30), 9, np.uint8)))), r"i\.npz:X_train: images have shape \(78, 30, 30\)"),
    ("img-1d", lambda t: D(npz(t / "i.npz", course(X_train=np.arange(78, dtype=np.uint8)))), r"i\.npz:X_train: images have shape \(78,\)"),
    ("img-nan", lambda t: D(npz(t / "i.npz", course(X_train=np.full((78, 784), np.nan)))), r"i\.npz:X_train: images contain NaN"),
    ("img-inf", lambda t: D(npz(t / "i.npz", course(X_valid=np.full((78, 784), np.inf)))), r"i\.npz:X_valid: images contain NaN or infinite"),
    ("img-negative", lambda t: D(npz(t / "i.npz", course(X_test=np.full((78, 784), -3, np.int16)))), r"i\.npz:X_test: pixel values span -3\.\.-3"),
    ("img-over-255", lambda t: D(npz(t / "i.npz", course(X_train=np.full((78, 784), 300, np.int16)))), r"i\.npz:X_train: pixel values span 300\.\.300"),
    ("img-centred", lambda t: D(npz(t / "i.npz", course(X_train=np.linspace(-1, 1, 78 * 784).reshape(78, 784)))), r"i\.npz:X_train: pixel values span"),
    ("img-fractional", lambda t: D(npz(t / "i.npz", course(X_train=np.full((78, 784), 100.5)))), r"i\.npz:X_train: float pixel values that are not whole"),
    ("img-float-01", lambda t: D(npz(t / "i.npz", course(X_train=(letters()[0] > 128).astype(np.float32)))), r"i\.npz:X_train: every pixel is 0 or 1"),
    ("img-uint8-01", lambda t: D(npz(t / "i.npz", course(X_valid=(letters()[0] > 128).astype(np.uint8)))), r"i\.npz:X_valid: every pixel is 0 or 1"),
    ("img-bool", lambda t: D(npz(t / "i.npz", course(X_test=letters()[0] > 128))), r"i\.npz:X_test: every pixel is 0 or 1"),
    ("img-complex", lambda t: D(npz(t / "i.npz", course(X_train=np.ones((78, 784), complex)))), r"i\.npz:X_train: images of dtype complex"),
    ("img-strings", lambda t: D(npz(t / "i.npz", course(X_train=np.full((78, 784), "7")))), r"i\.npz:X_train: images of dtype <U1"),
    ("img-images-npz-01", lambda t: D(npz(t / "i.npz", images_npz(train_images=(letters()[0] > 99).astype(np.float64)))), r"i\.npz:train_images: every pixel is 0 or 1"),
    # --- npz: labels
    ("lab-count", lambda t: D(npz(t / "l.npz", course(y_valid=np.arange(1, 27)))), r"l\.npz:y_valid: 78 images but 26 labels"),
    ("lab-fractional", lambda t: D(npz(t / "l.npz", course(y_train=np.full(78, 2.5)))), r"l\.npz:y_train: labels are not whole numbers"),
    ("lab-nan", lambda t: D(npz(t / "l.npz", course(y_train=np.full(78, np.nan)))), r"l\.npz:y_train: labels are not whole numbers"),
    ("lab-strings", lambda t: D(npz(t / "l.npz", images_npz(train_labels=np.full(78, "a")))), r"l\.npz:train_labels: labels are not whole numbers"),
    ("lab-27", lambda t: D(npz(t / "l.npz", course(y_test=np.full(78, 27)))), r"l\.npz:y_test: labels span 27\.\.27, outside 1\.\.26"),
    ("lab-minus-1", lambda t: D(npz(t / "l.npz", course(y_train=np.full(78, -1)))), r"l\.npz:y_train: labels span -1\.\.-1"),
    ("lab-0-to-26", lambda t: D(npz(t / "l.npz", course(y_train=np.arange(78) % 27))), r"l\.npz:y_train: labels span 0\.\.26"),
    ("lab-ambiguous-no-a", lambda t: D(npz(t / "l.npz", course(**{k: 1 + np.arange(78) % 25 for k in ("y_train", "y_valid", "y_test")}))),
     r"l\.npz: labels span 1\.\.25.*--label-base 0 or --label-base 1"),
    ("lab-ambiguous-narrow", lambda t: D(npz(t / "l.npz", course(**{k: 3 + np.arange(78) % 10 for k in ("y_train", "y_valid", "y_test")}))),
     r"l\.npz: labels span 3\.\.12.*--label-base"),
    ("lab-base0-on-1based", lambda t: [*D(npz(t / "l.npz", course())), "--label-base", "0"], r"l\.npz:y_train: labels span 1\.\.26, outside 0\.\.25.*--label-base 1"),
    ("lab-base1-on-0based", lambda t: [*D(npz(t / "l.npz", course(y_train=letters()[1], y_valid=letters()[1], y_test=letters()[1]))), "--label-base", "1"],
     r"l\.npz:y_train: labels span 0\.\.25, outside 1\.\.26.*--label-base 0"),
    ("lab-base-2", lambda t: [*D(npz(t / "l.npz", course())), "--label-base", "2"], r"--label-base: invalid choice: 2"),
    ("lab-images-npz-1based", lambda t: D(npz(t / "l.npz", images_npz(train_labels=letters()[1] + 1))), r"l\.npz:train_labels: labels span 1\.\.26.*--label-base 1"),
    # --- official idx files: folder and zip, one sha256 policy
    ("idx-folder-unofficial", lambda t: R(gz_folder(t / "idx")), r"idx:emnist-letters-train-images.*does not match the official.*--no-verify"),
    ("idx-zip-unofficial", lambda t: R(nist_zip(t / "gzip.zip")), r"gzip\.zip:emnist-letters-train-images.*does not match the official.*--no-verify"),
    ("idx-zip-unofficial-info", lambda t: D(nist_zip(t / "gzip.zip")), r"gzip\.zip:.*does not match the official"),
    ("idx-truncated-gz", lambda t: [*D(truncated_gz(t / "idx")), "--no-verify"], r"test-images-idx3-ubyte\.gz: not a valid gzip file"),
    ("idx-not-gzip", lambda t: [*D(gz_folder(t / "idx", plain=(FILES[1],))), "--no-verify"], r"train-labels-idx1-ubyte\.gz: not a valid gzip file"),
    ("idx-wrong-magic", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[1]: idx_raw()[FILES[0]]}))), "--no-verify"], r"train-labels-idx1-ubyte\.gz: idx magic number 0x00000803"),
    ("idx-short-payload", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[2]: idx_raw()[FILES[2]][:-7]}))), "--no-verify"], r"test-images-idx3-ubyte\.gz: header announces 26 images"),
    ("idx-header-only", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[3]: b"\0\0\x08"}))), "--no-verify"], r"test-labels-idx1-ubyte\.gz: only 3 bytes"),
    ("idx-32x32", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[2]: struct.pack(">IIII", 0x803, 1, 32, 32) + bytes(1024)}))), "--no-verify"], r"test-images-idx3-ubyte\.gz: images are 32x32"),
    ("idx-label-zero", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[3]: struct.pack(">II", 0x801, 26) + bytes(26)}))), "--no-verify"], r"test-labels-idx1-ubyte\.gz: labels span 0\.\.0"),
    ("idx-count-mismatch", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[1]: struct.pack(">II", 0x801, 5) + bytes([1] * 5)}))), "--no-verify"], r"idx: train has 78 images but 5 labels"),
    ("zip-missing-member", lambda t: [*D(nist_zip(t / "gzip.zip", skip=FILES[3])), "--no-verify"], r"gzip\.zip: the archive has no emnist-letters-test-labels"),
    ("zip-truncated", lambda t: D(write(t / "gzip.zip", nist_zip(t / "ok.zip").read_bytes()[:500])), r"gzip\.zip: starts like a zip/npz.*truncated"),
    ("zip-uppercase-ext-bad", lambda t: D(write(t / "GZIP.ZIP", b"PK\x03\x04 nope")), r"GZIP\.ZIP: starts like a zip/npz"),
    # --- commands, options and environment
    ("import-missing", lambda t: ["data", "import", t / "gzip.zip"], r"gzip\.zip: no such file.*data download"),
    ("import-folder", lambda t: ["data", "import", t], r"a folder; `data import` takes NIST's gzip\.zip"),
    ("import-not-zip", lambda t: ["data", "import", write(t / "gzip.zip", b"hello"), "--dest", t / "out"], r"gzip\.zip: not a readable zip archive"),
    ("import-no-letters", lambda t: ["data", "import", (zipfile.ZipFile(t / "o.zip", "w").writestr("x.txt", "x"), t / "o.zip")[1], "--dest", t / "out"],
     r"o\.zip: no emnist-letters-train-images.*inside"),
    ("import-unofficial", lambda t: ["data", "import", nist_zip(t / "gzip.zip"), "--dest", t / "out"], r"gzip\.zip:emnist-letters-.*is not the official"),
    ("import-dest-is-file", lambda t: ["data", "import", nist_zip(t / "gzip.zip"), "--dest", write(t / "f", b"x") / "sub"], r"cannot create .*f/sub.*--dest"),
    ("run-unknown", lambda t: ["run", "q9.nope", "--profile", "quick"], r"unknown experiment 'q9\.nope'"),
    ("run-profile-choice", lambda t: ["run", "q1", "--profile", "medium"], r"--profile: invalid choice: 'medium'"),
    ("run-no-name", lambda t: ["run"], r"the following arguments are required: name"),
    ("no-command", lambda t: [], r"the following arguments are required: cmd"),
    ("unknown-option", lambda t: ["data", "info", "--bogus"], r"unrecognized arguments: --bogus"),
    ("seed-not-int", lambda t: ["data", "synthetic", "--seed", "x"], r"--seed: invalid int value: 'x'"),
    ("env-profile", lambda t: ["run", "q1.perceptron"], r"HWLIB_PROFILE='medium' is not a profile", {"HWLIB_PROFILE": "medium"}),
    ("env-threads-zero", lambda t: ["run", "q2.width", "--profile", "quick", "--data", npz(t / "c.npz", course())], r"HWLIB_THREADS='0' must be a positive integer",
     {"HWLIB_THREADS": "0"}),
    ("env-workers-text", lambda t: ["run", "q2.depth", "--profile", "quick", "--data", npz(t / "c.npz", course())], r"HWLIB_WORKERS='many' must be a positive integer",
     {"HWLIB_WORKERS": "many"}),
    ("env-results-loop", lambda t: (loop(t), R(npz(t / "c.npz", course())))[1], r"cannot write results into .*a\.npz.*HWLIB_RESULTS",
     {"HWLIB_RESULTS": "{t}/a.npz"}),
    ("env-results-under-file", lambda t: R(npz(t / "c.npz", course())), r"cannot write results into .*c\.npz/sub.*HWLIB_RESULTS",
     {"HWLIB_RESULTS": "{t}/c.npz/sub"}),
    ("path-dev-null", lambda t: D("/dev/null"), r"/dev/null: a character device \(from --data\), not a dataset file"),
    ("run-too-few-images", lambda t: R(npz(t / "tiny.npz", images_npz(**dict(zip(("train_images", "train_labels"), letters(2)))))),
     r"tiny\.npz: 52 train, 0 dev and 78 test images.*use a larger dataset"),
    ("run-too-few-idx", lambda t: [*R(gz_folder(t / "idx")), "--no-verify"], r"idx: 78 train, 0 dev.*use a larger dataset"),
    ("run-no-training-images", lambda t: R(npz(t / "frag.npz", images_npz(train_images=np.zeros((0, 28, 28), np.uint8), train_labels=np.zeros(0, int)))),
     r"frag\.npz.*has no training images.*--data synthetic"),
])


def c_npz(t: Path) -> Path:
    return npz(t / "c.npz", course())


def with_fifo_for(folder: Path, name: str) -> Path:
    (folder / name).unlink()
    fifo(folder / name)
    return folder


# --- 1. special files are refused by their type, never opened (a FIFO would block forever)
SPECIAL_CASES = cases([
    ("special-fifo-data", lambda t: D(fifo(t / "f.npz")), r"f\.npz: a FIFO \(named pipe\) \(from --data\), not a dataset file.*point --data"),
    ("special-fifo-env", lambda t: (fifo(t / "f.npz"), ["data", "info", "--profile", "quick"])[1], r"f\.npz: a FIFO .*\(from HWLIB_DATA\)",
     {"HWLIB_DATA": "{t}/f.npz"}),
    ("special-fifo-run", lambda t: R(fifo(t / "f.npz")), r"f\.npz: a FIFO \(named pipe\) \(from --data\)"),
    ("special-fifo-env-run", lambda t: (fifo(t / "f"), ["run", "q1.logreg", "--profile", "quick"])[1], r"/f: a FIFO .*HWLIB_DATA",
     {"HWLIB_DATA": "{t}/f"}),
    ("special-fifo-list", lambda t: ["list", "--profile", "quick", "--data", fifo(t / "f.npz")], r"f\.npz: a FIFO"),
    ("special-fifo-via-link", lambda t: D(symlink(t / "l.npz", fifo(t / "f"))), r"l\.npz: a FIFO \(named pipe\)"),
    ("special-socket", lambda t: D(unix_socket(t / "s.npz")), r"s\.npz: a socket \(from --data\)"),
    ("special-dev-zero", lambda t: D("/dev/zero"), r"/dev/zero: a character device \(from --data\)"),
    ("special-dev-run", lambda t: R("/dev/zero"), r"/dev/zero: a character device"),
    ("special-fifo-in-idx-folder", lambda t: [*D(with_fifo_for(gz_folder(t / "idx"), FILES[3])), "--no-verify"],
     r"idx/emnist-letters-test-labels-idx1-ubyte\.gz: a FIFO \(named pipe\) where the EMNIST file"),
    ("special-fifo-in-idx-folder-verified", lambda t: D(with_fifo_for(gz_folder(t / "idx"), FILES[0])),
     r"idx/emnist-letters-train-images-idx3-ubyte\.gz: a FIFO \(named pipe\) where the EMNIST file"),
    ("special-fifo-import", lambda t: ["data", "import", fifo(t / "gzip.zip"), "--dest", t / "out"], r"gzip\.zip: a FIFO \(named pipe\), not NIST's gzip\.zip"),
], timeout=30)

# --- 2. decompression bombs and exhaustion: checked against EMNIST's sizes before memory is allocated
BOMB_CASES = cases([
    ("bomb-zip-member-4gb", lambda t: D(zip_bomb(t / "gzip.zip")),
     r"gzip\.zip:emnist-letters-train-images-idx3-ubyte\.gz: the archive declares 4,294,901,760 bytes for it.*decompression bomb"),
    ("bomb-zip-member-4gb-noverify", lambda t: [*D(zip_bomb(t / "gzip.zip")), "--no-verify"], r"gzip\.zip:emnist-letters-train-images.*declares 4,294,901,760 bytes"),
    ("bomb-zip-member-4gb-run", lambda t: [*R(zip_bomb(t / "gzip.zip")), "--no-verify"], r"gzip\.zip:emnist-letters-train-images.*declares 4,294,901,760 bytes"),
    ("bomb-zip-import", lambda t: ["data", "import", zip_bomb(t / "gzip.zip"), "--dest", t / "out"],
     r"gzip\.zip:emnist-letters-train-images.*declares 4,294,901,760 bytes, the official file has 30,804,864 — it is not the official file; delete"),
    ("bomb-gzip-stream", lambda t: [*D(gzip_bomb(t / "idx")), "--no-verify"],
     r"idx:emnist-letters-train-images-idx3-ubyte\.gz: header announces 78 images \(61,152 bytes\) but the file holds at least [\d,]+ bytes; it is corrupt"),
    ("bomb-idx-count", lambda t: [*D(gz_folder(t / "idx", idx_raw(**{FILES[0]: struct.pack(">IIII", 0x803, 4_000_000_000, 28, 28)}))), "--no-verify"],
     r"train-images-idx3-ubyte\.gz: header announces 4,000,000,000 images, more than an EMNIST letters file holds \(at most 249,600"),
    ("bomb-gz-file-too-large", lambda t: [*D((sparse(gz_folder(t / "idx") / FILES[0], 300_000_000), t / "idx")[1]), "--no-verify"],
     r"train-images-idx3-ubyte\.gz: 300,000,000 bytes, more than an EMNIST letters images \.gz can be"),
    ("bomb-npz-array-4gb", lambda t: D(npz_bomb(t / "b.npz", {"X_train": BOMB_BYTES - 128})),
     r"b\.npz: array 'X_train' declares 4,294,901,\d{3} bytes uncompressed, more than an EMNIST array can need"),
    ("bomb-npz-total", lambda t: D(npz_bomb(t / "b.npz", {k: 900_000_000 for k in ("X_train", "X_valid", "X_test")})),
     r"b\.npz: its arrays hold 2,700,\d{3},\d{3} bytes uncompressed, more than an EMNIST npz can"),
    ("bomb-npz-members", lambda t: D(npz(t / "m.npz", {**course(), **{f"a{i}": np.zeros(1) for i in range(100)}})),
     r"m\.npz: 106 arrays, more than an EMNIST npz holds \(at most 64\)"),
], prefix=BOMB_LIMITS, timeout=60)

# --- 3. what the operating system refuses: names too long, paths through files
LONG = "x" * 300
OSLIMIT_CASES = cases([
    ("oslimit-data-name", lambda t: D(t / f"{LONG}.npz"), r"x{20}.*the path is too long for the file system.*shorter path"),
    ("oslimit-data-path", lambda t: D(t / "/".join(["d" * 250] * 18)), r"d{20}.*the path is too long .*\(from --data\)"),
    ("oslimit-env-data", lambda t: ["data", "info", "--profile", "quick"], r"x{20}.*too long .*\(from HWLIB_DATA\)", {"HWLIB_DATA": "{t}/" + LONG}),
    ("oslimit-results-run", lambda t: R(c_npz(t)), r"cannot read the results folder .*x{20}.*File name too long.*HWLIB_RESULTS",
     {"HWLIB_RESULTS": "{t}/" + LONG}),
    ("oslimit-results-list", lambda t: ["list", "--profile", "quick", "--data", c_npz(t)], r"x{20}.*File name too long.*HWLIB_RESULTS",
     {"HWLIB_RESULTS": "{t}/" + LONG}),
    ("oslimit-results-deep", lambda t: R(c_npz(t)), r"File name too long.*HWLIB_RESULTS", {"HWLIB_RESULTS": "{t}/" + "/".join(["r" * 200] * 21)}),
    ("oslimit-cache-info", lambda t: ["data", "info", "--profile", "quick"], r"x{20}.*the data cache cannot be read \(File name too long\); set HWLIB_CACHE",
     {"HWLIB_CACHE": "{t}/" + LONG}),
    ("oslimit-cache-list", lambda t: ["list", "--profile", "quick"], r"File name too long.*HWLIB_CACHE", {"HWLIB_CACHE": "{t}/" + LONG}),
    ("oslimit-cache-run", lambda t: ["run", "q1.perceptron", "--profile", "quick"], r"File name too long.*HWLIB_CACHE", {"HWLIB_CACHE": "{t}/" + LONG}),
    ("oslimit-import-dest", lambda t: ["data", "import", nist_zip(t / "gzip.zip"), "--dest", t / LONG], r"cannot create .*x{20}.*File name too long.*--dest"),
    ("oslimit-import-archive", lambda t: ["data", "import", t / f"{LONG}.zip"], r"x{20}.*cannot be read \(File name too long\); give the path"),
], inproc=True)


# --- 4. records that parse but are malformed in any field: unusable, named, recoverable with --force
def store(id: str, fill, argv: list[str], names: str, **kw) -> Case:
    """A case on a results tree: ``fill(root, slug)`` damages it for the data set ``c.npz``."""
    def build(t: Path) -> list:
        data = c_npz(t)
        fill(t / "results", f"emnist-course-{hashlib.sha256(data.read_bytes()).hexdigest()[:10]}")
        return [*argv, "--profile", "quick", "--data", data]
    return Case(id, build, names, inproc=kw.pop("inproc", True), **kw)


_SHA: dict[str, str] = {}


def data_sha(path: Path) -> str:
    """The content hash of the quick profile of ``path`` (what a record made from it stores), computed
    once per file content."""
    key = hashlib.sha256(path.read_bytes()).hexdigest()
    if key not in _SHA:
        from hwlib.data import load_letters
        _SHA[key] = load_letters(path, profile="quick").sha256
    return _SHA[key]


def bad_record(id: str, content, names: str, argv=("run", "q1.perceptron"), **kw) -> Case:
    """The perceptron record holding ``content``: a dict of fields over a record that is good and made
    from this very data (so that only the damage can make it unusable), or raw text."""
    def fill(r, s):
        got = content(r, s) if callable(content) else content
        good = record(s, "q1.perceptron", "perceptron", dataset={"name": "x", "slug": s, "sha256": data_sha(r.parent / "c.npz")})
        rec = got if isinstance(got, (str, bytes)) else {**good, **got}
        put(r, s, "q1.perceptron", "perceptron", rec if isinstance(rec, (str, bytes)) else json.dumps(rec))
    return store(id, fill, list(argv), r"perceptron\.json \((marked complete but )?(.*, )?" + names, **kw)


def deep(n: int) -> str:
    return "[" * n + "]" * n


def link_outside(r, s):
    outside = r.parent / "elsewhere.npz"
    npz(outside, {"W": np.zeros(3)})
    (r / s / "quick" / "q1.perceptron").mkdir(parents=True, exist_ok=True)
    (r / s / "quick" / "q1.perceptron" / "perceptron.npz").symlink_to(outside)
    return {"arrays_file": "perceptron.npz"}


def fifo_weights(r, s):
    (r / s / "quick" / "q1.perceptron").mkdir(parents=True, exist_ok=True)
    fifo(r / s / "quick" / "q1.perceptron" / "perceptron.npz")
    return {"arrays_file": "perceptron.npz"}


def fifo_record(r, s):
    (r / s / "quick" / "q1.perceptron").mkdir(parents=True, exist_ok=True)
    fifo(r / s / "quick" / "q1.perceptron" / "perceptron.json")


RECORD_CASES = [
    bad_record("rec-dataset-string", {"dataset": "oops"}, r"marked complete but 'dataset' is a string, not an object.*run q1\.perceptron --force"),
    bad_record("rec-dataset-string-partial", {"dataset": "oops", "complete": False}, r"'dataset' is a string, not an object"),
    bad_record("rec-dataset-string-list", {"dataset": "oops", "complete": False}, r"'dataset' is a string", argv=("list",)),
    bad_record("rec-complete-string", {"complete": "yes"}, r"'complete' is a string, not true or false"),
    bad_record("rec-config-list", {"config": [1, 2]}, r"'config' is a list, not an object"),
    bad_record("rec-history-null", {"history": None}, r"'history' is null, not an object"),
    bad_record("rec-summary-acc-string", {"summary": {"best_dev_acc": "0.9", "best_epoch": 1}}, r"summary 'best_dev_acc' is '0\.9', not an accuracy"),
    bad_record("rec-summary-acc-nan", lambda r, s: {"summary": {"best_dev_acc": float("nan"), "best_epoch": 0}},
               r"summary 'best_dev_acc' is nan, not an accuracy"),
    bad_record("rec-summary-acc-infinity", lambda r, s: {"summary": {"best_dev_acc": float("inf"), "best_epoch": 0}},
               r"summary 'best_dev_acc' is inf, not an accuracy"),
    bad_record("rec-summary-acc-above-1", {"summary": {"best_dev_acc": 2.0, "best_epoch": 0}}, r"summary 'best_dev_acc' is 2\.0, not an accuracy in \[0, 1\]"),
    bad_record("rec-best-epoch-float", {"summary": {"best_dev_acc": 0.5, "best_epoch": 1.5}}, r"summary 'best_epoch' is not an epoch number"),
    bad_record("rec-best-epoch-bool", {"summary": {"best_dev_acc": 0.5, "best_epoch": True}}, r"summary 'best_epoch' is a boolean, not a number"),
    bad_record("rec-test-acc-list", {"summary": {"best_dev_acc": 0.5, "best_epoch": 0, "test_acc": [0.5]}}, r"summary 'test_acc' is \[0\.5\], not an accuracy"),
    bad_record("rec-history-strings", {"history": {"epoch": ["a"]}}, r"'history' columns are not lists of numbers"),
    bad_record("rec-history-ragged", {"history": {"epoch": [0, 1], "dev_acc": [0.5]}}, r"'history' columns differ in length"),
    bad_record("rec-sha256-number", {"dataset": {"name": "x", "slug": "s", "sha256": 5}}, r"dataset 'sha256' is a number, not a string"),
    bad_record("rec-sizes-text", lambda r, s: {"dataset": {"name": "x", "slug": s, "sha256": "0" * 64, "sizes": {"train": "many"}}}, r"dataset 'sizes' are not counts"),
    bad_record("rec-json-nested-deep", '{"schema": 1, "config": ' + deep(100_000) + "}", r"not a usable record \(JSON nested too deeply\)"),
    bad_record("rec-json-nested-deep-list", '{"schema": 1, "history": ' + deep(100_000) + "}", r"not a usable record \(JSON nested too deeply\)", argv=("list",)),
    bad_record("rec-config-nested", lambda r, s: {"config": {"a": json.loads(deep(50))}},
               r"'config' holds values nested deeper than 6 levels"),
    bad_record("rec-arrays-traversal", {"arrays_file": "../../../../../../etc/passwd"}, r"'arrays_file' is '\.\./\.\./.*', not 'perceptron\.npz'"),
    bad_record("rec-arrays-absolute", {"arrays_file": "/etc/hostname"}, r"'arrays_file' is '/etc/hostname', not 'perceptron\.npz'"),
    bad_record("rec-arrays-dotdot", {"arrays_file": ".."}, r"'arrays_file' is '\.\.', not 'perceptron\.npz'"),
    bad_record("rec-arrays-number", {"arrays_file": 5}, r"'arrays_file' is 5, not 'perceptron\.npz'"),
    bad_record("rec-arrays-link-outside", link_outside, r"marked complete but its arrays file perceptron\.npz is a link to a file outside the record's folder"),
    bad_record("rec-run-traversal", {"run": "../../x"}, r"'run' '\.\./\.\./x' is not a valid name"),
    bad_record("rec-schema-true", {"schema": True}, r"not a hwlib result record of schema 1"),
    bad_record("rec-not-utf8", b'{"schema": 1, "run": "\xff\xfe"}', r"not valid JSON"),
    store("rec-huge-file", lambda r, s: sparse((r / s / "quick" / "q1.perceptron").mkdir(parents=True) or r / s / "quick" / "q1.perceptron" / "perceptron.json", 17 << 20),
          ["run", "q1.perceptron"], r"perceptron\.json \(17,825,792 bytes, more than a record can be"),
    # special files where a record or its weights should be (processes: a regression would block)
    store("special-fifo-record", lambda r, s: fifo_record(r, s), ["run", "q1.perceptron"],
          r"perceptron\.json \(a FIFO \(named pipe\), not a regular file\).*run q1\.perceptron --force", inproc=False, timeout=30),
    store("special-fifo-record-list", lambda r, s: fifo_record(r, s), ["list"], r"perceptron\.json \(a FIFO \(named pipe\), not a regular file",
          inproc=False, timeout=30),
    bad_record("special-fifo-weights", fifo_weights, r"marked complete but its arrays file perceptron\.npz is a FIFO \(named pipe\)", inproc=False, timeout=30),
]

# --- 7. settings: HWLIB_THREADS and HWLIB_WORKERS are checked by every run, before the data
SETTINGS_CASES = cases([
    ("env-threads-text-q1", lambda t: ["run", "q1.logreg", "--profile", "quick", "--data", c_npz(t)], r"HWLIB_THREADS='abc' must be a positive integer",
     {"HWLIB_THREADS": "abc"}),
    ("env-workers-negative-q1", lambda t: R(c_npz(t)), r"HWLIB_WORKERS='-2' must be a positive integer", {"HWLIB_WORKERS": "-2"}),
    ("env-threads-float-q2", lambda t: ["run", "q2.width", "--profile", "quick", "--data", c_npz(t)], r"HWLIB_THREADS='1\.5' must be a positive integer",
     {"HWLIB_THREADS": "1.5"}),
    ("env-workers-blank", lambda t: ["run", "all", "--profile", "quick", "--data", c_npz(t)], r"HWLIB_WORKERS=' ' must be a positive integer",
     {"HWLIB_WORKERS": " "}),
    ("env-threads-before-data", lambda t: R(t / "missing.npz"), r"HWLIB_THREADS='abc'", {"HWLIB_THREADS": "abc"}),
], inproc=True)

STORE_CASES = [store(*row) for row in [
    # (id, fill(results_root, slug) -> None, argv-tail, names-regex) — data: a small course npz
    ("store-corrupt-json", lambda r, s: put(r, s, "q1.perceptron", "perceptron", "{ half"), ["run", "q1.perceptron"],
     r"1 unusable result record: .*perceptron\.json \(not valid JSON.*run q1\.perceptron --force"),
    ("store-two-corrupt", lambda r, s: [put(r, s, "q1.perceptron", n, "[") for n in ("a", "b")], ["run", "q1.perceptron"],
     r"2 unusable result records: .*a\.json .*; .*b\.json"),
    ("store-corrupt-in-needs", lambda r, s: put(r, s, "q2.width", "x", "{"), ["run", "q2.depth", "--force"], r"q2\.width/x\.json .*run q2\.width --force"),
    ("store-bare-complete", lambda r, s: put(r, s, "q1.perceptron", "perceptron", {"schema": 1, "complete": True}), ["run", "q1.perceptron"],
     r"perceptron\.json \(marked complete but no 'experiment'"),
    ("store-wrong-schema", lambda r, s: put(r, s, "q1.perceptron", "perceptron", {"schema": 9}), ["run", "q1.perceptron"],
     r"perceptron\.json \(not a hwlib result record of schema 1"),
    ("store-not-a-dict", lambda r, s: put(r, s, "q1.perceptron", "perceptron", "[1, 2]"), ["run", "q1.perceptron"], r"perceptron\.json \(not a hwlib result record"),
    ("store-no-summary-acc", lambda r, s: put(r, s, "q1.perceptron", "perceptron", record(s, "q1.perceptron", "perceptron", summary={})), ["run", "q1.perceptron"],
     r"perceptron\.json \(marked complete but no summary 'best_dev_acc'"),
    ("store-misplaced", lambda r, s: put(r, s, "q1.perceptron", "perceptron", record(s, "q1.perceptron", "other")), ["run", "q1.perceptron"],
     r"perceptron\.json \(marked complete but it says .*/other but lies in .*/perceptron"),
    ("store-other-data", lambda r, s: put(r, s, "q1.perceptron", "perceptron", record(s, "q1.perceptron", "perceptron")), ["run", "q1.perceptron"],
     r"perceptron\.json \(recorded from other data: sha256 000000000000"),
    ("store-is-a-folder", lambda r, s: (r / s / "quick" / "q1.perceptron" / "perceptron.json").mkdir(parents=True), ["run", "q1.perceptron"],
     r"perceptron\.json \(unreadable: Is a directory"),
    ("list-reports-all", lambda r, s: [put(r, s, e, "z", "{") for e in ("q1.grid", "q2.width")], ["list"],
     r"2 unusable result records: .*q1\.grid/z\.json .*q2\.width/z\.json"),
]]


def _expand(env: dict, t: Path) -> dict:
    return {k: v.replace("{t}", str(t)) for k, v in env.items()}


MATRIX: dict[str, Case] = {}  # every case, by id (filled below, once all the lists exist)
WORLD: dict = {}              # the shared fixture of the running matrix


@pytest.fixture(scope="module")
def outcomes(world, tmp_path_factory, request):
    """Run every selected case of the matrix once: processes three at a time, in-process cases in
    this thread meanwhile. {id: (completed process, results tree unchanged?)}."""
    WORLD.update(world)  # for builders that copy the shared cache
    wanted = {item.callspec.params["case"].id for item in request.session.items
              if isinstance(getattr(getattr(item, "callspec", None), "params", {}).get("case"), Case)}
    jobs = []
    for c in (MATRIX[i] for i in MATRIX if i in wanted):
        t = tmp_path_factory.mktemp(re.sub(r"\W", "_", c.id)[:40])
        root = t / "results"
        shutil.copytree(world["results"], root)
        argv = c.build(t)
        env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(root), **_expand(c.env, t)}
        prefix = c.prefix(t) if callable(c.prefix) else c.prefix
        if callable(c.prefix) and prefix is None:
            continue  # the machine cannot set this case up (see check)
        jobs.append((c, argv, env, prefix, root, tree_hash(root)))

    def execute(job):
        c, argv, env, prefix, root, before = job
        p = in_process(argv, env) if c.inproc else cli(argv, env, prefix, timeout=c.timeout)
        return c.id, (p, tree_hash(root) == before)

    with ThreadPoolExecutor(PARALLEL) as pool:
        futures = [pool.submit(execute, j) for j in jobs if not j[0].inproc]
        done = dict(execute(j) for j in jobs if j[0].inproc)
        done.update(f.result() for f in futures)
    return done


def check(case: Case, outcomes) -> None:
    if case.id not in outcomes:
        pytest.skip("needs a non-root user or `unshare --user --mount` (a read-only folder or a private tmpfs)")
    p, unchanged = outcomes[case.id]
    assert_clear_error(p, case.names, status=case.status)
    assert unchanged, "the results tree changed"


def ids(rows):
    return [c.id for c in rows]


@pytest.mark.parametrize("case", CASES, ids=ids(CASES))
def test_bad_input_is_one_clear_line(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", STORE_CASES, ids=ids(STORE_CASES))
def test_bad_record_is_reported_before_training(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", SPECIAL_CASES, ids=ids(SPECIAL_CASES))
def test_special_file_is_refused_by_its_type(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", BOMB_CASES, ids=ids(BOMB_CASES))
def test_bomb_is_refused_before_memory_is_allocated(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", OSLIMIT_CASES, ids=ids(OSLIMIT_CASES))
def test_operating_system_limit_is_one_line(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", RECORD_CASES, ids=ids(RECORD_CASES))
def test_malformed_record_is_unusable_and_named(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", SETTINGS_CASES, ids=ids(SETTINGS_CASES))
def test_setting_is_checked_by_every_run(case, outcomes):
    check(case, outcomes)


# ------------------------------------------------------------------ folders that cannot take a record
def _namespace_available() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _readonly(folder: Path) -> list[str] | None:
    """A command prefix under which ``folder`` is read-only: chmod for a normal user; for root, a
    read-only bind mount in a private mount namespace (None where neither works: the case skips)."""
    if os.geteuid() != 0:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o555)
        return []
    if not _namespace_available():
        return None
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
            f"mount --bind '{folder}' '{folder}' && mount -o remount,ro,bind '{folder}' && exec \"$0\" \"$@\""]


def _tmpfs(folder: Path, size: str) -> list[str] | None:
    if not _namespace_available():
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
            f"mount -t tmpfs -o size={size} none '{folder}' && exec \"$0\" \"$@\""]


def _with_cache(t: Path, argv: list) -> list:
    """``argv`` after putting a copy of the shared synthetic cache in ``t/cache`` (read-only with t)."""
    shutil.copytree(WORLD["cache"], t / "cache")
    return argv


def _results_file(t: Path) -> list:
    shutil.rmtree(t / "results")
    write(t / "results", b"not a folder")
    return R(c_npz(t))


READONLY_CASES = cases([
    Case("ro-results-run", lambda t: R(c_npz(t)), r"cannot write results into .*results.*HWLIB_RESULTS",
         prefix=lambda t: _readonly(t / "results")),
    Case("ro-results-run-q2", lambda t: ["run", "q2.depth", "--profile", "quick", "--data", c_npz(t)],
         r"cannot write results into .*Read-only|cannot write results into", prefix=lambda t: _readonly(t / "results")),
    Case("ro-cache-and-results", lambda t: _with_cache(t, ["run", "q1.logreg", "--profile", "quick", "--data", c_npz(t)]),
         r"cannot write results into", {"HWLIB_CACHE": "{t}/cache"}, prefix=_readonly),
])
FULL_DISK_CASES = cases([
    Case(f"full-disk-{size}", lambda t: R(c_npz(t)), r"only [\d,]+ KiB free for results in .*small.*HWLIB_RESULTS",
         {"HWLIB_RESULTS": "{t}/small"}, prefix=lambda t, size=size: _tmpfs(t / "small", size)) for size in ("64k", "2m")
])
RESULTS_FILE_CASES = cases([
    Case("results-root-is-a-file", _results_file, r"cannot write results into .*results/emnist-course-.*HWLIB_RESULTS"),
])


@pytest.mark.parametrize("case", READONLY_CASES, ids=ids(READONLY_CASES))
def test_read_only_results_fail_before_training(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", FULL_DISK_CASES, ids=ids(FULL_DISK_CASES))
def test_full_disk_fails_before_training(case, outcomes):
    check(case, outcomes)


@pytest.mark.parametrize("case", RESULTS_FILE_CASES, ids=ids(RESULTS_FILE_CASES))
def test_results_root_is_a_file(case, outcomes):
    check(case, outcomes)  # the tree checked unchanged is the file itself


for _c in [*CASES, *STORE_CASES, *SPECIAL_CASES, *BOMB_CASES, *OSLIMIT_CASES, *RECORD_CASES, *SETTINGS_CASES,
           *READONLY_CASES, *FULL_DISK_CASES, *RESULTS_FILE_CASES]:
    assert _c.id not in MATRIX, f"case id {_c.id} twice"
    MATRIX[_c.id] = _c


def test_the_matrix_is_large_enough():
    assert len(MATRIX) >= 175


# ------------------------------------------------------------------ what used to pass silently
def _run_ok(args, env) -> subprocess.CompletedProcess:
    p = in_process(args, env)  # what is under test is the outcome, not the command line
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    return p


def _records(root: Path, exp: str = "q1.perceptron") -> dict[str, dict]:
    return {p.parent.parent.parent.name: json.loads(p.read_text()) for p in root.glob(f"*/quick/{exp}/*.json")}


def test_results_are_never_reused_across_datasets(world, tmp_path):
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(tmp_path / "r")}
    a = npz(tmp_path / "a.npz", course())
    X, y = letters(3, seed=7)
    b = npz(tmp_path / "b.npz", course(X_train=X.reshape(-1, 784), y_train=y + 1))
    _run_ok(["run", "q1.perceptron", "--profile", "quick", "--data", a], env)
    _run_ok(["run", "q1.perceptron", "--profile", "quick", "--data", b], env)
    recs = _records(tmp_path / "r")
    assert len(recs) == 2, recs.keys()  # one place per dataset, each naming its own file
    assert {Path(r["dataset"]["source"].split(" (")[0]).name for r in recs.values()} == {"a.npz", "b.npz"}
    # two unofficial archives (read with --no-verify) with different content: two places as well
    z1 = nist_zip(tmp_path / "one.zip", idx_raw(n_train=6))
    z2 = nist_zip(tmp_path / "two.zip", idx_raw(n_train=7))
    for z in (z1, z2):
        _run_ok(["run", "q1.perceptron", "--profile", "quick", "--no-verify", "--data", z], env)
    assert len(_records(tmp_path / "r")) == 4
    # the same files as a folder are the same data: the run is found, not redone
    folder = gz_folder(tmp_path / "idx", idx_raw(n_train=6))
    p = _run_ok(["run", "q1.perceptron", "--profile", "quick", "--no-verify", "--data", folder], env)
    assert len(_records(tmp_path / "r")) == 4 and "q1.perceptron (quick): 0 runs trained, 1 reused" in p.stdout


def test_force_moves_a_corrupt_record_aside_and_redoes_it(world, tmp_path):
    data = npz(tmp_path / "c.npz", course())
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(tmp_path / "r")}
    _run_ok(["run", "q1.perceptron", "--profile", "quick", "--data", data], env)
    (rec,) = (tmp_path / "r").glob("*/quick/q1.perceptron/*.json")
    rec.write_text("{ half")
    p = _run_ok(["run", "q1.perceptron", "--profile", "quick", "--force", "--data", data], env)
    assert "moved" in p.stderr and rec.with_name(rec.name + ".corrupt").read_text() == "{ half"
    assert json.loads(rec.read_text())["complete"] is True


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_missing_or_broken_weights_are_regenerated_by_a_rerun(damage, world, tmp_path):
    data = npz(tmp_path / "c.npz", course())
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(tmp_path / "r")}
    _run_ok(["run", "q1.perceptron", "--profile", "quick", "--data", data], env)
    (w,) = (tmp_path / "r").glob("*/quick/q1.perceptron/*.npz")
    if damage == "delete":
        w.unlink()
    else:
        w.write_bytes(w.read_bytes()[:100])
    from hwlib.errors import ResultError
    from hwlib.experiments import results
    rec = {**json.loads(w.with_suffix(".json").read_text()), "_path": str(w.with_suffix(".json"))}
    with pytest.raises(ResultError, match=r"cannot read arrays .*rerun `python -m hwlib run q1.perceptron`"):
        results.load_arrays(rec)
    _run_ok(["run", "q1.perceptron", "--profile", "quick", "--data", data], env)
    assert results.load_arrays(rec)  # a complete, readable weights file again


def test_records_follow_the_umask(tmp_path):
    from hwlib.experiments import results
    old = os.umask(0o022)
    try:
        p = results.write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o644


def test_thread_and_worker_counts_are_capped_at_the_cores(monkeypatch, capsys):
    from hwlib.experiments import pool, settings
    monkeypatch.setenv("HWLIB_THREADS", "10000")
    monkeypatch.setattr(settings, "_WARNED", set())
    assert pool.threads() == (os.cpu_count() or 1)
    assert "HWLIB_THREADS=10000 exceeds" in capsys.readouterr().err


def test_unwritable_cache_generates_in_memory(world, tmp_path):
    blocker = write(tmp_path / "cache", b"a file where the cache folder should be")
    p = _run_ok(["data", "info", "--profile", "quick"], {"HWLIB_CACHE": str(blocker), "HWLIB_RESULTS": str(tmp_path)})
    assert "SYNTHETIC" in p.stdout and "cannot write the synthetic-letters cache" in p.stderr


@pytest.mark.parametrize("name", ["DATA.NPZ", "letters"])
def test_format_is_sniffed_not_taken_from_the_name(name, world, tmp_path):
    f = npz(tmp_path / "x.npz", course()).rename(tmp_path / name)
    p = _run_ok(["data", "info", "--profile", "quick", "--data", f], {"HWLIB_CACHE": str(world["cache"])})
    assert "course npz" in p.stdout


def test_label_base_settles_what_the_labels_cannot(tmp_path):
    from hwlib.data import load_letters
    y = 1 + np.arange(78) % 25  # 0-based without 'a', or 1-based without 'z'
    f = npz(tmp_path / "l.npz", course(y_train=y, y_valid=y, y_test=y))
    assert load_letters(f, label_base=0).test.y.min() == 1
    assert load_letters(f, label_base=1).test.y.min() == 0


def test_book_helpers_on_empty_and_truncated_files(tmp_path):
    from hwlib.data import dataset_slug
    from hwlib.errors import DataError
    with pytest.raises(DataError, match=r"e\.npz: the file is empty"):
        dataset_slug(write(tmp_path / "e.npz", b""))
    ok = npz(tmp_path / "ok.npz", course())
    with pytest.raises(DataError, match=r"t\.npz: starts like a zip/npz .*truncated"):
        dataset_slug(write(tmp_path / "t.npz", ok.read_bytes()[:2000]))


def test_synthetic_notice_names_the_real_reason(monkeypatch, capsys, world):
    from hwlib.data import letters as L
    monkeypatch.setenv("HWLIB_CACHE", str(world["cache"]))
    monkeypatch.setattr(L, "_NOTICE_SHOWN", False)
    L.load_letters("synthetic", profile="quick")
    assert capsys.readouterr().err == ""  # asked for: no notice
    L.load_letters(profile="quick")
    assert "HWLIB_DATA unset" in capsys.readouterr().err


# ------------------------------------------------------------------ 5. signals: SIGTERM ends a command like Ctrl-C
def _catches_sigterm(pid: int) -> bool:
    """Whether the process has installed its SIGTERM handler (the CLI's main is running)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
    except (OSError, ValueError, IndexError):
        pass
    return False


def _interrupt(args, env: dict, sig: int, ready=lambda pid: True, after: float = 0.5) -> subprocess.CompletedProcess:
    """Start ``python -m hwlib ARGS``, wait until it handles SIGTERM and ``ready(pid)``, send ``sig``."""
    proc = subprocess.Popen([sys.executable, "-m", "hwlib", *map(str, args)], cwd=REPO, stdin=subprocess.DEVNULL,
                            env={**BASE_ENV, "OMP_NUM_THREADS": "1", **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline and not (_catches_sigterm(proc.pid) and ready(proc.pid)):
        time.sleep(0.05)
    time.sleep(after)
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        err += "\nTIMEOUT: still running 60 s after the signal"
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_ends_the_generation_with_one_line(sig, status, tmp_path):
    env = {"HWLIB_CACHE": str(tmp_path / "cache"), "HWLIB_RESULTS": str(tmp_path / "results")}
    p = _interrupt(["data", "synthetic", "--profile", "full"], env, sig)
    assert_clear_error(p, rf"interrupted by {sig.name} while generating the synthetic letters: nothing was cached",
                       status=status)
    assert not [f for f in tmp_path.rglob("*") if f.is_file()], "a file was left behind"


# A Ctrl-C that lands inside a C callback (numba's compiler calls back into Python while it compiles): Python cannot
# raise it there, prints it as "Exception ignored ... Traceback", and the command runs on; hwlib raises it again
# (errors.raise_pending). The second run of the script shows the callback path does print without the CLI's hook.
_IN_A_CALLBACK = """
import ctypes, sys
from hwlib.errors import interrupted, raise_pending
from hwlib.experiments import cli

def interrupted_in_a_callback(args):
    ctypes.CFUNCTYPE(None)(lambda: (_ for _ in ()).throw(interrupted(KeyboardInterrupt())))()
    raise_pending()

cli._data_synthetic = interrupted_in_a_callback
if sys.argv[1] == "cli":
    sys.exit(cli.main(["data", "synthetic", "--profile", "quick"]))
try:
    interrupted_in_a_callback(None)
except KeyboardInterrupt:
    sys.exit(130)
"""


def test_an_interruption_inside_a_c_callback_ends_with_one_line(tmp_path):
    run = [sys.executable, "-c", _IN_A_CALLBACK]
    env = {**BASE_ENV, "HWLIB_CACHE": str(tmp_path / "cache"), "HWLIB_RESULTS": str(tmp_path / "results")}
    bare = subprocess.run(run + ["bare"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert bare.returncode == 130 and "Exception ignored" in bare.stderr and "Traceback" in bare.stderr
    p = subprocess.run(run + ["cli"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert_clear_error(p, "interrupted by SIGINT while generating the synthetic letters: nothing was cached",
                       status=130)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for f in Path(f"/proc/{pid}/task").glob("*/children") for c in f.read_text().split()]
    except OSError:
        return []


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def test_sigterm_ends_a_grid_and_its_worker_processes(world, tmp_path):
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(tmp_path / "results"), "HWLIB_WORKERS": "2"}
    seen: list[int] = []

    def workers_started(pid):
        seen[:] = _children(pid)
        return len(seen) >= 2
    t0 = time.monotonic()
    p = _interrupt(["run", "q2.width", "--profile", "quick", "--data", c_npz(tmp_path)], env, signal.SIGTERM,
                   workers_started, after=1.0)
    assert_clear_error(p, r"interrupted by SIGTERM while training q2\.width: finished runs are recorded", status=143)
    assert time.monotonic() - t0 < 60
    deadline = time.monotonic() + 15
    while not all(map(_gone, seen)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert seen and all(map(_gone, seen)), f"worker processes {seen} outlived the command"


class _Unhandled(Exception):
    """Raised by the guard handler when the CLI did not install its own for SIGTERM."""


@pytest.fixture
def sigterm_guard():
    """A SIGTERM handler that fails the test (instead of killing pytest) if main installs none."""
    def guard(signum, frame):
        raise _Unhandled("SIGTERM reached the test's guard: the CLI has no handler of its own")
    old = signal.signal(signal.SIGTERM, guard)
    yield guard
    signal.signal(signal.SIGTERM, old)


def _kill_self_with(sig: int):
    def inner(*a, **k):
        os.kill(os.getpid(), sig)
        time.sleep(30)
        raise AssertionError(f"{sig} did not interrupt")
    return inner


def test_sigterm_during_training_names_the_experiment(world, tmp_path, monkeypatch, sigterm_guard):
    from hwlib.experiments import q1
    monkeypatch.setattr(q1, "fit", _kill_self_with(signal.SIGTERM))
    before = signal.getsignal(signal.SIGTERM)
    root = tmp_path / "results"
    p = in_process(["run", "q1.perceptron", "--profile", "quick", "--data", c_npz(tmp_path)],
                   {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(root)})
    assert_clear_error(p, r"interrupted by SIGTERM while training q1\.perceptron: finished runs are recorded, the run "
                          r"in flight is not; rerun the same command to resume", status=143)
    assert signal.getsignal(signal.SIGTERM) is before  # main puts the previous handler back
    assert not [f for f in root.rglob("*") if f.is_file()]


def test_sigterm_while_generating_inside_run_is_not_called_training(tmp_path, monkeypatch, sigterm_guard):
    from hwlib.data import synthetic
    monkeypatch.setattr(synthetic, "generate", _kill_self_with(signal.SIGTERM))
    p = in_process(["run", "q1.perceptron", "--profile", "quick"],
                   {"HWLIB_CACHE": str(tmp_path / "cache"), "HWLIB_RESULTS": str(tmp_path / "results")})
    line = assert_clear_error(p, r"interrupted by SIGTERM while generating the synthetic letters: nothing was cached, "
                                 r"nothing trained", status=143)
    assert "training" not in line.split(":")[1]
    assert not [f for f in tmp_path.rglob("*") if f.is_file()]


_WRITER = ("import sys, time; from pathlib import Path; from hwlib.experiments import results; "
           "results._atomic_write(Path(sys.argv[1]), lambda f: (f.write(b'{ half'), f.flush(), time.sleep(120)))")


def _start_writer(target: Path) -> tuple[subprocess.Popen, Path]:
    """A process stuck in the middle of writing ``target`` atomically; (process, its temporary file)."""
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(target)], cwd=REPO, env={**BASE_ENV, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tmp = [f for f in target.parent.glob(f".{target.name}.*.tmp") if f.stat().st_size]
        if tmp:
            return proc, tmp[0]
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("the writer never started writing")


def test_temporary_files_left_by_a_kill_are_cleaned_by_the_next_run(world, tmp_path):
    data = c_npz(tmp_path)
    slug = f"emnist-course-{hashlib.sha256(data.read_bytes()).hexdigest()[:10]}"
    root, cache = tmp_path / "results", tmp_path / "cache"
    shutil.copytree(world["cache"], cache)
    folder = root / slug / "quick" / "q1.perceptron"
    folder.mkdir(parents=True)
    killed, killed_tmp = _start_writer(folder / "perceptron.json")
    live, live_tmp = _start_writer(folder / "other.json")
    try:
        killed.kill()  # SIGKILL: no clean-up of its own
        killed.wait()
        env = {"HWLIB_CACHE": str(cache), "HWLIB_RESULTS": str(root)}
        p = cli(["run", "q1.perceptron", "--profile", "quick", "--data", data], env)
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
        assert "removed 1 temporary file(s)" in p.stderr and not killed_tmp.exists()
        assert live_tmp.exists(), "the temporary file of a live writer was removed"
        stale_cache = write(cache / "synthetic" / "letters-v3-killed.tmp", b"PK half a generation")
        p = cli(["data", "info", "--profile", "quick"], env)
        assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
        assert "removed 1 temporary file(s) left in" in p.stderr and not stale_cache.exists()
    finally:
        live.kill()
        live.wait()


# ------------------------------------------------------------------ 6. concurrency
def test_check_writable_when_another_process_makes_the_folder_first(tmp_path, monkeypatch):
    from hwlib.experiments import results
    real = Path.mkdir

    def racing(self, mode=0o777, parents=False, exist_ok=False):
        real(self, mode, parents, True)  # another process, just before this one
        return real(self, mode, parents, exist_ok)
    monkeypatch.setattr(Path, "mkdir", racing)
    results.check_writable(tmp_path / "a" / "b" / "c")
    assert (tmp_path / "a" / "b" / "c").is_dir()


def test_processes_creating_the_results_folders_at_once_all_succeed(tmp_path):
    script = ("import sys, time; from pathlib import Path; from hwlib.experiments.results import check_writable; "
              "time.sleep(max(0, float(sys.argv[2]) - time.time())); "
              "[check_writable(Path(sys.argv[1]) / str(i) / 'quick' / 'q1.grid') for i in range(40)]")
    start = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(start)], cwd=REPO, text=True,
                              env={**BASE_ENV, "OMP_NUM_THREADS": "1"}, stderr=subprocess.PIPE) for _ in range(6)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert len(list(tmp_path.glob("*/quick/q1.grid"))) == 40


# ------------------------------------------------------------------ 2. the memory at hand
@pytest.mark.parametrize("kind", ["npz", "idx", "zip", "memory-error"])
def test_a_dataset_too_large_for_the_memory_at_hand_is_a_clear_error(kind, tmp_path, monkeypatch):
    from hwlib.data import emnist, limits
    if kind == "memory-error":  # the allocation itself fails (no /proc/meminfo to ask beforehand)
        monkeypatch.setattr(emnist, "check_memory", lambda *a: (_ for _ in ()).throw(MemoryError()))
    else:
        monkeypatch.setattr(limits, "available_memory", lambda: 100 << 10)
    path = {"npz": lambda: c_npz(tmp_path), "zip": lambda: nist_zip(tmp_path / "gzip.zip")}.get(kind, lambda: gz_folder(tmp_path / "idx"))()
    p = in_process(["data", "info", "--profile", "quick", "--no-verify", "--data", path],
                   {"HWLIB_CACHE": str(tmp_path / "cache"), "HWLIB_RESULTS": str(tmp_path / "results")})
    if kind == "memory-error":
        assert_clear_error(p, r"idx:emnist-letters-.*: ran out of memory while loading it \(MemoryError\); free memory")
    else:
        assert_clear_error(p, rf"{path.name}.*: loading it needs about [\d,]+ KiB of memory but only 100 KiB are available; "
                              r"free memory")


# ------------------------------------------------------------------ 4. --force recovers whatever a record holds
def test_force_recovers_every_malformed_record_and_list_never_crashes(world, tmp_path):
    data = c_npz(tmp_path)
    slug = f"emnist-course-{hashlib.sha256(data.read_bytes()).hexdigest()[:10]}"
    root = tmp_path / "results"
    folder = root / slug / "quick" / "q1.perceptron"
    put(root, slug, "q1.perceptron", "perceptron", record(slug, "q1.perceptron", "perceptron", dataset="oops"))
    put(root, slug, "q1.perceptron", "deep", '{"schema": 1, "config": ' + deep(100_000) + "}")
    victim = write(tmp_path / "victim.npz", b"not yours")
    put(root, slug, "q1.perceptron", "escape", {**record(slug, "q1.perceptron", "escape"), "arrays_file": "../../../../victim.npz"})
    fifo(folder / "pipe.json")
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(root)}
    p = cli(["run", "q1.perceptron", "--profile", "quick", "--force", "--data", data], env, timeout=120)
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    assert p.stderr.count("moved ") == 4, p.stderr
    names = {f.name for f in folder.iterdir()}
    assert {"perceptron.json.corrupt", "deep.json.corrupt", "escape.json.corrupt", "pipe.json.corrupt"} <= names, names
    assert json.loads((folder / "perceptron.json").read_text())["complete"] is True
    assert victim.read_bytes() == b"not yours"
    p = cli(["list", "--profile", "quick", "--data", data], env, timeout=60)
    assert p.returncode == 0 and "q1.perceptron      1 recorded run(s)" in p.stdout, (p.stdout, p.stderr)


def test_a_fifo_at_the_synthetic_cache_path_is_never_opened(world, tmp_path):
    cache = tmp_path / "cache"
    shutil.copytree(world["cache"], cache)
    (f,) = (cache / "synthetic").glob("*-seed42-100-20-20.npz")
    f.unlink()
    fifo(f)
    p = cli(["list", "--profile", "quick"], {"HWLIB_CACHE": str(cache), "HWLIB_RESULTS": str(tmp_path / "r")}, timeout=60)
    assert p.returncode == 0 and "not generated yet" in p.stdout, (p.returncode, p.stdout, p.stderr)


# ------------------------------------------------------------------ 9. data without training images
def test_data_info_on_data_without_training_images_warns(world, tmp_path):
    f = npz(tmp_path / "frag.npz", images_npz(train_images=np.zeros((0, 28, 28), np.uint8), train_labels=np.zeros(0, int)))
    p = in_process(["data", "info", "--profile", "quick", "--data", f],
                   {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(tmp_path / "r")})
    assert p.returncode == 0 and "Traceback" not in p.stderr, p.stderr
    warnings = [ln for ln in p.stderr.splitlines() if ln.startswith("hwlib: warning:")]
    assert len(warnings) == 1 and "frag.npz has no training images — `run` cannot train on it" in warnings[0], p.stderr
    assert re.search(r"train\s*:\s*0 images", p.stdout)
