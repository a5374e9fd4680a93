"""`darkfeedback analyze` through Typer's runner and as a real process, with the light pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from analyzer.cli import app
from analyzer.io import read_table
from analyzer.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_settings() -> object:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _input(tmp_path: Path) -> Path:
    p = tmp_path / "export.csv"
    p.write_bytes(
        b"id;cliente;fecha;canal;mensaje\n"
        b"a1;c1;31/05/2024 10:00;email;El pedido no ha llegado\n"
        b"a2;c2;2024-05-31T10:00:00Z;chat;Great service, thanks\n"
        b"a3;c3;ayer;chat;fecha mala\n"
        b"a4;c4;;chat;\n"
        b"a5;c5;;chat;caf\xff roto\n"
    )
    return p


MAPPING = ["--id-col", "id", "--customer-col", "cliente", "--timestamp-col", "fecha",
           "--channel-col", "canal", "--text-col", "mensaje"]


def test_analyze_end_to_end_with_mapping(tmp_path: Path) -> None:
    src = _input(tmp_path)
    out = tmp_path / "res.jsonl"
    result = runner.invoke(app, ["analyze", str(src), "-o", str(out), *MAPPING,
                                 "--pipeline", "light", "--no-progress", "--max-reject-rate", "0.8"])
    assert result.exit_code == 0, result.output  # rejected rows under the bar are not a failure
    assert "rows rejected" in result.output and "bad_timestamp" in result.output
    res = read_table(out)
    assert res["message_id"].tolist() == ["a1", "a2"]
    assert res["customer_id"].tolist() == ["c1", "c2"]
    rej = read_table(tmp_path / "res.rejected.jsonl")
    assert rej["reason"].tolist() == ["bad_timestamp", "empty_text", "undecodable"]
    summary = json.loads((tmp_path / "res.jsonl.summary.json").read_text())
    assert summary["rows_read"] == 5 == summary["rows_written"] + summary["rows_rejected"]


def test_pipeline_can_be_chosen_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKFEEDBACK_PIPELINE", "light")
    out = tmp_path / "res.parquet"
    result = runner.invoke(app, ["analyze", str(_input(tmp_path)), "-o", str(out), *MAPPING,
                                 "--rejected", str(tmp_path / "bad.csv"), "--max-reject-rate", "0.8"])
    assert result.exit_code == 0, result.output
    assert len(read_table(out)) == 2 and len(read_table(tmp_path / "bad.csv")) == 3


def test_too_many_rejected_rows_is_exit_code_3(tmp_path: Path) -> None:
    src = _input(tmp_path)  # 3 of 5 rows are bad
    args = ["analyze", str(src), *MAPPING, "--pipeline", "light", "--no-progress"]
    result = runner.invoke(app, [*args, "-o", str(tmp_path / "a.csv")])  # default bar: 50 %
    assert result.exit_code == 3 and "60.0% of the rows rejected" in result.output
    assert (tmp_path / "a.csv").exists()  # the good rows are written all the same
    bad = tmp_path / "bad.csv"
    bad.write_text("id,mensaje\n1,\n2,   \n", encoding="utf-8")
    result = runner.invoke(app, ["analyze", str(bad), "-o", str(tmp_path / "b.csv"), "--text-col", "mensaje",
                                 "--pipeline", "light", "--max-reject-rate", "1.0"])
    assert result.exit_code == 3 and "every row rejected" in result.output  # never exit 0 on nothing


def test_version_and_examples_in_every_help() -> None:
    from analyzer import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output
    for command in ("analyze", "alerts", "serve", "create-key", "create-api-key", "build-encoder", "evaluate",
                    "evaluate-foresight", "train-themes", "train-sentiment", "calibrate-onnx"):
        help_text = runner.invoke(app, [command, "--help"]).output
        assert "Example" in help_text and "darkfeedback" in help_text, command


def test_fatal_errors_exit_non_zero_with_a_hint(tmp_path: Path) -> None:
    src = _input(tmp_path)
    result = runner.invoke(app, ["analyze", str(src), "-o", str(tmp_path / "r.csv"), "--pipeline", "light"])
    assert result.exit_code == 2
    assert "--text-col" in result.output
    result = runner.invoke(app, ["analyze", str(tmp_path / "missing.csv"), "-o", str(tmp_path / "r.csv"),
                                 "--pipeline", "light"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["analyze", str(src), "-o", str(tmp_path / "r.csv"), "--chunk-rows", "0"])
    assert result.exit_code == 2  # usage error from the option's range


def test_format_override_and_no_resume(tmp_path: Path) -> None:
    src = tmp_path / "export.txt"
    src.write_text('{"text": "hola"}\n{"text": "adiós"}\n', encoding="utf-8")
    out = tmp_path / "res.out"
    args = ["analyze", str(src), "-o", str(out), "--format", "jsonl", "--output-format", "csv",
            "--pipeline", "light"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert read_table(out, "csv")["message_id"].tolist() == ["row-0", "row-1"]
    # A stale checkpoint from another input is refused, and --no-resume overrides it.
    ckpt = tmp_path / "res.out.checkpoint.json"
    ckpt.write_text(json.dumps({"config": {"input": {"size": 1}}}), encoding="utf-8")
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--no-resume" in result.output
    result = runner.invoke(app, [*args, "--no-resume"])
    assert result.exit_code == 0, result.output
    assert not ckpt.exists()


def test_help_lists_analyze_and_hides_the_test_pipeline() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0 and "analyze" in result.output
    result = runner.invoke(app, ["analyze", "--help"])
    assert "--text-col" in result.output and "--pipeline" not in result.output


def test_runs_as_a_real_process(tmp_path: Path) -> None:
    src = _input(tmp_path)
    out = tmp_path / "res.csv.gz"
    env = {**os.environ, "PYTHONPATH": str(REPO), "DARKFEEDBACK_PIPELINE": "light"}
    cmd = [sys.executable, "-m", "analyzer.cli", "analyze", str(src), "-o", str(out), *MAPPING,
           "--max-reject-rate", "0.8"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "rows written" in proc.stdout
    assert read_table(out)["message_id"].tolist() == ["a1", "a2"]
