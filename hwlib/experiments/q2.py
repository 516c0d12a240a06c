"""Question 2 experiments (``python -m hwlib run q2.<name>``): configurations and runners.

  q2.width         2.2: 80 one-hidden-layer nets (5 widths × 4 lr × 2 dropout × 2 ℓ2), Adam, relu, batch 64
  q2.depth         2.3: width 32, depth 1/3/5/7/9, with the settings of the best 32-unit run of q2.width
  q2.depth_report  the same depths at the original report's settings (``REPORT_DEPTH_HPARAMS``)
  q2.seeds         the verdict-bearing runs again with seeds ``EXTRA_SEEDS``

Runs that may share one batched model (``hwlib.fast.batched``) form *units* of at most
``UNIT_MAX_COLUMNS`` first-layer columns (wider units ran slower per net on the 2-core machine);
each unit is one job of :mod:`hwlib.experiments.pool`, the most expensive first.
"""
from __future__ import annotations

import itertools
import os
import time

import torch

from hwlib.experiments import Context, current_records, experiment, pool, seed_run_name
from hwlib.experiments.provenance import now
from hwlib.experiments.results import best_run
from hwlib.fast.batched import SHARED_FIELDS, fit_batched
from hwlib.models.ffn import FFNConfig, as_tensors

EPOCHS = {"full": 30, "quick": 3}
GRID_WIDTHS = (16, 32, 64, 128, 256)
GRID_LRS = (1e-4, 3e-4, 1e-3, 3e-3)
GRID_DROPOUTS = (0.0, 0.2)
GRID_L2S = (0.0, 1e-4)
DEPTHS = (1, 3, 5, 7, 9)
DEPTH_WIDTH = 32
OPTIMIZER, ACTIVATION, BATCH_SIZE = "adam", "relu", 64
TUNED = ("lr", "dropout", "l2")  # what the depth study copies from the best 32-unit run
REPORT_DEPTH_HPARAMS = {"lr": 3e-4, "dropout": 0.2, "l2": 0.0}  # the original report's depth study
EXTRA_SEEDS = (43, 44)  # q2.seeds: with the records' seed 42, three seeds per verdict-bearing run
UNIT_MAX_COLUMNS = 1024  # nets × width of one batched unit
GROUP = "q2"  # the pool group of every Q2 job: the workers hold the splits as tensors (_tensors)


# ------------------------------------------------------------------------------ configurations
def width_grid_configs(epochs: int = EPOCHS["full"], seed: int = 42) -> list[FFNConfig]:
    """The 80 configurations of 2.2 (from ``GRID_*``), width-major, then dropout, lr, ℓ2."""
    return [FFNConfig(width=w, depth=1, activation=ACTIVATION, dropout=do, lr=lr, l2=l2,
                      optimizer=OPTIMIZER, epochs=epochs, batch_size=BATCH_SIZE, seed=seed)
            for w, do, lr, l2 in itertools.product(GRID_WIDTHS, GRID_DROPOUTS, GRID_LRS, GRID_L2S)]


def depth_configs(hp: dict, epochs: int, seed: int) -> list[FFNConfig]:
    """Width ``DEPTH_WIDTH``, one configuration per depth of ``DEPTHS``, with lr/dropout/ℓ2 ``hp``."""
    return [FFNConfig(width=DEPTH_WIDTH, depth=L, activation=ACTIVATION, optimizer=OPTIMIZER,
                      epochs=epochs, batch_size=BATCH_SIZE, seed=seed, **hp) for L in DEPTHS]


def run_name(cfg: FFNConfig) -> str:
    """Record name of a width-grid run, e.g. ``w032_lr=0.001_drop=0_l2=0.0001``."""
    return f"w{cfg.width:03d}_lr={cfg.lr:g}_drop={cfg.dropout:g}_l2={cfg.l2:g}"


def depth_run_name(depth: int) -> str:
    return f"depth={depth}"


# ------------------------------------------------------------------------------ units and their cost
def batch_units(cfgs: list[FFNConfig], max_columns: int | None = None) -> list[list[FFNConfig]]:
    """Distinct configurations grouped into units ``fit_batched`` can train together (equal
    ``SHARED_FIELDS``), each of at most ``max_columns`` // width nets (at least one), the dropout
    nets last (the masks cover one contiguous range); the largest ``unit_seconds`` first."""
    cap = UNIT_MAX_COLUMNS if max_columns is None else max_columns
    groups: dict[tuple, list[FFNConfig]] = {}
    for c in dict.fromkeys(cfgs):
        groups.setdefault(tuple(getattr(c, f) for f in SHARED_FIELDS), []).append(c)
    units = []
    for g in groups.values():
        g = sorted(g, key=lambda c: c.dropout)
        n = max(1, cap // g[0].width)
        units += [g[i:i + n] for i in range(0, len(g), n)]
    return sorted(units, key=lambda u: (-unit_seconds(u), -u[-1].dropout))


def grid_units(cfgs: list[FFNConfig]) -> list[list[FFNConfig]]:
    """The units of the width grid: all 16 runs of a width up to 64, 8 at width 128, 4 at width 256."""
    return batch_units(cfgs)


def unit_seconds(unit: list[FFNConfig], n_train: int = 104_000) -> float:
    """A unit's expected wall time in one of two workers on the 2-core machine (scheduling and ETA
    only, never recorded): per epoch, a fixed cost, the first layer (∝ K·w), per-net and per-layer
    overheads; fitted to the recorded full runs."""
    c, K = unit[0], len(unit)
    per_epoch = (0.44 + 0.0092 * K * c.width + 0.04 * K
                 + (c.depth - 1) * (0.08 + 0.016 * K) * max(1.0, c.width / 32) ** 2)
    return (c.epochs + 1) * per_epoch * n_train / 104_000


# ------------------------------------------------------------------------------ in a worker
_TENSORS: dict = {}  # the splits as float32 tensors, made once per worker and data


def _tensors(data_key: str) -> list:
    if _TENSORS.get("key") != data_key:
        _TENSORS.clear()
        splits = [as_tensors(pool.worker_data(k), "cpu") for k in ("train", "dev", "test")]
        _TENSORS.update(key=data_key, splits=splits)
    return _TENSORS["splits"]


def train_unit(spec: dict):
    """Train ``spec["configs"]`` as one batched model with ``pool.threads()`` torch threads; return
    (results, start time, seconds)."""
    t0, started = time.perf_counter(), now()
    prev = torch.get_num_threads()
    torch.set_num_threads(pool.threads())
    try:
        train, dev, test = _tensors(spec["data"])
        fits = fit_batched(spec["configs"], train, dev, test, progress=spec["progress"])
    finally:
        torch.set_num_threads(prev)
    return fits, started, time.perf_counter() - t0


def unit_jobs(ctx: Context, runs: dict[str, tuple[FFNConfig, dict]], note, make_units=None) -> list[pool.Job]:
    """The jobs training every run of ``runs`` (name → (configuration, extra config fields)) without a
    record of its configuration, in the units ``make_units(configurations)`` (``batch_units``). Runs of
    one configuration are trained once and recorded under each name; ``note(unit, wall, fits)`` prints
    a line as each unit is saved."""
    todo: dict[FFNConfig, list[str]] = {}
    for name, (cfg, _) in runs.items():
        if not ctx.done(name, cfg.to_dict()):
            todo.setdefault(cfg, []).append(name)
    jobs = []
    for unit in (make_units or batch_units)(list(todo)):
        def save(result, unit=unit):
            fits, started, wall = result
            for res in fits:
                names = todo[res.config]
                for name in names:
                    extra = {**runs[name][1], "trained_with": f"hwlib.fast.batched.fit_batched, "
                                                              f"{len(unit)} net{'s' * (len(unit) > 1)} at once"}
                    if len(names) > 1:
                        extra["same_run_as"] = [n for n in names if n != name]
                    ctx.save(name, config={**res.config.to_dict(), **extra}, history=res.history,
                             summary={**res.summary(), "unit_wall_time_s": wall, "unit_nets": len(unit),
                                      "load_avg_1min_at_save": os.getloadavg()[0]},
                             wall_time_s=res.wall_time_s, started=started)
            note(unit, wall, fits)

        spec = {"configs": unit, "data": f"{ctx.data.sha256}/{ctx.profile}",
                "progress": None if ctx.in_process else False}
        key = f"{ctx.experiment}/" + "+".join(n for c in unit for n in todo[c])
        jobs.append(pool.Job(key, train_unit, spec, GROUP, unit_seconds(unit, len(ctx.data.train)), save))
    return jobs


def _note(experiment: str, name):
    def note(unit, wall, fits):
        best = max(fits, key=lambda r: r.best_dev_acc)
        c = unit[0]
        print(f"[{experiment}] width {c.width}, depth {c.depth}, seed {c.seed}, {len(unit)} net(s): {wall:.0f} s; "
              f"best dev {best.best_dev_acc:.4f} ({name(best.config)})", flush=True)
    return note


# ------------------------------------------------------------------------------ experiments
def _estimate(units_of):
    """An ``estimate(profile, n_train)``: (jobs, expected seconds) of the units ``units_of(epochs)``."""
    def estimate(profile: str, n_train: int) -> tuple[int, float]:
        units = units_of(EPOCHS[profile])
        return len(units), sum(unit_seconds(u, n_train) for u in units)
    return estimate


@experiment("q2.width", help="Q2.2: 80 one-hidden-layer nets (5 widths × 4 lr × 2 dropout × 2 ℓ2), Adam, relu",
            pooled=True, estimate=_estimate(lambda e: grid_units(width_grid_configs(e))))
def width_study(ctx: Context) -> list[pool.Job]:
    """Jobs training every unfinished run of the width grid, in the units of ``grid_units``."""
    runs = {run_name(c): (c, {}) for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)}
    return unit_jobs(ctx, runs, _note("q2.width", run_name), lambda cfgs: grid_units(cfgs))


def width_records(ctx: Context) -> list[dict]:
    """The 80 records of the width grid made by its current configurations, or a ResultError."""
    want = {run_name(c): c.to_dict() for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)}
    return current_records(ctx, "q2.width", want, "the width grid")


def depth_hparams(width_records: list[dict]) -> tuple[dict, dict]:
    """(lr/dropout/ℓ2 of the best 32-unit run, that run's record) — read from records, never typed."""
    rec = best_run([r for r in width_records if r["config"]["width"] == DEPTH_WIDTH])
    return {k: rec["config"][k] for k in TUNED}, rec


def _tuned_extra(src: dict) -> dict:
    return {"hparams_from": f"q2.width/{src['run']}", "hparams_from_dev_acc": src["summary"]["best_dev_acc"]}


REPORT_EXTRA = {"hparams_from": "the original report's depth study (lr 3e-4, dropout 0.2, ℓ2 0)"}


@experiment("q2.depth", needs=("q2.width",), pooled=True,
            estimate=_estimate(lambda e: [[c] for c in depth_configs(REPORT_DEPTH_HPARAMS, e, 42)]),
            help="Q2.3: width 32, depth 1/3/5/7/9 with the best 32-unit hyper-parameters of q2.width")
def depth_study(ctx: Context) -> list[pool.Job]:
    """Jobs training each unfinished depth with the best 32-unit settings of the recorded width grid."""
    hp, src = depth_hparams(width_records(ctx))
    print(f"[q2.depth] hyper-parameters from {src['run']} (best dev {src['summary']['best_dev_acc']:.4f}): {hp}")
    runs = {depth_run_name(c.depth): (c, _tuned_extra(src)) for c in depth_configs(hp, EPOCHS[ctx.profile], ctx.seed)}
    return unit_jobs(ctx, runs, _note("q2.depth", lambda c: f"depth {c.depth}"))


@experiment("q2.depth_report", pooled=True,
            estimate=_estimate(lambda e: [[c] for c in depth_configs(REPORT_DEPTH_HPARAMS, e, 42)]),
            help="Q2.3 at the report's settings: width 32, depth 1/3/5/7/9, lr 3e-4, dropout 0.2, ℓ2 0")
def depth_report_study(ctx: Context) -> list[pool.Job]:
    """Jobs training each unfinished depth at the original report's depth-study settings."""
    runs = {depth_run_name(c.depth): (c, REPORT_EXTRA)
            for c in depth_configs(REPORT_DEPTH_HPARAMS, EPOCHS[ctx.profile], ctx.seed)}
    return unit_jobs(ctx, runs, _note("q2.depth_report", lambda c: f"depth {c.depth}"))


def seed_runs(ctx: Context, width_recs: list[dict], seeds=EXTRA_SEEDS) -> dict[str, tuple[FFNConfig, dict]]:
    """The runs of q2.seeds: name → (configuration, extra config fields naming the seed-42 run)."""
    hp, src = depth_hparams(width_recs)
    E = EPOCHS[ctx.profile]
    runs = {}
    for seed in seeds:
        for w in GRID_WIDTHS:
            rec = best_run([r for r in width_recs if r["config"]["width"] == w])
            cfg = FFNConfig(**{k: rec["config"][k] for k in FFNConfig.__dataclass_fields__}).replace(seed=seed)
            runs[seed_run_name(rec["run"], seed)] = (cfg, {"seed_of": f"q2.width/{rec['run']}",
                                                           "chosen_as": f"best {w}-unit run"})
        for study, hps, extra in (("depth", hp, _tuned_extra(src)), ("report_depth", REPORT_DEPTH_HPARAMS, REPORT_EXTRA)):
            exp = "q2.depth" if study == "depth" else "q2.depth_report"
            for c in depth_configs(hps, E, seed):
                runs[seed_run_name(f"{study}={c.depth}", seed)] = (c, {**extra, "seed_of": f"{exp}/depth={c.depth}"})
    return runs


def _seed_estimate(epochs: int) -> list[list[FFNConfig]]:
    hp = {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4}
    cfgs = [c.replace(seed=s) for s in EXTRA_SEEDS for c in width_grid_configs(epochs) if c.lr == 3e-4 and
            c.dropout == 0.2 and c.l2 == 0] + [c for s in EXTRA_SEEDS for h in (hp, REPORT_DEPTH_HPARAMS)
                                               for c in depth_configs(h, epochs, s)]
    return batch_units(cfgs)


@experiment("q2.seeds", needs=("q2.width",), pooled=True, estimate=_estimate(_seed_estimate),
            help="seeds 43, 44 of the best run of each width and of every depth of q2.depth and q2.depth_report")
def seeds(ctx: Context) -> list[pool.Job]:
    """Jobs retraining the verdict-bearing runs with the seeds ``EXTRA_SEEDS``; the best 32-unit run is
    the same training as ``depth=1`` of q2.depth (trained once, recorded under both names)."""
    runs = seed_runs(ctx, width_records(ctx))
    return unit_jobs(ctx, runs, _note("q2.seeds", lambda c: f"w{c.width} L{c.depth} lr={c.lr:g} drop={c.dropout:g}"))
