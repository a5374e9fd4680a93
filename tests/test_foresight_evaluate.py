"""Dataset evaluations (slow: read the shared datasets; together well under a minute)."""

from __future__ import annotations

import pytest

from analyzer.evaluation.foresight import evaluate_shift, evaluate_telco

pytestmark = [pytest.mark.slow,
              pytest.mark.requires_datasets("ibm_telco_churn", "online_retail", "cdnow", "uss_satisfaction_dialogues")]


def test_telco_sanity_check() -> None:
    t = evaluate_telco().set_index("model")
    row = t.loc["RiskModel.fit (LR + Platt, additive)"]
    assert row["roc_auc"] >= 0.84
    assert row["brier"] < t.loc["base rate (no model)", "brier"]
    assert row["max_additivity_error"] < 1e-9


def test_forward_in_time_on_online_retail_beats_the_baselines_of_the_same_run() -> None:
    from analyzer.evaluation.forward import RETAIL_CUTOFF, evaluate_forward, load_online_retail

    ranking, alerts = evaluate_forward(load_online_retail(), RETAIL_CUTOFF, dataset="retail", log=lambda m: None)
    auc = ranking.set_index("model")["roc_auc"]
    ours = auc.loc[auc.index.str.startswith("dark-feedback")].iloc[0]
    assert ours > auc.loc["recency only (days since last purchase)"] + 0.1
    assert ours > auc.loc["BG/NBD P(no purchase in 90 d), fitted at the cut"]
    assert ranking["fit"].iloc[0].startswith("backtest")
    a = alerts.iloc[0]
    # Retention alerts: better than the base rate and than a recency ranking of the same size.
    assert a["alerts"] > 0 and a["precision"] > a["base_rate"] and a["precision"] >= a["recency_top_k_precision"]


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

    res = CliRunner().invoke(app, ["evaluate-foresight", "--only", "telco", "--only", "cdnow"])
    assert res.exit_code == 0, res.output
    assert "ibm_telco_churn" in res.output and "cdnow" in res.output and "BG/NBD" in res.output
    bad = CliRunner().invoke(app, ["evaluate-foresight", "--only", "astrology"])
    assert bad.exit_code == 2 and "unknown evaluation" in bad.output


def test_shift_detectors_are_online_and_tuned_on_mwoz_only() -> None:
    t = evaluate_shift()
    onset = t.loc[t["target"] == "onset of dissatisfaction"].set_index("method")
    # The tuning corpus F1 is reported next to the test F1: what chose the thresholds is visible.
    assert (onset["f1_mwoz"] >= 0).all() and onset.index.str.contains("CUSUM").any()
