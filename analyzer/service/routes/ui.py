"""The support team's workspace: static HTML, CSS and vanilla JS under /ui/ (no build step).

Pages (hash routes of one document): Overview, Alerts, Customers, a Customer, Outcomes, Upload,
Settings. The page's scripts live in ``static/js/`` (one module per page), the vendored libraries
in ``static/vendor/`` (uPlot for charts, Papa Parse for CSV; see ``static/vendor/README.md``):
nothing is loaded from another origin.

``/ui/i18n.json`` holds the interface strings and the label of every code (severities, actions,
reasons, event types, ...) in Spanish and English; theme names come from the taxonomy in force.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from analyzer.importers import SOURCES
from analyzer.service.deps import settings, store
from analyzer.service.i18n import STRINGS
from analyzer.service.labels import labels
from analyzer.service.workspace import effective_taxonomy

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".md": "text/plain; charset=utf-8"}
_PART = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,80}$")
_LICENSE = "LICENSE"
# A strict policy: the page loads only its own files and talks only to this origin.
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"


def _static(parts: list[str]) -> Traversable:
    node = resources.files("analyzer.service").joinpath("static")
    for part in parts:
        node = node.joinpath(part)
    return node


@router.get("/ui/")
def index() -> HTMLResponse:
    return HTMLResponse(_static(["index.html"]).read_text(encoding="utf-8"), headers={"Content-Security-Policy": _CSP})


@router.get("/ui/i18n.json")
def i18n(request: Request) -> JSONResponse:
    """Interface strings and code labels per language; ``themes`` are the taxonomy's names."""
    taxonomy = effective_taxonomy(store(request), settings(request))
    out = {}
    for lang in ("es", "en"):
        codes = labels(lang)
        codes["theme"] = {t.id: t.name.get(lang, t.id) for t in taxonomy.themes}
        out[lang] = {**STRINGS[lang], "_codes": codes}
    return JSONResponse(out)


@router.get("/ui/sources.json")
def sources() -> JSONResponse:
    """The import sources an upload may name (``POST /v1/jobs`` with ``source``); ``profile`` needs a YAML file."""
    return JSONResponse(sorted(s for s in SOURCES if s != "profile"))


@router.get("/ui/{path:path}")
def asset(path: str) -> Response:
    parts = path.split("/")
    suffix = "." + parts[-1].rsplit(".", 1)[-1] if "." in parts[-1] else ""
    if (len(parts) > 4 or not all(_PART.match(p) for p in parts)
            or (suffix not in _TYPES and parts[-1] != _LICENSE)):
        raise HTTPException(404, f"No file {path!r} in the page.")
    node = _static(parts)
    if not node.is_file():
        raise HTTPException(404, f"No file {path!r} in the page.")
    return Response(node.read_bytes(), media_type=_TYPES.get(suffix, "text/plain; charset=utf-8"),
                    headers={"Cache-Control": "no-cache"})
