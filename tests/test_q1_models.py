"""Q1 models: gradients against finite differences and torch.autograd, the compiled epochs of
``hwlib.fast.sgd`` against the readable per-sample steps of ``hwlib.models``, the perceptron rule,
learning on separable data, determinism, and the training protocol of ``hwlib.training.fit``."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from hwlib.constants import N_CLASSES, N_PIXELS, PIXEL_SCALE
from hwlib.data import course_view
from hwlib.errors import ConfigError, DataError
from hwlib.fast.sgd import FastLogisticRegression, FastMLP, FastPerceptron
from hwlib.models.common import cross_entropy, softmax
from hwlib.models.linear import LogisticRegression, Perceptron, add_bias
from hwlib.models.mlp import MLP
from hwlib.training import HISTORY_KEYS, fit, numpy_shuffles


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


def _ce(model, x, y) -> float:
    """Cross-entropy of one sample, as the model's ``evaluate`` reports it."""
    return model.evaluate(x[None], np.array([y]))[0]


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


# one to four hidden layers
@pytest.mark.parametrize("sizes,seed", [((5, 4, 3), 0), ((6, 5, 4, 3), 1), ((4, 3, 5, 2, 3), 2),
                                        ((7, 8, 6, 5, 4, 4), 3)])
def test_mlp_backprop_matches_finite_differences_and_autograd(sizes, seed):
    m = _small_mlp(sizes, seed)
    rng = np.random.default_rng(100 + seed)
    x, y = rng.normal(size=sizes[0]), int(rng.integers(sizes[-1]))
    zL = m.forward(x)
    # forward keeps what backward needs: a[0] is the input, one z per layer, one a per hidden layer
    assert len(m.z) == len(m.W) and len(m.a) == len(m.W) and np.array_equal(m.a[0], x)
    assert np.array_equal(zL, m.z[-1])
    gW, gb = m.backward(y)
    assert [g.shape for g in gW] == [W.shape for W in m.W] and [g.shape for g in gb] == [b.shape for b in m.b]
    fW = _fd(lambda: _ce(m, x, y), m.W)
    fb = _fd(lambda: _ce(m, x, y), m.b)
    for a, b in zip(gW + gb, fW + fb):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    loss, tW, tb = _torch_mlp_grads(m, x, y)
    assert _ce(m, x, y) == pytest.approx(loss, rel=1e-12)
    for a, b in zip(gW + gb, tW + tb):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_mlp_backward_uses_the_last_forward_and_update_steps_against_it():
    m = _small_mlp((6, 5, 4, 3), 7)
    rng = np.random.default_rng(8)
    x1, x2, y = rng.normal(size=6), rng.normal(size=6), 1
    m.forward(x2)
    g2W, g2b = m.backward(y)
    m.forward(x1)
    m.forward(x2)                      # the gradient belongs to the most recent forward only
    hW, hb = m.backward(y)
    for a, b in zip(g2W + g2b, hW + hb):
        np.testing.assert_array_equal(a, b)
    m.forward(x1)
    g1W, _ = m.backward(y)
    assert not np.allclose(g1W[-1], g2W[-1])
    # update(x, y) = forward, backward, then W_l -= lr ∇W_l and b_l -= lr ∇b_l for every layer
    W0, b0 = [W.copy() for W in m.W], [b.copy() for b in m.b]
    assert m.update(x2, y) is None
    for l in range(len(m.W)):
        np.testing.assert_allclose(m.W[l], W0[l] - m.lr * g2W[l], rtol=0, atol=1e-15)
        np.testing.assert_allclose(m.b[l], b0[l] - m.lr * g2b[l], rtol=0, atol=1e-15)


def test_mlp_default_is_the_assignments_network():
    m = MLP()
    assert m.sizes == [N_PIXELS, 100, N_CLASSES] == [784, 100, 26] and m.depth == 1
    assert all(np.all(b == 0) for b in m.b)
    W = np.concatenate([W.ravel() for W in m.W])
    assert abs(W.mean() - 0.1) < 0.005 and abs(W.std() - 0.1) < 0.005
    assert sorted(m.state_dict()) == ["W1", "W2", "b1", "b2"]


@pytest.mark.parametrize("l2", [0.0, 1e-2])
def test_logreg_gradient_matches_finite_differences_and_autograd(l2):
    rng = np.random.default_rng(5)
    m = LogisticRegression(6, 4, lr=0.1, l2=l2)
    m.W = rng.normal(size=(6, 4))
    x, y = rng.normal(size=6), 2

    def objective():   # the per-sample objective: cross-entropy + (l2/2)‖W‖²
        return _ce(m, x, y) + 0.5 * l2 * np.sum(m.W ** 2)

    g = m.gradient(x, y)
    np.testing.assert_allclose(g, _fd(objective, [m.W])[0], rtol=1e-6, atol=1e-8)
    W = torch.tensor(m.W, requires_grad=True)
    ce = torch.nn.functional.cross_entropy((torch.tensor(x) @ W)[None], torch.tensor([y]))
    loss = ce + 0.5 * l2 * (W ** 2).sum()
    loss.backward()
    assert _ce(m, x, y) == pytest.approx(ce.item(), rel=1e-12)   # evaluate's loss: no ℓ2 term
    assert objective() == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(g, W.grad.numpy(), rtol=1e-10, atol=1e-12)
    # the documented step: W <- W - lr * (x ⊗ (p - e_y) + l2 W)
    W0 = m.W.copy()
    assert m.update(x, y) is None
    np.testing.assert_allclose(m.W, W0 - 0.1 * g, rtol=0, atol=1e-15)


# ------------------------------------------------------------------ compiled epochs ≡ readable epochs
def _images(n, seed):
    """Image-like uint8 letters: mostly 0, the rest 0..255, so course_view rows are sparse."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n, 28, 28)) < 0.3) * rng.integers(0, 256, (n, 28, 28))
    return X.astype(np.uint8), rng.integers(0, N_CLASSES, n)


def _sparse_data(n, d, k, seed):
    """Rows like images: many exact zeros, values in [0, 1) that are multiples of 1/256."""
    rng = np.random.default_rng(seed)
    X = (rng.random((n, d)) < 0.4) * rng.integers(0, 256, (n, d)) / PIXEL_SCALE
    return add_bias(X), rng.integers(0, k, n)


def test_fast_models_replace_only_the_epoch():
    for fast, readable in ((FastPerceptron, Perceptron), (FastLogisticRegression, LogisticRegression),
                           (FastMLP, MLP)):
        assert issubclass(fast, readable) and fast.train_epoch is not readable.train_epoch
        for name in ("update", "forward", "predict", "evaluate", "state_dict", "load_state_dict"):
            assert getattr(fast, name) is getattr(readable, name)


@pytest.mark.parametrize("n,k,seed", [(403, N_CLASSES, 1),   # course shape; N not a multiple of 4
                                      (250, 5, 2)])          # odd number of classes
def test_fast_perceptron_is_bit_identical_on_course_view(n, k, seed):
    images, y = _images(n, seed)
    y = y % k
    X = course_view(images, bias=True)                 # pixels / 256 and the bias feature
    a, b = FastPerceptron(N_PIXELS + 1, k), Perceptron(N_PIXELS + 1, k)
    shuffles = numpy_shuffles(n, seed)
    for epoch in range(3):                             # W = 0 at first: every score ties
        order = next(shuffles)
        a.train_epoch(X, y, order)
        b.train_epoch(X, y, order)
        assert np.array_equal(a.W, b.W), f"epoch {epoch + 1}"
    assert np.abs(b.W).sum() > 0 and 0 < b.evaluate(X, y)[1] < 1   # it learned, and made mistakes


@pytest.mark.parametrize("l2", [0.0, 1e-3])           # the kernel has one branch for each
def test_fast_logreg_equals_the_readable_epoch(l2):
    images, y = _images(403, 3)
    X = course_view(images, bias=True)
    a = FastLogisticRegression(N_PIXELS + 1, lr=0.05, l2=l2)
    b = LogisticRegression(N_PIXELS + 1, lr=0.05, l2=l2)
    shuffles = numpy_shuffles(len(y), 0)
    for _ in range(3):
        order = next(shuffles)
        a.train_epoch(X, y, order)
        b.train_epoch(X, y, order)
    # equal up to floating-point summation order
    np.testing.assert_allclose(a.W, b.W, rtol=1e-9, atol=1e-14)
    assert np.abs(b.W).max() > 0.1
    la, lb = a.evaluate(X, y), b.evaluate(X, y)
    assert la[0] == pytest.approx(lb[0], rel=1e-9) and la[1] == lb[1]


@pytest.mark.parametrize("hidden", [[], [7], [6, 5], [6, 5, 4]])
def test_fast_mlp_equals_the_readable_epoch(hidden):
    images, y = _images(300, 4)
    X = course_view(images)
    a, b = FastMLP(N_PIXELS, hidden, N_CLASSES, lr=0.01, seed=3), MLP(N_PIXELS, hidden, N_CLASSES, lr=0.01, seed=3)
    for m in (a, b):
        m.W = [W / np.sqrt(W.shape[0]) for W in m.W]
    W_init = [W.copy() for W in b.W]
    shuffles = numpy_shuffles(len(y), 1)
    for _ in range(2):
        order = next(shuffles)
        a.train_epoch(X, y, order)
        b.train_epoch(X, y, order)
    for u, v in zip(a.W + a.b, b.W + b.b):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-14)
    assert any(not np.allclose(W, W0) for W, W0 in zip(b.W, W_init))
    la, lb = a.evaluate(X, y), b.evaluate(X, y)
    assert la[0] == pytest.approx(lb[0], rel=1e-9) and la[1] == lb[1]


# ------------------------------------------------------------------ the perceptron rule
@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_perceptron_never_updates_on_a_correct_prediction(seed):
    rng = np.random.default_rng(seed)
    p = Perceptron(8, 4)
    p.W = rng.normal(size=(8, 4))
    x = rng.normal(size=8)
    yhat = int(np.argmax(x @ p.W))
    W0 = p.W.copy()
    # the criterion max_k s_k − s_y is 0 on a correct prediction and positive on a wrong one
    assert p.criterion((x @ W0)[None], np.array([yhat]))[0] == 0
    wrong = (yhat + 1) % 4
    assert p.criterion((x @ W0)[None], np.array([wrong]))[0] > 0
    p.update(x, yhat)
    assert np.array_equal(p.W, W0)
    p.update(x, wrong)
    np.testing.assert_allclose(p.W[:, wrong] - W0[:, wrong], x)
    np.testing.assert_allclose(p.W[:, yhat] - W0[:, yhat], -x)
    others = [k for k in range(4) if k not in (wrong, yhat)]
    assert np.array_equal(p.W[:, others], W0[:, others])


@pytest.mark.parametrize("cls", [Perceptron, FastPerceptron])
def test_perceptron_epoch_leaves_weights_alone_when_all_correct(cls):
    X, _ = _sparse_data(200, 30, 3, 4)
    p = cls(31, 3)
    p.W = np.random.default_rng(2).normal(size=(31, 3))
    y = p.predict(X)
    W0 = p.W.copy()
    p.train_epoch(X, y, np.arange(200))
    assert np.array_equal(p.W, W0)
    assert p.evaluate(X, y) == (0.0, 1.0)         # no mistakes: accuracy 1, perceptron criterion 0


# ------------------------------------------------------------------ fit: learning and protocol
def _separable(n=400, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[3.0, 0], [-3, 0], [0, 3]])
    y = rng.integers(0, 3, n)
    X = centers[y] + rng.normal(0, 0.5, (n, 2))
    return add_bias(X), y


@pytest.mark.parametrize("fast", [False, True], ids=["readable", "fast"])
def test_learning_on_a_separable_toy_set(fast):
    X, y = _separable()
    tr, dv, te = (X[:300], y[:300]), (X[300:350], y[300:350]), (X[350:], y[350:])
    P, L, M = (FastPerceptron, FastLogisticRegression, FastMLP) if fast else (Perceptron, LogisticRegression, MLP)
    r = fit(P(3, 3), tr, dv, te, epochs=10, shuffles=numpy_shuffles(300, 0), progress=False)
    assert r.history["train_acc"][-1] == 1.0 and r.test_acc == 1.0
    assert r.history["train_loss"][0] == 0.0            # W = 0: every score ties, criterion 0
    assert r.history["train_loss"][-1] == 0.0           # all correct: criterion 0 again
    r = fit(L(3, 3, lr=0.05, l2=1e-4), tr, dv, te, epochs=8, shuffles=numpy_shuffles(300, 0), progress=False)
    loss = r.history["train_loss"]
    assert loss[0] == pytest.approx(math.log(3), rel=1e-12)   # W = 0: the uniform guess
    assert all(b < a for a, b in zip(loss, loss[1:])) and r.test_acc == 1.0
    r = fit(M(3, [8], 3, lr=0.01, seed=0, init_mean=0.0, init_std=0.5), tr, dv, te, epochs=8,
            shuffles=numpy_shuffles(300, 0), progress=False)
    loss = r.history["train_loss"]
    assert loss[-1] < 0.2 * loss[0] and r.test_acc == 1.0


def test_same_seed_same_history_and_weights_other_seed_differs():
    X, _ = _sparse_data(400, 30, 4, 7)
    y = (X @ np.random.default_rng(8).normal(size=(31, 4))).argmax(axis=1)   # learnable labels
    splits = (X[:300], y[:300]), (X[300:350], y[300:350]), (X[350:], y[350:])

    def run(seed, make):
        r = fit(make(), *splits, epochs=4, shuffles=numpy_shuffles(300, seed), progress=False)
        h = {k: v for k, v in r.history.items() if k != "epoch_time_s"}
        return h, r.state, r.test_acc

    for make in (lambda: FastPerceptron(31, 4), lambda: FastLogisticRegression(31, 4, lr=0.01, l2=1e-4),
                 lambda: FastMLP(31, [10, 6], 4, lr=0.001, seed=1)):
        h1, s1, t1 = run(42, make)
        h2, s2, t2 = run(42, make)
        assert h1 == h2 and t1 == t2 and all(np.array_equal(s1[k], s2[k]) for k in s1)
        h3, s3, _ = run(43, make)
        assert h3["dev_acc"][0] == h1["dev_acc"][0]             # the same start …
        assert h3 != h1 and any(not np.array_equal(s1[k], s3[k]) for k in s1)   # … other shuffles


def test_numpy_shuffles_are_seeded_permutations():
    a, b = numpy_shuffles(50, 3), numpy_shuffles(50, 3)
    rng = np.random.default_rng(3)
    for _ in range(3):
        o = next(a)
        assert np.array_equal(o, next(b)) and np.array_equal(o, rng.permutation(50))
        assert sorted(o) == list(range(50))
    assert not np.array_equal(next(numpy_shuffles(50, 3)), next(numpy_shuffles(50, 4)))


def test_fit_keeps_the_best_dev_checkpoint():
    X, y = _sparse_data(500, 30, 4, 11)
    tr, dv, te = (X[:300], y[:300]), (X[300:400], y[300:400]), (X[400:], y[400:])
    m = FastLogisticRegression(31, 4, lr=0.5, l2=0.0)
    r = fit(m, tr, dv, te, epochs=6, shuffles=numpy_shuffles(300, 0), progress=False)
    h = r.history
    assert set(HISTORY_KEYS) | {"epoch_time_s"} == set(h)
    assert h["epoch"] == list(range(7)) and h["epoch_time_s"][0] == 0.0
    assert all(t > 0 for t in h["epoch_time_s"][1:])
    dev = h["dev_acc"]
    assert r.best_dev_acc == max(dev) and r.best_epoch == dev.index(max(dev))   # first of the best
    assert 0 < r.best_epoch < 6          # (this run's best is not its last epoch: restoring matters)
    # the model was put back to the checkpoint: its numbers are the history's at the best epoch
    assert m.evaluate(*dv) == (h["dev_loss"][r.best_epoch], r.best_dev_acc)
    assert m.evaluate(*tr) == (h["train_loss"][r.best_epoch], h["train_acc"][r.best_epoch])
    assert m.evaluate(*te) == (r.test_loss, r.test_acc)
    assert np.array_equal(m.W, r.state["W"])
    s = r.summary()
    assert s["train_acc_at_best"] == h["train_acc"][r.best_epoch]
    assert (s["final_train_acc"], s["final_train_loss"], s["final_dev_acc"], s["final_dev_loss"]) == (
        h["train_acc"][-1], h["train_loss"][-1], h["dev_acc"][-1], h["dev_loss"][-1])
    assert s["max_train_acc"] == max(h["train_acc"])
    assert s["mean_epoch_time_s"] == pytest.approx(np.mean(h["epoch_time_s"][1:]))
    # without a test split there is no test score
    r = fit(FastLogisticRegression(31, 4, lr=0.5, l2=0.0), tr, dv, epochs=1, shuffles=numpy_shuffles(300, 0),
            progress=False)
    assert r.test_loss is None and r.test_acc is None


class _Scripted:
    """A stand-in model whose dev accuracy after each epoch is scripted (train accuracy 0.5)."""

    def __init__(self, dev_accs):
        self.dev_accs, self.epoch, self.loaded = list(dev_accs), 0, None

    def train_epoch(self, X, y, order):
        self.epoch += 1

    def evaluate(self, X, y):
        return (1.0, self.dev_accs[self.epoch]) if X[0] == "dev" else (1.0, 0.5)

    def state_dict(self):
        return {"epoch": self.epoch}

    def load_state_dict(self, state):
        self.loaded = state["epoch"]


def test_fit_best_checkpoint_is_the_first_strict_improvement():
    m = _Scripted([0.2, 0.5, 0.5, 0.4, 0.5, 0.3])
    r = fit(m, (["train"], [0]), (["dev"], [0]), epochs=5, shuffles=numpy_shuffles(1, 0), progress=False)
    assert r.best_epoch == 1 and r.best_dev_acc == 0.5 and m.loaded == 1   # ties keep the earlier epoch
    m = _Scripted([0.6, 0.5, 0.6])
    r = fit(m, (["train"], [0]), (["dev"], [0]), epochs=2, shuffles=numpy_shuffles(1, 0), progress=False)
    assert r.best_epoch == 0 and m.loaded == 0       # epoch 0 (before training) can be the best
    m = _Scripted([0.3])
    r = fit(m, (["train"], [0]), (["dev"], [0]), epochs=0, shuffles=numpy_shuffles(1, 0), progress=False)
    assert r.history["epoch"] == [0] and r.best_epoch == 0 and m.epoch == 0   # epochs=0: evaluate only



class _ScriptedK(_Scripted):
    """K stand-in models trained as one: ``evaluate`` returns arrays of K (dev accuracies scripted
    per epoch and model); a checkpoint holds, per model, the epoch its weights come from."""

    def __init__(self, dev_accs, train_losses=None):
        super().__init__(dev_accs)
        self.K, self.train_losses = len(dev_accs[0]), train_losses

    def evaluate(self, X, y):
        if X[0] == "dev":
            return np.ones(self.K), np.array(self.dev_accs[self.epoch])
        loss = np.ones(self.K) if self.train_losses is None else np.array(self.train_losses[self.epoch])
        return loss, np.full(self.K, 0.5)

    def state_dict(self):
        return np.full(self.K, self.epoch)

    def update_checkpoint(self, state, better):
        state[better] = self.epoch
        return state

    def load_state_dict(self, state):
        self.loaded = state.copy()


def test_fit_drives_k_models_at_once_as_k_single_runs(capsys):
    """Arrays of K through the same protocol: per-model strict improvement, checkpoints by mask,
    the same numbers as each model alone; ``split`` gives one result per model, time shared out."""
    accs = [[0.2, 0.5, 0.1], [0.4, 0.5, 0.1], [0.4, 0.6, 0.3], [0.3, 0.6, 0.3]]
    m = _ScriptedK(accs)
    r = fit(m, (["train"], [0]), (["dev"], [0]), (["dev"], [0]), epochs=3, shuffles=numpy_shuffles(1, 0),
            progress=True, config="unit")
    assert r.best_epoch.tolist() == [1, 2, 2] and r.best_dev_acc.tolist() == [0.4, 0.6, 0.3]
    assert m.loaded.tolist() == [1, 2, 2]           # each model restored to its own best epoch
    assert r.test_acc.tolist() == [0.3, 0.6, 0.3]   # scored after the restore (scripted: the last epoch's)
    assert "best=0.6000@2" in capsys.readouterr().err   # the bar shows the best of the K models
    parts = r.split(["s0", "s1", "s2"], ["a", "b", "c"])
    for k, part in enumerate(parts):
        alone = fit(_Scripted([a[k] for a in accs]), (["train"], [0]), (["dev"], [0]), epochs=3,
                    shuffles=numpy_shuffles(1, 0), progress=False)
        assert {h: part.history[h] for h in HISTORY_KEYS} == {h: alone.history[h] for h in HISTORY_KEYS}
        assert (part.best_epoch, part.best_dev_acc) == (alone.best_epoch, alone.best_dev_acc)
        assert type(part.best_epoch) is int and type(part.best_dev_acc) is float
        assert (part.state, part.config, part.test_acc) == (f"s{k}", "abc"[k], r.test_acc[k])
        assert part.history["epoch_time_s"] == [t / 3 for t in r.history["epoch_time_s"]]
        assert part.wall_time_s == r.wall_time_s / 3
        assert part.summary().keys() == alone.summary().keys()


def test_fit_names_the_models_whose_training_loss_is_not_finite():
    losses = [[1.0, 1.0, 1.0], [1.0, np.nan, 1.0], [np.inf, np.nan, 1.0]]
    m = _ScriptedK([[0.1, 0.1, 0.1]] * 3, losses)
    with pytest.raises(DataError, match=r"training loss of model 1 \(of 3, from 0\) became nan at epoch 1"):
        fit(m, (["train"], [0]), (["dev"], [0]), epochs=2, shuffles=numpy_shuffles(1, 0), progress=False)
    m = _ScriptedK([[0.1, 0.1, 0.1]] * 3, [losses[0], losses[0], losses[2]])
    with pytest.raises(DataError, match=r"of models 0, 1 \(of 3, from 0\) became inf, nan at epoch 2; .* lower lr"):
        fit(m, (["train"], [0]), (["dev"], [0]), epochs=2, shuffles=numpy_shuffles(1, 0), progress=False)

def test_bad_input_raises_clear_errors():
    with pytest.raises(ConfigError, match="lr"):
        LogisticRegression(5, lr=0)
    with pytest.raises(ConfigError, match="l2"):
        LogisticRegression(5, l2=-1)
    with pytest.raises(ConfigError):
        MLP(10, [0], 3)
    with pytest.raises(ConfigError, match="lr"):
        MLP(10, [4], 3, lr=float("nan"))
    with pytest.raises(ConfigError):
        Perceptron(5, 1)
    # the compiled epochs check their inputs (the readable loop would fail somewhere inside numpy)
    for fast in (FastPerceptron(5, 3), FastLogisticRegression(5, 3), FastMLP(5, [4], 3)):
        with pytest.raises(DataError, match="expected X of shape"):
            fast.train_epoch(np.zeros((4, 6)), np.zeros(4, int), np.arange(4))
        with pytest.raises(DataError, match="labels"):
            fast.train_epoch(np.zeros((4, 5)), np.array([0, 1, 2, 3]), np.arange(4))
        with pytest.raises(DataError, match="one label per row"):
            fast.train_epoch(np.zeros((4, 5)), np.zeros(3, int), np.arange(4))
        with pytest.raises(DataError, match="order"):
            fast.train_epoch(np.zeros((4, 5)), np.zeros(4, int), np.array([0, 9]))
        with pytest.raises(DataError, match="order"):
            fast.train_epoch(np.zeros((4, 5)), np.zeros(4, int), np.array([-1, 0]))
    # evaluation and checkpoints
    with pytest.raises(DataError, match="empty"):
        Perceptron(5, 3).evaluate(np.zeros((0, 5)), np.zeros(0, int))
    with pytest.raises(DataError, match="expected X of shape"):
        Perceptron(5, 3).evaluate(np.zeros((4, 6)), np.zeros(4, int))
    with pytest.raises(DataError, match="shape"):
        Perceptron(5, 3).load_state_dict({"W": np.zeros((5, 4))})
    with pytest.raises(DataError, match="no array"):
        MLP(5, [4], 3).load_state_dict({"W1": np.zeros((5, 4))})
    # fit
    with pytest.raises(ConfigError, match="epochs"):
        fit(Perceptron(3, 3), *[_separable(10)] * 3, epochs=-1, shuffles=numpy_shuffles(10, 0))
    X, y = _separable(40)
    with pytest.raises(DataError, match="same, non-zero number of rows"):
        fit(Perceptron(3, 3), (X, y[:-1]), (X, y), epochs=1, shuffles=numpy_shuffles(40, 0), progress=False)
    with pytest.raises(DataError, match="lower lr"), np.errstate(all="ignore"):
        fit(FastLogisticRegression(3, 3, lr=1e300), (X, y), (X, y), (X, y), epochs=3,
            shuffles=numpy_shuffles(40, 0), progress=False)


def test_checkpoint_roundtrip_copies():
    m = FastMLP(6, [5, 4], 3, seed=2)
    state = m.state_dict()
    assert sorted(state) == ["W1", "W2", "W3", "b1", "b2", "b3"]
    other = MLP(6, [5, 4], 3, seed=9)
    other.load_state_dict({k: v.astype(np.float32) for k, v in state.items()})   # as stored on disk
    X = np.random.default_rng(0).random((10, 6))
    np.testing.assert_allclose(other.forward(X), m.forward(X), rtol=1e-6)
    state["W1"][...] = 0.0                           # a checkpoint is a copy, not a view
    assert not np.all(m.W[0] == 0.0)


def test_softmax_and_cross_entropy_are_stable():
    p = softmax(np.array([[1000.0, 0.0, -1000.0]]))
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)
    ce = cross_entropy(np.array([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]), np.array([2, 0]))
    assert ce[0] == pytest.approx(2000.0) and np.isfinite(ce).all()
    assert ce[1] == pytest.approx(-np.log(softmax(np.array([1.0, 2.0, 3.0]))[0]), rel=1e-12)
