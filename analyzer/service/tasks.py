"""Background work of the service process: the hourly retention purge."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from starlette.concurrency import run_in_threadpool

from analyzer.service.db import utcnow
from analyzer.service.store import Store
from analyzer.settings import Settings

__all__ = ["retention_loop", "run_retention"]

log = logging.getLogger("analyzer.service")


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
        try:
            await run_in_threadpool(run_retention, store, settings)
        except Exception as exc:  # the database may be away for a while: try again next time
            log.error("retention purge failed: %s (retrying in %.0f s)", type(exc).__name__, every_s)
        await asyncio.sleep(every_s)
