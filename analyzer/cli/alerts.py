"""``darkfeedback alerts``: per-customer risk and alerts from analysed messages and events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from analyzer.cli.common import DayFirstOption, LangOption, TimezoneOption, fail, out, timestamp_policy
from analyzer.errors import AnalyzerError

__all__ = ["alerts"]


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
    lang: Annotated[LangOption, typer.Option(
        "--lang", help="Language of the justification column (both are always written).")] = LangOption.es,
    as_of: Annotated[str | None, typer.Option(
        "--as-of", help="Judge at this date (default: the last timestamp in the inputs).")] = None,
    rules: Annotated[Path | None, typer.Option(
        "--rules", help="Your own rule table (YAML like analyzer/foresight/rules.yaml).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(
        "--taxonomy", help="The taxonomy the messages were analysed with (default: the bundled one): its "
                           "themes marked `complaint: true` count as complaints, and the rules' themes must "
                           "exist in it.")] = None,
    history: Annotated[Path | None, typer.Option(
        "--history", help="Earlier alerts file(s) output, so the cooldown holds across runs.")] = None,
    rejected: Annotated[Path | None, typer.Option(
        "--rejected", help="Rejected-rows file (default: OUTPUT stem + .rejected.csv).")] = None,
    risk_output: Annotated[Path | None, typer.Option(
        "--risk-output", help="Also write every customer's risk, riskiest first, with the reasons "
                              "(.jsonl, .csv or .parquet).")] = None,
    model: Annotated[Path | None, typer.Option(
        "--model", help="Use a saved foresight model instead of fitting one on these inputs.")] = None,
    save_model: Annotated[Path | None, typer.Option(
        "--save-model", help="Save the model fitted on these inputs (JSON), to reuse with --model.")] = None,
    dayfirst: DayFirstOption = True,
    timezone: TimezoneOption = "UTC",
    top: Annotated[int, typer.Option("--top", min=0, help="Alerts shown in the terminal table.")] = 15,
) -> None:
    """Rank the customers at risk: calibrated risk, reasons, evidence and a recommended action.

    The model learns from your own history (a back-test: who went quiet after earlier dates) when
    it spans enough time, else it keeps its priors and says so. Severity is how much more likely to
    leave a customer is than a typical one. Opted-out customers are never profiled. Bad rows are
    listed in the rejected-rows file with a reason and do not make the command fail.

    **Example**

        darkfeedback alerts --messages analysed.parquet --events events.csv -o alerts.jsonl --risk-output risk.csv
    """
    from analyzer.foresight import ForesightConfig, load_rules
    from analyzer.foresight.files import run_alerts
    from analyzer.text.themes import load_taxonomy

    if messages is None and events is None:
        fail("Give at least one of --messages and --events.")
    policy = timestamp_policy(dayfirst, timezone)
    try:
        when = None
        if as_of is not None:
            from analyzer.io import parse_timestamp

            when = parse_timestamp(as_of, policy)
            if when is None:
                fail(f"--as-of {as_of!r} is not a date; use ISO 8601 (2024-06-30) or a day-first date (30/06/2024).")
        tax = load_taxonomy(taxonomy)
        table_ = load_rules(rules, theme_ids=tax.ids)
        config = ForesightConfig(complaint_themes=tax.complaint_ids)
        run = run_alerts(messages, events, customers, output, lang=lang.value, as_of=when, rules=table_,
                         history=history, rejected_path=rejected, timestamps=policy, risk_output=risk_output,
                         model=model, save_model=save_model, config=config)
    except AnalyzerError as exc:
        fail(str(exc))
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
    out.print(table)
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
    counts.add_row("suppressed (cooldown / lapsed)", f"{s['suppressed']:,}")
    m = s["model"]
    counts.add_row("model", escape(run.model.report_.summary(lang.value)))
    counts.add_row("  horizon / typical active customer's risk", f"{m['horizon_days']} d / {m['base_rate']:.1%}")
    if m["saved_to"]:
        counts.add_row("  saved to", escape(str(m["saved_to"])))
    counts.add_row("output", escape(str(s["output"])))
    if s["risk_output"]:
        counts.add_row("risk of every customer", escape(str(s["risk_output"])))
    if s["rejected_file"]:
        counts.add_row("rejected rows", escape(str(s["rejected_file"])))
    out.print(counts)
