"""Per-customer foresight: behaviour and tone facts, an explained churn risk, and alerts.

Consumes the text core's output columns (it does not import the text core)::

    from analyzer.foresight import ForesightModel, compute_alerts, run_alerts
    model = ForesightModel().fit(messages, events, customers)          # learns from your own history
    states = model.score(messages, events, customers)                   # every customer's risk
    alerts = compute_alerts(messages, events, customers, model=model)   # DataFrames in
    run = run_alerts("analysed.csv", "events.csv", None, "alerts.jsonl")  # files in and out

The path a customer takes: validated inputs (:mod:`~analyzer.foresight.validate`) -> facts at a
time (:mod:`~analyzer.foresight.behaviour`, :mod:`~analyzer.foresight.shift`) -> features
(:mod:`~analyzer.foresight.features`) -> explained risk (:mod:`~analyzer.foresight.risk`) with the
population's statistics (:mod:`~analyzer.foresight.population`), fitted by a back-test on the
user's own history (:mod:`~analyzer.foresight.backtest`) into one :class:`ForesightModel`
(:mod:`~analyzer.foresight.model`) -> customer states (:mod:`~analyzer.foresight.scoring`) ->
severity and actions from the rule table (:mod:`~analyzer.foresight.rules`) -> alerts
(:mod:`~analyzer.foresight.alerts`).
"""

from __future__ import annotations

from analyzer.foresight.alerts import AlertResult, compute_alerts, compute_alerts_detailed, decide_alerts
from analyzer.foresight.backtest import FitReport
from analyzer.foresight.behaviour import compute_behaviour_signals
from analyzer.foresight.bgnbd import BGNBD, rfm_summary
from analyzer.foresight.config import BacktestConfig, BehaviourConfig, ForesightConfig, ShiftConfig
from analyzer.foresight.features import FEATURE_NAMES, FEATURES, build_facts, signal_features
from analyzer.foresight.files import RISK_COLUMNS, AlertRun, read_input_table, risk_table, run_alerts
from analyzer.foresight.model import ForesightInputs, ForesightModel, prepare_inputs, resolve_as_of
from analyzer.foresight.population import PopulationStats, customer_summaries
from analyzer.foresight.risk import RiskModel
from analyzer.foresight.rules import RuleTable, load_rules
from analyzer.foresight.scoring import STATE_COLUMNS, customer_facts, score_customers
from analyzer.foresight.shift import compute_message_signals, detect_shift, turn_drop_scores
from analyzer.foresight.validate import validate_customers, validate_events, validate_messages

__all__ = [
    "BGNBD",
    "FEATURES",
    "FEATURE_NAMES",
    "RISK_COLUMNS",
    "STATE_COLUMNS",
    "AlertResult",
    "AlertRun",
    "BacktestConfig",
    "BehaviourConfig",
    "FitReport",
    "ForesightConfig",
    "ForesightInputs",
    "ForesightModel",
    "PopulationStats",
    "RiskModel",
    "RuleTable",
    "ShiftConfig",
    "build_facts",
    "compute_alerts",
    "compute_alerts_detailed",
    "compute_behaviour_signals",
    "compute_message_signals",
    "customer_facts",
    "customer_summaries",
    "decide_alerts",
    "detect_shift",
    "load_rules",
    "prepare_inputs",
    "read_input_table",
    "resolve_as_of",
    "rfm_summary",
    "risk_table",
    "run_alerts",
    "score_customers",
    "signal_features",
    "turn_drop_scores",
    "validate_customers",
    "validate_events",
    "validate_messages",
]
