"""What the pages display fits them: SymPy equations split before they overflow a phone's column
(the Q3 chapter's ``show``), provenance values without machine paths or overlong hashes
(the Data chapter's ``provenance_table``). The browser check of the built pages is in ``test_book_pages``."""
from __future__ import annotations

from pathlib import Path

import sympy as sp

from hwlib.paths import REPO_ROOT
from chapter_code import chapter_code

st = chapter_code("q3")          # its SymPy display helpers: show, latex_body, common_factor, visible_len


def test_short_equations_stay_on_one_line():
    t = sp.Symbol("t")
    assert st.show(r"f(t)", t**2).data == "f(t) = t^{2}"


def test_long_equations_put_the_right_side_on_a_second_line():
    t = sp.Symbol("t")
    expr = sp.Piecewise((1 - t / 2, t < 0), (t / 2 + 1, True))
    out = st.show(r"\operatorname{sparsemax}_2 - \operatorname{relumax}_{1,2}\ \text{on } [0, 1)", expr).data
    assert out.startswith(r"\begin{aligned}&") and r"\\ &\; = " in out and out.endswith(r"\end{aligned}")
    assert sp.latex(expr) in out


def test_visible_len_counts_drawn_symbols():
    assert st.visible_len(r"\operatorname{relu}(z_{i})") == len("relu(zi)")
    assert st.visible_len(r"\frac{a}{b}") == 3                # \frac as one symbol, a, b
    assert st.visible_len(r"\left[\begin{matrix}1 & 0\\0 & 1\end{matrix}\right]") == 6


def test_lists_show_one_item_per_line():
    z = sp.Symbol("z")
    body = st.latex_body([(z, 0), (0, -2 * z)])
    assert body.count(r"\\") == 1 and r"\begin{array}{l}" in body


def test_matrices_show_their_common_factor_and_keep_their_value():
    b, z1, z2 = sp.symbols("b z1 z2", positive=True)
    c = b / (z1 - z2 - 2 * b) ** 2
    m = sp.Matrix([[c, -c, 0], [-c, c, 0], [0, 0, 0]])
    factor, rest = st.common_factor(m)
    assert sp.simplify(factor * rest - m) == sp.zeros(3, 3)
    assert set(rest) <= {-1, 0, 1}
    assert st.common_factor(sp.Matrix([[b, 1], [0, 0]])) is None       # b and 1: no common factor
    assert st.latex_body(m).startswith(sp.latex(factor))


def test_provenance_shows_no_machine_path():
    home = Path.home()
    assert chapter_code("data").display_path(home / ".cache" / "hwlib" / "x.npz") == "~/.cache/hwlib/x.npz"
    assert chapter_code("data").display_path(REPO_ROOT / "results" / "r.json") == "results/r.json"
    assert chapter_code("data").display_path("/somewhere/else/emnist-letters.npz") == "emnist-letters.npz"
    digest = "ab" * 32
    cell = chapter_code("data").provenance_cell(f"{home}/data/e.npz (sha256 {digest}), cached at {REPO_ROOT}/x")
    assert str(home) not in cell and str(REPO_ROOT) not in cell
    assert f'<code title="{digest}">{digest[:12]}…</code>' in cell
    table = chapter_code("data").provenance_table({"sha256": digest, "sizes": {"train": 104000}, "notes": []})._repr_html_()
    assert "train 104,000" in table and digest[:12] + "…" in table and ">—</td>" in table
    assert "https://x.org/a/b" in chapter_code("data").provenance_cell("see https://x.org/a/b")


def test_provenance_booleans_read_yes_or_no():
    assert chapter_code("data").provenance_cell(True) == "yes" and chapter_code("data").provenance_cell(False) == "no"
