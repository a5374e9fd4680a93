"""The column contracts of every table the product reads or writes, in one place.

The CLI, the batch engines (local and Ray), the foresight stage and the service's API schemas
all import these names; a contract is written here once and nowhere else.

Tables and their shapes::

    messages (input)   message_id, customer_id, timestamp, channel, text
    analysed messages  MESSAGE_ID .. theme_evidence (ANALYSED_COLUMNS): one row per message, the text
                       core's results; nested fields are native lists and structs (NESTED_FIELDS)
    events             customer_id, timestamp, type [, value, channel, event_id]; type in EVENT_TYPES
    customers          customer_id [, segment, value_tier, opt_out]
    alerts             ALERT_COLUMNS; reasons is a list of REASON_FIELDS structs
    rejected rows      REJECTED_COLUMNS, whichever table and engine rejected them

Nested values keep one shape end to end: Python lists and dicts in memory, lists and structs
in Parquet, arrays and objects in JSONL. Only CSV, which has no nesting, stores them as JSON
text, and :func:`analyzer.io.readers` decodes that text back when a CSV is read.

Nothing here imports pandas or pyarrow at module import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ALERT_COLUMNS",
    "ANALYSED_COLUMNS",
    "CUSTOMER_COLUMNS",
    "CUSTOMER_OPTIONAL",
    "EVENT_COLUMNS",
    "EVENT_OPTIONAL",
    "EVENT_TYPES",
    "MESSAGE_COLUMNS",
    "MESSAGE_INPUT_COLUMNS",
    "NESTED_FIELDS",
    "OWN_ACTIVITY_TYPES",
    "QUOTE_FIELDS",
    "RATING_SCALES",
    "REASON_FIELDS",
    "REJECTED_COLUMNS",
    "SENTIMENT_LABELS",
    "SEVERITIES",
    "VALUE_TIERS",
    "EventType",
    "Severity",
    "ValueTier",
    "analysed_arrow_schema",
    "is_nested",
]

SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: tuple[str, ...] = get_args(SentimentLabel)
"""The sentiment classes, in the order of the model's outputs and of ``p_negative, p_neutral, p_positive``."""

EventType = Literal[
    "purchase", "refund", "order_cancelled", "login", "page_view", "click", "error",
    "campaign_sent", "campaign_open", "campaign_click",
    "ticket_opened", "ticket_replied", "ticket_resolved",
    "nps", "csat", "review",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
"""Behaviour event types. ``value`` holds a purchase's (or refund's) amount, the ticket or campaign id,
or a score: ``nps`` 0-10, ``csat`` 1-5, ``review`` 1-5 stars."""

RATING_SCALES: dict[str, tuple[float, float]] = {"nps": (0.0, 10.0), "csat": (1.0, 5.0), "review": (1.0, 5.0)}
"""Score range of each rating event type (its ``value``)."""

OWN_ACTIVITY_TYPES: tuple[str, ...] = ("purchase", "refund", "order_cancelled", "login", "page_view", "click",
                                       "error", "campaign_open", "campaign_click", "ticket_opened", "nps", "csat",
                                       "review")
"""Events the customer did (activity); a campaign we sent or a reply we wrote is not."""

ValueTier = Literal["low", "medium", "high", "vip"]
VALUE_TIERS: tuple[str, ...] = get_args(ValueTier)

Severity = Literal["info", "low", "medium", "high", "critical"]
SEVERITIES: tuple[str, ...] = get_args(Severity)
"""Alert severities, least severe first."""

# --------------------------------------------------------------------------- messages

MESSAGE_INPUT_COLUMNS: tuple[str, ...] = ("message_id", "customer_id", "timestamp", "channel", "text")
"""The canonical raw message (what the batch validation hands to the text pipeline, plus ``source_row``)."""

ANALYSED_COLUMNS: tuple[str, ...] = (
    "message_id", "customer_id", "timestamp", "channel", "source_row",
    "lang", "lang_confidence", "text_redacted", "pii_types",
    "sentiment_label", "sentiment_score", "p_negative", "p_neutral", "p_positive",
    "sentences", "themes", "theme_evidence",
)
"""An analysed message: the text core's output, one row per message. The raw text is never in it."""

MESSAGE_COLUMNS: tuple[str, ...] = (
    "message_id", "customer_id", "timestamp", "channel", "sentiment_label", "sentiment_score", "themes",
)
"""What the foresight stage needs of an analysed message (``text_redacted`` is used for quotes when present)."""

NESTED_FIELDS: dict[str, str] = {
    "pii_types": "list<string>",
    "themes": "list<string>",
    "sentences": "list<struct<start: int32, end: int32, label: string, score: float64>>",
    "theme_evidence": "list<struct<theme: string, probability: float64, evidence: string, start: int32, end: int32>>",
    "reasons": "list<struct<REASON_FIELDS>>",
    "abandoned_channels": "list<string>",
}
"""Columns whose values are lists or structs (CSV stores them as JSON text)."""

# --------------------------------------------------------------------------- events and customers

EVENT_COLUMNS: tuple[str, ...] = ("customer_id", "timestamp", "type")
EVENT_OPTIONAL: tuple[str, ...] = ("value", "channel", "event_id")
CUSTOMER_COLUMNS: tuple[str, ...] = ("customer_id",)
CUSTOMER_OPTIONAL: tuple[str, ...] = ("segment", "value_tier", "opt_out")

# --------------------------------------------------------------------------- alerts

ALERT_COLUMNS: tuple[str, ...] = (
    "alert_id", "customer_id", "alerted_at", "risk", "severity", "cause", "reasons", "action", "rule",
    "justification", "justification_es", "justification_en", "value_tier", "segment",
)
"""One alert. ``justification`` is in the run's language; both languages are always present."""

REASON_FIELDS: tuple[str, ...] = ("code", "contribution", "text_es", "text_en", "evidence")
"""One reason of a risk: its code, log-odds contribution, plain words in es/en and its evidence."""

QUOTE_FIELDS: tuple[str, ...] = ("message_id", "date", "channel", "text")
"""A quoted message in an alert's evidence: redacted text with its date and channel."""

# --------------------------------------------------------------------------- rejected rows

REJECTED_COLUMNS: tuple[str, ...] = (
    "table", "source_file", "source_row", "source_line", "record_id", "reason", "column", "message",
)
"""A rejected input row, the same for every table and engine.

``table`` (messages, events, customers, history), ``source_file`` (the shard's path inside an
input directory, "" for a single file), ``source_row`` (0-based record number in that file),
``source_line`` (1-based line where the record starts; -1 when unknown, e.g. Parquet),
``record_id`` (the row's message or event id or customer id when it has one), ``reason`` (a
code), ``column`` (the offending column, "" when none) and ``message`` (what was wrong and how
to fix it). Never the row's content: the file is safe to share.
"""


def is_nested(column: str) -> bool:
    """Whether ``column`` holds lists or structs."""
    return column in NESTED_FIELDS


def analysed_arrow_schema() -> pa.Schema:
    """The Arrow schema of analysed messages: lists and structs stored natively in Parquet."""
    import pyarrow as pa

    sentence = pa.struct([("start", pa.int32()), ("end", pa.int32()), ("label", pa.string()),
                          ("score", pa.float64())])
    evidence = pa.struct([("theme", pa.string()), ("probability", pa.float64()), ("evidence", pa.string()),
                          ("start", pa.int32()), ("end", pa.int32())])
    fields: list[tuple[str, Any]] = [
        ("message_id", pa.string()), ("customer_id", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")),
        ("channel", pa.string()), ("source_row", pa.int64()), ("lang", pa.string()),
        ("lang_confidence", pa.float64()), ("text_redacted", pa.string()), ("pii_types", pa.list_(pa.string())),
        ("sentiment_label", pa.string()), ("sentiment_score", pa.float64()), ("p_negative", pa.float64()),
        ("p_neutral", pa.float64()), ("p_positive", pa.float64()), ("sentences", pa.list_(sentence)),
        ("themes", pa.list_(pa.string())), ("theme_evidence", pa.list_(evidence)),
    ]
    return pa.schema(fields)
