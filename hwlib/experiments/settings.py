"""Settings that ``run`` reads from the environment, validated in one place before anything loads.

  HWLIB_THREADS  threads per training process (default 1)
  HWLIB_WORKERS  processes training Q2 grid units in parallel (default: 2 on a CPU for the full
                 profile, else 1)

Each must be a positive integer; a value above the CPU count is capped, with one warning.
:func:`check_env` (called by ``run_experiment`` first, for every experiment) refuses a malformed
value with a ConfigError; :func:`env_count` is what the training code reads.
"""
from __future__ import annotations

import os
import sys

from hwlib.errors import ConfigError

COUNTS = ("HWLIB_THREADS", "HWLIB_WORKERS")
_WARNED: set[str] = set()


def env_count(name: str) -> int | None:
    """A positive integer from the environment (None when unset or empty), at most the CPU count
    (more is capped, with a warning: oversubscribed threads or processes only wait on each other)."""
    env = os.environ.get(name)
    if not env:
        return None
    try:
        n = int(env)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{name}={env!r} must be a positive integer (or unset for the default); set it to "
                          f"e.g. 1, or unset it")
    cores = os.cpu_count() or 1
    if n > cores:
        if name not in _WARNED:
            print(f"hwlib: {name}={n} exceeds the {cores} CPU cores of this machine; using {cores}",
                  file=sys.stderr)
            _WARNED.add(name)
        n = cores
    return n


def check_env() -> None:
    """Refuse a malformed HWLIB_THREADS or HWLIB_WORKERS (ConfigError) — before any data is loaded."""
    for name in COUNTS:
        env_count(name)
