"""Forward-in-time evaluation of the alerts on real transactions (online_retail, cdnow).

Protocol (as a user would run it, on data no default was tuned on):

1. cut the history at a date; everything after it is hidden;
2. fit the product's model on the history alone (:class:`~analyzer.foresight.model.ForesightModel`:
   its own back-test, its own horizon and calibration), score every customer at the cut;
3. judge the customers active in the 90 days before the cut: positive = no purchase in the 90
   days after it;
4. in the same run, the baselines on the same customers: recency alone, BG/NBD P(no purchase in
   90 days) fitted at the cut, and an RFM logistic regression trained one horizon earlier
   (features at ``cut - 90 d``, labels in the 90 days up to the cut: it never sees after the cut);
5. retention alerts at the rule table's default bar (severity low or above, lapsed customers
   excluded: they get a win-back instead), against a recency ranking of the same size.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from analyzer.errors import InputFormatError
from analyzer.foresight import ForesightModel, decide_alerts, load_rules, prepare_inputs
from analyzer.foresight.bgnbd import BGNBD, rfm_summary
from analyzer.settings import get_settings

__all__ = ["RETAIL_CUTOFF", "evaluate_forward", "load_cdnow", "load_online_retail"]

RETAIL_CUTOFF = "2011-06-30"
CDNOW_CUTOFF = "1997-12-31"
_DAY = pd.Timedelta(days=1)


def _dataset(*parts: str) -> Path:
    path = get_settings().datasets_dir.joinpath(*parts)
    if not path.exists():
        raise InputFormatError(f"dataset file {str(path)!r} not found; set DARKFEEDBACK_DATASETS_DIR to the "
                               f"folder holding the shared datasets.")
    return path


def load_online_retail() -> pd.DataFrame:
    """Purchases of online_retail as events (one row per invoice; cancellations and returns removed)."""
    raw = pd.read_csv(_dataset("online_retail", "transactions_2010-12_to_2011-09.csv.gz"),
                      dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw.dropna(subset=["CustomerID"])
    raw = raw.loc[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)]
    raw = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"])
    inv = raw.groupby("InvoiceNo").agg(customer_id=("CustomerID", "first"), timestamp=("InvoiceDate", "first"),
                                       value=("amount", "sum")).reset_index()
    inv["customer_id"] = inv["customer_id"].astype(int).astype(str)
    inv["timestamp"] = pd.to_datetime(inv["timestamp"], utc=True)
    inv["type"], inv["channel"] = "purchase", "web"
    return inv.rename(columns={"InvoiceNo": "event_id"})[["customer_id", "timestamp", "type", "value", "channel",
                                                           "event_id"]]


def load_cdnow() -> pd.DataFrame:
    """CDNOW purchases (1997-01 to 1998-06) as events, one per customer and day."""
    raw = pd.read_csv(_dataset("cdnow", "CDNOW_master.txt"), sep=r"\s+", header=0,
                      names=["customer_id", "date", "cds", "value"])
    ev = pd.DataFrame({"customer_id": raw["customer_id"].astype(int).astype(str),
                       "timestamp": pd.to_datetime(raw["date"].astype(int).astype(str), format="%Y%m%d", utc=True)
                       + pd.Timedelta(hours=12),
                       "type": "purchase", "value": raw["value"].astype(float), "channel": "web"})
    ev["event_id"] = [f"cd{i}" for i in range(len(ev))]
    return ev


def _rfm(purchases: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    s = rfm_summary(purchases, cut, value_col="value")
    days = (cut.floor("D") - s["last_purchase"]).dt.days.astype(float)
    return pd.DataFrame({"recency_days": days, "frequency": s["frequency"] + 1,
                         "monetary": s["monetary"].clip(lower=0), "T": s["T"], "x": s["frequency"],
                         "t_x": s["recency"]})


def _log_rfm(f: pd.DataFrame) -> np.ndarray:
    return np.column_stack([np.log1p(f["recency_days"]), np.log1p(f["frequency"]), np.log1p(f["monetary"]),
                            np.log1p(f["T"])])


def _lapsed(purchases: pd.DataFrame, ids: pd.Index, start: pd.Timestamp, days: int) -> np.ndarray:
    window = purchases.loc[(purchases["timestamp"] > start) & (purchases["timestamp"] <= start + days * _DAY)]
    return np.asarray(~ids.isin(window["customer_id"].unique()), dtype=int)


def evaluate_forward(events: pd.DataFrame, cutoff: str, *, dataset: str, horizon_days: int = 90,
                     lookback_days: int = 90, log: Callable[[str], None] = print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(ranking, alerts)`` tables of the protocol above on ``events`` cut at ``cutoff`` (end of that day)."""
    cut = pd.Timestamp(cutoff, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59)
    history = events.loc[events["timestamp"] <= cut]
    t0 = time.perf_counter()
    model = ForesightModel().fit(None, history, as_of=cut)
    log(f"  {dataset}: model fitted in {time.perf_counter() - t0:.0f} s: {model.report_.summary()}")
    inputs = prepare_inputs(None, history, None)
    states, features, facts = model.score_inputs(inputs, cut)
    last = history.groupby("customer_id")["timestamp"].max()
    active = pd.Index(sorted(last.index[last > cut - lookback_days * _DAY]))
    y = _lapsed(events, active, cut, horizon_days)
    s = states.reindex(active)
    rfm = _rfm(history, cut).reindex(active)
    scores: dict[str, np.ndarray] = {
        "dark-feedback risk (fitted on its own history, no labels)": s["risk"].to_numpy(),
        "recency only (days since last purchase)": rfm["recency_days"].to_numpy(),
    }
    all_rfm = _rfm(history, cut)
    bg = BGNBD(penalizer=1e-4).fit(all_rfm["x"], all_rfm["t_x"], all_rfm["T"])
    scores["BG/NBD P(no purchase in 90 d), fitted at the cut"] = bg.p_no_purchase(horizon_days, rfm["x"], rfm["t_x"],
                                                                                  rfm["T"])
    train_cut = cut - horizon_days * _DAY
    train = _rfm(events.loc[events["timestamp"] <= train_cut], train_cut)
    last_t = events.loc[events["timestamp"] <= train_cut].groupby("customer_id")["timestamp"].max()
    train = train.reindex(last_t.index[last_t > train_cut - lookback_days * _DAY])
    y_train = _lapsed(events, train.index, train_cut, horizon_days)
    lr = LogisticRegression(max_iter=2000).fit(_log_rfm(train), y_train)
    scores["RFM logistic (trained one horizon earlier)"] = lr.predict_proba(_log_rfm(rfm))[:, 1]
    rows = []
    for name, sc in scores.items():
        row: dict[str, object] = {"dataset": dataset, "model": name, "roc_auc": float(roc_auc_score(y, sc))}
        if name.startswith(("dark-feedback", "BG/NBD", "RFM")):
            row["brier"] = float(brier_score_loss(y, np.clip(sc, 0, 1)))
        rows.append(row)
    ranking = pd.DataFrame(rows)
    ranking["customers"], ranking["base_rate"] = len(active), float(y.mean())
    ranking["fit"] = (f"{model.report_.source}: {len(model.report_.cutoffs)} cut-offs, {model.report_.examples} "
                      f"examples, horizon {model.horizon_days_} d, back-test AUC "
                      f"{model.report_.roc_auc if model.report_.roc_auc is None else round(model.report_.roc_auc, 3)}")
    _, _, judged = decide_alerts(states, features, facts, inputs.customers, load_rules(), as_of=cut)
    j = judged.reindex(active)
    flagged = ((j["severity"] != "info") & ~j["lapsed"].astype(bool)).to_numpy()
    k = int(flagged.sum())
    top = rfm["recency_days"].to_numpy().argsort()[::-1][:k]
    precision = float(y[flagged].mean()) if k else float("nan")
    recency_precision = float(y[top].mean()) if k else float("nan")
    alerts = pd.DataFrame([{
        "dataset": dataset, "customers": len(active), "base_rate": float(y.mean()), "alerts": k,
        "precision": precision, "lift_over_base": precision / float(y.mean()) if k else float("nan"),
        "recall": float(y[flagged].sum() / max(y.sum(), 1)), "recency_top_k_precision": recency_precision,
        "lapsed_excluded": int(j["lapsed"].sum()),
        "meets_targets": bool(k and precision >= 1.5 * y.mean() and precision >= recency_precision
                              and y[flagged].sum() / max(y.sum(), 1) >= 0.30),
    }])
    return ranking, alerts
