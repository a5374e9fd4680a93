"""Helpers shared by the routers: app components and row -> public model conversions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import HTTPException, Query, Request

from analyzer.service.app import AnalyzerHolder
from analyzer.service.feed import FeedNotifier
from analyzer.service.metrics import Metrics
from analyzer.service.storage import Store
from analyzer.settings import Settings

__all__ = ["Lang", "alert_public", "holder", "metrics", "notifier", "settings", "store"]


Lang = Annotated[str | None, Query(pattern="^(es|en)$", description="Language of justifications.")]


def store(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


def settings(request: Request) -> Settings:
    s: Settings = request.app.state.settings
    return s


def holder(request: Request) -> AnalyzerHolder:
    h: AnalyzerHolder = request.app.state.analyzer
    return h


def metrics(request: Request) -> Metrics:
    m: Metrics = request.app.state.metrics
    return m


def notifier(request: Request) -> FeedNotifier:
    n: FeedNotifier = request.app.state.notifier
    return n


def check_lang(lang: str | None, default: str) -> str:
    lang = lang or default
    if lang not in ("es", "en"):
        raise HTTPException(422, f"lang must be 'es' or 'en'; received {lang!r}.")
    return lang


def alert_public(row: dict[str, Any], lang: str) -> dict[str, Any]:
    keys = ("alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "reasons", "action", "rule",
            "justification_es", "justification_en", "value_tier", "segment", "status", "status_changed_at")
    out = {k: row[k] for k in keys}
    out["justification"] = row["justification_es"] if lang == "es" else row["justification_en"]
    return out
