"""Privacy: redacted storage only, opt-out, erasure (whole-database scan), export, retention, audit."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    churning_messages,
    client,
    database_url,
    fake_analyzer,
    make_settings,
    now_minus,
)
from fastapi.testclient import TestClient

from analyzer.service import create_app

CID = "cust-7f3a91"
RAW_PII = ("juan.perez@example.com", "612 345 678")


def _all_cells(client: TestClient) -> list[str]:
    """Every value of every table, as text (the whole database)."""
    store = client.app.state.store  # type: ignore[attr-defined]
    cells: list[str] = []
    with store.read() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                cells += [str(v) for v in row if v is not None]
    return cells


def _sqlite_files(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (tmp_path / "data").glob("darkfeedback.db*"))


def _setup(client: TestClient) -> str:
    client.put(f"/v1/customers/{CID}", json={"value_tier": "vip", "segment": "retail"})
    client.post("/v1/messages?wait=true", json={"messages": churning_messages(CID, prefix=f"{CID}-m")})
    client.post("/v1/events", json={"events": [{"event_id": f"{CID}-e1", "customer_id": CID,
                                                "timestamp": now_minus(2), "type": "purchase", "value": 12.5}]})
    alert = client.get("/v1/alerts", params={"customer_id": CID}).json()["items"][0]
    client.post(f"/v1/alerts/{alert['alert_id']}/acknowledge", json={"note": "hablé con él"})
    client.get(f"/v1/customers/{CID}")
    return str(alert["alert_id"])


def test_raw_text_is_never_stored(client: TestClient, tmp_path: Path, database_url: str | None) -> None:
    _setup(client)
    cells = "\n".join(_all_cells(client))
    for pii in RAW_PII:
        assert pii not in cells
    assert "[EMAIL]" in cells and "[PHONE]" in cells
    if database_url is None:
        raw = _sqlite_files(tmp_path)
        assert all(p.encode() not in raw for p in RAW_PII)


def test_erasure_removes_every_row_and_derived_value(client: TestClient, tmp_path: Path,
                                                      database_url: str | None) -> None:
    alert_id = _setup(client)
    client.put("/v1/customers/other", json={"value_tier": "low"})
    texts = [r["text_redacted"] for r in client.get(f"/v1/customers/{CID}").json()["timeline"]
             if r["kind"] == "message"]
    assert len(texts) == 3 and any(CID in c for c in _all_cells(client))
    r = client.delete(f"/v1/customers/{CID}")
    assert r.status_code == 200 and r.json()["deleted"]["messages"] == 3
    needles = [CID, alert_id, *texts, *(t[:25] for t in texts)]
    leftover = [(n, c) for c in _all_cells(client) for n in needles if n in c]
    assert leftover == []
    if database_url is None:  # not even in free pages or the WAL of the SQLite file
        raw = _sqlite_files(tmp_path)
        assert [n for n in needles if n.encode() in raw] == []
    assert client.get(f"/v1/customers/{CID}").status_code == 404
    assert client.get("/v1/customers/other").status_code == 200
    # The audit trail keeps that an erasure happened, under a token.
    token = r.json()["erasure_token"]
    assert any(e["action"] == "erase" for e in client.get("/v1/audit", params={"subject": token}).json())
    assert client.delete(f"/v1/customers/{CID}").status_code == 404


def test_opt_out_withdraws_alerts_and_stops_profiling(client: TestClient) -> None:
    _setup(client)
    r = client.put(f"/v1/customers/{CID}/opt-out", json={"opt_out": True})
    assert r.status_code == 200 and r.json()["opt_out"] is True and r.json()["risk"] is None
    assert client.get("/v1/alerts", params={"status": "acknowledged"}).json()["total"] == 0
    assert client.get("/v1/alerts", params={"status": "withdrawn"}).json()["total"] == 1
    more = [{**m, "message_id": m["message_id"] + "b", "timestamp": now_minus(hours=1)}
            for m in churning_messages(CID)]
    assert client.post("/v1/messages?wait=true", json={"messages": more}).json()["new_alerts"] == []
    view = client.get(f"/v1/customers/{CID}").json()
    assert view["sentiment_series"] == [] and view["explanation"] == []
    assert all(t.get("sentiment_label") is None for t in view["timeline"] if t["kind"] == "message")
    assert client.post(f"/v1/alerts/{view['recent_alerts'][0]['alert_id']}/resolve").status_code == 409


def test_export_holds_everything_about_the_customer(client: TestClient) -> None:
    _setup(client)
    data = client.get(f"/v1/customers/{CID}/export").json()
    assert data["customer"]["customer_id"] == CID
    assert len(data["messages"]) == 3 and len(data["events"]) == 1 and len(data["alerts"]) == 1
    assert data["alert_feedback"][0]["status"] == "acknowledged"
    assert {e["action"] for e in data["audit_log"]} >= {"read", "acknowledge", "update"}
    assert client.get("/v1/customers/nobody/export").status_code == 404


def test_retention_purges_old_texts_keeps_scores(tmp_path: Path, database_url: str | None) -> None:
    s = make_settings(tmp_path, database_url, retention_days=30)
    with TestClient(create_app(s, text_analyzer=FakeTextAnalyzer())) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        old = {"message_id": "old", "customer_id": "R", "timestamp": now_minus(days=90), "text": "Fatal servicio"}
        new = {"message_id": "new", "customer_id": "R", "timestamp": now_minus(days=1), "text": "Gracias"}
        c.post("/v1/messages", json={"messages": [old, new]})
        assert c.post("/v1/admin/retention").json() == {"texts_purged": 1}
        by_id = {t["message_id"]: t for t in c.get("/v1/customers/R").json()["timeline"]}
        assert by_id["old"]["text_redacted"] is None and by_id["old"]["sentiment_score"] == -0.85
        assert by_id["new"]["text_redacted"] == "Gracias"
        assert "Fatal servicio" not in "\n".join(_all_cells(c))


def test_audit_log_records_reads_and_changes(client: TestClient) -> None:
    _setup(client)
    entries = client.get("/v1/audit").json()
    actions = {(e["action"], e["resource"]) for e in entries}
    assert {("ingest", "messages"), ("ingest", "events"), ("read", "customer"), ("acknowledge", "alert"),
            ("update", "customer")} <= actions
    assert all(e["actor"] for e in entries)
    assert dt.datetime.fromisoformat(entries[0]["at"]) >= dt.datetime.fromisoformat(entries[-1]["at"])
