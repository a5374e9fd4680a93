"""Alerts, agents' feedback on them and the live feed's log (``alert_events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.base import jsonable
from analyzer.service.store.records import RecordStore

__all__ = ["ALERT_STATUSES", "AlertStore"]

ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved", "dismissed", "withdrawn")


class AlertStore(RecordStore):
    """Alerts (with customers' current risk), feedback and the feed."""

    def save_evaluation(self, risk_rows: dict[str, dict[str, Any]], alert_rows: list[dict[str, Any]],
                        as_of: dt.datetime) -> list[str]:
        """Store customers' current risk and the new alerts; return the new alert ids."""
        c, a = self.t.customers, self.t.alerts
        now = utcnow()
        with self.write() as conn:
            # A customer who opted out while the evaluation ran gets nothing stored.
            out = self.opted_out(conn, list(risk_rows) + [r["customer_id"] for r in alert_rows])
            for cid, r in risk_rows.items():
                if cid in out:
                    continue
                conn.execute(c.update().where(c.c.customer_id == cid).values(
                    risk=r["risk"], severity=r["severity"], reasons=jsonable(r["reasons"]), risk_as_of=as_of,
                    updated_at=now))
            rows = [{**r, "reasons": jsonable(r["reasons"]), "status": "open", "status_changed_at": now}
                    for r in alert_rows if r["customer_id"] not in out]
            new = self.insert_new(conn, a, rows, "alert_id")
            if new:
                conn.execute(self.t.alert_events.insert(), [
                    {"alert_id": r["alert_id"], "customer_id": r["customer_id"], "kind": "new", "at": now}
                    for r in rows if r["alert_id"] in new])
        return sorted(new)

    def list_alerts(self, *, status: Sequence[str] | None = None, severity: Sequence[str] | None = None,
                    customer_id: str | None = None, action: str | None = None, since: dt.datetime | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        a = self.t.alerts
        conds: list[Any] = []
        if status:
            conds.append(a.c.status.in_(list(status)))
        if severity:
            conds.append(a.c.severity.in_(list(severity)))
        if customer_id:
            conds.append(a.c.customer_id == customer_id)
        if action:
            conds.append(a.c.action == action)
        if since:
            conds.append(a.c.alerted_at >= since)
        # Most severe first, then newest: the order a support team works the list in.
        sev_rank = sa.case({"critical": 4, "high": 3, "medium": 2, "low": 1}, value=a.c.severity, else_=0)
        with self.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(a).where(*conds)).scalar_one()
            rows = conn.execute(sa.select(a).where(*conds)
                                .order_by(sev_rank.desc(), a.c.alerted_at.desc(), a.c.alert_id)
                                .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], int(total)

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        a = self.t.alerts
        with self.read() as conn:
            row = conn.execute(sa.select(a).where(a.c.alert_id == alert_id)).mappings().first()
        return dict(row) if row else None

    def set_alert_status(self, alert_id: str, status: str, *, agent: str, useful: bool | None,
                         outcome: str | None, note: str | None) -> dict[str, Any] | None:
        a, f = self.t.alerts, self.t.feedback
        now = utcnow()
        with self.write() as conn:
            row = conn.execute(sa.select(a.c.customer_id).where(a.c.alert_id == alert_id)).first()
            if row is None:
                return None
            conn.execute(a.update().where(a.c.alert_id == alert_id).values(status=status, status_changed_at=now))
            # Feedback is kept as labelled data for re-fitting the risk model later.
            conn.execute(f.insert().values(alert_id=alert_id, customer_id=row.customer_id, status=status,
                                           useful=useful, outcome=outcome, note=note, agent=agent, created_at=now))
            conn.execute(self.t.alert_events.insert().values(alert_id=alert_id, customer_id=row.customer_id,
                                                             kind=status, at=now))
        return self.get_alert(alert_id)

    def feedback_of(self, *, alert_id: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
        f = self.t.feedback
        q = sa.select(f).order_by(f.c.id)
        if alert_id:
            q = q.where(f.c.alert_id == alert_id)
        if customer_id:
            q = q.where(f.c.customer_id == customer_id)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- the live feed ---------------------------------------------------------------
    def feed_after(self, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        ev, a = self.t.alert_events, self.t.alerts
        q = (sa.select(ev.c.id.label("event_id"), ev.c.kind, ev.c.at, a)
             .join(a, a.c.alert_id == ev.c.alert_id).where(ev.c.id > after_id).order_by(ev.c.id).limit(limit))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def last_feed_id(self) -> int:
        with self.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(self.t.alert_events.c.id))).scalar() or 0)
