"""Alerts from files: the batch entry point behind ``darkfeedback alerts`` (and the Python API).

:func:`run_alerts` reads analysed messages (the output of ``darkfeedback analyze``), events and an
optional customers table from CSV/TSV, JSONL or Parquet (``.gz`` for the text formats) with the
batch command's readers, fits the foresight model on that history (or uses a saved one), and
writes the alerts and, with ``risk_output``, every customer's ranked risk. Bad rows never stop
the run: unreadable records and invalid ones are listed with their table, source row and reason,
never with their content.

    from analyzer.foresight import run_alerts
    run = run_alerts("analysed.csv", "events.parquet", "customers.csv", "alerts.jsonl", lang="en")
    run.alerts, run.rejected, run.summary()
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd

from analyzer.errors import InputFormatError
from analyzer.foresight.alerts import AlertResult, compute_alerts_detailed
from analyzer.foresight.config import ForesightConfig
from analyzer.foresight.model import ForesightModel, prepare_inputs, resolve_as_of
from analyzer.foresight.rules import RuleTable, load_rules
from analyzer.foresight.validate import empty_rejected
from analyzer.io import TimestampPolicy, split_extension
from analyzer.schema import REJECTED_COLUMNS, SEVERITIES

__all__ = ["RISK_COLUMNS", "AlertRun", "read_input_table", "risk_table", "run_alerts", "write_table"]

Source: TypeAlias = str | os.PathLike[str] | pd.DataFrame

RISK_COLUMNS: tuple[str, ...] = (
    "rank", "customer_id", "risk", "odds_ratio", "severity", "lapsed", "urgent", "value_tier", "segment",
    "days_inactive", "last_activity", "reasons",
)
"""The ranked risk of every customer (``--risk-output``, ``GET /v1/customers?sort=risk``)."""


@dataclass(frozen=True)
class AlertRun:
    """What :func:`run_alerts` did: the alerts, the states, the rows set aside and where the files went."""

    result: AlertResult
    rows_read: dict[str, int]
    rejected: pd.DataFrame  # analyzer.schema.REJECTED_COLUMNS
    output_path: str | None = None
    rejected_path: str | None = None
    risk_path: str | None = None
    model_path: str | None = None
    opted_out: int = 0

    @property
    def alerts(self) -> pd.DataFrame:
        return self.result.alerts

    @property
    def model(self) -> ForesightModel:
        return self.result.model

    def summary(self) -> dict[str, Any]:
        """Counts for the terminal table and the JSON summary (everything adds up)."""
        alerts, states, report = self.alerts, self.result.states, self.model.report_
        return {
            "as_of": self.result.as_of.isoformat(),
            "rows_read": dict(self.rows_read),
            "rows_rejected": len(self.rejected),
            "rejected_by_reason": dict(Counter(f"{t}: {r}" for t, r in
                                               zip(self.rejected["table"], self.rejected["reason"], strict=True))),
            "customers_profiled": len(states),
            "customers_lapsed": int(states["lapsed"].sum()) if len(states) else 0,
            "customers_opted_out": self.opted_out,
            "customers_by_severity": {s: int((states["severity"] == s).sum()) for s in SEVERITIES} if len(states)
            else {},
            "alerts": len(alerts),
            "alerts_by_severity": {str(k): int(v) for k, v in alerts["severity"].value_counts().items()},
            "alerts_by_action": {str(k): int(v) for k, v in alerts["action"].value_counts().items()},
            "suppressed": len(self.result.suppressed),
            "model": {"source": report.source, "horizon_days": self.model.horizon_days_,
                      "base_rate": round(self.model.base_rate_, 4), "cutoffs": len(report.cutoffs),
                      "examples": report.examples, "roc_auc": report.roc_auc, "brier": report.brier,
                      "why": report.why, "saved_to": self.model_path},
            "output": self.output_path,
            "risk_output": self.risk_path,
            "rejected_file": self.rejected_path,
        }


def read_input_table(source: Source, table: str, *, encoding: str = "utf-8") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one input (path or DataFrame) into ``(frame, unreadable)``.

    ``frame`` keeps the readers' ``_source_row``/``_source_line`` columns so that later rejections
    name the right row; nested fields stored as JSON text in CSV become lists again.
    """
    from analyzer.io import (
        READ_ERROR_COL,
        SOURCE_LINE_COL,
        SOURCE_ROW_COL,
        decode_nested,
        detect_format,
        iter_chunks,
    )

    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True).copy()
        frame[SOURCE_ROW_COL] = range(len(frame))
        return frame, empty_rejected()
    path = Path(source)
    if not path.is_file():
        raise InputFormatError(f"{table}: file {str(path)!r} does not exist or is not a file.")
    chunks = list(iter_chunks(path, encoding=encoding))
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame()
    if frame.empty and READ_ERROR_COL not in frame.columns:
        return frame, empty_rejected()
    err = frame[READ_ERROR_COL].astype(str)
    bad = frame.loc[err != ""]
    unreadable = pd.DataFrame({
        "table": table, "source_file": "", "source_row": bad[SOURCE_ROW_COL].astype("int64").to_numpy(),
        "source_line": bad[SOURCE_LINE_COL].astype("int64").to_numpy(), "record_id": "",
        "reason": err.loc[bad.index].to_numpy(), "column": "",
        "message": [f"the record could not be read ({reason})" for reason in err.loc[bad.index]],
    }, columns=list(REJECTED_COLUMNS)) if len(bad) else empty_rejected()
    frame = frame.loc[err == ""].drop(columns=[READ_ERROR_COL]).reset_index(drop=True)
    if detect_format(path).format != "parquet":
        # Text formats: an empty cell means "no value", as in the batch command; nested JSON text -> lists.
        frame = decode_nested(frame.replace({"": None}))
    return frame, unreadable


def _hint_unanalysed(messages: pd.DataFrame) -> None:
    if "text" in messages.columns and "sentiment_label" not in messages.columns:
        raise InputFormatError(
            "messages: this looks like raw messages (a 'text' column, no 'sentiment_label'); analyse them "
            "first with `darkfeedback analyze MESSAGES -o analysed.csv` and pass the analysed file.")


def risk_table(states: pd.DataFrame) -> pd.DataFrame:
    """Every customer, riskiest first (lapsed customers last), in :data:`RISK_COLUMNS`."""
    if states.empty:
        return pd.DataFrame(columns=list(RISK_COLUMNS))
    s = states.reset_index(drop=True).sort_values(["lapsed", "risk", "customer_id"], ascending=[True, False, True],
                                                  kind="stable")
    s = s.assign(rank=range(1, len(s) + 1))
    return s[list(RISK_COLUMNS)].reset_index(drop=True)


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write alerts or a risk table as JSONL, CSV/TSV (nested fields as JSON text) or Parquet (native)."""
    from analyzer.io import ChunkWriter, detect_format

    p = Path(path)
    ff = detect_format(p)
    out = frame.copy()
    out.attrs = {}
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].astype(object).where(out[col].notna(), None)
    writer = ChunkWriter(p, ff).open()
    try:
        if out.empty and ff.format in ("csv", "tsv"):
            writer.close()
            sep = "\t" if ff.format == "tsv" else ","
            p.write_text(sep.join(out.columns) + "\n", encoding="utf-8")
        elif out.empty and ff.format == "parquet":
            writer.close()
            out.astype(str).to_parquet(p)
            return p
        else:
            writer.write(out)
    finally:
        writer.finalize()
    return p


def run_alerts(messages: Source | None, events: Source | None, customers: Source | None = None,
               output: str | os.PathLike[str] | None = None, *, lang: str = "es", as_of: Any = None,
               rules: RuleTable | str | os.PathLike[str] | None = None, model: ForesightModel | str | os.PathLike[str]
               | None = None, history: Source | None = None, rejected_path: str | os.PathLike[str] | None = None,
               risk_output: str | os.PathLike[str] | None = None, save_model: str | os.PathLike[str] | None = None,
               config: ForesightConfig | None = None, timestamps: TimestampPolicy | None = None,
               encoding: str = "utf-8") -> AlertRun:
    """Read the inputs, fit (or load) the model, compute the alerts and write what was asked for.

    - ``messages``: analysed messages; ``events``: behaviour events; ``customers``: optional.
      Paths or DataFrames.
    - ``output``: alerts as ``.jsonl``, ``.csv``/``.tsv`` or ``.parquet``; rejected rows go to
      ``rejected_path`` (default ``<output stem>.rejected.csv``), only when there are some.
    - ``risk_output``: every customer's risk, riskiest first (:data:`RISK_COLUMNS`).
    - ``model``: a fitted model or the path of a saved one; default: fitted on these inputs
      (``save_model`` keeps it). ``history``: earlier alert files (the cooldown holds across runs).
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
    rule_table = rules if isinstance(rules, RuleTable) else load_rules(Path(rules) if rules is not None else None)
    fitted = ForesightModel.load(model) if isinstance(model, str | os.PathLike) else model
    inputs = prepare_inputs(frames.get("messages"), frames.get("events"), frames.get("customers"), timestamps)
    result = compute_alerts_detailed(None, None, None, as_of=resolve_as_of(inputs, as_of), lang=lang, model=fitted,
                                     rules=rule_table, history=hist, config=config, inputs=inputs)
    parts = [r for r in (*unreadable, result.rejected) if not r.empty]
    rejected = pd.concat(parts, ignore_index=True) if parts else empty_rejected()
    n_bad = Counter(str(t) for u in unreadable for t in u["table"])
    rows_read = {t: int(len(f) + n_bad.get(t, 0)) for t, f in frames.items()}
    out_path = rej_path = risk_path = model_path = None
    if output is not None:
        out_path = str(write_table(result.alerts, output))
        if len(rejected):
            stem, _ = split_extension(output)
            rp = Path(rejected_path) if rejected_path is not None else Path(output).with_name(stem + ".rejected.csv")
            write_table(rejected, rp)
            rej_path = str(rp)
    if risk_output is not None:
        risk_path = str(write_table(risk_table(result.states), risk_output))
    if save_model is not None:
        model_path = str(result.model.save(save_model))
    return AlertRun(result, rows_read, rejected, out_path, rej_path, risk_path, model_path, len(inputs.opted_out))
