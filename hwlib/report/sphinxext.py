"""Sphinx extension for the offline book (listed in ``_config.yml``).

* serves ``plotly.min.js`` from the installed ``plotly`` package (no CDN) on every page;
* offers each executed chapter as a downloadable ``.ipynb`` in the theme's download menu.
"""
from __future__ import annotations

import shutil
from pathlib import Path

PLOTLY_JS = "hwlib/plotly.min.js"


def _plotly_source() -> Path:
    import plotly
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _copy_plotly(app, exc) -> None:
    if exc is None and app.builder.format == "html":
        dest = Path(app.outdir) / "_static" / PLOTLY_JS
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_plotly_source(), dest)


def _ipynb_download(app, pagename, templatename, context, doctree) -> None:
    """Copy the executed notebook of a MyST-notebook page into ``_sources`` and link it."""
    nb = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not nb.is_file() or context.get("ipynb_source"):
        return
    dest = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(nb, dest)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(0, {
                "type": "link", "url": f"{context['pathto']('_sources', 1)}/{pagename}.ipynb",
                "text": ".ipynb", "icon": "fas fa-code", "tooltip": "Download notebook file",
                "label": "download-notebook-button"})


def setup(app):
    app.add_js_file(PLOTLY_JS)
    app.connect("build-finished", _copy_plotly)
    app.connect("html-page-context", _ipynb_download, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
