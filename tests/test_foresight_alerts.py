"""compute_alerts end to end: actions from the rule table, opt-out, dedup/cooldown, bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analyzer.errors import ConfigError, InputFormatError
from analyzer.foresight import compute_alerts, compute_alerts_detailed, load_rules
from analyzer.schema import ALERT_COLUMNS

AS_OF = "2024-08-01"


def _events() -> pd.DataFrame:
    rows: list[tuple[object, ...]] = []
    for d in pd.date_range("2024-01-01", "2024-06-25", freq="7D", tz="UTC"):
        rows.append(("A", d, "purchase", 20.0, "web"))
    for i in range(4):
        rows.append(("B", pd.Timestamp("2024-07-28", tz="UTC") + pd.Timedelta(hours=i), "error", None, "app"))
    rows.append(("B", pd.Timestamp("2024-07-26", tz="UTC"), "ticket_opened", "t1", "email"))
    rows.append(("C", pd.Timestamp("2024-07-30", tz="UTC"), "purchase", 10.0, "web"))
    rows.append(("D", pd.Timestamp("2024-07-30", tz="UTC"), "purchase", 10.0, "web"))
    rows.append(("E", "not a date", "purchase", 1.0, "web"))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "type", "value", "channel"])


def _messages() -> pd.DataFrame:
    return pd.DataFrame({
        "message_id": ["m1", "m2", "m3", "m4", "m5", "m6", "c1", "d1", "d2", "d3"],
        "customer_id": ["A"] * 6 + ["C"] + ["D"] * 3,
        "timestamp": pd.to_datetime(["2024-03-01", "2024-04-01", "2024-05-01", "2024-07-01", "2024-07-10",
                                     "2024-07-28", "2024-07-29", "2024-07-20", "2024-07-25", "2024-07-29"],
                                    utc=True),
        "channel": "email",
        "sentiment_label": ["positive"] * 3 + ["negative"] * 3 + ["positive"] + ["negative"] * 3,
        "sentiment_score": [0.8, 0.7, 0.9, -0.6, -0.7, -0.8, 0.9, -0.7, -0.8, -0.9],
        "themes": [["praise"], [], [], ["delivery_delay"], ["delivery_delay"], ["churn_intent"], ["praise"],
                   ["churn_intent"], ["churn_intent"], ["churn_intent"]],
    })


def _customers(opt_out_d: bool = False) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "value_tier": ["high", "low", "vip", "medium"],
                         "opt_out": [False, False, False, opt_out_d]})


def test_alerts_have_actions_reasons_and_justifications() -> None:
    alerts = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF)
    assert list(alerts.columns) == list(ALERT_COLUMNS)
    by = alerts.set_index("customer_id")
    assert set(by.index) >= {"A", "C", "D"}
    assert by.loc["A", "action"] == "priority_call" and by.loc["A", "cause"] == "churn_intent"
    assert by.loc["A", "justification"].startswith("Cliente de alto valor")
    assert by.loc["C", "action"] == "thank_you_referral" and by.loc["C", "severity"] == "info"
    assert by.loc["D", "action"] == "priority_call" and by.loc["D", "rule"] == "leaving_customer"
    # Most severe first; every reason has both languages and evidence.
    assert alerts["risk"].iloc[0] == alerts.loc[alerts["severity"] != "info", "risk"].max()
    for reasons in alerts["reasons"]:
        for d in reasons:
            assert {"code", "contribution", "text_es", "text_en", "evidence"} <= set(d)
    en = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF, lang="en").set_index("customer_id")
    assert en.loc["A", "justification"].startswith("High-value customer")


def test_alert_bar_is_the_rule_tables_severity(tmp_path: Path) -> None:
    # B (4 errors, a ticket unanswered for 6 days, nothing else known): severity is B's odds of
    # lapsing over the base rate's, against the rule table's bars.
    res = compute_alerts_detailed(_messages(), _events(), _customers(), as_of=AS_OF)
    b = res.states.loc["B"]
    assert {d["code"] for d in b["reasons"]} == {"repeated_errors", "unanswered_tickets"}
    assert b["odds_ratio"] > 1.0
    text = (Path(__file__).parents[1] / "analyzer" / "foresight" / "rules.yaml").read_text(encoding="utf-8")
    sev = load_rules().severity

    def bars(low: float) -> str:
        block = "".join(f"  {k}: {max(v, low):.4f}\n" for k, v in {**sev, "low": low}.items())
        new, n = re.subn(r"severity:\n(?:  \w+: [\d.]+\n)+", "severity:\n" + block, text)
        assert n == 1
        return new

    above = tmp_path / "above.yaml"
    above.write_text(bars(b["odds_ratio"] * 1.01), encoding="utf-8")
    quiet = compute_alerts_detailed(_messages(), _events(), _customers(), as_of=AS_OF, rules=above)
    assert quiet.states.loc["B", "severity"] == "info" and "B" not in set(quiet.alerts["customer_id"])
    below = tmp_path / "below.yaml"
    below.write_text(bars(b["odds_ratio"] * 0.99), encoding="utf-8")
    lower = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF, rules=below).set_index("customer_id")
    # errors + an overdue ticket: the ticket rule (priority call) or the errors rule (help)
    assert lower.loc["B", "rule"] in ("overdue_tickets", "repeated_errors")


def test_bad_rows_are_reported_not_fatal() -> None:
    alerts = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF)
    rejected = alerts.attrs["rejected"]
    assert rejected[["table", "reason"]].values.tolist() == [["events", "bad_timestamp"]]
    with pytest.raises(InputFormatError, match="missing required column"):
        compute_alerts(_messages().drop(columns="themes"), _events(), None)


def test_opt_out_means_no_profiling_and_no_alert() -> None:
    res = compute_alerts_detailed(_messages(), _events(), _customers(opt_out_d=True), as_of=AS_OF)
    assert "D" not in set(res.alerts["customer_id"])
    assert "D" not in set(res.risk.index) and "D" not in set(res.facts.index)


def test_cooldown_suppresses_same_cause_unless_severity_rises() -> None:
    first = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF)
    again = compute_alerts_detailed(_messages(), _events(), _customers(), as_of="2024-08-05", history=first)
    a_first = first.set_index("customer_id").loc["A"]
    assert "A" not in set(again.alerts["customer_id"])
    assert "A" in set(again.suppressed["customer_id"])
    # After the cooldown (14 days) the same cause is alerted again.
    later = compute_alerts(_messages(), _events(), _customers(), as_of="2024-08-20", history=first)
    assert "A" in set(later.loc[later["cause"] == a_first["cause"], "customer_id"])
    # Within the cooldown, a rise in severity re-alerts.
    softer = first.assign(severity="low")
    escalated = compute_alerts(_messages(), _events(), _customers(), as_of="2024-08-05", history=softer)
    assert "A" in set(escalated["customer_id"])


def test_rules_file_is_validated_and_user_editable(tmp_path: Path) -> None:
    table = load_rules()
    assert table.rules[0].action == "priority_call" and table.cooldown_days == 14
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - name: x\n    action: send_flowers\n    justification: {es: a, en: b}\n")
    with pytest.raises(ConfigError, match="send_flowers"):
        load_rules(bad)
    custom = tmp_path / "mine.yaml"
    custom.write_text("cooldown_days: 3\nrules:\n  - name: everyone\n    when: {min_risk: 0.3}\n"
                      "    action: relevant_offer\n"
                      "    justification: {es: 'Oferta: {reason}', en: 'Offer: {reason}'}\n")
    alerts = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF, rules=custom)
    assert set(alerts["action"]) == {"relevant_offer"} and "C" not in set(alerts["customer_id"])
    assert alerts["justification"].str.startswith("Oferta: ").all()
    with pytest.raises(ConfigError, match="lang"):
        compute_alerts(_messages(), _events(), None, lang="fr")


def test_empty_and_missing_inputs() -> None:
    assert compute_alerts(None, None, None).empty
    alerts = compute_alerts(_messages(), None, None, as_of=AS_OF)
    assert set(alerts["customer_id"]) >= {"A", "D"}


def _lapse_events() -> pd.DataFrame:
    # 40 background buyers (so BG/NBD is fitted) and "L", a weekly buyer quiet since 2024-05-01.
    rows: list[tuple[object, ...]] = []
    for i in range(40):
        for d in pd.date_range("2023-08-01", "2024-07-30", freq=f"{10 * (1 + i % 4)}D", tz="UTC"):
            rows.append((f"bg{i}", d + pd.Timedelta(days=i % 7), "purchase", 5.0, "web"))
    for d in pd.date_range("2023-08-01", "2024-05-01", freq="7D", tz="UTC"):
        rows.append(("L", d, "purchase", 20.0, "web"))
        rows.append(("L", d, "login", None, "app"))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "type", "value", "channel"])


def test_lapsed_customer_gets_one_win_back_then_silence() -> None:
    events = _lapse_events()
    first = compute_alerts_detailed(None, events, None, as_of="2024-07-15")
    assert first.risk.loc["L", "lapsed"] and first.risk.loc["L", "risk"] >= 0.3
    win = first.alerts.loc[first.alerts["customer_id"] == "L"]
    assert win["cause"].tolist() == ["win_back"] and win["severity"].tolist() == ["info"]
    assert win["action"].tolist() == ["win_back"] and "recuperación" in win["justification_es"].iloc[0]
    assert "win-back" in win["justification_en"].iloc[0]
    # Later runs: no retention alert and no second win-back, whatever the cooldown.
    later = compute_alerts_detailed(None, events, None, as_of="2024-10-01", history=first.alerts)
    assert "L" not in set(later.alerts["customer_id"])
    assert "lapsed" in later.suppressed.set_index("customer_id").loc["L", "why"]
    # A lapsed customer who comes back is an ordinary customer again.
    back = pd.concat([events, pd.DataFrame([("L", pd.Timestamp("2024-09-30", tz="UTC"), "login", None, "app")],
                                           columns=events.columns)], ignore_index=True)
    again = compute_alerts_detailed(None, back, None, as_of="2024-10-01", history=first.alerts)
    assert not again.risk.loc["L", "lapsed"]
    # The additive explanation still holds for lapsed customers.
    r = first.risk.loc["L"]
    assert r["bias"] + sum(d["contribution"] for d in r["reasons"]) == pytest.approx(r["logit"])


def test_win_back_can_be_switched_off(tmp_path: Path) -> None:
    text = (Path(__file__).parents[1] / "analyzer" / "foresight" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text + "\nwin_back: false\n", encoding="utf-8")
    res = compute_alerts_detailed(None, _lapse_events(), None, as_of="2024-07-15", rules=path)
    assert "L" not in set(res.alerts["customer_id"]) and res.risk.loc["L", "lapsed"]
    path.write_text(text + "\nwin_back: maybe\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="win_back"):
        load_rules(path)


def test_one_alert_per_customer_within_the_cooldown_whatever_the_cause(tmp_path: Path) -> None:
    first = compute_alerts(_messages(), _events(), _customers(), as_of=AS_OF)
    # The same customer, a different main cause a few days later: still within the cooldown.
    other = first.assign(cause="tone_shift")
    again = compute_alerts_detailed(_messages(), _events(), _customers(), as_of="2024-08-05", history=other)
    assert "A" not in set(again.alerts["customer_id"])
    assert "at risk within 14 days" in again.suppressed.set_index("customer_id").loc["A", "why"]
    # cooldown_scope: cause -- a different main cause may re-alert.
    text = (Path(__file__).parents[1] / "analyzer" / "foresight" / "rules.yaml").read_text(encoding="utf-8")
    path = tmp_path / "rules.yaml"
    path.write_text(text.replace("cooldown_scope: customer", "cooldown_scope: cause"), encoding="utf-8")
    by_cause = compute_alerts(_messages(), _events(), _customers(), as_of="2024-08-05", history=other, rules=path)
    assert "A" in set(by_cause["customer_id"])
    path.write_text(text.replace("cooldown_scope: customer", "cooldown_scope: forever"), encoding="utf-8")
    with pytest.raises(ConfigError, match="cooldown_scope"):
        load_rules(path)


def test_a_customer_who_writes_has_not_lapsed() -> None:
    events = _lapse_events()
    note = pd.DataFrame({"message_id": ["w1"], "customer_id": ["L"],
                         "timestamp": [pd.Timestamp("2024-07-10", tz="UTC")], "channel": ["email"],
                         "sentiment_label": ["negative"], "sentiment_score": [-0.8], "themes": [["delivery_delay"]]})
    silent = compute_alerts_detailed(None, events, None, as_of="2024-07-15")
    wrote = compute_alerts_detailed(note, events, None, as_of="2024-07-15")
    assert silent.risk.loc["L", "lapsed"] and not wrote.risk.loc["L", "lapsed"]
