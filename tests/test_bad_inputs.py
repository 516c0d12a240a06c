"""Bad input, end to end: every case drives the real CLI in a subprocess and must exit 2 with one
line (``error: …``) that names the offending file or option and a remedy — no traceback — while
the results tree is byte-for-byte what it was before. Cases are grouped by layer; each builds its
own fixture in a fresh folder. After the matrix: the behaviours that used to be silent (data
reused across datasets, recovery from broken records, caps and fallbacks) checked as they should be.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

FILES = ("emnist-letters-train-images-idx3-ubyte.gz", "emnist-letters-train-labels-idx1-ubyte.gz",
         "emnist-letters-test-images-idx3-ubyte.gz", "emnist-letters-test-labels-idx1-ubyte.gz")
REMEDY = (r"(run|rerun|use|set|pass|point|give|copy|delete|free|make|multiply|fix|say|undo|re-export|"
          r"save|check|choose|see)")


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
    ``sh -c SCRIPT`` command whose script ends in ``exec "$0" "$@"``), run inside it."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("HWLIB_")}
    full.update({"OMP_NUM_THREADS": "1", **env})
    cmd = [sys.executable, "-m", "hwlib", *map(str, args)]
    if prefix:
        cmd = [*prefix, *cmd]
    return subprocess.run(cmd, cwd=REPO, env=full, capture_output=True, text=True, timeout=timeout)


def assert_clear_error(p: subprocess.CompletedProcess, names: str, extra: str = "") -> str:
    """Exit 2, one ``error:`` line (the last), naming ``names`` (a regex) and a remedy; no traceback;
    any other stderr line is a ``hwlib:`` notice."""
    err = p.stderr
    assert "Traceback" not in err and "Traceback" not in p.stdout, err
    assert p.returncode == 2, (p.returncode, err, p.stdout[-500:])
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
# (id, build(tmp) -> argv, names-regex[, extra env]) — argv may mention paths made by build.
def D(*args):  # "data info --data X"
    return ["data", "info", "--profile", "quick", "--data", *args]


def R(*args):  # "run q1.perceptron --data X"
    return ["run", "q1.perceptron", "--profile", "quick", "--data", *args]


CASES = [
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
    ("path-dev-null", lambda t: D("/dev/null"), r"/dev/null: the file is empty"),
    ("run-too-few-images", lambda t: R(npz(t / "tiny.npz", images_npz(**dict(zip(("train_images", "train_labels"), letters(2)))))),
     r"tiny\.npz: 52 train, 0 dev and 78 test images.*use a larger dataset"),
    ("run-too-few-idx", lambda t: [*R(gz_folder(t / "idx")), "--no-verify"], r"idx: 78 train, 0 dev.*use a larger dataset"),
    ("run-no-training-images", lambda t: R(npz(t / "frag.npz", images_npz(train_images=np.zeros((0, 28, 28), np.uint8), train_labels=np.zeros(0, int)))),
     r"frag\.npz.*has no training images.*--data synthetic"),
]

STORE_CASES = [
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
]


def _expand(env: dict, t: Path) -> dict:
    return {k: v.replace("{t}", str(t)) for k, v in env.items()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_clear_line(case, world, tmp_path):
    _id, build, names, *env = case
    argv = build(tmp_path)
    env = {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(world["results"]), **_expand(env[0] if env else {}, tmp_path)}
    before = tree_hash(world["results"])
    assert_clear_error(cli(argv, env), names)
    assert tree_hash(world["results"]) == before


@pytest.mark.parametrize("case", STORE_CASES, ids=[c[0] for c in STORE_CASES])
def test_bad_record_is_reported_before_training(case, world, tmp_path):
    _id, fill, argv, names = case
    data = npz(tmp_path / "c.npz", course())
    slug = f"emnist-course-{hashlib.sha256(data.read_bytes()).hexdigest()[:10]}"
    root = tmp_path / "results"
    shutil.copytree(world["results"], root)
    fill(root, slug)
    before = tree_hash(root)
    p = cli([*argv, "--profile", "quick", "--data", data], {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(root)})
    assert_clear_error(p, names)
    assert tree_hash(root) == before


# ------------------------------------------------------------------ folders that cannot take a record
def _namespace_available() -> bool:
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                              capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _readonly(folder: Path) -> list[str]:
    """A command prefix under which ``folder`` is read-only: chmod for a normal user; for root, a
    read-only bind mount in a private mount namespace (skip where neither works)."""
    if os.geteuid() != 0:
        for p in [folder, *folder.rglob("*")]:
            if p.is_dir():
                p.chmod(0o555)
        return []
    if not _namespace_available():
        pytest.skip("a read-only folder needs a non-root user or `unshare --user --mount`")
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
            f"mount --bind '{folder}' '{folder}' && mount -o remount,ro,bind '{folder}' && exec \"$0\" \"$@\""]


READONLY_CASES = [
    ("ro-results-run", lambda r, c: (["run", "q1.perceptron"], r), r"cannot write results into .*results.*HWLIB_RESULTS"),
    ("ro-results-run-q2", lambda r, c: (["run", "q2.depth"], r), r"cannot write results into .*Read-only|cannot write results into"),
    ("ro-cache-and-results", lambda r, c: (["run", "q1.logreg"], r.parent), r"cannot write results into"),
]


@pytest.mark.parametrize("case", READONLY_CASES, ids=[c[0] for c in READONLY_CASES])
def test_read_only_results_fail_before_training(case, world, tmp_path):
    _id, make, names = case
    data = npz(tmp_path / "c.npz", course())
    root = tmp_path / "results"
    shutil.copytree(world["results"], root)
    argv, ro = make(root, world["cache"])
    prefix = _readonly(ro)
    before = tree_hash(root)
    p = cli([*argv, "--profile", "quick", "--data", data],
            {"HWLIB_CACHE": str(tmp_path / "cache"), "HWLIB_RESULTS": str(root)}, prefix)
    assert_clear_error(p, names)
    assert tree_hash(root) == before


def _tmpfs(folder: Path, size: str) -> list[str]:
    if not _namespace_available():
        pytest.skip("a small full disk needs `unshare --user --mount` (a private tmpfs)")
    folder.mkdir(parents=True, exist_ok=True)
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
            f"mount -t tmpfs -o size={size} none '{folder}' && exec \"$0\" \"$@\""]


@pytest.mark.parametrize("size", ["64k", "2m"])
def test_full_disk_fails_before_training(size, world, tmp_path):
    data = npz(tmp_path / "c.npz", course())
    root = tmp_path / "small"
    p = cli(["run", "q1.perceptron", "--profile", "quick", "--data", data],
            {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(root)}, _tmpfs(root, size))
    assert_clear_error(p, r"only [\d,]+ KiB free for results in .*small.*HWLIB_RESULTS")


def test_results_root_is_a_file(world, tmp_path):
    f = write(tmp_path / "results", b"not a folder")
    p = cli(["run", "q1.perceptron", "--profile", "quick", "--data", npz(tmp_path / "c.npz", course())],
            {"HWLIB_CACHE": str(world["cache"]), "HWLIB_RESULTS": str(f)})
    assert_clear_error(p, r"cannot write results into .*results/emnist-course-")
    assert f.read_bytes() == b"not a folder"


def test_the_matrix_is_large_enough():
    assert len(CASES) + len(STORE_CASES) + len(READONLY_CASES) + 2 + 1 >= 80


# ------------------------------------------------------------------ what used to pass silently
def _run_ok(args, env) -> subprocess.CompletedProcess:
    p = cli(args, env)
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
    from hwlib.experiments import q2
    monkeypatch.setenv("HWLIB_THREADS", "10000")
    monkeypatch.setattr(q2, "_WARNED", set())
    assert q2._threads() == (os.cpu_count() or 1)
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
