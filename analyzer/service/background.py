"""A daemon thread of the service process that loops until stopped and can be woken early.

The evaluation worker and the outbound dispatcher share this lifecycle: ``start`` once, ``wake`` when
there is something to do now rather than at the next poll, ``stop`` on shutdown (it wakes the loop and
joins it). A subclass writes ``_loop``, which runs until ``_stop`` is set and waits on ``_wake``.
"""

from __future__ import annotations

import threading

__all__ = ["BackgroundThread"]


class BackgroundThread:
    """Start / wake / stop of one named daemon thread running :meth:`_loop`."""

    thread_name = "background"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Something is waiting: look now rather than at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        raise NotImplementedError
