"""Alerts, agents' feedback on them and the live feed's log (``alert_events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.records import RecordStore

__all__ = ["ALERT_STATUSES", "AlertStore"]

ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved", "dismissed", "withdrawn")


class AlertStore(RecordStore):
    """Alerts (with customers' current risk), feedback and the feed."""

    def list_alerts(self, *, status: Sequence[str] | None = None, severity: Sequence[str] | None = None,
                    customer_id: str | None = None, action: str | None = None, since: dt.datetime | None = None,
                    cause: str | None = None, segment: str | None = None, assignee: str | None = None,
                    q: str | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Alerts matching every filter given, most severe then newest first; ``(rows, total)``.

        ``assignee``: an agent's name, or ``""`` for alerts nobody owns. ``q``: part of the customer id
        or of the justification (either language), case-insensitive.
        """
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
        if cause:
            conds.append(a.c.cause == cause)
        if segment:
            conds.append(a.c.segment == segment)
        if assignee is not None:
            conds.append(a.c.assignee.is_(None) if assignee == "" else a.c.assignee == assignee)
        if q:
            like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            conds.append(sa.or_(*(sa.func.lower(col).like(like, escape="\\")
                                  for col in (a.c.customer_id, a.c.justification_es, a.c.justification_en))))
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

    def alerts_raised_since(self, customer_ids: Sequence[str] | None, since: dt.datetime) -> list[str]:
        """Ids of the alerts raised for these customers (None: anyone) at or after ``since``, by any evaluation."""
        ev = self.t.alert_events
        out: list[str] = []
        with self.read() as conn:
            if customer_ids is None:
                q = sa.select(ev.c.alert_id).where(ev.c.kind == "new", ev.c.at >= since)
                return sorted({str(r[0]) for r in conn.execute(q)})
            ids = sorted(set(customer_ids))
            for i in range(0, len(ids), 500):
                q = sa.select(ev.c.alert_id).where(ev.c.customer_id.in_(ids[i:i + 500]), ev.c.kind == "new",
                                                   ev.c.at >= since)
                out.extend(str(r[0]) for r in conn.execute(q))
        return sorted(set(out))

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
