"""All reads and writes of the service database, in one class.

Every write goes through :meth:`Store.write`: one transaction, committed before the caller
answers the client (so an acknowledged write survives a crash). On SQLite writes are also
serialised by a process lock, because SQLite allows one writer and a deferred transaction that
reads first can fail instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from analyzer.service.db import Tables, build_tables, utcnow

__all__ = ["SCOPES", "ApiKey", "Store", "hash_key", "jsonable", "new_key_secret"]

SCOPES: tuple[str, ...] = ("ingest", "read", "admin")
ALERT_STATUSES: tuple[str, ...] = ("open", "acknowledged", "resolved", "dismissed", "withdrawn")
_KEY_PREFIX = "dfk_"


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


def new_key_secret() -> str:
    # 32 random bytes: a key cannot be guessed, so a fast hash (no salt, no stretching) is safe
    # to store and lets a request find its key with one indexed lookup.
    return _KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


class Store:
    """The service database (see :mod:`analyzer.service.db` for the schema)."""

    def __init__(self, engine: Engine, tables: Tables | None = None) -> None:
        self.engine = engine
        self.t = tables or build_tables()
        self.dialect = engine.dialect.name
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    # -- transactions ----------------------------------------------------------------
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

    def _insert_ignore(self, conn: Connection, table: sa.Table, rows: list[dict[str, Any]], key: str) -> set[str]:
        """Insert rows whose key is new; return the keys actually inserted (idempotent ingest)."""
        if not rows:
            return set()
        ins = pg_dialect.insert if self.dialect == "postgresql" else sqlite_dialect.insert
        if self.dialect not in ("postgresql", "sqlite"):
            existing = self._existing(conn, table, key, [r[key] for r in rows])
            fresh = [r for r in rows if r[key] not in existing]
            if fresh:
                conn.execute(table.insert(), fresh)
            return {r[key] for r in fresh}
        stmt = ins(table).on_conflict_do_nothing(index_elements=[key]).returning(table.c[key])
        return {str(r[0]) for r in conn.execute(stmt, rows)}

    def _existing(self, conn: Connection, table: sa.Table, key: str, ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            part = list(ids[i:i + 500])
            out.update(str(r[0]) for r in conn.execute(sa.select(table.c[key]).where(table.c[key].in_(part))))
        return out

    # -- API keys --------------------------------------------------------------------
    def add_key(self, name: str, scopes: Iterable[str]) -> tuple[int, str]:
        scope_set = sorted(set(scopes))
        bad = [s for s in scope_set if s not in SCOPES]
        if bad or not scope_set:
            from analyzer.errors import ConfigError

            raise ConfigError(f"API key scopes must be a non-empty subset of {list(SCOPES)}; received {scope_set}.")
        secret = new_key_secret()
        with self.write() as conn:
            kid = conn.execute(self.t.api_keys.insert().values(
                name=name, prefix=secret[:12], key_hash=hash_key(secret), scopes=",".join(scope_set),
                created_at=utcnow()).returning(self.t.api_keys.c.id)).scalar_one()
        return int(kid), secret

    def ensure_key(self, secret: str, name: str = "bootstrap") -> None:
        """Register a known secret (the bootstrap key) with every scope, once."""
        with self.write() as conn:
            k = self.t.api_keys
            if conn.execute(sa.select(k.c.id).where(k.c.key_hash == hash_key(secret))).first() is None:
                conn.execute(k.insert().values(name=name, prefix=secret[:12], key_hash=hash_key(secret),
                                               scopes=",".join(SCOPES), created_at=utcnow()))

    def lookup_key(self, secret: str) -> ApiKey | None:
        k = self.t.api_keys
        with self.read() as conn:
            row = conn.execute(sa.select(k).where(k.c.key_hash == hash_key(secret), k.c.revoked_at.is_(None))).first()
        if row is None:
            return None
        return ApiKey(int(row.id), str(row.name), frozenset(str(row.scopes).split(",")))

    def list_keys(self) -> list[dict[str, Any]]:
        k = self.t.api_keys
        with self.read() as conn:
            rows = conn.execute(sa.select(k.c.id, k.c.name, k.c.prefix, k.c.scopes, k.c.created_at,
                                          k.c.revoked_at).order_by(k.c.id)).mappings().all()
        return [{**dict(r), "scopes": str(r["scopes"]).split(",")} for r in rows]

    def revoke_key(self, key_id: int) -> bool:
        k = self.t.api_keys
        with self.write() as conn:
            res = conn.execute(k.update().where(k.c.id == key_id, k.c.revoked_at.is_(None))
                               .values(revoked_at=utcnow()))
        return bool(res.rowcount)

    # -- audit -----------------------------------------------------------------------
    def audit(self, actor: str, action: str, resource: str, subject: str | None = None,
              detail: dict[str, Any] | None = None, conn: Connection | None = None) -> None:
        values = {"at": utcnow(), "actor": actor, "action": action, "resource": resource, "subject": subject,
                  "detail": jsonable(detail) if detail else None}
        if conn is not None:
            conn.execute(self.t.audit_log.insert().values(**values))
            return
        with self.write() as c:
            c.execute(self.t.audit_log.insert().values(**values))

    def audit_entries(self, *, subject: str | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        a = self.t.audit_log
        q = sa.select(a).order_by(a.c.id.desc()).limit(limit).offset(offset)
        if subject is not None:
            q = q.where(a.c.subject == subject)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    # -- customers -------------------------------------------------------------------
    def ensure_customers(self, conn: Connection, ids: Iterable[str]) -> None:
        now = utcnow()
        rows = [{"customer_id": c, "opt_out": False, "created_at": now, "updated_at": now} for c in sorted(set(ids))]
        self._insert_ignore(conn, self.t.customers, rows, "customer_id")

    def upsert_customer(self, customer_id: str, *, segment: str | None, value_tier: str | None) -> dict[str, Any]:
        c = self.t.customers
        with self.write() as conn:
            self.ensure_customers(conn, [customer_id])
            conn.execute(c.update().where(c.c.customer_id == customer_id)
                         .values(segment=segment, value_tier=value_tier, updated_at=utcnow()))
        out = self.get_customer(customer_id)
        assert out is not None
        return out

    def get_customer(self, customer_id: str) -> dict[str, Any] | None:
        c = self.t.customers
        with self.read() as conn:
            row = conn.execute(sa.select(c).where(c.c.customer_id == customer_id)).mappings().first()
        return dict(row) if row else None

    def opted_out(self, conn: Connection, ids: Iterable[str]) -> set[str]:
        c = self.t.customers
        ids = list(set(ids))
        out: set[str] = set()
        for i in range(0, len(ids), 500):
            q = sa.select(c.c.customer_id).where(c.c.customer_id.in_(ids[i:i + 500]), c.c.opt_out.is_(True))
            out.update(str(r[0]) for r in conn.execute(q))
        return out

    def set_opt_out(self, customer_id: str, opt_out: bool) -> tuple[dict[str, Any], list[str]]:
        """Set the flag; opting out clears every profile value and withdraws open alerts.

        Returns the customer and the ids of the alerts withdrawn.
        """
        c, m, a = self.t.customers, self.t.messages, self.t.alerts
        now = utcnow()
        withdrawn: list[str] = []
        with self.write() as conn:
            self.ensure_customers(conn, [customer_id])
            values: dict[str, Any] = {"opt_out": opt_out, "updated_at": now}
            if opt_out:
                # No profiling: risk, reasons and per-message sentiment and themes are removed,
                # not just hidden. The redacted texts stay (they are the customer's messages).
                values.update(risk=None, severity=None, reasons=None, risk_as_of=None)
                conn.execute(m.update().where(m.c.customer_id == customer_id).values(
                    sentiment_label=None, sentiment_score=None, p_negative=None, p_neutral=None,
                    p_positive=None, sentences=None, themes=None, theme_evidence=None))
                withdrawn = [str(r[0]) for r in conn.execute(sa.select(a.c.alert_id).where(
                    a.c.customer_id == customer_id, a.c.status.in_(["open", "acknowledged"])))]
                if withdrawn:
                    conn.execute(a.update().where(a.c.alert_id.in_(withdrawn))
                                 .values(status="withdrawn", status_changed_at=now))
                    conn.execute(self.t.alert_events.insert(), [
                        {"alert_id": x, "customer_id": customer_id, "kind": "withdrawn", "at": now}
                        for x in withdrawn])
            conn.execute(c.update().where(c.c.customer_id == customer_id).values(**values))
        out = self.get_customer(customer_id)
        assert out is not None
        return out, withdrawn

    # -- messages and events ---------------------------------------------------------
    def existing_message_ids(self, ids: Sequence[str]) -> set[str]:
        with self.read() as conn:
            return self._existing(conn, self.t.messages, "message_id", ids)

    def existing_event_ids(self, ids: Sequence[str]) -> set[str]:
        with self.read() as conn:
            return self._existing(conn, self.t.events, "event_id", ids)

    def insert_messages(self, rows: list[dict[str, Any]]) -> set[str]:
        """Store analysed messages (redacted text only); return the ids that were new."""
        with self.write() as conn:
            self.ensure_customers(conn, [r["customer_id"] for r in rows])
            out = self.opted_out(conn, [r["customer_id"] for r in rows])
            for r in rows:
                if r["customer_id"] in out:
                    for col in ("sentiment_label", "sentiment_score", "p_negative", "p_neutral", "p_positive",
                                "sentences", "themes", "theme_evidence"):
                        r[col] = None
            return self._insert_ignore(conn, self.t.messages, rows, "message_id")

    def insert_events(self, rows: list[dict[str, Any]]) -> set[str]:
        with self.write() as conn:
            self.ensure_customers(conn, [r["customer_id"] for r in rows])
            return self._insert_ignore(conn, self.t.events, rows, "event_id")

    def messages_of(self, customer_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        m = self.t.messages
        with self.read() as conn:
            rows = conn.execute(sa.select(m).where(m.c.customer_id == customer_id)
                                .order_by(m.c.timestamp.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in reversed(rows)]

    def events_of(self, customer_id: str, *, limit: int = 200) -> list[dict[str, Any]]:
        e = self.t.events
        with self.read() as conn:
            rows = conn.execute(sa.select(e).where(e.c.customer_id == customer_id)
                                .order_by(e.c.timestamp.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in reversed(rows)]

    def frames_for(self, customer_ids: Sequence[str], since: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame,
                                                                                      pd.DataFrame, pd.DataFrame]:
        """Messages, events, customers and alert history of these customers, for compute_alerts."""
        m, e, c, a = self.t.messages, self.t.events, self.t.customers, self.t.alerts
        ids = list(customer_ids)
        with self.read() as conn:
            msgs = conn.execute(sa.select(m.c.message_id, m.c.customer_id, m.c.timestamp, m.c.channel,
                                          m.c.sentiment_label, m.c.sentiment_score, m.c.themes)
                                .where(m.c.customer_id.in_(ids), m.c.timestamp >= since,
                                       m.c.sentiment_label.is_not(None))).mappings().all()
            evs = conn.execute(sa.select(e.c.event_id, e.c.customer_id, e.c.timestamp, e.c.type, e.c.value,
                                         e.c.channel)
                               .where(e.c.customer_id.in_(ids), e.c.timestamp >= since)).mappings().all()
            custs = conn.execute(sa.select(c.c.customer_id, c.c.segment, c.c.value_tier, c.c.opt_out)
                                 .where(c.c.customer_id.in_(ids))).mappings().all()
            hist = conn.execute(sa.select(a.c.customer_id, a.c.cause, a.c.alerted_at, a.c.severity)
                                .where(a.c.customer_id.in_(ids))).mappings().all()
        messages = pd.DataFrame([dict(r) for r in msgs],
                                columns=["message_id", "customer_id", "timestamp", "channel", "sentiment_label",
                                         "sentiment_score", "themes"])
        messages["themes"] = [list(t or []) for t in messages["themes"]]
        events = pd.DataFrame([dict(r) for r in evs],
                              columns=["event_id", "customer_id", "timestamp", "type", "value", "channel"])
        # Purchases carry amounts, ticket events carry a ticket id: one object column holds both.
        events["value"] = pd.Series(list(events["value"]), index=events.index, dtype=object)
        for df in (messages, events):
            df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True)
        customers = pd.DataFrame([dict(r) for r in custs], columns=["customer_id", "segment", "value_tier",
                                                                    "opt_out"])
        history = pd.DataFrame([dict(r) for r in hist], columns=["customer_id", "cause", "alerted_at", "severity"])
        return messages, events, customers, history

    def latest_timestamp(self, customer_id: str) -> dt.datetime | None:
        m, e = self.t.messages, self.t.events
        with self.read() as conn:
            a = conn.execute(sa.select(sa.func.max(m.c.timestamp)).where(m.c.customer_id == customer_id)).scalar()
            b = conn.execute(sa.select(sa.func.max(e.c.timestamp)).where(e.c.customer_id == customer_id)).scalar()
        stamps = [x for x in (a, b) if x is not None]
        return max(stamps) if stamps else None

    # -- alerts ----------------------------------------------------------------------
    def save_evaluation(self, risk_rows: dict[str, dict[str, Any]], alert_rows: list[dict[str, Any]],
                        as_of: dt.datetime) -> list[str]:
        """Store customers' current risk and the new alerts; return the new alert ids."""
        c, a = self.t.customers, self.t.alerts
        now = utcnow()
        with self.write() as conn:
            # A customer who opted out while the evaluation ran gets nothing stored.
            out = self.opted_out(conn, list(risk_rows) + [r["customer_id"] for r in alert_rows])
            for cid, r in risk_rows.items():
                if cid in out:
                    continue
                conn.execute(c.update().where(c.c.customer_id == cid).values(
                    risk=r["risk"], severity=r["severity"], reasons=jsonable(r["reasons"]), risk_as_of=as_of,
                    updated_at=now))
            rows = [{**r, "reasons": jsonable(r["reasons"]), "status": "open", "status_changed_at": now}
                    for r in alert_rows if r["customer_id"] not in out]
            new = self._insert_ignore(conn, a, rows, "alert_id")
            if new:
                conn.execute(self.t.alert_events.insert(), [
                    {"alert_id": r["alert_id"], "customer_id": r["customer_id"], "kind": "new", "at": now}
                    for r in rows if r["alert_id"] in new])
        return sorted(new)

    def list_alerts(self, *, status: Sequence[str] | None = None, severity: Sequence[str] | None = None,
                    customer_id: str | None = None, action: str | None = None, since: dt.datetime | None = None,
                    limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        a = self.t.alerts
        conds: list[Any] = []
        if status:
            conds.append(a.c.status.in_(list(status)))
        if severity:
            conds.append(a.c.severity.in_(list(severity)))
        if customer_id:
            conds.append(a.c.customer_id == customer_id)
        if action:
            conds.append(a.c.action == action)
        if since:
            conds.append(a.c.alerted_at >= since)
        # Most severe first, then newest: the order a support team works the list in.
        sev_rank = sa.case({"critical": 4, "high": 3, "medium": 2, "low": 1}, value=a.c.severity, else_=0)
        with self.read() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(a).where(*conds)).scalar_one()
            rows = conn.execute(sa.select(a).where(*conds)
                                .order_by(sev_rank.desc(), a.c.alerted_at.desc(), a.c.alert_id)
                                .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], int(total)

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        a = self.t.alerts
        with self.read() as conn:
            row = conn.execute(sa.select(a).where(a.c.alert_id == alert_id)).mappings().first()
        return dict(row) if row else None

    def set_alert_status(self, alert_id: str, status: str, *, agent: str, useful: bool | None,
                         outcome: str | None, note: str | None) -> dict[str, Any] | None:
        a, f = self.t.alerts, self.t.feedback
        now = utcnow()
        with self.write() as conn:
            row = conn.execute(sa.select(a.c.customer_id).where(a.c.alert_id == alert_id)).first()
            if row is None:
                return None
            conn.execute(a.update().where(a.c.alert_id == alert_id).values(status=status, status_changed_at=now))
            # Feedback is kept as labelled data for re-fitting the risk model later.
            conn.execute(f.insert().values(alert_id=alert_id, customer_id=row.customer_id, status=status,
                                           useful=useful, outcome=outcome, note=note, agent=agent, created_at=now))
            conn.execute(self.t.alert_events.insert().values(alert_id=alert_id, customer_id=row.customer_id,
                                                             kind=status, at=now))
        return self.get_alert(alert_id)

    def feedback_of(self, *, alert_id: str | None = None, customer_id: str | None = None) -> list[dict[str, Any]]:
        f = self.t.feedback
        q = sa.select(f).order_by(f.c.id)
        if alert_id:
            q = q.where(f.c.alert_id == alert_id)
        if customer_id:
            q = q.where(f.c.customer_id == customer_id)
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def feed_after(self, after_id: int, limit: int = 100) -> list[dict[str, Any]]:
        ev, a = self.t.alert_events, self.t.alerts
        q = (sa.select(ev.c.id.label("event_id"), ev.c.kind, ev.c.at, a)
             .join(a, a.c.alert_id == ev.c.alert_id).where(ev.c.id > after_id).order_by(ev.c.id).limit(limit))
        with self.read() as conn:
            return [dict(r) for r in conn.execute(q).mappings()]

    def last_feed_id(self) -> int:
        with self.read() as conn:
            return int(conn.execute(sa.select(sa.func.max(self.t.alert_events.c.id))).scalar() or 0)

    # -- privacy ---------------------------------------------------------------------
    def export_customer(self, customer_id: str) -> dict[str, Any] | None:
        cust = self.get_customer(customer_id)
        if cust is None:
            return None
        alerts, _ = self.list_alerts(customer_id=customer_id, limit=100_000)
        return jsonable({
            "customer": cust,
            "messages": self.messages_of(customer_id, limit=1_000_000),
            "events": self.events_of(customer_id, limit=1_000_000),
            "alerts": alerts,
            "alert_feedback": self.feedback_of(customer_id=customer_id),
            "audit_log": self.audit_entries(subject=customer_id, limit=1_000_000),
        })

    def erase_customer(self, customer_id: str) -> tuple[dict[str, int], str] | None:
        """Delete every row about the customer; audit rows keep only an erasure token.

        Returns per-table counts and the token, or None when the customer is unknown.
        """
        t = self.t
        token = "erased:" + secrets.token_hex(8)
        with self.write() as conn:
            known = conn.execute(sa.select(t.customers.c.customer_id)
                                 .where(t.customers.c.customer_id == customer_id)).first()
            if known is None:
                return None
            counts: dict[str, int] = {}
            for table in (t.messages, t.events, t.alert_events, t.feedback, t.alerts, t.customers):
                counts[table.name] = int(conn.execute(table.delete().where(table.c.customer_id == customer_id))
                                         .rowcount)
            # The audit trail stays (who read what, when) but can no longer name the person.
            counts["audit_log_pseudonymised"] = int(conn.execute(
                t.audit_log.update().where(t.audit_log.c.subject == customer_id)
                .values(subject=token, detail=None)).rowcount)
        self.compact()
        return counts, token

    def compact(self) -> None:
        """Make deleted data unrecoverable from the database files (SQLite WAL)."""
        if self.dialect == "sqlite":
            with self._write_lock or threading.RLock(), self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def purge_texts(self, older_than: dt.datetime) -> int:
        """Retention: remove texts (and quoted evidence) of messages older than the cut-off."""
        m = self.t.messages
        with self.write() as conn:
            res = conn.execute(m.update().where(m.c.timestamp < older_than, m.c.text_purged_at.is_(None))
                               .values(text_redacted=None, sentences=None, theme_evidence=None,
                                       text_purged_at=utcnow()))
        n = int(res.rowcount)
        if n:
            self.compact()
        return n

    # -- jobs ------------------------------------------------------------------------
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

    def unfinished_jobs(self) -> list[dict[str, Any]]:
        j = self.t.jobs
        with self.read() as conn:
            return [dict(r) for r in conn.execute(sa.select(j).where(j.c.status.in_(["queued", "running"]))
                                                  .order_by(j.c.created_at)).mappings()]


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False)
