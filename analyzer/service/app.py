"""The FastAPI application: ``create_app(settings=None, text_analyzer=None)``.

The text models load in the lifespan, in a background thread, unless an object with
``analyze_frame(frame) -> frame`` (the :class:`analyzer.text.pipeline.TextAnalyzer` contract) is
injected; until they are loaded ``/v1/ready`` and the endpoints that need them answer 503,
while everything else (alerts, customers, feed) already works.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from analyzer.service.db import create_db_engine, migrate, resolve_database_url, utcnow
from analyzer.service.feed import FeedNotifier
from analyzer.service.metrics import Metrics
from analyzer.service.storage import Store
from analyzer.settings import Settings, get_settings

__all__ = ["AnalyzerHolder", "FrameAnalyzer", "create_app", "open_store"]

log = logging.getLogger("analyzer.service")
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FrameAnalyzer(Protocol):
    def analyze_frame(self, frame: pd.DataFrame) -> pd.DataFrame: ...


class AnalyzerHolder:
    """The text analyzer, loaded once; ``get()`` raises 503 while it is loading."""

    def __init__(self, analyzer: FrameAnalyzer | None = None) -> None:
        self.analyzer = analyzer
        self.error: str | None = None
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.analyzer is not None

    def load(self, settings: Settings) -> None:
        with self._lock:
            if self.analyzer is not None:
                return
            try:
                from analyzer.text.pipeline import load_analyzer

                self.analyzer = load_analyzer(settings)
            except Exception as exc:  # reported by /v1/ready, never crashes the server
                self.error = f"{type(exc).__name__}: {exc}"
                log.error("text models failed to load: %s", self.error)

    def get(self) -> FrameAnalyzer:
        if self.analyzer is None:
            detail = ("The text models are still loading; retry in a few seconds." if self.error is None else
                      f"The text models could not be loaded: {self.error}")
            raise HTTPException(503, detail, headers={"Retry-After": "5"})
        return self.analyzer


def open_store(settings: Settings) -> Store:
    """Engine for the configured database (default: SQLite under data_dir), migrated to head."""
    engine = create_db_engine(resolve_database_url(settings.database_url, settings.data_dir))
    migrate(engine)
    return Store(engine)


# --------------------------------------------------------------------------- middleware


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for bodies over the limit, whether announced by Content-Length or streamed chunked."""

    def __init__(self, app: Callable[..., Awaitable[None]], *, max_body: int, max_upload: int,
                 upload_prefix: str = "/v1/jobs") -> None:
        self.app, self.max_body, self.max_upload, self.upload_prefix = app, max_body, max_upload, upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope["path"].startswith(self.upload_prefix) else self.max_body
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = exceeded = False

        async def limited_receive() -> Message:
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                # The framework may turn the aborted body read into its own 400: answer 413 instead.
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _too_large(send, limit)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    await JSONResponse(_error_body(413, "body_too_large",
                                   f"The request body is larger than the limit of {limit} bytes; send fewer "
                                   f"items per request (or raise DARKFEEDBACK_MAX_BODY_BYTES)."),
                       status_code=413)({"type": "http"}, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}


class MetricsMiddleware:
    def __init__(self, app: Callable[..., Awaitable[None]], metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        t0 = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, route, str(status)).inc()
            if not route.endswith("/stream"):
                self.metrics.latency.labels(method, route).observe(time.perf_counter() - t0)


# --------------------------------------------------------------------------- errors

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          409: "conflict", 413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_request",
          429: "too_many_requests", 503: "not_ready"}


def _error_body(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if details:
        body["details"] = details
    return {"error": body}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        # The offending input is not echoed back: it may be a customer's raw text.
        details = [{"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
                   for e in errors]
        if any(e.get("type") == "json_invalid" for e in errors):
            return JSONResponse(_error_body(400, "malformed_json", "The body is not valid JSON.", details), 400)
        fields = ", ".join(".".join(d["loc"][1:]) or d["loc"][0] for d in details[:5] if d["loc"])
        return JSONResponse(_error_body(422, "invalid_request", f"The request does not match the schema ({fields}); "
                                        "see details and the OpenAPI docs at /docs.", details), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_error_body(exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail)),
                            exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        # Only the type and the stack (no message, no locals): messages can quote customer data.
        log.error("unhandled %s on %s %s\n%s", type(exc).__name__, request.method, request.url.path,
                  "".join(traceback.format_tb(exc.__traceback__)))
        return JSONResponse(_error_body(500, "internal_error", "Internal error; it has been logged."), 500)


# --------------------------------------------------------------------------- app


async def _retention_loop(app: FastAPI, every_s: float) -> None:
    while True:
        await run_in_threadpool(run_retention, app)
        await asyncio.sleep(every_s)


def run_retention(app: FastAPI) -> int:
    settings: Settings = app.state.settings
    if not settings.retention_days:
        return 0
    cutoff = utcnow() - dt.timedelta(days=settings.retention_days)
    n = app.state.store.purge_texts(cutoff)
    if n:
        app.state.store.audit("system", "retention_purge", "messages", None, {"texts": n, "before": cutoff})
    return n


def create_app(settings: Settings | None = None, text_analyzer: FrameAnalyzer | None = None) -> FastAPI:
    """The API, the alert feed and the support page, on the configured database."""
    from analyzer.service.jobs import JobRunner
    from analyzer.service.routes import ALL_ROUTERS

    settings = settings or get_settings()
    metrics = Metrics.create()
    holder = AnalyzerHolder(text_analyzer)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store, settings)
        app.state.store = store
        if settings.bootstrap_api_key:
            store.ensure_key(settings.bootstrap_api_key)
        app.state.jobs = JobRunner(store, holder, settings, Path(settings.data_dir) / "jobs")
        app.state.jobs.resume_unfinished()
        loader = None
        if not holder.ready:
            loader = threading.Thread(target=holder.load, args=(settings,), name="load-models", daemon=True)
            loader.start()
        retention = asyncio.create_task(_retention_loop(app, 3600.0))
        try:
            yield
        finally:
            retention.cancel()
            app.state.jobs.shutdown()
            store.engine.dispose()

    app = FastAPI(
        title="dark-feedback API",
        version="1",
        description="Text analysis (es/en), idempotent ingest of messages and events, per-customer churn-risk "
                    "alerts with their explanation, a live alert feed (SSE) and the support team's page (/ui/). "
                    "Authenticate with `X-API-Key`; scopes: ingest, read, admin.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.analyzer = holder
    app.state.notifier = FeedNotifier()
    _install_error_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type", "Last-Event-ID"])
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
