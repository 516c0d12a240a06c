"""Errors that carry a message meant for a person: what went wrong, where, and the remedy. The CLI
prints ``str(err)`` and exits with status 2 (no traceback) for every HwlibError.

Interruptions: SIGINT raises ``KeyboardInterrupt``; under the CLI SIGTERM raises :class:`Terminated`
(a KeyboardInterrupt, so every Ctrl-C clean-up runs for it too); the CLI exits with 130 or 143.
:func:`activity` labels an interruption with what was being done and what that leaves behind.
"""
from __future__ import annotations

from contextlib import contextmanager


class HwlibError(Exception):
    """Base class of every error hwlib raises on purpose."""


class DataError(HwlibError):
    """A dataset file is missing, corrupt, or not in a format we read."""


class ResultError(HwlibError):
    """A result record cannot be written or read (e.g. would overwrite a complete record)."""


class ConfigError(HwlibError, ValueError):
    """A hyper-parameter or command-line option is out of range or unknown."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the CLI's handler; handled like Ctrl-C."""

    signal_name, exit_status = "SIGTERM", 143


_PENDING: list[KeyboardInterrupt] = []   # the CLI's last interruption, until it is handled


def interrupted(e: KeyboardInterrupt) -> KeyboardInterrupt:
    """Remember an interruption the CLI's signal handler is raising (see :func:`raise_pending`)."""
    _PENDING[:] = [e]
    return e


def raise_pending() -> None:
    """Raise again an interruption a library swallowed: numba's compiler catches the KeyboardInterrupt
    of a Ctrl-C that lands while it compiles, and the command would otherwise run on to the end."""
    if _PENDING:
        raise _PENDING[0]


@contextmanager
def activity(doing: str, leaves: str):
    """Label an interruption raised inside the block with ``doing`` ("generating the synthetic letters")
    and ``leaves`` ("nothing was cached; rerun the command"). The innermost label wins."""
    try:
        yield
    except KeyboardInterrupt as e:
        if getattr(e, "hwlib_activity", None) is None:
            e.hwlib_activity = (doing, leaves)
        raise


def interruption_line(e: KeyboardInterrupt) -> str:
    """The one line the CLI prints for an interruption, naming the signal and what it cut short."""
    sig = getattr(e, "signal_name", "SIGINT")
    doing, leaves = getattr(e, "hwlib_activity", None) or ("", "nothing was changed; rerun the command")
    return f"error: interrupted by {sig}{f' while {doing}' if doing else ''}: {leaves}"
