"""Question 2's tables and figures, computed from recorded runs, and the report's numbers.

Shared helpers of the Q2 report: the best run per width, a run found by its settings, the noise
of a dev accuracy. The facts the chapter's sentences are built from are in ``hwlib.report.q2_facts``.
"""
from __future__ import annotations

import html

import numpy as np

from hwlib.report.common import HTMLBlock, best_run, html_table
from hwlib.report.original import Q2_DEPTH, Q2_DEPTH_HPARAMS, Q2_DEPTH_OTHER_GROUP, Q2_WIDTH
from hwlib.report.fmt import hp_words, pow10

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

def width_table(records: list[dict], collapsed: bool = True):
    """All runs grouped by width (then dropout, lr, ℓ2): best dev accuracy and its epoch, final
    train accuracy, test accuracy of the best-dev checkpoint. The best run of each width in bold;
    ``collapsed``: inside a ``<details>`` block that the reader opens."""
    recs = sorted(records, key=lambda r: [r["config"][k] for k in ("width", "dropout", "lr", "l2")])
    best = {r["run"] for r in best_per_width(recs).values()}
    rows = []
    for r in recs:
        c, s = r["config"], r["summary"]
        rows.append([c["width"], pow10(c["lr"]), f"{c['dropout']:g}", pow10(c["l2"]),
                     f"{s['best_dev_acc']:.4f}", s["best_epoch"], f"{s['final_train_acc']:.4f}",
                     f"{s['test_acc']:.4f}"])
    table = html_table(["width", "lr", "dropout", "ℓ2", "best dev acc", "at epoch",
                        "final train acc", "test acc (best-dev checkpoint)"], rows,
                       highlight={i for i, r in enumerate(recs) if r["run"] in best},
                       caption=f"{len(recs)} runs, {epochs_of(recs)} epochs each; bold = best dev accuracy of its width.")
    if not collapsed:
        return table
    return HTMLBlock(f"<details><summary>All {len(recs)} runs: best dev accuracy and its epoch, final train accuracy, "
                     f"test accuracy (click to open)</summary>{table.body}</details>")


def width_lr_table(records: list[dict]):
    """The grid at a glance: one row per width, one column per learning rate; each cell the best dev
    accuracy over dropout and ℓ2 (the winning regularisation under it). Bold: the best of the width."""
    lrs = sorted({r["config"]["lr"] for r in records})
    top = best_run(records)["run"]
    rows = []
    for w, bw in best_per_width(records).items():
        tds = []
        for lr in lrs:
            rs = [r for r in records if r["config"]["width"] == w and r["config"]["lr"] == lr]
            if not rs:
                tds.append("<td>—</td>")
                continue
            b = best_run(rs)
            c = b["config"]
            reg = ", ".join(x for x in (f"dropout {c['dropout']:g}" if c["dropout"] else "",
                                        f"ℓ2 {pow10(c['l2'])}" if c["l2"] else "") if x) or "no regularisation"
            v = f"{100 * b['summary']['best_dev_acc']:.1f}%"
            if b is bw:
                v = f"<b>{v}{' ★' if b['run'] == top else ''}</b>"
            tds.append(f'<td>{v}<br><small>{html.escape(reg)}</small></td>')
        rows.append(f"<tr><th>{w}</th>{''.join(tds)}</tr>")
    head = "".join(f"<th>lr {pow10(lr)}</th>" for lr in lrs)
    cap = (f"Best dev accuracy per width and learning rate, over dropout and ℓ2 ({len(records)} runs, "
           f"{epochs_of(records)} epochs). Bold: the best of its width; ★: the best overall.")
    return HTMLBlock(f'<table class="table"><caption>{html.escape(cap)}</caption><thead><tr><th>width</th>{head}'
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def width_pivot_table(records: list[dict]):
    """Compact 2.2(a) table: one row per (width, lr), one column per (dropout, ℓ2); each cell the
    run's best dev accuracy. The best run of each width in bold, the overall best also marked ★."""
    cols = sorted({(r["config"]["dropout"], r["config"]["l2"]) for r in records})
    lrs = sorted({r["config"]["lr"] for r in records})
    bw = {r["run"] for r in best_per_width(records).values()}
    top = best_run(records)["run"]
    cell = {(r["config"]["width"], r["config"]["lr"], r["config"]["dropout"], r["config"]["l2"]): r for r in records}
    head = "".join(f"<th>{'dropout ' + format(d, 'g') if d else 'no dropout'}<br>"
                   f"{'ℓ2 ' + pow10(l) if l else 'no ℓ2'}</th>" for d, l in cols)
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
                tds.append(f'<td title="{html.escape(hp_words(r["config"]))}">{v}</td>')
            wcell = f'<th rowspan="{len(lrs)}">{w}</th>' if i == 0 else ""
            rows.append(f"<tr>{wcell}<td>{pow10(lr)}</td>{''.join(tds)}</tr>")
    cap = (f"Best dev accuracy of each of the {len(records)} runs ({epochs_of(records)} epochs, best-dev "
           f"checkpoint). Bold: best run of its width; ★: best overall.")
    return HTMLBlock(f'<table class="table"><caption>{cap}</caption><thead><tr><th>width</th><th>lr</th>{head}'
                     f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def width_comparison_table(records: list[dict]):
    """Best run per width: ours beside the report's (its numbers are on real EMNIST Letters)."""
    rows = []
    for w, r in best_per_width(records).items():
        c, s = r["config"], r["summary"]
        rep = Q2_WIDTH.get(w)
        rows.append([w, hp_label(c), f"{s['best_dev_acc']:.3f}", f"{s['final_train_acc']:.3f}", f"{s['test_acc']:.3f}",
                     hp_label(rep) if rep else "—", f"{rep['dev']:.3f}" if rep else "—",
                     f"{rep['train']:.3f}" if rep else "—", f"{rep['test']:.3f}" if rep else "—"])
    return html_table(["width", "ours: settings", "dev", "train (final)", "test",
                       "report: settings", "dev", "train", "test"], rows,
                      caption=f"Best run of each width by dev accuracy. Ours: {data_name(records)}; report: real "
                              "EMNIST Letters — different data, so compare how the numbers move, not their levels.")


def depth_table(depth_records: list[dict]):
    """Per depth: best dev accuracy (epoch), final train accuracy, test accuracy; the report's beside."""
    recs = by_depth(depth_records)
    best = best_run(recs)
    rows = []
    for r in recs:
        L, s = r["config"]["depth"], r["summary"]
        rep = Q2_DEPTH.get(L)
        rows.append([L, f"{s['best_dev_acc']:.4f}", s["best_epoch"], f"{s['final_train_acc']:.4f}",
                     f"{s['test_acc']:.4f}", f"{rep['dev']:.3f}" if rep else "—",
                     f"{rep['train']:.3f}" if rep else "—", f"{rep['test']:.3f}" if rep else "—",
                     f"{Q2_DEPTH_OTHER_GROUP[L]:.3f}" if L in Q2_DEPTH_OTHER_GROUP else "—"])
    c = recs[0]["config"]
    return html_table(["depth", "best dev acc", "at epoch", "final train acc", "test acc",
                       "report: dev", "report: train", "report: test", "other group: dev"], rows,
                      highlight={recs.index(best)},
                      caption=f"Width 32, ours with {hp_label(c)} (the best 32-unit run of our grid) on "
                              f"{data_name(recs)}; report with {hp_label(Q2_DEPTH_HPARAMS)} and other group "
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
