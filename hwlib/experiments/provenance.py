"""Where a record comes from: the git commit, the command, library versions, the hardware, the time."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np

from hwlib.paths import REPO_ROOT


def now() -> str:
    """The time now (UTC), as records store it."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(wall_time_s: float, started: str | None = None, command: str | None = None) -> dict:
    """Who/what/where produced a record: git commit, command, library versions, hardware (the GPU too
    when torch is loaded and sees one), time."""
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for mod in ("torch", "numba"):
        m = sys.modules.get(mod)
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    hardware = {"cpu": _cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform()}
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        hardware["gpu"] = torch.cuda.get_device_name(0)
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "command": command or " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "versions": versions,
        "hardware": hardware,
        "started": started,
        "finished": now(),
        "wall_time_s": round(float(wall_time_s), 3),
    }
