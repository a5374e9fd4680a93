"""Batch jobs' rows (their files live under ``data_dir/jobs``, see :mod:`analyzer.service.jobs`)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from analyzer.service.db import utcnow
from analyzer.service.store.base import StoreBase

__all__ = ["JobStore"]


class JobStore(StoreBase):
    def add_job(self, job_id: str, filename: str, options: dict[str, Any], created_by: str) -> None:
        with self.write() as conn:
            conn.execute(self.t.jobs.insert().values(job_id=job_id, status="queued", filename=filename,
                                                     options=options, rows_done=0, created_by=created_by,
                                                     created_at=utcnow()))

    def update_job(self, job_id: str, **values: Any) -> None:
        j = self.t.jobs
        with self.write() as conn:
            conn.execute(j.update().where(j.c.job_id == job_id).values(**values))

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        j = self.t.jobs
        with self.read() as conn:
            row = conn.execute(sa.select(j).where(j.c.job_id == job_id)).mappings().first()
        return dict(row) if row else None

    def jobs_with_status(self, statuses: list[str]) -> list[dict[str, Any]]:
        j = self.t.jobs
        with self.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(j).where(j.c.status.in_(statuses))
                                                  .order_by(j.c.created_at)).mappings()]

    def unfinished_jobs(self) -> list[dict[str, Any]]:
        j = self.t.jobs
        with self.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(j).where(j.c.status.in_(["queued", "running"]))
                                                  .order_by(j.c.created_at)).mappings()]
