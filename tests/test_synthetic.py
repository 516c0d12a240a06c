"""The synthetic letters generator: determinism, balance, EMNIST-like framing, the split cache."""
import dataclasses

import numpy as np
import pytest

from hwlib.data import synthetic
from hwlib.errors import ConfigError


@pytest.fixture(scope="module")
def small():
    return synthetic.generate(6, seed=3)


def test_shape_dtype_range(small):
    X, y = small
    assert X.shape == (26 * 6, 28, 28) and X.dtype == np.uint8
    assert y.shape == (26 * 6,) and y.dtype == np.int64
    assert y.min() == 0 and y.max() == 25


def test_exact_balance_and_shuffled(small):
    _, y = small
    assert np.array_equal(np.bincount(y, minlength=26), np.full(26, 6))
    assert not np.array_equal(y, np.sort(y))


def test_deterministic_and_seed_dependent(small):
    X, y = small
    X2, y2 = synthetic.generate(6, seed=3)
    assert X.tobytes() == X2.tobytes() and np.array_equal(y, y2)
    X3, _ = synthetic.generate(6, seed=4)
    assert X.tobytes() != X3.tobytes()


def test_dark_background_bright_strokes(small):
    X, _ = small
    border = np.concatenate([X[:, :2].reshape(len(X), -1), X[:, -2:].reshape(len(X), -1),
                             X[:, :, :2].reshape(len(X), -1), X[:, :, -2:].reshape(len(X), -1)], 1)
    assert (border == 0).mean() > 0.9
    assert (X.reshape(len(X), -1).max(1) >= 250).all()          # every image peaks near 255
    ink = (X > 127).mean()
    assert 0.08 < ink < 0.35                                     # strokes, not blobs or specks


def test_letters_framed_like_emnist(small):
    """The ink's bounding box is about 22 px on its long side and centred in the frame."""
    X, _ = small
    on = X > 50
    rows, cols = on.any(2), on.any(1)
    r0, r1 = rows.argmax(1), 27 - rows[:, ::-1].argmax(1)
    c0, c1 = cols.argmax(1), 27 - cols[:, ::-1].argmax(1)
    long_side = np.maximum(r1 - r0, c1 - c0) + 1
    assert 20 <= np.median(long_side) <= 25
    assert abs(np.mean((r0 + r1) / 2) - 13.5) < 1 and abs(np.mean((c0 + c1) / 2) - 13.5) < 1


def test_case_mix_follows_byclass_counts():
    """EMNIST Letters samples each merged class from ByClass: "e" is mostly lower case, "o" upper."""
    from hwlib.constants import LETTERS
    from hwlib.data import synth_pen
    y = np.repeat(np.arange(26), 2000)
    case, _ = synth_pen.letter_forms(y, np.random.default_rng(0), synth_pen.KNOBS)
    lower = 1 - case.reshape(26, 2000).mean(1)
    assert np.abs(lower - synth_pen.LOWER_SHARE).max() < 0.04
    assert lower[LETTERS.index("e")] > 0.75 and lower[LETTERS.index("o")] < 0.2
    flat, _ = synth_pen.letter_forms(y, np.random.default_rng(0),
                                     dataclasses.replace(synth_pen.KNOBS, case_mix=False))
    assert abs(flat.mean() - 0.5) < 0.02


def test_every_letter_form_has_strokes():
    from hwlib.data import synth_pen
    pts, stroke_start, glyph_start, group, index = synth_pen.glyph_table()
    assert len(index) == 26 * (len(synth_pen.FONTS_LOWER) + len(synth_pen.FONTS_UPPER))
    assert (np.diff(glyph_start) >= 1).all() and (np.diff(stroke_start) >= 2).all()
    assert group.size == stroke_start.size - 1 and 0 <= group.min() and group.max() < synth_pen.MAX_STROKES
    *_, hands_index = synth_pen.glyph_table(hands=True)          # v4: every form has handwriting glyphs
    assert all(hands_index[c, case, "hand"].size >= 10 for c in range(26) for case in (0, 1))


def test_resampling_rows_are_averages():
    from hwlib.data import synth_pen
    W = synth_pen._resample_weights()
    for s in (10, 24, 57, 128):
        assert np.allclose(W[s].sum(1), 1.0) and not W[s][:, s:].any()


def test_pen_letters_framed_exactly_like_emnist():
    """EMNIST's conversion: the ink's larger side is 24 px, inside a 2-pixel border."""
    from hwlib.data import synth_pen
    X = synth_pen.render(np.arange(26).repeat(4), np.random.default_rng(1))
    on = X > 0
    assert not on[:, :1].any() and not on[:, -1:].any() and not on[:, :, :1].any() and not on[:, :, -1:].any()
    rows, cols = (X > 60).any(2), (X > 60).any(1)
    long_side = np.maximum(rows.sum(1), cols.sum(1))
    assert np.median(long_side) >= 22 and long_side.max() <= 26


def test_version_2_still_available():
    X2, y2 = synthetic.generate(2, 5, version=2)
    X3, y3 = synthetic.generate(2, 5)
    assert np.array_equal(y2, y3) and X2.tobytes() != X3.tobytes()
    with pytest.raises(ConfigError, match="version"):
        synthetic.generate(2, 5, version=9)


def test_cache_round_trip_and_corrupt_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_CACHE", str(tmp_path))
    pc = (3, 1, 2)
    path = synthetic.cache_path(pc, 7)
    assert path.is_relative_to(tmp_path / "synthetic")
    assert f"v{synthetic.GENERATOR_VERSION}" in path.name
    first = synthetic.make_splits(pc, seed=7)
    assert path.exists() and not list(path.parent.glob("*.tmp"))
    assert set(first) == {"X_train", "y_train", "X_dev", "y_dev", "X_test", "y_test"}
    assert [len(first[f"y_{s}"]) for s in ("train", "dev", "test")] == [78, 26, 52]
    again = synthetic.make_splits(pc, seed=7)
    for k in first:
        assert np.array_equal(first[k], again[k])
    path.write_bytes(b"not an npz file")
    regenerated = synthetic.make_splits(pc, seed=7)
    for k in first:
        assert np.array_equal(first[k], regenerated[k])
    with np.load(path) as z:                                      # the bad file was replaced
        assert np.array_equal(z["X_test"], first["X_test"])
    assert synthetic.cache_path(pc, 8) != path and synthetic.cache_path((3, 1, 3), 7) != path


def test_splits_are_independent_samples(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_CACHE", str(tmp_path))
    d = synthetic.make_splits((2, 2, 2), seed=1, cache=False)
    assert not list(tmp_path.iterdir())
    Xtr, Xte = d["X_train"].reshape(52, -1), d["X_test"].reshape(52, -1)
    same = (Xtr[:, None, :] == Xte[None, :, :]).all(-1)
    assert not same.any()
    assert len({synthetic.split_seed(1, s) for s in synthetic.SPLITS}) == 3


@pytest.mark.parametrize("bad", [(0, 1, 1), (1, 2), "abc", (1, -1, 2)])
def test_bad_per_class_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="per_class"):
        synthetic.cache_path(bad, 42)


def test_bad_n_per_class(tmp_path):
    with pytest.raises(ConfigError, match="n_per_class"):
        synthetic.generate(0, 1)


def test_an_interruption_a_library_swallowed_still_stops_the_generation():
    """numba's compiler catches the KeyboardInterrupt of a Ctrl-C that lands while it compiles; the CLI
    remembers the interruption and the generation raises it after the batch (found with the v4 kernel's
    first compile: Ctrl-C was ignored and the full generation ran on)."""
    from hwlib import errors
    errors.interrupted(errors.Terminated())
    try:
        with pytest.raises(errors.Terminated):
            synthetic.generate(2, seed=1)
    finally:
        errors._PENDING.clear()
    assert synthetic.generate(1, seed=1)[0].shape == (26, 28, 28)      # nothing pending: runs
