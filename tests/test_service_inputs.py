"""Bad input is a 422 (or 413), never a 500: regression tests of issue 14, items 1-3, on SQLite and PostgreSQL.

Each case was a 500 (or a silently dropped item) before: NUL characters PostgreSQL cannot store,
ids longer than the columns, NaN amounts, padded path ids creating look-alike customers,
timestamps that overflow on their way to UTC, integers past SQLite's 64 bits, and repeated ids
within one request. The property-based versions are in test_service_properties.py.
"""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

from typing import Any

import pytest
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    client,
    database_url,
    fake_analyzer,
    make_settings,
    now_minus,
    send_json,
)
from fastapi.testclient import TestClient

from analyzer.service import create_app

MSG = {"message_id": "n1", "customer_id": "C1", "timestamp": "2026-11-30T10:00:00Z", "text": "hola"}
EVENT = {"event_id": "e1", "customer_id": "C1", "timestamp": "2026-11-30T10:00:00Z", "type": "purchase",
         "value": 12.5}


def _invalid(r: Any, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text[:300])
    assert r.json()["error"]["code"] == "invalid_request"
    assert field in r.json()["error"]["message"], r.json()["error"]["message"]


@pytest.mark.parametrize(("field", "value"), [
    ("text", "hola\u0000"), ("text", "\u0000"), ("text", "\ud800 lone surrogate"), ("channel", "chat\u0000"),
    ("customer_id", "C\u00001"), ("message_id", "m\u0000"), ("customer_id", "C" * 201), ("message_id", "a\nb"),
    ("customer_id", "a\u2028b"), ("text", "   "),
])
def test_bad_strings_in_messages_are_422(client: TestClient, field: str, value: str) -> None:
    _invalid(send_json(client, "POST", "/v1/messages", {"messages": [{**MSG, field: value}]}), field)
    # Nothing was stored or analysed, and the customer was not created.
    assert client.get("/v1/customers/C1").status_code == 404


def test_a_nul_only_text_is_never_analysed(client: TestClient, fake_analyzer: FakeTextAnalyzer) -> None:
    for text in ("\u0000", "\u0000\u0000 \u0000", " \u0000 "):
        _invalid(send_json(client, "POST", "/v1/messages", {"messages": [{**MSG, "text": text}]}), "text")
        _invalid(send_json(client, "POST", "/v1/analyze", {"texts": [text]}), "texts")
    assert fake_analyzer.texts_seen == 0
    r = send_json(client, "POST", "/v1/messages", {"messages": [MSG]})
    assert r.status_code == 201 and fake_analyzer.texts_seen == 1


@pytest.mark.parametrize(("field", "value"), [
    ("value", float("nan")), ("value", float("inf")), ("value", float("-inf")), ("value", "ticket\u0000"),
    ("event_id", "e\u0000"), ("channel", "\u0000"), ("customer_id", "x" * 201),
])
def test_bad_values_in_events_are_422(client: TestClient, field: str, value: Any) -> None:
    _invalid(send_json(client, "POST", "/v1/events", {"events": [{**EVENT, field: value}]}), field)


def test_bad_strings_elsewhere_are_422(client: TestClient) -> None:
    _invalid(send_json(client, "PUT", "/v1/customers/C1", {"segment": "retail\u0000"}), "segment")
    _invalid(send_json(client, "POST", "/v1/keys", {"name": "crm\u0000", "scopes": ["read"]}), "name")
    _invalid(send_json(client, "POST", "/v1/keys", {"name": "k" * 201, "scopes": ["read"]}), "name")
    r = send_json(client, "POST", "/v1/messages", {"messages": [{**MSG, "customer_id": "F"}]})
    assert r.status_code == 201
    for params, field in (({"customer_id": "C\x001"}, "customer_id"), ({"action": "call\x00"}, "action"),
                          ({"customer_id": "C" * 201}, "customer_id"), ({"customer_id": " C1"}, "customer_id")):
        _invalid(client.get("/v1/alerts", params=params), field)
    _invalid(client.get("/v1/audit", params={"subject": "s\x00"}), "subject")


@pytest.mark.parametrize("path_id", ["C%001", "%00", "C1%0A", "%20C1", "C1%20", "%09C1", "C" * 201, "%E2%80%A8"])
def test_path_ids_obey_the_body_id_rule(client: TestClient, path_id: str) -> None:
    """No NUL, no newline, no over-long id, and no padding the body would strip: no look-alike customers."""
    _invalid(client.put(f"/v1/customers/{path_id}", json={"value_tier": "vip"}), "customer_id")
    for method, suffix in (("GET", ""), ("GET", "/export"), ("DELETE", "")):
        _invalid(client.request(method, f"/v1/customers/{path_id}{suffix}"), "customer_id")
    _invalid(client.put(f"/v1/customers/{path_id}/opt-out", json={"opt_out": True}), "customer_id")
    _invalid(client.get(f"/v1/alerts/{path_id}"), "alert_id")
    _invalid(client.post(f"/v1/alerts/{path_id}/resolve"), "alert_id")
    _invalid(client.get(f"/v1/jobs/{path_id}"), "job_id")
    _invalid(client.delete(f"/v1/jobs/{path_id}"), "job_id")
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.read() as conn:
        assert conn.execute(store.t.customers.select()).all() == []
    # The same id without the padding is fine.
    assert client.put("/v1/customers/C1", json={"value_tier": "vip"}).status_code == 200


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "1899-12-31T23:59:59Z",
                                   "2201-01-01T00:00:00Z", "2200-12-31T23:00:00-05:00", "1900-01-01T00:30:00+01:00"])
def test_timestamps_outside_the_supported_range_are_422(client: TestClient, stamp: str) -> None:
    _invalid(send_json(client, "POST", "/v1/messages", {"messages": [{**MSG, "timestamp": stamp}]}), "timestamp")
    _invalid(send_json(client, "POST", "/v1/events", {"events": [{**EVENT, "timestamp": stamp}]}), "timestamp")
    _invalid(client.get("/v1/alerts", params={"since": stamp}), "since")


def test_timestamps_at_the_edges_of_the_range_are_stored(client: TestClient) -> None:
    msgs = [{**MSG, "message_id": f"edge{i}", "timestamp": t} for i, t in enumerate(
        ["1900-01-01T00:00:00Z", "2200-12-31T23:59:59.999999Z", "1900-01-01T05:00:00+05:00", "2200-12-31T23:59:59"])]
    r = send_json(client, "POST", "/v1/messages", {"messages": msgs})
    assert r.status_code == 201 and len(r.json()["created"]) == 4, r.text
    stamps = sorted(t["timestamp"] for t in client.get("/v1/customers/C1").json()["timeline"])
    assert stamps[0].startswith("1900-01-01T00:00:00") and stamps[-1].startswith("2200-12-31T23:59:59")
    assert client.get("/v1/alerts", params={"since": "2200-12-31T23:59:59Z"}).status_code == 200


@pytest.mark.parametrize("big", [2**31, 2**63, 2**63 + 1, 10**30])
def test_integers_past_the_database_are_422(client: TestClient, big: int) -> None:
    for path in ("/v1/alerts", "/v1/audit"):
        _invalid(client.get(path, params={"offset": str(big * 2**32 if big < 2**63 else big)}), "offset")
    _invalid(client.get("/v1/alerts/stream", params={"after": str(big), "follow": "false"}), "after")
    r = client.get("/v1/alerts/stream", params={"follow": "false"}, headers={"Last-Event-ID": str(big)})
    assert r.status_code == 422 and "Last-Event-ID" in r.json()["error"]["message"]
    _invalid(client.delete(f"/v1/keys/{big}"), "key_id")


def test_largest_accepted_integers_work(client: TestClient) -> None:
    for path in ("/v1/alerts", "/v1/audit"):
        assert client.get(path, params={"offset": str(2**63 - 1)}).status_code == 200
    r = client.get("/v1/alerts/stream", params={"after": str(2**31 - 1), "follow": "false"})
    assert r.status_code == 200 and r.text.startswith("retry:")
    r = client.get("/v1/alerts/stream", params={"follow": "false"}, headers={"Last-Event-ID": str(2**31 - 1)})
    assert r.status_code == 200
    assert client.delete(f"/v1/keys/{2**31 - 1}").status_code == 404


def test_repeated_ids_in_one_request_are_reported(client: TestClient) -> None:
    items = [MSG, {**MSG, "text": "otra"}, {**MSG, "message_id": "n2"}, {**MSG, "text": "y otra"}]
    r = send_json(client, "POST", "/v1/messages", {"messages": items})
    assert r.status_code == 201
    assert r.json()["created"] == ["n1", "n2"] and r.json()["repeated"] == ["n1"] and r.json()["duplicates"] == []
    r = send_json(client, "POST", "/v1/events", {"events": [EVENT, EVENT]})
    assert r.json()["created"] == ["e1"] and r.json()["repeated"] == ["e1"]
    r = send_json(client, "POST", "/v1/events", {"events": [EVENT]})  # a retry: a duplicate, not repeated
    assert r.status_code == 200 and r.json()["duplicates"] == ["e1"] and r.json()["repeated"] == []


def test_the_batch_limit_counts_every_item_sent(tmp_path, database_url: str | None) -> None:
    s = make_settings(tmp_path, database_url, max_batch_items=5, max_body_bytes=5_000_000)
    with TestClient(create_app(s, text_analyzer=FakeTextAnalyzer()), headers={"X-API-Key": ADMIN_KEY}) as c:
        r = send_json(c, "POST", "/v1/messages", {"messages": [MSG] * 10_000})
        assert r.status_code == 413 and "10000 items" in r.json()["error"]["message"]
        r = send_json(c, "POST", "/v1/events", {"events": [EVENT] * 6})
        assert r.status_code == 413 and "6 events" in r.json()["error"]["message"]
        assert send_json(c, "POST", "/v1/events", {"events": [EVENT] * 5}).status_code == 201
        assert c.get("/v1/customers/C1").status_code == 200
