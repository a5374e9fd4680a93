"""Outbound: new and escalated alerts pushed to where the team works.

    dispatcher.py  OutboundDispatcher: collects deliveries from the alert log, sends them with
                   retries and backoff, keeps the dead-letter list (a thread, off the request path)
    payloads.py    the webhook body, the CRM-task bodies (HubSpot, Salesforce, Zendesk, Dynamics),
                   the notification text; what "escalated" means
    signing.py     HMAC-SHA256 signatures and their verification

Subscriptions are managed through ``/v1/webhooks`` (admin scope, :mod:`analyzer.service.routes.webhooks`).
"""

from __future__ import annotations

from analyzer.service.outbound.dispatcher import KINDS, OutboundDispatcher, delivery_id, load_apprise
from analyzer.service.outbound.payloads import EVENTS, alert_payload, crm_task, notification_text
from analyzer.service.outbound.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, signature_headers, verify

__all__ = ["EVENTS", "KINDS", "SIGNATURE_HEADER", "TIMESTAMP_HEADER", "OutboundDispatcher", "alert_payload",
           "crm_task", "delivery_id", "load_apprise", "notification_text", "sign", "signature_headers", "verify"]
