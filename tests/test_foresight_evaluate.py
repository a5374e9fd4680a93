"""Dataset evaluations (slow: read the shared datasets; together well under a minute)."""

from __future__ import annotations

import pytest

from analyzer.evaluation.foresight import evaluate_behaviour, evaluate_shift, evaluate_telco

pytestmark = [pytest.mark.slow,
              pytest.mark.requires_datasets("ibm_telco_churn", "online_retail", "uss_satisfaction_dialogues")]


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


def test_one_command_prints_the_tables() -> None:
    from typer.testing import CliRunner

    from analyzer.cli import app

    res = CliRunner().invoke(app, ["evaluate-foresight", "--only", "telco", "--only", "behaviour"])
    assert res.exit_code == 0, res.output
    assert "ibm_telco_churn" in res.output and "online_retail" in res.output and "BG/NBD" in res.output
    bad = CliRunner().invoke(app, ["evaluate-foresight", "--only", "astrology"])
    assert bad.exit_code == 1 and "unknown evaluation" in bad.output


def test_shift_detectors_are_online_and_tuned_on_mwoz_only() -> None:
    t = evaluate_shift()
    onset = t.loc[t["target"] == "onset of dissatisfaction"].set_index("method")
    # The tuning corpus F1 is reported next to the test F1: what chose the thresholds is visible.
    assert (onset["f1_mwoz"] >= 0).all() and onset.index.str.contains("CUSUM").any()
