"""The support team's page: static HTML + vanilla JS under /ui/ (no build step)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, JSONResponse, Response

from analyzer.service.i18n import STRINGS

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_TYPES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "app.css": "text/css; charset=utf-8"}
# A strict policy: the page loads only its own files and talks only to this origin.
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'"


def _file(name: str) -> str:
    return resources.files("analyzer.service").joinpath("static", name).read_text(encoding="utf-8")


@router.get("/ui/")
def index() -> HTMLResponse:
    return HTMLResponse(_file("index.html"), headers={"Content-Security-Policy": _CSP})


@router.get("/ui/i18n.json")
def i18n() -> JSONResponse:
    return JSONResponse(STRINGS)


@router.get("/ui/{name}")
def asset(name: str) -> Response:
    if name not in _TYPES:
        raise HTTPException(404, f"No file {name!r} in the page.")
    return Response(_file(name), media_type=_TYPES[name])
