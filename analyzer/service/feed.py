"""The live alert feed as Server-Sent Events.

Every new alert and every status change is a row of ``alert_events``; its id is the SSE event
id. A client reconnecting with ``Last-Event-ID`` (or ``?after=``) gets what it missed, so the
feed survives restarts and works with several server processes (each polls the database). Within
a process, :class:`FeedNotifier` wakes the streams at once when an ingest stores an alert, so
delivery takes milliseconds instead of a poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from analyzer.service.store import Store, jsonable

__all__ = ["FeedNotifier", "alert_stream", "format_sse"]


class FeedNotifier:
    """Thread-safe wake-up of the async SSE streams (ingest runs in worker threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # the stream's loop has closed
                loop.call_soon_threadsafe(event.set)

    def register(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        item = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(item)
        return item

    def unregister(self, item: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(item)


def format_sse(event_id: int, event: str, data: dict[str, Any]) -> str:
    payload = json.dumps(jsonable(data), ensure_ascii=False)
    return f"id: {event_id}\nevent: {event}\ndata: {payload}\n\n"


async def alert_stream(store: Store, notifier: FeedNotifier, *, after: int, follow: bool, heartbeat_s: float,
                       to_public: Callable[[dict[str, Any]], dict[str, Any]],
                       is_disconnected: Callable[[], Any]) -> AsyncIterator[str]:
    """Yield SSE messages for feed rows after ``after``; with ``follow`` keep waiting for new ones."""
    last = after
    # Tells EventSource clients how long to wait before reconnecting.
    yield "retry: 3000\n\n"
    while True:
        waiter = notifier.register()
        try:
            while True:
                rows = await run_in_threadpool(store.feed_after, last, 200)
                for row in rows:
                    last = int(row["event_id"])
                    yield format_sse(last, "alert", {"kind": row["kind"], "at": row["at"],
                                                     "alert": to_public(row)})
                if len(rows) < 200:
                    break
            if not follow or await is_disconnected():
                return
            try:
                await asyncio.wait_for(waiter[1].wait(), timeout=heartbeat_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
        finally:
            notifier.unregister(waiter)
