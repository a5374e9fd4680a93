"""Outbound deliveries against a real receiver on loopback: signatures, retries with backoff, idempotency
keys, dead letters and their retry, escalations, CRM tasks chosen per rule, apprise notifications and
e-mail; on SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from api_support import ADMIN_KEY, FakeTextAnalyzer, churning_messages, database_url, key_with, make_settings
from fastapi.testclient import TestClient

from analyzer.errors import ConfigError
from analyzer.foresight import load_rules
from analyzer.service import create_app
from analyzer.service.outbound import OutboundDispatcher, crm_task, delivery_id, verify
from analyzer.service.store import open_store

__all__ = ["database_url"]

SECRET = "whsec_test_secret_0123456789abcdef"


class Receiver:
    """A loopback HTTP server that answers with scripted status codes and records every request."""

    def __init__(self, codes: list[int] | None = None) -> None:
        self.codes = list(codes or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.lock:
                    outer.requests.append({"headers": dict(self.headers), "body": body, "at": time.monotonic(),
                                           "path": self.path})
                    code = outer.codes.pop(0) if outer.codes else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {len(self.requests)} requests, expected {n}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def _app_client(tmp_path: Path, database_url: str | None, **settings: Any) -> TestClient:
    values = {"worker_poll_s": 0.05, "webhook_backoff_s": 0.2, "webhook_max_attempts": 3, **settings}
    app = create_app(make_settings(tmp_path, database_url, **values), text_analyzer=FakeTextAnalyzer())
    c = TestClient(app)
    c.headers["X-API-Key"] = ADMIN_KEY
    return c


def _wait_status(c: TestClient, status: str, n: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = c.get("/v1/webhooks/deliveries", params={"status": status}).json()["items"]
        if len(items) >= n:
            return list(items)
        time.sleep(0.05)
    raise AssertionError(f"no {status} delivery after {timeout} s")


def test_a_new_alert_is_signed_retried_with_backoff_and_delivered_once(tmp_path: Path, database_url: str | None,
                                                                        receiver: Receiver) -> None:
    receiver.codes = [500, 502]  # fails twice, then 200
    with _app_client(tmp_path, database_url) as c:
        made = c.post("/v1/webhooks", json={"name": "ops", "url": receiver.url, "secret": SECRET})
        assert made.status_code == 201, made.text
        assert made.json()["signed"] and made.json()["secret"] is None  # a secret we gave is not echoed
        # ?wait=true stores the alert in the request: the dispatcher still finds it (it reads the alert log).
        r = c.post("/v1/messages?wait=true", json={"messages": churning_messages("c-hook")})
        [alert_id] = r.json()["new_alerts"]
        got = receiver.wait_for(3)
        delivered = _wait_status(c, "delivered")
    bodies = [json.loads(g["body"]) for g in got]
    keys = {g["headers"]["Idempotency-Key"] for g in got}
    assert len(got) == 3 and keys == {delivery_id(made.json()["id"], alert_id, "alert.new")}
    for g in got:  # each attempt signed with its own timestamp, over the exact bytes sent
        h = g["headers"]
        assert verify(SECRET, g["body"], h["X-DarkFeedback-Timestamp"], h["X-DarkFeedback-Signature"])
        assert not verify("another-secret-0123456789", g["body"], h["X-DarkFeedback-Timestamp"],
                          h["X-DarkFeedback-Signature"])
        assert h["X-DarkFeedback-Event"] == "alert.new"
    assert bodies[0] == bodies[2]  # a retry sends the same delivery
    body = bodies[0]
    assert body["event"] == "alert.new" and body["alert"]["alert_id"] == alert_id
    assert body["alert"]["customer_id"] == "c-hook" and body["alert"]["severity"] in ("high", "critical")
    assert body["alert"]["justification_es"] and body["alert"]["reasons"] and body["idempotency_key"] in keys
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(got)]
    assert gaps[0] >= 0.2 * 0.9 and gaps[1] >= 0.4 * 0.9  # exponential backoff: 0.2 s, then 0.4 s
    assert delivered[0]["attempts"] == 3 and delivered[0]["last_status"] == 200 and delivered[0]["last_error"] is None


def test_dead_letters_are_listed_and_can_be_sent_again(tmp_path: Path, database_url: str | None,
                                                        receiver: Receiver) -> None:
    receiver.codes = [503, 503, 503]
    with _app_client(tmp_path, database_url) as c:
        sub = c.post("/v1/webhooks", json={"name": "down", "url": receiver.url}).json()
        assert sub["secret"].startswith("whsec_")  # generated, shown once
        assert all(s["secret"] is None for s in c.get("/v1/webhooks").json())
        c.post("/v1/messages?wait=true", json={"messages": churning_messages("c-dead")})
        [dead] = _wait_status(c, "dead")
        listed = c.get("/v1/webhooks/dead-letters").json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == dead["id"]
        assert dead["attempts"] == 3 and dead["last_status"] == 503 and "HTTP 503" in dead["last_error"]
        assert len(receiver.requests) == 3
        reader = key_with(c, "read")
        assert c.get("/v1/webhooks/dead-letters", headers={"X-API-Key": reader}).status_code == 403
        r = c.post(f"/v1/webhooks/dead-letters/{dead['id']}/retry")
        assert r.status_code == 202 and r.json()["status"] == "pending"
        _wait_status(c, "delivered")
        assert c.get("/v1/webhooks/dead-letters").json()["total"] == 0
        assert c.post(f"/v1/webhooks/dead-letters/{dead['id']}/retry").status_code == 404  # no longer dead
    assert len(receiver.requests) == 4
    assert {g["headers"]["Idempotency-Key"] for g in receiver.requests} == {dead["id"]}


def test_subscription_validation_and_deletion(tmp_path: Path, database_url: str | None, receiver: Receiver) -> None:
    with _app_client(tmp_path, database_url) as c:
        assert c.post("/v1/webhooks", json={"name": "x", "kind": "crm", "url": receiver.url}).status_code == 422
        assert c.post("/v1/webhooks", json={"name": "x", "url": "ftp://example.com/x"}).status_code == 422
        assert c.post("/v1/webhooks", json={"name": "x", "kind": "notify", "url": "nosuch://x/y"}).status_code == 422
        assert c.post("/v1/webhooks", json={"name": "x", "url": receiver.url, "secret": "short"}).status_code == 422
        assert c.post("/v1/webhooks", json={"name": "x", "url": receiver.url,
                                            "headers": {"Bad Header": "1"}}).status_code == 422
        ok = c.post("/v1/webhooks", json={"name": "crm", "kind": "crm", "crm": "zendesk", "url": receiver.url,
                                          "headers": {"Authorization": "Bearer abc"}})
        assert ok.status_code == 201 and ok.json()["header_names"] == ["Authorization"]
        note = c.post("/v1/webhooks", json={"name": "slack", "kind": "notify",
                                            "url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"})
        assert note.status_code == 201 and note.json()["url"] == "slack://..."  # the token is never listed
        assert "Bearer" not in c.get("/v1/webhooks").text
        assert c.delete(f"/v1/webhooks/{ok.json()['id']}").status_code == 204
        assert c.delete(f"/v1/webhooks/{ok.json()['id']}").status_code == 404
        assert [s["name"] for s in c.get("/v1/webhooks").json()] == ["slack"]


def _alert(aid: str, customer: str, severity: str, at: dt.datetime, rule: str = "any_risk") -> dict[str, Any]:
    return {"alert_id": aid, "customer_id": customer, "alerted_at": at, "risk": 0.4, "severity": severity,
            "cause": "churn_intent", "reasons": [{"code": "churn_intent", "contribution": 1.2,
                                                  "text_es": "dice que se va", "text_en": "says they are leaving",
                                                  "evidence": {}}],
            "action": "priority_call", "rule": rule, "justification_es": "Llamar hoy.",
            "justification_en": "Call today.", "value_tier": "high", "segment": "retail"}


def test_escalations_severity_filters_and_crm_tasks_chosen_per_rule(tmp_path: Path, database_url: str | None,
                                                                    receiver: Receiver) -> None:
    rules_file = tmp_path / "rules.yaml"
    text = Path("analyzer/foresight/rules.yaml").read_text(encoding="utf-8")
    rules_file.write_text(text.replace("  - name: leaving_customer\n", "  - name: leaving_customer\n"
                                       "    crm_task: hubspot\n"), encoding="utf-8")
    rules = load_rules(rules_file)
    settings = make_settings(tmp_path, database_url, webhook_backoff_s=0.01)
    store = open_store(settings)
    clock = [dt.datetime.now(dt.UTC)]
    disp = OutboundDispatcher(store, settings, rules=rules, now=lambda: clock[0])
    try:
        store.add_subscription({"id": "wh_01", "name": "all", "kind": "webhook", "url": receiver.url, "secret": SECRET,
                                "headers": None, "events": ["alert.new", "alert.escalated"], "min_severity": "medium",
                                "crm": None, "created_by": "test"})
        store.add_subscription({"id": "wh_02", "name": "hs", "kind": "crm", "url": receiver.url + "/crm",
                                "secret": SECRET, "headers": {"Authorization": "Bearer hs-token"},
                                "events": ["alert.new", "alert.escalated"], "min_severity": "low", "crm": "hubspot",
                                "created_by": "test"})
        t0 = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        store.save_states([], [_alert("a1", "ana", "medium", t0), _alert("b1", "bea", "low", t0)], t0)
        store.save_states([], [_alert("a2", "ana", "high", t0 + dt.timedelta(days=2), rule="leaving_customer")], t0)
        stored, _ = disp.run_once()
        assert stored == 3  # a1 and a2 to "all"; a2 (rule leaving_customer -> hubspot) to "hs"; b1 below medium
        assert disp.collect() == 0  # collecting again stores nothing twice
        got = receiver.wait_for(3)
    finally:
        disp.stop()
        store.engine.dispose()
    by_path: dict[str, list[dict[str, Any]]] = {}
    for g in got:
        by_path.setdefault(g["path"], []).append(json.loads(g["body"]))
    events = {b["alert"]["alert_id"]: (b["event"], b["alert"]["previous_severity"]) for b in by_path["/hook"]}
    assert events == {"a1": ("alert.new", None), "a2": ("alert.escalated", "medium")}
    webhook_a2 = next(b for b in by_path["/hook"] if b["alert"]["alert_id"] == "a2")
    assert webhook_a2["crm_task"]["system"] == "hubspot"
    [task] = by_path["/hook/crm"]
    props = task["properties"]
    assert props["hs_task_priority"] == "HIGH" and props["hs_task_type"] == "CALL"
    assert props["hs_task_status"] == "NOT_STARTED" and "ana" in props["hs_task_subject"]
    crm_req = next(g for g in got if g["path"] == "/hook/crm")
    assert crm_req["headers"]["Authorization"] == "Bearer hs-token"
    assert verify(SECRET, crm_req["body"], crm_req["headers"]["X-DarkFeedback-Timestamp"],
                  crm_req["headers"]["X-DarkFeedback-Signature"])


def test_a_permanent_refusal_goes_straight_to_the_dead_letters(tmp_path: Path, receiver: Receiver) -> None:
    receiver.codes = [410]
    settings = make_settings(tmp_path, None, webhook_max_attempts=5)
    store = open_store(settings)
    disp = OutboundDispatcher(store, settings, rules=load_rules())
    try:
        store.add_subscription({"id": "wh_03", "name": "gone", "kind": "webhook", "url": receiver.url, "secret": None,
                                "headers": None, "events": ["alert.new"], "min_severity": "low", "crm": None,
                                "created_by": "test"})
        store.save_states([], [_alert("z1", "zoe", "high", dt.datetime.now(dt.UTC))], dt.datetime.now(dt.UTC))
        disp.run_once()
        [dead], _ = store.list_deliveries(status=["dead"])
        assert dead["attempts"] == 1 and dead["last_status"] == 410
        assert "X-DarkFeedback-Signature" not in receiver.requests[0]["headers"]  # no secret, no signature
        # Erasing the customer deletes the delivery and its payload.
        store.upsert_customer("zoe", segment=None, value_tier=None)
        assert store.erase_customer("zoe") is not None
        assert store.list_deliveries()[1] == 0
    finally:
        disp.stop()
        store.engine.dispose()


@pytest.mark.parametrize("system", ["hubspot", "salesforce", "zendesk", "dynamics"])
def test_crm_task_bodies_follow_each_api(system: str) -> None:
    at = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.UTC)
    crit, low = _alert("a9", "ana", "critical", at), _alert("a8", "bea", "low", at)
    hi, lo = crm_task(system, crit, "en"), crm_task(system, low, "es")
    if system == "hubspot":
        assert set(hi["properties"]) == {"hs_timestamp", "hs_task_subject", "hs_task_body", "hs_task_status",
                                         "hs_task_priority", "hs_task_type"}
        assert hi["properties"]["hs_timestamp"].startswith("2025-06-02")
        assert lo["properties"]["hs_timestamp"].startswith("2025-06-09")
        assert lo["properties"]["hs_task_priority"] == "LOW"
    elif system == "salesforce":
        assert hi["Priority"] == "High" and hi["ActivityDate"] == "2025-06-02" and hi["TaskSubtype"] == "Call"
        assert lo["Priority"] == "Low" and lo["Status"] == "Not Started" and "Llamada prioritaria" in lo["Subject"]
    elif system == "zendesk":
        t = hi["ticket"]
        assert t["priority"] == "urgent" and t["type"] == "task" and t["comment"]["public"] is False
        assert t["external_id"] == "a9" and "darkfeedback" in t["tags"] and "Call today." in t["comment"]["body"]
        assert lo["ticket"]["priority"] == "low"
    else:
        assert hi["prioritycode"] == 2 and lo["prioritycode"] == 0 and hi["scheduledend"].startswith("2025-06-02")
    with pytest.raises(ValueError):
        crm_task("pipedrive", crit)


def test_a_rule_naming_an_unknown_crm_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text(Path("analyzer/foresight/rules.yaml").read_text(encoding="utf-8").replace(
        "  - name: leaving_customer\n", "  - name: leaving_customer\n    crm_task: pipedrive\n"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crm_task 'pipedrive'.*hubspot"):
        load_rules(bad)


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) to accept one message and keep it."""

    def handle(self) -> None:
        self.wfile.write(b"220 test ESMTP\r\n")
        data: list[bytes] = []
        in_data = False
        while line := self.rfile.readline():
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    self.server.messages.append(b"".join(data).decode("utf-8", "replace"))  # type: ignore[attr-defined]
                    self.wfile.write(b"250 queued\r\n")
                else:
                    data.append(line)
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif cmd == b"DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif cmd == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


def test_notifications_through_apprise_reach_a_chat_webhook_and_a_mailbox(tmp_path: Path, receiver: Receiver) -> None:
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    smtp.messages = []  # type: ignore[attr-defined]
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    port = smtp.server_address[1]
    settings = make_settings(tmp_path, None, alert_lang="en")
    store = open_store(settings)
    disp = OutboundDispatcher(store, settings, rules=load_rules())
    try:
        host = receiver.url.removeprefix("http://").removesuffix("/hook")
        for sid, url in (("wh_04", f"json://{host}/chat"),
                         ("wh_05", f"mailto://127.0.0.1:{port}?mode=insecure&from=alerts@shop.example"
                                   "&to=team@shop.example")):
            store.add_subscription({"id": sid, "name": sid, "kind": "notify", "url": url, "secret": None,
                                    "headers": None, "events": ["alert.new"], "min_severity": "low", "crm": None,
                                    "created_by": "test"})
        store.save_states([], [_alert("n1", "nora", "high", dt.datetime.now(dt.UTC))], dt.datetime.now(dt.UTC))
        disp.run_once()
        delivered, _ = store.list_deliveries(status=["delivered"])
        assert len(delivered) == 2, store.list_deliveries()
    finally:
        disp.stop()
        store.engine.dispose()
        smtp.shutdown()
        smtp.server_close()
    chat = json.loads(receiver.requests[0]["body"])
    assert "new alert high (nora)" in chat["title"] and "Priority call" in chat["message"]
    [mail] = smtp.messages  # type: ignore[attr-defined]
    assert "team@shop.example" in mail and "nora" in mail
