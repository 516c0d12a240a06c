"""Question 2 experiments (``python -m hwlib run q2.width`` / ``q2.depth``) and the chapter's tables,
figures and number-driven sentences.

  q2.width  2.2: one hidden layer, widths {16, 32, 64, 128, 256} × lr {1e-4, 3e-4, 1e-3, 3e-3}
            × dropout {0, 0.2} × ℓ2 {0, 1e-4} = 80 runs; Adam, relu, batch 64, 30 epochs.
            The 8 runs of one width and dropout rate (4 lr × 2 ℓ2) train together as one batched
            model (``hwlib.batched``), a "unit"; full-profile units run in 2 worker processes
            (``HWLIB_WORKERS``), one thread each (``HWLIB_THREADS``). Each run's record is saved
            as soon as its unit finishes, so an interrupted grid resumes with the unfinished
            units, losing at most the units in flight (8 runs per worker).
  q2.depth  2.3: width 32, depth L ∈ {1, 3, 5, 7, 9}, with the hyper-parameters of the best
            32-unit run of *our recorded* width grid (read from its records; the grid is run
            first if any of its records are missing). One record per depth.
The quick profile runs the same code for ``EPOCHS["quick"]`` epochs on the small data subset.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import torch

from hwlib.batched import fit_batched
from hwlib.errors import ConfigError, ResultError
from hwlib.experiments import Context, experiment
from hwlib.ffn import FFNConfig, default_device

EPOCHS = {"full": 30, "quick": 3}
GRID_WIDTHS = (16, 32, 64, 128, 256)
GRID_LRS = (1e-4, 3e-4, 1e-3, 3e-3)
GRID_DROPOUTS = (0.0, 0.2)
GRID_L2S = (0.0, 1e-4)
DEPTHS = (1, 3, 5, 7, 9)
DEPTH_WIDTH = 32
OPTIMIZER, ACTIVATION, BATCH_SIZE = "adam", "relu", 64
TUNED = ("lr", "dropout", "l2")  # what the depth study copies from the best 32-unit run

# The original report's numbers (real EMNIST Letters, course split; see shared/brief).
REPORT_WIDTH = {  # width: best run of that width
    16: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.781, "train": 0.793, "test": 0.784},
    32: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.844, "train": 0.864, "test": 0.845},
    64: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.881, "train": 0.909, "test": 0.880},
    128: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.898, "train": 0.938, "test": 0.896},
    256: {"lr": 3e-4, "dropout": 0.2, "l2": 0.0, "dev": 0.909, "train": 0.949, "test": 0.908},
}
REPORT_DEPTH_HPARAMS = {"lr": 3e-4, "dropout": 0.2, "l2": 0.0}  # not its own best 32-unit run
REPORT_DEPTH = {
    1: {"dev": 0.817, "train": 0.828, "test": 0.818},
    3: {"dev": 0.792, "train": 0.803, "test": 0.793},
    5: {"dev": 0.717, "train": 0.725, "test": 0.718},
    7: {"dev": 0.630, "train": 0.637, "test": 0.635},
    9: {"dev": 0.524, "train": 0.533, "test": 0.528},
}
OTHER_GROUP_DEPTH = {1: 0.845, 3: 0.868, 5: 0.866, 7: 0.841, 9: 0.804}  # Adam lr 1e-3, width 32: dev


# ------------------------------------------------------------------------------ configurations
def width_grid_configs(epochs: int = EPOCHS["full"], seed: int = 42) -> list[FFNConfig]:
    """The 80 configurations of 2.2 (from ``GRID_*``), width-major, then dropout, lr, ℓ2."""
    return [FFNConfig(width=w, depth=1, activation=ACTIVATION, dropout=do, lr=lr, l2=l2,
                      optimizer=OPTIMIZER, epochs=epochs, batch_size=BATCH_SIZE, seed=seed)
            for w, do, lr, l2 in itertools.product(GRID_WIDTHS, GRID_DROPOUTS, GRID_LRS, GRID_L2S)]


def run_name(cfg: FFNConfig) -> str:
    """Record name of a width-grid run, e.g. ``w032_lr=0.001_drop=0_l2=0.0001``."""
    return f"w{cfg.width:03d}_lr={cfg.lr:g}_drop={cfg.dropout:g}_l2={cfg.l2:g}"


def depth_run_name(depth: int) -> str:
    return f"depth={depth}"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _save(ctx: Context, run: str, res, *, started: str, extra_config: dict | None = None,
          extra_summary: dict | None = None) -> dict:
    return ctx.save(run, config={**res.config.to_dict(), **(extra_config or {})}, history=res.history,
                    summary={**res.summary(), **(extra_summary or {})},
                    wall_time_s=res.wall_time_s, started=started)


# ------------------------------------------------------------------------------ experiments
def _threads() -> int:
    """Threads per training process: $HWLIB_THREADS, else 1. On a small shared CPU one thread per
    process is far faster than OpenMP threads that wait on each other at every operation."""
    return max(1, int(os.environ.get("HWLIB_THREADS", "0") or 0) or 1)


def workers(profile: str) -> int:
    """Processes training grid units in parallel: $HWLIB_WORKERS, else min(2, CPUs) for the full
    profile on a CPU, 1 (in this process) for the quick profile or on a GPU."""
    env = os.environ.get("HWLIB_WORKERS")
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n < 1:
            raise ConfigError(f"HWLIB_WORKERS={env!r} must be a positive integer")
        return n
    if profile != "full" or default_device().type != "cpu":
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def grid_units(cfgs: list[FFNConfig]) -> list[list[FFNConfig]]:
    """Configurations trained together: same width and dropout rate (8 nets: 4 lr × 2 ℓ2), largest
    width first (so parallel workers finish together)."""
    units: dict[tuple, list[FFNConfig]] = {}
    for c in cfgs:
        units.setdefault((c.width, c.dropout), []).append(c)
    return sorted(units.values(), key=lambda u: -u[0].width * len(u))


_WORKER: dict = {}


def _init_worker(train, dev, test, threads: int) -> None:
    torch.set_num_threads(threads)
    from hwlib.batched import kernels
    kernels()[0].set_num_threads(1)
    _WORKER.update(train=train, dev=dev, test=test)


def _train_unit(unit: list[FFNConfig]):
    t0, started = time.perf_counter(), _now()
    res = fit_batched(unit, _WORKER["train"], _WORKER["dev"], _WORKER["test"])
    return res, started, time.perf_counter() - t0


def train_units(units: list[list[FFNConfig]], data, n_workers: int, on_done) -> None:
    """Train each unit with ``fit_batched``; call ``on_done(unit, results, started, wall_s)`` as each
    finishes (in this process when ``n_workers`` is 1, else in a pool of spawned processes)."""
    threads = _threads()
    if n_workers <= 1 or len(units) <= 1:
        prev = torch.get_num_threads()
        _init_worker(data.train, data.dev, data.test, threads)
        try:
            for u in units:
                on_done(u, *_train_unit(u))
        finally:
            torch.set_num_threads(prev)
            _WORKER.clear()
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(n_workers, len(units)), mp_context=ctx, initializer=_init_worker,
                             initargs=(data.train, data.dev, data.test, threads)) as pool:
        futures = {pool.submit(_train_unit, u): u for u in units}
        try:
            for f in as_completed(futures):
                on_done(futures[f], *f.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise


# ------------------------------------------------------------------------------ experiments
@experiment("q2.width", help="Q2.2: 80 one-hidden-layer nets (5 widths × 4 lr × 2 dropout × 2 ℓ2), Adam, relu")
def width_study(ctx: Context) -> None:
    """Train every unfinished run of the width grid, in units of 8 nets (one width and dropout)."""
    cfgs = [c for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed) if not ctx.done(run_name(c))]
    if not cfgs:
        return
    units = grid_units(cfgs)
    n_workers = workers(ctx.profile)
    print(f"[q2.width] {len(cfgs)} runs to train in {len(units)} units of up to 8 nets, "
          f"{n_workers} worker process(es) × {_threads()} thread(s)", flush=True)

    def save(unit, results, started, wall):
        for res in results:
            _save(ctx, run_name(res.config), res, started=started,
                  extra_config={"trained_with": f"hwlib.batched.fit_batched, {len(unit)} nets at once"},
                  extra_summary={"unit_wall_time_s": wall, "unit_nets": len(unit)})
        best = max(results, key=lambda r: r.best_dev_acc)
        print(f"[q2.width] width {unit[0].width}, dropout {unit[0].dropout:g}: {wall:.0f} s; best dev "
              f"{best.best_dev_acc:.4f} ({run_name(best.config)})", flush=True)

    train_units(units, ctx.data, n_workers, save)


def best_record(records: list[dict], width: int | None = None) -> dict:
    """The record with the highest best-dev accuracy (of one width, if given). Ties go to the run
    that reached it first (fewer epochs), then to the run name's order."""
    recs = [r for r in records if width is None or r["config"]["width"] == width]
    if not recs:
        raise ResultError(f"no width-grid records{f' of width {width}' if width else ''}; "
                          "run `python -m hwlib run q2.width` first")
    return sorted(recs, key=lambda r: (-r["summary"]["best_dev_acc"], r["summary"]["best_epoch"],
                                       r["run"]))[0]


def depth_hparams(width_records: list[dict]) -> tuple[dict, dict]:
    """(lr/dropout/ℓ2 of the best 32-unit run, that run's record) — read from records, never typed."""
    rec = best_record(width_records, DEPTH_WIDTH)
    return {k: rec["config"][k] for k in TUNED}, rec


@experiment("q2.depth", help="Q2.3: width 32, depth 1/3/5/7/9 with the best 32-unit hyper-parameters of q2.width")
def depth_study(ctx: Context) -> None:
    """Train each unfinished depth with the best 32-unit settings of the recorded width grid."""
    grid = Context("q2.width", ctx.profile, force=False, seed=ctx.seed, root=ctx.root,
                   data_path=ctx.data_path, _data=ctx._data)
    if any(not grid.done(run_name(c)) for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)):
        print("[q2.depth] the width grid is incomplete; running q2.width first", flush=True)
        width_study(grid)
    ctx._data = grid._data or ctx._data
    hp, src = depth_hparams(grid.records())
    print(f"[q2.depth] hyper-parameters from {src['run']} (best dev {src['summary']['best_dev_acc']:.4f}): {hp}")
    todo = [FFNConfig(width=DEPTH_WIDTH, depth=L, activation=ACTIVATION, optimizer=OPTIMIZER,
                      epochs=EPOCHS[ctx.profile], batch_size=BATCH_SIZE, seed=ctx.seed, **hp)
            for L in DEPTHS if not ctx.done(depth_run_name(L))]

    def save(unit, results, started, wall):
        res = results[0]
        _save(ctx, depth_run_name(res.config.depth), res, started=started,
              extra_config={"hparams_from": f"q2.width/{src['run']}",
                            "hparams_from_dev_acc": src["summary"]["best_dev_acc"],
                            "trained_with": "hwlib.batched.fit_batched, 1 net"})
        print(f"[q2.depth] depth {res.config.depth}: {wall:.0f} s; best dev {res.best_dev_acc:.4f} "
              f"at epoch {res.best_epoch}", flush=True)

    # deepest first, so that parallel workers finish together
    train_units([[c] for c in sorted(todo, key=lambda c: -c.depth)], ctx.data, workers(ctx.profile), save)
