"""From customer states to prioritised, explained, de-duplicated alerts.

:func:`decide_alerts` takes the states of :mod:`analyzer.foresight.scoring` (risk, odds ratio to
the base rate, lapse, urgent causes, reasons), gives each a severity and, from the rule table, an
action with its justification, and holds back what the cooldown says was already sent.
:func:`compute_alerts_detailed` is the whole path on DataFrames: validate -> drop opted-out
customers -> fit the model on this history (or use the one given) -> score -> decide.

Lapsed customers (silent past their own horizon) are already gone: a retention alert every
cooldown period would be a wasted call forever. They get no risk alert; once per lapse an
``info`` alert with cause and action ``win_back`` hands them to a win-back campaign.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError
from analyzer.foresight.config import ForesightConfig
from analyzer.foresight.features import LEVEL_FEATURES
from analyzer.foresight.model import ForesightInputs, ForesightModel, prepare_inputs, resolve_as_of
from analyzer.foresight.rules import URGENT_REASON, WIN_BACK_CAUSE, RuleTable, load_rules
from analyzer.io import TimestampPolicy
from analyzer.schema import ALERT_COLUMNS, SEVERITIES

__all__ = ["AlertResult", "alert_id", "compute_alerts", "compute_alerts_detailed", "decide_alerts",
           "order_alerts"]

_WIN_BACK_ES = ("Lleva {days} días sin actividad, más que su horizonte de {horizon} días: ya se ha ido; no más "
                "alertas de retención, pasa a una campaña de recuperación.")
_WIN_BACK_EN = ("No activity for {days} days, past their {horizon}-day horizon: already gone; no more retention "
                "alerts, hand over to a win-back campaign.")


@dataclass(frozen=True)
class AlertResult:
    """Everything :func:`compute_alerts_detailed` computed, for audit and debugging."""

    alerts: pd.DataFrame        # ALERT_COLUMNS, one row per alert, most severe first
    states: pd.DataFrame        # every profiled customer: risk, odds ratio, severity, lapse, reasons, tier
    features: pd.DataFrame      # the model's inputs
    facts: pd.DataFrame         # raw behaviour and message facts behind them
    rejected: pd.DataFrame      # bad input rows (analyzer.schema.REJECTED_COLUMNS)
    suppressed: pd.DataFrame    # alerts not sent: customer_id, cause, severity, why
    as_of: pd.Timestamp
    model: ForesightModel

    @property
    def risk(self) -> pd.DataFrame:
        """Alias of :attr:`states` (risk, severity and reasons of every customer)."""
        return self.states


def alert_id(customer_id: str, cause: str, as_of: pd.Timestamp) -> str:
    """Deterministic: the same customer, cause and judgement time always give the same id."""
    return hashlib.sha1(f"{customer_id}|{cause}|{pd.Timestamp(as_of).isoformat()}".encode()).hexdigest()[:16]


def _history(history: pd.DataFrame | None, as_of: pd.Timestamp, table: RuleTable
             ) -> tuple[dict[tuple[str, str], str], dict[str, pd.Timestamp]]:
    """(customer, cooldown key) -> highest severity within the cooldown; customer -> last win-back time."""
    if history is None or history.empty:
        return {}, {}
    missing = {"customer_id", "cause", "alerted_at"} - set(history.columns)
    if missing:
        raise ConfigError(f"history lacks column(s) {sorted(missing)}; pass earlier compute_alerts() outputs "
                          f"(columns customer_id, cause, alerted_at[, severity]).")
    h = history.assign(_t=pd.to_datetime(history["alerted_at"], utc=True, errors="coerce"))
    h = h.loc[h["_t"] <= as_of]
    won = h.loc[h["cause"].astype(str) == WIN_BACK_CAUSE]
    won_back = {str(k): v for k, v in won.groupby(won["customer_id"].astype(str))["_t"].max().items()}
    longest = max(table.cooldown_days, table.opportunity_cooldown_days)
    recent = h.loc[h["_t"] > as_of - pd.Timedelta(days=longest)]
    sev = recent["severity"] if "severity" in recent.columns else pd.Series("critical", index=recent.index)
    out: dict[tuple[str, str], str] = {}
    for cid, cause, s, t in zip(recent["customer_id"].astype(str), recent["cause"].astype(str), sev.astype(str),
                                recent["_t"], strict=True):
        s = s if s in SEVERITIES else "critical"
        key = (cid, table.cooldown_key(cause))
        if t <= as_of - pd.Timedelta(days=table.cooldown_of(key[1])):
            continue
        if key not in out or SEVERITIES.index(s) > SEVERITIES.index(out[key]):
            out[key] = s
    return out, won_back


def order_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Most severe first, then riskiest, then by id: the order a support team works the list in."""
    if alerts.empty:
        return alerts.reset_index(drop=True)
    rank = alerts["severity"].map(SEVERITIES.index)
    return (alerts.assign(_o=rank).sort_values(["_o", "risk", "alert_id"], ascending=[False, False, True],
                                               kind="stable").drop(columns="_o").reset_index(drop=True))


def decide_alerts(states: pd.DataFrame, features: pd.DataFrame, facts: pd.DataFrame, customers: pd.DataFrame,
                  table: RuleTable, *, as_of: pd.Timestamp, lang: str = "es",
                  history: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(alerts, suppressed, states)``: severity, tier and segment added to ``states``, then the rules."""
    if lang not in ("es", "en"):
        raise ConfigError(f"lang must be 'es' or 'en'; received {lang!r}.")
    states = states.copy()
    tiers = customers["value_tier"].astype(str).to_dict() if len(customers) else {}
    segments = customers["segment"].to_dict() if len(customers) else {}
    ids = [str(c) for c in states.index]
    states["value_tier"] = [tiers.get(c, "unknown") for c in ids]
    states["segment"] = [segments.get(c) for c in ids]
    urgent_of: dict[str, list[str]] = {}
    for cid, churn, collapse, tickets, tier in zip(ids, states["churn_intent"], states["tone_collapse"],
                                                   states["overdue_tickets"], states["value_tier"], strict=True):
        causes = [c for c, on in (("churn_intent", churn), ("tone_collapse", collapse),
                                  ("overdue_ticket_valuable", tickets > 0 and tier in table.valuable_tiers)) if on]
        urgent_of[cid] = causes
    states["urgent"] = [urgent_of[c] for c in ids]
    states["severity"] = [table.severity_of(float(o), u) for o, u in zip(states["odds_ratio"], states["urgent"],
                                                                         strict=True)]
    recent, won_back = _history(history, as_of, table)
    theme_facts = facts["complaint_themes"].to_dict() if "complaint_themes" in facts.columns else {}
    # A signal is present when it is on; a level (recency, frequency, ...) when it raises the risk.
    signal_cols = [c for c in features.columns if c not in LEVEL_FEATURES]
    on = features[signal_cols].to_numpy() > 0
    present_by = {str(c): {signal_cols[j] for j in np.flatnonzero(row)} for c, row in zip(features.index, on,
                                                                                           strict=True)}
    for cid, reasons in zip(ids, states["reasons"], strict=True):
        present_by.setdefault(cid, set()).update(d["code"] for d in reasons
                                                 if d["code"] in LEVEL_FEATURES and d["contribution"] > 0)
    rows: list[dict[str, Any]] = []
    suppressed: list[dict[str, Any]] = []
    for cid, r in zip(ids, states.to_dict("records"), strict=True):
        tier, severity = r["value_tier"], str(r["severity"])
        if r["lapsed"] and not r["urgent"]:
            last = r["last_activity"]
            sent_at = won_back.get(cid)
            # Once per lapse: a win-back sent after the last activity covers this whole lapse.
            lapsed_for = float(r["days_inactive"]) - float(r["lapse_horizon_days"])
            if (not table.win_back or lapsed_for > table.win_back_within_days
                    or (sent_at is not None and (pd.isna(last) or sent_at > last))):
                if severity != "info":
                    suppressed.append({"customer_id": cid, "cause": WIN_BACK_CAUSE, "severity": severity,
                                       "why": "lapsed: no retention alerts for a customer already gone"})
                continue
            j_es = _WIN_BACK_ES.format(days=int(r["days_inactive"]), horizon=int(r["lapse_horizon_days"]))
            j_en = _WIN_BACK_EN.format(days=int(r["days_inactive"]), horizon=int(r["lapse_horizon_days"]))
            rows.append({"alert_id": alert_id(cid, WIN_BACK_CAUSE, as_of), "customer_id": cid, "alerted_at": as_of,
                         "risk": float(r["risk"]), "severity": "info", "cause": WIN_BACK_CAUSE,
                         "reasons": r["reasons"], "action": "win_back", "rule": WIN_BACK_CAUSE,
                         "justification": j_es if lang == "es" else j_en, "justification_es": j_es,
                         "justification_en": j_en, "value_tier": tier, "segment": r["segment"]})
            continue
        tf = theme_facts.get(cid)
        themes = set(tf) if isinstance(tf, dict) else set()
        signals = present_by.get(cid, set()) | set(r["urgent"])
        for rule in table.rules:
            if rule.kind == "risk" and severity == "info":
                continue
            if rule.matches(themes=themes, signals=signals, value_tier=tier, risk=float(r["risk"]), severity=severity,
                            odds_ratio=float(r["odds_ratio"])):
                break
        else:
            continue
        reasons = r["reasons"]
        if rule.kind == "opportunity":
            main = min(reasons, key=lambda d: d["contribution"]) if reasons else None
            cause = f"opportunity:{rule.name}"
        else:
            leads = {URGENT_REASON[u] for u in r["urgent"]}
            urgent_first = next((d for d in reasons if d["code"] in leads), None)
            main = urgent_first or (reasons[0] if reasons and reasons[0]["contribution"] > 0 else None)
            cause = main["code"] if main else rule.name
        prev = recent.get((cid, table.cooldown_key(cause)))
        # Within the cooldown the customer is silent unless the severity rose.
        if prev is not None and SEVERITIES.index(severity) <= SEVERITIES.index(prev):
            what = f"for {cause}" if table.cooldown_scope == "cause" else "at risk"
            days = table.cooldown_of(table.cooldown_key(cause))
            suppressed.append({"customer_id": cid, "cause": cause, "severity": severity,
                               "why": f"cooldown: alerted {what} within {days:g} days"})
            continue
        j_es = rule.justification_es.replace("{reason}", main["text_es"] if main else "riesgo general")
        j_en = rule.justification_en.replace("{reason}", main["text_en"] if main else "overall risk")
        rows.append({"alert_id": alert_id(cid, cause, as_of), "customer_id": cid, "alerted_at": as_of,
                     "risk": float(r["risk"]), "severity": severity, "cause": cause, "reasons": reasons,
                     "action": rule.action, "rule": rule.name, "justification": j_es if lang == "es" else j_en,
                     "justification_es": j_es, "justification_en": j_en, "value_tier": tier, "segment": r["segment"]})
    alerts = order_alerts(pd.DataFrame(rows, columns=list(ALERT_COLUMNS)))
    return alerts, pd.DataFrame(suppressed, columns=["customer_id", "cause", "severity", "why"]), states


def compute_alerts_detailed(messages: pd.DataFrame | None, events: pd.DataFrame | None,
                            customers: pd.DataFrame | None, *, as_of: Any = None, lang: str = "es",
                            model: ForesightModel | None = None, rules: RuleTable | str | Path | None = None,
                            history: pd.DataFrame | None = None, config: ForesightConfig | None = None,
                            timestamps: TimestampPolicy | None = None,
                            inputs: ForesightInputs | None = None) -> AlertResult:
    """Like :func:`compute_alerts`, returning the intermediate tables and the model as well."""
    table = rules if isinstance(rules, RuleTable) else load_rules(rules)
    data = inputs or prepare_inputs(messages, events, customers, timestamps)
    as_of_ts = resolve_as_of(data, as_of)
    if model is None:
        model = ForesightModel(config).fit_inputs(data, as_of_ts)
    states, features, facts = model.score_inputs(data, as_of_ts)
    alerts, suppressed, states = decide_alerts(states, features, facts, data.customers, table, as_of=as_of_ts,
                                               lang=lang, history=history)
    return AlertResult(alerts, states, features, facts, data.rejected, suppressed, as_of_ts, model)


def compute_alerts(messages: pd.DataFrame | None, events: pd.DataFrame | None, customers: pd.DataFrame | None,
                   *, as_of: Any = None, lang: str = "es", model: ForesightModel | None = None,
                   rules: RuleTable | str | Path | None = None, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Alerts for customers at risk (and thank-you opportunities), one row per alert.

    - ``messages``: analysed messages (text core output); ``events``: behaviour events;
      ``customers``: optional ``customer_id, segment, value_tier, opt_out``.
    - ``as_of``: judgement time (default: the last timestamp in the inputs); later rows ignored.
    - ``model``: a fitted :class:`~analyzer.foresight.model.ForesightModel` (default: fitted on this
      history: a back-test when it spans enough time, else the priors).
    - ``rules``: a :class:`RuleTable` or path to a YAML rule file (default: packaged rules).
    - ``history``: earlier alerts, so the cooldown holds across runs.

    Returns :data:`~analyzer.schema.ALERT_COLUMNS`, most severe first; ``attrs["rejected"]`` lists bad
    input rows. Opted-out customers are never profiled.
    """
    res = compute_alerts_detailed(messages, events, customers, as_of=as_of, lang=lang, model=model, rules=rules,
                                  history=history)
    alerts = res.alerts.copy()
    alerts.attrs["rejected"] = res.rejected
    alerts.attrs["as_of"] = res.as_of
    return alerts
