"""Agents: who is calling (``/v1/me``), the team (``/v1/agents``) and who owns an alert (assignment).

An agent's identity is their own API key: an admin creates one per agent (``POST /v1/keys`` with
the agent's name and the ``read`` scope, or from the Settings page), and everything the agent does
-- status changes, actions, outcomes, assignments -- is recorded under that name in the alert's
history and in the audit log.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from analyzer.service.auth import IngestOrReadKey, ReadKey
from analyzer.service.deps import alert_public, notifier, settings, store
from analyzer.service.params import AlertIdPath
from analyzer.service.schemas import AlertPublic
from analyzer.service.store import Store
from analyzer.service.workspace.schemas import AgentPublic, AssignCreate, MePublic

__all__ = ["agent_names", "router"]

router = APIRouter(tags=["agents"])


def agent_names(st: Store) -> dict[str, list[str]]:
    """Name -> scopes of every active key that may work alerts (read or admin); a name used by several
    keys (a rotated key) is one agent."""
    out: dict[str, set[str]] = {}
    for k in st.list_keys():
        if k["revoked_at"] is None and {"read", "admin"} & set(k["scopes"]):
            out.setdefault(k["name"], set()).update(k["scopes"])
    return {name: sorted(scopes) for name, scopes in sorted(out.items())}


@router.get("/v1/me", response_model=MePublic, summary="The agent behind this key")
def me(request: Request, key: IngestOrReadKey) -> dict[str, Any]:
    return {"name": key.name, "scopes": sorted(key.scopes)}


@router.get("/v1/agents", response_model=list[AgentPublic], summary="The team: agents who can work alerts")
def agents(request: Request, key: ReadKey) -> list[dict[str, Any]]:
    st = store(request)
    owned = st.open_alerts_by_assignee()
    return [{"name": n, "scopes": s, "open_alerts": owned.get(n, 0)} for n, s in agent_names(st).items()]


@router.post("/v1/alerts/{alert_id}/assign", response_model=AlertPublic, summary="Give an alert to an agent")
def assign(alert_id: AlertIdPath, body: AssignCreate, request: Request, key: ReadKey) -> dict[str, Any]:
    """``agent``: the name of an agent's active key (see ``GET /v1/agents``), or null to leave it to nobody.
    The live feed announces the change (``kind: assigned``)."""
    st = store(request)
    row = st.get_alert(alert_id)
    if row is None:
        raise HTTPException(404, f"No alert {alert_id!r}.")
    if body.agent is not None and body.agent not in agent_names(st):
        raise HTTPException(422, f"No agent named {body.agent!r}: an agent is the name of an active API key with "
                                 f"the read scope; known agents: {sorted(agent_names(st))[:50]}.")
    updated = st.assign_alert(alert_id, body.agent)
    assert updated is not None
    st.audit(key.name, "assign", "alert", row["customer_id"], {"alert_id": alert_id, "assignee": body.agent,
                                                               "from": row["assignee"]})
    notifier(request).notify()
    return alert_public(updated, settings(request).alert_lang)
