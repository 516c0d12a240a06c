"""The handwriting letter forms of synthetic-letters-v4: fetching (pinned, offline errors), tracing."""
import hashlib
import http.server
import io
import tarfile
import threading

import numpy as np
import pytest

from hwlib.data import hands, synth_pen, synthetic
from hwlib.errors import DataError

FAMILY = "patrick-hand"


def _tarball(woff: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in ((f"package/files/{FAMILY}-latin-400-normal.woff", woff),
                           ("package/LICENSE", b"SIL Open Font License 1.1 (test copy)")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A local stand-in for the npm registry serving one small tarball in @fontsource's layout."""
    woff = hands.font_path(FAMILY).read_bytes()              # the real font (fetched once, shared)
    (tmp_path / "reg").mkdir()
    blob = _tarball(woff)
    (tmp_path / "reg" / f"{FAMILY}-{hands.VERSION}.tgz").write_bytes(blob)
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path / "reg"), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("HWLIB_FONTS", str(tmp_path / "fonts"))
    monkeypatch.setattr(hands, "URL", f"http://127.0.0.1:{server.server_port}/{{family}}-{{version}}.tgz")
    yield hashlib.sha256(blob).hexdigest()
    server.shutdown()


def test_fetch_checks_the_pinned_hash_and_keeps_the_licence(registry, monkeypatch):
    monkeypatch.setitem(hands.FAMILIES, FAMILY, registry)
    path = hands.font_path(FAMILY)
    assert path.is_file() and (path.parents[2] / "package" / "LICENSE").is_file()
    assert hands.font_path(FAMILY, fetch=False) == path          # cached: no second fetch


def test_a_tarball_with_another_hash_is_refused(registry, monkeypatch):
    monkeypatch.setitem(hands.FAMILIES, FAMILY, "0" * 64)
    with pytest.raises(DataError, match="pinned sha256") as e:
        hands.font_path(FAMILY)
    assert hands.FETCH_COMMAND in str(e.value)


def test_offline_names_the_command_that_fetches(tmp_path, monkeypatch):
    monkeypatch.setenv("HWLIB_FONTS", str(tmp_path / "fonts"))
    monkeypatch.setattr(hands, "URL", "http://127.0.0.1:9/{family}-{version}.tgz")   # nothing listens
    with pytest.raises(DataError, match="could not fetch") as e:
        hands.font_path(FAMILY)
    assert hands.FETCH_COMMAND in str(e.value)
    with pytest.raises(DataError, match="unknown handwriting font"):
        hands.font_path("no-such-family")


def test_trace_splits_at_junctions_and_follows_loops():
    plus = np.zeros((21, 21), bool)
    plus[10, 2:19] = plus[2:19, 10] = True
    assert sorted(len(p) for p in hands.trace(plus)) == [9, 9, 9, 9]   # four arms from the centre
    ring = np.zeros((30, 30), bool)
    yy, xx = np.mgrid[:30, :30]
    ring[np.abs(np.hypot(yy - 15, xx - 15) - 10) < 0.7] = True
    from skimage.morphology import skeletonize
    polys = hands.trace(skeletonize(ring))
    assert len(polys) == 1 and np.allclose(polys[0][0], polys[0][-1])   # one closed loop


def test_simplify_keeps_corners_and_drops_collinear_points():
    line = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2]], float)
    assert np.array_equal(hands.simplify(line, 0.5), [[0, 0], [3, 0], [3, 2]])


def test_every_letter_of_every_family_is_traced():
    table = hands.traced_table()
    forms = {(c, case) for c, case, _ in table}
    assert forms == {(c, case) for c in range(26) for case in (0, 1)}
    assert len(table) >= 0.95 * 52 * len(hands.FAMILIES)
    for strokes, groups in table.values():
        pts = np.concatenate(strokes)
        assert abs(np.ptp(pts, 0).max() - hands.UNITS) < 1e-6 and len(groups) == len(strokes)
    dots = [len(set(g)) for (c, case, f), (_, g) in table.items() if (c, case) == (8, 0)]   # "i"
    assert np.mean([n >= 2 for n in dots]) > 0.5                  # most hands lift the pen for the dot


def test_v4_is_the_default_and_deterministic():
    assert synthetic.GENERATOR_VERSION == 4 and synthetic.default_knobs() is synth_pen.KNOBS_V4
    a, ya = synthetic.generate(3, seed=11)
    b, yb = synthetic.generate(3, seed=11)
    assert np.array_equal(a, b) and np.array_equal(ya, yb)
    d = synthetic.describe()
    assert d["generator_version"] == 4 and d["handwriting_fonts"]["families_sha256"] == hands.FAMILIES
