"""What every command shares: consoles, exit codes, error output and common options."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["DayFirstOption", "ExitCode", "FileFormatOption", "LangOption", "TimezoneOption", "err", "fail", "out",
           "timestamp_policy"]

# Results go to stdout (pipeable); progress and errors to stderr.
out = Console()
err = Console(stderr=True)


class ExitCode(IntEnum):
    """The documented exit codes of every command."""

    OK = 0
    INTERNAL = 1  # a bug: please report it with the traceback
    INPUT = 2  # the input or an option is wrong; the message says how to fix it
    TOO_MANY_REJECTED = 3  # the run finished but rejected more rows than --max-reject-rate (or all of them)
    INTERRUPTED = 130


def fail(message: str, code: ExitCode = ExitCode.INPUT) -> NoReturn:
    err.print(f"[bold red]error:[/bold red] {escape(message)}", soft_wrap=True)  # greppable, one line
    raise typer.Exit(int(code))


class FileFormatOption(StrEnum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"
    parquet = "parquet"


class LangOption(StrEnum):
    es = "es"
    en = "en"


DayFirstOption = Annotated[bool, typer.Option(
    "--dayfirst/--monthfirst",
    help="How to read ambiguous dates such as 01/05/2024: day first (1 May, the default, as in Spain and Latin "
         "America) or month first (5 January, US exports).")]
TimezoneOption = Annotated[str, typer.Option(
    "--timezone", help="Time zone of timestamps without an offset (IANA name, e.g. Europe/Madrid). Default: UTC.")]


def timestamp_policy(dayfirst: bool, timezone: str):  # -> TimestampPolicy (imported lazily)
    from analyzer.errors import AnalyzerError
    from analyzer.io import TimestampPolicy

    try:
        return TimestampPolicy(dayfirst=dayfirst, timezone=timezone)
    except AnalyzerError as exc:
        fail(str(exc))
