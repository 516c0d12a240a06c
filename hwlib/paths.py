"""Where things live on disk: the repository, the recorded results, the user cache.

Environment overrides: ``HWLIB_RESULTS`` (results root), ``HWLIB_CACHE`` (cache root).
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def results_dir() -> Path:
    """Root of recorded results (``results/`` in the repository unless HWLIB_RESULTS is set)."""
    return Path(os.environ.get("HWLIB_RESULTS") or REPO_ROOT / "results")


def cache_dir() -> Path:
    """User cache for generated / downloaded data (``~/.cache/hwlib`` unless HWLIB_CACHE is set)."""
    base = os.environ.get("HWLIB_CACHE")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "hwlib"
