"""Health, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from analyzer.service.db import current_version
from analyzer.service.deps import holder, metrics, store
from analyzer.service.store import Store

__all__ = ["router"]

router = APIRouter(tags=["system"])


@router.get("/v1/health", summary="Liveness: the process answers")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/v1/ready", summary="Readiness: database reachable and text models loaded",
            responses={503: {"description": "Not ready yet (models loading) or the database is unreachable"}})
def ready(request: Request, st: Annotated[Store, Depends(store)]) -> JSONResponse:
    h = holder(request)
    checks: dict[str, Any] = {}
    try:
        st.ping()
        checks["database"] = {"ok": True, "dialect": st.dialect, "schema_version": current_version(st.engine)}
    except Exception as exc:
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    checks["models"] = {"ok": h.ready, **({"error": h.error} if h.error else {})}
    ok = all(c["ok"] for c in checks.values())
    metrics(request).model_ready.set(1 if h.ready else 0)
    return JSONResponse({"status": "ready" if ok else "not_ready", "checks": checks}, 200 if ok else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus(request: Request) -> Response:
    m = metrics(request)
    m.model_ready.set(1 if holder(request).ready else 0)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/ui/")
