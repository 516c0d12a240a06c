"""Benchmark: batch-size-1 SGD of Question 1 — textbook numpy loop vs hwlib vs scikit-learn.

In one process, on the same data and the same shuffles, for the perceptron, logistic regression
(lr 1e-4, ℓ2 1e-5) and the 100-unit MLP (lr 1e-3, weights ~ N(0.1, 0.1²)):

* baseline  a plain per-sample numpy loop written as a textbook (or the course skeleton) would:
            weights in the (classes × features) layout, ``W @ x``, ``np.outer`` updates;
* hwlib     ``hwlib.fast.sgd`` models' ``train_epoch`` (compiled numba epoch, same steps);
* sklearn   ``Perceptron`` / ``SGDClassifier(log_loss)`` / ``MLPClassifier(sgd, batch_size=1)``
            for reference only (one-vs-rest linear models, its own shuffling: accuracies differ).

Prints CPU seconds per epoch (OMP_NUM_THREADS=1 is set before numpy loads), the ratio baseline / hwlib, and the accuracies. For the two linear models
it asserts that hwlib's train and dev accuracies equal the baseline's after every epoch (the
perceptron's weights are even bit-identical: sums of multiples of 1/256). The MLP with the
assignment's N(0.1, 0.1²) initialisation is chaotic early in training: a 1-ulp change of the initial
weights alone moves its accuracy after an epoch or two by points, so bit-level differences in
summation order (BLAS's ``W @ x`` vs the kernel's loop — or two BLAS builds) cannot give identical
accuracies. For it the benchmark asserts what the algorithm determines — hwlib's weights after the
first 50 samples equal the baseline's to 1e-9 relative — and prints the baseline's own spread
(the baseline rerun from initial weights moved by 1 ulp) next to the hwlib-vs-baseline difference.

    .venv/bin/python benchmarks/q1_sgd.py [--profile quick|full] [--epochs 3] [--n-train N]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hwlib.data import course_view, load_letters  # noqa: E402
from hwlib.fast.sgd import FastLogisticRegression, FastMLP, FastPerceptron  # noqa: E402


# ----------------------------------------------------------------------------- textbook baselines
def baseline_perceptron_epoch(W, X, y, order):
    for i in order:
        x = X[i]
        y_hat = np.argmax(W @ x)
        if y_hat != y[i]:
            W[y[i]] += x
            W[y_hat] -= x


def baseline_logreg_epoch(W, X, y, order, lr, l2):
    for i in order:
        x = X[i]
        z = W @ x
        p = np.exp(z - z.max())
        p /= p.sum()
        e_y = np.zeros(len(p))
        e_y[y[i]] = 1.0
        W -= lr * (np.outer(p - e_y, x) + l2 * W)


def baseline_mlp_epoch(W1, b1, W2, b2, X, y, order, lr):
    for i in order:
        x = X[i]
        z1 = W1 @ x + b1
        h = np.maximum(z1, 0)
        z2 = W2 @ h + b2
        p = np.exp(z2 - z2.max())
        p /= p.sum()
        d2 = p.copy()
        d2[y[i]] -= 1.0
        d1 = (W2.T @ d2) * (z1 > 0)
        W2 -= lr * np.outer(d2, h)
        b2 -= lr * d2
        W1 -= lr * np.outer(d1, x)
        b1 -= lr * d1


def _acc(pred, y):
    return float(np.mean(pred == y))


def _timed(f):
    """CPU seconds of this process spent in f() — the machine is shared, so wall-clock time would
    mostly measure the other processes; both contenders are single-threaded (OMP_NUM_THREADS=1)."""
    t0 = time.process_time()
    f()
    return time.process_time() - t0


def bench(data, epochs: int, n_train: int | None, with_sklearn: bool) -> list[dict]:
    Xtr_b, Xdv_b = course_view(data.train.X, bias=True), course_view(data.dev.X, bias=True)
    Xtr, Xdv = course_view(data.train.X), course_view(data.dev.X)
    ytr, ydv = data.train.y, data.dev.y
    if n_train:
        Xtr_b, Xtr, ytr = Xtr_b[:n_train], Xtr[:n_train], ytr[:n_train]
    rng = np.random.default_rng(42)
    orders = [rng.permutation(len(ytr)) for _ in range(epochs)]
    rows = []

    def compare(name, base_step, base_pred, ours_step, ours_pred, Xt, Xd, sk=None, exact=True):
        tb, to, accs = [], [], []
        for order in orders:
            tb.append(_timed(lambda: base_step(order)))
            to.append(_timed(lambda: ours_step(order)))
            a = (_acc(base_pred(Xt), ytr), _acc(base_pred(Xd), ydv))
            b = (_acc(ours_pred(Xt), ytr), _acc(ours_pred(Xd), ydv))
            if exact:
                assert a == b, f"{name}: accuracies differ from the baseline's: {a} vs {b}"
            accs.append((a, b))
        row = {"model": name, "baseline_s": float(np.mean(tb)), "hwlib_s": float(np.mean(to)),
               "train_acc": accs[-1][1][0], "dev_acc": accs[-1][1][1],
               "baseline_dev_acc": accs[-1][0][1], "identical": all(a == b for a, b in accs)}
        row["speedup"] = row["baseline_s"] / row["hwlib_s"]
        if sk is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = _timed(lambda: sk.fit(Xt, ytr))
            row.update(sklearn_s=t / epochs, sklearn_dev_acc=_acc(sk.predict(Xd), ydv))
        rows.append(row)

    D = Xtr_b.shape[1]
    # perceptron
    Wb = np.zeros((26, D))
    ours = FastPerceptron(D)
    # the first call of a compiled kernel loads/compiles it: not part of the timing
    FastPerceptron(D).train_epoch(Xtr_b[:2], ytr[:2], np.arange(2))
    # read-only, as hwlib's Q1 runs pass their features: FastPerceptron then reads a float32 copy,
    # made once per run (timed here on its own, and reported beside the per-epoch ratio)
    for a in (Xtr_b, Xdv_b):
        a.flags.writeable = False
    pack_s = _timed(lambda: ours._compact(Xtr_b))
    sk = None
    if with_sklearn:
        from sklearn.linear_model import Perceptron as SkPerceptron, SGDClassifier
        sk = SkPerceptron(max_iter=epochs, tol=None, shuffle=True, random_state=42, fit_intercept=False)
    compare("perceptron", lambda o: baseline_perceptron_epoch(Wb, Xtr_b, ytr, o),
            lambda X: (X @ Wb.T).argmax(1), lambda o: ours.train_epoch(Xtr_b, ytr, o), ours.predict,
            Xtr_b, Xdv_b, sk)
    rows[-1]["pack_s"] = pack_s
    # logistic regression (a)
    lr, l2 = 1e-4, 1e-5
    Wb = np.zeros((26, D))
    ours = FastLogisticRegression(D, lr=lr, l2=l2)
    FastLogisticRegression(D).train_epoch(Xtr_b[:2], ytr[:2], np.arange(2))
    if with_sklearn:
        sk = SGDClassifier(loss="log_loss", penalty="l2", alpha=l2, learning_rate="constant", eta0=lr,
                           max_iter=epochs, tol=None, shuffle=True, random_state=42, fit_intercept=False)
    compare("logistic regression", lambda o: baseline_logreg_epoch(Wb, Xtr_b, ytr, o, lr, l2),
            lambda X: (X @ Wb.T).argmax(1), lambda o: ours.train_epoch(Xtr_b, ytr, o), ours.predict,
            Xtr_b, Xdv_b, sk)
    # MLP: first the per-step agreement from the same start, then the timed epochs
    ours = FastMLP(784, [100], 26, lr=1e-3, seed=42)
    FastMLP(784, [100], 26).train_epoch(Xtr[:2], ytr[:2], np.arange(2))
    W1, W2 = ours.W[0].T.copy(), ours.W[1].T.copy()
    b1, b2 = ours.b[0].copy(), ours.b[1].copy()
    probe = FastMLP(784, [100], 26, lr=1e-3, seed=42)
    pW1, pb1, pW2, pb2 = W1.copy(), b1.copy(), W2.copy(), b2.copy()
    probe.train_epoch(Xtr, ytr, orders[0][:50])
    baseline_mlp_epoch(pW1, pb1, pW2, pb2, Xtr, ytr, orders[0][:50], 1e-3)
    for u, v in ((probe.W[0], pW1.T), (probe.W[1], pW2.T), (probe.b[0], pb1), (probe.b[1], pb2)):
        np.testing.assert_allclose(u, v, rtol=1e-9, atol=1e-12)
    qW1, qb1, qW2, qb2 = np.nextafter(W1, np.inf), b1.copy(), W2.copy(), b2.copy()
    for order in orders:
        baseline_mlp_epoch(qW1, qb1, qW2, qb2, Xtr, ytr, order, 1e-3)
    spread = _acc((np.maximum(Xdv @ qW1.T + qb1, 0) @ qW2.T + qb2).argmax(1), ydv)
    if with_sklearn:
        from sklearn.neural_network import MLPClassifier
        sk = MLPClassifier(hidden_layer_sizes=(100,), solver="sgd", batch_size=1, learning_rate_init=1e-3,
                           momentum=0.0, alpha=0.0, max_iter=epochs, tol=0, n_iter_no_change=10 ** 9,
                           shuffle=True, random_state=42)
    compare("MLP 784-100-26", lambda o: baseline_mlp_epoch(W1, b1, W2, b2, Xtr, ytr, o, 1e-3),
            lambda X: (np.maximum(X @ W1.T + b1, 0) @ W2.T + b2).argmax(1),
            lambda o: ours.train_epoch(Xtr, ytr, o), ours.predict, Xtr, Xdv, sk, exact=False)
    rows[-1]["baseline_1ulp_dev_acc"] = spread
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="quick", choices=["quick", "full"])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--n-train", type=int, default=None, help="use the first N training rows only")
    ap.add_argument("--no-sklearn", action="store_true")
    ap.add_argument("--min-speedup", type=float, default=5.0)
    args = ap.parse_args(argv)
    data = load_letters(profile=args.profile)
    n = args.n_train or len(data.train.y)
    print(f"data: {data.name} ({data.profile}), {n} training rows, {len(data.dev.y)} dev rows, "
          f"{args.epochs} epochs, batch size 1")
    rows = bench(data, args.epochs, args.n_train, not args.no_sklearn)
    print(f"{'model':22s} {'baseline s/ep':>13s} {'hwlib s/ep':>11s} {'speed-up':>9s} "
          f"{'sklearn s/ep':>12s} {'dev acc (hwlib)':>27s} {'sklearn dev':>11s}")
    for r in rows:
        print(f"{r['model']:22s} {r['baseline_s']:13.3f} {r['hwlib_s']:11.3f} {r['speedup']:8.1f}× "
              f"{r.get('sklearn_s', float('nan')):12.3f} {r['dev_acc']:27.4f} "
              f"{r.get('sklearn_dev_acc', float('nan')):11.4f}")
    for r in rows:
        if r["identical"]:
            print(f"{r['model']}: accuracies identical to the baseline's after every epoch")
        else:
            print(f"{r['model']}: weights equal the baseline's after 50 steps (asserted); final dev "
                  f"accuracy hwlib {r['dev_acc']:.4f}, baseline {r['baseline_dev_acc']:.4f}, baseline "
                  f"from 1-ulp-perturbed weights {r['baseline_1ulp_dev_acc']:.4f} (chaotic dynamics)")
    for r in rows:
        if "pack_s" in r:
            per_run = r["baseline_s"] / (r["hwlib_s"] + r["pack_s"] / 20)
            print(f"{r['model']}: one-off float32 copy of X {r['pack_s']:.3f} s per run; with it spread over a "
                  f"20-epoch run the speed-up is {per_run:.1f}×")
    slow = [r["model"] for r in rows if r["speedup"] < args.min_speedup]
    if slow:
        print(f"BELOW TARGET (< {args.min_speedup}× the baseline): {', '.join(slow)}")
        raise SystemExit(1)
    print(f"all ≥ {args.min_speedup}× the baseline")


if __name__ == "__main__":
    main()
