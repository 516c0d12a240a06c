"""Q2 grid speed: the textbook loop (DataLoader over a TensorDataset, one model at a time, torch.optim)
against hwlib's batched trainer (the grid's units of ``hwlib.experiments.q2.grid_units`` as one model each,
hand-written backprop, fused optimizer), measured in the same run on the same data.

For each width it times ``--steps`` training steps of each method (batch 64, Adam, relu) and one
evaluation of the train and dev splits (what every epoch of the grid records), extrapolates to a
config-epoch (one epoch of one configuration: 104,000/64 steps + evaluation) and prints the ratio,
then projects the full 80-run × 30-epoch grid for both methods.

    .venv/bin/python benchmarks/q2_grid.py [--widths 16 64 256] [--steps 200] [--threads 1] [--workers 2]
                                           [--textbook-threads 2]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from threadpoolctl import threadpool_limits

from hwlib.experiments.q2 import GRID_WIDTHS, grid_units, width_grid_configs
from hwlib.fast.batched import BatchedFFN, train_epoch
from hwlib.fast.kernels import kernels
from hwlib.fast.optim import BatchedAdam
from hwlib.models.ffn import FFN, evaluate

EPOCHS = 30


def data(n_train: int, n_dev: int, seed: int = 0):
    """Full-profile-sized random tensors. Timing does not depend on pixel values, only on sizes and
    on the share of non-zero pixels, set to ~32 % (the synthetic letters have 37 %)."""
    g = torch.Generator().manual_seed(seed)
    X = torch.rand(n_train + n_dev, 784, generator=g)
    X *= torch.rand(n_train + n_dev, 784, generator=g) < 0.32
    y = torch.randint(0, 26, (n_train + n_dev,), generator=g)
    return X[:n_train].contiguous(), y[:n_train], X[n_train:].contiguous(), y[n_train:]


def textbook(width, Xtr, ytr, Xdv, ydv, steps):
    """Seconds per training step and per (train + dev) evaluation, one model."""
    torch.manual_seed(42)
    model = FFN(width=width)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    loader = DataLoader(TensorDataset(Xtr, ytr), batch_size=64, shuffle=True)
    it = iter(loader)
    def step():
        xb, yb = next(it)
        model.train()
        opt.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        opt.step()
    for _ in range(5):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    t_step = (time.perf_counter() - t0) / steps
    t0 = time.perf_counter()
    evaluate(model, Xtr, ytr)
    evaluate(model, Xdv, ydv)
    return t_step, time.perf_counter() - t0


def ours(width, Xtr, ytr, Xdv, ydv, steps):
    """Seconds per training step and per evaluation, summed over the grid's units of this width
    (``hwlib.experiments.q2.grid_units``: 16 nets up to width 64, 8 at width 128, 4 at width 256), and the number of
    configurations.
    Steps run through ``hwlib.fast.batched.train_epoch``, the grid's own loop (one gather of the shuffled
    rows, then contiguous mini-batches), on ``steps`` mini-batches."""
    t_step = t_eval = 0.0
    K = 0
    Ytr = F.one_hot(ytr, 26).to(Xtr.dtype)
    scratch = (torch.empty_like(Xtr), torch.empty_like(Ytr))
    for unit in grid_units([c for c in width_grid_configs() if c.width == width]):
        torch.manual_seed(42)
        net = BatchedFFN.replicate(FFN(width=width), [c.dropout for c in unit])
        opt = BatchedAdam(net, [c.lr for c in unit], [c.l2 for c in unit])
        perm = torch.randperm(len(ytr), generator=torch.Generator().manual_seed(42))
        train_epoch(net, opt, Xtr, Ytr, perm[:5 * 64], 64, scratch)  # warm-up
        t0 = time.perf_counter()
        train_epoch(net, opt, Xtr, Ytr, perm[5 * 64:(5 + steps) * 64], 64, scratch)
        t_step += (time.perf_counter() - t0) / steps
        t0 = time.perf_counter()
        net.evaluate(Xtr, ytr)
        net.evaluate(Xdv, ydv)
        t_eval += time.perf_counter() - t0
        K += len(unit)
    return t_step, t_eval, K


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--widths", type=int, nargs="+", default=list(GRID_WIDTHS))
    ap.add_argument("--steps", type=int, default=200, help="timed training steps per method and width")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads for both methods (default 1, as in each worker of the grid)")
    ap.add_argument("--workers", type=int, default=2, help="parallel worker processes of the real grid")
    ap.add_argument("--textbook-threads", type=int, default=None,
                    help="torch threads for the textbook loop only (default: --threads). With "
                         "--textbook-threads 2 --workers 2 both methods use the whole 2-core machine, "
                         "the textbook as torch runs it by default and ours as the grid runs")
    ap.add_argument("--n-train", type=int, default=104_000)
    ap.add_argument("--n-dev", type=int, default=20_800)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    threadpool_limits(a.threads, user_api="blas")  # numpy's BLAS (hwlib's first-layer products)
    kernels()  # compile (or load) the fused optimizer kernels before timing
    Xtr, ytr, Xdv, ydv = data(a.n_train, a.n_dev)
    n_steps = math.ceil(a.n_train / 64)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; train {a.n_train:,}, dev {a.n_dev:,}, "
          f"{n_steps} steps/epoch, {a.steps} timed steps per method and width")
    print(f"{'width':>5} | {'textbook s/config-epoch':>23} | {'ours s/config-epoch':>19} | "
          f"{'ours s/width-epoch':>18} | ratio")  # width-epoch: all 16 configurations of the width
    tot_tb = tot_ours = 0.0
    tb_threads = a.textbook_threads or a.threads
    if tb_threads != a.threads:
        print(f"textbook loop with {tb_threads} torch threads, ours with {a.threads}")
    for w in a.widths:
        torch.set_num_threads(tb_threads)
        ts, te = textbook(w, Xtr, ytr, Xdv, ydv, a.steps)
        torch.set_num_threads(a.threads)
        os_, oe, K = ours(w, Xtr, ytr, Xdv, ydv, a.steps)
        tb_epoch = ts * n_steps + te
        our_epoch = os_ * n_steps + oe  # all K configurations
        print(f"{w:>5} | {tb_epoch:>23.2f} | {our_epoch / K:>19.2f} | {our_epoch:>18.1f} | "
              f"{tb_epoch * K / our_epoch:5.1f}x")
        # full grid: 16 configs per width, 30 epochs (+ the evaluation before training)
        tot_tb += K * (EPOCHS * tb_epoch + te)
        tot_ours += EPOCHS * our_epoch + oe
    scope = "full grid" if sorted(a.widths) == sorted(GRID_WIDTHS) else f"widths {a.widths} only"
    print(f"projected {scope} ({EPOCHS} epochs), one process each: textbook ({tb_threads} thread(s)) "
          f"{tot_tb / 60:.1f} min, ours ({a.threads} thread(s)) {tot_ours / 60:.1f} min — "
          f"{tot_tb / tot_ours:.1f}x faster")
    if a.workers > 1:
        print(f"with {a.workers} worker processes on {a.workers} free cores (as `python -m hwlib run q2.width` "
              f"runs it): ours ≈ {tot_ours / a.workers / 60:.1f} min (ideal split; a loaded machine is slower)"
              f" — {tot_tb / (tot_ours / a.workers):.1f}x the textbook's projected time above")


if __name__ == "__main__":
    main()
