"""The errata page's blocks, one per claim of the original report (the report's words, our verdict, the evidence,
the correction), each claim's tone (mark, colour) and the counts per question."""
from __future__ import annotations

import html

import pandas as pd

from hwlib.report.claims import Claim, Kind, Status
from hwlib.report.common import HTMLBlock
from hwlib.report.fmt import rich
from hwlib.report.frame import table

HOLDS, WRONG, PARTLY, UNSUPPORTED, OPEN, NOTE = "holds", "wrong", "partly", "unsupported", "open", "note"
TONES = {  # tone: (mark, colour, what the overview calls it)
    HOLDS: ("✓", "#2e7d32", "hold"),
    WRONG: ("✗", "#c62828", "contradicted or refuted"),
    PARTLY: ("◐", "#e65100", "partly right"),
    UNSUPPORTED: ("⊘", "#6a1b9a", "not supported by the report's own evidence"),
    OPEN: ("○", "#1565c0", "not decided by this data"),
    NOTE: ("≈", "#6d6d6d", "timed otherwise on our machine"),
}
PARTS = ("The report says", "Our verdict", "Evidence", "Correction")
KIND_ORDER = {Kind.DATA_INDEPENDENT: 0, Kind.MACHINE_DEPENDENT: 1, Kind.DATA_DEPENDENT: 2}
TONE_OF = {Status.HOLDS: HOLDS, Status.WRONG: WRONG, Status.PARTLY: PARTLY, Status.UNSUPPORTED: UNSUPPORTED,
           Status.SHOWN: OPEN, Status.NOT_SHOWN: OPEN, Status.TOO_CLOSE: OPEN, Status.DIFFERS: NOTE}

STYLE = "<style>" + "".join(
    [".erratum{border:1px solid rgba(128,128,128,.35);border-left:6px solid #888;border-radius:4px;"
     "padding:.45em 1em .6em;margin:0 0 1em}",
     ".erratum-head{margin:0 0 .3em;font-size:.9em;opacity:.85}",
     ".erratum dl{display:grid;grid-template-columns:8.5em minmax(0,1fr);gap:.3em 1em;margin:0}",
     ".erratum dt{font-weight:600;margin:0}.erratum dd{margin:0;min-width:0;overflow-wrap:anywhere}",
     ".erratum-verdict{font-weight:700}",
     "@media (max-width:640px){.erratum dl{grid-template-columns:minmax(0,1fr)}.erratum dd{margin-bottom:.35em}}"]
    + [f".erratum.{t}{{border-left-color:{c}}}.erratum.{t} .erratum-verdict{{color:{c}}}"
       for t, (_, c, _) in TONES.items()]
) + "</style>"


def tone(claim: Claim) -> str:
    """Which kind of answer a claim's status is (a key of ``TONES``)."""
    return TONE_OF[claim.status]


def ordered(claims: list[Claim]) -> list[Claim]:
    """Firm verdicts first (data-independent, then machine-dependent, then data-dependent readings),
    otherwise in the report's order."""
    return sorted(claims, key=lambda c: KIND_ORDER[c.kind])


def counts(claims: list[Claim]) -> dict:
    """How many claims, and how many of each tone."""
    out = {"n": len(claims), **{t: 0 for t in TONES}}
    for c in claims:
        out[tone(c)] += 1
    return out


def sentence(text: str) -> str:
    """A text as a sentence: a capital first, a full stop last."""
    text = text.strip()
    text = text[:1].upper() + text[1:] if text and not text.startswith("\\(") else text
    return text if not text or text.endswith((".", "?", "!", "\\]")) else text + "."


def _correction(c: Claim) -> str:
    if c.correction:
        return rich(sentence(c.correction))
    t = tone(c)
    if t == OPEN:
        return ("No correction from this data: it can neither confirm nor refute a reading of real EMNIST."
                + (f" Re-check on real data with <code>{html.escape(c.recheck)}</code>." if c.recheck else ""))
    return "No correction needed." if t == HOLDS else "—"


def block(c: Claim, question: str, number: int) -> str:
    """One claim as an HTML block with its four parts."""
    t = tone(c)
    head = (f'<p class="erratum-head"><b>{html.escape(question)} · {html.escape(c.item or question)}</b> · '
            f"{html.escape(c.kind.value)}</p>")
    parts = (rich(sentence(c.claim)), f'<span class="erratum-verdict">{TONES[t][0]} {html.escape(c.verdict)}</span>',
             rich(sentence(c.evidence)), _correction(c))
    body = "".join(f"<dt>{name}</dt><dd>{part}</dd>" for name, part in zip(PARTS, parts))
    return (f'<div class="erratum {t}" id="{question.lower()}-{number}" data-key="{html.escape(c.key)}" '
            f'data-question="{html.escape(question)}" data-tone="{t}">'
            f"{head}<dl>{body}</dl></div>")


def blocks(claims: list[Claim], question: str) -> HTMLBlock:
    """Every claim of one question (``question`` = "Q1", "Q2" or "Q3"), one block each."""
    return HTMLBlock(STYLE + f'<div class="errata" data-question="{html.escape(question)}">'
                     + "".join(block(c, question, i + 1) for i, c in enumerate(ordered(claims))) + "</div>")


def overview(groups: dict[str, list[Claim]]):
    """A table to start from: per question, how many claims were checked and how many of each tone (a tone no
    claim has is left out, a zero count is a blank)."""
    per_q = {q: counts(cs) for q, cs in groups.items()}
    used = [t for t in TONES if any(k[t] for k in per_q.values())]
    rows = [[html.escape(q), k["n"], *(k[t] or "" for t in used)] for q, k in per_q.items()]
    header = ["question", "claims checked"] + [f"{TONES[t][0]} {html.escape(TONES[t][2])}" for t in used]
    return table(pd.DataFrame(rows, columns=header), classes="table errata-overview")
