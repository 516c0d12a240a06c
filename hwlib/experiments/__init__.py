"""Experiments: the registry behind ``python -m hwlib run NAME``, the results store and the CLI.

An experiment ``f(ctx: Context)``, registered with ``@experiment("q1.name")``, saves one record per
finished run (``ctx.save``) and skips the runs whose record holds the configuration the code sets
now (``ctx.done``), so an interrupted grid resumes. The experiments in ``needs`` run first and
``ctx.records_of`` hands their records over. A *pooled* experiment returns the jobs of its unfinished
runs instead (:mod:`hwlib.experiments.pool`); consecutive pooled experiments share one pool.
"""
from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from hwlib.errors import ConfigError, DataError, ResultError, activity
from hwlib.experiments import record_check, results, settings

EXPERIMENT_MODULES = ("hwlib.experiments.q1", "hwlib.experiments.q2")
PROFILES = ("full", "quick")


@dataclass
class Experiment:
    name: str
    fn: Callable[["Context"], None]
    help: str = ""
    needs: tuple[str, ...] = ()
    pooled: bool = False          # fn(ctx) returns pool jobs instead of training
    estimate: Callable[[str, int], tuple[int, float]] | None = None  # (runs, expected s) for a profile, n_train


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, help: str = "", needs: tuple[str, ...] = (), pooled: bool = False,
               estimate: Callable[[str, int], tuple[int, float]] | None = None):
    """Decorator registering ``fn`` as experiment ``name`` (e.g. ``"q1.grid"``)."""
    def deco(fn):
        _REGISTRY[name] = Experiment(name, fn, help or (fn.__doc__ or "").strip().split("\n")[0], tuple(needs),
                                     pooled, estimate)
        return fn
    return deco


def registry() -> dict[str, Experiment]:
    """All experiments, in ``EXPERIMENT_MODULES``' order, then each module's order of registration."""
    for mod in EXPERIMENT_MODULES:
        importlib.import_module(mod)
    rank = {m: i for i, m in enumerate(EXPERIMENT_MODULES)}
    order = sorted(_REGISTRY.values(), key=lambda e: rank.get(e.fn.__module__, len(rank)))   # stable within a module
    return {e.name: e for e in order}


class Context:
    """What an experiment needs: its name, the profile, the data and the results store."""

    def __init__(self, experiment: str, profile: str, data, *, force: bool = False, seed: int = 42,
                 root: Path | None = None):
        self.check_data(experiment, data)
        self.experiment, self.profile, self.data = experiment, profile, data
        self.force, self.seed, self.root = force, seed, root
        self.reused: dict[str, dict] = {}   # run -> record, kept as it was
        self.trained: dict[str, dict] = {}  # run -> record, saved now
        self.in_process = True              # pooled runs train in this process (else in workers)

    @staticmethod
    def check_data(experiment: str, data) -> None:
        if len(data.train) == 0:
            raise DataError(f"{data.name} ({data.source}) has no training images, so {experiment} "
                            "cannot train on it; use --data synthetic, or get the full dataset with "
                            "`python -m hwlib data download`")

    def done(self, run: str, config: dict | None = None) -> bool:
        """True when ``force`` is off and a complete record of ``run`` stores every field of ``config``
        with the same value; a record that differs is announced (one line) and counts as not done."""
        rec = None if self.force else self.load(run)
        if rec is None:
            return False
        changes = record_check.config_changes(rec["config"], config or {})
        if changes:
            print(f"[hwlib] {self.experiment}/{run}: {record_check.describe_changes(changes, rec['config'])} "
                  "— retraining", flush=True)
            return False
        self.reused[run] = rec
        return True

    def load(self, run: str) -> dict | None:
        """The complete record of ``run``, with intact arrays, made from this very data; else None."""
        rec = results.load_record(self.experiment, run, self.data.slug, self.profile, self.root)
        if rec is None or not rec.get("complete") or not results.arrays_ok(rec):
            return None
        if rec["dataset"]["sha256"] != self.data.sha256:
            raise ResultError(f"{rec['_path']} was recorded from other data (sha256 "
                              f"{rec['dataset']['sha256'][:12]}…, now {self.data.sha256[:12]}…); rerun "
                              f"with `python -m hwlib run {self.experiment} --force` to redo it")
        return rec

    def records(self) -> list[dict]:
        return results.load_all(self.experiment, self.data.slug, self.profile, self.root)

    def records_of(self, experiment: str) -> list[dict]:
        """The records of an experiment this one declared in ``needs`` (same data and profile)."""
        return results.load_all(experiment, self.data.slug, self.profile, self.root)

    def save(self, run: str, *, config: dict, history: dict, summary: dict, wall_time_s: float,
             arrays: dict | None = None, started: str | None = None) -> dict:
        """Record one finished run, complete (atomically)."""
        rec = results.make_record(self.experiment, run, dataset=self.data.describe(), profile=self.profile,
                                  config=config, history=history, summary=summary, wall_time_s=wall_time_s,
                                  started=started)
        rec["_path"] = str(results.save_record(rec, arrays=arrays, root=self.root))
        self.reused.pop(run, None)
        self.trained[run] = rec
        return rec

    def summary(self, seconds: float) -> str:
        """One line: runs trained now and reused, and the best of them with its record."""
        n, m = len(self.trained), len(self.reused)
        head = (f"[hwlib] {self.experiment} ({self.profile}): {n} run{'s' * (n != 1)} trained, {m} reused "
                f"in {seconds:.1f} s")
        if not n + m:
            return head + " — no runs"
        best = results.best_run([*self.trained.values(), *self.reused.values()])
        s = best["summary"]
        test = f", test {100 * s['test_acc']:.1f}%" if isinstance(s.get("test_acc"), (int, float)) else ""
        return (f"{head} — best: {best['run']}, dev {100 * s['best_dev_acc']:.1f}% (epoch {s['best_epoch']})"
                f"{test}; record {_shown_path(best['_path'])}")


def seed_run_name(run: str, seed: int) -> str:
    """Record name of a re-run of ``run`` with another seed (q1.seeds, q2.seeds), e.g. ``perceptron_seed43``."""
    return f"{run}_seed{seed}"


def current_records(ctx: Context, experiment: str, want: dict[str, dict], what: str) -> list[dict]:
    """The records of ``experiment`` (one it needs) whose config holds ``want[run]``: all of them, or a
    ResultError naming ``what`` is missing."""
    recs = [r for r in ctx.records_of(experiment)
            if r["run"] in want and not record_check.config_changes(r["config"], want[r["run"]])]
    if len(recs) < len(want):
        raise ResultError(f"{what} has {len(recs)} of its {len(want)} records for this profile; "
                          f"run `python -m hwlib run {experiment}` first")
    return recs


def _shown_path(path: str) -> str:
    """``path`` relative to the working directory when it lies below it, else as given."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _with_needs(names: list[str], reg: dict[str, Experiment]) -> list[str]:
    """``names`` preceded by everything they need, each once, dependencies first."""
    out: list[str] = []

    def visit(n: str) -> None:
        for m in reg[n].needs:
            visit(m)
        if n not in out:
            out.append(n)

    for n in names:
        visit(n)
    return out


def _check_store(names: list[str], asked: list[str], data, profile: str, force: bool,
                 root: Path | None) -> None:
    """Before any training: name every unusable record of ``names`` in one error (those of the
    experiments asked for with ``force`` are moved aside instead); check the folder is writable."""
    bad, forced = [], []
    for n in names:
        _, b = results.scan(n, data.slug, profile, root, sha256=data.sha256)
        (forced if force and n in asked else bad).extend((n, p, why) for p, why in b)
    if bad:
        raise results.bad_records_error([(p, why) for _, p, why in bad], [n for n, _, _ in bad])
    for n, p, why in forced:
        dest = results.move_aside(p)
        print(f"[hwlib] moved {p} aside as {dest.name} ({why}); redoing it", file=sys.stderr)
    top = results.record_path(names[0], "x", data.slug, profile, root).parent.parent
    results.check_writable(top)
    results.clean_temps(top)
    for n in names:
        results.clean_temps(top / n)


def run_experiment(name: str, profile: str | None = None, *, force: bool = False, data=None,
                   data_path: str | None = None, root: Path | None = None, seed: int = 42,
                   verify: bool = True, label_base: int | None = None) -> list[dict]:
    """Run one experiment (or ``"all"``, or a prefix such as ``"q1"``) after the experiments it
    needs; return the complete records of the ones asked for. ``force`` redoes only those."""
    from hwlib.data import active_profile, load_letters
    settings.check_env()
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    reg = registry()
    if name == "all":
        asked = list(reg)
    elif name in reg:
        asked = [name]
    else:
        asked = [n for n in reg if n.startswith(name.rstrip(".") + ".")]
        if not asked:
            raise ConfigError(f"unknown experiment {name!r}; use one of {', '.join(reg)}, a prefix such as "
                              "q1, or all (`python -m hwlib list` shows them)")
    if data is None:
        data = load_letters(data_path, profile=profile, seed=seed, verify=verify, label_base=label_base)
    chain = _with_needs(asked, reg)
    Context.check_data(chain[0], data)
    _check_store(chain, asked, data, profile, force, root)
    got: dict[str, list[dict]] = {}

    def finish(ctx: Context, seconds: float, progress: str = "") -> None:
        """The experiment's summary line, a note on records no current run owns, its records into ``got``."""
        n = ctx.experiment
        print(ctx.summary(seconds) + progress, flush=True)
        recs = ctx.records()
        others = [r["run"] for r in recs if r["run"] not in ctx.trained and r["run"] not in ctx.reused]
        if others and (ctx.trained or ctx.reused):
            print(f"[hwlib] {n}: {len(others)} record(s) in {_shown_path(Path(recs[0]['_path']).parent)} belong "
                  f"to no run of the current code ({', '.join(others)}); they are kept and the book still "
                  "reads them — delete them to drop them", flush=True)
        got[n] = recs

    i = 0
    while i < len(chain):
        seg = chain[i:i + 1]
        while reg[seg[0]].pooled and i + len(seg) < len(chain) and reg[chain[i + len(seg)]].pooled:
            seg.append(chain[i + len(seg)])   # consecutive pooled experiments share one pool
        i += len(seg)
        ctxs = [Context(n, profile, data, force=force and n in asked, seed=seed, root=root) for n in seg]
        flight = "the run in flight is not" if len(seg) == 1 else "the runs in flight are not"
        with activity(f"training {', '.join(seg)}", f"finished runs are recorded, {flight}; rerun the "
                                                    "same command to resume"):
            if reg[seg[0]].pooled:
                _run_pooled(ctxs, reg, finish)
            else:
                t0 = time.perf_counter()
                reg[seg[0]].fn(ctxs[0])
                finish(ctxs[0], time.perf_counter() - t0)
    return [r for n in chain if n in asked for r in got[n]]


def _run_pooled(ctxs: list[Context], reg: dict[str, Experiment], finish) -> None:
    """Train the jobs of pooled experiments in one pool, planning each experiment once those it needs
    have finished; ``finish(ctx, seconds, progress)`` ends each."""
    from hwlib.experiments import pool
    profile, data = ctxs[0].profile, ctxs[0].data
    n_workers = pool.workers(profile)
    by_name = {c.experiment: c for c in ctxs}
    waiting, left, started = list(by_name), {}, {}
    guess = {n: reg[n].estimate(profile, len(data.train)) if reg[n].estimate else (0, 0.0) for n in by_name}
    progress = pool.Progress(guess.values(), n_workers)

    def end(n: str) -> None:
        left.pop(n, None)
        finish(by_name[n], time.perf_counter() - started[n], progress.line())

    def plan() -> list[pool.Job]:
        jobs: list[pool.Job] = []
        while True:
            ready = [n for n in waiting if not any(m in waiting or m in left for m in reg[n].needs)]
            if not ready:
                return jobs
            for n in ready:
                waiting.remove(n)
                ctx = by_name[n]
                ctx.in_process = n_workers <= 1
                started[n] = time.perf_counter()
                mine = reg[n].fn(ctx)
                progress.replan(guess[n], mine)
                for j in mine:
                    j.experiment = n
                left[n] = len(mine)
                if not mine:
                    end(n)
                jobs += mine

    def on_done(job, result):
        job.owner(result)
        progress.done(job)
        left[job.experiment] -= 1
        if not left[job.experiment]:
            end(job.experiment)
            return plan()
        return None

    try:
        pool.run_jobs(plan(), data, n_workers, on_done)
    finally:
        progress.close()
