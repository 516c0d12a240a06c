"""Question 2's tables and figures, computed from recorded runs, and the report's numbers.

Shared helpers of the Q2 report: the best run per width, a run found by its settings, the noise
of a dev accuracy. The facts the chapter's sentences are built from are in ``hwlib.report.q2_facts``.
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from hwlib.report.common import HTMLBlock, best_run
from hwlib.report.fmt import acc, hp_words, pow10
from hwlib.report.frame import best, best_of, records_frame, table
from hwlib.report.original import Q2_DEPTH, Q2_DEPTH_HPARAMS, Q2_DEPTH_OTHER_GROUP, Q2_WIDTH


def hp_label(c: dict) -> str:
    """The tuned settings of a run, for people: "lr 10⁻³, no dropout, ℓ2 10⁻⁴"."""
    return hp_words({k: c[k] for k in ("lr", "dropout", "l2")})


def data_name(records: list[dict]) -> str:
    """The name of the dataset the records were trained on."""
    return records[0].get("dataset", {}).get("name", "our data") if records else "our data"


def dev_noise(record: dict) -> float:
    """Two standard errors of a dev accuracy near this record's: 2·√(p(1−p)/n), n = dev size."""
    n = record.get("dataset", {}).get("sizes", {}).get("dev") or 0
    p = record["summary"]["best_dev_acc"]
    return 2 * float(np.sqrt(p * (1 - p) / n)) if n else 0.0


def widths_of(records: list[dict]) -> list[int]:
    return sorted({r["config"]["width"] for r in records})


def best_per_width(records: list[dict]) -> dict[int, dict]:
    """{width: the best run of that width} (``best_run``'s rule)."""
    return {w: best_run([r for r in records if r["config"]["width"] == w]) for w in widths_of(records)}


def by_depth(depth_records: list[dict]) -> list[dict]:
    return sorted(depth_records, key=lambda r: r["config"]["depth"])


def find_run(records: list[dict], **config) -> dict | None:
    """The record whose config has these values (e.g. width=32, lr=3e-4, dropout=0.2, l2=0)."""
    for r in records:
        if all(np.isclose(r["config"][k], v) for k, v in config.items()):
            return r
    return None


def epochs_of(records: list[dict]) -> int:
    return records[0]["config"]["epochs"]


# ------------------------------------------------------------------------------ tables and figures

def _reg(c) -> str:
    """A run's regularisation in words: "dropout 0.2, ℓ2 10⁻⁴", or "no regularisation"."""
    return ", ".join(x for x in (f"dropout {c['dropout']:g}" if c["dropout"] else "",
                                  f"ℓ2 {pow10(c['l2'])}" if c["l2"] else "") if x) or "no regularisation"


def width_table(records: list[dict], collapsed: bool = True):
    """All runs grouped by width (then dropout, lr, ℓ2): best dev accuracy and its epoch, final
    train accuracy, test accuracy of the best-dev checkpoint. The best run of each width in bold;
    ``collapsed``: inside a ``<details>`` block that the reader opens."""
    f = records_frame(records).sort_values(["width", "dropout", "lr", "l2"])
    shown = f[["width", "lr", "dropout", "l2", "dev", "epoch", "train", "test"]].set_axis(
        ["width", "lr", "dropout", "ℓ2", "best dev", "at epoch", "final train", "test (best-dev checkpoint)"], axis=1)
    t = table(shown, caption=f"{len(f)} runs, {epochs_of(records)} epochs each; bold = best dev accuracy of its width.",
              bold=f["run"].isin(best_of(f, "width")["run"]),
              formats={"lr": pow10, "ℓ2": pow10, "dropout": "{:g}", "best dev": acc, "final train": acc,
                       "test (best-dev checkpoint)": acc})
    if not collapsed:
        return t
    return HTMLBlock(f"<details><summary>All {len(f)} runs: best dev accuracy and its epoch, final train accuracy, "
                     f"test accuracy (click to open)</summary>{t.to_html()}</details>")


def _marked(run: pd.Series, width_best: set, top: str) -> str:
    """A run's best dev accuracy, bold when it is the best of its width, ★ when the best of all."""
    v = acc(run["dev"])
    return f"<b>{v}{' ★' if run['run'] == top else ''}</b>" if run["run"] in width_best else v


def width_lr_table(records: list[dict]):
    """The grid at a glance: one row per width, one column per learning rate; each cell the best dev
    accuracy over dropout and ℓ2 (the winning regularisation under it). Bold: the best of the width."""
    f = records_frame(records)
    width_best, top = set(best_of(f, "width")["run"]), best(f)["run"]
    cells = best_of(f, ["width", "lr"])
    cells["cell"] = [f"{_marked(r, width_best, top)}<br><small>{html.escape(_reg(r))}</small>"
                     for _, r in cells.iterrows()]
    grid = cells.pivot(index="width", columns="lr", values="cell")
    grid.columns = [f"lr {pow10(lr)}" for lr in grid.columns]
    return table(grid.reset_index(), caption=(
        f"Best dev accuracy per width and learning rate, over dropout and ℓ2 ({len(f)} runs, "
        f"{epochs_of(records)} epochs). Bold: the best of its width; ★: the best overall."))


def width_pivot_table(records: list[dict]):
    """Compact 2.2(a) table: one row per (width, lr), one column per (dropout, ℓ2); each cell the
    run's best dev accuracy. The best run of each width in bold, the overall best also marked ★."""
    f = records_frame(records)
    width_best, top = set(best_of(f, "width")["run"]), best(f)["run"]
    f["cell"] = [_marked(r, width_best, top) for _, r in f.iterrows()]
    f["setting"] = [f"{'dropout ' + format(d, 'g') if d else 'no dropout'}, {'ℓ2 ' + pow10(l2) if l2 else 'no ℓ2'}"
                    for d, l2 in zip(f["dropout"], f["l2"])]
    order = f.sort_values(["dropout", "l2"])["setting"].drop_duplicates()
    grid = f.pivot_table(index=["width", "lr"], columns="setting", values="cell", aggfunc="first")[list(order)]
    grid = grid.reset_index()
    grid["width"] = grid["width"].where(grid["width"].ne(grid["width"].shift()), "")   # once per width
    grid["lr"] = grid["lr"].map(pow10)
    grid.columns.name = None
    return table(grid, caption=(
        f"Best dev accuracy of each of the {len(f)} runs ({epochs_of(records)} epochs, best-dev checkpoint). "
        "Bold: best run of its width; ★: best overall."))


def width_comparison_table(records: list[dict]):
    """Best run per width: ours beside the report's (its numbers are on real EMNIST Letters)."""
    ours = best_of(records_frame(records), "width")
    rep = pd.DataFrame.from_dict(Q2_WIDTH, orient="index")
    shown = pd.DataFrame({
        "width": ours["width"].to_numpy(), "ours: settings": [hp_label(c) for c in ours["record"].map(lambda r: r["config"])],
        "dev": ours["dev"].to_numpy(), "train (final)": ours["train"].to_numpy(), "test": ours["test"].to_numpy()})
    theirs = rep.reindex(shown["width"]).reset_index(drop=True)
    shown["report: settings"] = [hp_label(r) if r["lr"] == r["lr"] else None for _, r in theirs.iterrows()]
    for col in ("dev", "train", "test"):
        shown[f"report: {col}"] = theirs[col]
    return table(shown, formats={c: acc for c in ("dev", "train (final)", "test", "report: dev", "report: train",
                                                  "report: test")},
                 caption=f"Best run of each width by dev accuracy. Ours: {data_name(records)}; report: real "
                         "EMNIST Letters — different data, so compare how the numbers move, not their levels.")


def depth_table(depth_records: list[dict]):
    """Per depth: best dev accuracy (epoch), final train accuracy, test accuracy; the report's beside."""
    f = records_frame(depth_records).sort_values("depth")
    shown = f[["depth", "dev", "epoch", "train", "test"]].set_axis(
        ["depth", "best dev", "at epoch", "final train", "test"], axis=1).reset_index(drop=True)
    rep = pd.DataFrame.from_dict(Q2_DEPTH, orient="index").reindex(shown["depth"]).reset_index(drop=True)
    for col in ("dev", "train", "test"):
        shown[f"report: {col}"] = rep[col]
    shown["other group: dev"] = shown["depth"].map(Q2_DEPTH_OTHER_GROUP)
    c = depth_records[0]["config"]
    return table(shown, bold=(f["run"] == best(f)["run"]).to_numpy(),
                 formats={col: acc for col in shown.columns if col not in ("depth", "at epoch")},
                 caption=f"Width 32, ours with {hp_label(c)} (the best 32-unit run of our grid) on "
                         f"{data_name(depth_records)}; report with {hp_label(Q2_DEPTH_HPARAMS)} and other group "
                         "(Adam lr 10⁻³) on real EMNIST Letters — different data. Bold = our best depth.")


def grid_wall_time(records: list[dict]) -> dict:
    """Wall-clock span of a recorded experiment (first start to last finish, ``minutes``), the
    number of runs, the machine, and the mean 1-minute load average as its units finished."""
    import datetime as dt

    starts = [dt.datetime.fromisoformat(r["provenance"]["started"]) for r in records if r["provenance"].get("started")]
    ends = [dt.datetime.fromisoformat(r["provenance"]["finished"]) for r in records]
    span = (max(ends) - min(starts)).total_seconds() if starts else float("nan")
    loads = [r["summary"]["load_avg_1min_at_save"] for r in records if "load_avg_1min_at_save" in r["summary"]]
    hw = records[0]["provenance"]["hardware"]
    return {"runs": len(records), "minutes": span / 60, "span_s": span,
            "machine": hw.get("gpu") or f"{hw.get('cpu')} ({hw.get('cpu_count')} cores)",
            "load_avg": float(np.mean(loads)) if loads else float("nan")}
