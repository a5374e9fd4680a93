"""Fusion of the signals into one churn-risk probability whose explanation adds up.

The model is additive in log-odds::

    logit(risk) = bias + sum_i weight_i * x_i        (contribution_i = weight_i * x_i)

so every reason's ``contribution`` is exactly its share of the score and
``bias + sum(contributions) == logit(risk)`` for every customer. ``x_i`` is a signal's
intensity (0 = absent, 1 = as strong as it gets) built by :func:`signal_features` from the
behaviour and message facts.

Without labels the default weights below are used: hand-set priors (in log-odds) that rank
churn intent and a tone shift above softer hints, with the text/behaviour balance and the
calibration set on a simulated TUNING population (see :data:`DEFAULT_BIAS`); they are not
fitted on any real customer's data. With labels, :meth:`RiskModel.fit` learns weights by
logistic regression (optionally sign-constrained) and calibrates them (Platt scaling on
out-of-fold scores, folded back into the weights so the explanation stays additive).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from analyzer.errors import ConfigError
from analyzer.foresight.behaviour import BehaviourConfig

__all__ = [
    "DEFAULT_BIAS",
    "DEFAULT_WEIGHTS",
    "SIGNAL_CODES",
    "SIGNAL_SIGNS",
    "RiskModel",
    "build_facts",
    "reason_texts",
    "signal_features",
]

DEFAULT_WEIGHTS: dict[str, float] = {
    "churn_intent": 1.34,          # says they are leaving: strongest single sign
    "tone_shift": 0.8,             # tone fell vs their own baseline
    "negative_tone": 0.64,         # negative messages among the last k (shrunk: one message is not a pattern)
    "complaints": 0.43,            # complaint themes in the recent window
    "purchase_drop": 0.93,         # purchase frequency vs own 6-month mean, beyond the batch's noise
    "no_purchase_expected": 0.86,  # gap since the last purchase unusual for their OWN rate
    "activity_drop": 0.71,         # logins / page views / clicks fell vs own baseline, beyond noise
    "inactivity": 0.86,            # 30 / 60 days without activity
    "channel_abandonment": 0.36,   # stopped using a channel they used regularly
    "repeated_errors": 0.57,       # several errors in two weeks
    "unanswered_tickets": 0.86,    # tickets waiting past the SLA
    "campaign_nonresponse": 0.29,  # ignores campaigns they used to open
    "positive_tone": -0.64,        # protective: recent messages are positive
    # A level, not a change: likely no purchase in 90 days (BG/NBD) -- true of every naturally
    # rare buyer, so the label-free prior gives it no weight; RiskModel.fit may learn one where
    # labels say rare buyers do churn (e.g. a "no purchase in 90 days" target).
    "low_purchase_rate": 0.0,
}
DEFAULT_BIAS = -3.72  # no signal at all: a 2.4 % chance of churning within 90 days
"""How the label-free defaults were set (``analyzer.evaluation.end_to_end.calibrate_defaults``
reproduces the last step):

1. hand-set priors in log-odds ranking the signals (churn intent > tone shift > behaviour
   drops > softer hints);
2. the text weights scaled by 0.75 against the behaviour weights: the ratio that gave the
   joined model the best recall at equal alert precision on the TUNING population of the
   simulator (``SimulationConfig(seed=101)``; 0.25 / 0.5 / 0.75 / 1.0 tried);
3. Platt scaling of that score on the same tuning population (label: churns within 90 days),
   folded into weights and bias, so the risk is a probability there (slope 0.71, intercept
   -2.15). Reported numbers come from other seeds. With your own churn labels,
   :meth:`RiskModel.fit` replaces all of this.
"""
SIGNAL_CODES: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)


def build_facts(behaviour: pd.DataFrame, message_signals: pd.DataFrame) -> pd.DataFrame:
    """Outer-join behaviour and message facts on ``customer_id`` (index of the result)."""
    b = behaviour.set_index("customer_id") if "customer_id" in behaviour.columns else behaviour
    m = (message_signals.set_index("customer_id") if "customer_id" in message_signals.columns
         else message_signals)
    facts = b.join(m, how="outer")
    facts.index.name = "customer_id"
    return facts


def _col(facts: pd.DataFrame, name: str, default: float = 0.0) -> pd.Series:
    if name not in facts.columns:
        return pd.Series(default, index=facts.index, dtype=float)
    return pd.to_numeric(facts[name], errors="coerce").astype(float).fillna(default)


def _list_len(facts: pd.DataFrame, name: str) -> pd.Series:
    if name not in facts.columns:
        return pd.Series(0.0, index=facts.index)
    return facts[name].map(lambda v: float(len(v)) if isinstance(v, list | tuple | dict) else 0.0)


def signal_features(facts: pd.DataFrame, behaviour_config: BehaviourConfig | None = None) -> pd.DataFrame:
    """Signal intensities in [0, 1] (columns :data:`SIGNAL_CODES`) from the joined facts.

    Missing facts (a customer with no messages, or no purchase history) give 0: no signal,
    never a guess.
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
    x["complaints"] = np.clip(_list_len_counts(facts) / 3.0, 0, 1)
    x["purchase_drop"] = np.clip(_col(facts, "purchase_drop_pct"), 0, 1)
    # How unusual the current purchase gap is for the customer's own rate: p_gap is a p-value
    # (uniform for a steady buyer), so 0 while 10 % or more of their gaps would be this long,
    # 1 when only 1 % would, log-linear between. A level such as P(no purchase in 90 days) is not
    # used: it is high for every naturally rare buyer. Missing (no fitted model) = no signal.
    p_gap = np.clip(_col(facts, "p_gap", 1.0), 1e-12, 1.0)
    x["no_purchase_expected"] = np.clip(np.log10(0.1 / p_gap), 0, 1)
    # Relative drop in own activity, already gated (0) when it is within the customer's noise.
    x["activity_drop"] = np.clip(_col(facts, "activity_drop_pct"), 0, 1)
    x["inactivity"] = _col(facts, "inactivity_level") / 2.0
    x["channel_abandonment"] = np.clip(_list_len(facts, "abandoned_channels"), 0, 1)
    errors = _col(facts, "errors_recent")
    x["repeated_errors"] = np.where(errors >= cfg.min_errors,
                                    np.clip(errors / (2.0 * cfg.min_errors), 0.5, 1.0), 0.0)
    # Half for having any overdue ticket, the rest grows with the count and with a week of waiting.
    n_tickets = _col(facts, "tickets_unanswered")
    waited = np.clip(_col(facts, "oldest_unanswered_hours") / (7 * 24.0), 0, 1)
    x["unanswered_tickets"] = np.where(n_tickets > 0, np.clip(0.5 * n_tickets + 0.5 * waited, 0, 1), 0.0)
    sent, resp = _col(facts, "campaigns_sent_recent"), _col(facts, "campaign_responses_recent")
    before = _col(facts, "campaign_response_rate_before")
    # Ignoring campaigns matters more from someone who used to open them.
    x["campaign_nonresponse"] = np.where((sent >= cfg.min_campaigns) & (resp == 0),
                                         np.where(before > 0, 1.0, 0.5), 0.0)
    # 0 up to a 30 % chance of no purchase in the horizon, 1 from 80 % (the former level signal).
    x["low_purchase_rate"] = np.clip((_col(facts, "p_no_purchase") - 0.3) / 0.5, 0, 1)
    x["positive_tone"] = (_col(facts, "n_positive_last") / (n_last + 1.0).where(n_last > 0)).fillna(0.0)
    return x[list(SIGNAL_CODES)].astype(float)


def _list_len_counts(facts: pd.DataFrame) -> pd.Series:
    if "complaint_themes" not in facts.columns:
        return pd.Series(0.0, index=facts.index)
    return facts["complaint_themes"].map(lambda d: float(sum(d.values())) if isinstance(d, dict) else 0.0)


# --------------------------------------------------------------------------- reason texts

_THEME_NAMES: dict[str, tuple[str, str]] = {
    "delivery_delay": ("retrasos en la entrega", "delivery delays"),
    "refund_return": ("devoluciones y reembolsos", "refunds and returns"),
    "billing_price": ("cobros y precios", "billing and prices"),
    "product_quality": ("calidad del producto", "product quality"),
    "support_responsiveness": ("falta de respuesta del soporte", "slow support"),
    "staff_attitude": ("el trato del personal", "staff attitude"),
    "app_web_error": ("errores en la app o la web", "app or website errors"),
    "account_access": ("acceso a su cuenta", "account access"),
    "cancellation_by_company": ("cancelaciones por nuestra parte", "cancellations on our side"),
    "lost_damaged_item": ("artículos perdidos o dañados", "lost or damaged items"),
}
_TONE_ES = {"positive": "positivo", "neutral": "neutro", "negative": "negativo"}


def _pct(v: float) -> int:
    return round(100 * v)


def _get(row: Mapping[str, Any], key: str, default: Any = None) -> Any:
    v = row.get(key, default)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return default
    return v


def _date(v: Any) -> str:
    return pd.Timestamp(v).strftime("%Y-%m-%d") if v is not None and not pd.isna(v) else "?"


def _quotes(r: Mapping[str, Any], ids: list[str]) -> list[dict[str, str]]:
    """Redacted quotes (date, channel, text) of the cited messages, newest first."""
    quotes: Mapping[str, dict[str, str]] = _get(r, "message_quotes", {}) or {}
    return [quotes[i] for i in sorted(set(ids), key=lambda i: quotes.get(i, {}).get("date", ""), reverse=True)
            if i in quotes]


def _reason_churn_intent(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    ids = list(_get(r, "churn_intent_ids", []))
    return (f"dice que quiere darse de baja o irse ({len(ids)} mensaje(s) recientes)",
            f"says they want to cancel or leave ({len(ids)} recent message(s))",
            {"message_ids": ids, "quotes": _quotes(r, ids)})


def _reason_tone_shift(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    before, after = _get(r, "shift_before_mean", 0.0), _get(r, "shift_after_mean", 0.0)
    start = _date(_get(r, "shift_start"))
    return (f"su tono cayó desde el {start}: media {before:+.2f} antes y {after:+.2f} después "
            f"(escala -1 a 1)",
            f"tone dropped from {start}: mean {before:+.2f} before, {after:+.2f} after (scale -1 to 1)",
            {"start": start, "before_mean": round(before, 3), "after_mean": round(after, 3),
             "magnitude": round(before - after, 3), "message_ids": list(_get(r, "shift_message_ids", [])),
             "quotes": _quotes(r, list(_get(r, "shift_message_ids", [])))})


def _reason_negative_tone(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    neg, n, earlier = int(_get(r, "n_negative_last", 0)), int(_get(r, "n_last", 0)), _get(r, "earlier_tone")
    es = f"tono negativo en {neg} de sus últimos {n} mensajes"
    en = f"negative tone in {neg} of their last {n} messages"
    if earlier in ("positive", "neutral"):
        es += f"; antes era {_TONE_ES[earlier]}"
        en += f"; before it was {earlier}"
    ids = list(_get(r, "negative_message_ids", []))
    return es, en, {"negative": neg, "of_last": n, "earlier_tone": earlier, "message_ids": ids,
                    "quotes": _quotes(r, ids)}


def _reason_complaints(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    themes: dict[str, int] = dict(_get(r, "complaint_themes", {}))
    top = sorted(themes.items(), key=lambda kv: -kv[1])[:3]
    es = ", ".join(f"{_THEME_NAMES.get(t, (t, t))[0]} ({n})" for t, n in top)
    en = ", ".join(f"{_THEME_NAMES.get(t, (t, t))[1]} ({n})" for t, n in top)
    ids: dict[str, list[str]] = dict(_get(r, "theme_message_ids", {}))
    cited = sorted({i for t, _ in top for i in ids.get(t, [])})
    return (f"se queja de {es}", f"complains about {en}",
            {"themes": themes, "message_ids": cited, "quotes": _quotes(r, cited)})


def _reason_purchase_drop(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    drop, recent = float(_get(r, "purchase_drop_pct", 0.0)), int(_get(r, "purchases_recent", 0))
    base = float(_get(r, "baseline_rate_per_recent", 0.0))
    return (f"su frecuencia de compra cayó un {_pct(drop)} % frente a su media de 6 meses "
            f"({recent} compras este mes frente a {base:.1f} de media)",
            f"purchase frequency fell {_pct(drop)} % vs their 6-month average "
            f"({recent} purchases this month vs {base:.1f} on average)",
            {"drop_pct": _pct(drop), "purchases_recent": recent, "baseline_per_period": round(base, 2)})


def _reason_no_purchase(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    days, gap = float(_get(r, "days_since_purchase", 0.0)), float(_get(r, "typical_gap_days", 0.0))
    p_gap, alive = float(_get(r, "p_gap", 1.0)), float(_get(r, "p_alive", 1.0))
    p0 = float(_get(r, "p_no_purchase", 0.0))
    pct = max(_pct(p_gap), 1) if p_gap > 0 else 0
    return (f"lleva {days:.0f} días sin comprar cuando suele comprar cada {gap:.0f} días: solo un {pct} % "
            f"de sus pausas serían tan largas (modelo BG/NBD)",
            f"{days:.0f} days without a purchase while they usually buy every {gap:.0f} days: only {pct} % "
            f"of their gaps would be this long (BG/NBD model)",
            {"days_since_purchase": round(days, 1), "typical_gap_days": round(gap, 1), "p_gap": round(p_gap, 4),
             "p_alive": round(alive, 3), "p_no_purchase_90d": round(p0, 3)})


def _reason_low_purchase_rate(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    p0, exp = float(_get(r, "p_no_purchase", 0.0)), float(_get(r, "expected_purchases", 0.0))
    return (f"por su ritmo de compra habitual, hay un {_pct(p0)} % de probabilidad de que no compre en los "
            f"próximos 90 días (modelo BG/NBD; {exp:.1f} compras esperadas)",
            f"given their usual buying rhythm, a {_pct(p0)} % chance of no purchase in the next 90 days "
            f"(BG/NBD model; {exp:.1f} purchases expected)",
            {"p_no_purchase_90d": round(p0, 3), "expected_purchases_90d": round(exp, 2)})


def _reason_activity_drop(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    drop, recent = float(_get(r, "activity_drop_pct", 0.0)), int(_get(r, "activity_recent", 0))
    base, p = float(_get(r, "activity_baseline_rate", 0.0)), float(_get(r, "activity_drop_p", 1.0))
    return (f"su actividad (accesos, visitas, clics) cayó un {_pct(drop)} %: {recent} este mes frente a "
            f"{base:.1f} de media",
            f"their activity (logins, page views, clicks) fell {_pct(drop)} %: {recent} this month vs "
            f"{base:.1f} on average",
            {"drop_pct": _pct(drop), "activity_recent": recent, "baseline_per_period": round(base, 2),
             "p_this_low": round(p, 4)})


def _reason_inactivity(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    days = int(_get(r, "days_inactive", 0))
    last = _date(_get(r, "last_activity"))
    return (f"lleva {days} días sin actividad (última: {last})",
            f"no activity for {days} days (last: {last})", {"days_inactive": days, "last_activity": last})


def _reason_channel(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    ch = list(_get(r, "abandoned_channels", []))
    return (f"dejó de usar {', '.join(ch)}, que usaba con regularidad",
            f"stopped using {', '.join(ch)}, which they used regularly", {"channels": ch})


def _reason_errors(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    n = int(_get(r, "errors_recent", 0))
    return (f"ha sufrido {n} errores en las últimas 2 semanas", f"hit {n} errors in the last 2 weeks",
            {"errors": n})


def _reason_tickets(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    n, hours = int(_get(r, "tickets_unanswered", 0)), float(_get(r, "oldest_unanswered_hours", 0.0))
    return (f"{n} consulta(s) sin respuesta; la más antigua espera {hours:.0f} h",
            f"{n} ticket(s) unanswered; the oldest has waited {hours:.0f} h",
            {"tickets": n, "oldest_hours": round(hours, 1),
             "ticket_ids": list(_get(r, "unanswered_ticket_ids", []))})


def _reason_campaign(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    sent = int(_get(r, "campaigns_sent_recent", 0))
    before = _get(r, "campaign_response_rate_before")
    es = f"no abrió ninguna de las {sent} últimas campañas"
    en = f"opened none of the last {sent} campaigns"
    if before:
        es += f" (antes abría el {_pct(float(before))} %)"
        en += f" (used to open {_pct(float(before))} %)"
    return es, en, {"sent": sent, "responses": 0, "response_rate_before": before}


def _reason_positive(r: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    pos, n = int(_get(r, "n_positive_last", 0)), int(_get(r, "n_last", 0))
    return (f"tono positivo en {pos} de sus últimos {n} mensajes",
            f"positive tone in {pos} of their last {n} messages", {"positive": pos, "of_last": n})


_REASONS: dict[str, Callable[[Mapping[str, Any]], tuple[str, str, dict[str, Any]]]] = {
    "churn_intent": _reason_churn_intent,
    "tone_shift": _reason_tone_shift,
    "negative_tone": _reason_negative_tone,
    "complaints": _reason_complaints,
    "purchase_drop": _reason_purchase_drop,
    "no_purchase_expected": _reason_no_purchase,
    "activity_drop": _reason_activity_drop,
    "inactivity": _reason_inactivity,
    "channel_abandonment": _reason_channel,
    "repeated_errors": _reason_errors,
    "unanswered_tickets": _reason_tickets,
    "campaign_nonresponse": _reason_campaign,
    "positive_tone": _reason_positive,
    "low_purchase_rate": _reason_low_purchase_rate,
}


def reason_texts(code: str, facts_row: Mapping[str, Any] | None,
                 value: float) -> tuple[str, str, dict[str, Any]]:
    """Spanish text, English text and evidence of one reason.

    Features that are not one of the built-in signals (a fitted model on the user's own
    columns) get a generic "feature = value" text.
    """
    if code in _REASONS and facts_row is not None:
        return _REASONS[code](facts_row)
    return (f"{code} = {value:g}", f"{code} = {value:g}", {"feature": code, "value": value})


# --------------------------------------------------------------------------- the model

SIGNAL_SIGNS: dict[str, int] = {c: (-1 if c == "positive_tone" else 1) for c in SIGNAL_CODES}
"""Direction of each built-in signal: risk signals can only raise the risk, positive tone only lower it."""


def _logistic(Z: np.ndarray, y: np.ndarray, C: float,
              bounds: list[tuple[float | None, float | None]] | None) -> tuple[np.ndarray, float]:
    """L2 logistic regression (sklearn's objective: ``C * sum(log-loss) + ||w||^2 / 2``), optionally
    with bounds on the weights; returns ``(weights, intercept)``."""
    if bounds is None:
        lr = LogisticRegression(C=C, max_iter=2000).fit(Z, y)
        return lr.coef_[0].astype(float), float(lr.intercept_[0])
    from scipy import optimize

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b0 = theta[:-1], theta[-1]
        z = Z @ w + b0
        grad_z = 1.0 / (1.0 + np.exp(-z)) - y
        value = C * float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * float(w @ w)
        return value, np.append(C * (Z.T @ grad_z) + w, C * grad_z.sum())

    start = np.zeros(Z.shape[1] + 1)
    start[-1] = float(np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6)))
    res = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)],
                            options={"maxiter": 5000})
    return np.asarray(res.x[:-1], dtype=float), float(res.x[-1])


@dataclass
class RiskModel:
    """Additive log-odds risk model: ``logit(p) = bias + sum(weights[c] * x[c])``.

    ``RiskModel()`` uses the label-free defaults; ``RiskModel().fit(X, y)`` learns and
    calibrates weights for the columns of ``X``.
    """

    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    bias: float = DEFAULT_BIAS
    calibrated: bool = False
    # Platt slope and intercept applied on top of the raw logistic regression (for inspection).
    calibration_: tuple[float, float] | None = None

    def fit(self, features: pd.DataFrame, labels: pd.Series | np.ndarray, *, C: float = 1.0,
            n_splits: int = 5, random_state: int = 0, signs: Mapping[str, int] | None = None) -> RiskModel:
        """Logistic regression on ``features`` plus Platt calibration on out-of-fold scores.

        Calibration is an affine map of the logit, so it is folded into bias and weights and
        contributions still add up exactly. ``signs`` constrains weights (``+1``: >= 0, ``-1``:
        <= 0; e.g. :data:`SIGNAL_SIGNS`), so that a risk signal can never be explained as
        protective because of a quirk of the training data.
        """
        X = self._matrix(features, fitting=True)
        y = np.asarray(labels).astype(int)
        if y.shape[0] != X.shape[0]:
            raise ConfigError(f"features has {X.shape[0]} rows but labels has {y.shape[0]}; they must match.")
        if set(np.unique(y)) != {0, 1}:
            raise ConfigError(f"labels must contain both 0 and 1 (churned = 1); received values "
                              f"{sorted(set(np.unique(y).tolist()))}.")
        # Standardise for the penalty only; weights are mapped back to the raw feature scale.
        mu, sd = X.mean(axis=0), X.std(axis=0)
        sd[sd == 0] = 1.0
        Z = (X - mu) / sd
        n_splits = int(min(n_splits, np.bincount(y).min()))
        bounds: list[tuple[float | None, float | None]] | None = None
        if signs is not None:
            unknown = sorted(set(signs) - set(features.columns))
            if unknown or not set(signs.values()) <= {-1, 1}:
                raise ConfigError(f"signs must map feature columns to +1 or -1; received {dict(signs)} "
                                  f"(unknown columns: {unknown}).")
            limits: dict[int, tuple[float | None, float | None]] = {1: (0.0, None), -1: (None, 0.0)}
            bounds = [limits.get(signs.get(c, 0), (None, None)) for c in features.columns]
        oof = np.zeros(len(y))
        if n_splits >= 2:
            for tr, te in StratifiedKFold(n_splits, shuffle=True, random_state=random_state).split(Z, y):
                w_f, b_f = _logistic(Z[tr], y[tr], C, bounds)
                oof[te] = Z[te] @ w_f + b_f
        w_std, b_std = _logistic(Z, y, C, bounds)
        a, b = 1.0, 0.0
        if n_splits >= 2:
            platt = LogisticRegression(C=1e6, max_iter=2000).fit(oof.reshape(-1, 1), y)
            a, b = float(platt.coef_[0, 0]), float(platt.intercept_[0])
        w_raw = w_std / sd
        self.weights = {c: float(a * w) for c, w in zip(features.columns, w_raw, strict=True)}
        self.bias = float(a * (b_std - np.sum(w_std * mu / sd)) + b)
        self.calibrated = n_splits >= 2
        self.calibration_ = (a, b)
        return self

    def _matrix(self, features: pd.DataFrame, fitting: bool = False) -> np.ndarray:
        if not isinstance(features, pd.DataFrame):
            raise ConfigError(f"features must be a pandas DataFrame; received {type(features).__name__}.")
        if not fitting:
            missing = [c for c in self.weights if c not in features.columns]
            if missing:
                raise ConfigError(f"features lack column(s) {missing} that the model weights; received "
                                  f"{list(features.columns)}. Build them with signal_features().")
            features = features[list(self.weights)]
        X = features.apply(pd.to_numeric, errors="coerce").astype(float)
        if X.isna().any().any():
            bad = X.columns[X.isna().any()].tolist()
            raise ConfigError(f"features have missing or non-numeric values in {bad}; fill or encode them.")
        return X.to_numpy()

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions (``weight * value``), same index as ``features``."""
        X = self._matrix(features)
        w = np.array([self.weights[c] for c in self.weights])
        return pd.DataFrame(X * w, index=features.index, columns=list(self.weights))

    def decision_function(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.bias + self.contributions(features).sum(axis=1).to_numpy())

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Churn risk in [0, 1] per row."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.decision_function(features))))

    def explain(self, features: pd.DataFrame, facts: pd.DataFrame | None = None,
                *, top: int | None = None) -> pd.DataFrame:
        """Risk with its additive explanation, one row per customer.

        Columns: ``risk``, ``logit``, ``bias`` and ``reasons`` -- a list of dicts (``code``,
        ``contribution``, ``text_es``, ``text_en``, ``evidence``) for every non-zero
        contribution, largest risk-raising first. ``bias + sum(contribution) == logit``.
        """
        contrib = self.contributions(features)
        logit = self.bias + contrib.sum(axis=1)
        rows = []
        # Row dicts built once: per-row .loc lookups dominate the cost on thousands of customers.
        facts_rows = facts.to_dict("index") if facts is not None else {}
        values = features[list(contrib.columns)].to_numpy(dtype=float)
        codes = list(contrib.columns)
        for pos, (idx, c) in enumerate(zip(contrib.index, contrib.to_numpy(), strict=True)):
            facts_row = facts_rows.get(idx)
            items = sorted(((j, float(v)) for j, v in enumerate(c) if v != 0.0), key=lambda kv: -kv[1])
            reasons = []
            for j, v in items[:top] if top else items:
                code = codes[j]
                es, en, ev = reason_texts(str(code), facts_row, float(values[pos, j]))
                reasons.append({"code": code, "contribution": v, "text_es": es, "text_en": en,
                                "evidence": ev})
            rows.append({"risk": float(1.0 / (1.0 + math.exp(-logit[idx]))), "logit": float(logit[idx]),
                         "bias": self.bias, "reasons": reasons})
        return pd.DataFrame(rows, index=features.index, columns=["risk", "logit", "bias", "reasons"])
