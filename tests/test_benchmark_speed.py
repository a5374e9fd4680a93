"""The speed benchmark runs end to end (small sizes), so it cannot rot; its numbers are not judged here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.requires_train  # the naive baseline is transformers + PyTorch
@pytest.mark.requires_datasets("es_airline_tweets", "en_airline_tweets")
def test_speed_benchmark_quick_run_reports_every_section(tmp_path):
    out = tmp_path / "speed.json"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "speed.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())
    sections = " | ".join(r["section"] for r in rows)
    for part in ("encoder, 16 tokens", "encoder, 64 tokens", "end-to-end analyze, all", "end-to-end analyze, short",
                 "API /v1/analyze",
                 "peak memory streaming"):
        assert part in sections, sections
    for r in rows:
        numbers = [v for k, v in r.items() if isinstance(v, (int, float)) and k not in ("section", "unit")]
        assert numbers and all(v > 0 for v in numbers), r
    assert "onnx/naive" in proc.stdout  # the ratios are printed
