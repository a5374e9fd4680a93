"""What is sent: the alert webhook body, the CRM-task bodies and the notification text.

Events: ``alert.new`` (a customer's first alert within the rule table's cooldown) and
``alert.escalated`` (a new alert for a customer who already had one within the cooldown, with a
higher severity: the cooldown lets an alert through only when the severity rose). The body names
the previous severity of an escalation.

CRM tasks (the system chosen by the alert's rule, ``crm_task`` in the rule file), each in the shape
its public REST API documents for creating one:

- ``hubspot``: CRM v3 task object, ``{"properties": {hs_timestamp, hs_task_subject, hs_task_body,
  hs_task_status, hs_task_priority, hs_task_type}}``;
- ``salesforce``: sObject ``Task``, ``{Subject, Description, Priority, Status, ActivityDate, TaskSubtype}``;
- ``zendesk``: ``{"ticket": {subject, comment: {body, public: false}, priority, type: "task",
  due_at, tags, external_id}}``;
- ``dynamics``: Dataverse ``task`` activity, ``{subject, description, prioritycode, scheduledend}``.

Priority follows severity (critical/high -> the system's highest non-emergency level, medium ->
normal, low/info -> low); the due date is the alert's day for critical and high, two days later for
medium, a week for the rest. The customer is named by its (pseudonymous) id: linking it to the
CRM's own record is the receiving side's job.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from analyzer.service.store import jsonable

__all__ = ["EVENTS", "alert_payload", "crm_task", "notification_text"]

EVENTS: tuple[str, ...] = ("alert.new", "alert.escalated")
_ACTION_LABEL = {
    "es": {"priority_call": "Llamada prioritaria", "help_resource": "Enviar ayuda",
           "relevant_offer": "Oferta relevante", "delivery_followup": "Seguimiento del envío",
           "thank_you_referral": "Agradecer y pedir recomendación",
           "win_back": "Recuperar cliente"},
    "en": {"priority_call": "Priority call", "help_resource": "Send help", "relevant_offer": "Relevant offer",
           "delivery_followup": "Delivery follow-up", "thank_you_referral": "Thank and ask for a referral",
           "win_back": "Win back"},
}
_DUE_DAYS = {"critical": 0, "high": 0, "medium": 2}


def _label(action: str, lang: str) -> str:
    return _ACTION_LABEL.get(lang, _ACTION_LABEL["en"]).get(action, action.replace("_", " "))


def _when(alert: dict[str, Any]) -> dt.datetime:
    at = alert["alerted_at"]
    return at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))


def alert_payload(alert: dict[str, Any], *, event: str, previous_severity: str | None,
                  crm: dict[str, Any] | None) -> dict[str, Any]:
    """The JSON body of a webhook delivery (the delivery and idempotency ids are added by the dispatcher)."""
    keys = ("alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "action", "rule",
            "justification_es", "justification_en", "reasons", "value_tier", "segment")
    body = {k: alert.get(k) for k in keys}
    body["previous_severity"] = previous_severity
    return jsonable({"event": event, "alert": body, "crm_task": crm})


def _subject(alert: dict[str, Any], lang: str) -> str:
    return f"[{alert['severity']}] {_label(alert['action'], lang)}: {alert['customer_id']}"


def _body(alert: dict[str, Any], lang: str) -> str:
    lines = [str(alert.get(f"justification_{lang}") or alert.get("justification_en") or ""), ""]
    risk_word = "Riesgo" if lang == "es" else "Risk"
    lines.append(f"{risk_word}: {float(alert['risk']):.0%} ({alert['severity']})")
    for r in (alert.get("reasons") or [])[:5]:
        if isinstance(r, dict) and float(r.get("contribution") or 0) > 0:
            lines.append(f"- {r.get(f'text_{lang}') or r.get('text_en') or r.get('code')}")
    lines.append(f"dark-feedback alert {alert['alert_id']}")
    return "\n".join(lines).strip()


def crm_task(system: str, alert: dict[str, Any], lang: str = "es") -> dict[str, Any]:
    """The body that creates a task for ``alert`` in ``system`` (see the module docstring)."""
    sev = str(alert["severity"])
    when = _when(alert)
    due = when + dt.timedelta(days=_DUE_DAYS.get(sev, 7))
    subject, body = _subject(alert, lang), _body(alert, lang)
    top = sev in ("critical", "high")
    if system == "hubspot":
        kind = {"priority_call": "CALL", "relevant_offer": "EMAIL", "thank_you_referral": "EMAIL",
                "win_back": "EMAIL"}.get(alert["action"], "TODO")
        return {"properties": {"hs_timestamp": due.isoformat(), "hs_task_subject": subject, "hs_task_body": body,
                               "hs_task_status": "NOT_STARTED",
                               "hs_task_priority": "HIGH" if top else ("MEDIUM" if sev == "medium" else "LOW"),
                               "hs_task_type": kind}}
    if system == "salesforce":
        return {"Subject": subject[:255], "Description": body, "Status": "Not Started",
                "Priority": "High" if top else ("Normal" if sev == "medium" else "Low"),
                "ActivityDate": due.date().isoformat(),
                "TaskSubtype": "Call" if alert["action"] == "priority_call" else "Task"}
    if system == "zendesk":
        return {"ticket": {"subject": subject, "comment": {"body": body, "public": False},
                           "priority": "urgent" if sev == "critical" else ("high" if top else (
                               "normal" if sev == "medium" else "low")),
                           "type": "task", "due_at": due.isoformat(), "external_id": alert["alert_id"],
                           "tags": ["darkfeedback", f"severity_{sev}", str(alert["action"])]}}
    if system == "dynamics":
        return {"subject": subject[:200], "description": body, "prioritycode": 2 if top else (1 if sev == "medium"
                                                                                              else 0),
                "scheduledend": due.isoformat()}
    raise ValueError(f"unknown CRM system {system!r}")


def notification_text(alert: dict[str, Any], *, event: str, previous_severity: str | None,
                      lang: str = "es") -> tuple[str, str]:
    """Title and Markdown body of a Slack, Teams or e-mail notification."""
    if lang == "es":
        what = "sube a" if event == "alert.escalated" else "nueva alerta"
        title = f"dark-feedback: {what} {alert['severity']} ({alert['customer_id']})"
    else:
        what = "escalated to" if event == "alert.escalated" else "new alert"
        title = f"dark-feedback: {what} {alert['severity']} ({alert['customer_id']})"
    if previous_severity:
        title += f" <- {previous_severity}"
    body = f"**{_label(str(alert['action']), lang)}**\n\n" + _body(alert, lang)
    return title, body
