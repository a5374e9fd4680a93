"""Customers, their messages and their behaviour events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analyzer.service.db import utcnow
from analyzer.service.store.base import StoreBase

__all__ = ["PROFILE_COLUMNS", "RecordStore"]

PROFILE_COLUMNS: tuple[str, ...] = ("sentiment_label", "sentiment_score", "p_negative", "p_neutral", "p_positive",
                                    "sentences", "themes", "theme_evidence")
"""Per-message profiling values, removed when a customer opts out."""


class RecordStore(StoreBase):
    """Customers, messages (redacted text and its analysis) and events."""

    # -- customers -------------------------------------------------------------------
    def ensure_customers(self, conn: Connection, ids: Iterable[str]) -> None:
        now = utcnow()
        rows = [{"customer_id": c, "opt_out": False, "created_at": now, "updated_at": now} for c in sorted(set(ids))]
        self.insert_new(conn, self.t.customers, rows, "customer_id")

    def upsert_customer(self, customer_id: str, *, segment: str | None, value_tier: str | None) -> dict[str, Any]:
        c = self.t.customers
        with self.write() as conn:
            self.ensure_customers(conn, [customer_id])
            conn.execute(c.update().where(c.c.customer_id == customer_id)
                         .values(segment=segment, value_tier=value_tier, updated_at=utcnow()))
        out = self.get_customer(customer_id)
        assert out is not None
        return out

    def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        c = self.t.customers
        with self.read() as conn:
            row = conn.execute(sa.select(c).where(c.c.customer_id == customer_id)).mappings().first()
        return dict(row) if row else None

    def opted_out(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        c = self.t.customers
        ids = list(set(ids))
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            q = sa.select(c.c.customer_id).where(c.c.customer_id.in_(ids[i:i + 500]), c.c.opt_out.is_(True))
            out.update(str(r[0]) for r in conn.execute(q))
        return out

    def set_opt_out(self, customer_id: str, opt_out: bool) -> tuple[dict[str, Any], list[str]]:
        """Set the flag; opting out clears every profile value and withdraws open alerts.

        Returns the customer and the ids of the alerts withdrawn.
        """
        c, m, a = self.t.customers, self.t.messages, self.t.alerts
        now = utcnow()
        withdrawn: list[str] = []
        with self.write() as conn:
            self.ensure_customers(conn, [customer_id])
            values: dict[str, Any] = {"opt_out": opt_out, "updated_at": now}
            if opt_out:
                # No profiling: risk, reasons and per-message sentiment and themes are removed,
                # not just hidden. The redacted texts stay (they are the customer's messages).
                values.update(risk=None, severity=None, reasons=None, risk_as_of=None, odds_ratio=None, lapsed=None,
                              cause=None, urgent=None, days_inactive=None)
                conn.execute(m.update().where(m.c.customer_id == customer_id)
                             .values(**dict.fromkeys(PROFILE_COLUMNS)))
                withdrawn = [str(r[0]) for r in conn.execute(sa.select(a.c.alert_id).where(
                    a.c.customer_id == customer_id, a.c.status.in_(["open", "acknowledged"])))]
                if withdrawn:
                    conn.execute(a.update().where(a.c.alert_id.in_(withdrawn))
                                 .values(status="withdrawn", status_changed_at=now))
                    conn.execute(self.t.alert_events.insert(), [
                        {"alert_id": x, "customer_id": customer_id, "kind": "withdrawn", "at": now}
                        for x in withdrawn])
            conn.execute(c.update().where(c.c.customer_id == customer_id).values(**values))
        out = self.get_customer(customer_id)
        assert out is not None
        return out, withdrawn

    # -- messages and events ---------------------------------------------------------
    def existing_message_ids(self, ids: Sequence[str]) -> set[str]:
        with self.read() as conn:
            return self.existing_keys(conn, self.t.messages, "message_id", ids)

    def existing_event_ids(self, ids: Sequence[str]) -> set[str]:
        with self.read() as conn:
            return self.existing_keys(conn, self.t.events, "event_id", ids)

    def insert_messages(self, rows: list[dict[str, Any]]) -> set[str]:
        """Store analysed messages (redacted text only); return the ids that were new."""
        with self.write() as conn:
            self.ensure_customers(conn, [r["customer_id"] for r in rows])
            out = self.opted_out(conn, [r["customer_id"] for r in rows])
            for r in rows:
                if r["customer_id"] in out:
                    r.update(dict.fromkeys(PROFILE_COLUMNS))
            return self.insert_new(conn, self.t.messages, rows, "message_id")

    def insert_events(self, rows: list[dict[str, Any]]) -> set[str]:
        with self.write() as conn:
            self.ensure_customers(conn, [r["customer_id"] for r in rows])
            return self.insert_new(conn, self.t.events, rows, "event_id")

    def messages_of(self, customer_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        m = self.t.messages
        with self.read() as conn:
            rows = conn.execute(sa.select(m).where(m.c.customer_id == customer_id)
                                .order_by(m.c.timestamp.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in reversed(rows)]

    def events_of(self, customer_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        e = self.t.events
        with self.read() as conn:
            rows = conn.execute(sa.select(e).where(e.c.customer_id == customer_id)
                                .order_by(e.c.timestamp.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in reversed(rows)]
