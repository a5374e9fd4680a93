"""Alerts from files: the batch entry point behind ``darkfeedback alerts`` (and the Python API).

:func:`run_alerts` reads analysed messages (the output of ``darkfeedback analyze``), events and
an optional customers table from CSV/TSV, JSONL or Parquet (``.gz`` for the text formats) with
the same readers as the batch command, calls :func:`~analyzer.foresight.alerts.compute_alerts_detailed`
and writes the alerts (JSONL, CSV/TSV or Parquet, from the output's extension) plus a
rejected-rows file. Bad rows never stop the run: unreadable records (``undecodable``,
``bad_json``, ``malformed_row``) and invalid ones (``bad_timestamp``, ``unknown_event_type``, ...)
are listed with their table, source row and reason, never with their content.

Inputs may also be DataFrames, so the same function serves notebooks::

    from analyzer.foresight import run_alerts
    run = run_alerts("analysed.csv", "events.parquet", "customers.csv", "alerts.jsonl", lang="en")
    run.alerts, run.rejected, run.summary()
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from analyzer.errors import InputFormatError
from analyzer.foresight.alerts import AlertResult, RuleTable, compute_alerts_detailed
from analyzer.foresight.fusion import RiskModel
from analyzer.foresight.schemas import REJECTED_COLUMNS

__all__ = ["AlertRun", "read_input_table", "run_alerts", "write_alerts"]

Source: TypeAlias = str | os.PathLike[str] | pd.DataFrame


@dataclass(frozen=True)
class AlertRun:
    """What :func:`run_alerts` did: the alerts, the rows set aside and where the files went."""

    result: AlertResult
    rows_read: dict[str, int]
    rejected: pd.DataFrame          # table, row (0-based source row), reason, message
    output_path: str | None = None
    rejected_path: str | None = None
    opted_out: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alerts(self) -> pd.DataFrame:
        return self.result.alerts

    def summary(self) -> dict[str, Any]:
        """Counts for the terminal table and the JSON summary (everything adds up)."""
        alerts = self.alerts
        return {
            "as_of": self.result.as_of.isoformat(),
            "rows_read": dict(self.rows_read),
            "rows_rejected": len(self.rejected),
            "rejected_by_reason": dict(Counter(f"{t}: {r}" for t, r in
                                               zip(self.rejected["table"], self.rejected["reason"], strict=True))),
            "customers_profiled": len(self.result.risk),
            "customers_opted_out": self.opted_out,
            "alerts": len(alerts),
            "alerts_by_severity": {str(k): int(v) for k, v in alerts["severity"].value_counts().items()},
            "alerts_by_action": {str(k): int(v) for k, v in alerts["action"].value_counts().items()},
            "suppressed_by_cooldown": len(self.result.suppressed),
            "output": self.output_path,
            "rejected_file": self.rejected_path,
        }


def read_input_table(source: Source, table: str, *, encoding: str = "utf-8") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one input (path or DataFrame) into ``(frame, unreadable)``.

    ``frame`` has a ``_source_row`` column (0-based record number in the file) so that later
    rejections can point at the right row; ``unreadable`` lists records the reader could not
    parse, in :data:`~analyzer.foresight.schemas.REJECTED_COLUMNS`.
    """
    from analyzer.io import READ_ERROR_COL, SOURCE_LINE_COL, SOURCE_ROW_COL, detect_format, iter_chunks

    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        frame[SOURCE_ROW_COL] = range(len(frame))
        return frame, pd.DataFrame(columns=list(REJECTED_COLUMNS))
    path = Path(source)
    if not path.is_file():
        raise InputFormatError(f"{table}: file {str(path)!r} does not exist or is not a file.")
    chunks = list(iter_chunks(path, encoding=encoding))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    if frame.empty and READ_ERROR_COL not in frame.columns:
        return frame, pd.DataFrame(columns=list(REJECTED_COLUMNS))
    err = frame[READ_ERROR_COL].astype(str)
    bad = frame.loc[err != ""]
    unreadable = pd.DataFrame({
        "table": table, "row": bad[SOURCE_ROW_COL].astype(int).to_numpy(), "reason": err.loc[bad.index].to_numpy(),
        "message": [f"record starting on line {int(line)} could not be read ({reason})" if int(line) > 0
                    else f"record could not be read ({reason})"
                    for line, reason in zip(bad[SOURCE_LINE_COL], err.loc[bad.index], strict=True)],
    }, columns=list(REJECTED_COLUMNS))
    frame = frame.loc[err == ""].drop(columns=[READ_ERROR_COL, SOURCE_LINE_COL]).reset_index(drop=True)
    # Text formats give strings only: an empty cell means "no value", as in the batch command.
    if detect_format(path).format != "parquet":
        frame = frame.replace({"": None})
    return frame, unreadable


def _hint_unanalysed(messages: pd.DataFrame) -> None:
    if "text" in messages.columns and "sentiment_label" not in messages.columns:
        raise InputFormatError(
            "messages: this looks like raw messages (a 'text' column, no 'sentiment_label'); analyse them "
            "first with `darkfeedback analyze MESSAGES -o analysed.csv` and pass the analysed file.")


def _source_rows(rejected: pd.DataFrame, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Map validation row positions back to source rows of each file."""
    from analyzer.io import SOURCE_ROW_COL

    out = rejected.copy()
    for table, frame in frames.items():
        mask = out["table"] == table
        if mask.any() and SOURCE_ROW_COL in frame.columns:
            src = frame[SOURCE_ROW_COL].to_numpy()
            out.loc[mask, "row"] = [int(src[int(i)]) for i in out.loc[mask, "row"]]
    return out


def write_alerts(alerts: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write alerts as JSONL, CSV/TSV (reasons as JSON text) or Parquet, from the extension."""
    from analyzer.io import ChunkWriter, detect_format

    p = Path(path)
    ff = detect_format(p)
    frame = alerts.copy()
    frame.attrs = {}  # compute_alerts hangs its rejected rows here; not part of the file
    frame["segment"] = frame["segment"].astype(object).where(frame["segment"].notna(), None)
    if ff.format == "parquet":
        # Reasons carry free-form evidence dicts: one JSON text per cell keeps the schema stable.
        frame["reasons"] = [json.dumps(r, ensure_ascii=False, default=str) for r in frame["reasons"]]
    else:
        frame["reasons"] = [json.loads(json.dumps(r, ensure_ascii=False, default=str)) for r in frame["reasons"]]
    writer = ChunkWriter(p, ff).open()
    try:
        if frame.empty:
            # An empty result is still a valid file with the header (CSV) or no lines (JSONL).
            if ff.format in ("csv", "tsv"):
                sep = "\t" if ff.format == "tsv" else ","
                p.write_text(sep.join(frame.columns) + "\n", encoding="utf-8")
            elif ff.format == "parquet":
                frame.astype(str).to_parquet(p)
                return p
        else:
            writer.write(frame)
    finally:
        writer.finalize()
    return p


def _default_rejected_path(output: Path) -> Path:
    name = output.name
    for ext in (".jsonl.gz", ".csv.gz", ".tsv.gz", ".jsonl", ".csv", ".tsv", ".parquet"):
        if name.endswith(ext):
            return output.with_name(name[: -len(ext)] + ".rejected.csv")
    return output.with_name(name + ".rejected.csv")


def run_alerts(messages: Source | None, events: Source | None, customers: Source | None = None,
               output: str | os.PathLike[str] | None = None, *, lang: str = "es", as_of: Any = None,
               rules: RuleTable | str | os.PathLike[str] | None = None, model: RiskModel | None = None,
               history: Source | None = None, rejected_path: str | os.PathLike[str] | None = None,
               encoding: str = "utf-8") -> AlertRun:
    """Read the inputs, compute the alerts and (with ``output``) write them and the rejected rows.

    - ``messages``: analysed messages (``darkfeedback analyze`` output); ``events``: behaviour
      events; ``customers``: optional (``segment``, ``value_tier``, ``opt_out``). Paths or DataFrames.
    - ``output``: ``.jsonl``, ``.csv``/``.tsv`` or ``.parquet``; rejected rows go to
      ``rejected_path`` (default ``<output stem>.rejected.csv``), only when there are some.
    - ``history``: earlier alert files, so the cooldown holds across runs.

    Everything else is as in :func:`~analyzer.foresight.alerts.compute_alerts`.
    Raises :class:`~analyzer.errors.InputFormatError` for a missing file or required column.
    """
    frames: dict[str, pd.DataFrame] = {}
    unreadable: list[pd.DataFrame] = []
    for table, src in (("messages", messages), ("events", events), ("customers", customers)):
        if src is not None:
            frames[table], bad = read_input_table(src, table, encoding=encoding)
            unreadable.append(bad)
    if "messages" in frames:
        _hint_unanalysed(frames["messages"])
    hist = read_input_table(history, "history", encoding=encoding)[0] if history is not None else None
    # Extra columns (the reader's ``_source_row``) travel through the validation untouched.
    rule_table = rules if rules is None or isinstance(rules, RuleTable | str) else Path(rules)
    result = compute_alerts_detailed(frames.get("messages"), frames.get("events"), frames.get("customers"),
                                     as_of=as_of, lang=lang, model=model, rules=rule_table, history=hist)
    rejected = pd.concat([r for r in [*unreadable, _source_rows(result.rejected, frames)] if not r.empty]
                         or [pd.DataFrame(columns=list(REJECTED_COLUMNS))], ignore_index=True)
    n_bad = Counter(str(t) for u in unreadable for t in u["table"])
    rows_read = {t: int(len(f) + n_bad.get(t, 0)) for t, f in frames.items()}
    opted_out = 0
    if "customers" in frames and "opt_out" in frames["customers"].columns:
        from analyzer.foresight.schemas import validate_customers

        cust = validate_customers(frames["customers"]).valid
        opted_out = int(cust["opt_out"].sum())
    out_path = rej_path = None
    if output is not None:
        out_path = str(write_alerts(result.alerts, output))
        if len(rejected):
            rp = Path(rejected_path) if rejected_path is not None else _default_rejected_path(Path(output))
            rp.parent.mkdir(parents=True, exist_ok=True)
            rejected.to_csv(rp, index=False)
            rej_path = str(rp)
    return AlertRun(result, rows_read, rejected, out_path, rej_path, opted_out)
