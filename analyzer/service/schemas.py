"""Request (``*Create``/``*Update``) and response (``*Public``) models of the REST API.

Request models forbid unknown fields: a misspelt field is a 422 that names it, not a value
silently dropped. Response models are separate so that internal columns never leak.

Every input value is bounded here, so that what reaches the database is something both
databases store (PostgreSQL refuses NUL characters, SQLite integers stop at 2**63 - 1, Python's
datetimes at year 9999) and a bad value is a 422, never a 500:

- ids (:data:`Id`): 1-200 characters, no control characters (``\x00-\x1f``, ``\x7f-\x9f``, line
  and paragraph separators), no leading or trailing whitespace; the path and query parameters
  that name ids (:mod:`analyzer.service.params`) use the same pattern;
- labels (channel, segment, key name, agent): the same rule, shorter;
- texts (:data:`Text`): any length up to the configured limit, newlines allowed, no NUL;
- timestamps (:data:`Timestamp`): ISO 8601 between :data:`MIN_TIMESTAMP` and :data:`MAX_TIMESTAMP`
  (years 1900-2200) once converted to UTC; without a zone a timestamp is taken as UTC;
- numbers: finite (no NaN or infinity).

Lone surrogates (``"\ud800"``, valid JSON, not valid Unicode) are refused by every constrained
string (pydantic's ``string_unicode`` error).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from analyzer.schema import EventType, SentimentLabel, Severity, ValueTier

__all__ = [
    "ID_PATTERN",
    "MAX_ID_CHARS",
    "MAX_TIMESTAMP",
    "MIN_TIMESTAMP",
    "TEXT_PATTERN",
    "AlertActionCreate",
    "AlertPage",
    "AlertPublic",
    "AnalyzeRequest",
    "AnalyzeResponse",
    "CustomerPage",
    "CustomerPublic",
    "CustomerRisk",
    "CustomerUpdate",
    "CustomerView",
    "ErasureResult",
    "EventCreate",
    "EventPublic",
    "EventsIngest",
    "Id",
    "IngestResult",
    "JobPublic",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "MessageCreate",
    "MessagePublic",
    "MessagesIngest",
    "ModelPublic",
    "OptOutUpdate",
    "Text",
    "TextAnalysis",
    "Timestamp",
    "to_utc",
]

Scope = Literal["ingest", "read", "admin"]

_CONTROL = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
ID_PATTERN = rf"^[^{_CONTROL}\s](?:[^{_CONTROL}]*[^{_CONTROL}\s])?$"
"""One line, no control characters, no leading or trailing whitespace, at least one character."""
TEXT_PATTERN = r"^[^\x00]*$"
"""Free text: anything but NUL (PostgreSQL cannot store it; it is never part of a real message)."""
MAX_ID_CHARS = 200

Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]
Channel = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=ID_PATTERN)]
Segment = Annotated[str, StringConstraints(max_length=100, pattern=rf"(?:{ID_PATTERN})|^$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
"""Free text (no NUL); its length limit is the setting ``max_text_chars``, checked by the route."""
Finite = Annotated[float, Field(allow_inf_nan=False)]

MIN_TIMESTAMP = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
MAX_TIMESTAMP = dt.datetime(2200, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)


def to_utc(value: dt.datetime) -> dt.datetime:
    """``value`` in UTC (a naive value is taken as UTC, as the batch command does), within the supported range."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    try:
        utc: dt.datetime | None = value.astimezone(dt.UTC)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-05:00 is past year 9999 once in UTC
        utc = None
    if utc is None or not MIN_TIMESTAMP <= utc <= MAX_TIMESTAMP:
        raise ValueError(f"timestamps must lie between {MIN_TIMESTAMP.date()} and {MAX_TIMESTAMP.date()} in UTC; "
                         f"received one in year {value.year}. Send ISO 8601 with a zone, e.g. 2025-03-02T10:15:00Z.")
    return utc


Timestamp = Annotated[dt.datetime, AfterValidator(to_utc),
                      Field(description="ISO 8601, years 1900-2200; without a zone it is taken as UTC.")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------- analyze

class AnalyzeRequest(_In):
    texts: list[Text] = Field(min_length=1, description="Texts to analyse (Spanish, English or mixed).")

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
    message_id: Id
    customer_id: Id
    timestamp: Timestamp
    channel: Channel = "unknown"
    text: Text = Field(min_length=1, description="Raw text; it is redacted before anything is stored.")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "message_id": "chat-8812", "customer_id": "C-1042", "timestamp": "2025-03-02T10:15:00Z",
        "channel": "chat", "text": "Es la tercera vez que la app falla al pagar, me estoy planteando darme de baja"}]})


class MessagesIngest(_In):
    messages: list[MessageCreate] = Field(min_length=1)


class EventCreate(_In):
    event_id: Id
    customer_id: Id
    timestamp: Timestamp
    type: EventType
    value: Finite | Id | None = Field(default=None, description="Purchase amount, or ticket id for ticket events.")
    channel: Channel = "unknown"

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [{
        "event_id": "ev-99120", "customer_id": "C-1042", "timestamp": "2025-03-02T09:58:00Z", "type": "error",
        "channel": "app"}]})


class EventsIngest(_In):
    events: list[EventCreate] = Field(min_length=1)


class IngestResult(BaseModel):
    created: list[str] = Field(description="Ids stored by this request.")
    duplicates: list[str] = Field(description="Ids already stored earlier (a retry): nothing changed.")
    repeated: list[str] = Field(default_factory=list,
                                description="Ids that appear more than once in this request: only the first item "
                                            "with the id was used, the later ones were ignored.")
    new_alerts: list[str] = Field(default_factory=list,
                                  description="With ?wait=true: the alerts raised by re-evaluating the customers "
                                              "concerned before answering. Otherwise empty: the worker evaluates "
                                              "them within about a second and the alerts reach the feed.")
    queued: int = Field(default=0, description="Customers queued for re-evaluation by the worker.")
    held: int = Field(default=0, description="With ?backfill=true: customers held until POST /v1/backfill/complete.")


# --------------------------------------------------------------------------- customers

class CustomerUpdate(_In):
    segment: Segment | None = None
    value_tier: ValueTier | None = None


class OptOutUpdate(_In):
    opt_out: bool


class CustomerPublic(BaseModel):
    customer_id: str
    segment: str | None
    value_tier: ValueTier | None
    opt_out: bool
    risk: float | None = Field(description="Probability of lapsing within the model's horizon.")
    odds_ratio: float | None = Field(default=None, description="The risk's odds over the base rate's odds.")
    severity: Severity | None
    lapsed: bool | None = Field(default=None, description="Already past the lapse bar (win-back, not retention).")
    cause: str | None = Field(default=None, description="The reason adding most to the risk.")
    urgent: list[str] | None = Field(default=None, description="Urgent causes present (churn intent, tone "
                                                               "collapse, an overdue ticket of a valuable customer).")
    days_inactive: float | None = Field(default=None, description="Days since the customer's own last activity.")
    risk_as_of: dt.datetime | None


class CustomerRisk(BaseModel):
    customer_id: str
    segment: str | None
    value_tier: ValueTier | Literal["unknown"] | None
    risk: float
    odds_ratio: float | None
    severity: Severity
    lapsed: bool
    cause: str | None
    urgent: list[str]
    days_inactive: float | None
    risk_as_of: dt.datetime | None
    main_reason: str | None = Field(description="The largest reason, in the requested language.")
    reasons: list[dict[str, Any]] = Field(description="Every reason with code, contribution, texts es/en and "
                                                      "evidence (quotes, facts).")


class CustomerPage(BaseModel):
    items: list[CustomerRisk]
    total: int
    limit: int
    offset: int


class ModelPublic(BaseModel):
    fitted: bool = Field(description="False until the first evaluation (the model is fitted on what is stored).")
    fixed_model: bool = Field(description="True when Settings.foresight_model names a saved model used as is.")
    fitted_at: dt.datetime | None
    queue: dict[str, int] = Field(description="Customers waiting for the worker, and held by a back-fill.")
    refit_interval_s: float
    sweep_interval_s: float
    as_of: dt.datetime | None = None
    horizon_days: int | None = None
    base_rate: float | None = Field(default=None, description="The typical active customer's risk when the model "
                                                               "was fitted: severities are odds ratios to it.")
    report: dict[str, Any] | None = Field(default=None, description="The back-test: source (learnt/priors), "
                                                                     "cut-offs, labels, ROC-AUC, Brier score.")
    summary_es: str | None = None
    summary_en: str | None = None
    weights: dict[str, float] | None = None


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
    value_tier: ValueTier | Literal["unknown"] | None = Field(
        description="The customer's tier when the alert was raised; 'unknown' when none was set.")
    segment: str | None
    status: str
    status_changed_at: dt.datetime
    assignee: str | None = Field(default=None, description="The agent who owns the alert (the name of their key).")
    assigned_at: dt.datetime | None = None


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
    note: Text | None = Field(default=None, max_length=2000,
                              description="Free text; personal data in it is redacted before storage.")
    agent: Name | None = Field(default=None, description="Who acted (defaults to the key name).")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"useful": True, "outcome": "retained", "note": "Called, offered free shipping", "agent": "ana"}]})


class ErasureResult(BaseModel):
    customer_id: str
    deleted: dict[str, int]
    erasure_token: str


# --------------------------------------------------------------------------- keys, jobs

class KeyCreate(_In):
    name: Name
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
