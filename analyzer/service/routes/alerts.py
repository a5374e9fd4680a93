"""Alerts: list with filters and pagination, one alert, acknowledge/resolve/dismiss, live stream."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from analyzer.schema import Severity
from analyzer.service.auth import ReadKey
from analyzer.service.deps import Lang, alert_public, check_lang, notifier, settings, store, stored_customer_id
from analyzer.service.feed import alert_stream
from analyzer.service.params import (
    ActionQuery,
    AfterId,
    AlertIdPath,
    IdQuery,
    LastEventId,
    Offset,
    SinceQuery,
    parse_last_event_id,
)
from analyzer.service.schemas import AlertActionCreate, AlertPage, AlertPublic
from analyzer.service.store import ALERT_STATUSES, ApiKey

__all__ = ["router"]

router = APIRouter(tags=["alerts"])
Status = Literal["open", "acknowledged", "resolved", "dismissed", "withdrawn"]


@router.get("/v1/alerts", response_model=AlertPage, summary="List alerts (most severe, then newest first)")
def list_alerts(request: Request, key: ReadKey,
                status: Annotated[list[Status] | None, Query(description="Repeat for several; default all.")] = None,
                severity: Annotated[list[Severity] | None, Query()] = None,
                customer_id: IdQuery = None,
                action: ActionQuery = None,
                since: SinceQuery = None,
                cause: IdQuery = None,
                segment: IdQuery = None,
                assignee: IdQuery = None,
                unassigned: Annotated[bool, Query(description="Only alerts nobody owns.")] = False,
                q: IdQuery = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0,
                lang: Lang = None) -> dict[str, Any]:
    """Filters combine (all must hold). ``assignee``: the agent who owns the alert; ``unassigned``: nobody
    does; ``q``: part of the customer id or of the justification, case-insensitive."""
    lang = check_lang(lang, settings(request).alert_lang)
    st = store(request)
    if customer_id is not None:  # an e-mail or phone number: the pseudonym it is stored under
        customer_id = stored_customer_id(customer_id, request)
    rows, total = st.list_alerts(status=status, severity=severity, customer_id=customer_id, action=action,
                                 since=since, cause=cause, segment=segment, assignee="" if unassigned else assignee,
                                 q=q, limit=limit, offset=offset)
    st.audit(key.name, "read", "alerts", customer_id, {"count": len(rows)})
    return {"items": [alert_public(r, lang) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/v1/alerts/stream", summary="Live alert feed (Server-Sent Events)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"example":
                             "id: 42\nevent: alert\ndata: {\"kind\": \"new\", \"alert\": {...}}\n\n"}}}})
async def stream(request: Request, key: ReadKey,
                 after: AfterId = None,
                 follow: Annotated[bool, Query(description="false: send the backlog and close.")] = True,
                 heartbeat: Annotated[float, Query(ge=0.05, le=60.0)] = 15.0,
                 lang: Lang = None,
                 last_event_id: LastEventId = None) -> StreamingResponse:
    """Each event is ``event: alert`` with ``data: {"kind": "new" | "acknowledged" | "resolved" |
    "dismissed" | "withdrawn", "at": ..., "alert": {...}}`` and an ``id`` usable as ``Last-Event-ID``."""
    lang_ = check_lang(lang, settings(request).alert_lang)
    st = store(request)
    resume = parse_last_event_id(last_event_id)
    start = resume if resume is not None else after
    if start is None:
        start = st.last_feed_id()
    gen = alert_stream(st, notifier(request), after=start, follow=follow, heartbeat_s=heartbeat,
                       to_public=lambda row: alert_public(row, lang_), is_disconnected=request.is_disconnected)
    return StreamingResponse(gen, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/v1/alerts/{alert_id}", response_model=AlertPublic, summary="One alert")
def get_alert(alert_id: AlertIdPath, request: Request, key: ReadKey, lang: Lang = None) -> dict[str, Any]:
    st = store(request)
    row = st.get_alert(alert_id)
    if row is None:
        raise HTTPException(404, f"No alert {alert_id!r}.")
    st.audit(key.name, "read", "alert", row["customer_id"], {"alert_id": alert_id})
    return alert_public(row, check_lang(lang, settings(request).alert_lang))


_VERB_STATUS = {"acknowledge": "acknowledged", "resolve": "resolved", "dismiss": "dismissed"}
# Which statuses each action may leave: a withdrawn alert (customer opted out) stays withdrawn.
_ALLOWED_FROM = {"acknowledged": {"open", "acknowledged"}, "resolved": {"open", "acknowledged", "resolved"},
                 "dismissed": {"open", "acknowledged", "dismissed"}}


def _act(verb: str, alert_id: str, body: AlertActionCreate | None, request: Request, key: ApiKey) -> dict[str, Any]:
    from analyzer.text.pii import redact

    st = store(request)
    row = st.get_alert(alert_id)
    if row is None:
        raise HTTPException(404, f"No alert {alert_id!r}.")
    status = _VERB_STATUS[verb]
    if row["status"] not in _ALLOWED_FROM[status]:
        raise HTTPException(409, f"Alert {alert_id!r} is {row['status']}; it cannot be {status}. "
                                 f"Statuses: {list(ALERT_STATUSES)}.")
    body = body or AlertActionCreate()
    # Each agent acts under their own key's name: naming someone else is an admin's (e.g. an import of history).
    if body.agent not in (None, key.name) and not key.allows("admin"):
        raise HTTPException(403, f"This key records actions as {key.name!r}; only an admin key may record them for "
                                 f"another agent (received agent {body.agent!r}). Leave 'agent' out.")
    # Agents' notes are free text and may quote the customer: redacted like any other text, with
    # the language detected from the note itself so that names are found by NER too.
    note = redact(body.note).text if body.note else None
    updated = st.set_alert_status(alert_id, status, agent=body.agent or key.name, useful=body.useful,
                                  outcome=body.outcome, note=note)
    assert updated is not None
    st.audit(key.name, verb, "alert", row["customer_id"], {"alert_id": alert_id, "from": row["status"]})
    notifier(request).notify()
    return alert_public(updated, settings(request).alert_lang)


@router.post("/v1/alerts/{alert_id}/acknowledge", response_model=AlertPublic, summary="Acknowledge an alert")
def acknowledge(alert_id: AlertIdPath, request: Request, key: ReadKey,
                body: AlertActionCreate | None = None) -> dict[str, Any]:
    return _act("acknowledge", alert_id, body, request, key)


@router.post("/v1/alerts/{alert_id}/resolve", response_model=AlertPublic,
             summary="Resolve an alert (with the agent's feedback)")
def resolve(alert_id: AlertIdPath, request: Request, key: ReadKey,
            body: AlertActionCreate | None = None) -> dict[str, Any]:
    return _act("resolve", alert_id, body, request, key)


@router.post("/v1/alerts/{alert_id}/dismiss", response_model=AlertPublic,
             summary="Dismiss an alert as not useful (with the agent's feedback)")
def dismiss(alert_id: AlertIdPath, request: Request, key: ReadKey,
            body: AlertActionCreate | None = None) -> dict[str, Any]:
    return _act("dismiss", alert_id, body, request, key)
