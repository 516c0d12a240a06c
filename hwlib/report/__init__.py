"""Report code several pages share: what the chapters, the errata page and the introduction compute
from recorded runs and derivations. A table or figure one chapter shows lives in that chapter's cells.

  common     HTML blocks, offline Plotly figures, the per-epoch curves figure (Q1 and Q2)
  book       dataset banners, recorded-or-live results, package source on the page, the prose's facts
  frame      records as one pandas table; tables rendered with pandas' Styler
  claims     the one type of a checked claim of the report (key, kind, status)
  original   the report's printed numbers and readings, in one place
  q1, q2     the report's Q1/Q2 claims and each question's findings (chapter, errata page, intro)
  errata     the errata page's blocks, each claim's tone (mark, colour) and the counts
  fmt        numbers, math (SymPy's LaTeX for MathJax) and run settings written for people

Question 3's claims are checked in ``hwlib.theory.verdicts``; build tooling is in book/_ext/.
"""
