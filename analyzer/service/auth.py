"""API keys with scopes: ``ingest`` (write messages/events), ``read`` (alerts, customers, feed),
``admin`` (everything, including keys, opt-out, export and erasure).

A key travels in ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``, never in a URL (URLs
end up in access logs). Only the SHA-256 of a key is stored (see :func:`analyzer.service.store.new_key_secret`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from analyzer.service.deps import store as _store
from analyzer.service.store import ApiKey, Store

__all__ = ["AdminKey", "IngestKey", "IngestOrReadKey", "ReadKey", "require"]


def _presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def require(*scopes: str) -> Callable[..., ApiKey]:
    """A dependency: 401 without a valid key, 403 when the key has none of ``scopes`` (admin has all)."""

    def dependency(request: Request, store: Annotated[Store, Depends(_store)]) -> ApiKey:
        secret = _presented_key(request)
        if secret is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED,
                                "No API key. Send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'; "
                                "create one with `darkfeedback create-key`.",
                                headers={"WWW-Authenticate": "Bearer"})
        key = store.lookup_key(secret)
        if key is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "The API key is unknown or revoked.",
                                headers={"WWW-Authenticate": "Bearer"})
        if not any(key.allows(s) for s in scopes):
            wanted = " or ".join(repr(s) for s in scopes)
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                f"This key (scopes: {sorted(key.scopes)}) lacks the {wanted} scope this "
                                f"endpoint needs.")
        request.state.api_key = key
        return key

    return dependency


IngestKey = Annotated[ApiKey, Depends(require("ingest"))]
ReadKey = Annotated[ApiKey, Depends(require("read"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
IngestOrReadKey = Annotated[ApiKey, Depends(require("ingest", "read"))]
