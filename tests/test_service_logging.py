"""The server log never holds customer data: issue 14, item 6.

A real uvicorn process (the service's logging config, as ``darkfeedback serve`` runs it) is
driven into a database error while ingesting a customer's message; its log may name the error's
type, never the customer id, the text, the SQL statement's values or a key put in a URL, and its
access lines show route templates without query strings. An in-process check covers servers that
bring their own logging (``create_app`` installs the filters).
"""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    database_url,
    make_settings,
    start_server,
)
from fastapi.testclient import TestClient

from analyzer.service import create_app
from analyzer.service.db import resolve_database_url

CID = "C-1042-logcheck"
TEXT = "Soy Ana Torres, mi correo es ana.torres@example.com y quiero darme de baja"
SECRET = "dfk_this_key_was_put_in_a_url_0123456789"
H = {"X-API-Key": ADMIN_KEY}


def _break_messages_table(tmp_path: Path, database_url: str | None) -> None:
    """A database error the service did not expect: the table it writes to is gone."""
    engine = sa.create_engine(resolve_database_url(database_url, tmp_path / "data"))
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE messages RENAME TO messages_elsewhere"))
    engine.dispose()


def test_a_database_error_reaches_the_log_as_its_type_only(tmp_path: Path, database_url: str | None) -> None:
    server = start_server(tmp_path, database_url, log_level="debug")
    try:
        with httpx.Client(base_url=server.base, headers=H, timeout=10) as c:
            assert c.put(f"/v1/customers/{CID}", json={"value_tier": "vip"}).status_code == 200
            assert c.get(f"/v1/customers/{CID}", params={"lang": "en"}).status_code == 200
            assert c.get("/v1/alerts", params={"customer_id": CID, "api_key": SECRET}).status_code == 200
            assert c.get("/v1/alerts", params={"api_key": SECRET}, headers={"X-API-Key": ""}).status_code == 401
            _break_messages_table(tmp_path, database_url)
            msg = {"message_id": f"{CID}-m1", "customer_id": CID, "timestamp": "2026-11-30T10:00:00Z", "text": TEXT}
            r = c.post("/v1/messages", json={"messages": [msg]})
            assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
            assert CID not in r.text and "messages" not in r.json()["error"]["message"]
            assert c.get("/v1/health").status_code == 200  # the server carries on
    finally:
        server.stop()
    log = server.log_text()
    # What it must say: the error's type and where, and the requests by route template.
    assert "unhandled" in log and ("OperationalError" in log or "ProgrammingError" in log), log[-3000:]
    assert '"PUT /v1/customers/{customer_id} HTTP/1.1" 200' in log
    assert '"GET /v1/alerts HTTP/1.1" 401' in log and '"POST /v1/messages HTTP/1.1" 500' in log
    # What it must never say.
    for needle in (CID, "C-1042", TEXT, "ana.torres", "Ana Torres", SECRET, "api_key=", "customer_id=",
                   "INSERT INTO", "SELECT ", "[parameters:", "darme de baja"):
        assert needle not in log, (needle, log[-3000:])


def test_create_app_filters_apply_to_a_server_with_its_own_logging(tmp_path: Path, caplog) -> None:
    """Another ASGI server logging through uvicorn's loggers: create_app has installed the filters."""
    app = create_app(make_settings(tmp_path), text_analyzer=FakeTextAnalyzer())
    access = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    f"/v1/customers/{CID}/export?api_key={SECRET}", "1.1", 200)
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", f"/v1/nowhere/{CID}", "1.1", 404)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert lines[-2:] == ['127.0.0.1:5000 - "GET /v1/customers/{customer_id}/export HTTP/1.1" 200',
                          '127.0.0.1:5000 - "GET <unmatched path> HTTP/1.1" 404']
    error = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.ERROR, logger="uvicorn.error"):
        try:
            raise ValueError(f"customer {CID} said {TEXT}")
        except ValueError:
            error.exception("Exception in ASGI application")
    record = next(r for r in caplog.records if r.name == "uvicorn.error")
    text = logging.Formatter().format(record)
    assert "ValueError" in text and CID not in text and TEXT not in text
    del app


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unhandled_errors_in_process_are_logged_by_type(tmp_path: Path, database_url: str | None, caplog) -> None:
    app = create_app(make_settings(tmp_path, database_url), text_analyzer=FakeTextAnalyzer())
    with TestClient(app, headers=H) as c, caplog.at_level(logging.DEBUG):
        _break_messages_table(tmp_path, database_url)
        msg = {"message_id": "m1", "customer_id": CID, "timestamp": "2026-11-30T10:00:00Z", "text": TEXT}
        r = c.post("/v1/messages", json={"messages": [msg]})
        assert r.status_code == 500
    text = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "unhandled OperationalError on POST /v1/messages" in text
    assert CID not in text and "ana.torres" not in text and "INSERT" not in text
