"""Batch jobs: upload a file, follow progress, download results and rejected rows."""
# ruff: noqa: F811  (pytest fixtures are imported from api_support and used as arguments)

from __future__ import annotations

import io
import json
import time

from api_support import (  # noqa: F401  (fixtures)
    client,
    database_url,
    fake_analyzer,
)
from fastapi.testclient import TestClient


def test_upload_runs_in_background_and_results_download(client: TestClient) -> None:
    csv = "id;body;client\n1;Mi pedido llega con retraso;A\n2;;B\n3;Great thanks;C\n"
    r = client.post("/v1/jobs", files={"file": ("export.csv", io.BytesIO(csv.encode()), "text/csv")},
                    data={"text_col": "body", "id_col": "id", "customer_col": "client"})
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    for _ in range(100):
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "done", job
    assert job["progress"] == 1.0 and job["summary"]["rows_read"] == 3 and job["summary"]["rows_rejected"] == 1
    rows = [json.loads(line) for line in client.get(job["result_url"]).text.splitlines()]
    assert [row["message_id"] for row in rows] == ["1", "3"] and rows[0]["sentiment_label"] == "negative"
    assert "text" not in rows[0]
    rejected = client.get(f"/v1/jobs/{job_id}/rejected").text
    assert "empty_text" in rejected
    assert client.delete(f"/v1/jobs/{job_id}").status_code == 204
    assert client.get(f"/v1/jobs/{job_id}").json()["status"] == "deleted"


def test_bad_upload_is_a_clear_error(client: TestClient) -> None:
    r = client.post("/v1/jobs", files={"file": ("notes.docx", io.BytesIO(b"x"), "application/octet-stream")})
    assert r.status_code == 415 and ".csv" in r.json()["error"]["message"]
    r = client.post("/v1/jobs", files={"file": ("e.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")})
    job_id = r.json()["job_id"]
    for _ in range(100):
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert job["status"] == "failed" and "'text'" in job["error"]
    assert client.get(f"/v1/jobs/{job_id}/results").status_code == 409
