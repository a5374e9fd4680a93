"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While alive a customer buys as a Poisson process with rate ``lambda ~ Gamma(r, alpha)``; after
each purchase they drop out with probability ``p ~ Beta(a, b)``. Per customer we need only
``x`` (repeat purchases), ``t_x`` (time of the last purchase since the first) and ``T`` (time
since the first purchase to the end of the observation window). Time is in days here.

The likelihood is written in log space with ``logaddexp`` so that customers with hundreds of
purchases do not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import optimize, special

from analyzer.errors import ConfigError, NotFittedError

__all__ = ["BGNBD", "BGNBDParams", "rfm_summary"]


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float


def rfm_summary(purchases: pd.DataFrame, as_of: pd.Timestamp, *, customer_col: str = "customer_id",
                time_col: str = "timestamp", value_col: str | None = None) -> pd.DataFrame:
    """Per-customer ``frequency`` (repeat purchase days), ``recency`` (t_x), ``T`` and ``monetary``.

    Purchases on the same calendar day count once, as is usual for BG/NBD. Only purchases at or
    before ``as_of`` are used. Times are in days.
    """
    p = purchases.loc[purchases[time_col] <= as_of, [customer_col, time_col]].copy()
    p["day"] = p[time_col].dt.floor("D")
    days = p.drop_duplicates([customer_col, "day"])
    g = days.groupby(customer_col)["day"]
    first, last, n = g.min(), g.max(), g.size()
    end = pd.Timestamp(as_of).floor("D")
    out = pd.DataFrame({
        "frequency": (n - 1).astype(float),
        "recency": (last - first).dt.days.astype(float),
        "T": (end - first).dt.days.astype(float),
        "first_purchase": first,
        "last_purchase": last,
    })
    if value_col is not None:
        out["monetary"] = purchases.loc[purchases[time_col] <= as_of].groupby(customer_col)[value_col].sum()
    out.index.name = customer_col
    return out


class BGNBD:
    """BG/NBD fitted by maximum likelihood with :func:`scipy.optimize.minimize`.

    >>> m = BGNBD().fit(x, t_x, T)          # doctest: +SKIP
    >>> m.p_alive(x, t_x, T); m.expected_purchases(30, x, t_x, T)   # doctest: +SKIP
    """

    def __init__(self, penalizer: float = 0.0) -> None:
        # A tiny L2 penalty on the log-parameters keeps a/b finite on small or degenerate data.
        self.penalizer = penalizer
        self.params_: BGNBDParams | None = None
        self.loglik_: float | None = None

    @staticmethod
    def _loglik_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = params
        a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        a2 = special.betaln(a, b + x) - special.betaln(a, b) - (r + x) * np.log(alpha + T)
        with np.errstate(invalid="ignore", divide="ignore"):
            a3 = np.where(
                x > 0,
                special.betaln(a + 1, np.maximum(b + x - 1, 1e-12)) - special.betaln(a, b)
                - (r + x) * np.log(alpha + t_x),
                -np.inf,
            )
        return np.asarray(a1 + np.logaddexp(a2, a3))

    def log_likelihood(self, params: BGNBDParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> float:
        """Total log-likelihood of the data under ``params``."""
        arr = np.array([params.r, params.alpha, params.a, params.b])
        xs, txs, Ts = self._check(x, t_x, T)
        return float(self._loglik_terms(arr, xs, txs, Ts).sum())

    @staticmethod
    def _check(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        xs, txs, Ts = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        if not (xs.shape == txs.shape == Ts.shape):
            raise ConfigError(f"x, t_x and T must have the same length; received {xs.shape}, "
                              f"{txs.shape}, {Ts.shape}.")
        if np.any(xs < 0) or np.any(txs < 0) or np.any(txs > Ts + 1e-9) or np.any(np.isnan(xs + txs + Ts)):
            raise ConfigError("BG/NBD needs 0 <= t_x <= T and x >= 0 with no missing values; "
                              "build the inputs with rfm_summary().")
        return xs, txs, Ts

    def fit(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BGNBD:
        """Maximum-likelihood fit; needs some customers with repeat purchases."""
        xs, txs, Ts = self._check(x, t_x, T)
        if xs.size < 10 or np.count_nonzero(xs) < 3:
            raise ConfigError(f"BG/NBD needs at least 10 customers, 3 with repeat purchases; received "
                              f"{xs.size} customers, {int(np.count_nonzero(xs))} with repeats.")
        scale = max(float(Ts.max()), 1.0)
        # Customers with the same (x, t_x, T) contribute the same term: fit on the distinct rows,
        # weighted by how many customers share each (RFM summaries in days repeat a lot).
        rows, counts = np.unique(np.column_stack([xs, txs, Ts]), axis=0, return_counts=True)
        ux, utx, uT = rows[:, 0], rows[:, 1] / scale, rows[:, 2] / scale
        weights = counts.astype(float) / xs.size

        # Optimise log-parameters (keeps them positive); alpha is fitted on a unit time scale
        # (T / max T) so all four start near 1 and the Hessian is well conditioned.
        def nll(logp: np.ndarray) -> float:
            p = np.exp(logp)
            val = -(weights * self._loglik_terms(p, ux, utx, uT)).sum()
            return float(val + self.penalizer * np.sum(logp**2))

        # Quasi-Newton from two starts, then a simplex pass and a last quasi-Newton step from the
        # best: the same optimum as a long simplex search on every start, several times faster.
        best: optimize.OptimizeResult | None = None
        for start in (np.zeros(4), np.log([0.5, 0.1, 0.8, 2.5])):
            res = optimize.minimize(nll, start, method="L-BFGS-B")
            if best is None or res.fun < best.fun:
                best = res
        assert best is not None
        polished = optimize.minimize(nll, best.x, method="Nelder-Mead",
                                     options={"maxiter": 600, "xatol": 1e-7, "fatol": 1e-10})
        polished = optimize.minimize(nll, polished.x, method="L-BFGS-B")
        if polished.fun < best.fun:
            best = polished
        assert best is not None
        r, alpha, a, b = np.exp(best.x)
        self.params_ = BGNBDParams(float(r), float(alpha * scale), float(a), float(b))
        self.loglik_ = self.log_likelihood(self.params_, xs, txs, Ts)
        return self

    @classmethod
    def from_params(cls, params: BGNBDParams) -> BGNBD:
        """A fitted model from saved parameters (a population fit passed to scoring)."""
        model = cls()
        model.params_ = params
        return model

    def _params(self) -> BGNBDParams:
        if self.params_ is None:
            raise NotFittedError("BGNBD is not fitted; call fit(x, t_x, T) first.")
        return self.params_

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
        """P(customer still alive at T | x, t_x, T); 1 for customers with no repeat purchase."""
        p = self._params()
        xs, txs, Ts = self._check(x, t_x, T)
        log_ratio = (p.r + xs) * (np.log(p.alpha + Ts) - np.log(p.alpha + txs))
        with np.errstate(divide="ignore", invalid="ignore"):
            log_term = np.log(p.a) - np.log(np.maximum(p.b + xs - 1, 1e-12)) + log_ratio
        return np.where(xs > 0, special.expit(-log_term), 1.0)

    def expected_purchases(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
        """E[number of purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10)."""
        p = self._params()
        xs, txs, Ts = self._check(x, t_x, T)
        if abs(p.a - 1) < 1e-6:
            # Eq. 10 has (a - 1) in the denominator (its limit exists but is not closed-form);
            # at exactly a = 1 use the alive-rate approximation instead.
            return self.p_alive(xs, txs, Ts) * (p.r + xs) / (p.alpha + Ts) * t
        hyp = special.hyp2f1(p.r + xs, p.b + xs, p.a + p.b + xs - 1, t / (p.alpha + Ts + t))
        zero = ((p.alpha + Ts) / (p.alpha + Ts + t)) ** (p.r + xs)
        num = (p.a + p.b + xs - 1) / (p.a - 1) * (1 - zero * hyp)
        log_ratio = (p.r + xs) * (np.log(p.alpha + Ts) - np.log(p.alpha + txs))
        with np.errstate(divide="ignore", invalid="ignore"):
            den = 1 + np.where(xs > 0, p.a / np.maximum(p.b + xs - 1, 1e-12) * np.exp(log_ratio), 0.0)
        return np.asarray(num / den)

    def p_no_purchase(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> np.ndarray:
        """P(no purchase in (T, T + t] | x, t_x, T).

        A customer dies only right after a purchase, so with no purchase in the window they are
        either already dead, or alive and draw zero Poisson events; the posterior of lambda
        given alive is Gamma(r + x, alpha + T), whose zero-count probability is
        ``((alpha + T) / (alpha + T + t)) ** (r + x)``.
        """
        p = self._params()
        xs, txs, Ts = self._check(x, t_x, T)
        alive = self.p_alive(xs, txs, Ts)
        zero_if_alive = np.exp((p.r + xs) * (np.log(p.alpha + Ts) - np.log(p.alpha + Ts + t)))
        return np.asarray((1 - alive) + alive * zero_if_alive)

    def typical_gap(self, x: ArrayLike, t_x: ArrayLike) -> np.ndarray:
        """Typical days between purchases while alive: ``1 / E[lambda]`` from the history up to the last purchase.

        The rate's posterior given ``x`` purchases over ``t_x`` days (and alive throughout) is
        Gamma(r + x, alpha + t_x); customers with no repeat purchase get the population prior.
        """
        p = self._params()
        xs, txs = np.asarray(x, dtype=float), np.asarray(t_x, dtype=float)
        return np.asarray((p.alpha + txs) / (p.r + xs))

    def p_gap_at_least(self, gap: ArrayLike, x: ArrayLike, t_x: ArrayLike) -> np.ndarray:
        """P(an alive customer buying at their own rate goes ``gap`` days or more without buying).

        The rate is the posterior from the history BEFORE the gap, Gamma(r + x, alpha + t_x),
        so the probability measures how unusual the current gap is for this customer (a rare
        buyer's long gap is ordinary): ``((alpha + t_x) / (alpha + t_x + gap)) ** (r + x)``.
        For a steady customer at a random moment this is uniform on [0, 1], i.e. a p-value.
        """
        p = self._params()
        xs, txs, gs = (np.asarray(v, dtype=float) for v in (x, t_x, gap))
        return np.asarray(np.exp((p.r + xs) * (np.log(p.alpha + txs) - np.log(p.alpha + txs + gs))))
