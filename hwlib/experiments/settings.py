"""HWLIB_THREADS (threads per training process) and HWLIB_WORKERS (worker processes), read from the
environment: positive integers, capped at the CPU count with one warning; :func:`check_env` refuses a
malformed one (ConfigError) before anything loads.
"""
from __future__ import annotations

import os
import sys

from hwlib.errors import ConfigError

COUNTS = ("HWLIB_THREADS", "HWLIB_WORKERS")
_WARNED: set[str] = set()


def env_count(name: str) -> int | None:
    """A positive integer from the environment (None when unset or empty), capped at the CPU count
    (oversubscribed threads or processes only wait on each other)."""
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
