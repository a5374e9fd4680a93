"""One additive churn-risk model whose explanation adds up.

The model is additive in log-odds::

    logit(risk) = bias + sum_i contribution_i
    contribution_i = weight_i * x_i                   (signals: measured from absence, x = 0)
    contribution_i = weight_i * (x_i - reference_i)   (levels: from the population's average customer)

so every reason's ``contribution`` is exactly its share of the score and
``bias + sum(contributions) == logit(risk)`` for every customer.

:meth:`RiskModel.priors` holds hand-set signal weights (see :data:`~analyzer.foresight.features.FEATURES`)
and a bias set on a simulated tuning population; :meth:`RiskModel.fit` learns from labels
(the back-test on the user's own history, :mod:`analyzer.foresight.backtest`, or the user's own
churn labels): a logistic regression pulled towards the priors (a feature the labels say nothing
about keeps its prior), with sign constraints, then Platt calibration on out-of-fold scores,
folded back into the weights so that the explanation stays additive.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from analyzer.errors import ConfigError
from analyzer.foresight.features import FEATURES
from analyzer.foresight.reasons import reason_texts

__all__ = ["DEFAULT_BIAS", "RiskModel"]

DEFAULT_BIAS = -3.72
"""No signal at all: a 2.4 % chance of churning within 90 days (the prior, set on the simulated tuning
population by Platt scaling; replaced by the back-test whenever the user's history allows)."""


def _fit_logistic(Z: np.ndarray, y: np.ndarray, v0: np.ndarray, strength: float,
                  bounds: list[tuple[float | None, float | None]], w_base: np.ndarray | None = None
                  ) -> tuple[np.ndarray, float]:
    """MAP logistic regression: log-loss + ``strength/2 * ||v - v0||^2``, bounded; returns (v, intercept)."""
    n = Z.shape[1]
    offset = np.zeros(len(y)) if w_base is None else w_base

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v, b = theta[:-1], theta[-1]
        z = Z @ v + b + offset
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - y * z)) + 0.5 * strength * float((v - v0) @ (v - v0))
        g = p - y
        return value, np.append(Z.T @ g + strength * (v - v0), g.sum())

    start = np.append(np.clip(v0, [lo if lo is not None else -np.inf for lo, _ in bounds],
                              [hi if hi is not None else np.inf for _, hi in bounds]),
                      math.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6)))
    res = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[*bounds, (None, None)],
                            options={"maxiter": 10_000})
    return np.asarray(res.x[:n], dtype=float), float(res.x[n])


@dataclass
class RiskModel:
    """Additive log-odds risk model (see the module docstring).

    ``weights``: log-odds per unit of each feature; ``reference``: the value a level feature's
    contribution is measured from (NaN values of a level count as the reference); ``source``:
    ``"priors"``, ``"backtest"`` or ``"labels"``.
    """

    weights: dict[str, float] = field(default_factory=lambda: {k: v.prior for k, v in FEATURES.items()})
    bias: float = DEFAULT_BIAS
    reference: dict[str, float] = field(default_factory=dict)
    source: str = "priors"
    calibration_: tuple[float, float] | None = None
    oof_scores_: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def priors(cls) -> RiskModel:
        return cls()

    # -- scoring -----------------------------------------------------------------------------
    def _values(self, features: pd.DataFrame) -> np.ndarray:
        if not isinstance(features, pd.DataFrame):
            raise ConfigError(f"features must be a pandas DataFrame; received {type(features).__name__}.")
        missing = [c for c in self.weights if c not in features.columns]
        if missing:
            raise ConfigError(f"features lack column(s) {missing} that the model weights; received "
                              f"{list(features.columns)}. Build them with signal_features().")
        X = features[list(self.weights)].apply(pd.to_numeric, errors="coerce").astype(float).to_numpy(copy=True)
        for j, name in enumerate(self.weights):
            ref = self.reference.get(name, 0.0)
            col = X[:, j]
            col[np.isnan(col)] = ref if self._is_level(name) else 0.0
            X[:, j] = col - (ref if self._is_level(name) else 0.0)
        return X

    @staticmethod
    def _is_level(name: str) -> bool:
        spec = FEATURES.get(name)
        return bool(spec is not None and spec.level)

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions, same index as ``features``."""
        w = np.array(list(self.weights.values()))
        return pd.DataFrame(self._values(features) * w, index=features.index, columns=list(self.weights))

    def decision_function(self, features: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.bias + self.contributions(features).sum(axis=1).to_numpy())

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Churn risk in [0, 1] per row."""
        return np.asarray(1.0 / (1.0 + np.exp(-self.decision_function(features))))

    def explain(self, features: pd.DataFrame, facts: pd.DataFrame | None = None, *, horizon_days: int = 90,
                top: int | None = None) -> pd.DataFrame:
        """Risk with its additive explanation, one row per customer.

        Columns ``risk``, ``logit``, ``bias`` and ``reasons``: a list of reasons (``code``,
        ``contribution``, ``text_es``, ``text_en``, ``evidence``) for every non-zero contribution,
        largest risk-raising first. ``bias + sum(contribution) == logit``.
        """
        deltas = self._values(features)
        contrib = pd.DataFrame(deltas * np.array(list(self.weights.values())), index=features.index,
                               columns=list(self.weights))
        logit = (self.bias + contrib.sum(axis=1)).to_numpy()
        facts_rows = _rows_by_index(facts) if facts is not None else {}
        values = features[list(contrib.columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        codes = list(contrib.columns)
        rows = []
        for pos, (idx, c) in enumerate(zip(contrib.index, contrib.to_numpy(), strict=True)):
            row = facts_rows.get(idx)
            items = sorted(((j, float(v)) for j, v in enumerate(c) if abs(v) > 1e-9), key=lambda kv: (-kv[1], kv[0]))
            reasons = []
            for j, v in items[:top] if top else items:
                es, en, ev = reason_texts(codes[j], row, float(values[pos, j]), float(deltas[pos, j]), horizon_days)
                reasons.append({"code": codes[j], "contribution": v, "text_es": es, "text_en": en,
                                "evidence": ev})
            z = float(logit[pos])
            rows.append({"risk": float(1.0 / (1.0 + math.exp(-z))), "logit": z, "bias": self.bias, "reasons": reasons})
        return pd.DataFrame(rows, index=features.index, columns=["risk", "logit", "bias", "reasons"])

    # -- learning ----------------------------------------------------------------------------
    def fit(self, features: pd.DataFrame, labels: pd.Series | np.ndarray, *, groups: np.ndarray | None = None,
            prior: RiskModel | None = None, prior_strength: float = 1.0, n_splits: int = 5,
            signs: Mapping[str, int] | None = None, source: str = "labels") -> RiskModel:
        """Learn weights and calibration from labels (1 = churned / lapsed).

        A logistic regression on standardised features, pulled towards ``prior``'s weights
        (default: the built-in priors) with ``prior_strength``; weights keep the signs of
        :data:`~analyzer.foresight.features.FEATURES` (or ``signs``). Platt scaling is fitted on
        out-of-fold scores (folds = ``groups``, e.g. back-test cut-offs, else stratified) and
        folded into bias and weights. Level features' references become their means.
        """
        y = np.asarray(labels).astype(int)
        if len(y) != len(features):
            raise ConfigError(f"features has {len(features)} rows but labels has {len(y)}; they must match.")
        if set(np.unique(y)) != {0, 1}:
            raise ConfigError(f"labels must contain both 0 and 1 (churned = 1); received {sorted(set(y.tolist()))}.")
        prior = prior or RiskModel.priors()
        names = list(features.columns)
        levels = [self._is_level(n) for n in names]
        raw = features.apply(pd.to_numeric, errors="coerce").astype(float)
        reference = {n: float(np.nan_to_num(raw[n].mean())) for n, lv in zip(names, levels, strict=True) if lv}
        X = raw.to_numpy(copy=True)
        for j, (n, lv) in enumerate(zip(names, levels, strict=True)):
            col = X[:, j]
            col[np.isnan(col)] = reference[n] if lv else 0.0
            X[:, j] = col - (reference[n] if lv else 0.0)
        sd = X.std(axis=0)
        free = sd > 1e-9
        # The penalty pulls each weight towards its prior on the feature's own scale for signals
        # (0-1 intensities: a signal seen in a handful of examples keeps about its prior), and on
        # the standardised scale for levels and user features (no prior: plain L2).
        scale = np.array([1.0 if n in FEATURES and not lv else s for n, lv, s in zip(names, levels, sd, strict=True)])
        w0 = np.array([prior.weights.get(n, 0.0) for n in names])
        sign_of = dict(signs) if signs is not None else {n: FEATURES[n].sign for n in names if n in FEATURES}
        limits: dict[int, tuple[float | None, float | None]] = {1: (0.0, None), -1: (None, 0.0), 0: (None, None)}
        Z = X[:, free] / scale[free]
        v0 = w0[free] * scale[free]
        bounds = [limits[int(sign_of.get(n, 0))] for n, f in zip(names, free, strict=True) if f]
        fixed = X[:, ~free] @ w0[~free]  # features without variation keep their prior weight
        oof = np.zeros(len(y))
        folds = self._folds(y, groups, n_splits)
        for tr, te in folds:
            v, b = _fit_logistic(Z[tr], y[tr], v0, prior_strength, bounds, fixed[tr])
            oof[te] = Z[te] @ v + b + fixed[te]
        v, b = _fit_logistic(Z, y, v0, prior_strength, bounds, fixed)
        a, c = 1.0, 0.0
        if folds:
            a, c = _platt(oof, y)
        w = w0.copy()
        w[free] = v / scale[free]
        self.weights = {n: float(a * wi) for n, wi in zip(names, w, strict=True)}
        self.bias = float(a * b + c)
        self.reference = reference
        self.source = source
        self.calibration_ = (a, c)
        self.oof_scores_ = (1.0 / (1.0 + np.exp(-(a * oof + c)))) if folds else None
        return self

    @staticmethod
    def _folds(y: np.ndarray, groups: np.ndarray | None, n_splits: int) -> list[tuple[np.ndarray, np.ndarray]]:
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if groups is not None and len(np.unique(groups)) >= 2:
            k = min(n_splits, len(np.unique(groups)))
            splits = list(GroupKFold(k).split(np.zeros(len(y)), y, groups))
        else:
            k = int(min(n_splits, np.bincount(y).min()))
            if k < 2:
                return []
            splits = list(StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
        return [(tr, te) for tr, te in splits if len(np.unique(y[tr])) == 2]

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights), "bias": self.bias, "reference": dict(self.reference),
                "source": self.source, "calibration": list(self.calibration_) if self.calibration_ else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RiskModel:
        cal = data.get("calibration")
        return cls(weights={str(k): float(v) for k, v in data["weights"].items()}, bias=float(data["bias"]),
                   reference={str(k): float(v) for k, v in data.get("reference", {}).items()},
                   source=str(data.get("source", "priors")),
                   calibration_=(float(cal[0]), float(cal[1])) if cal else None)


def _rows_by_index(frame: pd.DataFrame) -> dict[Any, dict[str, Any]]:
    """``frame.to_dict("index")``, several times faster (plain lists, no per-cell boxing)."""
    cols = list(frame.columns)
    columns = [frame[c].tolist() for c in cols]
    return {idx: dict(zip(cols, vals, strict=True)) for idx, vals in zip(frame.index, zip(*columns, strict=True),
                                                                           strict=True)}


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept of a logistic regression of the labels on the out-of-fold logits."""

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * scores + theta[1]
        p = 1.0 / (1.0 + np.exp(-z))
        g = p - y
        return float(np.sum(np.logaddexp(0.0, z) - y * z)), np.array([g @ scores, g.sum()])

    res = optimize.minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(res.x[0]), float(res.x[1])
