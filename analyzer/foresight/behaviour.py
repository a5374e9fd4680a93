"""Behaviour facts, each measured against the customer's own history, at a judgement time.

One row per customer with the raw measurements (so a person can check them):

- levels: days since the last own activity and purchase, purchase days, tenure, mean spend, the
  customer's typical gap between purchases (BG/NBD posterior) and how unusual the current gap is
  for them (``p_gap``), P(no purchase within the horizon) and P(alive);
- changes: purchase-frequency and activity drops against their own rate over the baseline
  window, counted only when that few events is unlikely (< 5 %) under their rate and the
  population's week-to-week noise (negative binomial); inactivity (30 / 60 days); a regularly
  used channel abandoned; repeated errors; tickets unanswered past the SLA; campaigns ignored;
  refunds and cancellations; a drop in their ratings (NPS, CSAT, stars) against their own
  earlier answers, and being a detractor.

Population-wide numbers (BG/NBD, dispersion) come from a fitted
:class:`~analyzer.foresight.population.PopulationStats`, passed in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analyzer.foresight.config import BehaviourConfig
from analyzer.foresight.population import ACTIVITY_TYPES, PopulationStats
from analyzer.schema import OWN_ACTIVITY_TYPES, RATING_SCALES

__all__ = ["BEHAVIOUR_COLUMNS", "compute_behaviour_signals"]

_DAY = pd.Timedelta(days=1)

BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "customer_id", "first_activity", "last_activity", "days_inactive", "inactivity_level",
    "purchase_days_total", "tenure_days", "mean_purchase_value",
    "purchases_recent", "purchases_baseline", "baseline_rate_per_recent", "purchase_drop_pct", "purchase_drop_p",
    "p_alive", "expected_purchases", "p_no_purchase",
    "days_since_purchase", "typical_gap_days", "p_gap",
    "activity_recent", "activity_baseline_rate", "activity_drop_pct", "activity_drop_p",
    "typical_activity_gap_days",
    "abandoned_channels", "errors_recent", "tickets_unanswered", "oldest_unanswered_hours",
    "unanswered_ticket_ids", "campaigns_sent_recent", "campaign_responses_recent",
    "campaign_response_rate_before", "refunds_recent",
    "rating_last", "rating_last_type", "rating_last_at", "rating_before", "rating_drop", "detractor",
)


def _p_this_low(recent: pd.Series, expected: pd.Series, phi: float, recent_days: int) -> pd.Series:
    """P(a count this low or lower | the customer's own expected count, NB noise ``phi`` per week)."""
    e = expected.fillna(0).to_numpy(dtype=float)
    k = recent.to_numpy(dtype=float)
    if phi <= 1e-9:
        p = stats.poisson.cdf(k, e)
    else:
        size = (recent_days / 7.0) / phi  # a sum of ~recent_days/7 weekly NB counts
        p = stats.nbinom.cdf(k, size, size / (size + np.maximum(e, 1e-12)))
    return pd.Series(p, index=recent.index).where(expected.notna())


def _purchase_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index,
                      population: PopulationStats, horizon_days: int) -> pd.DataFrame:
    purchases = ev.loc[ev["type"] == "purchase"]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    # Purchases on the same day count once (a basket split into several rows is one visit).
    days = purchases.assign(day=purchases["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    recent = days.loc[days["timestamp"] > recent_start].groupby("customer_id").size()
    base_n = days.loc[(days["timestamp"] > base_start) & (days["timestamp"] <= recent_start)].groupby(
        "customer_id").size()
    out = pd.DataFrame(index=index)
    out["purchases_recent"] = recent.reindex(index).fillna(0).astype(int)
    out["purchases_baseline"] = base_n.reindex(index).fillna(0).astype(int)
    out["baseline_rate_per_recent"] = out["purchases_baseline"] * cfg.recent_days / cfg.baseline_days
    enough = out["purchases_baseline"] >= cfg.min_baseline_purchases
    drop = 1.0 - out["purchases_recent"] / out["baseline_rate_per_recent"].where(enough)
    out["purchase_drop_p"] = _p_this_low(out["purchases_recent"], out["baseline_rate_per_recent"].where(enough),
                                         population.purchase_dispersion, cfg.recent_days)
    # Only a drop unlikely under the customer's own rate and the population's noise counts.
    out["purchase_drop_pct"] = drop.clip(lower=0.0).where(out["purchase_drop_p"] < cfg.activity_drop_p, 0.0).where(
        enough)
    n_days = days.groupby("customer_id").size().reindex(index).fillna(0)
    out["purchase_days_total"] = n_days.astype(int)
    value = pd.to_numeric(purchases["value"], errors="coerce")
    mean_value = purchases.assign(v=value).groupby("customer_id")["v"].sum() / n_days.where(n_days > 0)
    out["mean_purchase_value"] = mean_value.reindex(index).astype(float)
    last = days.groupby("customer_id")["timestamp"].max().reindex(index)
    first = days.groupby("customer_id")["day"].min().reindex(index)
    last_day = days.groupby("customer_id")["day"].max().reindex(index)
    out["days_since_purchase"] = ((as_of - last) / _DAY).astype(float)
    x = (n_days - 1).clip(lower=0).astype(float)
    t_x = ((last_day - first) / _DAY).astype(float)
    T = ((as_of.floor("D") - first) / _DAY).astype(float)
    # Without a population model the typical gap is the customer's own mean gap (NaN with one purchase).
    out["typical_gap_days"] = t_x / x.where(x > 0)
    out["p_alive"] = np.nan
    out["expected_purchases"] = np.nan
    out["p_no_purchase"] = np.nan
    out["p_gap"] = np.nan
    model = population.bgnbd_model()
    buyers = n_days > 0
    if model is not None and buyers.any():
        xs, txs, Ts = x[buyers], t_x[buyers], T[buyers].clip(lower=t_x[buyers])
        out.loc[buyers, "p_alive"] = model.p_alive(xs, txs, Ts)
        out.loc[buyers, "expected_purchases"] = model.expected_purchases(horizon_days, xs, txs, Ts)
        out.loc[buyers, "p_no_purchase"] = model.p_no_purchase(horizon_days, xs, txs, Ts)
        out.loc[buyers, "typical_gap_days"] = model.typical_gap(xs.to_numpy(), txs.to_numpy())
        out.loc[buyers, "p_gap"] = model.p_gap_at_least(np.maximum(Ts - txs, 0.0), xs.to_numpy(), txs.to_numpy())
    return out


def _activity_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index,
                      phi: float) -> pd.DataFrame:
    """Recent logins / page views / clicks vs the customer's own rate over the baseline window."""
    act = ev.loc[ev["type"].isin(ACTIVITY_TYPES)]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    recent = act.loc[act["timestamp"] > recent_start].groupby("customer_id").size().reindex(index).fillna(0)
    base = act.loc[(act["timestamp"] > base_start) & (act["timestamp"] <= recent_start)]
    base_n = base.groupby("customer_id").size().reindex(index).fillna(0)
    # Exposure = the part of the baseline window the customer was already around.
    first = act.groupby("customer_id")["timestamp"].min().reindex(index)
    exposure = ((recent_start - first.clip(lower=base_start)) / _DAY).clip(lower=0.0)
    expected = (base_n * cfg.recent_days / exposure.where(exposure >= cfg.recent_days)).astype(float)
    expected = expected.where(base_n >= cfg.min_baseline_activity)
    out = pd.DataFrame(index=index)
    out["activity_recent"] = recent.astype(int)
    out["activity_baseline_rate"] = expected
    out["activity_drop_p"] = _p_this_low(recent, expected, phi, cfg.recent_days)
    drop = (1.0 - recent / expected).clip(lower=0.0)
    out["activity_drop_pct"] = drop.where(out["activity_drop_p"] < cfg.activity_drop_p, 0.0).where(expected.notna())
    return out


def _abandoned_channels(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index) -> pd.Series:
    # Only customer-initiated events say which channels the customer uses.
    own = ev.loc[ev["type"].isin(["purchase", "login", "page_view", "click", "ticket_opened"])
                 & (ev["channel"] != "unknown")]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    base = own.loc[(own["timestamp"] > base_start) & (own["timestamp"] <= recent_start)]
    recent = own.loc[own["timestamp"] > recent_start]
    regular = base.groupby(["customer_id", "channel"]).size()
    regular = regular[regular >= cfg.min_channel_events].reset_index()[["customer_id", "channel"]]
    used = recent[["customer_id", "channel"]].drop_duplicates().assign(_used=True)
    gone = regular.merge(used, on=["customer_id", "channel"], how="left")
    gone = gone.loc[gone["_used"].isna()].sort_values(["customer_id", "channel"], kind="stable")
    lists: dict[str, list[str]] = {}
    for cid, ch in zip(gone["customer_id"].tolist(), gone["channel"].astype(str).tolist(), strict=True):
        lists.setdefault(cid, []).append(ch)
    return pd.Series([lists.get(c, []) for c in index], index=index, dtype=object)


def _ticket_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index) -> pd.DataFrame:
    """Tickets opened and not answered within the SLA, vectorised.

    A reply or resolution with the ticket's id (in ``value``) answers that ticket; without ids a
    reply answers the customer's oldest open ticket (first in, first out).
    """
    t = ev.loc[ev["type"].isin(["ticket_opened", "ticket_replied", "ticket_resolved"]),
               ["customer_id", "timestamp", "type", "value"]].sort_values(["customer_id", "timestamp"], kind="stable")
    sla = pd.Timedelta(hours=cfg.ticket_sla_hours)
    late_rows: list[pd.DataFrame] = []
    has_id = t["value"].notna() & (t["value"].astype(str) != "")
    with_id = t.loc[has_id].assign(tid=lambda d: d["value"].astype(str))
    if not with_id.empty:
        opened = with_id.loc[with_id["type"] == "ticket_opened"].groupby(["customer_id", "tid"])["timestamp"].min()
        closed = with_id.loc[with_id["type"] != "ticket_opened"].groupby(["customer_id", "tid"])["timestamp"].max()
        both = pd.DataFrame({"opened": opened}).join(pd.DataFrame({"closed": closed}), how="left")
        still = both.loc[both["closed"].isna() | (both["closed"] < both["opened"])].reset_index()
        late_rows.append(still.rename(columns={"opened": "opened_at"})[["customer_id", "tid", "opened_at"]])
    no_id = t.loc[~has_id]
    if not no_id.empty:
        step = np.where(no_id["type"] == "ticket_opened", 1, -1)
        g = no_id.assign(step=step).groupby("customer_id", sort=False)
        cum = g["step"].cumsum()
        floor = np.minimum(cum.groupby(no_id["customer_id"]).cummin(), 0)
        queue = (cum - floor).groupby(no_id["customer_id"]).last()  # open tickets left (a reflected walk)
        opens = no_id.loc[no_id["type"] == "ticket_opened"]
        rank_from_end = opens.groupby("customer_id").cumcount(ascending=False)
        left = opens.assign(_r=rank_from_end.to_numpy(), _q=opens["customer_id"].map(queue).to_numpy())
        left = left.loc[left["_r"] < left["_q"]]  # FIFO: the newest ``queue`` opens are the ones left
        late_rows.append(pd.DataFrame({"customer_id": left["customer_id"].to_numpy(), "tid": None,
                                       "opened_at": left["timestamp"].to_numpy()}))
    out = pd.DataFrame(index=index)
    late = pd.concat(late_rows, ignore_index=True) if late_rows else pd.DataFrame(
        columns=["customer_id", "tid", "opened_at"])
    late = late.loc[(as_of - pd.to_datetime(late["opened_at"], utc=True)) > sla] if len(late) else late
    if late.empty:
        out["tickets_unanswered"] = 0
        out["oldest_unanswered_hours"] = 0.0
        out["unanswered_ticket_ids"] = pd.Series([[] for _ in index], index=index, dtype=object)
        return out
    waited = (as_of - pd.to_datetime(late["opened_at"], utc=True)) / pd.Timedelta(hours=1)
    late = late.assign(waited=waited.to_numpy())
    g = late.groupby("customer_id")
    out["tickets_unanswered"] = g.size().reindex(index).fillna(0).astype(int)
    out["oldest_unanswered_hours"] = g["waited"].max().reindex(index).fillna(0.0).astype(float)
    ids: dict[str, list[str]] = {}
    named = late.loc[late["tid"].notna()].sort_values(["customer_id", "tid"], kind="stable")
    for cid, tid in zip(named["customer_id"].tolist(), named["tid"].astype(str).tolist(), strict=True):
        ids.setdefault(cid, []).append(tid)
    out["unanswered_ticket_ids"] = pd.Series([ids.get(c, []) for c in index], index=index, dtype=object)
    return out


def _campaign_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index) -> pd.DataFrame:
    start = as_of - pd.Timedelta(days=cfg.campaign_window_days)
    camp = ev.loc[ev["type"].isin(["campaign_sent", "campaign_open", "campaign_click"])]
    recent, before = camp.loc[camp["timestamp"] > start], camp.loc[camp["timestamp"] <= start]

    def counts(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        sent = df.loc[df["type"] == "campaign_sent"].groupby("customer_id").size()
        # An open and a click on the same campaign are one response; without campaign ids (in
        # ``value``) each response event counts, capped below at the number sent.
        resp = df.loc[df["type"] != "campaign_sent"]
        with_id = resp.loc[resp["value"].notna()].drop_duplicates(["customer_id", "value"])
        n_resp = pd.concat([with_id, resp.loc[resp["value"].isna()]]).groupby("customer_id").size()
        return sent.reindex(index).fillna(0), n_resp.reindex(index).fillna(0)

    sent_r, resp_r = counts(recent)
    sent_b, resp_b = counts(before)
    out = pd.DataFrame(index=index)
    out["campaigns_sent_recent"] = sent_r.astype(int)
    out["campaign_responses_recent"] = np.minimum(resp_r, sent_r).astype(int)
    out["campaign_response_rate_before"] = (np.minimum(resp_b, sent_b) / sent_b.where(sent_b > 0)).astype(float)
    return out


def _rating_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig, index: pd.Index) -> pd.DataFrame:
    """The latest rating (NPS, CSAT, stars) on a 0-1 scale, against the customer's own earlier answers."""
    r = ev.loc[ev["type"].isin(list(RATING_SCALES)) & (ev["timestamp"] > as_of - pd.Timedelta(days=365))]
    out = pd.DataFrame(index=index)
    out["rating_last"] = np.nan
    out["rating_last_type"] = pd.Series([None] * len(index), index=index, dtype=object)
    out["rating_last_at"] = pd.Series(pd.NaT, index=index, dtype="datetime64[us, UTC]")
    out["rating_before"] = np.nan
    out["rating_drop"] = 0.0
    out["detractor"] = False
    if r.empty:
        return out
    lo = r["type"].map(lambda k: RATING_SCALES[k][0]).astype(float)
    hi = r["type"].map(lambda k: RATING_SCALES[k][1]).astype(float)
    score = (pd.to_numeric(r["value"], errors="coerce").astype(float) - lo) / (hi - lo)
    r = r.assign(score=score.to_numpy()).dropna(subset=["score"]).sort_values(["customer_id", "timestamp"],
                                                                               kind="stable")
    if r.empty:
        return out
    g = r.groupby("customer_id")
    last = g.tail(1).set_index("customer_id")
    n = g.size()
    before_mean = (g["score"].sum() - last["score"]) / (n - 1).where(n > 1)
    recent = last.loc[last["timestamp"] > as_of - pd.Timedelta(days=cfg.rating_window_days)]
    out.loc[recent.index, "rating_last"] = recent["score"]
    out.loc[recent.index, "rating_last_type"] = recent["type"]
    out.loc[recent.index, "rating_last_at"] = recent["timestamp"].astype("datetime64[us, UTC]")
    out.loc[recent.index, "rating_before"] = before_mean.reindex(recent.index)
    drop = (before_mean.reindex(recent.index) - recent["score"]).clip(lower=0.0).fillna(0.0)
    out.loc[recent.index, "rating_drop"] = drop
    raw = recent["score"] * (recent["type"].map(lambda k: RATING_SCALES[k][1] - RATING_SCALES[k][0])) + \
        recent["type"].map(lambda k: RATING_SCALES[k][0])
    # NPS detractor: 0-6; CSAT or stars: 1-2.
    detr = np.where(recent["type"] == "nps", raw <= 6, raw <= 2)
    out.loc[recent.index, "detractor"] = detr
    out["detractor"] = out["detractor"].astype(bool)
    return out


def compute_behaviour_signals(events: pd.DataFrame, as_of: pd.Timestamp | None = None,
                              config: BehaviourConfig | None = None, population: PopulationStats | None = None,
                              *, horizon_days: int = 90) -> pd.DataFrame:
    """Per-customer behaviour facts at ``as_of`` from validated events (:data:`BEHAVIOUR_COLUMNS`).

    ``population`` carries the population-wide statistics (fitted on these events when not
    given); ``horizon_days`` is the horizon of P(no purchase). ``as_of`` defaults to the last
    event's time; later events are ignored, so a back-test never sees the future.
    """
    cfg = config or BehaviourConfig()
    if events.empty:
        return pd.DataFrame(columns=list(BEHAVIOUR_COLUMNS))
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else events["timestamp"].max()
    if as_of_ts.tzinfo is None:
        as_of_ts = as_of_ts.tz_localize("UTC")
    ev = events.loc[events["timestamp"] <= as_of_ts]
    if ev.empty:
        return pd.DataFrame(columns=list(BEHAVIOUR_COLUMNS))
    pop = population if population is not None else PopulationStats.fit(ev, as_of_ts, cfg)
    # Customers first seen after as_of do not exist yet at as_of.
    index = pd.Index(sorted(ev["customer_id"].unique()), name="customer_id")
    active = ev.loc[ev["type"].isin(OWN_ACTIVITY_TYPES)]
    out = pd.DataFrame(index=index)
    out["first_activity"] = active.groupby("customer_id")["timestamp"].min().reindex(index)
    out["last_activity"] = active.groupby("customer_id")["timestamp"].max().reindex(index)
    out["days_inactive"] = ((as_of_ts - out["last_activity"]) / _DAY).astype(float)
    out["tenure_days"] = ((as_of_ts - ev.groupby("customer_id")["timestamp"].min().reindex(index)) / _DAY).astype(float)
    warn, severe = cfg.inactivity_days
    level = np.where(out["days_inactive"] >= severe, 2, np.where(out["days_inactive"] >= warn, 1, 0))
    out["inactivity_level"] = np.where(out["days_inactive"].isna(), 0, level).astype(int)
    out = out.join(_purchase_signals(ev, as_of_ts, cfg, index, pop, horizon_days))
    out = out.join(_activity_signals(ev, as_of_ts, cfg, index, pop.activity_dispersion))
    window = active.loc[active["timestamp"] > as_of_ts - pd.Timedelta(days=cfg.baseline_days + cfg.recent_days)]
    days = window.assign(day=window["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    g = days.groupby("customer_id")["day"]
    span = ((g.max() - g.min()) / _DAY).reindex(index)
    n_days = g.size().reindex(index).fillna(0)
    out["typical_activity_gap_days"] = span / (n_days - 1).where(n_days >= 2)
    out["abandoned_channels"] = _abandoned_channels(ev, as_of_ts, cfg, index)
    error_start = as_of_ts - pd.Timedelta(days=cfg.error_window_days)
    recent_errors = ev.loc[(ev["type"] == "error") & (ev["timestamp"] > error_start)]
    out["errors_recent"] = recent_errors.groupby("customer_id").size().reindex(index).fillna(0).astype(int)
    out = out.join(_ticket_signals(ev, as_of_ts, cfg, index))
    out = out.join(_campaign_signals(ev, as_of_ts, cfg, index))
    refunds = ev.loc[ev["type"].isin(["refund", "order_cancelled"])
                     & (ev["timestamp"] > as_of_ts - pd.Timedelta(days=cfg.recent_days * 3))]
    out["refunds_recent"] = refunds.groupby("customer_id").size().reindex(index).fillna(0).astype(int)
    out = out.join(_rating_signals(ev, as_of_ts, cfg, index))
    return out.reset_index()[list(BEHAVIOUR_COLUMNS)]
