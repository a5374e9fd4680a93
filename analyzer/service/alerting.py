"""Re-evaluate customers' risk and alerts after an ingest (a thin adapter over compute_alerts).

The same :func:`analyzer.foresight.compute_alerts_detailed` the batch command uses runs on the
affected customers' recent history read back from the database; earlier alerts are passed as
``history`` so the rule table's cooldown applies across requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analyzer.foresight import compute_alerts_detailed
from analyzer.foresight.alerts import RuleTable, load_rules
from analyzer.service.db import utcnow
from analyzer.service.store import Store
from analyzer.settings import Settings

__all__ = ["Evaluation", "evaluate_customers"]

_ALERT_FIELDS = ("alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "reasons", "action", "rule",
                 "justification_es", "justification_en", "value_tier", "segment")


@dataclass(frozen=True)
class Evaluation:
    new_alert_ids: list[str]
    customers: int
    rejected_rows: int


_RULES: dict[str, RuleTable] = {}


def _rules() -> RuleTable:
    if "default" not in _RULES:
        _RULES["default"] = load_rules()
    return _RULES["default"]


def evaluate_customers(store: Store, customer_ids: Sequence[str], settings: Settings,
                       *, now: dt.datetime | None = None) -> Evaluation:
    """Recompute risk and alerts of these customers and store them; return the new alert ids."""
    ids = sorted(set(customer_ids))
    if not ids:
        return Evaluation([], 0, 0)
    now = now or utcnow()
    if settings.alert_clock == "data":
        # Replay mode: each customer is judged at their own latest record.
        groups: dict[dt.datetime, list[str]] = {}
        for cid in ids:
            ts = store.latest_timestamp(cid)
            if ts is not None:
                groups.setdefault(ts, []).append(cid)
        new: list[str] = []
        rejected = 0
        for as_of, group in groups.items():
            ev = _evaluate(store, group, settings, as_of)
            new += ev.new_alert_ids
            rejected += ev.rejected_rows
        return Evaluation(new, len(ids), rejected)
    return _evaluate(store, ids, settings, now)


def _evaluate(store: Store, ids: list[str], settings: Settings, as_of: dt.datetime) -> Evaluation:
    since = as_of - dt.timedelta(days=settings.alert_window_days)
    messages, events, customers, history = store.frames_for(ids, since)
    res = compute_alerts_detailed(messages, events, customers, as_of=pd.Timestamp(as_of), lang=settings.alert_lang,
                                  rules=_rules(), history=history)
    risk_rows: dict[str, dict[str, Any]] = {
        str(cid): {"risk": float(r["risk"]), "severity": str(r["severity"]), "reasons": r["reasons"]}
        for cid, r in res.risk.iterrows()}
    alert_rows = []
    for rec in res.alerts.to_dict("records"):
        row = {k: rec[k] for k in _ALERT_FIELDS}
        row["alerted_at"] = pd.Timestamp(row["alerted_at"]).to_pydatetime()
        row["segment"] = None if pd.isna(row["segment"]) else str(row["segment"])
        row["value_tier"] = None if pd.isna(row["value_tier"]) else str(row["value_tier"])
        alert_rows.append(row)
    new = store.save_evaluation(risk_rows, alert_rows, as_of)
    return Evaluation(new, len(ids), len(res.rejected))
