"""Admin: API keys, the audit log, retention."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from starlette.status import HTTP_201_CREATED

from analyzer.service.auth import AdminKey
from analyzer.service.deps import settings, store
from analyzer.service.params import IdQuery, KeyIdPath, Offset
from analyzer.service.schemas import KeyCreate, KeyCreated, KeyPublic
from analyzer.service.store import jsonable
from analyzer.service.tasks import run_retention

__all__ = ["router"]

router = APIRouter(tags=["admin"])


@router.post("/v1/keys", response_model=KeyCreated, status_code=HTTP_201_CREATED, summary="Create an API key")
def create_key(body: KeyCreate, request: Request, key: AdminKey) -> dict[str, Any]:
    st = store(request)
    kid, secret = st.add_key(body.name, body.scopes)
    st.audit(key.name, "create", "api_key", None, {"id": kid, "name": body.name, "scopes": body.scopes})
    row = next(k for k in st.list_keys() if k["id"] == kid)
    return {**row, "key": secret}


@router.get("/v1/keys", response_model=list[KeyPublic], summary="List API keys (never their secrets)")
def list_keys(request: Request, key: AdminKey) -> list[dict[str, Any]]:
    return store(request).list_keys()


@router.delete("/v1/keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: KeyIdPath, request: Request, key: AdminKey) -> None:
    st = store(request)
    if not st.revoke_key(key_id):
        raise HTTPException(404, f"No active key with id {key_id}.")
    st.audit(key.name, "revoke", "api_key", None, {"id": key_id})


@router.get("/v1/audit", summary="The audit log of reads and changes (newest first)")
def audit(request: Request, key: AdminKey, subject: IdQuery = None,
          limit: Annotated[int, Query(ge=1, le=1000)] = 100, offset: Offset = 0) -> list[dict[str, Any]]:
    return jsonable(store(request).audit_entries(subject=subject, limit=limit, offset=offset))


@router.post("/v1/admin/retention", summary="Purge message texts older than DARKFEEDBACK_RETENTION_DAYS now")
def retention(request: Request, key: AdminKey) -> dict[str, Any]:
    if not settings(request).retention_days:
        raise HTTPException(409, "No retention period is set; set DARKFEEDBACK_RETENTION_DAYS to purge old texts.")
    return {"texts_purged": run_retention(store(request), settings(request))}
