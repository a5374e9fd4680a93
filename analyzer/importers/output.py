"""Writing an import: the canonical tables in one folder, merged with what earlier imports left there.

``DIR/messages.<ext>``, ``DIR/events.<ext>`` and ``DIR/customers.<ext>`` (CSV by default, or JSONL or
Parquet) hold every source imported into DIR: a new import adds its rows, and a row whose id is
already there (the same export imported twice, or an overlapping later export) is kept once, so
re-running an import changes nothing. A customer met in several sources is one row; the first
value of each field wins and later sources fill the gaps. ``DIR/rejected-<source>.csv`` and
``DIR/summary-<source>.json`` describe the latest import of each source. Files are private (0600),
replaced atomically; CSV cells a spreadsheet would run as formulas get a leading apostrophe.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.errors import ConfigError
from analyzer.importers.base import IMPORTED_CUSTOMER_COLUMNS, IMPORTED_EVENT_COLUMNS, ImportResult
from analyzer.io import make_private_dir, neutralize_formulas, read_table
from analyzer.io.durable import PRIVATE_FILE_MODE, fsync_dir
from analyzer.schema import MESSAGE_INPUT_COLUMNS, REJECTED_COLUMNS

__all__ = ["OUTPUT_FORMATS", "table_path", "write_import"]

OUTPUT_FORMATS = ("csv", "jsonl", "parquet")
_TABLES: dict[str, tuple[tuple[str, ...], str]] = {
    "messages": (MESSAGE_INPUT_COLUMNS, "message_id"),
    "events": (IMPORTED_EVENT_COLUMNS, "event_id"),
    "customers": (IMPORTED_CUSTOMER_COLUMNS, "customer_id"),
}


def table_path(out_dir: Path, table: str, fmt: str = "csv") -> Path:
    return Path(out_dir) / f"{table}.{fmt}"


def _write(frame: pd.DataFrame, path: Path, fmt: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
    os.close(fd)
    if fmt == "csv":
        neutralize_formulas(frame).to_csv(tmp, index=False)
    elif fmt == "jsonl":
        frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
    else:
        out = frame.copy()
        if "value" in out and path.stem == "events":  # amounts, scores and ticket ids share the column
            out["value"] = [None if v is None or v != v else str(v) for v in out["value"]]
        out.astype(object).where(out.notna(), None).to_parquet(tmp, index=False)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def _merge(old: pd.DataFrame, new: pd.DataFrame, columns: tuple[str, ...], key: str, table: str) -> pd.DataFrame:
    for c in columns:
        for f in (old, new):
            if c not in f:
                f[c] = None
    old = old[list(columns)].astype(object).where(old[list(columns)].notna(), None)
    new = new[list(columns)]
    if table != "customers":
        both = pd.concat([old, new], ignore_index=True)
        both[key] = both[key].astype(str)
        return both.drop_duplicates(subset=[key], keep="first").reset_index(drop=True)
    merged: dict[str, dict[str, Any]] = {}
    for rec in [*old.to_dict("records"), *new.to_dict("records")]:
        have = merged.setdefault(str(rec[key]), {key: str(rec[key])})
        if str(rec.get("opt_out")).strip().lower() in ("true", "1"):
            have["opt_out"] = True  # an objection from any source wins: when in doubt, do not profile
        for c in columns[1:]:
            if (have.get(c) is None or have.get(c) == "") and rec.get(c) is not None and rec.get(c) == rec.get(c):
                have[c] = rec[c]
    return pd.DataFrame(list(merged.values()), columns=list(columns))


def write_import(result: ImportResult, out_dir: str | os.PathLike[str], fmt: str = "csv") -> dict[str, Any]:
    """Write (merge) the result into ``out_dir``; return the import's summary with the paths and the
    table sizes after the merge."""
    if fmt not in OUTPUT_FORMATS:
        raise ConfigError(f"output format {fmt!r} is not one of {list(OUTPUT_FORMATS)}.")
    folder = make_private_dir(Path(out_dir))
    written: dict[str, str] = {}
    totals: dict[str, int] = {}
    for table, (columns, key) in _TABLES.items():
        new: pd.DataFrame = getattr(result, table)
        path = table_path(folder, table, fmt)
        old = read_table(path) if path.is_file() and path.stat().st_size else pd.DataFrame(columns=list(columns))
        if new.empty and old.empty:
            continue
        merged = _merge(old, new.copy(), columns, key, table)
        _write(merged, path, fmt)
        written[table] = str(path)
        totals[table] = len(merged)
    safe = result.source.replace(":", "-").replace("/", "-")
    rejected_path = folder / f"rejected-{safe}.csv"
    _write(result.rejected.reindex(columns=list(REJECTED_COLUMNS)), rejected_path, "csv")
    summary = {**result.summary(), "output": {**written, "rejected": str(rejected_path)}, "tables_after_merge": totals}
    summary_path = folder / f"summary-{safe}.json"
    _write_json(summary, summary_path)
    return summary


def _write_json(data: dict[str, Any], path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE), "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, default=str)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
