"""Resumable, durable writers for batch outputs (CSV/TSV, JSONL, Parquet, gzip).

Writers append one chunk at a time and report a :class:`WriterState` (bytes written or parts
written) after an fsync; :meth:`ChunkWriter.open` with a saved state truncates the file back to
it, which is what makes a killed run resumable without duplicated or lost rows.

One record shape: lists and dicts stay lists and structs in Parquet and arrays and objects in
JSONL; CSV, which has no nesting, gets JSON text. CSV cells that a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) are neutralised with a
leading apostrophe (OWASP's advice), unless the cell is a plain number. Files are private (0600).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from analyzer.errors import ConfigError, InputFormatError
from analyzer.io.durable import PRIVATE_FILE_MODE, fsync_dir, make_private_dir, make_private_file
from analyzer.io.formats import FileFormat

__all__ = ["ChunkWriter", "WriterState", "conform", "neutralize_formulas", "to_jsonable"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?$")


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def neutralize_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would evaluate as formulas get a leading apostrophe (CSV outputs only)."""
    cols = [c for c in frame.columns if pd.api.types.is_object_dtype(frame[c].dtype)
            or pd.api.types.is_string_dtype(frame[c].dtype)]
    if not cols:
        return frame
    frame = frame.copy()
    for c in cols:
        frame[c] = pd.Series([_neutral(v) for v in frame[c]], index=frame.index, dtype=object)
    return frame


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
        make_private_dir(self.path.parent)
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
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE))
            make_private_file(self.path)
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
        make_private_dir(self.parts_dir)
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
            text = "".join(json.dumps(to_jsonable(rec), ensure_ascii=False, default=str) + "\n"
                           for rec in frame.to_dict("records"))
        else:
            frame = neutralize_formulas(_json_cells(frame))
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
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE), "wb") as fh:
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
                    writer.write_table(conform(pq.read_table(p), schema))
        else:
            pq.write_table(pa.table({}), tmp)
        make_private_file(tmp)
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


def conform(table: Any, schema: Any) -> Any:
    """Cast a part to the unified schema; columns a part lacks become nulls."""
    import pyarrow as pa

    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)


_PART_RE = re.compile(r"^part-(\d{6})\.parquet$")


def _part_index(name: str) -> int | None:
    m = _PART_RE.match(name)
    return int(m.group(1)) if m else None



def to_jsonable(record: dict) -> dict:
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
