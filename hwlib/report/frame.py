"""Records as one pandas table, and the book's tables rendered from frames with pandas' Styler."""
from __future__ import annotations

import numpy as np
import pandas as pd

from hwlib.errors import ResultError
from hwlib.experiments.results import rank_key
from hwlib.report.fmt import num

SHORT = {"best_dev_acc": "dev", "best_epoch": "epoch", "final_train_acc": "train", "test_acc": "test"}


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: ``experiment``, ``run``, ``profile``, ``dataset``, ``synthetic``; the summary (``dev``: best
    dev accuracy, ``epoch``: its epoch, ``train``: final train accuracy, ``test``: test accuracy at that epoch); the
    configuration; ``git``, ``started``, ``finished``, ``cpu`` from the provenance; ``record``, the record itself."""
    rows = []
    for r in records:
        prov = r.get("provenance", {})
        row = {"experiment": r.get("experiment"), "run": r["run"], "profile": r.get("profile"),
               "dataset": r.get("dataset", {}).get("name"), "synthetic": bool(r.get("dataset", {}).get("synthetic"))}
        row.update({SHORT.get(k, k): v for k, v in r["summary"].items()})
        clash = set(r["config"]) & set(row)
        if clash:
            raise ResultError(f"record {r['run']}: configuration fields {sorted(clash)} clash with summary fields")
        row.update(r["config"])
        row.update(git=(prov.get("git_commit") or "")[:10], started=prov.get("started"),
                   finished=prov.get("finished"), cpu=prov.get("hardware", {}).get("cpu"), record=r)
        rows.append(row)
    return pd.DataFrame(rows)


def ranked(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows from best to worst by the book's one rule (``results.rank_key``: the highest dev accuracy, then the
    earlier epoch, then the run's name)."""
    return frame.sort_values("record", key=lambda recs: recs.map(rank_key))


def best(frame: pd.DataFrame) -> pd.Series:
    """The best run of ``frame`` (a row)."""
    if frame.empty:
        raise ResultError("no records to choose the best run from; run the experiment first "
                          "(python -m hwlib run NAME)")
    return ranked(frame).iloc[0]


def best_of(frame: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """The best run of every group of ``by`` (e.g. of every width), one row each, in ``by``'s order."""
    return ranked(frame).groupby(by, sort=True).head(1).sort_values(by)


def seeded(run: dict, seed_records: list[dict] | None) -> list[dict]:
    """``run`` and its re-trainings with other seeds (records whose ``seed_of`` names it)."""
    me = f"{run.get('experiment')}/{run['run']}"
    return [run] + [r for r in seed_records or [] if r["config"].get("seed_of") == me]


def table(frame: pd.DataFrame, caption: str = "", bold=None, formats: dict | None = None,
          index: bool = False, classes: str = "table"):
    """An HTML table of ``frame``: ``formats`` maps columns to format functions, rows where the mask ``bold`` is true
    are bold, cells are not escaped (they may hold hwlib's markup), booleans read yes/no."""
    frame = frame.map(lambda v: num(v) if isinstance(v, (bool, np.bool_)) else v)
    st = frame.style.format(formats or {}, na_rep="—")
    if bold is not None:
        mask = pd.Series(list(bold), index=frame.index)
        st = st.apply(lambda row: ["font-weight: bold" if mask[row.name] else "" for _ in row], axis=1)
    if not index:
        st = st.hide(axis="index")
    if caption:
        st = st.set_caption(caption)
    return st.set_table_attributes(f'class="{classes}"')


def html_table(header: list[str], rows: list[list], highlight: set[int] | None = None, caption: str = "",
               classes: str = "table"):
    """``table`` of a few rows given as lists in ``header``'s order; rows whose index is in ``highlight`` are bold."""
    highlight = highlight or set()
    return table(pd.DataFrame(rows, columns=header), caption or "", bold=[i in highlight for i in range(len(rows))],
                 classes=classes)
