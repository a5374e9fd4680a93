"""Storage: migrations (versioned, idempotent, head schema = migrated schema), concurrent idempotent ingest."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import threading

import sqlalchemy as sa
from api_support import (  # noqa: F401  (fixtures)
    client,
    database_url,
    fake_analyzer,
    now_minus,
)
from fastapi.testclient import TestClient

from analyzer.service.db import (
    MIGRATIONS,
    build_tables,
    create_db_engine,
    current_version,
    migrate,
    resolve_database_url,
)


def test_migrations_are_versioned_and_idempotent(tmp_path, database_url: str | None) -> None:
    url = resolve_database_url(database_url, tmp_path)
    engine = create_db_engine(url)
    assert current_version(engine) == 0
    assert migrate(engine) == [v for v, _, _ in MIGRATIONS]
    assert migrate(engine) == []  # a second start applies nothing
    assert current_version(engine) == MIGRATIONS[-1][0]
    # The migrated database has exactly the head schema the code uses.
    head = build_tables().metadata
    insp = sa.inspect(engine)
    for name, table in head.tables.items():
        assert {c["name"] for c in insp.get_columns(name)} == {c.name for c in table.columns}, name
    engine.dispose()


def test_default_database_is_a_sqlite_file_in_data_dir(tmp_path) -> None:
    url = resolve_database_url(None, tmp_path / "d")
    assert url == f"sqlite:///{tmp_path / 'd' / 'darkfeedback.db'}"
    assert resolve_database_url("postgresql://u:p@h/db", tmp_path).startswith("postgresql+psycopg://")


def test_concurrent_retries_store_once(client: TestClient) -> None:
    msg = {"message_id": "race", "customer_id": "R", "timestamp": now_minus(1), "text": "hola"}
    results: list[dict] = []

    def send() -> None:
        results.append(client.post("/v1/messages", json={"messages": [msg]}).json())

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(r["created"]) for r in results) == 1
    assert sum(len(r["duplicates"]) for r in results) == 5
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(store.t.messages)).scalar() == 1
