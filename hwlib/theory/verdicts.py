"""The original report's Question 3 claims, each checked live: a verdict from a SymPy derivation
(``hwlib.theory.symbolic``) and a numeric check against torch.autograd (float64).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from hwlib.models import maps
from hwlib.report.claims import Claim, Kind, Status, items
from hwlib.report.fmt import ROUND_OFF, closeness, num, tex
from hwlib.theory import symbolic as sym

KS = (2, 3, 5, 10)
BS = (0.25, 1.0, 3.0)


# ------------------------------------------------------------------ the report's formulas, as numbers
def report_jacobian_elementwise(z, b) -> np.ndarray:
    """The report's (1[i in S] delta_ij - p_i 1[j in S]) / D (claimed to be dp_i/dz_j)."""
    z = np.asarray(z, dtype=np.float64)
    n = np.maximum(z - z.max() + b, 0.0)
    D, p, s = n.sum(), n / n.sum(), (n > 0).astype(float)
    return (np.diag(s) - np.outer(p, s)) / D


def report_jacobian_matrix(z, b) -> np.ndarray:
    """The report's matrix form (diag(p_S) - p_S p_S^T) / D."""
    z = np.asarray(z, dtype=np.float64)
    n = np.maximum(z - z.max() + b, 0.0)
    D, p = n.sum(), n / n.sum()
    return (np.diag(p) - np.outer(p, p)) / D


# ------------------------------------------------------------------ numeric agreement with autograd
def autograd_agreement(n_per_case: int = 40, seed: int = 0) -> dict:
    """Largest |closed form - torch.autograd| (float64) over random z, for K in KS and b in BS: the relumax Jacobian,
    the eps-loss gradient (eps = 1e-3, every target i; also relative to max(1, |gradient|), since 1/(p_i + eps)
    scales it up to 1e3), the explicit sparsemax and relumax backward passes, the report's two Jacobian forms; and
    the fraction of samples with an entry outside the support."""
    import torch

    from hwlib.models import maps_torch as mt

    rng = np.random.default_rng(seed)
    worst = dict.fromkeys(("jacobian", "eps_loss_grad", "eps_loss_grad_relative", "sparsemax_backward",
                           "relumax_backward", "report_elementwise", "report_matrix"), 0.0)

    def note(key: str, gap) -> None:
        worst[key] = max(worst[key], gap)

    outside, total = 0, 0
    eps = 1e-3
    for K in KS:
        for b in BS:
            for _ in range(n_per_case):
                z = rng.normal(scale=1.5 * b, size=K)     # spread enough that some entries fall outside the support
                zt = torch.tensor(z, dtype=torch.float64)
                J_auto = torch.autograd.functional.jacobian(lambda x: mt.relumax_autograd(x, b), zt).numpy()
                note("jacobian", np.abs(maps.relumax_jacobian(z, b) - J_auto).max())
                note("report_elementwise", np.abs(report_jacobian_elementwise(z, b) - J_auto).max())
                note("report_matrix", np.abs(report_jacobian_matrix(z, b) - J_auto).max())
                outside += bool((maps.relumax(z, b) == 0).any())
                total += 1
                for i in range(K):
                    x = zt.clone().requires_grad_()
                    L = -torch.log((mt.relumax_autograd(x, b)[i] + eps) / (1 + K * eps))
                    (g,) = torch.autograd.grad(L, x)
                    d = np.abs(maps.relumax_eps_loss_grad(z, i, b, eps) - g.numpy()).max()
                    note("eps_loss_grad", d)
                    note("eps_loss_grad_relative", d / max(1.0, np.abs(g.numpy()).max()))
                v = torch.tensor(rng.normal(size=K), dtype=torch.float64)
                for name, explicit, reference in (("sparsemax_backward", mt.sparsemax, mt.sparsemax_autograd),
                                                  ("relumax_backward", lambda x: mt.relumax(x, b),
                                                   lambda x: mt.relumax_autograd(x, b))):
                    x1, x2 = zt.clone().requires_grad_(), zt.clone().requires_grad_()
                    (g1,) = torch.autograd.grad((explicit(x1) * v).sum(), x1)
                    (g2,) = torch.autograd.grad((reference(x2) * v).sum(), x2)
                    note(name, (g1 - g2).abs().max().item())
    return {**{k: float(v) for k, v in worst.items()}, "samples": total, "with_entries_off_support": outside / total}


# ------------------------------------------------------------------ verdicts
def _verdict(key: str, item: str, claim: str, ok: bool, check: str, correction: str = "", *,
             confirmed: str = "confirmed", partly: str | None = None) -> Claim:
    r"""A Question 3 claim (mathematics: data-independent), confirmed, refuted, or right in part (``partly`` says
    how). ``claim``, ``check`` and ``correction`` may hold inline LaTeX, ``\(…\)``."""
    status, words = ((Status.HOLDS, confirmed) if ok else (Status.PARTLY, partly) if partly
                     else (Status.WRONG, "refuted"))
    return Claim(f"q3.{key}", item, Kind.DATA_INDEPENDENT, claim, status, words, check, correction)


def _holds(ok: bool) -> str:
    return "holds" if ok else "fails"


def _tup(v) -> str:
    """A short vector as LaTeX, its numbers written for people: (1, 0, 0)."""
    return "(" + ",\\ ".join(num(float(x)) for x in v) + ")"


SPARSEMAX, RELUMAX = r"\operatorname{sparsemax}", r"\operatorname{relumax}"


def _claims_3_1(out: list, agr: dict) -> None:
    """3.1: the relu projection."""
    proj = sym.relu_projection()
    ok = proj["equals_relu"] and proj["separable"] and proj["convex"]
    cases = "; ".join(rf"\(y = {sp.latex(y)}\) when {tex(cond)}" for y, _, cond in proj["cases"])
    out.append(_verdict(
        "3.1.projection", "3.1",
        r"\(\min_{y_i \ge 0}\,(y_i - z_i)^2\) is solved coordinate by coordinate by \(y_i = \max(0, z_i)\).", ok,
        f"SymPy solves the KKT conditions: {cases} — together "
        + (r"\(\max(0, z)\)" if proj["equals_relu"] else "not relu")
        + r". The Hessian of \(\lVert y - z\rVert^2\) (K = 3) is "
        + (r"\(2I\): " if proj["separable"] else f"{tex(proj['hessian'])}: ")
        + ("diagonal, so the problem splits into one problem per coordinate." if proj["separable"]
           else "not diagonal.")))


def _claims_3_2(out: list, agr: dict) -> None:
    """3.2: shift invariance, the zero-temperature limits, the offset b and its uniqueness."""
    rng = np.random.default_rng(1)
    inv = sym.shift_invariance()
    zs, cs = rng.normal(size=(200, 6)) * 3, rng.normal(size=(200, 1)) * 10
    dev = max(np.abs(f(zs + cs) - f(zs)).max() for f in (maps.softmax, maps.sparsemax, lambda x: maps.relumax(x, 0.7)))
    ok = inv["softmax"] and inv["sparsemax"] and inv["relumax"] and dev < ROUND_OFF
    out.append(_verdict(
        "3.2.shift", "3.2",
        r"softmax, sparsemax and relumax are unchanged when the same constant is added to every score: "
        r"\(f(z + c\mathbf{1}) = f(z)\).", ok,
        rf"SymPy simplifies \(f(z + c\mathbf{{1}}) - f(z)\) to 0: for softmax (general K) it {_holds(inv['softmax'])}, "
        rf"for sparsemax (general K; \(\tau\) shifts by {tex(inv['tau_shift'])}) it {_holds(inv['sparsemax'])}, "
        f"for relumax (K = 3, every ordering of the scores) it {_holds(inv['relumax'])}. Largest "
        f"numerical deviation over 200 random z and c: {closeness(dev)}."))

    zt = sym.zero_temperature()
    z = rng.normal(size=(200, 5))
    srt = -np.sort(-z, axis=-1)
    gap = (srt[:, 0] - srt[:, 1])[:, None]
    onehot = np.eye(5)[z.argmax(-1)]
    exact = all(np.array_equal(q == 0, onehot == 0) and np.allclose(q, onehot, rtol=0, atol=1e-12)
                for q in (maps.sparsemax(z, T=gap * 0.999), maps.relumax(z, 1.0, T=gap * 0.999)))
    out.append(_verdict(
        "3.2.zero_temperature", "3.2",
        r"As \(T \to 0^+\) all three maps tend to the one-hot vector \(e_{\arg\max z}\) (softmax by factoring out "
        r"the largest term; sparsemax stated without proof; relumax because every non-maximal relu argument tends "
        r"to \(-\infty\)).", zt["all_onehot"] and exact,
        rf"SymPy: softmax's limit (sympy.limit) is \({sp.latex(zt['softmax'].T)}^\top\). "
        rf"\({SPARSEMAX}(z/T)\) equals \(e_1\) exactly for \(T \in {sp.latex(zt['sparsemax_onehot_for_T_in'])}\) "
        rf"and \({RELUMAX}_b(z/T)\) for \(T \in {sp.latex(zt['relumax_onehot_for_T_in'])}\), where "
        r"\(g_1 = z_{(1)} - z_{(2)}\) is the gap between the two largest scores. Numerically, at "
        rf"\(T = 0.999\,g_1\) every entry off the argmax is exactly 0 for 200 random z: {_holds(exact)}.",
        r"Proof for sparsemax: for \(T \le g_1\) the threshold is \(\tau = z_{(1)}/T - 1\), so every other entry "
        r"falls outside the support — sparsemax is exactly one-hot at every small enough T, not only in the limit.",
        confirmed="confirmed (sparsemax proof added)"))

    rb = sym.relumax_sparsemax_b()
    z = rng.normal(size=(300, 6)) * 2
    dev = np.abs(maps.relumax(z, maps.sparsemax_b(z)) - maps.sparsemax(z)).max()
    out.append(_verdict(
        "3.2.offset", "3.2", rf"\(b = \max(z) - \tau\) gives \({RELUMAX}_b(z) = {SPARSEMAX}(z)\).",
        rb["numerator_ok"] and rb["denominator"] == 1 and dev < ROUND_OFF,
        rf"SymPy: with this b the numerators are \(\operatorname{{relu}}(z_i - \tau)\) "
        f"({'as required' if rb['numerator_ok'] else 'not as required'}) and the denominator "
        rf"\(\sum_{{i \in S}} (z_i - \tau) = {sp.latex(rb['denominator'])}\). Largest numerical "
        f"deviation over 300 random z: {closeness(dev)}."))

    t3, t0, th = 3, 0, sp.Rational(1, 2)
    s3, s0, sh = (sym.k2_b_solutions(v) for v in (t3, t0, th))
    zc = np.array([0.0, 3.0])
    both = all(np.allclose(maps.relumax(zc, bb), maps.sparsemax(zc)) for bb in (1.0, 2.0))
    unique = isinstance(s3, sp.FiniteSet) and len(s3) == 1 and isinstance(s0, sp.FiniteSet) and len(s0) == 1
    out.append(_verdict(
        "3.2.offset_unique", "3.2", r"That \(b\) is unique for every \(z\).", unique and not both,
        rf"SymPy finds every \(b > 0\) with \({RELUMAX}_b([0, t]) = {SPARSEMAX}([0, t])\): "
        + "; ".join(rf"\(t = {sp.latex(v)}\): \(b \in {sp.latex(s)}\)" for v, s in ((t3, s3), (t0, s0), (th, sh)))
        + r". For \(z = [0, 3]\), \(b = 1\) and \(b = 2\) "
        + (rf"both give the sparsemax \({_tup(maps.sparsemax(zc))}\)." if both else "do not both give sparsemax."),
        rf"\(b = \max z - \tau\) always works, and it is the only one exactly when the support of "
        rf"\({SPARSEMAX}(z)\) holds two different values. When every support entry equals \(\max z\) "
        r"(sparsemax one-hot, or tied scores), every \(b \in (0,\ \max z - \max_{j \notin S} z_j]\) works "
        r"(every \(b > 0\) when the support is everything)."))


def _claims_3_3(out: list, agr: dict) -> None:
    """3.3: the K = 2 closed forms and the report's extra "convergence as b -> 1"."""
    rep = sym.k2_report_check()
    grid = np.linspace(-4, 4, 801)
    zz = np.stack([np.zeros_like(grid), grid], -1)
    dev = max(np.abs(maps.apply(n, zz, b=bb)[:, 1] - maps.p2(n, grid, bb)).max()
              for n, bb in (("softmax", None), ("sparsemax", None), ("relumax", 0.5), ("relumax", 2.0)))
    claims = {
        "softmax": r"\(\operatorname{softmax}_2(t) = \sigma(t) = e^t/(1 + e^t)\), with derivative \(p(1 - p)\).",
        "sparsemax": rf"\({SPARSEMAX}_2(t)\) is 0 for \(t \le -1\), \((t + 1)/2\) for \(|t| < 1\) and 1 for "
                     r"\(t \ge 1\); its derivative is \(1/2\) inside and 0 outside.",
        "relumax": rf"\({RELUMAX}_{{b,2}}(t)\) is 0 for \(t \le -b\), \((t + b)/(t + 2b)\) on \((-b, 0)\), "
                   r"\(b/(2b - t)\) on \([0, b]\) and 1 for \(t > b\); its derivatives are "
                   r"\(b/(t + 2b)^2\) and \(b/(2b - t)^2\) in the middle pieces, 0 outside."}
    kinks = {"softmax": "",
             "sparsemax": r" The derivative does not exist at \(t = \pm 1\), where it jumps between 0 and \(1/2\).",
             "relumax": r" The derivative does not exist at \(t = \pm b\) (a jump between 0 and \(1/b\)); at "
                        r"\(t = 0\) both pieces give \(1/(4b)\), so relumax is \(C^1\) there, though its second "
                        r"derivative jumps."}
    for name, text in claims.items():
        out.append(_verdict(f"3.3.{name}", "3.3", text, rep[name] and dev < ROUND_OFF,
                            "SymPy derives the pieces from the definition (by enumerating the supports); they "
                            f"{'equal' if rep[name] else 'differ from'} the report's on every region. "
                            "hwlib.models.maps.p2 against the maps at 801 values of t: largest difference "
                            f"{closeness(dev)}.{kinks[name]}"))

    conv = sym.k2_relumax_vs_sparsemax(1)
    sup = conv["sup_difference"]
    out.append(_verdict(
        "3.3.converges", "3.3 (extra)",
        rf"As \(b \to 1\), \({RELUMAX}_{{b,2}}\) converges to \({SPARSEMAX}_2\) (they agree region by region).",
        sup == 0,
        r"At \(b = 1\) only the saturated regions \(t \le -1\) and \(t \ge 1\) agree. In between, "
        rf"\({SPARSEMAX}_2 - {RELUMAX}_{{1,2}} = {sp.latex(conv['difference_on_0_1'])}\) on \([0, 1)\) "
        rf"and {tex(conv['difference_on_m1_0'])} on \((-1, 0)\), zero only at "
        rf"\(t \in {sp.latex(sp.FiniteSet(*conv['equal_at']))}\). The largest gap is "
        rf"\({sp.latex(sup)} \approx {float(sup):.4f}\), at \(t = \pm({sp.latex(conv['argmax'][0])})\).",
        rf"\({RELUMAX}_{{b,2}} \to {RELUMAX}_{{1,2}}\) as \(b \to 1\) (relumax is continuous in b), "
        rf"and that is not \({SPARSEMAX}_2\). No single b matches sparsemax for every t: the matching "
        r"b depends on t, \(b(t) = (1 + |t|)/2\) for \(|t| < 1\)."))


# the corrected Jacobian on two lines, so that it fits a phone's column
J_OURS = (r"\begin{aligned} J = {}& (\operatorname{diag}(\mathbf{1}_S) - p\,\mathbf{1}_S^\top) \\ "
          r"& \times (I - \mathbf{1} e_k^\top)/D \end{aligned}")


def _claims_3_4(out: list, agr: dict) -> None:
    """3.4: the Jacobian, elementwise and in matrix form."""
    jc = sym.jacobian_check()
    out.append(_verdict(
        "3.4.elementwise", "3.4",
        r"\[\begin{aligned} \frac{\partial p_i}{\partial z_j} &= \frac{\partial p_i}{\partial u_j} \\ "
        r"&= \frac{\mathbb{1}[i \in S]\,\delta_{ij} - p_i\,\mathbb{1}[j \in S]}{D} \end{aligned}\]",
        jc["report_elementwise"],
        f"SymPy, in all {jc['regimes']} regimes of K = 3: the expression "
        + (r"is \(\partial p/\partial u\)" if jc["report_is_du"] else r"is not even \(\partial p/\partial u\)")
        + (r" and \(\partial p/\partial z\)" if jc["report_elementwise"] else
           r" but not \(\partial p/\partial z\): \(u = z - \max(z)\mathbf{1}\) depends on z through the max")
        + (". Its rows sum to 0, as shift invariance requires." if jc["report_rows_sum_to_zero"] else
           ". Its rows do not sum to 0, though shift invariance requires it.")
        + f" Largest |report − autograd| over {agr['samples']} random z: {num(agr['report_elementwise'])}.",
        r"With \(k = \arg\max z\): \(\partial p_i/\partial z_j = N_{ij}/D\), where "
        r"\[\begin{aligned} N_{ij} = {}& \mathbb{1}[i \in S](\delta_{ij} - \delta_{kj}) \\ "
        r"& - p_i(\mathbb{1}[j \in S] - |S|\,\delta_{kj}), \end{aligned}\]"
        rf"that is \[{J_OURS}\] SymPy: it {_holds(jc['ours'])} in every regime; "
        f"|ours − autograd| ≤ {closeness(agr['jacobian'])}."))
    out.append(_verdict(
        "3.4.matrix", "3.4", r"In matrix form, \(J = (\operatorname{diag}(p_S) - p_S\,p_S^\top)/D\).",
        jc["report_matrix"],
        "SymPy: it " + ("equals" if jc["report_matrix"] else "differs from")
        + " the true Jacobian, and from the report's own elementwise form. Largest |report − autograd|: "
        f"{num(agr['report_matrix'])}.",
        rf"\[{J_OURS}\] The softmax-like pattern \(\operatorname{{diag}}(p) - p\,p^\top\) does not apply."))


def _claims_3_5(out: list, agr: dict) -> None:
    """3.5: the log loss outside the support and the gradient of the ε-loss."""
    z = np.array([3.0, 0.0, -2.0])
    p = maps.relumax(z, 1.0)
    with np.errstate(divide="ignore"):
        inf = bool(np.isinf(-np.log(p[2])))
    g = maps.relumax_eps_loss_grad(z, 2, 1.0, 1e-2)
    out.append(_verdict(
        "3.5.log_outside", "3.5", r"\(-\log p_i = \infty\) when the target i is outside the support.", inf,
        rf"For \(z = (3, 0, -2)\) and \(b = 1\): \(p = {_tup(np.round(p, 3))}\), and "
        + (r"\(-\log p_3 = \infty\)." if inf else r"\(-\log p_3\) is finite.")
        + rf" Moreover the gradient of the \(\varepsilon\)-loss is \({_tup(g)}\) there: \(\varepsilon\) "
        "makes the loss finite but gives no signal to raise an excluded target."))
    gc = sym.gradient_check()
    out.append(_verdict(
        "3.5.gradient", "3.5",
        r"\(\frac{\partial L}{\partial z_j} = -\frac{J_{ij}}{p_i + \varepsilon}\), with J from 3.4.", gc["report"],
        f"SymPy, in every regime and for every target: with the report's J the formula "
        f"{_holds(gc['report'])}, with the corrected J it {_holds(gc['ours'])}. "
        f"|hwlib gradient − autograd| ≤ {closeness(agr['eps_loss_grad'])}; relative to the gradient's "
        f"size, {closeness(agr['eps_loss_grad_relative'])}.",
        "The same formula with the corrected J of 3.4.",
        partly="chain rule right, inherits the 3.4 error" if gc["ours"] else None))


REVIEWER = " (words a reviewer of the report quotes; its restated text has only the invariance arguments)"


def _claims_extra(out: list, agr: dict) -> None:
    """Two checks issue 20 asks for: "relumax is softmax after a constant shift", and the report's own
    K = 2 derivative (3.3) against its own Jacobian (3.4) at z = [0, t]."""
    z, c = np.array([0.0, -2.0]), 5.0
    r, s = maps.relumax(z, 1.0), maps.softmax(z + c)
    zf = np.array([0.0, -0.5])                               # full support: still not softmax
    rf, sf = maps.relumax(zf, 1.0), maps.softmax(zf)
    out.append(_verdict(
        "3.2.softmax_shift", "3.2", r"Relumax is softmax after a constant shift" + REVIEWER + ".",
        bool(np.allclose(r, s)),
        r"Softmax is positive everywhere and shift-invariant, so \(\operatorname{softmax}(z + c\mathbf{1})"
        r" = \operatorname{softmax}(z)\) for every c; relumax is zero on every entry with \(z_j \le \max z - b\). "
        rf"For \(z = (0, -2)\), \(b = 1\): \({RELUMAX}_1(z) = {_tup(r)}\), "
        rf"\(\operatorname{{softmax}}(z + c\mathbf{{1}}) = {_tup(np.round(s, 3))}\) for every c. Even with full "
        rf"support the two differ: for \(z = (0, -0.5)\), \({_tup(np.round(rf, 3))}\) against "
        rf"\({_tup(np.round(sf, 3))}\); relumax's entries are ratios of linear functions of z, softmax's of "
        "exponentials.",
        r"Relumax is a shifted, clipped and normalised score, \(\operatorname{relu}(z_i - \max z + b)/D\): "
        r"the shift is inside the relu, and there is no exponential. It equals sparsemax of \(z/D\), not "
        r"softmax of anything."))
    t, b = sym.t, sym.b
    zz = sp.Matrix([0, t])
    agree = {}
    for k, region, theirs in ((0, r"(-b, 0)", b / (t + 2 * b) ** 2), (1, r"[0, b]", b / (2 * b - t) ** 2)):
        p, D = sym._regime_map(k, (0, 1), zz)
        rep = sym.jacobian_report_elementwise(p, D, (0, 1))[1, 1]
        agree[region] = (sp.factor(rep), sp.simplify(rep - theirs) == 0, sp.simplify(sp.diff(p[1], t) - theirs) == 0)
    out.append(_verdict(
        "3.4.k2_vs_jacobian", "3.4",
        r"The derivative of 3.3, \(b/(t+2b)^2\) and \(b/(2b-t)^2\), and the Jacobian of 3.4, "
        r"\((\mathbb{1}[i\in S]\,\delta_{ij} - p_i\,\mathbb{1}[j\in S])/D\), describe the same map.",
        all(a[1] for a in agree.values()),
        r"At \(z = [0, t]\) only \(z_2 = t\) moves, so \(dp_2/dt = J_{22}\). SymPy: the report's \(J_{22}\) is "
        + "; ".join(f"{tex(v[0])} on \\({reg}\\), which " + ("equals" if v[1] else "differs from")
                    + " its 3.3 derivative" + (" (itself correct)" if v[2] else " (itself wrong)")
                    for reg, v in agree.items())
        + r". On \([0, b]\) the varying score is the maximum, the case where the 3.4 formula drops the "
        r"\(\delta_{kj}\) terms: the report's two answers contradict each other there, and the 3.3 one is right.",
        r"With the corrected Jacobian of 3.4, \(J_{22} = b/(2b - t)^2\) on \([0, b]\), as in 3.3.",
        confirmed="consistent"))


def check_report_claims(agreement: dict | None = None) -> list[Claim]:
    """One ``Claim`` per Question 3 claim of the original report, its verdict computed now."""
    agr = agreement or autograd_agreement(n_per_case=10)
    out: list[Claim] = []
    for check in (_claims_3_1, _claims_3_2, _claims_3_3, _claims_3_4, _claims_3_5, _claims_extra):
        check(out, agr)
    return out


def findings(verdicts: list[Claim], agreement: dict) -> dict:
    """What Question 3 found, for the chapter's and the intro's summaries: how many of the report's claims hold,
    which items fail, and how closely the closed forms match autograd, as text ("3.3 × 10⁻¹⁶ (round-off)")."""
    agr = agreement
    ok, wrong, partly = ([v for v in verdicts if v.status is st] for st in (Status.HOLDS, Status.WRONG, Status.PARTLY))
    worst = max(agr["jacobian"], agr["eps_loss_grad_relative"], agr["sparsemax_backward"], agr["relumax_backward"])
    return {"n": len(verdicts), "confirmed": len(ok), "refuted": len(wrong), "partly": len(partly),
            "refuted_items": items(wrong), "partly_items": items(partly), "not_confirmed": len(verdicts) - len(ok),
            "worst": closeness(worst),
            **{k: closeness(agr[k]) for k in ("jacobian", "eps_loss_grad", "eps_loss_grad_relative",
                                              "sparsemax_backward", "relumax_backward")},
            "samples": agr["samples"], "off_support": agr["with_entries_off_support"],
            "report_elementwise": num(agr["report_elementwise"]), "report_matrix": num(agr["report_matrix"])}
