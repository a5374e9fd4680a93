"""Request (``*Create``/``*Update``) and response (``*Public``) models of the REST API.

Request models forbid unknown fields: a misspelt field is a 422 that names it, not a value
silently dropped. Response models are separate so that internal columns never leak.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from analyzer.schema import EventType, SentimentLabel, Severity, ValueTier

__all__ = [
    "AlertActionCreate", "AlertPage", "AlertPublic", "AnalyzeRequest", "AnalyzeResponse", "CustomerPublic",
    "CustomerUpdate", "CustomerView", "ErasureResult", "EventCreate", "EventPublic", "EventsIngest", "IngestResult",
    "JobPublic", "KeyCreate", "KeyCreated", "KeyPublic", "MessageCreate", "MessagePublic", "MessagesIngest",
    "OptOutUpdate", "TextAnalysis",
]

Scope = Literal["ingest", "read", "admin"]
Id = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _utc(value: dt.datetime) -> dt.datetime:
    # A timestamp without a zone is taken as UTC (what the batch command does too).
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# --------------------------------------------------------------------------- analyze

class AnalyzeRequest(_In):
    texts: list[str] = Field(min_length=1, description="Texts to analyse (Spanish, English or mixed).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"texts": ["Mi pedido lleva dos semanas de retraso y nadie me contesta", "Great service, thanks!"]}]})


class ThemePublic(BaseModel):
    theme: str
    probability: float
    evidence: str
    start: int
    end: int


class SentencePublic(BaseModel):
    start: int
    end: int
    label: SentimentLabel
    score: float


class TextAnalysis(BaseModel):
    lang: str
    lang_confidence: float
    text_redacted: str = Field(description="The text with personal data replaced by typed placeholders.")
    pii_types: list[str]
    sentiment_label: SentimentLabel
    sentiment_score: float = Field(description="p_positive - p_negative, in [-1, 1].")
    probabilities: dict[str, float] = Field(description="One probability per label of SENTIMENT_LABELS.")
    sentences: list[SentencePublic]
    themes: list[ThemePublic]


class AnalyzeResponse(BaseModel):
    results: list[TextAnalysis]


# --------------------------------------------------------------------------- ingest

class MessageCreate(_In):
    message_id: str = Id
    customer_id: str = Id
    timestamp: dt.datetime = Field(description="ISO 8601; without a zone it is taken as UTC.")
    channel: str = Field(default="unknown", min_length=1, max_length=50)
    text: str = Field(min_length=1, description="Raw text; it is redacted before anything is stored.")

    _tz = field_validator("timestamp")(_utc)

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "message_id": "chat-8812", "customer_id": "C-1042", "timestamp": "2025-03-02T10:15:00Z",
        "channel": "chat", "text": "Es la tercera vez que la app falla al pagar, me estoy planteando darme de baja"}]})


class MessagesIngest(_In):
    messages: list[MessageCreate] = Field(min_length=1)


class EventCreate(_In):
    event_id: str = Id
    customer_id: str = Id
    timestamp: dt.datetime
    type: EventType
    value: float | str | None = Field(default=None, description="Purchase amount, or ticket id for ticket events.")
    channel: str = Field(default="unknown", min_length=1, max_length=50)

    _tz = field_validator("timestamp")(_utc)

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "event_id": "ev-99120", "customer_id": "C-1042", "timestamp": "2025-03-02T09:58:00Z", "type": "error",
        "channel": "app"}]})


class EventsIngest(_In):
    events: list[EventCreate] = Field(min_length=1)


class IngestResult(BaseModel):
    created: list[str] = Field(description="Ids stored by this request.")
    duplicates: list[str] = Field(description="Ids already stored earlier (a retry): nothing changed.")
    new_alerts: list[str] = Field(description="Alerts raised by re-evaluating the customers concerned.")


# --------------------------------------------------------------------------- customers

class CustomerUpdate(_In):
    segment: str | None = Field(default=None, max_length=100)
    value_tier: ValueTier | None = None


class OptOutUpdate(_In):
    opt_out: bool


class CustomerPublic(BaseModel):
    customer_id: str
    segment: str | None
    value_tier: ValueTier | None
    opt_out: bool
    risk: float | None
    severity: Severity | None
    risk_as_of: dt.datetime | None


class MessagePublic(BaseModel):
    message_id: str
    timestamp: dt.datetime
    channel: str
    lang: str | None
    text_redacted: str | None
    sentiment_label: SentimentLabel | None
    sentiment_score: float | None
    themes: list[str] | None
    theme_evidence: list[dict[str, Any]] | None
    sentences: list[dict[str, Any]] | None


class EventPublic(BaseModel):
    event_id: str
    timestamp: dt.datetime
    type: EventType
    value: float | str | None
    channel: str


class AlertPublic(BaseModel):
    alert_id: str
    customer_id: str
    alerted_at: dt.datetime
    risk: float
    severity: Severity
    cause: str
    reasons: list[dict[str, Any]]
    action: str
    rule: str
    justification: str
    justification_es: str
    justification_en: str
    value_tier: ValueTier | None
    segment: str | None
    status: str
    status_changed_at: dt.datetime


class CustomerView(BaseModel):
    customer: CustomerPublic
    explanation: list[dict[str, Any]] = Field(description="Reasons behind the current risk, largest first.")
    timeline: list[dict[str, Any]] = Field(description="Messages and events, oldest first.")
    sentiment_series: list[dict[str, Any]] = Field(description="(timestamp, sentiment_score) per message.")
    recent_alerts: list[AlertPublic]


class AlertPage(BaseModel):
    items: list[AlertPublic]
    total: int
    limit: int
    offset: int


class AlertActionCreate(_In):
    useful: bool | None = Field(default=None, description="Was the alert worth acting on? (model feedback)")
    outcome: Literal["retained", "churned", "no_contact", "not_at_risk", "other"] | None = None
    note: str | None = Field(default=None, max_length=2000,
                             description="Free text; personal data in it is redacted before storage.")
    agent: str | None = Field(default=None, max_length=200, description="Who acted (defaults to the key name).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"useful": True, "outcome": "retained", "note": "Called, offered free shipping", "agent": "ana"}]})


class ErasureResult(BaseModel):
    customer_id: str
    deleted: dict[str, int]
    erasure_token: str


# --------------------------------------------------------------------------- keys, jobs

class KeyCreate(_In):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(min_length=1)


class KeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The secret. Shown once; only its hash is stored.")


class JobPublic(BaseModel):
    job_id: str
    status: str
    filename: str
    rows_total: int | None
    rows_done: int
    progress: float | None
    summary: dict[str, Any] | None
    error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None
    result_url: str | None
