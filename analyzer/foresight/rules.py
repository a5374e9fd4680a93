"""The editable rule table: severity, urgent causes, recommended actions and the cooldown.

Severity follows how much more at risk a customer is than a typical one of the same business: the
odds of lapsing over the typical active customer's odds (``odds_ratio``), so one bar means the same whether
a shop loses 5 % or 40 % of its customers a quarter. Urgent causes are at least a given severity
whatever the probability: an explicit intent to leave, a collapse in tone, an overdue ticket of a
valuable customer. The first rule whose conditions hold picks the action and its justification.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from analyzer.errors import ConfigError
from analyzer.foresight.features import FEATURE_NAMES
from analyzer.schema import SEVERITIES, VALUE_TIERS

__all__ = ["ACTIONS", "CRM_SYSTEMS", "DEFAULT_SEVERITY", "RISK_KEY", "URGENT_CAUSES", "URGENT_REASON",
           "WIN_BACK_CAUSE", "Rule", "RuleTable", "load_rules"]

ACTIONS: frozenset[str] = frozenset(
    {"priority_call", "help_resource", "relevant_offer", "delivery_followup", "thank_you_referral", "win_back"})
CRM_SYSTEMS: tuple[str, ...] = ("hubspot", "salesforce", "zendesk", "dynamics")
"""Where a rule's alerts may open a task (``crm_task``): a HubSpot task, a Salesforce Task, a Zendesk
ticket or a Dynamics 365 activity, pushed by the service's CRM subscriptions."""
DEFAULT_SEVERITY: dict[str, float] = {"low": 1.75, "medium": 2.5, "high": 4.0, "critical": 8.0}
URGENT_CAUSES: tuple[str, ...] = ("churn_intent", "tone_collapse", "overdue_ticket_valuable")
URGENT_REASON: dict[str, str] = {"churn_intent": "churn_intent", "tone_collapse": "tone_shift",
                                 "overdue_ticket_valuable": "unanswered_tickets"}
"""The reason that shows each urgent cause (what the alert leads with)."""
WIN_BACK_CAUSE = "win_back"
RISK_KEY = "*risk*"  # the one cooldown key of all risk alerts under cooldown_scope "customer"
_CONDITION_KEYS = frozenset({"themes", "signals", "value_tier", "min_risk", "max_risk", "min_severity",
                             "max_odds_ratio"})


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
    min_severity: str | None = None
    max_odds_ratio: float | None = None
    crm_task: str | None = None

    def matches(self, *, themes: set[str], signals: set[str], value_tier: str, risk: float, severity: str,
                odds_ratio: float) -> bool:
        return ((self.themes is None or bool(self.themes & themes))
                and (self.signals is None or bool(self.signals & signals))
                and (self.value_tier is None or value_tier in self.value_tier)
                and (self.min_risk is None or risk >= self.min_risk)
                and (self.max_risk is None or risk <= self.max_risk)
                and (self.min_severity is None or SEVERITIES.index(severity) >= SEVERITIES.index(self.min_severity))
                and (self.max_odds_ratio is None or odds_ratio <= self.max_odds_ratio))


@dataclass(frozen=True)
class RuleTable:
    rules: tuple[Rule, ...]
    severity: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    urgent: dict[str, str] = field(default_factory=lambda: dict.fromkeys(URGENT_CAUSES, "high"))
    valuable_tiers: frozenset[str] = frozenset({"high", "vip"})
    cooldown_days: float = 14.0
    win_back: bool = True   # one info alert when a customer lapses (False: lapsed customers are silent)
    win_back_within_days: float = 60.0  # only lapses that began this recently get one (an import of old history
    #                                    does not hand every customer gone last year to win-back at once)
    # "customer": within the cooldown a customer gets no second risk alert, whatever its main
    # cause, unless the severity rose (one risk, one alert); "cause": a new main cause re-alerts.
    cooldown_scope: str = "customer"
    # A thank-you or referral ask is welcome once in a while, not every fortnight on the same message.
    opportunity_cooldown_days: float = 90.0

    def cooldown_of(self, key: str) -> float:
        """Days a cooldown key stays closed after an alert."""
        return self.opportunity_cooldown_days if key.startswith("opportunity:") else self.cooldown_days

    def cooldown_key(self, cause: str) -> str:
        """The key alerts are de-duplicated on: all risk alerts share one under the customer scope."""
        if self.cooldown_scope == "customer" and not cause.startswith("opportunity:") and cause != WIN_BACK_CAUSE:
            return RISK_KEY
        return cause

    def severity_of(self, odds_ratio: float, urgent: Iterable[str] = ()) -> str:
        """The severity of a customer whose odds of lapsing are ``odds_ratio`` times a typical active customer's."""
        level = "info"
        for name in ("low", "medium", "high", "critical"):
            if odds_ratio >= self.severity[name]:
                level = name
        for cause in urgent:
            floor = self.urgent.get(cause)
            if floor and SEVERITIES.index(floor) > SEVERITIES.index(level):
                level = floor
        return level

    @property
    def themes(self) -> frozenset[str]:
        return frozenset(t for r in self.rules for t in (r.themes or ()))

    def check_themes(self, theme_ids: Iterable[str], where: str = "the rule table") -> RuleTable:
        """Refuse rules that name themes the taxonomy does not have (a typo would silently never match)."""
        known = set(theme_ids)
        for r in self.rules:
            unknown = sorted((r.themes or frozenset()) - known)
            if unknown:
                raise ConfigError(f"{where}: rule {r.name!r} names theme(s) {unknown} that the taxonomy does not "
                                  f"have; known themes: {sorted(known)}.")
        return self


def _as_set(value: Any, key: str, rule: str) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"rule {rule!r}: '{key}' must be a list of names; received {value!r}.")
    return frozenset(str(v) for v in value)


def _rule(r: Any, i: int, where: str) -> Rule:
    if not isinstance(r, dict):
        raise ConfigError(f"{where}: rule {i} must be a mapping; received {r!r}.")
    name = str(r.get("name", f"rule_{i}"))
    action = r.get("action")
    if action not in ACTIONS:
        raise ConfigError(f"{where}: rule {name!r} has action {action!r}; use one of {sorted(ACTIONS)}.")
    when = r.get("when") or {}
    unknown = set(when) - _CONDITION_KEYS
    if unknown:
        raise ConfigError(f"{where}: rule {name!r} has unknown condition(s) {sorted(unknown)}; "
                          f"allowed: {sorted(_CONDITION_KEYS)}.")
    signals = _as_set(when.get("signals"), "signals", name)
    if signals and not signals <= set(FEATURE_NAMES):
        raise ConfigError(f"{where}: rule {name!r} names unknown signal(s) {sorted(signals - set(FEATURE_NAMES))}; "
                          f"known: {list(FEATURE_NAMES)}.")
    tiers = _as_set(when.get("value_tier"), "value_tier", name)
    if tiers and not tiers <= {*VALUE_TIERS, "unknown"}:
        raise ConfigError(f"{where}: rule {name!r} names unknown value tier(s) {sorted(tiers - set(VALUE_TIERS))}; "
                          f"known: {list(VALUE_TIERS)} and unknown.")
    min_sev = when.get("min_severity")
    if min_sev is not None and min_sev not in SEVERITIES:
        raise ConfigError(f"{where}: rule {name!r} has min_severity {min_sev!r}; use one of {list(SEVERITIES)}.")
    just = r.get("justification") or {}
    if not isinstance(just, dict) or not just.get("es") or not just.get("en"):
        raise ConfigError(f"{where}: rule {name!r} needs a justification with 'es' and 'en' texts.")
    kind = r.get("kind", "risk")
    if kind not in ("risk", "opportunity"):
        raise ConfigError(f"{where}: rule {name!r} has kind {kind!r}; use 'risk' or 'opportunity'.")
    crm_task = r.get("crm_task")
    if crm_task is not None and crm_task not in CRM_SYSTEMS:
        raise ConfigError(f"{where}: rule {name!r} has crm_task {crm_task!r}; use one of {list(CRM_SYSTEMS)} "
                          "(or leave it out: no CRM task for this rule's alerts).")

    def num(key: str) -> float | None:
        return None if when.get(key) is None else float(when[key])

    return Rule(name=name, action=str(action), justification_es=str(just["es"]), justification_en=str(just["en"]),
                kind=kind, themes=_as_set(when.get("themes"), "themes", name), signals=signals, value_tier=tiers,
                min_risk=num("min_risk"), max_risk=num("max_risk"), min_severity=min_sev,
                max_odds_ratio=num("max_odds_ratio"), crm_task=crm_task)


def load_rules(path: str | Path | None = None, *, theme_ids: Iterable[str] | None = None) -> RuleTable:
    """Read a rule table (default: the packaged :file:`rules.yaml`) and check it.

    With ``theme_ids`` (the taxonomy's), themes named in rules must exist. Errors name the rule
    and the key that is wrong, so the file can be fixed by hand.
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
    rules = tuple(_rule(r, i, where) for i, r in enumerate(raw["rules"]))
    sev = {**DEFAULT_SEVERITY, **(raw.get("severity") or {})}
    levels = [float(sev[k]) for k in ("low", "medium", "high", "critical")]
    if levels != sorted(levels) or not levels[0] > 1.0:
        raise ConfigError(f"{where}: severity bars are odds ratios to the base rate and must rise "
                          f"1 < low <= medium <= high <= critical; received {sev}.")
    urgent = {**dict.fromkeys(URGENT_CAUSES, "high"), **(raw.get("urgent") or {})}
    for cause, level in urgent.items():
        if cause not in URGENT_CAUSES or level not in (*SEVERITIES, None):
            raise ConfigError(f"{where}: urgent must map {list(URGENT_CAUSES)} to a severity {list(SEVERITIES)}; "
                              f"received {cause!r}: {level!r}.")
    valuable = _as_set(raw.get("valuable_tiers", ["high", "vip"]), "valuable_tiers", "valuable_tiers") or frozenset()
    cooldown = float(raw.get("cooldown_days", 14))
    if cooldown < 0:
        raise ConfigError(f"{where}: cooldown_days must be >= 0; received {cooldown}.")
    win_back = raw.get("win_back", True)
    if not isinstance(win_back, bool):
        raise ConfigError(f"{where}: win_back must be true or false; received {win_back!r}.")
    scope = raw.get("cooldown_scope", "customer")
    if scope not in ("customer", "cause"):
        raise ConfigError(f"{where}: cooldown_scope must be 'customer' or 'cause'; received {scope!r}.")
    within = float(raw.get("win_back_within_days", 60))
    if within < 0:
        raise ConfigError(f"{where}: win_back_within_days must be >= 0; received {within}.")
    opportunity = float(raw.get("opportunity_cooldown_days", 90))
    if opportunity < 0:
        raise ConfigError(f"{where}: opportunity_cooldown_days must be >= 0; received {opportunity}.")
    table = RuleTable(rules, {k: float(v) for k, v in sev.items()}, {k: v for k, v in urgent.items() if v},
                      valuable, cooldown, win_back, within, str(scope), opportunity)
    return table.check_themes(theme_ids, where) if theme_ids is not None else table
