"""Batch jobs: upload a file, follow its progress, download its results."""

from __future__ import annotations

import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import FileResponse
from starlette.status import HTTP_202_ACCEPTED

from analyzer.importers import SOURCES
from analyzer.service.auth import IngestKey, IngestOrReadKey
from analyzer.service.deps import job_runner, store
from analyzer.service.imports import IMPORT_EXTENSIONS
from analyzer.service.jobs import job_paths
from analyzer.service.params import JobIdPath
from analyzer.service.schemas import JobPublic
from analyzer.service.store import ApiKey

__all__ = ["router"]

router = APIRouter(tags=["jobs"])
_EXTS = (".csv.gz", ".tsv.gz", ".jsonl.gz", ".ndjson.gz", ".csv", ".tsv", ".jsonl", ".ndjson", ".parquet", ".pq")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# A column name of the uploaded file: anything printable (headers may well have spaces).
Column = Annotated[str, Form(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
OptionalColumn = Annotated[str | None, Form(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


def _public(job: dict[str, Any]) -> dict[str, Any]:
    total, done = job["rows_total"], job["rows_done"]
    progress = 1.0 if job["status"] == "done" else (min(done / total, 1.0) if total else None)
    return {**{k: job[k] for k in ("job_id", "status", "filename", "rows_total", "rows_done", "summary", "error",
                                   "created_at", "finished_at")},
            "progress": progress,
            "result_url": f"/v1/jobs/{job['job_id']}/results" if job["status"] == "done" else None}


# The file's name tells its format (see _EXTS): documented, and used by schema-driven test clients.
_UPLOAD_ENCODING = {"requestBody": {"content": {"multipart/form-data": {"encoding": {"file": {"headers": {
    "Content-Disposition": {"schema": {"type": "string"},
                            "example": 'form-data; name="file"; filename="messages.csv"'}}}}}}}}


@router.post("/v1/jobs", response_model=JobPublic, status_code=HTTP_202_ACCEPTED, openapi_extra=_UPLOAD_ENCODING,
             summary="Upload a file (CSV/TSV/JSONL/Parquet) to analyse as a background batch job")
def create_job(request: Request, key: IngestKey, file: Annotated[UploadFile, File()],
               text_col: Column = "text", customer_col: OptionalColumn = None,
               timestamp_col: OptionalColumn = None, channel_col: OptionalColumn = None,
               id_col: OptionalColumn = None,
               output_format: Annotated[Literal["jsonl", "csv", "parquet"], Form()] = "jsonl",
               encoding: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{1,40}$")] = "utf-8",
               source: Annotated[str | None, Form(description="An SME export to import (as `darkfeedback import "
                                                              "--source`): whatsapp, zendesk, freshdesk, intercom, "
                                                              "hubspot, salesforce, dynamics, google-reviews, "
                                                              "trustpilot, nps, shopify, ga4.")] = None,
               business: Annotated[list[str] | None, Form(max_length=20, description="WhatsApp: the name or number "
                                                          "the business writes under (repeatable).")] = None,
               ) -> dict[str, Any]:
    """The same analysis as `darkfeedback analyze`; rejected rows go to a separate download.

    With `source`, the file is an export of that source: it is imported as `darkfeedback import`
    does (e-mail and phone ids pseudonymised), its messages analysed and stored, its events and
    customers stored, and its customers queued for judgement (alerts follow within seconds); the
    results are the analysed messages, the rejected rows the import's.

    The raw upload is deleted once the job has analysed it (or has failed); the results keep
    redacted texts only, until the job is deleted or a customer in them is erased.
    """
    # The file name is the client's: kept (for the job listing) without control characters.
    filename = _CONTROL.sub("", file.filename or "")[:300] or "upload"
    exts = IMPORT_EXTENSIONS if source else _EXTS
    ext = next((e for e in exts if filename.lower().endswith(e)), None)
    if ext is None:
        raise HTTPException(415, f"Cannot tell the format of {filename!r}; use one of {list(exts)}.")
    if source is not None and (source not in SOURCES or source == "profile"):
        raise HTTPException(422, f"Unknown source {source!r}; use one of {sorted(set(SOURCES) - {'profile'})}.")
    if source == "whatsapp" and not business:
        raise HTTPException(422, "A WhatsApp chat needs 'business': the name or number the business writes under.")
    if any(not b.strip() or len(b) > 200 for b in business or []):
        raise HTTPException(422, "Each 'business' value must be a name or number of 1-200 characters.")
    mapping = {"text": text_col}
    for field, col in (("customer_id", customer_col), ("timestamp", timestamp_col), ("channel", channel_col),
                       ("message_id", id_col)):
        if col:
            mapping[field] = col
    job_id = secrets.token_hex(8)
    options: dict[str, Any] = {"input_ext": ext, "output_format": output_format, "mapping": mapping,
                               "encoding": encoding}
    if source:
        options.update(source=source, business=list(business or []))
    runner = job_runner(request)
    runner.save_upload(job_id, options, file.file)
    st = store(request)
    st.add_job(job_id, filename, options, key.name)
    st.audit(key.name, "create", "job", None, {"job_id": job_id})
    runner.submit(job_id)
    job = st.get_job(job_id)
    assert job is not None
    return _public(job)


def _job(request: Request, job_id: str) -> dict[str, Any]:
    job = store(request).get_job(job_id)
    if job is None:
        raise HTTPException(404, f"No job {job_id!r}.")
    return job


@router.get("/v1/jobs/{job_id}", response_model=JobPublic, summary="Status and progress of a batch job")
def get_job(job_id: JobIdPath, request: Request, key: IngestOrReadKey) -> dict[str, Any]:
    return _public(_job(request, job_id))


def _download(request: Request, key: ApiKey, job_id: str, which: int) -> FileResponse:
    job = _job(request, job_id)
    if job["status"] == "purged":
        raise HTTPException(410, f"Job {job_id!r}: {job['error']}")
    if job["status"] != "done":
        raise HTTPException(409, f"Job {job_id!r} is {job['status']}; results are ready when it is done.")
    path: Path = job_paths(job_runner(request).root, job_id, job["options"])[which]
    if not path.is_file():
        raise HTTPException(404, f"The result file of job {job_id!r} is gone.")
    store(request).audit(key.name, "download", "job", None, {"job_id": job_id, "file": path.name})
    return FileResponse(path, filename=f"{job_id}-{path.name}")


@router.get("/v1/jobs/{job_id}/results", summary="Download the analysed rows")
def results(job_id: JobIdPath, request: Request, key: IngestOrReadKey) -> FileResponse:
    return _download(request, key, job_id, 1)


@router.get("/v1/jobs/{job_id}/rejected", summary="Download the rejected rows (reasons, never texts)")
def rejected(job_id: JobIdPath, request: Request, key: IngestOrReadKey) -> FileResponse:
    return _download(request, key, job_id, 2)


@router.delete("/v1/jobs/{job_id}", status_code=204, summary="Delete a job and its files")
def delete_job(job_id: JobIdPath, request: Request, key: IngestKey) -> None:
    job = _job(request, job_id)
    if job["status"] in ("queued", "running"):
        raise HTTPException(409, f"Job {job_id!r} is {job['status']}; delete it once it has finished.")
    job_runner(request).delete(job_id)
    store(request).update_job(job_id, status="deleted")
