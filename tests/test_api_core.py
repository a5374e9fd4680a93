"""REST API core: analyze, idempotent ingest, customer view, alert list and actions, health, metrics."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import pytest
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    churning_messages,
    client,
    database_url,
    fake_analyzer,
    now_minus,
)
from fastapi.testclient import TestClient


def test_analyze_returns_pipeline_fields_and_redacts(client: TestClient) -> None:
    r = client.post("/v1/analyze", json={"texts": ["Mi pedido lleva retraso, escribid a ana@example.com",
                                                   "Great, thanks!"]})
    assert r.status_code == 200, r.text
    a, b = r.json()["results"]
    assert a["sentiment_label"] == "negative" and b["sentiment_label"] == "positive"
    assert "ana@example.com" not in r.text and "EMAIL" in a["text_redacted"]
    assert a["themes"][0]["theme"] == "delivery_delay" and a["themes"][0]["evidence"] == "retraso"
    assert set(a["probabilities"]) == {"negative", "neutral", "positive"}


def test_ingest_is_idempotent_and_raises_alert(client: TestClient, fake_analyzer: FakeTextAnalyzer) -> None:
    client.put("/v1/customers/C1", json={"value_tier": "vip"})
    body = {"messages": churning_messages("C1")}
    r1 = client.post("/v1/messages?wait=true", json=body)
    assert r1.status_code == 201, r1.text
    assert r1.json()["created"] == ["m0", "m1", "m2"] and r1.json()["duplicates"] == []
    assert len(r1.json()["new_alerts"]) == 1
    seen = fake_analyzer.texts_seen
    r2 = client.post("/v1/messages?wait=true", json=body)  # a retry
    assert r2.status_code == 200
    assert r2.json()["created"] == [] and r2.json()["duplicates"] == ["m0", "m1", "m2"]
    assert r2.json()["new_alerts"] == []  # cooldown: the same cause is not alerted twice
    assert fake_analyzer.texts_seen == seen  # duplicates are not re-analysed
    view = client.get("/v1/customers/C1").json()
    assert len([t for t in view["timeline"] if t["kind"] == "message"]) == 3
    alerts = client.get("/v1/alerts").json()
    assert alerts["total"] == 1
    alert = alerts["items"][0]
    assert alert["customer_id"] == "C1" and alert["action"] == "priority_call" and alert["status"] == "open"
    assert alert["reasons"] and alert["justification"] == alert["justification_es"]


def test_duplicate_ids_inside_one_request_are_stored_once(client: TestClient) -> None:
    m = {"message_id": "x1", "customer_id": "C9", "timestamp": now_minus(1), "text": "hola"}
    r = client.post("/v1/messages", json={"messages": [m, {**m, "text": "otra"}]})
    assert r.json()["created"] == ["x1"]
    ev = {"event_id": "e1", "customer_id": "C9", "timestamp": now_minus(1), "type": "login"}
    assert client.post("/v1/events", json={"events": [ev, ev]}).json()["created"] == ["e1"]
    assert client.post("/v1/events", json={"events": [ev]}).json()["duplicates"] == ["e1"]


def test_customer_view_has_timeline_risk_explanation_and_chart_series(client: TestClient) -> None:
    client.put("/v1/customers/C2", json={"value_tier": "high", "segment": "retail"})
    client.post("/v1/messages?wait=true", json={"messages": churning_messages("C2")})
    client.post("/v1/events", json={"events": [
        {"event_id": f"err{i}", "customer_id": "C2", "timestamp": now_minus(hours=i + 1), "type": "error",
         "channel": "app"} for i in range(4)]})
    v = client.get("/v1/customers/C2", params={"lang": "en"})
    assert v.status_code == 200
    data = v.json()
    assert data["customer"]["value_tier"] == "high" and 0 < data["customer"]["risk"] <= 1
    assert data["explanation"] and {"code", "contribution", "text_es", "text_en"} <= set(data["explanation"][0])
    assert [p["sentiment_score"] for p in data["sentiment_series"]] == [-0.85, -0.85, -0.85]
    stamps = [t["timestamp"] for t in data["timeline"]]
    assert stamps == sorted(stamps) and {t["kind"] for t in data["timeline"]} == {"message", "event"}
    assert data["recent_alerts"][0]["justification"] == data["recent_alerts"][0]["justification_en"]
    assert client.get("/v1/customers/nobody").status_code == 404


def test_alert_filters_pagination_and_actions_keep_feedback(client: TestClient) -> None:
    for c in ("A", "B", "C"):
        client.put(f"/v1/customers/{c}", json={"value_tier": "vip"})
        client.post("/v1/messages?wait=true", json={"messages": churning_messages(c, prefix=c)})
    page = client.get("/v1/alerts", params={"limit": 2, "offset": 0}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = client.get("/v1/alerts", params={"limit": 2, "offset": 2}).json()["items"]
    ids = [a["alert_id"] for a in page["items"] + rest]
    assert len(set(ids)) == 3
    first = ids[0]
    r = client.post(f"/v1/alerts/{first}/acknowledge", json={"agent": "ana"})
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    r = client.post(f"/v1/alerts/{first}/resolve", json={"useful": True, "outcome": "retained",
                                                         "note": "Llamé al 612 345 678, se queda"})
    assert r.json()["status"] == "resolved"
    assert client.post(f"/v1/alerts/{first}/acknowledge").status_code == 409
    client.post(f"/v1/alerts/{ids[1]}/dismiss", json={"useful": False})
    assert client.get("/v1/alerts", params={"status": "open"}).json()["total"] == 1
    assert client.get("/v1/alerts", params=[("status", "resolved"), ("status", "dismissed")]).json()["total"] == 2
    assert client.get("/v1/alerts", params={"customer_id": "B"}).json()["total"] == 1
    assert client.get("/v1/alerts", params={"severity": "info"}).json()["total"] == 0
    assert client.post("/v1/alerts/nope/resolve").status_code == 404
    # Feedback is kept (with the phone number in the note redacted) for re-fitting the model.
    store = client.app.state.store  # type: ignore[attr-defined]
    fb = store.feedback_of(alert_id=first)
    assert [f["status"] for f in fb] == ["acknowledged", "resolved"]
    assert fb[1]["useful"] is True and fb[1]["outcome"] == "retained"
    assert "612 345 678" not in fb[1]["note"] and "[PHONE]" in fb[1]["note"]


def test_health_ready_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/v1/health").json() == {"status": "ok"}
    ready = client.get("/v1/ready")
    assert ready.status_code == 200 and ready.json()["checks"]["database"]["schema_version"] >= 1
    client.post("/v1/analyze", json={"texts": ["hola"]})
    metrics = client.get("/metrics").text
    assert 'darkfeedback_http_requests_total{method="POST",route="/v1/analyze",status="200"} 1.0' in metrics
    assert "darkfeedback_texts_analyzed_total 1.0" in metrics
    spec = client.get("/openapi.json").json()
    assert {"/v1/analyze", "/v1/messages", "/v1/events", "/v1/alerts", "/v1/alerts/{alert_id}/resolve",
            "/v1/customers/{customer_id}", "/v1/jobs", "/v1/alerts/stream"} <= set(spec["paths"])
    assert spec["components"]["schemas"]["MessageCreate"]["examples"]


def test_not_ready_until_models_load(tmp_path, database_url) -> None:
    from api_support import make_settings

    from analyzer.service import create_app
    from analyzer.service.deps import AnalyzerHolder

    app = create_app(make_settings(tmp_path, database_url))
    holder: AnalyzerHolder = app.state.analyzer
    holder.load = lambda settings: None  # type: ignore[method-assign]  # keep "loading" forever
    with TestClient(app) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        assert c.get("/v1/ready").status_code == 503
        r = c.post("/v1/analyze", json={"texts": ["hola"]})
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert c.get("/v1/alerts").status_code == 200  # everything else works meanwhile


@pytest.mark.parametrize("clock", ["data"])
def test_data_clock_replays_old_exports(tmp_path, clock: str) -> None:
    from api_support import make_settings

    from analyzer.service import create_app

    app = create_app(make_settings(tmp_path, alert_clock=clock), text_analyzer=FakeTextAnalyzer())
    with TestClient(app) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        c.put("/v1/customers/OLD", json={"value_tier": "vip"})
        msgs = churning_messages("OLD")
        for i, m in enumerate(msgs):
            m["timestamp"] = f"2023-03-0{i + 1}T10:00:00Z"
        r = c.post("/v1/messages?wait=true", json={"messages": msgs})
        assert len(r.json()["new_alerts"]) == 1
        alert = c.get("/v1/alerts").json()["items"][0]
        assert alert["alerted_at"].startswith("2023-03-03")
