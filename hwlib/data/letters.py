"""EMNIST Letters (or its synthetic stand-in) as train/dev/test splits, with name, hash and source.

``load_letters()`` reads an explicit ``path`` → ``$HWLIB_DATA`` → the real dataset downloaded into the
user cache → the synthetic default; any format of :mod:`hwlib.data.readers`. Images come back uint8
(N, 28, 28), upright, 0..255; labels int64 0..25 (a=0). A dataset without a dev split gets one carved
from train (seeded, stratified: 1/6 per class, so 4,000 + 800 of the official 4,800). Profiles:
``full`` uses everything; ``quick`` takes a seeded stratified subset (100/20/20 per class).
"""
from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwlib.constants import N_CLASSES, PIXEL_SCALE
from hwlib.data import emnist, readers
from hwlib.data.limits import out_of_memory
from hwlib.errors import ConfigError, DataError, activity
from hwlib.paths import cache_dir, shown

PROFILE_SIZES = {"full": (4000, 800, 800), "quick": (100, 20, 20)}  # per class: train, dev, test


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
    p = os.environ.get("HWLIB_PROFILE") or "full"  # empty counts as unset
    if p not in PROFILE_SIZES:
        raise ConfigError(f"HWLIB_PROFILE={p!r} is not a profile; use 'full' or 'quick'")
    return p


def real_data_dir() -> Path:
    """Where ``python -m hwlib data download`` puts the official letters files."""
    return cache_dir() / "emnist"


def course_view(X: np.ndarray, bias: bool = False) -> np.ndarray:
    """The course's view of images: flattened, divided by PIXEL_SCALE (256), optionally a column of 1s."""
    X = np.asarray(X).reshape(len(X), -1).astype(np.float64) / PIXEL_SCALE
    return np.hstack([X, np.ones((len(X), 1))]) if bias else X


# ---------------------------------------------------------------- splitting
def _stratified(y: np.ndarray, count, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices of ``count(n_c)`` items of each class c (chosen by ``rng``) and of the rest."""
    take, rest = [], []
    for c in range(N_CLASSES):
        idx = np.flatnonzero(y == c)
        idx = idx[rng.permutation(len(idx))]
        k = count(len(idx))
        take.append(idx[:k])
        rest.append(idx[k:])
    return np.sort(np.concatenate(take)), np.sort(np.concatenate(rest))


def split_train_dev(X: np.ndarray, y: np.ndarray, dev_fraction: float = 1 / 6,
                    seed: int = 42) -> tuple[Split, Split]:
    """Stratified, seeded split of a training set: per class, ``round(n_c * dev_fraction)`` go to dev."""
    dv, tr = _stratified(y, lambda n: int(round(n * dev_fraction)), np.random.default_rng(seed))
    return Split(X[tr], y[tr]), Split(X[dv], y[dv])


def _subset(s: Split, per_class: int, seed: int) -> Split:
    idx, _ = _stratified(s.y, lambda n: per_class, np.random.default_rng(seed))
    return Split(s.X[idx], s.y[idx])


def content_sha256(*splits: Split) -> str:
    h = hashlib.sha256()
    for s in splits:  # hashed through the buffer protocol: no copy of the images
        h.update(np.ascontiguousarray(s.X))
        h.update(np.ascontiguousarray(s.y, dtype=np.int64))
    return h.hexdigest()


# ---------------------------------------------------------------- reading
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
    return (score[True] - score[False]) / len(classes) > 0.05


def _synthetic_notice() -> None:
    global _NOTICE_SHOWN
    if not _NOTICE_SHOWN:
        print("hwlib: no real EMNIST Letters found (no --data given, HWLIB_DATA unset, nothing in "
              f"{real_data_dir()}); using the SYNTHETIC letters default. For real data run "
              "`python -m hwlib data download`.", file=sys.stderr)
        _NOTICE_SHOWN = True


_NOTICE_SHOWN = False
SYNTHETIC = "synthetic"


def resolve_target(path: str | os.PathLike | None = None) -> Path | None:
    """The dataset path that ``load_letters(path)`` would read, or None for the synthetic default
    (``path="synthetic"`` asks for it). An empty ``path`` is an error; an empty ``$HWLIB_DATA`` is unset."""
    if path is not None and not str(path).strip():
        raise DataError("--data is empty; give a dataset path (" + readers.FORMATS + "), or "
                        "--data synthetic for the generated stand-in")
    target = path if path is not None else (os.environ.get("HWLIB_DATA") or None)
    if target is not None and str(target) == SYNTHETIC:
        return None
    if target is None and _downloaded():
        target = real_data_dir()
    return Path(target).expanduser() if target is not None else None


def _downloaded() -> bool:
    """Whether the four official files sit in the user cache (``data download``). A cache path the
    file system refuses (too long, not searchable) is a DataError naming HWLIB_CACHE."""
    folder = real_data_dir()
    try:
        return all(stat.S_ISREG(os.stat(folder / f).st_mode) for f in emnist.FILES)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise DataError(f"{shown(folder)}: the data cache cannot be read ({e.strerror or e}); set HWLIB_CACHE "
                        "to a usable folder with a shorter path") from None


def identify(path: str | os.PathLike | None = None, verify: bool = True) -> readers.Source | None:
    """The identified dataset ``load_letters(path)`` would read (None: the synthetic default)."""
    target = resolve_target(path)
    if target is None:
        return None
    origin = "--data" if path is not None else "HWLIB_DATA"
    return readers.identify(readers.check_path(target, origin), verify)


def dataset_slug(path: str | os.PathLike | None = None, seed: int = 42, verify: bool = True) -> str:
    """The results-folder name of the dataset ``load_letters(path)`` would return, without decoding it:
    ``synthetic-v3-seed42``, ``emnist-letters`` (the official files), or one carrying the content's sha256."""
    src = identify(path, verify)
    if src is None:
        from hwlib.data.synthetic import GENERATOR_VERSION
        return f"synthetic-v{GENERATOR_VERSION}-seed{seed}"
    return src.slug


def load_letters(path: str | os.PathLike | None = None, *, profile: str | None = None, seed: int = 42,
                 verify: bool = True, label_base: int | None = None, generate: bool = True) -> Letters | None:
    """Train/dev/test splits of EMNIST Letters (or the synthetic default) for ``profile``.

    ``verify=False`` accepts unofficial idx files; ``label_base`` (0 or 1) says how an npz counts its
    labels where they do not settle it; ``generate=False``: the synthetic default from its cache or None.
    """
    profile = profile or active_profile()
    if profile not in PROFILE_SIZES:
        raise ConfigError(f"unknown profile {profile!r}; use 'full' or 'quick'")
    per_class = PROFILE_SIZES[profile]
    src = identify(path, verify)
    if src is None:
        from hwlib.data import synthetic
        if path is None and not os.environ.get("HWLIB_DATA"):
            _synthetic_notice()
        d = synthetic.make_splits(per_class, seed=seed) if generate else synthetic.cached_splits(per_class, seed)
        if d is None:
            return None
        tr, dv, te = (Split(d[f"X_{k}"], d[f"y_{k}"]) for k in ("train", "dev", "test"))
        v = synthetic.GENERATOR_VERSION
        return Letters(tr, dv, te, name=f"synthetic-letters-v{v}", slug=f"synthetic-v{v}-seed{seed}",
                       sha256=content_sha256(tr, dv, te),
                       source=f"generated by hwlib.data.synthetic v{v} (seed {seed})",
                       profile=profile, synthetic=True,
                       notes=("synthetic letters: handwriting fonts drawn by a simulated pen — not real EMNIST",))
    try:
        with activity(f"reading {src.path}", "nothing was changed; rerun the command"):
            return _from_source(src, profile, per_class, seed, label_base)
    except MemoryError as e:
        raise out_of_memory(str(src.path), e) from None


def _from_source(src: readers.Source, profile: str, per_class, seed: int, label_base: int | None) -> Letters:
    arrays, notes = readers.read(src, label_base)
    if "dev" in arrays:
        tr, dv, te = (Split(*arrays[k]) for k in ("train", "dev", "test"))
    else:
        tr, dv = split_train_dev(*arrays["train"], seed=seed)
        te = Split(*arrays["test"])
        notes.append(f"train split into train/dev (1/6 per class), stratified, seed {seed}")
    if len(tr) and not (len(dv) and len(te)):
        raise DataError(f"{src.path}: {len(tr)} train, {len(dv)} dev and {len(te)} test images — too few to "
                        "train and evaluate (a dev split carved from train needs at least 3 images per "
                        "class); use a larger dataset")
    if src.kind == "course-npz" and is_transposed(tr.X, tr.y):
        tr, dv, te = (Split(np.ascontiguousarray(s.X.transpose(0, 2, 1)), s.y) for s in (tr, dv, te))
        notes.append("images were stored transposed (as in the raw idx files) and were transposed back")
    if profile != "full":
        tr, dv, te = (_subset(s, k, seed + i) for i, (s, k) in enumerate(zip((tr, dv, te), per_class)))
        notes.append(f"{profile} profile: stratified subset {per_class} per class, seed {seed}")
    return Letters(tr, dv, te, name=_name(src, len(tr)), slug=src.slug,
                   sha256=content_sha256(tr, dv, te), source=f"{src.path} (sha256 {src.sha256})",
                   profile=profile, synthetic=False, notes=tuple(notes))


def _name(src: readers.Source, n_train: int) -> str:
    if src.kind in ("idx-folder", "nist-zip"):
        return "emnist-letters" if src.official else "emnist-letters (unverified copy)"
    if src.kind == "course-npz":
        return "emnist-letters (course npz)"
    return "emnist-letters (fragment)" if not n_train else f"emnist-letters ({src.path.name})"


def class_counts(y: np.ndarray) -> np.ndarray:
    return np.bincount(np.asarray(y, dtype=np.int64), minlength=N_CLASSES)
