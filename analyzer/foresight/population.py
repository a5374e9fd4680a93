"""What is measured on the whole population, once, and passed to every customer's scoring.

Two numbers of the behaviour signals pool all customers: the BG/NBD purchase model (fitted on
every customer's repeat-purchase summary) and the week-to-week dispersion of purchase and
activity counts (the median of the customers' own dispersions). :class:`PopulationStats` holds
them, fitted at a judgement time. It is computed from per-customer summaries
(:func:`customer_summaries`), so the local engine, the service and Ray (each bucket of customers
computes its summaries, the driver concatenates them) get exactly the same object, which is then
passed into scoring, never patched in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyzer.foresight.bgnbd import BGNBD, BGNBDParams, rfm_summary
from analyzer.foresight.config import BehaviourConfig

__all__ = ["PopulationStats", "customer_summaries", "weekly_phi"]

_DAY = pd.Timedelta(days=1)
SUMMARY_COLUMNS: tuple[str, ...] = ("customer_id", "frequency", "recency", "T", "purchase_phi", "activity_phi")
ACTIVITY_TYPES: tuple[str, ...] = ("login", "page_view", "click")


def weekly_phi(ev: pd.DataFrame, base_start: pd.Timestamp, recent_start: pd.Timestamp, min_events: int) -> pd.Series:
    """Each customer's own negative-binomial dispersion of weekly counts over the baseline window.

    Method of moments, ``max(0, (v - m) / m^2)`` over the baseline weeks, for customers with at
    least ``min_events`` baseline events (others are not in the result). ``Var = m + phi * m^2``.
    """
    base = ev.loc[(ev["timestamp"] > base_start) & (ev["timestamp"] <= recent_start)]
    if base.empty:
        return pd.Series(dtype=float)
    n_weeks = max(int((recent_start - base_start) / pd.Timedelta(days=7)), 1)
    week = ((base["timestamp"] - base_start) / pd.Timedelta(days=7)).astype(int).clip(upper=n_weeks - 1)
    counts = base.groupby([base["customer_id"], week]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=range(n_weeks), fill_value=0)
    counts = counts.loc[counts.sum(axis=1) >= min_events]
    if counts.empty:
        return pd.Series(dtype=float)
    m, v = counts.mean(axis=1), counts.var(axis=1, ddof=1)
    return ((v - m) / (m**2)).clip(lower=0.0).astype(float)


def customer_summaries(events: pd.DataFrame, as_of: pd.Timestamp, config: BehaviourConfig | None = None
                       ) -> pd.DataFrame:
    """Per-customer inputs of the population statistics at ``as_of`` (:data:`SUMMARY_COLUMNS`).

    ``frequency``, ``recency``, ``T``: the BG/NBD summary of purchase days (NaN without a purchase);
    ``purchase_phi``, ``activity_phi``: the customer's own weekly dispersion (NaN when too few events).
    ``events`` must be validated; events after ``as_of`` are ignored.
    """
    cfg = config or BehaviourConfig()
    ev = events.loc[events["timestamp"] <= as_of]
    ids = pd.Index(sorted(ev["customer_id"].unique()), name="customer_id")
    out = pd.DataFrame(index=ids)
    purchases = ev.loc[ev["type"] == "purchase"]
    rfm = rfm_summary(purchases, as_of)
    for col in ("frequency", "recency", "T"):
        out[col] = rfm[col].reindex(ids).astype(float)
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    days = purchases.assign(day=purchases["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    out["purchase_phi"] = weekly_phi(days, base_start, recent_start, cfg.min_baseline_purchases).reindex(ids)
    act = ev.loc[ev["type"].isin(ACTIVITY_TYPES)]
    out["activity_phi"] = weekly_phi(act, base_start, recent_start, cfg.min_baseline_activity).reindex(ids)
    return out.reset_index()[list(SUMMARY_COLUMNS)]


@dataclass(frozen=True)
class PopulationStats:
    """Population-wide statistics at ``as_of``: the BG/NBD fit and the pooled dispersions.

    ``bgnbd`` is None when the population is too small to fit it (fewer than
    ``BehaviourConfig.bgnbd_min_customers`` buyers or fewer than 3 repeat buyers); the behaviour
    signals then fall back on each customer's own mean gap. Dispersions are 0 (Poisson) when no
    customer has enough history.
    """

    as_of: pd.Timestamp
    customers: int
    buyers: int
    bgnbd: BGNBDParams | None
    purchase_dispersion: float
    activity_dispersion: float

    @classmethod
    def from_summaries(cls, summaries: pd.DataFrame, as_of: pd.Timestamp,
                       config: BehaviourConfig | None = None) -> PopulationStats:
        """Fit from :func:`customer_summaries` of every customer (concatenated in any order)."""
        cfg = config or BehaviourConfig()
        s = summaries.sort_values("customer_id", kind="stable")  # one order, one fit, whatever the source
        buyers = s.loc[s["T"].notna()]
        params = None
        if len(buyers) >= cfg.bgnbd_min_customers and int((buyers["frequency"] > 0).sum()) >= 3:
            params = BGNBD(penalizer=cfg.bgnbd_penalizer).fit(buyers["frequency"], buyers["recency"],
                                                              buyers["T"]).params_
        return cls(as_of=pd.Timestamp(as_of), customers=len(s), buyers=len(buyers), bgnbd=params,
                   purchase_dispersion=_median(s["purchase_phi"]), activity_dispersion=_median(s["activity_phi"]))

    @classmethod
    def fit(cls, events: pd.DataFrame, as_of: pd.Timestamp, config: BehaviourConfig | None = None) -> PopulationStats:
        """Fit on validated events (the local path: summaries and fit in one call)."""
        return cls.from_summaries(customer_summaries(events, as_of, config), as_of, config)

    def bgnbd_model(self) -> BGNBD | None:
        return BGNBD.from_params(self.bgnbd) if self.bgnbd is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "customers": self.customers, "buyers": self.buyers,
                "bgnbd": asdict(self.bgnbd) if self.bgnbd is not None else None,
                "purchase_dispersion": self.purchase_dispersion, "activity_dispersion": self.activity_dispersion}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PopulationStats:
        b = data.get("bgnbd")
        return cls(as_of=pd.Timestamp(data["as_of"]), customers=int(data["customers"]), buyers=int(data["buyers"]),
                   bgnbd=BGNBDParams(**b) if b else None, purchase_dispersion=float(data["purchase_dispersion"]),
                   activity_dispersion=float(data["activity_dispersion"]))


def _median(values: pd.Series) -> float:
    v = values.dropna()
    return float(np.nan_to_num(v.median())) if len(v) else 0.0
