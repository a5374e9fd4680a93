"""Hostile inputs to the batch command: every record ends written or rejected, never an aborted batch.

Regression tests for the defects an independent probe found (issue 14: lone surrogates, damaged
gzip, 128 KiB fields, NUL-only texts, non-text Parquet columns, spreadsheet formulas), then
property-based tests that generate the classes instead of listing cases.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import string
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyzer.batch import light_process, run_batch
from analyzer.errors import InputFormatError
from analyzer.io import neutralize_formulas, read_table
from analyzer.io.timestamps import TimestampPolicy, parse_timestamps

HEADER = "message_id,customer_id,timestamp,channel,text\n"


def _run(src: Path, out_name: str = "out.csv", **kw: object):
    dst = src.with_name(out_name)
    s = run_batch(src, dst, process=light_process, progress=False, **kw)  # type: ignore[arg-type]
    return s, dst


def test_lone_surrogate_line_is_one_rejected_row_not_an_abort(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "hola"}\n{"text": "\\ud800"}\n{"text": "bien \\ud83d\\ude00"}\n', encoding="utf-8")
    s, dst = _run(src, "out.jsonl")
    assert (s.rows_read, s.rows_written, s.rejected_by_reason) == (3, 2, {"undecodable": 1})
    lines = [json.loads(x) for x in dst.read_text(encoding="utf-8").splitlines()]
    assert [x["source_row"] for x in lines] == [0, 2]  # the emoji's surrogate pair is valid text


def test_not_gzip_is_a_clear_input_error(tmp_path: Path) -> None:
    src = tmp_path / "in.csv.gz"
    src.write_text(HEADER + "m1,c1,2024-01-01,chat,hola\n", encoding="utf-8")
    with pytest.raises(InputFormatError, match="not a gzip file"):
        _run(src)


def test_truncated_gzip_says_so_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    rows = "".join(f"m{i},c{i % 5},2024-01-01,chat,mensaje número {i} sobre el pedido\n" for i in range(20_000))
    data = gzip.compress((HEADER + rows).encode())
    src = tmp_path / "in.csv.gz"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="damaged"):
        _run(src, chunk_rows=1000)
    assert not list(tmp_path.glob("out*")), "partial output or checkpoint left behind"


def test_field_over_128_kib_is_text_too_long_not_malformed(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(HEADER + "m1,c1,2024-01-01,chat," + "x" * (130 * 1024) + "\nm2,c1,2024-01-01,chat,hola\n",
                   encoding="utf-8")
    s, _ = _run(src)
    assert s.rejected_by_reason == {"text_too_long": 1} and s.rows_written == 1


def test_nul_only_text_is_empty_and_nul_inside_is_dropped(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "\\u0000\\u0000"}\n{"text": "ho\\u0000la"}\n', encoding="utf-8")
    s, dst = _run(src, "out.jsonl")
    assert s.rejected_by_reason == {"empty_text": 1}
    assert json.loads(dst.read_text().splitlines()[0])["text_chars"] == 4


def test_parquet_non_text_columns_are_rejected_not_analysed_as_reprs(tmp_path: Path) -> None:
    src = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": pa.array([b"\xff\xfe", b"hola"], pa.binary())}), src)
    s, _ = _run(src)
    assert s.rejected_by_reason == {"undecodable": 1} and s.rows_written == 1  # valid UTF-8 bytes are text
    src2 = tmp_path / "ints.parquet"
    pq.write_table(pa.table({"text": [1, 2], "message_id": ["a", "b"]}), src2)
    s, _ = _run(src2, "o2.csv")
    assert s.rejected_by_reason == {"bad_type": 2}
    src3 = tmp_path / "structs.parquet"
    pq.write_table(pa.table({"text": [{"a": 1}, {"a": 2}]}), src3)
    s, _ = _run(src3, "o3.csv")
    assert s.rejected_by_reason == {"bad_type": 2}


def test_csv_output_neutralises_spreadsheet_formulas(tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(HEADER + '"=HYPERLINK(""http://x"",""y"")",@SUM(1),2024-01-01,+cmd,hola\n'
                   "-1,c2,2024-01-01,chat,\"\tx\"\n", encoding="utf-8")
    _, dst = _run(src)
    raw = dst.read_text(encoding="utf-8")
    out = pd.read_csv(dst, dtype=str, keep_default_na=False)
    assert out["message_id"].tolist() == ["'=HYPERLINK(\"http://x\",\"y\")", "-1"]  # a plain number stays
    assert out["customer_id"].tolist() == ["'@SUM(1)", "c2"]
    assert out["channel"].tolist() == ["'+cmd", "chat"]
    assert "\n=" not in raw and ",=" not in raw and ",@" not in raw and ",+" not in raw


def test_formula_neutraliser_keeps_numbers_and_normal_text() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "-3.5", "+34", "@x", "\tt", "\rr", "hola", "-x"]})
    assert neutralize_formulas(frame)["a"].tolist() == ["'=1+1", "-3.5", "+34", "'@x", "'\tt", "'\rr", "hola", "'-x"]


def test_dates_are_day_first_unless_told_and_naive_times_take_the_time_zone() -> None:
    values = pd.Series(["01/05/2024 10:00", "2024-07-01T10:00", "2024-07-01T10:00:00+00:00"])
    es, bad = parse_timestamps(values, TimestampPolicy(timezone="Europe/Madrid"))
    assert not bad.any()
    assert es.tolist() == [pd.Timestamp("2024-05-01 08:00", tz="UTC"), pd.Timestamp("2024-07-01 08:00", tz="UTC"),
                           pd.Timestamp("2024-07-01 10:00", tz="UTC")]
    us, _ = parse_timestamps(values[:1], TimestampPolicy(dayfirst=False))
    assert us.iloc[0] == pd.Timestamp("2024-01-05 10:00", tz="UTC")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00", "99999999999999",
                                   "31/02/2024", "2024-13-01", "25:00"])
def test_out_of_range_or_impossible_dates_are_bad_not_errors(value: str) -> None:
    parsed, bad = parse_timestamps(pd.Series([value]))
    assert bad.tolist() == [True] and parsed.isna().all()


# --------------------------------------------------------------------------- properties

_cell = st.one_of(st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
                  st.sampled_from(["\x00", "\ud800", '"', "\n", "\r\n", ",", ";", "=1+1", "\t", "🙂"]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(_cell, _cell, _cell), min_size=1, max_size=12), fmt=st.sampled_from(["csv", "jsonl"]))
def test_any_text_in_any_cell_is_written_or_rejected(tmp_path_factory: pytest.TempPathFactory,
                                                     rows: list[tuple[str, str, str]], fmt: str) -> None:
    d = tmp_path_factory.mktemp("prop")
    src = d / f"in.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf).writerows([("message_id", "timestamp", "text"), *rows])
        src.write_bytes(buf.getvalue().encode("utf-8", errors="surrogatepass"))  # lone surrogates: bad bytes
    else:
        src.write_text("".join(json.dumps({"message_id": a, "timestamp": b, "text": c}) + "\n"
                               for a, b, c in rows), encoding="utf-8")
    s, dst = _run(src, f"out.{fmt}")
    assert s.rows_read == s.rows_written + s.rows_rejected
    assert s.rows_read >= 1
    read_table(dst)  # the output reads back


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=0, max_size=300))
def test_any_bytes_after_a_header_never_abort(tmp_path_factory: pytest.TempPathFactory, data: bytes) -> None:
    d = tmp_path_factory.mktemp("bytes")
    for name in ("in.csv", "in.jsonl"):
        src = d / name
        head = HEADER.encode() if name.endswith(".csv") else b""
        src.write_bytes(head + data)
        if not data.strip() and name.endswith(".jsonl"):
            continue
        try:
            s, _ = _run(src, "out_" + name)
        except InputFormatError as exc:  # only file-level problems may stop a run, with a message
            assert str(exc)
            continue
        assert s.rows_read == s.rows_written + s.rows_rejected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Integers within int64: a Parquet file cannot hold a larger one (pyarrow refuses to write it).
@given(values=st.lists(st.one_of(st.binary(max_size=20), st.integers(min_value=-2**63, max_value=2**63 - 1),
                                 st.floats(), st.none(), st.text(alphabet=string.printable, max_size=20)),
                       min_size=1, max_size=8))
def test_any_parquet_cell_type_is_written_or_rejected(tmp_path_factory: pytest.TempPathFactory,
                                                       values: list[object]) -> None:
    d = tmp_path_factory.mktemp("pq")
    src = d / "in.parquet"
    kinds = {type(v) for v in values if v is not None}
    column = values if len(kinds) <= 1 else [None if v is None else repr(v) for v in values]
    pq.write_table(pa.table({"text": column, "timestamp": column}), src)
    s, _ = _run(src)
    assert s.rows_read == len(values) == s.rows_written + s.rows_rejected
