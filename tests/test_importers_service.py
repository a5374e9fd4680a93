"""The service side of issue 15: uploads of a known source (POST /v1/jobs with ``source``) and pseudonymous
ids on ingest, on SQLite and PostgreSQL."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    FakeTextAnalyzer,
    database_url,
    make_settings,
    now_minus,
)
from fastapi.testclient import TestClient

from analyzer.importers import Pseudonymizer
from analyzer.service import create_app

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"
SECRET = "service-secret-0123456789abcdef"
P = Pseudonymizer(SECRET)


def _client(tmp_path: Path, database_url: str | None) -> TestClient:
    app = create_app(make_settings(tmp_path, database_url, pseudonym_secret=SECRET, worker_poll_s=0.05),
                     text_analyzer=FakeTextAnalyzer())
    c = TestClient(app)
    c.headers["X-API-Key"] = ADMIN_KEY
    return c


def _job(c: TestClient, path: Path, **data: Any) -> dict[str, Any]:
    r = c.post("/v1/jobs", files={"file": (path.name, io.BytesIO(path.read_bytes()), "application/octet-stream")},
               data=data)
    assert r.status_code == 202, r.text
    for _ in range(300):
        job: dict[str, Any] = c.get(f"/v1/jobs/{r.json()['job_id']}").json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(job)


def test_ingest_stores_contact_ids_as_pseudonyms(tmp_path: Path, database_url: str | None) -> None:
    with _client(tmp_path, database_url) as c:
        body = {"messages": [{"message_id": "m1", "customer_id": "Ana.Garcia@example.com", "timestamp": now_minus(1),
                              "channel": "chat", "text": "Quiero darme de baja, fatal"}]}
        assert c.post("/v1/messages?wait=true", json=body).status_code == 201
        ev = {"events": [{"event_id": "e1", "customer_id": "+34 612 345 678", "timestamp": now_minus(2),
                          "type": "nps", "value": 2}]}
        assert c.post("/v1/events", json=ev).status_code == 201
        ana, phone = P("ana.garcia@example.com"), P("0034612345678")
        assert c.get(f"/v1/customers/{ana}").status_code == 200
        assert c.get(f"/v1/customers/{phone}").status_code == 200
        listed = c.get("/v1/customers", params={"limit": 50}).text
        assert "example.com" not in listed and "612 345" not in listed and ana in listed
        assert c.get("/v1/customers/C-1").status_code == 404  # plain ids stay as they are
        c.post("/v1/events", json={"events": [{"event_id": "e2", "customer_id": "C-1", "timestamp": now_minus(2),
                                               "type": "login"}]})
        assert c.get("/v1/customers/C-1").status_code == 200


def test_a_customer_is_read_updated_and_erased_by_the_address_they_wrote_from(tmp_path: Path,
                                                                              database_url: str | None) -> None:
    with _client(tmp_path, database_url) as c:
        body = {"messages": [{"message_id": "m1", "customer_id": "Ana.Garcia@example.com", "timestamp": now_minus(1),
                              "channel": "chat", "text": "Me doy de baja, nadie me contesta"}]}
        assert c.post("/v1/messages?wait=true", json=body).status_code == 201
        ana = P("ana.garcia@example.com")
        view = c.get("/v1/customers/ana.garcia@EXAMPLE.com")
        assert view.status_code == 200 and view.json()["customer"]["customer_id"] == ana
        assert c.get("/v1/customers/ana.garcia@example.com/story").status_code == 200
        assert c.get("/v1/alerts", params={"customer_id": "Ana.Garcia@example.com"}).json()["total"] == \
            c.get("/v1/alerts", params={"customer_id": ana}).json()["total"]
        # A PUT by address updates the pseudonymous customer; it never stores the address.
        assert c.put("/v1/customers/+34 612 345 678", json={"value_tier": "vip"}).json()["customer_id"] == \
            P("0034612345678")
        assert "612" not in c.get("/v1/customers", params={"limit": 50}).text
        assert c.get("/v1/customers/Ana.Garcia@example.com/export").json()["customer"]["customer_id"] == ana
        erased = c.delete("/v1/customers/Ana.Garcia@example.com")
        assert erased.status_code == 200 and erased.json()["customer_id"] == ana
        assert c.get(f"/v1/customers/{ana}").status_code == 404
        assert "example.com" not in c.get("/v1/audit", params={"limit": 500}).text


def test_upload_of_a_known_source_is_imported_stored_and_judged(tmp_path: Path, database_url: str | None) -> None:
    with _client(tmp_path, database_url) as c:
        job = _job(c, SAMPLE / "zendesk" / "tickets.json", source="zendesk")
        assert job["status"] == "done", job
        s = job["summary"]
        assert s["source"] == "zendesk" and s["messages"] == 6 and s["events"] == 10
        assert s["rejected_by_reason"] == {"bad_timestamp": 2}
        rows = [json.loads(line) for line in c.get(job["result_url"]).text.splitlines()]
        assert len(rows) == 6 and "text" not in rows[0] and all(r["customer_id"].startswith("px_") for r in rows)
        assert "bad_timestamp" in c.get(f"/v1/jobs/{job['job_id']}/rejected").text
        ana = P("ana.garcia@example.com")
        view = c.get(f"/v1/customers/{ana}").json()
        assert view["customer"]["customer_id"] == ana
        again = _job(c, SAMPLE / "zendesk" / "tickets.json", source="zendesk")  # the same export twice
        assert again["summary"]["events_stored"] == 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and c.get(f"/v1/customers/{ana}").json()["customer"]["risk"] is None:
            time.sleep(0.1)
        assert c.get(f"/v1/customers/{ana}").json()["customer"]["risk"] is not None  # queued and judged
        chat = SAMPLE / "whatsapp" / "WhatsApp Chat with +34 612 345 678.txt"
        wa = c.post("/v1/jobs", files={"file": (chat.name, io.BytesIO(chat.read_bytes()), "text/plain")},
                    data={"source": "whatsapp"})
        assert wa.status_code == 422 and "business" in wa.text
        done = _job(c, chat, source="whatsapp", business="Tienda Sol")
        assert done["status"] == "done" and done["summary"]["messages"] == 5
        bad = c.post("/v1/jobs", files={"file": ("x.csv", io.BytesIO(b"a\n1\n"), "text/csv")}, data={"source": "x"})
        assert bad.status_code == 422
