"""Per-customer foresight: behaviour signals, tone shifts, additive churn risk and alerts.

Consumes the text core's output columns (it does not import the text core)::

    from analyzer.foresight import compute_alerts
    alerts = compute_alerts(messages, events, customers, lang="es")          # DataFrames in
    run = run_alerts("analysed.csv", "events.csv", None, "alerts.jsonl")    # files in and out

Submodules load nothing heavy at import time; VADER (evaluation stand-in) loads on first use.
"""

from __future__ import annotations

from analyzer.foresight.alerts import (
    ALERT_COLUMNS,
    AlertResult,
    RuleTable,
    compute_alerts,
    compute_alerts_detailed,
    load_rules,
)
from analyzer.foresight.behaviour import BehaviourConfig, compute_behaviour_signals
from analyzer.foresight.bgnbd import BGNBD, rfm_summary
from analyzer.foresight.files import AlertRun, read_input_table, run_alerts
from analyzer.foresight.fusion import SIGNAL_SIGNS, RiskModel, build_facts, signal_features
from analyzer.foresight.schemas import validate_customers, validate_events, validate_messages
from analyzer.foresight.shift import (
    ShiftConfig,
    compute_message_signals,
    detect_shift,
    turn_drop_scores,
    vader_score_fn,
)

__all__ = [
    "ALERT_COLUMNS",
    "BGNBD",
    "SIGNAL_SIGNS",
    "AlertResult",
    "AlertRun",
    "BehaviourConfig",
    "RiskModel",
    "RuleTable",
    "ShiftConfig",
    "build_facts",
    "compute_alerts",
    "compute_alerts_detailed",
    "compute_behaviour_signals",
    "compute_message_signals",
    "detect_shift",
    "load_rules",
    "read_input_table",
    "rfm_summary",
    "run_alerts",
    "signal_features",
    "turn_drop_scores",
    "vader_score_fn",
    "validate_customers",
    "validate_events",
    "validate_messages",
]
