"""Outbound subscriptions (webhooks, CRM tasks, Slack/Teams/e-mail), their deliveries and dead letters.

Admin scope: a subscription sends customer data (pseudonymous ids, reasons, justifications) out of
the product. Secrets are write-only: a webhook's signing secret is shown once, in the answer that
created it; headers (e.g. a CRM's ``Authorization``) are listed by name only; a notification URL
(which holds its service's token) is listed as its scheme.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.status import HTTP_201_CREATED, HTTP_202_ACCEPTED

from analyzer.errors import MissingExtraError
from analyzer.foresight.rules import CRM_SYSTEMS
from analyzer.schema import Severity
from analyzer.service.auth import AdminKey
from analyzer.service.deps import store
from analyzer.service.outbound import EVENTS, KINDS, load_apprise
from analyzer.service.params import Offset
from analyzer.service.schemas import Timestamp

__all__ = ["DeliveryPage", "DeliveryPublic", "WebhookCreate", "WebhookPublic", "router"]

router = APIRouter(tags=["webhooks"])

Event = Literal["alert.new", "alert.escalated"]
Crm = Literal["hubspot", "salesforce", "zendesk", "dynamics"]
assert set(Crm.__args__) == set(CRM_SYSTEMS) and set(Event.__args__) == set(EVENTS)  # type: ignore[attr-defined]
_HEADER_NAME = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
SubIdPath = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^wh_[0-9a-f]+$")]
DeliveryIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^dlv_[0-9a-f]+$")]


def _all_events() -> list[Event]:
    return ["alert.new", "alert.escalated"]


class WebhookCreate(BaseModel):
    """A subscription. ``webhook``: the alert JSON POSTed to ``url``; ``crm``: a task body of ``crm``
    (HubSpot, Salesforce, Zendesk, Dynamics) POSTed to ``url`` for the alerts whose rule names that
    CRM (``crm_task`` in the rule file), with ``headers`` such as ``Authorization``; ``notify``: a
    message through an apprise URL (``slack://...``, ``workflows://...`` for Teams, ``mailto://...``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    kind: Literal["webhook", "crm", "notify"] = "webhook"
    url: str = Field(min_length=8, max_length=2000, pattern=r"^[^\s\x00-\x1f\x7f]+$")
    secret: str | None = Field(default=None, min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$",
                               description="HMAC-SHA256 signing secret (webhook and crm); generated when left out.")
    events: list[Event] = Field(default_factory=_all_events, min_length=1, max_length=2)
    min_severity: Severity = "low"
    crm: Crm | None = None
    headers: dict[str, Annotated[str, Field(max_length=2000, pattern=r"^[^\x00-\x1f\x7f]*$")]] | None = Field(
        default=None, max_length=20, description="Extra request headers (webhook and crm), e.g. Authorization.")

    @field_validator("headers")
    @classmethod
    def _names(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        import re

        for name in value or {}:
            if not re.match(_HEADER_NAME, name):
                raise ValueError(f"header name {name[:70]!r} is not a plain HTTP header name")
        return value


class WebhookPublic(BaseModel):
    id: str
    name: str
    kind: str
    url: str
    events: list[str]
    min_severity: str
    crm: str | None
    header_names: list[str]
    signed: bool
    created_by: str
    created_at: Timestamp
    secret: str | None = Field(default=None, description="Only in the answer that created it.")


class DeliveryPublic(BaseModel):
    id: str = Field(description="Also the Idempotency-Key header of every attempt.")
    subscription_id: str
    alert_id: str
    customer_id: str
    event: str
    status: str
    attempts: int
    next_attempt_at: Timestamp | None
    last_status: int | None
    last_error: str | None
    created_at: Timestamp
    finished_at: Timestamp | None


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    total: int


def _public(sub: dict[str, Any], secret: str | None = None) -> dict[str, Any]:
    url = str(sub["url"])
    if sub["kind"] == "notify":
        url = url.split("://", 1)[0] + "://..."
    return {**{k: sub[k] for k in ("id", "name", "kind", "events", "min_severity", "crm", "created_by", "created_at")},
            "url": url, "header_names": sorted((sub["headers"] or {}).keys()), "signed": bool(sub["secret"]),
            "secret": secret}


def _delivery(d: dict[str, Any]) -> dict[str, Any]:
    out = {k: d[k] for k in DeliveryPublic.model_fields}
    if d["status"] != "pending":
        out["next_attempt_at"] = None
    return out


def _wake(request: Request) -> None:
    dispatcher = getattr(request.app.state, "outbound", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.post("/v1/webhooks", response_model=WebhookPublic, status_code=HTTP_201_CREATED,
             summary="Subscribe a webhook, a CRM or a Slack/Teams/e-mail channel to new and escalated alerts")
def create_webhook(body: WebhookCreate, request: Request, key: AdminKey) -> dict[str, Any]:
    """Alerts raised from now on are delivered (none of the past ones). The answer shows the signing
    secret once; keep it to verify ``X-DarkFeedback-Signature`` (api/README.md, Outbound)."""
    assert KINDS == ("webhook", "crm", "notify")
    if body.kind == "crm" and body.crm is None:
        raise HTTPException(422, "A crm subscription needs 'crm': one of hubspot, salesforce, zendesk, dynamics "
                                 "(the alerts whose rule names it in crm_task are sent).")
    if body.kind != "crm" and body.crm is not None:
        raise HTTPException(422, f"'crm' only applies to kind 'crm'; received kind {body.kind!r}.")
    secret: str | None = None
    if body.kind == "notify":
        if body.secret or body.headers:
            raise HTTPException(422, "A notify subscription takes neither 'secret' nor 'headers' (its URL says it "
                                     "all).")
        try:
            apprise = load_apprise()
        except MissingExtraError as exc:
            raise HTTPException(422, str(exc)) from exc
        if not apprise.Apprise().add(body.url):
            raise HTTPException(422, "apprise does not understand this notification URL; see its documentation "
                                     "for slack://, workflows:// (Teams) and mailto:// URLs.")
    else:
        if not body.url.lower().startswith(("https://", "http://")):
            raise HTTPException(422, f"A {body.kind} URL must start with https:// (or http://).")
        secret = body.secret or "whsec_" + secrets.token_hex(24)
    sub = store(request).add_subscription({
        "id": "wh_" + secrets.token_hex(8), "name": body.name, "kind": body.kind, "url": body.url, "secret": secret,
        "headers": body.headers, "events": list(body.events), "min_severity": body.min_severity, "crm": body.crm,
        "created_by": key.name})
    store(request).audit(key.name, "create", "webhook", None, {"id": sub["id"], "kind": body.kind})
    return _public(sub, secret if body.secret is None else None)


@router.get("/v1/webhooks", response_model=list[WebhookPublic], summary="The subscriptions (secrets never shown)")
def list_webhooks(request: Request, key: AdminKey) -> list[dict[str, Any]]:
    return [_public(s) for s in store(request).list_subscriptions()]


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Delete a subscription and its deliveries")
def delete_webhook(webhook_id: SubIdPath, request: Request, key: AdminKey) -> None:
    if not store(request).delete_subscription(webhook_id):
        raise HTTPException(404, f"No subscription {webhook_id!r}.")
    store(request).audit(key.name, "delete", "webhook", None, {"id": webhook_id})


@router.get("/v1/webhooks/deliveries", response_model=DeliveryPage, summary="Deliveries, newest first")
def list_deliveries(request: Request, key: AdminKey,
                    status: Annotated[list[Literal["pending", "delivered", "dead"]] | None, Query()] = None,
                    webhook_id: Annotated[str | None, Query(max_length=40, pattern=r"^wh_[0-9a-f]+$")] = None,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50, offset: Offset = 0) -> dict[str, Any]:
    items, total = store(request).list_deliveries(status=status, subscription_id=webhook_id, limit=limit,
                                                  offset=offset)
    return {"items": [_delivery(d) for d in items], "total": total}


@router.get("/v1/webhooks/dead-letters", response_model=DeliveryPage,
            summary="The dead-letter list: deliveries that used all their attempts or were refused for good")
def dead_letters(request: Request, key: AdminKey, limit: Annotated[int, Query(ge=1, le=500)] = 50,
                 offset: Offset = 0) -> dict[str, Any]:
    items, total = store(request).list_deliveries(status=["dead"], limit=limit, offset=offset)
    return {"items": [_delivery(d) for d in items], "total": total}


@router.post("/v1/webhooks/dead-letters/{delivery_id}/retry", response_model=DeliveryPublic,
             status_code=HTTP_202_ACCEPTED, summary="Send a dead letter again (same idempotency key)")
def retry_dead_letter(delivery_id: DeliveryIdPath, request: Request, key: AdminKey) -> dict[str, Any]:
    d = store(request).retry_delivery(delivery_id)
    if d is None:
        raise HTTPException(404, f"No dead letter {delivery_id!r} (it may have been delivered or never failed).")
    store(request).audit(key.name, "retry", "webhook_delivery", d["customer_id"], {"id": delivery_id})
    _wake(request)
    return _delivery(d)
