"""Outbound subscriptions (webhooks, CRM tasks, notifications), their deliveries and the dead-letter list.

A delivery's id is its idempotency key (one per subscription, alert and event), so collecting the
same alert twice, from two processes or after a restart, stores one delivery. A delivery is
``pending`` until it is ``delivered`` or, once it has used its attempts (or met a permanent
refusal), ``dead``: the dead-letter list. :meth:`OutboundStore.claim_delivery` leases a due delivery
to one dispatcher at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.base import StoreBase

__all__ = ["DELIVERY_STATUSES", "OutboundStore"]

DELIVERY_STATUSES: tuple[str, ...] = ("pending", "delivered", "dead")
_CURSOR = "alert_events"


class OutboundStore(StoreBase):
    # -- subscriptions ---------------------------------------------------------------
    def add_subscription(self, row: dict[str, Any]) -> dict[str, Any]:
        with self.write() as conn:
            conn.execute(self.t.webhook_subscriptions.insert().values(**row, created_at=utcnow()))
        out = self.get_subscription(row["id"])
        assert out is not None
        return out

    def get_subscription(self, sub_id: str) -> dict[str, Any] | None:
        w = self.t.webhook_subscriptions
        with self.read() as conn:
            row = conn.execute(sa.select(w).where(w.c.id == sub_id)).mappings().first()
        return dict(row) if row else None

    def list_subscriptions(self) -> list[dict[str, Any]]:
        w = self.t.webhook_subscriptions
        with self.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(w).order_by(w.c.created_at, w.c.id)).mappings()]

    def delete_subscription(self, sub_id: str) -> bool:
        """Remove a subscription and every delivery of it (pending, delivered or dead)."""
        w, d = self.t.webhook_subscriptions, self.t.outbound_deliveries
        with self.write() as conn:
            conn.execute(d.delete().where(d.c.subscription_id == sub_id))
            return bool(conn.execute(w.delete().where(w.c.id == sub_id)).rowcount)

    # -- the alert log, read after a cursor -------------------------------------------
    def outbound_cursor(self) -> int | None:
        st = self.t.outbound_state
        with self.read() as conn:
            value = conn.execute(sa.select(st.c.value).where(st.c.name == _CURSOR)).scalar()
        return None if value is None else int(value)

    def set_outbound_cursor(self, value: int) -> None:
        """Move the cursor forward (never back: two dispatchers may race)."""
        st = self.t.outbound_state
        with self.write() as conn:
            now = conn.execute(sa.select(st.c.value).where(st.c.name == _CURSOR)).scalar()
            if now is None:
                self.insert_new(conn, st, [{"name": _CURSOR, "value": value}], "name")
            elif value > int(now):
                conn.execute(st.update().where(st.c.name == _CURSOR, st.c.value < value).values(value=value))

    def new_alerts_after(self, after_id: int, limit: int = 500) -> list[dict[str, Any]]:
        """New-alert entries of the alert log after ``after_id``, with the alert, oldest first."""
        ev, a = self.t.alert_events, self.t.alerts
        q = (sa.select(ev.c.id.label("log_id"), ev.c.at.label("logged_at"), a)
             .join(a, a.c.alert_id == ev.c.alert_id).where(ev.c.id > after_id, ev.c.kind == "new")
             .order_by(ev.c.id).limit(limit))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def last_alert_log_id(self) -> int:
        with self.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(self.t.alert_events.c.id))).scalar() or 0)

    def earlier_alerts(self, customer_id: str, before: dt.datetime, since: dt.datetime,
                       exclude: str) -> list[dict[str, Any]]:
        """The customer's other alerts raised in ``[since, before]`` (what an escalation is measured against)."""
        a = self.t.alerts
        q = sa.select(a.c.alert_id, a.c.severity, a.c.alerted_at).where(
            a.c.customer_id == customer_id, a.c.alerted_at >= since, a.c.alerted_at <= before, a.c.alert_id != exclude)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- deliveries --------------------------------------------------------------------
    def add_deliveries(self, rows: list[dict[str, Any]]) -> set[str]:
        with self.write() as conn:
            return self.insert_new(conn, self.t.outbound_deliveries, rows, "id")

    def due_deliveries(self, now: dt.datetime, limit: int = 50) -> list[str]:
        d = self.t.outbound_deliveries
        with self.read() as conn:
            return [str(r[0]) for r in conn.execute(
                sa.select(d.c.id).where(d.c.status == "pending", d.c.next_attempt_at <= now)
                .order_by(d.c.next_attempt_at, d.c.created_at).limit(limit))]

    def next_due_at(self) -> dt.datetime | None:
        d = self.t.outbound_deliveries
        with self.read() as conn:
            value: dt.datetime | None = conn.execute(
                sa.select(sa.func.min(d.c.next_attempt_at)).where(d.c.status == "pending")).scalar()
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value

    def claim_delivery(self, delivery_id: str, now: dt.datetime, lease_until: dt.datetime) -> dict[str, Any] | None:
        """Lease a due delivery (no other dispatcher will take it before ``lease_until``); None if taken."""
        d = self.t.outbound_deliveries
        with self.write() as conn:
            hit = conn.execute(d.update().where(d.c.id == delivery_id, d.c.status == "pending",
                                                d.c.next_attempt_at <= now).values(next_attempt_at=lease_until))
            if hit.rowcount != 1:
                return None
            row = conn.execute(sa.select(d).where(d.c.id == delivery_id)).mappings().first()
        return dict(row) if row else None

    def finish_attempt(self, delivery_id: str, *, ok: bool, status_code: int | None, error: str | None,
                       next_attempt_at: dt.datetime | None) -> None:
        """Record one attempt: delivered, retried at ``next_attempt_at``, or dead (no next attempt)."""
        d = self.t.outbound_deliveries
        now = utcnow()
        values: dict[str, Any] = {"attempts": d.c.attempts + 1, "last_status": status_code,
                                  "last_error": None if ok else (error or "")[:2000]}
        if ok:
            values.update(status="delivered", finished_at=now)
        elif next_attempt_at is None:
            values.update(status="dead", finished_at=now)
        else:
            values.update(next_attempt_at=next_attempt_at)
        with self.write() as conn:
            conn.execute(d.update().where(d.c.id == delivery_id).values(**values))

    def get_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        d = self.t.outbound_deliveries
        with self.read() as conn:
            row = conn.execute(sa.select(d).where(d.c.id == delivery_id)).mappings().first()
        return dict(row) if row else None

    def list_deliveries(self, *, status: Sequence[str] | None = None, subscription_id: str | None = None,
                        alert_id: str | None = None, limit: int = 50, offset: int = 0
                        ) -> tuple[list[dict[str, Any]], int]:
        d = self.t.outbound_deliveries
        conds: list[Any] = []
        if status:
            conds.append(d.c.status.in_(list(status)))
        if subscription_id:
            conds.append(d.c.subscription_id == subscription_id)
        if alert_id:
            conds.append(d.c.alert_id == alert_id)
        with self.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(d).where(*conds)).scalar_one()
            rows = conn.execute(sa.select(d).where(*conds).order_by(d.c.created_at.desc(), d.c.id)
                                .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], int(total)

    def retry_delivery(self, delivery_id: str) -> dict[str, Any] | None:
        """A dead letter back on the queue, due now, with its attempts counted afresh."""
        d = self.t.outbound_deliveries
        with self.write() as conn:
            hit = conn.execute(d.update().where(d.c.id == delivery_id, d.c.status == "dead")
                               .values(status="pending", attempts=0, next_attempt_at=utcnow(), finished_at=None))
            if hit.rowcount != 1:
                return None
        return self.get_delivery(delivery_id)

    def erase_deliveries(self, customer_id: str) -> int:
        """Erasure: every delivery (and so its payload) about the customer."""
        d = self.t.outbound_deliveries
        with self.write() as conn:
            return int(conn.execute(d.delete().where(d.c.customer_id == customer_id)).rowcount)
