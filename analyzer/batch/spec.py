"""What a batch run is asked to do (:class:`BatchSpec`) and the plan every engine follows.

Both engines (:class:`~analyzer.batch.local.LocalEngine`, :class:`~analyzer.batch.ray_engine.RayEngine`)
start from the same :func:`plan`: resolved input shards and formats, output, rejected-rows and
checkpoint paths, and the configuration a checkpoint is bound to. So a mapping or a path
mistake fails the same way, before anything runs, whichever engine is used.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from analyzer.errors import ConfigError, InputFormatError
from analyzer.io import FileFormat, TimestampPolicy, detect_format, file_fingerprint, split_extension
from analyzer.io.text_readers import READ_ERROR_COL, RESERVED_COLUMNS

__all__ = ["BatchPlan", "BatchSpec", "ColumnMapping", "check_mapping", "default_rejected_path", "plan"]

CHECKPOINT_VERSION = 2


class ColumnMapping(BaseModel):
    """Which input columns hold the canonical fields. Only ``text`` must exist.

    An optional column left at its default name is used when present and ignored when absent;
    one named explicitly must exist (a typo should fail loudly, not silently drop data).
    """

    model_config = ConfigDict(frozen=True)

    text: str = Field(default="text", min_length=1)
    customer_id: str = Field(default="customer_id", min_length=1)
    timestamp: str = Field(default="timestamp", min_length=1)
    channel: str = Field(default="channel", min_length=1)
    message_id: str = Field(default="message_id", min_length=1)

    def check_columns(self, columns: list[str], source: str) -> None:
        """Raise :class:`InputFormatError` when a required or explicitly mapped column is absent."""
        present = set(columns)
        flags = {"text": "--text-col", "customer_id": "--customer-col", "timestamp": "--timestamp-col",
                 "channel": "--channel-col", "message_id": "--id-col"}
        wanted = ["text", *sorted(self.model_fields_set - {"text"})]
        for name in wanted:
            col = getattr(self, name)
            if col not in present:
                shown = ", ".join(repr(c) for c in columns[:20]) + (" ..." if len(columns) > 20 else "")
                raise InputFormatError(
                    f"{source}: column {col!r} (the {name} field) not found; the columns are [{shown}]. "
                    f"Name the right column with {flags[name]} COLUMN."
                )


@dataclass(frozen=True)
class BatchSpec:
    """A batch analysis: which file(s), where to, how to read them.

    ``input`` is a file, or (Ray engine) a directory of shards. ``max_reject_rate`` is the share
    of rejected rows above which the run counts as failed (:attr:`BatchSummary.too_many_rejected`);
    a run that rejects every row always does.
    """

    input: Path
    output: Path
    rejected: Path | None = None
    fmt: str | None = None
    out_fmt: str | None = None
    mapping: ColumnMapping = field(default_factory=ColumnMapping)
    chunk_rows: int = 2000
    encoding: str = "utf-8"
    delimiter: str | None = None
    timestamps: TimestampPolicy = field(default_factory=TimestampPolicy)
    max_text_chars: int = 20_000
    max_reject_rate: float = 1.0
    resume: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "input", Path(self.input))
        object.__setattr__(self, "output", Path(self.output))
        if self.rejected is not None:
            object.__setattr__(self, "rejected", Path(self.rejected))
        if self.chunk_rows < 1:
            raise ConfigError(f"chunk_rows must be at least 1, got {self.chunk_rows}.")
        if self.max_text_chars < 1:
            raise ConfigError(f"max_text_chars must be at least 1, got {self.max_text_chars}.")
        if not 0.0 <= self.max_reject_rate <= 1.0:
            raise ConfigError(f"max_reject_rate must be between 0 and 1, got {self.max_reject_rate}.")
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise ConfigError(f"delimiter must be one character, got {self.delimiter!r}.")
        try:
            "a".encode(self.encoding)
        except LookupError as exc:
            raise ConfigError(f"Unknown text encoding {self.encoding!r}; try utf-8, cp1252 or latin-1.") from exc

    def with_(self, **changes: Any) -> BatchSpec:
        return replace(self, **changes)


@dataclass(frozen=True)
class BatchPlan:
    """The resolved spec: shards (relative names), formats and every path a run touches."""

    spec: BatchSpec
    files: tuple[Path, ...]
    names: tuple[str, ...]  # each shard's path inside the input directory ("" for a single file)
    input_format: FileFormat
    output_format: FileFormat | None  # None: a directory of Parquet shards (Ray)
    rejected: Path
    rejected_format: FileFormat | None
    checkpoint: Path
    summary: Path
    is_directory: bool

    def config(self) -> dict[str, Any]:
        """What a checkpoint is bound to: a resume with anything different is refused."""
        s = self.spec
        return {
            "version": CHECKPOINT_VERSION,
            "input": [{"path": str(f.resolve()), **file_fingerprint(f)} for f in self.files],
            "input_format": asdict(self.input_format),
            "output_format": asdict(self.output_format) if self.output_format else "parquet-shards",
            "rejected_path": str(self.rejected.resolve()),
            "mapping": s.mapping.model_dump(),
            "max_text_chars": s.max_text_chars,
            "encoding": s.encoding,
            "delimiter": s.delimiter,
            "timestamps": asdict(s.timestamps),
        }


def default_rejected_path(output_path: str | os.PathLike[str], fmt: FileFormat) -> Path:
    """``results.csv`` -> ``results.rejected.csv`` (same folder, same format)."""
    out = Path(output_path)
    stem, _ = split_extension(out)
    return out.with_name(stem + ".rejected" + fmt.extension)


def _input_files(src: Path, fmt: str | None) -> tuple[list[Path], FileFormat, bool]:
    if src.is_file():
        return [src], detect_format(src, fmt), False
    if not src.is_dir():
        raise InputFormatError(f"Input {str(src)!r} does not exist (expected a file or a directory of shards).")
    files = sorted(p for p in src.rglob("*") if p.is_file()
                   and not any(part.startswith((".", "_")) for part in p.relative_to(src).parts))
    formats: dict[Path, FileFormat] = {}
    for p in files:
        try:
            formats[p] = detect_format(p, fmt)
        except InputFormatError:
            continue  # not a data file (a README, a _SUCCESS marker, ...)
    if not formats:
        raise InputFormatError(
            f"Directory {str(src)!r} holds no .csv/.tsv/.jsonl/.parquet files (optionally .gz); "
            "point INPUT at a file or at a directory of shards."
        )
    kinds = sorted({f.format for f in formats.values()})
    if len(kinds) > 1:
        raise InputFormatError(f"Directory {str(src)!r} mixes formats {kinds}; put one format per directory.")
    chosen = list(formats)
    return chosen, formats[chosen[0]], True


def _same_or_inside(a: Path, b: Path) -> bool:
    ra, rb = a.resolve(), b.resolve()
    return ra == rb or rb in ra.parents or ra in rb.parents


def plan(spec: BatchSpec, *, sharded_output: bool = False) -> BatchPlan:
    """Resolve ``spec``: input shards and formats, output and rejected paths (checked to differ).

    ``sharded_output``: the output is a directory of Parquet shards (the Ray engine); otherwise a
    single file whose extension (or ``out_fmt``) sets its format, the input's when it has none.
    """
    src, dst = spec.input, spec.output
    files, in_ff, is_dir = _input_files(src, spec.fmt)
    if is_dir and not sharded_output:
        raise ConfigError(f"{str(src)!r} is a directory; the local engine reads one file. Use --engine ray for a "
                          "directory of shards, or pass one file.")
    out_ff: FileFormat | None
    if sharded_output:
        if dst.suffix.lower() in (".csv", ".tsv", ".jsonl", ".gz", ".ndjson"):
            raise ConfigError(
                f"The Ray engine writes a directory of Parquet shards; {str(dst)!r} names a text file. "
                "Give a directory (e.g. -o analysed/) or use the local engine for CSV/JSONL output.")
        out_ff = None
        rej = spec.rejected or dst.with_name(dst.name + ".rejected")
        rej_ff = None
        for p, what in ((dst, "output"), (rej, "rejected-rows directory")):
            if _same_or_inside(p, src):
                raise ConfigError(f"The {what} {str(p)!r} overlaps the input {str(src)!r}; choose another path.")
        if dst.resolve() == rej.resolve():
            raise ConfigError(f"The output and the rejected-rows directory are the same path {str(dst)!r}.")
    else:
        if spec.out_fmt is not None:
            out_ff = detect_format(dst, spec.out_fmt)
        else:
            try:
                out_ff = detect_format(dst)
            except InputFormatError:
                out_ff = in_ff
        rej = spec.rejected or default_rejected_path(dst, out_ff)
        try:
            rej_ff = detect_format(rej)
        except InputFormatError:
            rej_ff = out_ff
        seen = {src.resolve(): "input"}
        for p, what in ((dst, "output"), (rej, "rejected-rows file")):
            if p.resolve() in seen:
                raise ConfigError(f"The {what} path {str(p)!r} is the same file as the {seen[p.resolve()]}; "
                                  "choose another path.")
            seen[p.resolve()] = what
    names = tuple(f.relative_to(src).as_posix() if is_dir else "" for f in files)
    return BatchPlan(spec, tuple(files), names, in_ff, out_ff, rej, rej_ff,
                     dst.with_name(dst.name + ".checkpoint.json"), dst.with_name(dst.name + ".summary.json"),
                     is_dir)


def check_mapping(first_chunk: Any, mapping: ColumnMapping, ff: FileFormat, src: Path) -> None:
    """A wrong column mapping is a file-level error, found on the first chunk before anything is written.

    JSONL keys vary per line, so a missing key is a per-row rejection, unless no parseable line of
    the first chunk has it, which is a wrong mapping rather than bad rows.
    """
    columns = [c for c in first_chunk.columns if c not in RESERVED_COLUMNS]
    if ff.format != "jsonl":
        mapping.check_columns(columns, repr(src.name))
        return
    parsed = first_chunk[READ_ERROR_COL] == ""
    if parsed.any() and (mapping.text not in first_chunk.columns
                         or first_chunk.loc[parsed, mapping.text].isna().all()):
        mapping.check_columns(columns, repr(src.name))
