"""The service's customer-state engine: the same foresight stages as the CLI, fed from the database.

:class:`ForesightService` keeps the fitted :class:`~analyzer.foresight.model.ForesightModel` in the
database (refitted on a schedule, or a saved model given in the settings), and evaluates customers
exactly as ``darkfeedback alerts`` does: their whole history read back, validated, scored with the
model, and decided by the rule table with the alerts already stored as the cooldown's history. So
the same messages and events give the same risks, reasons and alerts through the API (fed in any
order and in any chunks) as through the CLI, judged at the same time.

Evaluations run one at a time (a lock in the process; on PostgreSQL also an advisory lock, so
several service processes never evaluate at once), off the request path: ingest only queues the
customers, :mod:`analyzer.service.worker` drains the queue and runs the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from analyzer.foresight import ForesightConfig, ForesightModel, RuleTable, decide_alerts, load_rules, prepare_inputs
from analyzer.schema import ALERT_COLUMNS
from analyzer.service.db import utcnow
from analyzer.service.store import Store
from analyzer.settings import Settings

__all__ = ["Clock", "Evaluation", "ForesightService", "rules_for"]

log = logging.getLogger("analyzer.service.foresight")
Clock = Callable[[], dt.datetime]
_LOCK_KEY = 0x6466_6F72  # "dfor": the advisory lock of the evaluator on PostgreSQL
_STORED = tuple(c for c in ALERT_COLUMNS if c != "justification")


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did."""

    customers: int
    new_alert_ids: list[str]
    as_of: dt.datetime
    seconds: float


class ForesightService:
    """Fits, keeps and applies the foresight model for the service (see the module docstring)."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock = utcnow, rules: RuleTable | None = None,
                 config: ForesightConfig | None = None) -> None:
        self.store, self.settings, self.clock = store, settings, clock
        self.rules = rules or rules_for(settings, None)
        self.config = config or ForesightConfig()
        self._lock = threading.RLock()
        self._depth = 0  # nesting of exclusive() in the thread holding the lock
        self._model: ForesightModel | None = None
        self._model_id: int | None = None
        self._fitted_at: dt.datetime | None = None

    # -- time --------------------------------------------------------------------------------
    def now(self) -> pd.Timestamp:
        """The judgement time: the clock, or with ``alert_clock="data"`` the latest stored record."""
        if self.settings.alert_clock == "data":
            latest = self.store.data_time()
            if latest is not None:
                return pd.Timestamp(latest)
        ts = pd.Timestamp(self.clock())
        return ts.tz_convert("UTC") if ts.tzinfo else ts.tz_localize("UTC")

    # -- the model ---------------------------------------------------------------------------
    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One evaluator at a time: in this process, and across processes on PostgreSQL (re-entrant)."""
        with self._lock:
            if self.store.dialect != "postgresql" or self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            import sqlalchemy as sa

            with self.store.engine.connect() as conn:
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_KEY})
                conn.commit()  # the lock is the session's; no transaction stays open while it is held
                self._depth = 1
                try:
                    yield
                finally:
                    self._depth = 0
                    conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
                    conn.commit()

    def model(self) -> ForesightModel | None:
        """The model in use: a saved one named in the settings, else the newest fitted one stored."""
        if self.settings.foresight_model is not None:
            if self._model is None:
                self._model = ForesightModel.load(self.settings.foresight_model)
            return self._model
        row = self.store.latest_model()
        if row is None:
            return None
        if row["id"] != self._model_id:
            self._model, self._model_id, self._fitted_at = ForesightModel.from_dict(row["model"]), row["id"], \
                row["fitted_at"]
        return self._model

    def model_info(self) -> dict[str, Any]:
        """What ``GET /v1/model`` shows: how the risk model was set and how well it did on the back-test."""
        model = self.model()
        info: dict[str, Any] = {"fitted": model is not None, "fixed_model": self.settings.foresight_model is not None,
                                "fitted_at": self._fitted_at, "queue": self.store.queue_size(),
                                "refit_interval_s": self.settings.refit_interval_s,
                                "sweep_interval_s": self.settings.sweep_interval_s}
        if model is not None:
            info.update({"as_of": model.as_of_, "horizon_days": model.horizon_days_, "base_rate": model.base_rate_,
                         "report": model.report_.to_dict(), "summary_es": model.report_.summary("es"),
                         "summary_en": model.report_.summary("en"), "weights": dict(model.risk_.weights)})
        return info

    def refit_due(self) -> bool:
        if self.settings.foresight_model is not None:
            return False
        self.model()
        if self._fitted_at is None:
            return True
        return (self.clock() - self._fitted_at).total_seconds() >= self.settings.refit_interval_s

    def refit(self, now: pd.Timestamp | None = None) -> ForesightModel:
        """Fit on everything stored (a back-test on the business's own history) and keep it in the database."""
        with self.exclusive():
            as_of = now if now is not None else self.now()
            messages, events, customers, _ = self.store.history_frames(None)
            inputs = prepare_inputs(messages, events, customers)
            model = ForesightModel(self.config).fit_inputs(inputs, as_of)
            fitted_at = self.clock()
            self._model_id = self.store.save_model(model.to_dict(), as_of=as_of.to_pydatetime(),
                                                   source=model.report_.source, fitted_at=fitted_at)
            self._model, self._fitted_at = model, fitted_at
            log.info("foresight model refitted: %s", model.report_.summary())
            return model

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, customer_ids: Sequence[str], now: pd.Timestamp | None = None) -> Evaluation:
        """Score these customers at ``now`` with the model in use, decide their alerts and store both."""
        import time

        start = time.perf_counter()
        ids = sorted(set(customer_ids))
        as_of = now if now is not None else self.now()
        if not ids:
            return Evaluation(0, [], as_of.to_pydatetime(), 0.0)
        with self.exclusive():
            model = self.model()
            if model is None:  # the first evaluation ever: fit on what is stored
                model = self.refit(as_of)
            messages, events, customers, history = self.store.history_frames(ids)
            inputs = prepare_inputs(messages, events, customers)
            states, features, facts = model.score_inputs(inputs, as_of)
            alerts, _, states = decide_alerts(states, features, facts, inputs.customers, self.rules, as_of=as_of,
                                              lang=self.settings.alert_lang, history=history)
            new = self.store.save_states(_state_rows(states), _alert_rows(alerts), as_of.to_pydatetime())
        return Evaluation(len(ids), new, as_of.to_pydatetime(), time.perf_counter() - start)

    def sweep(self, now: pd.Timestamp | None = None, *, chunk: int = 20_000) -> Evaluation:
        """Re-evaluate every customer (silence, missed deadlines and lapses raise alerts without new data)."""
        import time

        start = time.perf_counter()
        as_of = now if now is not None else self.now()
        if self.refit_due():
            self.refit(as_of)
        ids = self.store.customer_ids()
        new: list[str] = []
        for i in range(0, len(ids), chunk):
            new += self.evaluate(ids[i:i + chunk], as_of).new_alert_ids
        return Evaluation(len(ids), new, as_of.to_pydatetime(), time.perf_counter() - start)

    def complete_backfill(self, now: pd.Timestamp | None = None) -> int:
        """A back-fill is done: refit on the whole history, then judge its customers once, at ``now``."""
        if self.settings.foresight_model is None:
            self.refit(now)
        return self.store.release_held()


def _state_rows(states: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for r in states.to_dict("records"):
        reasons = r["reasons"] or []
        main = next((d for d in reasons if d["contribution"] > 0), None)
        rows.append({"customer_id": str(r["customer_id"]), "risk": float(r["risk"]), "severity": str(r["severity"]),
                     "reasons": reasons, "odds_ratio": float(r["odds_ratio"]), "lapsed": bool(r["lapsed"]),
                     "cause": main["code"] if main else None, "urgent": list(r["urgent"]),
                     "days_inactive": None if pd.isna(r["days_inactive"]) else float(r["days_inactive"])})
    return rows


def _alert_rows(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rec in alerts.to_dict("records"):
        row = {k: rec[k] for k in _STORED}
        row["alerted_at"] = pd.Timestamp(row["alerted_at"]).to_pydatetime()
        for col in ("segment", "value_tier"):
            row[col] = None if row[col] is None or pd.isna(row[col]) else str(row[col])
        rows.append(row)
    return rows


def rules_for(settings: Settings, theme_ids: Sequence[str] | None) -> RuleTable:
    """The service's rule table (``Settings.rules`` or the packaged one), its themes checked against the taxonomy."""
    return load_rules(Path(settings.rules) if settings.rules else None, theme_ids=theme_ids)
