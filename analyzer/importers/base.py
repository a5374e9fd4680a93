"""What every importer shares: its options, the draft rows it collects and the one finishing step.

An importer reads its source's files and adds *draft* rows (raw timestamps, raw ids, where each
row came from) to a :class:`Draft`. :func:`finish` then applies the same contract to every
source: customer ids present and pseudonymised (:mod:`analyzer.importers.pseudonym`), timestamps
parsed by the one parser (:func:`analyzer.io.parse_timestamps`: day-first by default, naive times
in ``--timezone``), texts non-empty, event types in :data:`analyzer.schema.EVENT_TYPES`, rating
scores on their scale, ids unique. Every row set aside goes to ``rejected`` in the one rejected-row
shape (:data:`analyzer.schema.REJECTED_COLUMNS`) with a reason code and a message, never its content.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.importers.common import Pos, Record, parse_number, read_records, text_of
from analyzer.importers.pseudonym import Pseudonymizer, is_email, is_phone
from analyzer.io import TIMESTAMP_HELP, TimestampPolicy, parse_timestamps
from analyzer.schema import (
    CUSTOMER_COLUMNS,
    CUSTOMER_OPTIONAL,
    EVENT_COLUMNS,
    EVENT_OPTIONAL,
    EVENT_TYPES,
    MESSAGE_INPUT_COLUMNS,
    RATING_SCALES,
    REJECTED_COLUMNS,
    VALUE_TIERS,
)

__all__ = ["IMPORTED_CUSTOMER_COLUMNS", "IMPORTED_EVENT_COLUMNS", "Draft", "ImportOptions", "ImportResult",
           "finish", "stable_id", "value_tiers"]

IMPORTED_EVENT_COLUMNS: tuple[str, ...] = ("event_id", *EVENT_COLUMNS, *(c for c in EVENT_OPTIONAL if c != "event_id"))
IMPORTED_CUSTOMER_COLUMNS: tuple[str, ...] = (*CUSTOMER_COLUMNS, *CUSTOMER_OPTIONAL, "owner", "value")
"""The customers table an import writes: the canonical columns plus the CRM's ``owner`` and ``value``."""
_AMOUNT_TYPES = frozenset({"purchase", "refund", "order_cancelled"})


@dataclass(frozen=True)
class ImportOptions:
    """How files are read. ``dayfirst_explicit``: the user chose --dayfirst/--monthfirst (else a
    WhatsApp export's own dates decide when they can). ``business``: the names or numbers that
    mark the business's own messages (WhatsApp)."""

    timestamps: TimestampPolicy = field(default_factory=TimestampPolicy)
    dayfirst_explicit: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    business: tuple[str, ...] = ()
    profile: Path | None = None
    pseudonymizer: Pseudonymizer | None = None

    def read(self, path: Path) -> list[Record]:
        """The records of one file, read with these options' encoding, separator and sheet."""
        return read_records(path, encoding=self.encoding, delimiter=self.delimiter, sheet=self.sheet)


def stable_id(prefix: str, *parts: Any) -> str:
    """A deterministic id from the parts (re-importing the same export gives the same ids)."""
    digest = hashlib.sha1("\x1f".join(text_of(p) for p in parts).encode("utf-8")).hexdigest()[:16]
    return f"{prefix}_{digest}"


class Draft:
    """Rows an importer collected, before :func:`finish`. ``anonymous_names``: customer ids that are
    people's display names (WhatsApp contacts, reviewers): always pseudonymised."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.customers: list[dict[str, Any]] = []
        self.rejected: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.files: list[str] = []

    def message(self, pos: Pos, *, customer_id: Any, timestamp: Any, text: Any, channel: str,
                message_id: Any = None, record_id: Any = None, name_id: bool = False) -> None:
        self.messages.append({"_pos": pos, "_name": name_id, "_record": text_of(record_id or message_id),
                              "message_id": text_of(message_id), "customer_id": customer_id,
                              "timestamp": timestamp, "channel": channel, "text": text})

    def event(self, pos: Pos, *, customer_id: Any, timestamp: Any, type: str, value: Any = None, channel: str,
              event_id: Any = None, record_id: Any = None, name_id: bool = False) -> None:
        self.events.append({"_pos": pos, "_name": name_id, "_record": text_of(record_id or event_id),
                            "event_id": text_of(event_id), "customer_id": customer_id, "timestamp": timestamp,
                            "type": type, "value": value, "channel": channel})

    def customer(self, pos: Pos, *, customer_id: Any, segment: Any = None, value_tier: Any = None,
                 opt_out: Any = None, owner: Any = None, value: Any = None, record_id: Any = None,
                 name_id: bool = False) -> None:
        self.customers.append({"_pos": pos, "_name": name_id, "_record": text_of(record_id),
                               "customer_id": customer_id, "segment": text_of(segment) or None,
                               "value_tier": text_of(value_tier).lower() or None, "opt_out": opt_out,
                               "owner": text_of(owner) or None, "value": value})

    def reject(self, pos: Pos, table: str, reason: str, column: str, message: str, record_id: Any = "") -> None:
        self.rejected.append({"table": table, "source_file": pos.file, "source_row": pos.row,
                              "source_line": pos.line, "record_id": text_of(record_id), "reason": reason,
                              "column": column, "message": message})

    def readable(self, records: Iterable[Record], table: str) -> Iterator[Record]:
        """The records that were read; each one that was not is rejected (:meth:`read_error`) on the way."""
        for rec in records:
            if rec.error:
                self.read_error(rec.pos, table, rec.error)
            else:
                yield rec

    def read_error(self, pos: Pos, table: str, reason: str) -> None:
        """A record the reader could not read (its reason code from :mod:`analyzer.io`)."""
        what = {"undecodable": "bytes that are not valid in the file's encoding (pass --encoding)",
                "malformed_row": "a CSV record with the wrong number of fields or an unclosed quote",
                "bad_json": "a JSON record that is not an object"}.get(reason, reason)
        self.reject(pos, table, reason, "", f"the record could not be read: {what}.")


@dataclass
class ImportResult:
    """The canonical tables an import produced, the rows it rejected (with why) and its counts."""

    source: str
    messages: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame
    rejected: pd.DataFrame
    counts: dict[str, int]
    files: list[str]

    def summary(self) -> dict[str, Any]:
        by_reason = self.rejected["reason"].value_counts().to_dict() if len(self.rejected) else {}
        return {"source": self.source, "files": self.files, "messages": len(self.messages),
                "events": len(self.events), "events_by_type": self.events["type"].value_counts().to_dict()
                if len(self.events) else {}, "customers": len(self.customers), "rejected": len(self.rejected),
                "rejected_by_reason": {str(k): int(v) for k, v in by_reason.items()},
                "counts": {k: int(v) for k, v in sorted(self.counts.items())}}


class _Finisher:
    def __init__(self, draft: Draft, options: ImportOptions) -> None:
        self.draft, self.options = draft, options
        self.rejected = list(draft.rejected)

    def _reject_rows(self, rows: list[dict[str, Any]], bad: np.ndarray, table: str, reason: str, column: str,
                     message: str) -> list[dict[str, Any]]:
        keep = []
        for row, is_bad in zip(rows, bad, strict=True):
            if is_bad:
                pos: Pos = row["_pos"]
                self.rejected.append({"table": table, "source_file": pos.file, "source_row": pos.row,
                                      "source_line": pos.line, "record_id": self._safe(row["_record"]),
                                      "reason": reason, "column": column, "message": message})
            else:
                keep.append(row)
        return keep

    def _safe(self, value: str) -> str:
        """A record id fit for the rejected-rows file: never an e-mail or phone in clear."""
        p = self.options.pseudonymizer
        if value and (is_email(value) or is_phone(value)):
            return p(value) if p is not None else ""
        return value

    def ids(self, rows: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
        p = self.options.pseudonymizer
        for r in rows:
            cid = text_of(r["customer_id"])
            if cid and p is not None:
                cid = p.always(cid) if r["_name"] else p(cid)
            r["customer_id"] = cid
        bad = np.array([not r["customer_id"] for r in rows], dtype=bool)
        return self._reject_rows(rows, bad, table, "missing_customer_id", "customer_id",
                                 "no customer id (e-mail, phone or the source's customer id) in this record; every "
                                 "row must name its customer.")

    def timestamps(self, rows: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
        if not rows:
            return rows
        parsed, bad = parse_timestamps(pd.Series([r["timestamp"] for r in rows], dtype=object),
                                       self.options.timestamps)
        missing = parsed.isna().to_numpy()
        for r, ts in zip(rows, parsed, strict=True):
            r["timestamp"] = ts
        return self._reject_rows(rows, bad | missing, table, "bad_timestamp", "timestamp",
                                 f"the date is missing or not a date in the supported range ({TIMESTAMP_HELP}; "
                                 "use --monthfirst for US dates and --timezone for local times).")

    def dedupe(self, rows: list[dict[str, Any]], table: str, key: str) -> list[dict[str, Any]]:
        seen: set[str] = set()
        bad = np.zeros(len(rows), dtype=bool)
        for i, r in enumerate(rows):
            bad[i] = r[key] in seen
            seen.add(r[key])
        return self._reject_rows(rows, bad, table, "duplicate_id", key,
                                 f"{key} appears twice in this import; the first record is kept.")

    def messages(self) -> pd.DataFrame:
        rows = self.timestamps(self.ids(self.draft.messages, "messages"), "messages")
        for r in rows:
            r["text"] = text_of(r["text"])
        rows = self._reject_rows(rows, np.array([not r["text"] for r in rows], dtype=bool), "messages",
                                 "empty_text", "text", "the record has no text written by the customer.")
        for r in rows:
            if not r["message_id"]:
                r["message_id"] = stable_id("m", self.draft.source, r["customer_id"], r["timestamp"], r["text"])
        rows = self.dedupe(rows, "messages", "message_id")
        return _frame(rows, MESSAGE_INPUT_COLUMNS)

    def events(self) -> pd.DataFrame:
        rows = self.timestamps(self.ids(self.draft.events, "events"), "events")
        rows = self._reject_rows(rows, np.array([r["type"] not in EVENT_TYPES for r in rows], dtype=bool), "events",
                                 "unknown_event_type", "type", f"the event type is not one of {list(EVENT_TYPES)}.")
        for kind, (lo, hi) in RATING_SCALES.items():
            for r in rows:
                if r["type"] == kind:
                    r["value"] = parse_number(r["value"], self.options.decimal)
            bad = np.array([r["type"] == kind and not (r["value"] is not None and lo <= r["value"] <= hi)
                            for r in rows], dtype=bool)
            rows = self._reject_rows(rows, bad, "events", "bad_value", "value",
                                     f"a {kind} score must be a number from {lo:g} to {hi:g}.")
        for r in rows:
            if r["type"] in _AMOUNT_TYPES:
                r["value"] = parse_number(r["value"], self.options.decimal)
            elif r["value"] is not None and r["type"] not in RATING_SCALES:
                r["value"] = text_of(r["value"]) or None
            if not r["event_id"]:
                r["event_id"] = stable_id("e", self.draft.source, r["customer_id"], r["timestamp"], r["type"],
                                          r["value"], r["_record"])
        rows = self.dedupe(rows, "events", "event_id")
        return _frame(rows, IMPORTED_EVENT_COLUMNS)

    def customers(self) -> pd.DataFrame:
        rows = self.ids(self.draft.customers, "customers")
        merged: dict[str, dict[str, Any]] = {}
        for r in rows:  # one row per customer: the first value of each field wins, later files fill gaps
            have = merged.setdefault(r["customer_id"], {"customer_id": r["customer_id"]})
            for k in IMPORTED_CUSTOMER_COLUMNS[1:]:
                if have.get(k) is None and r.get(k) is not None and text_of(r[k]) != "":
                    have[k] = r[k]
        out = pd.DataFrame(list(merged.values()), columns=list(IMPORTED_CUSTOMER_COLUMNS))
        if len(out):
            out["value"] = [parse_number(v, self.options.decimal) for v in out["value"]]
            tiers = value_tiers(out["value"])
            given = out["value_tier"].where(out["value_tier"].isin(list(VALUE_TIERS)))
            out["value_tier"] = given.fillna(tiers).astype(object)
            out["opt_out"] = [_flag(v) for v in out["opt_out"]]
        return out.astype(object).where(out.notna(), None)


def _flag(value: Any) -> bool:
    text = text_of(value).lower()
    return text in {"1", "true", "yes", "y", "si", "sí", "t", "unsubscribed", "opted out", "opt-out"}


def value_tiers(values: pd.Series) -> pd.Series:
    """Tiers from a money value by rank among the customers that have one: the top 5 % ``vip``, the
    next 15 % ``high``, the next 40 % ``medium``, the rest ``low``; no value: None."""
    num = pd.to_numeric(values, errors="coerce")
    known = num[num.notna() & (num > 0)]
    out = pd.Series([None] * len(values), index=values.index, dtype=object)
    if known.empty:
        return out
    share = known.rank(ascending=False, method="min") / len(known)
    out[known.index] = np.select([share <= 0.05, share <= 0.20, share <= 0.60], ["vip", "high", "medium"], "low")
    return out


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    out = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=list(columns))
    if len(out) and "timestamp" in out:
        ts = pd.to_datetime(out["timestamp"], utc=True)
        out["timestamp"] = ts.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out = out.assign(_ts=ts).sort_values(["_ts", "customer_id"], kind="stable").drop(columns="_ts")
    return out.reset_index(drop=True).astype(object)


def finish(draft: Draft, options: ImportOptions) -> ImportResult:
    """Apply the shared contract (see the module docstring) to an importer's draft rows."""
    f = _Finisher(draft, options)
    messages, events, customers = f.messages(), f.events(), f.customers()
    rejected = pd.DataFrame(f.rejected, columns=list(REJECTED_COLUMNS))
    if len(rejected):
        rejected = rejected.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)
    return ImportResult(draft.source, messages, events, customers, rejected, dict(draft.counts), list(draft.files))
