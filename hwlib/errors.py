"""Errors that carry a message meant for a person: what went wrong, where, and the remedy.

The CLI prints ``str(err)`` and exits with status 2 (no traceback) for every HwlibError.
"""


class HwlibError(Exception):
    """Base class of every error hwlib raises on purpose."""


class DataError(HwlibError):
    """A dataset file is missing, corrupt, or not in a format we read."""


class ResultError(HwlibError):
    """A result record cannot be written or read (e.g. would overwrite a complete record)."""


class ConfigError(HwlibError, ValueError):
    """A hyper-parameter or command-line option is out of range or unknown."""
