"""The outbound dispatcher: alerts pushed to webhooks, CRMs and chat/e-mail, off the request path.

One thread per service process (started with the app; woken by the worker's ``on_alerts``, and
polling besides). Each pass:

1. **collect**: reads the alert log (``alert_events``, kind ``new``) after its cursor and stores one
   delivery per matching subscription: the event (``alert.new`` or ``alert.escalated``, see
   :mod:`.payloads`) must be one the subscription wants, the severity at least its
   ``min_severity``, the alert raised after the subscription was created, and for a ``crm``
   subscription the alert's rule must name that CRM (``crm_task``). Every path that stores an alert
   (worker, sweep, ``?wait=true``, back-fill) is covered, and a restart loses nothing: the cursor and
   the deliveries are in the database. The delivery id is the idempotency key
   (SHA-256 of subscription, alert and event), so collecting twice stores one delivery.
2. **deliver**: each due delivery is leased, sent, and recorded: ``delivered`` on a 2xx (or a
   notification the service accepted); otherwise retried after ``webhook_backoff_s`` doubled per
   failure (at most ``webhook_backoff_max_s``), until ``webhook_max_attempts``; then, or at once on
   a permanent refusal (a 4xx other than 408, 409, 425 and 429; a notification URL apprise cannot
   use), ``dead``: the dead-letter list (``GET /v1/webhooks/dead-letters``), from which one can be
   sent again (``POST /v1/webhooks/dead-letters/{id}/retry``).

Kinds: ``webhook`` (the alert JSON, signed: :mod:`.signing`), ``crm`` (the CRM task body of the
rule's system, signed, with the subscription's extra headers such as ``Authorization``) and
``notify`` (Slack, Teams, e-mail and the rest through apprise URLs; the ``notify`` extra).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import httpx

from analyzer.foresight.rules import RuleTable
from analyzer.schema import SEVERITIES
from analyzer.service.background import BackgroundThread
from analyzer.service.db import utcnow
from analyzer.service.outbound.payloads import alert_payload, crm_task, notification_text
from analyzer.service.outbound.signing import signature_headers
from analyzer.service.store import Store
from analyzer.settings import Settings

__all__ = ["KINDS", "OutboundDispatcher", "delivery_id", "load_apprise"]

log = logging.getLogger("analyzer.service.outbound")
KINDS: tuple[str, ...] = ("webhook", "crm", "notify")
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_GRACE = dt.timedelta(seconds=60)  # alert-log rows this recent are looked at again (late commits)


def delivery_id(subscription_id: str, alert_id: str, event: str) -> str:
    return "dlv_" + hashlib.sha256(f"{subscription_id}\x1f{alert_id}\x1f{event}".encode()).hexdigest()[:32]


def load_apprise() -> Any:
    """The apprise module, or the error that names the extra to install."""
    try:
        import apprise
    except ImportError as exc:
        from analyzer.errors import MissingExtraError

        raise MissingExtraError("Slack, Teams and e-mail notifications", extra="notify", missing=("apprise",)) from exc
    return apprise


class OutboundDispatcher(BackgroundThread):
    """Collects and delivers (see the module docstring). ``run_once`` does one pass; ``start`` a thread."""

    thread_name = "outbound"

    def __init__(self, store: Store, settings: Settings, *, rules: RuleTable | None = None,
                 client: httpx.Client | None = None, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.store, self.settings, self.now = store, settings, now
        self.rules = rules
        self.crm_of_rule = {r.name: r.crm_task for r in rules.rules} if rules is not None else {}
        self.cooldown = dt.timedelta(days=rules.cooldown_days if rules is not None else 14.0)
        self.client = client or httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False)
        super().__init__()
        self.errors = 0

    # -- thread -------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0) -> None:
        super().stop(timeout)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                wait = self.settings.worker_poll_s
                due = self.store.next_due_at()
                if due is not None:
                    wait = max(0.02, min(wait, (due - self.now()).total_seconds()))
            except Exception as exc:  # the database or a receiver may be away: the deliveries wait
                self.errors += 1
                log.error("outbound dispatcher: %s (retrying)", type(exc).__name__)
                wait = min(30.0, self.settings.worker_poll_s * 5)
            self._wake.wait(wait)
            self._wake.clear()

    def run_once(self) -> tuple[int, int]:
        """Collect new alerts, then send what is due; return (deliveries stored, attempts made)."""
        stored = self.collect()
        attempts = 0
        while True:
            n = self.deliver_due()
            attempts += n
            if n == 0:
                return stored, attempts

    # -- collect ------------------------------------------------------------------------
    def _event(self, alert: dict[str, Any]) -> tuple[str, str | None]:
        at = alert["alerted_at"]
        earlier = self.store.earlier_alerts(alert["customer_id"], at, at - self.cooldown, alert["alert_id"])
        ranks = [SEVERITIES.index(e["severity"]) for e in earlier if e["severity"] in SEVERITIES]
        if ranks and max(ranks) < SEVERITIES.index(alert["severity"]):
            return "alert.escalated", SEVERITIES[max(ranks)]
        return "alert.new", None

    def collect(self) -> int:
        subs = self.store.list_subscriptions()
        cursor = self.store.outbound_cursor()
        if not subs:
            self.store.set_outbound_cursor(self.store.last_alert_log_id())  # nothing to deliver to: skip ahead
            return 0
        after = safe = cursor or 0
        stored = 0
        horizon = self.now() - _GRACE
        settled = True  # every row so far is old enough that no earlier id can still be committed
        while True:
            rows = self.store.new_alerts_after(after)
            if not rows:
                break
            deliveries: list[dict[str, Any]] = []
            for alert in rows:
                deliveries += self._deliveries(alert, subs)
                settled = settled and alert["logged_at"] <= horizon
                if settled:
                    safe = int(alert["log_id"])
                after = int(alert["log_id"])
            stored += len(self.store.add_deliveries(deliveries))
        self.store.set_outbound_cursor(safe)
        return stored

    def _deliveries(self, alert: dict[str, Any], subs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        event, previous = self._event(alert)
        system = self.crm_of_rule.get(str(alert["rule"]))
        out = []
        for sub in subs:
            if (event not in (sub["events"] or []) or alert["logged_at"] < sub["created_at"]
                    or SEVERITIES.index(alert["severity"]) < SEVERITIES.index(sub["min_severity"])):
                continue
            if sub["kind"] == "crm" and system != sub["crm"]:
                continue
            did = delivery_id(sub["id"], alert["alert_id"], event)
            lang = self.settings.alert_lang
            if sub["kind"] == "crm":
                payload = crm_task(str(sub["crm"]), alert, lang)
            elif sub["kind"] == "notify":
                title, body = notification_text(alert, event=event, previous_severity=previous, lang=lang)
                payload = {"title": title, "body": body}
            else:
                crm = {"system": system, "payload": crm_task(system, alert, lang)} if system else None
                payload = {"delivery_id": did, "idempotency_key": did,
                           **alert_payload(alert, event=event, previous_severity=previous, crm=crm)}
            out.append({"id": did, "subscription_id": sub["id"], "alert_id": alert["alert_id"],
                        "customer_id": alert["customer_id"], "event": event, "payload": payload, "status": "pending",
                        "attempts": 0, "next_attempt_at": self.now(), "created_at": self.now()})
        return out

    # -- deliver ------------------------------------------------------------------------
    def backoff(self, attempts: int) -> dt.timedelta:
        """Wait after the ``attempts``-th failed attempt: the base doubled each time, capped."""
        s = self.settings
        return dt.timedelta(seconds=min(s.webhook_backoff_s * 2 ** (attempts - 1), s.webhook_backoff_max_s))

    def deliver_due(self, limit: int = 50) -> int:
        now = self.now()
        lease = now + dt.timedelta(seconds=self.settings.webhook_timeout_s * 3 + 30)
        done = 0
        for did in self.store.due_deliveries(now, limit):
            d = self.store.claim_delivery(did, now, lease)
            if d is None:
                continue  # another dispatcher has it
            done += 1
            sub = self.store.get_subscription(str(d["subscription_id"]))
            if sub is None:
                self.store.finish_attempt(did, ok=False, status_code=None, error="the subscription was deleted",
                                          next_attempt_at=None)
                continue
            try:
                ok, status, error, permanent = self._send(sub, d)
            except Exception as exc:  # a receiver must never stop the dispatcher
                ok, status, error, permanent = False, None, f"{type(exc).__name__}: {exc}", False
            attempts = int(d["attempts"]) + 1
            last = permanent or attempts >= self.settings.webhook_max_attempts
            self.store.finish_attempt(did, ok=ok, status_code=status, error=error,
                                      next_attempt_at=None if ok or last else self.now() + self.backoff(attempts))
            if not ok:
                log.warning("delivery %s to subscription %s failed (attempt %d%s): %s", did, sub["id"], attempts,
                            ", dead letter" if last else "", error)
        return done

    def _send(self, sub: dict[str, Any], d: dict[str, Any]) -> tuple[bool, int | None, str | None, bool]:
        """One attempt: (delivered, HTTP status, error, permanent)."""
        if sub["kind"] == "notify":
            return self._notify(str(sub["url"]), d["payload"])
        body = json.dumps(d["payload"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        extra = {str(k): str(v) for k, v in (sub["headers"] or {}).items()}
        headers = {"Content-Type": "application/json", "User-Agent": "dark-feedback-outbound/1",
                   "Idempotency-Key": str(d["id"]), "X-DarkFeedback-Delivery": str(d["id"]),
                   "X-DarkFeedback-Event": str(d["event"]), **extra}
        if sub["secret"]:
            headers.update(signature_headers(str(sub["secret"]), body))
        try:
            resp = self.client.post(str(sub["url"]), content=body, headers=headers)
        except httpx.HTTPError as exc:
            return False, None, f"{type(exc).__name__}: {exc}", False
        if 200 <= resp.status_code < 300:
            return True, resp.status_code, None, False
        permanent = 400 <= resp.status_code < 500 and resp.status_code not in _RETRYABLE_4XX
        return False, resp.status_code, f"HTTP {resp.status_code}: {resp.text[:300]}", permanent

    def _notify(self, url: str, payload: dict[str, Any]) -> tuple[bool, int | None, str | None, bool]:
        try:
            apprise = load_apprise()
        except ImportError as exc:
            return False, None, str(exc), True
        client = apprise.Apprise()
        if not client.add(url):
            return False, None, "apprise does not understand this notification URL; fix the subscription", True
        with apprise.LogCapture(level=logging.WARNING) as logs:
            ok = client.notify(title=payload["title"], body=payload["body"], body_format=apprise.NotifyFormat.MARKDOWN)
            detail = logs.getvalue().strip().splitlines()
        if ok:
            return True, None, None, False
        return False, None, "the notification was not accepted" + (f": {detail[-1][:300]}" if detail else ""), False
