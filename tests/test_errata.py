"""The errata page: one block per claim with its four parts, grouped by question, math typeset from
SymPy's LaTeX, numbers written for people (no reprs, no "-0", round-off called round-off)."""
from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp

from conftest import REPO
from hwlib.experiments import results
from hwlib.report import errata, q1, q2
from hwlib.theory import verdicts as q3
from hwlib.report.claims import Kind
from hwlib.report.fmt import closeness, hp_words, num, pow10, rich, signed, tex

# what a raw repr leaks: SymPy sets and infinity, numpy scalars, Python booleans, negative zero
REPR = re.compile(r"Interval|FiniteSet|\boo\b|np\.float64|numpy\.|\bTrue\b|\bFalse\b|(?<![\w.])[-−]0\.0*(?!\d*[1-9])"
                  r"|\be[-+]\d\d\b")
RUN_ID = re.compile(r"w\d{3}_lr=|_lr\d|_lr=|_l2\d|_l2=|drop=")


def _text(html: str) -> str:
    """The page's words, with the LaTeX of math spans kept (it must not leak reprs either)."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_numbers_for_people():
    assert num(np.float64(0.123456)) == "0.123" and num(-0.0) == "0" and num(-1e-30) == "−1.00 × 10⁻³⁰"
    assert num(12345) == "12,345" and num(True) == "yes" and num(float("inf")) == "∞"
    assert closeness(np.float64(3.33e-16)) == "3.3 × 10⁻¹⁶ (round-off)" and closeness(0.0) == closeness(-0.0) == "0"
    assert closeness(0.25) == "0.25"
    assert signed(-0.04) == "0.0" and signed(0.94) == "+0.9" and signed(-1.0) == "−1.0"
    assert [pow10(x) for x in (1e-3, 3e-4, 1e-5, 0, 0.2)] == ["10⁻³", "3·10⁻⁴", "10⁻⁵", "0", "0.2"]
    assert hp_words({"width": 32, "lr": 1e-3, "dropout": 0.0, "l2": 1e-4}) == "width 32, lr 10⁻³, no dropout, ℓ2 10⁻⁴"
    assert hp_words({"features": "raw", "feature_label": "raw pixels", "lr": 1e-3, "l2": 1e-5}) == \
        "raw pixels, lr 10⁻³, ℓ2 10⁻⁵"


def test_sympy_objects_become_typeset_latex():
    g1 = sp.Symbol("g1", positive=True)
    out = rich("T in " + tex(sp.Interval.Lopen(0, g1)) + " and b in " + tex(sp.Interval.open(0, sp.oo)) + "; a<b")
    assert out.count('<span class="math notranslate nohighlight">') == 2
    assert r"\left(0, g_{1}\right]" in out and r"\infty" in out and "a&lt;b" in out
    assert not REPR.search(_text(out))


@pytest.fixture(scope="module")
def q3_claims():
    return q3.check_report_claims(q3.autograd_agreement(n_per_case=2))


def _blocks(html: str) -> list[str]:
    return re.findall(r'<div class="erratum [a-z]+".*?</dl></div>', html, flags=re.S)


def test_every_q3_claim_is_a_block_with_four_parts_and_no_reprs(q3_claims):
    html = errata.blocks(q3_claims, "Q3")._repr_html_()
    blocks = _blocks(html)
    assert len(blocks) == len(q3_claims) == 15
    for b in blocks:
        assert re.findall(r"<dt>(.*?)</dt>", b) == list(errata.PARTS)
        assert all(d.strip() for d in re.findall(r"<dd>(.*?)</dd>", b, flags=re.S))
        assert 'data-question="Q3"' in b
    text = _text(html)
    assert not REPR.search(text), REPR.search(text)
    # the symbolic evidence is rendered LaTeX: the sets of b and T, the largest gap 3/2 − √2
    for latex in (r"\left(0, 3\right]", r"\left(0, \infty\right)", r"\left(0, g_{1}\right]", r"\frac{3}{2} - \sqrt{2}"):
        assert latex in html, latex
    assert "(round-off)" in text
    tones = [b.split('data-tone="')[1].split('"')[0] for b in blocks]
    assert tones.count("wrong") == 6 and tones.count("partly") == 1 and tones.count("holds") == 8


def test_q1_and_q2_claims_render_with_corrections():
    q1_html = errata.blocks(q1.report_claims([]), "Q1")._repr_html_()
    assert len(_blocks(q1_html)) == 1 and "No correction needed" not in q1_html     # holds in part, corrected
    assert not REPR.search(_text(q1_html)) and "None" not in _text(q1_html)      # no Python None in words
    for c in q1.report_claims([]):
        assert c.correction and c.item.startswith("1.") and c.question == "Q1"


def _recorded(experiment: str) -> list[dict]:
    from hwlib.data import dataset_slug
    recs = results.load_all(experiment, dataset_slug(), "full", root=REPO / "results")
    if not recs:
        pytest.skip(f"no recorded {experiment} runs")
    return recs


def test_recorded_errata_groups_and_parts(q3_claims):
    """On the recorded runs: every claim of every question has its four parts; data-dependent
    readings of the stand-in are open, never contradicted; no repr and no run id on the page."""
    groups = {"Q1": q1.report_claims(_recorded("q1.features")),
              "Q2": q2.report_claims(_recorded("q2.width"), _recorded("q2.depth")), "Q3": q3_claims}
    for q, claims in groups.items():
        html = errata.blocks(claims, q)._repr_html_()
        blocks = _blocks(html)
        assert len(blocks) == len(claims) and all(f'data-question="{q}"' in b for b in blocks)
        assert all(b.count("<dt>") == 4 for b in blocks)
        assert not REPR.search(_text(html)), (q, REPR.search(_text(html)))
        assert not RUN_ID.search(html), (q, RUN_ID.search(html))
        for c in claims:
            assert c.question == q and f'data-key="{c.key}"' in html
            if c.kind is Kind.DATA_DEPENDENT:
                assert errata.tone(c) == "open" and c.status.is_open
    ov = errata.overview(groups)._repr_html_()
    assert re.findall(r">(Q\d)</td>", ov) == ["Q1", "Q2", "Q3"] and 'class="table errata-overview"' in ov


def test_chapter_groups_the_claims_by_question():
    src = (REPO / "book" / "errata.md").read_text()
    heads = re.findall(r"^## (Question \d)", src, flags=re.M)
    assert heads == ["Question 1", "Question 2", "Question 3"]
    calls = re.findall(r'errata\.blocks\(claims\["(Q\d)"\], "(Q\d)"\)', src)
    assert calls == [("Q1", "Q1"), ("Q2", "Q2"), ("Q3", "Q3")]
    assert "html_table(" not in src and "claims_table" not in src


@pytest.mark.book
def test_built_errata_page_is_typeset_and_clean(built_book):
    html = (built_book / "book" / "errata.html").read_text()
    main = html.split('<article', 1)[1].split("</article>", 1)[0]
    assert len(re.findall(r'<div class="erratum [a-z]+"', main)) >= 20
    order = [main.find(f'data-question="{q}"') for q in ("Q1", "Q2", "Q3")]
    assert -1 not in order and order == sorted(order)
    text = _text(main)
    assert not REPR.search(text), REPR.search(text)
    assert not RUN_ID.search(main), RUN_ID.search(main)
    assert main.count('class="math notranslate nohighlight"') > 30
