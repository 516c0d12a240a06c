"""The synthetic letters generator: determinism, balance, EMNIST-like framing, the split cache."""
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


def test_upper_and_lower_case_both_used():
    """EMNIST merges cases: with p_upper=0 and p_upper=1 the same draws give different images."""
    import dataclasses

    lo = synthetic.generate(2, 5, dataclasses.replace(synthetic.KNOBS, p_upper=0.0))[0]
    hi = synthetic.generate(2, 5, dataclasses.replace(synthetic.KNOBS, p_upper=1.0))[0]
    assert (lo != hi).any(axis=(1, 2)).mean() > 0.8


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
