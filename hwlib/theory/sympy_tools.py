"""SymPy helpers of the Question 3 derivations: deciding conditions under sign assumptions, reading branches of
Piecewise results, and displaying a result."""
from __future__ import annotations

import re

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


def describe_set(s) -> str:
    """Plain-text interval notation for a sympy set: {3/4}, (0, 3], (0, oo) -> (0, ∞)."""
    if isinstance(s, sp.FiniteSet):
        return "{" + ", ".join(str(e) for e in s) + "}"
    if isinstance(s, sp.Interval):
        end = "∞" if s.end == sp.oo else str(s.end)
        return f"{'(' if s.left_open else '['}{s.start}, {end}{')' if s.right_open else ']'}"
    return str(s)


# Beyond about this many drawn symbols an equation overflows a phone's text column (390 px).
SPLIT_AT = 34


def visible_len(tex: str) -> int:
    """A rough count of the symbols ``tex`` draws: a word of ``\\operatorname``/``\\text`` by its letters, any other
    command as one symbol, braces, script markers and spacing as nothing (an overestimate: ``show`` splits sooner)."""
    t = re.sub(r"\\(?:begin|end)\{\w+\}", "", tex)
    t = re.sub(r"\\(?:operatorname|text|mathrm|mathbf|left|right|[bB]igg?[lr]?)(?![a-zA-Z])", "", t)
    t = re.sub(r"\\[a-zA-Z]+", "x", t)
    return len(re.sub(r"\\\\|\\[,;:! ]|[{}^_&\s]", "", t))


def common_factor(m):
    """``(c, m / c)`` when every entry of the matrix ``m`` is a number times one symbolic ``c``, else None."""
    nonzero = [e for e in m if e != 0]
    if not nonzero or not nonzero[0].free_symbols:
        return None
    c = nonzero[0]
    rest = m.applyfunc(lambda e: sp.simplify(e / c))
    return (c, rest) if all(e.is_number for e in rest) else None


def latex_body(expr) -> str:
    """``expr`` in LaTeX: a list of several items one per line, a matrix with its common factor taken out."""
    if isinstance(expr, (list, tuple)) and len(expr) > 1:
        return r"\left[\begin{array}{l}" + r",\\ ".join(sp.latex(e) for e in expr) + r"\end{array}\right]"
    if isinstance(expr, sp.MatrixBase) and (cf := common_factor(expr)) is not None:
        return sp.latex(cf[0]) + r"\," + sp.latex(cf[1])
    return sp.latex(expr)


def show(lhs: str, expr, rhs: str | None = None):
    """A displayable equation ``lhs = latex(expr)`` (MathJax in the book); past ``SPLIT_AT`` symbols the right
    side goes on a second line."""
    from IPython.display import Math
    body = latex_body(expr) if rhs is None else rhs
    if visible_len(lhs) + visible_len(body) > SPLIT_AT:
        return Math(rf"\begin{{aligned}}&{lhs}\\ &\; = {body}\end{{aligned}}")
    return Math(f"{lhs} = {body}")


def simplify_max(expr):
    """Resolve every Max(a, b) whose sign of a - b follows from the symbols' assumptions, then simplify."""
    def resolve(e):
        if len(e.args) != 2:
            return e
        x, y = e.args
        d = sp.factor(sp.together(sp.expand(x - y)))
        return x if d.is_nonnegative else (y if d.is_nonpositive else e)
    return sp.simplify(expr.replace(lambda e: isinstance(e, sp.Max), resolve))
