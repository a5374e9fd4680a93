"""The evaluation worker: alerts are computed here, off the request path, and time passes here.

One thread per service process:

- drains the evaluation queue (customers an ingest touched, or a back-fill released) in batches,
  and wakes the live feed when an alert is stored; an ingest wakes it at once, so a new alert
  reaches the feed within about a second;
- runs the sweep on its schedule (``Settings.sweep_interval_s``, hourly by default): every
  customer re-evaluated, so a customer who simply goes quiet, a ticket past its deadline or a
  lapse raises an alert without any new data; the model is refitted first when it is older than
  ``Settings.refit_interval_s``.

Tests drive time with the service's clock and call :meth:`Worker.run_once` / :meth:`Worker.sweep_now`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from analyzer.service.background import BackgroundThread
from analyzer.service.foresight import Evaluation, ForesightService

__all__ = ["Worker"]

log = logging.getLogger("analyzer.service.worker")


class Worker(BackgroundThread):
    """Drains the evaluation queue and runs the sweep (see the module docstring)."""

    thread_name = "foresight-worker"

    def __init__(self, engine: ForesightService, *, on_alerts: Callable[[list[str]], None],
                 poll_s: float = 1.0, sweep_interval_s: float = 3600.0, batch: int = 500,
                 gather_s: float = 0.25) -> None:
        self.engine, self.on_alerts = engine, on_alerts
        self.poll_s, self.sweep_interval_s, self.batch = poll_s, sweep_interval_s, batch
        # After a wake-up, wait this long for more customers: one evaluation of many costs about what
        # one of a single customer does (fixed costs dominate), and the requests keep the CPU meanwhile.
        self.gather_s = gather_s
        super().__init__()
        self._last_sweep = time.monotonic()
        self._busy = threading.Lock()  # held while a batch or a sweep is in flight
        self.errors = 0

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the queue is empty and nothing is being evaluated; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.engine.store.queue_size()["waiting"] == 0 and self._busy.acquire(blocking=False):
                try:
                    if self.engine.store.queue_size()["waiting"] == 0:
                        return True
                finally:
                    self._busy.release()
            self._wake.set()
            time.sleep(0.05)
        return False

    def run_once(self) -> list[str]:
        """Drain the queue now (in batches); return the new alert ids."""
        with self._busy:
            return self._drain()

    def _drain(self) -> list[str]:
        new: list[str] = []
        while True:
            ids = self.engine.store.claim(self.batch)
            if not ids:
                break
            try:
                ev: Evaluation = self.engine.evaluate(ids)
            except Exception:
                self.engine.store.enqueue(ids)  # claimed, not done: back on the queue for the next try
                raise
            new += ev.new_alert_ids
            if ev.new_alert_ids:
                self.on_alerts(ev.new_alert_ids)
        return new

    def sweep_now(self) -> Evaluation:
        """Re-evaluate every customer now (and refit first when the model is due)."""
        with self._busy:
            ev = self.engine.sweep()
        self._last_sweep = time.monotonic()
        if ev.new_alert_ids:
            self.on_alerts(ev.new_alert_ids)
        log.info("sweep: %d customers, %d new alerts, %.1f s", ev.customers, len(ev.new_alert_ids), ev.seconds)
        return ev

    def _loop(self) -> None:
        while not self._stop.is_set():
            woken = self._wake.wait(self.poll_s)
            if woken and self.gather_s > 0:
                self._stop.wait(self.gather_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
                if time.monotonic() - self._last_sweep >= self.sweep_interval_s:
                    self.sweep_now()
            except Exception as exc:  # the database may be away for a while: the queue keeps the work
                self.errors += 1
                log.error("evaluation worker: %s (retrying)", type(exc).__name__)
                self._stop.wait(min(30.0, self.poll_s * 5))
