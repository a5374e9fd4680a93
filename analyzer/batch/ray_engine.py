"""Scale-out engine: the same batch analysis on a Ray cluster.

Optional: ``pip install dark-feedback[ray]``. Nothing here imports Ray at module import time.

:class:`RayEngine` follows the local engine's plan (:func:`analyzer.batch.spec.plan`), runs the
same validation (:func:`~analyzer.batch.validate.validate_chunk`) and the same processing
function, only distributed::

    input shard --read with analyzer.io, chunk by chunk (one Ray task per shard)
                --validate_chunk----------------------------> rejected rows -> Parquet
                --valid canonical rows--> map_batches(actor pool of N workers, model loaded once each)
                                       --> Parquet shards in the output directory

Each Ray batch is one reader chunk, exactly the chunks the local engine hands to ``process``,
so both engines compute the same rows, labels and scores. An input directory is processed shard
by shard; its outputs carry ``source_file`` (the shard's path inside the directory), because
``source_row`` and generated message ids restart in every shard. After every shard the engine
writes the same kind of checkpoint as the local engine; a rerun of a killed run continues with
the next shard (a shard is the unit of resume), and the summary has the local engine's shape.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analyzer.batch import checkpoint as checkpoints
from analyzer.batch.process import ProcessFactory, load_light_process, load_text_process, run_process
from analyzer.batch.spec import BatchPlan, BatchSpec, check_mapping, plan
from analyzer.batch.summary import BatchSummary, check_invariant
from analyzer.batch.validate import validate_chunk
from analyzer.errors import AnalyzerError, ConfigError
from analyzer.io import FileFormat, atomic_write_json, conform, fsync_dir, iter_raw_chunks, make_private_dir
from analyzer.settings import Settings, get_settings

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "SOURCE_FILE_COL",
    "RayEngine",
    "RayNotInstalledError",
    "files_in_input_order",
    "import_ray",
    "load_light_process",
    "load_text_process",
    "ray_session",
    "read_shards",
    "run_batch_ray",
    "unwrap_ray_error",
]

SOURCE_FILE_COL = "source_file"
_CHUNK_COL = "_chunk"
_PAYLOAD_COL = "_payload"
_INSTALL_HINT = "pip install 'dark-feedback[ray]'"
_DEFAULT_OBJECT_STORE = 1 << 30  # 1 GiB for a Ray started here; a cluster keeps its own setting


class RayNotInstalledError(ConfigError, ModuleNotFoundError):
    """The Ray engine was asked for but the optional ``ray[data]`` dependency is missing."""


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # the Data library is a separate extra of ray
    except ImportError as exc:
        raise RayNotInstalledError(
            f"The Ray engine needs the optional Ray dependency, which is not installed ({exc}). "
            f"Install it with: {_INSTALL_HINT}  (or use the local engine: --engine local)."
        ) from exc
    return ray


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None,
                object_store_memory: int | None = None) -> Iterator[Any]:
    """Use the Ray already initialised in this process, else join ``address``, else start a local Ray.

    ``address`` is a cluster address (``ray://host:10001``, ``host:6379`` or ``auto``); ``None``
    starts a private local Ray with ``num_cpus`` CPUs (default: all) and a small object store
    (``object_store_memory`` bytes, default 1 GiB; it spills to disk beyond that). A Ray started
    or joined here is shut down on exit; one initialised by the caller is left alone.
    """
    ray = import_ray()
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


def unwrap_ray_error(exc: BaseException) -> BaseException:
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


# --------------------------------------------------------------------------- Arrow payloads


def to_ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def from_ipc(blob: bytes) -> pa.Table:
    import pyarrow as pa

    return pa.ipc.open_stream(pa.BufferReader(blob)).read_all()


def _table(frame: pd.DataFrame) -> pa.Table:
    import pyarrow as pa

    # Converted exactly as the local Parquet writer converts each chunk (ChunkWriter).
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)


def _read_validated(batch: dict[str, np.ndarray], *, keep: str, spec: BatchSpec, fmt: FileFormat,
                    with_file: bool) -> Iterator[pa.Table]:
    """Read the shard of ``batch`` chunk by chunk and validate it; yield its valid or rejected rows."""
    import pyarrow as pa

    for path, name in zip(batch["path"], batch["name"], strict=True):
        reader = iter_raw_chunks(Path(str(path)), fmt, spec.chunk_rows, encoding=spec.encoding,
                                 delimiter=spec.delimiter)
        for k, chunk in enumerate(reader):
            part = validate_chunk(chunk.frame, spec.mapping, max_text_chars=spec.max_text_chars,
                                  timestamps=spec.timestamps, source_file=str(name))
            frame = part.valid if keep == "valid" else part.rejected
            if frame.empty:
                continue
            if keep == "valid":
                if with_file:
                    frame = frame.assign(**{SOURCE_FILE_COL: str(name)})
                # One row per chunk: Ray merges and splits blocks freely but never splits a row, so
                # the actor gets back exactly this chunk, the frame the local engine processes.
                yield pa.table({_CHUNK_COL: pa.array([k], pa.int64()),
                                _PAYLOAD_COL: pa.array([to_ipc(_table(frame))], pa.large_binary())})
            else:
                yield _table(frame)


class _AnalyzeActor:
    """One per worker: loads the processing function (the models) once, then analyses batches."""

    def __init__(self, make_process: ProcessFactory, settings: Settings) -> None:
        self.process = make_process(settings)

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        for blob in batch.column(_PAYLOAD_COL).to_pylist():
            valid = from_ipc(blob).to_pandas()
            source_file = valid.pop(SOURCE_FILE_COL) if SOURCE_FILE_COL in valid.columns else None
            out = run_process(self.process, valid)
            if source_file is not None:
                out[SOURCE_FILE_COL] = source_file.to_numpy()
            yield _table(out)


def _unify_shards(folder: Path) -> list[Path]:
    """Give every shard of ``folder`` one unified schema (a column all-null in one chunk and typed in
    another), rewriting only the shards that differ; returns the shards in order."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shards = sorted(folder.rglob("*.parquet"))
    if not shards:
        return shards
    schemas = [pq.read_schema(p) for p in shards]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    for path, schema in zip(shards, schemas, strict=True):
        if schema.remove_metadata().equals(unified.remove_metadata()):
            continue
        tmp = path.with_name(path.name + ".tmp")
        pq.write_table(conform(pq.read_table(path), unified), tmp)
        os.replace(tmp, path)
    fsync_dir(folder)
    return shards


def _count(shards: list[Path], column: str | None = None) -> tuple[int, dict[str, int]]:
    import pyarrow.parquet as pq

    rows = 0
    by: dict[str, int] = {}
    for shard in shards:
        rows += pq.ParquetFile(shard).metadata.num_rows
        if column:
            for code, k in pq.read_table(shard, columns=[column]).column(column).to_pandas().value_counts().items():
                by[str(code)] = by.get(str(code), 0) + int(k)
    return rows, by


class RayEngine:
    """Runs a :class:`BatchSpec` on Ray (see the module docstring); writes Parquet shard directories.

    ``address`` joins a running cluster (``ray://head:10001``, ``head:6379`` or ``auto``); without it
    a local Ray is started for the run. ``num_workers`` actors of ``cpus_per_worker`` CPUs each
    build the processing function once (the models), from the driver's settings.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, num_workers: int = 1, cpus_per_worker: float = 1.0,
                 object_store_memory: int | None = None, settings: Settings | None = None) -> None:
        if num_workers < 1:
            raise ConfigError(f"num_workers must be at least 1, got {num_workers}.")
        if cpus_per_worker <= 0:
            raise ConfigError(f"cpus_per_worker must be > 0, got {cpus_per_worker}.")
        self.address, self.num_workers, self.cpus_per_worker = address, num_workers, cpus_per_worker
        self.object_store_memory = object_store_memory
        self.settings = settings or get_settings()

    def run(self, spec: BatchSpec, make_process: ProcessFactory) -> BatchSummary:
        t0 = time.perf_counter()
        p = plan(spec, sharded_output=True)
        # Fail on a wrong column mapping before starting anything, as the local engine does.
        for f in p.files:
            first = next(iter_raw_chunks(f, p.input_format, spec.chunk_rows, encoding=spec.encoding,
                                         delimiter=spec.delimiter), None)
            if first is not None:
                check_mapping(first.frame, spec.mapping, p.input_format, f)
        config = p.config()
        saved = checkpoints.load_checkpoint(p.checkpoint, config, resume=spec.resume, output=spec.output)
        partial_out = spec.output.with_name(f".{spec.output.name}.partial")
        partial_rej = p.rejected.with_name(f".{p.rejected.name}.partial")
        done: list[int] = list(saved["shards_done"]) if saved else []
        if saved is None:
            for d in (partial_out, partial_rej):
                shutil.rmtree(d, ignore_errors=True)
        p.summary.unlink(missing_ok=True)
        for d in (partial_out, partial_rej):
            make_private_dir(d)
        todo = [i for i in range(len(p.files)) if i not in done]
        if saved is None:
            checkpoints.write_checkpoint(p.checkpoint, {"config": config, "shards_done": []})
        if todo:
            self._run_shards(p, todo, partial_out, partial_rej, make_process, config, done)
        out_shards = _unify_shards(partial_out)
        rej_shards = _unify_shards(partial_rej)
        rows_written, _ = _count(out_shards)
        rows_rejected, by_reason = _count(rej_shards, "reason")
        rows_read = rows_written + rows_rejected  # every record is either valid (one output row) or rejected
        check_invariant(rows_read, rows_written, rows_rejected, by_reason)
        _replace_dir(partial_out, spec.output)
        _replace_dir(partial_rej, p.rejected)
        elapsed = time.perf_counter() - t0
        summary = BatchSummary(
            rows_read=rows_read, rows_written=rows_written, rows_rejected=rows_rejected,
            rejected_by_reason=dict(sorted(by_reason.items())), elapsed_s=round(elapsed, 3),
            rows_per_s=round(rows_read / elapsed, 1) if elapsed > 0 else 0.0,
            resumed_from=len(p.files) - len(todo), input_path=str(spec.input), output_path=str(spec.output),
            rejected_path=str(p.rejected), engine=self.name, max_reject_rate=spec.max_reject_rate,
        )
        atomic_write_json(p.summary, summary.to_dict())
        p.checkpoint.unlink(missing_ok=True)
        return summary

    def _run_shards(self, p: BatchPlan, todo: list[int], out_dir: Path, rej_dir: Path,
                    make_process: ProcessFactory, config: dict[str, Any], done: list[int]) -> None:
        worker_settings = self.settings.model_copy(update={"num_threads": max(1, int(self.cpus_per_worker))})
        local_cpus = math.ceil(self.num_workers * self.cpus_per_worker) + 1 if not self.address else None
        try:
            with ray_session(self.address, num_cpus=local_cpus, object_store_memory=self.object_store_memory) as ray:
                ctx = ray.data.DataContext.get_current()
                saved = (ctx.execution_options.preserve_order, ctx.target_max_block_size)
                ctx.execution_options.preserve_order = True  # chunks in input order, as the local output
                ctx.enable_progress_bars = False
                ctx.print_on_execution_start = False
                try:
                    for i in todo:
                        self._run_shard(ray, ctx, p, i, out_dir / f"shard-{i:06d}", rej_dir / f"shard-{i:06d}",
                                        make_process, worker_settings)
                        done.append(i)
                        checkpoints.write_checkpoint(p.checkpoint, {"config": config, "shards_done": sorted(done)})
                finally:
                    ctx.execution_options.preserve_order, ctx.target_max_block_size = saved
        except Exception as exc:
            inner = unwrap_ray_error(exc)
            if inner is not exc:
                raise inner from exc
            raise

    def _run_shard(self, ray: Any, ctx: Any, p: BatchPlan, i: int, out_dir: Path, rej_dir: Path,
                   make_process: ProcessFactory, worker_settings: Settings) -> None:
        for d in (out_dir, rej_dir):
            shutil.rmtree(d, ignore_errors=True)  # a shard cut short by a kill is redone whole
        source = ray.data.from_items([{"path": str(p.files[i]), "name": p.names[i]}], override_num_blocks=1)
        kwargs = {"spec": p.spec, "fmt": p.input_format, "with_file": p.is_directory}
        # Pass 1 (no model): rejected rows; cheap, and it fails fast on an unreadable input.
        source.map_batches(_read_validated, batch_size=1, batch_format="numpy",
                           fn_kwargs={"keep": "rejected", **kwargs}).write_parquet(str(rej_dir))
        # Pass 2: valid rows through the actor pool, reader chunk by reader chunk. Every chunk (one
        # row) is its own block, so chunks spread over the actors instead of travelling together.
        ctx.target_max_block_size = 1
        valid = source.map_batches(_read_validated, batch_size=1, batch_format="numpy", num_cpus=0,
                                   fn_kwargs={"keep": "valid", **kwargs})
        analysed = valid.map_batches(
            _AnalyzeActor, batch_size=None, batch_format="pyarrow", zero_copy_batch=False,
            compute=ray.data.ActorPoolStrategy(size=self.num_workers), num_cpus=self.cpus_per_worker,
            fn_constructor_kwargs={"make_process": make_process, "settings": worker_settings},
        )
        # Writers take no CPU slot: the actors may hold every CPU of a small cluster.
        analysed.write_parquet(str(out_dir), ray_remote_args={"num_cpus": 0})
        for d in (out_dir, rej_dir):
            d.mkdir(parents=True, exist_ok=True)  # Ray writes no directory for an empty dataset


def files_in_input_order(folder: Path) -> list[Path]:
    """The Parquet files Ray wrote for one input shard, in the order of their rows in the input.

    Even with ``preserve_order``, Ray's write can put chunks out of order: it names files by task
    (a late one-row chunk sorted first once) and a write task that takes several chunks can write
    them in arrival order (seen once). Every output row carries its ``source_row``, so the files are
    ordered by their first row; when a file is out of order inside, or files interleave, the shard's
    files are merged into one sorted by ``source_row`` (this reads that shard's output into memory).
    """
    import pyarrow.parquet as pq

    files = sorted(folder.rglob("*.parquet"))
    spans: list[tuple[int, int, Path]] = []
    in_order = True
    for f in files:
        rows = pq.read_table(f, columns=["source_row"]).column(0).to_numpy()
        if len(rows) == 0:
            spans.append((-1, -1, f))
            continue
        in_order = in_order and bool(np.all(np.diff(rows) >= 0))
        spans.append((int(rows.min()), int(rows.max()), f))
    spans.sort(key=lambda s: (s[0], s[1]))
    if in_order and all(a[1] < b[0] for a, b in itertools.pairwise(spans) if a[0] >= 0):
        return [f for _, _, f in spans]
    import pyarrow as pa

    merged = pa.concat_tables([pq.read_table(f) for f in files], promote_options="permissive")
    out = folder / "merged-in-order.parquet.tmp"
    pq.write_table(merged.sort_by("source_row"), out)
    for f in files:
        f.unlink()
    final = out.with_suffix("")
    os.replace(out, final)
    return [final]


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move the shards of ``tmp`` (one sub-folder per input shard) into ``final``, flat and in order."""
    staged = tmp.with_name(tmp.name + ".final")
    shutil.rmtree(staged, ignore_errors=True)
    make_private_dir(staged)
    files = [f for shard in sorted(d for d in tmp.iterdir() if d.is_dir()) for f in files_in_input_order(shard)]
    for k, shard in enumerate(files):
        os.replace(shard, staged / f"part-{k:06d}.parquet")
    shutil.rmtree(tmp, ignore_errors=True)
    if final.is_dir():
        shutil.rmtree(final)
    elif final.exists():
        final.unlink()
    os.replace(staged, final)
    fsync_dir(final.parent)


def read_shards(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a directory of Parquet shards written by the Ray engine back, in order."""
    import pyarrow.parquet as pq

    shards = sorted(Path(folder).glob("*.parquet"))
    if not shards:
        return pd.DataFrame()
    return pd.concat([pq.read_table(s).to_pandas() for s in shards], ignore_index=True)


def run_batch_ray(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str], *,
                  make_process: ProcessFactory = load_text_process, address: str | None = None,
                  num_workers: int = 1, cpus_per_worker: float = 1.0, object_store_memory: int | None = None,
                  settings: Settings | None = None, **options: Any) -> BatchSummary:
    """Analyse ``input_path`` (a file or a directory of shards) on Ray into a directory of Parquet shards.

    ``options`` are :class:`BatchSpec` fields as for :func:`analyzer.batch.local.run_batch`. Rejected
    rows (same columns and reason codes as the local engine) go to ``rejected_path`` (default
    ``<output>.rejected``), a directory of Parquet shards. Returns the same
    :class:`~analyzer.batch.summary.BatchSummary`, also written to ``<output>.summary.json``.
    """
    from analyzer.batch.local import spec_from_options

    settings = settings or get_settings()
    engine = RayEngine(address, num_workers=num_workers, cpus_per_worker=cpus_per_worker,
                       object_store_memory=object_store_memory, settings=settings)
    return engine.run(spec_from_options(input_path, output_path, settings=settings, **options), make_process)
