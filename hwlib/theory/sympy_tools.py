"""SymPy helpers of the Question 3 derivations: deciding conditions under sign assumptions and reading branches of
Piecewise results."""
from __future__ import annotations

import sympy as sp


def _decide(cond) -> bool:
    """Truth value of a condition whose symbols carry sign assumptions (None if undecidable)."""
    if cond in (sp.true, True):
        return True
    if cond in (sp.false, False):
        return False
    if isinstance(cond, sp.And):
        vals = [_decide(a) for a in cond.args]
        return False if False in vals else (None if None in vals else True)
    if isinstance(cond, sp.Or):
        vals = [_decide(a) for a in cond.args]
        return True if True in vals else (None if None in vals else False)
    if isinstance(cond, sp.core.relational.Relational):
        d = sp.factor(sp.together(sp.expand(cond.lhs - cond.rhs)))
        out = type(cond)(d, 0)
        return bool(out) if out in (sp.true, sp.false) else None
    return None


def piece_at(expr, var, point):
    """The branch of a Piecewise ``expr`` in effect at ``var = point`` (point may be symbolic)."""
    if not isinstance(expr, sp.Piecewise):
        return sp.simplify(expr.subs(var, point))
    for e, cond in expr.args:
        v = _decide(cond.subs(var, point)) if cond is not sp.true else True
        if v is None:
            raise ValueError(f"cannot decide {cond} at {var} = {point}")
        if v:
            return sp.simplify(e.subs(var, point))
    raise ValueError(f"no branch of {expr} holds at {var} = {point}")


def branch(expr, var, probe):
    """The expression (still in ``var``) of the Piecewise branch in effect at ``var = probe``."""
    for e, cond in expr.args:
        if _decide(cond.subs(var, probe)):
            return e
    raise ValueError(f"no branch of {expr} holds at {var} = {probe}")


def same_on_regions(f, g, var, points) -> bool:
    """f == g at every (symbolic) point given: interior sweeps of each region plus the breakpoints."""
    return all(sp.simplify(piece_at(f, var, p) - piece_at(g, var, p)) == 0 for p in points)


def relu(x):
    return sp.Max(0, x)


def simplify_max(expr):
    """Resolve every Max(a, b) whose sign of a - b follows from the symbols' assumptions, then simplify."""
    def resolve(e):
        if len(e.args) != 2:
            return e
        x, y = e.args
        d = sp.factor(sp.together(sp.expand(x - y)))
        return x if d.is_nonnegative else (y if d.is_nonpositive else e)
    return sp.simplify(expr.replace(lambda e: isinstance(e, sp.Max), resolve))
