"""``darkfeedback analyze``: the batch command (a thin adapter over :mod:`analyzer.batch`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from analyzer.cli.common import (
    DayFirstOption,
    ExitCode,
    FileFormatOption,
    TimezoneOption,
    err,
    fail,
    out,
    timestamp_policy,
)
from analyzer.errors import AnalyzerError

if TYPE_CHECKING:
    from analyzer.batch import BatchSummary, ProcessFn
    from analyzer.settings import Settings

__all__ = ["analyze"]


class PipelineOption(StrEnum):
    full = "full"
    light = "light"


class EngineOption(StrEnum):
    local = "local"
    ray = "ray"


def _settings(taxonomy: Path | None) -> Settings:
    from analyzer.settings import get_settings

    settings = get_settings()
    return settings.model_copy(update={"taxonomy": taxonomy}) if taxonomy else settings


def _load_process(pipeline: PipelineOption, settings: Settings) -> ProcessFn:
    from analyzer.batch import light_process

    if pipeline is PipelineOption.light:
        return light_process
    from analyzer.text.pipeline import load_analyzer  # lazy: loads models only when analyzing

    return load_analyzer(settings).analyze_frame


def _print_summary(summary: BatchSummary) -> None:
    table = Table(title="darkfeedback analyze", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("rows written", f"{summary.rows_written:,}")
    table.add_row("rows rejected", f"{summary.rows_rejected:,} ({summary.reject_rate:.1%})")
    for reason, n in summary.rejected_by_reason.items():
        table.add_row(f"  {reason}", f"{n:,}")
    if summary.resumed_from:
        table.add_row("resumed after", f"{summary.resumed_from:,}")
    table.add_row("rows per second", f"{summary.rows_per_s:,.0f}")
    table.add_row("elapsed", f"{summary.elapsed_s:,.1f} s")
    table.add_row("output", escape(summary.output_path))
    if summary.rows_rejected:
        table.add_row("rejected rows", escape(summary.rejected_path))
    out.print(table)


def analyze(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT",
        help="CSV/TSV, JSONL or Parquet file (.gz ok); with --engine ray also a directory of shards.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Output file; its extension sets the format (a directory with --engine ray).")],
    fmt: Annotated[FileFormatOption | None, typer.Option(
        "--format", help="Input format (default: from INPUT's extension).")] = None,
    out_fmt: Annotated[FileFormatOption | None, typer.Option(
        "--output-format", help="Output format (default: OUTPUT's extension, else the input's).")] = None,
    text_col: Annotated[str | None, typer.Option(
        "--text-col", help="Column with the message text (default: text).")] = None,
    customer_col: Annotated[str | None, typer.Option(
        "--customer-col", help="Column with the customer id (default: customer_id).")] = None,
    timestamp_col: Annotated[str | None, typer.Option(
        "--timestamp-col", help="Column with the message time (default: timestamp).")] = None,
    channel_col: Annotated[str | None, typer.Option(
        "--channel-col", help="Column with the channel (default: channel).")] = None,
    id_col: Annotated[str | None, typer.Option(
        "--id-col", help="Column with the message id (default: message_id; else made from the row number).")] = None,
    rejected: Annotated[Path | None, typer.Option(
        "--rejected", help="Rejected-rows file (default: OUTPUT stem + .rejected + extension).")] = None,
    chunk_rows: Annotated[int | None, typer.Option(
        "--chunk-rows", min=1, help="Rows per chunk (default: DARKFEEDBACK_CHUNK_ROWS, 2000).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of CSV/JSONL input.")] = "utf-8",
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", help="CSV delimiter (default: guessed from the header among , ; tab |).")] = None,
    dayfirst: DayFirstOption = True,
    timezone: TimezoneOption = "UTC",
    taxonomy: Annotated[Path | None, typer.Option(
        "--taxonomy", help="Your own theme taxonomy (YAML like analyzer/resources/taxonomy.yaml).")] = None,
    max_reject_rate: Annotated[float, typer.Option(
        "--max-reject-rate", min=0.0, max=1.0,
        help="Exit with code 3 when more than this share of rows is rejected (a run that rejects every row "
             "always does).")] = 0.5,
    no_resume: Annotated[bool, typer.Option(
        "--no-resume", help="Start over even if an interrupted run left a checkpoint.")] = False,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="Hide the progress bar.")] = False,
    pipeline: Annotated[PipelineOption, typer.Option(
        "--pipeline", envvar="DARKFEEDBACK_PIPELINE", hidden=True,
        help="'light' replaces the models by a length+hash stand-in (testing).")] = PipelineOption.full,
    engine: Annotated[EngineOption, typer.Option(
        "--engine", help="'local': this process; 'ray': a Ray cluster (pip install 'dark-feedback[ray]'); "
        "INPUT may then be a directory of shards and OUTPUT is a directory of Parquet shards.")] = EngineOption.local,
    address: Annotated[str | None, typer.Option(
        "--address", envvar="RAY_ADDRESS",
        help="Ray cluster to join (e.g. ray://head:10001 or head:6379); default: start a local Ray.")] = None,
    workers: Annotated[int, typer.Option(
        "--workers", min=1, help="Ray engine: model workers (actors), each loads the models once.")] = 1,
    cpus_per_worker: Annotated[float, typer.Option(
        "--cpus-per-worker", min=0.1, help="Ray engine: CPUs (and inference threads) per worker.")] = 1.0,
) -> None:
    """Analyze every message of INPUT into OUTPUT (same rows, same order), streaming and resumable.

    Each message gets its language, redacted text, sentiment (calibrated probabilities, per
    sentence too) and complaint themes with evidence. Invalid rows go to a rejected-rows file with
    a reason. If the run is interrupted, run the same command again to continue where it stopped.

    **Example**

        darkfeedback analyze chats.csv -o analysed.parquet --text-col body --timezone Europe/Madrid

    **Exit codes**: 0 done; 2 bad input or option (the message says how to fix it); 3 more rows
    rejected than --max-reject-rate (or every row); 130 interrupted (run it again to resume).
    """
    from pydantic import ValidationError

    from analyzer.batch import BatchSpec, ColumnMapping, LocalEngine

    given = {"text": text_col, "customer_id": customer_col, "timestamp": timestamp_col,
             "channel": channel_col, "message_id": id_col}
    try:
        mapping = ColumnMapping(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fail(f"Invalid column option: {exc.errors()[0]['msg']} (column names cannot be empty).")
    delim = delimiter.replace("\\t", "\t") if delimiter else None
    if delim is not None and len(delim) != 1:
        fail(f"--delimiter must be one character (use '\\t' for tab), got {delimiter!r}.")
    policy = timestamp_policy(dayfirst, timezone)
    try:
        settings = _settings(taxonomy)
        spec = BatchSpec(input_path, output, rejected=rejected, fmt=fmt.value if fmt else None,
                         out_fmt=out_fmt.value if out_fmt else None, mapping=mapping,
                         chunk_rows=chunk_rows or settings.chunk_rows, encoding=encoding, delimiter=delim,
                         timestamps=policy, max_text_chars=settings.max_text_chars,
                         max_reject_rate=max_reject_rate, resume=not no_resume, progress=not no_progress)
        if engine is EngineOption.ray:
            from analyzer.batch.process import load_light_process, load_text_process
            from analyzer.batch.ray_engine import RayEngine

            factory = load_light_process if pipeline is PipelineOption.light else load_text_process
            summary = RayEngine(address, num_workers=workers, cpus_per_worker=cpus_per_worker,
                                settings=settings).run(spec, factory)
        else:
            summary = LocalEngine().run(spec, _load_process(pipeline, settings))
    except AnalyzerError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("Interrupted. Run the same command again to continue where it stopped.", ExitCode.INTERRUPTED)
    _print_summary(summary)
    if summary.too_many_rejected:
        what = "every row" if summary.rows_written == 0 else f"{summary.reject_rate:.1%} of the rows"
        err.print(f"[bold red]error:[/bold red] {what} rejected (limit {summary.max_reject_rate:.0%}); see "
                  f"{escape(summary.rejected_path)} for the reasons.", soft_wrap=True)
        raise typer.Exit(int(ExitCode.TOO_MANY_REJECTED))
