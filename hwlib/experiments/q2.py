"""Question 2 experiments (``python -m hwlib run q2.width`` / ``q2.depth``): configurations and runners.

  q2.width  2.2: one hidden layer, widths {16, 32, 64, 128, 256} × lr {1e-4, 3e-4, 1e-3, 3e-3}
            × dropout {0, 0.2} × ℓ2 {0, 1e-4} = 80 runs; Adam, relu, batch 64, 30 epochs.
            The 8 runs of one width and dropout rate (4 lr × 2 ℓ2) train together as one batched
            model (``hwlib.fast.batched``), a "unit"; full-profile units run in 2 worker processes
            (``HWLIB_WORKERS``), one thread each (``HWLIB_THREADS``). Each run's record is saved
            as soon as its unit finishes, so an interrupted grid resumes with the unfinished
            units, losing at most the units in flight (8 runs per worker).
  q2.depth  2.3: width 32, depth L ∈ {1, 3, 5, 7, 9}, with the hyper-parameters of the best
            32-unit run of *our recorded* width grid (read from its records; ``needs`` makes
            ``run q2.depth`` complete the grid first). One record per depth.
The quick profile runs the same code for ``EPOCHS["quick"]`` epochs on the small data subset.
"""
from __future__ import annotations

import itertools
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from hwlib.errors import ResultError
from hwlib.experiments import Context, experiment, record_check, settings
from hwlib.experiments.provenance import now
from hwlib.experiments.results import best_run
from hwlib.fast.batched import fit_batched
from hwlib.models.ffn import FFNConfig, default_device

EPOCHS = {"full": 30, "quick": 3}
GRID_WIDTHS = (16, 32, 64, 128, 256)
GRID_LRS = (1e-4, 3e-4, 1e-3, 3e-3)
GRID_DROPOUTS = (0.0, 0.2)
GRID_L2S = (0.0, 1e-4)
DEPTHS = (1, 3, 5, 7, 9)
DEPTH_WIDTH = 32
OPTIMIZER, ACTIVATION, BATCH_SIZE = "adam", "relu", 64
TUNED = ("lr", "dropout", "l2")  # what the depth study copies from the best 32-unit run


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


def matches(rec: dict | None, cfg: FFNConfig | None) -> bool:
    """``rec`` is a record of exactly this configuration (every field of ``cfg`` equal)."""
    return rec is not None and cfg is not None and not record_check.config_changes(rec["config"], cfg.to_dict())


def is_done(ctx: Context, run: str, cfg: FFNConfig) -> bool:
    """A complete record of ``run`` exists *for this configuration* (``Context.done``: a record left
    by other settings, e.g. another number of epochs, is announced, retrained and replaced); always
    False with ``--force``."""
    return ctx.done(run, cfg.to_dict())


def _save(ctx: Context, run: str, res, *, started: str, extra_config: dict | None = None,
          extra_summary: dict | None = None) -> dict:
    return ctx.save(run, config={**res.config.to_dict(), **(extra_config or {})}, history=res.history,
                    summary={**res.summary(), **(extra_summary or {})},
                    wall_time_s=res.wall_time_s, started=started)


# ------------------------------------------------------------------------------ experiments
def _env_int(name: str) -> int | None:
    """A positive integer from the environment, capped at the CPU count (:mod:`.settings`)."""
    return settings.env_count(name)


def _threads() -> int:
    """Threads per training process: $HWLIB_THREADS, else 1. On a small shared CPU one thread per
    process is far faster than OpenMP threads that wait on each other at every operation."""
    return _env_int("HWLIB_THREADS") or 1


def workers(profile: str) -> int:
    """Processes training grid units in parallel: $HWLIB_WORKERS, else min(2, CPUs) for the full
    profile on a CPU, 1 (in this process) for the quick profile or on a GPU."""
    n = _env_int("HWLIB_WORKERS")
    if n:
        return n
    if profile != "full" or default_device().type != "cpu":
        return 1
    return max(1, min(2, os.cpu_count() or 1))


SHARED_UNIT_MAX_WIDTH = 64  # up to this width all 16 runs of a width form one unit


def grid_units(cfgs: list[FFNConfig], shared_max_width: int | None = None) -> list[list[FFNConfig]]:
    """Configurations trained together (``fit_batched``). Up to ``shared_max_width`` units, all runs
    of a width form one unit (16 nets): narrow nets spend most of a step in per-operation overhead,
    which a bigger unit shares. Wider nets go in units of one width and dropout rate (8 nets), so
    that two processes can share the expensive widths. Inside a unit the dropout nets come last (the
    masks cover one contiguous range); units are ordered by cost, largest first, dropout units first
    among equals, so that parallel workers finish together."""
    if shared_max_width is None:
        shared_max_width = SHARED_UNIT_MAX_WIDTH
    units: dict[tuple, list[FFNConfig]] = {}
    for c in cfgs:
        key = (c.width,) if c.width <= shared_max_width else (c.width, c.dropout)
        units.setdefault(key, []).append(c)
    units = [sorted(u, key=lambda c: c.dropout) for u in units.values()]
    return sorted(units, key=lambda u: (-u[0].width * len(u), -u[-1].dropout))


_WORKER: dict = {}


def _init_worker(train, dev, test, threads: int) -> None:
    # a thread lock for the progress bars: tqdm's default creates a multiprocessing lock, which a worker
    # ended by SIGTERM would leave for the resource tracker to warn about
    tqdm.set_lock(threading.RLock())
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")  # numpy's BLAS runs the first-layer products
    _WORKER.update(train=train, dev=dev, test=test)


def _unit_dropout(unit: list[FFNConfig]) -> str:
    rates = sorted({c.dropout for c in unit})
    return f"dropout {rates[0]:g}" if len(rates) == 1 else "dropout {" + ", ".join(f"{r:g}" for r in rates) + "}"


def _train_unit(unit: list[FFNConfig]):
    t0, started = time.perf_counter(), now()
    c, E = unit[0], unit[0].epochs
    every = max(1, E // 6)

    def progress(epoch, hist):
        if epoch and (epoch % every == 0 or epoch == E):
            print(f"[q2] width {c.width}, depth {c.depth}, {_unit_dropout(unit)}: epoch {epoch}/{E}, "
                  f"{time.perf_counter() - t0:.0f} s, best dev so far {hist['dev_acc'].max():.4f}", flush=True)

    res = fit_batched(unit, _WORKER["train"], _WORKER["dev"], _WORKER["test"], log=progress)
    return res, started, time.perf_counter() - t0


def train_units(units: list[list[FFNConfig]], data, n_workers: int, on_done) -> None:
    """Train each unit with ``fit_batched``; call ``on_done(unit, results, started, wall_s)`` as each
    finishes (in this process when ``n_workers`` is 1, else in a pool of spawned processes)."""
    threads = _threads()
    if n_workers <= 1 or len(units) <= 1:
        prev = torch.get_num_threads()
        with threadpool_limits(threads, user_api="blas"):
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
            # a SIGTERM reaches this process only: end the units in flight too (the pool then fails the
            # pending futures itself; cancelling them as well makes its manager thread raise)
            procs = list((getattr(pool, "_processes", None) or {}).values())
            for proc in procs:
                proc.terminate()
            if not procs:
                for f in futures:
                    f.cancel()
            raise


# ------------------------------------------------------------------------------ experiments
def check_env(profile: str) -> None:
    """HWLIB_WORKERS and HWLIB_THREADS are read (and refused when malformed) before any training."""
    workers(profile)
    _threads()


@experiment("q2.width", help="Q2.2: 80 one-hidden-layer nets (5 widths × 4 lr × 2 dropout × 2 ℓ2), Adam, relu",
            preflight=check_env)
def width_study(ctx: Context) -> None:
    """Train every unfinished run of the width grid, in the units of ``grid_units``."""
    cfgs = [c for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed) if not is_done(ctx, run_name(c), c)]
    if not cfgs:
        return
    units = grid_units(cfgs)
    n_workers = workers(ctx.profile)
    print(f"[q2.width] {len(cfgs)} runs to train in {len(units)} units of up to {max(map(len, units))} nets, "
          f"{n_workers} worker process(es) × {_threads()} thread(s)", flush=True)

    def save(unit, fits, started, wall):
        for res in fits:
            _save(ctx, run_name(res.config), res, started=started,
                  extra_config={"trained_with": f"hwlib.fast.batched.fit_batched, {len(unit)} nets at once"},
                  extra_summary={"unit_wall_time_s": wall, "unit_nets": len(unit),
                                 "load_avg_1min_at_save": os.getloadavg()[0]})
        best = max(fits, key=lambda r: r.best_dev_acc)
        print(f"[q2.width] width {unit[0].width}, {_unit_dropout(unit)}: {wall:.0f} s; best dev "
              f"{best.best_dev_acc:.4f} ({run_name(best.config)})", flush=True)

    train_units(units, ctx.data, n_workers, save)


def depth_hparams(width_records: list[dict]) -> tuple[dict, dict]:
    """(lr/dropout/ℓ2 of the best 32-unit run, that run's record) — read from records, never typed."""
    rec = best_run([r for r in width_records if r["config"]["width"] == DEPTH_WIDTH])
    return {k: rec["config"][k] for k in TUNED}, rec


@experiment("q2.depth", needs=("q2.width",), preflight=check_env,
            help="Q2.3: width 32, depth 1/3/5/7/9 with the best 32-unit hyper-parameters of q2.width")
def depth_study(ctx: Context) -> None:
    """Train each unfinished depth with the best 32-unit settings of the recorded width grid."""
    grid = {run_name(c): c for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)}
    recs = [r for r in ctx.records_of("q2.width") if matches(r, grid.get(r["run"]))]
    if len(recs) < len(grid):
        raise ResultError(f"the width grid has {len(recs)} of its {len(grid)} records for this profile; "
                          "run `python -m hwlib run q2.width` first")
    hp, src = depth_hparams(recs)
    print(f"[q2.depth] hyper-parameters from {src['run']} (best dev {src['summary']['best_dev_acc']:.4f}): {hp}")
    cfgs = [FFNConfig(width=DEPTH_WIDTH, depth=L, activation=ACTIVATION, optimizer=OPTIMIZER,
                      epochs=EPOCHS[ctx.profile], batch_size=BATCH_SIZE, seed=ctx.seed, **hp)
            for L in DEPTHS]
    todo = [c for c in cfgs if not is_done(ctx, depth_run_name(c.depth), c)]

    def save(unit, fits, started, wall):
        res = fits[0]
        _save(ctx, depth_run_name(res.config.depth), res, started=started,
              extra_config={"hparams_from": f"q2.width/{src['run']}",
                            "hparams_from_dev_acc": src["summary"]["best_dev_acc"],
                            "trained_with": "hwlib.fast.batched.fit_batched, 1 net"},
              extra_summary={"load_avg_1min_at_save": os.getloadavg()[0]})
        print(f"[q2.depth] depth {res.config.depth}: {wall:.0f} s; best dev {res.best_dev_acc:.4f} "
              f"at epoch {res.best_epoch}", flush=True)

    # deepest first, so that parallel workers finish together
    train_units([[c] for c in sorted(todo, key=lambda c: -c.depth)], ctx.data, workers(ctx.profile), save)
