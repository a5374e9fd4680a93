"""Each behaviour signal on a small hand-built event log with a known answer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import ConfigError
from analyzer.foresight import ForesightConfig, PopulationStats, customer_facts
from analyzer.foresight.behaviour import compute_behaviour_signals
from analyzer.foresight.config import BehaviourConfig
from analyzer.foresight.validate import validate_events

AS_OF = pd.Timestamp("2024-07-01", tz="UTC")


def _signals(rows: Sequence[tuple[str, str, str, object, str]], **cfg: object) -> pd.DataFrame:
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "type", "value", "channel"])
    valid = validate_events(ev).valid
    return compute_behaviour_signals(valid, AS_OF, BehaviourConfig(**cfg)).set_index("customer_id")  # type: ignore[arg-type]


def _days_before(n: float) -> str:
    return (AS_OF - pd.Timedelta(days=n)).isoformat()


def test_purchase_frequency_drop_vs_own_baseline() -> None:
    # "a": 12 purchase days in the 180-day baseline (2 per 30 days), 1 in the last 30 days: -50 %,
    # but one purchase where two are usual happens 40 % of the time: noise, not a drop.
    # "c": 24 in the baseline (4 per 30 days), none recently: P = e^-4 < 2 %, a real drop.
    rows = [("a", _days_before(40 + 15 * i), "purchase", 10.0, "web") for i in range(12)]
    rows.append(("a", _days_before(5), "purchase", 10.0, "web"))
    rows += [("c", _days_before(35 + 7.5 * i), "purchase", 10.0, "web") for i in range(24)]
    rows += [("b", _days_before(100), "purchase", 10.0, "web")]  # too little history to judge
    s = _signals(rows)
    assert s.loc["a", "purchases_baseline"] == 12 and s.loc["a", "purchases_recent"] == 1
    assert s.loc["a", "baseline_rate_per_recent"] == pytest.approx(2.0)
    assert s.loc["a", "purchase_drop_p"] > 0.3 and s.loc["a", "purchase_drop_pct"] == 0.0
    assert s.loc["c", "purchase_drop_p"] == pytest.approx(np.exp(-4.0), rel=1e-3)
    assert s.loc["c", "purchase_drop_pct"] == pytest.approx(1.0)
    assert pd.isna(s.loc["b", "purchase_drop_pct"])
    assert pd.isna(s.loc["a", "p_alive"])  # 3 buyers: too few to fit BG/NBD, so no guess


def test_drop_judged_with_the_batchs_week_to_week_noise() -> None:
    # Bursty customers (all of a month's logins in one week): the same quiet month that is
    # "unlikely" for a steady Poisson customer is ordinary once the burstiness is measured.
    rng = np.random.default_rng(1)
    rows = []
    for c in range(20):
        for w in range(26):
            n = int(rng.choice([0, 0, 0, 12]))  # about 3 a week on average, in bursts
            rows += [(f"b{c}", _days_before(31 + 7 * w + 0.1 * i), "login", None, "app") for i in range(n)]
    rows += [("q", _days_before(31 + 2.3 * i), "login", None, "app") for i in range(78)]
    rows += [("q", _days_before(3), "login", None, "app")] * 5
    bursty = _signals(rows).loc["q"]
    steady = _signals(rows[-83:]).loc["q"]
    assert steady["activity_drop_p"] < 0.01 and steady["activity_drop_pct"] > 0.5
    assert bursty["activity_drop_p"] > 0.05 and bursty["activity_drop_pct"] == 0.0


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


def _population_rows(extra: Sequence[tuple[str, str, str, object, str]]) -> list[tuple[str, str, str, object, str]]:
    # 40 steady background buyers (every 10 to 40 days over a year) so BG/NBD can be fitted.
    rows = [(f"bg{i}", _days_before(d), "purchase", 5.0, "web")
            for i in range(40) for d in range(1 + i % 7, 365, 10 * (1 + i % 4))]
    return rows + list(extra)


def test_purchase_gap_is_judged_against_the_customers_own_rate() -> None:
    # Both have not bought for 60 days. "rare" buys every ~120 days: a 60-day gap is ordinary.
    # "weekly" bought every 7 days for a year: a 60-day gap is very unusual for them.
    rows = [("rare", _days_before(60 + 120 * k), "purchase", 5.0, "web") for k in range(4)]
    rows += [("weekly", _days_before(60 + 7 * k), "purchase", 5.0, "web") for k in range(45)]
    s = _signals(_population_rows(rows))
    assert s.loc["rare", "days_since_purchase"] == pytest.approx(60, abs=1)
    # Typical gaps are shrunk towards the population's, yet stay far apart.
    assert s.loc["rare", "typical_gap_days"] > 45 > 4 * s.loc["weekly", "typical_gap_days"]
    assert s.loc["rare", "p_gap"] > 0.3 and s.loc["weekly", "p_gap"] < 0.01
    # The old level-based fact would flag the rare buyer too; the new one does not.
    assert s.loc["rare", "p_no_purchase"] > 0.3


def test_activity_drop_only_when_unlikely_under_own_rate() -> None:
    # "decay": 3 logins a week in the baseline, 1 in the last 30 days. "noisy": 1 a week before,
    # 3 in the last 30 days (within Poisson noise of 4.3). "new": too little baseline to judge.
    rows = [("decay", _days_before(31 + 2.3 * i), "login", None, "app") for i in range(78)]
    rows.append(("decay", _days_before(3), "login", None, "app"))
    rows += [("noisy", _days_before(31 + 7 * i), "page_view", None, "web") for i in range(25)]
    rows += [("noisy", _days_before(d), "click", None, "web") for d in (2, 12, 22)]
    rows += [("new", _days_before(d), "login", None, "app") for d in (35, 40, 50)]
    s = _signals(rows)
    assert s.loc["decay", "activity_baseline_rate"] == pytest.approx(13.0, rel=0.05)
    assert s.loc["decay", "activity_drop_pct"] == pytest.approx(1 - 1 / 13.0, rel=0.05)
    assert s.loc["decay", "activity_drop_p"] < 0.001
    assert s.loc["noisy", "activity_drop_pct"] == 0.0 and s.loc["noisy", "activity_drop_p"] > 0.05
    assert pd.isna(s.loc["new", "activity_drop_pct"])


def test_lapsed_after_the_horizon_or_twice_their_own_gap() -> None:
    # Horizon 30 days. "weekly" quiet 70 days: lapsed. "rare" (gap ~120 d) quiet 70 days: not yet
    # (their own horizon is twice their gap). "recent" weekly buyer quiet 20 days: not lapsed.
    rows = [("weekly", _days_before(70 + 7 * k), "purchase", 5.0, "web") for k in range(40)]
    rows += [("rare", _days_before(70 + 120 * k), "purchase", 5.0, "web") for k in range(3)]
    rows += [("recent", _days_before(20 + 7 * k), "purchase", 5.0, "web") for k in range(40)]

    def facts(r: list[tuple[object, ...]]) -> pd.DataFrame:
        frame = pd.DataFrame(_population_rows(r), columns=["customer_id", "timestamp", "type", "value", "channel"])
        ev = validate_events(frame).valid
        pop = PopulationStats.fit(ev, AS_OF)
        return customer_facts(pd.DataFrame(_EMPTY_MESSAGES), ev, AS_OF, pop, ForesightConfig(), 30)[0]

    s = facts(rows)
    assert s.loc["weekly", "lapsed"] and not s.loc["rare", "lapsed"] and not s.loc["recent", "lapsed"]
    assert s.loc["weekly", "lapse_horizon_days"] == pytest.approx(30.0)
    assert s.loc["rare", "lapse_horizon_days"] > 100  # twice its (population-shrunk) typical gap
    # A rare buyer who used to log in every 3 days and went silent with everything for 70 days has
    # lapsed: inactivity is judged against their rhythm of any own activity, not purchases alone.
    logins = [("rare", _days_before(70 + 3 * k), "login", None, "app") for k in range(40)]
    s2 = facts(rows + logins)
    assert s2.loc["rare", "lapsed"] and s2.loc["rare", "typical_activity_gap_days"] < 4
    # Any own activity keeps a customer from lapsing.
    rows.append(("weekly", _days_before(1), "login", None, "app"))
    assert not facts(rows).loc["weekly", "lapsed"]


_EMPTY_MESSAGES = {"message_id": pd.Series(dtype=object), "customer_id": pd.Series(dtype=object),
                   "timestamp": pd.Series(dtype="datetime64[us, UTC]"), "channel": pd.Series(dtype=object),
                   "sentiment_label": pd.Series(dtype=object), "sentiment_score": pd.Series(dtype=float),
                   "themes": pd.Series(dtype=object)}
