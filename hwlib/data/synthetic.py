"""The synthetic stand-in for EMNIST Letters: versions, generation, splits and the cache.

The default is **synthetic-letters-v4**: each sample is drawn with a pen along the traced centre
line of a letter from one of many handwriting fonts — letter forms of real people's hands
(:mod:`hwlib.data.hands`) — moved by a simulated hand and converted the way EMNIST converted NIST's
scans (:mod:`hwlib.data.synth_pen`, with ``synth_pen.KNOBS_V4``). Version 3 (the same pen along
Hershey single-stroke fonts, plus a share ``v2_share`` drawn by the version-2 renderer: filled
font outlines, distorted, :mod:`hwlib.data.synth_fonts`) and version 2 stay available for the
comparison of ``benchmarks/realism.py``.

Everything is deterministic from a seed; a generation is cached under the user cache, keyed by the
version, a hash of the settings, the seed and the split sizes.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from hwlib.constants import N_CLASSES
from hwlib.data import synth_fonts, synth_pen
from hwlib.errors import ConfigError, activity, raise_pending
from hwlib.paths import cache_dir, clean_stale_temps, make_temp, open_regular, shown

GENERATOR_VERSION: int = 4          # the default stand-in
VERSIONS = (2, 3, 4)
SIDE = 28
SPLITS = ("train", "dev", "test")
_BATCH = 2048    # samples per random stream (fixed: the output must not depend on anything else)
_KEYS = ("X_train", "y_train", "X_dev", "y_dev", "X_test", "y_test")


def default_knobs(version: int = GENERATOR_VERSION):
    """The settings of a version: synth_pen.Knobs for v3 and v4, synth_fonts.Knobs for v2."""
    _check_version(version)
    return {2: synth_fonts.KNOBS, 3: synth_pen.KNOBS, 4: synth_pen.KNOBS_V4}[version]


def _check_version(version) -> int:
    if version not in VERSIONS:
        raise ConfigError(f"unknown synthetic letters version {version!r}; use one of {VERSIONS}")
    return int(version)


def _render(y: np.ndarray, rng: np.random.Generator, version: int, kn) -> np.ndarray:
    if version == 2:
        return synth_fonts.render(y, rng, kn)
    X = np.empty((y.size, SIDE, SIDE), np.uint8)
    old = rng.random(y.size) < kn.v2_share
    if old.any():
        X[old] = synth_fonts.render(y[old], rng, synth_fonts.KNOBS)
    if (~old).any():
        X[~old] = synth_pen.render(y[~old], rng, kn)
    return X


def generate(n_per_class: int, seed: int, knobs=None, version: int = GENERATOR_VERSION,
             ) -> tuple[np.ndarray, np.ndarray]:
    """``26·n_per_class`` images: X uint8 (N, 28, 28) upright, y int64 balanced and shuffled.

    Deterministic in ``(n_per_class, seed, knobs, version)``: the labels come from
    ``default_rng(seed)``, every batch of 2048 samples from its own stream derived from the seed.
    """
    version = _check_version(version)
    if not isinstance(n_per_class, (int, np.integer)) or n_per_class < 1:
        raise ConfigError(f"n_per_class must be a positive integer, got {n_per_class!r}")
    kn = default_knobs(version) if knobs is None else knobs
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(N_CLASSES, dtype=np.int64), int(n_per_class)))
    X = np.empty((y.size, SIDE, SIDE), np.uint8)
    from tqdm.auto import tqdm

    bar = tqdm(total=y.size, desc=f"synthetic letters v{version} (seed {seed})", unit="img",
               disable=None if y.size >= 20_000 else True, leave=False)
    with bar:
        for s in range(0, y.size, _BATCH):
            batch_rng = np.random.default_rng([int(seed) & (2**63 - 1), s // _BATCH, 1 if version == 2 else version])
            X[s:s + _BATCH] = _render(y[s:s + _BATCH], batch_rng, version, kn)
            raise_pending()                    # a Ctrl-C that numba's first compile swallowed
            bar.update(min(_BATCH, y.size - s))
    return X, y


def split_seed(seed: int, split: str) -> int:
    """Independent derived seed for one split (train/dev/test) of a seed."""
    state = np.random.SeedSequence([int(seed) & (2**63 - 1), SPLITS.index(split), 0x5E7])
    return int(state.generate_state(1, np.uint64)[0] >> 1)


def _check_per_class(per_class) -> tuple[int, int, int]:
    try:
        pc = tuple(int(v) for v in per_class)
    except (TypeError, ValueError):
        pc = ()
    if len(pc) != 3 or min(pc) < 1:
        raise ConfigError(f"per_class must be three positive counts (train, dev, test), got {per_class!r}")
    return pc


def describe(version: int = GENERATOR_VERSION) -> dict:
    """Generator settings, for provenance records."""
    version = _check_version(version)
    if version == 2:
        return {"generator_version": 2, **synth_fonts.describe()}
    kn = default_knobs(version)
    out = {"generator_version": version, **synth_pen.describe(kn)}
    if kn.v2_share > 0:
        out["v2_part"] = synth_fonts.describe()
    if kn.hand_share > 0:
        from hwlib.data import hands
        out["handwriting_fonts"] = hands.describe()
    return out


def _knobs_key(version: int) -> str:
    """Short hash of the settings, so a cache never outlives a change of knobs."""
    return hashlib.sha256(json.dumps(describe(version), sort_keys=True).encode()).hexdigest()[:8]


def cache_path(per_class, seed, version: int = GENERATOR_VERSION) -> Path:
    """Where make_splits caches a generation: keyed by version, settings, seed and per_class."""
    tr, dv, te = _check_per_class(per_class)
    return (cache_dir() / "synthetic" /
            f"letters-v{version}-{_knobs_key(version)}-seed{int(seed)}-{tr}-{dv}-{te}.npz")


def _read_cache(path: Path, per_class) -> dict[str, np.ndarray] | None:
    """The cached generation at ``path``, or None (regenerate) when it is absent, not a regular file
    (a FIFO is never opened), unreadable, larger than the arrays it must hold, or inconsistent."""
    limits = {f"{k}.npy": 4096 + N_CLASSES * n * (SIDE * SIDE if k.startswith("X") else 8)
              for k, n in zip(_KEYS, np.repeat(per_class, 2))}
    try:
        with open_regular(path) as fh:
            with zipfile.ZipFile(fh) as zf:
                if any(limits.get(i.filename, -1) < i.file_size for i in zf.infolist()):
                    return None
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as z:
                data = {k: z[k] for k in _KEYS}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error, MemoryError,
            NotImplementedError, RuntimeError):
        return None
    for split, n in zip(SPLITS, per_class):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        if (X.dtype != np.uint8 or X.shape != (N_CLASSES * n, SIDE, SIDE) or y.dtype != np.int64
                or y.shape != (N_CLASSES * n,)):
            return None
    return data


_UNWRITABLE: set[Path] = set()
TMP_PATTERN = "letters-*.tmp"  # the temporary files of _write_cache


def _write_cache(path: Path, data: dict[str, np.ndarray]) -> None:
    """Keep a generation in the cache (atomically, through a locked temporary file that a later run
    removes if this process is killed); if the cache cannot be written, say so once and go on with
    the letters in memory."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = make_temp(path.parent, path.stem, ".tmp")
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **data)
            fh.flush()
            os.replace(tmp, path)  # before closing: the lock guards the file until it is renamed
            tmp = None
    except OSError as e:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        if path.parent not in _UNWRITABLE:
            _UNWRITABLE.add(path.parent)
            print(f"hwlib: cannot write the synthetic-letters cache in {shown(path.parent)} ({e.strerror or e}); "
                  "using the letters generated in memory (set HWLIB_CACHE to a writable folder to keep "
                  "them)", file=sys.stderr)
    except BaseException:
        if tmp:
            Path(tmp).unlink(missing_ok=True)
        raise


def clean_cache_temps() -> list[Path]:
    """Remove the temporary files that killed generations left in the cache (see hwlib.paths)."""
    folder = cache_dir() / "synthetic"
    removed = clean_stale_temps(folder, TMP_PATTERN)
    if removed:
        print(f"hwlib: removed {len(removed)} temporary file(s) left in {folder} by an interrupted "
              "generation", file=sys.stderr)
    return removed


def cached_splits(per_class: tuple[int, int, int], seed: int = 42,
                  version: int = GENERATOR_VERSION) -> dict[str, np.ndarray] | None:
    """What ``make_splits`` would return, read from the cache only: None when the cache file is
    absent, unreadable or inconsistent (nothing is generated)."""
    pc = _check_per_class(per_class)
    return _read_cache(cache_path(pc, seed, version), pc)


def make_splits(per_class: tuple[int, int, int], seed: int = 42, cache: bool = True,
                version: int = GENERATOR_VERSION) -> dict[str, np.ndarray]:
    """Train/dev/test generations (per-class counts ``per_class``) from independent derived seeds.

    Returns keys X_train, y_train, X_dev, y_dev, X_test, y_test. With ``cache`` the arrays are kept
    in :func:`cache_path` (written atomically); an unreadable or inconsistent cache file is
    regenerated and replaced.
    """
    pc = _check_per_class(per_class)
    path = cache_path(pc, seed, version)
    if cache:
        clean_cache_temps()
        data = cached_splits(pc, seed, version)
        if data is not None:
            return data
    data = {}
    with activity("generating the synthetic letters",
                  "nothing was cached, nothing trained; rerun the command to generate them again"):
        for split, n in zip(SPLITS, pc):
            data[f"X_{split}"], data[f"y_{split}"] = generate(n, split_seed(seed, split), version=version)
        if cache:
            _write_cache(path, data)
    return data


__all__ = ["GENERATOR_VERSION", "VERSIONS", "cache_path", "cached_splits", "default_knobs", "describe", "generate",
           "make_splits", "split_seed"]
