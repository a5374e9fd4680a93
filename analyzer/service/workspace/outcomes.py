"""Which actions keep customers: retention of contacted customers against similar customers nobody contacted.

For every alert old enough to judge (raised at least ``window_days`` ago), the customer counts as
**still active** when they did something themselves -- wrote, bought, logged in, rated... (a
message, or an event of :data:`analyzer.schema.OWN_ACTIVITY_TYPES`) -- in the second half of the
follow-up window: between ``window_days / 2`` and ``window_days`` after the alert. Skipping the
first half keeps a customer's reply to the call itself from counting as staying.

An alert is **contacted** when an agent recorded an action on it. Each contacted group is compared
with the alerts nobody acted on *of the same rule and severity* (similar customers: the same
conditions held for them): the comparison rate is the not-contacted rate of each (rule, severity)
stratum weighted by how many contacted alerts fall in it (direct standardisation); strata with no
alert left alone are not compared and are counted as ``unmatched``.

This is observational: agents chose whom to contact, so the two groups may differ in ways the
strata do not capture. A difference is a lead to test (for instance by contacting a random half),
not proof that the action caused it. Outcomes agents recorded (retained / churned / unknown) are
reported beside the observed ones; they exist only for contacted customers.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from analyzer.service.store import OUTCOMES, Store

__all__ = ["NOTE_EN", "NOTE_ES", "compare", "outcome_report", "still_active", "wilson"]

NOTE_ES = ("Observacional: los agentes eligieron a quién contactar, así que los grupos pueden diferir en cosas que "
           "la comparación no ve. Se compara con clientes de la misma regla y gravedad a los que nadie contactó. Una "
           "diferencia es una pista para probar (por ejemplo, contactando a una mitad al azar), no una prueba de que "
           "la acción la cause.")
NOTE_EN = ("Observational: agents chose whom to contact, so the groups may differ in ways the comparison does not "
           "see. Contacted customers are compared with customers of the same rule and severity whom nobody "
           "contacted. A difference is a lead to test (for instance by contacting a random half), not proof that the "
           "action caused it.")
_Z = 1.96


def wilson(k: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson interval of a proportion ``k / n`` (None when ``n == 0``)."""
    if n == 0:
        return None
    p = k / n
    den = 1 + _Z ** 2 / n
    mid = (p + _Z ** 2 / (2 * n)) / den
    half = _Z * math.sqrt(p * (1 - p) / n + _Z ** 2 / (4 * n * n)) / den
    return round(max(0.0, mid - half), 4), round(min(1.0, mid + half), 4)


def still_active(times: Sequence[dt.datetime], alerted_at: dt.datetime, window_days: float) -> bool:
    """Whether any of ``times`` (sorted) lies in ``(alerted_at + window/2, alerted_at + window]``."""
    lo = alerted_at + dt.timedelta(days=window_days / 2)
    hi = alerted_at + dt.timedelta(days=window_days)
    i = bisect.bisect_right(times, lo)
    return i < len(times) and times[i] <= hi


def compare(contacted: Sequence[dict[str, Any]], pool: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Retention of ``contacted`` against ``pool`` (not contacted), standardised over (rule, severity) strata.

    Each item has ``stratum`` and ``retained`` (bool). ``contacted_rate`` is over every contacted
    alert; the comparison uses the ``matched`` ones (whose stratum has alerts nobody acted on):
    ``difference`` = their rate - the not-contacted rate of their strata, weighted like them.
    """
    by_stratum: dict[Any, list[bool]] = defaultdict(list)
    for item in pool:
        by_stratum[item["stratum"]].append(bool(item["retained"]))
    n_all, k_all = len(contacted), sum(bool(c["retained"]) for c in contacted)
    matched = [c for c in contacted if by_stratum.get(c["stratum"])]
    n, k = len(matched), sum(bool(c["retained"]) for c in matched)
    weights: dict[Any, int] = defaultdict(int)
    for c in matched:
        weights[c["stratum"]] += 1
    rate = None if n == 0 else k / n
    base, var_base, pool_n = None, 0.0, 0
    if n:
        base = 0.0
        for s, w in weights.items():
            group = by_stratum[s]
            p = sum(group) / len(group)
            base += w / n * p
            var_base += (w / n) ** 2 * p * (1 - p) / len(group)
            pool_n += len(group)
    diff = None if rate is None or base is None else rate - base
    ci = None
    if diff is not None and rate is not None:
        half = _Z * math.sqrt(rate * (1 - rate) / n + var_base)
        ci = (round(max(-1.0, diff - half), 4), round(min(1.0, diff + half), 4))
    return {"contacted": n_all, "contacted_retained": k_all,
            "contacted_rate": None if n_all == 0 else round(k_all / n_all, 4),
            "contacted_interval": wilson(k_all, n_all),
            "matched": n, "unmatched": n_all - n, "matched_rate": None if rate is None else round(rate, 4),
            "comparison": pool_n, "comparison_rate": None if base is None else round(base, 4),
            "difference": None if diff is None else round(diff, 4), "difference_interval": ci}


def outcome_report(store: Store, *, now: dt.datetime, window_days: int, lookback_days: int) -> dict[str, Any]:
    """Per action taken and per rule: contacted customers still active against similar not-contacted ones."""
    end = now - dt.timedelta(days=window_days)
    start = end - dt.timedelta(days=lookback_days)
    alerts = [a for a in store.alerts_between(start, end) if a["rule"] != "win_back" and a["cause"] != "win_back"]
    actions = store.actions_between(start, end)
    first: dict[str, dict[str, Any]] = {}
    recorded: dict[str, str | None] = {}
    for r in actions:
        first.setdefault(r["alert_id"], r)
        if r["outcome"] is not None:
            recorded[r["alert_id"]] = r["outcome"]
    times = store.activity_times([a["customer_id"] for a in alerts], start,
                                 now + dt.timedelta(seconds=1))
    items = []
    for a in alerts:
        taken = first.get(a["alert_id"])
        items.append({"alert_id": a["alert_id"], "rule": a["rule"], "severity": a["severity"],
                      "stratum": (a["rule"], a["severity"]),
                      "action": taken["action"] if taken else None,
                      "retained": still_active(times.get(a["customer_id"], []), a["alerted_at"], window_days),
                      "recorded": recorded.get(a["alert_id"])})
    contacted = [i for i in items if i["action"] is not None]
    pool = [i for i in items if i["action"] is None]
    by_action: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for i in contacted:
        by_action[i["action"]].append(i)
    for i in items:
        by_rule[i["rule"]].append(i)

    def row(key: str, name: str, group: list[dict[str, Any]], pool_: list[dict[str, Any]]) -> dict[str, Any]:
        mine = [i for i in group if i["action"] is not None]
        rec = {o: sum(1 for i in mine if i["recorded"] == o) for o in OUTCOMES}
        rec["not_recorded"] = sum(1 for i in mine if i["recorded"] is None)
        return {key: name, "alerts": len(group), **compare(mine, pool_), "recorded_outcomes": rec}

    return {
        "as_of": now, "window_days": window_days, "lookback_days": lookback_days,
        "alerts_from": start, "alerts_until": end,
        "definition": {"still_active": f"own activity between day {window_days / 2:g} and day {window_days} "
                                       "after the alert",
                       "contacted": "an agent recorded an action on the alert",
                       "similar": "alerts of the same rule and severity nobody acted on"},
        "note_es": NOTE_ES, "note_en": NOTE_EN,
        "overall": row("group", "all", items, pool),
        "by_action": sorted((row("action", k, v, pool) for k, v in by_action.items()),
                            key=lambda r: (-r["contacted"], r["action"])),
        "by_rule": sorted((row("rule", k, v, [i for i in v if i["action"] is None]) for k, v in by_rule.items()),
                          key=lambda r: (-r["alerts"], r["rule"])),
    }
