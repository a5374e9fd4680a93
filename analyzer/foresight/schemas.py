"""Input schemas of the foresight stage and their validation.

Three tables come in: analysed messages (the text core's output), behaviour events and an
optional customers table. A missing column is a problem with the whole file, so it raises
:class:`~analyzer.errors.InputFormatError`; a bad row (unparseable timestamp, unknown event
type, empty customer id, score out of range, ...) is set aside in a ``rejected`` table with a
machine-readable ``reason`` and a plain-words ``message``, and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analyzer.errors import InputFormatError

__all__ = [
    "CUSTOMER_COLUMNS",
    "EVENT_COLUMNS",
    "EVENT_TYPES",
    "MESSAGE_COLUMNS",
    "REJECTED_COLUMNS",
    "SENTIMENT_LABELS",
    "Validated",
    "validate_customers",
    "validate_events",
    "validate_messages",
]

MESSAGE_COLUMNS: tuple[str, ...] = (
    "message_id", "customer_id", "timestamp", "channel", "sentiment_label", "sentiment_score", "themes",
)
"""Columns the foresight stage needs from the text core's output (others are carried along)."""

EVENT_COLUMNS: tuple[str, ...] = ("customer_id", "timestamp", "type")
"""Required event columns; ``value``, ``channel`` and ``event_id`` are optional."""

CUSTOMER_COLUMNS: tuple[str, ...] = ("customer_id",)
"""Required customer columns; ``segment``, ``value_tier`` and ``opt_out`` are optional."""

EVENT_TYPES: frozenset[str] = frozenset({
    "purchase", "login", "page_view", "click", "error",
    "campaign_sent", "campaign_open", "campaign_click",
    "ticket_opened", "ticket_replied", "ticket_resolved",
})

SENTIMENT_LABELS: frozenset[str] = frozenset({"negative", "neutral", "positive"})
VALUE_TIERS: frozenset[str] = frozenset({"low", "medium", "high", "vip"})

REJECTED_COLUMNS: tuple[str, ...] = ("table", "row", "reason", "message")


@dataclass(frozen=True)
class Validated:
    """A validated table: the rows kept (normalised dtypes) and the rows set aside, with why."""

    valid: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REJECTED_COLUMNS)))


def _require(df: object, columns: Iterable[str], table: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputFormatError(
            f"{table}: expected a pandas DataFrame, received {type(df).__name__}. "
            f"Read the file with pandas first (pd.read_csv / pd.read_parquet)."
        )
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputFormatError(
            f"{table}: missing required column(s) {missing}; received columns {list(df.columns)}. "
            f"Rename or add them (required: {list(columns)})."
        )
    return df.reset_index(drop=True).copy()


class _Rejector:
    """Collects (row, reason, message) and the boolean mask of rows still valid."""

    def __init__(self, table: str, n: int) -> None:
        self.table = table
        self.ok = np.ones(n, dtype=bool)
        self.rows: list[dict[str, object]] = []

    def reject(self, bad: np.ndarray | pd.Series, reason: str, message: str) -> None:
        bad_arr = np.asarray(bad, dtype=bool) & self.ok
        for i in np.flatnonzero(bad_arr):
            self.rows.append({"table": self.table, "row": int(i), "reason": reason, "message": message})
        self.ok &= ~bad_arr

    def note(self, bad: np.ndarray, reason: str, message: str) -> None:
        """Record a problem on rows that are nevertheless kept (with a safe value)."""
        for i in np.flatnonzero(np.asarray(bad, dtype=bool) & self.ok):
            self.rows.append({"table": self.table, "row": int(i), "reason": reason, "message": message})

    def result(self, df: pd.DataFrame) -> Validated:
        rejected = pd.DataFrame(self.rows, columns=list(REJECTED_COLUMNS))
        return Validated(df.loc[self.ok].reset_index(drop=True), rejected)


def _customer_ids(df: pd.DataFrame, rej: _Rejector) -> None:
    ids = df["customer_id"]
    empty = ids.isna() | (ids.astype("string").str.strip() == "")
    rej.reject(empty.to_numpy(), "missing_customer_id",
               "customer_id is empty; every row must name the customer it belongs to.")
    # Ids are compared as strings everywhere, so 17850 and "17850" are the same customer.
    df["customer_id"] = ids.astype("string").str.strip().str.removesuffix(".0")


def _timestamps(df: pd.DataFrame, rej: _Rejector) -> None:
    ts = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="mixed")
    rej.reject(ts.isna().to_numpy(), "bad_timestamp",
               "timestamp cannot be read as a date; use ISO 8601, e.g. 2024-05-01T10:30:00Z.")
    df["timestamp"] = ts


def _as_theme_list(value: object) -> list[str] | None:
    """Themes may arrive as a list, a numpy array, a JSON-ish string or a separator-joined string."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    if isinstance(value, str):
        text = value.strip().strip("[]")
        if not text:
            return []
        parts = text.replace(";", ",").replace("|", ",").split(",")
        return [p.strip().strip("'\"") for p in parts if p.strip().strip("'\"")]
    return None


def validate_messages(messages: pd.DataFrame) -> Validated:
    """Check analysed messages; keep good rows, reject bad ones with a reason.

    Raises :class:`InputFormatError` when a required column is missing.
    """
    df = _require(messages, MESSAGE_COLUMNS, "messages")
    rej = _Rejector("messages", len(df))
    _customer_ids(df, rej)
    _timestamps(df, rej)
    label = df["sentiment_label"].astype("string").str.strip().str.lower()
    rej.reject((~label.isin(list(SENTIMENT_LABELS))).fillna(True).to_numpy(), "bad_sentiment_label",
               "sentiment_label must be one of negative, neutral, positive.")
    df["sentiment_label"] = label
    score = pd.to_numeric(df["sentiment_score"], errors="coerce")
    rej.reject((score.isna() | (score < -1.0) | (score > 1.0)).to_numpy(), "bad_sentiment_score",
               "sentiment_score must be a number in [-1, 1].")
    df["sentiment_score"] = score.astype(float)
    themes = [_as_theme_list(v) for v in df["themes"]]
    rej.reject(np.array([t is None for t in themes]), "bad_themes",
               "themes must be a list of theme ids (or a comma-separated string).")
    df["themes"] = pd.Series([t if t is not None else [] for t in themes], index=df.index, dtype=object)
    df["message_id"] = df["message_id"].astype("string")
    df["channel"] = df["channel"].astype("string").fillna("unknown")
    return rej.result(df)


def validate_events(events: pd.DataFrame) -> Validated:
    """Check behaviour events; keep good rows, reject bad ones with a reason.

    ``value`` (amount of a purchase, or a ticket id for ticket events), ``channel`` and
    ``event_id`` are optional and filled when absent.
    """
    df = _require(events, EVENT_COLUMNS, "events")
    rej = _Rejector("events", len(df))
    _customer_ids(df, rej)
    _timestamps(df, rej)
    etype = df["type"].astype("string").str.strip().str.lower()
    rej.reject((~etype.isin(list(EVENT_TYPES))).fillna(True).to_numpy(), "unknown_event_type",
               f"type must be one of {sorted(EVENT_TYPES)}.")
    df["type"] = etype
    if "value" not in df.columns:
        df["value"] = np.nan
    if "channel" not in df.columns:
        df["channel"] = "unknown"
    df["channel"] = df["channel"].astype("string").fillna("unknown")
    if "event_id" not in df.columns:
        df["event_id"] = [f"e{i}" for i in range(len(df))]
    df["event_id"] = df["event_id"].astype("string")
    return rej.result(df)


def _as_bool(value: object) -> bool | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return False
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "y", "si", "sí", "t"}:
        return True
    if text in {"0", "false", "no", "n", "f", ""}:
        return False
    return None


def validate_customers(customers: pd.DataFrame | None) -> Validated:
    """Check the optional customers table (``customer_id``, ``segment``, ``value_tier``, ``opt_out``).

    ``None`` gives an empty table. Unknown value tiers become ``unknown`` (rules then use the
    default branch); an unreadable ``opt_out`` is reported in ``rejected`` but the row is
    kept with ``opt_out=True``: when in doubt, do not profile.
    """
    if customers is None:
        empty = pd.DataFrame({"customer_id": pd.Series(dtype="string"), "segment": pd.Series(dtype="string"),
                              "value_tier": pd.Series(dtype="string"), "opt_out": pd.Series(dtype=bool)})
        return Validated(empty)
    df = _require(customers, CUSTOMER_COLUMNS, "customers")
    rej = _Rejector("customers", len(df))
    _customer_ids(df, rej)
    for col in ("segment", "value_tier"):
        if col not in df.columns:
            df[col] = pd.NA
    df["segment"] = df["segment"].astype("string")
    tier = df["value_tier"].astype("string").str.strip().str.lower()
    df["value_tier"] = tier.where(tier.isin(list(VALUE_TIERS)), "unknown").fillna("unknown")
    if "opt_out" not in df.columns:
        df["opt_out"] = False
    flags = [_as_bool(v) for v in df["opt_out"]]
    # Kept, not dropped: dropping the row would silently profile someone who may have opted out.
    rej.note(np.array([f is None for f in flags]), "bad_opt_out",
             "opt_out must be true/false (yes/no, 1/0); the customer is treated as opted out.")
    df["opt_out"] = pd.Series([True if f is None else f for f in flags], index=df.index, dtype=bool)
    dup = df["customer_id"].duplicated(keep="first").to_numpy()
    rej.reject(dup, "duplicate_customer", "customer_id appears twice in customers; the first row is kept.")
    return rej.result(df)
