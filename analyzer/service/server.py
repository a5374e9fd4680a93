"""Entry points the CLI wires: ``serve(host, port, database_url=None)`` and ``create_api_key``."""

from __future__ import annotations

from collections.abc import Sequence

from analyzer.settings import Settings, get_settings

__all__ = ["create_api_key", "serve"]


def _settings(database_url: str | None) -> Settings:
    settings = get_settings()
    return settings.model_copy(update={"database_url": database_url}) if database_url else settings


def serve(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = None, *,
          log_level: str = "info") -> None:
    """Run the API, the alert feed and the page with uvicorn (one process; SQLite by default).

    The text models load in the background after start-up; ``/v1/ready`` says when.
    """
    import uvicorn

    from analyzer.service.app import create_app

    app = create_app(_settings(database_url))
    # Access logs carry method, path and status only: keys travel in headers, texts in bodies.
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=False, server_header=False)


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
