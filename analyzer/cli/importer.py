"""``darkfeedback import``: an SME's exports -> the canonical messages, events and customers tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from analyzer.cli.common import ExitCode, TimezoneOption, err, fail, out, timestamp_policy
from analyzer.errors import AnalyzerError

__all__ = ["import_command"]

_SOURCES_HELP = ("whatsapp, zendesk, freshdesk, intercom, hubspot, salesforce, dynamics, google-reviews, trustpilot, "
                 "nps, shopify, ga4, or profile (with --profile)")


def import_command(
    inputs: Annotated[list[Path], typer.Argument(
        metavar="INPUT...", help="The export file(s) of one source: CSV/TSV (any encoding, , or ; separated), XLSX, "
                                 "JSON/JSONL, or a WhatsApp .txt chat.")],
    source: Annotated[str, typer.Option("--source", "-s", help=f"Where the files come from: {_SOURCES_HELP}.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", help="Folder of the tables (messages, events, customers); rows already there are kept, "
                               "so several sources can be imported into one folder.")],
    profile: Annotated[Path | None, typer.Option(
        "--profile", help="With --source profile: a YAML file mapping your columns onto the tables "
                          "(see datasets/sample/profile/tpv_profile.yaml).")] = None,
    business: Annotated[list[str] | None, typer.Option(
        "--business", help="WhatsApp: the name or number the business writes under (repeatable); its messages "
                           "are not the customer's.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="Output format: csv, jsonl or parquet.")] = "csv",
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="Text encoding of the inputs (default: detected, e.g. Excel's cp1252).")] = None,
    delimiter: Annotated[str | None, typer.Option(
        "--delimiter", help="CSV separator (default: guessed among , ; tab |).")] = None,
    decimal: Annotated[str | None, typer.Option(
        "--decimal", help="Decimal mark of amounts: ',' or '.' (default: guessed per value, 1.234,56 and "
                          "1,234.56 both work).")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX: the sheet to read (default: the first).")] = None,
    dayfirst: Annotated[bool | None, typer.Option(
        "--dayfirst/--monthfirst", help="Ambiguous dates such as 01/05/2025: day first (the default) or month "
                                        "first (US exports). WhatsApp chats tell it themselves when they can.")] = None,
    timezone: TimezoneOption = "UTC",
    max_reject_rate: Annotated[float, typer.Option(
        "--max-reject-rate", min=0.0, max=1.0, help="Exit with code 3 when more than this share of the records is "
                                                    "rejected.")] = 0.5,
) -> None:
    """Import exports of one source into the canonical tables, ready for `analyze` and `alerts`.

    Writes OUTPUT/messages.csv (only customers' words: agents' replies, notes and system lines are
    left out), OUTPUT/events.csv (purchases, refunds, tickets, ratings, logins, errors...),
    OUTPUT/customers.csv (segment, owner, value tier), OUTPUT/rejected-SOURCE.csv (rows set aside,
    with the reason) and OUTPUT/summary-SOURCE.json. E-mail and phone customer ids are replaced by
    keyed hashes (the installation's secret, DARKFEEDBACK_PSEUDONYM_SECRET or data_dir/pseudonym.key).

    **Example**

        darkfeedback import --source shopify orders_export.csv -o out/shop

        darkfeedback import --source whatsapp "WhatsApp Chat with Ana.txt" --business "Tienda Sol" -o out/shop

    **Exit codes**: 0 done; 2 bad input or option; 3 more records rejected than --max-reject-rate.
    """
    from analyzer.importers import OUTPUT_FORMATS, SOURCES, ImportOptions, pseudonymizer_for, run_import, write_import
    from analyzer.settings import get_settings

    if source not in SOURCES:
        fail(f"unknown --source {source!r}; use one of {_SOURCES_HELP}.")
    if fmt not in OUTPUT_FORMATS:
        fail(f"--format must be one of {', '.join(OUTPUT_FORMATS)}; received {fmt!r}.")
    if decimal not in (None, ",", "."):
        fail(f"--decimal must be ',' or '.'; received {decimal!r}.")
    delim = delimiter.replace("\\t", "\t") if delimiter else None
    if delim is not None and len(delim) != 1:
        fail(f"--delimiter must be one character (use '\\t' for tab), got {delimiter!r}.")
    policy = timestamp_policy(True if dayfirst is None else dayfirst, timezone)
    try:
        options = ImportOptions(timestamps=policy, dayfirst_explicit=dayfirst is not None, encoding=encoding,
                                delimiter=delim, decimal=decimal, sheet=sheet, business=tuple(business or ()),
                                profile=profile, pseudonymizer=pseudonymizer_for(get_settings()))
        result = run_import(source, inputs, options)
        summary = write_import(result, output, fmt)
    except AnalyzerError as exc:
        fail(str(exc))
    table = Table(title=f"darkfeedback import --source {escape(source)}", show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("value", justify="right")
    for key in ("messages", "events", "customers"):
        table.add_row(f"{key} imported", f"{summary[key]:,}")
    for kind, n in summary["events_by_type"].items():
        table.add_row(f"  {escape(str(kind))}", f"{n:,}")
    table.add_row("rows rejected", f"{summary['rejected']:,}")
    for reason, n in summary["rejected_by_reason"].items():
        table.add_row(f"  {escape(reason)}", f"{n:,}")
    for key, n in summary["counts"].items():
        table.add_row(escape(key.replace("_", " ")), f"{n:,}")
    for key, path in summary["output"].items():
        after = summary["tables_after_merge"].get(key)
        table.add_row(f"-> {key}" + (f" ({after:,} rows in all)" if after is not None else ""), escape(path))
    out.print(table)
    kept = summary["messages"] + summary["events"]
    total = kept + summary["rejected"]
    if total == 0 or (summary["rejected"] / total > max_reject_rate):
        what = "nothing was imported" if kept == 0 else f"{summary['rejected'] / total:.1%} of the records rejected"
        err.print(f"[bold red]error:[/bold red] {what} (limit {max_reject_rate:.0%}); see "
                  f"{escape(summary['output']['rejected'])} for the reasons.", soft_wrap=True)
        raise typer.Exit(int(ExitCode.TOO_MANY_REJECTED))
