"""What the support team's workspace reads: the overview's rows, the outcome report's rows, a customer's
story, and the rule table and taxonomy saved from the Settings page (``config_versions``).

Only SQL lives here; the numbers are computed by :mod:`analyzer.service.workspace` from these rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from analyzer.schema import OWN_ACTIVITY_TYPES
from analyzer.service.db import utcnow
from analyzer.service.store.foresight import ForesightStore

__all__ = ["CONFIG_KINDS", "WorkspaceStore"]

CONFIG_KINDS: tuple[str, ...] = ("rules", "taxonomy")
_AT_RISK = ("low", "medium", "high", "critical")
_TICKETS = ("ticket_opened", "ticket_replied", "ticket_resolved")
_CHUNK = 1000


class WorkspaceStore(ForesightStore):
    """Reads of the workspace pages (a mixin of :class:`~analyzer.service.store.Store`)."""

    # -- overview ----------------------------------------------------------------------------
    def severity_counts(self) -> dict[str, dict[str, int]]:
        """Customers with a current risk by severity: ``{"active": {...}, "lapsed": {...}}``."""
        c = self.t.customers
        q = (sa.select(c.c.severity, c.c.lapsed, sa.func.count()).where(c.c.opt_out.is_(False), c.c.risk.is_not(None))
             .group_by(c.c.severity, c.c.lapsed))
        out: dict[str, dict[str, int]] = {"active": {}, "lapsed": {}}
        with self.read() as conn:
            for sev, lapsed, n in conn.execute(q):
                out["lapsed" if lapsed else "active"][str(sev)] = int(n)
        return out

    def at_risk_customers(self) -> list[dict[str, Any]]:
        """Customers at severity low or above and not lapsed: ``customer_id, risk, severity, value_tier``."""
        c = self.t.customers
        q = sa.select(c.c.customer_id, c.c.risk, c.c.severity, c.c.value_tier).where(
            c.c.opt_out.is_(False), c.c.severity.in_(_AT_RISK), sa.or_(c.c.lapsed.is_(False), c.c.lapsed.is_(None)))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def purchases_of(self, customer_ids: Sequence[str], since: dt.datetime) -> list[tuple[str, Any]]:
        """``(customer_id, value)`` of these customers' purchases since ``since``."""
        e = self.t.events
        ids = sorted(set(customer_ids))
        out: list[tuple[str, Any]] = []
        with self.read() as conn:
            for i in range(0, len(ids), _CHUNK):
                q = sa.select(e.c.customer_id, e.c.value).where(
                    e.c.type == "purchase", e.c.timestamp >= since, e.c.customer_id.in_(ids[i:i + _CHUNK]))
                out.extend((str(r[0]), r[1]) for r in conn.execute(q))
        return out

    def alerts_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Alerts raised in ``[start, end)``: id, customer, time, severity, cause, rule, action, tier, status."""
        a = self.t.alerts
        q = sa.select(a.c.alert_id, a.c.customer_id, a.c.alerted_at, a.c.severity, a.c.cause, a.c.rule, a.c.action,
                      a.c.value_tier, a.c.status, a.c.assignee).where(a.c.alerted_at >= start, a.c.alerted_at < end)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q.order_by(a.c.alerted_at)).mappings()]

    def message_rows(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Messages in ``[start, end)``: ``timestamp, themes, sentiment_score`` (no text)."""
        m = self.t.messages
        q = sa.select(m.c.timestamp, m.c.themes, m.c.sentiment_score).where(m.c.timestamp >= start,
                                                                            m.c.timestamp < end)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def ticket_events(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Ticket events in ``[start, end)``: ``customer_id, timestamp, type, value``."""
        e = self.t.events
        q = sa.select(e.c.customer_id, e.c.timestamp, e.c.type, e.c.value).where(
            e.c.type.in_(_TICKETS), e.c.timestamp >= start, e.c.timestamp < end)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q.order_by(e.c.timestamp)).mappings()]

    # -- outcomes ----------------------------------------------------------------------------
    def activity_times(self, customer_ids: Sequence[str], start: dt.datetime, end: dt.datetime
                       ) -> dict[str, list[dt.datetime]]:
        """When each customer did something themselves (a message, or an event of OWN_ACTIVITY_TYPES)
        in ``[start, end)``, sorted."""
        m, e = self.t.messages, self.t.events
        ids = sorted(set(customer_ids))
        out: dict[str, list[dt.datetime]] = {c: [] for c in ids}
        with self.read() as conn:
            for i in range(0, len(ids), _CHUNK):
                part = ids[i:i + _CHUNK]
                qm = sa.select(m.c.customer_id, m.c.timestamp).where(m.c.customer_id.in_(part), m.c.timestamp >= start,
                                                                     m.c.timestamp < end)
                qe = sa.select(e.c.customer_id, e.c.timestamp).where(
                    e.c.customer_id.in_(part), e.c.type.in_(OWN_ACTIVITY_TYPES), e.c.timestamp >= start,
                    e.c.timestamp < end)
                for q in (qm, qe):
                    for cid, ts in conn.execute(q):
                        out[str(cid)].append(ts)
        for times in out.values():
            times.sort()
        return out

    def actions_between(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Actions recorded on the alerts raised in ``[start, end)``."""
        t, a = self.t.alert_actions, self.t.alerts
        q = (sa.select(t).join(a, a.c.alert_id == t.c.alert_id)
             .where(a.c.alerted_at >= start, a.c.alerted_at < end).order_by(t.c.id))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- one customer's story ----------------------------------------------------------------
    def events_since(self, customer_id: str, since: dt.datetime) -> list[dict[str, Any]]:
        e = self.t.events
        q = (sa.select(e.c.event_id, e.c.timestamp, e.c.type, e.c.value, e.c.channel)
             .where(e.c.customer_id == customer_id, e.c.timestamp >= since).order_by(e.c.timestamp))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def messages_since(self, customer_id: str, since: dt.datetime) -> list[dict[str, Any]]:
        m = self.t.messages
        cols = ("message_id", "timestamp", "channel", "lang", "text_redacted", "sentiment_label", "sentiment_score",
                "themes", "theme_evidence")
        q = (sa.select(*[m.c[k] for k in cols]).where(m.c.customer_id == customer_id, m.c.timestamp >= since)
             .order_by(m.c.timestamp))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- saved settings ----------------------------------------------------------------------
    def save_config(self, kind: str, text: str, created_by: str) -> int:
        v = self.t.config_versions
        with self.write() as conn:
            return int(conn.execute(v.insert().values(kind=kind, text=text, created_by=created_by,
                                                      created_at=utcnow()).returning(v.c.id)).scalar_one())

    def latest_config(self, kind: str) -> dict[str, Any] | None:
        """The newest saved version of ``kind`` (rules or taxonomy): ``{id, kind, text, created_by, created_at}``."""
        v = self.t.config_versions
        with self.read() as conn:
            row = conn.execute(sa.select(v).where(v.c.kind == kind).order_by(v.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def config_history(self, kind: str, limit: int = 20) -> list[dict[str, Any]]:
        """Who saved which version, newest first (without the texts)."""
        v = self.t.config_versions
        q = (sa.select(v.c.id, v.c.created_by, v.c.created_at).where(v.c.kind == kind)
             .order_by(v.c.id.desc()).limit(limit))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]
