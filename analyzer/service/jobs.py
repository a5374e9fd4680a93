"""Batch jobs: an uploaded file analysed in the background by :func:`analyzer.batch.local.run_batch`.

One worker thread (the text models use the CPU threads already; parallel jobs would only
compete). Job files live in ``data_dir/jobs/<job_id>/``. A job interrupted by a restart is
picked up again at start-up and, thanks to run_batch's checkpoints, continues where it stopped.
"""

from __future__ import annotations

import logging
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.batch import ColumnMapping, run_batch
from analyzer.io import count_rows, detect_format
from analyzer.service.db import utcnow
from analyzer.service.deps import AnalyzerHolder
from analyzer.service.store import Store, jsonable
from analyzer.settings import Settings

__all__ = ["JobRunner", "job_paths"]

log = logging.getLogger("analyzer.service.jobs")


def job_paths(root: Path, job_id: str, options: dict[str, Any]) -> tuple[Path, Path, Path]:
    folder = root / job_id
    out_ext = {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[options.get("output_format", "jsonl")]
    return folder / ("input" + options["input_ext"]), folder / ("results" + out_ext), folder / ("rejected" + out_ext)


class JobRunner:
    def __init__(self, store: Store, holder: AnalyzerHolder, settings: Settings, root: Path) -> None:
        self.store, self.holder, self.settings, self.root = store, holder, settings, root
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="batch-job")

    def submit(self, job_id: str) -> None:
        self.pool.submit(self._run, job_id)

    def resume_unfinished(self) -> None:
        for job in self.store.unfinished_jobs():
            self.submit(job["job_id"])

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def delete(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_id, ignore_errors=True)

    def _run(self, job_id: str) -> None:
        job = self.store.get_job(job_id)
        if job is None:
            return
        opts = job["options"]
        src, dst, rej = job_paths(self.root, job_id, opts)
        try:
            analyzer = self._wait_for_models()
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
            self.store.update_job(job_id, status="done", rows_done=summary.rows_read,
                                  rows_total=summary.rows_read, summary=jsonable(summary.to_dict()),
                                  finished_at=utcnow())
        except Exception as exc:
            # The message of our own errors explains the problem without quoting rows.
            from analyzer.errors import AnalyzerError

            msg = str(exc) if isinstance(exc, AnalyzerError) else f"{type(exc).__name__} (see the server log)"
            log.error("job %s failed: %s", job_id, type(exc).__name__)
            self.store.update_job(job_id, status="failed", error=msg, finished_at=utcnow())

    def _wait_for_models(self) -> Any:
        import time

        for _ in range(600):
            if self.holder.ready or self.holder.error:
                break
            time.sleep(1)
        return self.holder.get()
