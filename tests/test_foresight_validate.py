"""Validation of the foresight inputs: missing columns raise, bad rows are set aside with a reason."""

from __future__ import annotations

import pandas as pd
import pytest

from analyzer.errors import InputFormatError
from analyzer.foresight.validate import validate_customers, validate_events, validate_messages
from analyzer.io import TimestampPolicy
from analyzer.schema import REJECTED_COLUMNS


def _messages() -> pd.DataFrame:
    return pd.DataFrame({
        "message_id": ["m1", "m2", "m3", "m4", "m5"],
        "customer_id": ["a", "a", None, "b", "b"],
        "timestamp": ["2024-01-01T10:00:00Z", "yesterday", "2024-01-02", "2024-01-03", "2024-01-04"],
        "channel": ["email"] * 5,
        "sentiment_label": ["negative", "neutral", "positive", "angry", "positive"],
        "sentiment_score": [-0.5, 0.0, 0.4, -0.2, 1.7],
        "themes": [["delivery_delay"], [], ["praise"], [], ["churn_intent", "billing_price"]],
    })


def test_messages_bad_rows_are_rejected_with_reasons() -> None:
    out = validate_messages(_messages())
    assert out.valid["message_id"].tolist() == ["m1"]
    assert list(out.rejected.columns) == list(REJECTED_COLUMNS)
    reasons = dict(zip(out.rejected["source_row"], out.rejected["reason"], strict=True))
    assert reasons == {1: "bad_timestamp", 2: "missing_customer_id", 3: "bad_sentiment_label",
                       4: "bad_sentiment_score"}
    assert sorted(out.rejected["record_id"]) == ["m2", "m3", "m4", "m5"]
    assert set(out.rejected["table"]) == {"messages"}
    assert str(out.valid["timestamp"].dt.tz) == "UTC"


def test_themes_are_lists_one_shape_only() -> None:
    df = _messages().iloc[[4]].assign(sentiment_score=0.5)
    assert validate_messages(df).valid["themes"].iloc[0] == ["churn_intent", "billing_price"]
    # A string is not a list of themes: CSV files are decoded by the readers (analyzer.io.read_table),
    # never guessed here from separators.
    bad = validate_messages(df.assign(themes=["churn_intent, billing_price"]))
    assert bad.valid.empty and bad.rejected["reason"].tolist() == ["bad_themes"]


def test_spanish_dates_in_events_are_day_first_and_timezone_applies() -> None:
    ev = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": ["01/05/2024 10:00", "13/05/2024"],
                       "type": ["purchase", "login"]})
    out = validate_events(ev, TimestampPolicy(timezone="Europe/Madrid"))
    assert out.valid["timestamp"].tolist() == [pd.Timestamp("2024-05-01 08:00", tz="UTC"),
                                               pd.Timestamp("2024-05-12 22:00", tz="UTC")]
    us = validate_events(ev.iloc[:1], TimestampPolicy(dayfirst=False))
    assert us.valid["timestamp"].iloc[0] == pd.Timestamp("2024-01-05 10:00", tz="UTC")


def test_amounts_and_scores_must_be_finite_and_on_their_scale() -> None:
    ev = pd.DataFrame({"customer_id": ["a"] * 6, "timestamp": ["2024-01-01"] * 6,
                       "type": ["purchase", "purchase", "nps", "nps", "review", "ticket_opened"],
                       "value": [float("nan"), float("inf"), 11, 9, 4, "T-1"]})
    out = validate_events(ev)
    assert out.rejected["reason"].tolist() == ["bad_value", "bad_value"]
    assert out.valid["value"].tolist()[1:] == [9.0, 4.0, "T-1"]


def test_missing_column_raises_with_what_was_received() -> None:
    with pytest.raises(InputFormatError, match=r"missing required column\(s\) \['sentiment_score'\]"):
        validate_messages(_messages().drop(columns="sentiment_score"))
    with pytest.raises(InputFormatError, match="expected a pandas DataFrame"):
        validate_events([{"customer_id": "a"}])


def test_events_unknown_type_and_optional_columns() -> None:
    ev = pd.DataFrame({"customer_id": [1, 2.0, "3"], "timestamp": ["2024-01-01"] * 3,
                       "type": ["purchase", "teleport", "LOGIN"]})
    out = validate_events(ev)
    assert out.valid["customer_id"].tolist() == ["1", "3"]  # 1 and "1" are the same customer
    assert out.valid["type"].tolist() == ["purchase", "login"]
    assert out.rejected["reason"].tolist() == ["unknown_event_type"]
    assert {"value", "channel", "event_id"} <= set(out.valid.columns)


def test_customers_opt_out_parsing_is_safe() -> None:
    cust = pd.DataFrame({"customer_id": ["a", "b", "c", "a"], "value_tier": ["VIP", "gold", None, "low"],
                         "opt_out": ["yes", "0", "maybe", False]})
    out = validate_customers(cust)
    v = out.valid.set_index("customer_id")
    assert v.loc["a", "opt_out"] and not v.loc["b", "opt_out"]
    assert v.loc["c", "opt_out"]  # unreadable -> treated as opted out, and reported
    assert v.loc["a", "value_tier"] == "vip" and v.loc["b", "value_tier"] == "unknown"
    assert sorted(out.rejected["reason"]) == ["bad_opt_out", "duplicate_customer"]
    assert validate_customers(None).valid.empty
