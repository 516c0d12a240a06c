"""The experiment registry behind ``python -m hwlib run NAME``.

An experiment is a function ``f(ctx: Context) -> None`` registered with ``@experiment("q1.name")``.
It trains, and stores each finished run with ``ctx.save`` (one record per run), skipping runs for
which ``ctx.done(run)`` is true — so an interrupted grid resumes, losing at most the run in flight.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from hwlib import results
from hwlib.errors import ConfigError, DataError

EXPERIMENT_MODULES = ("hwlib.q1", "hwlib.q2")
PROFILES = ("full", "quick")


@dataclass
class Experiment:
    name: str
    fn: Callable[["Context"], None]
    help: str = ""


_REGISTRY: dict[str, Experiment] = {}


def experiment(name: str, help: str = ""):
    """Decorator registering ``fn`` as experiment ``name`` (e.g. ``"q1.grid"``)."""
    def deco(fn):
        _REGISTRY[name] = Experiment(name, fn, help or (fn.__doc__ or "").strip().split("\n")[0])
        return fn
    return deco


def registry() -> dict[str, Experiment]:
    """All experiments, importing the modules that define them."""
    for mod in EXPERIMENT_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:  # a real missing dependency inside the module: surface it
                raise
    return dict(_REGISTRY)  # registration order: later experiments may read earlier ones


@dataclass
class Context:
    """What an experiment needs: the profile, the data (loaded lazily), and the results store."""
    experiment: str
    profile: str
    force: bool = False
    seed: int = 42
    root: Path | None = None
    data_path: str | None = None
    _data: object = field(default=None, repr=False)

    @property
    def data(self):
        if self._data is None:
            from hwlib.data import load_letters
            self._data = load_letters(self.data_path, profile=self.profile, seed=self.seed)
        if len(self._data.train) == 0:
            raise DataError(f"{self._data.name} ({self._data.source}) has no training images, so "
                            f"{self.experiment} cannot train on it; use --data synthetic, or get the full "
                            "dataset with `python -m hwlib data download`")
        return self._data

    def done(self, run: str) -> bool:
        """True when a complete record of ``run`` exists and ``force`` is off."""
        return not self.force and self.load(run) is not None

    def load(self, run: str) -> dict | None:
        rec = results.load_record(self.experiment, run, self.data.slug, self.profile, self.root)
        return rec if rec is not None and rec.get("complete") else None

    def records(self) -> list[dict]:
        return results.load_all(self.experiment, self.data.slug, self.profile, self.root)

    def save(self, run: str, *, config: dict, history: dict, summary: dict, wall_time_s: float,
             arrays: dict | None = None, complete: bool = True, started: str | None = None) -> dict:
        """Record one finished run (atomic; never replaces a complete record by a partial one)."""
        rec = results.make_record(
            self.experiment, run, dataset=self.data.describe(), profile=self.profile,
            config=config, history=history, summary=summary, wall_time_s=wall_time_s,
            complete=complete, started=started)
        path = results.save_record(rec, arrays=arrays, root=self.root)
        rec["_path"] = str(path)
        return rec


def run_experiment(name: str, profile: str | None = None, *, force: bool = False, data=None,
                   data_path: str | None = None, root: Path | None = None, seed: int = 42) -> list[dict]:
    """Run one experiment (or ``"all"``, or a prefix such as ``"q1"``); return its complete records."""
    from hwlib.data import active_profile
    profile = profile or active_profile()
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    reg = registry()
    if name == "all":
        names = list(reg)
    elif name in reg:
        names = [name]
    else:
        names = [n for n in reg if n.startswith(name.rstrip(".") + ".")]
        if not names:
            raise ConfigError(f"unknown experiment {name!r}; known: {', '.join(reg) or '(none)'} or 'all'")
    out: list[dict] = []
    for n in names:
        ctx = Context(n, profile, force=force, seed=seed, root=root, data_path=data_path, _data=data)
        t0 = time.perf_counter()
        reg[n].fn(ctx)
        print(f"[hwlib] {n} ({profile}) finished in {time.perf_counter() - t0:.1f} s")
        out.extend(ctx.records())
        data = ctx._data  # reuse the loaded dataset for the next experiment
    return out
