"""The store's foundation: engine, transactions, idempotent inserts and JSON-safe values."""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from analyzer.service.db import Tables, build_tables

__all__ = ["StoreBase", "dumps", "jsonable"]


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to Python, timestamps to ISO text, NaN to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date):
        return None if pd.isna(value) else value.isoformat()
    if value is None or isinstance(value, str | int | bool):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)


class StoreBase:
    """Engine, tables and transactions; the resource mixins of :class:`~analyzer.service.store.Store` build on it.

    Every write goes through :meth:`write`: one transaction, committed before the caller answers
    the client (so an acknowledged write survives a crash). On SQLite writes are also serialised
    by a process lock, because SQLite allows one writer and a deferred transaction that reads
    first can fail instead of waiting.
    """

    def __init__(self, engine: Engine, tables: Tables | None = None) -> None:
        self.engine = engine
        self.t = tables or build_tables()
        self.dialect = engine.dialect.name
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def ping(self) -> None:
        with self.read() as conn:
            conn.execute(sa.text("SELECT 1"))

    def insert_new(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]], key: str) -> set[str]:
        """Insert rows whose key is new; return the keys actually inserted (idempotent ingest)."""
        if not rows:
            return set()
        if self.dialect not in ("postgresql", "sqlite"):
            existing = self.existing_keys(conn, table, key, [r[key] for r in rows])
            fresh = [r for r in rows if r[key] not in existing]
            if fresh:
                conn.execute(table.insert(), fresh)
            return {r[key] for r in fresh}
        ins = pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert
        stmt = ins(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
        return {str(r[0]) for r in conn.execute(stmt, rows)}

    def existing_keys(self, conn: Connection, table: sa.Table, key: str, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are already stored in ``table.key`` (queried in chunks of 500)."""
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            part = list(ids[i:i + 500])
            out.update(str(r[0]) for r in conn.execute(sa.select(table.c[key]).where(table.c[key].in_(part))))
        return out

    def compact(self) -> None:
        """Make deleted data unrecoverable from the database files (SQLite WAL)."""
        if self.dialect == "sqlite":
            with self._write_lock or threading.RLock(), self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
