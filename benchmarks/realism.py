"""Benchmark: how close is the synthetic stand-in to real EMNIST Letters? Models trained on it, scored on real letters.

For each stand-in version compared (3 and 4, side by side in one run) it takes the models the project
trains on it and scores them on real handwritten letters, 26-way (argmax over all 26 classes), on the
two halves of the real images (within each class, in file order: even rank = the **tuning half**, on
which the generator's settings were chosen; odd rank = the **held-out half**, only ever measured):

* from the recorded checkpoints of the full profile (``results/synthetic-v<N>-seed42/full``), applied
  exactly as the project applies them: the perceptron, logistic regression 1.2(a), the best raw-pixel
  and the best HOG run of the grid, the Q1.3 MLP;
* the Q2 best setting (the best run of the recorded width grid; the report's own best, width 256,
  lr 3e-4, dropout 0.2, when that version has no grid) retrained with ``hwlib.models.ffn.fit``;
* a model the records lack is trained with the recipe (``--train-missing``; skipped otherwise).

First the **family scores** that chose v4's handwriting families (a model of the tuning half reads
each family's letters; ``FAMILY_BAR``), and the **stroke widths** of the real halves, v3 and v4 (which
led to v4's wider range of pens). Then an **ablation** of v4 (one factor off at a time → transfer, on both halves) with a short probe:
26,000 training images, a 784-256-26 relu MLP, Adam lr 1e-3, batch 64, 10 epochs, seed 0, the v3
generator for scale; and a **within-domain reference**: the same probe trained on the tuning half,
scored on the held-out half. The linear-model distance is the stand-in test accuracy of logistic
regression 1.2(a) against the report's 69.6 % on real letters.

Real letters: ``--real PATH`` (any real EMNIST the data layer reads; its test split is used), else the
fragment ``../shared/data/emnist-letters.npz`` (test images of classes a–m) when present. Only the
tuning half's numbers were ever used to choose a setting. ``--record`` writes the numbers as
``results/realism.json`` with provenance (refused unless the whole run finished).

    .venv/bin/python benchmarks/realism.py [--real PATH] [--record] [--quick] [--parts table,ablation]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from hwlib.constants import LETTERS, N_CLASSES, PIXEL_SCALE
from hwlib.data import course_view, synth_pen, synthetic
from hwlib.data.features import make_feature
from hwlib.data.letters import Split
from hwlib.errors import DataError, HwlibError
from hwlib.experiments import results
from hwlib.experiments.provenance import now, provenance
from hwlib.models.common import Classifier
from hwlib.models.linear import LogisticRegression, Perceptron, add_bias
from hwlib.models.mlp import MLP
from hwlib.paths import REPO_ROOT

FRAGMENT = REPO_ROOT.parent / "shared" / "data" / "emnist-letters.npz"
REPORT_BEST = {"width": 256, "lr": 3e-4, "dropout": 0.2, "l2": 0.0}

COMPARED = (3, 4)        # stand-in versions side by side in the table
HALVES = ("tuning", "held_out")
REPORT_LOGREG = 69.6     # the report's test accuracy of logistic regression 1.2(a), on real letters

# the v4 ablation: one factor off at a time (knob changes on synth_pen.KNOBS_V4)
ABLATION = {
    "v4 as generated": {},
    "Hershey fonts instead of handwriting fonts": {"hand_share": 0.0},
    "half handwriting, half Hershey": {"hand_share": 0.5},
    "no per-class case mix (50/50)": {"case_mix": False},
    "no per-piece hand moves": {"stroke_shift": 0.0, "stroke_turn": 0.0, "stroke_scale": 0.0},
    "no control-point jitter": {"jitter": 0.0},
    "no elastic field": {"elastic": 0.0},
    "no affine (rotation, slant, aspect)": {"rot_sd": 0.0, "shear_sd": 0.0, "aspect_sd": 0.0},
    "one pen width": {"pen_lo": 3.5, "pen_hi": 3.5},
    "no EMNIST framing (whole canvas)": {"emnist_frame": False},
}


# ----------------------------------------------------------------------------- real letters
def real_letters(path: str | None) -> tuple[Split, str, str]:
    """(real test split, its name, its sha256)."""
    if path is None:
        if not FRAGMENT.is_file():
            raise DataError(f"no real letters: pass --real PATH (official EMNIST files or npz), or put the "
                            f"fragment at {FRAGMENT}")
        path = str(FRAGMENT)
    p = Path(path)
    from hwlib.data import emnist
    if not p.exists():
        raise DataError(f"{p}: no such file or folder; pass --real the official EMNIST files (folder, zip) or an npz")
    if p.suffix == ".npz":
        try:
            z = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"{p}: not a readable npz ({exc}); pass --real a real EMNIST file") from exc
        with z:
            if "test_images" in z.files and "X_train" not in z.files:
                return (Split(z["test_images"].astype(np.uint8), z["test_labels"].astype(np.int64)),
                        f"real EMNIST test images in {p.name}", emnist.sha256_file(p))
    from hwlib.data import load_letters
    d = load_letters(p, profile="full")
    return d.test, d.name, d.sha256


def halves(y: np.ndarray) -> dict[str, np.ndarray]:
    """Masks of the tuning half (even rank within each class, in file order) and the held-out half (odd)."""
    rank = np.empty(y.size, np.int64)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rank[idx] = np.arange(idx.size)
    return {"tuning": rank % 2 == 0, "held_out": rank % 2 == 1}


def scores(pred_scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """26-way accuracy (%) on the (tuning half, held-out half) of the real letters y."""
    right = pred_scores.argmax(1) == y
    return tuple(100 * float(right[m].mean()) for m in halves(y).values())


# ----------------------------------------------------------------------------- recorded checkpoints
def _classifier(rec: dict, arrays: dict) -> Classifier:
    cfg = rec["config"]
    if cfg["model"] == "perceptron":
        m = Perceptron(cfg["n_features"])
    elif cfg["model"] == "mlp":
        m = MLP(cfg["n_features"], cfg["hidden"])
    else:
        m = LogisticRegression(cfg["n_features"])
    m.load_state_dict(arrays)
    return m


def _best(recs: list[dict], features: str) -> dict | None:
    recs = [r for r in recs if r["config"].get("features") == features]
    return results.best_run(recs) if recs else None


def recorded_models(slug: str) -> dict[str, dict]:
    """The Q1 records of a stand-in (full profile) the table scores, by row label."""
    load = lambda exp: [r for r in results.load_all(exp, slug, "full") if r.get("complete")]  # noqa: E731
    rows = {"perceptron": next(iter(load("q1.perceptron")), None),
            "logistic regression 1.2(a)": next(iter(load("q1.logreg")), None),
            "best raw-pixel grid run": _best(load("q1.grid"), "raw"),
            "best HOG grid run": _best(load("q1.grid_hog"), "hog"),
            "MLP, 100 units (Q1.3)": next(iter(load("q1.mlp")), None)}
    return rows


def confusions(s: np.ndarray, y: np.ndarray, k: int = 6) -> list[dict]:
    """The k most frequent (true → predicted) mistakes, each with its share of the true class."""
    pred = s.argmax(1)
    pairs = {}
    for t, p in zip(y[pred != y], pred[pred != y]):
        pairs[t, p] = pairs.get((t, p), 0) + 1
    top = sorted(pairs.items(), key=lambda kv: -kv[1])[:k]
    return [{"true": LETTERS[t], "pred": LETTERS[p], "share": 100 * n / int((y == t).sum())} for (t, p), n in top]


def score_record(rec: dict, train_X: np.ndarray, real: Split) -> tuple[tuple[float, float, float], list[dict]]:
    """((stand-in test %, real tuning half %, real held-out half %), its largest confusions on the
    held-out half) of a recorded checkpoint."""
    feats = rec["config"].get("features", "raw")
    if rec["config"]["model"] == "mlp":
        X = course_view(real.X)
    else:
        fmap = make_feature(feats).fit(train_X)
        X = add_bias(fmap.transform(real.X))
    model = _classifier(rec, results.load_arrays(rec))
    s = model.forward(np.asarray(X, np.float64))
    held = halves(real.y)["held_out"]
    return (100 * rec["summary"]["test_acc"], *scores(s, real.y)), confusions(s[held], real.y[held])


# ----------------------------------------------------------------------------- training
def _ffn_scores(net, real: Split) -> tuple[float, float]:
    net.eval()
    with torch.no_grad():
        s = net(torch.as_tensor(course_view(real.X), dtype=torch.float32)).numpy()
    return scores(s, real.y)


def q2_best(slug: str, data: dict, real: Split, epochs: int | None) -> tuple[dict, float, float, float]:
    """Retrain the Q2 best setting of a stand-in; (its config, stand-in test %, real tuning %, held-out %)."""
    from hwlib.models.ffn import FFN, FFNConfig, fit

    recs = [r for r in results.load_all("q2.width", slug, "full") if r.get("complete")]
    hp = {k: results.best_run(recs)["config"][k] for k in REPORT_BEST} if recs else REPORT_BEST
    cfg = FFNConfig(optimizer="adam", **hp, **({"epochs": epochs} if epochs else {}))
    tr, dv, te = (Split(data[f"X_{s}"], data[f"y_{s}"]) for s in ("train", "dev", "test"))
    r = fit(cfg, tr, dv, te, progress=False)
    net = FFN.from_config(cfg, tr.X[0].size, N_CLASSES)
    net.load_state_dict(r.state)
    return hp, 100 * r.test_acc, *_ffn_scores(net, real)


def train_probe(X: np.ndarray, y: np.ndarray, n_out: int = N_CLASSES, epochs: int = 10, seed: int = 0):
    """The probe network: a 784-256-``n_out`` relu MLP, Adam 1e-3, batch 64, trained on images X, labels y."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(X[0].size, 256), torch.nn.ReLU(), torch.nn.Linear(256, n_out))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Xt = torch.as_tensor(X.reshape(len(X), -1) / PIXEL_SCALE, dtype=torch.float32)
    yt = torch.as_tensor(y)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(y), generator=g)
        for i in range(0, len(y), 64):
            b = perm[i:i + 64]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xt[b]), yt[b]).backward()
            opt.step()
    return net


def probe(X: np.ndarray, y: np.ndarray, real: Split, epochs: int = 10, seed: int = 0) -> tuple[float, float]:
    """The ablation probe trained on (X, y); real 26-way % (tuning, held-out)."""
    return _ffn_scores(train_probe(X, y, epochs=epochs, seed=seed), real)


def ablation(real: Split, per_class: int, epochs: int) -> list[dict]:
    """The probe on v4 with one factor changed at a time, then on v3 for scale."""
    rows = []
    variants = [(name, 4, dataclasses.replace(synth_pen.KNOBS_V4, **change), change)
                for name, change in ABLATION.items()] + [("v3 (for scale)", 3, synth_pen.KNOBS, {})]
    for name, version, kn, change in variants:
        t0 = time.perf_counter()
        X, y = synthetic.generate(per_class, seed=7, knobs=kn, version=version)
        tune, held = probe(X, y, real, epochs)
        rows.append({"variant": name, "change": change, "real_tuning": tune, "real_held_out": held})
        print(f"  {name:44s} {tune:6.1f} {held:8.1f}   ({time.perf_counter() - t0:.0f} s)", flush=True)
    return rows


FAMILY_BAR = 75.0     # a family joins v4 when the tuning-half model reads this share of its a–m letters


def family_scores(real: Split, per_form: int = 10, epochs: int = 15) -> dict[str, float]:
    """How EMNIST-like each handwriting family's letter forms are, measured on the tuning half only:
    a 784-256 relu MLP trained on the tuning half's classes (Adam 1e-3, batch 64) reads ``per_form``
    lightly moved samples of each letter of those classes, both cases; % read right per family."""
    from hwlib.data import hands
    tune = halves(real.y)["tuning"]
    present = np.unique(real.y)
    net = train_probe(real.X[tune], np.searchsorted(present, real.y[tune]), n_out=present.size, epochs=epochs)
    # with v3's pens, as when the families were chosen (v4's wider pens came after)
    kn = dataclasses.replace(synth_pen.KNOBS_V4, hand_share=1.0, case_mix=False, jitter=0.1, stroke_shift=0.2,
                             stroke_turn=3.0, stroke_scale=0.03, elastic=0.5,
                             pen_lo=synth_pen.KNOBS.pen_lo, pen_hi=synth_pen.KNOBS.pen_hi)
    out = {}
    ys = np.repeat(present, 2 * per_form)
    for family in hands.FAMILIES:
        X_f = synth_pen.render(ys, np.random.default_rng(0), dataclasses.replace(kn, hand_families=(family,)))
        with torch.no_grad():
            pred = net(torch.as_tensor(X_f.reshape(-1, 784) / PIXEL_SCALE, dtype=torch.float32)).argmax(1).numpy()
        out[family] = 100 * float((present[pred] == ys).mean())
    chosen = tuple(f for f, v in out.items() if v >= FAMILY_BAR)
    print(f"  {len(chosen)} of {len(out)} families read at ≥ {FAMILY_BAR:.0f} % by a model of the tuning half; "
          f"v4 uses {len(synth_pen.KNOBS_V4.hand_families)} "
          f"({'the same' if chosen == synth_pen.KNOBS_V4.hand_families else 'NOT the same: update KNOBS_V4'})")
    return out


def stroke_widths(X: np.ndarray) -> dict:
    """Stroke width per image, in pixels of the 28×28 image: the ink (intensities / 255, summed) over the
    length of its centre line (the pixels of the skeleton of ink > 127); mean, sd, 10/50/90th percentiles."""
    from skimage.morphology import skeletonize
    ink = X.astype(np.float64) / 255
    w = np.array([x.sum() / n for x in ink if (n := skeletonize(x > 0.5).sum())])
    return {"n": int(w.size), "mean": float(w.mean()), "sd": float(w.std()),
            **{f"p{q}": float(np.percentile(w, q)) for q in (10, 50, 90)}}


def widths(real: Split, per_class: int) -> dict:
    """Stroke widths of the real halves and of v3 and v4 (``per_class`` images per class, seed 7)."""
    h = halves(real.y)
    out = {f"real {k.replace('_', '-')} half": stroke_widths(real.X[m]) for k, m in h.items()}
    for version in COMPARED:
        out[f"v{version}"] = stroke_widths(synthetic.generate(per_class, seed=7, version=version)[0])
    for name, w in out.items():
        print(f"  {name:22s} mean {w['mean']:.2f}  sd {w['sd']:.2f}  p10 {w['p10']:.2f}  p50 {w['p50']:.2f}  "
              f"p90 {w['p90']:.2f} px")
    return out


def within_domain(real: Split, epochs: int) -> dict:
    """The probe trained on the real tuning half, scored on the held-out half (26-way)."""
    h = halves(real.y)
    torch.manual_seed(0)
    tune, held = probe(real.X[h["tuning"]], real.y[h["tuning"]], real, epochs)
    print(f"  within-domain reference: probe trained on the {int(h['tuning'].sum()):,} real images of the "
          f"tuning half, {held:.1f} % on the {int(h['held_out'].sum()):,} of the held-out half")
    return {"n_train": int(h["tuning"].sum()), "n_test": int(h["held_out"].sum()), "real_held_out": held}


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", help="real EMNIST Letters (default: the fragment in ../shared/data)")
    ap.add_argument("--record", action="store_true", help="write results/realism.json")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, numbers mean nothing")
    ap.add_argument("--parts", default="families,widths,table,ablation",
                    help="comma-separated: families (which handwriting families v4 draws), widths (stroke "
                         "widths, which chose v4's pen), table (v3 vs v4 models), ablation (with the "
                         "within-domain reference)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t_start, started = time.perf_counter(), now()
    try:
        real, real_name, real_sha = real_letters(args.real)
    except HwlibError as exc:
        if args.real is None:              # no real letters on this machine: nothing to measure
            print(f"realism: skipped — {exc}")
            return 0
        print(f"realism: {exc}", file=sys.stderr)
        return 2
    present = "".join(LETTERS[c] for c in np.unique(real.y))
    print(f"real letters: {real_name} — {len(real.y):,} images, classes {present}")

    parts = set(args.parts.split(","))
    table = {}
    for version in COMPARED if "table" in parts else ():
        slug = f"synthetic-v{version}-seed42"
        t0 = time.perf_counter()
        data = synthetic.make_splits((20, 4, 4) if args.quick else (4000, 800, 800), seed=42, version=version)
        gen_s = time.perf_counter() - t0          # from the cache when it was generated before
        rows, mlp_confusions = {}, []
        for label, rec in recorded_models(slug).items():
            rows[label] = None
            if rec is not None:
                rows[label], conf = score_record(rec, data["X_train"], real)
                if rec["config"]["model"] == "mlp":
                    mlp_confusions = conf
        hp, *vals = q2_best(slug, data, real, epochs=1 if args.quick else None)
        rows[f"Q2 best setting (width {hp['width']})"] = tuple(vals)
        table[f"v{version}"] = {"rows": rows, "load_or_generate_s": gen_s, "q2_best": hp,
                                "mlp_confusions": mlp_confusions}
        print(f"v{version} MLP's largest confusions on the held-out half: " + ", ".join(
            f"{c['true']}→{c['pred']} {c['share']:.0f}%" for c in table[f"v{version}"]["mlp_confusions"]))
    labels = list(dict.fromkeys(k for t in table.values() for k in t["rows"]))
    print(f"\n{'model trained on the stand-in':34s} | {'stand-in test':>13s} | {'real, tuning half':>17s} "
          f"| {'real, held-out half':>19s}   (v3 → v4, 26-way)")
    for label in labels:
        cells = []
        for i in range(3):
            pair = [t["rows"].get(label) for t in table.values()]
            cells.append(" → ".join("  –  " if p is None else f"{p[i]:5.1f}" for p in pair))
        print(f"{label:34s} | {cells[0]:>13s} | {cells[1]:>17s} | {cells[2]:>19s}")
    logreg = table.get("v4", {}).get("rows", {}).get("logistic regression 1.2(a)")
    if logreg:
        print(f"linear-model distance: logistic regression 1.2(a) on v4 {logreg[0]:.1f} % vs the report's "
              f"{REPORT_LOGREG} % on real letters ({logreg[0] - REPORT_LOGREG:+.1f} points)")

    fams = None
    if "families" in parts:
        print("\nhandwriting families, read by a model of the real tuning half (a–m letters, both cases):")
        fams = family_scores(real, per_form=2 if args.quick else 10, epochs=1 if args.quick else 15)
    wid = None
    if "widths" in parts:
        print("\nstroke widths (ink / centre-line length):")
        wid = widths(real, 5 if args.quick else 100)
    abl, ref = [], None
    if "ablation" in parts:
        n = 20 if args.quick else 1000
        print(f"\nablation probe ({26 * n:,} images, 784-256-26, Adam, 10 epochs): real 26-way, tuning / held-out half")
        abl = ablation(real, n, 1 if args.quick else 10)
        ref = within_domain(real, 1 if args.quick else 10)
    if args.record:
        if args.quick:
            print("--record ignored with --quick (the numbers mean nothing)", file=sys.stderr)
            return 0
        prov = provenance(time.perf_counter() - t_start, started=started)
        out = {"real": {"name": real_name, "sha256": real_sha, "n": int(len(real.y)), "classes": present,
                        "halves": "within each class in file order: even rank = tuning half (settings chosen "
                                  "on it), odd rank = held-out half (only measured)"},
               "report_logreg": REPORT_LOGREG}
        if table:
            out["versions"] = {v: {"rows": {k: (None if x is None else dict(zip(("standin_test", "real_tuning", "real_held_out"), x)))
                                          for k, x in t["rows"].items()},
                                "load_or_generate_s": t["load_or_generate_s"], "q2_best": t["q2_best"],
                                "mlp_confusions": t["mlp_confusions"],
                                "generator": synthetic.describe(int(v[1:]))} for v, t in table.items()}
            out["table_provenance"] = prov
        if "ablation" in parts:
            out.update(ablation=abl, within_domain=ref, ablation_provenance=prov)
        if wid is not None:
            out["stroke_widths"] = wid
        if fams is not None:
            out.update(family_scores=fams, family_bar=FAMILY_BAR)
        path = REPO_ROOT / "results" / "realism.json"
        if path.exists():              # a run of some parts keeps the other parts' numbers of the same schema
            old = json.loads(path.read_text())
            if old.get("real", {}).get("sha256") == real_sha and "halves" in old.get("real", {}):
                out = {**old, **out}
        results.write_json(path, out)
        print(f"recorded: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
