"""Batch engines: resumable, constant-memory analysis of files of any size, locally or on Ray.

    from analyzer.batch import BatchSpec, LocalEngine, run_batch
    summary = run_batch("messages.csv", "analysed.parquet", process=analyzer.load_analyzer().analyze_frame)

Both engines share the plan (:mod:`~analyzer.batch.spec`), the validation
(:mod:`~analyzer.batch.validate`), the processing contract (:mod:`~analyzer.batch.process`),
the checkpoints (:mod:`~analyzer.batch.checkpoint`) and the summary (:mod:`~analyzer.batch.summary`).
The Ray engine lives in :mod:`analyzer.batch.ray_engine` (optional ``ray`` extra).
"""

from __future__ import annotations

from analyzer.batch.engine import Engine
from analyzer.batch.local import LocalEngine, run_batch
from analyzer.batch.process import ProcessFactory, ProcessFn, light_process, run_process
from analyzer.batch.spec import BatchPlan, BatchSpec, ColumnMapping, default_rejected_path, plan
from analyzer.batch.summary import BatchSummary
from analyzer.batch.validate import CANONICAL_COLUMNS, REJECT_REASONS, ValidatedChunk, validate_chunk

__all__ = [
    "CANONICAL_COLUMNS",
    "REJECT_REASONS",
    "BatchPlan",
    "BatchSpec",
    "BatchSummary",
    "ColumnMapping",
    "Engine",
    "LocalEngine",
    "ProcessFactory",
    "ProcessFn",
    "ValidatedChunk",
    "default_rejected_path",
    "light_process",
    "plan",
    "run_batch",
    "run_process",
    "validate_chunk",
]
