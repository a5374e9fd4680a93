"""Data-subject rights and retention: export, erasure, text purge."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.actions import ActionStore
from analyzer.service.store.base import jsonable
from analyzer.service.store.history import RiskHistoryStore
from analyzer.service.store.keys import KeyStore

__all__ = ["PrivacyStore", "erasure_token"]


def erasure_token() -> str:
    """What the audit log names an erased customer by: random, so it cannot be traced back."""
    return "erased:" + secrets.token_hex(8)


class PrivacyStore(ActionStore, RiskHistoryStore, KeyStore):
    """What the privacy endpoints need: everything about one customer, and its removal."""

    def export_customer(self, customer_id: str) -> dict[str, Any] | None:
        cust = self.get_customer(customer_id)
        if cust is None:
            return None
        alerts, _ = self.list_alerts(customer_id=customer_id, limit=100_000)
        return jsonable({
            "customer": cust,
            "messages": self.messages_of(customer_id, limit=1_000_000),
            "events": self.events_of(customer_id, limit=1_000_000),
            "alerts": alerts,
            "alert_feedback": self.feedback_of(customer_id=customer_id),
            "alert_actions": self.actions_of(customer_id=customer_id),
            "risk_history": self.risk_series(customer_id),
            "audit_log": self.audit_entries(subject=customer_id, limit=1_000_000),
        })

    def erase_customer(self, customer_id: str) -> tuple[dict[str, int], str] | None:
        """Delete every row about the customer; audit rows keep only an erasure token.

        Returns per-table counts and the token, or None when the customer is unknown.
        """
        t = self.t
        token = erasure_token()
        with self.write() as conn:
            known = conn.execute(sa.select(t.customers.c.customer_id)
                                 .where(t.customers.c.customer_id == customer_id)).first()
            if known is None:
                return None
            counts: dict[str, int] = {}
            for table in (t.messages, t.events, t.alert_events, t.feedback, t.alert_actions, t.alerts,
                          t.evaluation_queue, t.risk_history, t.outbound_deliveries, t.customers):
                counts[table.name] = int(conn.execute(table.delete().where(table.c.customer_id == customer_id))
                                         .rowcount)
            # The audit trail stays (who read what, when) but can no longer name the person.
            counts["audit_log_pseudonymised"] = int(conn.execute(
                t.audit_log.update().where(t.audit_log.c.subject == customer_id)
                .values(subject=token, detail=None)).rowcount)
        self.compact()
        return counts, token

    def purge_texts(self, older_than: dt.datetime) -> int:
        """Retention: remove texts (and quoted evidence) of messages older than the cut-off."""
        m = self.t.messages
        with self.write() as conn:
            res = conn.execute(m.update().where(m.c.timestamp < older_than, m.c.text_purged_at.is_(None))
                               .values(text_redacted=None, sentences=None, theme_evidence=None,
                                       text_purged_at=utcnow()))
        n = int(res.rowcount)
        if n:
            self.compact()
        return n
