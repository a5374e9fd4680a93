"""The workspace over HTTP, on SQLite and PostgreSQL: agents and assignment, actions and outcomes under the
agent's own key, an alert's history, the alert list's filters, a customer's story, the overview, the
outcome report computed by hand, the rules and taxonomy edited by admins, and erasure of it all."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    churning_messages,
    database_url,
    make_settings,
)
from fastapi.testclient import TestClient

from analyzer.service import create_app

AS_OF = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(AS_OF)


@pytest.fixture
def ws(tmp_path: Path, database_url: str | None, clock: Clock) -> Iterator[TestClient]:
    app = create_app(make_settings(tmp_path, database_url), text_analyzer=FakeTextAnalyzer(), clock=clock)
    with TestClient(app) as c:
        c.headers["X-API-Key"] = ADMIN_KEY
        yield c


def leaving(customer_id: str, now: dt.datetime, prefix: str | None = None) -> list[dict[str, Any]]:
    msgs = churning_messages(customer_id, prefix=prefix or customer_id)
    for i, m in enumerate(msgs):
        m["timestamp"] = (now - dt.timedelta(days=5 - 2 * i)).isoformat()
    return msgs


def raise_alert(c: TestClient, customer_id: str, now: dt.datetime, **profile: str) -> dict[str, Any]:
    c.put(f"/v1/customers/{customer_id}", json=profile or {"value_tier": "vip"})
    r = c.post("/v1/messages?wait=true", json={"messages": leaving(customer_id, now)})
    assert r.status_code == 201 and r.json()["new_alerts"], r.text
    return dict(c.get(f"/v1/alerts/{r.json()['new_alerts'][0]}").json())


def key(c: TestClient, name: str, *scopes: str) -> dict[str, str]:
    r = c.post("/v1/keys", json={"name": name, "scopes": list(scopes)})
    assert r.status_code == 201, r.text
    return {"X-API-Key": r.json()["key"]}


def test_agents_assign_act_and_record_outcomes_under_their_own_names(ws: TestClient) -> None:
    ana, luis, feeder = key(ws, "ana", "read"), key(ws, "luis", "read"), key(ws, "feeder", "ingest")
    alert = raise_alert(ws, "C1", AS_OF)
    other = raise_alert(ws, "C2", AS_OF)
    aid = alert["alert_id"]
    assert ws.get("/v1/me", headers=ana).json() == {"name": "ana", "scopes": ["read"]}
    team = {a["name"] for a in ws.get("/v1/agents", headers=ana).json()}
    assert team == {"ana", "luis", "bootstrap"}  # the ingest-only key cannot work alerts

    assert ws.post(f"/v1/alerts/{aid}/assign", json={"agent": "nobody"}, headers=ana).status_code == 422
    assert ws.post(f"/v1/alerts/{aid}/assign", json={"agent": "feeder"}, headers=ana).status_code == 422
    r = ws.post(f"/v1/alerts/{aid}/assign", json={"agent": "luis"}, headers=ana)
    assert r.status_code == 200 and r.json()["assignee"] == "luis"
    assert ws.get("/v1/alerts", params={"assignee": "luis"}).json()["total"] == 1
    assert [a["alert_id"] for a in ws.get("/v1/alerts", params={"unassigned": True}).json()["items"]] == \
        [other["alert_id"]]
    assert {a["name"]: a["open_alerts"] for a in ws.get("/v1/agents").json()}["luis"] == 1
    # The live feed announces the new owner.
    feed = ws.get("/v1/alerts/stream", params={"after": 0, "follow": False}).text
    kinds = [json.loads(line[6:])["kind"] for line in feed.splitlines() if line.startswith("data: ")]
    assert "assigned" in kinds
    assigned = [json.loads(line[6:]) for line in feed.splitlines()
                if line.startswith("data: ") and json.loads(line[6:])["kind"] == "assigned"]
    assert assigned[-1]["alert"]["assignee"] == "luis"

    # An outcome needs an action first; an ingest key cannot record either.
    assert ws.post(f"/v1/alerts/{aid}/outcome", json={"outcome": "retained"}, headers=luis).status_code == 409
    assert ws.post(f"/v1/alerts/{aid}/actions", json={"action": "priority_call"}, headers=feeder).status_code == 403
    r = ws.post(f"/v1/alerts/{aid}/actions", headers=luis,
                json={"action": "priority_call", "note": "Llamé; su correo es cliente.uno@example.com"})
    assert r.status_code == 201, r.text
    taken = r.json()
    assert taken["agent"] == "luis" and taken["outcome"] is None and "example.com" not in taken["note"]
    assert ws.get(f"/v1/alerts/{aid}").json()["status"] == "acknowledged"  # someone is on it
    assert ws.post(f"/v1/alerts/{aid}/actions", json={"action": "teleport"}, headers=luis).status_code == 422
    r = ws.post(f"/v1/alerts/{aid}/outcome", json={"outcome": "retained"}, headers=ana)
    assert r.status_code == 200 and r.json()[0]["outcome"] == "retained" and r.json()[0]["outcome_by"] == "ana"
    assert ws.get(f"/v1/alerts/{aid}").json()["status"] == "resolved"

    history = ws.get(f"/v1/alerts/{aid}/history", headers=ana).json()
    assert [(h["kind"], h["agent"]) for h in history] == [
        ("raised", None), ("assigned", "ana"), ("action", "luis"), ("acknowledged", "luis"), ("outcome", "ana"),
        ("resolved", "ana")]
    assert history[1]["detail"] == {"assignee": "luis"}
    audit = ws.get("/v1/audit", params={"subject": "C1"}).json()
    assert {(e["actor"], e["action"]) for e in audit} >= {("ana", "assign"), ("luis", "action"), ("ana", "outcome")}
    # Withdrawn alerts (the customer opted out) take no action.
    ws.put("/v1/customers/C2/opt-out", json={"opt_out": True})
    assert ws.post(f"/v1/alerts/{other['alert_id']}/actions", json={"action": "priority_call"},
                   headers=ana).status_code == 409


def test_alert_list_filters_by_cause_segment_and_search(ws: TestClient) -> None:
    raise_alert(ws, "Shop-Ana", AS_OF, value_tier="vip", segment="retail")
    raise_alert(ws, "Bank-100%", AS_OF, value_tier="high", segment="banking")
    total = ws.get("/v1/alerts").json()["total"]
    assert total == 2
    assert ws.get("/v1/alerts", params={"cause": "churn_intent"}).json()["total"] == 2
    assert ws.get("/v1/alerts", params={"cause": "inactivity"}).json()["total"] == 0
    assert [a["customer_id"] for a in ws.get("/v1/alerts", params={"segment": "banking"}).json()["items"]] == \
        ["Bank-100%"]
    assert [a["customer_id"] for a in ws.get("/v1/alerts", params={"q": "shop-a"}).json()["items"]] == ["Shop-Ana"]
    # Search is literal: % and _ are not wildcards.
    assert [a["customer_id"] for a in ws.get("/v1/alerts", params={"q": "100%"}).json()["items"]] == ["Bank-100%"]
    assert ws.get("/v1/alerts", params={"q": "%"}).json()["total"] == 1
    assert ws.get("/v1/alerts", params={"q": "_"}).json()["total"] == 0
    # The justification is searched too, in either language.
    assert ws.get("/v1/alerts", params={"q": "WANT TO LEAVE"}).json()["total"] == 2
    assert ws.get("/v1/alerts", params={"q": "bad\u0000"}).status_code == 422


def test_a_customers_story(ws: TestClient, clock: Clock) -> None:
    events = [{"event_id": f"p{i}", "customer_id": "S1", "type": "purchase", "value": 10.0 + i, "channel": "web",
               "timestamp": (AS_OF - dt.timedelta(days=d)).isoformat()} for i, d in enumerate((1, 1.1, 9, 40))]
    events.append({"event_id": "v1", "customer_id": "S1", "type": "page_view", "channel": "web",
                   "timestamp": (AS_OF - dt.timedelta(days=1, hours=3)).isoformat()})
    assert ws.post("/v1/events", json={"events": events}).status_code == 201
    raise_alert(ws, "S1", AS_OF)
    s = ws.get("/v1/customers/S1/story", params={"days": 14, "lang": "en"}).json()
    assert s["customer"]["customer_id"] == "S1" and len(s["weekly"]["weeks"]) == 2
    assert s["weekly"]["purchases"] == [1, 2] and s["weekly"]["amount"] == [12.0, 21.0]
    assert s["recommended"]["status"] == "open" and s["recommended"]["justification"] == \
        s["recommended"]["justification_en"]
    assert s["raises"][0]["code"] == "churn_intent"
    assert all("contribution" not in r for r in s["raises"] + s["lowers"])  # words, not log-odds
    assert s["raises"][0]["evidence"]["quotes"]
    days = [i for i in s["timeline"] if i["kind"] == "events"]
    assert days[0]["counts"] == {"purchase": 2, "page_view": 1} and days[0]["amount"] == 21.0
    assert sum(1 for i in s["timeline"] if i["kind"] == "message") == 3
    # Risk over time: one point per day, the day's last judgement.
    assert [r["day"] for r in s["risk_series"]] == ["2026-06-01"]
    clock.now = AS_OF + dt.timedelta(hours=2)
    ws.post("/v1/sweep")
    clock.now = AS_OF + dt.timedelta(days=3)
    ws.post("/v1/sweep")
    series = ws.get("/v1/customers/S1/story").json()["risk_series"]
    assert [r["day"] for r in series] == ["2026-06-01", "2026-06-04"]
    assert series[0]["as_of"].startswith("2026-06-01T11:00")
    assert ws.get("/v1/customers/nobody/story").status_code == 404


def test_overview(ws: TestClient) -> None:
    assert ws.get("/v1/overview", params={"days": 14}).json()["alerts"]["today"] == 0
    raise_alert(ws, "O1", AS_OF)
    # A new alert shows at once, although the overview of this period was just computed.
    assert ws.get("/v1/overview", params={"days": 14}).json()["alerts"]["today"] == 1
    purchases = [{"event_id": f"o{i}", "customer_id": "O1", "type": "purchase", "value": v, "channel": "web",
                  "timestamp": (AS_OF - dt.timedelta(days=d)).isoformat()}
                 for i, (v, d) in enumerate(((100.0, 10), (50.0, 200), (999.0, 400)))]
    tickets = [{"event_id": "t1", "customer_id": "O2", "type": "ticket_opened", "value": "T1", "channel": "email",
                "timestamp": (AS_OF - dt.timedelta(days=3)).isoformat()}]
    assert ws.post("/v1/events?wait=true", json={"events": purchases + tickets}).status_code == 201
    o = ws.get("/v1/overview", params={"days": 21}).json()  # another period: computed now, not from the cache
    customer = ws.get("/v1/customers", params={"limit": 500}).json()["items"]
    risky = {c["customer_id"]: c for c in customer if c["severity"] in ("low", "medium", "high", "critical")
             and not c["lapsed"]}
    assert o["customers"]["at_risk"] == len(risky) and "O1" in risky
    # Value at risk: risk x purchases of the last 365 days (not the 999 of 400 days ago).
    assert o["value_at_risk"]["amount"] == pytest.approx(round(risky["O1"]["risk"] * 150.0, 2), abs=0.01)
    assert o["alerts"]["today"] == len(ws.get("/v1/alerts", params={"since": AS_OF.replace(hour=0).isoformat()})
                                       .json()["items"])
    assert o["deadlines"]["breached"] == 1 and o["deadlines"]["open_past_deadline"] == 1
    churn = next(t for t in o["themes"] if t["theme"] == "churn_intent")
    assert churn["total"] == 2 and churn["weekly"] == [0, 0, 2]  # two of the three messages say they leave
    assert o["tone"]["messages"] == [0, 0, 3] and o["tone"]["mean"][2] < 0
    assert o["theme_names"]["delivery_delay"]["es"]


def _alert(cid: str, rule: str, severity: str, at: dt.datetime) -> dict[str, Any]:
    return {"alert_id": f"A-{cid}", "customer_id": cid, "alerted_at": at, "risk": 0.4, "severity": severity,
            "cause": "inactivity", "reasons": [], "action": "relevant_offer", "rule": rule, "justification_es": "x",
            "justification_en": "x", "value_tier": "medium", "segment": None}


def test_outcome_report_by_hand(ws: TestClient, clock: Clock) -> None:
    """Alerts of two rules; some contacted; the customers who did something on days 31-60 stayed."""
    t0 = AS_OF - dt.timedelta(days=100)
    plan = {  # customer: (rule, severity, action taken or None, day of own activity after the alert or None)
        "a1": ("fading", "low", "relevant_offer", 45), "a2": ("fading", "low", "relevant_offer", 50),
        "a3": ("fading", "low", "priority_call", 10),  # came back during the call's fortnight only: not counted
        "a4": ("fading", "low", None, 40), "a5": ("fading", "low", None, None),
        "b1": ("fading", "high", "relevant_offer", 60),  # nobody similar left alone: unmatched
        "c1": ("tickets", "medium", "priority_call", None), "c2": ("tickets", "medium", None, 59),
        "c3": ("tickets", "medium", None, 61),  # after the window: not counted
    }
    store = ws.app.state.store  # type: ignore[attr-defined]
    rows = [_alert(c, r, s, t0) for c, (r, s, _, _) in plan.items()]
    young = _alert("y1", "fading", "low", AS_OF - dt.timedelta(days=20))  # not followed up long enough yet
    store.insert_events([{"event_id": f"seed-{c}", "customer_id": c, "timestamp": t0 - dt.timedelta(days=30),
                          "type": "purchase", "value": 1.0, "channel": "web", "ingested_at": AS_OF}
                         for c in [*plan, "y1"]])
    assert len(store.save_states([], [*rows, young], t0)) == len(plan) + 1
    for c, (_, _, action, _) in plan.items():
        if action:
            r = ws.post(f"/v1/alerts/A-{c}/actions", json={"action": action})
            assert r.status_code == 201
    ws.post("/v1/alerts/A-a1/outcome", json={"outcome": "retained"})
    ws.post("/v1/alerts/A-c1/outcome", json={"outcome": "churned"})
    ws.post("/v1/alerts/A-y1/actions", json={"action": "relevant_offer"})
    back = [{"event_id": f"back-{c}", "customer_id": c, "type": "login", "channel": "app",
             "timestamp": (t0 + dt.timedelta(days=d)).isoformat()} for c, (_, _, _, d) in plan.items() if d]
    assert ws.post("/v1/events", json={"events": back}).status_code == 201
    r = ws.get("/v1/outcomes", params={"window_days": 60, "lookback_days": 365}).json()
    assert "Observational" in r["note_en"] and "Observacional" in r["note_es"]
    acts = {x["action"]: x for x in r["by_action"]}
    offer = acts["relevant_offer"]
    # Offers: a1, a2 stayed (low), b1 stayed (high, unmatched). Left alone in (fading, low): a4 stayed, a5 not.
    assert (offer["contacted"], offer["contacted_retained"], offer["matched"], offer["unmatched"]) == (3, 3, 2, 1)
    assert offer["matched_rate"] == 1.0 and offer["comparison"] == 2 and offer["comparison_rate"] == 0.5
    assert offer["difference"] == 0.5
    assert offer["recorded_outcomes"] == {"retained": 1, "churned": 0, "unknown": 0, "not_recorded": 2}
    call = acts["priority_call"]
    # Calls: a3 (low, not active in days 31-60) against 0.5; c1 (tickets) against c2 (stayed) and c3 (did not).
    assert (call["contacted"], call["contacted_retained"], call["matched"]) == (2, 0, 2)
    assert call["comparison_rate"] == pytest.approx(0.5) and call["difference"] == -0.5
    rules = {x["rule"]: x for x in r["by_rule"]}
    assert rules["fading"]["alerts"] == 6 and rules["fading"]["contacted"] == 4
    assert rules["tickets"]["alerts"] == 3 and rules["tickets"]["comparison_rate"] == 0.5
    assert r["overall"]["alerts"] == 9  # the young alert waits for its follow-up


def test_admins_edit_rules_and_taxonomy_and_they_apply(ws: TestClient, tmp_path: Path,
                                                       database_url: str | None, clock: Clock) -> None:
    reader = key(ws, "ana", "read")
    assert ws.get("/v1/settings/rules", headers=reader).status_code == 403
    rules = ws.get("/v1/settings/rules").json()
    assert rules["source"] == "packaged" and rules["history"] == []
    bad = ws.put("/v1/settings/rules", json={"text": rules["text"].replace("action: priority_call", "action: hug", 1)})
    assert bad.status_code == 422 and "hug" in bad.json()["error"]["message"]
    assert "df-settings" not in bad.json()["error"]["message"]  # the temporary file is not named
    assert ws.get("/v1/settings/rules").json()["source"] == "packaged"
    # Customers who say they leave get a help resource instead of a call, from the next judgement on.
    changed = rules["text"].replace("""  - name: leaving_valuable_customer
    when: {signals: [churn_intent], value_tier: [high, vip]}
    action: priority_call""", """  - name: leaving_valuable_customer
    when: {signals: [churn_intent], value_tier: [high, vip]}
    action: help_resource""")
    assert changed != rules["text"]
    saved = ws.put("/v1/settings/rules", json={"text": changed})
    assert saved.status_code == 200 and saved.json()["source"] == "saved" and saved.json()["saved_by"] == "bootstrap"
    assert raise_alert(ws, "R1", AS_OF)["action"] == "help_resource"
    # The taxonomy: a theme the rules use cannot go; a renamed theme shows on the pages at once.
    tax = ws.get("/v1/settings/taxonomy").json()["text"]
    without = tax.replace("  - id: delivery_delay", "  - id: delivery_late", 1)
    r = ws.put("/v1/settings/taxonomy", json={"text": without})
    assert r.status_code == 422 and "delivery_delay" in r.json()["error"]["message"]
    renamed = tax.replace("name: {es: Retraso en la entrega, en: Delivery delay}",
                          "name: {es: Pedido con retraso, en: Late order}", 1)
    assert ws.put("/v1/settings/taxonomy", json={"text": renamed}).status_code == 200
    assert ws.get("/ui/i18n.json").json()["en"]["_codes"]["theme"]["delivery_delay"] == "Late order"
    # A restart keeps the saved rules in force.
    app = create_app(make_settings(tmp_path, database_url), text_analyzer=FakeTextAnalyzer(), clock=clock)
    with TestClient(app) as again:
        again.headers["X-API-Key"] = ADMIN_KEY
        assert raise_alert(again, "R2", AS_OF)["action"] == "help_resource"
        assert [h["created_by"] for h in again.get("/v1/settings/rules").json()["history"]] == ["bootstrap"]


def test_export_and_erasure_cover_the_workspace(ws: TestClient) -> None:
    alert = raise_alert(ws, "E1", AS_OF)
    ws.post(f"/v1/alerts/{alert['alert_id']}/actions", json={"action": "priority_call", "note": "called"})
    data = ws.get("/v1/customers/E1/export").json()
    assert len(data["alert_actions"]) == 1 and len(data["risk_history"]) == 1
    counts = ws.delete("/v1/customers/E1").json()["deleted"]
    assert counts["alert_actions"] == 1 and counts["risk_history"] == 1
    store = ws.app.state.store  # type: ignore[attr-defined]
    assert store.actions_of(customer_id="E1") == [] and store.risk_series("E1") == []


def test_an_agent_cannot_act_under_another_name(ws: TestClient) -> None:
    ana = key(ws, "ana", "read")
    alert = raise_alert(ws, "N1", AS_OF)
    aid = alert["alert_id"]
    r = ws.post(f"/v1/alerts/{aid}/acknowledge", json={"agent": "luis"}, headers=ana)
    assert r.status_code == 403 and "ana" in r.json()["error"]["message"]
    assert ws.post(f"/v1/alerts/{aid}/acknowledge", json={"agent": "ana"}, headers=ana).status_code == 200
    assert ws.post(f"/v1/alerts/{aid}/dismiss", json={"useful": False}, headers=ana).status_code == 200
    assert [(h["kind"], h["agent"]) for h in ws.get(f"/v1/alerts/{aid}/history").json()][1:] == [
        ("acknowledged", "ana"), ("dismissed", "ana")]
    # An admin may record for someone else (e.g. when importing what the team did before).
    other = raise_alert(ws, "N2", AS_OF)
    assert ws.post(f"/v1/alerts/{other['alert_id']}/acknowledge", json={"agent": "luis"}).status_code == 200
