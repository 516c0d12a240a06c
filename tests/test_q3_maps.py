"""hwlib.models.maps: definitions, closed forms, bad input, and properties (hypothesis)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hwlib.errors import ConfigError, DataError
from hwlib.models import maps

finite = st.floats(-20, 20, allow_nan=False, allow_infinity=False)
vectors = st.integers(2, 8).flatmap(lambda K: arrays(np.float64, (K,), elements=finite))
offsets = st.floats(0.05, 10)
temps = st.floats(0.05, 10)
ALL = (("softmax", None), ("sparsemax", None), ("relumax", 0.3), ("relumax", 2.5))


def projection_by_bisection(z: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the simplex, tau found by bisection (independent of the sort)."""
    lo, hi = z.min() - 1.0, z.max()
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.maximum(z - mid, 0).sum() > 1 else (lo, mid)
    return np.maximum(z - (lo + hi) / 2, 0)


def test_softmax_matches_definition_and_is_stable():
    z = np.array([1.0, 2.0, -0.5])
    np.testing.assert_allclose(maps.softmax(z), np.exp(z) / np.exp(z).sum(), rtol=1e-14)
    big = maps.softmax(np.array([1000.0, 999.0]))
    np.testing.assert_allclose(big, [1 / (1 + np.exp(-1)), 1 - 1 / (1 + np.exp(-1))], rtol=1e-12)


def test_sparsemax_known_values_and_projection():
    np.testing.assert_allclose(maps.sparsemax([0.0, 0.5]), [0.25, 0.75])
    np.testing.assert_array_equal(maps.sparsemax([0.0, 3.0]), [0.0, 1.0])
    np.testing.assert_allclose(maps.sparsemax([1.0, 1.0, 1.0]), [1 / 3] * 3)
    rng = np.random.default_rng(0)
    for K in (2, 3, 7, 50):
        for _ in range(20):
            z = rng.normal(scale=2, size=K)
            np.testing.assert_allclose(maps.sparsemax(z), projection_by_bisection(z), atol=1e-12)


def test_sparsemax_is_the_closest_simplex_point():
    """No random point of the simplex is closer to z than sparsemax(z)."""
    rng = np.random.default_rng(1)
    z = rng.normal(size=5) * 2
    p = maps.sparsemax(z)
    others = rng.dirichlet(np.ones(5) * 0.3, size=5000)
    assert np.linalg.norm(p - z) <= np.linalg.norm(others - z, axis=1).min() + 1e-12


def test_relumax_known_values():
    np.testing.assert_allclose(maps.relumax([0.0, 0.5, -3.0], b=1.0), [1 / 3, 2 / 3, 0])  # N = [.5, 1, 0]
    np.testing.assert_array_equal(maps.relumax([-5.0, -6.0], b=0.5), [1.0, 0.0])   # z <= 0: no 0/0


def test_batched_last_axis_and_temperature():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(4, 3, 6))
    for name, b in ALL:
        out = maps.apply(name, z, b=b, T=0.7)
        assert out.shape == z.shape
        rows = np.stack([maps.apply(name, row, b=b, T=0.7) for row in z.reshape(-1, 6)])
        np.testing.assert_allclose(out.reshape(-1, 6), rows, atol=1e-15)
        np.testing.assert_allclose(out, maps.apply(name, z / 0.7, b=b), atol=1e-15)


def test_relumax_temperature_is_an_offset_rescale():
    """relumax_b(z / T) = relumax_{bT}(z): for relumax, b and T are one knob."""
    z = np.random.default_rng(3).normal(size=(10, 5))
    np.testing.assert_allclose(maps.relumax(z, 0.8, T=2.5), maps.relumax(z, 0.8 * 2.5), atol=1e-15)


def test_per_row_offsets_and_temperatures():
    z = np.array([[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])
    out = maps.relumax(z, b=np.array([0.5, 5.0]))
    np.testing.assert_allclose(out[0], maps.relumax(z[0], 0.5))
    np.testing.assert_allclose(out[1], maps.relumax(z[1], 5.0))
    out = maps.softmax(z, T=np.array([1.0, 0.1]))
    np.testing.assert_allclose(out[1], maps.softmax(z[1], 0.1))


@pytest.mark.parametrize("bad", [dict(T=0), dict(T=-1.0), dict(T=np.inf)])
def test_bad_temperature(bad):
    with pytest.raises(ConfigError, match="T must be"):
        maps.softmax([1.0, 2.0], **bad)


def test_bad_inputs_name_the_remedy():
    with pytest.raises(ConfigError, match="b must be"):
        maps.relumax([1.0, 2.0], b=0.0)
    with pytest.raises(ConfigError, match="needs its offset b"):
        maps.relumax([1.0, 2.0], b=None)
    with pytest.raises(DataError, match="NaN or infinite"):
        maps.sparsemax([1.0, np.nan])
    with pytest.raises(DataError, match="at least one entry"):
        maps.softmax(3.0)
    with pytest.raises(ConfigError, match="unknown map"):
        maps.p2("sigmoid", 0.0)
    with pytest.raises(ConfigError, match="takes no b"):
        maps.p2("softmax", 0.0, b=1.0)
    with pytest.raises(ConfigError, match="out of range"):
        maps.relumax_eps_loss_grad([1.0, 2.0], 2, 1.0, 0.1)
    with pytest.raises(ConfigError, match="eps must be"):
        maps.relumax_eps_loss_grad([1.0, 2.0], 0, 1.0, 0.0)
    with pytest.raises(ConfigError, match="integer class index"):
        maps.relumax_eps_loss_grad([1.0, 2.0], 0.5, 1.0, 0.1)


# ---------------------------------------------------------------- K = 2 closed forms
@pytest.mark.parametrize("name,b", ALL)
def test_p2_equals_the_map_on_a_dense_grid(name, b):
    t = np.linspace(-6, 6, 4801)
    z = np.stack([np.zeros_like(t), t], axis=-1)
    np.testing.assert_allclose(maps.p2(name, t, b), maps.apply(name, z, b=b)[:, 1], atol=1e-14)


@pytest.mark.parametrize("name,b", ALL)
def test_dp2_equals_central_differences_away_from_kinks(name, b):
    t = np.linspace(-5, 5, 2001)
    # relumax: t = 0 is a kink of the second derivative only (central differences lose accuracy there)
    kinks = {"softmax": [], "sparsemax": [-1, 1], "relumax": [-b, 0, b] if b else []}[name]
    h = 1e-6
    keep = np.all([np.abs(t - k) > 10 * h for k in kinks], axis=0) if kinks else np.ones_like(t, bool)
    fd = (maps.p2(name, t + h, b) - maps.p2(name, t - h, b)) / (2 * h)
    np.testing.assert_allclose(maps.dp2(name, t, b)[keep], fd[keep], atol=1e-7)


def test_dp2_is_nan_exactly_at_kinks_and_continuous_at_zero():
    assert np.isnan(maps.dp2("sparsemax", [-1.0, 1.0])).all()
    assert np.isnan(maps.dp2("relumax", [-0.7, 0.7], b=0.7)).all()
    left, right = maps.dp2("relumax", [-1e-12, 0.0], b=0.7)
    assert left == pytest.approx(right) == pytest.approx(1 / (4 * 0.7))


def test_p2_broadcasts_over_b():
    t = np.linspace(-2, 2, 5)[:, None]
    b = np.array([0.5, 1.0, 2.0])[None, :]
    out = maps.p2("relumax", t, b)
    assert out.shape == (5, 3)
    np.testing.assert_allclose(out[:, 1], maps.p2("relumax", t[:, 0], 1.0))


# ---------------------------------------------------------------- properties
@settings(max_examples=150, deadline=None)
@given(vectors, offsets, temps)
def test_outputs_lie_on_the_simplex(z, b, T):
    for name, bb in (("softmax", None), ("sparsemax", None), ("relumax", b)):
        p = maps.apply(name, z, b=bb, T=T)
        assert (p >= 0).all() and abs(p.sum() - 1) < 1e-12


@settings(max_examples=150, deadline=None)
@given(vectors, offsets, st.floats(-1e3, 1e3))
def test_invariant_to_adding_a_constant(z, b, c):
    for name, bb in (("softmax", None), ("sparsemax", None), ("relumax", b)):
        np.testing.assert_allclose(maps.apply(name, z + c, b=bb), maps.apply(name, z, b=bb), atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(vectors.filter(lambda z: np.sort(z)[-1] - np.sort(z)[-2] > 1e-3), offsets)
def test_zero_temperature_limit_is_one_hot(z, b):
    srt = np.sort(z)
    gap = srt[-1] - srt[-2]
    e = np.eye(len(z))[np.argmax(z)]
    # sparsemax and relumax are exactly one-hot once T <= gap (resp. gap / b); softmax tends to it
    for p in (maps.sparsemax(z, T=0.99 * gap), maps.relumax(z, b, T=0.99 * gap / b)):
        assert (p[e == 0] == 0).all() and abs(p[e == 1][0] - 1) < 1e-12
    assert np.abs(maps.softmax(z, T=gap / 50) - e).max() < 1e-15 + 50 * np.exp(-50)


@settings(max_examples=200, deadline=None)
@given(vectors)
def test_relumax_with_the_b_of_3_2_is_sparsemax(z):
    b = maps.sparsemax_b(z)
    assert b > 0
    np.testing.assert_allclose(maps.relumax(z, b), maps.sparsemax(z), atol=1e-12)


@settings(max_examples=100, deadline=None)
@given(vectors, offsets)
def test_relumax_support_is_within_b_of_the_max(z, b):
    p = maps.relumax(z, b)
    np.testing.assert_array_equal(p > 0, z - z.max() + b > 0)


def test_keepdims_shaped_parameters():
    z = np.random.default_rng(6).normal(size=(4, 3))
    T = np.array([0.5, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(maps.sparsemax(z, T=T[:, None]), maps.sparsemax(z, T=T))
    np.testing.assert_allclose(maps.relumax(z, b=T[:, None]), maps.relumax(z, b=T))


@settings(max_examples=150, deadline=None)
@given(vectors, offsets)
def test_relumax_is_sparsemax_at_temperature_D(z, b):
    D = maps.relumax_denominator(z, b)
    assert D >= b
    np.testing.assert_allclose(maps.relumax(z, b), maps.sparsemax(z, T=D), atol=1e-12)
