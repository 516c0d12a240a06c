"""Every data format the loader reads, on small files the tests make, and every bad input."""
from __future__ import annotations

import gzip
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from hwlib.data import emnist
from hwlib.data import (Split, class_counts, course_view, dataset_slug, letters, load_letters,
                        real_data_dir)
from hwlib.errors import DataError

N_PER_CLASS_TRAIN, N_PER_CLASS_TEST = 12, 3


def _letters(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct upright 'images' with a class-dependent bar, so orientation errors show."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(26), n_per_class)
    X = rng.integers(0, 40, size=(len(y), 28, 28), dtype=np.uint8)
    for i, c in enumerate(y):
        X[i, 2 + c % 24, :] = 255  # a horizontal bar at a class-dependent row
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def _idx_images(X: np.ndarray) -> bytes:
    return struct.pack(">IIII", 0x803, len(X), 28, 28) + X.transpose(0, 2, 1).tobytes()  # stored transposed


def _idx_labels(y: np.ndarray) -> bytes:
    return struct.pack(">II", 0x801, len(y)) + (y + 1).astype(np.uint8).tobytes()  # stored 1..26


def _official_bytes():
    Xtr, ytr = _letters(N_PER_CLASS_TRAIN, 0)
    Xte, yte = _letters(N_PER_CLASS_TEST, 1)
    raw = {
        "emnist-letters-train-images-idx3-ubyte.gz": _idx_images(Xtr),
        "emnist-letters-train-labels-idx1-ubyte.gz": _idx_labels(ytr),
        "emnist-letters-test-images-idx3-ubyte.gz": _idx_images(Xte),
        "emnist-letters-test-labels-idx1-ubyte.gz": _idx_labels(yte),
    }
    return raw, (Xtr, ytr, Xte, yte)


def write_gz_folder(folder: Path, raw: dict[str, bytes] | None = None) -> Path:
    raw = raw or _official_bytes()[0]
    folder.mkdir(parents=True, exist_ok=True)
    for name, b in raw.items():
        (folder / name).write_bytes(gzip.compress(b))
    return folder


def write_zip(path: Path, folder: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"gzip/{f.name}")
        zf.writestr("gzip/emnist-digits-test-labels-idx1-ubyte.gz", gzip.compress(b"unrelated"))
    return path


# ------------------------------------------------------------------ official idx files
def test_idx_folder_upright_labels_and_split(tmp_path):
    _, (Xtr, ytr, Xte, yte) = _official_bytes()
    folder = write_gz_folder(tmp_path / "idx")
    d = load_letters(folder, verify=False)
    assert d.name == "emnist-letters (unverified copy)" and not d.synthetic
    assert d.slug.startswith("emnist-letters-") and d.slug != "emnist-letters"  # not the official files
    # test split = official test, upright (transposed back), labels 0-based
    np.testing.assert_array_equal(d.test.X, Xte)
    np.testing.assert_array_equal(d.test.y, yte)
    # train + dev = official train, stratified 1/6 to dev
    assert len(d.train) + len(d.dev) == len(ytr)
    assert (class_counts(d.dev.y) == 2).all() and (class_counts(d.train.y) == 10).all()
    both = np.concatenate([d.train.X, d.dev.X]).reshape(len(ytr), -1)
    assert {r.tobytes() for r in both} == {r.tobytes() for r in Xtr.reshape(len(ytr), -1)}
    assert d.train.X.dtype == np.uint8 and d.train.y.dtype == np.int64


def test_split_is_seeded_and_matches_course_sizes():
    y = np.repeat(np.arange(26), 4800)
    X = np.zeros((len(y), 28, 28), np.uint8)
    tr, dv = letters.split_train_dev(X, y, seed=42)
    assert len(tr) == 104_000 and len(dv) == 20_800
    assert (class_counts(dv.y) == 800).all()
    tr2, dv2 = letters.split_train_dev(X, np.array(y), seed=42)
    np.testing.assert_array_equal(dv.y, dv2.y)


def test_zip_archive_reads_like_the_folder(tmp_path):
    folder = write_gz_folder(tmp_path / "idx")
    z = write_zip(tmp_path / "gzip.zip", folder)
    a, b = load_letters(folder, verify=False), load_letters(z, verify=False)
    assert a.sha256 == b.sha256 and a.slug == b.slug != "emnist-letters"  # same content, same place
    with pytest.raises(DataError, match=r"gzip.zip:emnist-letters-.*does not match the official.*--no-verify"):
        load_letters(z)  # one sha256 policy for the folder and the archive


def test_folder_hash_mismatch_is_reported(tmp_path):
    folder = write_gz_folder(tmp_path / "idx")
    with pytest.raises(DataError, match=r"sha256 .* does not match the official.*--no-verify"):
        load_letters(folder)


def test_quick_profile_is_a_stratified_subset(tmp_path):
    folder = write_gz_folder(tmp_path / "idx")
    full = load_letters(folder, verify=False)
    q = load_letters(folder, verify=False, profile="quick")
    assert (class_counts(q.test.y) == N_PER_CLASS_TEST).all()  # fewer than 20 available: all kept
    assert q.sha256 == full.sha256  # nothing to subset at this size
    assert q.profile == "quick"


# ------------------------------------------------------------------ course npz
@pytest.mark.parametrize("one_based", [True, False])
def test_course_npz(tmp_path, one_based):
    splits = [_letters(4, s) for s in (0, 1, 2)]
    arrays = {}
    for (X, y), (xk, yk) in zip(splits, (("X_train", "y_train"), ("X_valid", "y_valid"), ("X_test", "y_test"))):
        arrays[xk] = X.reshape(len(X), 784)
        arrays[yk] = y + (1 if one_based else 0)
    p = tmp_path / "emnist-letters.npz"
    np.savez(p, **arrays)
    d = load_letters(p)
    assert d.slug == f"emnist-course-{emnist.sha256_file(p)[:10]}"
    np.testing.assert_array_equal(d.dev.y, splits[1][1])
    np.testing.assert_array_equal(d.test.X, splits[2][0])
    assert any("shifted" in n for n in d.notes) == one_based


def test_course_npz_stored_transposed_is_detected(tmp_path):
    from hwlib.data import synthetic
    s = synthetic.make_splits((10, 2, 2), seed=3)
    arrays = {"X_train": s["X_train"].transpose(0, 2, 1).reshape(-1, 784), "y_train": s["y_train"] + 1,
              "X_valid": s["X_dev"].transpose(0, 2, 1).reshape(-1, 784), "y_valid": s["y_dev"] + 1,
              "X_test": s["X_test"].transpose(0, 2, 1).reshape(-1, 784), "y_test": s["y_test"] + 1}
    p = tmp_path / "t.npz"
    np.savez(p, **arrays)
    d = load_letters(p)
    np.testing.assert_array_equal(d.test.X, s["X_test"])
    assert any("transposed" in n for n in d.notes)
    assert not letters.is_transposed(s["X_train"], s["y_train"])


def test_npz_members_of_format_version_3_are_read(tmp_path):
    """A .npy member written in format 3.0 (utf-8 header) loads like any other (it once crashed)."""
    import io
    import zipfile
    Xtr, ytr = _letters(6, 0)
    Xte, yte = _letters(2, 1)
    p = tmp_path / "v3.npz"
    with zipfile.ZipFile(p, "w") as zf:
        for name, a in {"train_images": Xtr, "train_labels": ytr, "test_images": Xte, "test_labels": yte}.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, version=(3, 0))
            zf.writestr(f"{name}.npy", buf.getvalue())
    d = load_letters(p)
    np.testing.assert_array_equal(d.test.X, Xte)
    assert len(d.train) + len(d.dev) == len(Xtr)


# ------------------------------------------------------------------ images npz (fragment layout)
def test_images_npz_layout(tmp_path):
    Xtr, ytr = _letters(6, 0)
    Xte, yte = _letters(2, 1)
    p = tmp_path / "frag.npz"
    np.savez(p, train_images=Xtr, train_labels=ytr, test_images=Xte, test_labels=yte)
    d = load_letters(p)
    assert len(d.train) == 26 * 5 and len(d.dev) == 26 and len(d.test) == 52
    assert d.slug.startswith("emnist-npz-") and d.slug == dataset_slug(p)


# ------------------------------------------------------------------ bad input
def _npz(tmp_path, **arrays) -> Path:
    p = tmp_path / "bad.npz"
    np.savez(p, **arrays)
    return p


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def _course(**over):
    X, y = _letters(2, 0)
    base = {"X_train": X.reshape(-1, 784), "y_train": y, "X_valid": X.reshape(-1, 784), "y_valid": y,
            "X_test": X.reshape(-1, 784), "y_test": y}
    base.update(over)
    return base


@pytest.mark.parametrize("make, message", [
    (lambda t: t / "missing.npz", r"no such file or folder \(from --data\).*HWLIB_DATA"),
    (lambda t: _npz(t, **{k: v for k, v in _course().items() if k != "y_test"}), r"missing keys \['y_test'\]"),
    (lambda t: _npz(t, **_course(y_train=np.full(52, 27))), r"labels span .*outside"),
    (lambda t: _npz(t, **_course(y_train=np.full(52, -1))), r"labels span .*outside"),
    (lambda t: _npz(t, **_course(X_train=np.zeros((52, 30, 30), np.uint8))), r"shape \(52, 30, 30\).*28x28"),
    (lambda t: _npz(t, **_course(X_train=np.full((52, 784), np.nan))), r"NaN or infinite"),
    (lambda t: _npz(t, **_course(X_train=np.full((51, 784), 200, np.uint8))), r"51 images but 52 labels"),
    (lambda t: _npz(t, foo=np.zeros(3)), r"missing keys"),
    (lambda t: _write(t / "trunc.npz", b"PK\x03\x04 not really"), r"trunc.npz: starts like a zip/npz.*truncated or corrupt"),
    (lambda t: _write(t / "x.csv", b"1,2"), r"unknown data format"),
])
def test_bad_npz_inputs(tmp_path, make, message):
    with pytest.raises(DataError, match=message):
        load_letters(make(tmp_path))


def test_truncated_gz_is_reported(tmp_path):
    folder = write_gz_folder(tmp_path / "idx")
    f = folder / "emnist-letters-test-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:100])
    with pytest.raises(DataError, match=r"test-images.*truncated or corrupt.*hwlib data download"):
        load_letters(folder, verify=False)


def test_wrong_magic_and_short_payload(tmp_path):
    raw, _ = _official_bytes()
    bad = dict(raw)
    bad["emnist-letters-train-labels-idx1-ubyte.gz"] = raw["emnist-letters-train-images-idx3-ubyte.gz"]
    with pytest.raises(DataError, match=r"magic number 0x00000803, expected 0x00000801"):
        load_letters(write_gz_folder(tmp_path / "a", bad), verify=False)
    bad = dict(raw)
    bad["emnist-letters-test-images-idx3-ubyte.gz"] = raw["emnist-letters-test-images-idx3-ubyte.gz"][:-5]
    with pytest.raises(DataError, match=r"header announces .* truncated"):
        load_letters(write_gz_folder(tmp_path / "b", bad), verify=False)
    bad = dict(raw)
    bad["emnist-letters-test-images-idx3-ubyte.gz"] = struct.pack(">IIII", 0x803, 1, 32, 32) + bytes(1024)
    with pytest.raises(DataError, match=r"32x32, expected 28x28"):
        load_letters(write_gz_folder(tmp_path / "c", bad), verify=False)


def test_idx_labels_outside_1_26(tmp_path):
    raw, _ = _official_bytes()
    raw = dict(raw)
    raw["emnist-letters-test-labels-idx1-ubyte.gz"] = struct.pack(">II", 0x801, 78) + bytes(78)  # zeros
    with pytest.raises(DataError, match=r"labels span 0\.\.0, expected EMNIST letters labels 1\.\.26"):
        load_letters(write_gz_folder(tmp_path / "d", raw), verify=False)


def test_missing_file_in_folder_and_corrupt_zip(tmp_path):
    folder = write_gz_folder(tmp_path / "idx")
    (folder / "emnist-letters-train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing emnist-letters-train-labels"):
        load_letters(folder, verify=False)
    z = tmp_path / "gzip.zip"
    z.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DataError, match=r"gzip.zip: starts like a zip/npz archive.*truncated or corrupt"):
        load_letters(z)


def test_course_view():
    X = np.full((2, 28, 28), 128, np.uint8)
    V = course_view(X, bias=True)
    assert V.shape == (2, 785) and V.dtype == np.float64
    assert V[0, 0] == 0.5 and (V[:, -1] == 1).all()
    np.testing.assert_array_equal(course_view(X), V[:, :-1])
    X[0, 0, 0], X[0, 0, 1] = 255, 0
    assert course_view(X)[0, 0] == 255 / 256 < 1 and course_view(X)[0, 1] == 0.0   # pixels / 256 in [0, 1)


def test_constants_are_the_courses():
    from hwlib.constants import IMAGE_SIDE, LETTERS, N_CLASSES, N_PIXELS, PIXEL_SCALE
    assert LETTERS == "abcdefghijklmnopqrstuvwxyz" and N_CLASSES == 26
    assert IMAGE_SIDE == 28 and N_PIXELS == 784 and PIXEL_SCALE == 256.0


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_CACHE", str(tmp_path / "cache"))
    folder = write_gz_folder(tmp_path / "idx")
    assert letters.resolve_target() is None                          # nothing → synthetic
    cache_real = real_data_dir()
    write_gz_folder(cache_real)
    assert letters.resolve_target() == cache_real                    # cache → real
    monkeypatch.setenv("HWLIB_DATA", str(folder))
    assert letters.resolve_target() == folder                        # env beats cache
    assert letters.resolve_target(tmp_path / "x.npz") == tmp_path / "x.npz"  # explicit path beats env
    assert letters.resolve_target("synthetic") is None


def test_synthetic_default_names_itself(capsys):
    d = load_letters(profile="quick")
    assert d.synthetic and d.name.startswith("synthetic-letters") and d.slug == dataset_slug()
    assert d.sizes() == {"train": 2600, "dev": 520, "test": 520}
    assert isinstance(d.train, Split)


def test_files_are_streamed_never_read_whole(tmp_path, monkeypatch):
    """Checksums and decoding read the idx files in chunks of at most 1 MiB — from a folder and from
    the zip — and give the same data and hash as before (issue 22, item 2)."""
    folder = write_gz_folder(tmp_path / "idx")
    z = write_zip(tmp_path / "gzip.zip", folder)
    expected = {f.name: emnist.sha256_file(f) for f in folder.iterdir()}

    def whole(*a, **k):
        raise AssertionError("a file or archive member was read whole")
    monkeypatch.setattr(zipfile.ZipFile, "read", whole)
    monkeypatch.setattr(Path, "read_bytes", whole)
    for path, kind in ((folder, "idx-folder"), (z, "nist-zip")):
        assert emnist.file_hashes(path, kind) == expected
        d = load_letters(path, verify=False, profile="full")
        assert len(d.test) == 26 * N_PER_CLASS_TEST and d.train.X.dtype == np.uint8
    assert dataset_slug(folder, verify=False) == dataset_slug(z, verify=False)


def test_size_limits_are_emnists(tmp_path):
    from hwlib.data import limits
    assert limits.OFFICIAL_TRAIN == 124_800 and limits.OFFICIAL_TEST == 20_800
    assert limits.max_idx_bytes("images") == 16 + 249_600 * 784 and limits.max_idx_bytes("labels") == 8 + 249_600
    assert limits.max_gz_bytes("images") > emnist.FILES["emnist-letters-train-images-idx3-ubyte.gz"][1]
    assert limits.MAX_NPZ_ARRAY_BYTES >= 104_000 * 784 * 8  # the course's training images even as float64
