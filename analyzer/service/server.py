"""Entry points the CLI wires: ``serve(host, port, database_url=None)`` and ``create_api_key``;
``serve_app(app, ...)`` runs an app built with ``create_app`` (e.g. with an injected analyzer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from analyzer.settings import Settings, get_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_api_key", "serve", "serve_app"]


def _settings(database_url: str | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def serve(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None, *,
          log_level: str = "info") -> None:
    """Run the API, the alert feed and the page with uvicorn (one process; SQLite by default).

    The text models load in the background after start-up; ``/v1/ready`` says when.
    """
    from analyzer.service.app import create_app

    serve_app(create_app(_settings(database_url)), host, port, log_level=log_level)


def serve_app(app: FastAPI, host: str = "127.0.0.1", port: int = 8000, *, log_level: str = "info") -> None:
    """Run ``app`` with uvicorn and the service's logging config (:func:`analyzer.service.logs.logging_config`).

    Access lines carry method, route template and status: no ids, no query strings; keys travel in
    headers and texts in bodies, neither is logged.
    """
    import uvicorn

    from analyzer.service.app import leaf_routes
    from analyzer.service.logs import logging_config

    uvicorn.run(app, host=host, port=port, log_level=log_level,
                log_config=logging_config(leaf_routes(app), log_level), proxy_headers=False, server_header=False)


def create_api_key(name: str, scopes: Sequence[str], database_url: str | None = None) -> str:
    """Create a key with ``scopes`` (ingest, read, admin) in the configured database; return the secret.

    The secret is shown once: only its SHA-256 is stored.
    """
    from analyzer.service.store import open_store

    store = open_store(_settings(database_url))
    try:
        kid, secret = store.add_key(name, scopes)
        store.audit("cli", "create", "api_key", None, {"id": kid, "name": name, "scopes": sorted(scopes)})
    finally:
        store.engine.dispose()
    return secret
