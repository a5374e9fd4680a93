"""The workspace's numbers, computed by hand: retention comparisons, follow-up windows, ticket deadlines,
themes and tone by week, a customer's week and day summaries (pure functions, no database)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from analyzer.service.workspace.outcomes import compare, still_active, wilson
from analyzer.service.workspace.overview import deadline_breaches, theme_weeks, to_number, tone_weeks, week_starts
from analyzer.service.workspace.story import summarised_timeline, weekly_activity

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def day(n: float) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def test_wilson_interval_matches_the_formula() -> None:
    assert wilson(0, 0) is None
    lo, hi = wilson(8, 10)  # type: ignore[misc]
    # Wilson 95 % for 8/10: 0.4902 .. 0.9433 (textbook value)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(10, 10)[1] == 1.0  # type: ignore[index]


def test_still_active_counts_only_the_second_half_of_the_window() -> None:
    alerted = day(0)
    assert not still_active([day(10)], alerted, 60)           # a reply to the call: first half
    assert not still_active([day(30)], alerted, 60)           # exactly half-way: not after it
    assert still_active([day(30.01)], alerted, 60)
    assert still_active([day(60)], alerted, 60)               # the last day counts
    assert not still_active([day(60.01)], alerted, 60)        # after the window
    assert still_active([day(5), day(45), day(70)], alerted, 60)
    assert not still_active([], alerted, 60)


def test_comparison_is_standardised_over_rule_and_severity() -> None:
    def item(stratum: str, retained: bool) -> dict[str, object]:
        return {"stratum": stratum, "retained": retained}

    # Stratum A: contacted 3 (2 stay), left alone 2 (1 stays); stratum B: contacted 1 (stays), left alone 4
    # (1 stays); stratum C: contacted 1, nobody left alone to compare with (unmatched).
    contacted = [item("A", True), item("A", True), item("A", False), item("B", True), item("C", False)]
    pool = [item("A", True), item("A", False), item("B", True), item("B", False), item("B", False), item("B", False)]
    r = compare(contacted, pool)
    assert (r["contacted"], r["contacted_retained"], r["matched"], r["unmatched"]) == (5, 3, 4, 1)
    assert r["contacted_rate"] == 0.6 and r["matched_rate"] == 0.75
    # Weighted like the contacted: 3/4 from A (rate 1/2) and 1/4 from B (rate 1/4) = 0.4375.
    assert r["comparison_rate"] == pytest.approx(0.4375) and r["comparison"] == 6
    assert r["difference"] == pytest.approx(0.3125)
    half = 1.96 * math.sqrt(0.75 * 0.25 / 4 + (0.75 ** 2) * 0.25 / 2 + (0.25 ** 2) * (0.25 * 0.75) / 4)
    assert r["difference_interval"] == (pytest.approx(round(0.3125 - half, 4)),
                                        pytest.approx(round(min(1.0, 0.3125 + half), 4)))
    empty = compare([item("A", True)], [])
    assert empty["difference"] is None and empty["unmatched"] == 1 and empty["contacted_rate"] == 1.0


def test_ticket_deadlines_follow_the_risk_engine() -> None:
    start, prev = day(-14), day(-28)
    ev = [
        # with ids: T1 answered in 2 h (on time), T2 answered after 30 h (late), T3 never (late, still open)
        {"customer_id": "a", "timestamp": day(-10), "type": "ticket_opened", "value": "T1"},
        {"customer_id": "a", "timestamp": day(-10) + dt.timedelta(hours=2), "type": "ticket_replied", "value": "T1"},
        {"customer_id": "a", "timestamp": day(-9), "type": "ticket_opened", "value": "T2"},
        {"customer_id": "a", "timestamp": day(-9) + dt.timedelta(hours=30), "type": "ticket_resolved", "value": "T2"},
        {"customer_id": "b", "timestamp": day(-3), "type": "ticket_opened", "value": "T3"},
        # without ids: first in, first out; the second opening is answered 50 h later (late)
        {"customer_id": "c", "timestamp": day(-20), "type": "ticket_opened", "value": None},
        {"customer_id": "c", "timestamp": day(-20) + dt.timedelta(hours=1), "type": "ticket_opened", "value": ""},
        {"customer_id": "c", "timestamp": day(-20) + dt.timedelta(hours=5), "type": "ticket_replied", "value": None},
        {"customer_id": "c", "timestamp": day(-20) + dt.timedelta(hours=51), "type": "ticket_replied", "value": None},
        # opened an hour ago: not late yet
        {"customer_id": "d", "timestamp": NOW - dt.timedelta(hours=1), "type": "ticket_opened", "value": "T9"},
    ]
    out = deadline_breaches(ev, now=NOW, sla_hours=24, start=start, prev_start=prev)
    assert out == {"sla_hours": 24, "tickets": 4, "breached": 2, "tickets_previous": 2, "breached_previous": 1,
                   "open_past_deadline": 1}


def test_themes_and_tone_by_week_against_the_previous_period() -> None:
    starts = week_starts(NOW, 14)
    assert len(starts) == 2 and starts[0] == day(-14)
    rows = [
        {"timestamp": day(-13), "themes": ["delivery_delay"], "sentiment_score": -0.8},
        {"timestamp": day(-2), "themes": ["delivery_delay", "billing_price"], "sentiment_score": -0.4},
        {"timestamp": day(-1), "themes": ["delivery_delay", "delivery_delay"], "sentiment_score": 0.6},
        {"timestamp": day(-20), "themes": ["billing_price"], "sentiment_score": 0.2},   # previous period
        {"timestamp": day(-20), "themes": ["billing_price"], "sentiment_score": None},
        {"timestamp": day(-40), "themes": ["delivery_delay"], "sentiment_score": -1.0},  # before both periods
    ]
    themes = theme_weeks(rows, starts, ["delivery_delay", "billing_price", "praise"])
    assert themes == [
        {"theme": "delivery_delay", "weekly": [1, 2], "total": 3, "previous_total": 0, "change": None},
        {"theme": "billing_price", "weekly": [0, 1], "total": 1, "previous_total": 2, "change": -0.5},
    ]
    tone = tone_weeks(rows, starts)
    assert tone["messages"] == [1, 2] and tone["mean"] == [-0.8, 0.1]
    assert tone["negative_share"] == [1.0, 0.5]
    assert tone["period_mean"] == pytest.approx(round((-0.8 - 0.4 + 0.6) / 3, 4)) and tone["previous_mean"] == 0.2


def test_a_customers_weeks_and_days() -> None:
    events = [
        {"event_id": "1", "timestamp": day(-1), "type": "purchase", "value": 20.5, "channel": "web"},
        {"event_id": "2", "timestamp": day(-1) + dt.timedelta(hours=1), "type": "purchase", "value": "9.5",
         "channel": "app"},
        {"event_id": "3", "timestamp": day(-1), "type": "page_view", "value": None, "channel": "web"},
        {"event_id": "4", "timestamp": day(-8), "type": "campaign_sent", "value": "C1", "channel": "email"},
        {"event_id": "5", "timestamp": day(-8), "type": "error", "value": None, "channel": "app"},
        {"event_id": "6", "timestamp": day(-8), "type": "ticket_opened", "value": "T1", "channel": "email"},
    ]
    messages = [{"message_id": "m", "timestamp": day(-8) + dt.timedelta(hours=2), "channel": "chat"}]
    w = weekly_activity(events, messages, now=NOW, days=14)
    assert w["purchases"] == [0, 2] and w["amount"] == [0, 30.0]
    # Own activity: the purchases, the page view, the error, the ticket and the message; not our campaign.
    assert w["activity"] == [3, 3] and w["messages"] == [1, 0] and w["tickets"] == [1, 0] and w["errors"] == [1, 0]
    line = summarised_timeline(events, messages, now=NOW)
    assert [i["kind"] for i in line] == ["events", "message", "events"]
    latest = line[0]
    assert latest["counts"] == {"purchase": 2, "page_view": 1} and latest["amount"] == 30.0
    assert latest["channels"] == ["app", "web"] and latest["period"] == "day" and latest["day"] == "2026-02-28"
    assert line[2]["amount"] is None and line[2]["counts"] == {"campaign_sent": 1, "error": 1, "ticket_opened": 1}
    # Older than four weeks: one line per week (Monday to Sunday), however many days had events.
    old = [{"event_id": f"o{i}", "timestamp": day(-60 - i), "type": "login", "value": None, "channel": "app"}
           for i in range(14)]
    weeks = [i for i in summarised_timeline(old, [], now=NOW) if i["kind"] == "events"]
    assert all(w["period"] == "week" for w in weeks) and sum(w["counts"]["login"] for w in weeks) == 14
    assert len(weeks) in (2, 3) and all(dt.date.fromisoformat(w["day"]).weekday() == 0 for w in weeks)
    assert all(dt.date.fromisoformat(w["until"]) - dt.date.fromisoformat(w["day"]) == dt.timedelta(days=6)
               for w in weeks)
    assert to_number("12,5") is None and to_number(True) is None and to_number("nan") is None and to_number("3") == 3.0


def test_the_overview_is_computed_once_per_minute_for_the_team() -> None:
    from analyzer.service.workspace.overview import OverviewCache

    calls: list[int] = []

    def compute() -> dict[str, object]:
        calls.append(1)
        return {"n": len(calls)}

    cache = OverviewCache(ttl_s=60)
    assert [cache.get(("35", "12:00"), compute)["n"] for _ in range(5)] == [1, 1, 1, 1, 1]
    assert cache.get(("364", "12:00"), compute)["n"] == 2  # another period: its own computation
    stale = OverviewCache(ttl_s=0)
    assert [stale.get("k", compute)["n"] for _ in range(2)] == [3, 4]
