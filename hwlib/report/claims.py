"""One type for every claim of the original report that the book checks: a stable ``key`` ("q2.saturation"), the
``kind`` of evidence that can settle it and a ``status`` to count and find claims by; the rest is words for people.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(str, enum.Enum):
    """What can settle a claim."""
    DATA_INDEPENDENT = "data-independent"     # the report's own numbers, the assignment or mathematics
    MACHINE_DEPENDENT = "machine-dependent"   # a time measured on some machine
    DATA_DEPENDENT = "data-dependent"         # a reading of accuracies: only real EMNIST settles it


class Status(str, enum.Enum):
    """What the evidence says."""
    HOLDS = "holds"            # confirmed, or consistent with our measurement
    WRONG = "wrong"            # contradicted by the report's own numbers or the assignment; refuted
    PARTLY = "partly"          # right in part
    UNSUPPORTED = "unsupported"  # the report's own evidence neither shows nor contradicts it
    SHOWN = "shown"            # a data-dependent reading our data shows
    NOT_SHOWN = "not shown"    # … our data does not show
    TOO_CLOSE = "too close"    # … within the noise of our data
    DIFFERS = "differs"        # a machine-dependent time our machine does not reproduce

    @property
    def is_open(self) -> bool:
        """A reading our data cannot settle for real EMNIST."""
        return self in (Status.SHOWN, Status.NOT_SHOWN, Status.TOO_CLOSE)


@dataclass(frozen=True)
class Claim:
    r"""A claim of the report and what we found (text may hold inline LaTeX between ``\(`` and ``\)``)."""
    key: str
    item: str
    kind: Kind
    claim: str
    status: Status
    verdict: str
    evidence: str
    correction: str = ""
    recheck: str = ""          # the command that re-checks a data-dependent reading on real data

    @property
    def question(self) -> str:
        """"Q1", "Q2" or "Q3", from the key."""
        return self.key.split(".")[0].upper()


def count(claims: list[Claim], *statuses: Status) -> int:
    """How many of ``claims`` have one of ``statuses``."""
    return sum(c.status in statuses for c in claims)


def find(claims: list[Claim], key: str) -> Claim | None:
    """The claim with ``key``, or None."""
    return next((c for c in claims if c.key == key), None)


def items(claims: list[Claim]) -> str:
    """The report's item numbers of ``claims``, each once, in order: "3.4, 3.3 (extra)"; "none"."""
    return ", ".join(dict.fromkeys(c.item for c in claims)) or "none"
