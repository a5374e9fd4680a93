"""One customer-state engine: facts, features and explained risk of every customer at a time.

:func:`customer_facts` is the one path from validated messages and events to the facts and
features of each customer at a judgement time, given the population statistics; the back-test
calls it at each cut-off and :func:`score_customers` at the judgement time, so what the model
learns from is computed exactly as what it scores.

Activity is anything the customer did: an own event (purchase, login, ticket, rating, ...) or a
message they wrote. A customer is **lapsed** (already gone, handed to win-back rather than
retention) once silent for their own horizon: the business's lapse horizon, or more for a
customer whose usual gap is longer (``lapse_gap_multiple`` of it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analyzer.foresight.behaviour import compute_behaviour_signals
from analyzer.foresight.config import ForesightConfig
from analyzer.foresight.features import build_facts, signal_features
from analyzer.foresight.population import PopulationStats
from analyzer.foresight.risk import RiskModel
from analyzer.foresight.shift import compute_message_signals

__all__ = ["STATE_COLUMNS", "customer_facts", "score_customers"]

_DAY = pd.Timedelta(days=1)

STATE_COLUMNS: tuple[str, ...] = (
    "customer_id", "as_of", "risk", "logit", "bias", "odds_ratio", "lapsed", "lapse_horizon_days", "days_inactive",
    "last_activity", "churn_intent", "tone_collapse", "overdue_tickets", "reasons",
)
"""A customer's state at a judgement time (the alert rules add severity, tier and segment)."""


def customer_facts(messages: pd.DataFrame, events: pd.DataFrame, as_of: pd.Timestamp, population: PopulationStats,
                   config: ForesightConfig, horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Facts (raw measurements, lapse) and features of every customer seen up to ``as_of``."""
    ev = events.loc[events["timestamp"] <= as_of]
    msgs = messages.loc[messages["timestamp"] <= as_of]
    behaviour = compute_behaviour_signals(ev, as_of, config.behaviour, population, horizon_days=horizon_days)
    msg = compute_message_signals(msgs, as_of, config.shift, config.complaint_themes)
    facts = build_facts(behaviour, msg)
    if facts.empty:
        return facts.assign(lapsed=pd.Series(dtype=bool), last_activity=pd.Series(dtype="datetime64[ns, UTC]")), \
            pd.DataFrame(index=facts.index)
    # Writing to us is activity too.
    first_msg = msgs.groupby("customer_id")["timestamp"].min().reindex(facts.index)
    stamps = pd.DataFrame({
        "ev": pd.to_datetime(facts.get("last_activity"), utc=True) if "last_activity" in facts else pd.NaT,
        "msg": pd.to_datetime(facts.get("last_message_at"), utc=True) if "last_message_at" in facts else pd.NaT,
    }, index=facts.index)
    facts["last_activity"] = stamps.max(axis=1)
    firsts = pd.DataFrame({"ev": pd.to_datetime(facts.get("first_activity"), utc=True), "msg": first_msg},
                          index=facts.index)
    facts["first_activity"] = firsts.min(axis=1)
    facts["days_inactive"] = ((as_of - facts["last_activity"]) / _DAY).astype(float)
    tenure = ((as_of - facts["first_activity"]) / _DAY).astype(float)
    facts["tenure_days"] = pd.concat([pd.to_numeric(facts.get("tenure_days"), errors="coerce"), tenure],
                                     axis=1).max(axis=1)
    warn, severe = config.behaviour.inactivity_days
    d = facts["days_inactive"]
    facts["inactivity_level"] = np.where(d >= severe, 2, np.where(d >= warn, 1, 0)).astype(int)
    gap = pd.concat([pd.to_numeric(facts.get("typical_gap_days"), errors="coerce"),
                     pd.to_numeric(facts.get("typical_activity_gap_days"), errors="coerce")], axis=1).min(axis=1)
    horizon = np.maximum(float(horizon_days), config.backtest.lapse_gap_multiple * gap.fillna(0.0))
    facts["lapse_horizon_days"] = horizon
    facts["lapsed"] = (d >= horizon).fillna(False).astype(bool)
    return facts, signal_features(facts, config.behaviour)


def score_customers(messages: pd.DataFrame, events: pd.DataFrame, as_of: pd.Timestamp, *,
                    population: PopulationStats, risk: RiskModel, base_rate: float, config: ForesightConfig,
                    horizon_days: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(states, features, facts)`` of every customer at ``as_of`` (:data:`STATE_COLUMNS`, indexed by id).

    ``odds_ratio`` is the customer's odds of lapsing over the population's (the base rate): how
    much more at risk than a typical customer, whatever the business's own churn level.
    """
    facts, features = customer_facts(messages, events, as_of, population, config, horizon_days)
    if facts.empty:
        return pd.DataFrame(columns=list(STATE_COLUMNS)).set_index("customer_id"), features, facts
    explained = risk.explain(features, facts, horizon_days=horizon_days)
    base = float(np.clip(base_rate, 1e-6, 1 - 1e-6))
    states = pd.DataFrame(index=facts.index)
    states["as_of"] = as_of
    states["risk"] = explained["risk"]
    states["logit"] = explained["logit"]
    states["bias"] = explained["bias"]
    states["odds_ratio"] = np.exp(explained["logit"] - np.log(base / (1 - base)))
    states["lapsed"] = facts["lapsed"].astype(bool)
    states["lapse_horizon_days"] = facts["lapse_horizon_days"].astype(float)
    states["days_inactive"] = facts["days_inactive"]
    states["last_activity"] = facts["last_activity"]
    states["churn_intent"] = features["churn_intent"] > 0
    states["tone_collapse"] = (facts["tone_collapse"].fillna(False).astype(bool) if "tone_collapse" in facts
                               else False)
    states["overdue_tickets"] = pd.to_numeric(facts.get("tickets_unanswered"), errors="coerce").fillna(0).astype(int)
    states["reasons"] = explained["reasons"]
    states.index.name = "customer_id"
    return states.reset_index()[list(STATE_COLUMNS)].set_index("customer_id", drop=False), features, facts
