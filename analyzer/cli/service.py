"""Service commands: run the API and manage API keys (thin adapters over :mod:`analyzer.service`)."""

from __future__ import annotations

from typing import Annotated

import typer

from analyzer.cli.common import fail, out
from analyzer.errors import AnalyzerError

__all__ = ["create_key", "serve"]


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    database_url: Annotated[str | None, typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: SQLite under DARKFEEDBACK_DATA_DIR; postgresql://... works).")] = None,
) -> None:
    """Start the REST API, the live alert feed (SSE) and the support-team page (/ui/).

    **Example**

        darkfeedback create-key ops --scope admin && darkfeedback serve --port 8000
    """
    from analyzer.service import serve as run_server

    try:
        run_server(host, port, database_url)
    except AnalyzerError as exc:
        fail(str(exc))


def create_key(
    name: Annotated[str, typer.Argument(help="A label for the key (who or what uses it).")],
    scopes: Annotated[list[str], typer.Option(
        "--scope", help="ingest, read or admin (repeatable).")] = ["read"],  # noqa: B006 - typer default
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Create an API key (also `create-api-key`); the secret is printed once and stored only as a hash.

    **Example**

        darkfeedback create-key support-team --scope read --scope ingest
    """
    from analyzer.service import create_api_key

    try:
        secret = create_api_key(name, scopes, database_url)
    except AnalyzerError as exc:
        fail(str(exc))
    out.print(secret)
