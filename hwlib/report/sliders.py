"""Figures and sliders for Question 3: the K = 2 curves p2(t) and dp2/dt, and a K = 3 simplex view.

* ``k2_plot``            static matplotlib figure of the three maps and their derivatives (3.3).
* ``K2Explorer``         ipywidgets sliders t, b, T (live in Jupyter; a marker at t with the values printed).
* ``k2_slider_figure``   the offline equivalent for the HTML book: a Plotly figure whose b and T sliders
                         restyle precomputed curves (no kernel, no network).
* ``simplex_figure``     K = 3: where softmax / sparsemax / relumax send z as T and b move (ternary plot).

Temperature enters as f(z / T); for z = [0, t] that is p2(t / T), with derivative dp2(t / T) / T.
The two sliders compose: the b slider only toggles which precomputed relumax curve is visible,
the T slider restyles the y data of every curve (each curve keeps its own b).
"""
from __future__ import annotations

import io

import numpy as np

from hwlib.models import maps
from hwlib.errors import ConfigError

COLORS = {"softmax": "#1f77b4", "sparsemax": "#d62728", "relumax": "#2ca02c"}
DEFAULT_BS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
DEFAULT_TS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


# --------------------------------------------------------------------------- curves
def t_grid(lo: float, hi: float, n: int, kinks=()) -> np.ndarray:
    """An even grid on [lo, hi] with the kink locations added, so derivative jumps show as gaps."""
    if not hi > lo or n < 2:
        raise ConfigError(f"t range must have lo < hi and n >= 2, got ({lo}, {hi}), n={n}.")
    extra = [k for k in kinks if lo < k < hi]
    return np.unique(np.concatenate([np.linspace(lo, hi, n), extra]))


def k2_curves(t, b: float = 1.0, T: float = 1.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{name: (p2(z/T)_2, d/dt p2(z/T)_2)} at z = [0, t] (NaN derivative at the kinks)."""
    if not T > 0:
        raise ConfigError(f"T must be > 0, got {T!r}; use e.g. T=1.0.")
    t = np.asarray(t, dtype=np.float64)
    out = {}
    for name in maps.NAMES:
        bb = b if name == "relumax" else None
        out[name] = (maps.p2(name, t / T, bb), maps.dp2(name, t / T, bb) / T)
    return out


def k2_kinks(bs, Ts) -> list[float]:
    """Where a derivative jumps: t = +-T (sparsemax) and t = +-b T (relumax)."""
    ks = {s * T for T in Ts for s in (-1.0, 1.0)}
    ks |= {s * b * T for T in Ts for b in bs for s in (-1.0, 1.0)}
    return sorted(ks)


# --------------------------------------------------------------------------- static figure (3.3)
def k2_plot(bs=(0.5, 1.0, 2.0), T: float = 1.0, t_range=(-3.0, 3.0), n: int = 1201):
    """The three maps at z = [0, t] and their t-derivatives; relumax drawn for each b in ``bs``."""
    import matplotlib.pyplot as plt

    t = t_grid(*t_range, n, k2_kinks(bs, [T]))
    fig, (ax_p, ax_d) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    styles = ["-", "--", ":", "-."]
    for name in ("softmax", "sparsemax"):
        p, d = k2_curves(t, T=T)[name]
        ax_p.plot(t, p, color=COLORS[name], lw=2, label=name)
        ax_d.plot(t, d, color=COLORS[name], lw=2, label=name)
    for j, b in enumerate(bs):
        p, d = k2_curves(t, b=b, T=T)["relumax"]
        ls = styles[j % len(styles)]
        ax_p.plot(t, p, color=COLORS["relumax"], lw=2, ls=ls, label=f"relumax, b = {b:g}")
        ax_d.plot(t, d, color=COLORS["relumax"], lw=2, ls=ls, label=f"relumax, b = {b:g}")
    ax_p.set(xlabel="t", ylabel=r"$p_2$ at $z = [0, t]$", title=f"the three maps (T = {T:g})")
    ax_d.set(xlabel="t", ylabel=r"$\mathrm{d}p_2/\mathrm{d}t$",
             title="their derivatives (gaps: the derivative does not exist)")
    for ax in (ax_p, ax_d):
        ax.grid(alpha=0.3)
        ax.axvline(0, color="0.6", lw=0.8)
    ax_p.legend(loc="upper left", fontsize=9)
    return fig


# --------------------------------------------------------------------------- Jupyter sliders
def _values_table(t: float, b: float, T: float) -> str:
    vals = k2_curves(np.array([t]), b=b, T=T)
    rows = "".join(
        f"<tr><td style='color:{COLORS[n]}'><b>{n}</b></td><td>{vals[n][0][0]:.4f}</td>"
        f"<td>{'does not exist (kink)' if np.isnan(vals[n][1][0]) else f'{vals[n][1][0]:.4f}'}</td></tr>"
        for n in maps.NAMES)
    return (f"<table><tr><th>at t = {t:.2f}, b = {b:.2f}, T = {T:.2f}</th><th>p<sub>2</sub></th>"
            f"<th>dp<sub>2</sub>/dt</th></tr>{rows}</table>")


class K2Explorer:
    """ipywidgets sliders for t, b and T driving the K = 2 curves, with a marker at t and a value table.

    The plot is a PNG (matplotlib) in an ``ipywidgets.Image`` updated in place, so it needs no
    browser-side plotting library. Display the object (last line of a cell) to get the widget.
    """

    def __init__(self, t: float = 0.5, b: float = 1.0, T: float = 1.0, t_range=(-3.0, 3.0)):
        import ipywidgets as w

        self.t_range = t_range
        kw = dict(continuous_update=False, readout_format=".2f")
        self.t = w.FloatSlider(value=t, min=t_range[0], max=t_range[1], step=0.05, description="t", **kw)
        self.b = w.FloatSlider(value=b, min=0.05, max=3.0, step=0.05, description="b", **kw)
        self.T = w.FloatSlider(value=T, min=0.05, max=3.0, step=0.05, description="T", **kw)
        self.readout = w.HTML()
        self.image = w.Image(format="png")
        for s in (self.t, self.b, self.T):
            s.observe(self.update, names="value")
        self.widget = w.VBox([w.HBox([self.t, self.b, self.T]), self.readout, self.image])
        self.update()

    def values(self) -> dict[str, tuple[float, float]]:
        """{name: (p2, dp2/dt)} at the current slider values."""
        v = k2_curves(np.array([self.t.value]), b=self.b.value, T=self.T.value)
        return {n: (float(p[0]), float(d[0])) for n, (p, d) in v.items()}

    def figure(self):
        import matplotlib.pyplot as plt

        b, T, t0 = self.b.value, self.T.value, self.t.value
        t = t_grid(*self.t_range, 601, k2_kinks([b], [T]))
        curves, here = k2_curves(t, b, T), self.values()
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
        for name, (p, d) in curves.items():
            for ax, y, y0 in ((axes[0], p, here[name][0]), (axes[1], d, here[name][1])):
                ax.plot(t, y, color=COLORS[name], lw=2, label=name if name != "relumax" else f"relumax, b = {b:.2f}")
                if np.isfinite(y0):
                    ax.plot([t0], [y0], "o", color=COLORS[name], ms=7)
        for ax, lab in zip(axes, ("$p_2$", "$dp_2/dt$")):
            ax.axvline(t0, color="0.5", lw=0.8, ls="--")
            ax.set(xlabel="t", ylabel=lab)
            ax.grid(alpha=0.3)
        axes[0].legend(loc="upper left", fontsize=8)
        axes[0].set_title(f"z = [0, t] at temperature T = {T:.2f}")
        return fig

    def update(self, change=None) -> None:
        import matplotlib.pyplot as plt

        self.readout.value = _values_table(self.t.value, self.b.value, self.T.value)
        fig = self.figure()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        plt.close(fig)
        self.image.value = buf.getvalue()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


# --------------------------------------------------------------------------- offline Plotly sliders
def _clean(y: np.ndarray) -> list:
    """JSON-friendly list: 5 significant digits, NaN -> None (a gap in the line)."""
    return [None if not np.isfinite(v) else float(f"{v:.5g}") for v in y]


def _slider(label: str, values, active: int, steps_args, y: float, method: str = "restyle") -> dict:
    return {
        "active": active, "y": y, "x": 0.05, "len": 0.9, "pad": {"t": 10},
        "currentvalue": {"prefix": f"{label} = ", "font": {"size": 14}},
        "steps": [{"label": f"{v:g}", "method": method, "args": a} for v, a in zip(values, steps_args)],
        "name": label,
    }


def k2_slider_figure(bs=DEFAULT_BS, Ts=DEFAULT_TS, b0: float = 1.0, T0: float = 1.0,
                     t_range=(-3.0, 3.0), n: int = 201):
    """K = 2 curves with a b slider and a T slider that work in a static page (precomputed data).

    Traces: softmax and sparsemax (p2, dp2/dt), then relumax (p2, dp2/dt) for every b in ``bs``,
    only the b0 pair visible. The b slider restyles ``visible`` of the relumax traces; the T slider
    restyles ``y`` of every trace. ``fig.layout.meta`` records the trace layout for tests.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    bs, Ts = [float(v) for v in bs], [float(v) for v in Ts]
    if b0 not in bs or T0 not in Ts:
        raise ConfigError(f"b0={b0} and T0={T0} must be among the slider values bs={bs}, Ts={Ts}.")
    t = t_grid(*t_range, n, k2_kinks(bs, Ts))
    fig = make_subplots(rows=1, cols=2, subplot_titles=("p₂ at z = [0, t]", "dp₂/dt"), horizontal_spacing=0.08)
    meta = []                       # (name, b or None, which) per trace, which in {"p", "dp"}
    specs = [("softmax", None), ("sparsemax", None)] + [("relumax", b) for b in bs]

    def ys(name, b, T):
        c = k2_curves(t, b=1.0 if b is None else b, T=T)[name]
        return c

    for name, b in specs:
        p, d = ys(name, b, T0)
        label = name if b is None else f"relumax, b = {b:g}"
        vis = b is None or b == b0
        for col, y, which in ((1, p, "p"), (2, d, "dp")):
            fig.add_trace(go.Scatter(x=t, y=_clean(y), mode="lines", name=label, legendgroup=label,
                                     showlegend=which == "p", visible=vis,
                                     hovertemplate=("p₂" if which == "p" else "dp₂/dt") + " = %{y:.3f}",
                                     line={"color": COLORS[name], "width": 2.5}), row=1, col=col)
            meta.append({"name": name, "b": b, "which": which})
    relu_idx = [i for i, m in enumerate(meta) if m["name"] == "relumax"]
    b_steps = [[{"visible": [meta[i]["b"] == b for i in relu_idx]}, relu_idx] for b in bs]
    T_steps = []
    for T in Ts:
        data = []
        for m in meta:
            p, d = ys(m["name"], m["b"], T)
            data.append(_clean(p if m["which"] == "p" else d))
        T_steps.append([{"y": data}, list(range(len(meta)))])
    fig.update_layout(
        sliders=[_slider("b", bs, bs.index(b0), b_steps, y=-0.12),
                 _slider("T", Ts, Ts.index(T0), T_steps, y=-0.42)],
        height=620, margin={"b": 190, "t": 60}, hovermode="x unified",
        legend={"orientation": "h", "y": 1.15},
        meta={"traces": meta, "t": t.tolist(), "bs": bs, "Ts": Ts, "figure": "k2-sliders"},
    )
    fig.update_xaxes(title_text="t", hoverformat=".2f", unifiedhovertitle={"text": "t = %{x:.2f}"})
    return fig


def simplex_figure(z=(1.0, 0.4, -0.3), bs=DEFAULT_BS, Ts=(0.1, 0.2, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0),
                   b0: float = 1.0, T0: float = 1.0):
    """K = 3 ternary view of softmax(z/T), sparsemax(z/T), relumax_b(z/T): paths as T runs over
    (0.02, 50) and markers at the slider values. Sparse outputs lie on the triangle's edges/corners.
    relumax_b(z/T) = relumax_{bT}(z), so its path is the same for every b (b and T are one knob); and
    relumax_b(z) = sparsemax(z / D), so it runs along sparsemax's path (drawn wider, underneath)."""
    import plotly.graph_objects as go

    z = np.asarray(z, dtype=np.float64)
    if z.shape != (3,):
        raise ConfigError(f"the simplex view needs K = 3 scores, got shape {z.shape}.")
    bs, Ts = [float(v) for v in bs], [float(v) for v in Ts]
    if b0 not in bs or T0 not in Ts:
        raise ConfigError(f"b0={b0} and T0={T0} must be among the slider values bs={bs}, Ts={Ts}.")
    dense = np.geomspace(0.02, 50, 400)
    fig = go.Figure()
    meta = []

    def ternary(P, **kw):
        P = np.atleast_2d(P)
        return go.Scatterternary(a=_clean(P[:, 0]), b=_clean(P[:, 1]), c=_clean(P[:, 2]), **kw)

    for name in maps.NAMES:
        # relumax path at b = 1 over the dense T range covers every (b, T) in the sliders' range (bT)
        P = maps.apply(name, z[None, :], b=1.0 if name == "relumax" else None, T=dense[:, None])
        style = {"color": COLORS[name], "width": 6 if name == "sparsemax" else 2.5}   # relumax runs on top
        fig.add_trace(ternary(P, mode="lines", name=f"{name} path", line=style, opacity=0.55, hoverinfo="skip"))
        meta.append({"name": name, "b": None, "kind": "path"})
    specs = [("softmax", None), ("sparsemax", None)] + [("relumax", b) for b in bs]
    for name, b in specs:
        P = maps.apply(name, z, b=b, T=T0)
        fig.add_trace(ternary(P, mode="markers", name=name if b is None else f"relumax, b = {b:g}",
                              hovertemplate="p₁ = %{a:.3f}<br>p₂ = %{b:.3f}<br>p₃ = %{c:.3f}",
                              visible=b is None or b == b0, showlegend=b is None or b == b0,
                              marker={"color": COLORS[name], "size": 13, "line": {"color": "white", "width": 1.5}}))
        meta.append({"name": name, "b": b, "kind": "marker"})
    mk = [i for i, m in enumerate(meta) if m["kind"] == "marker"]
    relu_mk = [i for i in mk if meta[i]["name"] == "relumax"]
    b_steps = [[{"visible": [meta[i]["b"] == b for i in relu_mk], "showlegend": [meta[i]["b"] == b for i in relu_mk]},
                relu_mk] for b in bs]
    T_steps = []
    for T in Ts:
        cols = {"a": [], "b": [], "c": []}
        for i in mk:
            P = maps.apply(meta[i]["name"], z, b=meta[i]["b"], T=T)
            for key, v in zip("abc", P):
                cols[key].append([float(f"{v:.5g}")])
        T_steps.append([cols, mk])
    fig.update_layout(
        ternary={"aaxis": {"title": {"text": "p₁"}, "min": 0}, "baxis": {"title": {"text": "p₂"}, "min": 0},
                 "caxis": {"title": {"text": "p₃"}, "min": 0}},
        title={"text": f"z = [{', '.join(f'{v:g}' for v in z)}]: where each map sends z/T", "x": 0.5},
        sliders=[_slider("b", bs, bs.index(b0), b_steps, y=-0.05),
                 _slider("T", Ts, Ts.index(T0), T_steps, y=-0.32)],
        height=680, margin={"b": 200, "t": 70},
        meta={"traces": meta, "z": z.tolist(), "bs": bs, "Ts": Ts, "figure": "simplex-sliders"},
    )
    return fig
