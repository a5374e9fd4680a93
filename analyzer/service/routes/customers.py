"""Customers: profile, the customer view, opt-out, export and erasure."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from analyzer.service.auth import AdminKey, IngestKey, ReadKey
from analyzer.service.deps import (
    Lang,
    StoredCustomerId,
    alert_public,
    check_lang,
    job_runner,
    notifier,
    settings,
    store,
    worker,
)
from analyzer.service.schemas import CustomerPublic, CustomerUpdate, CustomerView, ErasureResult, OptOutUpdate
from analyzer.service.store import Store, erasure_token, jsonable

__all__ = ["router"]

router = APIRouter(tags=["customers"])


def _public(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: c[k] for k in ("customer_id", "segment", "value_tier", "opt_out", "risk", "odds_ratio", "severity",
                             "lapsed", "cause", "days_inactive", "risk_as_of")}
    out["urgent"] = None if c["urgent"] is None else list(c["urgent"])
    return out


def _get(st: Store, customer_id: str) -> dict[str, Any]:
    c = st.get_customer(customer_id)
    if c is None:
        raise HTTPException(404, f"No customer {customer_id!r}; customers appear when their first message or "
                                 "event is ingested, or with PUT /v1/customers/{id}.")
    return c


@router.put("/v1/customers/{customer_id}", response_model=CustomerPublic, summary="Create or update a customer")
def put_customer(customer_id: StoredCustomerId, body: CustomerUpdate, request: Request, key: IngestKey,
                 backfill: Annotated[bool, Query(description="Part of a back-fill: judged at "
                                                             "POST /v1/backfill/complete.")] = False) -> dict[str, Any]:
    st = store(request)
    c = st.upsert_customer(customer_id, segment=body.segment, value_tier=body.value_tier)
    st.audit(key.name, "update", "customer", customer_id, {"fields": sorted(body.model_fields_set)})
    # The tier changes which rule applies: the worker re-evaluates the customer within about a second.
    st.enqueue([customer_id], held=backfill)
    if not backfill:
        worker(request).wake()
    return _public(c)


@router.get("/v1/customers/{customer_id}", response_model=CustomerView,
            summary="Customer view: timeline, current risk, explanation, recent alerts")
def customer_view(customer_id: StoredCustomerId, request: Request, key: ReadKey, lang: Lang = None,
                  limit: Annotated[int, Query(ge=1, le=2000)] = 200) -> dict[str, Any]:
    st = store(request)
    lang = check_lang(lang, settings(request).alert_lang)
    c = _get(st, customer_id)
    messages = st.messages_of(customer_id, limit=limit)
    events = st.events_of(customer_id, limit=limit)
    timeline = [{"kind": "message", **{k: m[k] for k in ("message_id", "timestamp", "channel", "lang",
                                                           "text_redacted", "sentiment_label", "sentiment_score",
                                                           "themes", "theme_evidence", "sentences")}}
                for m in messages]
    timeline += [{"kind": "event", **{k: e[k] for k in ("event_id", "timestamp", "type", "value", "channel")}}
                 for e in events]
    timeline.sort(key=lambda r: r["timestamp"])
    series = [{"timestamp": m["timestamp"], "sentiment_score": m["sentiment_score"],
               "sentiment_label": m["sentiment_label"], "message_id": m["message_id"]}
              for m in messages if m["sentiment_score"] is not None]
    alerts, _ = st.list_alerts(customer_id=customer_id, limit=20)
    st.audit(key.name, "read", "customer", customer_id)
    return {"customer": _public(c), "explanation": list(c["reasons"] or []), "timeline": jsonable(timeline),
            "sentiment_series": jsonable(series), "recent_alerts": [alert_public(a, lang) for a in alerts]}


@router.put("/v1/customers/{customer_id}/opt-out", response_model=CustomerPublic,
            summary="Opt a customer out of (or back into) profiling")
def opt_out(customer_id: StoredCustomerId, body: OptOutUpdate, request: Request, key: IngestKey) -> dict[str, Any]:
    """Opting out removes the customer's risk, reasons and per-message scores, withdraws open alerts
    and stops any later profiling or alert. Opting back in applies to messages ingested afterwards."""
    st = store(request)
    c, withdrawn = st.set_opt_out(customer_id, body.opt_out)
    st.audit(key.name, "opt_out" if body.opt_out else "opt_in", "customer", customer_id,
             {"alerts_withdrawn": len(withdrawn)})
    if withdrawn:
        notifier(request).notify()
    return _public(c)


@router.get("/v1/customers/{customer_id}/export", summary="Everything held about a customer, as JSON")
def export(customer_id: StoredCustomerId, request: Request, key: AdminKey) -> dict[str, Any]:
    st = store(request)
    _get(st, customer_id)
    st.audit(key.name, "export", "customer", customer_id)
    data = st.export_customer(customer_id)
    assert data is not None
    return data


@router.delete("/v1/customers/{customer_id}", response_model=ErasureResult,
               summary="Erase a customer: every row and every derived value")
def erase(customer_id: StoredCustomerId, request: Request, key: AdminKey) -> dict[str, Any]:
    """Deletes messages, events, alerts, feedback, feed entries and the profile. Audit-log rows stay
    but name an erasure token instead of the customer. The result files of finished batch jobs
    that hold a row of the customer are deleted whole (``deleted.job_results`` counts them; the
    job's status becomes ``purged``). A job still queued or running is not searched."""
    st = store(request)
    res = st.erase_customer(customer_id)
    purged = job_runner(request).purge_customer(customer_id)
    if res is None and not purged:
        raise HTTPException(404, f"No customer {customer_id!r} to erase.")
    counts, token = res if res is not None else ({}, erasure_token())
    counts["job_results"] = len(purged)
    st.audit(key.name, "erase", "customer", token, {"deleted": counts, "jobs_purged": purged})
    notifier(request).notify()
    return {"customer_id": customer_id, "deleted": counts, "erasure_token": token}
