"""`darkfeedback alerts` and `run_alerts`: files in (CSV/JSONL/Parquet), alerts and rejected rows out."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet
import pytest
from typer.testing import CliRunner

import analyzer
from analyzer.cli import app
from analyzer.errors import InputFormatError
from analyzer.foresight import RISK_COLUMNS, run_alerts
from analyzer.io import read_table
from analyzer.schema import ALERT_COLUMNS, REJECTED_COLUMNS

runner = CliRunner()
AS_OF = "2024-08-01"


def _write_inputs(tmp: Path, fmt: str = "csv") -> tuple[Path, Path, Path]:
    # Analysed messages as `darkfeedback analyze` writes them (themes as JSON text in CSV).
    msgs = pd.DataFrame({
        "message_id": ["m1", "m2", "m3", "m4", "d1", "d2", "x1"],
        "customer_id": ["A", "A", "A", "A", "D", "D", "A"],
        "timestamp": ["2024-03-01T10:00:00Z", "2024-04-01T10:00:00Z", "2024-07-10T10:00:00Z",
                      "2024-07-28T10:00:00Z", "2024-07-25T10:00:00Z", "2024-07-29T10:00:00Z", "yesterday"],
        "channel": "email",
        "text_redacted": ["Todo perfecto", "Muy bien", "Mi pedido no llega, llamo al [PHONE]",
                          "Me doy de baja", "I am leaving", "Cancel my account", "?"],
        "sentiment_label": ["positive", "positive", "negative", "negative", "negative", "negative", "neutral"],
        "sentiment_score": [0.8, 0.7, -0.7, -0.8, -0.8, -0.9, 0.0],
        "themes": [[], ["praise"], ["delivery_delay"], ["churn_intent"], ["churn_intent"], ["churn_intent"], []],
    })
    rows = [("A", d.isoformat(), "purchase", "20", "web", f"p{i}")
            for i, d in enumerate(pd.date_range("2024-01-01", "2024-06-25", freq="7D", tz="UTC"))]
    rows += [("B", "2024-07-28T10:00:00Z", "error", "", "app", f"e{i}") for i in range(4)]
    rows += [("B", "2024-07-26T10:00:00Z", "ticket_opened", "t1", "email", "t1"),
             ("C", "2024-07-30T10:00:00Z", "teleport", "", "web", "bad1"),
             ("D", "2024-07-30T10:00:00Z", "purchase", "10", "web", "d1")]
    events = pd.DataFrame(rows, columns=["customer_id", "timestamp", "type", "value", "channel", "event_id"])
    customers = pd.DataFrame({"customer_id": ["A", "B", "D"], "value_tier": ["high", "low", "medium"],
                              "opt_out": ["no", "no", "yes"]})
    paths = []
    for name, df in (("messages", msgs), ("events", events), ("customers", customers)):
        p = tmp / f"{name}.{fmt}"
        if fmt == "csv":
            df = df.assign(**{c: df[c].map(json.dumps) for c in df.columns if c == "themes"})
            df.to_csv(p, index=False)
        elif fmt == "jsonl":
            df.to_json(p, orient="records", lines=True)
        else:
            df.to_parquet(p)
        paths.append(p)
    if fmt == "csv":  # one malformed record (too many fields) in the events file
        with paths[1].open("a", encoding="utf-8") as fh:
            fh.write("B,2024-07-27T10:00:00Z,login,,app,l1,EXTRA,FIELDS\n")
    return paths[0], paths[1], paths[2]


def test_run_alerts_from_csv_writes_jsonl_and_reports_bad_rows(tmp_path: Path) -> None:
    m, e, c = _write_inputs(tmp_path)
    run = run_alerts(m, e, c, tmp_path / "alerts.jsonl", as_of=AS_OF, lang="en")
    out = read_table(tmp_path / "alerts.jsonl")
    assert list(out.columns) == list(ALERT_COLUMNS)
    assert "A" in set(out["customer_id"]) and "D" not in set(out["customer_id"])  # D opted out
    assert "D" not in set(run.result.states.index)
    a = out.set_index("customer_id").loc["A"]
    assert a["action"] == "priority_call" and a["justification"].startswith("High-value customer")
    quotes = [q for r in a["reasons"] for q in r["evidence"].get("quotes", [])]
    assert {"message_id": "m4", "date": "2024-07-28", "channel": "email", "text": "Me doy de baja"} in quotes
    # Bad rows: named by table, 0-based source row and reason -- never by their content.
    rej = run.rejected.set_index(["table", "reason"])["source_row"].to_dict()
    assert rej == {("messages", "bad_timestamp"): 6, ("events", "unknown_event_type"): 31,
                   ("events", "malformed_row"): 33}
    on_disk = pd.read_csv(run.rejected_path)
    assert len(on_disk) == 3 and "teleport" not in on_disk.to_csv()
    assert list(on_disk.columns) == list(REJECTED_COLUMNS)
    s = run.summary()
    assert s["rows_read"] == {"messages": 7, "events": 34, "customers": 3}
    assert s["rows_rejected"] == 3 and s["customers_opted_out"] == 1 and s["alerts"] == len(out)


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_same_alerts_from_jsonl_and_parquet_inputs(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "csv").mkdir()
    (tmp_path / fmt).mkdir()
    want = run_alerts(*_write_inputs(tmp_path / "csv"), as_of=AS_OF).alerts
    got = run_alerts(*_write_inputs(tmp_path / fmt, fmt), as_of=AS_OF).alerts
    key = ["customer_id", "cause", "action", "severity"]
    assert got[key].values.tolist() == want[key].values.tolist()
    assert got["risk"].tolist() == pytest.approx(want["risk"].tolist())


def test_outputs_csv_and_parquet_keep_reasons_readable(tmp_path: Path) -> None:
    m, e, c = _write_inputs(tmp_path)
    run_alerts(m, e, c, tmp_path / "alerts.csv", as_of=AS_OF)
    csv = pd.read_csv(tmp_path / "alerts.csv")
    reasons = json.loads(csv.loc[csv["customer_id"] == "A", "reasons"].iloc[0])
    assert reasons[0]["code"] and "text_es" in reasons[0]
    run_alerts(m, e, c, tmp_path / "alerts.parquet", as_of=AS_OF)
    # Parquet keeps reasons as native lists of structs (evidence included): one record shape.
    table = pyarrow.parquet.read_table(tmp_path / "alerts.parquet")
    assert len(table) == len(csv)
    assert str(table.schema.field("reasons").type).startswith("list<element: struct<code: string")
    first = table.column("reasons").to_pylist()[0][0]
    assert set(first) == {"code", "contribution", "text_es", "text_en", "evidence"}
    assert set(first["evidence"]) == {"quotes", "facts"}


def test_risk_output_ranks_every_customer_and_the_model_can_be_saved(tmp_path: Path) -> None:
    m, e, c = _write_inputs(tmp_path)
    run = run_alerts(m, e, c, tmp_path / "a.jsonl", as_of=AS_OF, risk_output=tmp_path / "risk.csv",
                     save_model=tmp_path / "model.json")
    risk = read_table(tmp_path / "risk.csv")
    assert list(risk.columns) == list(RISK_COLUMNS)
    assert set(risk["customer_id"]) == {"A", "B"} and "D" not in set(risk["customer_id"])
    assert risk["rank"].tolist() == ["1", "2"] and risk["customer_id"].iloc[0] == "A"
    again = run_alerts(m, e, c, tmp_path / "b.jsonl", as_of=AS_OF, model=tmp_path / "model.json")
    assert again.alerts["risk"].tolist() == pytest.approx(run.alerts["risk"].tolist())
    assert run.summary()["model"]["source"] == "priors" and run.summary()["model"]["why"]


def test_history_file_applies_the_cooldown(tmp_path: Path) -> None:
    m, e, c = _write_inputs(tmp_path)
    run_alerts(m, e, c, tmp_path / "first.jsonl", as_of=AS_OF)
    again = run_alerts(m, e, c, tmp_path / "again.jsonl", as_of="2024-08-05", history=tmp_path / "first.jsonl")
    assert again.alerts.empty and "A" in set(again.result.suppressed["customer_id"])


def test_clear_errors_for_missing_files_columns_and_raw_messages(tmp_path: Path) -> None:
    m, e, _ = _write_inputs(tmp_path)
    with pytest.raises(InputFormatError, match="does not exist"):
        run_alerts(tmp_path / "nope.csv", e)
    raw = tmp_path / "raw.csv"
    pd.DataFrame({"customer_id": ["A"], "timestamp": [AS_OF], "text": ["hola"]}).to_csv(raw, index=False)
    with pytest.raises(InputFormatError, match="darkfeedback analyze"):
        run_alerts(raw, e)
    broken = tmp_path / "events_broken.csv"
    pd.read_csv(e, on_bad_lines="skip").drop(columns="type").to_csv(broken, index=False)
    with pytest.raises(InputFormatError, match="missing required column"):
        run_alerts(m, broken)


def test_cli_alerts_prints_a_summary_and_writes_the_file(tmp_path: Path) -> None:
    m, e, c = _write_inputs(tmp_path)
    out = tmp_path / "alerts.jsonl"
    res = runner.invoke(app, ["alerts", "--messages", str(m), "--events", str(e), "--customers", str(c),
                              "-o", str(out), "--as-of", AS_OF, "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "darkfeedback alerts" in res.output and "priority_call" in res.output
    assert "rows rejected" in res.output and "opted out" in res.output
    assert "model" in res.output and "priors" in res.output
    assert "A" in set(read_table(out)["customer_id"])
    bad = runner.invoke(app, ["alerts", "--messages", str(tmp_path / "none.csv"), "-o", str(out)])
    assert bad.exit_code == 2 and "does not exist" in bad.output
    assert runner.invoke(app, ["alerts", "-o", str(out)]).exit_code == 2
    date = runner.invoke(app, ["alerts", "--events", str(e), "-o", str(out), "--as-of", "someday"])
    assert date.exit_code == 2 and "--as-of" in date.output


def test_python_api_is_exported_lazily() -> None:
    assert analyzer.run_alerts is run_alerts
    assert "run_alerts" in analyzer.__all__ and "compute_alerts" in analyzer.__all__


def test_a_theme_marked_complaint_in_the_taxonomy_counts_in_risk_and_rules(tmp_path: Path) -> None:
    """A taxonomy theme with ``complaint: true`` feeds the complaints reason; rules may name it; a rule naming a
    theme the taxonomy lacks is refused before anything runs."""
    import yaml

    base = yaml.safe_load((Path(analyzer.__file__).parent / "resources" / "taxonomy.yaml").read_text())
    base["themes"].append({"id": "warranty_claim", "complaint": True, "name": {"es": "Garantía", "en": "Warranty"},
                           "description": {"es": "Reclama la garantía", "en": "Claims the warranty"}})
    tax = tmp_path / "taxonomy.yaml"
    tax.write_text(yaml.safe_dump(base, allow_unicode=True))
    days = pd.date_range("2024-07-01", periods=4, freq="7D", tz="UTC")
    msgs = pd.DataFrame({"message_id": [f"w{i}" for i in range(4)], "customer_id": "W", "timestamp": days,
                         "channel": "email", "text_redacted": "la garantía no me la cubren",
                         "sentiment_label": "negative", "sentiment_score": -0.6,
                         "themes": [["warranty_claim"]] * 4})
    m = tmp_path / "m.parquet"
    msgs.to_parquet(m)

    def complaints(extra: list[str]) -> float:
        out = tmp_path / f"a{len(extra)}.parquet"
        r = runner.invoke(app, ["alerts", "--messages", str(m), "-o", str(out), "--risk-output",
                                str(out) + ".risk.parquet", "--as-of", "2024-08-01", *extra])
        assert r.exit_code == 0, r.output
        reasons = read_table(str(out) + ".risk.parquet").set_index("customer_id").loc["W", "reasons"]
        return sum(d["contribution"] for d in reasons if d["code"] == "complaints")

    assert complaints([]) == 0.0  # the bundled taxonomy does not know the theme: not a complaint
    assert complaints(["--taxonomy", str(tax)]) > 0.0
    rules = tmp_path / "rules.yaml"
    packaged = yaml.safe_load((Path(analyzer.__file__).parent / "foresight" / "rules.yaml").read_text())
    packaged["rules"].insert(0, {"name": "warranty", "when": {"themes": ["warranty_claim"]}, "action": "priority_call",
                                 "justification": {"es": "Garantía: {reason}", "en": "Warranty: {reason}"}})
    rules.write_text(yaml.safe_dump(packaged, allow_unicode=True))
    bad = runner.invoke(app, ["alerts", "--messages", str(m), "-o", str(tmp_path / "x.jsonl"), "--rules",
                              str(rules)])
    assert bad.exit_code == 2 and "warranty_claim" in bad.output  # unknown to the bundled taxonomy
    ok = runner.invoke(app, ["alerts", "--messages", str(m), "-o", str(tmp_path / "y.jsonl"), "--rules", str(rules),
                             "--taxonomy", str(tax), "--as-of", "2024-08-01"])
    assert ok.exit_code == 0, ok.output
    assert read_table(tmp_path / "y.jsonl").set_index("customer_id").loc["W", "rule"] == "warranty"


def test_bundled_taxonomy_marks_the_default_complaint_themes() -> None:
    from analyzer.foresight.config import DEFAULT_COMPLAINT_THEMES
    from analyzer.text.themes import load_taxonomy

    assert load_taxonomy().complaint_ids == DEFAULT_COMPLAINT_THEMES
