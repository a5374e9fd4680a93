"""The risk model's inputs: one row per customer, one column per feature, from the joined facts.

Two kinds of feature:

- **signals** of change or of a stated problem (churn intent, a tone shift, a purchase drop, an
  overdue ticket, ...), intensities in [0, 1] where 0 means absent. Their weights have a sign
  (a risk signal can only raise the risk) and a prior (hand-set log-odds, used when the user's
  history is too short to learn from); their contribution is measured from absence (0).
- **levels** of the customer's behaviour (days since the last activity, how overdue that is for
  their own rhythm, purchase days, tenure, spend, P(no purchase) from BG/NBD). Their weights are
  learnt from the user's own history only (prior 0: without history they say nothing) and their
  contribution is measured from the population's average customer, so a reason reads "more
  overdue than usual" rather than "has a recency".

Missing facts (a customer with no purchase history, or no messages) give a signal of 0 and a
level equal to the population average: no evidence, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analyzer.foresight.config import BehaviourConfig

__all__ = ["FEATURES", "FEATURE_NAMES", "LEVEL_FEATURES", "SIGNAL_FEATURES", "FeatureSpec", "build_facts",
           "signal_features"]


@dataclass(frozen=True)
class FeatureSpec:
    """A feature: its prior weight (log-odds per unit), its sign constraint and whether it is a level."""

    prior: float
    sign: int  # +1: may only raise the risk; -1: only lower it; 0: learnt either way
    level: bool = False


FEATURES: dict[str, FeatureSpec] = {
    "churn_intent": FeatureSpec(1.34, 1),          # says they are leaving: strongest single sign
    "tone_shift": FeatureSpec(0.8, 1),             # tone fell vs their own baseline
    "negative_tone": FeatureSpec(0.64, 1),         # negative messages among the last k (shrunk)
    "complaints": FeatureSpec(0.43, 1),            # complaint themes in the recent window
    "purchase_drop": FeatureSpec(0.93, 1),         # purchase frequency vs own 6-month mean, beyond noise
    "no_purchase_expected": FeatureSpec(0.86, 1),  # gap since the last purchase unusual for their OWN rate
    "activity_drop": FeatureSpec(0.71, 1),         # logins / page views / clicks fell vs own baseline
    "inactivity": FeatureSpec(0.86, 1),            # 30 / 60 days without activity
    "channel_abandonment": FeatureSpec(0.36, 1),   # stopped using a channel they used regularly
    "repeated_errors": FeatureSpec(0.57, 1),       # several errors in two weeks
    "unanswered_tickets": FeatureSpec(0.86, 1),    # tickets waiting past the SLA
    "campaign_nonresponse": FeatureSpec(0.29, 1),  # ignores campaigns they used to open
    "rating_drop": FeatureSpec(0.8, 1),            # latest NPS/CSAT/stars below their own earlier answers
    "detractor": FeatureSpec(0.6, 1),              # NPS 0-6, or 1-2 on a 5-point scale
    "refunds": FeatureSpec(0.3, 1),                # refunds or cancelled orders recently
    "positive_tone": FeatureSpec(-0.64, -1),       # protective: recent messages are positive
    "low_purchase_rate": FeatureSpec(0.0, 1),      # BG/NBD: likely no purchase in the horizon (a level)
    "recency": FeatureSpec(0.0, 0, level=True),    # log(1 + days since the last own activity)
    "overdue": FeatureSpec(0.0, 0, level=True),    # log(1 + days inactive / their typical gap)
    "frequency": FeatureSpec(0.0, 0, level=True),  # log(1 + purchase days)
    "tenure": FeatureSpec(0.0, 0, level=True),     # log(1 + days since first seen)
    "spend": FeatureSpec(0.0, 0, level=True),      # log(1 + mean purchase value)
    "p_no_purchase": FeatureSpec(0.0, 0, level=True),  # logit of BG/NBD P(no purchase in the horizon)
}
"""Every feature, in the order of the model's columns. Priors were set by hand (signals) and the
text/behaviour balance tuned on a simulated tuning population; levels have no prior."""

FEATURE_NAMES: tuple[str, ...] = tuple(FEATURES)
SIGNAL_FEATURES: tuple[str, ...] = tuple(k for k, v in FEATURES.items() if not v.level)
LEVEL_FEATURES: tuple[str, ...] = tuple(k for k, v in FEATURES.items() if v.level)


def build_facts(behaviour: pd.DataFrame, message_signals: pd.DataFrame) -> pd.DataFrame:
    """Outer-join behaviour and message facts on ``customer_id`` (the index of the result)."""
    b = behaviour.set_index("customer_id") if "customer_id" in behaviour.columns else behaviour
    m = message_signals.set_index("customer_id") if "customer_id" in message_signals.columns else message_signals
    facts = b.join(m, how="outer")
    facts.index.name = "customer_id"
    return facts


def _col(facts: pd.DataFrame, name: str, default: float = 0.0) -> pd.Series:
    if name not in facts.columns:
        return pd.Series(default, index=facts.index, dtype=float)
    return pd.to_numeric(facts[name], errors="coerce").astype(float).fillna(default)


def _raw(facts: pd.DataFrame, name: str) -> pd.Series:
    if name not in facts.columns:
        return pd.Series(np.nan, index=facts.index, dtype=float)
    return pd.to_numeric(facts[name], errors="coerce").astype(float)


def _list_len(facts: pd.DataFrame, name: str) -> pd.Series:
    if name not in facts.columns:
        return pd.Series(0.0, index=facts.index)
    return facts[name].map(lambda v: float(len(v)) if isinstance(v, list | tuple | dict) else 0.0)


def _theme_count(facts: pd.DataFrame) -> pd.Series:
    if "complaint_themes" not in facts.columns:
        return pd.Series(0.0, index=facts.index)
    return facts["complaint_themes"].map(lambda d: float(sum(d.values())) if isinstance(d, dict) else 0.0)


def signal_features(facts: pd.DataFrame, behaviour_config: BehaviourConfig | None = None) -> pd.DataFrame:
    """Feature values (columns :data:`FEATURE_NAMES`) from the joined facts.

    Signals are in [0, 1] with 0 for "absent"; levels are on their own (log) scales with NaN
    where the fact is unknown (the risk model reads NaN as the population average).
    """
    cfg = behaviour_config or BehaviourConfig()
    x = pd.DataFrame(index=facts.index)
    x["churn_intent"] = (_list_len(facts, "churn_intent_ids") > 0).astype(float)
    shift_on = facts["shift_detected"].fillna(False).astype(bool) if "shift_detected" in facts else False
    x["tone_shift"] = np.where(shift_on, np.clip(_col(facts, "shift_magnitude"), 0, 1), 0.0)
    n_last = _col(facts, "n_last")
    # Share of negative messages among the last k, shrunk by one pseudo-message: a single
    # negative message (0.5) is not yet a pattern; 3 of 4 give 0.6, 4 of 4 give 0.8.
    x["negative_tone"] = (_col(facts, "n_negative_last") / (n_last + 1.0).where(n_last > 0)).fillna(0.0)
    x["complaints"] = np.clip(_theme_count(facts) / 3.0, 0, 1)
    x["purchase_drop"] = np.clip(_col(facts, "purchase_drop_pct"), 0, 1)
    # How unusual the current purchase gap is for the customer's own rate: p_gap is a p-value, so
    # 0 while 10 % or more of their gaps would be this long, 1 when only 1 % would.
    p_gap = np.clip(_col(facts, "p_gap", 1.0), 1e-12, 1.0)
    x["no_purchase_expected"] = np.clip(np.log10(0.1 / p_gap), 0, 1)
    x["activity_drop"] = np.clip(_col(facts, "activity_drop_pct"), 0, 1)
    x["inactivity"] = _col(facts, "inactivity_level") / 2.0
    x["channel_abandonment"] = np.clip(_list_len(facts, "abandoned_channels"), 0, 1)
    errors = _col(facts, "errors_recent")
    x["repeated_errors"] = np.where(errors >= cfg.min_errors, np.clip(errors / (2.0 * cfg.min_errors), 0.5, 1.0), 0.0)
    # Half for having any overdue ticket, the rest grows with the count and with a week of waiting.
    n_tickets = _col(facts, "tickets_unanswered")
    waited = np.clip(_col(facts, "oldest_unanswered_hours") / (7 * 24.0), 0, 1)
    x["unanswered_tickets"] = np.where(n_tickets > 0, np.clip(0.5 * n_tickets + 0.5 * waited, 0, 1), 0.0)
    sent, resp = _col(facts, "campaigns_sent_recent"), _col(facts, "campaign_responses_recent")
    before = _col(facts, "campaign_response_rate_before")
    x["campaign_nonresponse"] = np.where((sent >= cfg.min_campaigns) & (resp == 0), np.where(before > 0, 1.0, 0.5), 0.0)
    # A fall of half the scale (NPS 10 -> 5, 5 stars -> 3) or more is the full signal.
    x["rating_drop"] = np.clip(_col(facts, "rating_drop") * 2.0, 0, 1)
    x["detractor"] = (facts["detractor"].fillna(False).astype(bool) if "detractor" in facts else
                      pd.Series(False, index=facts.index)).astype(float)
    x["refunds"] = np.clip(_col(facts, "refunds_recent") / 2.0, 0, 1)
    x["positive_tone"] = (_col(facts, "n_positive_last") / (n_last + 1.0).where(n_last > 0)).fillna(0.0)
    # 0 up to a 30 % chance of no purchase in the horizon, 1 from 80 %.
    x["low_purchase_rate"] = np.clip((_col(facts, "p_no_purchase") - 0.3) / 0.5, 0, 1)
    days_inactive = _raw(facts, "days_inactive").clip(lower=0)
    gap = pd.concat([_raw(facts, "typical_gap_days"), _raw(facts, "typical_activity_gap_days")], axis=1).min(axis=1)
    x["recency"] = np.log1p(days_inactive)
    x["overdue"] = np.log1p(days_inactive / gap.clip(lower=1.0))
    x["frequency"] = np.log1p(_raw(facts, "purchase_days_total"))
    x["tenure"] = np.log1p(_raw(facts, "tenure_days").clip(lower=0))
    x["spend"] = np.log1p(_raw(facts, "mean_purchase_value").clip(lower=0))
    p0 = _raw(facts, "p_no_purchase").clip(1e-4, 1 - 1e-4)
    x["p_no_purchase"] = np.log(p0 / (1 - p0))
    return x[list(FEATURE_NAMES)].astype(float)
