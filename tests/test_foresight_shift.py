"""Tone-shift detection per customer and turn by turn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.foresight.shift import (
    ShiftConfig,
    compute_message_signals,
    detect_shift,
    turn_drop_scores,
    vader_score_fn,
)
from analyzer.foresight.validate import validate_messages


def test_step_down_is_found_with_its_start_and_magnitude() -> None:
    s = detect_shift([0.7, 0.8, 0.6, 0.7, -0.5, -0.6, -0.4])
    assert s is not None and s.start == 4
    assert s.magnitude == pytest.approx(0.7 - (-0.5))


def test_no_shift_for_flat_noise_single_outlier_or_improvement() -> None:
    rng = np.random.default_rng(0)
    assert detect_shift(0.3 + 0.1 * rng.standard_normal(12)) is None
    assert detect_shift([0.5, 0.6, 0.5, 0.6, -0.8, 0.6, 0.5]) is None  # one bad message, then back
    assert detect_shift([-0.6, -0.7, -0.5, 0.6, 0.7]) is None  # tone went up
    assert detect_shift([0.8, -0.8]) is None  # too short
    assert detect_shift([0.8, 0.8, -0.8], ShiftConfig(min_stat=0.5)) is not None


def test_turn_drop_is_online() -> None:
    d = turn_drop_scores([0.5, 0.5, -0.5], prior=0.0, prior_weight=1.0)
    assert d.tolist() == pytest.approx([-0.5, -0.25, (0.0 + 1.0) / 3 + 0.5])
    # Appending a later turn never changes earlier values.
    assert turn_drop_scores([0.5, 0.5, -0.5, 0.9])[:3].tolist() == pytest.approx(d.tolist())


def test_message_signals_carry_the_evidence() -> None:
    msgs = pd.DataFrame({
        "message_id": [f"m{i}" for i in range(6)],
        "customer_id": "a",
        "timestamp": pd.date_range("2024-05-01", periods=6, freq="7D", tz="UTC"),
        "channel": "email",
        "sentiment_label": ["positive", "positive", "positive", "negative", "neutral", "negative"],
        "sentiment_score": [0.8, 0.7, 0.9, -0.7, -0.1, -0.8],
        "themes": [["praise"], [], [], ["delivery_delay"], ["delivery_delay"], ["churn_intent"]],
    })
    sig = compute_message_signals(validate_messages(msgs).valid, pd.Timestamp("2024-06-10", tz="UTC"))
    r = sig.iloc[0]
    assert bool(r["shift_detected"]) and r["shift_start"] == pd.Timestamp("2024-05-22", tz="UTC")
    assert r["shift_message_ids"] == ["m3", "m4", "m5"]
    assert (r["n_negative_last"], r["n_last"], r["earlier_tone"]) == (2, 4, "positive")
    assert r["complaint_themes"] == {"delivery_delay": 2} and r["top_theme"] == "delivery_delay"
    assert r["churn_intent_ids"] == ["m5"]
    # as_of before the drop: no shift yet.
    early = compute_message_signals(validate_messages(msgs).valid, pd.Timestamp("2024-05-20", tz="UTC"))
    assert not bool(early.iloc[0]["shift_detected"])


def test_vader_stand_in_scores_in_range() -> None:
    scores = vader_score_fn()(["This is great, thank you!", "This is terrible and useless.", "ok"])
    assert scores.shape == (3,) and scores[0] > 0.3 > -0.3 > scores[1] and np.all(np.abs(scores) <= 1)


def test_cusum_accumulates_sustained_drops_not_one_sour_turn() -> None:
    from analyzer.foresight.shift import TurnShiftConfig, cusum_drop_scores

    steady_then_down = [0.5, 0.5, 0.5, -0.2, -0.2, -0.2, -0.2]
    one_sour = [0.5, 0.5, 0.5, -0.2, 0.5, 0.5, 0.5]
    c_down = cusum_drop_scores(steady_then_down, alpha=0.2, k=0.1, prior=0.5)
    c_one = cusum_drop_scores(one_sour, alpha=0.2, k=0.1, prior=0.5)
    assert c_down[:3].tolist() == [0.0, 0.0, 0.0] and np.all(np.diff(c_down[3:]) > 0)
    assert c_one.max() == pytest.approx(0.6) and c_one[-1] < c_one[3]
    # Online: later turns never change earlier statistics.
    assert cusum_drop_scores(steady_then_down[:5], alpha=0.2, k=0.1, prior=0.5).tolist() == pytest.approx(
        c_down[:5].tolist())
    flags = TurnShiftConfig(alpha=0.2, k=0.1, h=1.0).flags(steady_then_down, prior=0.5)
    assert flags.tolist() == [False, False, False, False, True, True, True]
    with pytest.raises(Exception, match="alpha"):
        cusum_drop_scores([0.1], alpha=2.0)


def test_quotes_are_redacted_text_with_date_and_channel() -> None:
    msgs = pd.DataFrame({
        "message_id": ["q1", "q2"], "customer_id": "a",
        "timestamp": pd.to_datetime(["2024-06-01", "2024-06-05"], utc=True), "channel": ["chat", "email"],
        "text_redacted": ["Todo bien", "Nadie contesta al [PHONE]"],
        "sentiment_label": ["positive", "negative"], "sentiment_score": [0.8, -0.9],
        "themes": [[], ["support_responsiveness"]],
    })
    sig = compute_message_signals(validate_messages(msgs).valid, pd.Timestamp("2024-06-10", tz="UTC")).iloc[0]
    assert sig["negative_message_ids"] == ["q2"]
    assert sig["message_quotes"] == {"q2": {"message_id": "q2", "date": "2024-06-05", "channel": "email",
                                            "text": "Nadie contesta al [PHONE]"}}
