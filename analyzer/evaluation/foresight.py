"""Evaluations of the foresight stage on public labelled data.

``python -m analyzer.evaluation.foresight [retail|cdnow|shift|telco|e2e|shift-model ...]`` prints the
tables (all but ``shift-model`` by default; ``shift-model`` scores turns with the trained sentiment
model, :func:`text_core_score_fn`, instead of VADER).

- ``retail`` / ``cdnow`` -- :func:`analyzer.evaluation.forward.evaluate_forward`: the product's model
  fitted on the history up to a cut, judged on the next 90 days, with the baselines in the same run,
  and its retention alerts at the default bar.
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
from analyzer.evaluation.forward import (
    CDNOW_CUTOFF,
    RETAIL_CUTOFF,
    evaluate_forward,
    load_cdnow,
    load_online_retail,
)
from analyzer.foresight.risk import RiskModel
from analyzer.foresight.shift import ScoreFn, cusum_drop_scores, turn_drop_scores, vader_score_fn
from analyzer.settings import get_settings

__all__ = ["FORESIGHT_EVALUATIONS", "evaluate_shift", "evaluate_telco", "load_online_retail", "main", "run_evaluations",
           "text_core_score_fn"]


def _dataset(*parts: str) -> Path:
    path = get_settings().datasets_dir.joinpath(*parts)
    if not path.exists():
        raise InputFormatError(f"dataset file {str(path)!r} not found; set DARKFEEDBACK_DATASETS_DIR to the "
                               f"folder holding the shared datasets.")
    return path


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
    from analyzer.evaluation.text_cache import CachedTextFn, default_text_fn

    cached = CachedTextFn(None, cache_path, loader=default_text_fn)

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
    model = RiskModel(weights=dict.fromkeys(X_tr.columns, 0.0), bias=0.0).fit(
        X_tr, y_tr, prior=RiskModel(weights=dict.fromkeys(X_tr.columns, 0.0), bias=0.0), signs={})
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


FORESIGHT_EVALUATIONS: tuple[str, ...] = ("retail", "cdnow", "shift", "shift-model", "telco", "e2e")
"""Parts of :func:`run_evaluations`; ``shift-model`` scores the dialogues with the trained sentiment
model (slow the first time: about 22,000 distinct turns, then read from the text cache)."""

DEFAULT_CACHE_DIR = Path("out") / "foresight"
"""Where analysed texts are cached between runs (git-ignored ``out/``, relative to the working folder)."""

_SHIFT_COLS = ["target", "method", "f1_mwoz", "precision", "recall", "f1", "flagged", "positives"]


def run_evaluations(parts: Sequence[str] = ("retail", "cdnow", "shift", "telco", "e2e"), *, quick: bool = False,
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
        elif part in ("retail", "cdnow"):
            events, cut = (load_online_retail(), RETAIL_CUTOFF) if part == "retail" else (load_cdnow(), CDNOW_CUTOFF)
            ranking, alerts = evaluate_forward(events, cut, dataset=part, log=log)
            yield (f"{part}: no purchase in the 90 days after {cut}, customers active in the 90 days before "
                   "(ROC-AUC, Brier; one run)", ranking)
            yield f"{part}: retention alerts at the default bar vs a recency ranking of the same size", alerts
        elif part == "telco":
            yield "ibm_telco_churn sanity check (held-out 25 %)", evaluate_telco()
        else:
            from analyzer.evaluation.end_to_end import e2e_tables

            yield from e2e_tables(quick=quick, seed=seed, cache_path=cache, log=log)
        log(f"{part} took {time.perf_counter() - start:.0f} s")


def main(argv: Sequence[str] | None = None) -> None:
    """Print the requested evaluation tables (``retail cdnow shift telco e2e`` by default; also ``shift-model``)."""
    args = list(argv if argv is not None else sys.argv[1:])
    quick = "--quick" in args
    which = [a for a in args if not a.startswith("--")] or ["retail", "cdnow", "shift", "telco", "e2e"]
    with pd.option_context("display.width", 250, "display.max_columns", 30, "display.max_colwidth", 100,
                           "display.float_format", "{:.3f}".format):
        for title, table in run_evaluations(which, quick=quick, log=lambda m: print(m, file=sys.stderr)):
            print(f"\n=== {title} ===")
            print(table.to_string(index=False))


if __name__ == "__main__":
    main()
