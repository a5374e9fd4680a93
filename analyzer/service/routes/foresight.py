"""The customer-state engine over HTTP: the ranked customers, the model's fit, the sweep and back-fills.

- ``GET /v1/customers``: every customer's current risk, riskiest first (or another sort), with
  paging, filters (segment, tier, severity, cause, lapsed) and the reasons;
- ``GET /v1/model``: how the risk model was set (learnt from the business's own history, or its
  priors and why), the back-test's ROC-AUC and Brier score, the base rate and the horizon;
- ``POST /v1/model/refit``: refit now on everything stored (admin);
- ``POST /v1/sweep``: re-evaluate every customer now (admin; it also runs on its own schedule);
- ``POST /v1/backfill/complete``: a back-fill (ingest with ``?backfill=true``) is done: refit, then
  judge each of its customers once, now -- never about the past, chunk by chunk.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from analyzer.service.auth import AdminKey, IngestKey, ReadKey
from analyzer.service.db import utcnow
from analyzer.service.deps import Lang, check_lang, foresight, settings, store, worker
from analyzer.service.params import IdQuery, Offset
from analyzer.service.schemas import CustomerPage, ModelPublic
from analyzer.service.store import jsonable

__all__ = ["router"]

router = APIRouter(tags=["risk"])
_WAIT_LIMIT_S = 600.0
Sort = Literal["risk", "odds_ratio", "days_inactive", "customer_id"]
Severity = Literal["info", "low", "medium", "high", "critical"]
Tier = Literal["low", "medium", "high", "vip", "unknown"]


def _public(row: dict[str, Any], lang: str) -> dict[str, Any]:
    reasons = list(row.get("reasons") or [])
    main = next((d for d in reasons if d.get("contribution", 0) > 0), None)
    return {"customer_id": row["customer_id"], "segment": row["segment"], "value_tier": row["value_tier"],
            "risk": row["risk"], "odds_ratio": row["odds_ratio"], "severity": row["severity"],
            "lapsed": bool(row["lapsed"]), "cause": row["cause"], "urgent": list(row["urgent"] or []),
            "days_inactive": row["days_inactive"], "risk_as_of": row["risk_as_of"],
            "main_reason": main[f"text_{lang}"] if main else None, "reasons": reasons}


@router.get("/v1/customers", response_model=CustomerPage, summary="Customers ranked by risk, with their reasons")
def list_customers(request: Request, key: ReadKey, sort: Sort = "risk",
                   segment: IdQuery = None,
                   tier: Annotated[list[Tier] | None, Query()] = None,
                   severity: Annotated[list[Severity] | None, Query()] = None,
                   cause: IdQuery = None,
                   lapsed: bool | None = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 50,
                   offset: Offset = 0,
                   lang: Lang = None) -> dict[str, Any]:
    """Riskiest first (urgent causes and higher severities lead); lapsed customers are at the end of the
    list when ``lapsed`` is not given. ``main_reason`` is in ``lang``; ``reasons`` have both languages."""
    lang_ = check_lang(lang, settings(request).alert_lang)
    st = store(request)
    rows, total = st.list_customers(sort=sort, segment=segment, tier=tier, severity=severity, cause=cause,
                                    lapsed=lapsed, limit=limit, offset=offset)
    st.audit(key.name, "read", "customers", None, {"count": len(rows), "sort": sort})
    return {"items": [jsonable(_public(r, lang_)) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.get("/v1/model", response_model=ModelPublic, summary="How the risk model was fitted, and how well")
def model(request: Request, key: ReadKey) -> dict[str, Any]:
    return jsonable(foresight(request).model_info())


@router.post("/v1/model/refit", status_code=202, summary="Refit the risk model on everything stored (admin)")
def refit(request: Request, key: AdminKey) -> JSONResponse:
    engine = foresight(request)
    model = engine.refit()
    store(request).audit(key.name, "refit", "model", None, {"source": model.report_.source})
    queued = store(request).enqueue(store(request).customer_ids())
    worker(request).wake()
    return JSONResponse({"source": model.report_.source, "summary": model.report_.summary("en"),
                         "customers_queued": queued}, status_code=202)


@router.post("/v1/sweep", summary="Re-evaluate every customer now (admin)")
def sweep(request: Request, key: AdminKey) -> dict[str, Any]:
    ev = worker(request).sweep_now()
    store(request).audit(key.name, "sweep", "customers", None, {"customers": ev.customers,
                                                                 "alerts": len(ev.new_alert_ids)})
    return jsonable({"customers": ev.customers, "new_alerts": ev.new_alert_ids, "as_of": ev.as_of,
                     "seconds": round(ev.seconds, 3)})


@router.post("/v1/backfill/complete", status_code=202,
             summary="A back-fill is done: refit, then judge its customers once, now")
def complete_backfill(request: Request, key: IngestKey,
                      wait: Annotated[bool, Query(description="Answer once every customer is judged (200).")] = False
                      ) -> JSONResponse:
    st = store(request)
    started = utcnow()
    released = foresight(request).complete_backfill()
    st.audit(key.name, "backfill_complete", "customers", None, {"customers": released})
    w = worker(request)
    w.wake()
    if not wait:
        return JSONResponse({"customers_queued": released}, status_code=202)
    if not w.wait_idle(timeout=_WAIT_LIMIT_S):
        return JSONResponse({"customers_queued": released, "detail": f"Still evaluating after {_WAIT_LIMIT_S:.0f} s; "
                             "the alerts will reach the feed. Poll GET /v1/model for the queue."}, status_code=202)
    new = st.alerts_raised_since(None, started)
    return JSONResponse({"customers_queued": released, "new_alerts": len(new)}, status_code=200)
