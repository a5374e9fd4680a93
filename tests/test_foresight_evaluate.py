"""Dataset evaluations (slow: read the shared datasets; together well under a minute)."""

from __future__ import annotations

import pytest

from analyzer.foresight.evaluate import evaluate_behaviour, evaluate_shift, evaluate_telco
from analyzer.settings import get_settings

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (get_settings().datasets_dir / "ibm_telco_churn").is_dir(),
                       reason="shared datasets not available"),
]


def test_telco_sanity_check() -> None:
    t = evaluate_telco().set_index("model")
    row = t.loc["RiskModel.fit (LR + Platt, additive)"]
    assert row["roc_auc"] >= 0.84
    assert row["brier"] < t.loc["base rate (no model)", "brier"]
    assert row["max_additivity_error"] < 1e-9


def test_behaviour_bgnbd_beats_recency_only() -> None:
    t = evaluate_behaviour().set_index("model")
    bg = t.loc["BG/NBD P(no purchase in 90 d)", "roc_auc"]
    assert bg > t.loc["recency only (days since last purchase)", "roc_auc"] + 0.03
    assert 0.6 < bg < 0.95


def test_shift_table_has_baselines_and_is_not_degenerate() -> None:
    t = evaluate_shift()
    assert set(t["reported_on"]) == {"SGD"} and set(t["tuned_on"]) == {"MWOZ"}
    main = t.loc[t["target"] == "dissatisfied turn (sat<=2)"].set_index("method")
    assert main.loc["no change (never flags)", "f1"] == 0.0
    shift = main.loc[main.index.str.startswith("tone shift")].iloc[0]
    assert shift["f1"] > main.loc["flag every turn", "f1"]
