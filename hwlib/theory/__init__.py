"""Question 3 re-derived with SymPy: ``symbolic`` (the derivations 3.1–3.5), ``sympy_tools`` (its helpers) and
``verdicts`` (the report's Question 3 claims, each checked against them and torch.autograd)."""
