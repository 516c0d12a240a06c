"""Q1.2(b) feature maps: shapes, values against direct loops, PCA geometry, HOG orientation."""
import numpy as np
import pytest

from hwlib.data import course_view
from hwlib.data.features import FEATURES, HOG, PCA, make_feature, pool
from hwlib.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    X = np.zeros((40, 28, 28), np.uint8)
    for i in range(40):   # blobs of ink on a dark background
        r, c = rng.integers(4, 20, 2)
        X[i, r:r + rng.integers(3, 9), c:c + rng.integers(3, 9)] = rng.integers(100, 256)
    return X


def test_every_feature_map_has_its_dimension(images):
    dims = {"raw": 784, "maxpool2": 196, "avgpool4": 49, "pca90": 90, "hog": 324}
    assert set(FEATURES) == set(dims)
    for name in FEATURES:
        f = make_feature(name)
        Z = f.fit(np.concatenate([images] * 3)).transform(images)
        assert Z.shape == (40, dims[name]) and Z.dtype == np.float64 and np.isfinite(Z).all()
        assert f.picture(images[:3]).ndim == 3


def test_pooling_matches_a_direct_loop(images):
    X = images[:5]
    mx, av = pool(X, 2, "max"), pool(X, 4, "mean")
    for n in range(5):
        for i in range(14):
            for j in range(14):
                assert mx[n, i, j] == X[n, 2 * i:2 * i + 2, 2 * j:2 * j + 2].max() / 256
        for i in range(7):
            for j in range(7):
                assert av[n, i, j] == pytest.approx(X[n, 4 * i:4 * i + 4, 4 * j:4 * j + 4].mean() / 256)
    np.testing.assert_array_equal(make_feature("raw").transform(X), X.reshape(5, -1) / 256)
    np.testing.assert_array_equal(make_feature("raw").transform(X), course_view(X))   # the course's view


def test_maxpool_ignores_a_one_pixel_shift_inside_its_block():
    a = np.zeros((1, 28, 28), np.uint8)
    b = a.copy()
    a[0, 10, 10] = b[0, 11, 11] = 200   # same 2×2 block (rows/cols 10-11)
    f = make_feature("maxpool2")
    np.testing.assert_array_equal(f.transform(a), f.transform(b))
    assert not np.array_equal(make_feature("raw").transform(a), make_feature("raw").transform(b))


def test_pca_components_are_orthonormal_and_full_rank_reconstructs(images):
    X = np.concatenate([images] * 30)
    p = PCA(20).fit(X)
    C = p.components_
    np.testing.assert_allclose(C.T @ C, np.eye(20), atol=1e-10)
    assert np.all(np.diff(p.explained_variance_ratio_) <= 1e-12)
    full = PCA(784).fit(images)
    np.testing.assert_allclose(full.picture(images), images / 256, atol=1e-8)
    with pytest.raises(ConfigError, match="fit"):
        PCA(5).transform(images)


def test_hog_votes_follow_the_gradient_direction():
    vertical = np.zeros((1, 28, 28), np.uint8)
    vertical[0, :, 14:] = 255          # vertical edge: horizontal gradient (0°)
    horizontal = vertical.transpose(0, 2, 1).copy()   # horizontal edge: vertical gradient (90°)
    h = HOG()
    Hv, Hh = h.cell_histograms(vertical)[0].sum((0, 1)), h.cell_histograms(horizontal)[0].sum((0, 1))
    assert Hv[[0, 8]].sum() == pytest.approx(Hv.sum())      # bins centred at 10° and 170°
    assert Hh[[4]].sum() == pytest.approx(Hh.sum())         # bin centred at 90°
    Z = h.transform(vertical)
    assert Z.shape == (1, 324) and Z.max() <= 1.0


def test_hog_is_insensitive_to_contrast(images):
    even = (images // 2 * 2).astype(np.uint8)
    half = (even // 2).astype(np.uint8)            # every gradient exactly halved
    h = HOG()
    np.testing.assert_allclose(h.transform(even), h.transform(half), atol=1e-4)


def test_bad_inputs():
    with pytest.raises(ConfigError, match="choose one of"):
        make_feature("sift")
    with pytest.raises(DataError, match="28, 28"):
        make_feature("raw").transform(np.zeros((3, 27, 27)))
    with pytest.raises(ConfigError):
        HOG(cell=5)
    with pytest.raises(ConfigError):
        PCA(0)
