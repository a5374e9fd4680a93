"""Database schema, engine and the versioned migration runner.

SQLite (a file under ``Settings.data_dir``) is the embedded default; PostgreSQL is used by
setting ``DARKFEEDBACK_DATABASE_URL=postgresql+psycopg://...``. Both go through SQLAlchemy Core.

Migrations: a small runner of our own rather than Alembic. The schema is a handful of tables
owned by one application, migrations must run unattended at start-up on both databases, and
Alembic would add an ``env.py``, an ini file and a script folder inside the package for that.
Each step is a Python function applied in one transaction and recorded in
``schema_migrations``; to change the schema append a step to :data:`MIGRATIONS` and mirror it
in :func:`build_tables` (``tests/test_api_storage.py`` checks the two agree).

Privacy-relevant engine settings: SQLite runs with ``secure_delete`` (deleted rows are
overwritten, so an erased customer cannot be read back from free pages) and
``synchronous=FULL`` in WAL mode (a commit is on disk before the API answers 2xx). The SQLite
file is created 0600 in a 0700 folder (its ``-wal`` and ``-shm`` files inherit the mode). Both
engines run with ``hide_parameters``: a database error's message names the statement, never the
values bound to it (customer ids, texts), wherever it ends up.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from analyzer.io import make_private_dir, make_private_file
from analyzer.io.durable import PRIVATE_FILE_MODE

__all__ = ["MIGRATIONS", "Tables", "build_tables", "create_db_engine", "current_version", "migrate",
           "resolve_database_url", "utcnow"]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        value = value.astimezone(dt.UTC)
        # SQLite compares datetimes as text: store one fixed naive-UTC form so ordering is right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


@dataclass(frozen=True)
class Tables:
    metadata: sa.MetaData
    customers: sa.Table
    messages: sa.Table
    events: sa.Table
    alerts: sa.Table
    alert_events: sa.Table
    feedback: sa.Table
    api_keys: sa.Table
    audit_log: sa.Table
    jobs: sa.Table
    models: sa.Table
    evaluation_queue: sa.Table
    risk_history: sa.Table
    alert_actions: sa.Table
    config_versions: sa.Table
    webhook_subscriptions: sa.Table
    outbound_deliveries: sa.Table
    outbound_state: sa.Table


#: Columns of each customer's current state (the foresight engine's output), added by migration 2.
_STATE_COLUMNS = (("odds_ratio", sa.Float), ("lapsed", sa.Boolean), ("cause", sa.String(100)),
                  ("urgent", sa.JSON), ("days_inactive", sa.Float))


def _foresight_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Migration 2's new tables: the fitted foresight models, and the customers waiting for evaluation."""
    s = sa.String
    models = sa.Table(
        "foresight_models", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fitted_at", UTCDateTime, nullable=False, index=True),
        sa.Column("as_of", UTCDateTime, nullable=False),
        sa.Column("source", s(20), nullable=False),
        sa.Column("model", sa.JSON, nullable=False),
    )
    # One row per customer waiting for the worker (a re-evaluation requested by an ingest, the
    # sweep or the end of a back-fill); ``held`` rows belong to a back-fill still running.
    queue = sa.Table(
        "evaluation_queue", md,
        sa.Column("customer_id", s(200), primary_key=True),
        sa.Column("requested_at", UTCDateTime, nullable=False, index=True),
        sa.Column("held", sa.Boolean, nullable=False, default=False),
    )
    return models, queue


#: Columns of an alert's owner (the agent it is assigned to), added by migration 4.
_ASSIGNEE_COLUMNS = (("assignee", sa.String(200)), ("assigned_at", UTCDateTime))


def _workspace_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Migration 4's new tables: each customer's risk per day, the actions agents took on alerts with
    their outcomes, and the versions of the rule table and taxonomy saved from the Settings page."""
    s = sa.String
    risk_history = sa.Table(
        "risk_history", md,
        sa.Column("customer_id", s(200), primary_key=True),
        sa.Column("day", s(10), primary_key=True),  # YYYY-MM-DD (UTC) of the judgement; the day's last one
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("odds_ratio", sa.Float),
        sa.Column("severity", s(20), nullable=False),
        sa.Column("as_of", UTCDateTime, nullable=False),
    )
    actions = sa.Table(
        "alert_actions", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", s(40), nullable=False, index=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("action", s(40), nullable=False),
        sa.Column("agent", s(200), nullable=False),
        sa.Column("taken_at", UTCDateTime, nullable=False, index=True),
        sa.Column("note", sa.Text),
        sa.Column("outcome", s(20)),
        sa.Column("outcome_by", s(200)),
        sa.Column("outcome_at", UTCDateTime),
    )
    versions = sa.Table(
        "config_versions", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", s(20), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_by", s(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    return risk_history, actions, versions


def _outbound_tables(md: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table]:
    """Migration 3's new tables: where alerts are pushed (webhooks, CRM tasks, notifications), each
    delivery with its attempts (the dead-letter list is the deliveries that gave up), and the
    dispatcher's position in the alert log."""
    s = sa.String
    subscriptions = sa.Table(
        "webhook_subscriptions", md,
        sa.Column("id", s(40), primary_key=True),
        sa.Column("name", s(200), nullable=False),
        sa.Column("kind", s(20), nullable=False),  # webhook, crm, notify
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", s(200)),
        sa.Column("headers", sa.JSON),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("min_severity", s(20), nullable=False),
        sa.Column("crm", s(20)),
        sa.Column("created_by", s(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    deliveries = sa.Table(
        "outbound_deliveries", md,
        sa.Column("id", s(64), primary_key=True),  # the idempotency key
        sa.Column("subscription_id", s(40), nullable=False, index=True),
        sa.Column("alert_id", s(40), nullable=False, index=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("event", s(30), nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", s(20), nullable=False, index=True),  # pending, delivered, dead
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTCDateTime, nullable=False, index=True),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
    )
    state = sa.Table(
        "outbound_state", md,
        sa.Column("name", s(40), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    return subscriptions, deliveries, state


def build_tables(metadata: sa.MetaData | None = None) -> Tables:
    """The current (head) schema: migration 1's tables with migration 2's columns and tables."""
    md = metadata or sa.MetaData()
    (customers, messages, events, alerts, alert_events, feedback, api_keys, audit_log,
     jobs) = _v1_tables(md, extra_customer_columns=[sa.Column(n, t) for n, t in _STATE_COLUMNS])
    models, queue = _foresight_tables(md)
    for name, kind in _ASSIGNEE_COLUMNS:
        alerts.append_column(sa.Column(name, kind))
    risk_history, actions, versions = _workspace_tables(md)
    subscriptions, deliveries, outbound_state = _outbound_tables(md)
    return Tables(md, customers, messages, events, alerts, alert_events, feedback, api_keys, audit_log, jobs, models,
                  queue, risk_history, actions, versions, subscriptions, deliveries, outbound_state)


def _v1_tables(md: sa.MetaData, extra_customer_columns: list[sa.Column[Any]] | None = None) -> tuple[sa.Table, ...]:
    """The schema as migration 1 created it (frozen: later changes are later migrations)."""
    s = sa.String
    customers = sa.Table(
        "customers", md,
        sa.Column("customer_id", s(200), primary_key=True),
        sa.Column("segment", s(100)),
        sa.Column("value_tier", s(20)),
        sa.Column("opt_out", sa.Boolean, nullable=False, default=False),
        sa.Column("risk", sa.Float),
        sa.Column("severity", s(20)),
        sa.Column("reasons", sa.JSON),
        sa.Column("risk_as_of", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        *(extra_customer_columns or []),
    )
    messages = sa.Table(
        "messages", md,
        sa.Column("message_id", s(200), primary_key=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("timestamp", UTCDateTime, nullable=False, index=True),
        sa.Column("channel", s(50), nullable=False),
        sa.Column("lang", s(10)),
        sa.Column("lang_confidence", sa.Float),
        # Only the redacted text is ever stored; NULL once purged by the retention setting.
        sa.Column("text_redacted", sa.Text),
        sa.Column("pii_types", sa.JSON),
        sa.Column("sentiment_label", s(20)),
        sa.Column("sentiment_score", sa.Float),
        sa.Column("p_negative", sa.Float),
        sa.Column("p_neutral", sa.Float),
        sa.Column("p_positive", sa.Float),
        sa.Column("sentences", sa.JSON),
        sa.Column("themes", sa.JSON),
        sa.Column("theme_evidence", sa.JSON),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
        sa.Column("text_purged_at", UTCDateTime),
    )
    events = sa.Table(
        "events", md,
        sa.Column("event_id", s(200), primary_key=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("timestamp", UTCDateTime, nullable=False, index=True),
        sa.Column("type", s(40), nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("channel", s(50), nullable=False),
        sa.Column("ingested_at", UTCDateTime, nullable=False),
    )
    alerts = sa.Table(
        "alerts", md,
        sa.Column("alert_id", s(40), primary_key=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("alerted_at", UTCDateTime, nullable=False, index=True),
        sa.Column("risk", sa.Float, nullable=False),
        sa.Column("severity", s(20), nullable=False, index=True),
        sa.Column("cause", s(100), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("action", s(40), nullable=False),
        sa.Column("rule", s(100), nullable=False),
        sa.Column("justification_es", sa.Text, nullable=False),
        sa.Column("justification_en", sa.Text, nullable=False),
        sa.Column("value_tier", s(20)),
        sa.Column("segment", s(100)),
        sa.Column("status", s(20), nullable=False, index=True),
        sa.Column("status_changed_at", UTCDateTime, nullable=False),
    )
    # Append-only log of what the live feed announces (new alert, status change); its id is the
    # SSE event id, so a reconnecting client resumes with Last-Event-ID.
    alert_events = sa.Table(
        "alert_events", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", s(40), nullable=False, index=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("kind", s(20), nullable=False),
        sa.Column("at", UTCDateTime, nullable=False),
    )
    feedback = sa.Table(
        "alert_feedback", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", s(40), nullable=False, index=True),
        sa.Column("customer_id", s(200), nullable=False, index=True),
        sa.Column("status", s(20), nullable=False),
        sa.Column("useful", sa.Boolean),
        sa.Column("outcome", s(40)),
        sa.Column("note", sa.Text),
        sa.Column("agent", s(200)),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    api_keys = sa.Table(
        "api_keys", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", s(200), nullable=False),
        sa.Column("prefix", s(16), nullable=False, index=True),
        sa.Column("key_hash", s(64), nullable=False, unique=True),
        sa.Column("scopes", s(100), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    audit_log = sa.Table(
        "audit_log", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UTCDateTime, nullable=False, index=True),
        sa.Column("actor", s(200), nullable=False),
        sa.Column("action", s(60), nullable=False),
        sa.Column("resource", s(60), nullable=False),
        # The customer concerned; replaced by an erasure token when the customer is erased.
        sa.Column("subject", s(200), index=True),
        sa.Column("detail", sa.JSON),
    )
    jobs = sa.Table(
        "jobs", md,
        sa.Column("job_id", s(40), primary_key=True),
        sa.Column("status", s(20), nullable=False),
        sa.Column("filename", s(300), nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("rows_total", sa.Integer),
        sa.Column("rows_done", sa.Integer, nullable=False, default=0),
        sa.Column("summary", sa.JSON),
        sa.Column("error", sa.Text),
        sa.Column("created_by", s(200), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("finished_at", UTCDateTime),
    )
    return customers, messages, events, alerts, alert_events, feedback, api_keys, audit_log, jobs


# --------------------------------------------------------------------------- migrations

MigrationFn = Callable[[Connection], None]


def _add_columns(conn: Connection, table: str, columns: Sequence[tuple[str, Any]]) -> None:
    """ALTER TABLE ... ADD COLUMN for each (name, SQLAlchemy type or type class), in the connection's dialect."""
    for name, kind in columns:
        column_type = kind() if isinstance(kind, type) else kind
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {name} {column_type.compile(dialect=conn.dialect)}"))


def _v1_initial(conn: Connection) -> None:
    # The frozen schema of step 1, in a private MetaData: later changes are later steps.
    md = sa.MetaData()
    _v1_tables(md)
    md.create_all(conn)


def _v2_customer_state(conn: Connection) -> None:
    """The foresight engine's state per customer, its fitted models and its evaluation queue."""
    _add_columns(conn, "customers", _STATE_COLUMNS)
    md = sa.MetaData()
    _foresight_tables(md)
    md.create_all(conn)


def _v3_outbound(conn: Connection) -> None:
    """Outbound: webhook, CRM-task and notification subscriptions, their deliveries, the dispatcher's cursor."""
    md = sa.MetaData()
    _outbound_tables(md)
    md.create_all(conn)


def _v4_workspace(conn: Connection) -> None:
    """The support team's workspace: alert owners, risk per day, actions and outcomes, saved settings."""
    _add_columns(conn, "alerts", _ASSIGNEE_COLUMNS)
    md = sa.MetaData()
    _workspace_tables(md)
    md.create_all(conn)


MIGRATIONS: tuple[tuple[int, str, MigrationFn], ...] = (
    (1, "initial schema", _v1_initial),
    (2, "customer state, foresight models, evaluation queue", _v2_customer_state),
    (3, "outbound: webhook subscriptions, deliveries and dead letters", _v3_outbound),
    # (keep the steps in version order: migrate(target=) stops at the first one past its target)
    (4, "workspace: alert owners, risk per day, actions and outcomes, saved settings", _v4_workspace),
)

_VERSIONS = sa.Table(
    "schema_migrations", sa.MetaData(),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", UTCDateTime, nullable=False),
)


def migrate(engine: Engine, target: int | None = None) -> list[int]:
    """Apply every pending migration (up to ``target``), each in its own transaction; return the versions applied."""
    with engine.begin() as conn:
        _VERSIONS.create(conn, checkfirst=True)
    applied: list[int] = []
    for version, description, fn in MIGRATIONS:
        if target is not None and version > target:
            break
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                # Two processes starting together must not both run a step.
                conn.execute(sa.text("LOCK TABLE schema_migrations IN EXCLUSIVE MODE"))
            done = conn.execute(sa.select(_VERSIONS.c.version).where(_VERSIONS.c.version == version)).first()
            if done:
                continue
            fn(conn)
            conn.execute(_VERSIONS.insert().values(version=version, description=description, applied_at=utcnow()))
            applied.append(version)
    return applied


def current_version(engine: Engine) -> int:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("schema_migrations"):
            return 0
        return int(conn.execute(sa.select(sa.func.max(_VERSIONS.c.version))).scalar() or 0)


# --------------------------------------------------------------------------- engine


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or a SQLite file in ``data_dir`` (created if needed)."""
    if database_url:
        if database_url.startswith("postgresql://"):
            # Plain postgresql:// would pick psycopg2, which is not installed; psycopg 3 is.
            database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
        return database_url
    make_private_dir(data_dir)
    return f"sqlite:///{data_dir / 'darkfeedback.db'}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "secure_delete=ON",
                   "busy_timeout=30000"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def create_db_engine(url: str) -> Engine:
    """An engine with the settings this service relies on (see the module docstring)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            _private_sqlite_file(Path(path))
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                                  hide_parameters=True)
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, hide_parameters=True)


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 before SQLite does (SQLite gives its WAL the file's mode)."""
    make_private_dir(path.parent)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists():
            make_private_file(p)
