"""Letter forms for the pen of :mod:`hwlib.data.synth_pen`, as flat arrays of pen strokes.

Which form a sample of class c takes: upper or lower case, with the lower-case share of c taken from
EMNIST's source (:data:`LOWER_SHARE`), then a Hershey single-stroke font (v3, weighted by
:data:`FONTS_LOWER` / :data:`FONTS_UPPER`) or, for a share ``kn.hand_share`` of the samples, one of the
traced handwriting families of :mod:`hwlib.data.hands` (v4). :func:`glyph_table` holds every form as
points, strokes and glyphs for the kernel; a stroke belongs to a *piece* its hand moves as a whole.
"""
from __future__ import annotations

import functools

import numpy as np

from hwlib.constants import LETTERS, N_CLASSES
from hwlib.errors import ConfigError

MAX_STROKES = 8  # pieces with their own turn, scale and shift (a glyph's later pieces share the last)

# EMNIST ByClass training counts (Cohen et al. 2017; emnist-byclass-train, 697,932 images with the
# digits): upper and lower case of every letter. EMNIST Letters merges the two and samples the
# merged pool, so these give its case mix.
BYCLASS_TRAIN_COUNTS = {
    "upper": (6407, 3878, 10094, 4562, 4934, 9182, 2517, 3152, 11946, 3762, 2468, 5076, 9002,
              8237, 24983, 8347, 2605, 5073, 20764, 9820, 12602, 4637, 4695, 2771, 4743, 2701),
    "lower": (10033, 5159, 2854, 10177, 24631, 2561, 3687, 8738, 2725, 1896, 2491, 15318, 2645,
              11418, 2749, 2448, 2994, 14105, 2699, 18262, 2830, 2910, 2697, 2822, 2365, 2725),
}
LOWER_SHARE = np.array(BYCLASS_TRAIN_COUNTS["lower"], float) / (
    np.array(BYCLASS_TRAIN_COUNTS["lower"], float) + np.array(BYCLASS_TRAIN_COUNTS["upper"], float))

# Hershey single-stroke fonts (package ``hershey-fonts``) and how often each hand uses them.
# futural = roman simplex (print), futuram / rowmant = duplex / triplex roman (doubled lines: a broad
# pen), scripts and scriptc = joined-up script, timesr / timesi / timesib = Times roman, italic and
# bold italic (serifs drawn as strokes). Script capitals are calligraphic flourishes nobody prints
# on a form, so capitals come from the roman and Times fonts only.
FONTS_LOWER = {"futural": 0.3, "futuram": 0.1, "rowmant": 0.1, "scripts": 0.15, "scriptc": 0.1,
               "timesi": 0.1, "timesr": 0.1, "timesib": 0.05}
FONTS_UPPER = {"futural": 0.45, "futuram": 0.15, "rowmant": 0.1, "timesr": 0.15, "timesi": 0.15}


@functools.lru_cache(maxsize=None)
def _font(name: str):
    try:
        from HersheyFonts import HersheyFonts
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ConfigError("the synthetic letters need the `hershey-fonts` package: "
                          "pip install -r requirements.txt") from exc
    font = HersheyFonts()
    font.load_default_font(name)
    return font


def glyph(font: str, char: str) -> list[np.ndarray]:
    """The strokes of one glyph: polylines of (x, y) points, y pointing down, centred on its box."""
    strokes = [np.asarray(s, float) for s in _font(font).strokes_for_text(char)]
    strokes = [s for s in strokes if len(s) >= 2]
    if not strokes:
        raise ConfigError(f"Hershey font {font!r} has no strokes for {char!r}")
    pts = np.concatenate(strokes)
    mid = (pts.min(0) + pts.max(0)) / 2
    return [s - mid for s in strokes]


@functools.lru_cache(maxsize=2)
def glyph_table(hands: bool = False):
    """Every (class, case, font) glyph as flat segment arrays for the kernel: the Hershey fonts,
    and with ``hands`` the traced handwriting families of :mod:`hwlib.data.hands` (key ``"hand"``).

    Returns (points (P, 2), stroke_start (S+1,), glyph_start (G+1,), stroke_group (S,), index dict
    (c, case, font) → g or (c, case, "hand") → array of g). Glyph g owns strokes
    glyph_start[g]:glyph_start[g+1]; stroke s owns points stroke_start[s]:stroke_start[s+1] and is
    moved by the hand as part of its glyph's piece stroke_group[s] (a Hershey stroke is its own piece).
    """
    pts, stroke_start, glyph_start, group, index = [], [0], [0], [], {}

    def add(key, strokes, groups):
        for s, g in zip(strokes, groups):
            pts.append(s)
            stroke_start.append(stroke_start[-1] + len(s))
            group.append(min(g, MAX_STROKES - 1))
        index[key] = len(glyph_start) - 1
        glyph_start.append(len(stroke_start) - 1)

    fonts = (tuple(FONTS_LOWER), tuple(FONTS_UPPER))
    for c, letter in enumerate(LETTERS):
        for case, ch in enumerate((letter.lower(), letter.upper())):
            for f in fonts[case]:
                strokes = glyph(f, ch)
                add((c, case, f), strokes, range(len(strokes)))
    if hands:
        from hwlib.data.hands import traced_table
        by_form: dict = {}
        for (c, case, family), (strokes, groups) in traced_table().items():
            add((c, case, family), strokes, groups)
            by_form.setdefault((c, case), []).append(index[c, case, family])
        for (c, case), gs in by_form.items():
            index[c, case, "hand"] = np.array(gs, np.int64)
    return (np.concatenate(pts).astype(np.float64), np.array(stroke_start, np.int64),
            np.array(glyph_start, np.int64), np.array(group, np.int64), index)


@functools.lru_cache(maxsize=2)
def _centres(hands: bool = False) -> np.ndarray:
    """(S, 2) the centre each stroke turns about: a Hershey stroke's own mean point, a traced
    glyph's piece's mean point (summed point by point, as the kernel once did, so v3 is unchanged)."""
    pts, stroke_start, glyph_start, group, index = glyph_table(hands)
    out = np.empty((stroke_start.size - 1, 2))
    hershey_end = glyph_start[26 * (len(FONTS_LOWER) + len(FONTS_UPPER))]
    for s in range(stroke_start.size - 1):
        a0, a1 = int(stroke_start[s]), int(stroke_start[s + 1])
        mx = my = 0.0
        for p in range(a0, a1):
            mx += pts[p, 0] / (a1 - a0)
            my += pts[p, 1] / (a1 - a0)
        out[s] = mx, my
    for g in range(int(np.searchsorted(glyph_start, hershey_end)), glyph_start.size - 1):
        strokes = np.arange(glyph_start[g], glyph_start[g + 1])
        for piece in np.unique(group[strokes]):
            mine = strokes[group[strokes] == piece]
            p = np.concatenate([pts[stroke_start[s]:stroke_start[s + 1]] for s in mine])
            out[mine] = p.mean(0)
    return out


@functools.lru_cache(maxsize=2)
def _point_strokes(hands: bool = False) -> np.ndarray:
    """(G, max points) the piece (stroke group) of each point of glyph g."""
    _, stroke_start, glyph_start, group, _ = glyph_table(hands)
    G = glyph_start.size - 1
    npts = stroke_start[glyph_start[1:]] - stroke_start[glyph_start[:-1]]
    out = np.zeros((G, npts.max()), np.int64)
    for g in range(G):
        base = stroke_start[glyph_start[g]]
        for s in range(glyph_start[g], glyph_start[g + 1]):
            out[g, stroke_start[s] - base:stroke_start[s + 1] - base] = group[s]
    return out


def letter_forms(y: np.ndarray, rng: np.random.Generator, kn) -> tuple[np.ndarray, np.ndarray]:
    """Step 1 for the classes y: (case 0 lower / 1 upper, glyph index into glyph_table()); a share
    ``kn.hand_share`` of the samples takes a handwriting family (uniformly) instead of a Hershey font."""
    index = glyph_table(kn.hand_share > 0)[4]
    n = y.size
    share = LOWER_SHARE if kn.case_mix else np.full(N_CLASSES, 0.5)
    case = (rng.random(n) >= share[y]).astype(int)
    weights = [FONTS_LOWER, FONTS_UPPER] if kn.font_mix else [{"futural": 1.0}, {"futural": 1.0}]
    u = rng.random(n)
    g_idx = np.empty(n, np.int64)
    for k in range(n):
        w = weights[case[k]]
        names, p = list(w), np.cumsum(list(w.values()))
        f = names[min(int(np.searchsorted(p / p[-1], u[k], side="right")), len(names) - 1)]
        g_idx[k] = index[int(y[k]), int(case[k]), f]
    if kn.hand_share > 0:
        hand, pick = rng.random(n) < kn.hand_share, rng.random(n)
        forms = {}
        for k in np.flatnonzero(hand):
            key = int(y[k]), int(case[k])
            if key not in forms:
                forms[key] = (index[(*key, "hand")] if not kn.hand_families else
                              np.array([index[(*key, f)] for f in kn.hand_families if (*key, f) in index]))
            g_idx[k] = forms[key][int(pick[k] * forms[key].size)]
    return case, g_idx
