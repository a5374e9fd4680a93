"""run_batch end to end on real files: validation, formats, accounting, resume after SIGKILL."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analyzer.batch import (
    CANONICAL_COLUMNS,
    BatchSummary,
    ColumnMapping,
    light_process,
    run_batch,
    validate_chunk,
)
from analyzer.errors import ConfigError, InputFormatError
from analyzer.io import iter_chunks, parse_timestamps, read_table
from analyzer.settings import get_settings

REPO = Path(__file__).resolve().parents[1]
SECRET = "SECRETO-NO-COPIAR"  # appears only in rejected rows' text; must never be copied out


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("DARKFEEDBACK_MAX_TEXT_CHARS", "200")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _mixed_rows(n: int) -> list[dict[str, str]]:
    """n rows, every 7th one invalid in a rotating way (empty, bad date, too long)."""
    rows = []
    for i in range(n):
        text = f"mensaje {i}: el pedido no llegó" if i % 2 else f"message {i}: my order is late"
        ts = f"{1 + i % 28:02d}/03/2024 10:{i % 60:02d}" if i % 3 else f"2024-03-{1 + i % 28:02d}T08:00:00Z"
        if i % 7 == 3:
            text = "   "
        elif i % 7 == 5:
            ts = "31/02/2024"
        elif i % 7 == 6 and i % 2:
            text = SECRET + " x" * 200
        rows.append({"message_id": f"m{i}", "customer_id": f"c{i % 13}", "timestamp": ts,
                     "channel": "email" if i % 2 else "chat", "text": text})
    return rows


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    name = path.name
    if name.endswith((".csv", ".csv.gz", ".tsv")):
        sep = "\t" if name.endswith(".tsv") else ","
        data = pd.DataFrame(rows).to_csv(index=False, sep=sep).encode()
    elif name.endswith((".jsonl", ".jsonl.gz")):
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    else:
        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=64)
        return path
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _expected_valid(rows: list[dict[str, str]]) -> list[int]:
    return [i for i in range(len(rows)) if i % 7 not in (3, 5) and not (i % 7 == 6 and i % 2)]


# --------------------------------------------------------------------------- validation


def test_parse_timestamps_accepts_common_formats_as_utc() -> None:
    values = pd.Series(["2024-05-31T14:03:00Z", "2024-05-31 16:03:00+02:00", "2024-05-31 14:03",
                        "31/05/2024 14:03", "31/05/2024", "1717164180", "1717164180000", "", None,
                        "31/02/2024", "mañana", "05/31/2024"])
    parsed, bad = parse_timestamps(values)
    t = pd.Timestamp("2024-05-31 14:03", tz="UTC")
    assert parsed.iloc[:4].tolist() == [t, t, t, t]
    assert parsed.iloc[4] == pd.Timestamp("2024-05-31", tz="UTC")  # day first, as in Spain
    assert parsed.iloc[5] == t and parsed.iloc[6] == t  # epoch seconds and milliseconds
    assert bad.tolist() == [False] * 9 + [True, True, True]
    assert str(parsed.dtype) == "datetime64[us, UTC]"


def test_parse_timestamps_native_parquet_types() -> None:
    naive = pd.Series(pd.to_datetime(["2024-01-01 10:00", None]))
    parsed, bad = parse_timestamps(naive)
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC") and not bad.any()
    parsed, bad = parse_timestamps(pd.Series([1704103200, None], dtype="float64"))
    assert parsed.iloc[0] == pd.Timestamp("2024-01-01 10:00", tz="UTC") and not bad.any()


def test_validate_chunk_builds_the_canonical_frame(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_text("body,who,when\nhola,c1,2024-01-01\nhello,,\n", encoding="utf-8")
    raw = next(iter(iter_chunks(p)))
    out = validate_chunk(raw, ColumnMapping(text="body", customer_id="who", timestamp="when"),
                         max_text_chars=100)
    assert list(out.valid.columns) == list(CANONICAL_COLUMNS)
    assert out.valid["message_id"].tolist() == ["row-0", "row-1"]  # generated from the row number
    assert out.valid["customer_id"].tolist() == ["c1", None]
    assert out.valid["timestamp"].isna().tolist() == [False, True]
    assert out.rejected.empty


def test_column_mapping_errors_name_the_fix(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_text("body,ts\nhola,2024-01-01\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    with pytest.raises(InputFormatError, match="--text-col"):
        run_batch(p, out, process=light_process, progress=False)
    assert not out.exists()  # a wrong mapping fails before any output is touched
    with pytest.raises(InputFormatError, match="--customer-col"):
        run_batch(p, out, process=light_process, progress=False,
                  mapping=ColumnMapping(text="body", customer_id="cliente"))
    s = run_batch(p, out, process=light_process, progress=False,
                  mapping=ColumnMapping(text="body", timestamp="ts"))
    assert s.rows_written == 1
    assert read_table(out)["timestamp"].tolist() == ["2024-01-01T00:00:00Z"]


def test_every_rejection_reason_from_real_files(tmp_path: Path) -> None:
    csv_in = tmp_path / "in.csv"
    csv_in.write_bytes(
        b"message_id,timestamp,text\n"
        b"ok1,2024-01-01,hola\n"
        b"e1,2024-01-01,   \n"
        b"t1,2024-13-45,hello\n"
        b"u1,2024-01-01,caf\xff\xfe " + SECRET.encode() + b"\n"
        b"l1,2024-01-01," + (SECRET + " long" * 100).encode() + b"\n"
        b"m1,2024-01-01,a,b,c\n"
        b"ok2,,adios\n"
    )
    s = run_batch(csv_in, tmp_path / "out.csv", process=light_process, progress=False)
    assert s.rejected_by_reason == {"bad_timestamp": 1, "empty_text": 1, "malformed_row": 1,
                                    "text_too_long": 1, "undecodable": 1}
    assert (s.rows_read, s.rows_written, s.rows_rejected) == (7, 2, 5)
    rej = read_table(tmp_path / "out.rejected.csv")
    assert rej["record_id"].tolist() == ["e1", "t1", "u1", "l1", "m1"]
    assert set(rej["table"]) == {"messages"}
    assert rej["source_row"].tolist() == ["1", "2", "3", "4", "5"]
    assert rej["source_line"].tolist() == ["3", "4", "5", "6", "7"]
    assert "'2024-13-45'" in rej["message"].iloc[1]  # a date-like value is safe to echo
    raw_rejected = (tmp_path / "out.rejected.csv").read_bytes()
    assert SECRET.encode() not in raw_rejected and b"hola" not in raw_rejected

    jsonl_in = tmp_path / "in.jsonl"
    jsonl_in.write_text('{"text": "hola"}\n{"text": "rota"\n{"other": 1}\n', encoding="utf-8")
    s = run_batch(jsonl_in, tmp_path / "j.jsonl", process=light_process, progress=False)
    assert s.rejected_by_reason == {"bad_json": 1, "missing_column": 1}
    rej = read_table(tmp_path / "j.rejected.jsonl")
    assert rej["reason"].tolist() == ["bad_json", "missing_column"]
    assert rej["source_line"].tolist() == [2, 3]


@pytest.mark.parametrize("in_ext", [".csv", ".tsv", ".csv.gz", ".jsonl", ".jsonl.gz", ".parquet"])
@pytest.mark.parametrize("out_ext", [".csv", ".jsonl.gz", ".parquet"])
def test_formats_in_and_out_keep_every_row_once_in_order(tmp_path: Path, in_ext: str, out_ext: str) -> None:
    rows = _mixed_rows(150)
    src = _write(tmp_path / f"in{in_ext}", rows)
    dst = tmp_path / f"res{out_ext}"
    s = run_batch(src, dst, process=light_process, chunk_rows=40, progress=False)
    valid = _expected_valid(rows)
    assert s.rows_read == 150 == s.rows_written + s.rows_rejected
    assert s.rows_written == len(valid)
    out = read_table(dst)
    assert [int(x) for x in out["source_row"]] == valid
    assert out["message_id"].tolist() == [f"m{i}" for i in valid]
    rej = read_table(tmp_path / f"res.rejected{out_ext}")
    assert sorted(int(x) for x in rej["source_row"]) == sorted(set(range(150)) - set(valid))
    summary = json.loads((tmp_path / f"res{out_ext}.summary.json").read_text())
    assert summary["rows_read"] == 150 and summary["rejected_by_reason"] == s.rejected_by_reason
    assert not (tmp_path / f"res{out_ext}.checkpoint.json").exists()


def test_process_contract_is_enforced(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", _mixed_rows(20))
    with pytest.raises(ConfigError, match="one row per input row"):
        run_batch(src, tmp_path / "o.csv", process=lambda f: f.iloc[:1], progress=False)
    with pytest.raises(ConfigError, match="DataFrame"):
        run_batch(src, tmp_path / "o2.csv", process=lambda f: None, progress=False)  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="same file"):
        run_batch(src, src, process=light_process, progress=False)


def test_summary_invariant_cannot_be_broken() -> None:
    with pytest.raises(RuntimeError, match="accounting"):
        BatchSummary(rows_read=10, rows_written=5, rows_rejected=4, rejected_by_reason={"empty_text": 4})


# --------------------------------------------------------------------------- resume

_KILL_SCRIPT = """
import os, signal, sys, time
from analyzer import batch
from analyzer.batch import checkpoint as checkpoints

src, dst, mode, after, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
calls = {"process": 0, "checkpoint": 0}

def process(frame):
    calls["process"] += 1
    if mode == "in_process" and calls["process"] > after:
        os.kill(os.getpid(), signal.SIGKILL)  # dies with the chunk read but nothing written
    if mode == "slow":
        time.sleep(0.05)
    return batch.light_process(frame)

real = checkpoints.write_checkpoint
def checkpoint(path, data):
    calls["checkpoint"] += 1
    # the first call is the initial empty checkpoint; then one per chunk
    if mode == "before_checkpoint" and calls["checkpoint"] > after + 1:
        os.kill(os.getpid(), signal.SIGKILL)  # outputs flushed, checkpoint not yet replaced
    real(path, data)
checkpoints.write_checkpoint = checkpoint

batch.run_batch(src, dst, process=process, chunk_rows=chunk, progress=False)
"""


def _run_killable(src: Path, dst: Path, mode: str, after: int, chunk: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DARKFEEDBACK_MAX_TEXT_CHARS": "200"}
    args = [str(src), str(dst), mode, str(after), str(chunk)]
    return subprocess.Popen([sys.executable, "-c", _KILL_SCRIPT, *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _read_bytes_or_frame(path: Path) -> object:
    return read_table(path) if path.suffix == ".parquet" else path.read_bytes()


def _same(a: object, b: object) -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame)
        pd.testing.assert_frame_equal(a, b)
    else:
        assert a == b


@pytest.mark.parametrize(("out_ext", "mode", "after"), [
    (".csv", "in_process", 3),
    (".csv", "before_checkpoint", 2),
    (".jsonl.gz", "before_checkpoint", 4),
    (".parquet", "in_process", 1),
    (".parquet", "before_checkpoint", 3),
])
def test_resume_after_sigkill_writes_every_row_exactly_once(
    tmp_path: Path, out_ext: str, mode: str, after: int
) -> None:
    rows = _mixed_rows(400)
    src = _write(tmp_path / "in.csv", rows)
    clean = tmp_path / "clean" / f"res{out_ext}"
    run_batch(src, clean, process=light_process, chunk_rows=50, progress=False)

    dst = tmp_path / "killed" / f"res{out_ext}"
    proc = _run_killable(src, dst, mode, after, 50)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err.decode()
    ckpt = json.loads((dst.parent / f"res{out_ext}.checkpoint.json").read_text())
    assert ckpt["position"]["row"] == after * 50

    s = run_batch(src, dst, process=light_process, chunk_rows=50, progress=False)
    assert s.resumed_from == after * 50
    assert s.rows_read == 400 == s.rows_written + s.rows_rejected
    _same(_read_bytes_or_frame(dst), _read_bytes_or_frame(clean))
    _same(_read_bytes_or_frame(dst.parent / f"res.rejected{out_ext}"),
          _read_bytes_or_frame(clean.parent / f"res.rejected{out_ext}"))
    out = read_table(dst)
    assert [int(x) for x in out["source_row"]] == _expected_valid(rows)


def test_resume_after_external_sigkill_mid_run(tmp_path: Path) -> None:
    rows = _mixed_rows(600)
    src = _write(tmp_path / "in.jsonl", rows)
    dst = tmp_path / "res.csv"
    proc = _run_killable(src, dst, "slow", 0, 20)
    ckpt = tmp_path / "res.csv.checkpoint.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if json.loads(ckpt.read_text())["position"]["row"] >= 100:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    s = run_batch(src, dst, process=light_process, chunk_rows=20, progress=False)
    assert 100 <= s.resumed_from < 600
    out = read_table(dst)
    assert [int(x) for x in out["source_row"]] == _expected_valid(rows)
    assert s.rows_read == 600 == s.rows_written + s.rows_rejected


def test_changed_input_refuses_resume_until_no_resume(tmp_path: Path) -> None:
    rows = _mixed_rows(200)
    src = _write(tmp_path / "in.csv", rows)
    dst = tmp_path / "res.csv"
    proc = _run_killable(src, dst, "in_process", 2, 50)
    proc.communicate(timeout=60)
    assert (tmp_path / "res.csv.checkpoint.json").exists()
    _write(src, rows[:150])  # the user re-exported the file
    with pytest.raises(InputFormatError, match="--no-resume"):
        run_batch(src, dst, process=light_process, chunk_rows=50, progress=False)
    with pytest.raises(InputFormatError, match="mapping"):  # other options are checked too
        _write(src, rows)
        os.utime(src, ns=(0, 0))
        run_batch(src, dst, process=light_process, progress=False, mapping=ColumnMapping(channel="canal"))
    s = run_batch(src, dst, process=light_process, chunk_rows=50, progress=False, resume=False)
    assert s.resumed_from == 0 and s.rows_read == 200
    assert [int(x) for x in read_table(dst)["source_row"]] == _expected_valid(rows)


# --------------------------------------------------------------------------- memory


def _big_csv(path: Path, n: int) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("message_id,customer_id,timestamp,channel,text\n")
        for i in range(n):
            fh.write(f"m{i},c{i % 997},2024-03-{1 + i % 28:02d} 10:00,chat,"
                     f"mensaje {i} sobre el pedido que no llegó y la factura duplicada\n")
    return path


def test_chunks_stay_bounded_on_a_200k_row_file(tmp_path: Path) -> None:
    src = _big_csv(tmp_path / "big.csv", 200_000)
    sizes: list[int] = []

    def process(frame: pd.DataFrame) -> pd.DataFrame:
        sizes.append(len(frame))
        return light_process(frame)

    s = run_batch(src, tmp_path / "big.out.csv", process=process, chunk_rows=5000, progress=False)
    assert s.rows_written == 200_000 and s.rows_rejected == 0
    assert len(sizes) == 40 and max(sizes) == 5000


def test_peak_memory_is_a_chunk_not_the_file(tmp_path: Path) -> None:
    src = _big_csv(tmp_path / "mid.csv", 30_000)
    # What holding the whole file would cost, in the reader's own representation.
    whole = sum(int(c.memory_usage(deep=True).sum()) for c in iter_chunks(src, chunk_rows=1000))
    warm = _big_csv(tmp_path / "warm.csv", 100)  # lazy imports and caches are not per-row memory
    run_batch(warm, tmp_path / "warm.out.jsonl", process=light_process, progress=False)
    tracemalloc.start()
    try:
        run_batch(src, tmp_path / "mid.out.jsonl", process=light_process, chunk_rows=1000, progress=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One chunk is 1/30 of the file; allow generous overhead but far less than the whole file.
    assert peak < whole / 3, f"peak {peak / 2**20:.1f} MiB vs whole file {whole / 2**20:.1f} MiB"
