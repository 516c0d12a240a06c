"""Letter forms from human hands: handwriting fonts, reduced to the path of a pen.

The handwriting families of Google Fonts — each digitised from one person's writing, licensed under
the SIL Open Font License — as npm's ``@fontsource/<family>`` packages ship them, are fetched once
into the user cache by pooch, every tarball pinned by its sha256 (:data:`FAMILIES`), the family's
licence file kept beside its font. Each letter of each case is then

1. rendered by FreeType (Pillow) at ``RENDER_PX`` pixels, cropped to its ink and scaled so that its
   larger side is ``BOX_PX`` pixels (a missing glyph — absent from the font's cmap — is skipped);
2. skeletonised (scikit-image): the centre line of the ink, whatever the width of the font's strokes;
3. traced into polylines between the skeleton's end points and junctions (pixels adjacent in the
   "m-adjacency" sense, so a corner is one step, not a triangle), spurs shorter than ``SPUR_PX``
   pruned, each polyline simplified (Douglas–Peucker, tolerance ``SIMPLIFY_PX``);
4. expressed in the glyph units of :mod:`hwlib.data.synth_pen` (larger side 21, centred), with the
   polylines of one connected piece of ink in one *group* (a hand moves a piece as a whole).

The traced table is cached on disk, keyed by the families' hashes and these settings.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import numpy as np

from hwlib.constants import LETTERS
from hwlib.errors import DataError

VERSION = "5.3.0"        # of every @fontsource package below
URL = "https://registry.npmjs.org/@fontsource/{family}/-/{family}-{version}.tgz"
# Every family of Google Fonts' handwriting category on npm whose licence is OFL-1.1 (12 families
# of the category are Apache-2.0 and left out), with the sha256 of its npm tarball.
FAMILIES = {
    "allura": "2ee3e81f8c3777a6ccea66e7548eed2bb2077837d9026da7a9fc2dde8c6aca54",
    "amatic-sc": "76e588455c315b57c558b8ad2bafd1c91cc7c764a6333f6bb5a3dcc4a35c390c",
    "annie-use-your-telescope": "ed1cea10322cff6e760b1c1d2cb3be8b5a3b08ddea41feae31f9f938f39fe1ab",
    "architects-daughter": "791d2009fbdc46ca3eb942c27c62c0ee353668cd290dfad17f401b8488c727a1",
    "bad-script": "3b51fb49d57c31345272b0d483be17ec99d67a3e6baf06d462b800fd6d9478cd",
    "caveat-brush": "90bdf6714e7152db9b03cd62ec69fe6ff96efe4ba30eacef71b40e7492a53089",
    "caveat": "ebf746fc0667b9d10fcac7c8604e2ba40a264da85a1c9b48bd679c0af3221293",
    "cedarville-cursive": "dd07000aae10231af25d83ab5ea2c53a22a8c20d8eccc137d6e5798a55edc80e",
    "comic-neue": "0d242660fa8a3e31deb4ba0005b830904db4533ae3366f9c41724ff452662fa6",
    "cookie": "07157445bcb2ecccf2dba865e8efc9c01e9403ad22b1f298dbbe0dba127206f0",
    "courgette": "313ba0c485f5e8e09a5783c4b590719bc689a55d205f23a6c58b0437bcce0676",
    "covered-by-your-grace": "1bd27256356f90c7bc7b463d36c05565ef4b3d655bc56d0dd7b7387114b1308d",
    "dancing-script": "e392efa74afec672f1c97f8699a16bb8439c8aca1a367ddb5cd035f11e70e31a",
    "dawning-of-a-new-day": "90b517633db0d0b77ccbd6ba10c9befaaefd3aa0d964957fc7af064ce377037a",
    "delius": "d11ac0b0039cc03d141d2dc65ee3472a8bd77300ff2dc16ed24c83544097ecb0",
    "edu-nsw-act-foundation": "ca91298947e4e95be9595a7e234a81e494f4bbcd57a2b6006c74cf1809fa3db0",
    "edu-qld-beginner": "567433d322935ceae5f449b73a5dd5fc9dbabd6fa06e4e3326fbe6ec7aff1f95",
    "edu-sa-beginner": "a91f987d2a9e11937fac52c9adc0eaecd2e7ad69f4532152680c84717b202def",
    "edu-tas-beginner": "253bcf05d60701109332c3d7c1acaaced5f54f7fbf94a2d92fa4045d1869ebe8",
    "edu-vic-wa-nt-beginner": "a53e487636db6815d568bdb73225b5cd2f7ec45f1cd17656b6682dca82645c06",
    "fuzzy-bubbles": "2c83ab005ae5e49410060fcddde95f799921821c8c0b5a2fe567c98002e5ba8a",
    "gaegu": "a288e8e1d8ba3b288bee36088ad49f3e393797b96c2cca489efcbce47d918f6f",
    "give-you-glory": "53dc8a5a8571d4ddbf30961e9be717e4a9395e7c4c172bacc76151cae70955aa",
    "gloria-hallelujah": "8755cc046e06286eeebee193f9f753bd0f03eec44c7bf188fc883db66e7a9d91",
    "gochi-hand": "6e206b6139093775d8762503196d6d991408bd5f8393ea0357f4f89b75b195a3",
    "grape-nuts": "93b250022fe6d3cf2a1b84288eabe24c98dfd9d206d3c76c6c8c0e545ac886ec",
    "great-vibes": "0bfdc957fa42a6d17288fce79a9299dab14742b77bdbb223c4385739d4035ca9",
    "handlee": "e1fbeba16906d4807b42add8ab85dec533c3e667575be00ba96f050b5fc452ce",
    "indie-flower": "be380503f1e2c5ef08b8399a28f8cb2f1725527db2cb6aacec3037c2bd1b9083",
    "itim": "2b6f41d05eae237d51e51e69099993e2864d9c61a0015cb908b73850000f1e2e",
    "just-me-again-down-here": "f50dfa4391c0155de091e83454aa53c82e6fd03d79e0ef27d16615186af6f9f8",
    "kalam": "0aaf22523f3c57ae19f32c4f4df0d43d6efd01b7563a19cf4ed818cd5601426d",
    "kaushan-script": "1d665df77f4bcd3fbf106c9adc1405fc1d0ec492270d5c23b597f00da2f6515d",
    "kristi": "17fc68a1e21cdf6e59112e7ea2450e039b1590caeb3714ed53d958b791f2ee64",
    "la-belle-aurore": "48be5aefc80ad78aa9b2b1c992dd65678235c2496ae2a88f694e594ab9d7abed",
    "loved-by-the-king": "d058a205828a2e29748c87c533dd917fb9b3e4156d6ae564f48cef24f5e9eb69",
    "mali": "391b86c08e567a8537c0cf6aad7298f5e4c54e0ab7652d046b44678f01f7fbd0",
    "marck-script": "c4e6f14fd3736ec94a872db215192ea7dea04f1315df1385b451c153510575da",
    "meddon": "659f0e7a8e6826ee976c5e2d2542a2f3778c4393fe579cdb1756aa8a55c287fb",
    "mr-dafoe": "13cbcaa706121cb7d9a27ad6584c30c89f953df34d2fccb5bb03f72a89ea4afe",
    "mynerve": "0ecc298409c3206a75447721e3f462ed7dca74efc9c7c88e4d3644529e37a033",
    "nanum-pen-script": "91c7118b1d68e8ab576addbae76351857cf5c3656b7ee496c51fe16f01258a44",
    "neucha": "8f2718549556a0c406a766edc9689801a950dc79a71cbb646fc5e2d67c49cca0",
    "nothing-you-could-do": "dac48ef024df5e754bf8586157d73d0dba139d6353f28b9ec6de77b0dadf0add",
    "over-the-rainbow": "5f231cee244b4c3a734da05bf23d4e07fec1062ffa1824358e933f59fc94e313",
    "pacifico": "397f4f0a8a4c44e929cafa4cfede7240f7ac81a922f6779d3fefe2192c67d619",
    "pangolin": "0b7bd4f9ad33a18fc9de29e28dfb23fc4281635cc153df856443106c94f0e0b3",
    "patrick-hand": "c3428d02610c7b8fa92b044cf766f8c30b88bb32a47460b4ac42fa14e0bcdcc0",
    "playpen-sans": "cc638f6c358ee318701ff65788540db3019aab408267b5b5d81c2a84226e4706",
    "reenie-beanie": "8a2406f9b3c0b76199dcd87288ea40480fcd8547ba1af2f9f3156205f1688be9",
    "sacramento": "d9214720a61e878d67296a55afec2c372b1e6a9a6a00718e8e343def34911ae3",
    "sedgwick-ave": "0531aaf259af059ed01c20108b5c4a7e80b5868e4e2095910e3ceaf06c597dc1",
    "shadows-into-light": "0885aefd34c65bd79207cffff0771ae0527f227a202bc850f8cf9a12257fc7f1",
    "shantell-sans": "e967981462dc976f2e887e3c94586fd44826435a59c643160b1734b83165decf",
    "short-stack": "10ff174d6c256fd5e5417466b24a561de4fd1c5d090975849c77cc7746d8f470",
    "sriracha": "934c3629d255c4f86f66b218cdefef90d6328727be5036fc28f953ac53a7b6f4",
    "sue-ellen-francisco": "93c9f047a1709b2879db10b52058ffba7c1642f0acbec422eb358433c937ee00",
    "swanky-and-moo-moo": "3a1b7f26957986f2bd645c3656f4044812a8b6995eeb2870c90a2f6b86426cd5",
    "the-girl-next-door": "d4ac864cbcda87dffe808b5366045e8d75c149fd2a00d081cc8343ab36699545",
    "waiting-for-the-sunrise": "6f9c645d858526553e72f0b56abb32742d5d4c10d6acdb392e5d3fa843ef7141",
    "zeyada": "bf6eb4164a796a1b91405188b95455aa7e1fad447f37195e9f767efee21e336a",
}
FETCH_COMMAND = "python -m hwlib data fonts"

RENDER_PX = 120     # FreeType size of the em square
BOX_PX = 60         # the glyph's larger side before skeletonising
SPUR_PX = 5         # a branch from a junction to a free end shorter than this is a skeleton artefact
SIMPLIFY_PX = 0.8   # Douglas–Peucker tolerance
UNITS = 21.0        # the glyph's larger side in synth_pen's units (a Hershey capital's height)


def font_dir() -> Path:
    """Where the fonts live: ``$HWLIB_FONTS``, else ``~/.cache/hwlib/fonts`` (``$XDG_CACHE_HOME``
    honoured). Pinned and immutable, they are shared by every ``HWLIB_CACHE`` (fetched once)."""
    import os
    if os.environ.get("HWLIB_FONTS"):
        return Path(os.environ["HWLIB_FONTS"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hwlib" / "fonts"


def _member(family: str) -> str:
    return f"package/files/{family}-latin-400-normal.woff"


def font_path(family: str, *, fetch: bool = True) -> Path:
    """The family's ``latin-400-normal.woff``, fetched (sha256-checked) into :func:`font_dir` once.

    Offline, or with a tarball whose hash differs, a :class:`DataError` names the remedy."""
    if family not in FAMILIES:
        raise DataError(f"unknown handwriting font family {family!r}; known: {', '.join(FAMILIES)}")
    tarball = f"{family}-{VERSION}.tgz"
    extracted = font_dir() / f"{tarball}.untar"
    path = extracted / _member(family)
    if path.is_file() and (extracted / "package" / "LICENSE").is_file():
        return path
    if not fetch:
        raise DataError(f"the handwriting font {family!r} is not in {font_dir()}: run `{FETCH_COMMAND}` "
                        "once with internet access (about 38 MB from the npm registry)")
    import pooch
    pooch.get_logger().setLevel("WARNING")
    try:
        pooch.retrieve(URL.format(family=family, version=VERSION), known_hash=f"sha256:{FAMILIES[family]}",
                       fname=tarball, path=font_dir(), progressbar=False,
                       processor=pooch.Untar(members=[_member(family), "package/LICENSE"]))
    except ValueError as e:                       # pooch: hash mismatch
        raise DataError(f"the npm tarball of @fontsource/{family}@{VERSION} does not have the pinned "
                        f"sha256 ({e}); delete {font_dir()} and run `{FETCH_COMMAND}` again") from e
    except Exception as e:                        # requests / OS errors: offline, registry down
        raise DataError(f"could not fetch the handwriting font @fontsource/{family} from the npm registry "
                        f"({type(e).__name__}: {e}). synthetic-letters-v4 draws its letters from these "
                        f"fonts: run `{FETCH_COMMAND}` with internet access, or use `--data` with real "
                        "EMNIST Letters") from e
    return path


def fetch_all() -> dict[str, Path]:
    """Every family's font file (fetching what is missing)."""
    from tqdm.auto import tqdm
    return {f: font_path(f) for f in tqdm(FAMILIES, desc="handwriting fonts", unit="font", leave=False)}


# ------------------------------------------------------------------------ skeleton → polylines
def render_mask(path: Path, char: str) -> np.ndarray | None:
    """The glyph's ink (bool, larger side BOX_PX, 3-px margin), or None if the font lacks ``char``."""
    from PIL import Image, ImageDraw, ImageFont
    from scipy import ndimage
    if ord(char) not in (_cmap(str(path))):
        return None
    font = ImageFont.truetype(str(path), RENDER_PX)
    left, top, right, bottom = font.getbbox(char)
    if right <= left or bottom <= top:
        return None
    img = Image.new("L", (right - left + 8, bottom - top + 8))
    ImageDraw.Draw(img).text((4 - left, 4 - top), char, font=font, fill=255)
    ink = np.asarray(img, float) / 255.0
    rows, cols = np.nonzero(ink > 0.5)
    if rows.size < 4:
        return None
    ink = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    ink = ndimage.zoom(ink, BOX_PX / max(ink.shape), order=1)
    return np.pad(ink > 0.5, 3)


@functools.lru_cache(maxsize=None)
def _cmap(path: str) -> frozenset:
    from fontTools.ttLib import TTFont
    return frozenset(TTFont(path).getBestCmap())


_STEPS = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]


def _neighbours(on: set, p: tuple) -> list[tuple]:
    """m-adjacency: 4-neighbours, and a diagonal one only where no 4-neighbour links the two."""
    r, c = p
    out = [(r + dr, c + dc) for dr, dc in _STEPS[:4] if (r + dr, c + dc) in on]
    for dr, dc in _STEPS[4:]:
        q = (r + dr, c + dc)
        if q in on and (r + dr, c) not in on and (r, c + dc) not in on:
            out.append(q)
    return out


def trace(skeleton: np.ndarray) -> list[np.ndarray]:
    """The skeleton as polylines of (row, col) pixels, split at end points and junctions."""
    on = set(zip(*np.nonzero(skeleton)))
    nb = {p: _neighbours(on, p) for p in on}
    node = {p for p in on if len(nb[p]) != 2}
    used, paths = set(), []

    def walk(a, b):
        path = [a, b]
        used.add((a, b)), used.add((b, a))
        while path[-1] not in node:
            nxt = [q for q in nb[path[-1]] if (path[-1], q) not in used]
            if not nxt:
                break
            used.add((path[-1], nxt[0])), used.add((nxt[0], path[-1]))
            path.append(nxt[0])
        return path

    for p in sorted(node):
        for q in nb[p]:
            if (p, q) not in used:
                paths.append(walk(p, q))
    for p in sorted(on):                      # closed loops without any node ("o" in some fonts)
        for q in nb[p]:
            if (p, q) not in used:
                node.add(p)
                paths.append(walk(p, q))
    degree = {p: len(nb[p]) for p in on}
    keep = [np.array(path, float) for path in paths
            if len(paths) == 1 or not (len(path) < SPUR_PX and min(degree[path[0]], degree[path[-1]]) == 1
                                       and max(degree[path[0]], degree[path[-1]]) >= 3)]
    return keep


def simplify(poly: np.ndarray, tol: float = SIMPLIFY_PX) -> np.ndarray:
    """Douglas–Peucker: the fewest of ``poly``'s points within ``tol`` of the original line."""
    if len(poly) <= 2:
        return poly
    a, b = poly[0], poly[-1]
    d = b - a
    norm = np.hypot(*d)
    rel = poly - a
    dist = np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0]) / norm if norm > 0 else np.hypot(rel[:, 0], rel[:, 1])
    i = int(np.argmax(dist))
    if dist[i] <= tol:
        return np.stack([a, b])
    return np.concatenate([simplify(poly[:i + 1], tol)[:-1], simplify(poly[i:], tol)])


def glyph(path: Path, char: str) -> tuple[list[np.ndarray], list[int]] | None:
    """(polylines of (x, y) in glyph units, y down, centred; the connected piece of each), or None."""
    from scipy import ndimage
    from skimage.morphology import skeletonize
    mask = render_mask(path, char)
    if mask is None:
        return None
    skel = skeletonize(mask)
    pieces, _ = ndimage.label(skel, structure=np.ones((3, 3)))
    polys = [simplify(p) for p in trace(skel)]
    polys = [p for p in polys if len(p) >= 2]
    if not polys:
        return None
    groups = [int(pieces[int(p[0, 0]), int(p[0, 1])]) for p in polys]
    order = {g: i for i, g in enumerate(dict.fromkeys(groups))}
    pts = np.concatenate(polys)
    mid, side = (pts.min(0) + pts.max(0)) / 2, max(np.ptp(pts, 0).max(), 1.0)
    return [(p - mid)[:, ::-1] * (UNITS / side) for p in polys], [order[g] for g in groups]


def describe() -> dict:
    """Where the letter forms come from, for provenance records."""
    return {"source": "npm @fontsource packages (Google Fonts, handwriting category)", "version": VERSION,
            "licence": "SIL Open Font License 1.1 (each family's LICENSE kept beside its font)",
            "families_sha256": FAMILIES,
            "tracing": {"render_px": RENDER_PX, "box_px": BOX_PX, "spur_px": SPUR_PX,
                        "simplify_px": SIMPLIFY_PX, "units": UNITS}}


def _table_key() -> str:
    spec = {"families": FAMILIES, "version": VERSION, "px": [RENDER_PX, BOX_PX, SPUR_PX, SIMPLIFY_PX, UNITS],
            "code": 1}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


@functools.lru_cache(maxsize=1)
def traced_table() -> dict[tuple[int, int, str], tuple[list[np.ndarray], list[int]]]:
    """(class, case 0 lower / 1 upper, family) → (polylines, groups) for every glyph the fonts have;
    traced once and cached on disk beside the fonts."""
    cache = font_dir() / f"traced-{_table_key()}.npz"
    if cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as z:
                return _unpack(z["keys"], z["pts"], z["meta"])
        except (OSError, ValueError, KeyError):
            pass                                  # unreadable: trace again
    from tqdm.auto import tqdm
    table = {}
    for family in tqdm(FAMILIES, desc="tracing handwriting fonts", unit="font", leave=False):
        path = font_path(family)
        for c, letter in enumerate(LETTERS):
            for case, ch in enumerate((letter.lower(), letter.upper())):
                g = glyph(path, ch)
                if g is not None:
                    table[c, case, family] = g
    import os
    from hwlib.paths import make_temp
    keys, pts, meta = _pack(table)
    fd, tmp = make_temp(cache.parent, cache.name + ".")
    try:
        with os.fdopen(os.dup(fd), "wb") as fh:
            np.savez(fh, keys=keys, pts=pts, meta=meta)
        os.replace(tmp, cache)
    except OSError:
        Path(tmp).unlink(missing_ok=True)        # a cache that cannot be written costs a re-trace only
    finally:
        os.close(fd)
    return table


def _pack(table):
    keys = np.array([f"{c}|{case}|{fam}" for (c, case, fam) in table])
    pts, meta = [], []        # meta rows: (glyph number, group, number of points) per polyline
    for i, (polys, groups) in enumerate(table.values()):
        for p, g in zip(polys, groups):
            pts.append(p)
            meta.append((i, g, len(p)))
    return keys, np.concatenate(pts), np.array(meta, np.int64)


def _unpack(keys, pts, meta):
    table, start = {}, 0
    out = [([], []) for _ in keys]
    for i, g, n in meta:
        out[i][0].append(pts[start:start + n])
        out[i][1].append(int(g))
        start += n
    for k, v in zip(keys, out):
        c, case, fam = str(k).split("|")
        table[int(c), int(case), fam] = v
    return table
