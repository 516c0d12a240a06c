"""A bad ``HWLIB_DATA`` under ``make book`` ends the build at once with hwlib's one-line error.

The book's Sphinx extension (``book/_ext/hwlib_sphinx.py``) resolves and identifies the dataset at
``config-inited``, before any chapter executes: on hwlib's error it prints ``error: …`` (the file and
the remedy) and exits with status 2. Without it every chapter's first cell raised, the traceback went
to a report file, and each ``{eval}`` of the prose added a warning: 288 of them buried the cause.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "book" / "_ext"))   # the book's Sphinx extension, as _config.yml loads it
import hwlib_sphinx  # noqa: E402

pytestmark = pytest.mark.book

JB = os.path.join(os.path.dirname(sys.executable), "jupyter-book")


def _bad_inputs(tmp_path):
    garbage = tmp_path / "letters.npz"
    garbage.write_bytes(b"this is not a dataset\n" * 40)
    fifo = tmp_path / "letters.fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    return {
        "missing": ({"HWLIB_DATA": str(tmp_path / "nonexistent.npz")}, "nonexistent.npz: no such file"),
        "garbage": ({"HWLIB_DATA": str(garbage)}, f"{garbage}: unknown data format"),
        # relative to where the build runs (the chapters' kernels start in book/: the extension makes it absolute)
        "relative": ({"HWLIB_DATA": "letters.npz"}, f"{garbage}: unknown data format"),
        "fifo": ({"HWLIB_DATA": str(fifo)}, f"{fifo}: a FIFO"),     # refused by type, never opened (no hang)
        "profile": ({"HWLIB_PROFILE": "fulll"}, "HWLIB_PROFILE='fulll' is not a profile"),
    }


def test_bad_data_stops_the_build_with_the_error_line(tmp_path):
    """Each bad setting: exit status 2, the ``error:`` line naming the file, no chapter executed, no
    pile of warnings. The builds run side by side; each stops within seconds."""
    base = {k: v for k, v in os.environ.items() if k not in ("HWLIB_DATA", "HWLIB_PROFILE")}
    procs = {}
    for name, (env, _) in _bad_inputs(tmp_path).items():
        procs[name] = subprocess.Popen(
            [JB, "build", str(REPO), "--path-output", str(tmp_path / name), "-W", "--keep-going"],
            env={**base, **env}, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for name, (_, expected) in _bad_inputs(tmp_path).items():
        out, _ = procs[name].communicate(timeout=300)
        errors = [line for line in out.splitlines() if line.startswith("error: ")]
        assert procs[name].returncode == 2, f"{name}: exit {procs[name].returncode}\n{out[-3000:]}"
        assert len(errors) == 1 and expected in errors[0], f"{name}: no error line with {expected!r}:\n{out[-3000:]}"
        assert "Traceback" not in out, f"{name}: a traceback\n{out[-3000:]}"
        assert out.count("WARNING") < 5, f"{name}: {out.count('WARNING')} warnings\n{out[-3000:]}"
        assert "Executing notebook" not in out and "execution client" not in out, f"{name}: a chapter ran"


def test_usable_data_passes_silently(monkeypatch, capsys):
    """The synthetic default (and ``HWLIB_DATA=synthetic``) is no error, and the check prints nothing."""
    for value in (None, "synthetic", ""):
        if value is None:
            monkeypatch.delenv("HWLIB_DATA", raising=False)
        else:
            monkeypatch.setenv("HWLIB_DATA", value)
        assert hwlib_sphinx.data_error() is None, value
    assert capsys.readouterr() == ("", "")


def test_real_fragment_passes(fragment_path, monkeypatch):
    monkeypatch.setenv("HWLIB_DATA", str(fragment_path))
    assert hwlib_sphinx.data_error() is None
