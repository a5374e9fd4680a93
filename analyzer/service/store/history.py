"""Each customer's risk over time (``risk_history``): one row per customer and day, the day's last judgement.

Written in the transaction that stores the customers' current state
(:meth:`~analyzer.service.store.foresight.ForesightStore.save_states`), so the customer page's
"risk over time" is exactly the sequence of risks the team saw. One row a day keeps the table
small whatever the sweep's schedule: 100,000 customers judged hourly are 100,000 rows a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection

from analyzer.service.store.alerts import AlertStore

__all__ = ["RiskHistoryStore"]

_CHUNK = 1000


class RiskHistoryStore(AlertStore):
    """Daily risk snapshots (a mixin of :class:`~analyzer.service.store.Store`)."""

    def record_risk(self, conn: Connection, states: Sequence[dict[str, Any]], as_of: dt.datetime) -> None:
        """Keep ``states`` (``customer_id, risk, odds_ratio, severity``) as the risk of ``as_of``'s day.

        A later judgement on the same day replaces the earlier one; an earlier ``as_of`` than the one
        stored (a re-run about the past) does not overwrite it.
        """
        if not states:
            return
        h = self.t.risk_history
        day = as_of.astimezone(dt.UTC).strftime("%Y-%m-%d")
        # A customer erased while the evaluation ran has no row any more: nothing of theirs comes back.
        known = self.existing_keys(conn, self.t.customers, "customer_id", [s["customer_id"] for s in states])
        rows = [{"customer_id": s["customer_id"], "day": day, "risk": float(s["risk"]),
                 "odds_ratio": None if s.get("odds_ratio") is None else float(s["odds_ratio"]),
                 "severity": str(s["severity"]), "as_of": as_of} for s in states if s["customer_id"] in known]
        if not rows:
            return
        if self.dialect in ("postgresql", "sqlite"):
            ins = pg_dialect.insert(h) if self.dialect == "postgresql" else sqlite_dialect.insert(h)
            stmt = ins.on_conflict_do_update(
                index_elements=["customer_id", "day"],
                set_={k: ins.excluded[k] for k in ("risk", "odds_ratio", "severity", "as_of")},
                where=h.c.as_of <= ins.excluded.as_of)
            for i in range(0, len(rows), _CHUNK):
                conn.execute(stmt, rows[i:i + _CHUNK])
            return
        ids = [r["customer_id"] for r in rows]
        for i in range(0, len(ids), _CHUNK):
            conn.execute(h.delete().where(h.c.day == day, h.c.customer_id.in_(ids[i:i + _CHUNK])))
        conn.execute(h.insert(), rows)

    def risk_series(self, customer_id: str, *, since: dt.datetime | None = None) -> list[dict[str, Any]]:
        """The customer's daily risk, oldest first: ``[{day, risk, odds_ratio, severity, as_of}]``."""
        h = self.t.risk_history
        q = sa.select(h.c.day, h.c.risk, h.c.odds_ratio, h.c.severity, h.c.as_of).where(h.c.customer_id == customer_id)
        if since is not None:
            q = q.where(h.c.day >= since.astimezone(dt.UTC).strftime("%Y-%m-%d"))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q.order_by(h.c.day)).mappings()]
