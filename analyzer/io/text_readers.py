"""Byte-level CSV/TSV and JSONL readers: record by record, so one bad record is one flagged row.

Each record is decoded on its own: a bad byte flags one row (``undecodable``) instead of aborting
the file, and the byte offset after each chunk is known, so a resumed run seeks straight to where
it stopped. CSV values are strings (no type guessing, no ``NA`` magic); JSONL values stay native
(strings, numbers, lists, objects). A compressed file that is not gzip, or whose stream is cut
short, is an :class:`~analyzer.errors.InputFormatError` that says so.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, NamedTuple

import pandas as pd

from analyzer.errors import InputFormatError
from analyzer.io.formats import FileFormat

__all__ = ["READ_ERROR_COL", "RESERVED_COLUMNS", "SOURCE_LINE_COL", "SOURCE_ROW_COL", "RawChunk", "ReadPosition",
           "check_not_utf16", "damaged_input", "iter_csv", "iter_jsonl", "open_binary"]

SOURCE_ROW_COL = "_source_row"
SOURCE_LINE_COL = "_source_line"
READ_ERROR_COL = "_read_error"
RESERVED_COLUMNS = (SOURCE_ROW_COL, SOURCE_LINE_COL, READ_ERROR_COL)


@dataclass(frozen=True)
class ReadPosition:
    """Where a reader stopped: records consumed, physical lines consumed, byte offset.

    ``offset`` is the byte position in the (uncompressed) file after the last consumed record;
    it is ``-1`` where seeking is impossible (gzip, Parquet), in which case a resumed reader
    skips ``row`` records instead.
    """

    row: int = 0
    line: int = 0
    offset: int = -1

    def to_dict(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReadPosition:
        return cls(int(data["row"]), int(data["line"]), int(data["offset"]))


class RawChunk(NamedTuple):
    """One chunk of records and the reader position just after it."""

    frame: pd.DataFrame
    end: ReadPosition



def open_binary(path: Path, is_gz: bool) -> IO[bytes]:
    """The file's bytes, decompressed when ``is_gz``; a file that is not gzip is refused at once."""
    if not is_gz:
        return open(path, "rb")
    fh = gzip.open(path, "rb")  # noqa: SIM115 - returned open, closed by the caller
    try:
        fh.peek(1)
    except (OSError, EOFError, zlib.error) as exc:
        fh.close()
        raise InputFormatError(
            f"{path.name!r} ends in .gz but is not a gzip file ({exc}); decompress it or rename it "
            "without .gz, or re-export it.") from exc
    return fh  # type: ignore[return-value]  # GzipFile is a binary IO


@contextmanager
def damaged_input(path: Path) -> Iterator[None]:
    """Turn a truncated or corrupt compressed stream, met while reading, into a clear input error."""
    try:
        yield
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputFormatError(
            f"{path.name!r} is damaged: its compressed data ends early or is corrupt ({type(exc).__name__}: "
            f"{exc}). Download or export the file again; nothing was written for it.") from exc


def check_not_utf16(head: bytes, path: Path) -> None:
    # A record-by-record byte reader splits lines on b"\n", which is wrong for UTF-16
    # (Excel's "Unicode text" export), so refuse it clearly instead of rejecting every row.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputFormatError(
            f"{path.name!r} looks like UTF-16 text (byte-order mark {head[:2]!r}); "
            "re-save it as UTF-8 CSV (in Excel: 'CSV UTF-8 (comma delimited)')."
        )


def _sniff_delimiter(header: str) -> str:
    # Spanish Excel writes ';'-separated "CSV" because ',' is the decimal separator;
    # pick whichever candidate appears most in the header line.
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _iter_records(fh: IO[bytes], start_line: int) -> Iterator[tuple[bytes, int, int, bool]]:
    """Yield ``(record_bytes, first_line, bytes_consumed, complete)`` of CSV records, joining
    lines that belong to one quoted field (a record ends when its count of ``"`` is even).
    ``complete`` is False only for an unclosed quote running to the end of the file."""
    line_no = start_line
    parts: list[bytes] = []
    quotes = 0
    first = 0
    size = 0
    for line in fh:
        line_no += 1
        n_quotes = line.count(b'"')
        if not parts and not n_quotes & 1:  # fast path: a whole record on one line
            yield line, line_no, len(line), True
            continue
        size += len(line)
        if not parts:
            first = line_no
        parts.append(line)
        quotes += n_quotes
        if quotes % 2 == 0:
            yield b"".join(parts), first, size, True
            parts, quotes, size = [], 0, 0
    if parts:
        yield b"".join(parts), first, size, False


def _last_line(raw: bytes, first: int) -> int:
    return first + raw.count(b"\n") - (1 if raw.endswith(b"\n") else 0)


def _decode(raw: bytes, encoding: str) -> tuple[str, bool]:
    try:
        return raw.decode(encoding), True
    except UnicodeDecodeError:
        # Keep the row (so its number and id can be reported) but mark it; the replacement
        # characters never reach the output because the row is rejected.
        return raw.decode(encoding, errors="replace"), False


# A field is parsed whatever its size, so that an over-long text is rejected as text_too_long by
# the validation (with its length), not as a malformed record by the csv module's 128 KiB limit.
_FIELD_LIMIT = 1 << 30


def _parse_csv_record(text: str, delimiter: str) -> list[str] | None:
    try:
        rows = list(csv.reader([text], delimiter=delimiter))
    except csv.Error:
        return None
    if len(rows) != 1:
        return None
    return rows[0]


def _parse_csv_batch(texts: list[str], delimiter: str) -> list[list[str] | None]:
    """Parse many balanced-quote records with one C-level reader; per-record fallback on error."""
    try:
        rows: list[list[str] | None] = list(csv.reader(texts, delimiter=delimiter))
        if len(rows) == len(texts):
            return rows
    except csv.Error:
        pass
    return [_parse_csv_record(t, delimiter) for t in texts]


def iter_csv(
    path: Path, ff: FileFormat, chunk_rows: int, start: ReadPosition, encoding: str, delimiter: str | None
) -> Iterator[RawChunk]:
    if csv.field_size_limit() < _FIELD_LIMIT:
        csv.field_size_limit(_FIELD_LIMIT)
    with open_binary(path, ff.gzip) as fh, damaged_input(path):
        header_raw = fh.readline()
        check_not_utf16(header_raw, path)
        if not header_raw.strip():
            raise InputFormatError(
                f"{path.name!r} is empty or its first line is blank; a header row is needed."
            )
        try:
            header_text = header_raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise InputFormatError(
                f"The header line of {path.name!r} is not valid {encoding} "
                f"({exc.reason} at byte {exc.start}); "
                "pass the file's real encoding (e.g. --encoding cp1252) or re-save it as UTF-8."
            ) from exc
        header_text = header_text.lstrip("\ufeff")  # Excel's UTF-8 byte-order mark
        delim = delimiter or ("\t" if ff.format == "tsv" else _sniff_delimiter(header_text))
        header = _parse_csv_record(header_text, delim)
        if not header:
            raise InputFormatError(f"Cannot parse the header line of {path.name!r}.")
        header = [h.strip() for h in header]
        dupes = sorted({h for h in header if header.count(h) > 1})
        if dupes:
            raise InputFormatError(f"{path.name!r} has duplicated column names {dupes}; rename them.")
        clash = [h for h in header if h in RESERVED_COLUMNS]
        if clash:
            raise InputFormatError(f"{path.name!r} uses reserved column names {clash}; rename them.")
        n_cols = len(header)

        row, line, offset = 0, 1, len(header_raw)
        if start.row > 0:
            if start.offset >= 0 and not ff.gzip:
                fh.seek(start.offset)
                row, line, offset = start.row, start.line, start.offset
            else:  # gzip cannot seek: skip records without parsing them
                for raw, first, size, _complete in _iter_records(fh, line):
                    line = _last_line(raw, first)
                    offset += size
                    if raw.strip():
                        row += 1
                        if row >= start.row:
                            break
        seekable = not ff.gzip

        texts: list[str] = []
        meta_rows: list[int] = []
        meta_lines: list[int] = []
        errors: list[str] = []

        def emit() -> RawChunk:
            parsed = _parse_csv_batch(texts, delim)
            values: list[list[str]] = []
            for i, fields in enumerate(parsed):
                if fields is None or len(fields) != n_cols:
                    errors[i] = errors[i] or "malformed_row"
                    fields = (fields or [])[:n_cols] + [""] * max(0, n_cols - len(fields or []))
                values.append(fields)
            return _make_chunk(values, header, meta_rows, meta_lines, errors, row, line, offset, seekable)

        for raw, first, size, complete in _iter_records(fh, line):
            offset += size
            line = _last_line(raw, first)
            if not raw.strip():  # blank line: not a record (pandas skips them too)
                continue
            text, ok = _decode(raw, encoding)
            if not complete:  # unclosed quote running to end of file: flag it, parse nothing
                text = ""
            texts.append(text)
            meta_rows.append(row)
            meta_lines.append(first)
            errors.append("undecodable" if not ok else ("" if complete else "malformed_row"))
            row += 1
            if len(texts) >= chunk_rows:
                yield emit()
                texts, meta_rows, meta_lines, errors = [], [], [], []
        if texts:
            yield emit()


def _make_chunk(
    values: list[list[str]],
    header: list[str],
    rows: list[int],
    lines: list[int],
    errors: list[str],
    row: int,
    line: int,
    offset: int,
    seekable: bool,
) -> RawChunk:
    # Plain object columns of str: building Arrow-backed strings costs more than it saves here.
    columns = list(zip(*values, strict=True)) if values else [() for _ in header]
    frame = pd.DataFrame({h: pd.Series(col, dtype=object)
                          for h, col in zip(header, columns, strict=True)}, columns=header)
    frame[SOURCE_ROW_COL] = pd.array(rows, dtype="int64")
    frame[SOURCE_LINE_COL] = pd.array(lines, dtype="int64")
    frame[READ_ERROR_COL] = pd.Series(errors, index=frame.index, dtype=object)
    return RawChunk(frame, ReadPosition(row, line, offset if seekable else -1))


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a parsed JSON value holds a lone UTF-16 surrogate (not encodable as UTF-8)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def iter_jsonl(
    path: Path, ff: FileFormat, chunk_rows: int, start: ReadPosition, encoding: str
) -> Iterator[RawChunk]:
    with open_binary(path, ff.gzip) as fh, damaged_input(path):
        head = fh.read(2)
        check_not_utf16(head, path)
        fh.seek(0)
        row, line, offset = 0, 0, 0
        if start.row > 0:
            if start.offset >= 0 and not ff.gzip:
                fh.seek(start.offset)
                row, line, offset = start.row, start.line, start.offset
            else:
                for raw in fh:
                    line += 1
                    offset += len(raw)
                    if raw.strip():
                        row += 1
                        if row >= start.row:
                            break
        seekable = not ff.gzip
        records: list[dict[str, Any]] = []
        meta_rows: list[int] = []
        meta_lines: list[int] = []
        errors: list[str] = []
        for raw in fh:
            line += 1
            offset += len(raw)
            if not raw.strip():
                continue
            err = ""
            record: dict[str, Any] = {}
            text, ok = _decode(raw, encoding)
            if not ok:
                err = "undecodable"
            else:
                try:
                    obj = json.loads(text)
                except (ValueError, RecursionError):
                    obj = None
                if not isinstance(obj, dict):
                    err = "bad_json"
                elif _SURROGATE_ESCAPE.search(raw) and _has_lone_surrogate(obj):
                    # A "\ud800" escape without its pair is valid JSON but not encodable text.
                    err = "undecodable"
                else:
                    # Values stay native (strings, numbers, lists, objects): the validation
                    # checks each column's type, and nested fields keep their shape.
                    record = {str(k): v for k, v in obj.items() if k not in RESERVED_COLUMNS}
            records.append(record)
            meta_rows.append(row)
            meta_lines.append(line)
            errors.append(err)
            row += 1
            if len(records) >= chunk_rows:
                yield _make_json_chunk(records, meta_rows, meta_lines, errors, row, line, offset, seekable)
                records, meta_rows, meta_lines, errors = [], [], [], []
        if records:
            yield _make_json_chunk(records, meta_rows, meta_lines, errors, row, line, offset, seekable)


def _make_json_chunk(
    records: list[dict[str, Any]],
    rows: list[int],
    lines: list[int],
    errors: list[str],
    row: int,
    line: int,
    offset: int,
    seekable: bool,
) -> RawChunk:
    # A key absent from a line stays missing (None), unlike JSON null, which is an empty value
    # (""): validation reports the first as ``missing_column``. Other values keep their JSON type.
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    data = {c: pd.Series([("" if rec[c] is None else rec[c]) if c in rec else None for rec in records],
                         dtype=object) for c in columns}
    frame = pd.DataFrame(data) if columns else pd.DataFrame(index=range(len(records)))
    frame[SOURCE_ROW_COL] = pd.array(rows, dtype="int64")
    frame[SOURCE_LINE_COL] = pd.array(lines, dtype="int64")
    frame[READ_ERROR_COL] = pd.Series(errors, index=frame.index, dtype=object)
    return RawChunk(frame, ReadPosition(row, line, offset if seekable else -1))
