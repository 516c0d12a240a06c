"""The batched trainer equals training each configuration alone (dropout 0: to float rounding),
its optimizers equal torch.optim's, and its dropout has the right rate and scale."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hwlib.errors import ConfigError, DataError
from hwlib.fast.batched import BatchedFFN, BatchedLearner, check_batchable, fit_batched
from hwlib.fast.kernels import fast_path, matmul
from hwlib.fast.optim import BatchedAdam, BatchedSGD, model_views
from hwlib.models.ffn import FFN, FFNConfig, fit
from hwlib.training import HISTORY_KEYS, FitResult

torch.set_num_threads(1)
METRICS = HISTORY_KEYS[1:]  # train_loss, train_acc, dev_loss, dev_acc


def blobs(n=520, d=784, seed=0):
    """26 noisy class prototypes: learnable, not trivially separable."""
    rng = np.random.default_rng(seed)
    protos = rng.random((26, d)).astype(np.float32) * (rng.random((26, d)) < 0.3)
    y = rng.integers(0, 26, n)
    X = protos[y] + rng.normal(0, 0.4, (n, d)).astype(np.float32)
    return (X[:360], y[:360]), (X[360:440], y[360:440]), (X[440:], y[440:])


@pytest.mark.parametrize("optimizer,lrs,depth", [("adam", (1e-3, 3e-3), 1), ("adam", (1e-3, 3e-3), 3),
                                                 ("sgd", (0.05, 0.2), 1)])
def test_batched_equals_each_configuration_alone_without_dropout(optimizer, lrs, depth):
    tr, dv, te = blobs()
    cfgs = [FFNConfig(width=16, depth=depth, optimizer=optimizer, lr=lr, l2=l2, epochs=3, batch_size=32)
            for lr in lrs for l2 in (0.0, 1e-2)]
    batched = fit_batched(cfgs, tr, dv, te, device="cpu")
    for cfg, b in zip(cfgs, batched):
        alone = fit(cfg, tr, dv, te, device="cpu")
        assert isinstance(b, FitResult) and b.config == cfg  # one result per configuration, in order
        assert set(b.history) == set(alone.history) == set(HISTORY_KEYS) | {"epoch_time_s"}  # the same fields
        assert b.history["epoch_time_s"][0] == 0.0 and all(t > 0 for t in b.history["epoch_time_s"][1:])
        assert len(b.history["epoch"]) == 4 and b.history["epoch"] == alone.history["epoch"]
        for k in METRICS:  # float tolerance: batched products sum in another order
            np.testing.assert_allclose(b.history[k], alone.history[k], rtol=2e-5, atol=2e-5, err_msg=k)
        assert b.best_epoch == alone.best_epoch
        assert b.best_dev_acc == pytest.approx(alone.best_dev_acc, abs=1e-9)
        assert b.test_acc == pytest.approx(alone.test_acc, abs=1e-9)
        sb, sa = b.summary(), alone.summary()
        assert set(sb) == set(sa) and "mean_epoch_time_s" in sb
        for k in set(sb) - {"mean_epoch_time_s"}:  # a clock reading
            assert sb[k] == pytest.approx(sa[k], rel=2e-5, abs=2e-5), k
        for name, t in alone.state.items():  # the best-dev weights themselves
            np.testing.assert_allclose(b.state[name].numpy(), t.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    # the runs really differ from each other (a broken per-net lr/ℓ2 would make them equal)
    assert len({tuple(b.history["train_loss"]) for b in batched}) == len(cfgs)



def test_checkpoints_are_kept_net_by_net():
    """``update_checkpoint`` renews the checkpoint of the nets that improved, and only theirs;
    ``load_state_dict`` puts a checkpoint back into the stacked parameters."""
    torch.manual_seed(0)
    start = FFN(n_features=6, n_classes=3, width=4, depth=2)
    net = BatchedFFN.replicate(start, [0.0, 0.0, 0.0])
    learner = BatchedLearner(net, BatchedSGD(net, [0.1] * 3, [0.0] * 3), batch_size=4)
    state = learner.state_dict()
    with torch.no_grad():
        for p in net.params:
            p.add_(1.0)  # every net moves
    assert learner.update_checkpoint(state, np.array([False, True, False])) is state
    learner.load_state_dict(state)
    for k, improved in enumerate((False, True, False)):
        for a, b in zip(net.unstack(k).parameters(), start.parameters()):
            torch.testing.assert_close(a, b + 1.0 if improved else b)


def test_a_diverging_net_is_named():
    tr, dv, _ = blobs(seed=4)
    cfgs = [FFNConfig(width=8, optimizer="sgd", lr=lr, epochs=2) for lr in (0.05, 1e30, 0.1)]
    with pytest.raises(DataError, match=r"training loss of model 1 \(of 3, from 0\) became nan"):
        fit_batched(cfgs, tr, dv, device="cpu")

@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("depth", [1, 3])
@pytest.mark.parametrize("p", [(0.0, 0.0, 0.0), (0.0, 0.3, 0.5), (0.2, 0.2, 0.2)])
def test_backprop_by_hand_equals_autograd(activation, depth, p):
    torch.manual_seed(0)
    models = [FFN(n_features=30, n_classes=26, width=7, depth=depth, activation=activation)
              for _ in range(3)]
    net = BatchedFFN.stack(models, p)
    X, y = torch.rand(20, 30), torch.randint(0, 26, (20,))
    net.reseed(5)  # the same dropout masks for both routes
    net.loss(X, y).backward()
    auto = [q.grad.clone() for q in net.params]
    for target in (y, torch.nn.functional.one_hot(y, 26).float()):  # labels or one-hot rows
        net.reseed(5)
        net.backprop(X, target)
        for a, b in zip(net.params, auto):
            torch.testing.assert_close(a.grad, b, rtol=1e-5, atol=1e-6)


def test_non_float32_path_uses_torch_products_and_agrees():
    """Off the CPU/float32 fast path (a GPU, or float64 here) the products run in torch: same numbers."""
    torch.manual_seed(1)
    models = [FFN(n_features=30, n_classes=26, width=5, depth=2).double() for _ in range(2)]
    net = BatchedFFN.stack(models, [0.0, 0.3])
    X, y = torch.rand(12, 30, dtype=torch.float64), torch.randint(0, 26, (12,))
    net.reseed(3)
    net.loss(X, y).backward()
    auto = [q.grad.clone() for q in net.params]
    net.reseed(3)
    net.backprop(X, y)
    for a, b in zip(net.params, auto):
        torch.testing.assert_close(a.grad, b)
    loss, acc = net.evaluate(X, y)
    for k, m in enumerate(models):
        m.eval()
        with torch.no_grad():
            ref = torch.nn.functional.cross_entropy(m(X), y).item()
        assert loss[k] == pytest.approx(ref, rel=1e-12)


def test_numba_and_torch_update_backends_agree():
    tr, dv, _ = blobs(seed=1)
    cfgs = [FFNConfig(width=8, depth=2, optimizer="adam", lr=lr, l2=l2, epochs=2)
            for lr in (1e-3, 1e-2) for l2 in (0.0, 1e-3)]
    a = fit_batched(cfgs, tr, dv, device="cpu", backend="numba")
    b = fit_batched(cfgs, tr, dv, device="cpu", backend="torch")
    for x, y in zip(a, b):
        for k in METRICS:
            np.testing.assert_allclose(x.history[k], y.history[k], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", ["numba", "torch"])
@pytest.mark.parametrize("Opt,TorchOpt", [(BatchedAdam, torch.optim.Adam), (BatchedSGD, torch.optim.SGD)])
def test_optimizer_steps_match_torch_optim(backend, Opt, TorchOpt):
    torch.manual_seed(0)
    models = [FFN(n_features=20, n_classes=5, width=6, depth=2) for _ in range(3)]
    lrs, l2s = [1e-3, 1e-2, 0.1], [0.0, 1e-3, 1e-1]
    net = BatchedFFN.stack(models)
    opt = Opt(net, lrs, l2s, backend=backend)
    refs = [TorchOpt(m.parameters(), lr=lr, weight_decay=l2) for m, lr, l2 in zip(models, lrs, l2s)]
    X, y = torch.randn(16, 20), torch.randint(0, 5, (16,))
    for _ in range(4):
        opt.zero_grad()
        net.loss(X, y).backward()
        opt.step()
        for m, r in zip(models, refs):
            r.zero_grad()
            torch.nn.functional.cross_entropy(m(X), y).backward()
            r.step()
    for k, m in enumerate(models):
        for p, q in zip(net.unstack(k).parameters(), m.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)


def test_stack_unstack_round_trip_and_forward():
    torch.manual_seed(3)
    models = [FFN(n_features=12, n_classes=4, width=5, depth=d) for d in (3, 3)]
    with torch.no_grad():
        models[1].layers[0].weight.mul_(2)
    net = BatchedFFN.stack(models)
    assert net.params[0].shape == (12, 10) and net.params[2].shape == (2, 5, 5)
    assert sum(p.numel() for p in net.params) == sum(m.n_params for m in models)
    X = torch.randn(7, 12)
    with torch.no_grad():
        z = net(X)
        assert z.shape == (2, 7, 4)
        for k, m in enumerate(models):
            m.eval()
            torch.testing.assert_close(z[k], m(X), rtol=1e-5, atol=1e-6)
            for a, b in zip(net.unstack(k).state_dict().values(), m.state_dict().values()):
                assert torch.equal(a, b)


def test_dropout_rate_and_scale_per_net():
    torch.manual_seed(0)
    m = FFN(n_features=4, n_classes=2, width=2000, depth=2)
    net = BatchedFFN.replicate(m, [0.0, 0.2, 0.5])
    h = torch.ones(50, 3 * 2000)
    out = net._dropout(h, True).view(50, 3, 2000)
    for k, p in enumerate([0.0, 0.2, 0.5]):
        zeros = (out[:, k] == 0).float().mean().item()
        assert zeros == pytest.approx(p, abs=0.01)
        assert out[:, k].mean().item() == pytest.approx(1.0, abs=0.02)  # inverted dropout keeps the mean
        kept = out[:, k][out[:, k] != 0]
        torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - p)))
    h2 = torch.ones(3, 50, 2000)
    out2 = net._dropout(h2, False)
    assert (out2[0] == 1).all() and (out2[2] == 0).float().mean().item() == pytest.approx(0.5, abs=0.01)
    # eval mode never drops
    X = torch.randn(5, 4)
    with torch.no_grad():
        torch.testing.assert_close(net(X, train=False)[0], net(X, train=False)[2])


def test_reused_mask_buffers_match_fresh_masks():
    """backprop writes its masks into buffers kept between steps: each step's mask equals the one a
    fresh tensor would get from the same stream, and units of nets without dropout stay 1."""
    torch.manual_seed(0)
    net = BatchedFFN.replicate(FFN(n_features=4, n_classes=2, width=300, depth=3), [0.0, 0.3, 0.0, 0.5])
    for first, h in ((True, torch.ones(40, 4 * 300)), (False, torch.ones(4, 40, 300))):
        net.reseed(11)
        kept = [net._mask(first, h, slot=1).clone() for _ in range(3)]
        net.reseed(11)
        fresh = [net._mask(first, h) for _ in range(3)]
        for a, b in zip(kept, fresh):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        assert not torch.equal(kept[0], kept[1])  # a new draw every step
        nets = [m.view(40, 4, 300).transpose(0, 1) if first else m for m in kept]
        assert all((m[0] == 1).all() and (m[2] == 1).all() for m in nets)
        assert all(set(m[3].unique().tolist()) == {0.0, 2.0} for m in nets)


@pytest.mark.parametrize("fill", ["_fill_mask_cpu", "_fill_mask_torch"])
def test_both_mask_fillers_draw_the_right_rates(fill):
    """The CPU filler (PCG64 bits + numba) and the device filler (torch.rand), both run here on
    CPU tensors: per-net drop rate and survivor scale, in both layouts."""
    torch.manual_seed(0)
    p = [0.0, 0.2, 0.5]
    net = BatchedFFN.replicate(FFN(n_features=4, n_classes=2, width=1000, depth=2), p)
    net.reseed(2)
    first = torch.full((60, 3 * 1000), -1.0)
    getattr(net, fill)(first[:, 1000:][None], True)  # the range of dropping nets, as _mask passes it
    later = torch.full((2, 60, 1000), -1.0)
    getattr(net, fill)(later, False)
    for m, q in ((first[:, 1000:2000], 0.2), (first[:, 2000:], 0.5), (later[0], 0.2), (later[1], 0.5)):
        assert (m == 0).float().mean().item() == pytest.approx(q, abs=0.01)
        kept = m[m != 0]
        torch.testing.assert_close(kept, torch.full_like(kept, 1 / (1 - q)))
    assert (first[:, :1000] == -1).all()  # outside the range nothing is written


def test_dropout_runs_train_and_differ_from_no_dropout():
    tr, dv, _ = blobs(seed=2)
    cfgs = [FFNConfig(width=32, optimizer="adam", lr=3e-3, dropout=p, epochs=2) for p in (0.0, 0.5)]
    a, b = fit_batched(cfgs, tr, dv, device="cpu")
    # same start, eval mode (to rounding: the two nets' columns of one product may sum differently)
    assert a.history["train_loss"][0] == pytest.approx(b.history["train_loss"][0], rel=1e-6)
    assert b.history["train_loss"][-1] < b.history["train_loss"][0]
    assert a.history["train_loss"][-1] != b.history["train_loss"][-1]
    again = fit_batched(cfgs, tr, dv, device="cpu")  # seeded: reproducible with dropout too
    numbers = lambda r: {k: r.history[k] for k in HISTORY_KEYS}  # epoch_time_s is a clock reading
    assert numbers(again[1]) == numbers(b)


def test_only_lr_dropout_l2_may_differ():
    with pytest.raises(ConfigError, match="width"):
        check_batchable([FFNConfig(width=16), FFNConfig(width=32)])
    with pytest.raises(ConfigError, match="optimizer"):
        check_batchable([FFNConfig(optimizer="adam"), FFNConfig(optimizer="sgd")])
    with pytest.raises(ConfigError, match="at least one"):
        fit_batched([], None, None)
    check_batchable([FFNConfig(lr=1e-3), FFNConfig(lr=1e-2, dropout=0.2, l2=1e-4)])


def test_bad_batched_settings_raise_config_error():
    m = FFN(n_features=4, n_classes=2, width=3)
    with pytest.raises(ConfigError, match="dropout"):
        BatchedFFN.replicate(m, [0.0, 1.5])
    net = BatchedFFN.replicate(m, [0.0, 0.1])
    with pytest.raises(ConfigError, match="learning rate"):
        BatchedAdam(net, [1e-3, -1.0], [0, 0])
    with pytest.raises(ConfigError, match="backend"):
        BatchedAdam(net, [1e-3, 1e-3], [0, 0], backend="cuda-magic")


def test_log_receives_every_epoch_as_arrays_per_net():
    tr, dv, _ = blobs(seed=3)
    cfgs = [FFNConfig(width=8, optimizer="adam", lr=lr, epochs=2) for lr in (1e-3, 1e-2, 3e-2)]
    seen = []
    res = fit_batched(cfgs, tr, dv, device="cpu", log=lambda epoch, h: seen.append((epoch, h)))
    assert [e for e, _ in seen] == [0, 1, 2]
    for epoch, h in seen:
        assert set(h) == set(METRICS) and all(v.shape == (epoch + 1, 3) for v in h.values())
    last = seen[-1][1]
    for k, r in enumerate(res):
        for m in METRICS:
            np.testing.assert_array_equal(last[m][:, k], r.history[m])
    assert res[0].test_acc is None and res[0].test_loss is None  # no test split given


def test_fast_path_and_matmul_routes_agree():
    a32, b32 = torch.rand(9, 13), torch.rand(13, 6)
    assert fast_path(a32) and not fast_path(a32.double())
    out = matmul(a32, b32, torch.empty(9, 6))  # numpy's BLAS
    torch.testing.assert_close(out, a32 @ b32)
    out64 = matmul(a32.double(), b32.double(), torch.empty(9, 6, dtype=torch.float64))  # torch.mm
    torch.testing.assert_close(out64, a32.double() @ b32.double())
    # transposed (non-contiguous) operands, as backprop passes Xᵀ
    c = torch.rand(9, 4)
    torch.testing.assert_close(matmul(a32.t(), c, torch.empty(13, 4)), a32.t() @ c)


def test_model_views_put_the_net_on_axis_1():
    torch.manual_seed(0)
    models = [FFN(n_features=6, n_classes=3, width=4, depth=2) for _ in range(2)]
    net = BatchedFFN.stack(models)
    views = model_views(net, net.params)
    assert [tuple(v.shape) for v in views] == [(6, 2, 4), (1, 2, 4), (1, 2, 16), (1, 2, 4), (1, 2, 12), (1, 2, 3)]
    for k, m in enumerate(models):  # net k's slice of every view is net k's own parameter
        lins = m.linears()
        torch.testing.assert_close(views[0][:, k], lins[0].weight.T)
        torch.testing.assert_close(views[1][0, k], lins[0].bias)
        torch.testing.assert_close(views[2][0, k].view(4, 4), lins[1].weight.T)
        torch.testing.assert_close(views[-1][0, k], lins[-1].bias)
