"""Validation of the foresight stage's three input tables, with the one schema and the one date parser.

Analysed messages (the text core's output), behaviour events and an optional customers table
come in as DataFrames (read by :mod:`analyzer.io`, so nested fields are already lists). A missing
column is a problem with the whole table: :class:`~analyzer.errors.InputFormatError`. A bad row
(unparsable timestamp, unknown event type, empty customer id, score out of range, ...) is set
aside with a reason in the rejected-row shape of :data:`analyzer.schema.REJECTED_COLUMNS`, and the
batch goes on. A ``_source_row`` column (the readers add it) names the row in its file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import InputFormatError
from analyzer.io import TIMESTAMP_HELP, TimestampPolicy, parse_timestamps
from analyzer.io.text_readers import SOURCE_LINE_COL, SOURCE_ROW_COL
from analyzer.schema import (
    CUSTOMER_COLUMNS,
    EVENT_COLUMNS,
    EVENT_TYPES,
    MESSAGE_COLUMNS,
    RATING_SCALES,
    REJECTED_COLUMNS,
    SENTIMENT_LABELS,
    VALUE_TIERS,
)

__all__ = ["Validated", "empty_rejected", "normalize_ids", "validate_customers", "validate_events",
           "validate_messages"]

_KEYS = {"messages": "message_id", "events": "event_id", "customers": "customer_id", "history": "alert_id"}
_AMOUNT_TYPES = frozenset({"purchase", "refund", "order_cancelled"})


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("source_row", "source_line") else object)
                         for c in REJECTED_COLUMNS})


@dataclass(frozen=True)
class Validated:
    """A validated table: the rows kept (normalised dtypes) and the rows set aside, with why."""

    valid: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=empty_rejected)


def normalize_ids(values: pd.Series) -> pd.Series:
    """Customer ids as compared everywhere: strings, stripped; ``17850`` and ``17850.0`` are one id."""
    out: list[str | None] = []
    for v in values.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(str(int(v)))
        else:
            text = str(v).strip()
            out.append(text.removesuffix(".0") if text.replace(".", "", 1).isdigit() else text or None)
    return pd.Series(out, index=values.index, dtype=object)


def _require(df: object, columns: Iterable[str], table: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InputFormatError(f"{table}: expected a pandas DataFrame, received {type(df).__name__}. "
                               f"Read the file with analyzer.io.read_table or pandas first.")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputFormatError(f"{table}: missing required column(s) {missing}; received columns {list(df.columns)}. "
                               f"Rename or add them (required: {list(columns)}).")
    return df.reset_index(drop=True).copy()


class _Rejector:
    """Collects rejected rows (in the one rejected-row shape) and the mask of rows still valid."""

    def __init__(self, table: str, df: pd.DataFrame) -> None:
        self.table, self.df = table, df
        self.ok = np.ones(len(df), dtype=bool)
        self.rows: list[dict[str, Any]] = []
        n = len(df)
        self.source_row = (df[SOURCE_ROW_COL].astype("int64").to_numpy() if SOURCE_ROW_COL in df
                           else np.arange(n, dtype=np.int64))
        self.source_line = (df[SOURCE_LINE_COL].astype("int64").to_numpy() if SOURCE_LINE_COL in df
                            else np.full(n, -1, dtype=np.int64))
        key = _KEYS[table]
        self.record_id = (df[key].to_numpy() if key in df.columns else np.full(n, None, dtype=object))

    def _add(self, i: int, reason: str, column: str, message: str) -> None:
        rid = self.record_id[i]
        self.rows.append({"table": self.table, "source_file": "", "source_row": int(self.source_row[i]),
                          "source_line": int(self.source_line[i]),
                          "record_id": "" if rid is None or (isinstance(rid, float) and rid != rid) else str(rid),
                          "reason": reason, "column": column, "message": message})

    def reject(self, bad: np.ndarray | pd.Series, reason: str, column: str, message: str) -> None:
        bad_arr = np.asarray(bad, dtype=bool) & self.ok
        for i in np.flatnonzero(bad_arr):
            self._add(int(i), reason, column, message)
        self.ok &= ~bad_arr

    def note(self, bad: np.ndarray, reason: str, column: str, message: str) -> None:
        """Record a problem on rows that are nevertheless kept (with a safe value)."""
        for i in np.flatnonzero(np.asarray(bad, dtype=bool) & self.ok):
            self._add(int(i), reason, column, message)

    def result(self, df: pd.DataFrame) -> Validated:
        rejected = pd.DataFrame(self.rows, columns=list(REJECTED_COLUMNS)) if self.rows else empty_rejected()
        return Validated(df.loc[self.ok].reset_index(drop=True), rejected)


def _customer_ids(df: pd.DataFrame, rej: _Rejector) -> None:
    ids = normalize_ids(df["customer_id"])
    rej.reject(ids.isna().to_numpy(), "missing_customer_id", "customer_id",
               "customer_id is empty; every row must name the customer it belongs to.")
    df["customer_id"] = ids


def _timestamps(df: pd.DataFrame, rej: _Rejector, policy: TimestampPolicy | None, column: str = "timestamp") -> None:
    ts, bad = parse_timestamps(df[column], policy)
    rej.reject(bad | ts.isna().to_numpy(), "bad_timestamp", column,
               f"{column} is not a date in the supported range ({TIMESTAMP_HELP}).")
    df[column] = ts


def _as_list(value: object) -> list[str] | None:
    """A list of theme ids: a list (JSONL, Parquet, in memory), or empty for a missing value."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, list | tuple | np.ndarray):
        return [str(v) for v in value]
    if isinstance(value, str) and not value.strip():
        return []
    return None


def validate_messages(messages: pd.DataFrame, policy: TimestampPolicy | None = None) -> Validated:
    """Check analysed messages; keep good rows, reject bad ones with a reason.

    Raises :class:`InputFormatError` when a required column is missing.
    """
    df = _require(messages, MESSAGE_COLUMNS, "messages")
    rej = _Rejector("messages", df)
    _customer_ids(df, rej)
    _timestamps(df, rej, policy)
    label = df["sentiment_label"].astype("string").str.strip().str.lower()
    rej.reject((~label.isin(list(SENTIMENT_LABELS))).fillna(True).to_numpy(), "bad_sentiment_label",
               "sentiment_label", "sentiment_label must be one of negative, neutral, positive.")
    df["sentiment_label"] = label.astype(object)
    score = pd.to_numeric(df["sentiment_score"], errors="coerce")
    rej.reject((score.isna() | (score < -1.0) | (score > 1.0)).to_numpy(), "bad_sentiment_score",
               "sentiment_score", "sentiment_score must be a number in [-1, 1].")
    df["sentiment_score"] = score.astype(float)
    themes = [_as_list(v) for v in df["themes"]]
    rej.reject(np.array([t is None for t in themes]), "bad_themes", "themes",
               "themes must be a list of theme ids (in CSV: JSON text such as [\"delivery_delay\"]).")
    df["themes"] = pd.Series([t if t is not None else [] for t in themes], index=df.index, dtype=object)
    df["message_id"] = df["message_id"].astype(str)
    df["channel"] = df["channel"].astype(object).where(df["channel"].notna(), "unknown").astype(str)
    return rej.result(df)


def validate_events(events: pd.DataFrame, policy: TimestampPolicy | None = None) -> Validated:
    """Check behaviour events; keep good rows, reject bad ones with a reason.

    ``value`` (an amount, a ticket or campaign id, or a rating score), ``channel`` and ``event_id``
    are optional and filled when absent. Amounts and scores must be finite numbers; a score must
    lie on its type's scale (:data:`analyzer.schema.RATING_SCALES`).
    """
    df = _require(events, EVENT_COLUMNS, "events")
    if "event_id" not in df.columns:
        df["event_id"] = [f"e{i}" for i in range(len(df))]
    rej = _Rejector("events", df)
    _customer_ids(df, rej)
    _timestamps(df, rej, policy)
    etype = df["type"].astype("string").str.strip().str.lower()
    rej.reject((~etype.isin(list(EVENT_TYPES))).fillna(True).to_numpy(), "unknown_event_type", "type",
               f"type must be one of {list(EVENT_TYPES)}.")
    df["type"] = etype.astype(object)
    if "value" not in df.columns:
        df["value"] = None
    values = df["value"].astype(object).where(df["value"].notna(), None)
    values = values.where(values.map(lambda v: not (isinstance(v, str) and not v.strip())), None)
    numeric = pd.to_numeric(values, errors="coerce")
    is_amount = etype.isin(list(_AMOUNT_TYPES)).fillna(False).to_numpy()
    bad_amount = is_amount & values.notna().to_numpy() & ~np.isfinite(numeric.to_numpy(dtype=float, na_value=np.nan))
    rej.reject(bad_amount, "bad_value", "value", "value of a purchase, refund or cancellation must be a finite amount.")
    for kind, (lo, hi) in RATING_SCALES.items():
        is_kind = (etype == kind).fillna(False).to_numpy()
        num = numeric.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            bad = is_kind & ~((num >= lo) & (num <= hi))
        rej.reject(bad, "bad_value", "value", f"a {kind} score must be a number from {lo:g} to {hi:g}.")
    numeric_types = is_amount | etype.isin(list(RATING_SCALES)).fillna(False).to_numpy()
    df["value"] = pd.Series([float(n) if t and n == n else (None if v is None else (v if t else str(v)))
                             for v, n, t in zip(values, numeric, numeric_types, strict=True)],
                            index=df.index, dtype=object)
    if "channel" not in df.columns:
        df["channel"] = "unknown"
    df["channel"] = df["channel"].astype(object).where(df["channel"].notna(), "unknown").astype(str)
    df["event_id"] = df["event_id"].astype(str)
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
        return Validated(pd.DataFrame({"customer_id": pd.Series(dtype=object), "segment": pd.Series(dtype=object),
                                       "value_tier": pd.Series(dtype=object), "opt_out": pd.Series(dtype=bool)}))
    df = _require(customers, CUSTOMER_COLUMNS, "customers")
    rej = _Rejector("customers", df)
    _customer_ids(df, rej)
    for col in ("segment", "value_tier"):
        if col not in df.columns:
            df[col] = None
    df["segment"] = df["segment"].astype(object).where(df["segment"].notna(), None)
    tier = df["value_tier"].astype("string").str.strip().str.lower()
    df["value_tier"] = tier.where(tier.isin(list(VALUE_TIERS)), "unknown").fillna("unknown").astype(object)
    if "opt_out" not in df.columns:
        df["opt_out"] = False
    flags = [_as_bool(v) for v in df["opt_out"]]
    # Kept, not dropped: dropping the row would silently profile someone who may have opted out.
    rej.note(np.array([f is None for f in flags]), "bad_opt_out", "opt_out",
             "opt_out must be true/false (yes/no, 1/0); the customer is treated as opted out.")
    df["opt_out"] = pd.Series([True if f is None else f for f in flags], index=df.index, dtype=bool)
    dup = df["customer_id"].duplicated(keep="first").to_numpy()
    rej.reject(dup, "duplicate_customer", "customer_id", "customer_id appears twice in customers; the first row "
               "is kept.")
    return rej.result(df)
