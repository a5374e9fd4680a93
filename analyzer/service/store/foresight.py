"""The foresight engine's storage: fitted models, the evaluation queue, customer states and the ranked list.

- ``foresight_models``: every fitted :class:`~analyzer.foresight.model.ForesightModel` as JSON, the
  newest in use (the history stays, so a change of risk can be traced to a refit);
- ``evaluation_queue``: customers waiting for the worker, one row each however many times they
  were asked for; rows of a back-fill are held until it completes;
- customer states: each customer's current risk, odds ratio, severity, lapse, main cause, urgent
  causes and reasons, on the ``customers`` row, written with the alerts in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa

from analyzer.schema import SEVERITIES
from analyzer.service.db import utcnow
from analyzer.service.store.base import jsonable
from analyzer.service.store.history import RiskHistoryStore

__all__ = ["CUSTOMER_SORTS", "ForesightStore"]

CUSTOMER_SORTS = ("risk", "odds_ratio", "days_inactive", "customer_id")
_CHUNK = 1000


class ForesightStore(RiskHistoryStore):
    """Models, queue, states and the customer list (a mixin of :class:`~analyzer.service.store.Store`)."""

    # -- models ------------------------------------------------------------------------------
    def save_model(self, model: dict[str, Any], *, as_of: dt.datetime, source: str,
                   fitted_at: dt.datetime | None = None) -> int:
        t = self.t.models
        with self.write() as conn:
            return int(conn.execute(t.insert().values(fitted_at=fitted_at or utcnow(), as_of=as_of, source=source,
                                                      model=model)
                                    .returning(t.c.id)).scalar_one())

    def latest_model(self) -> dict[str, Any] | None:
        """The newest fitted model: ``{id, fitted_at, as_of, source, model}``, or None before the first fit."""
        t = self.t.models
        with self.read() as conn:
            row = conn.execute(sa.select(t).order_by(t.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    # -- the queue ---------------------------------------------------------------------------
    def enqueue(self, customer_ids: Iterable[str], *, held: bool = False) -> int:
        """Ask for these customers' re-evaluation; returns how many were not waiting already.

        ``held``: part of a back-fill -- they wait, also those already queued, until it completes. A
        plain request never releases a held customer: judged on half of an imported history, a
        customer would look as if they had stopped.
        """
        ids = sorted(set(customer_ids))
        if not ids:
            return 0
        now = utcnow()
        q = self.t.evaluation_queue
        with self.write() as conn:
            new = self.insert_new(conn, q, [{"customer_id": c, "requested_at": now, "held": held} for c in ids],
                                  "customer_id")
            if held:
                for i in range(0, len(ids), _CHUNK):
                    conn.execute(q.update().where(q.c.customer_id.in_(ids[i:i + _CHUNK]), q.c.held.is_(False))
                                 .values(held=True))
        return len(new)

    def release_held(self) -> int:
        """A back-fill is complete: its customers join the queue."""
        q = self.t.evaluation_queue
        with self.write() as conn:
            return int(conn.execute(q.update().where(q.c.held.is_(True)).values(held=False, requested_at=utcnow()))
                       .rowcount)

    def claim(self, limit: int = 500) -> list[str]:
        """Take up to ``limit`` customers off the queue (oldest first); no two workers get the same one."""
        q = self.t.evaluation_queue
        with self.write() as conn:
            pick = sa.select(q.c.customer_id).where(q.c.held.is_(False)).order_by(q.c.requested_at, q.c.customer_id)
            if self.dialect == "postgresql":
                pick = pick.limit(limit).with_for_update(skip_locked=True)
                rows = conn.execute(q.delete().where(q.c.customer_id.in_(pick.scalar_subquery()))
                                    .returning(q.c.customer_id)).all()
                return sorted(str(r[0]) for r in rows)
            ids = [str(r[0]) for r in conn.execute(pick.limit(limit))]
            for i in range(0, len(ids), _CHUNK):
                conn.execute(q.delete().where(q.c.customer_id.in_(ids[i:i + _CHUNK])))
            return sorted(ids)

    def queue_size(self) -> dict[str, int]:
        q = self.t.evaluation_queue
        with self.read() as conn:
            rows = conn.execute(sa.select(q.c.held, sa.func.count()).group_by(q.c.held)).all()
        counts = {bool(h): int(n) for h, n in rows}
        return {"waiting": counts.get(False, 0), "held": counts.get(True, 0)}

    # -- reading what the engine needs -------------------------------------------------------
    def customer_ids(self) -> list[str]:
        """Every customer who has not opted out (what the sweep re-evaluates)."""
        c = self.t.customers
        with self.read() as conn:
            return [str(r[0]) for r in conn.execute(sa.select(c.c.customer_id).where(c.c.opt_out.is_(False))
                                                    .order_by(c.c.customer_id))]

    def data_time(self) -> dt.datetime | None:
        """The latest message or event time stored (the judgement time of the "data" clock)."""
        m, e = self.t.messages, self.t.events
        with self.read() as conn:
            stamps = [conn.execute(sa.select(sa.func.max(t.c.timestamp))).scalar() for t in (m, e)]
        valid = [s for s in stamps if s is not None]
        return max(valid) if valid else None

    def history_frames(self, customer_ids: Sequence[str] | None = None
                       ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The whole history of these customers (None: everyone): messages (with their redacted text for
        quotes), events, customers and earlier alerts -- the inputs of the foresight engine."""
        m, e, c, a = self.t.messages, self.t.events, self.t.customers, self.t.alerts
        ids = None if customer_ids is None else list(customer_ids)

        def select(query: Any, table: sa.Table) -> list[dict[str, Any]]:
            out: list[dict[str, Any]] = []
            with self.read() as conn:
                if ids is None:
                    return [dict(r) for r in conn.execute(query).mappings()]
                for i in range(0, len(ids), _CHUNK):
                    part = query.where(table.c.customer_id.in_(ids[i:i + _CHUNK]))
                    out.extend(dict(r) for r in conn.execute(part).mappings())
            return out

        msg_cols = ["message_id", "customer_id", "timestamp", "channel", "sentiment_label", "sentiment_score",
                    "themes", "text_redacted"]
        msgs = select(sa.select(*[m.c[k] for k in msg_cols]).where(m.c.sentiment_label.is_not(None)), m)
        ev_cols = ["event_id", "customer_id", "timestamp", "type", "value", "channel"]
        evs = select(sa.select(*[e.c[k] for k in ev_cols]), e)
        cust_cols = ["customer_id", "segment", "value_tier", "opt_out"]
        custs = select(sa.select(*[c.c[k] for k in cust_cols]), c)
        hist_cols = ["customer_id", "cause", "alerted_at", "severity"]
        hist = select(sa.select(*[a.c[k] for k in hist_cols]), a)
        messages = pd.DataFrame(msgs, columns=msg_cols)
        messages["themes"] = pd.Series([list(t or []) for t in messages["themes"]], index=messages.index, dtype=object)
        events = pd.DataFrame(evs, columns=ev_cols)
        # Amounts, ticket or campaign ids and scores share one column, as in the files.
        events["value"] = pd.Series(list(events["value"]), index=events.index, dtype=object)
        for df in (messages, events):
            df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
        customers = pd.DataFrame(custs, columns=cust_cols)
        history = pd.DataFrame(hist, columns=hist_cols)
        return messages, events, customers, history

    # -- writing the engine's results --------------------------------------------------------
    def save_states(self, states: list[dict[str, Any]], alerts: list[dict[str, Any]], as_of: dt.datetime) -> list[str]:
        """Customers' current state and the new alerts, in one transaction; returns the new alert ids.

        A customer who opted out while the evaluation ran gets nothing stored. Alerts with an id
        already stored are not stored again (ids are deterministic: customer, cause, time).
        """
        c, a = self.t.customers, self.t.alerts
        now = utcnow()
        with self.write() as conn:
            out = self.opted_out(conn, [s["customer_id"] for s in states] + [r["customer_id"] for r in alerts])
            rows = [s for s in states if s["customer_id"] not in out]
            if rows:
                stmt = c.update().where(c.c.customer_id == sa.bindparam("cid")).values(
                    risk=sa.bindparam("risk"), severity=sa.bindparam("severity"), reasons=sa.bindparam("reasons"),
                    risk_as_of=sa.bindparam("risk_as_of"), odds_ratio=sa.bindparam("odds_ratio"),
                    lapsed=sa.bindparam("lapsed"), cause=sa.bindparam("cause"), urgent=sa.bindparam("urgent"),
                    days_inactive=sa.bindparam("days_inactive"), updated_at=sa.bindparam("updated_at"))
                conn.execute(stmt, [{"cid": s["customer_id"], "risk": s["risk"], "severity": s["severity"],
                                     "reasons": jsonable(s["reasons"]), "risk_as_of": as_of,
                                     "odds_ratio": s["odds_ratio"], "lapsed": s["lapsed"], "cause": s["cause"],
                                     "urgent": list(s["urgent"]), "days_inactive": s["days_inactive"],
                                     "updated_at": now} for s in rows])
                self.record_risk(conn, rows, as_of)  # the customer page's risk over time
            fresh = [{**r, "reasons": jsonable(r["reasons"]), "status": "open", "status_changed_at": now}
                     for r in alerts if r["customer_id"] not in out]
            new = self.insert_new(conn, a, fresh, "alert_id")
            if new:
                conn.execute(self.t.alert_events.insert(), [
                    {"alert_id": r["alert_id"], "customer_id": r["customer_id"], "kind": "new", "at": now}
                    for r in fresh if r["alert_id"] in new])
        return sorted(new)

    # -- the ranked customer list --------------------------------------------------------------
    def list_customers(self, *, sort: str = "risk", segment: str | None = None, tier: Sequence[str] | None = None,
                       severity: Sequence[str] | None = None, cause: str | None = None, lapsed: bool | None = None,
                       limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Customers with a state, riskiest first by default, filtered; ``(rows, total)``."""
        c = self.t.customers
        conds: list[Any] = [c.c.opt_out.is_(False), c.c.risk.is_not(None)]
        if segment:
            conds.append(c.c.segment == segment)
        if tier:
            conds.append(c.c.value_tier.in_(list(tier)))
        if severity:
            conds.append(c.c.severity.in_(list(severity)))
        if cause:
            conds.append(c.c.cause == cause)
        if lapsed is not None:
            conds.append(c.c.lapsed.is_(lapsed))
        key = {"risk": c.c.risk.desc(), "odds_ratio": c.c.odds_ratio.desc(), "days_inactive": c.c.days_inactive.desc(),
               "customer_id": c.c.customer_id.asc()}[sort]
        sev_rank = sa.case({s: i for i, s in enumerate(SEVERITIES)}, value=c.c.severity, else_=0)
        order = [key, c.c.customer_id] if sort != "risk" else [sev_rank.desc(), key, c.c.customer_id]
        with self.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(c).where(*conds)).scalar_one()
            page = sa.select(c).where(*conds).order_by(*order).limit(limit).offset(offset)
            rows = conn.execute(page).mappings().all()
        return [dict(r) for r in rows], int(total)
