"""Each behaviour signal on a small hand-built event log with a known answer."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from analyzer.errors import ConfigError
from analyzer.foresight.behaviour import BehaviourConfig, compute_behaviour_signals
from analyzer.foresight.schemas import validate_events

AS_OF = pd.Timestamp("2024-07-01", tz="UTC")


def _signals(rows: Sequence[tuple[str, str, str, object, str]], **cfg: object) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "type", "value", "channel"])
    valid = validate_events(ev).valid
    return compute_behaviour_signals(valid, AS_OF, BehaviourConfig(**cfg)).set_index("customer_id")  # type: ignore[arg-type]


def _days_before(n: float) -> str:
    return (AS_OF - pd.Timedelta(days=n)).isoformat()


def test_purchase_frequency_drop_vs_own_baseline() -> None:
    # 12 purchase days in the 180-day baseline (2 per 30 days), 1 in the last 30 days: -50 %.
    rows = [("a", _days_before(40 + 15 * i), "purchase", 10.0, "web") for i in range(12)]
    rows.append(("a", _days_before(5), "purchase", 10.0, "web"))
    rows += [("b", _days_before(100), "purchase", 10.0, "web")]  # too little history to judge
    s = _signals(rows)
    assert s.loc["a", "purchases_baseline"] == 12 and s.loc["a", "purchases_recent"] == 1
    assert s.loc["a", "baseline_rate_per_recent"] == pytest.approx(2.0)
    assert s.loc["a", "purchase_drop_pct"] == pytest.approx(0.5)
    assert pd.isna(s.loc["b", "purchase_drop_pct"])
    assert pd.isna(s.loc["a", "p_alive"])  # 2 buyers: too few to fit BG/NBD, so no guess


def test_inactivity_levels_and_what_counts_as_activity() -> None:
    rows = [("a", _days_before(10), "login", None, "app"),
            ("b", _days_before(45), "page_view", None, "web"),
            ("c", _days_before(61), "click", None, "web"),
            # A campaign we sent is not activity of the customer.
            ("c", _days_before(1), "campaign_sent", None, "email")]
    s = _signals(rows)
    assert s["inactivity_level"].to_dict() == {"a": 0, "b": 1, "c": 2}
    assert s.loc["c", "days_inactive"] == pytest.approx(61)
    assert _signals(rows, inactivity_days=(7, 50))["inactivity_level"].to_dict() == {"a": 1, "b": 1, "c": 2}


def test_events_after_as_of_are_ignored() -> None:
    s = _signals([("a", _days_before(90), "login", None, "app"),
                  ("a", _days_before(-5), "login", None, "app")])
    assert s.loc["a", "inactivity_level"] == 2


def test_channel_abandonment() -> None:
    rows = [("a", _days_before(40 + i), "login", None, "app") for i in range(5)]
    rows += [("a", _days_before(40 + i), "page_view", None, "web") for i in range(5)]
    rows += [("a", _days_before(3), "page_view", None, "web")]
    rows += [("b", _days_before(40 + i), "login", None, "app") for i in range(2)]  # not regular
    s = _signals(rows)
    assert s.loc["a", "abandoned_channels"] == ["app"]
    assert s.loc["b", "abandoned_channels"] == []


def test_repeated_errors_in_window() -> None:
    rows = [("a", _days_before(d), "error", None, "app") for d in (1, 2, 3, 20)]
    assert _signals(rows).loc["a", "errors_recent"] == 3


def test_tickets_unanswered_past_sla() -> None:
    rows = [
        ("a", _days_before(3), "ticket_opened", "t1", "email"),   # never answered: late
        ("a", _days_before(3), "ticket_opened", "t2", "email"),
        ("a", _days_before(2.9), "ticket_replied", "t2", "email"),  # answered
        ("b", _days_before(0.5), "ticket_opened", None, "chat"),  # 12 h: still within 24 h SLA
        ("c", _days_before(5), "ticket_opened", None, "chat"),    # no ids: FIFO matching
        ("c", _days_before(4), "ticket_opened", None, "chat"),
        ("c", _days_before(3), "ticket_resolved", None, "chat"),  # closes the oldest
    ]
    s = _signals(rows)
    assert s.loc["a", "tickets_unanswered"] == 1 and s.loc["a", "unanswered_ticket_ids"] == ["t1"]
    assert s.loc["a", "oldest_unanswered_hours"] == pytest.approx(72)
    assert s.loc["b", "tickets_unanswered"] == 0
    assert s.loc["c", "tickets_unanswered"] == 1
    assert s.loc["c", "oldest_unanswered_hours"] == pytest.approx(96)
    assert _signals(rows, ticket_sla_hours=6).loc["b", "tickets_unanswered"] == 1


def test_campaign_non_response() -> None:
    rows = [("a", _days_before(100 + i), "campaign_sent", f"k{i}", "email") for i in range(2)]
    rows += [("a", _days_before(99), "campaign_open", "k0", "email"),
             ("a", _days_before(99), "campaign_click", "k0", "email")]  # one response, not two
    rows += [("a", _days_before(10 * i), "campaign_sent", f"n{i}", "email") for i in range(1, 4)]
    s = _signals(rows)
    assert s.loc["a", "campaigns_sent_recent"] == 3 and s.loc["a", "campaign_responses_recent"] == 0
    assert s.loc["a", "campaign_response_rate_before"] == pytest.approx(0.5)


def test_bgnbd_columns_filled_when_enough_buyers() -> None:
    rows = [(f"c{i}", _days_before(200 - 7 * k * (1 + i % 3)), "purchase", 5.0, "web")
            for i in range(40) for k in range(1 + i % 5)]
    s = _signals(rows)
    assert s["p_alive"].between(0, 1).all() and s["p_no_purchase"].between(0, 1).all()


def test_bad_config_and_empty_input() -> None:
    with pytest.raises(ConfigError, match="inactivity_days"):
        BehaviourConfig(inactivity_days=(60, 30))
    empty = validate_events(pd.DataFrame(columns=["customer_id", "timestamp", "type"])).valid
    assert compute_behaviour_signals(empty).empty
