"""Learning the risk model from the user's own history, with no external labels.

At several earlier cut-off dates, every customer still active is labelled **lapsed** when they
show no own activity (a purchase, a login, a message, ...) within the horizon that follows, a
horizon fitted to the business's own rhythm. The features are computed at each cut-off exactly as
at scoring time (population statistics fitted at that cut-off, nothing after it is seen). The
risk model is fitted on those examples and calibrated on out-of-fold scores (one fold per
cut-off), and the report says how well that ranks and how well it is calibrated.

Composable steps, so the local engine and Ray (which computes per bucket of customers what is
per customer) build the same examples and the same fit:

1. :func:`activity_profile` per customer -> :func:`plan_backtest` (horizon, cut-offs);
2. per cut-off: :class:`~analyzer.foresight.population.PopulationStats` from customer summaries;
3. :func:`backtest_examples` (features + label per customer and cut-off);
4. :func:`fit_from_examples` -> the fitted :class:`~analyzer.foresight.risk.RiskModel` and a :class:`FitReport`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyzer.foresight.config import BacktestConfig, ForesightConfig
from analyzer.foresight.features import FEATURE_NAMES
from analyzer.foresight.population import PopulationStats
from analyzer.foresight.risk import RiskModel
from analyzer.foresight.scoring import customer_facts
from analyzer.schema import OWN_ACTIVITY_TYPES

__all__ = ["BacktestPlan", "FitReport", "activity_profile", "activity_times", "backtest_examples",
           "fit_from_examples", "plan_backtest"]

_DAY = pd.Timedelta(days=1)


def activity_times(messages: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Every own activity of every customer: ``customer_id, timestamp`` (events they did, messages they wrote)."""
    parts = [events.loc[events["type"].isin(OWN_ACTIVITY_TYPES), ["customer_id", "timestamp"]],
             messages[["customer_id", "timestamp"]]]
    return pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=["customer_id", "timestamp"])],
                     ignore_index=True)


def activity_profile(activity: pd.DataFrame) -> pd.DataFrame:
    """Per customer: first and last activity and the median gap between their active days (NaN under 3 days)."""
    if activity.empty:
        return pd.DataFrame(columns=["customer_id", "first", "last", "median_gap_days"])
    days = activity.assign(day=activity["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    days = days.sort_values(["customer_id", "day"], kind="stable")
    gaps = days.groupby("customer_id")["day"].diff() / _DAY
    g = days.assign(gap=gaps).groupby("customer_id")
    out = pd.DataFrame({"first": g["timestamp"].min(), "last": g["timestamp"].max(),
                        "median_gap_days": g["gap"].median().where(g.size() >= 3)})
    return out.reset_index()


@dataclass(frozen=True)
class BacktestPlan:
    """The horizon and the cut-off dates; ``cutoffs`` is empty when the history is too short (``why``).

    ``sample_share``: the share of customers the examples come from (a stable hash of the id, so
    every engine takes the same ones); 1 up to ``BacktestConfig.max_customers`` customers.
    """

    horizon_days: int
    cutoffs: tuple[pd.Timestamp, ...]
    why: str = ""
    sample_share: float = 1.0


def in_sample(customer_ids: pd.Series | pd.Index, share: float) -> np.ndarray:
    """The customers of the back-test sample: a stable hash of the id below ``share``."""
    if share >= 1.0:
        return np.ones(len(customer_ids), dtype=bool)
    h = pd.util.hash_pandas_object(pd.Series(np.asarray(customer_ids, dtype=object)), index=False).to_numpy()
    return np.asarray((h % np.uint64(1_000_000)) < np.uint64(int(share * 1_000_000)))


def plan_backtest(profile: pd.DataFrame, as_of: pd.Timestamp, config: BacktestConfig | None = None) -> BacktestPlan:
    """Horizon from the business's rhythm, and cut-offs stepping back from ``as_of - horizon``."""
    cfg = config or BacktestConfig()
    lo, hi = cfg.horizon_bounds
    if cfg.horizon_days is not None:
        horizon = cfg.horizon_days
    else:
        gaps = pd.to_numeric(profile["median_gap_days"], errors="coerce").dropna() if len(profile) else pd.Series()
        # Three of their usual gaps without activity: for a steady (Poisson) customer that happens
        # with probability e^-3 = 5 % while still a customer.
        typical = float(gaps.median()) if len(gaps) >= 10 else float(hi) / 3
        horizon = int(np.clip(round(3 * typical / 7) * 7, lo, hi))
    if profile.empty:
        return BacktestPlan(horizon, (), "no activity to learn from")
    first = pd.Timestamp(profile["first"].min())
    step = cfg.step_days or max(horizon // 3, 14)
    cutoffs: list[pd.Timestamp] = []
    c = as_of - pd.Timedelta(days=horizon)
    while len(cutoffs) < cfg.max_cutoffs and c - first >= pd.Timedelta(days=cfg.min_history_days):
        cutoffs.append(c)
        c = c - pd.Timedelta(days=step)
    span = (as_of - first) / _DAY
    if len(cutoffs) < cfg.min_cutoffs:
        return BacktestPlan(horizon, (), f"the history spans {span:.0f} days; learning needs at least "
                                         f"{cfg.min_history_days + horizon + (cfg.min_cutoffs - 1) * step} "
                                         f"({cfg.min_cutoffs} cut-offs of {horizon}-day horizons)")
    share = min(1.0, cfg.max_customers / max(len(profile), 1))
    return BacktestPlan(horizon, tuple(sorted(cutoffs)), sample_share=share)


def backtest_examples(messages: pd.DataFrame, events: pd.DataFrame, plan: BacktestPlan,
                      stats: Mapping[pd.Timestamp, PopulationStats], config: ForesightConfig) -> pd.DataFrame:
    """Features and labels at every cut-off: ``cutoff, customer_id, <features>, lapsed``.

    Eligible at a cut-off: customers with activity before it who have not lapsed yet (silent for
    less than their own horizon); label 1 when they show no own activity in the following horizon.
    """
    if plan.sample_share < 1.0:
        messages = messages.loc[in_sample(messages["customer_id"], plan.sample_share)]
        events = events.loc[in_sample(events["customer_id"], plan.sample_share)]
    activity = activity_times(messages, events)
    rows = []
    for cutoff in plan.cutoffs:
        facts, features = customer_facts(messages, events, cutoff, stats[cutoff], config, plan.horizon_days)
        if features.empty:
            continue
        eligible = ~facts["lapsed"].astype(bool) & facts["last_activity"].notna()
        after = activity.loc[(activity["timestamp"] > cutoff)
                             & (activity["timestamp"] <= cutoff + pd.Timedelta(days=plan.horizon_days)),
                             "customer_id"].unique()
        part = features.loc[eligible].copy()
        part.insert(0, "customer_id", part.index.astype(str))
        part.insert(0, "cutoff", cutoff)
        part["lapsed"] = (~part.index.isin(after)).astype(int)
        rows.append(part.reset_index(drop=True))
    if not rows:
        return pd.DataFrame(columns=["cutoff", "customer_id", *FEATURE_NAMES, "lapsed"])
    return pd.concat(rows, ignore_index=True)


@dataclass(frozen=True)
class FitReport:
    """How the risk model was set: learnt from the back-test (``source="backtest"``) or kept at its priors."""

    source: str
    horizon_days: int
    cutoffs: list[str] = field(default_factory=list)
    examples: int = 0
    lapsed: int = 0
    base_rate: float = 0.0
    roc_auc: float | None = None
    brier: float | None = None
    brier_base_rate: float | None = None
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FitReport:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def summary(self, lang: str = "en") -> str:
        if self.source != "backtest":
            return (f"modelo de riesgo con sus valores previos: {self.why}" if lang == "es"
                    else f"risk model at its priors: {self.why}")
        auc = f"{self.roc_auc:.3f}" if self.roc_auc is not None else "n/a"
        if lang == "es":
            return (f"aprendido de su propio historial: {len(self.cutoffs)} fechas de corte, {self.examples} ejemplos, "
                    f"tasa de abandono a {self.horizon_days} días {self.base_rate:.1%}, ROC-AUC {auc}")
        return (f"learnt from your own history: {len(self.cutoffs)} cut-offs, {self.examples} examples, "
                f"{self.horizon_days}-day lapse rate {self.base_rate:.1%}, ROC-AUC {auc}")


def fit_from_examples(examples: pd.DataFrame, plan: BacktestPlan, config: ForesightConfig,
                      prior: RiskModel | None = None) -> tuple[RiskModel, FitReport]:
    """Fit the risk model on the back-test examples, or keep the priors when they cannot teach it."""
    from sklearn.metrics import brier_score_loss, roc_auc_score

    cfg = config.backtest
    prior = prior or RiskModel.priors()
    cutoffs = [c.isoformat() for c in plan.cutoffs]
    if not plan.cutoffs:
        return prior, FitReport("priors", plan.horizon_days, why=plan.why)
    ex = examples.sort_values(["cutoff", "customer_id"], kind="stable").reset_index(drop=True)
    y = ex["lapsed"].to_numpy(dtype=int)
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if len(ex) < cfg.min_examples or min(n_pos, n_neg) < cfg.min_each_class:
        why = (f"{len(ex)} examples ({n_pos} lapsed, {n_neg} stayed) over {len(cutoffs)} cut-offs; learning needs "
               f"{cfg.min_examples} with {cfg.min_each_class} of each")
        return prior, FitReport("priors", plan.horizon_days, cutoffs, len(ex), n_pos,
                                float(y.mean()) if len(y) else 0.0, why=why)
    groups = pd.factorize(ex["cutoff"])[0]
    model = RiskModel().fit(ex[list(FEATURE_NAMES)], y, groups=groups, prior=prior,
                            prior_strength=cfg.prior_strength, source="backtest")
    oof = model.oof_scores_
    auc = brier = None
    if oof is not None:
        auc = float(roc_auc_score(y, oof))
        brier = float(brier_score_loss(y, oof))
    base = float(y.mean())
    return model, FitReport("backtest", plan.horizon_days, cutoffs, len(ex), n_pos, base, auc, brier,
                            float(base * (1 - base)))
