"""API keys (hashed secrets with scopes) and the audit log."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analyzer.service.db import utcnow
from analyzer.service.store.base import StoreBase, jsonable

__all__ = ["SCOPES", "ApiKey", "KeyStore", "hash_key", "new_key_secret"]

SCOPES: tuple[str, ...] = ("ingest", "read", "admin")
KEY_PREFIX = "dfk_"


def new_key_secret() -> str:
    # 32 random bytes: a key cannot be guessed, so a fast hash (no salt, no stretching) is safe
    # to store and lets a request find its key with one indexed lookup.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        return "admin" in self.scopes or scope in self.scopes


class KeyStore(StoreBase):
    """API keys and the audit log."""

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
