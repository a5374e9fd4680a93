"""Privacy of what the service keeps on disk and in its log: issue 14, items 4, 5, 7 and 8, and a scan.

- job files: the raw upload is deleted once analysed (or failed); job and database files are
  0600 in 0700 folders; erasure deletes the results of finished jobs that hold the customer;
- agents' notes: names are redacted (the note's language is detected, NER runs);
- CSV downloads: cells a spreadsheet would run as formulas are neutralised (the batch writer's
  :func:`analyzer.io.neutralize_formulas`);
- a JSONL upload with a lone surrogate: a rejected row, not a failed job;
- the scan: after erasure, neither the customer id nor any raw PII string sent is left in the
  database (its files, WAL included, on SQLite; every table on PostgreSQL), the data folder
  (job folders, downloads) or the server's log.
"""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import io
import json
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from api_support import (  # noqa: F401  (fixtures)
    ADMIN_KEY,
    churning_messages,
    client,
    database_url,
    fake_analyzer,
    now_minus,
    start_server,
)
from fastapi.testclient import TestClient

from analyzer.service.db import resolve_database_url


def _wait(c: Any, job_id: str) -> dict[str, Any]:
    for _ in range(200):
        job = c.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def _upload(c: Any, name: str, data: bytes, **form: str) -> dict[str, Any]:
    r = c.post("/v1/jobs", files={"file": (name, io.BytesIO(data), "application/octet-stream")}, data=form)
    assert r.status_code == 202, r.text
    return _wait(c, r.json()["job_id"])


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


CSV = ("id,text,customer\n"
       "j1,Mi pedido llega con retraso; escribid a rosa.gil@example.com,CUST-A\n"
       "j2,Great thanks,CUST-B\n")


def test_job_files_are_private_and_the_upload_goes_once_analysed(client: TestClient, tmp_path: Path) -> None:
    jobs = tmp_path / "data" / "jobs"
    job = _upload(client, "export.csv", CSV.encode(), id_col="id", customer_col="customer")
    assert job["status"] == "done", job
    folder = jobs / job["job_id"]
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith("input")) == []  # the raw upload is gone
    assert _mode(jobs) == 0o700 and _mode(folder) == 0o700
    assert {p.name: _mode(p) for p in folder.iterdir()} == dict.fromkeys(
        ["results.jsonl", "rejected.jsonl", "results.jsonl.summary.json"], 0o600)
    assert "rosa.gil@example.com" not in b"".join(p.read_bytes() for p in folder.iterdir()).decode()
    # A failed job (no text column) is final: its upload goes too.
    failed = _upload(client, "e.csv", b"a,b\nrosa.gil@example.com,2\n")
    assert failed["status"] == "failed" and list((jobs / failed["job_id"]).iterdir()) == []


def test_database_files_are_private(client: TestClient, tmp_path: Path, database_url: str | None) -> None:
    if database_url is not None:
        return  # PostgreSQL keeps its own files
    client.post("/v1/messages?wait=true", json={"messages": churning_messages("P")})
    data = tmp_path / "data"
    assert _mode(data) == 0o700
    files = {p.name: _mode(p) for p in data.glob("darkfeedback.db*")}
    assert "darkfeedback.db-wal" in files and set(files.values()) == {0o600}, files


def test_erasure_deletes_job_results_that_hold_the_customer(client: TestClient, tmp_path: Path) -> None:
    with_a = _upload(client, "a.csv", CSV.encode(), id_col="id", customer_col="customer")
    without_a = _upload(client, "b.csv", CSV.replace("CUST-A", "CUST-C").encode(), id_col="id",
                        customer_col="customer", output_format="csv")
    as_csv = _upload(client, "c.csv", CSV.encode(), id_col="id", customer_col="customer", output_format="csv")
    assert "CUST-A" in client.get(f"/v1/jobs/{as_csv['job_id']}/results").text
    r = client.delete("/v1/customers/CUST-A")  # known only from job files: still erased there
    assert r.status_code == 200 and r.json()["deleted"]["job_results"] == 2, r.text
    for job in (with_a, as_csv):
        assert not (tmp_path / "data" / "jobs" / job["job_id"]).exists()
        assert client.get(f"/v1/jobs/{job['job_id']}").json()["status"] == "purged"
        r = client.get(f"/v1/jobs/{job['job_id']}/results")
        assert r.status_code == 410 and "erased" in r.json()["error"]["message"]
    assert client.get(f"/v1/jobs/{without_a['job_id']}/results").status_code == 200
    assert client.delete("/v1/customers/CUST-A").status_code == 404


def test_names_in_agent_notes_are_redacted(client: TestClient) -> None:
    client.put("/v1/customers/N", json={"value_tier": "vip"})
    alert_id = client.post("/v1/messages?wait=true", json={"messages": churning_messages("N")}).json()["new_alerts"][0]
    # The example, and names only NER finds (no cue word, not in the name lists): Spanish and English.
    notes = {"llamé a Juan Pérez y no contestó": ("Juan", "Pérez"),
             "Xiomara Quintanilla pidió la baja ayer": ("Xiomara", "Quintanilla"),
             "Zbigniew Kowalczyk wants a refund": ("Zbigniew", "Kowalczyk")}
    for note in notes:
        assert client.post(f"/v1/alerts/{alert_id}/acknowledge", json={"note": note}).status_code == 200
    stored = [f["note"] for f in client.app.state.store.feedback_of(alert_id=alert_id)]  # type: ignore[attr-defined]
    assert len(stored) == 3 and all("[PERSON]" in n for n in stored), stored
    assert not [name for names in notes.values() for name in names if any(name in n for n in stored)], stored
    assert "no contestó" in stored[0] and "wants a refund" in stored[2]


def test_csv_downloads_neutralise_formulas(client: TestClient) -> None:
    csv = ('id,text,customer\n'
           '"=1+2","=HYPERLINK(""http://evil.example"",""ver"")","@SUM(A1)"\n'
           '"+cmd","-2+3 pero -malo","\tTAB"\n')
    job = _upload(client, "f.csv", csv.encode(), id_col="id", customer_col="customer", output_format="csv")
    assert job["status"] == "done", job
    import csv as csv_module

    rows = list(csv_module.DictReader(io.StringIO(client.get(job["result_url"]).text)))
    cells = [row[k] for row in rows for k in ("message_id", "customer_id", "text_redacted", "channel") if row[k]]
    assert cells and not any(c[0] in "=+-@\t\r" for c in cells), cells
    assert rows[0]["message_id"] == "'=1+2" and rows[0]["customer_id"] == "'@SUM(A1)"


def test_a_lone_surrogate_in_a_jsonl_upload_is_a_rejected_row(client: TestClient) -> None:
    data = (b'{"id": "s1", "text": "\\ud800 roto", "customer": "S"}\n'
            b'{"id": "s2", "text": "Todo bien, gracias", "customer": "S"}\n')
    job = _upload(client, "s.jsonl", data, id_col="id", customer_col="customer")
    assert job["status"] == "done", job
    assert job["summary"]["rows_rejected"] == 1 and job["summary"]["rows_written"] == 1
    assert [json.loads(x)["message_id"] for x in client.get(job["result_url"]).text.splitlines()] == ["s2"]
    rejected = [json.loads(x) for x in client.get(f"/v1/jobs/{job['job_id']}/rejected").text.splitlines()]
    assert [r["source_row"] for r in rejected] == [0]


# --------------------------------------------------------------------------- the scan

CID = "cust-scan-7f3a"
PII = ("lucia.ferrer@example.com", "612 345 678", "12345678Z", "Lucía Ferrer", "ES91 2100 0418 4502 0005 1332")


def _tables(database_url: str | None, data_dir: Path) -> str:
    engine = sa.create_engine(resolve_database_url(database_url, data_dir))
    cells: list[str] = []
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                cells += [str(v) for v in row if v is not None]
    engine.dispose()
    return "\n".join(cells)


def test_after_erasure_nothing_about_the_customer_is_left(tmp_path: Path, database_url: str | None) -> None:
    server = start_server(tmp_path, database_url, log_level="debug")
    texts = [f"Soy {PII[3]}, DNI {PII[2]}, escribidme a {PII[0]} o llamad al {PII[1]}: me doy de baja",
             f"Devolvedme el dinero a la cuenta {PII[4]}, es la tercera vez que falla el pago, estoy harto",
             "Esta semana me marcho a la competencia, adiós"]
    msgs = [{"message_id": f"{CID}-m{i}", "customer_id": CID, "timestamp": now_minus(days=3 - i), "channel": "chat",
             "text": t} for i, t in enumerate(texts)]
    upload = "id,text,customer\n" + "".join(f"{CID}-j{i},\"{t}\",{CID}\n" for i, t in enumerate(texts))
    try:
        with httpx.Client(base_url=server.base, headers={"X-API-Key": ADMIN_KEY}, timeout=20) as c:
            assert c.put(f"/v1/customers/{CID}", json={"value_tier": "vip", "segment": "retail"}).status_code == 200
            assert c.post("/v1/messages?wait=true", json={"messages": msgs}).status_code == 201
            assert c.post("/v1/events", json={"events": [{"event_id": f"{CID}-e1", "customer_id": CID,
                                                          "timestamp": now_minus(1), "type": "purchase",
                                                          "value": 12.5}]}).status_code == 201
            # Another customer, whose data must stay.
            assert c.post("/v1/messages", json={"messages": churning_messages("other")}).status_code == 201
            alert = c.get("/v1/alerts", params={"customer_id": CID}).json()["items"][0]
            note = f"llamé a {PII[3]} al {PII[1]}, no contestó"
            assert c.post(f"/v1/alerts/{alert['alert_id']}/acknowledge", json={"note": note}).status_code == 200
            job = _upload(c, "crm.csv", upload.encode(), id_col="id", customer_col="customer", output_format="csv")
            assert job["status"] == "done" and CID in c.get(job["result_url"]).text
            assert c.get(f"/v1/customers/{CID}/export").json()["customer"]["customer_id"] == CID
            c.get(f"/v1/customers/{CID}", params={"api_key": "dfk_in_a_url"})
            r = c.delete(f"/v1/customers/{CID}")
            assert r.status_code == 200 and r.json()["deleted"]["messages"] == 3, r.text
            assert r.json()["deleted"]["job_results"] == 1
    finally:
        server.stop()
    needles = [CID, *PII, *(t[:30] for t in texts), alert["alert_id"], "dfk_in_a_url"]
    data = tmp_path / "data"
    leaks = {}
    for p in sorted(data.rglob("*")):
        if p.is_file():
            raw = p.read_bytes()
            leaks.update({f"{p.relative_to(tmp_path)}: {n}": 1 for n in needles if n.encode() in raw})
    cells = _tables(database_url, data)
    leaks.update({f"table cell: {n}": 1 for n in needles if n in cells})
    log = server.log_text()
    leaks.update({f"log: {n}": 1 for n in needles if n in log})
    assert leaks == {}
    assert "other" in cells  # the scan reads real data: the other customer is still there
    assert '"DELETE /v1/customers/{customer_id} HTTP/1.1" 200' in log  # and the real log
    # Logs never hold request bodies or SQL (statements or parameters).
    assert "INSERT" not in log and "[parameters:" not in log and '"messages"' not in log
