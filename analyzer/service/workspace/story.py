"""One customer's story for the Customer page: purchases and activity by week, and a timeline where
messages stand alone and behaviour events are summarised -- per day over the last four weeks, per week
before that ("3 page views, 1 purchase (45.00)").

A customer with a year of clicks has hundreds of events; a support agent needs to see when something
happened and what, next to what the customer wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from analyzer.schema import OWN_ACTIVITY_TYPES
from analyzer.service.workspace.overview import to_number, week_starts

__all__ = ["DAILY_DAYS", "summarised_timeline", "weekly_activity"]

DAILY_DAYS = 28
"""Events of the last this-many days are summarised per day; older ones per week (Monday to Sunday)."""


def weekly_activity(events: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]], *, now: dt.datetime,
                    days: int) -> dict[str, Any]:
    """Per 7-day bin ending at ``now``: purchases (count and amount), own activity, messages, tickets, errors."""
    starts = week_starts(now, days)
    weeks, start = len(starts), starts[0]
    out: dict[str, list[float]] = {k: [0] * weeks for k in ("purchases", "amount", "activity", "messages",
                                                               "tickets", "errors")}

    def index(ts: dt.datetime) -> int | None:
        i = int((ts - start).total_seconds() // (7 * 86400))
        return i if 0 <= i < weeks else None

    for e in events:
        i = index(e["timestamp"])
        if i is None:
            continue
        kind = e["type"]
        if kind == "purchase":
            out["purchases"][i] += 1
            out["amount"][i] += to_number(e["value"]) or 0.0
        if kind in OWN_ACTIVITY_TYPES:
            out["activity"][i] += 1
        if kind == "ticket_opened":
            out["tickets"][i] += 1
        if kind == "error":
            out["errors"][i] += 1
    for m in messages:
        i = index(m["timestamp"])
        if i is not None:
            out["messages"][i] += 1
            out["activity"][i] += 1
    out["amount"] = [round(a, 2) for a in out["amount"]]
    return {"weeks": starts, **out}


def summarised_timeline(events: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]], *, now: dt.datetime,
                        daily_days: int = DAILY_DAYS) -> list[dict[str, Any]]:
    """Messages one by one and the events of each day (the last ``daily_days``) or week (before) as one
    entry, newest first.

    An events entry is ``{kind: "events", period: "day" | "week", day (its first day), until (its last
    day), timestamp (its last event), counts: {type: n}, amount (its purchases), channels}``.
    """
    recent = (now - dt.timedelta(days=daily_days)).astimezone(dt.UTC).date()
    groups: dict[tuple[str, dt.date], list[dict[str, Any]]] = {}
    for e in events:
        d = e["timestamp"].astimezone(dt.UTC).date()
        key = ("day", d) if d >= recent else ("week", d - dt.timedelta(days=d.weekday()))
        groups.setdefault(key, []).append(e)
    items: list[dict[str, Any]] = []
    for (period, first), evs in groups.items():
        counts = Counter(str(e["type"]) for e in evs)
        amounts = [to_number(e["value"]) for e in evs if e["type"] == "purchase"]
        last = first if period == "day" else min(first + dt.timedelta(days=6), recent - dt.timedelta(days=1))
        items.append({"kind": "events", "period": period, "day": first.isoformat(), "until": last.isoformat(),
                      "timestamp": max(e["timestamp"] for e in evs),
                      "counts": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                      "amount": round(sum(a for a in amounts if a is not None), 2) if amounts else None,
                      "channels": sorted({str(e["channel"]) for e in evs})})
    for m in messages:
        items.append({"kind": "message", **m})
    items.sort(key=lambda it: it["timestamp"], reverse=True)
    return items
