"""Additive risk: contributions add up to the logit, priors and fitted; levels from the average; reason texts."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import ConfigError
from analyzer.foresight.features import FEATURE_NAMES, LEVEL_FEATURES, signal_features
from analyzer.foresight.risk import DEFAULT_BIAS, RiskModel


def _facts() -> pd.DataFrame:
    f = pd.DataFrame(index=pd.Index(["a", "b"], name="customer_id"))
    f["purchase_drop_pct"] = [0.62, np.nan]
    f["purchases_recent"] = [1, 0]
    f["baseline_rate_per_recent"] = [2.63, 0.0]
    f["n_last"] = [4, 0]
    f["n_negative_last"] = [3, 0]
    f["n_positive_last"] = [0, 0]
    f["earlier_tone"] = ["positive", None]
    f["inactivity_level"] = [0, 2]
    f["days_inactive"] = [3.0, 75.0]
    f["last_activity"] = pd.to_datetime(["2024-06-28", "2024-04-17"], utc=True)
    return f


def _assert_additive(model: RiskModel, x: pd.DataFrame, facts: pd.DataFrame | None = None) -> None:
    expl = model.explain(x, facts)
    for _, r in expl.iterrows():
        total = r["bias"] + sum(d["contribution"] for d in r["reasons"])
        assert total == pytest.approx(r["logit"], abs=1e-9)
        assert r["risk"] == pytest.approx(1 / (1 + math.exp(-total)))


def test_default_model_is_additive_and_explains_in_both_languages() -> None:
    facts = _facts()
    x = signal_features(facts)
    assert list(x.columns) == list(FEATURE_NAMES)
    assert x.loc["a", "purchase_drop"] == pytest.approx(0.62) and x.loc["b", "purchase_drop"] == 0.0
    # 3 negative of the last 4, shrunk by one pseudo-message: 3 / 5.
    assert x.loc["b", "inactivity"] == 1.0 and x.loc["a", "negative_tone"] == pytest.approx(0.6)
    model = RiskModel()
    _assert_additive(model, x, facts)
    reasons = {d["code"]: d for d in model.explain(x, facts).loc["a", "reasons"]}
    assert reasons["purchase_drop"]["text_es"].startswith(
        "su frecuencia de compra cayó un 62 % frente a su media de 6 meses")
    neg = reasons["negative_tone"]
    assert neg["text_es"] == "tono negativo en 3 de sus últimos 4 mensajes; antes era positivo"
    assert neg["text_en"] == "negative tone in 3 of their last 4 messages; before it was positive"
    # Reasons are ranked: biggest risk-raising contribution first.
    contribs = [d["contribution"] for d in model.explain(x, facts).loc["a", "reasons"]]
    assert contribs == sorted(contribs, reverse=True)


def test_no_signal_means_base_rate() -> None:
    x = pd.DataFrame(0.0, index=["z"], columns=list(FEATURE_NAMES))
    assert RiskModel().predict_proba(x)[0] == pytest.approx(1 / (1 + math.exp(-DEFAULT_BIAS)))
    assert RiskModel().explain(x).loc["z", "reasons"] == []


def test_fit_learns_direction_is_calibrated_and_stays_additive() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    x = pd.DataFrame({"signal": rng.random(n), "noise": rng.random(n), "protective": rng.random(n)})
    true_logit = -1.0 + 3.0 * x["signal"] - 2.0 * x["protective"]
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    zero = RiskModel(weights=dict.fromkeys(x.columns, 0.0), bias=0.0)
    model = RiskModel().fit(x, y, prior=zero, signs={})
    assert model.calibration_ is not None and model.source == "labels"
    assert model.weights["signal"] > 2.0 and model.weights["protective"] < -1.0
    assert abs(model.weights["noise"]) < 0.6
    p = model.predict_proba(x)
    assert p.mean() == pytest.approx(y.mean(), abs=0.03)  # calibration in the large
    _assert_additive(model, x.iloc[:50])


def test_bad_inputs_raise_clear_errors() -> None:
    x = pd.DataFrame({"a": [0.1, 0.2, 0.3]})
    with pytest.raises(ConfigError, match="both 0 and 1"):
        RiskModel().fit(x, [1, 1, 1])
    with pytest.raises(ConfigError, match="must match"):
        RiskModel().fit(x, [0, 1])
    with pytest.raises(ConfigError, match="lack column"):
        RiskModel().predict_proba(x)
    # A non-numeric value is no evidence: 0 for a signal (its contribution is measured from absence).
    assert RiskModel(weights={"a": 1.0}, bias=0.0).predict_proba(pd.DataFrame({"a": ["x"]}))[0] == 0.5


def test_purchase_gap_and_activity_drop_signals_are_relative_and_explained() -> None:
    f = pd.DataFrame(index=pd.Index(["rare", "odd", "missing"], name="customer_id"))
    # p_gap is a p-value of the current gap under the customer's own rate: 0 from 10 %, 1 at 1 %.
    f["p_gap"] = [0.4, 0.001, np.nan]
    f["p_no_purchase"] = [0.9, 0.95, np.nan]   # a level: high for both, no longer used as the signal
    f["days_since_purchase"] = [60.0, 60.0, np.nan]
    f["typical_gap_days"] = [110.0, 8.7, np.nan]
    f["activity_drop_pct"] = [0.0, 0.8, np.nan]
    f["activity_recent"] = [4, 2, 0]
    f["activity_baseline_rate"] = [4.0, 10.0, np.nan]
    f["activity_drop_p"] = [0.5, 0.0005, np.nan]
    x = signal_features(f)
    assert x["no_purchase_expected"].tolist() == pytest.approx([0.0, 1.0, 0.0])
    assert signal_features(f.assign(p_gap=[0.1, 0.0316, 1.0]))["no_purchase_expected"].tolist() == pytest.approx(
        [0.0, 0.5, 0.0], abs=1e-3)
    assert x["activity_drop"].tolist() == pytest.approx([0.0, 0.8, 0.0])
    expl = RiskModel().explain(x, f)
    _assert_additive(RiskModel(), x, f)
    reasons = {d["code"]: d for d in expl.loc["odd", "reasons"]}
    assert reasons["no_purchase_expected"]["text_es"].startswith(
        "lleva 60 días sin comprar cuando suele comprar cada 9 días")
    assert reasons["no_purchase_expected"]["text_en"].startswith(
        "60 days without a purchase while they usually buy every 9 days")
    assert reasons["activity_drop"]["text_es"].startswith("su actividad (accesos, visitas, clics) cayó un 80 %")
    assert reasons["activity_drop"]["text_en"].startswith("their activity (logins, page views, clicks) fell 80 %")
    assert expl.loc["rare", "reasons"] == []


def test_fit_with_signs_never_explains_a_risk_signal_as_protective() -> None:
    rng = np.random.default_rng(1)
    n = 2000
    x = pd.DataFrame({"signal": rng.random(n), "quirk": rng.random(n), "positive_tone": rng.random(n)})
    # In this training sample the "quirk" risk signal happens to go with LESS churn.
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1.0 + 2.5 * x["signal"] - 1.5 * x["quirk"])))).astype(int)
    zero = RiskModel(weights=dict.fromkeys(x.columns, 0.0), bias=0.0)
    free = RiskModel().fit(x, y, prior=zero, signs={})
    assert free.weights["quirk"] < -0.5
    signed = RiskModel().fit(x, y, prior=zero, signs={"signal": 1, "quirk": 1, "positive_tone": -1})
    assert signed.weights["quirk"] >= 0 and signed.weights["positive_tone"] <= 0 and signed.weights["signal"] > 1.5
    _assert_additive(signed, x.iloc[:30])


def test_fit_keeps_the_prior_of_a_feature_the_labels_say_nothing_about() -> None:
    rng = np.random.default_rng(2)
    n = 800
    x = pd.DataFrame(0.0, index=range(n), columns=list(FEATURE_NAMES))
    x["purchase_drop"] = rng.random(n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 2.0 * x["purchase_drop"])))).astype(int)
    model = RiskModel().fit(x, y, source="backtest")
    prior = RiskModel.priors()
    a = model.calibration_[0] if model.calibration_ else 1.0
    # churn_intent never occurs here: it keeps its prior (times the calibration slope).
    assert model.weights["churn_intent"] == pytest.approx(a * prior.weights["churn_intent"])
    assert model.weights["purchase_drop"] > 1.0


def test_levels_contribute_from_the_population_average() -> None:
    rng = np.random.default_rng(3)
    n = 1000
    x = pd.DataFrame(0.0, index=range(n), columns=list(FEATURE_NAMES))
    x["recency"] = np.log1p(rng.integers(1, 120, n))
    x.loc[:9, "recency"] = np.nan  # unknown: counts as the average customer
    y = (rng.random(n) < 1 / (1 + np.exp(-(-4 + 1.2 * x["recency"].fillna(2.0))))).astype(int)
    model = RiskModel().fit(x, y)
    ref = model.reference["recency"]
    assert set(model.reference) == set(LEVEL_FEATURES)
    expl = model.explain(x.iloc[:30])
    assert expl.loc[0, "reasons"] == [] or all(d["code"] != "recency" for d in expl.loc[0, "reasons"])
    above = int(np.flatnonzero(x["recency"].to_numpy() > ref + 0.5)[0])
    below = int(np.flatnonzero(x["recency"].to_numpy() < ref - 0.5)[0])
    contrib = model.contributions(x.iloc[[above, below]])["recency"].to_numpy()
    assert contrib[0] > 0 > contrib[1]
    _assert_additive(model, x.iloc[:50])
