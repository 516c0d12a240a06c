"""Report code several pages share (the chapters, the errata page, the introduction); a table or figure only one
chapter shows lives in its cells. ``common``, ``book``, ``frame``: figures, chapter helpers, tables; ``claims``,
``original``, ``q1``, ``q2``, ``errata``: the report's claims and numbers, each question's findings, the errata
page; ``fmt``: numbers and math for people. Question 3's claims are in ``hwlib.theory.verdicts``.
"""
