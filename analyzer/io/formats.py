"""File formats: which record format a path holds, from its extension or an explicit name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from analyzer.errors import ConfigError, InputFormatError

__all__ = ["FORMATS", "FileFormat", "Format", "detect_format", "split_extension"]

Format = Literal["csv", "tsv", "jsonl", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "tsv", "jsonl", "parquet")

_EXTENSIONS: dict[str, Format] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_ALIASES: dict[str, Format] = {"json": "jsonl", "ndjson": "jsonl", "pq": "parquet", **{f: f for f in FORMATS}}


@dataclass(frozen=True)
class FileFormat:
    """What a path holds: the record format and whether it is gzip-compressed."""

    format: Format
    gzip: bool = False

    @property
    def extension(self) -> str:
        """The canonical file extension, e.g. ``.csv.gz``."""
        ext = {"csv": ".csv", "tsv": ".tsv", "jsonl": ".jsonl", "parquet": ".parquet"}[self.format]
        return ext + (".gz" if self.gzip else "")

    @property
    def is_text(self) -> bool:
        return self.format != "parquet"


def detect_format(path: str | os.PathLike[str], fmt: str | None = None) -> FileFormat:
    """Format of ``path`` from its extension (``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``,
    ``.parquet``/``.pq``, each text format optionally ``.gz``), or from ``fmt`` when given.

    ``fmt`` overrides the extension (``"csv"``, ``"tsv"``, ``"jsonl"``, ``"parquet"``); a ``.gz``
    suffix still means gzip. Raises :class:`InputFormatError` when neither tells the format.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    is_gz = bool(suffixes) and suffixes[-1] == ".gz"
    if fmt is not None:
        key = fmt.lower().lstrip(".")
        if key not in _ALIASES:
            raise ConfigError(f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}.")
        chosen = _ALIASES[key]
    else:
        ext = suffixes[-2] if is_gz and len(suffixes) >= 2 else (suffixes[-1] if suffixes else "")
        if ext not in _EXTENSIONS:
            raise InputFormatError(
                f"Cannot tell the format of {p.name!r} from its extension "
                f"{''.join(p.suffixes) or '(none)'!r}; "
                f"rename it to .csv, .tsv, .jsonl, .parquet (text formats may end in .gz) "
                f"or pass the format explicitly (--format csv|tsv|jsonl|parquet)."
            )
        chosen = _EXTENSIONS[ext]
    if chosen == "parquet" and is_gz:
        raise InputFormatError(
            f"{p.name!r}: gzip-compressed Parquet is not supported (Parquet compresses internally); "
            "decompress it first."
        )
    return FileFormat(chosen, is_gz)


def split_extension(path: str | os.PathLike[str]) -> tuple[str, str]:
    """``results.csv.gz`` -> ``("results", ".csv.gz")``; a name without a known extension keeps it all."""
    name = Path(path).name
    known = sorted((e + g for e in _EXTENSIONS for g in ("", ".gz")), key=len, reverse=True)
    for ext in known:
        if name.lower().endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], name[-len(ext):]
    return name, ""
