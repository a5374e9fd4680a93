"""What agents did and what came of it: actions on alerts, their outcomes, an alert's history, and the
report of which actions keep customers (observational; see :mod:`analyzer.service.workspace.outcomes`).

Every write is recorded under the caller's key name -- the agent -- and in the audit log.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from analyzer.service.auth import ReadKey
from analyzer.service.deps import foresight, notifier, store
from analyzer.service.params import AlertIdPath
from analyzer.service.routes.overview import service_now
from analyzer.service.store import Store, jsonable
from analyzer.service.workspace import outcome_report
from analyzer.service.workspace.schemas import (
    ActionCreate,
    ActionPublic,
    HistoryEntry,
    OutcomeCreate,
    OutcomeReport,
)

__all__ = ["router"]

router = APIRouter(tags=["outcomes"])


def _alert(st: Store, alert_id: str) -> dict[str, Any]:
    row = st.get_alert(alert_id)
    if row is None:
        raise HTTPException(404, f"No alert {alert_id!r}.")
    return row


def _redacted(note: str | None) -> str | None:
    from analyzer.text.pii import redact

    return redact(note).text if note else None


@router.post("/v1/alerts/{alert_id}/actions", response_model=ActionPublic, status_code=201,
             summary="Record the action an agent took on an alert")
def record_action(alert_id: AlertIdPath, body: ActionCreate, request: Request, key: ReadKey) -> dict[str, Any]:
    """Recorded under the caller's key name. An open alert becomes acknowledged (someone is on it)."""
    st = store(request)
    row = _alert(st, alert_id)
    if row["status"] == "withdrawn":
        raise HTTPException(409, f"Alert {alert_id!r} was withdrawn (the customer opted out of profiling); "
                                 "no action can be recorded on it.")
    taken = st.record_action(alert_id, row["customer_id"], action=body.action, agent=key.name,
                             note=_redacted(body.note))
    if row["status"] == "open":
        st.set_alert_status(alert_id, "acknowledged", agent=key.name, useful=None, outcome=None, note=None)
        notifier(request).notify()
    st.audit(key.name, "action", "alert", row["customer_id"], {"alert_id": alert_id, "action": body.action})
    return jsonable(taken)


@router.post("/v1/alerts/{alert_id}/outcome", response_model=list[ActionPublic],
             summary="Record what became of the customer: retained, churned or unknown")
def record_outcome(alert_id: AlertIdPath, body: OutcomeCreate, request: Request, key: ReadKey) -> list[dict[str, Any]]:
    """Sets the outcome of the actions taken on the alert (409 when none was recorded: record the
    action first) and resolves the alert if it is still open or acknowledged."""
    st = store(request)
    row = _alert(st, alert_id)
    if not st.actions_of(alert_id=alert_id):
        raise HTTPException(409, f"No action was recorded on alert {alert_id!r}; record what was done first "
                                 f"(POST /v1/alerts/{alert_id}/actions), then its outcome.")
    actions = st.record_outcome(alert_id, outcome=body.outcome, agent=key.name)
    if row["status"] in ("open", "acknowledged"):
        st.set_alert_status(alert_id, "resolved", agent=key.name, useful=None,
                            outcome=None if body.outcome == "unknown" else body.outcome, note=_redacted(body.note))
        notifier(request).notify()
    st.audit(key.name, "outcome", "alert", row["customer_id"], {"alert_id": alert_id, "outcome": body.outcome})
    return jsonable(actions)


@router.get("/v1/alerts/{alert_id}/history", response_model=list[HistoryEntry],
            summary="Who did what to an alert, oldest first")
def history(alert_id: AlertIdPath, request: Request, key: ReadKey) -> list[dict[str, Any]]:
    st = store(request)
    row = _alert(st, alert_id)
    st.audit(key.name, "read", "alert_history", row["customer_id"], {"alert_id": alert_id})
    return jsonable(st.alert_history(alert_id))


@router.get("/v1/outcomes", response_model=OutcomeReport,
            summary="Which actions keep customers: contacted vs similar not-contacted customers (observational)")
def outcomes(request: Request, key: ReadKey,
             window_days: Annotated[int | None, Query(ge=14, le=365, description="Follow-up after each alert; "
                                                      "default: the risk model's horizon (90 before a fit).")] = None,
             lookback_days: Annotated[int, Query(ge=7, le=1095, description="Alerts raised over this many days "
                                                 "before the follow-up window.")] = 365) -> dict[str, Any]:
    """For alerts raised at least ``window_days`` ago: the customer is *still active* when they did
    something themselves between day ``window_days / 2`` and day ``window_days`` after the alert.
    Contacted alerts (an agent recorded an action) are compared with alerts of the same rule and
    severity that nobody acted on. Observational: read ``note_en`` / ``note_es``."""
    model = foresight(request).model()
    window = window_days or (int(model.horizon_days_) if model is not None else 90)
    st = store(request)
    st.audit(key.name, "read", "outcomes", None, {"window_days": window})
    return jsonable(outcome_report(st, now=service_now(request), window_days=window, lookback_days=lookback_days))
