"""POST /v1/messages and /v1/events: idempotent ingest, then re-evaluation of the customers concerned.

A customer id that is an e-mail address or a phone number is stored as its keyed pseudonym
(``px_...``, the same one ``darkfeedback import`` writes), never in clear.

Idempotent by id: a retried request stores nothing twice and answers with the ids it had
already stored under ``duplicates``. The rows are committed before the response (a 2xx means
durable). The customers in the request are then queued for re-evaluation, also for duplicate
ids (a retry after a failure between commit and evaluation still raises the alert); the worker
evaluates them within about a second, off the request path. ``?wait=true`` evaluates them before
answering and returns the new alert ids. ``?backfill=true`` (importing history) holds them until
``POST /v1/backfill/complete``: a history imported in chunks is judged once, when it is whole,
and never as if its past were happening now. An id repeated within one request is stored once,
from its first item; it is listed under ``repeated``, and the batch limit counts every item sent.
"""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.status import HTTP_201_CREATED

from analyzer.service.auth import ApiKey, IngestKey
from analyzer.service.db import utcnow
from analyzer.service.deps import foresight, job_runner, metrics, notifier, settings, store, worker
from analyzer.service.routes.analyze import check_texts, run_analyzer
from analyzer.service.schemas import EventsIngest, IngestResult, MessagesIngest

__all__ = ["router"]

router = APIRouter(tags=["ingest"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Every id was already stored (a retry): nothing changed"},
    201: {"description": "At least one record stored"},
}


Wait = Annotated[bool, Query(description="Evaluate the customers before answering; new_alerts lists the alerts.")]
Backfill = Annotated[bool, Query(description="Importing history: hold the customers until "
                                             "POST /v1/backfill/complete (no alert about the past).")]


def _first_of_each(items: list[Any], key: str) -> tuple[list[Any], list[str]]:
    """The first item of each id, and the ids that appeared more than once (reported, never silently dropped)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    out = []
    for it in items:
        k = getattr(it, key)
        if k in seen:
            repeated.add(k)
        else:
            seen.add(k)
            out.append(it)
    return out, sorted(repeated)


def _pseudonyms(request: Request, ids: list[str]) -> dict[str, str]:
    """Customer ids as stored: an e-mail or phone number becomes its keyed pseudonym (analyzer.importers.pseudonym)."""
    pz = job_runner(request).pseudonymizer
    return {c: pz(c) for c in set(ids)}


def _check_modes(wait: bool, backfill: bool) -> None:
    if wait and backfill:
        raise HTTPException(422, "wait=true and backfill=true cannot be combined: a back-fill is judged once, at "
                                 "POST /v1/backfill/complete. Drop one of them.")


def _after_ingest(request: Request, customer_ids: list[str], *, wait: bool, backfill: bool) -> dict[str, Any]:
    ids = sorted(set(customer_ids))
    st = store(request)
    if backfill:
        st.enqueue(ids, held=True)
        return {"held": len(ids)}
    if wait:
        new = foresight(request).evaluate(ids).new_alert_ids
        if new:
            metrics(request).alerts.inc(len(new))
            notifier(request).notify()
        # The worker may have judged one of these customers a moment earlier (a queued request of theirs):
        # its alerts count too, so the answer does not depend on that race.
        return {"new_alerts": st.alerts_raised_since(ids, request.state.started)}
    st.enqueue(ids)
    worker(request).wake()
    return {"queued": len(ids)}


def _finish(request: Request, response: Response, key: ApiKey, kind: str, items: list[tuple[str, str]],
            created: set[str], repeated: list[str], *, wait: bool, backfill: bool) -> IngestResult:
    """Shared tail of both ingest routes: count, audit, queue (or evaluate) the customers, answer 201 or 200."""
    dups = sorted(item_id for item_id, _ in items if item_id not in created)
    metrics(request).ingested.labels(kind).inc(len(created))
    metrics(request).duplicates.labels(kind).inc(len(dups))
    store(request).audit(key.name, "ingest", f"{kind}s", None, {"created": len(created), "duplicates": len(dups),
                                                                 "repeated": len(repeated), "backfill": backfill})
    after = _after_ingest(request, [customer_id for _, customer_id in items], wait=wait, backfill=backfill)
    if not created:
        response.status_code = 200  # a pure retry: nothing new was written
    return IngestResult(created=sorted(created), duplicates=dups, repeated=repeated, **after)


@router.post("/v1/messages", response_model=IngestResult, responses=_RESPONSES, status_code=HTTP_201_CREATED,
             summary="Ingest customer messages (analysed and redacted before storage)")
def ingest_messages(body: MessagesIngest, request: Request, key: IngestKey, response: Response, wait: Wait = False,
                    backfill: Backfill = False) -> IngestResult:
    _check_modes(wait, backfill)
    request.state.started = utcnow()
    st = store(request)
    # Limits count every item sent, before repeated ids are set aside.
    check_texts([m.text for m in body.messages], request, "messages.text")
    items, repeated = _first_of_each(body.messages, "message_id")
    cid = _pseudonyms(request, [m.customer_id for m in items])
    existing = st.existing_message_ids([m.message_id for m in items])
    fresh = [m for m in items if m.message_id not in existing]
    created: set[str] = set()
    if fresh:
        frame = pd.DataFrame({
            "message_id": [m.message_id for m in fresh], "customer_id": [cid[m.customer_id] for m in fresh],
            "timestamp": pd.to_datetime([m.timestamp for m in fresh], utc=True),
            "channel": [m.channel for m in fresh], "text": [m.text for m in fresh]})
        out = run_analyzer(request, frame)
        now = utcnow()
        rows = []
        for m, r in zip(fresh, out.to_dict("records"), strict=True):
            # Only the pipeline's redacted text is kept; the raw text ends with this request.
            rows.append({
                "message_id": m.message_id, "customer_id": cid[m.customer_id], "timestamp": m.timestamp,
                "channel": m.channel, "lang": r["lang"], "lang_confidence": float(r["lang_confidence"]),
                "text_redacted": r["text_redacted"], "pii_types": list(r["pii_types"]),
                "sentiment_label": r["sentiment_label"], "sentiment_score": float(r["sentiment_score"]),
                "p_negative": float(r["p_negative"]), "p_neutral": float(r["p_neutral"]),
                "p_positive": float(r["p_positive"]), "sentences": list(r["sentences"]),
                "themes": list(r["themes"]), "theme_evidence": list(r["theme_evidence"]), "ingested_at": now})
        created = st.insert_messages(rows)
    return _finish(request, response, key, "message", [(m.message_id, cid[m.customer_id]) for m in items], created,
                   repeated, wait=wait, backfill=backfill)


@router.post("/v1/events", response_model=IngestResult, responses=_RESPONSES, status_code=HTTP_201_CREATED,
             summary="Ingest behaviour events (purchases, logins, errors, tickets, campaigns)")
def ingest_events(body: EventsIngest, request: Request, key: IngestKey, response: Response, wait: Wait = False,
                  backfill: Backfill = False) -> IngestResult:
    _check_modes(wait, backfill)
    request.state.started = utcnow()
    st = store(request)
    s = settings(request)
    if len(body.events) > s.max_batch_items:
        raise HTTPException(413, f"{len(body.events)} events in one request; the limit is {s.max_batch_items}. "
                                 "Split the request.")
    items, repeated = _first_of_each(body.events, "event_id")
    cid = _pseudonyms(request, [e.customer_id for e in items])
    now = utcnow()
    rows = [{"event_id": e.event_id, "customer_id": cid[e.customer_id], "timestamp": e.timestamp, "type": e.type,
             "value": e.value, "channel": e.channel, "ingested_at": now} for e in items]
    created = st.insert_events(rows)
    return _finish(request, response, key, "event", [(e.event_id, cid[e.customer_id]) for e in items], created,
                   repeated, wait=wait, backfill=backfill)
