"""Independent training runs ("jobs") in worker processes, each holding one group's data at a time.

A job is a module-level function, its picklable argument, a *group* (what a worker builds before
training, e.g. Q1's feature map: hundreds of MB, so a worker holds one at a time) and an expected cost
in seconds. :func:`run_jobs` trains them in ``n_workers`` spawned processes, or in this process when
that is 1 (the same function under the same thread limits: the same numbers). ``on_done(job, result)``
runs here as each job ends (records are saved here) and may return new jobs, which join the queue.
"""
from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from hwlib.experiments import settings

_WORKER: dict = {}   # what a worker process holds: the data splits, set by _init_worker


@dataclass
class Job:
    """One run to train: ``fn(arg)`` in a worker, after it builds ``group``; ``cost``: expected seconds."""
    key: str
    fn: Callable[[Any], Any]
    arg: Any
    group: str
    cost: float
    owner: Any = None   # what on_done calls with the result (saves the record); stays in this process
    experiment: str = ""


class Progress:
    """One bar for a pool: runs done / total and the time left, the work weighted by ``Job.cost``."""

    def __init__(self, estimates, n_workers: int):
        """``estimates``: (runs, expected seconds) of each experiment, before it is planned."""
        estimates = list(estimates)
        self.runs, self.done_runs = sum(r for r, _ in estimates), 0
        self.cost, self.done_cost = sum(c for _, c in estimates), 0.0   # kept here: a disabled bar counts nothing
        self.t0, self.n_workers = time.perf_counter(), n_workers
        self.bar = tqdm(total=max(self.cost, 1e-9), desc="runs", unit="s", smoothing=0,
                        disable=None, dynamic_ncols=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix} [{elapsed}<{remaining}]")
        self._show()

    def replan(self, estimate: tuple[int, float], jobs: list[Job]) -> None:
        """An experiment planned: its jobs replace its estimate."""
        self.runs += len(jobs) - estimate[0]
        self.cost += sum(j.cost for j in jobs) - estimate[1]
        self.bar.total = max(self.cost, self.done_cost, 1e-9)
        self._show()

    def done(self, job: Job) -> None:
        """One job finished."""
        self.done_runs += 1
        self.done_cost += job.cost
        self.bar.update(job.cost)
        self._show()

    def line(self) -> str:
        """The same in words, for an experiment's summary line (logs have no bar); empty when the pool
        trains nothing."""
        if not self.runs:
            return ""
        elapsed = time.perf_counter() - self.t0
        eta = ""
        if self.done_cost:   # the time left at the pace so far
            eta = f", about {_duration(elapsed * max(self.cost - self.done_cost, 0.0) / self.done_cost)} left"
        return f" [{self.done_runs}/{self.runs} runs of the pool done in {_duration(elapsed)}{eta}]"

    def _show(self) -> None:
        self.bar.set_postfix_str(f"{self.done_runs}/{self.runs} runs, {self.n_workers} worker(s)")

    def close(self) -> None:
        self.bar.close()


def _duration(s: float) -> str:
    """12 s, 3 min 05 s."""
    return f"{s:.0f} s" if s < 60 else f"{int(s // 60)} min {int(s % 60):02d} s"


def threads() -> int:
    """Threads per training process: $HWLIB_THREADS, else 1 (on a small shared CPU, threads only wait
    on each other)."""
    return settings.env_count("HWLIB_THREADS") or 1


def workers(profile: str) -> int:
    """Worker processes: $HWLIB_WORKERS, else min(2, CPUs) for the full profile and 1 (this
    process) for the quick one."""
    n = settings.env_count("HWLIB_WORKERS")
    if n:
        return n
    return max(1, min(2, os.cpu_count() or 1)) if profile == "full" else 1


def worker_data(name: str):
    """A split (``"train"``, ``"dev"`` or ``"test"``) of the data the running jobs train on."""
    return _WORKER[name]


def _init_worker(train, dev, test, n_threads: int) -> None:
    # a thread lock for the progress bars: tqdm's default creates a multiprocessing lock, which a worker
    # ended by SIGTERM would leave for the resource tracker to warn about
    tqdm.set_lock(threading.RLock())
    threadpool_limits(n_threads)
    _WORKER.update(train=train, dev=dev, test=test)


def next_job(pending: list[Job], held: str | None) -> Job:
    """The job a worker holding group ``held`` takes next (removed from ``pending``): the most expensive
    of that group, else the most expensive of the group with the most pending work (so a big group is
    shared and the short jobs come last)."""
    mine = [j for j in pending if j.group == held]
    if not mine:
        work: dict[str, float] = {}
        for j in pending:
            work[j.group] = work.get(j.group, 0.0) + j.cost
        top = max(work, key=work.get)
        mine = [j for j in pending if j.group == top]
    job = max(mine, key=lambda j: j.cost)
    pending.remove(job)
    return job


def run_jobs(jobs: list[Job], data, n_workers: int, on_done: Callable[[Job, Any], list[Job] | None]) -> None:
    """Train every job (and those ``on_done`` adds) in ``n_workers`` processes, or here when it is 1."""
    pending = list(jobs)
    n_threads = threads()
    if n_workers <= 1:
        held = None
        with threadpool_limits(n_threads):
            _init_worker(data.train, data.dev, data.test, n_threads)
            try:
                while pending:
                    job = next_job(pending, held)
                    held = job.group
                    pending.extend(on_done(job, job.fn(job.arg)) or ())
            finally:
                _WORKER.clear()
        return
    ctx = multiprocessing.get_context("spawn")
    pools = [ProcessPoolExecutor(1, mp_context=ctx, initializer=_init_worker,
                                 initargs=(data.train, data.dev, data.test, n_threads)) for _ in range(n_workers)]
    held: list[str | None] = [None] * n_workers
    running: dict = {}   # future -> (worker, job)
    try:
        while pending or running:
            for w in range(n_workers):
                if pending and w not in {v[0] for v in running.values()}:
                    job = next_job(pending, held[w])
                    held[w] = job.group
                    running[pools[w].submit(job.fn, job.arg)] = (w, job)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                _, job = running.pop(f)
                pending.extend(on_done(job, f.result()) or ())
    except BaseException:
        # a SIGTERM or Ctrl-C reaches this process only (or a job failed): end the jobs in flight too
        for p in pools:
            for proc in list((getattr(p, "_processes", None) or {}).values()):
                proc.terminate()
        raise
    finally:
        for p in pools:
            p.shutdown(wait=True, cancel_futures=True)
