"""Alert feed (SSE backlog and resume) and the support page (HTML + vanilla JS, es/en)."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import json
import re

from api_support import (  # noqa: F401  (fixtures)
    churning_messages,
    client,
    database_url,
    fake_analyzer,
)
from fastapi.testclient import TestClient


def _events(text: str) -> list[tuple[int, dict]]:
    out = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if lines.get("event") == "alert":
            out.append((int(lines["id"]), json.loads(lines["data"])))
    return out


def test_stream_replays_new_alerts_and_status_changes(client: TestClient) -> None:
    client.put("/v1/customers/F", json={"value_tier": "vip"})
    alert_id = client.post("/v1/messages?wait=true", json={"messages": churning_messages("F")}).json()["new_alerts"][0]
    client.post(f"/v1/alerts/{alert_id}/acknowledge")
    r = client.get("/v1/alerts/stream", params={"after": 0, "follow": "false", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _events(r.text)
    assert [e["kind"] for _, e in events] == ["new", "acknowledged"]
    assert events[0][1]["alert"]["alert_id"] == alert_id
    assert events[0][1]["alert"]["justification"] == events[0][1]["alert"]["justification_en"]
    # Resume after the first event, as a reconnecting EventSource does with Last-Event-ID.
    first_id = events[0][0]
    again = client.get("/v1/alerts/stream", params={"follow": "false"}, headers={"Last-Event-ID": str(first_id)})
    assert [e["kind"] for _, e in _events(again.text)] == ["acknowledged"]
    assert client.get("/v1/alerts/stream", params={"follow": "false"}, headers={"X-API-Key": ""}).status_code == 401


def test_support_page_and_its_strings(client: TestClient) -> None:
    page = client.get("/ui/", headers={"X-API-Key": ""})
    assert page.status_code == 200 and "<script src=\"/ui/js/core.js\">" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    scripts = re.findall(r'<script src="(/ui/[^"]+)">', page.text)
    js = "\n".join(client.get(s).text for s in scripts if "/vendor/" not in s)
    assert "/v1/alerts/stream" in js and "innerHTML" not in js
    for verb in ("acknowledge", "dismiss", "assign", "actions", "outcome"):
        assert f'"/{verb}"' in js
    # Vendored libraries are served from the page's own origin, licences included.
    chart = client.get("/ui/vendor/uplot/uPlot.iife.min.js")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("text/javascript")
    assert "MIT" in client.get("/ui/vendor/uplot/LICENSE").text
    strings = client.get("/ui/i18n.json").json()
    assert set(strings) == {"es", "en"} and set(strings["es"]) == set(strings["en"])
    assert strings["es"]["acknowledge"] == "Atender" and strings["en"]["acknowledge"] == "Acknowledge"
    assert strings["en"]["_codes"]["action"]["priority_call"] == "Priority call"
    for bad in ("/ui/../secrets", "/ui/%2e%2e/db.py", "/ui/js/.hidden.js", "/ui/vendor/uplot/uPlot.d.ts",
                "/ui/a/b/c/d/e.js"):
        assert client.get(bad).status_code == 404, bad
    assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
