"""EMNIST Letters (or its synthetic stand-in) as train/dev/test splits, with name, hash and source.

``load_letters()`` resolves the data in this order: an explicit ``path`` → ``$HWLIB_DATA`` → the real
dataset downloaded into the user cache (``python -m hwlib data download``) → the synthetic default.
Images come back uint8 (N, 28, 28), upright, 0..255; labels int64 0..25 (a=0).

Formats read from a path:
  * the course's ``emnist-letters.npz``: ``X_train, y_train, X_valid, y_valid, X_test, y_test``,
    images flattened to 784, labels 1..26 or 0..25;
  * a folder with the four official ``emnist-letters-*-idx?-ubyte.gz`` files, or NIST's ``gzip.zip``:
    the official train set is split into 104,000 train + 20,800 dev by a seeded stratified split
    (per class, a permutation from ``default_rng(seed)`` keeps 4,000 for train and 800 for dev);
    the official test set is the test split;
  * an npz with ``train_images, train_labels, test_images, test_labels`` ((N,28,28), 0..25), like
    the real fragment in ``the project's shared data folder``; its dev split is carved from train as above (1/6 per class).
Profiles: ``full`` uses everything; ``quick`` takes a seeded stratified subset (100/20/20 per class).
"""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwlib.constants import IMAGE_SIDE, N_CLASSES, N_PIXELS, PIXEL_SCALE
from hwlib.data import emnist
from hwlib.errors import ConfigError, DataError
from hwlib.paths import cache_dir

PROFILE_SIZES = {"full": (4000, 800, 800), "quick": (100, 20, 20)}  # per class: train, dev, test
COURSE_KEYS = ("X_train", "y_train", "X_valid", "y_valid", "X_test", "y_test")
NPZ_KEYS = ("train_images", "train_labels", "test_images", "test_labels")


@dataclass(frozen=True)
class Split:
    X: np.ndarray  # (N, 28, 28) uint8, upright
    y: np.ndarray  # (N,) int64, 0..25

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Letters:
    """Three splits plus where they came from."""
    train: Split
    dev: Split
    test: Split
    name: str
    slug: str
    sha256: str
    source: str
    profile: str
    synthetic: bool
    notes: tuple[str, ...] = field(default=())

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)}

    def describe(self) -> dict:
        """Provenance dict stored in every result record."""
        return {"name": self.name, "slug": self.slug, "sha256": self.sha256, "source": self.source,
                "profile": self.profile, "synthetic": self.synthetic, "sizes": self.sizes(),
                "notes": list(self.notes)}


def active_profile() -> str:
    """The profile pages and commands use unless told otherwise: ``$HWLIB_PROFILE`` or "full"."""
    p = os.environ.get("HWLIB_PROFILE", "full")
    if p not in PROFILE_SIZES:
        raise ConfigError(f"HWLIB_PROFILE={p!r} is not a profile; use 'full' or 'quick'")
    return p


def real_data_dir() -> Path:
    """Where ``python -m hwlib data download`` puts the official letters files."""
    return cache_dir() / "emnist"


def course_view(X: np.ndarray, bias: bool = False) -> np.ndarray:
    """The course's view of images: flattened, divided by PIXEL_SCALE (256), optionally a trailing
    column of 1s."""
    X = np.asarray(X).reshape(len(X), -1).astype(np.float64) / PIXEL_SCALE
    return np.hstack([X, np.ones((len(X), 1))]) if bias else X


# ---------------------------------------------------------------- validation helpers
def _check_images(X: np.ndarray, where: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim == 2 and X.shape[1] == N_PIXELS:
        X = X.reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    if X.ndim != 3 or X.shape[1:] != (28, 28):
        raise DataError(f"{where}: images have shape {X.shape}; expected (N, 784) or (N, 28, 28) "
                        "28x28 EMNIST images")
    if X.dtype.kind == "f":
        if not np.isfinite(X).all():
            raise DataError(f"{where}: images contain NaN or infinite values; re-export the file "
                            "with uint8 pixels 0..255")
        if X.size and (X.min() < 0 or X.max() > 255 or not np.array_equal(X, np.round(X))):
            raise DataError(f"{where}: float pixel values outside the integers 0..255; expected uint8 "
                            "pixels 0..255 (undo any scaling before saving)")
        X = X.astype(np.uint8)
    elif X.dtype != np.uint8:
        if X.size and (X.min() < 0 or X.max() > 255):
            raise DataError(f"{where}: pixel values span {X.min()}..{X.max()}; expected 0..255")
        X = X.astype(np.uint8)
    return np.ascontiguousarray(X)


def _check_labels(y: np.ndarray, n: int, where: str, one_based: bool) -> np.ndarray:
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind == "f":
        if not np.isfinite(y).all() or not np.array_equal(y, np.round(y)):
            raise DataError(f"{where}: labels are not whole numbers; expected integer class labels")
    y = y.astype(np.int64) - (1 if one_based else 0)
    if len(y) != n:
        raise DataError(f"{where}: {n} images but {len(y)} labels")
    if y.size and (y.min() < 0 or y.max() >= N_CLASSES):
        lo, hi = (1, N_CLASSES) if one_based else (0, N_CLASSES - 1)
        raise DataError(f"{where}: labels span {y.min() + one_based}..{y.max() + one_based}, outside "
                        f"{lo}..{hi}; expected 26 letter classes (1..26 or 0..25)")
    return y


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    import zipfile
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npz file ({e}); it may be truncated — copy it again") from e


# ---------------------------------------------------------------- splitting
def stratified_indices(y: np.ndarray, per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices of up to ``per_class`` items of each class (chosen by ``rng``) and of the rest."""
    take, rest = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        take.append(idx[:per_class])
        rest.append(idx[per_class:])
    return np.sort(np.concatenate(take)), np.sort(np.concatenate(rest))


def split_train_dev(X: np.ndarray, y: np.ndarray, dev_fraction: float = 1 / 6,
                    seed: int = 42) -> tuple[Split, Split]:
    """Stratified, seeded split of a training set: per class, ``round(n_c * dev_fraction)`` go to dev.

    On the official EMNIST train set (4,800 per class) this gives 4,000 train + 800 dev per class.
    """
    rng = np.random.default_rng(seed)
    dev, train = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(len(idx) * dev_fraction))
        dev.append(idx[:k])
        train.append(idx[k:])
    tr, dv = np.sort(np.concatenate(train)), np.sort(np.concatenate(dev))
    return Split(X[tr], y[tr]), Split(X[dv], y[dv])


def _subset(s: Split, per_class: int, seed: int) -> Split:
    idx, _ = stratified_indices(s.y, per_class, np.random.default_rng(seed))
    return Split(s.X[idx], s.y[idx])


def content_sha256(*splits: Split) -> str:
    h = hashlib.sha256()
    for s in splits:
        h.update(np.ascontiguousarray(s.X).tobytes())
        h.update(np.ascontiguousarray(s.y, dtype=np.int64).tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------- readers
def _read_course_npz(z: dict, path: Path) -> tuple[Split, Split, Split, list[str]]:
    missing = [k for k in COURSE_KEYS if k not in z]
    if missing:
        raise DataError(f"{path}: missing keys {missing}; the course npz needs {', '.join(COURSE_KEYS)} "
                        f"(found: {', '.join(sorted(z)) or 'none'})")
    ys = [np.asarray(z[k]) for k in ("y_train", "y_valid", "y_test")]
    lo = min(int(np.min(y)) for y in ys if y.size)
    one_based = lo == 1
    out = []
    for xk, yk in (("X_train", "y_train"), ("X_valid", "y_valid"), ("X_test", "y_test")):
        X = _check_images(z[xk], f"{path}:{xk}")
        out.append(Split(X, _check_labels(z[yk], len(X), f"{path}:{yk}", one_based)))
    notes = ["labels shifted from 1..26 to 0..25"] if one_based else []
    if is_transposed(out[0].X, out[0].y):
        out = [Split(np.ascontiguousarray(s.X.transpose(0, 2, 1)), s.y) for s in out]
        notes.append("images were stored transposed (as in the raw idx files) and were transposed back")
    return (*out, notes)


def _read_images_npz(z: dict, path: Path, seed: int) -> tuple[Split, Split, Split, list[str]]:
    missing = [k for k in NPZ_KEYS if k not in z]
    if missing:
        raise DataError(f"{path}: missing keys {missing}; expected either the course keys "
                        f"({', '.join(COURSE_KEYS)}) or {', '.join(NPZ_KEYS)}")
    Xtr = _check_images(z["train_images"], f"{path}:train_images")
    ytr = _check_labels(z["train_labels"], len(Xtr), f"{path}:train_labels", False)
    Xte = _check_images(z["test_images"], f"{path}:test_images")
    yte = _check_labels(z["test_labels"], len(Xte), f"{path}:test_labels", False)
    train, dev = split_train_dev(Xtr, ytr, seed=seed)
    notes = [] if len(ytr) else ["no training images: usable for evaluation and pictures only"]
    return train, dev, Split(Xte, yte), notes


def _read_official(files: dict[str, bytes], source: str, seed: int) -> tuple[Split, Split, Split, list[str]]:
    Xtr, ytr, Xte, yte = emnist.decode(files, source)
    train, dev = split_train_dev(Xtr, ytr, seed=seed)
    return train, dev, Split(Xte, yte), ["images transposed to upright, labels 1..26 shifted to 0..25",
                                         f"official train split into train/dev, stratified, seed {seed}"]


def is_transposed(X: np.ndarray, y: np.ndarray) -> bool:
    """Guess whether letters are stored transposed, by comparing class-mean images (both ways) with
    the class means of the synthetic letters, which are upright by construction. Only a clear margin
    (mean correlation higher by 0.05) counts as transposed."""
    from hwlib.data import synthetic
    if len(y) == 0:
        return False
    ref = synthetic.make_splits(PROFILE_SIZES["quick"], seed=0)
    rX, ry = ref["X_train"].astype(np.float64), ref["y_train"]
    score = {False: 0.0, True: 0.0}
    classes = np.unique(y)[:N_CLASSES]
    for c in classes:
        m = X[y == c][:500].astype(np.float64).mean(0)
        r = rX[ry == c].mean(0)
        for t in (False, True):
            a = (m.T if t else m).ravel() - m.mean()
            score[t] += float(a @ (r.ravel() - r.mean()) / (np.linalg.norm(a) * np.linalg.norm(r - r.mean()) + 1e-12))
    # flip only on clear evidence: mean correlation better by 0.05 (unclear data stays as stored)
    return (score[True] - score[False]) / len(classes) > 0.05


def _read_path(path: Path, seed: int, verify: bool) -> tuple[Split, Split, Split, list[str], str, str, str]:
    """(train, dev, test, notes, name, slug, file_sha256) of a dataset at ``path``."""
    if not path.exists():
        raise DataError(f"{path}: no such file or folder. Point HWLIB_DATA (or --data) at the course's "
                        "emnist-letters.npz, a folder of EMNIST idx .gz files, or NIST's gzip.zip — or "
                        "run `python -m hwlib data download`")
    if path.is_dir():
        if verify:
            emnist.verify_folder(path)
        tr, dv, te, notes = _read_official(emnist.read_gz_folder(path), str(path), seed)
        return tr, dv, te, notes, "emnist-letters", "emnist-letters", ""
    fsha = emnist.sha256_file(path)
    if path.suffix == ".zip":
        tr, dv, te, notes = _read_official(emnist.read_zip(path), str(path), seed)
        return tr, dv, te, notes, "emnist-letters", "emnist-letters", fsha
    if path.suffix == ".npz":
        z = _load_npz(path)
        if "X_train" in z or "y_train" in z:
            tr, dv, te, notes = _read_course_npz(z, path)
            return tr, dv, te, notes, "emnist-letters (course npz)", "emnist-letters-course", fsha
        tr, dv, te, notes = _read_images_npz(z, path, seed)
        name = "emnist-letters (fragment)" if not len(tr) else f"emnist-letters ({path.name})"
        return tr, dv, te, notes, name, f"emnist-npz-{fsha[:10]}", fsha
    raise DataError(f"{path}: unknown data format {path.suffix!r}; expected .npz, .zip, or a folder "
                    "of EMNIST idx .gz files")


_NOTICE_SHOWN = False


def _synthetic_notice() -> None:
    global _NOTICE_SHOWN
    if not _NOTICE_SHOWN:
        print("hwlib: no real EMNIST Letters found (no path given, HWLIB_DATA unset, nothing in "
              f"{real_data_dir()}); using the SYNTHETIC letters default. For real data run "
              "`python -m hwlib data download`.", file=sys.stderr)
        _NOTICE_SHOWN = True


def resolve_target(path: str | os.PathLike | None = None) -> Path | None:
    """The dataset path that ``load_letters(path)`` would read, or None for the synthetic default.

    ``path="synthetic"`` asks for the synthetic default explicitly.
    """
    target = path or os.environ.get("HWLIB_DATA") or None
    if str(target) == "synthetic":
        return None
    if target is None and all((real_data_dir() / f).is_file() for f in emnist.FILES):
        target = real_data_dir()
    return Path(target).expanduser() if target is not None else None


def dataset_slug(path: str | os.PathLike | None = None, seed: int = 42) -> str:
    """The results-folder name of the dataset ``load_letters(path)`` would return, without loading it."""
    target = resolve_target(path)
    if target is None:
        from hwlib.data.synthetic import GENERATOR_VERSION
        return f"synthetic-v{GENERATOR_VERSION}-seed{seed}"
    if target.is_dir() or target.suffix == ".zip":
        return "emnist-letters"
    if not target.is_file():
        raise DataError(f"{target}: no such file or folder (from HWLIB_DATA or --data)")
    with np.load(target, allow_pickle=False) as z:
        if "X_train" in z.files or "y_train" in z.files:
            return "emnist-letters-course"
    return f"emnist-npz-{emnist.sha256_file(target)[:10]}"


def load_letters(path: str | os.PathLike | None = None, *, profile: str | None = None, seed: int = 42,
                 verify: bool = True) -> Letters:
    """Train/dev/test splits of EMNIST Letters (or the synthetic default) for ``profile``."""
    profile = profile or active_profile()
    if profile not in PROFILE_SIZES:
        raise ConfigError(f"unknown profile {profile!r}; use 'full' or 'quick'")
    per_class = PROFILE_SIZES[profile]
    target = resolve_target(path)
    if target is None:
        from hwlib.data import synthetic
        _synthetic_notice()
        d = synthetic.make_splits(per_class, seed=seed)
        tr, dv, te = (Split(d[f"X_{k}"], d[f"y_{k}"]) for k in ("train", "dev", "test"))
        v = synthetic.GENERATOR_VERSION
        return Letters(tr, dv, te, name=f"synthetic-letters-v{v}", slug=f"synthetic-v{v}-seed{seed}",
                       sha256=content_sha256(tr, dv, te),
                       source=f"generated by hwlib.data.synthetic v{v} (seed {seed}), cached at "
                              f"{synthetic.cache_path(per_class, seed)}",
                       profile=profile, synthetic=True,
                       notes=("synthetic letters drawn from vector fonts — not real handwriting",))
    p = target.resolve()
    tr, dv, te, notes, name, slug, fsha = _read_path(p, seed, verify)
    if profile != "full":
        tr, dv, te = (_subset(s, k, seed + i) for i, (s, k) in enumerate(zip((tr, dv, te), per_class)))
        notes = [*notes, f"{profile} profile: stratified subset {per_class} per class, seed {seed}"]
    src = f"{p}" + (f" (sha256 {fsha})" if fsha else "")
    return Letters(tr, dv, te, name=name, slug=slug, sha256=content_sha256(tr, dv, te), source=src,
                   profile=profile, synthetic=False, notes=tuple(notes))


def class_counts(y: np.ndarray) -> np.ndarray:
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=N_CLASSES)
