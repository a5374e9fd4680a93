"""Request and response models of the workspace endpoints (overview, outcomes, agents, settings, a customer's story).

Requests forbid unknown fields, as in :mod:`analyzer.service.schemas`; notes are free text bounded
like the alerts' feedback notes and redacted before they are stored.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from analyzer.service.schemas import TEXT_PATTERN, AlertPublic, CustomerPublic, Id

__all__ = ["ActionCreate", "ActionPublic", "AgentPublic", "AssignCreate", "ConfigPublic", "ConfigUpdate",
           "CustomerStory", "HistoryEntry", "MePublic", "OutcomeCreate", "OutcomeReport", "Overview"]

ActionTaken = Literal["priority_call", "help_resource", "relevant_offer", "delivery_followup", "thank_you_referral",
                      "win_back", "other"]
Note = str


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AssignCreate(_In):
    agent: Id | None = Field(description="The agent (the name of their API key) who owns the alert; null: nobody.")


class ActionCreate(_In):
    action: ActionTaken = Field(description="What the agent did: one of the rule table's actions, or other.")
    note: Note | None = Field(default=None, max_length=2000, pattern=TEXT_PATTERN,
                              description="Free text; personal data in it is redacted before storage.")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"action": "priority_call", "note": "Called, offered free shipping on the next order"}]})


class OutcomeCreate(_In):
    outcome: Literal["retained", "churned", "unknown"]
    note: Note | None = Field(default=None, max_length=2000, pattern=TEXT_PATTERN)


class ActionPublic(BaseModel):
    id: int
    alert_id: str
    customer_id: str
    action: str
    agent: str
    taken_at: dt.datetime
    note: str | None
    outcome: str | None
    outcome_by: str | None
    outcome_at: dt.datetime | None


class HistoryEntry(BaseModel):
    at: dt.datetime
    kind: str = Field(description="raised, assigned, action, outcome, or the status set (acknowledged, ...).")
    agent: str | None = Field(description="Who did it (the name of their API key).")
    detail: dict[str, Any]


class MePublic(BaseModel):
    name: str = Field(description="The agent: the name of the API key used.")
    scopes: list[str]


class AgentPublic(BaseModel):
    name: str
    scopes: list[str]
    open_alerts: int = Field(description="Open or acknowledged alerts this agent owns.")


class ConfigUpdate(_In):
    text: str = Field(min_length=1, max_length=200_000, pattern=TEXT_PATTERN, description="The whole YAML file.")


class ConfigPublic(BaseModel):
    kind: Literal["rules", "taxonomy"]
    text: str
    source: Literal["saved", "file", "packaged"]
    saved_by: str | None
    saved_at: dt.datetime | None
    version: int | None
    history: list[dict[str, Any]] = Field(description="Saved versions, newest first: id, created_by, created_at.")
    applies: str = Field(description="When a saved version takes effect.")


class Overview(BaseModel):
    as_of: dt.datetime
    days: int
    weeks: list[dt.datetime] = Field(description="Start of each week of the period.")
    customers: dict[str, Any] = Field(description="by_severity (not lapsed), lapsed, at_risk.")
    value_at_risk: dict[str, Any] = Field(description="amount = sum of risk x the customer's purchases over "
                                                      "window_days, for customers at severity low or above.")
    alerts: dict[str, Any]
    deadlines: dict[str, Any] = Field(description="Tickets answered after the SLA or still unanswered past it.")
    themes: list[dict[str, Any]] = Field(description="Per complaint theme: weekly counts, total, previous_total, "
                                                     "change (relative; null when the previous period had none).")
    tone: dict[str, Any] = Field(description="Weekly mean sentiment (-1..1), share of negative messages, counts.")
    theme_names: dict[str, dict[str, str]] = Field(description="Theme id -> {es, en} from the taxonomy in force.")


class OutcomeReport(BaseModel):
    as_of: dt.datetime
    window_days: int
    lookback_days: int
    alerts_from: dt.datetime
    alerts_until: dt.datetime
    definition: dict[str, str]
    note_es: str
    note_en: str
    overall: dict[str, Any]
    by_action: list[dict[str, Any]]
    by_rule: list[dict[str, Any]]


class CustomerStory(BaseModel):
    customer: CustomerPublic
    as_of: dt.datetime
    risk_series: list[dict[str, Any]] = Field(description="Daily risk: day, risk, odds_ratio, severity.")
    sentiment_series: list[dict[str, Any]] = Field(description="timestamp, sentiment_score, sentiment_label.")
    weekly: dict[str, Any] = Field(description="Per week: purchases, amount, activity, messages, tickets, errors.")
    raises: list[dict[str, Any]] = Field(description="Reasons raising the risk, largest first: code, text_es, "
                                                     "text_en, evidence (no numbers).")
    lowers: list[dict[str, Any]] = Field(description="Reasons lowering the risk.")
    recommended: AlertPublic | None = Field(description="The open alert's recommended action and justification.")
    alerts: list[AlertPublic]
    actions: list[ActionPublic]
    timeline: list[dict[str, Any]] = Field(description="Messages, and events summarised per day (last 4 weeks) or "
                                                       "per week (before), newest first.")
