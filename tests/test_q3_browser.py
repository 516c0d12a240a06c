"""The Question 3 page in headless Chromium, offline: the b and T sliders change what is plotted,
and the page makes no request that leaves the machine.

Needs /usr/bin/chromium (``apt-get install chromium``) and the ``playwright`` package; otherwise the
``browser`` fixture skips with that message. ``HWLIB_BOOK_HTML=<dir>`` (see ``built_book``) reuses
an already built ``_build/html``.
"""
from __future__ import annotations

import pytest

from conftest import open_offline

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def q3_page(browser, built_book):
    page_path = built_book / "book" / "q3.html"
    assert page_path.is_file(), f"{page_path} missing from the built book"
    page, blocked = open_offline(browser, page_path.as_uri())
    page.wait_for_function("() => document.querySelectorAll('.plotly-graph-div .slider-group').length >= 4",
                           timeout=20000)
    yield page, blocked
    page.context.close()


def _figure_id(page, name: str) -> str:
    ids = page.evaluate("""(name) => Array.from(document.querySelectorAll('.plotly-graph-div'))
        .filter(g => g.layout && g.layout.meta && g.layout.meta.figure === name).map(g => g.id)""", name)
    assert len(ids) == 1, f"expected one '{name}' figure on the page, found {len(ids)}"
    return ids[0]


def _state(page, fid: str) -> dict:
    """What the figure shows: slider positions, trace data and visibility, and the drawn SVG paths."""
    return page.evaluate("""(fid) => {
        const g = document.getElementById(fid);
        return {active: g.layout.sliders.map(s => s.active),
                data: JSON.stringify(g.data.map(t => [t.visible, t.y || null, t.a || null, t.b || null])),
                drawn: Array.from(g.querySelectorAll('.scatterlayer path.js-line, .scatterlayer path.point'))
                            .map(p => p.getAttribute('d') + '@' + p.getAttribute('transform')).join('|')};
    }""", fid)


def _move_slider(page, fid: str, index: int, fraction: float) -> None:
    """Click slider ``index`` of figure ``fid`` at ``fraction`` of its rail, as a reader would."""
    rail = page.locator(f"[id='{fid}'] g.slider-group rect.slider-rail-touch-rect").nth(index)
    rail.scroll_into_view_if_needed()
    box = rail.bounding_box()
    rail.click(position={"x": fraction * box["width"], "y": box["height"] / 2})
    page.wait_for_timeout(400)


@pytest.mark.parametrize("figure", ["k2-sliders", "simplex-sliders"])
def test_b_and_T_sliders_change_the_plot(q3_page, figure):
    page, _ = q3_page
    fid = _figure_id(page, figure)
    names = page.evaluate("(fid) => document.getElementById(fid).layout.sliders.map(s => s.name)", fid)
    assert names == ["b", "T"]
    before = _state(page, fid)
    _move_slider(page, fid, 0, 0.98)                 # b to its largest value
    after_b = _state(page, fid)
    assert after_b["active"][0] != before["active"][0] and after_b["active"][1] == before["active"][1]
    assert after_b["data"] != before["data"] and after_b["drawn"] != before["drawn"]
    _move_slider(page, fid, 1, 0.02)                 # T to its smallest value
    after_T = _state(page, fid)
    assert after_T["active"][1] != after_b["active"][1] and after_T["active"][0] == after_b["active"][0]
    assert after_T["data"] != after_b["data"] and after_T["drawn"] != after_b["drawn"]


def test_k2_slider_data_is_the_map(q3_page):
    """After moving both sliders, the visible relumax curve is p2('relumax', t / T, b) for the chosen b, T."""
    import numpy as np

    from hwlib.models import maps

    page, _ = q3_page
    fid = _figure_id(page, "k2-sliders")
    _move_slider(page, fid, 0, 0.0)                  # smallest b
    _move_slider(page, fid, 1, 0.0)                  # smallest T
    got = page.evaluate("""(fid) => {
        const g = document.getElementById(fid), m = g.layout.meta;
        const i = m.traces.findIndex((t, j) => t.name === 'relumax' && t.which === 'p' && g.data[j].visible === true);
        return {b: m.traces[i].b, T: m.Ts[g.layout.sliders[1].active], bs: m.bs, t: m.t, y: g.data[i].y};
    }""", fid)
    assert got["b"] == min(got["bs"])
    t, y = np.array(got["t"]), np.array(got["y"], dtype=float)
    np.testing.assert_allclose(y, maps.p2("relumax", t / got["T"], got["b"]), rtol=1e-4, atol=1e-9)


def test_no_request_left_the_machine(q3_page):
    page, blocked = q3_page
    page.wait_for_timeout(300)
    assert blocked == [], f"the page tried to reach the network: {blocked}"
    assert page.evaluate("() => typeof window.Plotly") == "object"
    assert page.evaluate("() => typeof window.MathJax") == "object"
