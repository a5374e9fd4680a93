"""BG/NBD: published values of Fader, Hardie & Lee (2005) and parameter recovery on simulated data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analyzer.errors import ConfigError, NotFittedError
from analyzer.foresight.bgnbd import BGNBD, BGNBDParams, rfm_summary

PAPER = BGNBDParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # CDNOW, weeks


def test_conditional_expectation_matches_the_paper() -> None:
    m = BGNBD()
    m.params_ = PAPER
    # FHL 2005, section 5: x=2, t_x=30.43, T=38.86 -> 1.226 purchases expected in 39 weeks.
    assert m.expected_purchases(39, [2], [30.43], [38.86])[0] == pytest.approx(1.226, abs=1e-3)
    assert m.p_alive([0], [0], [38.86])[0] == 1.0
    # More time silent after the last purchase -> lower P(alive) and higher P(no purchase).
    pa = m.p_alive([5, 5], [10, 10], [20, 40])
    p0 = m.p_no_purchase(10, [5, 5], [10, 10], [20, 40])
    assert pa[0] > pa[1] and p0[0] < p0[1] and np.all((p0 > 0) & (p0 < 1))


def _simulate(n: int, p: BGNBDParams, T: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    lam = rng.gamma(p.r, 1 / p.alpha, n)
    drop = rng.beta(p.a, p.b, n)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i], tx[i] = x[i] + 1, t
            if rng.random() < drop[i]:
                break
    return x, tx, np.full(n, T)


def test_fit_recovers_known_parameters() -> None:
    true = BGNBDParams(r=0.5, alpha=10.0, a=0.8, b=2.5)
    x, tx, T = _simulate(3000, true, 100.0, np.random.default_rng(0))
    m = BGNBD().fit(x, tx, T)
    assert m.params_ is not None
    assert m.params_.r == pytest.approx(true.r, rel=0.25)
    assert m.params_.alpha == pytest.approx(true.alpha, rel=0.35)
    assert m.params_.a / (m.params_.a + m.params_.b) == pytest.approx(0.8 / 3.3, rel=0.3)
    assert m.log_likelihood(m.params_, x, tx, T) >= m.log_likelihood(true, x, tx, T)


def test_errors() -> None:
    with pytest.raises(NotFittedError):
        BGNBD().p_alive([1], [1], [2])
    with pytest.raises(ConfigError, match="t_x <= T"):
        BGNBD().fit([1] * 20, [5] * 20, [3] * 20)
    with pytest.raises(ConfigError, match="at least 10 customers"):
        BGNBD().fit([1, 0], [1, 0], [2, 2])


def test_rfm_summary_counts_days_and_ignores_the_future() -> None:
    stamps = ["2024-01-01 09:00", "2024-01-01 17:00", "2024-01-11 00:00", "2024-03-01 00:00"]
    ts = pd.to_datetime(stamps, utc=True)
    df = pd.DataFrame({"customer_id": ["a"] * 4, "timestamp": ts})
    s = rfm_summary(df, pd.Timestamp("2024-01-31", tz="UTC"))
    assert s.loc["a", ["frequency", "recency", "T"]].tolist() == [1.0, 10.0, 30.0]
