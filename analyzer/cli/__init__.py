"""Command line: ``darkfeedback <command>``.

Each command is a thin adapter in its own module: parse options, call one library function,
print the result. Heavy imports (models, pandas) happen inside commands, so ``darkfeedback
--help`` stays instant. To add a command, write its function in a module here and register it
below. Exit codes (every command): 0 success, 1 internal error (a bug), 2 bad input or option,
3 more rows rejected than allowed, 130 interrupted.
"""

from __future__ import annotations

from typing import Annotated

import typer

from analyzer.cli.alerts import alerts
from analyzer.cli.analyze import analyze
from analyzer.cli.common import ExitCode, out
from analyzer.cli.importer import import_command
from analyzer.cli.models import (
    build_encoder,
    calibrate_onnx,
    evaluate,
    evaluate_foresight,
    train_sentiment,
    train_themes,
)
from analyzer.cli.service import create_key, serve

__all__ = ["ExitCode", "app", "main"]

app = typer.Typer(
    name="darkfeedback",
    help="Read the silent signs of customers about to leave (Spanish and English customer feedback).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        from analyzer import __version__

        out.print(f"darkfeedback {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """dark-feedback: multilingual (es/en) customer-feedback analysis and churn-risk alerts.

    Exit codes: 0 success, 1 internal error, 2 bad input or option, 3 too many rejected rows, 130 interrupted.
    """


app.command("import")(import_command)
app.command()(analyze)
app.command()(alerts)
app.command("evaluate-foresight")(evaluate_foresight)
app.command("build-encoder")(build_encoder)
app.command("calibrate-onnx")(calibrate_onnx)
app.command("train-sentiment")(train_sentiment)
app.command("train-themes")(train_themes)
app.command()(evaluate)
app.command()(serve)
app.command("create-key")(create_key)
app.command("create-api-key", hidden=True)(create_key)


def main() -> None:
    app()
