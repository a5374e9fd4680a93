"""What agents do with alerts: who owns an alert, the action they took, its outcome, and the alert's history.

- the owner: ``alerts.assignee`` (an agent's name, i.e. the name of the agent's API key), announced
  on the live feed as ``assigned``;
- ``alert_actions``: one row per action an agent took on an alert (``priority_call``, ...), under the
  agent's name, and later its outcome (``retained``, ``churned``, ``unknown``) with who recorded it;
- the alert's history: its feed entries, status changes (``alert_feedback``) and actions, oldest
  first, each naming who did it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.alerts import AlertStore

__all__ = ["OUTCOMES", "ActionStore"]

OUTCOMES: tuple[str, ...] = ("retained", "churned", "unknown")
"""What became of a customer an agent acted on, as the agent recorded it."""


class ActionStore(AlertStore):
    """Owners, actions taken and outcomes (a mixin of :class:`~analyzer.service.store.Store`)."""

    def assign_alert(self, alert_id: str, assignee: str | None) -> dict[str, Any] | None:
        """Give the alert to ``assignee`` (None: nobody); the feed announces it. None when there is no such alert."""
        a = self.t.alerts
        now = utcnow()
        with self.write() as conn:
            row = conn.execute(sa.select(a.c.customer_id).where(a.c.alert_id == alert_id)).first()
            if row is None:
                return None
            conn.execute(a.update().where(a.c.alert_id == alert_id)
                         .values(assignee=assignee, assigned_at=now if assignee else None))
            conn.execute(self.t.alert_events.insert().values(alert_id=alert_id, customer_id=row.customer_id,
                                                             kind="assigned", at=now))
        return self.get_alert(alert_id)

    def record_action(self, alert_id: str, customer_id: str, *, action: str, agent: str,
                      note: str | None) -> dict[str, Any]:
        t = self.t.alert_actions
        with self.write() as conn:
            aid = conn.execute(t.insert().values(alert_id=alert_id, customer_id=customer_id, action=action,
                                                 agent=agent, taken_at=utcnow(), note=note)
                               .returning(t.c.id)).scalar_one()
            row = conn.execute(sa.select(t).where(t.c.id == aid)).mappings().one()
        return dict(row)

    def record_outcome(self, alert_id: str, *, outcome: str, agent: str) -> list[dict[str, Any]]:
        """Set the outcome of every action taken on the alert; returns them (empty: no action was recorded)."""
        t = self.t.alert_actions
        with self.write() as conn:
            conn.execute(t.update().where(t.c.alert_id == alert_id)
                         .values(outcome=outcome, outcome_by=agent, outcome_at=utcnow()))
            rows = conn.execute(sa.select(t).where(t.c.alert_id == alert_id).order_by(t.c.id)).mappings().all()
        return [dict(r) for r in rows]

    def actions_of(self, *, alert_id: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
        t = self.t.alert_actions
        q = sa.select(t).order_by(t.c.id)
        if alert_id is not None:
            q = q.where(t.c.alert_id == alert_id)
        if customer_id is not None:
            q = q.where(t.c.customer_id == customer_id)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def alert_history(self, alert_id: str) -> list[dict[str, Any]]:
        """Who did what to the alert, oldest first: ``[{at, kind, agent, detail}]``.

        ``kind``: ``raised``, a status (``acknowledged``, ``resolved``, ...), ``assigned``, ``action``,
        ``outcome``. Status changes and actions name the agent; ``assigned`` names the new owner.
        """
        f, t, a = self.t.feedback, self.t.alert_actions, self.t.alerts
        out: list[dict[str, Any]] = []
        with self.read() as conn:
            alert = conn.execute(sa.select(a.c.alerted_at, a.c.customer_id)
                                 .where(a.c.alert_id == alert_id)).first()
            if alert is None:
                return []
            out.append({"at": alert.alerted_at, "kind": "raised", "agent": None, "detail": {}})
            for r in conn.execute(sa.select(f).where(f.c.alert_id == alert_id).order_by(f.c.id)).mappings():
                out.append({"at": r["created_at"], "kind": r["status"], "agent": r["agent"],
                            "detail": {k: r[k] for k in ("useful", "outcome", "note") if r[k] is not None}})
            for r in conn.execute(sa.select(t).where(t.c.alert_id == alert_id).order_by(t.c.id)).mappings():
                out.append({"at": r["taken_at"], "kind": "action", "agent": r["agent"],
                            "detail": {"action": r["action"], **({"note": r["note"]} if r["note"] else {})}})
                if r["outcome"] is not None:
                    out.append({"at": r["outcome_at"], "kind": "outcome", "agent": r["outcome_by"],
                                "detail": {"outcome": r["outcome"], "action": r["action"]}})
        # Assignments: the audit log keeps who assigned to whom (the alert keeps only the current owner).
        for e in self.assignments_of(alert_id, str(alert.customer_id)):
            out.append({"at": e["at"], "kind": "assigned", "agent": e["actor"],
                        "detail": {"assignee": (e["detail"] or {}).get("assignee")}})
        out.sort(key=lambda e: (e["at"], e["kind"] != "raised"))
        return out

    def assignments_of(self, alert_id: str, customer_id: str) -> list[dict[str, Any]]:
        """The audit log's assignments of this alert (``action == "assign"``), oldest first."""
        log = self.t.audit_log
        q = (sa.select(log).where(log.c.subject == customer_id, log.c.action == "assign", log.c.resource == "alert")
             .order_by(log.c.id))
        with self.read() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
        return [r for r in rows if (r["detail"] or {}).get("alert_id") == alert_id]

    def open_alerts_by_assignee(self) -> dict[str, int]:
        """How many open or acknowledged alerts each agent owns."""
        a = self.t.alerts
        q = (sa.select(a.c.assignee, sa.func.count()).where(a.c.assignee.is_not(None),
                                                            a.c.status.in_(["open", "acknowledged"]))
             .group_by(a.c.assignee))
        with self.read() as conn:
            return {str(name): int(n) for name, n in conn.execute(q)}
