"""Question 3 re-derived with SymPy.

  sympy_tools  deciding conditions under sign assumptions, reading branches of Piecewise results
  symbolic     the derivations 3.1–3.5, each returning SymPy objects and booleans
  verdicts     the report's Question 3 claims, each checked against them and torch.autograd
"""
