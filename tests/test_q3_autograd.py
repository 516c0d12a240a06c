"""Every hand-derived derivative of Question 3 against torch.autograd (float64), plus gradcheck.

Run with ``-s`` to see the largest closed-form-vs-autograd difference measured.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hwlib.errors import ConfigError
from hwlib.models import maps
from hwlib.models import maps_torch as mt
from hwlib.theory.verdicts import autograd_agreement, report_jacobian_elementwise

torch.set_num_threads(1)
KS = (2, 3, 5, 12)
BS = (0.2, 1.0, 4.0)


def _cases(seed=0, n=25):
    rng = np.random.default_rng(seed)
    for K in KS:
        for b in BS:
            for _ in range(n):
                yield K, b, rng.normal(scale=1.5 * b, size=K)


def _auto_jacobian(z, b):
    return torch.autograd.functional.jacobian(lambda x: mt.relumax_autograd(x, b),
                                              torch.tensor(z, dtype=torch.float64)).numpy()


def test_relumax_jacobian_equals_autograd_including_entries_off_support():
    off = 0
    for K, b, z in _cases():
        np.testing.assert_allclose(maps.relumax_jacobian(z, b), _auto_jacobian(z, b), rtol=0, atol=1e-12)
        off += (maps.relumax(z, b) == 0).any()
    assert off > 100          # most samples have entries outside the support


def test_batched_jacobian_matches_per_row():
    rng = np.random.default_rng(5)
    z = rng.normal(size=(3, 4, 6))
    J = maps.relumax_jacobian(z, 0.7)
    assert J.shape == (3, 4, 6, 6)
    np.testing.assert_allclose(J[1, 2], _auto_jacobian(z[1, 2], 0.7), atol=1e-12)
    np.testing.assert_allclose(J.sum(axis=-1), 0, atol=1e-12)       # shift invariance: J 1 = 0


@pytest.mark.parametrize("eps", [1e-3, 0.1, 2.0])
def test_eps_loss_gradient_equals_autograd(eps):
    for K, b, z in _cases(seed=1, n=8):
        for i in range(K):
            x = torch.tensor(z, dtype=torch.float64, requires_grad=True)
            L = -torch.log((mt.relumax_autograd(x, b)[i] + eps) / (1 + K * eps))
            (g,) = torch.autograd.grad(L, x)
            ours = maps.relumax_eps_loss_grad(z, i, b, eps)
            np.testing.assert_allclose(ours, g.numpy(), rtol=1e-12, atol=1e-12)
            assert maps.relumax_eps_loss(z, i, b, eps) == pytest.approx(L.item(), rel=1e-13)


def test_eps_loss_gradient_batched_targets():
    rng = np.random.default_rng(2)
    z, y = rng.normal(size=(6, 4)), rng.integers(0, 4, size=6)
    g = maps.relumax_eps_loss_grad(z, y, 0.8, 0.05)
    for r in range(6):
        np.testing.assert_allclose(g[r], maps.relumax_eps_loss_grad(z[r], int(y[r]), 0.8, 0.05))


def test_eps_loss_gradient_vanishes_for_a_target_off_support():
    z = np.array([3.0, 0.0, -2.0])
    assert maps.relumax(z, 1.0)[1] == 0
    assert np.all(maps.relumax_eps_loss_grad(z, 1, 1.0, 1e-2) == 0)


def test_reports_jacobian_disagrees_with_autograd():
    """The report's (1_S delta - p 1_S^T)/D misses the column from max(z): a regression guard for the erratum."""
    z, b = np.array([0.3, 0.0, -2.0]), 1.0
    assert np.abs(report_jacobian_elementwise(z, b) - _auto_jacobian(z, b)).max() > 0.1


@pytest.mark.parametrize("T", [0.3, 1.0, 2.0])
def test_gradcheck_torch_maps(T):
    gen = torch.Generator().manual_seed(0)
    z = (torch.randn(5, 6, generator=gen, dtype=torch.float64) * 2).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: mt.sparsemax(x, T), (z,))
    assert torch.autograd.gradcheck(lambda x: mt.relumax(x, 0.7, T), (z,))
    assert torch.autograd.gradcheck(lambda x: mt.softmax(x, T), (z,))
    assert torch.autograd.gradgradcheck(lambda x: mt.softmax(x, T), (z,))


def test_explicit_backwards_equal_autograd_of_primitives():
    for K, b, z in _cases(seed=3, n=5):
        v = torch.randn(4, K, dtype=torch.float64)
        zt = torch.tensor(np.stack([z, z[::-1], z * 0.5, z + 1]), dtype=torch.float64)
        for explicit, reference in ((mt.sparsemax, mt.sparsemax_autograd),
                                    (lambda x: mt.relumax(x, b), lambda x: mt.relumax_autograd(x, b))):
            x1, x2 = zt.clone().requires_grad_(), zt.clone().requires_grad_()
            torch.testing.assert_close(explicit(x1), reference(x2), rtol=0, atol=1e-15)
            (g1,) = torch.autograd.grad((explicit(x1) * v).sum(), x1)
            (g2,) = torch.autograd.grad((reference(x2) * v).sum(), x2)
            torch.testing.assert_close(g1, g2, rtol=0, atol=1e-12)


def test_torch_maps_equal_numpy_maps():
    z = np.random.default_rng(4).normal(size=(7, 5)) * 3
    zt = torch.tensor(z)
    np.testing.assert_allclose(mt.softmax(zt, 0.5).numpy(), maps.softmax(z, 0.5), atol=1e-15)
    np.testing.assert_allclose(mt.sparsemax(zt, 0.5).numpy(), maps.sparsemax(z, 0.5), atol=1e-15)
    np.testing.assert_allclose(mt.relumax(zt, 1.3, 0.5).numpy(), maps.relumax(z, 1.3, 0.5), atol=1e-15)


def test_layers_train_inside_a_network():
    """A tiny linear model + Relumax/Sparsemax layer + eps log-loss: the loss decreases."""
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 4, generator=gen, dtype=torch.float64)
    y = (X[:, 0] > 0).long() + (X[:, 1] > 0).long()
    for layer in (mt.Sparsemax(), mt.Relumax(b=1.0), mt.Relumax(b=0.5, T=2.0)):
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(4, 3).double(), layer)
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        first = None
        for _ in range(60):
            loss = mt.eps_log_loss(net(X), y, eps=0.01)
            first = first if first is not None else loss.item()
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert loss.item() < 0.8 * first, layer
    assert "b=0.5, T=2.0" in repr(mt.Relumax(b=0.5, T=2.0))


def test_torch_bad_parameters():
    with pytest.raises(ConfigError, match="b must be"):
        mt.Relumax(b=-1)
    with pytest.raises(ConfigError, match="T must be"):
        mt.sparsemax(torch.zeros(3), T=0)


def test_largest_difference_is_at_rounding_level():
    agr = autograd_agreement(n_per_case=10, seed=7)
    print(f"\nlargest |closed form - torch.autograd| over {agr['samples']} random z "
          f"({agr['with_entries_off_support']:.0%} with entries off the support): "
          f"Jacobian {agr['jacobian']:.2e}, eps-loss gradient {agr['eps_loss_grad']:.2e} "
          f"(relative {agr['eps_loss_grad_relative']:.2e}), sparsemax backward {agr['sparsemax_backward']:.2e}, "
          f"relumax backward {agr['relumax_backward']:.2e}; report's Jacobian forms off by "
          f"{agr['report_elementwise']:.2f} / {agr['report_matrix']:.2f}")
    assert agr["jacobian"] < 1e-12 and agr["sparsemax_backward"] < 1e-12 and agr["relumax_backward"] < 1e-12
    assert agr["eps_loss_grad_relative"] < 1e-12
    assert agr["report_elementwise"] > 0.1 and agr["report_matrix"] > 0.1
