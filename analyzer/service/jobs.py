"""Batch jobs: an uploaded file analysed in the background by :func:`analyzer.batch.run_batch`.

One worker thread (the text models use the CPU threads already; parallel jobs would only
compete). Job files live in ``data_dir/jobs/<job_id>/``, readable by the service's user only
(files 0600 in 0700 folders). A job interrupted by a restart is picked up again at start-up and,
thanks to run_batch's checkpoints, continues where it stopped.

What stays on disk: the raw upload only until the job has analysed it (it is deleted when the
job is done, and when it fails, which is final); then the results (redacted text and scores)
and the rejected rows (reasons, never texts) until the job is deleted. Erasing a customer
deletes the result files of every finished job that holds a row of theirs
(:meth:`JobRunner.purge_customer`): a download is a whole file, so the job's results go, not
only the customer's rows.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, Protocol

import pandas as pd

from analyzer.batch import ColumnMapping, run_batch
from analyzer.importers import pseudonymizer_for
from analyzer.io import count_rows, detect_format, iter_chunks, make_private_dir, neutralize_formulas
from analyzer.io.durable import PRIVATE_FILE_MODE
from analyzer.service.db import utcnow
from analyzer.service.imports import run_import_job
from analyzer.service.store import Store, jsonable
from analyzer.settings import Settings

__all__ = ["JobRunner", "ModelSource", "job_paths"]

log = logging.getLogger("analyzer.service.jobs")
_CHUNK = 1 << 20


def job_paths(root: Path, job_id: str, options: dict[str, Any]) -> tuple[Path, Path, Path]:
    """The upload, the results and the rejected rows of a job."""
    folder = root / job_id
    out_ext = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[options.get("output_format", "jsonl")]
    return folder / ("input" + options["input_ext"]), folder / ("results" + out_ext), folder / ("rejected" + out_ext)


class ModelSource(Protocol):
    """Where a job gets the text analyzer (:class:`analyzer.service.deps.AnalyzerHolder`)."""

    error: str | None

    @property
    def ready(self) -> bool: ...

    def get(self) -> Any: ...


class JobRunner:
    def __init__(self, store: Store, holder: ModelSource, settings: Settings, root: Path) -> None:
        self.store, self.holder, self.settings, self.root = store, holder, settings, root
        self.pseudonymizer = pseudonymizer_for(settings)  # uploads of a known source (options["source"])
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-job")

    def save_upload(self, job_id: str, options: dict[str, Any], source: IO[bytes]) -> None:
        """Write the uploaded file where the job will read it (0600 in a 0700 folder)."""
        src, _, _ = job_paths(self.root, job_id, options)
        make_private_dir(self.root)
        make_private_dir(src.parent)
        with open(os.open(src, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE), "wb") as fh:
            shutil.copyfileobj(source, fh, _CHUNK)

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._run, job_id)

    def resume_unfinished(self) -> None:
        for job in self.store.unfinished_jobs():
            self.submit(job["job_id"])

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def purge_customer(self, customer_id: str) -> list[str]:
        """Delete the files of every finished job whose results name ``customer_id``; return those jobs' ids.

        The job rows stay (status ``purged``), so a client polling a job learns why its download is gone.
        """
        purged = []
        for job in self.store.jobs_with_status(["done"]):
            _, results, rejected = job_paths(self.root, job["job_id"], job["options"])
            if _names(results, "customer_id", customer_id) or _names(rejected, "record_id", customer_id):
                self.delete(job["job_id"])
                self.store.update_job(job["job_id"], status="purged",
                                      error="The results were deleted: they held data of a customer who was erased.")
                purged.append(str(job["job_id"]))
        return purged

    def _run(self, job_id: str) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            return
        opts = job["options"]
        src, dst, rej = job_paths(self.root, job_id, opts)
        try:
            analyzer = self._wait_for_models()
            if opts.get("source"):  # an SME export: imported, analysed, stored, its customers queued
                self.store.update_job(job_id, status="running")
                imported = run_import_job(self.store, analyzer, self.pseudonymizer, src, dst, rej, opts,
                                          progress=lambda n: self.store.update_job(job_id, rows_done=n))
                src.unlink(missing_ok=True)
                self.store.update_job(job_id, status="done", rows_done=imported["rows_read"],
                                      rows_total=imported["rows_read"], summary=jsonable(imported),
                                      finished_at=utcnow())
                return
            total = count_rows(src, detect_format(src, opts.get("input_format")))
            self.store.update_job(job_id, status="running", rows_total=total)
            done = [int(job["rows_done"] or 0)]

            def process(frame: pd.DataFrame) -> pd.DataFrame:
                out = analyzer.analyze_frame(frame)
                done[0] += len(frame)
                self.store.update_job(job_id, rows_done=done[0])
                return out

            summary = run_batch(src, dst, process=process, fmt=opts.get("input_format"),
                                out_fmt=opts.get("output_format", "jsonl"), rejected_path=rej,
                                mapping=ColumnMapping(**opts.get("mapping", {})), progress=False,
                                delimiter=opts.get("delimiter"), encoding=opts.get("encoding", "utf-8"))
            # The raw upload has served its purpose: only the redacted results stay.
            src.unlink(missing_ok=True)
            self.store.update_job(job_id, status="done", rows_done=summary.rows_read,
                                  rows_total=summary.rows_read, summary=jsonable(summary.to_dict()),
                                  finished_at=utcnow())
        except Exception as exc:
            # The message of our own errors explains the problem without quoting rows.
            from analyzer.errors import AnalyzerError

            msg = str(exc) if isinstance(exc, AnalyzerError) else f"{type(exc).__name__} (see the server log)"
            log.error("job %s failed: %s", job_id, type(exc).__name__)
            # A failed job is not retried: its raw upload goes, whatever the failure.
            src.unlink(missing_ok=True)
            self.store.update_job(job_id, status="failed", error=msg, finished_at=utcnow())

    def _wait_for_models(self) -> Any:
        for _ in range(600):
            if self.holder.ready or self.holder.error:
                break
            time.sleep(1)
        return self.holder.get()


def _names(path: Path, column: str, value: str) -> bool:
    """Whether any row of the output file ``path`` has ``value`` in ``column`` (streamed, constant memory)."""
    from analyzer.errors import AnalyzerError

    if not path.is_file() or path.stat().st_size == 0:
        return False
    # CSV outputs store a formula-like value with a leading apostrophe: look for both spellings.
    spellings = {value, str(neutralize_formulas(pd.DataFrame({column: [value]}))[column].iloc[0])}
    try:
        for chunk in iter_chunks(path, detect_format(path)):
            if column in chunk.columns and chunk[column].astype(str).isin(spellings).any():
                return True
    except AnalyzerError:
        log.warning("job file %s could not be read back; treated as holding the erased customer", path.name)
        return True  # when in doubt, the file goes
    return False
