"""Streaming readers for batch files (CSV/TSV, JSONL, Parquet, gzip): constant memory, any size.

Readers yield pandas DataFrame chunks of at most ``chunk_rows`` records. Every chunk carries
three reserved columns:

``_source_row``
    0-based position of the record among the data records (header and blank lines excluded),
    the same number ``pd.read_csv(path).iloc[i]`` or ``pyarrow`` row ``i`` would give.
``_source_line``
    1-based physical line where the record starts (CSV/JSONL; ``-1`` for Parquet), so a user
    can find a rejected row in a text editor without us copying its content anywhere.
``_read_error``
    ``""`` for a record that was read, otherwise a reason code: ``undecodable`` (bytes that are
    not valid in the file's encoding, or a lone surrogate escape in JSON), ``bad_json`` (a JSONL
    line that is not a JSON object), ``malformed_row`` (a CSV record with the wrong number of
    fields or an unclosed quote).

CSV values are strings; JSONL and Parquet values keep their types (numbers, lists, structs), so
nested fields (``themes``, ``sentences``, ...) arrive as lists and dicts. A CSV written by this
product stores nested fields as JSON text; :func:`decode_nested` turns them back into lists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError, InputFormatError
from analyzer.io.formats import FileFormat, detect_format
from analyzer.io.text_readers import (
    READ_ERROR_COL,
    RESERVED_COLUMNS,
    SOURCE_LINE_COL,
    SOURCE_ROW_COL,
    RawChunk,
    ReadPosition,
    iter_csv,
    iter_jsonl,
    open_binary,
)
from analyzer.schema import NESTED_FIELDS

__all__ = ["count_rows", "decode_nested", "iter_chunks", "iter_raw_chunks", "read_table"]

_DEFAULT_CHUNK_ROWS = 2000


def _native(value: Any) -> Any:
    """Arrow list/struct cells come out of pandas as numpy arrays: make them plain lists."""
    if isinstance(value, np.ndarray):
        return [_native(v) for v in value.tolist()]
    if isinstance(value, dict):
        return {k: _native(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_native(v) for v in value]
    return value


def _textual(col: pd.Series) -> bool:
    """Object or string dtype (pandas 3 stores text as its own ``str`` dtype)."""
    return bool(pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype))


def decode_nested(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested columns (:data:`analyzer.schema.NESTED_FIELDS`) read from CSV as JSON text -> lists/dicts.

    Cells already native are kept; an empty cell becomes an empty list; a cell that is not valid
    JSON is left as it is (the validation then rejects the row with a reason).
    """
    cols = [c for c in frame.columns if c in NESTED_FIELDS and _textual(frame[c])]
    if not cols:
        return frame
    frame = frame.copy()
    for c in cols:
        frame[c] = pd.Series([_decode_cell(v) for v in frame[c]], index=frame.index, dtype=object)
    return frame


def _decode_cell(value: Any) -> Any:
    if not isinstance(value, str):
        return _native(value)
    text = value.strip()
    if not text:
        return []
    if text[0] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return value
    return value


def _iter_parquet(path: Path, chunk_rows: int, start: ReadPosition) -> Iterator[RawChunk]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputFormatError(f"{path.name!r} is not a readable Parquet file: {exc}") from exc
    clash = [n for n in pf.schema_arrow.names if n in RESERVED_COLUMNS]
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
        for field in batch.schema:
            col = field.name
            # String columns: nulls become "" so every reader hands over the same contract. Other
            # types (numbers, binary, lists, structs) stay native; the validation checks them.
            if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
                frame[col] = frame[col].astype(object).where(frame[col].notna(), "")
            elif frame[col].dtype == object:
                frame[col] = frame[col].map(_native)
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
        return iter_jsonl(p, ff, chunk_rows, begin, encoding)
    return iter_csv(p, ff, chunk_rows, begin, encoding, delimiter)


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
    with open_binary(p, ff.gzip) as fh:
        if not fh.read(1):
            return pd.DataFrame()
    frame = pd.read_csv(
        p, sep="\t" if ff.format == "tsv" else ",", dtype=str, keep_default_na=False,
        compression="gzip" if ff.gzip else None,
    )
    return decode_nested(frame)


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
