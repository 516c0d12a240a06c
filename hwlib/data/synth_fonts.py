"""synthetic-letters-v2: font glyphs (filled outlines) pushed through random "handwriting" distortions.

Version 3 of the stand-in (:mod:`hwlib.data.synthetic`) draws a share of its samples with this renderer.

Every sample starts from a template: the signed distance field (SDF, positive outside the ink) of a
letter from one of the fonts that ship with matplotlib, upper or lower case (EMNIST merges the two
into one class, a=0 … z=25). A sample is then, deterministically from a seed,

1. warped: ``src(p) = c + L (p - c) + e(p)`` with ``L = R(θ) · diag(sx, sy) · slant(h)`` and ``e`` an
   elastic field (Gaussian-smoothed random displacements on a coarse grid, for the letter's
   proportions, plus a finer one, for stroke-level wobble), sampled bilinearly;
2. inked: ``ink = clip(1/2 + r - sdf, 0, 1)`` — thresholding the distance field at an offset ``r``
   thickens (r > 0) or thins (r < 0) every stroke by the same amount. ``r = H - h_t`` with ``H`` a
   random target stroke half-width and ``h_t = 2 · mean(-sdf | ink)`` the template's own mean
   half-width, so bold and light fonts alike come out with handwriting-like strokes (thinning is
   capped at ``max_thin`` so hairlines survive);
3. framed like EMNIST: the ink's bounding box scaled (aspect kept) to fit a ``fit``-pixel square,
   centred in a 28×28 frame (plus a small jitter), area-sampled (3×3 points per pixel), blurred
   (Gaussian), then ``X = 255 · ink / max``: dark background (0), bright strokes (peak 255), uint8.

Steps 1-3 run in one numba kernel over batches of samples; the 26×2×19 templates are built once per
process (a few seconds) and kept in memory.

The distortion strengths are the fields of :class:`Knobs`; they were calibrated with
a calibration benchmark (since replaced by ``benchmarks/realism.py``) on the full profile (4000/800/800 per class, seed 42) so that
classifiers score about what they score on real EMNIST letters (≈70 % linear, ≈88 % MLP): version 2
gave 68.0 % test accuracy for multinomial logistic regression (full-batch L-BFGS, 150 iterations)
and 90.7 % for a 100-unit relu MLP (Adam, batch 64, 10 epochs). Any change to the output must bump
the stand-in's version in :mod:`hwlib.data.synthetic` (and invalidates recorded results).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, asdict
from pathlib import Path

import numba
import numpy as np
from scipy import ndimage

from hwlib.constants import N_CLASSES
from hwlib.errors import ConfigError


SIDE = 28

# Fonts bundled with matplotlib (file names under matplotlib's fonts/ttf): sans, serif, mono,
# slanted and bold cuts, Times-like STIX and the Computer Modern family (incl. its italic).
FONTS = (
    "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
    "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Italic.ttf",
    "DejaVuSerif-Bold.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralItalic.ttf",
    "STIXGeneralBol.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmss10.ttf", "cmti10.ttf",
    "cmtt10.ttf", "cmb10.ttf",
)

_T = 64          # template / working canvas side (pixels)
_GLYPH = 40      # a template glyph's larger side on that canvas
_HI = 100        # larger side of the high-resolution raster the distance field is computed on


@dataclass(frozen=True)
class Knobs:
    """Distortion strengths (angles in degrees, lengths in pixels of the 64-pixel working canvas)."""

    p_upper: float = 0.5         # probability a sample uses the upper-case glyph
    rot_sd: float = 15.0         # rotation θ ~ N(0, rot_sd), clipped to ±2 sd
    shear_sd: float = 0.30       # slant h ~ N(0, shear_sd), clipped to ±2 sd
    aspect_sd: float = 0.30      # log(sx/sy) ~ N(0, 2·aspect_sd²)
    elastic_px: float = 6.75     # sd of the coarse elastic displacements
    elastic_grid: int = 6        # coarse elastic control points per side
    fine_px: float = 3.0         # sd of the fine elastic displacements (stroke-level wobble)
    fine_grid: int = 10          # fine elastic control points per side
    stroke_lo: float = 2.5       # target stroke half-width H ~ U(stroke_lo, stroke_hi)
    stroke_hi: float = 5.0
    max_thin: float = 1.0        # the offset r = H - h_t is clipped to r >= -max_thin
    blur_px: float = 0.7         # Gaussian blur sd after framing, output pixels (soft edges)
    fit: float = 22.0            # the ink's bounding box is scaled to fit a fit×fit square
    jitter_px: float = 0.5       # sd of the framing offset, output pixels
    max_tilt: float = 20.0       # the letter's overall tilt (rotation, slant) is clipped to ±max_tilt


KNOBS = Knobs()


# --------------------------------------------------------------------------- templates
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@functools.lru_cache(maxsize=None)
def _font(font_file: str):
    from matplotlib.ft2font import FT2Font

    path = _font_dir() / font_file
    if not path.exists():
        raise ConfigError(f"matplotlib font {path} is missing; reinstall matplotlib")
    font = FT2Font(str(path))
    font.set_size(_HI * 1.25, 72)
    return font


def _glyph_mask(font_file: str, char: str) -> np.ndarray:
    """Binary high-resolution raster of one glyph (True = ink), tightly cropped."""
    from matplotlib.ft2font import LoadFlags

    font = _font(font_file)
    font.set_text(char, 0.0, flags=LoadFlags.NO_HINTING)
    font.draw_glyphs_to_bitmap(antialiased=True)
    img = np.asarray(font.get_image())
    mask = img >= 128
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    if rows.size == 0:
        raise ConfigError(f"font {font_file} has no glyph for {char!r}; remove it from FONTS")
    return mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def _template(font_file: str, char: str) -> np.ndarray:
    """Signed distance field (pixels of the 64-canvas, > 0 outside the ink) of a centred glyph."""
    mask = _glyph_mask(font_file, char)
    f = _GLYPH / max(mask.shape)                       # canvas pixels per high-res pixel
    need = np.ceil((_T / f - np.array(mask.shape)) / 2).astype(int) + 2   # canvas stays inside
    big = np.pad(mask, [(need[0], need[0]), (need[1], need[1])])
    sdf_hi = ndimage.distance_transform_edt(~big) - ndimage.distance_transform_edt(big)
    # canvas pixel (i, j) centre -> high-res coordinates, glyph centred on the canvas
    centre_hi = (np.array(big.shape) - 1) / 2.0
    g = (np.arange(_T) - (_T - 1) / 2.0) / f
    coords = np.stack(np.meshgrid(g + centre_hi[0], g + centre_hi[1], indexing="ij"))
    return (ndimage.map_coordinates(sdf_hi, coords, order=1, mode="nearest") * f).astype(np.float32)


@functools.lru_cache(maxsize=1)
def templates() -> np.ndarray:
    """All templates, shape (26, 2, len(FONTS), 64, 64): [letter, lower/upper, font] -> SDF."""
    out = np.empty((N_CLASSES, 2, len(FONTS), _T, _T), np.float32)
    for c in range(N_CLASSES):
        for case, ch in enumerate((chr(97 + c), chr(65 + c))):
            for k, font in enumerate(FONTS):
                out[c, case, k] = _template(font, ch)
    out.setflags(write=False)
    return out


@functools.lru_cache(maxsize=1)
def template_half_widths() -> np.ndarray:
    """Mean stroke half-width h_t of every template, 2·mean(-sdf) over ink (uniform-width strokes)."""
    depth = np.maximum(-templates(), 0.0)
    return 2.0 * depth.sum((-1, -2)) / (depth > 0).sum((-1, -2))


# --------------------------------------------------------------------------- sampling
def _smooth_basis(n: int, k: int) -> np.ndarray:
    """(n, k) row-normalised Gaussian interpolation from k control points to n pixels."""
    grid = np.linspace(0, n - 1, k)
    spacing = (n - 1) / max(k - 1, 1)
    w = np.exp(-0.5 * ((np.arange(n)[:, None] - grid[None, :]) / spacing) ** 2)
    return w / w.sum(1, keepdims=True)


@numba.njit(cache=True, nogil=True)
def _bilinear(img, r, c):
    """img sampled at (r, c) with bilinear weights, coordinates clamped to the image."""
    h, w = img.shape
    r = min(max(r, 0.0), h - 1.0)
    c = min(max(c, 0.0), w - 1.0)
    r0, c0 = min(int(r), h - 2), min(int(c), w - 2)
    fr, fc = r - r0, c - c0
    return ((1 - fr) * ((1 - fc) * img[r0, c0] + fc * img[r0, c0 + 1])
            + fr * ((1 - fc) * img[r0 + 1, c0] + fc * img[r0 + 1, c0 + 1]))


@numba.njit(cache=True, nogil=True)
def _bilinear_zero(img, r, c):
    """img sampled at (r, c) with bilinear weights, 0 outside the image."""
    h, w = img.shape
    if r < 0.0 or c < 0.0 or r > h - 1.0 or c > w - 1.0:
        return 0.0
    return _bilinear(img, r, c)


@numba.njit(cache=True, nogil=True)
def _field_rows(ctrl, B, te):
    """te[comp, a, j] = Σ_b ctrl[comp, a, b] B[j, b]: half of the separable product B ctrl Bᵀ."""
    g, T = B.shape[1], B.shape[0]
    for comp in range(2):
        for a in range(g):
            for j in range(T):
                acc = 0.0
                for b in range(g):
                    acc += ctrl[comp, a, b] * B[j, b]
                te[comp, a, j] = acc


@numba.njit(cache=True, nogil=True)
def _render_kernel(flat, idx, L, ctrl, B, ctrl2, B2, stroke, fit, shift, out):
    """Steps 1-3 (warp, ink, bounding-box framing) for every sample; writes out (n, 28, 28).

    The elastic field is the sum of a coarse and a fine field, each ``B ctrl Bᵀ`` (separable).
    """
    n, T, side = idx.size, flat.shape[1], out.shape[1]
    g, g2 = B.shape[1], B2.shape[1]
    mid, half = (T - 1) / 2.0, (side - 1) / 2.0
    ink = np.empty((T, T), np.float32)
    te = np.empty((2, g, T), np.float32)
    te2 = np.empty((2, g2, T), np.float32)
    sub = 3                                              # 3×3 supersampling per output pixel
    for k in range(n):
        src = flat[idx[k]]
        _field_rows(ctrl[k], B, te)
        _field_rows(ctrl2[k], B2, te2)
        rmin, rmax, cmin, cmax = T, -1, T, -1
        for i in range(T):
            pi = i - mid
            for j in range(T):
                pj = j - mid
                er = 0.0
                ec = 0.0
                for a in range(g):
                    er += B[i, a] * te[0, a, j]
                    ec += B[i, a] * te[1, a, j]
                for a in range(g2):
                    er += B2[i, a] * te2[0, a, j]
                    ec += B2[i, a] * te2[1, a, j]
                sr = mid + L[k, 0, 0] * pi + L[k, 0, 1] * pj + er
                sc = mid + L[k, 1, 0] * pi + L[k, 1, 1] * pj + ec
                v = min(max(0.5 + stroke[k] - _bilinear(src, sr, sc), 0.0), 1.0)
                ink[i, j] = v
                if v > 0.5:
                    rmin, rmax = min(rmin, i), max(rmax, i)
                    cmin, cmax = min(cmin, j), max(cmax, j)
        if rmax < 0:                                     # no ink at all: frame the whole canvas
            rmin, rmax, cmin, cmax = 0, T - 1, 0, T - 1
        scale = (max(rmax - rmin, cmax - cmin) + 1.0) / fit   # canvas pixels per output pixel
        cr = (rmin + rmax) / 2.0 + shift[k, 0] * scale
        cc = (cmin + cmax) / 2.0 + shift[k, 1] * scale
        for qi in range(side):
            for qj in range(side):
                acc = 0.0
                for u in range(sub):
                    for v in range(sub):
                        r = cr + scale * (qi - half + (u + 0.5) / sub - 0.5)
                        c = cc + scale * (qj - half + (v + 0.5) / sub - 0.5)
                        acc += _bilinear_zero(ink, r, c)
                out[k, qi, qj] = acc / (sub * sub)


def render(y: np.ndarray, rng: np.random.Generator, kn: Knobs = KNOBS) -> np.ndarray:
    """Render one batch of labels y into uint8 (n, 28, 28) images."""
    n = y.size
    case = (rng.random(n) < kn.p_upper).astype(np.intp)
    font = rng.integers(0, len(FONTS), n)
    theta = np.deg2rad(np.clip(rng.normal(0, kn.rot_sd, n), -2 * kn.rot_sd, 2 * kn.rot_sd))
    shear = np.clip(rng.normal(0, kn.shear_sd, n), -2 * kn.shear_sd, 2 * kn.shear_sd)
    log_aspect = rng.normal(0, kn.aspect_sd, (n, 2))
    ctrl = rng.normal(0, kn.elastic_px, (n, 2, kn.elastic_grid, kn.elastic_grid)).astype(np.float32)
    half_width = rng.uniform(kn.stroke_lo, kn.stroke_hi, n)
    shift = rng.normal(0, kn.jitter_px, (n, 2)).astype(np.float32)
    g2 = kn.fine_grid
    ctrl2 = rng.normal(0, kn.fine_px, (n, 2, g2, g2)).astype(np.float32)

    # L = R(θ) · diag(sx, sy) · [[1, 0], [h, 1]] acting on (row, col): a slant (column shifted in
    # proportion to the row, like italics), a stretch, a rotation; 1.5 keeps the result inside the canvas
    sx, sy = np.exp(log_aspect).T * 1.5
    # a template's vertical stroke leaves with slope tan θ · sx/sy + h (columns per row): rotation,
    # stretch and slant together tilt the letter; θ is clipped so that tilt stays within ±max_tilt
    t = np.tan(np.deg2rad(kn.max_tilt))
    theta = np.clip(theta, np.arctan((-t - shear) * sy / sx), np.arctan((t - shear) * sy / sx))
    cos, sin = np.cos(theta), np.sin(theta)
    L = np.empty((n, 2, 2), np.float32)
    L[:, 0, 0], L[:, 0, 1] = cos * sx - sin * sy * shear, -sin * sy
    L[:, 1, 0], L[:, 1, 1] = sin * sx + cos * sy * shear, cos * sy
    flat = templates().reshape(-1, _T, _T)
    idx = ((y * 2 + case) * len(FONTS) + font).astype(np.intp)
    stroke = np.maximum(half_width - template_half_widths().ravel()[idx], -kn.max_thin).astype(np.float32)
    img = np.empty((n, SIDE, SIDE), np.float32)
    _render_kernel(flat, idx, L, ctrl, _smooth_basis(_T, kn.elastic_grid).astype(np.float32),
                   ctrl2, _smooth_basis(_T, g2).astype(np.float32), stroke, np.float32(kn.fit), shift, img)
    if kn.blur_px > 0:
        img = ndimage.gaussian_filter(img, (0, kn.blur_px, kn.blur_px), mode="constant")
    img[img < 0.02] = 0.0
    peak = img.reshape(n, -1).max(1)
    img *= (255.0 / np.maximum(peak, 1e-6))[:, None, None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def describe() -> dict:
    return {"fonts": list(FONTS), "knobs": asdict(KNOBS)}
