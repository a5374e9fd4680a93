"""Behaviour signals, each measured against the customer's own history.

One row per customer with the raw measurements (so a person can check them) and the facts
:mod:`analyzer.foresight.fusion` turns into risk contributions:

- purchase-frequency drop: purchases in the recent window vs the customer's mean rate over the
  baseline window before it, counted only when that few purchases are unlikely (below 5 %)
  under the customer's own rate and the batch's week-to-week noise (negative binomial), plus
  BG/NBD ``p_alive`` and expected purchases when the batch has
  enough buyers to fit the model;
- purchase gap: how unusual the current gap since the last purchase is for THIS customer's own
  fitted rate (BG/NBD posterior of the rate before the gap), so a naturally rare buyer is not
  flagged for being rare;
- activity-frequency drop: logins, page views and clicks in the recent window vs the
  customer's own rate before it, so a gradual decay shows before total inactivity;
- inactivity: days since the last event of any kind (thresholds 30 / 60 days, configurable);
- lapsed: inactive past the customer's own horizon (twice their typical gap between active
  days, or between purchases when that is shorter, and at least 30 days; or 30 days with
  P(alive) below 2 %): a customer already gone, whom retention alerts no longer help
  (:mod:`analyzer.foresight.alerts` stops alerting them);
- channel abandonment: a channel used regularly in the baseline window and not at all recently;
- repeated errors: several ``error`` events in the recent error window;
- tickets unanswered past the SLA (default 24 h);
- campaign non-response: several campaigns sent recently and none opened or clicked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analyzer.errors import ConfigError
from analyzer.foresight.bgnbd import BGNBD, rfm_summary

__all__ = ["BEHAVIOUR_COLUMNS", "BehaviourConfig", "compute_behaviour_signals"]


@dataclass(frozen=True)
class BehaviourConfig:
    """Windows and thresholds of the behaviour signals (days unless said otherwise)."""

    recent_days: int = 30
    baseline_days: int = 180
    inactivity_days: tuple[int, int] = (30, 60)
    # A drop is only judged for customers who bought about monthly or more: with fewer, a quiet
    # month is what their own rhythm predicts (Poisson P(0) >= 37 %), not a change.
    min_baseline_purchases: int = 6
    error_window_days: int = 14
    min_errors: int = 3
    ticket_sla_hours: float = 24.0
    campaign_window_days: int = 60
    min_campaigns: int = 3
    min_channel_events: int = 3
    bgnbd_horizon_days: int = 90
    bgnbd_min_customers: int = 30
    # Activity drop (logins, page views, clicks) and purchase drop: judged only from about one
    # event a month in the baseline; a drop counts when the probability of seeing this few
    # events at the customer's own baseline rate, with the batch's week-to-week noise
    # (negative binomial), is below ``activity_drop_p`` (5 %).
    min_baseline_activity: int = 6
    activity_drop_p: float = 0.05
    # Lapsed = inactive for at least ``lapse_min_days`` AND (longer than ``lapse_gap_multiple``
    # times the customer's own typical gap between active days -- purchases or any other own
    # activity, the shorter -- OR P(alive) < ``lapse_p_alive``). Twice the typical gap: for a
    # Poisson customer a silence that long happens with probability e^-2 = 14 % while alive;
    # 30 days: one inactivity window. (60 days were tried first: on the simulated tuning
    # population most behaviour alerts then went to customers already gone -- late alerts.)
    lapse_min_days: float = 30.0
    lapse_gap_multiple: float = 2.0
    lapse_p_alive: float = 0.02

    def __post_init__(self) -> None:
        if self.recent_days <= 0 or self.baseline_days <= 0:
            raise ConfigError(f"recent_days and baseline_days must be > 0; received "
                              f"{self.recent_days}, {self.baseline_days}.")
        lo, hi = self.inactivity_days
        if not 0 < lo <= hi:
            raise ConfigError(f"inactivity_days must be (warn, severe) with 0 < warn <= severe; received "
                              f"{self.inactivity_days}.")
        if self.lapse_min_days <= 0 or self.lapse_gap_multiple <= 0 or not 0 <= self.lapse_p_alive < 1:
            raise ConfigError(f"lapse_min_days and lapse_gap_multiple must be > 0 and lapse_p_alive in [0, 1); "
                              f"received {self.lapse_min_days}, {self.lapse_gap_multiple}, {self.lapse_p_alive}.")
        if not 0 < self.activity_drop_p < 1:
            raise ConfigError(f"activity_drop_p must be in (0, 1); received {self.activity_drop_p}.")


BEHAVIOUR_COLUMNS: tuple[str, ...] = (
    "customer_id", "last_activity", "days_inactive", "inactivity_level",
    "purchases_recent", "purchases_baseline", "baseline_rate_per_recent", "purchase_drop_pct", "purchase_drop_p",
    "p_alive", "expected_purchases", "p_no_purchase",
    "days_since_purchase", "typical_gap_days", "p_gap",
    "activity_recent", "activity_baseline_rate", "activity_drop_pct", "activity_drop_p",
    "typical_activity_gap_days", "lapsed", "lapse_horizon_days",
    "abandoned_channels", "errors_recent", "tickets_unanswered", "oldest_unanswered_hours",
    "unanswered_ticket_ids", "campaigns_sent_recent", "campaign_responses_recent",
    "campaign_response_rate_before",
)


def _weekly_dispersion(ev: pd.DataFrame, base_start: pd.Timestamp, recent_start: pd.Timestamp,
                       min_events: int) -> float:
    """Pooled negative-binomial dispersion ``phi`` of weekly counts over the baseline window.

    Real activity is burstier than Poisson (busy weeks, holidays): ``Var = m + phi * m^2`` per
    week. ``phi`` is the median over customers with at least ``min_events`` baseline events of
    their own method-of-moments estimate ``max(0, (v - m) / m^2)``, so one batch shares one
    noise level while each customer keeps their own rate. 0 means Poisson.
    """
    base = ev.loc[(ev["timestamp"] > base_start) & (ev["timestamp"] <= recent_start)]
    if base.empty:
        return 0.0
    n_weeks = max(int((recent_start - base_start) / pd.Timedelta(days=7)), 1)
    week = ((base["timestamp"] - base_start) / pd.Timedelta(days=7)).astype(int).clip(upper=n_weeks - 1)
    counts = base.groupby([base["customer_id"], week]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=range(n_weeks), fill_value=0)
    counts = counts.loc[counts.sum(axis=1) >= min_events]
    if counts.empty:
        return 0.0
    m, v = counts.mean(axis=1), counts.var(axis=1, ddof=1)
    phi = ((v - m) / (m**2)).clip(lower=0.0)
    return float(np.nan_to_num(phi.median()))


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


def _purchase_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig,
                      index: pd.Index) -> pd.DataFrame:
    purchases = ev.loc[ev["type"] == "purchase"]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    # Purchases on the same day count once (a basket split into several rows is one visit).
    days = purchases.assign(day=purchases["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    recent = days.loc[days["timestamp"] > recent_start].groupby("customer_id").size()
    base = days.loc[(days["timestamp"] > base_start) & (days["timestamp"] <= recent_start)]
    base_n = base.groupby("customer_id").size()
    out = pd.DataFrame(index=index)
    out["purchases_recent"] = recent.reindex(index).fillna(0).astype(int)
    out["purchases_baseline"] = base_n.reindex(index).fillna(0).astype(int)
    # Mean purchases per recent-window length over the baseline window.
    out["baseline_rate_per_recent"] = out["purchases_baseline"] * cfg.recent_days / cfg.baseline_days
    enough = out["purchases_baseline"] >= cfg.min_baseline_purchases
    drop = 1.0 - out["purchases_recent"] / out["baseline_rate_per_recent"].where(enough)
    phi = _weekly_dispersion(days, base_start, recent_start, cfg.min_baseline_purchases)
    out["purchase_drop_p"] = _p_this_low(out["purchases_recent"], out["baseline_rate_per_recent"].where(enough),
                                         phi, cfg.recent_days)
    # Only a drop unlikely under the customer's own rate and the batch's week-to-week noise
    # counts; an ordinary quiet month is 0. NaN when the history is too short to judge.
    out["purchase_drop_pct"] = drop.clip(lower=0.0).where(out["purchase_drop_p"] < cfg.activity_drop_p, 0.0).where(
        enough)
    out["p_alive"] = np.nan
    out["expected_purchases"] = np.nan
    out["p_no_purchase"] = np.nan
    summary = rfm_summary(purchases, as_of)
    out["days_since_purchase"] = ((as_of - summary["last_purchase"]) / pd.Timedelta(days=1)).reindex(index)
    # Without a fitted rate the typical gap is the customer's own mean gap (NaN with one purchase).
    own_gap = (summary["recency"] / summary["frequency"].where(summary["frequency"] > 0)).reindex(index)
    out["typical_gap_days"] = own_gap
    out["p_gap"] = np.nan
    if len(summary) >= cfg.bgnbd_min_customers and (summary["frequency"] > 0).sum() >= 3:
        model = BGNBD(penalizer=1e-4).fit(summary["frequency"], summary["recency"], summary["T"])
        args = (summary["frequency"], summary["recency"], summary["T"])
        h = cfg.bgnbd_horizon_days
        out.loc[summary.index, "p_alive"] = model.p_alive(*args)
        out.loc[summary.index, "expected_purchases"] = model.expected_purchases(h, *args)
        out.loc[summary.index, "p_no_purchase"] = model.p_no_purchase(h, *args)
        x, t_x = summary["frequency"].to_numpy(), summary["recency"].to_numpy()
        gap = np.maximum(summary["T"].to_numpy() - t_x, 0.0)
        out.loc[summary.index, "typical_gap_days"] = model.typical_gap(x, t_x)
        out.loc[summary.index, "p_gap"] = model.p_gap_at_least(gap, x, t_x)
    return out


def _activity_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig,
                      index: pd.Index) -> pd.DataFrame:
    """Recent logins / page views / clicks vs the customer's own rate over the baseline window."""
    act = ev.loc[ev["type"].isin(["login", "page_view", "click"])]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    recent = act.loc[act["timestamp"] > recent_start].groupby("customer_id").size().reindex(index).fillna(0)
    base = act.loc[(act["timestamp"] > base_start) & (act["timestamp"] <= recent_start)]
    base_n = base.groupby("customer_id").size().reindex(index).fillna(0)
    # Exposure = the part of the baseline window the customer was already around, so a customer
    # who joined two months ago is compared with their two months, not diluted over six.
    first = act.groupby("customer_id")["timestamp"].min().reindex(index)
    exposure = ((recent_start - first.clip(lower=base_start)) / pd.Timedelta(days=1)).clip(lower=0.0)
    expected = (base_n * cfg.recent_days / exposure.where(exposure >= cfg.recent_days)).astype(float)
    enough = base_n >= cfg.min_baseline_activity
    expected = expected.where(enough)
    phi = _weekly_dispersion(act, base_start, recent_start, cfg.min_baseline_activity)
    out = pd.DataFrame(index=index)
    out["activity_recent"] = recent.astype(int)
    out["activity_baseline_rate"] = expected
    out["activity_drop_p"] = _p_this_low(recent, expected, phi, cfg.recent_days)
    drop = (1.0 - recent / expected).clip(lower=0.0)
    # Only a drop unlikely under the customer's own rate counts; ordinary month-to-month noise is 0.
    out["activity_drop_pct"] = drop.where(out["activity_drop_p"] < cfg.activity_drop_p, 0.0).where(
        expected.notna())
    return out


def _abandoned_channels(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig,
                        index: pd.Index) -> pd.Series:
    # Only customer-initiated events say which channels the customer uses; campaigns we send
    # and ticket replies we write do not.
    own = ev.loc[ev["type"].isin(["purchase", "login", "page_view", "click", "ticket_opened"])
                 & (ev["channel"] != "unknown")]
    recent_start = as_of - pd.Timedelta(days=cfg.recent_days)
    base_start = recent_start - pd.Timedelta(days=cfg.baseline_days)
    base = own.loc[(own["timestamp"] > base_start) & (own["timestamp"] <= recent_start)]
    recent = own.loc[own["timestamp"] > recent_start]
    regular = base.groupby(["customer_id", "channel"]).size()
    regular = regular[regular >= cfg.min_channel_events]
    used_recently = set(zip(recent["customer_id"], recent["channel"], strict=True))
    result: dict[str, list[str]] = {}
    for cid, channel in regular.index:
        if (cid, channel) not in used_recently:
            result.setdefault(str(cid), []).append(str(channel))
    return pd.Series([sorted(result.get(str(c), [])) for c in index], index=index, dtype=object)


def _ticket_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig,
                    index: pd.Index) -> pd.DataFrame:
    tickets = ev.loc[ev["type"].isin(["ticket_opened", "ticket_replied", "ticket_resolved"])].sort_values(
        "timestamp", kind="stable")
    sla = pd.Timedelta(hours=cfg.ticket_sla_hours)
    rows: dict[str, tuple[int, float, list[str]]] = {}
    for cid, grp in tickets.groupby("customer_id", sort=False):
        open_tickets: dict[str, pd.Timestamp] = {}
        fifo: list[str] = []
        for i, row in enumerate(grp.itertuples(index=False)):
            # `value` holds the ticket id when the source has one; without it, a reply answers
            # the oldest open ticket of that customer (first in, first out).
            tid = str(row.value) if pd.notna(row.value) and str(row.value) != "" else None
            if row.type == "ticket_opened":
                new_key = tid or f"#{i}"
                open_tickets[new_key] = row.timestamp
                fifo.append(new_key)
            else:
                done = tid if tid in open_tickets else (fifo[0] if fifo and tid is None else None)
                if done is not None and done in open_tickets:
                    del open_tickets[done]
                    fifo.remove(done)
        late = {k: (as_of - t) for k, t in open_tickets.items() if as_of - t > sla}
        if late:
            oldest = max(late.values()) / pd.Timedelta(hours=1)
            ids = [k for k in late if not k.startswith("#")]
            rows[str(cid)] = (len(late), float(oldest), ids)
    out = pd.DataFrame(index=index)
    out["tickets_unanswered"] = [rows.get(str(c), (0, 0.0, []))[0] for c in index]
    out["oldest_unanswered_hours"] = [rows.get(str(c), (0, 0.0, []))[1] for c in index]
    out["unanswered_ticket_ids"] = pd.Series([rows.get(str(c), (0, 0.0, []))[2] for c in index],
                                             index=index, dtype=object)
    return out


def _campaign_signals(ev: pd.DataFrame, as_of: pd.Timestamp, cfg: BehaviourConfig,
                      index: pd.Index) -> pd.DataFrame:
    start = as_of - pd.Timedelta(days=cfg.campaign_window_days)
    camp = ev.loc[ev["type"].isin(["campaign_sent", "campaign_open", "campaign_click"])]
    recent, before = camp.loc[camp["timestamp"] > start], camp.loc[camp["timestamp"] <= start]

    def counts(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        sent = df.loc[df["type"] == "campaign_sent"].groupby("customer_id").size()
        # An open and a click on the same campaign are one response; without campaign ids
        # (in `value`) each response event counts, capped below at the number sent.
        resp = df.loc[df["type"] != "campaign_sent"]
        with_id = resp.loc[resp["value"].notna()].drop_duplicates(["customer_id", "value"])
        n_resp = pd.concat([with_id, resp.loc[resp["value"].isna()]]).groupby("customer_id").size()
        return sent.reindex(index).fillna(0), n_resp.reindex(index).fillna(0)

    sent_r, resp_r = counts(recent)
    sent_b, resp_b = counts(before)
    out = pd.DataFrame(index=index)
    out["campaigns_sent_recent"] = sent_r.astype(int)
    out["campaign_responses_recent"] = np.minimum(resp_r, sent_r).astype(int)
    rate_before = np.minimum(resp_b, sent_b) / sent_b.where(sent_b > 0)
    out["campaign_response_rate_before"] = rate_before.astype(float)
    return out


def compute_behaviour_signals(events: pd.DataFrame, as_of: pd.Timestamp | None = None,
                              config: BehaviourConfig | None = None) -> pd.DataFrame:
    """Per-customer behaviour measurements at ``as_of`` from validated events.

    ``events`` must already have passed :func:`analyzer.foresight.schemas.validate_events`.
    ``as_of`` defaults to the last event's timestamp; events after it are ignored (so a
    back-test never sees the future). Returns :data:`BEHAVIOUR_COLUMNS`, one row per customer.
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
    # Customers first seen after as_of do not exist yet at as_of.
    index = pd.Index(sorted(ev["customer_id"].unique()), name="customer_id")
    # Activity = things the customer did; a campaign we sent or a reply we wrote is not activity.
    active = ev.loc[~ev["type"].isin(["campaign_sent", "ticket_replied", "ticket_resolved"])]
    last = active.groupby("customer_id")["timestamp"].max().reindex(index)
    out = pd.DataFrame(index=index)
    out["last_activity"] = last
    out["days_inactive"] = ((as_of_ts - last) / pd.Timedelta(days=1)).astype(float)
    warn, severe = cfg.inactivity_days
    level = np.where(out["days_inactive"] >= severe, 2, np.where(out["days_inactive"] >= warn, 1, 0))
    out["inactivity_level"] = np.where(out["days_inactive"].isna(), 0, level).astype(int)
    out = out.join(_purchase_signals(ev, as_of_ts, cfg, index))
    out = out.join(_activity_signals(ev, as_of_ts, cfg, index))
    # Inactivity counts any own activity, so its horizon uses the customer's typical gap between
    # active days of any kind (logins, clicks, purchases, ...) over the windows; a customer who
    # only buys falls back on the purchase gap, which is the same thing for them.
    window = active.loc[active["timestamp"] > as_of_ts - pd.Timedelta(days=cfg.baseline_days + cfg.recent_days)]
    days = window.assign(day=window["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
    g = days.groupby("customer_id")["day"]
    span = ((g.max() - g.min()) / pd.Timedelta(days=1)).reindex(index)
    n_days = g.size().reindex(index).fillna(0)
    out["typical_activity_gap_days"] = span / (n_days - 1).where(n_days >= 2)
    gap = out[["typical_gap_days", "typical_activity_gap_days"]].min(axis=1).fillna(0.0)
    out["lapse_horizon_days"] = np.maximum(cfg.lapse_min_days, cfg.lapse_gap_multiple * gap)
    inactive = out["days_inactive"].fillna(0.0)
    dead = out["p_alive"].fillna(1.0) < cfg.lapse_p_alive
    out["lapsed"] = ((inactive >= out["lapse_horizon_days"])
                     | ((inactive >= cfg.lapse_min_days) & dead)).astype(bool)
    out["abandoned_channels"] = _abandoned_channels(ev, as_of_ts, cfg, index)
    recent_errors = ev.loc[(ev["type"] == "error")
                           & (ev["timestamp"] > as_of_ts - pd.Timedelta(days=cfg.error_window_days))]
    out["errors_recent"] = recent_errors.groupby("customer_id").size().reindex(index).fillna(0).astype(int)
    out = out.join(_ticket_signals(ev, as_of_ts, cfg, index))
    out = out.join(_campaign_signals(ev, as_of_ts, cfg, index))
    return out.reset_index()[list(BEHAVIOUR_COLUMNS)]
