"""Access control and request hygiene: keys and scopes, 401/403, size limits, clear 4xx, CORS."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    client,
    database_url,
    fake_analyzer,
    key_with,
    make_settings,
    now_minus,
)
from fastapi.testclient import TestClient

from analyzer.service import create_api_key, create_app

MSG = {"message_id": "m1", "customer_id": "C1", "timestamp": "2025-01-01T00:00:00Z", "text": "hola"}


def test_missing_or_wrong_key_is_401(client: TestClient) -> None:
    anon = {"X-API-Key": ""}
    r = client.get("/v1/alerts", headers=anon)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert "X-API-Key" in r.json()["error"]["message"]
    assert "`darkfeedback create-key`" in r.json()["error"]["message"]  # the CLI command that exists
    assert client.get("/v1/alerts", headers={"X-API-Key": "dfk_wrong"}).status_code == 401
    assert client.get("/v1/health", headers=anon).status_code == 200  # health needs no key


def test_scopes_give_403(client: TestClient) -> None:
    ingest, read = key_with(client, "ingest"), key_with(client, "read")
    assert client.post("/v1/messages", json={"messages": [MSG]}, headers={"X-API-Key": read}).status_code == 403
    assert client.post("/v1/messages", json={"messages": [MSG]}, headers={"X-API-Key": ingest}).status_code == 201
    assert client.get("/v1/alerts", headers={"X-API-Key": ingest}).status_code == 403
    assert client.get("/v1/alerts", headers={"Authorization": f"Bearer {read}"}).status_code == 200
    assert client.delete("/v1/customers/C1", headers={"X-API-Key": read}).status_code == 403
    assert client.get("/v1/keys", headers={"X-API-Key": ingest}).status_code == 403


def test_keys_are_stored_hashed_and_can_be_revoked(client: TestClient) -> None:
    r = client.post("/v1/keys", json={"name": "crm", "scopes": ["ingest"]})
    secret, kid = r.json()["key"], r.json()["id"]
    listing = client.get("/v1/keys").text
    assert secret not in listing
    store = client.app.state.store  # type: ignore[attr-defined]
    with store.read() as conn:
        rows = [tuple(map(str, row)) for row in conn.execute(store.t.api_keys.select())]
    assert not any(secret in cell or ADMIN_KEY in cell for row in rows for cell in row)
    assert client.delete(f"/v1/keys/{kid}").status_code == 204
    assert client.post("/v1/messages", json={"messages": [MSG]}, headers={"X-API-Key": secret}).status_code == 401
    assert client.post("/v1/keys", json={"name": "x", "scopes": ["root"]}).status_code == 422


def test_create_api_key_function_for_the_cli(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'k.db'}"
    secret = create_api_key("ops", ["read"], database_url=url)
    app = create_app(make_settings(tmp_path, url, bootstrap_api_key=None), text_analyzer=FakeTextAnalyzer())
    with TestClient(app) as c:
        assert c.get("/v1/alerts", headers={"X-API-Key": secret}).status_code == 200
        assert c.post("/v1/analyze", json={"texts": ["x"]}, headers={"X-API-Key": secret}).status_code == 200
        assert c.get("/v1/keys", headers={"X-API-Key": secret}).status_code == 403


def test_malformed_json_wrong_types_unknown_fields(client: TestClient) -> None:
    r = client.post("/v1/messages", content=b'{"messages": [', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = client.post("/v1/messages", json={"messages": [{**MSG, "timestamp": "yesterday-ish"}]})
    assert r.status_code == 422 and "timestamp" in r.json()["error"]["message"]
    r = client.post("/v1/messages", json={"messages": [{**MSG, "txet": "typo"}]})
    assert r.status_code == 422 and any(d["type"] == "extra_forbidden" for d in r.json()["error"]["details"])
    r = client.post("/v1/events", json={"events": [{"event_id": "e", "customer_id": "C", "timestamp": now_minus(),
                                                    "type": "teleport"}]})
    assert r.status_code == 422
    r = client.post("/v1/analyze", json={"texts": "not a list"})
    assert r.status_code == 422
    # The offending value is never echoed: it could be a customer's raw text.
    secret_text = "Soy Juan, mi DNI es 12345678Z"
    r = client.post("/v1/messages", json={"messages": [{**MSG, "text": secret_text, "customer_id": 7}]})
    assert r.status_code == 422 and "12345678Z" not in r.text


def test_body_and_batch_limits(tmp_path) -> None:
    s = make_settings(tmp_path, max_body_bytes=2048, max_batch_items=3, max_text_chars=50)
    with TestClient(create_app(s, text_analyzer=FakeTextAnalyzer())) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        r = c.post("/v1/analyze", json={"texts": ["x" * 40] * 60})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"

        def chunks():  # no Content-Length: counted while streaming
            yield b'{"texts": ["'
            for _ in range(10):
                yield b"y" * 500
            yield b'"]}'
        r = c.post("/v1/analyze", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413
        assert c.post("/v1/analyze", json={"texts": ["a", "b", "c", "d"]}).status_code == 413
        r = c.post("/v1/analyze", json={"texts": ["z" * 51]})
        assert r.status_code == 422 and "limit is 50" in r.json()["error"]["message"]


def test_cors_is_off_by_default_and_configurable(tmp_path, client: TestClient) -> None:
    pre = {"Origin": "https://crm.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in client.options("/v1/analyze", headers=pre).headers
    s = make_settings(tmp_path / "b", cors_origins=("https://crm.example",))
    with TestClient(create_app(s, text_analyzer=FakeTextAnalyzer())) as c:
        r = c.options("/v1/analyze", headers=pre)
        assert r.headers["access-control-allow-origin"] == "https://crm.example"
