"""hwlib.theory.symbolic: every derivation holds, and the SymPy closed forms equal the numeric maps."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from hwlib.models import maps
from hwlib.report.claims import Status
from hwlib.theory.verdicts import check_report_claims
from hwlib.theory import symbolic as sym


def valid_b(z) -> tuple[float, float]:
    """All b > 0 with relumax_b(z) = sparsemax(z), as an interval (lo, hi]; lo == hi means unique.

    Unique (b = max z - tau) when the support of sparsemax(z) holds two different values; if all
    support entries equal max z (e.g. sparsemax is one-hot) every b up to max z - (largest entry
    off the support) works (np.inf if the support is everything).
    """
    z = np.asarray(z, dtype=np.float64)
    p = maps.sparsemax(z)
    on = p > 0
    b_star = float(maps.sparsemax_b(z))
    if np.ptp(z[on]) > 0:
        return b_star, b_star
    off = z[~on]
    return 0.0, float(z.max() - off.max()) if off.size else np.inf


def test_3_1_kkt_gives_relu():
    r = sym.relu_projection()
    assert r["equals_relu"] and r["convex"] and r["separable"]
    assert len(r["cases"]) == 2
    f = sp.lambdify(sp.Symbol("z", real=True), r["argmin"], "numpy")
    zs = np.linspace(-3, 3, 61)
    np.testing.assert_array_equal(np.vectorize(f, otypes=[float])(zs), np.maximum(zs, 0))


def test_3_2_invariance_limits_and_b():
    inv = sym.shift_invariance()
    assert inv["softmax"] and inv["sparsemax"] and inv["relumax"] and inv["tau_shift"] == sym.c
    zt = sym.zero_temperature()
    assert zt["all_onehot"]
    g1 = sp.Symbol("g1", positive=True)
    assert zt["sparsemax_onehot_for_T_in"] == sp.Interval.Lopen(0, g1)
    assert zt["relumax_onehot_for_T_in"] == sp.Interval.Lopen(0, g1 / sym.b)
    rb = sym.relumax_sparsemax_b()
    assert rb["numerator_ok"] and rb["denominator"] == 1 and rb["b_of_t_ok"]


@pytest.mark.parametrize("t0", [-0.75, -0.25, 0.25, 0.6])
def test_b_of_t_matches_numeric_sparsemax_b(t0):
    b_sym = sym.piece_at(sym.relumax_sparsemax_b()["b_of_t"], sym.t, sp.nsimplify(t0))
    assert float(b_sym) == pytest.approx(maps.sparsemax_b([0.0, t0]))
    assert sym.k2_b_solutions(t0) == sp.FiniteSet(b_sym)


def test_b_is_not_unique_when_sparsemax_is_one_hot_or_tied():
    assert sym.k2_b_solutions(3) == sp.Interval.Lopen(0, 3)
    assert sym.k2_b_solutions(-2) == sp.Interval.Lopen(0, 2)
    assert sym.k2_b_solutions(0) == sp.Interval.open(0, sp.oo)
    z = np.array([0.0, 3.0, -1.0])
    lo, hi = valid_b(z)
    assert (lo, hi) == (0.0, 3.0)
    for b in (0.1, 1.0, 2.9, 3.0):
        np.testing.assert_allclose(maps.relumax(z, b), maps.sparsemax(z))
    assert not np.allclose(maps.relumax(z, 3.5), maps.sparsemax(z))
    z = np.array([0.0, 0.4, -1.0])
    lo, hi = valid_b(z)
    assert lo == hi == pytest.approx(maps.sparsemax_b(z))


def test_3_3_softmax_derivative():
    s = sym.k2_softmax()
    assert s["dp_is_p_one_minus_p"]


def _lambdify(expr, with_b: bool):
    args = (sym.t, sym.b) if with_b else (sym.t,)
    return np.vectorize(sp.lambdify(args, expr, "math"), otypes=[float])


@pytest.mark.parametrize("name", ["softmax", "sparsemax", "relumax"])
def test_sympy_closed_forms_equal_numeric_maps_on_dense_grid(name):
    p, dp = sym.k2_forms()[name]
    t = np.linspace(-4, 4, 401)
    bs = (0.3, 1.0, 2.5) if name == "relumax" else (None,)
    for b in bs:
        z = np.stack([np.zeros_like(t), t], -1)
        f = _lambdify(p, b is not None)
        df = _lambdify(dp, b is not None)
        args = (t, b) if b is not None else (t,)
        np.testing.assert_allclose(f(*args), maps.apply(name, z, b=b)[:, 1], atol=1e-14)
        np.testing.assert_allclose(f(*args), maps.p2(name, t, b), atol=1e-14)
        kinks = np.isnan(maps.dp2(name, t, b))
        np.testing.assert_allclose(df(*args)[~kinks], maps.dp2(name, t, b)[~kinks], atol=1e-12)


def test_sympy_relumax_on_a_t_b_grid():
    p, _ = sym.k2_forms()["relumax"]
    f = _lambdify(p, True)
    t, b = np.meshgrid(np.linspace(-3, 3, 61), np.linspace(0.05, 3, 60))
    np.testing.assert_allclose(f(t, b), maps.p2("relumax", t, b), atol=1e-14)


def test_k2_pieces_found_by_support_enumeration():
    sm = sym.k2_sparsemax()
    assert {s for s, _, _ in sm["supports"]} == {(1,), (2,), (1, 2)}
    rm = sym.k2_relumax()
    assert len(rm["regimes"]) == 4
    assert sym.k2_report_check() == {"softmax": True, "sparsemax": True, "relumax": True}


def test_relumax_1_is_not_sparsemax():
    c = sym.k2_relumax_vs_sparsemax(1)
    assert c["sup_difference"] == sp.Rational(3, 2) - sp.sqrt(2)
    assert c["equal_at"] == [-1, 0, 1]
    t = np.linspace(-1, 1, 20001)
    gap = np.abs(maps.p2("relumax", t, 1.0) - maps.p2("sparsemax", t)).max()
    assert gap == pytest.approx(1.5 - np.sqrt(2), abs=1e-7)


def test_3_4_and_3_5_in_every_regime():
    jc = sym.jacobian_check()
    assert jc["regimes"] == 12
    assert jc["ours"] and jc["rows_sum_to_zero"] and jc["report_is_du"]
    assert not jc["report_elementwise"] and not jc["report_matrix"] and not jc["report_rows_sum_to_zero"]
    gc = sym.gradient_check()
    assert gc["ours"] and gc["zero_off_support"] and not gc["report"]


def test_symbolic_jacobian_matches_numeric_closed_form():
    ex = sym.jacobian_check()["example"]
    vals = {sym.Z3[0]: 0.4, sym.Z3[1]: 0.1, sym.Z3[2]: -3.0, sym.b: 0.8}
    J = np.array(ex["J"].subs(vals).evalf(), dtype=float)
    np.testing.assert_allclose(J, maps.relumax_jacobian([0.4, 0.1, -3.0], 0.8), atol=1e-14)


def test_every_report_claim_gets_a_computed_verdict():
    vs = check_report_claims()
    assert len(vs) == 15
    assert len({v.key for v in vs}) == 15                     # every claim its own key
    refuted = [v for v in vs if v.status is Status.WRONG]
    assert {v.item for v in refuted} == {"3.2", "3.3 (extra)", "3.4"}
    assert {v.key for v in refuted} == {"q3.3.2.offset_unique", "q3.3.3.converges", "q3.3.4.elementwise",
                                        "q3.3.4.matrix",
                                        "q3.3.2.softmax_shift",      # relumax is not softmax after any shift
                                        "q3.3.4.k2_vs_jacobian"}     # the report's 3.3 and 3.4 disagree on [0, b]
    assert all(v.verdict == "refuted" and v.correction for v in refuted)
    assert sum(v.status is Status.HOLDS for v in vs) == 8
    partly = [v for v in vs if v.status is Status.PARTLY]
    assert [v.key for v in partly] == ["q3.3.5.gradient"] and partly[0].verdict.startswith("chain rule right")


def test_k2_derivatives_do_not_exist_at_the_kinks():
    """Sparsemax's dp2/dt does not exist at t = ±1, relumax's at t = ±b; relumax is C¹ at t = 0
    (equal one-sided derivatives 1/(4b)) but its second derivative jumps from -1/(4b²) to 1/(4b²)."""
    assert sym.k2_kinks("sparsemax") == [-1, 1]
    assert sym.k2_kinks("relumax") == [-sym.b, sym.b]
    shown = sp.latex(sym.k2_derivative_display("sparsemax"))
    assert r"\text{undefined}" in shown and "t = -1" in shown
    _, dp = sym.k2_forms()["relumax"]
    left, right = (sym.branch(dp, sym.t, x) for x in (-sym.b / 2, sym.b / 2))
    assert sp.simplify(left.subs(sym.t, 0) - 1 / (4 * sym.b)) == 0 == sp.simplify(right.subs(sym.t, 0) - 1 / (4 * sym.b))
    d2 = [sp.simplify(sp.diff(e, sym.t).subs(sym.t, 0)) for e in (left, right)]
    assert d2 == [-1 / (4 * sym.b ** 2), 1 / (4 * sym.b ** 2)]
