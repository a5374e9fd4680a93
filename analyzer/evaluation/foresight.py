"""Evaluations of the foresight stage on public labelled data.

``python -m analyzer.evaluation.foresight [behaviour|shift|telco|shift-model ...]`` prints the tables
(the first three by default; ``shift-model`` scores turns with the trained sentiment model,
:func:`text_core_score_fn`, instead of VADER).

- :func:`evaluate_behaviour` -- online_retail: fit on transactions up to 2011-06-30, predict who
  buys nothing in the following 90 days; BG/NBD vs recency-only and RFM baselines (ROC-AUC).
- :func:`evaluate_shift` -- uss_satisfaction_dialogues: flag user turns whose satisfaction is
  1-2; thresholds tuned on MWOZ, reported on SGD, against "no change" and per-message-threshold
  baselines. The per-turn score is VADER, a stand-in for the text core's sentiment model.
- :func:`evaluate_telco` -- ibm_telco_churn: :meth:`RiskModel.fit` on a training split,
  ROC-AUC and Brier score on a held-out test split.

Datasets are read from ``get_settings().datasets_dir``; nothing is copied.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, f1_score, precision_score, recall_score, roc_auc_score
from sklearn.model_selection import train_test_split

from analyzer.errors import ConfigError, InputFormatError
from analyzer.foresight.behaviour import BehaviourConfig, compute_behaviour_signals
from analyzer.foresight.bgnbd import BGNBD, rfm_summary
from analyzer.foresight.fusion import RiskModel, build_facts, signal_features
from analyzer.foresight.shift import ScoreFn, cusum_drop_scores, turn_drop_scores, vader_score_fn
from analyzer.settings import get_settings

__all__ = ["FORESIGHT_EVALUATIONS", "evaluate_behaviour", "evaluate_shift", "evaluate_telco", "main", "run_evaluations",
           "text_core_score_fn"]


def _dataset(*parts: str) -> Path:
    path = get_settings().datasets_dir.joinpath(*parts)
    if not path.exists():
        raise InputFormatError(f"dataset file {str(path)!r} not found; set DARKFEEDBACK_DATASETS_DIR to the "
                               f"folder holding the shared datasets.")
    return path


# --------------------------------------------------------------------------- behaviour

def load_online_retail() -> pd.DataFrame:
    """Purchases of online_retail as events (one row per invoice; cancellations removed)."""
    raw = pd.read_csv(_dataset("online_retail", "transactions_2010-12_to_2011-09.csv.gz"),
                      dtype={"InvoiceNo": str, "StockCode": str})
    raw = raw.dropna(subset=["CustomerID"])
    raw = raw.loc[~raw["InvoiceNo"].str.startswith("C") & (raw["Quantity"] > 0) & (raw["UnitPrice"] > 0)]
    raw = raw.assign(amount=raw["Quantity"] * raw["UnitPrice"])
    inv = raw.groupby("InvoiceNo").agg(customer_id=("CustomerID", "first"),
                                       timestamp=("InvoiceDate", "first"),
                                       value=("amount", "sum")).reset_index()
    inv["customer_id"] = inv["customer_id"].astype(int).astype(str)
    inv["timestamp"] = pd.to_datetime(inv["timestamp"], utc=True)
    inv["type"], inv["channel"] = "purchase", "web"
    return inv.rename(columns={"InvoiceNo": "event_id"})[
        ["customer_id", "timestamp", "type", "value", "channel", "event_id"]]


def _rfm_features(purchases: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    s = rfm_summary(purchases, cutoff, value_col="value")
    days_since = (cutoff.floor("D") - s["last_purchase"]).dt.days.astype(float)
    return pd.DataFrame({"recency_days": days_since, "frequency": s["frequency"] + 1,
                         "monetary": s["monetary"].clip(lower=0), "T": s["T"],
                         "x": s["frequency"], "t_x": s["recency"]})


def _churn_label(purchases: pd.DataFrame, ids: pd.Index, start: pd.Timestamp, days: int) -> pd.Series:
    end = start + pd.Timedelta(days=days)
    window = purchases.loc[(purchases["timestamp"] > start) & (purchases["timestamp"] <= end)]
    return pd.Series(~ids.isin(window["customer_id"].unique()), index=ids).astype(int)


def _log_rfm(f: pd.DataFrame) -> np.ndarray:
    return np.column_stack([np.log1p(f["recency_days"]), np.log1p(f["frequency"]),
                            np.log1p(f["monetary"]), np.log1p(f["T"])])


def evaluate_behaviour(cutoff: str = "2011-06-30", horizon_days: int = 90,
                       train_cutoff: str = "2011-03-31") -> pd.DataFrame:
    """ROC-AUC of "no purchase in the next 90 days" on online_retail, several scorers in one run.

    The supervised RFM baseline is trained on an earlier cutoff (features up to
    ``train_cutoff``, labels in the 90 days after it) so it never sees the evaluation window.
    """
    purchases = load_online_retail()
    cut = pd.Timestamp(cutoff, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59)
    tcut = pd.Timestamp(train_cutoff, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59)
    feats = _rfm_features(purchases, cut)
    y = _churn_label(purchases, feats.index, cut, horizon_days)

    scores: dict[str, np.ndarray] = {}
    scores["recency only (days since last purchase)"] = feats["recency_days"].to_numpy()
    # Classic RFM quintile score (1-5 each, higher = better customer); risk = minus the sum.
    q = pd.DataFrame({
        "r": pd.qcut(-feats["recency_days"].rank(method="first"), 5, labels=False),
        "f": pd.qcut(feats["frequency"].rank(method="first"), 5, labels=False),
        "m": pd.qcut(feats["monetary"].rank(method="first"), 5, labels=False),
    })
    scores["RFM quintile score (unsupervised)"] = -q.sum(axis=1).to_numpy(dtype=float)
    train = _rfm_features(purchases, tcut)
    y_train = _churn_label(purchases, train.index, tcut, horizon_days)
    lr = LogisticRegression(max_iter=2000).fit(_log_rfm(train), y_train)
    scores["RFM logistic (trained on 2011-03-31 cutoff)"] = lr.predict_proba(_log_rfm(feats))[:, 1]

    model = BGNBD(penalizer=1e-4).fit(feats["x"], feats["t_x"], feats["T"])
    p0 = model.p_no_purchase(horizon_days, feats["x"], feats["t_x"], feats["T"])
    scores["BG/NBD P(no purchase in 90 d)"] = p0
    scores["BG/NBD 1 - P(alive)"] = 1 - model.p_alive(feats["x"], feats["t_x"], feats["T"])

    # The product path: behaviour signals -> default (label-free) additive risk.
    def signals_at(when: pd.Timestamp) -> pd.DataFrame:
        beh = compute_behaviour_signals(purchases.loc[purchases["timestamp"] <= when], when,
                                        BehaviourConfig(bgnbd_horizon_days=horizon_days))
        return signal_features(build_facts(beh, pd.DataFrame({"customer_id": pd.Series(dtype=str)})))

    x_eval = signals_at(cut).reindex(feats.index)
    risk = RiskModel().predict_proba(x_eval)
    scores["foresight default risk (behaviour signals, no labels)"] = risk
    # The labelled path: the same signals, weights fitted on the earlier cutoff's outcomes.
    x_train = signals_at(tcut).reindex(train.index)
    fitted = RiskModel().fit(x_train, y_train)
    scores["foresight RiskModel.fit (signals, trained on 2011-03-31 cutoff)"] = fitted.predict_proba(x_eval)

    rows = []
    for name, s in scores.items():
        row = {"model": name, "roc_auc": roc_auc_score(y, s), "n_customers": len(y),
               "share_no_purchase": float(y.mean())}
        if name.startswith(("BG/NBD P(no", "RFM logistic", "foresight RiskModel.fit")):
            row["brier"] = brier_score_loss(y, s)
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["bgnbd_params"] = model.params_
    return table


# --------------------------------------------------------------------------- shift

def _prf(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {"precision": float(precision_score(y, pred, zero_division=0)),
            "recall": float(recall_score(y, pred, zero_division=0)),
            "f1": float(f1_score(y, pred, zero_division=0)), "flagged": int(pred.sum())}


def _load_turns(score_fn: ScoreFn) -> pd.DataFrame:
    turns = pd.read_csv(_dataset("uss_satisfaction_dialogues", "uss_turns.csv"))
    turns = turns.loc[(turns["role"] == "USER") & turns["sat_median"].notna()
                      & turns["corpus"].isin(["MWOZ", "SGD"])].copy()
    turns = turns.sort_values(["corpus", "dialogue", "turn"], kind="stable")
    turns["score"] = score_fn(turns["text"].fillna("").astype(str).tolist())
    turns["y"] = (turns["sat_median"] <= 2).astype(int)
    prev_sat = turns.groupby(["corpus", "dialogue"])["sat_median"].shift(1).fillna(3.0)
    turns["y_onset"] = ((turns["sat_median"] <= 2) & (prev_sat > 2)).astype(int)
    groups = turns.groupby(["corpus", "dialogue"], sort=False)
    drops = [turn_drop_scores(g["score"].to_numpy()) for _, g in groups]
    turns["drop"] = np.concatenate(drops)
    return turns


def _cusum(turns: pd.DataFrame, alpha: float, k: float) -> np.ndarray:
    parts = [cusum_drop_scores(g.to_numpy(), alpha=alpha, k=k)
             for _, g in turns.groupby(["corpus", "dialogue"], sort=False)["score"]]
    return np.concatenate(parts) if parts else np.array([])


def _best_f1(y: np.ndarray, stat: np.ndarray, score: np.ndarray, hs: np.ndarray,
             taus: np.ndarray) -> tuple[float, float, float]:
    """(f1, h, tau) maximising F1 of ``(stat >= h) & (score <= tau)`` (vectorised over h)."""
    best = (-1.0, float(hs[0]), float(taus[0]))
    pos = y.sum()
    for tau in taus:
        ok = score <= tau
        flags = (stat[None, :] >= hs[:, None]) & ok[None, :]
        tp = (flags & (y[None, :] == 1)).sum(axis=1)
        n = flags.sum(axis=1)
        f1 = np.where(n + pos > 0, 2 * tp / np.maximum(n + pos, 1), 0.0)
        j = int(np.argmax(f1))
        if f1[j] > best[0]:
            best = (float(f1[j]), float(hs[j]), float(tau))
    return best


def text_core_score_fn(cache_path: str | Path | None = None) -> ScoreFn:
    """The real sentiment model as a :data:`ScoreFn`: ``load_analyzer().analyze_frame(...)["sentiment_score"]``.

    Each distinct text is analysed once (dialogue turns repeat: "thank you", "yes please");
    with ``cache_path`` (a Parquet file) the analysed rows persist between runs and the models
    load only if a text is missing from it.
    """
    from analyzer.evaluation.end_to_end import CachedTextFn, _default_text_fn

    cached = CachedTextFn(None, cache_path, loader=_default_text_fn)

    def score(texts: Sequence[str]) -> np.ndarray:
        out = cached(pd.DataFrame({"text": [str(t) for t in texts]}))
        return pd.to_numeric(out["sentiment_score"]).to_numpy(dtype=float)

    score.__name__ = "text core sentiment model"
    return score


def evaluate_shift(score_fn: ScoreFn | None = None) -> pd.DataFrame:
    """Precision / recall / F1 of flagging dissatisfied user turns (satisfaction 1-2).

    Two targets: every dissatisfied turn, and the onset (first dissatisfied turn after a
    satisfied one). Every threshold is tuned for F1 on MWOZ and applied unchanged to SGD.
    ``score_fn`` defaults to VADER (a lexicon stand-in); pass :func:`text_core_score_fn` for
    the trained sentiment model. Methods, all online (turn ``t`` sees only turns up to ``t``):

    - no change (never flags) and flag every turn: the trivial baselines;
    - per-message threshold: ``score <= tau``;
    - drop below the running mean of earlier turns (``drop >= delta`` and ``score <= tau``);
    - CUSUM tone shift: one-sided CUSUM of drops below the conversation's EWMA baseline
      (:func:`~analyzer.foresight.shift.cusum_drop_scores`), ``C_t >= h`` and ``score <= tau``;
      alpha, k, h and tau tuned jointly on MWOZ.
    """
    scorer_name = "VADER (stand-in)" if score_fn is None else getattr(score_fn, "__name__", "custom")
    turns = _load_turns(score_fn or vader_score_fn())
    is_tune = (turns["corpus"] == "MWOZ").to_numpy()
    tune, test = turns.loc[is_tune], turns.loc[~is_tune]
    taus = np.round(np.arange(-0.9, 0.51, 0.05), 2)
    taus_any = np.append(taus, 1.0)  # 1.0 = no condition on the turn's own score
    deltas = np.round(np.arange(0.05, 1.51, 0.05), 2)
    hs = np.round(np.arange(0.05, 3.01, 0.05), 2)
    cusums = {(a, k): _cusum(turns, a, k) for a in (0.1, 0.2, 0.3, 0.5, 0.7, 1.0) for k in (0.0, 0.1, 0.2, 0.3)}
    rows = []
    for target in ("y", "y_onset"):
        y_tune, y_test = tune[target].to_numpy(), test[target].to_numpy()
        best_tau = max(taus, key=lambda t: f1_score(y_tune, tune["score"] <= t, zero_division=0))
        _, best_d, best_t = _best_f1(y_tune, tune["drop"].to_numpy(), tune["score"].to_numpy(), deltas, taus)
        tuned = {ak: _best_f1(y_tune, c[is_tune], tune["score"].to_numpy(), hs, taus_any)
                 for ak, c in cusums.items()}
        (a, k), (_, h, tau_c) = max(tuned.items(), key=lambda kv: kv[1][0])
        c_test = cusums[(a, k)][~is_tune]
        name = "dissatisfied turn (sat<=2)" if target == "y" else "onset of dissatisfaction"
        cond = "" if tau_c >= 1.0 else f", score <= {tau_c:g}"
        c_tune = cusums[(a, k)][is_tune]
        on_tune = {  # the same rules on the tuning corpus: its F1 is what chose them
            "per-message": tune["score"].to_numpy() <= best_tau,
            "drop": (tune["drop"].to_numpy() >= best_d) & (tune["score"].to_numpy() <= best_t),
            "cusum": (c_tune >= h) & (tune["score"].to_numpy() <= tau_c),
        }
        f1_tune = {m: f1_score(y_tune, f, zero_division=0) for m, f in on_tune.items()}
        preds = {
            "no change (never flags)": np.zeros_like(y_test),
            "flag every turn": np.ones_like(y_test),
            f"per-message threshold (score <= {best_tau:g})": (test["score"] <= best_tau).to_numpy(),
            f"drop vs running mean (drop >= {best_d:g}, score <= {best_t:g})":
                ((test["drop"] >= best_d) & (test["score"] <= best_t)).to_numpy(),
            f"tone shift, CUSUM vs EWMA baseline (alpha {a:g}, k {k:g}, h >= {h:g}{cond})":
                ((c_test >= h) & (test["score"].to_numpy() <= tau_c)),
        }
        tune_f1 = [0.0, f1_score(y_tune, np.ones_like(y_tune), zero_division=0), f1_tune["per-message"],
                   f1_tune["drop"], f1_tune["cusum"]]
        for (method, pred), ft in zip(preds.items(), tune_f1, strict=True):
            rows.append({"target": name, "method": method, "f1_mwoz": float(ft),
                         **_prf(y_test, np.asarray(pred, dtype=int)),
                         "positives": int(y_test.sum()), "turns": len(y_test), "scorer": scorer_name,
                         "tuned_on": "MWOZ", "reported_on": "SGD"})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- telco

_TELCO_CATEGORICAL = ["Gender", "Senior Citizen", "Partner", "Dependents", "Phone Service", "Multiple Lines",
                      "Internet Service", "Online Security", "Online Backup", "Device Protection",
                      "Tech Support", "Streaming TV", "Streaming Movies", "Contract", "Paperless Billing",
                      "Payment Method"]


def telco_features(df: pd.DataFrame) -> pd.DataFrame:
    """Telco features on a [0, 1] scale (one-hot categories; numerics divided by a fixed max).

    Churn Score, CLTV and Churn Reason are excluded: they are IBM's own outputs or only exist
    for churners, i.e. label leakage.
    """
    total = pd.to_numeric(df["Total Charges"], errors="coerce").fillna(0.0)
    num = pd.DataFrame({"tenure_months": df["Tenure Months"] / 72.0,
                        "log_tenure": np.log1p(df["Tenure Months"]) / np.log1p(72.0),
                        "monthly_charges": df["Monthly Charges"] / 120.0,
                        "total_charges": total / 9000.0}, index=df.index)
    cat = pd.get_dummies(df[_TELCO_CATEGORICAL].astype(str), drop_first=True, dtype=float)
    cat.columns = [c.replace(" ", "_").lower() for c in cat.columns]
    return pd.concat([num, cat], axis=1)


def evaluate_telco(test_size: float = 0.25, random_state: int = 0) -> pd.DataFrame:
    """ROC-AUC and Brier of :meth:`RiskModel.fit` on a held-out split of ibm_telco_churn."""
    df = pd.read_csv(_dataset("ibm_telco_churn", "Telco_customer_churn.csv"))
    X, y = telco_features(df), df["Churn Value"].astype(int)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y,
                                              random_state=random_state)
    model = RiskModel().fit(X_tr, y_tr)
    p = model.predict_proba(X_te)
    expl = model.explain(X_te.iloc[:200])
    gap = max(abs(r.bias + sum(d["contribution"] for d in r.reasons) - r.logit) for r in expl.itertuples())
    plain = LogisticRegression(max_iter=2000).fit(X_tr, y_tr).predict_proba(X_te)[:, 1]
    base = np.full(len(y_te), y_tr.mean())
    rows = [
        {"model": "RiskModel.fit (LR + Platt, additive)", "roc_auc": roc_auc_score(y_te, p),
         "brier": brier_score_loss(y_te, p), "max_additivity_error": gap},
        {"model": "plain sklearn LogisticRegression", "roc_auc": roc_auc_score(y_te, plain),
         "brier": brier_score_loss(y_te, plain), "max_additivity_error": np.nan},
        {"model": "base rate (no model)", "roc_auc": 0.5, "brier": brier_score_loss(y_te, base),
         "max_additivity_error": np.nan},
    ]
    table = pd.DataFrame(rows)
    table["n_train"], table["n_test"], table["churn_rate_test"] = len(y_tr), len(y_te), float(y_te.mean())
    return table


FORESIGHT_EVALUATIONS: tuple[str, ...] = ("shift", "shift-model", "behaviour", "telco", "e2e")
"""Parts of :func:`run_evaluations`; ``shift-model`` scores the dialogues with the trained sentiment
model (slow the first time: about 22,000 distinct turns, then read from the text cache)."""

DEFAULT_CACHE_DIR = Path("out") / "foresight"
"""Where analysed texts are cached between runs (git-ignored ``out/``, relative to the working folder)."""

_SHIFT_COLS = ["target", "method", "f1_mwoz", "precision", "recall", "f1", "flagged", "positives"]


def run_evaluations(parts: Sequence[str] = ("shift", "behaviour", "telco", "e2e"), *, quick: bool = False,
                    seed: int | None = None, cache_dir: str | Path | None = DEFAULT_CACHE_DIR,
                    log: Callable[[str], None] = print) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield ``(title, table)`` for each requested evaluation, in order (one command, all tables).

    ``e2e`` is the simulated end-to-end evaluation (:mod:`analyzer.evaluation.end_to_end`; ``quick``
    and ``seed`` apply to it). Analysed texts are cached under ``cache_dir`` (``None``: no cache).
    """
    unknown = sorted(set(parts) - set(FORESIGHT_EVALUATIONS))
    if unknown:
        raise ConfigError(f"unknown evaluation(s) {unknown}; choose from {list(FORESIGHT_EVALUATIONS)}.")
    cache = Path(cache_dir) / "text_cache.parquet" if cache_dir is not None else None
    for part in parts:
        start = time.perf_counter()
        log(f"running {part} ...")
        if part == "shift":
            yield ("Tone shift on uss_satisfaction_dialogues (tuned on MWOZ, reported on SGD), VADER scorer",
                   evaluate_shift()[_SHIFT_COLS])
        elif part == "shift-model":
            yield ("Tone shift on uss_satisfaction_dialogues (tuned on MWOZ, reported on SGD), text core scorer",
                   evaluate_shift(text_core_score_fn(cache))[_SHIFT_COLS])
        elif part == "behaviour":
            yield ("No purchase in the 90 days after 2011-06-30, online_retail (ROC-AUC)", evaluate_behaviour())
        elif part == "telco":
            yield "ibm_telco_churn sanity check (held-out 25 %)", evaluate_telco()
        else:
            from analyzer.evaluation.end_to_end import e2e_tables

            yield from e2e_tables(quick=quick, seed=seed, cache_path=cache, log=log)
        log(f"{part} took {time.perf_counter() - start:.0f} s")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the requested evaluation tables (``shift behaviour telco e2e`` by default; also ``shift-model``)."""
    args = list(argv if argv is not None else sys.argv[1:])
    quick = "--quick" in args
    which = [a for a in args if not a.startswith("--")] or ["shift", "behaviour", "telco", "e2e"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 100,
                           "display.float_format", "{:.3f}".format):
        for title, table in run_evaluations(which, quick=quick, log=lambda m: print(m, file=sys.stderr)):
            print(f"\n=== {title} ===")
            print(table.to_string(index=False))


if __name__ == "__main__":
    main()
