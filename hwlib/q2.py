"""Question 2 experiments (``python -m hwlib run q2.width`` / ``q2.depth``) and the chapter's tables,
figures and number-driven sentences.

  q2.width  2.2: one hidden layer, widths {16, 32, 64, 128, 256} × lr {1e-4, 3e-4, 1e-3, 3e-3}
            × dropout {0, 0.2} × ℓ2 {0, 1e-4} = 80 runs; Adam, relu, batch 64, 30 epochs.
            The 8 runs of one width and dropout rate (4 lr × 2 ℓ2) train together as one batched
            model (``hwlib.batched``), a "unit"; full-profile units run in 2 worker processes
            (``HWLIB_WORKERS``), one thread each (``HWLIB_THREADS``). Each run's record is saved
            as soon as its unit finishes, so an interrupted grid resumes with the unfinished
            units, losing at most the units in flight (8 runs per worker).
  q2.depth  2.3: width 32, depth L ∈ {1, 3, 5, 7, 9}, with the hyper-parameters of the best
            32-unit run of *our recorded* width grid (read from its records; the grid is run
            first if any of its records are missing). One record per depth.
The quick profile runs the same code for ``EPOCHS["quick"]`` epochs on the small data subset.
"""
from __future__ import annotations

import datetime as _dt
import itertools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from hwlib.batched import fit_batched
from hwlib.errors import ConfigError, ResultError
from hwlib.experiments import Context, experiment
from hwlib.ffn import FFN, FFNConfig, default_device

EPOCHS = {"full": 30, "quick": 3}
GRID_WIDTHS = (16, 32, 64, 128, 256)
GRID_LRS = (1e-4, 3e-4, 1e-3, 3e-3)
GRID_DROPOUTS = (0.0, 0.2)
GRID_L2S = (0.0, 1e-4)
DEPTHS = (1, 3, 5, 7, 9)
DEPTH_WIDTH = 32
OPTIMIZER, ACTIVATION, BATCH_SIZE = "adam", "relu", 64
TUNED = ("lr", "dropout", "l2")  # what the depth study copies from the best 32-unit run

# The original report's numbers (real EMNIST Letters, course split; see shared/brief).
REPORT_WIDTH = {  # width: best run of that width
    16: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.781, "train": 0.793, "test": 0.784},
    32: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.844, "train": 0.864, "test": 0.845},
    64: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.881, "train": 0.909, "test": 0.880},
    128: {"lr": 1e-3, "dropout": 0.0, "l2": 1e-4, "dev": 0.898, "train": 0.938, "test": 0.896},
    256: {"lr": 3e-4, "dropout": 0.2, "l2": 0.0, "dev": 0.909, "train": 0.949, "test": 0.908},
}
REPORT_DEPTH_HPARAMS = {"lr": 3e-4, "dropout": 0.2, "l2": 0.0}  # not its own best 32-unit run
REPORT_DEPTH = {
    1: {"dev": 0.817, "train": 0.828, "test": 0.818},
    3: {"dev": 0.792, "train": 0.803, "test": 0.793},
    5: {"dev": 0.717, "train": 0.725, "test": 0.718},
    7: {"dev": 0.630, "train": 0.637, "test": 0.635},
    9: {"dev": 0.524, "train": 0.533, "test": 0.528},
}
OTHER_GROUP_DEPTH = {1: 0.845, 3: 0.868, 5: 0.866, 7: 0.841, 9: 0.804}  # Adam lr 1e-3, width 32: dev


# ------------------------------------------------------------------------------ configurations
def width_grid_configs(epochs: int = EPOCHS["full"], seed: int = 42) -> list[FFNConfig]:
    """The 80 configurations of 2.2 (from ``GRID_*``), width-major, then dropout, lr, ℓ2."""
    return [FFNConfig(width=w, depth=1, activation=ACTIVATION, dropout=do, lr=lr, l2=l2,
                      optimizer=OPTIMIZER, epochs=epochs, batch_size=BATCH_SIZE, seed=seed)
            for w, do, lr, l2 in itertools.product(GRID_WIDTHS, GRID_DROPOUTS, GRID_LRS, GRID_L2S)]


def run_name(cfg: FFNConfig) -> str:
    """Record name of a width-grid run, e.g. ``w032_lr=0.001_drop=0_l2=0.0001``."""
    return f"w{cfg.width:03d}_lr={cfg.lr:g}_drop={cfg.dropout:g}_l2={cfg.l2:g}"


def depth_run_name(depth: int) -> str:
    return f"depth={depth}"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def is_done(ctx: Context, run: str, cfg: FFNConfig) -> bool:
    """A complete record of ``run`` exists *for this configuration* (a record left by other settings,
    e.g. another number of epochs, is retrained and replaced); always False with ``--force``."""
    if not ctx.done(run):
        return False
    rec = ctx.load(run)
    return all(rec["config"].get(k) == v for k, v in cfg.to_dict().items())


def _save(ctx: Context, run: str, res, *, started: str, extra_config: dict | None = None,
          extra_summary: dict | None = None) -> dict:
    return ctx.save(run, config={**res.config.to_dict(), **(extra_config or {})}, history=res.history,
                    summary={**res.summary(), **(extra_summary or {})},
                    wall_time_s=res.wall_time_s, started=started)


# ------------------------------------------------------------------------------ experiments
def _env_int(name: str) -> int | None:
    env = os.environ.get(name)
    if not env:
        return None
    try:
        n = int(env)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"{name}={env!r} must be a positive integer (or unset for the default)")
    return n


def _threads() -> int:
    """Threads per training process: $HWLIB_THREADS, else 1. On a small shared CPU one thread per
    process is far faster than OpenMP threads that wait on each other at every operation."""
    return _env_int("HWLIB_THREADS") or 1


def workers(profile: str) -> int:
    """Processes training grid units in parallel: $HWLIB_WORKERS, else min(2, CPUs) for the full
    profile on a CPU, 1 (in this process) for the quick profile or on a GPU."""
    n = _env_int("HWLIB_WORKERS")
    if n:
        return n
    if profile != "full" or default_device().type != "cpu":
        return 1
    return max(1, min(2, os.cpu_count() or 1))


SHARED_UNIT_MAX_WIDTH = 64  # up to this width all 16 runs of a width form one unit


def grid_units(cfgs: list[FFNConfig], shared_max_width: int | None = None) -> list[list[FFNConfig]]:
    """Configurations trained together (``fit_batched``). Up to ``shared_max_width`` units, all runs
    of a width form one unit (16 nets): narrow nets spend most of a step in per-operation overhead,
    which a bigger unit shares. Wider nets go in units of one width and dropout rate (8 nets), so
    that two processes can share the expensive widths. Inside a unit the dropout nets come last (the
    masks cover one contiguous range); units are ordered by cost, largest first, dropout units first
    among equals, so that parallel workers finish together."""
    if shared_max_width is None:
        shared_max_width = SHARED_UNIT_MAX_WIDTH
    units: dict[tuple, list[FFNConfig]] = {}
    for c in cfgs:
        key = (c.width,) if c.width <= shared_max_width else (c.width, c.dropout)
        units.setdefault(key, []).append(c)
    units = [sorted(u, key=lambda c: c.dropout) for u in units.values()]
    return sorted(units, key=lambda u: (-u[0].width * len(u), -u[-1].dropout))


_WORKER: dict = {}


def _init_worker(train, dev, test, threads: int) -> None:
    torch.set_num_threads(threads)
    threadpool_limits(threads, user_api="blas")  # numpy's BLAS runs the first-layer products
    _WORKER.update(train=train, dev=dev, test=test)


def _unit_dropout(unit: list[FFNConfig]) -> str:
    rates = sorted({c.dropout for c in unit})
    return f"dropout {rates[0]:g}" if len(rates) == 1 else "dropout {" + ", ".join(f"{r:g}" for r in rates) + "}"


def _train_unit(unit: list[FFNConfig]):
    t0, started = time.perf_counter(), _now()
    c, E = unit[0], unit[0].epochs
    every = max(1, E // 6)

    def progress(epoch, hist):
        if epoch and (epoch % every == 0 or epoch == E):
            print(f"[q2] width {c.width}, depth {c.depth}, {_unit_dropout(unit)}: epoch {epoch}/{E}, "
                  f"{time.perf_counter() - t0:.0f} s, best dev so far {hist['dev_acc'].max():.4f}", flush=True)

    res = fit_batched(unit, _WORKER["train"], _WORKER["dev"], _WORKER["test"], log=progress)
    return res, started, time.perf_counter() - t0


def train_units(units: list[list[FFNConfig]], data, n_workers: int, on_done) -> None:
    """Train each unit with ``fit_batched``; call ``on_done(unit, results, started, wall_s)`` as each
    finishes (in this process when ``n_workers`` is 1, else in a pool of spawned processes)."""
    threads = _threads()
    if n_workers <= 1 or len(units) <= 1:
        prev = torch.get_num_threads()
        with threadpool_limits(threads, user_api="blas"):
            _init_worker(data.train, data.dev, data.test, threads)
            try:
                for u in units:
                    on_done(u, *_train_unit(u))
            finally:
                torch.set_num_threads(prev)
                _WORKER.clear()
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(n_workers, len(units)), mp_context=ctx, initializer=_init_worker,
                             initargs=(data.train, data.dev, data.test, threads)) as pool:
        futures = {pool.submit(_train_unit, u): u for u in units}
        try:
            for f in as_completed(futures):
                on_done(futures[f], *f.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise


# ------------------------------------------------------------------------------ experiments
@experiment("q2.width", help="Q2.2: 80 one-hidden-layer nets (5 widths × 4 lr × 2 dropout × 2 ℓ2), Adam, relu")
def width_study(ctx: Context) -> None:
    """Train every unfinished run of the width grid, in the units of ``grid_units``."""
    cfgs = [c for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed) if not is_done(ctx, run_name(c), c)]
    if not cfgs:
        return
    units = grid_units(cfgs)
    n_workers = workers(ctx.profile)
    print(f"[q2.width] {len(cfgs)} runs to train in {len(units)} units of up to {max(map(len, units))} nets, "
          f"{n_workers} worker process(es) × {_threads()} thread(s)", flush=True)

    def save(unit, results, started, wall):
        for res in results:
            _save(ctx, run_name(res.config), res, started=started,
                  extra_config={"trained_with": f"hwlib.batched.fit_batched, {len(unit)} nets at once"},
                  extra_summary={"unit_wall_time_s": wall, "unit_nets": len(unit),
                                 "load_avg_1min_at_save": os.getloadavg()[0]})
        best = max(results, key=lambda r: r.best_dev_acc)
        print(f"[q2.width] width {unit[0].width}, {_unit_dropout(unit)}: {wall:.0f} s; best dev "
              f"{best.best_dev_acc:.4f} ({run_name(best.config)})", flush=True)

    train_units(units, ctx.data, n_workers, save)


def best_record(records: list[dict], width: int | None = None) -> dict:
    """The record with the highest best-dev accuracy (of one width, if given). Ties go to the run
    that reached it first (fewer epochs), then to the run name's order."""
    recs = [r for r in records if width is None or r["config"]["width"] == width]
    if not recs:
        raise ResultError(f"no width-grid records{f' of width {width}' if width else ''}; "
                          "run `python -m hwlib run q2.width` first")
    return sorted(recs, key=lambda r: (-r["summary"]["best_dev_acc"], r["summary"]["best_epoch"],
                                       r["run"]))[0]


def depth_hparams(width_records: list[dict]) -> tuple[dict, dict]:
    """(lr/dropout/ℓ2 of the best 32-unit run, that run's record) — read from records, never typed."""
    rec = best_record(width_records, DEPTH_WIDTH)
    return {k: rec["config"][k] for k in TUNED}, rec


@experiment("q2.depth", help="Q2.3: width 32, depth 1/3/5/7/9 with the best 32-unit hyper-parameters of q2.width")
def depth_study(ctx: Context) -> None:
    """Train each unfinished depth with the best 32-unit settings of the recorded width grid."""
    grid = Context("q2.width", ctx.profile, force=False, seed=ctx.seed, root=ctx.root,
                   data_path=ctx.data_path, _data=ctx._data)
    if any(not is_done(grid, run_name(c), c) for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)):
        print("[q2.depth] the width grid is incomplete; running q2.width first", flush=True)
        width_study(grid)
    ctx._data = grid._data or ctx._data
    names = {run_name(c) for c in width_grid_configs(EPOCHS[ctx.profile], ctx.seed)}
    hp, src = depth_hparams([r for r in grid.records() if r["run"] in names])
    print(f"[q2.depth] hyper-parameters from {src['run']} (best dev {src['summary']['best_dev_acc']:.4f}): {hp}")
    cfgs = [FFNConfig(width=DEPTH_WIDTH, depth=L, activation=ACTIVATION, optimizer=OPTIMIZER,
                      epochs=EPOCHS[ctx.profile], batch_size=BATCH_SIZE, seed=ctx.seed, **hp)
            for L in DEPTHS]
    todo = [c for c in cfgs if not is_done(ctx, depth_run_name(c.depth), c)]

    def save(unit, results, started, wall):
        res = results[0]
        _save(ctx, depth_run_name(res.config.depth), res, started=started,
              extra_config={"hparams_from": f"q2.width/{src['run']}",
                            "hparams_from_dev_acc": src["summary"]["best_dev_acc"],
                            "trained_with": "hwlib.batched.fit_batched, 1 net"},
              extra_summary={"load_avg_1min_at_save": os.getloadavg()[0]})
        print(f"[q2.depth] depth {res.config.depth}: {wall:.0f} s; best dev {res.best_dev_acc:.4f} "
              f"at epoch {res.best_epoch}", flush=True)

    # deepest first, so that parallel workers finish together
    train_units([[c] for c in sorted(todo, key=lambda c: -c.depth)], ctx.data, workers(ctx.profile), save)


# ------------------------------------------------------------------------------ chapter helpers
def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def _pts(x: float) -> str:
    """A difference of accuracies in percentage points."""
    return f"{100 * x:+.1f} points"


def dev_noise(record: dict) -> float:
    """Two standard errors of a dev accuracy near this record's: 2·√(p(1−p)/n), n = dev size."""
    n = record.get("dataset", {}).get("sizes", {}).get("dev") or 0
    p = record["summary"]["best_dev_acc"]
    return 2 * float(np.sqrt(p * (1 - p) / n)) if n else 0.0


def _hp(c: dict) -> str:
    return f"lr {c['lr']:g}, dropout {c['dropout']:g}, ℓ2 {c['l2']:g}"


def _grid_sorted(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda r: (r["config"]["width"], r["config"]["dropout"],
                                          r["config"]["lr"], r["config"]["l2"]))


def widths_of(records: list[dict]) -> list[int]:
    return sorted({r["config"]["width"] for r in records})


def best_per_width(records: list[dict]) -> dict[int, dict]:
    return {w: best_record(records, w) for w in widths_of(records)}


def find_run(records: list[dict], **config) -> dict | None:
    """The record whose config has these values (e.g. width=32, lr=3e-4, dropout=0.2, l2=0)."""
    for r in records:
        if all(np.isclose(r["config"][k], v) for k, v in config.items()):
            return r
    return None


def epochs_of(records: list[dict]) -> int:
    return records[0]["config"]["epochs"]


def width_table(records: list[dict]):
    """All runs grouped by width (then dropout, lr, ℓ2): best dev accuracy and its epoch, final
    train accuracy, test accuracy of the best-dev checkpoint. The best run of each width in bold."""
    from hwlib.book import html_table
    recs = _grid_sorted(records)
    best = {r["run"] for r in best_per_width(recs).values()}
    rows = []
    for r in recs:
        c, s = r["config"], r["summary"]
        rows.append([c["width"], f"{c['lr']:g}", f"{c['dropout']:g}", f"{c['l2']:g}",
                     f"{s['best_dev_acc']:.4f}", s["best_epoch"], f"{s['final_train_acc']:.4f}",
                     f"{s['test_acc']:.4f}"])
    return html_table(["width", "lr", "dropout", "ℓ2", "best dev acc", "at epoch",
                       "final train acc", "test acc (best-dev checkpoint)"], rows,
                      highlight={i for i, r in enumerate(recs) if r["run"] in best},
                      caption=f"{len(recs)} runs, {epochs_of(recs)} epochs each; bold = best dev accuracy of its width.")


def width_pivot_table(records: list[dict]):
    """Compact 2.2(a) table: one row per (width, lr), one column per (dropout, ℓ2); each cell the
    run's best dev accuracy. The best run of each width in bold, the overall best also marked ★."""
    import html as _html

    from hwlib.book import HTMLBlock
    cols = sorted({(r["config"]["dropout"], r["config"]["l2"]) for r in records})
    lrs = sorted({r["config"]["lr"] for r in records})
    bw = {r["run"] for r in best_per_width(records).values()}
    top = best_record_any(records)["run"]
    cell = {(r["config"]["width"], r["config"]["lr"], r["config"]["dropout"], r["config"]["l2"]): r for r in records}
    head = "".join(f"<th>dropout {d:g}<br>ℓ2 {l:g}</th>" for d, l in cols)
    rows = []
    for w in widths_of(records):
        for i, lr in enumerate(lrs):
            tds = []
            for d, l in cols:
                r = cell.get((w, lr, d, l))
                if r is None:
                    tds.append("<td>—</td>")
                    continue
                v = f"{r['summary']['best_dev_acc']:.4f}"
                if r["run"] in bw:
                    v = f"<b>{v}{' ★' if r['run'] == top else ''}</b>"
                tds.append(f'<td title="{_html.escape(r["run"])}">{v}</td>')
            wcell = f'<th rowspan="{len(lrs)}">{w}</th>' if i == 0 else ""
            rows.append(f"<tr>{wcell}<td>{lr:g}</td>{''.join(tds)}</tr>")
    cap = (f"Best dev accuracy of each of the {len(records)} runs ({epochs_of(records)} epochs, best-dev "
           f"checkpoint). Bold: best run of its width; ★: best overall.")
    return HTMLBlock(f'<table class="table"><caption>{cap}</caption><thead><tr><th>width</th><th>lr</th>{head}'
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def width_comparison_table(records: list[dict]):
    """Best run per width: ours beside the report's (its numbers are on real EMNIST Letters)."""
    from hwlib.book import html_table
    rows = []
    for w, r in best_per_width(records).items():
        c, s = r["config"], r["summary"]
        rep = REPORT_WIDTH.get(w)
        rows.append([w, _hp(c), f"{s['best_dev_acc']:.3f}", f"{s['final_train_acc']:.3f}", f"{s['test_acc']:.3f}",
                     _hp(rep) if rep else "—", f"{rep['dev']:.3f}" if rep else "—",
                     f"{rep['train']:.3f}" if rep else "—", f"{rep['test']:.3f}" if rep else "—"])
    return html_table(["width", "ours: settings", "dev", "train (final)", "test",
                       "report: settings", "dev", "train", "test"], rows,
                      caption="Best run of each width by dev accuracy. Report = the original report, real EMNIST Letters.")


def depth_table(depth_records: list[dict]):
    """Per depth: best dev accuracy (epoch), final train accuracy, test accuracy; the report's beside."""
    from hwlib.book import html_table
    recs = sorted(depth_records, key=lambda r: r["config"]["depth"])
    best = best_record_any(recs)
    rows = []
    for r in recs:
        L, s = r["config"]["depth"], r["summary"]
        rep = REPORT_DEPTH.get(L)
        rows.append([L, f"{s['best_dev_acc']:.4f}", s["best_epoch"], f"{s['final_train_acc']:.4f}",
                     f"{s['test_acc']:.4f}", f"{rep['dev']:.3f}" if rep else "—",
                     f"{rep['train']:.3f}" if rep else "—", f"{rep['test']:.3f}" if rep else "—",
                     f"{OTHER_GROUP_DEPTH[L]:.3f}" if L in OTHER_GROUP_DEPTH else "—"])
    c = recs[0]["config"]
    return html_table(["depth", "best dev acc", "at epoch", "final train acc", "test acc",
                       "report: dev", "report: train", "report: test", "other group: dev"], rows,
                      highlight={recs.index(best)},
                      caption=f"Width 32, ours with {_hp(c)} (the best 32-unit run of our grid); report with "
                              f"{_hp(REPORT_DEPTH_HPARAMS)}; other group: Adam lr 1e-3. Bold = our best depth.")


def best_record_any(records: list[dict]) -> dict:
    """Highest best-dev accuracy; ties to the earlier epoch, then run name."""
    return sorted(records, key=lambda r: (-r["summary"]["best_dev_acc"], r["summary"]["best_epoch"], r["run"]))[0]


def dev_vs_width_figure(records: list[dict]):
    """Every run's best dev accuracy against width (log scale), the best per width joined, the
    report's best per width beside."""
    import plotly.graph_objects as go
    fig = go.Figure()
    for do in sorted({r["config"]["dropout"] for r in records}):
        rs = [r for r in records if r["config"]["dropout"] == do]
        fig.add_trace(go.Scatter(
            x=[r["config"]["width"] for r in rs], y=[r["summary"]["best_dev_acc"] for r in rs],
            mode="markers", name=f"each run, dropout {do:g}", opacity=0.55,
            marker=dict(symbol="circle" if do == 0 else "diamond", size=8),
            text=[_hp(r["config"]) for r in rs], hovertemplate="width %{x}<br>%{text}<br>dev %{y:.4f}"))
    bw = best_per_width(records)
    fig.add_trace(go.Scatter(x=list(bw), y=[r["summary"]["best_dev_acc"] for r in bw.values()],
                             mode="lines+markers", name="ours: best per width", line=dict(width=3)))
    fig.add_trace(go.Scatter(x=list(REPORT_WIDTH), y=[v["dev"] for v in REPORT_WIDTH.values()],
                             mode="lines+markers", name="report (real EMNIST): best per width",
                             line=dict(dash="dash", color="gray")))
    fig.update_xaxes(type="log", tickvals=list(bw), title_text="hidden units (one layer)")
    fig.update_yaxes(title_text="best dev accuracy", tickformat=".0%")
    fig.update_layout(title="2.2(a) Dev accuracy against width", height=440,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=60))
    return fig


def curves_figure(record: dict, title: str | None = None):
    """Two panels per epoch (0 = before training): train and dev loss; train and dev accuracy;
    the best-dev epoch marked with its test accuracy."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    h, s = record["history"], record["summary"]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                        subplot_titles=("cross-entropy (whole split, eval mode; log scale)", "accuracy"))
    for col, (a, b) in ((1, ("train_loss", "dev_loss")), (2, ("train_acc", "dev_acc"))):
        fig.add_trace(go.Scatter(x=h["epoch"], y=h[a], name=a.replace("_", " "), mode="lines+markers",
                                 line=dict(color="#1f77b4"), legendgroup=a), 1, col)
        fig.add_trace(go.Scatter(x=h["epoch"], y=h[b], name=b.replace("_", " "), mode="lines+markers",
                                 line=dict(color="#ff7f0e"), legendgroup=b), 1, col)
        fig.add_vline(x=s["best_epoch"], line_dash="dot", line_color="crimson", row=1, col=col)
    fig.add_trace(go.Scatter(x=[s["best_epoch"]], y=[s["best_dev_acc"]], mode="markers",
                             marker=dict(symbol="star", size=15, color="crimson"),
                             name=f"best dev {_pct(s['best_dev_acc'])} (epoch {s['best_epoch']}); "
                                  f"test {_pct(s['test_acc'])}"), 1, 2)
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_layout(title=title or record["run"], height=430, legend=dict(orientation="h", y=-0.25),
                      margin=dict(t=70))
    return fig


def train_vs_width_figure(records: list[dict]):
    """Final train accuracy of the best run of each width (and the best final train accuracy any
    run of that width reached), with dev accuracy and the report's train accuracy."""
    import plotly.graph_objects as go
    bw = best_per_width(records)
    ws = list(bw)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ws, y=[r["summary"]["final_train_acc"] for r in bw.values()],
                             mode="lines+markers", name="best run: final train accuracy", line=dict(width=3)))
    fig.add_trace(go.Scatter(x=ws, y=[r["summary"]["best_dev_acc"] for r in bw.values()],
                             mode="lines+markers", name="best run: best dev accuracy"))
    fig.add_trace(go.Scatter(x=ws, y=[max(r["summary"]["final_train_acc"] for r in records
                                          if r["config"]["width"] == w) for w in ws],
                             mode="lines+markers", name="highest final train accuracy of any run",
                             line=dict(dash="dot")))
    fig.add_trace(go.Scatter(x=list(REPORT_WIDTH), y=[v["train"] for v in REPORT_WIDTH.values()],
                             mode="lines+markers", name="report: train accuracy of its best run",
                             line=dict(dash="dash", color="gray")))
    fig.update_xaxes(type="log", tickvals=ws, title_text="hidden units (one layer)")
    fig.update_yaxes(title_text="accuracy", tickformat=".0%")
    fig.update_layout(title="2.2(c) Final training accuracy against width", height=440,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=60))
    return fig


def train_vs_depth_figure(depth_records: list[dict]):
    """Final train accuracy and best dev accuracy against depth; the report's and another group's."""
    import plotly.graph_objects as go
    recs = sorted(depth_records, key=lambda r: r["config"]["depth"])
    Ls = [r["config"]["depth"] for r in recs]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=Ls, y=[r["summary"]["final_train_acc"] for r in recs], mode="lines+markers",
                             name="ours: final train accuracy", line=dict(width=3)))
    fig.add_trace(go.Scatter(x=Ls, y=[r["summary"]["best_dev_acc"] for r in recs], mode="lines+markers",
                             name="ours: best dev accuracy"))
    fig.add_trace(go.Scatter(x=list(REPORT_DEPTH), y=[v["train"] for v in REPORT_DEPTH.values()],
                             mode="lines+markers", name=f"report: train ({_hp(REPORT_DEPTH_HPARAMS)})",
                             line=dict(dash="dash", color="gray")))
    fig.add_trace(go.Scatter(x=list(OTHER_GROUP_DEPTH), y=list(OTHER_GROUP_DEPTH.values()),
                             mode="lines+markers", name="another group: dev (Adam lr 1e-3)",
                             line=dict(dash="dot", color="silver")))
    fig.update_xaxes(tickvals=Ls, title_text="hidden layers of 32 units")
    fig.update_yaxes(title_text="accuracy", tickformat=".0%")
    fig.update_layout(title="2.3(c) Training accuracy against depth", height=440,
                      legend=dict(orientation="h", y=-0.25), margin=dict(t=60))
    return fig


# ---------------------------------------------------------------- sentences computed from records
def _trend(values: list[float], tol: float = 0.002) -> str:
    d = np.diff(values)
    if (d > tol).all():
        return "rises at every step"
    if (d < -tol).all():
        return "falls at every step"
    if (d > -tol).all():
        return "never falls by more than 0.2 points from one step to the next"
    if (d < tol).all():
        return "never rises by more than 0.2 points from one step to the next"
    return "is not monotone"


def width_trend_text(records: list[dict]) -> str:
    """Markdown: how the best dev accuracy changes with width, which settings win, vs the report."""
    bw = best_per_width(records)
    ws = list(bw)
    dev = [r["summary"]["best_dev_acc"] for r in bw.values()]
    steps = ", ".join(f"{a}→{b}: {_pts(y - x)}" for a, b, x, y in zip(ws, ws[1:], dev, dev[1:]))
    gains = np.diff(dev)
    shrink = len(gains) > 1 and all(g2 < g1 for g1, g2 in zip(gains, gains[1:]))
    top = best_record_any(records)
    lrs = sorted({r["config"]["lr"] for r in bw.values()})
    drop = [w for w, r in bw.items() if r["config"]["dropout"] > 0]
    l2 = [w for w, r in bw.items() if r["config"]["l2"] > 0]
    parts = [
        f"The best dev accuracy per width goes from {_pct(dev[0])} at {ws[0]} units to {_pct(dev[-1])} at "
        f"{ws[-1]} units; as the width doubles it {_trend(dev)} ({steps})."]
    if len(gains) > 1:
        parts.append("Each doubling buys less than the one before — diminishing returns."
                     if shrink else "The gains per doubling do not shrink steadily.")
    rivals = [r for r in records if r is not top and
              top["summary"]["best_dev_acc"] - r["summary"]["best_dev_acc"] <= dev_noise(top)]
    close = (f" ({len(rivals)} other run{'s are' if len(rivals) > 1 else ' is'} within two standard errors "
             f"of a dev accuracy, ±{100 * dev_noise(top):.2f} points, e.g. {rivals[0]['config']['width']} units "
             f"with {_hp(rivals[0]['config'])} at {_pct(rivals[0]['summary']['best_dev_acc'], 2)}, so the "
             f"ranking at the top is not decisive)" if rivals else "")
    parts.append(f"The overall best run is {top['config']['width']} units with {_hp(top['config'])}{close}. "
                 f"Learning rates of the winners: {', '.join(f'{x:g}' for x in lrs)}; dropout 0.2 wins at "
                 f"{'widths ' + ', '.join(map(str, drop)) if drop else 'no width'}, ℓ2 1e-4 at "
                 f"{'widths ' + ', '.join(map(str, l2)) if l2 else 'no width'}.")
    common = [w for w in ws if w in REPORT_WIDTH]
    if common:
        d = [bw[w]["summary"]["best_dev_acc"] - REPORT_WIDTH[w]["dev"] for w in common]
        parts.append(f"Against the report's best per width (real EMNIST), ours differ by "
                     f"{_pts(min(d))} to {_pts(max(d))}.")
    return " ".join(parts)


def factor_effects(records: list[dict]) -> dict[str, float]:
    """Main effect of each tuned hyper-parameter: for each width, the spread (max − min) of the
    mean best-dev accuracy across that parameter's values (averaging over the others), then the
    mean of those spreads over widths."""
    out = {}
    for k in TUNED:
        spreads = []
        for w in widths_of(records):
            rs = [r for r in records if r["config"]["width"] == w]
            means = [np.mean([r["summary"]["best_dev_acc"] for r in rs if r["config"][k] == v])
                     for v in sorted({r["config"][k] for r in rs})]
            spreads.append(max(means) - min(means))
        out[k] = float(np.mean(spreads))
    return out


def factor_effects_text(records: list[dict]) -> str:
    """Markdown: the spread within widths, and which hyper-parameter moves dev accuracy most."""
    eff = factor_effects(records)
    names = {"lr": "the learning rate", "dropout": "dropout", "l2": "ℓ2"}
    order = sorted(eff, key=lambda k: -eff[k])
    spread = [max(r["summary"]["best_dev_acc"] for r in records if r["config"]["width"] == w)
              - min(r["summary"]["best_dev_acc"] for r in records if r["config"]["width"] == w)
              for w in widths_of(records)]
    w_gain = max(r["summary"]["best_dev_acc"] for r in best_per_width(records).values()) - min(
        r["summary"]["best_dev_acc"] for r in best_per_width(records).values())
    return (f"Within one width, the best and the worst run differ by {_pts(min(spread))[1:]} to "
            f"{_pts(max(spread))[1:]}; the best runs of the {len(spread)} widths span {_pts(w_gain)[1:]}. Averaged over the other settings, changing "
            + "; ".join(f"{names[k]} moves dev accuracy by {_pts(eff[k])[1:]}" for k in order)
            + f" (mean over widths of the spread between its values): {names[order[0]]} matters most.")


def curve_text(record: dict, what: str = "run") -> str:
    """Markdown: convergence and over/underfitting read off one run's per-epoch history."""
    h, s = record["history"], record["summary"]
    E = h["epoch"][-1]
    tl, dl, ta, da = (np.asarray(h[k]) for k in ("train_loss", "dev_loss", "train_acc", "dev_acc"))
    k = max(1, min(5, E // 3))
    late = tl[-1] - tl[-1 - k]
    dmin = int(np.argmin(dl))
    gap_end = ta[-1] - da[-1]
    drop_after = s["best_dev_acc"] - da[-1]
    out = [f"This {what} reaches its best dev accuracy, {_pct(s['best_dev_acc'], 2)}, at epoch "
           f"{s['best_epoch']} of {E}; the test accuracy of that checkpoint is **{_pct(s['test_acc'], 2)}**."]
    out.append(f"The training loss falls from {tl[0]:.3f} before training to {tl[-1]:.3f}; over the last "
               f"{k} epoch{'s' if k > 1 else ''} it changes by {late:+.3f} "
               + ("(still going down: training has not converged in the sense of a flat loss)."
                  if late < -0.01 * tl[-1] else "(essentially flat: training has converged)."))
    if dmin < E and dl[-1] > dl[dmin] * 1.02:
        out.append(f"The dev loss is lowest at epoch {dmin} ({dl[dmin]:.3f}) and then rises to {dl[-1]:.3f} "
                   f"while the training loss keeps falling — the signature of overfitting: the network "
                   f"becomes more confident on training letters than the dev letters justify.")
    else:
        out.append(f"The dev loss is lowest at epoch {dmin} ({dl[dmin]:.3f}) and ends at {dl[-1]:.3f}, "
                   f"so it has not turned upwards: no sign of overfitting in the loss.")
    out.append(f"At the end the train accuracy exceeds the dev accuracy by {_pts(gap_end)[1:]}"
               if gap_end >= 0 else f"At the end the dev accuracy exceeds the train accuracy by {_pts(-gap_end)[1:]}")
    out[-1] += (f", and the final dev accuracy is {_pts(drop_after)[1:]} below the best epoch's." if drop_after > 0
                else ", and the last epoch is also the best one.")
    if ta[-1] < 0.97:
        out.append(f"Training accuracy itself ends at {_pct(ta[-1])}, short of 100%: with these settings and "
                   f"this many epochs the model does not fit its own training set — by that measure it "
                   f"still underfits, whatever the dev curve does.")
    return " ".join(out)


def train_width_text(records: list[dict]) -> str:
    """Markdown: final train accuracy of the best run per width, and the best any run reached."""
    bw = best_per_width(records)
    ws = list(bw)
    tr = [r["summary"]["final_train_acc"] for r in bw.values()]
    mx = [max(r["summary"]["final_train_acc"] for r in records if r["config"]["width"] == w) for w in ws]
    gap = [r["summary"]["final_train_acc"] - r["summary"]["best_dev_acc"] for r in bw.values()]
    out = [f"The final training accuracy of each width's best run goes from {_pct(tr[0])} ({ws[0]} units) "
           f"to {_pct(tr[-1])} ({ws[-1]} units); as the width doubles it {_trend(tr)}. The highest final training "
           f"accuracy of any run of a width goes from {_pct(mx[0])} to {_pct(mx[-1])}."]
    full = [w for w, m in zip(ws, mx) if m >= 1.0]
    out.append(f"Some run reaches 100% training accuracy at width {', '.join(map(str, full))}." if full else
               f"No run reaches 100% training accuracy in {epochs_of(records)} epochs.")
    out.append(f"The train−dev gap of the best run is {_pts(gap[0])[1:]} at {ws[0]} units and "
               f"{_pts(gap[-1])[1:]} at {ws[-1]} units.")
    return " ".join(out)


def depth_hparams_text(width_records: list[dict], depth_records: list[dict]) -> str:
    """Markdown: which settings the depth study used (from the records) vs the report's choice."""
    hp, src = depth_hparams(width_records)
    used = {k: depth_records[0]["config"][k] for k in TUNED}
    rep = find_run(width_records, width=DEPTH_WIDTH, **REPORT_DEPTH_HPARAMS)
    ranked = sorted((r for r in width_records if r["config"]["width"] == DEPTH_WIDTH),
                    key=lambda r: -r["summary"]["best_dev_acc"])
    out = [f"Our best {DEPTH_WIDTH}-unit run is `{src['run']}` ({_hp(src['config'])}; best dev "
           f"{_pct(src['summary']['best_dev_acc'], 2)}), and the depth study "
           + ("used exactly these settings, read from the record." if used == hp else
              f"used {_hp(used)} — **not** the current best; rerun `python -m hwlib run q2.depth --force`.")]
    if rep is not None:
        out.append(f"The report's depth settings ({_hp(REPORT_DEPTH_HPARAMS)}) rank "
                   f"{ranked.index(rep) + 1} of {len(ranked)} among our {DEPTH_WIDTH}-unit runs (best dev "
                   f"{_pct(rep['summary']['best_dev_acc'], 2)}, {_pts(rep['summary']['best_dev_acc'] - src['summary']['best_dev_acc'])} "
                   f"from our best).")
    return " ".join(out)


def depth_trend_text(depth_records: list[dict], width_records: list[dict] | None = None) -> str:
    """Markdown: how dev and train accuracy change with depth, vs the report's monotone decline."""
    recs = sorted(depth_records, key=lambda r: r["config"]["depth"])
    Ls = [r["config"]["depth"] for r in recs]
    dev = [r["summary"]["best_dev_acc"] for r in recs]
    tr = [r["summary"]["final_train_acc"] for r in recs]
    best = best_record_any(recs)
    bl = best["config"]["depth"]
    out = [f"With our settings the best dev accuracy per depth is "
           + ", ".join(f"{L}: {_pct(d)}" for L, d in zip(Ls, dev))
           + f". The best depth is **{bl}** ({_pct(best['summary']['best_dev_acc'], 2)}, test "
             f"{_pct(best['summary']['test_acc'], 2)}); the deepest net ({Ls[-1]} layers) is "
             f"{_pts(dev[-1] - dev[0])[1:] if dev[-1] >= dev[0] else _pts(dev[0] - dev[-1])[1:]} "
             f"{'above' if dev[-1] >= dev[0] else 'below'} the one-layer net."]
    ties = [r["config"]["depth"] for r in recs if r is not best
            and best["summary"]["best_dev_acc"] - r["summary"]["best_dev_acc"] <= dev_noise(best)]
    if ties:
        out.append(f"Depth {', '.join(map(str, ties))} {'is' if len(ties) == 1 else 'are'} within two standard "
                   f"errors of a dev accuracy (±{100 * dev_noise(best):.2f} points) of the best, so "
                   f"{'it is' if len(ties) == 1 else 'they are'} as good on this evidence.")
    out.append(f"Final training accuracy: " + ", ".join(f"{L}: {_pct(t)}" for L, t in zip(Ls, tr))
               + f" — as layers are added it {_trend(tr)}.")
    rep = [REPORT_DEPTH[L]["dev"] for L in Ls if L in REPORT_DEPTH]
    if len(rep) == len(Ls):
        agree = (np.sign(np.diff(dev)) == np.sign(np.diff(rep))).mean()
        out.append(f"The report's dev accuracy falls at every added pair of layers "
                   f"({_pct(rep[0])} → {_pct(rep[-1])}); ours moves in the same direction at "
                   f"{int(round(agree * (len(Ls) - 1)))} of {len(Ls) - 1} steps.")
    return " ".join(out)


def depth_fit_text(depth_records: list[dict]) -> str:
    """Markdown: does depth help the net fit its training set, and is the deep nets' problem
    optimisation (train accuracy falls too) or overfitting (train rises while dev falls)?"""
    recs = sorted(depth_records, key=lambda r: r["config"]["depth"])
    Ls = [r["config"]["depth"] for r in recs]
    tr = [r["summary"]["final_train_acc"] for r in recs]
    gap = [r["summary"]["final_train_acc"] - r["summary"]["best_dev_acc"] for r in recs]
    k = int(np.argmax(tr))
    better = [L for L, t in zip(Ls[1:], tr[1:]) if t > tr[0]]
    many = "All" if len(better) == len(Ls) - 1 else f"{len(better)} of the"
    out = [f"{many} {len(Ls) - 1} deeper networks fit the training set better than the one-layer "
           f"network ({_pct(tr[0])})" + (f": depth {', '.join(map(str, better))}." if better else ".")]
    if k < len(Ls) - 1:
        out.append(f"Training accuracy peaks at {Ls[k]} layers ({_pct(tr[k])}) and falls to {_pct(tr[-1])} at "
                   f"{Ls[-1]} layers: the deepest networks have more parameters than the {Ls[k]}-layer one yet "
                   f"fit their own training data less well, so what limits them is optimisation, not "
                   f"overfitting.")
    else:
        out.append(f"Training accuracy is highest at the greatest depth ({_pct(tr[-1])}).")
    out.append(f"The gap between final train and best dev accuracy stays between {_pts(min(gap))[1:]} and "
               f"{_pts(max(gap))[1:]} across depths" + (", so depth does not bring overfitting here."
                                                        if max(gap) < 0.05 else "."))
    return " ".join(out)


def init_signal(X: np.ndarray, depths=DEPTHS, width: int = DEPTH_WIDTH, seed: int = 42) -> dict:
    """What a net of each depth does at initialisation (PyTorch's default U(±1/√fan_in) weights and
    biases, seed ``seed``) on images ``X`` (N, 28, 28) with random labels: the standard deviation of
    each hidden layer's activations, and the norm of the gradient of the mean cross-entropy with
    respect to each hidden layer's weight matrix (first layer first)."""
    Xt = torch.as_tensor(np.asarray(X).reshape(len(X), -1), dtype=torch.float32) / 256.0
    y = torch.as_tensor(np.random.default_rng(seed).integers(0, 26, len(X)))
    out = {}
    for L in depths:
        torch.manual_seed(seed)
        m = FFN(width=width, depth=L).eval()
        h, stds = Xt, []
        for layer in m.layers:
            h = layer(h)
            if isinstance(layer, torch.nn.Dropout):
                stds.append(float(h.detach().std()))
        torch.nn.functional.cross_entropy(h, y).backward()
        out[L] = {"act_std": stds, "grad": [float(l.weight.grad.norm()) for l in m.linears()[:-1]]}
    return out


def init_signal_text(sig: dict) -> str:
    """Markdown: how the gradient reaching the first layer shrinks with depth at initialisation."""
    Ls = sorted(sig)
    g1, gL = sig[Ls[0]]["grad"][0], sig[Ls[-1]]["grad"]
    per_layer = (gL[0] / gL[-1]) ** (1 / (len(gL) - 1)) if len(gL) > 1 else 1.0
    a = sig[Ls[-1]]["act_std"]
    return (f"At initialisation the gradient norm of the first layer's weights is {g1:.3g} in the "
            f"{Ls[0]}-layer net and {gL[0]:.3g} in the {Ls[-1]}-layer net — {g1 / gL[0]:.3g} times smaller. "
            f"Inside the {Ls[-1]}-layer net it is multiplied by about {per_layer:.2f} per layer on the "
            f"way back from the last hidden layer ({gL[-1]:.3g}) to the first ({gL[0]:.3g}). The forward "
            f"signal does not vanish the same way: the activations' standard deviation goes from {a[0]:.3g} "
            f"after the first layer to {a[-1]:.3g} after the last.")


def grid_wall_time(records: list[dict]) -> dict:
    """Wall-clock span of a recorded experiment (first start to last finish) and the machine."""
    import datetime as dt
    starts = [dt.datetime.fromisoformat(r["provenance"]["started"]) for r in records if r["provenance"].get("started")]
    ends = [dt.datetime.fromisoformat(r["provenance"]["finished"]) for r in records]
    span = (max(ends) - min(starts)).total_seconds() if starts else float("nan")
    loads = [r["summary"]["load_avg_1min_at_save"] for r in records if "load_avg_1min_at_save" in r["summary"]]
    return {"span_s": span, "load_avg": float(np.mean(loads)) if loads else None,
            "cpu": records[0]["provenance"]["hardware"].get("cpu"),
            "cpu_count": records[0]["provenance"]["hardware"].get("cpu_count"),
            "gpu": records[0]["provenance"]["hardware"].get("gpu"), "runs": len(records)}


def report_claims(width_records: list[dict], depth_records: list[dict]) -> list[dict]:
    """The report's Q2 readings, each checked on our records: claim, verdict, evidence (computed)."""
    bw = best_per_width(width_records)
    ws = list(bw)
    dev = {w: r["summary"]["best_dev_acc"] for w, r in bw.items()}
    tr = {w: r["summary"]["final_train_acc"] for w, r in bw.items()}
    out = []

    def add(claim, ok, evidence, verdicts=("holds here", "does not hold here")):
        out.append({"claim": claim, "verdict": verdicts[0] if ok else verdicts[1], "evidence": evidence})

    if 128 in dev and len(ws) > 2:
        early, late = dev[128] - dev[ws[0]], dev[ws[-1]] - dev[128]
        add("Dev accuracy rises quickly up to ~128 units, then saturates.",
            early > 0 and late < early / 4 and late < 0.01,
            f"best dev {_pct(dev[ws[0]])} at {ws[0]} → {_pct(dev[128])} at 128 ({_pts(early)}), then "
            f"{_pct(dev[ws[-1]])} at {ws[-1]} ({_pts(late)}); we call it saturated when the widths above "
            f"128 add less than 1 point and less than a quarter of the gain up to 128.")
    d = np.diff([tr[w] for w in ws])
    add("Training accuracy keeps rising toward 1 with width.", bool((d > 0).all()),
        "final train accuracy of the best run per width: " + ", ".join(f"{w}: {_pct(tr[w])}" for w in ws) + ".")
    wmax = ws[-1]
    with_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] > 0]
    no_do = [r for r in width_records if r["config"]["width"] == wmax and r["config"]["dropout"] == 0]
    if with_do and no_do:
        a, b = best_record_any(with_do), best_record_any(no_do)
        gain = a["summary"]["best_dev_acc"] - b["summary"]["best_dev_acc"]
        noise = dev_noise(a)
        verdict = ("too close to call here" if abs(gain) <= noise else
                   "holds here" if gain > 0 else "does not hold here")
        out.append({"claim": f"Dropout helps at the widest setting ({wmax} units).", "verdict": verdict,
                    "evidence": f"best dev with dropout {_pct(a['summary']['best_dev_acc'], 2)} ({_hp(a['config'])}) "
                                f"vs without {_pct(b['summary']['best_dev_acc'], 2)} ({_hp(b['config'])}): "
                                f"{100 * gain:+.2f} points; two standard errors of a dev accuracy are "
                                f"±{100 * noise:.2f} points."})
    if depth_records:
        recs = sorted(depth_records, key=lambda r: r["config"]["depth"])
        dd = [r["summary"]["best_dev_acc"] for r in recs]
        add("Accuracy falls with depth (width 32).", bool((np.diff(dd) < 0).all()),
            f"with {_hp(recs[0]['config'])}: best dev " + ", ".join(
                f"{r['config']['depth']}: {_pct(v)}" for r, v in zip(recs, dd)) + ".")
        rep = find_run(width_records, width=DEPTH_WIDTH, **REPORT_DEPTH_HPARAMS)
        best32 = best_record(width_records, DEPTH_WIDTH)
        if rep is not None:
            add(f"The depth study uses the best {DEPTH_WIDTH}-unit settings of 2.2(a) (the assignment's rule).",
                all(REPORT_DEPTH_HPARAMS[k] == REPORT_WIDTH[DEPTH_WIDTH][k] for k in TUNED),
                f"the report used {_hp(REPORT_DEPTH_HPARAMS)}, but its own table's best {DEPTH_WIDTH}-unit "
                f"run is {_hp(REPORT_WIDTH[DEPTH_WIDTH])}; in our grid those report settings reach "
                f"{_pct(rep['summary']['best_dev_acc'], 2)} vs {_pct(best32['summary']['best_dev_acc'], 2)} for "
                f"our best ({_hp(best32['config'])}).",
                ("holds", "does not hold, by the report's own table"))
    return out


def claims_table(claims: list[dict]):
    from hwlib.book import html_table
    return html_table(["the report says", "verdict on our records", "evidence"],
                      [[c["claim"], c["verdict"], c["evidence"]] for c in claims],
                      highlight={i for i, c in enumerate(claims) if not c["verdict"].startswith("holds")},
                      caption="Bold: a reading our records do not support.")


def chapter_records() -> tuple[list[dict], list[dict], bool]:
    """(width-grid records, depth records, live) for the chapter, via ``book.recorded_or_live``.
    When the width grid had to be run live (quick profile, no records), the depth study is run
    live into the same throw-away folder, so that it reuses that grid instead of training it again."""
    from pathlib import Path

    from hwlib import book
    from hwlib.data import load_letters
    from hwlib.experiments import run_experiment
    W, live = book.recorded_or_live("q2.width")
    if not live:
        D, live_d = book.recorded_or_live("q2.depth")
        return W, D, live_d
    root = Path(W[0]["_path"]).parents[3]
    data = load_letters(profile="quick")
    if data.slug != W[0]["dataset"]["slug"]:
        data = load_letters("synthetic", profile="quick")
    return W, run_experiment("q2.depth", "quick", root=root, data=data), True
