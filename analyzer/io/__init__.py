"""I/O: file formats, streaming readers, durable writers and the one timestamp parser.

    from analyzer.io import iter_chunks, read_table, ChunkWriter, parse_timestamps

Modules: :mod:`~analyzer.io.formats` (what a path holds), :mod:`~analyzer.io.readers` and
:mod:`~analyzer.io.text_readers` (constant-memory readers), :mod:`~analyzer.io.writers`
(resumable writers, one record shape per format), :mod:`~analyzer.io.timestamps` (every
input's dates), :mod:`~analyzer.io.durable` (atomic, fsync'd, private files).
"""

from __future__ import annotations

from analyzer.io.durable import atomic_write_json, file_fingerprint, fsync_dir, make_private_dir, make_private_file
from analyzer.io.formats import FORMATS, FileFormat, Format, detect_format, split_extension
from analyzer.io.readers import count_rows, decode_nested, iter_chunks, iter_raw_chunks, read_table
from analyzer.io.text_readers import READ_ERROR_COL, SOURCE_LINE_COL, SOURCE_ROW_COL, RawChunk, ReadPosition
from analyzer.io.timestamps import TIMESTAMP_HELP, TimestampPolicy, parse_timestamp, parse_timestamps
from analyzer.io.writers import ChunkWriter, WriterState, conform, neutralize_formulas

__all__ = [
    "FORMATS",
    "READ_ERROR_COL",
    "SOURCE_LINE_COL",
    "SOURCE_ROW_COL",
    "TIMESTAMP_HELP",
    "ChunkWriter",
    "FileFormat",
    "Format",
    "RawChunk",
    "ReadPosition",
    "TimestampPolicy",
    "WriterState",
    "atomic_write_json",
    "conform",
    "count_rows",
    "decode_nested",
    "detect_format",
    "file_fingerprint",
    "fsync_dir",
    "iter_chunks",
    "iter_raw_chunks",
    "make_private_dir",
    "make_private_file",
    "neutralize_formulas",
    "parse_timestamp",
    "parse_timestamps",
    "read_table",
    "split_extension",
]
