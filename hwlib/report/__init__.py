"""Report code: what the chapters display, computed from recorded runs and derivations.

  common     the percent formatter, HTML tables, offline Plotly figures, the per-epoch curves figure
  book       dataset banners, recorded-or-live results, package source on the page, facts for the prose ({eval} roles),
             the provenance table (no machine paths)
  q1, q2     tables and figures of Questions 1 and 2 (and the report's numbers beside ours)
  q2_facts   the numbers and verdict labels of Question 2's sentences
  q3         the report's Question 3 claims, each checked (SymPy + autograd)
  errata     the errata page: one block per claim (words, verdict, evidence, correction), by question
  summary    the intro's headline table, from the chapters' findings()
  fmt        numbers, math (SymPy's LaTeX for MathJax) and run settings written for people
  realism    how far the synthetic stand-in is from real letters (results/realism.json)
  sliders    Question 3's figures and sliders (ipywidgets in Jupyter, Plotly steps in the book)
  dataviz    pictures of the data

The book's build tooling (the Sphinx extension, the PDF printer) lives beside the book, in book/_ext/.
"""
