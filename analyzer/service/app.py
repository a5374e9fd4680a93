"""The application factory: ``create_app(settings=None, text_analyzer=None, clock=None)``.

The text models load in the lifespan, in a background thread, unless an object with
``analyze_frame(frame) -> frame`` (the :class:`analyzer.text.pipeline.TextAnalyzer` contract) is
injected; until they are loaded ``/v1/ready`` and the endpoints that need them answer 503,
while everything else (alerts, customers, feed) already works.

How the pieces fit (each module imports only those below it, never this one)::

    app.py          create_app: wires the rest
    routes/         one router per resource
    deps.py         per-request access to the components on app.state; AnalyzerHolder
    auth.py         API keys and scopes            errors.py      error bodies and handlers
    middleware.py   errors, body limit, metrics    tasks.py       retention loop
    logs.py         what reaches the server log    params.py      path/query parameters
    jobs.py         batch-job runner               worker.py      evaluation queue and sweep (a thread)
    outbound/       webhooks, CRM tasks, notifications (a thread; woken by the worker's on_alerts)
    foresight.py    the model, evaluations         feed.py        the SSE feed
    store/          the database (one Store class) db.py          schema, engine, migrations
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute

from analyzer.foresight import ForesightConfig
from analyzer.service.db import utcnow
from analyzer.service.deps import AnalyzerHolder, FrameAnalyzer
from analyzer.service.errors import install_error_handlers
from analyzer.service.feed import FeedNotifier
from analyzer.service.foresight import Clock, ForesightService, rules_for
from analyzer.service.jobs import JobRunner
from analyzer.service.logs import install_log_filters
from analyzer.service.metrics import Metrics
from analyzer.service.middleware import BodyLimitMiddleware, InternalErrorMiddleware, MetricsMiddleware
from analyzer.service.outbound import OutboundDispatcher
from analyzer.service.routes import ALL_ROUTERS
from analyzer.service.store import open_store
from analyzer.service.tasks import retention_loop
from analyzer.service.worker import Worker
from analyzer.settings import Settings, get_settings
from analyzer.text.themes import load_taxonomy

__all__ = ["create_app", "leaf_routes"]

RETENTION_EVERY_S = 3600.0


def create_app(settings: Settings | None = None, text_analyzer: FrameAnalyzer | None = None,
               clock: Clock | None = None) -> FastAPI:
    """The API, the alert feed and the support page, on the configured database.

    ``clock`` (a function returning an aware datetime) is the service's "now" for judging
    customers; tests pass one to let weeks pass in seconds.
    """
    settings = settings or get_settings()
    metrics = Metrics.create()
    holder = AnalyzerHolder(text_analyzer)
    notifier = FeedNotifier()
    # The rule table is checked against the taxonomy at start-up: a typo in a theme fails here, loudly.
    # The taxonomy's themes marked `complaint: true` are what the risk counts as complaints.
    taxonomy = load_taxonomy(settings.taxonomy)
    rules = rules_for(settings, taxonomy.ids)
    config = ForesightConfig(complaint_themes=taxonomy.complaint_ids)

    def on_alerts(alert_ids: list[str]) -> None:
        metrics.alerts.inc(len(alert_ids))
        notifier.notify()
        outbound = getattr(app.state, "outbound", None)
        if outbound is not None:  # webhooks, CRM tasks, notifications: sent by their own thread
            outbound.wake()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store, settings)
        app.state.store = store
        if settings.bootstrap_api_key:
            store.ensure_key(settings.bootstrap_api_key)
        app.state.jobs = JobRunner(store, holder, settings, Path(settings.data_dir) / "jobs")
        app.state.jobs.resume_unfinished()
        app.state.foresight = ForesightService(store, settings, clock=clock or utcnow, rules=rules, config=config)
        app.state.worker = Worker(app.state.foresight, on_alerts=on_alerts, poll_s=settings.worker_poll_s,
                                  sweep_interval_s=settings.sweep_interval_s)
        app.state.worker.start()
        app.state.outbound = OutboundDispatcher(store, settings, rules=rules)
        app.state.outbound.start()
        if not holder.ready:
            threading.Thread(target=holder.load, args=(settings,), name="load-models", daemon=True).start()
        retention = asyncio.create_task(retention_loop(store, settings, RETENTION_EVERY_S))
        try:
            yield
        finally:
            retention.cancel()
            app.state.worker.stop()
            app.state.outbound.stop()
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
    app.state.notifier = notifier
    install_error_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["*"],
                           allow_headers=["X-API-Key", "Authorization", "Content-Type", "Last-Event-ID"])
    app.add_middleware(BodyLimitMiddleware, max_body=settings.max_body_bytes,
                       max_upload=settings.max_upload_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(InternalErrorMiddleware)  # added last: the outermost
    install_log_filters(leaf_routes(app))
    return app


def leaf_routes(app: FastAPI) -> list[BaseRoute]:
    """Every route of the app with its own path template (the routers' and the docs')."""
    own = [r for r in app.routes if hasattr(r, "path_regex")]
    return own + [r for router in ALL_ROUTERS for r in router.routes]
