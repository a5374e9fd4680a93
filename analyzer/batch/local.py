"""Resumable, constant-memory batch analysis of a message file.

:func:`run_batch` streams an input file (see :mod:`analyzer.io.files`) chunk by chunk, validates each
record into a canonical frame, hands the valid rows to a ``process`` function (the text pipeline)
and appends its results to the output file; invalid rows go to a rejected-rows file with a reason.

Canonical frame (what ``process`` receives)::

    message_id   str                 from the id column, or "row-<source_row>" when absent/empty
    customer_id  str | None
    timestamp    datetime64[UTC]     NaT when absent
    channel      str | None
    text         str                 non-empty, at most Settings.max_text_chars characters
    source_row   int                 0-based record position in the input (header excluded)

Rejection reasons: ``empty_text``, ``bad_timestamp``, ``undecodable``, ``text_too_long``,
``bad_json``, ``missing_column`` and ``malformed_row`` (a CSV record with the wrong number of
fields). The rejected file never contains the row's text or field values — only the row number,
line, message id, reason, offending column and an explanation — so it is safe to share.

Resume: after every chunk, once its output and rejected rows are flushed and fsynced, a
checkpoint ``<output>.checkpoint.json`` is replaced atomically. A rerun with the same input and
options truncates both files back to the checkpoint and continues with the next record, so a
killed run ends with every row exactly once. On success the checkpoint is removed and
``<output>.summary.json`` is written.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from analyzer.errors import ConfigError, InputFormatError
from analyzer.io.files import (
    READ_ERROR_COL,
    SOURCE_LINE_COL,
    SOURCE_ROW_COL,
    ChunkWriter,
    FileFormat,
    RawChunk,
    ReadPosition,
    WriterState,
    count_rows,
    detect_format,
    file_fingerprint,
    fsync_dir,
    iter_raw_chunks,
)
from analyzer.settings import get_settings

__all__ = [
    "CANONICAL_COLUMNS",
    "REJECTED_COLUMNS",
    "REJECT_REASONS",
    "BatchSummary",
    "ColumnMapping",
    "ProcessFn",
    "ValidatedChunk",
    "default_rejected_path",
    "light_process",
    "parse_timestamps",
    "run_batch",
    "validate_chunk",
]

ProcessFn = Callable[[pd.DataFrame], pd.DataFrame]

CANONICAL_COLUMNS: tuple[str, ...] = (
    "message_id", "customer_id", "timestamp", "channel", "text", "source_row",
)
REJECTED_COLUMNS: tuple[str, ...] = ("source_row", "source_line", "message_id", "reason", "column", "message")

#: Reason code -> what it means (the per-row message adds the specifics).
REJECT_REASONS: dict[str, str] = {
    "bad_json": "the line is not a valid JSON object",
    "undecodable": "the row contains bytes that are not valid in the file's encoding",
    "malformed_row": "the CSV record has the wrong number of fields or an unclosed quote",
    "missing_column": "the row has no text field",
    "empty_text": "the text is empty",
    "text_too_long": "the text is longer than the limit",
    "bad_timestamp": "the timestamp cannot be parsed",
}

_CHECKPOINT_VERSION = 1
_TS_HELP = "accepted: ISO 8601, 'YYYY-MM-DD HH:MM[:SS]', 'DD/MM/YYYY[ HH:MM[:SS]]', epoch seconds"
# A value made only of these characters cannot carry words, so it is safe to echo in a message.
_SAFE_TS_VALUE = re.compile(r"[0-9 :/.\-TZz+]{1,40}")
_EPOCH_RE = r"\d{9,11}(?:\.\d+)?"
_EPOCH_MS_RE = r"\d{12,13}"
_DMY_RE = r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?"
_EPOCH_S = re.compile(_EPOCH_RE)
_EPOCH_MS = re.compile(_EPOCH_MS_RE)
_DMY = re.compile(_DMY_RE)


class ColumnMapping(BaseModel):
    """Which input columns hold the canonical fields. Only ``text`` must exist.

    An optional column left at its default name is used when present and ignored when absent;
    one named explicitly must exist (a typo should fail loudly, not silently drop data).
    """

    model_config = ConfigDict(frozen=True)

    text: str = Field(default="text", min_length=1)
    customer_id: str = Field(default="customer_id", min_length=1)
    timestamp: str = Field(default="timestamp", min_length=1)
    channel: str = Field(default="channel", min_length=1)
    message_id: str = Field(default="message_id", min_length=1)

    def check_columns(self, columns: list[str], source: str, *, per_row: bool = False) -> None:
        """Raise :class:`InputFormatError` when a required or explicitly mapped column is absent.

        ``per_row=True`` (JSONL, where each line has its own keys) only checks the explicitly
        mapped optional columns loosely: they are reported per row instead.
        """
        present = set(columns)
        flags = {"text": "--text-col", "customer_id": "--customer-col", "timestamp": "--timestamp-col",
                 "channel": "--channel-col", "message_id": "--id-col"}
        wanted = ["text", *sorted(self.model_fields_set - {"text"})]
        for name in wanted:
            col = getattr(self, name)
            if col not in present and not per_row:
                shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
                raise InputFormatError(
                    f"{source}: column {col!r} (the {name} field) not found; the columns are [{shown}]. "
                    f"Name the right column with {flags[name]} COLUMN."
                )


@dataclass
class ValidatedChunk:
    """Result of :func:`validate_chunk`: canonical valid rows and explained rejected rows."""

    valid: pd.DataFrame
    rejected: pd.DataFrame


@dataclass
class BatchSummary:
    """What a batch run did. ``rows_read == rows_written + rows_rejected`` always holds.

    Counts cover the whole file, including rows done before a resume (``resumed_from`` says how
    many records a previous run had already consumed); ``elapsed_s`` and ``rows_per_s`` cover
    this run only.
    """

    rows_read: int
    rows_written: int
    rows_rejected: int
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    rows_per_s: float = 0.0
    resumed_from: int = 0
    input_path: str = ""
    output_path: str = ""
    rejected_path: str = ""

    def __post_init__(self) -> None:
        _check_invariant(self.rows_read, self.rows_written, self.rows_rejected, self.rejected_by_reason)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_invariant(read: int, written: int, rejected: int, by_reason: dict[str, int]) -> None:
    # Explicit raise rather than `assert`, so `python -O` cannot switch off the row accounting.
    if read != written + rejected or rejected != sum(by_reason.values()):
        raise RuntimeError(
            f"Row accounting broken: read={read}, written={written}, rejected={rejected}, "
            f"by reason={by_reason}. This is a bug in analyzer.batch.local; please report it."
        )


# --------------------------------------------------------------------------- validation


def parse_timestamps(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse timestamps to UTC. Returns ``(parsed, bad)``: NaT where empty or bad, and a bool
    mask of non-empty values that could not be parsed.

    Accepted: ISO 8601 (with or without offset, ``T`` or space, date only), ``DD/MM/YYYY`` with
    optional ``HH:MM[:SS]`` (also ``-`` or ``.`` separators: day first, as written in Spain),
    epoch seconds (``1717171717``, fractional allowed) and epoch milliseconds (12-13 digits).
    Naive values are taken as UTC. Native datetime or numeric (epoch seconds) columns from
    Parquet are accepted as such.
    """
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    bad = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return out, bad
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]"), bad
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").astype("datetime64[us, UTC]"), bad
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        parsed = pd.to_datetime(values, unit="s", utc=True, errors="coerce")
        bad = (values.notna() & parsed.isna()).to_numpy()
        return parsed.astype("datetime64[us, UTC]"), bad

    # Classify each value once in Python (cheap per row), then parse each class vectorized.
    s = [_as_str(v).strip() for v in values.tolist()]
    kind = np.zeros(len(s), dtype=np.int8)  # 0 empty, 1 epoch s, 2 epoch ms, 3 day-first, 4 ISO
    for i, v in enumerate(s):
        if not v:
            continue
        if v[0].isdigit() and _EPOCH_S.fullmatch(v):
            kind[i] = 1
        elif v[0].isdigit() and _EPOCH_MS.fullmatch(v):
            kind[i] = 2
        elif v[0].isdigit() and _DMY.fullmatch(v):
            kind[i] = 3
        else:
            kind[i] = 4
    strings = pd.Series(s, index=values.index, dtype=object)
    empty, epoch, epoch_ms, dmy, iso = (kind == k for k in range(5))
    parts = strings[dmy].str.extract(f"^{_DMY_RE}$") if dmy.any() else None

    def put(mask: np.ndarray, parsed: pd.Series) -> None:
        out.loc[mask] = parsed.astype("datetime64[us, UTC]").to_numpy()

    if epoch.any():
        put(epoch, pd.to_datetime(pd.to_numeric(strings[epoch], errors="coerce"),
                                  unit="s", utc=True, errors="coerce"))
    if epoch_ms.any():
        put(epoch_ms, pd.to_datetime(pd.to_numeric(strings[epoch_ms], errors="coerce"),
                                     unit="ms", utc=True, errors="coerce"))
    if parts is not None:
        p = parts.fillna("0")
        normalized = (p[2] + "-" + p[1].str.zfill(2) + "-" + p[0].str.zfill(2) + " "
                      + p[3].str.zfill(2) + ":" + p[4].str.zfill(2) + ":" + p[5].str.zfill(2))
        put(dmy, pd.to_datetime(normalized, format="%Y-%m-%d %H:%M:%S", utc=True, errors="coerce"))
    if iso.any():
        put(iso, pd.to_datetime(strings[iso], format="ISO8601", utc=True, errors="coerce"))
    bad = ~empty & out.isna().to_numpy()
    return out, bad


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _text_values(raw: pd.DataFrame, col: str) -> tuple[pd.Series, np.ndarray]:
    """The column as strings ("" for null) and a mask of rows where the key was absent (JSONL)."""
    if col not in raw.columns:
        return pd.Series([""] * len(raw), index=raw.index, dtype=object), np.ones(len(raw), dtype=bool)
    values = raw[col].tolist()
    # Only JSONL readers leave None (key absent); other readers give "" for empty values.
    missing = np.fromiter((v is None for v in values), dtype=bool, count=len(values))
    return pd.Series([_as_str(v) for v in values], index=raw.index, dtype=object), missing


def _optional(raw: pd.DataFrame, col: str) -> pd.Series:
    if col not in raw.columns:
        return pd.Series([None] * len(raw), index=raw.index, dtype=object)
    return pd.Series([_as_str(v).strip() or None for v in raw[col].tolist()], index=raw.index, dtype=object)


def validate_chunk(raw: pd.DataFrame, mapping: ColumnMapping, *, max_text_chars: int) -> ValidatedChunk:
    """Split a raw reader chunk into canonical valid rows and explained rejected rows.

    One reason per rejected row, the first that applies in this order: reader errors
    (``bad_json``, ``undecodable``, ``malformed_row``), ``missing_column``, ``empty_text``,
    ``text_too_long``, ``bad_timestamp``.
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

    text, missing = _text_values(raw, mapping.text)
    reject(missing, "missing_column", mapping.text)
    reject((text.str.strip() == "").to_numpy(), "empty_text", mapping.text)
    lengths = text.str.len().to_numpy()
    reject(lengths > max_text_chars, "text_too_long", mapping.text)
    if mapping.timestamp in raw.columns:
        ts_raw = raw[mapping.timestamp]
        timestamps, bad_ts = parse_timestamps(ts_raw)
        reject(bad_ts, "bad_timestamp", mapping.timestamp)
    else:
        ts_raw = None
        timestamps = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")

    ids = _optional(raw, mapping.message_id)
    generated = "row-" + source_row.astype(str)
    message_id = ids.where(ids.notna(), generated).astype(str)

    ok = reason == ""
    valid = pd.DataFrame({
        "message_id": pd.Series(message_id[ok].to_numpy(), dtype=object),
        "customer_id": pd.Series(_optional(raw, mapping.customer_id)[ok].to_numpy(), dtype=object),
        "timestamp": timestamps[ok].reset_index(drop=True).astype("datetime64[us, UTC]"),
        "channel": pd.Series(_optional(raw, mapping.channel)[ok].to_numpy(), dtype=object),
        "text": pd.Series(text[ok].to_numpy(), dtype=object),
        "source_row": source_row[ok].to_numpy(),
    })

    bad_idx = np.flatnonzero(~ok)
    messages = [
        _reject_message(str(reason[i]), str(column[i]), int(lengths[i]), max_text_chars,
                        ts_raw.iloc[i] if ts_raw is not None else None)
        for i in bad_idx
    ]
    rejected = pd.DataFrame({
        "source_row": source_row.to_numpy()[bad_idx],
        "source_line": source_line.to_numpy()[bad_idx],
        "message_id": message_id.to_numpy()[bad_idx],
        "reason": reason[bad_idx].astype(str),
        "column": column[bad_idx].astype(str),
        "message": messages,
    }, columns=list(REJECTED_COLUMNS))
    return ValidatedChunk(valid, rejected)


def _reject_message(code: str, col: str, length: int, limit: int, ts_value: Any) -> str:
    if code == "empty_text":
        return f"column {col!r} is empty or only whitespace"
    if code == "text_too_long":
        return (f"column {col!r} has {length:,} characters; the limit is {limit:,} "
                "(raise it with DARKFEEDBACK_MAX_TEXT_CHARS)")
    if code == "missing_column":
        return f"the row has no {col!r} field; map the text column with --text-col"
    if code == "bad_timestamp":
        value = str(ts_value).strip()
        shown = f" {value!r}" if _SAFE_TS_VALUE.fullmatch(value) else ""
        return f"column {col!r} value{shown} is not a date ({_TS_HELP}); fix it or leave it empty"
    if code == "undecodable":
        return ("the row has bytes that are not valid in the file's encoding; re-save the file as "
                "UTF-8 or pass its encoding (e.g. --encoding cp1252)")
    if code == "bad_json":
        return "the line is not a valid JSON object ({...}); fix or remove it"
    if code == "malformed_row":
        return "the record has a different number of fields than the header, or an unclosed quote"
    return REJECT_REASONS.get(code, code)


def light_process(frame: pd.DataFrame) -> pd.DataFrame:
    """A model-free stand-in for the text pipeline: text length and a 64-bit content hash.

    Used by tests and by ``darkfeedback analyze --pipeline light`` to exercise the file
    machinery end to end. It never copies the text itself into the output.
    """
    text = frame["text"].astype(str)
    return pd.DataFrame({
        "message_id": frame["message_id"].to_numpy(),
        "customer_id": frame["customer_id"].to_numpy(),
        "timestamp": frame["timestamp"].reset_index(drop=True),
        "channel": frame["channel"].to_numpy(),
        "text_chars": text.str.len().to_numpy(),
        "text_hash": pd.util.hash_pandas_object(text, index=False).map("{:016x}".format).to_numpy(),
    })


# --------------------------------------------------------------------------- run_batch


def default_rejected_path(output_path: str | os.PathLike[str], fmt: FileFormat) -> Path:
    """``results.csv`` -> ``results.rejected.csv`` (same folder, same format)."""
    out = Path(output_path)
    known = sorted((e + g for e in (".csv", ".tsv", ".tab", ".jsonl", ".ndjson", ".parquet", ".pq")
                    for g in ("", ".gz")), key=len, reverse=True)
    stem = out.name
    for ext in known:
        if stem.lower().endswith(ext) and len(stem) > len(ext):
            stem = stem[: -len(ext)]
            break
    return out.with_name(stem + ".rejected" + fmt.extension)


def _atomic_write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _write_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """Replace the checkpoint atomically (a module function so tests can interrupt it)."""
    _atomic_write_json(path, data)


def _diff(saved: dict[str, Any], now: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(saved) | set(now)):
        a, b = saved.get(key), now.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out.extend(_diff(a, b, f"{prefix}{key}."))
        elif a != b:
            out.append(f"{prefix}{key} (was {a!r}, now {b!r})")
    return out


def _output_format(output: Path, out_fmt: str | None, fallback: FileFormat) -> FileFormat:
    if out_fmt is not None:
        return detect_format(output, out_fmt)
    try:
        return detect_format(output)
    except InputFormatError:
        return fallback


@contextmanager
def _progress_bar(enabled: bool, total: int | None, completed: int) -> Iterator[Callable[[int], None]]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    disable = not enabled or not console.is_terminal
    with Progress(
        SpinnerColumn(), TextColumn("[bold]analyzing"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} rows/s"), TimeElapsedColumn(), TimeRemainingColumn(),
        console=console, disable=disable, transient=False,
    ) as bar:
        task = bar.add_task("rows", total=total, completed=completed, rate="-")
        start, first = time.perf_counter(), completed

        def advance(done: int) -> None:
            elapsed = max(time.perf_counter() - start, 1e-9)
            rate = f"{(done - first) / elapsed:,.0f}"
            new_total = total if total is None or done <= total else done
            bar.update(task, completed=done, total=new_total, rate=rate)

        yield advance


def run_batch(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    process: ProcessFn,
    fmt: str | None = None,
    out_fmt: str | None = None,
    mapping: ColumnMapping | None = None,
    rejected_path: str | os.PathLike[str] | None = None,
    chunk_rows: int | None = None,
    resume: bool = True,
    progress: bool = True,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> BatchSummary:
    """Analyze ``input_path`` into ``output_path`` chunk by chunk; see the module docstring.

    ``process`` receives the canonical frame of a chunk's valid rows and must return one row per
    input row in the same order; ``message_id`` and ``source_row`` are added to its output when
    it does not include them. ``fmt``/``out_fmt`` override the formats guessed from extensions
    (an output without a known extension gets the input's format). With ``resume=True`` a run
    interrupted earlier continues from its checkpoint; with ``resume=False`` it starts over.

    Raises :class:`InputFormatError` for an unreadable input, a missing text column, or a
    checkpoint made from a different input/options; :class:`ConfigError` for bad arguments or a
    ``process`` that breaks its contract. Rejected rows never raise.
    """
    t0 = time.perf_counter()
    settings = get_settings()
    mapping = mapping or ColumnMapping()
    chunk_rows = chunk_rows or settings.chunk_rows
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, got {chunk_rows}.")
    src = Path(input_path)
    dst = Path(output_path)
    if not src.is_file():
        raise InputFormatError(f"Input file {str(src)!r} does not exist or is not a file.")
    in_ff = detect_format(src, fmt)
    out_ff = _output_format(dst, out_fmt, in_ff)
    rej = Path(rejected_path) if rejected_path is not None else default_rejected_path(dst, out_ff)
    rej_ff = _output_format(rej, None, out_ff)
    resolved = {src.resolve(): "input", }
    for p, what in ((dst, "output"), (rej, "rejected-rows file")):
        if p.resolve() in resolved:
            raise ConfigError(
                f"The {what} path {str(p)!r} is the same file as the {resolved[p.resolve()]}; "
                "choose another path."
            )
        resolved[p.resolve()] = what
    ckpt_path = dst.with_name(dst.name + ".checkpoint.json")
    summary_path = dst.with_name(dst.name + ".summary.json")

    config = {
        "version": _CHECKPOINT_VERSION,
        "input": {"path": str(src.resolve()), **file_fingerprint(src)},
        "input_format": asdict(in_ff),
        "output_format": asdict(out_ff),
        "rejected_path": str(rej.resolve()),
        "rejected_format": asdict(rej_ff),
        "mapping": mapping.model_dump(),
        "max_text_chars": settings.max_text_chars,
        "encoding": encoding,
        "delimiter": delimiter,
    }

    saved: dict[str, Any] | None = None
    if ckpt_path.exists():
        if resume:
            try:
                saved = json.loads(ckpt_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise InputFormatError(
                    f"Checkpoint {str(ckpt_path)!r} is unreadable ({exc}); "
                    "rerun with --no-resume to start over."
                ) from exc
            assert saved is not None
            changes = _diff(saved.get("config", {}), config)
            if changes:
                raise InputFormatError(
                    f"Cannot resume into {str(dst)!r}: the checkpoint was made with a different input or "
                    f"options: {'; '.join(changes[:6])}. Rerun with --no-resume to start over "
                    "(this overwrites the output)."
                )
        else:
            ckpt_path.unlink()
    summary_path.unlink(missing_ok=True)

    if saved is not None:
        position = ReadPosition.from_dict(saved["position"])
        counts = saved["counts"]
        rows_read, rows_written = int(counts["rows_read"]), int(counts["rows_written"])
        by_reason: dict[str, int] = {k: int(v) for k, v in counts["rejected_by_reason"].items()}
        out_state: WriterState | None = WriterState.from_dict(saved["output"])
        rej_state: WriterState | None = WriterState.from_dict(saved["rejected"])
        finalizing = saved.get("stage") == "finalizing"
    else:
        position, rows_read, rows_written, by_reason = ReadPosition(), 0, 0, {}
        out_state = rej_state = None
        finalizing = False
    resumed_from = position.row

    # Read the first chunk before touching any output, so a wrong column mapping or an
    # unreadable input fails without truncating an earlier result.
    chunks: Iterator[RawChunk] = iter([])
    if not finalizing:
        reader = iter_raw_chunks(src, in_ff, chunk_rows, start=position,
                                 encoding=encoding, delimiter=delimiter)
        first = next(reader, None)
        if first is not None:
            _check_mapping(first.frame, mapping, in_ff, src)
            chunks = itertools.chain([first], reader)

    out_writer = ChunkWriter(dst, out_ff)
    rej_writer = ChunkWriter(rej, rej_ff)
    if not finalizing:
        out_writer.open(out_state)
        rej_writer.open(rej_state)
    elif out_state is not None and rej_state is not None:
        out_writer.adopt(out_state)
        rej_writer.adopt(rej_state)

    def checkpoint(stage: str) -> None:
        _check_invariant(rows_read, rows_written, sum(by_reason.values()), by_reason)
        _write_checkpoint(ckpt_path, {
            "config": config, "stage": stage, "position": position.to_dict(),
            "output": out_writer.state.to_dict(), "rejected": rej_writer.state.to_dict(),
            "counts": {"rows_read": rows_read, "rows_written": rows_written,
                       "rows_rejected": sum(by_reason.values()), "rejected_by_reason": by_reason},
        })

    try:
        if not finalizing:
            if saved is None:
                checkpoint("running")  # a kill during the first chunk resumes from zero
            total = count_rows(src, in_ff)
            with _progress_bar(progress, total, position.row) as advance:
                for chunk in chunks:
                    raw = chunk.frame
                    part = validate_chunk(raw, mapping, max_text_chars=settings.max_text_chars)
                    out = _run_process(process, part.valid)
                    out_writer.write(out)
                    rej_writer.write(part.rejected)
                    rows_read += len(raw)
                    rows_written += len(out)
                    for code, k in part.rejected["reason"].value_counts().items():
                        by_reason[str(code)] = by_reason.get(str(code), 0) + int(k)
                    position = chunk.end
                    checkpoint("running")
                    advance(position.row)
                    del raw, part, out  # hold at most one chunk
            checkpoint("finalizing")
        out_writer.finalize()
        rej_writer.finalize()
    finally:
        out_writer.close()
        rej_writer.close()

    elapsed = time.perf_counter() - t0
    rows_rejected = sum(by_reason.values())
    summary = BatchSummary(
        rows_read=rows_read, rows_written=rows_written, rows_rejected=rows_rejected,
        rejected_by_reason=dict(sorted(by_reason.items())), elapsed_s=round(elapsed, 3),
        rows_per_s=round((rows_read - resumed_from) / elapsed, 1) if elapsed > 0 else 0.0,
        resumed_from=resumed_from, input_path=str(src), output_path=str(dst), rejected_path=str(rej),
    )
    _atomic_write_json(summary_path, summary.to_dict())
    ckpt_path.unlink(missing_ok=True)
    fsync_dir(ckpt_path.parent)
    return summary


def _check_mapping(raw: pd.DataFrame, mapping: ColumnMapping, ff: FileFormat, src: Path) -> None:
    columns = [c for c in raw.columns if c not in (SOURCE_ROW_COL, SOURCE_LINE_COL, READ_ERROR_COL)]
    if ff.format != "jsonl":
        mapping.check_columns(columns, repr(src.name))
        return
    # JSONL: keys vary per line, so a missing key is a per-row rejection — unless no parseable
    # line of the first chunk has it, which is a wrong mapping rather than bad rows.
    parsed = raw[READ_ERROR_COL] == ""
    if parsed.any() and (mapping.text not in raw.columns or raw.loc[parsed, mapping.text].isna().all()):
        mapping.check_columns(columns, repr(src.name))


def _run_process(process: ProcessFn, valid: pd.DataFrame) -> pd.DataFrame:
    if valid.empty:
        return valid.iloc[0:0]
    out = process(valid)
    if not isinstance(out, pd.DataFrame):
        raise ConfigError(
            f"The processing function must return a pandas DataFrame, got {type(out).__name__}."
        )
    if len(out) != len(valid):
        raise ConfigError(
            f"The processing function returned {len(out)} rows for {len(valid)} input rows; it must return "
            "exactly one row per input row, in order."
        )
    out = out.reset_index(drop=True)
    if "source_row" not in out.columns:
        out.insert(0, "source_row", valid["source_row"].to_numpy())
    if "message_id" not in out.columns:
        out.insert(0, "message_id", valid["message_id"].to_numpy())
    return out

