"""All reads and writes of the service database, behind one class, :class:`Store`.

One module per resource, each a mixin over :class:`~analyzer.service.store.base.StoreBase`
(engine, transactions, idempotent inserts)::

    base.py      StoreBase, jsonable
    keys.py      API keys (hashed) and the audit log
    records.py   customers, messages, events
    alerts.py    alerts, agents' feedback, the live feed's log
    privacy.py   export, erasure, retention purge
    jobs.py      batch jobs' rows
    foresight.py fitted models, the evaluation queue, customer states, the ranked customer list
    history.py   each customer's risk per day
    actions.py   alerts' owners, actions agents took and their outcomes, an alert's history
    workspace.py the workspace pages' reads (overview, outcomes, a customer's story), saved settings
    outbound.py  webhook/CRM/notification subscriptions, their deliveries and the dead-letter list

See :mod:`analyzer.service.db` for the schema and the engine.
"""

from __future__ import annotations

from analyzer.service.db import create_db_engine, migrate, resolve_database_url
from analyzer.service.store.actions import OUTCOMES
from analyzer.service.store.alerts import ALERT_STATUSES
from analyzer.service.store.base import dumps, jsonable
from analyzer.service.store.foresight import CUSTOMER_SORTS
from analyzer.service.store.jobs import JobStore
from analyzer.service.store.keys import SCOPES, ApiKey, hash_key, new_key_secret
from analyzer.service.store.outbound import DELIVERY_STATUSES, OutboundStore
from analyzer.service.store.privacy import PrivacyStore, erasure_token
from analyzer.service.store.workspace import CONFIG_KINDS, WorkspaceStore
from analyzer.settings import Settings

__all__ = ["ALERT_STATUSES", "CONFIG_KINDS", "CUSTOMER_SORTS", "DELIVERY_STATUSES", "OUTCOMES", "SCOPES", "ApiKey",
           "Store", "dumps", "erasure_token", "hash_key",
           "jsonable", "new_key_secret", "open_store"]


class Store(PrivacyStore, JobStore, WorkspaceStore, OutboundStore):
    """The service database: keys and audit, customers, messages, events, alerts, feed, privacy, jobs,
    foresight models, the evaluation queue and customer states, and the workspace's owners, actions,
    outcomes, risk history and saved settings."""


def open_store(settings: Settings) -> Store:
    """Engine for the configured database (default: SQLite under data_dir), migrated to head."""
    engine = create_db_engine(resolve_database_url(settings.database_url, settings.data_dir))
    migrate(engine)
    return Store(engine)
