"""Streaming readers and resumable writers for batch files (CSV/TSV, JSONL, Parquet, gzip).

Readers yield pandas DataFrame chunks of at most ``chunk_rows`` records, so memory stays flat
whatever the file size. Every chunk carries three reserved columns:

``_source_row``
    0-based position of the record among the data records (header and blank lines excluded),
    the same number ``pd.read_csv(path).iloc[i]`` or ``pyarrow`` row ``i`` would give.
``_source_line``
    1-based physical line where the record starts (CSV/JSONL; ``-1`` for Parquet), so a user
    can find a rejected row in a text editor without us copying its content anywhere.
``_read_error``
    ``""`` for a record that was read, otherwise a reason code: ``undecodable`` (bytes that are
    not valid in the file's encoding), ``bad_json`` (a JSONL line that is not a JSON object),
    ``malformed_row`` (a CSV record with the wrong number of fields).

CSV and JSONL are read as bytes, record by record, and each record is decoded on its own: one bad
byte flags one row instead of aborting the file, and the byte offset after each chunk is known,
so a resumed run seeks straight to where it stopped. All CSV values are strings (no type guessing,
no ``NA`` magic: ``"NA"`` stays the text ``"NA"``).

Writers append one chunk at a time and report a :class:`WriterState` (bytes written or parts
written) after an fsync; :meth:`ChunkWriter.open` with a saved state truncates the file back to
it, which is what makes a killed run resumable without duplicated or lost rows.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError, InputFormatError

__all__ = [
    "FORMATS",
    "READ_ERROR_COL",
    "SOURCE_LINE_COL",
    "SOURCE_ROW_COL",
    "ChunkWriter",
    "FileFormat",
    "Format",
    "RawChunk",
    "ReadPosition",
    "WriterState",
    "count_rows",
    "detect_format",
    "file_fingerprint",
    "fsync_dir",
    "iter_chunks",
    "iter_raw_chunks",
    "read_table",
]

Format = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "tsv", "jsonl", "parquet")

SOURCE_ROW_COL = "_source_row"
SOURCE_LINE_COL = "_source_line"
READ_ERROR_COL = "_read_error"
_RESERVED = (SOURCE_ROW_COL, SOURCE_LINE_COL, READ_ERROR_COL)

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_ALIASES: dict[str, Format] = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet", **{f: f for f in FORMATS}}
_DEFAULT_CHUNK_ROWS = 2000


@dataclass(frozen=True)
class FileFormat:
    """What a path holds: the record format and whether it is gzip-compressed."""

    format: Format
    gzip: bool = False

    @property
    def extension(self) -> str:
        """The canonical file extension, e.g. ``.csv.gz``."""
        ext = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}[self.format]
        return ext + (".gz" if self.gzip else "")


def detect_format(path: str | os.PathLike[str], fmt: str | None = None) -> FileFormat:
    """Format of ``path`` from its extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``, each text format optionally ``.gz``), or from ``fmt`` when given.

    ``fmt`` overrides the extension (``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"``); a ``.gz``
    suffix still means gzip. Raises :class:`InputFormatError` when neither tells the format.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    is_gz = bool(suffixes) and suffixes[-1] == ".gz"
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        if key not in _ALIASES:
            raise ConfigError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
        chosen = _ALIASES[key]
    else:
        ext = suffixes[-2] if is_gz and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
        if ext not in _EXTENSIONS:
            raise InputFormatError(
                f"Cannot tell the format of {p.name!r} from its extension "
                f"{''.join(p.suffixes) or '(none)'!r}; "
                f"rename it to .csv, .tsv, .jsonl, .parquet (text formats may end in .gz) "
                f"or pass the format explicitly (--format csv|tsv|jsonl|parquet)."
            )
        chosen = _EXTENSIONS[ext]
    if chosen == "parquet" and is_gz:
        raise InputFormatError(
            f"{p.name!r}: gzip-compressed Parquet is not supported (Parquet compresses internally); "
            "decompress it first."
        )
    return FileFormat(chosen, is_gz)


# --------------------------------------------------------------------------- reading


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


def _open_binary(path: Path, is_gz: bool) -> IO[bytes]:
    if is_gz:
        return gzip.open(path, "rb")  # type: ignore[return-value]  # GzipFile is a binary IO
    return open(path, "rb")


def _check_not_utf16(head: bytes, path: Path) -> None:
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


def _iter_csv(
    path: Path, ff: FileFormat, chunk_rows: int, start: ReadPosition, encoding: str, delimiter: str | None
) -> Iterator[RawChunk]:
    with _open_binary(path, ff.gzip) as fh:
        header_raw = fh.readline()
        _check_not_utf16(header_raw, path)
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
        clash = [h for h in header if h in _RESERVED]
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


def _json_value(value: Any) -> str:
    # Same contract as CSV: every value is a string. JSON null means "empty", a number keeps
    # its JSON spelling (so an epoch timestamp stays parseable), nested values stay JSON.
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _iter_jsonl(
    path: Path, ff: FileFormat, chunk_rows: int, start: ReadPosition, encoding: str
) -> Iterator[RawChunk]:
    with _open_binary(path, ff.gzip) as fh:
        head = fh.read(2)
        _check_not_utf16(head, path)
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
        records: list[dict[str, str]] = []
        meta_rows: list[int] = []
        meta_lines: list[int] = []
        errors: list[str] = []
        for raw in fh:
            line += 1
            offset += len(raw)
            if not raw.strip():
                continue
            err = ""
            record: dict[str, str] = {}
            text, ok = _decode(raw, encoding)
            if not ok:
                err = "undecodable"
            else:
                try:
                    obj = json.loads(text)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    record = {str(k): _json_value(v) for k, v in obj.items() if k not in _RESERVED}
                else:
                    err = "bad_json"
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
    records: list[dict[str, str]],
    rows: list[int],
    lines: list[int],
    errors: list[str],
    row: int,
    line: int,
    offset: int,
    seekable: bool,
) -> RawChunk:
    # A key absent from a line stays missing (None), unlike an empty string: validation reports
    # it as ``missing_column``.
    columns: dict[str, None] = {}
    for rec in records:
        columns.update(dict.fromkeys(rec))
    frame = pd.DataFrame.from_records(records, columns=list(columns)) if columns else pd.DataFrame(
        index=range(len(records))
    )
    frame = frame.astype(object).where(frame.notna(), None) if columns else frame
    frame[SOURCE_ROW_COL] = pd.array(rows, dtype="int64")
    frame[SOURCE_LINE_COL] = pd.array(lines, dtype="int64")
    frame[READ_ERROR_COL] = pd.Series(errors, index=frame.index, dtype=object)
    return RawChunk(frame, ReadPosition(row, line, offset if seekable else -1))


def _iter_parquet(path: Path, chunk_rows: int, start: ReadPosition) -> Iterator[RawChunk]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputFormatError(f"{path.name!r} is not a readable Parquet file: {exc}") from exc
    clash = [n for n in pf.schema_arrow.names if n in _RESERVED]
    if clash:
        raise InputFormatError(f"{path.name!r} uses reserved column names {clash}; rename them.")
    # Skip whole row groups before the resume point using metadata only.
    first_group, row = 0, 0
    meta = pf.metadata
    while first_group < meta.num_row_groups and row + meta.row_group(first_group).num_rows <= start.row:
        row += meta.row_group(first_group).num_rows
        first_group += 1
    to_drop = start.row - row
    groups = list(range(first_group, meta.num_row_groups))
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=chunk_rows, row_groups=groups):
        frame = batch.to_pandas()
        if to_drop:
            dropped = min(to_drop, len(frame))
            frame = frame.iloc[dropped:].reset_index(drop=True)
            row += dropped
            to_drop -= dropped
            if frame.empty:
                continue
        for col in frame.columns:
            # Text-like columns: nulls become "" so every reader hands over the same contract.
            if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col].dtype):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
        n = len(frame)
        frame[SOURCE_ROW_COL] = pd.array(range(row, row + n), dtype="int64")
        frame[SOURCE_LINE_COL] = pd.array([-1] * n, dtype="int64")
        frame[READ_ERROR_COL] = pd.array([""] * n, dtype=str)
        row += n
        yield RawChunk(frame, ReadPosition(row, 0, -1))


def iter_raw_chunks(
    path: str | os.PathLike[str],
    fmt: str | FileFormat | None = None,
    chunk_rows: int = _DEFAULT_CHUNK_ROWS,
    *,
    start: ReadPosition | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> Iterator[RawChunk]:
    """Like :func:`iter_chunks`, also yielding the :class:`ReadPosition` after each chunk.

    ``start`` resumes after a position returned earlier for the *same unchanged* file: CSV/JSONL
    seek to its byte offset, gzip and Parquet skip ``start.row`` records.
    """
    p = Path(path)
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, got {chunk_rows}.")
    if not p.is_file():
        raise InputFormatError(f"Input file {str(p)!r} does not exist or is not a file.")
    ff = fmt if isinstance(fmt, FileFormat) else detect_format(p, fmt)
    begin = start or ReadPosition()
    if ff.format == "parquet":
        return _iter_parquet(p, chunk_rows, begin)
    try:
        "a".encode(encoding)
    except LookupError as exc:
        raise ConfigError(f"Unknown text encoding {encoding!r}; try utf-8, cp1252 or latin-1.") from exc
    if ff.format == "jsonl":
        return _iter_jsonl(p, ff, chunk_rows, begin, encoding)
    return _iter_csv(p, ff, chunk_rows, begin, encoding, delimiter)


def iter_chunks(
    path: str | os.PathLike[str],
    fmt: str | FileFormat | None = None,
    chunk_rows: int = _DEFAULT_CHUNK_ROWS,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream ``path`` as DataFrames of at most ``chunk_rows`` records.

    Text formats give string columns only. Each frame has the reserved columns ``_source_row``,
    ``_source_line`` and ``_read_error`` (see the module docstring). A bad record is flagged in
    ``_read_error``, never raised; only a file that cannot be read at all raises
    :class:`InputFormatError`. ``delimiter`` overrides CSV delimiter sniffing (``,`` ``;`` tab ``|``).
    """
    for chunk in iter_raw_chunks(path, fmt, chunk_rows, encoding=encoding, delimiter=delimiter):
        yield chunk.frame


def read_table(path: str | os.PathLike[str], fmt: str | FileFormat | None = None) -> pd.DataFrame:
    """Read a whole (small) output or rejected file back, for tests and notebooks.

    Reserved reader columns are dropped; values keep the types the format stores.
    """
    p = Path(path)
    ff = fmt if isinstance(fmt, FileFormat) else detect_format(p, fmt)
    if ff.format == "parquet":
        return pd.read_parquet(p)
    if ff.format == "jsonl":
        if p.stat().st_size == 0:
            return pd.DataFrame()
        return pd.read_json(p, lines=True, dtype=False, compression="gzip" if ff.gzip else None)
    with _open_binary(p, ff.gzip) as fh:
        if not fh.read(1):
            return pd.DataFrame()
    return pd.read_csv(
        p, sep="\t" if ff.format == "tsv" else ",", dtype=str, keep_default_na=False,
        compression="gzip" if ff.gzip else None,
    )


def count_rows(
    path: str | os.PathLike[str], fmt: str | FileFormat | None = None, *, max_scan_bytes: int = 2 << 30
) -> int | None:
    """A cheap record count for a progress bar, or ``None`` when it would not be cheap.

    Parquet: exact, from the footer. Uncompressed CSV/JSONL up to ``max_scan_bytes``: newline
    count in binary (exact unless fields contain line breaks or there are blank lines). Gzip or
    larger files: ``None`` (show an indeterminate bar).
    """
    p = Path(path)
    ff = fmt if isinstance(fmt, FileFormat) else detect_format(p, fmt)
    if ff.format == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(p).metadata.num_rows)
    size = p.stat().st_size
    if ff.gzip or size > max_scan_bytes:
        return None
    lines = 0
    last = b"\n"
    with open(p, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - (1 if ff.format in ("csv", "tsv") else 0), 0)


def file_fingerprint(path: str | os.PathLike[str], head_bytes: int = 1 << 20) -> dict[str, Any]:
    """Size, modification time and a hash of the first ``head_bytes`` of a file.

    Cheap evidence that a file is the one a checkpoint was made from.
    """
    p = Path(path)
    st = p.stat()
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        h.update(fh.read(head_bytes))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "head_sha256": h.hexdigest()}


# --------------------------------------------------------------------------- writing


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or file creation in it survives a power cut (POSIX)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened; renames are durable enough
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class WriterState:
    """How much a :class:`ChunkWriter` has durably written: bytes (text formats) or parts (Parquet)."""

    bytes: int = 0
    parts: int = 0
    columns: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"bytes": self.bytes, "parts": self.parts,
                "columns": list(self.columns) if self.columns is not None else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WriterState:
        cols = data.get("columns")
        columns = tuple(cols) if cols is not None else None
        return cls(int(data.get("bytes", 0)), int(data.get("parts", 0)), columns)


class ChunkWriter:
    """Appends DataFrame chunks to one output file, durably and resumably.

    * CSV/TSV/JSONL: appended to the file; ``.gz`` outputs append one gzip member per chunk
      (a multi-member gzip file is valid and reads as one stream), so truncating at a chunk
      boundary leaves a valid file.
    * Parquet: each chunk becomes ``<output>.parts/part-NNNNNN.parquet``; :meth:`finalize`
      merges the parts into ``output`` one at a time (constant memory) and removes them.

    Use :meth:`open` (``state=None`` starts fresh, a saved :class:`WriterState` truncates back to
    it), :meth:`write` per chunk, :attr:`state` after each write, :meth:`finalize` at the end.
    """

    def __init__(self, path: str | os.PathLike[str], fmt: FileFormat) -> None:
        self.path = Path(path)
        self.fmt = fmt
        self.parts_dir = self.path.with_name(self.path.name + ".parts")
        self._state = WriterState()
        self._fh: IO[bytes] | None = None

    @property
    def state(self) -> WriterState:
        return self._state

    def open(self, state: WriterState | None = None) -> ChunkWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.fmt.format == "parquet":
            self._open_parts(state)
        else:
            self._open_text(state)
        return self

    def adopt(self, state: WriterState) -> ChunkWriter:
        """Take over ``state`` without touching the files (a run that stopped while finalizing)."""
        self._state = state
        return self

    def _open_text(self, state: WriterState | None) -> None:
        if state is None:
            state = WriterState()
            with open(self.path, "wb"):
                pass
        else:
            if not self.path.exists() or self.path.stat().st_size < state.bytes:
                raise InputFormatError(
                    f"Cannot resume: {str(self.path)!r} is shorter than the checkpoint says "
                    f"({state.bytes} bytes) — it was changed or deleted. Rerun with --no-resume."
                )
        fh = open(self.path, "r+b")  # noqa: SIM115 - closed in close()
        fh.truncate(state.bytes)  # drop anything written after the last checkpoint
        fh.seek(state.bytes)
        fh.flush()
        os.fsync(fh.fileno())
        self._fh = fh
        self._state = state

    def _open_parts(self, state: WriterState | None) -> None:
        if state is None:
            state = WriterState()
            if self.parts_dir.exists():
                shutil.rmtree(self.parts_dir)
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        for part in self.parts_dir.iterdir():
            # Parts written after the checkpoint (or temp files of a killed write) are dropped.
            idx = _part_index(part.name)
            if idx is None or idx >= state.parts:
                part.unlink()
        missing = [i for i in range(state.parts) if not self._part_path(i).exists()]
        if missing:
            raise InputFormatError(
                f"Cannot resume: parts {missing[:5]} of {str(self.parts_dir)!r} are missing. "
                "Rerun with --no-resume."
            )
        self._state = state

    def _part_path(self, i: int) -> Path:
        return self.parts_dir / f"part-{i:06d}.parquet"

    def write(self, frame: pd.DataFrame) -> WriterState:
        """Append ``frame`` and make it durable (flush + fsync); returns the new state."""
        if frame.empty:
            return self._state
        if self.fmt.format == "parquet":
            self._write_part(frame)
        else:
            self._write_text(frame)
        return self._state

    def _write_text(self, frame: pd.DataFrame) -> None:
        assert self._fh is not None, "ChunkWriter.open() was not called"
        columns = self._state.columns
        if columns is None:
            columns = tuple(str(c) for c in frame.columns)
        else:
            extra = [c for c in frame.columns if c not in columns]
            if extra:
                raise ConfigError(
                    f"Chunk has columns {extra} that earlier chunks of {self.path.name!r} did not have; "
                    "the processing function must return the same columns for every chunk."
                )
            frame = frame.reindex(columns=list(columns))
        frame = _format_datetimes(frame)
        if self.fmt.format == "jsonl":
            # json.dumps per record: lists stay lists, and "/" is not escaped as pandas' to_json does.
            text = "".join(json.dumps(_jsonable(rec), ensure_ascii=False, default=str) + "\n"
                           for rec in frame.to_dict("records"))
        else:
            frame = _json_cells(frame)
            text = frame.to_csv(
                index=False, header=self._state.bytes == 0, sep="\t" if self.fmt.format == "tsv" else ",",
                lineterminator="\n",
            )
        data = text.encode("utf-8", errors="replace")
        if self.fmt.gzip:
            data = gzip.compress(data, compresslevel=6, mtime=0)
        self._fh.write(data)
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._state = WriterState(self._state.bytes + len(data), 0, columns)

    def _write_part(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        final = self._part_path(self._state.parts)
        tmp = final.with_name(final.name + ".tmp")
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        fsync_dir(self.parts_dir)
        self._state = WriterState(0, self._state.parts + 1, None)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def finalize(self) -> None:
        """Close the file; for Parquet merge the parts into ``path`` and remove them.

        Idempotent: finalizing an already finalized Parquet output (parts folder gone, file
        present) does nothing, so a run killed during finalization can simply finalize again.
        """
        self.close()
        if self.fmt.format != "parquet":
            return
        if not self.parts_dir.exists():
            if self.path.exists():
                return
            self.parts_dir.mkdir(parents=True)
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = [self._part_path(i) for i in range(self._state.parts)]
        tmp = self.path.with_name(self.path.name + ".tmp")
        if parts:
            # Chunks may disagree on types (a column all-null in one chunk): unify once from
            # the footers, then cast each part while copying it.
            schema = pa.unify_schemas([pq.read_schema(p) for p in parts], promote_options="permissive")
            with pq.ParquetWriter(tmp, schema) as writer:
                for p in parts:
                    writer.write_table(_conform(pq.read_table(p), schema))
        else:
            pq.write_table(pa.table({}), tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        fsync_dir(self.path.parent)
        shutil.rmtree(self.parts_dir, ignore_errors=True)


def _format_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Datetime columns as ISO 8601 strings (``2024-05-31T14:03:00Z``; empty for NaT).

    The same spelling in CSV and JSONL, and much faster than pandas' per-value formatting.
    """
    cols = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c].dtype)]
    if not cols:
        return frame
    frame = frame.copy()
    for c in cols:
        col = frame[c]
        aware = isinstance(col.dtype, pd.DatetimeTZDtype)
        arr = (col.dt.tz_convert("UTC").dt.tz_localize(None) if aware else col).to_numpy("datetime64[us]")
        whole = arr[~np.isnat(arr)].astype("int64") % 1_000_000 == 0
        text = np.datetime_as_string(arr, unit="s" if whole.all() else "us")
        if aware:
            text = np.char.add(text, "Z")
        frame[c] = pd.Series(np.where(np.isnat(arr), None, text), index=frame.index, dtype=object)
    return frame


def _conform(table: Any, schema: Any) -> Any:
    """Cast a part to the unified schema; columns a part lacks become nulls."""
    import pyarrow as pa

    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


_PART_RE = re.compile(r"^part-(\d{6})\.parquet$")


def _part_index(name: str) -> int | None:
    m = _PART_RE.match(name)
    return int(m.group(1)) if m else None



def _jsonable(record: dict) -> dict:
    """NaN/NaT become null; numpy scalars and arrays become plain JSON values."""
    out = {}
    for key, value in record.items():
        if hasattr(value, "tolist"):
            value = value.tolist()
        elif not isinstance(value, (list, dict, str)) and pd.isna(value):
            value = None
        out[key] = value
    return out


def _json_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """CSV has no lists: list or dict cells are written as JSON text (not Python's repr)."""
    nested = [c for c in frame.columns if frame[c].dtype == object
              and frame[c].map(lambda v: isinstance(v, (list, dict, tuple))).any()]
    if not nested:
        return frame
    frame = frame.copy()
    for c in nested:
        frame[c] = frame[c].map(lambda v: json.dumps(list(v) if isinstance(v, tuple) else v, ensure_ascii=False)
                                if isinstance(v, (list, dict, tuple)) else v)
    return frame
