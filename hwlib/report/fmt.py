"""Numbers, math and run settings written for people: no numpy reprs, no "-0", round-off called so, run settings
as words; text with inline LaTeX (``\\(…\\)``) as HTML for MathJax (``rich``)."""
from __future__ import annotations

import html
import math
import re

ROUND_OFF = 1e-9          # a |difference| below this, between float64 computations, is round-off
_SUP = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")


def superscript(n: int) -> str:
    """12 -> "¹²", -3 -> "⁻³"."""
    return str(int(n)).translate(_SUP)


def sci(x: float, digits: int = 1) -> str:
    """3.33e-16 -> "3.3 × 10⁻¹⁶"; 0 -> "0"; numbers between 0.01 and 10⁴ stay plain."""
    x = float(x)
    if x == 0:
        return "0"
    if 1e-2 <= abs(x) < 1e4:
        return num(x, digits + 1)
    e = math.floor(math.log10(abs(x)))
    m = round(abs(x) / 10 ** e, digits)
    if m >= 10:
        m, e = m / 10, e + 1
    return f"{'−' if x < 0 else ''}{m:.{digits}f} × 10{superscript(e)}"


def num(x, digits: int = 3) -> str:
    """A number as people write it: plain Python (never ``np.float64(…)``), ``digits`` significant
    digits, no "-0" (a negative number that rounds to zero is "0"), thousands separated."""
    if isinstance(x, bool):
        return "yes" if x else "no"
    if hasattr(x, "item"):
        x = x.item()
    if isinstance(x, int):
        return f"{x:,}"
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    if x == 0:
        return "0"
    if abs(x) < 10 ** -(digits + 1) or abs(x) >= 1e6:
        return sci(x, digits - 1)
    if abs(x) >= 10 ** (digits - 1):             # 1,510 rather than 1.51e+03
        r = round(x, digits - 1 - math.floor(math.log10(abs(x))))
        return (f"{int(round(r)):,}" if abs(r) >= 10 ** (digits - 1) and float(r).is_integer()
                else f"{r:,.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}").replace("-", "−")
    out = f"{x:,.{digits}g}" if abs(x) >= 1 else f"{x:.{digits}g}"
    if "e" in out:
        return sci(x, digits - 1)
    return "0" if float(out.replace(",", "")) == 0 else out.replace("-", "−")


def signed(x: float, digits: int = 1) -> str:
    """A difference with its sign: "+0.9", "−1.0"; "0.0" when it rounds to zero (never "−0.0")."""
    out = f"{float(x):+.{digits}f}"
    return f"{0:.{digits}f}" if float(out) == 0 else out.replace("-", "−")


def closeness(x: float, tol: float = ROUND_OFF) -> str:
    """A difference between two float64 computations: "0", "3.3 × 10⁻¹⁶ (round-off)", or the value."""
    x = abs(float(x))
    if x == 0:
        return "0"
    return f"{sci(x)} (round-off)" if x < tol else sci(x, 2)


def pow10(x: float) -> str:
    """A hyper-parameter value as people write it: 1e-3 -> "10⁻³", 3e-4 -> "3·10⁻⁴", 0 -> "0", 0.2 -> "0.2"."""
    x = float(x)
    if x == 0:
        return "0"
    if 0.01 <= abs(x) < 100 and x != 0.01:
        return f"{x:g}"
    e = math.floor(math.log10(abs(x)) + 1e-12)
    m = x / 10 ** e
    if abs(m - round(m)) < 1e-9:
        m = int(round(m))
        return f"10{superscript(e)}" if m == 1 else f"{m}·10{superscript(e)}"
    return f"{m:g}·10{superscript(e)}"


def hp_words(c: dict) -> str:
    """The settings of a run in words, never its id: "raw pixels, lr 10⁻³, ℓ2 10⁻⁵", "3 layers of 32, lr 10⁻³, …"."""
    parts = []
    if "features" in c:
        parts.append(c.get("feature_label") or c["features"])
    if "depth" in c and c.get("depth", 1) != 1:
        parts.append(f"{c['depth']} layers of {c.get('width', '?')}")
    elif "width" in c:
        parts.append(f"width {c['width']}")
    if "lr" in c:
        parts.append(f"lr {pow10(c['lr'])}")
    if "dropout" in c:
        parts.append(f"dropout {c['dropout']:g}" if c["dropout"] else "no dropout")
    if "l2" in c:
        parts.append(f"ℓ2 {pow10(c['l2'])}" if c["l2"] else "no ℓ2")
    return ", ".join(parts)


def tex(obj) -> str:
    """A SymPy object (or a number) as inline LaTeX text, ``\\(…\\)``, for ``rich``."""
    import sympy as sp
    return r"\(" + sp.latex(obj) + r"\)"


def math_html(latex: str) -> str:
    """Inline math as Sphinx writes it, so that MathJax typesets it inside any cell output."""
    return rf'<span class="math notranslate nohighlight">\({html.escape(latex, quote=False)}\)</span>'


_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)


def rich(text: str) -> str:
    """Plain text with inline ``\\(…\\)`` and display ``\\[…\\]`` LaTeX -> HTML: text escaped, math wrapped as Sphinx
    wraps it."""
    out, last = [], 0
    for m in _MATH.finditer(text):
        out.append(html.escape(text[last:m.start()], quote=False))
        if m.group(1) is not None:
            out.append(math_html(m.group(1)))
        else:
            out.append(f'<div class="math notranslate nohighlight">\\[{html.escape(m.group(2), quote=False)}\\]</div>')
        last = m.end()
    out.append(html.escape(text[last:], quote=False))
    return "".join(out)


# ---------------------------------------------------------------- one format per kind of number
def pct(x, digits: int = 1) -> str:
    """A share as a percentage ("61.3%"); "—" when undefined."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{100 * float(x):.{digits}f}%"


def acc(x) -> str:
    """An accuracy: a percentage with one decimal, "61.3%"."""
    return pct(x, 1)


KINDS = {   # the kinds of number the book prints, each with its one format
    "acc": acc,                                      # accuracy: 61.3%
    "share": lambda x: pct(x, 0),                    # a share of things: 37%
    "pts": lambda x: signed(x, 1).lstrip("+"),       # a size in percentage points: 1.0
    "diff": lambda x: signed(x, 1),                  # a signed difference in points: +1.0, −0.4
    "loss": lambda x: f"{float(x):.3f}",             # a cross-entropy: 0.412
    "dloss": lambda x: signed(x, 3),                 # a change of loss: −0.012
    "ratio": lambda x: f"{float(x):.2f}",            # a ratio: 0.51 (×)
    "num": lambda x: num(x, 3),                      # any other measurement: 3 significant digits
    "count": lambda x: f"{int(x):,}",                # a count: 104,000
    "minutes": lambda x: f"{float(x):.1f}",          # minutes of wall time: 21.6
    "hp": pow10,                                     # a hyper-parameter: 10⁻³, 3·10⁻⁴
}


def fmt(value, kind: str = "") -> str:
    """``value`` as the book prints its ``kind`` (a key of ``KINDS``); text and labels as they are."""
    if hasattr(value, "item"):
        value = value.item()
    if not kind:
        return str(value)
    if kind not in KINDS:
        raise KeyError(f"unknown kind of number {kind!r}; use one of {', '.join(KINDS)}")
    return KINDS[kind](value)
