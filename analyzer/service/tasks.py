"""Background work of the service process: the hourly retention purge."""

from __future__ import annotations

import asyncio
import datetime as dt

from starlette.concurrency import run_in_threadpool

from analyzer.service.db import utcnow
from analyzer.service.store import Store
from analyzer.settings import Settings

__all__ = ["retention_loop", "run_retention"]


def run_retention(store: Store, settings: Settings) -> int:
    """Purge message texts older than ``settings.retention_days``; return how many (0 when unset)."""
    if not settings.retention_days:
        return 0
    cutoff = utcnow() - dt.timedelta(days=settings.retention_days)
    n = store.purge_texts(cutoff)
    if n:
        store.audit("system", "retention_purge", "messages", None, {"texts": n, "before": cutoff})
    return n


async def retention_loop(store: Store, settings: Settings, every_s: float) -> None:
    """Run :func:`run_retention` now and then every ``every_s`` seconds, until cancelled."""
    while True:
        await run_in_threadpool(run_retention, store, settings)
        await asyncio.sleep(every_s)
