"""What every import shares: encodings, separators, XLSX, decimal commas, HTML, pseudonymous ids, the merged
output folder and the CLI; and ratings imported from a survey export raising the risk with their reasons."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.importers import ImportOptions, Pseudonymizer, load_pseudonym_secret, run_import, write_import
from analyzer.importers.common import html_to_text, parse_number, read_records

SAMPLE = Path(__file__).resolve().parent.parent / "datasets" / "sample"
P = Pseudonymizer("test-secret-0123456789abcdef")


@pytest.mark.parametrize(("text", "decimal", "expected"), [
    ("1.234,56", None, 1234.56), ("1,234.56", None, 1234.56), ("12,5", None, 12.5), ("€ 9,99", None, 9.99),
    ("1,234", None, 1234.0), ("1.234.567", None, 1234567.0), ("-3,5", None, -3.5), ("1,234", ",", 1.234),
    ("", None, None), ("n/a", None, None), (7, None, 7.0), (float("nan"), None, None), ("1e400", None, None),
])
def test_parse_number(text: object, decimal: str | None, expected: float | None) -> None:
    assert parse_number(text, decimal) == expected


def test_html_to_text() -> None:
    assert html_to_text("<p>Hola&nbsp;<b>Ana</b></p><p>¿Qué tal?</p><script>x()</script>") == "Hola Ana\n¿Qué tal?"
    assert html_to_text("5 &lt; 6") == "5 < 6" and html_to_text(None) == ""


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-16"])
def test_excel_csvs_of_any_encoding_and_separator(tmp_path: Path, encoding: str) -> None:
    f = tmp_path / "e.csv"
    f.write_text("Fecha;Cliente;Importe;Comentario\n03/05/2025 11:20;Ñoño@example.com;1.234,50;Está mal\n",
                 encoding=encoding)
    [rec] = read_records(f)
    assert rec.values == {"Fecha": "03/05/2025 11:20", "Cliente": "Ñoño@example.com", "Importe": "1.234,50",
                          "Comentario": "Está mal"}
    assert rec.pos.line == 2 and not rec.error


def test_xlsx_dates_numbers_and_sheets(tmp_path: Path) -> None:
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append([])  # a blank first row: the header is the first non-empty one
    wb.active.append(["Email", "Score", "Date"])
    wb.active.append(["a@example.com", 3, dt.datetime(2025, 5, 1, 10, 0)])
    wb.create_sheet("other").append(["x"])
    f = tmp_path / "s.xlsx"
    wb.save(f)
    [rec] = read_records(f)
    assert rec.values["Score"] == 3 and rec.values["Date"] == dt.datetime(2025, 5, 1, 10, 0) and rec.pos.line == 3
    r = run_import("nps", [f], ImportOptions(pseudonymizer=P))
    assert r.events[["type", "value", "timestamp"]].values.tolist() == [["nps", 3.0, "2025-05-01T10:00:00Z"]]
    from analyzer.errors import InputFormatError

    with pytest.raises(InputFormatError, match="no sheet 'nope'"):
        read_records(f, sheet="nope")
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InputFormatError, match="not a readable XLSX"):
        read_records(tmp_path / "bad.xlsx")


def test_pseudonyms_are_keyed_stable_and_only_for_contacts(tmp_path: Path) -> None:
    assert P("Ana.Garcia@Example.com ") == P("ana.garcia@example.com")
    assert P("+34 612 345 678") == P("0034612345678") == P("+34-612-34-56-78")
    assert P("ana.garcia@example.com").startswith("px_") and len(P("ana@example.com")) == 27
    assert Pseudonymizer("another-secret-0123456789")("ana@example.com") != P("ana@example.com")
    for kept in ("C-4004", "17850", "#1001", "0035g00000XyZ1AAA", "px_0123"):
        assert P(kept) == kept
    secret = load_pseudonym_secret(None, tmp_path / "data")
    key = tmp_path / "data" / "pseudonym.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600 and len(secret) == 64
    assert load_pseudonym_secret(None, tmp_path / "data") == secret  # created once, then kept
    assert load_pseudonym_secret("configured-secret-123456", tmp_path / "data") == "configured-secret-123456"
    from analyzer.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 16"):
        Pseudonymizer("short")


def test_several_sources_merge_into_one_folder_idempotently(tmp_path: Path) -> None:
    out = tmp_path / "tables"
    opts = ImportOptions(pseudonymizer=P)
    first = write_import(run_import("shopify", [SAMPLE / "shopify" / "orders_export.csv"], opts), out)
    write_import(run_import("nps", [SAMPLE / "nps" / "encuesta_nps.csv"], opts), out)
    hub = ImportOptions(pseudonymizer=P)
    write_import(run_import("hubspot", sorted((SAMPLE / "hubspot").iterdir()), hub), out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".csv"}
    write_import(run_import("nps", [SAMPLE / "nps" / "encuesta_nps.csv"], opts), out)  # the same export again
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.suffix == ".csv"} == before
    events = pd.read_csv(out / "events.csv")
    assert set(events["type"]) >= {"purchase", "nps", "ticket_opened"} and events["event_id"].is_unique
    customers = pd.read_csv(out / "customers.csv").set_index("customer_id")
    ana = P("ana.garcia@example.com")
    assert customers.loc[ana, "owner"] == "Irene Campos"  # HubSpot filled what Shopify did not know
    assert first["output"]["rejected"].endswith("rejected-shopify.csv")
    assert stat.S_IMODE(os.stat(out / "events.csv").st_mode) == 0o600
    write_import(run_import("nps", [SAMPLE / "nps" / "encuesta_nps.csv"], opts), tmp_path / "pq", fmt="parquet")
    assert len(pd.read_parquet(tmp_path / "pq" / "events.parquet")) == 9


def test_cli_import_outputs_exit_codes_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"DARKFEEDBACK_PSEUDONYM_SECRET": "cli-secret-0123456789abcdef", "DARKFEEDBACK_DATA_DIR": str(tmp_path)}
    from analyzer.settings import get_settings

    get_settings.cache_clear()
    try:
        ok = runner.invoke(app, ["import", "--source", "trustpilot", str(SAMPLE / "trustpilot" / "reviews.csv"),
                                 "-o", str(tmp_path / "o")], env=env)
        assert ok.exit_code == 0, ok.output
        summary = json.loads((tmp_path / "o" / "summary-trustpilot.json").read_text())
        assert summary["events"] == 3 and summary["rejected_by_reason"] == {"bad_timestamp": 2}
        ids = set(pd.read_csv(tmp_path / "o" / "events.csv")["customer_id"])
        assert Pseudonymizer(env["DARKFEEDBACK_PSEUDONYM_SECRET"])("marta.ruiz@example.com") in ids
        bad = tmp_path / "junk.csv"
        bad.write_text("Review ID,Review Created (UTC),Review Stars,Email Address\n1,ayer,9,a@example.com\n",
                       encoding="utf-8")
        too_many = runner.invoke(app, ["import", "-s", "trustpilot", str(bad), "-o", str(tmp_path / "j")], env=env)
        assert too_many.exit_code == 3 and "rejected" in too_many.output
        unknown = runner.invoke(app, ["import", "-s", "myspace", str(bad), "-o", str(tmp_path / "k")], env=env)
        assert unknown.exit_code == 2 and "unknown --source" in unknown.output
        missing = runner.invoke(app, ["import", "-s", "nps", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "k")],
                                env=env)
        assert missing.exit_code == 2 and "does not exist" in missing.output
    finally:
        get_settings.cache_clear()


def test_imported_ratings_raise_the_risk_with_reasons_in_spanish_and_english(tmp_path: Path) -> None:
    """Point 2 of issue 15: a drop against the customer's own earlier answers, and being a detractor."""
    from analyzer.foresight import compute_alerts_detailed

    opts = ImportOptions(pseudonymizer=P)
    parts = [run_import("nps", [SAMPLE / "nps" / "encuesta_nps.csv"], opts),
             run_import("shopify", [SAMPLE / "shopify" / "orders_export.csv"], opts)]
    events = pd.concat([p.events for p in parts], ignore_index=True)
    res = compute_alerts_detailed(None, events, None, as_of="2025-06-01")
    facts = res.facts
    ana, luis = P("ana.garcia@example.com"), P("luis.martin@example.com")
    assert facts.loc[ana, "rating_drop"] > 0.5 and bool(facts.loc[ana, "detractor"])  # 9 then 2
    assert facts.loc[luis, "rating_drop"] < 0.2 and not bool(facts.loc[luis, "detractor"])  # 10 then 9
    states = res.states.set_index("customer_id")
    reasons = {r["code"]: r for r in states.loc[ana, "reasons"]}
    assert reasons["rating_drop"]["contribution"] > 0 and reasons["detractor"]["contribution"] > 0
    assert "NPS" in reasons["rating_drop"]["text_es"] and "NPS" in reasons["rating_drop"]["text_en"]
    assert "detractor" in reasons["detractor"]["text_es"] and "detractor" in reasons["detractor"]["text_en"]
    assert states.loc[ana, "risk"] > states.loc[luis, "risk"]
