"""From messages and events to prioritised, explained, de-duplicated alerts.

Pipeline of :func:`compute_alerts`: validate the inputs (bad rows set aside, never a crash)
-> drop opted-out customers before any profiling -> behaviour and message signals ->
additive risk with reasons -> severity -> recommended action from the editable YAML rule table
(:file:`rules.yaml`) -> dedup and cooldown against earlier alerts.

Lapsed customers (inactive past their own horizon, see
:class:`~analyzer.foresight.behaviour.BehaviourConfig`) are already gone: a retention alert
every cooldown period would be a wasted call forever. They get no risk alert; instead, once
per lapse (never again while it lasts), an ``info`` alert with cause ``win_back`` and action
``win_back`` hands them to a win-back campaign. A lapsed customer who comes back is judged
as any other again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from analyzer.errors import ConfigError
from analyzer.foresight.behaviour import BehaviourConfig, compute_behaviour_signals
from analyzer.foresight.fusion import SIGNAL_CODES, RiskModel, build_facts, signal_features
from analyzer.foresight.schemas import (
    REJECTED_COLUMNS,
    validate_customers,
    validate_events,
    validate_messages,
)
from analyzer.foresight.shift import ShiftConfig, compute_message_signals

__all__ = [
    "ACTIONS",
    "ALERT_COLUMNS",
    "WIN_BACK_CAUSE",
    "AlertResult",
    "Rule",
    "RuleTable",
    "compute_alerts",
    "compute_alerts_detailed",
    "load_rules",
]

ACTIONS: frozenset[str] = frozenset(
    {"priority_call", "help_resource", "relevant_offer", "delivery_followup", "thank_you_referral", "win_back"})
SEVERITIES: tuple[str, ...] = ("info", "low", "medium", "high", "critical")
DEFAULT_SEVERITY: dict[str, float] = {"low": 0.10, "medium": 0.20, "high": 0.35, "critical": 0.50}
ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "reasons", "action", "rule",
    "justification", "justification_es", "justification_en", "value_tier", "segment",
)
WIN_BACK_CAUSE = "win_back"
RISK_KEY = "*risk*"  # the one cooldown key of all risk alerts under cooldown_scope "customer"
_CONDITION_KEYS = frozenset({"themes", "signals", "value_tier", "min_risk", "max_risk"})


@dataclass(frozen=True)
class Rule:
    name: str
    action: str
    justification_es: str
    justification_en: str
    kind: str = "risk"
    themes: frozenset[str] | None = None
    signals: frozenset[str] | None = None
    value_tier: frozenset[str] | None = None
    min_risk: float | None = None
    max_risk: float | None = None

    def matches(self, *, themes: set[str], signals: set[str], value_tier: str, risk: float) -> bool:
        return ((self.themes is None or bool(self.themes & themes))
                and (self.signals is None or bool(self.signals & signals))
                and (self.value_tier is None or value_tier in self.value_tier)
                and (self.min_risk is None or risk >= self.min_risk)
                and (self.max_risk is None or risk <= self.max_risk))


@dataclass(frozen=True)
class RuleTable:
    rules: tuple[Rule, ...]
    severity: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    cooldown_days: float = 14.0
    win_back: bool = True   # one info alert when a customer lapses (False: lapsed customers are silent)
    # "customer": within the cooldown a customer gets no second risk alert, whatever its main
    # cause, unless the severity rose (one risk, one alert); "cause": a new main cause re-alerts.
    cooldown_scope: str = "customer"

    def cooldown_key(self, cause: str) -> str:
        """The key alerts are de-duplicated on: all risk alerts share one under the customer scope."""
        if self.cooldown_scope == "customer" and not cause.startswith("opportunity:") and cause != WIN_BACK_CAUSE:
            return RISK_KEY
        return cause

    def severity_of(self, risk: float) -> str:
        level = "info"
        for name in ("low", "medium", "high", "critical"):
            if risk >= self.severity[name]:
                level = name
        return level


def _as_set(value: Any, key: str, rule: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"rule {rule!r}: '{key}' must be a list of names; received {value!r}.")
    return frozenset(str(v) for v in value)


def load_rules(path: str | Path | None = None) -> RuleTable:
    """Read a rule table (default: the packaged :file:`rules.yaml`) and check it.

    Errors name the rule and the key that is wrong, so the file can be fixed by hand.
    """
    if path is None:
        text = resources.files("analyzer.foresight").joinpath("rules.yaml").read_text(encoding="utf-8")
        where = "packaged rules.yaml"
    else:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"rules file {str(p)!r} does not exist; pass a YAML file like the packaged "
                              f"analyzer/foresight/rules.yaml.")
        text, where = p.read_text(encoding="utf-8"), str(p)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list) or not raw["rules"]:
        raise ConfigError(f"{where}: expected a mapping with a non-empty 'rules' list.")
    rules = []
    for i, r in enumerate(raw["rules"]):
        name = str(r.get("name", f"rule_{i}")) if isinstance(r, dict) else f"rule_{i}"
        if not isinstance(r, dict):
            raise ConfigError(f"{where}: rule {i} must be a mapping; received {r!r}.")
        action = r.get("action")
        if action not in ACTIONS:
            raise ConfigError(f"{where}: rule {name!r} has action {action!r}; use one of {sorted(ACTIONS)}.")
        when = r.get("when") or {}
        unknown = set(when) - _CONDITION_KEYS
        if unknown:
            raise ConfigError(f"{where}: rule {name!r} has unknown condition(s) {sorted(unknown)}; "
                              f"allowed: {sorted(_CONDITION_KEYS)}.")
        signals = _as_set(when.get("signals"), "signals", name)
        if signals and not signals <= set(SIGNAL_CODES):
            unknown_signals = sorted(signals - set(SIGNAL_CODES))
            raise ConfigError(f"{where}: rule {name!r} names unknown signal(s) {unknown_signals};"
                              f" known: {list(SIGNAL_CODES)}.")
        just = r.get("justification") or {}
        if not isinstance(just, dict) or not just.get("es") or not just.get("en"):
            raise ConfigError(f"{where}: rule {name!r} needs a justification with 'es' and 'en' texts.")
        kind = r.get("kind", "risk")
        if kind not in ("risk", "opportunity"):
            raise ConfigError(f"{where}: rule {name!r} has kind {kind!r}; use 'risk' or 'opportunity'.")
        rules.append(Rule(
            name=name, action=str(action), justification_es=str(just["es"]), justification_en=str(just["en"]),
            kind=kind, themes=_as_set(when.get("themes"), "themes", name), signals=signals,
            value_tier=_as_set(when.get("value_tier"), "value_tier", name),
            min_risk=None if when.get("min_risk") is None else float(when["min_risk"]),
            max_risk=None if when.get("max_risk") is None else float(when["max_risk"]),
        ))
    sev = {**DEFAULT_SEVERITY, **(raw.get("severity") or {})}
    levels = [float(sev[k]) for k in ("low", "medium", "high", "critical")]
    if levels != sorted(levels) or not all(0 < v < 1 for v in levels):
        raise ConfigError(f"{where}: severity thresholds must rise low < medium < high < critical "
                          f"within (0, 1); "
                          f"received {sev}.")
    cooldown = float(raw.get("cooldown_days", 14))
    if cooldown < 0:
        raise ConfigError(f"{where}: cooldown_days must be >= 0; received {cooldown}.")
    win_back = raw.get("win_back", True)
    if not isinstance(win_back, bool):
        raise ConfigError(f"{where}: win_back must be true or false; received {win_back!r}.")
    scope = raw.get("cooldown_scope", "customer")
    if scope not in ("customer", "cause"):
        raise ConfigError(f"{where}: cooldown_scope must be 'customer' or 'cause'; received {scope!r}.")
    return RuleTable(tuple(rules), {k: float(v) for k, v in sev.items()}, cooldown, win_back, str(scope))


@dataclass(frozen=True)
class AlertResult:
    """Everything :func:`compute_alerts_detailed` computed, for audit and debugging."""

    alerts: pd.DataFrame        # ALERT_COLUMNS, one row per alert
    risk: pd.DataFrame          # every profiled customer: risk, logit, bias, reasons, severity
    signals: pd.DataFrame       # signal intensities (model inputs)
    facts: pd.DataFrame         # raw behaviour and message facts behind the signals
    rejected: pd.DataFrame      # bad input rows: table, row, reason, message
    suppressed: pd.DataFrame    # alerts not sent: customer_id, cause, why (cooldown)
    as_of: pd.Timestamp


def _as_of(messages: pd.DataFrame, events: pd.DataFrame, as_of: Any) -> pd.Timestamp:
    if as_of is not None:
        ts = pd.Timestamp(as_of)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    stamps = [df["timestamp"].max() for df in (messages, events) if not df.empty]
    # Without an explicit as_of the batch is judged at its own last timestamp, so re-running
    # an old export gives the same answer as on the day it was made.
    return max(stamps) if stamps else pd.Timestamp.now(tz="UTC")


def _alert_id(customer_id: str, cause: str, as_of: pd.Timestamp) -> str:
    return hashlib.sha1(f"{customer_id}|{cause}|{as_of.isoformat()}".encode()).hexdigest()[:16]


def _suppressed_by_history(history: pd.DataFrame | None, as_of: pd.Timestamp,
                           cooldown_days: float, table: RuleTable | None = None) -> dict[tuple[str, str], str]:
    """(customer, cooldown key) -> highest severity, for alerts sent within the cooldown before ``as_of``."""
    if history is None or history.empty:
        return {}
    missing = {"customer_id", "cause", "alerted_at"} - set(history.columns)
    if missing:
        raise ConfigError(f"history lacks column(s) {sorted(missing)}; pass earlier compute_alerts() "
                          f"outputs (columns customer_id, cause, alerted_at[, severity]).")
    h = history.copy()
    h["alerted_at"] = pd.to_datetime(h["alerted_at"], utc=True, errors="coerce")
    h = h.loc[(h["alerted_at"] <= as_of) & (h["alerted_at"] > as_of - pd.Timedelta(days=cooldown_days))]
    sev = h["severity"] if "severity" in h.columns else pd.Series("critical", index=h.index)
    out: dict[tuple[str, str], str] = {}
    triples = zip(h["customer_id"].astype(str), h["cause"].astype(str), sev.astype(str), strict=True)
    for cid, cause, s in triples:
        key = (cid, table.cooldown_key(cause) if table is not None else cause)
        prev = out.get(key)
        if prev is None or SEVERITIES.index(s if s in SEVERITIES else "critical") > SEVERITIES.index(prev):
            out[key] = s if s in SEVERITIES else "critical"
    return out


_WIN_BACK_ES = ("Lleva {days} días sin actividad, más que su horizonte de {horizon} días (el doble de su ritmo "
                "habitual, mínimo 60): ya se ha ido; no más alertas de retención, pasa a una campaña de "
                "recuperación.")
_WIN_BACK_EN = ("No activity for {days} days, past their {horizon}-day horizon (twice their usual rhythm, at "
                "least 60): already gone; no more retention alerts, hand over to a win-back campaign.")


def _lapse_start(r: Any) -> pd.Timestamp | None:
    last = r.get("last_activity")
    return None if last is None or pd.isna(last) else pd.Timestamp(last)


def _won_back_before(history: pd.DataFrame | None, as_of: pd.Timestamp) -> dict[str, pd.Timestamp]:
    """customer -> time of their latest earlier win-back alert (any age: it is sent once per lapse)."""
    if history is None or history.empty or "cause" not in history.columns:
        return {}
    h = history.loc[history["cause"].astype(str) == WIN_BACK_CAUSE]
    if h.empty:
        return {}
    t = pd.to_datetime(h["alerted_at"], utc=True, errors="coerce")
    h = h.assign(_t=t).loc[t <= as_of]
    return {str(k): v for k, v in h.groupby(h["customer_id"].astype(str))["_t"].max().items()}


def compute_alerts_detailed(messages: pd.DataFrame | None, events: pd.DataFrame | None,
                            customers: pd.DataFrame | None, *, as_of: Any = None, lang: str = "es",
                            model: RiskModel | None = None, rules: RuleTable | str | Path | None = None,
                            history: pd.DataFrame | None = None,
                            behaviour_config: BehaviourConfig | None = None,
                            shift_config: ShiftConfig | None = None) -> AlertResult:
    """Like :func:`compute_alerts`, returning the intermediate tables as well."""
    if lang not in ("es", "en"):
        raise ConfigError(f"lang must be 'es' or 'en'; received {lang!r}.")
    table = rules if isinstance(rules, RuleTable) else load_rules(rules)
    msg_v = validate_messages(messages if messages is not None else _empty_messages())
    ev_v = validate_events(events if events is not None else _empty_events())
    cust_v = validate_customers(customers)
    rejected = pd.concat([r for r in (msg_v.rejected, ev_v.rejected, cust_v.rejected) if not r.empty]
                         or [pd.DataFrame(columns=list(REJECTED_COLUMNS))], ignore_index=True)
    cust = cust_v.valid.set_index("customer_id")
    # Opt-out first: opted-out customers' rows never reach any profiling code.
    opted_out = set(cust.index[cust["opt_out"]].astype(str))
    msgs = msg_v.valid.loc[~msg_v.valid["customer_id"].isin(opted_out)]
    evs = ev_v.valid.loc[~ev_v.valid["customer_id"].isin(opted_out)]
    as_of_ts = _as_of(msgs, evs, as_of)

    behaviour = compute_behaviour_signals(evs, as_of_ts, behaviour_config)
    msg_signals = compute_message_signals(msgs, as_of_ts, shift_config)
    facts = build_facts(behaviour, msg_signals)
    x = signal_features(facts, behaviour_config)
    risk_model = model or RiskModel()
    risk = risk_model.explain(x, facts)
    risk["severity"] = [table.severity_of(r) for r in risk["risk"]]
    lapsed_col = facts["lapsed"] if "lapsed" in facts.columns else pd.Series(False, index=facts.index)
    lapsed = lapsed_col.reindex(risk.index).fillna(False).astype(bool)
    if "last_message_at" in facts.columns and "lapse_horizon_days" in facts.columns:
        # Writing to us is activity too: a customer silent in the event log who wrote recently has not lapsed.
        since_msg = (as_of_ts - pd.to_datetime(facts["last_message_at"], utc=True)) / pd.Timedelta(days=1)
        wrote = (since_msg < pd.to_numeric(facts["lapse_horizon_days"], errors="coerce")).reindex(risk.index)
        lapsed &= ~wrote.fillna(False).astype(bool)
    risk["lapsed"] = lapsed

    recent_alerts = _suppressed_by_history(history, as_of_ts, table.cooldown_days, table)
    won_back = _won_back_before(history, as_of_ts)
    facts_rows = facts.to_dict("index")
    rows, suppressed = [], []
    # Per-customer lookups built once (a weekly back-test calls this thousands of times).
    tiers = cust["value_tier"].astype(str).to_dict()
    segments = cust["segment"].to_dict()
    theme_facts = facts["complaint_themes"].to_dict() if "complaint_themes" in facts.columns else {}
    present_by = {str(c): set(x.columns[on]) for c, on in zip(x.index, x.to_numpy() > 0, strict=True)}
    for cid, r in risk.iterrows():
        cid = str(cid)
        tier = tiers.get(cid, "unknown")
        segment = segments.get(cid, pd.NA)
        tf = theme_facts.get(cid)
        themes = set(tf) if isinstance(tf, dict) else set()
        present = present_by[cid]
        if r["lapsed"]:
            f = facts_rows.get(cid, {})
            last = _lapse_start(f)
            sent_at = won_back.get(cid)
            # Once per lapse: a win-back sent after the last activity covers this whole lapse.
            if not table.win_back or (sent_at is not None and (last is None or sent_at > last)):
                if r["severity"] != "info":
                    suppressed.append({"customer_id": cid, "cause": WIN_BACK_CAUSE, "severity": str(r["severity"]),
                                       "why": "lapsed: no retention alerts for a customer already gone"})
                continue
            days, horizon = int(f.get("days_inactive", 0)), int(f.get("lapse_horizon_days", 0))
            j_es = _WIN_BACK_ES.format(days=days, horizon=horizon)
            j_en = _WIN_BACK_EN.format(days=days, horizon=horizon)
            rows.append({
                "alert_id": _alert_id(cid, WIN_BACK_CAUSE, as_of_ts), "customer_id": cid, "alerted_at": as_of_ts,
                "risk": float(r["risk"]), "severity": "info", "cause": WIN_BACK_CAUSE, "reasons": r["reasons"],
                "action": "win_back", "rule": WIN_BACK_CAUSE, "justification": j_es if lang == "es" else j_en,
                "justification_es": j_es, "justification_en": j_en, "value_tier": tier, "segment": segment,
            })
            continue
        for rule in table.rules:
            if rule.kind == "risk" and r["severity"] == "info":
                continue
            if rule.matches(themes=themes, signals=present, value_tier=tier, risk=float(r["risk"])):
                break
        else:
            continue
        reasons: list[dict[str, Any]] = r["reasons"]
        if rule.kind == "opportunity":
            main = min(reasons, key=lambda d: d["contribution"]) if reasons else None
            cause = f"opportunity:{rule.name}"
        else:
            main = reasons[0] if reasons and reasons[0]["contribution"] > 0 else None
            cause = main["code"] if main else rule.name
        severity = str(r["severity"])
        prev = recent_alerts.get((cid, table.cooldown_key(cause)))
        # Within the cooldown the same cause is silent unless it has become more severe.
        if prev is not None and SEVERITIES.index(severity) <= SEVERITIES.index(prev):
            what = f"for {cause}" if table.cooldown_scope == "cause" else "at risk"
            suppressed.append({"customer_id": cid, "cause": cause, "severity": severity,
                               "why": f"cooldown: alerted {what} within {table.cooldown_days:g} days"})
            continue
        j_es = rule.justification_es.replace("{reason}", main["text_es"] if main else "riesgo general")
        j_en = rule.justification_en.replace("{reason}", main["text_en"] if main else "overall risk")
        rows.append({
            "alert_id": _alert_id(cid, cause, as_of_ts), "customer_id": cid, "alerted_at": as_of_ts,
            "risk": float(r["risk"]), "severity": severity, "cause": cause, "reasons": reasons,
            "action": rule.action, "rule": rule.name, "justification": j_es if lang == "es" else j_en,
            "justification_es": j_es, "justification_en": j_en, "value_tier": tier, "segment": segment,
        })
    alerts = pd.DataFrame(rows, columns=list(ALERT_COLUMNS))
    if not alerts.empty:
        order = alerts["severity"].map(SEVERITIES.index)
        alerts = alerts.assign(_o=order).sort_values(["_o", "risk"], ascending=False).drop(columns="_o")
        alerts = alerts.reset_index(drop=True)
    alerts.attrs["rejected"] = rejected
    alerts.attrs["as_of"] = as_of_ts
    return AlertResult(alerts, risk, x, facts, rejected,
                       pd.DataFrame(suppressed, columns=["customer_id", "cause", "severity", "why"]),
                       as_of_ts)


def compute_alerts(messages: pd.DataFrame | None, events: pd.DataFrame | None,
                   customers: pd.DataFrame | None, *, as_of: Any = None, lang: str = "es",
                   model: RiskModel | None = None, rules: RuleTable | str | Path | None = None,
                   history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Alerts for customers at risk (and thank-you opportunities), one row per alert.

    - ``messages``: analysed messages (text core output); ``events``: behaviour events;
      ``customers``: optional ``customer_id, segment, value_tier, opt_out``.
    - ``as_of``: judgement time (default: the last timestamp in the inputs); later rows ignored.
    - ``lang``: language of the ``justification`` column (both are always in
      ``justification_es`` / ``justification_en``).
    - ``model``: a fitted :class:`RiskModel` (default: label-free default weights).
    - ``rules``: a :class:`RuleTable` or path to a YAML rule file (default: packaged rules).
    - ``history``: earlier alerts (any previous outputs concatenated); within ``cooldown_days``
      a customer is not alerted again unless the severity rose (with the rule table's
      ``cooldown_scope: cause``, only the same main cause is held back).

    Returns :data:`ALERT_COLUMNS`, most severe first. Bad input rows do not stop the batch:
    they are listed in ``result.attrs["rejected"]``. Opted-out customers are never profiled.
    """
    return compute_alerts_detailed(messages, events, customers, as_of=as_of, lang=lang, model=model,
                                   rules=rules, history=history).alerts


def _empty_messages() -> pd.DataFrame:
    return pd.DataFrame({"message_id": pd.Series(dtype="string"), "customer_id": pd.Series(dtype="string"),
                         "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
                         "channel": pd.Series(dtype="string"), "sentiment_label": pd.Series(dtype="string"),
                         "sentiment_score": pd.Series(dtype=float), "themes": pd.Series(dtype=object)})


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": pd.Series(dtype="string"),
                         "timestamp": pd.Series(dtype="datetime64[ns, UTC]"),
                         "type": pd.Series(dtype="string"), "value": pd.Series(dtype=float)})

