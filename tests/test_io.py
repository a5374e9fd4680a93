"""Streaming readers and resumable writers of analyzer.io, on real files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analyzer.errors import ConfigError, InputFormatError
from analyzer.io import (
    READ_ERROR_COL,
    SOURCE_LINE_COL,
    SOURCE_ROW_COL,
    ChunkWriter,
    FileFormat,
    ReadPosition,
    count_rows,
    detect_format,
    iter_chunks,
    iter_raw_chunks,
    read_table,
)


def _all(path: Path, **kw: object) -> pd.DataFrame:
    return pd.concat(list(iter_chunks(path, **kw)), ignore_index=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "fmt", "expected"),
    [
        ("a.csv", None, FileFormat("csv")),
        ("a.CSV.gz", None, FileFormat("csv", True)),
        ("a.tsv", None, FileFormat("tsv")),
        ("a.jsonl", None, FileFormat("jsonl")),
        ("a.ndjson.gz", None, FileFormat("jsonl", True)),
        ("a.parquet", None, FileFormat("parquet")),
        ("a.pq", None, FileFormat("parquet")),
        ("export.txt", "csv", FileFormat("csv")),
        ("export.txt.gz", "jsonl", FileFormat("jsonl", True)),
    ],
)
def test_detect_format(name: str, fmt: str | None, expected: FileFormat) -> None:
    assert detect_format(name, fmt) == expected


def test_detect_format_errors_say_how_to_fix() -> None:
    with pytest.raises(InputFormatError, match="--format"):
        detect_format("export.txt")
    with pytest.raises(ConfigError, match="Unknown format"):
        detect_format("a.csv", "xlsx")
    with pytest.raises(InputFormatError, match="gzip-compressed Parquet"):
        detect_format("a.parquet.gz")


def test_csv_reads_strings_only_with_row_and_line_numbers(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_bytes(
        b"\xef\xbb\xbfid,text,n\n"  # Excel BOM
        b"1,hola,NA\n"
        b"\n"  # blank line: not a record
        b'2,"multi\nline, with ""quotes""",007\n'
        b"3,last,\n"
    )
    df = _all(p)
    assert list(df.columns[:3]) == ["id", "text", "n"]
    assert df["n"].tolist() == ["NA", "007", ""]  # no NA magic, no number parsing
    assert df["text"].tolist() == ["hola", 'multi\nline, with "quotes"', "last"]
    assert df[SOURCE_ROW_COL].tolist() == [0, 1, 2]
    assert df[SOURCE_LINE_COL].tolist() == [2, 4, 6]
    assert df[READ_ERROR_COL].tolist() == ["", "", ""]


def test_csv_semicolon_delimiter_is_sniffed_and_tsv_uses_tabs(tmp_path: Path) -> None:
    p = tmp_path / "es.csv"
    p.write_text("id;text\n1;precio 3,50 €\n", encoding="utf-8")
    assert _all(p)["text"].tolist() == ["precio 3,50 €"]
    t = tmp_path / "a.tsv"
    t.write_text("id\ttext\n1\ta, b; c\n", encoding="utf-8")
    assert _all(t)["text"].tolist() == ["a, b; c"]


def test_csv_undecodable_and_malformed_rows_are_flagged_not_raised(tmp_path: Path) -> None:
    p = tmp_path / "in.csv"
    p.write_bytes(
        b"id,text\n"
        b"1,fine\n"
        b"2,bad \xff\xfe bytes\n"
        b"3,too,many\n"
        b"4,also fine\n"
        b'5,"unclosed quote\n'
        b"6,swallowed\n"
    )
    df = _all(p, chunk_rows=2)
    assert df[READ_ERROR_COL].tolist() == ["", "undecodable", "malformed_row", "", "malformed_row"]
    assert df["text"].tolist()[3] == "also fine"
    assert df["id"].tolist()[:4] == ["1", "2", "3", "4"]


def test_utf16_file_is_refused_with_a_hint(tmp_path: Path) -> None:
    p = tmp_path / "excel.csv"
    p.write_bytes("id,text\n1,hola\n".encode("utf-16"))
    with pytest.raises(InputFormatError, match="UTF-8"):
        _all(p)


def test_other_encodings_can_be_given(tmp_path: Path) -> None:
    p = tmp_path / "win.csv"
    p.write_bytes("id;text\n1;añadir canción\n".encode("cp1252"))
    assert _all(p)[READ_ERROR_COL].tolist() == ["undecodable"]
    assert _all(p, encoding="cp1252")["text"].tolist() == ["añadir canción"]


def test_jsonl_bad_lines_become_flags(tmp_path: Path) -> None:
    p = tmp_path / "in.jsonl"
    p.write_bytes(
        b'{"text": "hola", "n": 3, "meta": {"a": 1}, "none": null}\n'
        b"{not json\n"
        b"\n"
        b"[1, 2]\n"
        b'{"other": "no text key"}\n'
        b'{"text": "bad \xff byte"}\n'
    )
    df = _all(p)
    assert df[READ_ERROR_COL].tolist() == ["", "bad_json", "bad_json", "", "undecodable"]
    assert df[SOURCE_LINE_COL].tolist() == [1, 2, 4, 5, 6]
    # JSON values keep their type (nested ones too); null is an empty value.
    assert df.loc[0, "n"] == 3 and df.loc[0, "meta"] == {"a": 1} and df.loc[0, "none"] == ""
    assert df.loc[3, "text"] is None  # absent key stays missing, unlike an empty string


def test_parquet_reads_in_batches_with_nulls_as_empty(tmp_path: Path) -> None:
    p = tmp_path / "in.parquet"
    pq.write_table(pa.table({"text": ["a", None, "c", "d", "e"], "n": [1, 2, 3, 4, 5]}), p, row_group_size=2)
    chunks = list(iter_chunks(p, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    df = pd.concat(chunks, ignore_index=True)
    assert df["text"].tolist() == ["a", "", "c", "d", "e"]
    assert df[SOURCE_ROW_COL].tolist() == [0, 1, 2, 3, 4]


def _write_inputs(tmp_path: Path, n: int = 23) -> dict[str, Path]:
    rows = [{"id": str(i), "text": f"mensaje número {i}"} for i in range(n)]
    csv_text = "id,text\n" + "".join(f'{r["id"]},"{r["text"]}"\n' for r in rows)
    jsonl_text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    paths = {
        "csv": tmp_path / "in.csv",
        "csv.gz": tmp_path / "in.csv.gz",
        "jsonl": tmp_path / "in.jsonl",
        "jsonl.gz": tmp_path / "in.jsonl.gz",
        "parquet": tmp_path / "in.parquet",
    }
    paths["csv"].write_text(csv_text, encoding="utf-8")
    paths["csv.gz"].write_bytes(gzip.compress(csv_text.encode()))
    paths["jsonl"].write_text(jsonl_text, encoding="utf-8")
    paths["jsonl.gz"].write_bytes(gzip.compress(jsonl_text.encode()))
    pq.write_table(pa.Table.from_pylist(rows), paths["parquet"], row_group_size=5)
    return paths


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "jsonl", "jsonl.gz", "parquet"])
def test_every_format_reads_the_same_and_resumes_from_a_position(tmp_path: Path, kind: str) -> None:
    path = _write_inputs(tmp_path)[kind]
    full = _all(path, chunk_rows=4)
    assert full["text"].tolist() == [f"mensaje número {i}" for i in range(23)]
    chunks = list(iter_raw_chunks(path, chunk_rows=4))
    for k in (1, 3, 5):  # resume after k chunks: exactly the remaining rows, in order
        rest = pd.concat([c.frame for c in iter_raw_chunks(path, chunk_rows=4, start=chunks[k - 1].end)])
        assert rest[SOURCE_ROW_COL].tolist() == list(range(4 * k, 23))
        assert rest["text"].tolist() == full["text"].tolist()[4 * k:]
    assert chunks[-1].end.row == 23


def test_count_rows(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path)
    assert count_rows(paths["csv"]) == 23
    assert count_rows(paths["jsonl"]) == 23
    assert count_rows(paths["parquet"]) == 23
    assert count_rows(paths["csv.gz"]) is None  # indeterminate bar rather than a second pass


@pytest.mark.parametrize("ext", [".csv", ".tsv", ".jsonl", ".csv.gz", ".jsonl.gz", ".parquet"])
def test_writer_appends_and_truncates_back_to_a_saved_state(tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"out{ext}"
    ff = detect_format(out)
    a = pd.DataFrame({"message_id": ["m0", "m1"], "score": [0.5, 1.0],
                      "ts": pd.to_datetime(["2024-01-01 10:00", None], utc=True)})
    b = pd.DataFrame({"message_id": ["m2"], "score": [2.0], "ts": pd.to_datetime(["2024-01-02"], utc=True)})
    w = ChunkWriter(out, ff).open()
    state = w.write(a)
    w.write(b)  # written after the "checkpoint": must disappear on resume
    w.close()
    w = ChunkWriter(out, ff).open(state)
    w.write(b)
    w.finalize()
    back = read_table(out)
    assert back["message_id"].tolist() == ["m0", "m1", "m2"]
    assert [float(x) for x in back["score"]] == [0.5, 1.0, 2.0]
    if ff.format != "parquet":
        assert str(back["ts"].tolist()[0]).startswith("2024-01-01T10:00:00")


def test_parquet_finalize_unifies_chunk_types(tmp_path: Path) -> None:
    out = tmp_path / "out.parquet"
    w = ChunkWriter(out, detect_format(out)).open()
    w.write(pd.DataFrame({"id": ["a"], "label": [None]}))  # all-null column in the first chunk
    w.write(pd.DataFrame({"id": ["b"], "label": ["complaint"], "extra": [1]}))
    w.finalize()
    assert not w.parts_dir.exists()
    back = pd.read_parquet(out)
    assert back["label"].isna().tolist() == [True, False] and back["label"].iloc[1] == "complaint"
    assert back["extra"].isna().tolist() == [True, False]
    w.finalize()  # idempotent: a run killed while finalizing can finalize again


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="does not exist"):
        list(iter_chunks(tmp_path / "nope.csv"))
    with pytest.raises(ConfigError, match="chunk_rows"):
        list(iter_raw_chunks(tmp_path / "nope.csv", chunk_rows=0))


def test_resume_position_roundtrips_through_json() -> None:
    pos = ReadPosition(10, 12, 345)
    assert ReadPosition.from_dict(json.loads(json.dumps(pos.to_dict()))) == pos
