"""Q1 models: gradients against finite differences and torch.autograd, the compiled epochs against
the textbook per-sample steps, the perceptron rule, learning on separable data, determinism."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from hwlib.errors import ConfigError, DataError
from hwlib.linear import LogisticRegression, Perceptron, add_bias, softmax
from hwlib.mlp import MLP
from hwlib.train import accuracy, fit


def _fd(f, params, eps=1e-6):
    """Central finite differences of scalar f() with respect to every entry of every array."""
    out = []
    for P in params:
        G = np.zeros_like(P)
        for idx in np.ndindex(P.shape):
            old = P[idx]
            P[idx] = old + eps
            up = f()
            P[idx] = old - eps
            dn = f()
            P[idx] = old
            G[idx] = (up - dn) / (2 * eps)
        out.append(G)
    return out


def _small_mlp(sizes, seed):
    rng = np.random.default_rng(seed)
    m = MLP(sizes[0], sizes[1:-1], sizes[-1], lr=0.1, seed=seed)
    m.W = [rng.normal(0, 0.7, W.shape) for W in m.W]   # generic weights, most relus active/inactive mixed
    m.b = [rng.normal(0, 0.3, b.shape) for b in m.b]
    return m


def _torch_mlp_grads(m, x, y):
    Ws = [torch.tensor(W, dtype=torch.float64, requires_grad=True) for W in m.W]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in m.b]
    a = torch.tensor(x, dtype=torch.float64)
    for l, (W, b) in enumerate(zip(Ws, bs)):
        a = a @ W + b
        if l < len(Ws) - 1:
            a = torch.relu(a)
    loss = torch.nn.functional.cross_entropy(a[None], torch.tensor([y]))
    loss.backward()
    return loss.item(), [W.grad.numpy() for W in Ws], [b.grad.numpy() for b in bs]


@pytest.mark.parametrize("sizes,seed", [((5, 4, 3), 0), ((6, 5, 4, 3), 1), ((4, 3, 5, 2, 3), 2),
                                        ((7, 8, 6, 5, 4, 4), 3)])
def test_mlp_backprop_matches_finite_differences_and_autograd(sizes, seed):
    m = _small_mlp(sizes, seed)
    rng = np.random.default_rng(100 + seed)
    x, y = rng.normal(size=sizes[0]), int(rng.integers(sizes[-1]))
    gW, gb = m.backward(x, y)
    fW = _fd(lambda: m.loss(x, y), m.W)
    fb = _fd(lambda: m.loss(x, y), m.b)
    for a, b in zip(gW + gb, fW + fb):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    loss, tW, tb = _torch_mlp_grads(m, x, y)
    assert m.loss(x, y) == pytest.approx(loss, rel=1e-12)
    for a, b in zip(gW + gb, tW + tb):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_mlp_default_is_the_assignments_network():
    m = MLP()
    assert m.sizes == [784, 100, 26] and m.depth == 1
    assert all(np.all(b == 0) for b in m.b)
    W = np.concatenate([W.ravel() for W in m.W])
    assert abs(W.mean() - 0.1) < 0.005 and abs(W.std() - 0.1) < 0.005


@pytest.mark.parametrize("l2", [0.0, 1e-2])
def test_logreg_gradient_matches_finite_differences_and_autograd(l2):
    rng = np.random.default_rng(5)
    m = LogisticRegression(6, 4, lr=0.1, l2=l2)
    m.W = rng.normal(size=(6, 4))
    x, y = rng.normal(size=6), 2
    g = m.gradient(x, y)
    np.testing.assert_allclose(g, _fd(lambda: m.loss(x, y), [m.W])[0], rtol=1e-6, atol=1e-8)
    W = torch.tensor(m.W, requires_grad=True)
    loss = (torch.nn.functional.cross_entropy((torch.tensor(x) @ W)[None], torch.tensor([y]))
            + 0.5 * l2 * (W ** 2).sum())
    loss.backward()
    assert m.loss(x, y) == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(g, W.grad.numpy(), rtol=1e-10, atol=1e-12)
    # the documented step: W <- W - lr * (x ⊗ (p - e_y) + l2 W)
    W0 = m.W.copy()
    m.update(x, y)
    np.testing.assert_allclose(m.W, W0 - 0.1 * g, rtol=0, atol=1e-15)


def _sparse_data(n, d, k, seed):
    """Rows like images: many exact zeros, values in [0, 1)."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n, d)) < 0.4) * rng.integers(0, 256, (n, d)) / 256.0
    return add_bias(X), rng.integers(0, k, n)


def test_compiled_epochs_equal_textbook_steps():
    X, y = _sparse_data(300, 40, 5, 0)
    order = np.random.default_rng(1).permutation(300)
    a, b = Perceptron(41, 5), Perceptron(41, 5)
    a.train_epoch(X, y, order)
    for i in order:
        b.update(X[i], y[i])
    assert np.array_equal(a.W, b.W) and np.abs(a.W).sum() > 0   # exact: sums of multiples of 1/256
    a, b = LogisticRegression(41, 5, lr=0.05, l2=1e-3), LogisticRegression(41, 5, lr=0.05, l2=1e-3)
    la = a.train_epoch(X, y, order)
    lb = np.mean([b.update(X[i], y[i]) for i in order])
    np.testing.assert_allclose(a.W, b.W, rtol=1e-12, atol=1e-14)
    assert la == pytest.approx(lb, rel=1e-12)
    for hidden in ([7], [6, 5], [6, 5, 4]):
        a, b = MLP(41, hidden, 5, lr=0.01, seed=3), MLP(41, hidden, 5, lr=0.01, seed=3)
        for m in (a, b):
            m.W = [W / np.sqrt(W.shape[0]) for W in m.W]
        la = a.train_epoch(X, y, order)
        lb = np.mean([b.update(X[i], y[i]) for i in order])
        for u, v in zip(a.W + a.b, b.W + b.b):
            np.testing.assert_allclose(u, v, rtol=1e-11, atol=1e-13)
        assert la == pytest.approx(lb, rel=1e-11)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_perceptron_never_updates_on_a_correct_prediction(seed):
    rng = np.random.default_rng(seed)
    p = Perceptron(8, 4)
    p.W = rng.normal(size=(8, 4))
    x = rng.normal(size=8)
    yhat = int(np.argmax(x @ p.W))
    W0 = p.W.copy()
    assert p.update(x, yhat) is False and np.array_equal(p.W, W0)
    wrong = (yhat + 1) % 4
    assert p.update(x, wrong) is True
    np.testing.assert_allclose(p.W[:, wrong] - W0[:, wrong], x)
    np.testing.assert_allclose(p.W[:, yhat] - W0[:, yhat], -x)


def test_perceptron_epoch_leaves_weights_alone_when_all_correct():
    X, _ = _sparse_data(200, 30, 3, 4)
    p = Perceptron(31, 3)
    p.W = np.random.default_rng(2).normal(size=(31, 3))
    y = p.predict(X)
    W0 = p.W.copy()
    p.train_epoch(X, y, np.arange(200))
    assert np.array_equal(p.W, W0)


def _separable(n=400, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 0], [-3, 0], [0, 3]])
    y = rng.integers(0, 3, n)
    X = centers[y] + rng.normal(0, 0.5, (n, 2))
    return add_bias(X), y


def test_learning_on_a_separable_toy_set():
    X, y = _separable()
    tr, dv, te = (X[:300], y[:300]), (X[300:350], y[300:350]), (X[350:], y[350:])
    r = fit(Perceptron(3, 3), tr, dv, te, epochs=10, seed=0, progress=False)
    assert r.history["train_acc"][-1] == 1.0 and r.test_acc == 1.0
    r = fit(LogisticRegression(3, 3, lr=0.05, l2=1e-4), tr, dv, te, epochs=8, seed=0, progress=False)
    loss = r.history["train_loss"]
    assert all(b < a for a, b in zip(loss, loss[1:])) and r.test_acc == 1.0
    r = fit(MLP(3, [8], 3, lr=0.01, seed=0, init_mean=0.0, init_std=0.5), tr, dv, te, epochs=8, seed=0,
            progress=False)
    loss = r.history["train_loss"]
    assert loss[-1] < 0.2 * loss[0] and r.test_acc == 1.0


def test_same_seed_same_history_and_weights_other_seed_differs():
    X, y = _sparse_data(400, 30, 4, 7)
    splits = (X[:300], y[:300]), (X[300:350], y[300:350]), (X[350:], y[350:])

    def run(seed, make):
        r = fit(make(), *splits, epochs=4, seed=seed, progress=False)
        h = {k: v for k, v in r.history.items() if k != "epoch_time_s"}
        return h, r.best_state, r.test_acc

    for make in (lambda: Perceptron(31, 4), lambda: LogisticRegression(31, 4, lr=0.01, l2=1e-4),
                 lambda: MLP(31, [10, 6], 4, lr=0.001, seed=1)):
        h1, s1, t1 = run(42, make)
        h2, s2, t2 = run(42, make)
        assert h1 == h2 and t1 == t2 and all(np.array_equal(s1[k], s2[k]) for k in s1)
        h3, s3, _ = run(43, make)
        assert any(not np.array_equal(s1[k], s3[k]) for k in s1)


def test_fit_keeps_the_best_dev_checkpoint():
    X, y = _sparse_data(500, 30, 4, 11)
    tr, dv, te = (X[:300], y[:300]), (X[300:400], y[300:400]), (X[400:], y[400:])
    m = LogisticRegression(31, 4, lr=0.5, l2=0.0)
    r = fit(m, tr, dv, te, epochs=6, seed=0, progress=False)
    dev = r.history["dev_acc"]
    assert r.best_dev_acc == max(dev) and r.best_epoch == dev.index(max(dev)) + 1
    assert accuracy(m, *dv) == r.best_dev_acc        # the model was put back to the checkpoint
    assert accuracy(m, *te) == r.test_acc


def test_bad_input_raises_clear_errors():
    with pytest.raises(ConfigError, match="lr"):
        LogisticRegression(5, lr=0)
    with pytest.raises(ConfigError, match="l2"):
        LogisticRegression(5, l2=-1)
    with pytest.raises(ConfigError):
        MLP(10, [0], 3)
    with pytest.raises(DataError, match="expected X of shape"):
        Perceptron(5, 3).train_epoch(np.zeros((4, 6)), np.zeros(4, int), np.arange(4))
    with pytest.raises(DataError, match="labels"):
        Perceptron(5, 3).train_epoch(np.zeros((4, 5)), np.array([0, 1, 2, 3]), np.arange(4))
    with pytest.raises(DataError, match="order"):
        LogisticRegression(5, 3).train_epoch(np.zeros((4, 5)), np.zeros(4, int), np.array([0, 9]))
    with pytest.raises(ConfigError, match="epochs"):
        fit(Perceptron(3, 3), *[_separable(10)] * 3, epochs=0)
    X, y = _separable(40)
    with pytest.raises(DataError, match="lower lr"):
        fit(LogisticRegression(3, 3, lr=1e300), (X, y), (X, y), (X, y), epochs=3, progress=False)


def test_softmax_is_stable():
    p = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)
