"""The local engine: resumable, constant-memory batch analysis in this process.

:class:`LocalEngine` streams the input file chunk by chunk (:mod:`analyzer.io`), validates each
chunk into the canonical frame (:func:`~analyzer.batch.validate.validate_chunk`), hands the valid
rows to the ``process`` function (the text pipeline) and appends its results to the output;
invalid rows go to the rejected-rows file with a reason.

Resume: after every chunk, once its output and rejected rows are flushed and fsynced, the
checkpoint ``<output>.checkpoint.json`` is replaced atomically. A rerun with the same input and
options truncates both files back to the checkpoint and continues with the next record, so a
killed run ends with every row exactly once. On success the checkpoint is removed and
``<output>.summary.json`` is written. A damaged input (a truncated or corrupt gzip stream) stops
the run with an :class:`~analyzer.errors.InputFormatError` and leaves no partial output behind.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from analyzer.batch import checkpoint as checkpoints
from analyzer.batch.process import ProcessFn, light_process, run_process
from analyzer.batch.spec import BatchPlan, BatchSpec, ColumnMapping, check_mapping, plan
from analyzer.batch.summary import BatchSummary, check_invariant
from analyzer.batch.validate import validate_chunk
from analyzer.errors import InputFormatError
from analyzer.io import (
    ChunkWriter,
    RawChunk,
    ReadPosition,
    TimestampPolicy,
    WriterState,
    atomic_write_json,
    count_rows,
    fsync_dir,
    iter_raw_chunks,
)
from analyzer.settings import Settings, get_settings

__all__ = ["LocalEngine", "light_process", "progress_bar", "run_batch"]


@contextmanager
def progress_bar(enabled: bool, total: int | None, completed: int, label: str = "analyzing"
                 ) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (silent when disabled or not a terminal); yields ``advance(done)``."""
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
        SpinnerColumn(), TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(),
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


class LocalEngine:
    """Runs a :class:`BatchSpec` in this process (see the module docstring)."""

    name = "local"

    def run(self, spec: BatchSpec, process: ProcessFn) -> BatchSummary:
        t0 = time.perf_counter()
        p = plan(spec)
        assert p.output_format is not None and p.rejected_format is not None
        src, dst = p.files[0], spec.output
        config = p.config()
        saved = checkpoints.load_checkpoint(p.checkpoint, config, resume=spec.resume, output=dst)
        p.summary.unlink(missing_ok=True)

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
            reader = iter_raw_chunks(src, p.input_format, spec.chunk_rows, start=position,
                                     encoding=spec.encoding, delimiter=spec.delimiter)
            first = next(reader, None)
            if first is not None:
                check_mapping(first.frame, spec.mapping, p.input_format, src)
                chunks = itertools.chain([first], reader)

        out_writer = ChunkWriter(dst, p.output_format)
        rej_writer = ChunkWriter(p.rejected, p.rejected_format)
        if not finalizing:
            out_writer.open(out_state)
            rej_writer.open(rej_state)
        elif out_state is not None and rej_state is not None:
            out_writer.adopt(out_state)
            rej_writer.adopt(rej_state)

        def checkpoint(stage: str) -> None:
            check_invariant(rows_read, rows_written, sum(by_reason.values()), by_reason)
            checkpoints.write_checkpoint(p.checkpoint, {
                "config": config, "stage": stage, "position": position.to_dict(),
                "output": out_writer.state.to_dict(), "rejected": rej_writer.state.to_dict(),
                "counts": {"rows_read": rows_read, "rows_written": rows_written,
                           "rows_rejected": sum(by_reason.values()), "rejected_by_reason": by_reason},
            })

        try:
            if not finalizing:
                if saved is None:
                    checkpoint("running")  # a kill during the first chunk resumes from zero
                total = count_rows(src, p.input_format)
                with progress_bar(spec.progress, total, position.row) as advance:
                    for chunk in chunks:
                        part = validate_chunk(chunk.frame, spec.mapping, max_text_chars=spec.max_text_chars,
                                              timestamps=spec.timestamps)
                        out = run_process(process, part.valid)
                        out_writer.write(out)
                        rej_writer.write(part.rejected)
                        rows_read += len(chunk.frame)
                        rows_written += len(out)
                        for code, k in part.rejected["reason"].value_counts().items():
                            by_reason[str(code)] = by_reason.get(str(code), 0) + int(k)
                        position = chunk.end
                        checkpoint("running")
                        advance(position.row)
                        del part, out  # hold at most one chunk
                checkpoint("finalizing")
            out_writer.finalize()
            rej_writer.finalize()
        except InputFormatError:
            # A damaged input met mid-file: nothing half-written stays behind.
            out_writer.close()
            rej_writer.close()
            _remove_outputs(p)
            raise
        finally:
            out_writer.close()
            rej_writer.close()

        elapsed = time.perf_counter() - t0
        summary = BatchSummary(
            rows_read=rows_read, rows_written=rows_written, rows_rejected=sum(by_reason.values()),
            rejected_by_reason=dict(sorted(by_reason.items())), elapsed_s=round(elapsed, 3),
            rows_per_s=round((rows_read - resumed_from) / elapsed, 1) if elapsed > 0 else 0.0,
            resumed_from=resumed_from, input_path=str(spec.input), output_path=str(dst),
            rejected_path=str(p.rejected), engine=self.name, max_reject_rate=spec.max_reject_rate,
        )
        atomic_write_json(p.summary, summary.to_dict())
        p.checkpoint.unlink(missing_ok=True)
        fsync_dir(p.checkpoint.parent)
        return summary


def _remove_outputs(p: BatchPlan) -> None:
    import shutil

    for path in (p.spec.output, p.rejected, p.checkpoint):
        path.unlink(missing_ok=True)
    for path in (p.spec.output, p.rejected):
        shutil.rmtree(path.with_name(path.name + ".parts"), ignore_errors=True)


def spec_from_options(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                      settings: Settings | None = None, **options: Any) -> BatchSpec:
    """A :class:`BatchSpec` from keyword options, with the settings' defaults for chunk size and text limit."""
    settings = settings or get_settings()
    options = {k: v for k, v in options.items() if v is not None}
    if "rejected_path" in options:
        options["rejected"] = Path(options.pop("rejected_path"))
    options.setdefault("chunk_rows", settings.chunk_rows)
    options.setdefault("max_text_chars", settings.max_text_chars)
    options.setdefault("mapping", ColumnMapping())
    options.setdefault("timestamps", TimestampPolicy())
    return BatchSpec(Path(input_path), Path(output_path), **options)


def run_batch(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *, process: ProcessFn,
              settings: Settings | None = None, **options: Any) -> BatchSummary:
    """Analyse ``input_path`` into ``output_path`` with the local engine (what ``darkfeedback analyze`` runs).

    ``options`` are :class:`BatchSpec` fields (``fmt``, ``out_fmt``, ``mapping``, ``rejected_path``,
    ``chunk_rows``, ``resume``, ``progress``, ``encoding``, ``delimiter``, ``timestamps``,
    ``max_reject_rate``); ``process`` receives the canonical frame of each chunk's valid rows and
    returns one row per input row in the same order.

    Raises :class:`InputFormatError` for an unreadable input, a missing text column, or a
    checkpoint made from a different input/options; :class:`ConfigError` for bad arguments or a
    ``process`` that breaks its contract. Rejected rows never raise.
    """
    return LocalEngine().run(spec_from_options(input_path, output_path, settings=settings, **options), process)
