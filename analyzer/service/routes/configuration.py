"""Settings: admins view and edit the rule table and the taxonomy (``/v1/settings/rules``, ``/v1/settings/taxonomy``).

A saved version is checked as at start-up and refused (422, with the loader's message) when wrong;
see :mod:`analyzer.service.workspace.config` for when each takes effect. The router's lifespan puts
the saved versions in force when the service starts (after the application's own start-up, which
has opened the store and built the evaluator).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from analyzer.errors import ConfigError
from analyzer.service.auth import AdminKey
from analyzer.service.deps import foresight, settings, store
from analyzer.service.workspace import apply_saved, check_rules, check_taxonomy, current_text, effective_taxonomy
from analyzer.service.workspace.schemas import ConfigPublic, ConfigUpdate

__all__ = ["router"]

Kind = Literal["rules", "taxonomy"]
_APPLIES = {
    "rules": "At once: the evaluator uses the saved rules from its next judgement.",
    "taxonomy": "Theme names at once on the pages; complaint themes at the next refit of the risk model; "
                "descriptions, examples and keywords reach the text models when the service starts with this "
                "text as its DARKFEEDBACK_TAXONOMY file.",
}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state = app.state
    await run_in_threadpool(apply_saved, state.store, state.settings, state.foresight)
    yield


router = APIRouter(tags=["settings"], lifespan=_lifespan)


def _public(request: Request, kind: str) -> dict[str, Any]:
    st = store(request)
    return {"kind": kind, **current_text(st, settings(request), kind), "history": st.config_history(kind),
            "applies": _APPLIES[kind]}


@router.get("/v1/settings/{kind}", response_model=ConfigPublic, summary="The rule table or taxonomy in force (admin)")
def get_config(kind: Kind, request: Request, key: AdminKey) -> dict[str, Any]:
    return _public(request, kind)


@router.put("/v1/settings/{kind}", response_model=ConfigPublic,
            summary="Save a new rule table or taxonomy (admin); refused with the reason when it is wrong")
def put_config(kind: Kind, body: ConfigUpdate, request: Request, key: AdminKey) -> dict[str, Any]:
    st, cfg = store(request), settings(request)
    try:
        if kind == "rules":
            check_rules(body.text, effective_taxonomy(st, cfg).ids)
        else:
            taxonomy = check_taxonomy(body.text)
            # The rules in force must still find their themes in the new taxonomy.
            check_rules(current_text(st, cfg, "rules")["text"], taxonomy.ids)
    except ConfigError as exc:
        name = "this rule table" if kind == "rules" else "this taxonomy"
        raise HTTPException(422, str(exc).replace(_tmp_hint(str(exc)), name)) from exc
    version = st.save_config(kind, body.text, key.name)
    apply_saved(st, cfg, foresight(request))
    st.audit(key.name, "update", f"settings_{kind}", None, {"version": version})
    return _public(request, kind)


def _tmp_hint(message: str) -> str:
    """The temporary file's path in a loader's message (replaced by the kind: the path means nothing to a user)."""
    for word in message.replace("'", " ").replace('"', " ").split():
        if "df-settings-" in word:
            return word.rstrip(":,.")
    return "\0"
