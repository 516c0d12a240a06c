"""Question 3 re-derived with SymPy: each function derives a result from the definitions and returns
sympy objects (for the chapter to display) and booleans (for the tests to assert on).

3.1 argmin_{y >= 0} (y - z)^2 = relu(z) by KKT; 3.2 shift invariance, the T -> 0+ limits, the offsets b
with relumax_b = sparsemax; 3.3 K = 2 piecewise forms and d/dt; 3.4 the relumax Jacobian in every regime
(K = 3); 3.5 the gradient of L = -log((p_i + eps)/(1 + K eps)) against -J_ij / (p_i + eps).
"""
from __future__ import annotations

import itertools
from functools import lru_cache

import sympy as sp

from hwlib.theory.sympy_tools import _decide, branch, piece_at, relu, same_on_regions, simplify_max

t = sp.Symbol("t", real=True)
c = sp.Symbol("c", real=True)
b = sp.Symbol("b", positive=True)
T = sp.Symbol("T", positive=True)
eps = sp.Symbol("epsilon", positive=True)
_r = sp.Symbol("r", positive=True)          # free positive parameter that sweeps a region


# ============================================================================ 3.1
@lru_cache(maxsize=None)
def relu_projection() -> dict:
    """argmin_{y >= 0} (y - z)^2 from the KKT conditions of L(y, mu) = (y - z)^2 - mu y: stationarity and
    complementary slackness give the candidates, primal and dual feasibility where each holds."""
    z, y, mu = sp.symbols("z y mu", real=True)
    objective = (y - z) ** 2
    lagrangian = objective - mu * y
    cands = sp.solve([sp.diff(lagrangian, y), mu * y], [y, mu], dict=True)
    cases = [(s[y], s[mu], sp.reduce_inequalities([s[y] >= 0, s[mu] >= 0], z)) for s in cands]
    cases.sort(key=lambda case: case[0] == 0)            # the interior candidate y = z first
    argmin = sp.Piecewise(*[(yy, cond) for yy, _, cond in cases])
    zp, zn = sp.Symbol("z_p", positive=True), sp.Symbol("z_n", negative=True)
    equals_relu = all(sp.simplify(argmin.subs(z, v) - relu(v)) == 0 for v in (zp, zn, 0))
    convex = sp.diff(objective, y, 2) > 0
    # separability: ||y - z||^2 for K = 3 has a diagonal Hessian, so the problem splits per coordinate
    ys, zs = sp.symbols("y1:4", real=True), sp.symbols("z1:4", real=True)
    hess = sp.hessian(sum((yi - zi) ** 2 for yi, zi in zip(ys, zs)), ys)
    return {"cases": cases, "argmin": argmin, "equals_relu": bool(equals_relu), "convex": bool(convex),
            "hessian": hess, "separable": hess == 2 * sp.eye(3)}


# ============================================================================ 3.2
@lru_cache(maxsize=None)
def shift_invariance() -> dict:
    """f(z + c 1) == f(z) by symbolic simplification: softmax and sparsemax for general K (sparsemax: tau shifts by c,
    the support test is unchanged), relumax for K = 3, every ordering of (m, m - g1, m - g1 - g2), gaps g >= 0."""
    i, j = sp.symbols("i j", integer=True)
    K, k = sp.symbols("K k", integer=True, positive=True)
    z = sp.IndexedBase("z")
    soft = lambda s: sp.exp(z[i] + s) / sp.Sum(sp.exp(z[j] + s), (j, 1, K))
    softmax_ok = sp.simplify(soft(c) - soft(0)) == 0

    tau = lambda s: (sp.Sum(z[j] + s, (j, 1, k)) - 1) / k
    test = lambda s: 1 + k * (z[k] + s) - sp.Sum(z[j] + s, (j, 1, k))       # > 0 iff entry k in support
    tau_shift = sp.simplify(sp.expand(tau(c) - tau(0)).doit())
    test_shift = sp.simplify(sp.expand(test(c) - test(0)).doit())
    entry_shift = sp.simplify(sp.expand((z[i] + c - tau(c)) - (z[i] - tau(0))).doit())
    sparsemax_ok = tau_shift == c and test_shift == 0 and entry_shift == 0

    m = sp.Symbol("m", real=True)
    g1, g2 = sp.symbols("g1 g2", nonnegative=True)
    relumax_ok = True
    for perm in itertools.permutations((m, m - g1, m - g1 - g2)):
        zz = sp.Matrix(perm)
        shifted = relumax_vector(zz + c * sp.ones(3, 1), b)
        relumax_ok &= all(sp.simplify(d) == 0 for d in (shifted - relumax_vector(zz, b)))
    return {"softmax": bool(softmax_ok), "sparsemax": bool(sparsemax_ok), "relumax": bool(relumax_ok),
            "tau_shift": tau_shift}


def relumax_vector(z: sp.Matrix, b_):
    """relumax_b(z) for a sympy column vector z."""
    mx = sp.Max(*z)
    n = sp.Matrix([relu(zi - mx + b_) for zi in z])
    return n / sum(n)


@lru_cache(maxsize=None)
def zero_temperature() -> dict:
    """lim_{T -> 0+} f(z / T) for K = 3, z = (m, m - g1, m - g1 - g2), gaps g > 0: softmax by sympy.limit;
    sparsemax and relumax from the interval (0, T*] on which they equal e_1."""
    m = sp.Symbol("m", real=True)
    g1, g2 = sp.symbols("g1 g2", positive=True)
    zs = [m, m - g1, m - g1 - g2]

    soft = [sp.exp((zi - m) / T) / sum(sp.exp((zj - m) / T) for zj in zs) for zi in zs]
    soft_lim = sp.Matrix([sp.limit(sp.simplify(e), T, 0, "+") for e in soft])

    # sparsemax(z/T): the support is {1} iff entry 2 fails the test 1 + 2 z_(2)/T > z_(1)/T + z_(2)/T
    onehot_set = sp.solve_univariate_inequality(1 + 2 * zs[1] / T <= (zs[0] + zs[1]) / T, T,
                                                relational=False)      # T positive: (0, T*]
    tau_small = zs[0] / T - 1                      # tau when the support is {1}
    sparse_small = sp.Matrix([sp.Max(0, zi / T - tau_small) for zi in zs])
    sparse_lim = simplify_max(sparse_small.subs(T, onehot_set.sup * _r / (1 + _r)))   # any T in (0, T*)

    # relumax_b(z/T): entry 2 has numerator relu(b - g1 / T) = 0 iff T <= g1 / b (entry 3 then too)
    zero_set = sp.solve_univariate_inequality(b - g1 / T <= 0, T, relational=False)
    relu_lim = simplify_max(relumax_vector(sp.Matrix(zs) / T, b).subs(T, zero_set.sup * _r / (1 + _r)))
    e1 = sp.Matrix([1, 0, 0])
    return {"softmax": soft_lim, "sparsemax": sparse_lim, "relumax": relu_lim,
            "sparsemax_onehot_for_T_in": onehot_set, "relumax_onehot_for_T_in": zero_set,
            "all_onehot": soft_lim == e1 and sparse_lim == e1 and relu_lim == e1}


@lru_cache(maxsize=None)
def relumax_sparsemax_b() -> dict:
    """b = max z - tau makes relumax_b(z) = sparsemax(z): on the support S the numerators are relu(z_i - tau) and
    the denominator sum_S (z_i - tau) = 1. For K = 2, z = [0, t]: b(t), checked against the closed forms."""
    i, j = sp.symbols("i j", integer=True)
    k = sp.Symbol("k", integer=True, positive=True)
    z, m = sp.IndexedBase("z"), sp.Symbol("m", real=True)
    tau = (sp.Sum(z[j], (j, 1, k)) - 1) / k
    bstar = m - tau
    numerator_ok = sp.simplify((z[i] - m + bstar) - (z[i] - tau)) == 0
    denominator = sp.simplify(sp.expand(sp.Sum(z[j] - tau, (j, 1, k))).doit())
    p_s, p_r = k2_sparsemax()["p"], k2_relumax()["p"]
    b_of_t = sp.Piecewise(((1 - t) / 2, (t > -1) & (t < 0)), ((1 + t) / 2, (t >= 0) & (t < 1)))
    interior = [-1 / (1 + _r), 1 / (1 + _r)]            # sweep (-1, 0) and (0, 1)
    b_of_t_ok = all(sp.simplify(piece_at(p_r.subs(b, piece_at(b_of_t, t, p)), t, p) - piece_at(p_s, t, p)) == 0
                    for p in interior)
    return {"numerator_ok": bool(numerator_ok), "denominator": denominator, "b_of_t": b_of_t,
            "b_of_t_ok": bool(b_of_t_ok)}


@lru_cache(maxsize=None)
def k2_b_solutions(t0) -> sp.Set:
    """All b > 0 with relumax_b([0, t0])_2 = sparsemax([0, t0])_2, solved exactly (t0 is made rational)."""
    t0 = sp.nsimplify(t0)
    target = piece_at(k2_sparsemax()["p"], t, t0)
    expr = k2_relumax()["p"].subs(t, t0)
    branches = expr.args if isinstance(expr, sp.Piecewise) else ((expr, sp.true),)
    sols, covered = sp.S.EmptySet, sp.S.EmptySet
    for e, cond in branches:                                  # Piecewise in b; a branch holds where
        region = (sp.S.Reals if cond in (sp.true, True)       # its condition does and no earlier one did
                  else sp.solve_univariate_inequality(cond, b, relational=False))
        region = region.intersect(sp.Interval.open(0, sp.oo)) - covered
        sols = sols.union(sp.solveset(sp.Eq(e, target), b, region))
        covered = covered.union(region)
    return sols


# ============================================================================ 3.3  (K = 2, z = [0, t])
Z2 = (sp.Integer(0), t)
#: points sweeping each region of the K = 2 pieces (r > 0 free), then the breakpoints
SPARSEMAX_POINTS = (-1 - _r, -1 + 2 / (1 + _r), 1 + _r, -1, 1)
RELUMAX_POINTS = (-b - _r, -b / (1 + _r), b / (1 + _r), b + _r, -b, 0, b)


def _region(conds):
    return sp.And(*[sp.reduce_inequalities(cd, t) for cd in conds])


def _left_to_right(pieces):
    """Order (expr, cond) pieces by where their region starts on the t axis (b > 0)."""
    def start(cond):
        probe = cond.subs(b, 1)
        for v in range(-40, 41):
            if _decide(probe.subs(t, sp.Rational(v, 10))):
                return v
        return 99
    return sorted(pieces, key=lambda pc: start(pc[1]))


@lru_cache(maxsize=None)
def k2_softmax() -> dict:
    """p2 = e^t / (e^0 + e^t), its derivative, and the check dp2/dt = p2 (1 - p2)."""
    p = sp.exp(Z2[1]) / (sp.exp(Z2[0]) + sp.exp(Z2[1]))
    dp = sp.diff(p, t)
    return {"p": p, "dp": sp.simplify(dp), "dp_is_p_one_minus_p": sp.simplify(dp - p * (1 - p)) == 0}


@lru_cache(maxsize=None)
def k2_sparsemax() -> dict:
    """Enumerate the supports S of z = [0, t]: tau from sum_S (z_j - tau) = 1, region from
    z_j - tau > 0 on S and <= 0 off S; p2 = t - tau if 2 in S else 0."""
    tau_ = sp.Symbol("tau", real=True)
    pieces, supports = [], []
    for S in ((0,), (1,), (0, 1)):
        tau_S = sp.solve(sum(Z2[j] - tau_ for j in S) - 1, tau_)[0]
        region = _region([Z2[j] - tau_S > 0 if j in S else Z2[j] - tau_S <= 0 for j in (0, 1)])
        p_S = Z2[1] - tau_S if 1 in S else sp.Integer(0)
        pieces.append((p_S, region))
        supports.append((tuple(j + 1 for j in S), tau_S, region))
    p = sp.Piecewise(*_left_to_right(pieces))
    return {"p": p, "dp": sp.diff(p, t), "supports": supports}


@lru_cache(maxsize=None)
def k2_relumax() -> dict:
    """Enumerate (argmax k, support S containing k) for z = [0, t]: N_i = z_i - z_k + b on S, 0 off S,
    with regions from the argmax (t < 0 or t >= 0) and N_i > 0 on S, <= 0 off S; p2 = N_2 / (N_1 + N_2)."""
    pieces, regimes = [], []
    for k in (0, 1):
        for S in ((k,), (0, 1)):
            n = [Z2[i] - Z2[k] + b if i in S else sp.Integer(0) for i in (0, 1)]
            conds = [Z2[1] >= Z2[0]] if k == 1 else [Z2[1] < Z2[0]]
            conds += [Z2[i] - Z2[k] + b > 0 if i in S else Z2[i] - Z2[k] + b <= 0 for i in (0, 1) if i != k]
            region = _region(conds)
            pieces.append((sp.simplify(n[1] / (n[0] + n[1])), region))
            regimes.append((k + 1, tuple(i + 1 for i in S), region))
    p = sp.Piecewise(*_left_to_right(pieces))
    dp = sp.Piecewise(*[(sp.factor(e), cond) for e, cond in sp.diff(p, t).args])
    return {"p": p, "dp": dp, "regimes": regimes}


def k2_forms() -> dict:
    """{name: (p2, dp2/dt)} for the three maps, as derived above."""
    return {name: (f()["p"], f()["dp"]) for name, f in (("softmax", k2_softmax), ("sparsemax", k2_sparsemax),
                                                        ("relumax", k2_relumax))}


# where the pieces of p2 meet, and a step that stays inside the neighbouring pieces
K2_BOUNDARIES = {"sparsemax": ((-1, 1), sp.Rational(1, 2)), "relumax": ((-b, 0, b), b / 2)}


def k2_kinks(name: str) -> list:
    """Boundaries of p2's pieces where dp2/dt does not exist: the one-sided derivatives differ."""
    _, dp = k2_forms()[name]
    points, h = K2_BOUNDARIES.get(name, ((), 0))
    return [x for x in points
            if sp.simplify(branch(dp, t, x - h).subs(t, x) - branch(dp, t, x + h).subs(t, x)) != 0]


def k2_derivative_display(name: str) -> sp.Expr:
    """dp2/dt saying "undefined" at the kinks (SymPy's derivative of a Piecewise gives them a piece's value)."""
    _, dp = k2_forms()[name]
    kinks = k2_kinks(name)
    if not kinks:
        return dp
    return sp.Piecewise((sp.Symbol(r"\text{undefined}"), sp.Or(*[sp.Eq(t, x) for x in kinks])), *dp.args)


#: the original report's K = 2 answers, as stated there (claims to check, not results)
REPORT_K2 = {
    "sparsemax": (sp.Piecewise((0, t <= -1), ((t + 1) / 2, t < 1), (1, True)),
                  sp.Piecewise((0, t <= -1), (sp.Rational(1, 2), t < 1), (0, True))),
    "relumax": (sp.Piecewise((0, t <= -b), ((t + b) / (t + 2 * b), t < 0), (b / (2 * b - t), t <= b), (1, True)),
                sp.Piecewise((0, t <= -b), (b / (t + 2 * b) ** 2, t < 0), (b / (2 * b - t) ** 2, t <= b),
                             (0, True))),
}


@lru_cache(maxsize=None)
def k2_report_check() -> dict:
    """Compare the report's K = 2 pieces with ours on every region (derivatives away from the kinks)."""
    soft = k2_softmax()
    out = {"softmax": bool(sp.simplify(soft["p"] - 1 / (1 + sp.exp(-t))) == 0 and soft["dp_is_p_one_minus_p"])}
    for name, pts in (("sparsemax", SPARSEMAX_POINTS), ("relumax", RELUMAX_POINTS)):
        ours_p, ours_dp = k2_forms()[name]
        rep_p, rep_dp = REPORT_K2[name]
        interior = pts[:3] if name == "sparsemax" else pts[:4]
        out[name] = bool(same_on_regions(ours_p, rep_p, t, pts) and same_on_regions(ours_dp, rep_dp, t, interior))
    return out


@lru_cache(maxsize=None)
def k2_relumax_vs_sparsemax(b_value=1) -> dict:
    """The report's "relumax_b -> sparsemax as b -> 1": relumax_1 against sparsemax piece by piece; the sup of
    the gap on (0, 1) is where the derivative of the difference vanishes."""
    pr, ps = k2_relumax()["p"].subs(b, sp.nsimplify(b_value)), k2_sparsemax()["p"]
    half = sp.Rational(1, 2)
    diff_right, diff_left = (sp.simplify(branch(ps, t, x) - branch(pr, t, x)) for x in (half, -half))
    crit = [x for x in sp.solve(sp.diff(diff_right, t), t) if x.is_real and 0 < x < 1]
    sup = max((sp.simplify(diff_right.subs(t, x)) for x in crit), key=lambda v: abs(float(v)))
    equal_at = sorted(set(x for x in sp.solve(diff_right, t) if 0 <= x <= 1) |
                      set(x for x in sp.solve(diff_left, t) if -1 <= x <= 0), key=float)
    return {"difference_on_0_1": diff_right, "difference_on_m1_0": diff_left, "argmax": crit,
            "sup_difference": sup, "equal_at": equal_at}


# ============================================================================ 3.4 / 3.5  (K = 3)
Z3 = sp.Matrix(sp.symbols("z1:4", real=True))


def regimes(K: int = 3):
    """Every (argmax k, support S containing k) of relumax for distinct entries (0-based indices)."""
    for k in range(K):
        others = [i for i in range(K) if i != k]
        for r in range(K):
            for extra in itertools.combinations(others, r):
                yield k, tuple(sorted((k,) + extra))


def _regime_map(k: int, S: tuple, z=Z3):
    """relumax_b(z) inside a regime: N_i = z_i - z_k + b on S, 0 elsewhere; returns (p, D)."""
    n = sp.Matrix([z[i] - z[k] + b if i in S else 0 for i in range(len(z))])
    D = sum(n)
    return n / D, D


def jacobian_closed_form(p, D, k: int, S: tuple):
    """Ours: J = (diag(1_S) - p 1_S^T)(I - 1 e_k^T) / D, the report's form times (I - 1 e_k^T)."""
    K = len(p)
    return jacobian_report_elementwise(p, D, S) * (sp.eye(K) - sp.ones(K, 1) * sp.eye(K)[k, :])


def jacobian_report_elementwise(p, D, S: tuple):
    """The report's (1[i in S] delta_ij - p_i 1[j in S]) / D."""
    K = len(p)
    one_s = sp.Matrix([1 if i in S else 0 for i in range(K)])
    return (sp.diag(*one_s) - p * one_s.T) / D


def jacobian_report_matrix(p, D):
    """The report's (diag(p_S) - p_S p_S^T) / D (p is 0 off S)."""
    return (sp.diag(*p) - p * p.T) / D


def _zero(M) -> bool:
    return all(sp.cancel(e) == 0 for e in M)


@lru_cache(maxsize=None)
def jacobian_check(K: int = 3) -> dict:
    """Differentiate relumax symbolically in every regime and compare with the closed forms: booleans over all
    regimes and, for display, sympy's Jacobian and the report's difference from it at k = 1, S = {1, 2} (1-based)."""
    z = sp.Matrix(sp.symbols(f"z1:{K + 1}", real=True))
    u = sp.Matrix(sp.symbols(f"u1:{K + 1}", real=True))
    ok = {"ours": True, "report_elementwise": True, "report_matrix": True, "report_is_du": True,
          "rows_sum_to_zero": True, "report_rows_sum_to_zero": True}
    example = None
    for k, S in regimes(K):
        p, D = _regime_map(k, S, z)
        J = p.jacobian(z)
        ours = jacobian_closed_form(p, D, k, S)
        rep_e = jacobian_report_elementwise(p, D, S)
        rep_m = jacobian_report_matrix(p, D)
        ok["ours"] &= _zero(J - ours)
        ok["report_elementwise"] &= _zero(J - rep_e)
        ok["report_matrix"] &= _zero(J - rep_m)
        ok["rows_sum_to_zero"] &= _zero(J * sp.ones(K, 1))
        ok["report_rows_sum_to_zero"] &= _zero(rep_e * sp.ones(K, 1))
        # the same map written in u (treating u = z - max z as free variables)
        nu = sp.Matrix([u[i] + b if i in S else 0 for i in range(K)])
        pu = nu / sum(nu)
        J_u = pu.jacobian(u).subs({u[i]: z[i] - z[k] for i in range(K)})
        ok["report_is_du"] &= _zero(J_u - rep_e)
        if k == 0 and S == (0, 1):
            example = {"J": J.applyfunc(sp.factor), "report_elementwise_minus_J": (rep_e - J).applyfunc(sp.factor)}
    return {**{key: bool(v) for key, v in ok.items()}, "regimes": len(list(regimes(K))), "example": example}


@lru_cache(maxsize=None)
def gradient_check(K: int = 3) -> dict:
    """dL/dz for L = -log((p_i + eps)/(1 + K eps)) by sympy.diff in every regime and target i, against
    -J_ij / (p_i + eps) with our J and with the report's J; also: the gradient is 0 if i is off S."""
    z = sp.Matrix(sp.symbols(f"z1:{K + 1}", real=True))
    ok = {"ours": True, "report": True, "zero_off_support": True}
    for k, S in regimes(K):
        p, D = _regime_map(k, S, z)
        ours = jacobian_closed_form(p, D, k, S)
        rep = jacobian_report_elementwise(p, D, S)
        for i in range(K):
            L = -sp.log((p[i] + eps) / (1 + K * eps))
            g = sp.Matrix([sp.diff(L, zj) for zj in z]).T
            ok["ours"] &= _zero(g + ours[i, :] / (p[i] + eps))
            ok["report"] &= _zero(g + rep[i, :] / (p[i] + eps))
            if i not in S:
                ok["zero_off_support"] &= _zero(g)
    return {key: bool(v) for key, v in ok.items()}
