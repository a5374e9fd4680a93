"""Simulated population and end-to-end evaluation: determinism, rates, real texts, scoring.

The text core is replaced here by ``oracle_text_fn``, which reads the sentiment from the
dataset's own label. It exists only to keep these tests fast; reported numbers come from
``python -m analyzer.evaluation.end_to_end`` with the real pipeline.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import ConfigError
from analyzer.evaluation.end_to_end import (
    CachedTextFn,
    evaluate_end_to_end,
    replay_alerts,
    run_variant,
    score_alerts,
)
from analyzer.evaluation.simulate import SimulationConfig, load_text_pool, simulate_population
from analyzer.foresight import load_rules

pytestmark = pytest.mark.requires_datasets("en_airline_tweets/public_eval.csv", "es_airline_tweets", "online_retail")

SMALL = SimulationConfig(seed=3, n_customers=150, warmup_days=200, eval_days=120, tail_days=90,
                         dissatisfied_rate=0.2)
_SCORE = {"negative": -0.7, "neutral": 0.0, "positive": 0.7}


def oracle_text_fn(frame: pd.DataFrame) -> pd.DataFrame:
    """TEST ONLY: sentiment from the dataset's own label (a perfect text core), no themes."""
    pool = load_text_pool(SMALL.text_split).drop_duplicates("text").set_index("text")
    label = frame["text"].map(pool["label"])
    out = frame.drop(columns=["text"]).copy()
    out["sentiment_label"] = label.to_numpy()
    out["sentiment_score"] = label.map(_SCORE).to_numpy()
    out["themes"] = [[] for _ in range(len(out))]
    return out


@pytest.fixture(scope="module")
def population() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return simulate_population(SMALL)


def test_same_seed_same_population_other_seed_differs(
        population: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    again = simulate_population(SMALL)
    for a, b in zip(population, again, strict=True):
        pd.testing.assert_frame_equal(a, b)
    other = simulate_population(SimulationConfig(**{**SMALL.as_dict(), "seed": 4}))
    assert not other[3]["churn_date"].equals(population[3]["churn_date"])


def test_changing_one_rate_keeps_the_purchase_histories() -> None:
    a = simulate_population(SMALL)[3]
    b = simulate_population(SimulationConfig(**{**SMALL.as_dict(), "write_rate": 0.9}))[3]
    # Separate random streams: the same customers churn on the same dates, only writing changes.
    pd.testing.assert_series_equal(a["churn_date"], b["churn_date"])
    assert b["writes"].sum() > a["writes"].sum()


def test_shares_follow_the_config() -> None:
    cfg = SimulationConfig(seed=11, n_customers=4000, warmup_days=60, eval_days=60, tail_days=30,
                           background_messages_per_year=0.0)
    _, msgs, customers, truth = simulate_population(cfg)
    dissatisfied = truth["dissatisfied"]
    assert abs(dissatisfied.mean() - cfg.dissatisfied_rate) < 0.015
    assert abs((truth["churn_kind"] == "silent").mean() - cfg.silent_churn_rate) < 0.01
    assert abs(truth.loc[dissatisfied, "writes"].mean() - cfg.write_rate) < 0.06
    assert not truth.loc[~dissatisfied, "writes"].any()
    # Only writers' complaints come from the dissatisfied: the silent 70 % never write.
    writers = set(truth.loc[truth["writes"], "customer_id"])
    silent = set(truth.loc[dissatisfied & ~truth["writes"], "customer_id"])
    complaint_authors = set(msgs.loc[msgs["kind"] == "complaint", "customer_id"])
    assert complaint_authors <= writers and not complaint_authors & silent
    assert set(customers["customer_id"]) == set(truth["customer_id"])


def test_messages_are_real_rows_of_the_datasets(
        population: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    from analyzer.training.corpora import load_en_airline, load_es_airline

    _, msgs, _, truth = population
    sources = {"en_airline_tweets": load_en_airline(SMALL.text_split)["text"],
               "es_airline_tweets": load_es_airline(SMALL.text_split)["text"]}
    for src, texts in sources.items():
        sub = msgs.loc[msgs["source"] == src]
        assert len(sub) > 0
        # Every simulated text is the very row it claims to come from.
        assert (texts.iloc[sub["source_row"].to_numpy()].to_numpy() == sub["text"].to_numpy()).all()
    pool = load_text_pool(SMALL.text_split).set_index(["source", "source_row"])
    labels = pool.loc[list(zip(msgs["source"], msgs["source_row"], strict=True)), "label"].to_numpy()
    assert (labels[msgs["kind"].to_numpy() == "thanks"] == "positive").all()
    assert (labels[msgs["kind"].to_numpy() == "incident"] == "negative").all()
    complaint = labels[msgs["kind"].to_numpy() == "complaint"]
    assert (complaint != "positive").all() and (complaint == "negative").mean() > 0.6
    # Both languages, matching the customer's language.
    lang = msgs["customer_id"].map(truth.set_index("customer_id")["lang"])
    assert set(lang) == {"es", "en"}
    assert ((lang == "es") == (msgs["source"] == "es_airline_tweets")).all()


def test_churned_customers_go_quiet_and_dissatisfied_decay(
        population: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    events, msgs, _, truth = population
    churn = events["customer_id"].map(truth.set_index("customer_id")["churn_date"])
    own = ~events["type"].isin(["campaign_sent", "ticket_replied"])
    assert not (own & (events["timestamp"] >= churn)).any()
    mchurn = msgs["customer_id"].map(truth.set_index("customer_id")["churn_date"])
    assert not (msgs["timestamp"] >= mchurn).any()
    # Logins in the last 30 days before churn fall well below the customer's normal level.
    d = truth.loc[truth["dissatisfied"]].set_index("customer_id")
    logins = events.loc[(events["type"] == "login") & events["customer_id"].isin(d.index)]
    days_before = (logins["customer_id"].map(d["churn_date"]) - logins["timestamp"]) / pd.Timedelta(days=1)
    late = ((days_before > 0) & (days_before <= 30)).sum() / 30
    early = ((days_before > 150) & (days_before <= 180)).sum() / 30
    assert late < 0.6 * early


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError, match="write_rate"):
        SimulationConfig(write_rate=1.5)
    with pytest.raises(ConfigError, match="decay_days"):
        SimulationConfig(decay_days=(50, 10))


def test_cached_text_fn_analyses_each_text_once() -> None:
    calls: list[int] = []

    def fn(frame: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(frame))
        return frame.assign(n=frame["text"].str.len()).drop(columns=["text"])

    cached = CachedTextFn(fn)
    out = cached(pd.DataFrame({"id": [1, 2, 3], "text": ["a", "bb", "a"]}))
    assert out["n"].tolist() == [1, 2, 1] and out["id"].tolist() == [1, 2, 3] and "text" not in out
    cached(pd.DataFrame({"id": [4], "text": ["bb"]}))
    assert calls == [2]


def test_replay_reproduces_compute_alerts_at_the_default_bar(
        population: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]) -> None:
    events, msgs, customers, _ = population
    analysed = oracle_text_fn(msgs[["message_id", "customer_id", "timestamp", "channel", "text"]])
    as_ofs = list(pd.date_range(SMALL.eval_start, periods=6, freq="7D"))
    # A lower bar than the default, so this small population raises enough alerts to compare; no
    # urgent floor, so that the odds ratio alone decides, as the replay assumes.
    table = replace(load_rules(), severity={"low": 1.3, "medium": 2.0, "high": 4.0, "critical": 8.0}, urgent={})
    risk, alerts = run_variant(analysed, events, customers, as_ofs, rules=table)
    replayed = replay_alerts(risk, table.severity["low"], table.cooldown_days)
    key = ["as_of", "customer_id", "cause"]
    assert len(alerts) > 0
    got = replayed[key].sort_values(key).reset_index(drop=True)
    want = alerts[key].sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    # A higher bar can only remove alerts.
    assert len(replay_alerts(risk, 6.0, table.cooldown_days)) <= len(replayed)
    # Lapsed customers get no retention alert, however high their risk (win-backs are not scored).
    lapsed = set(zip(risk.loc[risk["lapsed"], "as_of"], risk.loc[risk["lapsed"], "customer_id"], strict=True))
    assert not lapsed & set(zip(alerts["as_of"], alerts["customer_id"], strict=True))
    assert "win_back" not in set(alerts["cause"])


def test_score_alerts_counts_timely_late_and_false() -> None:
    cfg = SimulationConfig(n_customers=4, warmup_days=10, eval_days=200, tail_days=90)
    start = cfg.eval_start
    truth = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "churn_date": [start + pd.Timedelta(days=100), start + pd.Timedelta(days=150), pd.NaT,
                                         start + pd.Timedelta(days=60)],
                          "churn_kind": ["dissatisfied", "silent", "none", "dissatisfied"],
                          "writes": [True, False, False, False]})
    alerts = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "d"],
                           "as_of": [start + pd.Timedelta(days=d) for d in (40, 70, 170, 50, 5)]})
    s = score_alerts(alerts, truth, cfg, horizon_days=90)
    # a: timely twice (60 and 30 days ahead); b: late; c: false; d: 55 days ahead, timely.
    assert s["alert_precision"] == pytest.approx(3 / 5)
    assert s["recall"] == pytest.approx(2 / 3) and s["recall_no_trace"] == 0.0
    assert s["median_lead_days"] == pytest.approx(np.median([60, 55]))
    assert s["false_alerts_per_1000"] == pytest.approx(250.0) and s["late_alerts_per_1000"] == pytest.approx(250.0)


def test_end_to_end_on_a_tiny_population() -> None:
    res = evaluate_end_to_end(SMALL, oracle_text_fn, step_days=14, k=10)
    assert list(res["variant"]) == ["joined", "text_only", "behaviour_only"]
    for col in ("precision_at_k", "alert_precision", "recall", "recall@equal_p", "brier"):
        # NaN only where a variant raised no alert at the default bar (nothing to be precise about).
        assert res[col].dropna().between(0, 1).all() and res[col].notna().any(), col
    by = res.set_index("variant")
    assert res.attrs["summary"]["customers"] == SMALL.n_customers
    assert set(res.attrs["curves"]) == set(by.index)
    # Text alone only ever profiles customers who wrote; behaviour alone profiles everyone active.
    _, msgs, _, _ = simulate_population(SMALL)
    assert set(res.attrs["risk"]["text_only"]["customer_id"]) <= set(msgs["customer_id"])
    assert res.attrs["risk"]["behaviour_only"]["customer_id"].nunique() == SMALL.n_customers


def test_stale_messages_do_not_set_todays_tone() -> None:
    # The fix found by this evaluation: tone = the last k messages within the recent window.
    from analyzer.foresight.shift import compute_message_signals

    msgs = pd.DataFrame({"message_id": ["a", "b", "c", "d"], "customer_id": ["x", "x", "x", "y"],
                         "timestamp": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-20", "2024-07-20"],
                                                     utc=True),
                         "sentiment_label": ["positive", "negative", "negative", "negative"],
                         "sentiment_score": [0.8, -0.8, -0.9, -0.7], "themes": [[], [], [], []]})
    sig = compute_message_signals(msgs, pd.Timestamp("2024-08-01", tz="UTC")).set_index("customer_id")
    assert sig.at["x", "n_last"] == 0 and not sig.at["x", "shift_detected"]
    assert sig.at["y", "n_negative_last"] == 1
    early = compute_message_signals(msgs, pd.Timestamp("2024-02-01", tz="UTC")).set_index("customer_id")
    assert early.at["x", "n_negative_last"] == 2


def test_sweep_rows_carry_the_parameter() -> None:
    from analyzer.evaluation.end_to_end import sweep

    sw = sweep(SMALL, oracle_text_fn, write_rates=(0.1, 0.9), noises=(), variants=("text_only",), step_days=28, k=10)
    assert sw[["parameter", "value"]].values.tolist() == [["write_rate", 0.1], ["write_rate", 0.9]]
    assert sw["recall"].between(0, 1).all() and (sw["variant"] == "text_only").all()


def test_cached_text_fn_persists_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "cache.parquet"
    calls: list[int] = []

    def fn(frame: pd.DataFrame) -> pd.DataFrame:
        calls.append(len(frame))
        return pd.DataFrame({"n": frame["text"].str.len(), "themes": [["x"]] * len(frame)})

    CachedTextFn(fn, path)(pd.DataFrame({"text": ["a", "bb"]}))
    again = CachedTextFn(None, path)(pd.DataFrame({"text": ["bb", "a"]}))
    assert calls == [2] and again["n"].tolist() == [2, 1] and again["themes"].tolist() == [["x"], ["x"]]
    with pytest.raises(ConfigError, match="not in the cache"):
        CachedTextFn(None, path)(pd.DataFrame({"text": ["new"]}))
    lazy = CachedTextFn(None, path, loader=lambda: fn)
    lazy(pd.DataFrame({"text": ["ccc"]}))
    assert calls == [2, 1]
