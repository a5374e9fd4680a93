"""Dependencies of the routers: the app's components per request, and row -> public conversions.

The components live on ``app.state`` (set by :func:`analyzer.service.app.create_app`); the
routers reach them through these functions, so no router imports the application module.
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any, Protocol

import pandas as pd
from fastapi import Depends, HTTPException, Query, Request

from analyzer.service.feed import FeedNotifier
from analyzer.service.foresight import ForesightService
from analyzer.service.jobs import JobRunner
from analyzer.service.metrics import Metrics
from analyzer.service.params import CustomerIdPath
from analyzer.service.store import Store
from analyzer.service.worker import Worker
from analyzer.settings import Settings

__all__ = [
    "AnalyzerHolder",
    "FrameAnalyzer",
    "Lang",
    "StoredCustomerId",
    "alert_public",
    "check_lang",
    "foresight",
    "holder",
    "job_runner",
    "metrics",
    "notifier",
    "settings",
    "store",
    "stored_customer_id",
    "worker",
]

log = logging.getLogger("analyzer.service")

Lang = Annotated[str | None, Query(pattern="^(es|en)$", description="Language of justifications.")]


class FrameAnalyzer(Protocol):
    """The text analyzer contract (:class:`analyzer.text.pipeline.TextAnalyzer`)."""

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


def store(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def holder(request: Request) -> AnalyzerHolder:
    h: AnalyzerHolder = request.app.state.analyzer
    return h


def job_runner(request: Request) -> JobRunner:
    r: JobRunner = request.app.state.jobs
    return r


def stored_customer_id(customer_id: CustomerIdPath, request: Request) -> str:
    """The id a customer is stored under: an e-mail address or a phone number becomes its keyed pseudonym,
    exactly as at ingest, so a customer can be read, exported or erased by the address they wrote from
    (and a PUT never stores the address itself)."""
    return job_runner(request).pseudonymizer(customer_id)


StoredCustomerId = Annotated[str, Depends(stored_customer_id)]


def metrics(request: Request) -> Metrics:
    m: Metrics = request.app.state.metrics
    return m


def notifier(request: Request) -> FeedNotifier:
    n: FeedNotifier = request.app.state.notifier
    return n


def foresight(request: Request) -> ForesightService:
    f: ForesightService = request.app.state.foresight
    return f


def worker(request: Request) -> Worker:
    w: Worker = request.app.state.worker
    return w


def check_lang(lang: str | None, default: str) -> str:
    lang = lang or default
    if lang not in ("es", "en"):
        raise HTTPException(422, f"lang must be 'es' or 'en'; received {lang!r}.")
    return lang


_ALERT_KEYS = ("alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "reasons", "action", "rule",
               "justification_es", "justification_en", "value_tier", "segment", "status", "status_changed_at",
               "assignee", "assigned_at")


def alert_public(row: dict[str, Any], lang: str) -> dict[str, Any]:
    """An alert row as the API shows it, with ``justification`` in ``lang``."""
    out = {k: row[k] for k in _ALERT_KEYS}
    out["justification"] = row["justification_es"] if lang == "es" else row["justification_en"]
    return out
