"""Scale-out engine: the same batch analysis and alert computation on a Ray cluster.

Optional: ``pip install dark-feedback[ray]``. Nothing here imports Ray at module import time.

Batch analysis (:func:`run_batch_ray`) runs the *same* stage functions as the local engine
(:func:`analyzer.batch.local.run_batch`), only distributed::

    input file(s) --read with analyzer.io.files, chunk by chunk (one Ray task per shard)
                  --validate_chunk (the local engine's function)----> rejected rows -> Parquet
                  --valid canonical rows--> map_batches(_AnalyzeActor, actor pool of N workers)
                                           (model loaded once per actor; same ProcessFn)
                                        --> Parquet shards in the output directory

Each Ray batch is one reader chunk of ``chunk_rows`` records, exactly the chunks the local
engine hands to ``process``, so both engines compute the same rows, labels and scores. An
input directory is read shard by shard (one read task per file); its outputs carry an extra
``source_file`` column (the shard's path relative to the directory), because ``source_row``
and generated message ids restart in every shard. The run is not resumable the way the local
engine is (Ray retries failed tasks itself): a failed run leaves the previous output in place
and a rerun starts over.

Per-customer alerts (:func:`compute_alerts_ray`) run :func:`analyzer.foresight.compute_alerts_detailed`
per bucket of customers (``groupby(_bucket).map_groups``, every row of a customer in one
bucket), so messages and events larger than memory are never held in one place. The two
things that are population-wide in the local computation are computed first, over the whole
input: the judgement time ``as_of`` (the last valid timestamp) and the BG/NBD purchase model,
fitted once on every customer's RFM summary and used by every bucket. The result equals
``compute_alerts`` on the concatenated input (tested).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import pickle
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import numpy as np
import pandas as pd

from analyzer.batch.local import (
    BatchSummary,
    ColumnMapping,
    ProcessFn,
    _check_mapping,
    _run_process,
    light_process,
    validate_chunk,
)
from analyzer.errors import AnalyzerError, ConfigError, InputFormatError
from analyzer.io.files import FileFormat, detect_format, fsync_dir, iter_raw_chunks
from analyzer.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ProcessFactory",
    "RayNotInstalledError",
    "compute_alerts_ray",
    "load_light_process",
    "load_text_process",
    "ray_session",
    "run_batch_ray",
]

#: Builds the processing function inside each Ray worker (so the model loads once per actor).
ProcessFactory = Callable[[Settings], ProcessFn]

SOURCE_FILE_COL = "source_file"
_CHUNK_COL = "_chunk"
_PAYLOAD_COL = "_payload"
_CHUNKS_PER_FILE = 1 << 40
_INSTALL_HINT = "pip install 'dark-feedback[ray]'"
_DEFAULT_OBJECT_STORE = 1 << 30  # 1 GiB for a Ray started here; a cluster keeps its own setting


class RayNotInstalledError(ConfigError, ModuleNotFoundError):
    """The Ray engine was asked for but the optional ``ray[data]`` dependency is missing."""


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library is a separate extra of ray
    except ImportError as exc:
        raise RayNotInstalledError(
            f"The Ray engine needs the optional Ray dependency, which is not installed ({exc}). "
            f"Install it with: {_INSTALL_HINT}  (or use the local engine: --engine local)."
        ) from exc
    return ray


# --------------------------------------------------------------------------- processing factories


def load_text_process(settings: Settings) -> ProcessFn:
    """The full text pipeline (what ``darkfeedback analyze`` runs): ``load_analyzer().analyze_frame``."""
    from analyzer.text.pipeline import load_analyzer

    return load_analyzer(settings).analyze_frame


def load_light_process(settings: Settings) -> ProcessFn:
    """The model-free stand-in :func:`analyzer.batch.local.light_process` (tests, dry runs)."""
    return light_process


# --------------------------------------------------------------------------- connecting


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                object_store_memory: int | None = None) -> Iterator[Any]:
    """Use the Ray already initialised in this process, else join ``address``, else start a local Ray.

    ``address`` is a cluster address (``ray://host:10001``, ``host:6379`` or ``auto``); ``None``
    starts a private local Ray with ``num_cpus`` CPUs (default: all) and a small object store
    (``object_store_memory`` bytes, default 1 GiB; it spills to disk beyond that). A Ray started
    or joined here is shut down on exit; one initialised by the caller is left alone.
    """
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    kwargs: dict[str, Any] = {"log_to_driver": False, "configure_logging": False, "include_dashboard": False}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(address="local", num_cpus=num_cpus,
                 object_store_memory=object_store_memory or _DEFAULT_OBJECT_STORE, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


def _unwrap(exc: BaseException) -> BaseException:
    """The analyzer error behind a Ray task failure, if there is one (Ray wraps user exceptions)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, AnalyzerError):
            return cur
        cause = getattr(cur, "cause", None)
        cur = cause if isinstance(cause, BaseException) else (cur.__cause__ or cur.__context__)
    return exc


# --------------------------------------------------------------------------- batch analysis


def _input_files(src: Path, fmt: str | None) -> tuple[list[Path], FileFormat, bool]:
    """The files to read, their common format, and whether ``src`` is a directory of shards."""
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
        raise InputFormatError(
            f"Directory {str(src)!r} mixes formats {kinds}; put one format per directory."
        )
    chosen = list(formats)
    return chosen, formats[chosen[0]], True


def _read_validated(batch: dict[str, np.ndarray], *, keep: str, mapping: ColumnMapping, fmt: FileFormat,
                    chunk_rows: int, encoding: str, delimiter: str | None, max_text_chars: int,
                    with_file: bool) -> Iterator[pa.Table]:
    """Read each shard of ``batch`` chunk by chunk and validate it; yield its valid or rejected rows."""
    import pyarrow as pa

    for index, path, rel in zip(batch["index"], batch["path"], batch["rel"], strict=True):
        reader = iter_raw_chunks(Path(str(path)), fmt, chunk_rows, encoding=encoding, delimiter=delimiter)
        for k, chunk in enumerate(reader):
            part = validate_chunk(chunk.frame, mapping, max_text_chars=max_text_chars)
            frame = part.valid if keep == "valid" else part.rejected
            if frame.empty:
                continue
            if with_file:
                frame = frame.assign(**{SOURCE_FILE_COL: str(rel)})
            # Converted here exactly as the local Parquet writer does (ChunkWriter._write_part).
            table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
            if keep == "valid":
                # One row per chunk: Ray merges and splits blocks freely but never splits a row, so
                # the actor gets back exactly this chunk, the frame the local engine processes.
                yield pa.table({_CHUNK_COL: pa.array([int(index) * _CHUNKS_PER_FILE + k], pa.int64()),
                                _PAYLOAD_COL: pa.array([_ipc(table)], pa.large_binary())})
            else:
                yield table


def _to_pandas(table: pa.Table) -> pd.DataFrame:
    # Plain numpy/object columns, as the local readers give them (not pandas' Arrow-backed dtypes).
    return table.to_pandas()


class _AnalyzeActor:
    """One per worker: loads the processing function (the models) once, then analyses batches."""

    def __init__(self, make_process: ProcessFactory, settings: Settings) -> None:
        self.process = make_process(settings)

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        import pyarrow as pa

        for blob in batch.column(_PAYLOAD_COL).to_pylist():
            valid = _to_pandas(_from_ipc(blob))
            source_file = valid.pop(SOURCE_FILE_COL) if SOURCE_FILE_COL in valid.columns else None
            out = _run_process(self.process, valid)
            if source_file is not None:
                out[SOURCE_FILE_COL] = source_file.to_numpy()
            # Converted as the local Parquet writer converts each chunk (ChunkWriter._write_part).
            yield pa.Table.from_pandas(out.reset_index(drop=True), preserve_index=False)


def _finalize_shards(folder: Path) -> list[Path]:
    """Give every shard of ``folder`` one unified schema (a column that is all-null in one
    chunk and typed in another), rewriting only the shards that differ; returns the shards."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analyzer.io.files import _conform

    shards = sorted(folder.glob("*.parquet"))
    if not shards:
        return shards
    schemas = [pq.read_schema(p) for p in shards]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    for path, schema in zip(shards, schemas, strict=True):
        if schema.remove_metadata().equals(unified.remove_metadata()):
            continue
        table = _conform(pq.read_table(path), unified)
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, path)
    fsync_dir(folder)
    return shards


def _count_rows(shards: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in shards)


def _replace_dir(tmp: Path, final: Path) -> None:
    if final.is_dir():
        shutil.rmtree(final)
    elif final.exists():
        final.unlink()
    os.replace(tmp, final)
    fsync_dir(final.parent)


def _run_passes(ray: Any, ctx: Any, items: list[dict[str, Any]], read_kwargs: dict[str, Any], tmp_out: Path,
                tmp_rej: Path, make_process: ProcessFactory, worker_settings: Settings, num_workers: int,
                cpus_per_worker: float) -> None:
    sources = ray.data.from_items(items, override_num_blocks=len(items))
    # Pass 1 (no model): rejected rows; cheap, and it fails fast on an unreadable input.
    rejected = sources.map_batches(_read_validated, batch_size=1, batch_format="numpy",
                                   fn_kwargs={"keep": "rejected", **read_kwargs})
    rejected.write_parquet(str(tmp_rej))
    # Pass 2: valid rows through the actor pool, processed reader chunk by reader chunk. Every
    # chunk (one row) is its own block, so chunks spread over the actors instead of travelling
    # together in 128 MiB blocks to one of them.
    ctx.target_max_block_size = 1
    valid = sources.map_batches(_read_validated, batch_size=1, batch_format="numpy", num_cpus=0,
                                fn_kwargs={"keep": "valid", **read_kwargs})
    analysed = valid.map_batches(
        _AnalyzeActor, batch_size=None, batch_format="pyarrow", zero_copy_batch=False,
        compute=ray.data.ActorPoolStrategy(size=num_workers), num_cpus=cpus_per_worker,
        fn_constructor_kwargs={"make_process": make_process, "settings": worker_settings},
    )
    # Writers take no CPU slot: the actors may hold every CPU of a small cluster.
    analysed.write_parquet(str(tmp_out), ray_remote_args={"num_cpus": 0})


def run_batch_ray(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    make_process: ProcessFactory = load_text_process,
    mapping: ColumnMapping | None = None,
    fmt: str | None = None,
    rejected_path: str | os.PathLike[str] | None = None,
    chunk_rows: int | None = None,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    address: str | None = None,
    num_workers: int = 1,
    cpus_per_worker: float = 1.0,
    object_store_memory: int | None = None,
    settings: Settings | None = None,
) -> BatchSummary:
    """Analyse ``input_path`` (a CSV/TSV/JSONL/Parquet file or a directory of shards) on Ray.

    Writes Parquet shards into the directory ``output_path`` and the rejected rows (same columns
    and reason codes as the local engine; plus ``source_file`` for a directory input) as
    Parquet shards into ``rejected_path`` (default ``<output>.rejected``). Returns the same
    :class:`~analyzer.batch.local.BatchSummary` as :func:`~analyzer.batch.local.run_batch`, also written
    to ``<output>.summary.json``.

    ``make_process(settings)`` is called once in each of the ``num_workers`` actors
    (``cpus_per_worker`` CPUs each, also the torch thread count) to build the processing
    function; the default loads the full text pipeline. ``address`` joins a running cluster;
    without it a local Ray is started for this call (see :func:`ray_session`). The input and
    output paths must be visible to every node (a shared volume) on a multi-node cluster.
    """
    t0 = time.perf_counter()
    settings = settings or get_settings()
    mapping = mapping or ColumnMapping()
    chunk_rows = chunk_rows or settings.chunk_rows
    if chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, got {chunk_rows}.")
    if num_workers < 1:
        raise ConfigError(f"num_workers must be at least 1, got {num_workers}.")
    if cpus_per_worker <= 0:
        raise ConfigError(f"cpus_per_worker must be > 0, got {cpus_per_worker}.")
    src, dst = Path(input_path), Path(output_path)
    files, in_ff, is_dir = _input_files(src, fmt)
    if dst.suffix.lower() in (".csv", ".tsv", ".jsonl", ".gz", ".ndjson"):
        raise ConfigError(
            f"The Ray engine writes a directory of Parquet shards; {str(dst)!r} names a text file. "
            "Give a directory (e.g. -o analysed/) or use the local engine for CSV/JSONL output."
        )
    rej = Path(rejected_path) if rejected_path is not None else dst.with_name(dst.name + ".rejected")
    for p, what in ((dst, "output"), (rej, "rejected-rows directory")):
        r = p.resolve()
        if r == src.resolve() or src.resolve() in r.parents or r in src.resolve().parents:
            raise ConfigError(f"The {what} {str(p)!r} overlaps the input {str(src)!r}; choose another path.")
    if dst.resolve() == rej.resolve():
        raise ConfigError(f"The output and the rejected-rows directory are the same path {str(dst)!r}.")
    # Fail on a wrong column mapping before starting anything, as the local engine does.
    for f in files:
        first = next(iter_raw_chunks(f, in_ff, chunk_rows, encoding=encoding, delimiter=delimiter), None)
        if first is not None:
            _check_mapping(first.frame, mapping, in_ff, f)

    worker_settings = settings.model_copy(update={"num_threads": max(1, int(cpus_per_worker))})
    read_kwargs = {"mapping": mapping, "fmt": in_ff, "chunk_rows": chunk_rows, "encoding": encoding,
                   "delimiter": delimiter, "max_text_chars": settings.max_text_chars, "with_file": is_dir}
    items = [{"index": i, "path": str(f), "rel": f.relative_to(src).as_posix() if is_dir else f.name}
             for i, f in enumerate(files)]
    run_id = uuid.uuid4().hex[:8]
    tmp_out = dst.with_name(f".{dst.name}.ray-{run_id}")
    tmp_rej = rej.with_name(f".{rej.name}.ray-{run_id}")
    local_cpus = math.ceil(num_workers * cpus_per_worker) + 1 if not address else None
    try:
        with ray_session(address, num_cpus=local_cpus, object_store_memory=object_store_memory) as ray:
            ctx = ray.data.DataContext.get_current()
            saved = (ctx.execution_options.preserve_order, ctx.target_max_block_size)
            ctx.execution_options.preserve_order = True  # shards in input order, as the local output
            ctx.enable_progress_bars = False
            ctx.print_on_execution_start = False
            try:
                _run_passes(ray, ctx, items, read_kwargs, tmp_out, tmp_rej, make_process, worker_settings,
                            num_workers, cpus_per_worker)
            finally:
                ctx.execution_options.preserve_order, ctx.target_max_block_size = saved
    except Exception as exc:
        shutil.rmtree(tmp_out, ignore_errors=True)
        shutil.rmtree(tmp_rej, ignore_errors=True)
        inner = _unwrap(exc)
        if inner is not exc:
            raise inner from exc
        raise
    for tmp in (tmp_out, tmp_rej):
        tmp.mkdir(parents=True, exist_ok=True)  # Ray writes no directory for an empty dataset
    out_shards = _finalize_shards(tmp_out)
    rej_shards = _finalize_shards(tmp_rej)
    rows_written = _count_rows(out_shards)
    by_reason: dict[str, int] = {}
    if rej_shards:
        import pyarrow.parquet as pq

        for shard in rej_shards:
            counts = pq.read_table(shard, columns=["reason"]).column("reason").to_pandas().value_counts()
            for code, k in counts.items():
                by_reason[str(code)] = by_reason.get(str(code), 0) + int(k)
    _replace_dir(tmp_out, dst)
    _replace_dir(tmp_rej, rej)
    rows_rejected = sum(by_reason.values())
    rows_read = rows_written + rows_rejected  # every record is either valid (one output row) or rejected
    elapsed = time.perf_counter() - t0
    summary = BatchSummary(
        rows_read=rows_read, rows_written=rows_written, rows_rejected=rows_rejected,
        rejected_by_reason=dict(sorted(by_reason.items())), elapsed_s=round(elapsed, 3),
        rows_per_s=round(rows_read / elapsed, 1) if elapsed > 0 else 0.0,
        input_path=str(src), output_path=str(dst), rejected_path=str(rej),
    )
    from analyzer.batch.local import _atomic_write_json

    _atomic_write_json(dst.with_name(dst.name + ".summary.json"), summary.to_dict())
    return summary


def read_shards(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a directory of Parquet shards written by :func:`run_batch_ray` back, in order."""
    import pyarrow.parquet as pq

    shards = sorted(Path(folder).glob("*.parquet"))
    if not shards:
        return pd.DataFrame()
    return pd.concat([pq.read_table(p).to_pandas() for p in shards], ignore_index=True)


# --------------------------------------------------------------------------- per-customer alerts

_TABLES = ("messages", "events", "customers", "history")
_TABLE_KEY = {"messages": "message_id", "events": "event_id", "customers": "customer_id", "history": "alert_id"}
_TIME_COL = {"messages": "timestamp", "events": "timestamp", "history": "alerted_at"}
# analyzer.foresight.behaviour fits BG/NBD as ``BGNBD(penalizer=1e-4)`` on the whole batch.
_BGNBD_PENALIZER = 1e-4
_GHOST_PREFIX = "\x00ray-ghost-"
_NEVER = 1 << 62


def _norm_ids(values: pd.Series) -> pd.Series:
    """Customer ids as analyzer.foresight compares them (strings, stripped, ``17850.0`` = ``17850``)."""
    return values.astype("string").str.strip().str.removesuffix(".0").fillna("")


def _bucket_of(ids: pd.Series, n_buckets: int) -> np.ndarray:
    h = pd.util.hash_pandas_object(_norm_ids(ids).astype(object), index=False).to_numpy()
    return (h % np.uint64(n_buckets)).astype(np.int64)


def _ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def _from_ipc(blob: bytes) -> pa.Table:
    import pyarrow as pa

    return pa.ipc.open_stream(pa.BufferReader(blob)).read_all()


def _tag(batch: pa.Table, *, table: str, n_buckets: int) -> pa.Table:
    """One row per bucket present in the batch: (bucket, table name, that part of the batch as Arrow IPC)."""
    import pyarrow as pa

    if "customer_id" not in batch.column_names:
        raise InputFormatError(f"{table}: missing required column 'customer_id'; received {batch.column_names}.")
    buckets = _bucket_of(batch.column("customer_id").to_pandas(), n_buckets)
    rows: dict[str, list[Any]] = {"_bucket": [], "_table": [], "_payload": []}
    for b in np.unique(buckets):
        rows["_bucket"].append(int(b))
        rows["_table"].append(table)
        rows["_payload"].append(_ipc(batch.filter(pa.array(buckets == b))))
    return pa.table({"_bucket": pa.array(rows["_bucket"], pa.int64()), "_table": pa.array(rows["_table"], pa.string()),
                     "_payload": pa.array(rows["_payload"], pa.large_binary())})


def _consolidate(group: pa.Table) -> pa.Table:
    """All parts of one bucket -> one row: the bucket and one Arrow IPC payload per table."""
    import pyarrow as pa

    bucket = int(group.column("_bucket")[0].as_py())
    names = group.column("_table").to_pylist()
    blobs = group.column("_payload").to_pylist()
    row: dict[str, Any] = {"_bucket": pa.array([bucket], pa.int64())}
    for t in _TABLES:
        parts = [_from_ipc(b) for n, b in zip(names, blobs, strict=True) if n == t]
        merged = _ipc(pa.concat_tables(parts, promote_options="permissive")) if parts else None
        row[t] = pa.array([merged], pa.large_binary())
    return pa.table(row)


def _bucket_frames(row: dict[str, Any]) -> dict[str, pd.DataFrame | None]:
    """The bucket's tables as pandas, rows in a deterministic order (shuffles do not keep one)."""
    out: dict[str, pd.DataFrame | None] = {}
    for t in _TABLES:
        blob = row[t]
        if blob is None:
            out[t] = None
            continue
        df = _to_pandas(_from_ipc(blob))
        keys = [c for c in dict.fromkeys(("customer_id", _TIME_COL.get(t, ""), _TABLE_KEY[t])) if c in df.columns]
        if keys and len(df):
            order = df[keys[0]].astype(str)
            for c in keys[1:]:
                order = order + "\x1f" + df[c].astype(str)
            df = df.iloc[np.argsort(order.to_numpy(dtype=object), kind="stable")].reset_index(drop=True)
        out[t] = df
    return out


def _valid_tables(frames: dict[str, pd.DataFrame | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Valid messages and events of customers who did not opt out (what compute_alerts profiles)."""
    from analyzer.foresight import validate_customers, validate_events, validate_messages

    msgs = frames["messages"]
    evs = frames["events"]
    m = validate_messages(msgs).valid if msgs is not None else pd.DataFrame(columns=["customer_id", "timestamp"])
    e = (validate_events(evs).valid if evs is not None
         else pd.DataFrame(columns=["customer_id", "timestamp", "type"]))
    cust = validate_customers(frames["customers"]).valid
    opted_out = set(cust.loc[cust["opt_out"], "customer_id"].astype(str))
    return m.loc[~m["customer_id"].isin(opted_out)], e.loc[~e["customer_id"].isin(opted_out)]


def _bucket_last_time(batch: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per bucket, the last valid message time and the last valid event time (pickled Timestamps,
    so their resolution survives: the local as_of is one of these very values)."""
    out = []
    for row in _rows(batch):
        m, e = _valid_tables(_bucket_frames(row))
        out.append({"payload": pickle.dumps(tuple(df["timestamp"].max() if not df.empty else None for df in (m, e)))})
    return pd.DataFrame(out, columns=["payload"])


def _global_as_of(payloads: pd.Series) -> pd.Timestamp:
    """What compute_alerts' default as_of is on the whole input: max(last message, last event)."""
    per_bucket = [pickle.loads(p) for p in payloads]
    stamps = []
    for k in range(2):  # messages first, then events, as analyzer.foresight.alerts._as_of
        values = [b[k] for b in per_bucket if b[k] is not None]
        if values:
            stamps.append(max(values))
    return max(stamps) if stamps else pd.Timestamp.now(tz="UTC")


def _bucket_population(batch: dict[str, np.ndarray], *, as_of: pd.Timestamp, behaviour_config: Any) -> pd.DataFrame:
    """Per bucket, what the population-wide steps need: every customer's RFM summary (for the
    one BG/NBD fit) and the inputs of the pooled functions (see :data:`_POOLED_FUNCTIONS`)."""
    from analyzer.foresight import BehaviourConfig, compute_behaviour_signals, rfm_summary

    cfg = dataclasses.replace(behaviour_config or BehaviourConfig(), bgnbd_min_customers=_NEVER)
    out = []
    for row in _rows(batch):
        _, e = _valid_tables(_bucket_frames(row))
        ev = e.loc[e["timestamp"] <= as_of]
        summary = rfm_summary(ev.loc[ev["type"] == "purchase"], as_of)
        rfm = summary[["frequency", "recency", "T"]].reset_index()
        rfm["customer_id"] = rfm["customer_id"].astype(str)
        recorded: dict[str, Any] = {}
        if not e.empty:
            with _pooled("record", recorded):
                compute_behaviour_signals(e, as_of, cfg)
        out.append({"payload": pickle.dumps((rfm, recorded))})
    return pd.DataFrame(out, columns=["payload"])


def _rows(batch: dict[str, np.ndarray]) -> Iterator[dict[str, Any]]:
    n = len(batch["_bucket"])
    for i in range(n):
        yield {k: v[i] for k, v in batch.items()}


class _FittedBGNBD:
    """Stands in for ``BGNBD(...)`` inside a bucket: ``fit`` keeps the population fit."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, *args: Any, **kwargs: Any) -> _FittedBGNBD:
        return self

    def fit(self, *args: Any, **kwargs: Any) -> Any:
        return self.model


@contextlib.contextmanager
def _population_bgnbd(model: Any) -> Iterator[None]:
    """Make analyzer.foresight.behaviour use ``model`` (fitted on all customers) in this process."""
    from analyzer.foresight import behaviour

    if model is None:
        yield
        return
    if not hasattr(behaviour, "BGNBD"):
        raise ConfigError("analyzer.foresight.behaviour no longer builds a BGNBD model the Ray engine can share "
                          "between buckets; update analyzer.batch.ray_engine.compute_alerts_ray.")
    with mock.patch.object(behaviour, "BGNBD", _FittedBGNBD(model)):
        yield


#: Functions of analyzer.foresight.behaviour whose result pools every customer of the batch (one
#: number per call, e.g. the median week-to-week dispersion). Inside a bucket they would see only
#: the bucket's customers, so the Ray engine records their inputs in every bucket, evaluates the
#: real function once on the union of those inputs, and replays that value in every bucket.
_POOLED_FUNCTIONS: tuple[str, ...] = ("_weekly_dispersion",)


def _caller() -> str:
    import sys

    return sys._getframe(2).f_code.co_name  # the foresight function that asked for the statistic


@contextlib.contextmanager
def _pooled(mode: str, store: dict[str, Any]) -> Iterator[None]:
    """``mode="record"``: keep each pooled call's arguments in ``store`` (keyed by function and
    caller) and return the real (bucket-local) value; ``mode="replay"``: return ``store``'s
    population value for that key."""
    from analyzer.foresight import behaviour

    with contextlib.ExitStack() as stack:
        for name in _POOLED_FUNCTIONS:
            real = getattr(behaviour, name, None)
            if real is None:
                continue

            def wrapper(*args: Any, _name: str = name, _real: Any = real) -> Any:
                key = f"{_name}:{_caller()}"
                if mode == "replay":
                    if key not in store:
                        raise ConfigError(f"analyzer.batch.ray_engine has no population value for {key}; "
                                          "was the input changed between passes?")
                    return store[key]
                store.setdefault(key, []).append(args)
                return _real(*args)

            stack.enter_context(mock.patch.object(behaviour, name, wrapper))
        yield


def _pooled_values(recorded: list[dict[str, list[tuple[Any, ...]]]]) -> dict[str, Any]:
    """Evaluate each pooled function once on the union of what every bucket passed to it."""
    from analyzer.foresight import behaviour

    calls: dict[str, list[tuple[Any, ...]]] = {}
    for rec in recorded:
        for key, args_list in rec.items():
            calls.setdefault(key, []).extend(args_list)
    values: dict[str, Any] = {}
    for key, args_list in calls.items():
        real = getattr(behaviour, key.split(":")[0])
        frames = [a[0] for a in args_list if len(a[0])]
        union = pd.concat(frames, ignore_index=True) if frames else args_list[0][0]
        rest = args_list[0][1:]
        if any(a[1:] != rest for a in args_list):
            raise ConfigError(f"{key}: buckets disagree on the window or thresholds; this is a bug in "
                              "analyzer.batch.ray_engine.")
        values[key] = real(union, *rest)
    return values


def _ghost_events(as_of: pd.Timestamp, like: pd.DataFrame | None) -> pd.DataFrame:
    """Three repeat buyers that no real id can equal: they let a bucket with fewer than three
    repeat buyers apply the population BG/NBD model; their output is dropped."""
    rows = []
    for i in range(3):
        for d in (2, 1):
            rows.append({"customer_id": f"{_GHOST_PREFIX}{i}", "timestamp": as_of - pd.Timedelta(days=d),
                         "type": "purchase"})
    ghosts = pd.DataFrame(rows)
    if like is not None:
        ghosts = ghosts.reindex(columns=list(dict.fromkeys([*like.columns, *ghosts.columns])))
    return ghosts


def _bucket_alerts(batch: dict[str, np.ndarray], *, as_of: pd.Timestamp, model: Any, bgnbd: Any,
                   pooled: dict[str, Any], lang: str, rules: Any, behaviour_config: Any,
                   shift_config: Any) -> pd.DataFrame:
    from analyzer.foresight import BehaviourConfig, compute_alerts_detailed

    cfg = dataclasses.replace(behaviour_config or BehaviourConfig(), bgnbd_min_customers=0 if bgnbd else _NEVER)
    out = []
    for row in _rows(batch):
        frames = _bucket_frames(row)
        events = frames["events"]
        if bgnbd is not None:
            _, e = _valid_tables(frames)
            repeat = e.loc[(e["timestamp"] <= as_of) & (e["type"] == "purchase")]
            days = repeat.assign(day=repeat["timestamp"].dt.floor("D")).drop_duplicates(["customer_id", "day"])
            if int((days.groupby("customer_id").size() > 1).sum()) < 3:
                ghosts = _ghost_events(as_of, events)
                events = ghosts if events is None else pd.concat([events, ghosts], ignore_index=True)
        with _population_bgnbd(bgnbd), _pooled("replay", pooled):
            result = compute_alerts_detailed(frames["messages"], events, frames["customers"], as_of=as_of,
                                             lang=lang, model=model, rules=rules, history=frames["history"],
                                             behaviour_config=cfg, shift_config=shift_config)
        alerts = result.alerts.loc[~result.alerts["customer_id"].astype(str).str.startswith(_GHOST_PREFIX)].copy()
        alerts.attrs = {}  # compute_alerts puts the rejected rows there; they travel separately
        suppressed = result.suppressed.loc[~result.suppressed["customer_id"].astype(str).str.startswith(_GHOST_PREFIX)]
        rejected = _keyed_rejections(result.rejected, frames)
        out.append({"payload": pickle.dumps((alerts.reset_index(drop=True), rejected, suppressed,
                                             int((~result.risk.index.astype(str).str.startswith(_GHOST_PREFIX)).sum())))})
    return pd.DataFrame(out, columns=["payload"])


def _keyed_rejections(rejected: pd.DataFrame, frames: dict[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Rejected input rows, named by customer and row key (a row number means nothing inside a bucket)."""
    rows = []
    for r in rejected.itertuples(index=False):
        table = str(r.table)
        df = frames.get(table)
        key_col = _TABLE_KEY.get(table, "")
        cid = key = None
        if df is not None and 0 <= int(r.row) < len(df):
            cid = df["customer_id"].iloc[int(r.row)]
            key = df[key_col].iloc[int(r.row)] if key_col in df.columns else None
        rows.append({"table": table, "customer_id": None if cid is None or pd.isna(cid) else str(cid),
                     "key": None if key is None or pd.isna(key) else str(key),
                     "reason": str(r.reason), "message": str(r.message)})
    return pd.DataFrame(rows, columns=["table", "customer_id", "key", "reason", "message"])


def _dataset(ray: Any, obj: Any, table: str) -> Any:
    """A Ray Dataset from a DataFrame, a Dataset, or a path (Parquet/CSV/JSONL file or directory)."""
    if obj is None:
        return None
    if isinstance(obj, pd.DataFrame):
        return ray.data.from_pandas(obj)
    if isinstance(obj, str | os.PathLike):
        p = Path(obj)
        probe = p if p.is_file() else next((f for f in sorted(p.rglob("*")) if f.is_file()
                                            and not f.name.startswith((".", "_"))), None)
        if probe is None:
            raise InputFormatError(f"{table}: {str(p)!r} is neither a file nor a directory with data files.")
        ff = detect_format(probe)
        if ff.format == "parquet":
            return ray.data.read_parquet(str(p))
        if ff.format == "jsonl":
            return ray.data.read_json(str(p), lines=True)
        import pyarrow.csv as pcsv

        return ray.data.read_csv(str(p), parse_options=pcsv.ParseOptions(delimiter="\t" if ff.format == "tsv" else ","))
    if hasattr(obj, "map_batches"):
        return obj
    raise ConfigError(f"{table}: expected a pandas DataFrame, a Ray Dataset or a path; received {type(obj).__name__}.")


def compute_alerts_ray(messages: Any, events: Any = None, customers: Any = None, *, as_of: Any = None,
                       lang: str = "es", model: Any = None, rules: Any = None, history: Any = None,
                       behaviour_config: Any = None, shift_config: Any = None, num_buckets: int | None = None,
                       address: str | None = None, object_store_memory: int | None = None) -> pd.DataFrame:
    """:func:`analyzer.foresight.compute_alerts` on Ray, grouped by customer, for inputs larger than memory.

    Each input may be a pandas DataFrame, a Ray Dataset or a path to a Parquet/CSV/JSONL file or a
    directory of shards (e.g. the output of :func:`run_batch_ray` for ``messages``). Rows are
    hashed by customer into ``num_buckets`` buckets (default: 4 per CPU of the cluster, at least
    8); one bucket must fit in a worker's memory. Returns the alerts (:data:`ALERT_COLUMNS`, most
    severe first) like ``compute_alerts``; ``attrs["rejected"]`` lists bad input rows by table,
    customer and row key (``message_id`` / ``event_id``), ``attrs["suppressed"]`` the alerts held
    back by the cooldown, ``attrs["as_of"]`` the judgement time and ``attrs["customers"]`` how
    many customers were profiled.

    Rows of one customer with the same timestamp are taken in id order, not file order.
    """
    from analyzer.foresight import BGNBD, RuleTable, load_rules
    from analyzer.foresight.alerts import ALERT_COLUMNS, SEVERITIES

    if lang not in ("es", "en"):
        raise ConfigError(f"lang must be 'es' or 'en'; received {lang!r}.")
    table = rules if isinstance(rules, RuleTable) else load_rules(Path(rules) if rules is not None else None)
    with ray_session(address, object_store_memory=object_store_memory) as ray:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        k = num_buckets or max(8, 4 * int(ray.cluster_resources().get("CPU", 2)))
        tagged = []
        for name, obj in zip(_TABLES, (messages, events, customers, history), strict=True):
            ds = _dataset(ray, obj, name)
            if ds is not None:
                tagged.append(ds.map_batches(_tag, batch_format="pyarrow", fn_kwargs={"table": name, "n_buckets": k}))
        if not tagged:
            raise ConfigError("compute_alerts_ray needs messages or events.")
        union = tagged[0].union(*tagged[1:]) if len(tagged) > 1 else tagged[0]
        try:
            buckets = union.groupby("_bucket", num_partitions=min(k, 64)).map_groups(
                _consolidate, batch_format="pyarrow").materialize()
            if as_of is not None:
                ts = pd.Timestamp(as_of)
                as_of_ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
            else:
                last = buckets.map_batches(_bucket_last_time, batch_size=1, batch_format="numpy",
                                           zero_copy_batch=False).to_pandas()
                as_of_ts = _global_as_of(last["payload"])
            # The population BG/NBD model: fitted once, on every customer, in customer order (as locally).
            population = buckets.map_batches(
                _bucket_population, batch_size=1, batch_format="numpy", zero_copy_batch=False,
                fn_kwargs={"as_of": as_of_ts, "behaviour_config": behaviour_config}).to_pandas()
            per_bucket = [pickle.loads(p) for p in population["payload"]]
            rfm = pd.concat([b[0] for b in per_bucket], ignore_index=True) if per_bucket else pd.DataFrame(
                {"customer_id": [], "frequency": [], "recency": [], "T": []})
            rfm = rfm.sort_values("customer_id", kind="stable")
            pooled = _pooled_values([b[1] for b in per_bucket])
            cfg_min = (behaviour_config.bgnbd_min_customers if behaviour_config is not None
                       else _default_bgnbd_min_customers())
            bgnbd = None
            if len(rfm) >= cfg_min and int((rfm["frequency"] > 0).sum()) >= 3:
                bgnbd = BGNBD(penalizer=_BGNBD_PENALIZER).fit(rfm["frequency"], rfm["recency"], rfm["T"])
            parts = buckets.map_batches(
                _bucket_alerts, batch_size=1, batch_format="numpy", zero_copy_batch=False,
                fn_kwargs={"as_of": as_of_ts, "model": model, "bgnbd": bgnbd, "pooled": pooled, "lang": lang,
                           "rules": table,
                           "behaviour_config": behaviour_config, "shift_config": shift_config},
            ).to_pandas()
        except Exception as exc:
            inner = _unwrap(exc)
            if inner is not exc:
                raise inner from exc
            raise
    results = [pickle.loads(p) for p in parts["payload"]]
    alerts_parts = [r[0] for r in results if not r[0].empty]
    alerts = (pd.concat(alerts_parts, ignore_index=True) if alerts_parts
              else pd.DataFrame(columns=list(ALERT_COLUMNS)))
    if not alerts.empty:
        order = alerts["severity"].map(SEVERITIES.index)
        alerts = (alerts.assign(_o=order, _id=alerts["alert_id"])
                  .sort_values(["_o", "risk", "_id"], ascending=[False, False, True])
                  .drop(columns=["_o", "_id"]).reset_index(drop=True))
    rejected = pd.concat([r[1] for r in results], ignore_index=True) if results else pd.DataFrame(
        columns=["table", "customer_id", "key", "reason", "message"])
    suppressed = pd.concat([r[2] for r in results], ignore_index=True) if results else pd.DataFrame(
        columns=["customer_id", "cause", "severity", "why"])
    alerts.attrs["rejected"] = rejected
    alerts.attrs["suppressed"] = suppressed
    alerts.attrs["as_of"] = as_of_ts
    alerts.attrs["customers"] = sum(r[3] for r in results)
    return alerts


def _default_bgnbd_min_customers() -> int:
    from analyzer.foresight import BehaviourConfig

    return int(BehaviourConfig().bgnbd_min_customers)
