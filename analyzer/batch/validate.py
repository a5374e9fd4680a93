"""Validation of raw reader chunks into the canonical message frame, and the rejected rows.

Canonical frame (what the text pipeline receives)::

    message_id   str                 from the id column, or "row-<source_row>" when absent/empty
    customer_id  str | None
    timestamp    datetime64[UTC]     NaT when absent
    channel      str | None
    text         str                 non-empty, at most max_text_chars characters, no NUL
    source_row   int                 0-based record position in the input (header excluded)

Rejected rows have the one shape of :data:`analyzer.schema.REJECTED_COLUMNS`; they never carry
the row's text or field values, so the file is safe to share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analyzer.batch.spec import ColumnMapping
from analyzer.io import TIMESTAMP_HELP, TimestampPolicy, parse_timestamps
from analyzer.io.text_readers import READ_ERROR_COL, SOURCE_LINE_COL, SOURCE_ROW_COL
from analyzer.schema import REJECTED_COLUMNS

__all__ = ["CANONICAL_COLUMNS", "REJECT_REASONS", "ValidatedChunk", "empty_rejected", "validate_chunk"]

CANONICAL_COLUMNS: tuple[str, ...] = ("message_id", "customer_id", "timestamp", "channel", "text", "source_row")

#: Reason code -> what it means (the per-row message adds the specifics).
REJECT_REASONS: dict[str, str] = {
    "bad_json": "the line is not a valid JSON object",
    "undecodable": "the row contains bytes that are not valid in the file's encoding",
    "malformed_row": "the CSV record has the wrong number of fields or an unclosed quote",
    "missing_column": "the row has no text field",
    "bad_type": "a field holds a number, a list or binary data where text was expected",
    "empty_text": "the text is empty",
    "text_too_long": "the text is longer than the limit",
    "bad_timestamp": "the timestamp cannot be parsed",
}

# A value made only of these characters cannot carry words, so it is safe to echo in a message.
_SAFE_TS_VALUE = re.compile(r"[0-9 :/.\-TZz+]{1,40}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass
class ValidatedChunk:
    """Result of :func:`validate_chunk`: canonical valid rows and explained rejected rows."""

    valid: pd.DataFrame
    rejected: pd.DataFrame


def empty_rejected() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c in ("source_row", "source_line") else object)
                         for c in REJECTED_COLUMNS})


def _text_cell(value: Any) -> tuple[str, str]:
    """``(text, problem)``: a text field must hold text; NUL and other control characters are dropped."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "", ""
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "", "undecodable"
    if not isinstance(value, str):
        return "", "bad_type"
    return (_CONTROL.sub("", value) if _CONTROL.search(value) else value), ""


def _id_cell(value: Any) -> tuple[str | None, str]:
    """Ids and short fields: text or an integer (``17850`` and ``17850.0`` are the same id)."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None, ""
    if isinstance(value, bool | np.bool_):
        return None, "bad_type"
    if isinstance(value, int | np.integer):
        return str(int(value)), ""
    if isinstance(value, float | np.floating):
        return (str(int(value)), "") if float(value).is_integer() else (str(value), "")
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return None, "undecodable"
    if not isinstance(value, str):
        return None, "bad_type"
    cleaned = _CONTROL.sub("", value).strip()
    return (cleaned or None), ""


def validate_chunk(raw: pd.DataFrame, mapping: ColumnMapping, *, max_text_chars: int,
                   timestamps: TimestampPolicy | None = None, source_file: str = "") -> ValidatedChunk:
    """Split a raw reader chunk into canonical valid rows and explained rejected rows.

    One reason per rejected row, the first that applies in this order: reader errors
    (``bad_json``, ``undecodable``, ``malformed_row``), ``missing_column``, ``bad_type``,
    ``empty_text``, ``text_too_long``, ``bad_timestamp``.
    """
    n = len(raw)
    raw = raw.reset_index(drop=True)
    source_row = raw[SOURCE_ROW_COL].astype("int64")
    source_line = raw[SOURCE_LINE_COL].astype("int64") if SOURCE_LINE_COL in raw else source_row * 0 - 1
    if READ_ERROR_COL in raw:
        errs = raw[READ_ERROR_COL].astype(object)
        reason = np.array(errs.where(errs.notna(), "").to_numpy(dtype=object), dtype=object, copy=True)
    else:
        reason = np.full(n, "", dtype=object)
    column = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, code: str, col: str) -> None:
        hit = mask & (reason == "")
        reason[hit] = code
        column[hit] = col

    if mapping.text in raw.columns:
        cells = [_text_cell(v) for v in raw[mapping.text].tolist()]
        missing = np.fromiter((v is None for v in raw[mapping.text].tolist()), dtype=bool, count=n)
    else:
        cells, missing = [("", "")] * n, np.ones(n, dtype=bool)
    text = pd.Series([c[0] for c in cells], index=raw.index, dtype=object)
    problems = np.array([c[1] for c in cells], dtype=object)
    reject(missing, "missing_column", mapping.text)
    reject(problems == "undecodable", "undecodable", mapping.text)
    reject(problems == "bad_type", "bad_type", mapping.text)
    reject((text.str.strip() == "").to_numpy(), "empty_text", mapping.text)
    lengths = text.str.len().to_numpy()
    reject(lengths > max_text_chars, "text_too_long", mapping.text)

    optional: dict[str, pd.Series] = {}
    for name in ("message_id", "customer_id", "channel"):
        col = getattr(mapping, name)
        if col in raw.columns:
            parsed = [_id_cell(v) for v in raw[col].tolist()]
            optional[name] = pd.Series([p[0] for p in parsed], index=raw.index, dtype=object)
            bad = np.array([p[1] for p in parsed], dtype=object)
            reject(bad == "undecodable", "undecodable", col)
            reject(bad == "bad_type", "bad_type", col)
        else:
            optional[name] = pd.Series([None] * n, index=raw.index, dtype=object)

    if mapping.timestamp in raw.columns:
        ts_raw = raw[mapping.timestamp]
        stamps, bad_ts = parse_timestamps(ts_raw, timestamps)
        reject(bad_ts, "bad_timestamp", mapping.timestamp)
    else:
        ts_raw = None
        stamps = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")

    ids = optional["message_id"]
    generated = "row-" + source_row.astype(str)
    message_id = ids.where(ids.notna(), generated).astype(str)

    ok = reason == ""
    valid = pd.DataFrame({
        "message_id": pd.Series(message_id[ok].to_numpy(), dtype=object),
        "customer_id": pd.Series(optional["customer_id"][ok].to_numpy(), dtype=object),
        "timestamp": stamps[ok].reset_index(drop=True).astype("datetime64[us, UTC]"),
        "channel": pd.Series(optional["channel"][ok].to_numpy(), dtype=object),
        "text": pd.Series(text[ok].to_numpy(), dtype=object),
        "source_row": source_row[ok].to_numpy(),
    })

    bad_idx = np.flatnonzero(~ok)
    messages = [_reject_message(str(reason[i]), str(column[i]), int(lengths[i]), max_text_chars,
                                ts_raw.iloc[i] if ts_raw is not None else None)
                for i in bad_idx]
    rejected = pd.DataFrame({
        "table": "messages",
        "source_file": source_file,
        "source_row": source_row.to_numpy()[bad_idx],
        "source_line": source_line.to_numpy()[bad_idx],
        "record_id": message_id.to_numpy()[bad_idx],
        "reason": reason[bad_idx].astype(str),
        "column": column[bad_idx].astype(str),
        "message": messages,
    }, columns=list(REJECTED_COLUMNS)) if len(bad_idx) else empty_rejected()
    return ValidatedChunk(valid, rejected)


def _reject_message(code: str, col: str, length: int, limit: int, ts_value: Any) -> str:
    if code == "empty_text":
        return f"column {col!r} is empty or only whitespace"
    if code == "text_too_long":
        return (f"column {col!r} has {length:,} characters; the limit is {limit:,} "
                "(raise it with DARKFEEDBACK_MAX_TEXT_CHARS)")
    if code == "missing_column":
        return f"the row has no {col!r} field; map the text column with --text-col"
    if code == "bad_type":
        return f"column {col!r} holds a number, a list or binary data where text was expected"
    if code == "bad_timestamp":
        value = str(ts_value).strip()
        shown = f" {value!r}" if _SAFE_TS_VALUE.fullmatch(value) else ""
        return (f"column {col!r} value{shown} is not a date in the supported range ({TIMESTAMP_HELP}; years "
                "1900-2200); fix it or leave it empty")
    if code == "undecodable":
        return ("the row has bytes that are not valid in the file's encoding (or a lone surrogate escape in "
                "JSON); re-save the file as UTF-8 or pass its encoding (e.g. --encoding cp1252)")
    if code == "bad_json":
        return "the line is not a valid JSON object ({...}); fix or remove it"
    if code == "malformed_row":
        return "the record has a different number of fields than the header, or an unclosed quote"
    return REJECT_REASONS.get(code, code)
