"""`darkfeedback analyze` with the real models on the bundled sample (what `make demo` runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from analyzer.cli import app

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample" / "messages.csv"


def test_demo_sample_end_to_end(tmp_path, text_analyzer):
    out = tmp_path / "analysed.csv"
    result = CliRunner().invoke(app, ["analyze", str(SAMPLE), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    analysed = pd.read_csv(out)
    rejected = pd.read_csv(tmp_path / "analysed.rejected.csv")
    source = pd.read_csv(SAMPLE, keep_default_na=False)
    assert len(analysed) + len(rejected) == len(source)
    assert sorted(rejected["reason"]) == ["bad_timestamp", "empty_text"]
    summary = json.loads((tmp_path / "analysed.csv.summary.json").read_text())
    assert summary["rows_read"] == summary["rows_written"] + summary["rows_rejected"] == len(source)

    text = out.read_text(encoding="utf-8")
    for secret in ("12345678Z", "ES91 2100", "4111 1111", "612 34 56 78", "john.smith@example.com", "Pilar Gómez"):
        assert secret not in text
    assert set(analysed["lang"]) <= {"es", "en", "other", "und"}
    assert analysed.loc[analysed["message_id"] == "m040", "lang"].item() == "other"
    by_id = analysed.set_index("message_id")
    assert by_id.loc["m003", "sentiment_label"] == "negative"
    assert by_id.loc["m004", "sentiment_label"] == "positive"
    assert "churn_intent" in by_id.loc["m003", "themes"]
