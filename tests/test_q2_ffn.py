"""Q2 feed-forward net: shapes, parameter counts, training behaviour, determinism, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hwlib.constants import N_CLASSES, N_PIXELS
from hwlib.errors import ConfigError
from hwlib.models.ffn import (FFN, FFNConfig, Learner, as_tensors, evaluate, fit, make_optimizer, n_params,
                              permutations, train_step)
from hwlib.training import HISTORY_KEYS, FitResult

torch.set_num_threads(1)


def separable(n_per_class=12, n_classes=26, d=784, seed=0, noise=0.05):
    """Each class lights its own block of pixels: linearly separable with a wide margin."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = rng.random((len(y), d)).astype(np.float32) * noise
    block = d // n_classes
    for c in range(n_classes):
        X[y == c, c * block:(c + 1) * block] += 1.0
    perm = rng.permutation(len(y))
    return X[perm], y[perm]


def test_constants_are_the_course_sizes():
    assert (N_PIXELS, N_CLASSES) == (784, 26)
    assert FFN().n_features == N_PIXELS and FFN().n_classes == N_CLASSES


@pytest.mark.parametrize("width,depth", [(1, 1), (16, 1), (32, 3), (64, 2), (7, 9)])
def test_shapes_and_parameter_count(width, depth):
    m = FFN(width=width, depth=depth)
    manual = 784 * width + width + (depth - 1) * (width * width + width) + width * 26 + 26
    assert m.n_params == n_params(width, depth) == manual
    assert len(m.linears()) == depth + 1
    assert m(torch.zeros(5, 784)).shape == (5, 26)


def test_parameter_count_other_sizes():
    m = FFN(n_features=10, n_classes=3, width=4, depth=2, activation="tanh", dropout=0.5)
    assert m.n_params == (10 * 4 + 4) + (4 * 4 + 4) + (4 * 3 + 3) == n_params(4, 2, 10, 3)
    assert isinstance(m.layers[1], torch.nn.Tanh)


@pytest.mark.parametrize("kwargs,word", [
    ({"width": 0}, "width"), ({"width": 2.5}, "width"), ({"depth": 0}, "depth"),
    ({"dropout": 1.5}, "dropout"), ({"dropout": -0.1}, "dropout"), ({"dropout": 1.0}, "dropout"),
    ({"activation": "sigmoid"}, "activation"),
])
def test_bad_architecture_raises_config_error(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        FFN(**kwargs)
    with pytest.raises(ConfigError, match=word):
        FFNConfig(**kwargs)


@pytest.mark.parametrize("kwargs,word", [
    ({"lr": 0}, "learning rate"), ({"lr": float("nan")}, "learning rate"), ({"l2": -1e-4}, "ℓ2"),
    ({"optimizer": "rmsprop"}, "optimizer"), ({"epochs": -1}, "epochs"), ({"batch_size": 0}, "batch_size"),
])
def test_bad_training_settings_raise_config_error(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        FFNConfig(**kwargs)


def test_error_message_names_the_valid_choices():
    with pytest.raises(ConfigError) as e:
        FFNConfig(activation="gelu")
    assert "relu" in str(e.value) and "tanh" in str(e.value)


def test_one_epoch_on_separable_data_lowers_the_loss():
    X, y = separable()
    cfg = FFNConfig(width=16, epochs=1, optimizer="adam", lr=3e-3, batch_size=16)
    res = fit(cfg, (X, y), (X, y), device="cpu")
    assert res.history["train_loss"][1] < res.history["train_loss"][0] - 0.1
    assert res.history["train_acc"][1] > res.history["train_acc"][0]


def test_train_step_lowers_the_batch_loss():
    X, y = separable(4)
    torch.manual_seed(0)
    m = FFN(width=32)
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    Xt, yt = as_tensors((X, y), "cpu")
    first = train_step(m, Xt, yt, opt)
    for _ in range(5):
        last = train_step(m, Xt, yt, opt)
    assert last < first


def test_history_has_epochs_plus_one_points_and_best_checkpoint():
    X, y = separable(4)
    cfg = FFNConfig(width=8, epochs=30, optimizer="adam", lr=1e-3)
    res = fit(cfg, (X[:80], y[:80]), (X[80:], y[80:]), (X, y), device="cpu")
    for k in ("epoch", "train_loss", "train_acc", "dev_loss", "dev_acc"):
        assert len(res.history[k]) == 31
    assert res.history["epoch"] == list(range(31))
    dev = res.history["dev_acc"]
    assert res.best_dev_acc == max(dev) and dev.index(max(dev)) == res.best_epoch  # first best
    # the stored checkpoint is the best-dev model: evaluating it reproduces the recorded numbers
    m = FFN(width=8)
    m.load_state_dict(res.state)
    Xd, yd = as_tensors((X[80:], y[80:]), "cpu")
    assert evaluate(m, Xd, yd)[1] == pytest.approx(res.best_dev_acc)
    assert evaluate(m, *as_tensors((X, y), "cpu")) == pytest.approx((res.test_loss, res.test_acc))
    s = res.summary()
    assert s["final_train_acc"] == res.final_train_acc == res.history["train_acc"][-1]
    assert s["best_dev_acc"] == res.best_dev_acc and s["best_epoch"] == res.best_epoch
    assert s["train_acc_at_best"] == res.history["train_acc"][res.best_epoch]
    # the shared protocol also times each epoch (0 before training) and keeps the configuration
    assert len(res.history["epoch_time_s"]) == 31 and res.history["epoch_time_s"][0] == 0.0
    assert all(t > 0 for t in res.history["epoch_time_s"][1:])
    assert s["mean_epoch_time_s"] == pytest.approx(np.mean(res.history["epoch_time_s"][1:]))
    assert isinstance(res, FitResult) and res.config == cfg


def test_fit_is_the_shared_protocol_around_a_learner():
    """models.ffn.fit = training.fit on a Learner (seeded model, its optimizer, seeded shuffles)."""
    from hwlib import training
    X, y = separable(3)
    cfg = FFNConfig(width=8, epochs=3, optimizer="adam", lr=3e-3, batch_size=16)
    res = fit(cfg, (X[:60], y[:60]), (X[60:], y[60:]), (X, y), device="cpu")
    torch.manual_seed(cfg.seed)
    m = FFN.from_config(cfg)
    tr, dv, te = (as_tensors(s, "cpu") for s in ((X[:60], y[:60]), (X[60:], y[60:]), (X, y)))
    own = training.fit(Learner(m, make_optimizer(m, cfg), cfg.batch_size), tr, dv, te, epochs=cfg.epochs,
                       shuffles=permutations(60, cfg.seed), config=cfg, progress=False)
    for k in HISTORY_KEYS:
        assert own.history[k] == res.history[k]
    assert (own.best_epoch, own.best_dev_acc, own.test_acc) == (res.best_epoch, res.best_dev_acc, res.test_acc)
    assert all(torch.equal(own.state[k], res.state[k]) for k in res.state)


def test_learner_epoch_visits_every_row_once_in_the_given_order():
    X, y = separable(2)
    seen = []

    class Spy(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(N_PIXELS, N_CLASSES))

        def forward(self, x):
            seen.append(x.clone())
            return x @ self.w

    m = Spy()
    Xt, yt = as_tensors((X, y), "cpu")
    order = torch.randperm(len(yt), generator=torch.Generator().manual_seed(3))
    Learner(m, torch.optim.SGD(m.parameters(), lr=0.1), batch_size=5).train_epoch(Xt, yt, order)
    assert [len(b) for b in seen] == [5] * (len(yt) // 5) + ([len(yt) % 5] if len(yt) % 5 else [])
    assert torch.equal(torch.cat(seen), Xt[order])


def test_same_seed_gives_identical_numbers_on_cpu():
    X, y = separable(3)
    cfg = FFNConfig(width=16, epochs=2, optimizer="adam", dropout=0.2, lr=1e-3, l2=1e-4)
    a = fit(cfg, (X, y), (X, y), (X, y), device="cpu")
    b = fit(cfg, (X, y), (X, y), (X, y), device="cpu")
    numbers = lambda r: {k: r.history[k] for k in HISTORY_KEYS}  # epoch_time_s is a clock reading
    assert numbers(a) == numbers(b) and a.test_acc == b.test_acc
    c = fit(cfg.replace(seed=7), (X, y), (X, y), device="cpu")
    assert c.history["train_loss"] != a.history["train_loss"]


def test_evaluate_matches_a_direct_computation():
    X, y = separable(2)
    torch.manual_seed(1)
    m = FFN(width=5, depth=2, dropout=0.5)
    Xt, yt = as_tensors((X, y), "cpu")
    loss, acc = evaluate(m, Xt, yt, chunk=7)  # chunking must not change the result
    m.eval()
    with torch.no_grad():
        z = m(Xt)
    assert loss == pytest.approx(float(torch.nn.functional.cross_entropy(z, yt)), rel=1e-5)
    assert acc == pytest.approx(float((z.argmax(1) == yt).float().mean()))


def test_as_tensors_uses_the_course_scaling():
    from hwlib.data import Split, course_view
    X = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28) % 256
    s = Split(X.astype(np.uint8), np.array([0, 25]))
    Xt, yt = as_tensors(s, "cpu")
    assert Xt.dtype == torch.float32 and Xt.shape == (2, 784)
    np.testing.assert_allclose(Xt.numpy(), course_view(s.X), rtol=0, atol=1e-7)
    assert yt.tolist() == [0, 25]
