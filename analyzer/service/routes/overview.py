"""The Overview page and the Customer page's story.

- ``GET /v1/overview``: customers at risk by severity, value at risk, new alerts today, missed
  ticket deadlines, complaint themes by week against the previous period, and the tone trend;
- ``GET /v1/customers/{id}/story``: risk over time, sentiment, purchases and activity by week, the
  reasons in plain words with their evidence, the recommended action, and a timeline with events
  summarised per day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, FastAPI, HTTPException, Query, Request

from analyzer.service.auth import ReadKey
from analyzer.service.deps import Lang, StoredCustomerId, alert_public, check_lang, foresight, settings, store
from analyzer.service.store import jsonable
from analyzer.service.workspace import effective_taxonomy, overview, summarised_timeline, weekly_activity
from analyzer.service.workspace.overview import OverviewCache
from analyzer.service.workspace.schemas import CustomerStory, Overview

__all__ = ["router", "service_now"]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.overview_cache = OverviewCache(ttl_s=30.0)
    yield


router = APIRouter(tags=["workspace"], lifespan=_lifespan)
Days = Annotated[int, Query(ge=7, le=730, description="Length of the period, in days (rounded up to whole weeks).")]


def service_now(request: Request) -> dt.datetime:
    """The service's "now": its clock, or the latest record stored with ``alert_clock="data"``."""
    stamp: dt.datetime = pd.Timestamp(foresight(request).now()).to_pydatetime()
    return stamp


@router.get("/v1/overview", response_model=Overview,
            summary="The team's overview: risk, value, deadlines, themes, tone")
def get_overview(request: Request, key: ReadKey, days: Days = 35) -> dict[str, Any]:
    """Computed at most once per 30 s for a given period, and again as soon as an alert is raised or worked:
    new messages and events that raise no alert show within 30 s."""
    st, cfg = store(request), settings(request)
    taxonomy = effective_taxonomy(st, cfg)
    themes = [t for t in taxonomy.ids if t in taxonomy.complaint_ids or t == "churn_intent"]
    sla = foresight(request).config.behaviour.ticket_sla_hours
    now = service_now(request)
    cache: OverviewCache = request.app.state.overview_cache
    # The same minute of the service's clock, period and themes, and no alert raised or worked since (the
    # feed's last entry): one computation for the team. New messages without an alert show within 30 s.
    cache_key = (days, now.replace(second=0, microsecond=0), tuple(themes), sla, st.last_feed_id())
    out = dict(cache.get(cache_key, lambda: overview(st, now=now, days=days, sla_hours=sla, themes=themes)))
    out["theme_names"] = {t.id: {"es": t.name.get("es", t.id), "en": t.name.get("en", t.id)}
                          for t in taxonomy.themes}
    st.audit(key.name, "read", "overview", None, {"days": days})
    return jsonable(out)


@router.get("/v1/customers/{customer_id}/story", response_model=CustomerStory,
            summary="A customer's story: risk over time, activity by week, reasons, recommended action, timeline")
def story(customer_id: StoredCustomerId, request: Request, key: ReadKey, days: Days = 182,
          lang: Lang = None) -> dict[str, Any]:
    st = store(request)
    lang_ = check_lang(lang, settings(request).alert_lang)
    c = st.get_customer(customer_id)
    if c is None:
        raise HTTPException(404, f"No customer {customer_id!r}; customers appear when their first message or "
                                 "event is ingested.")
    now = service_now(request)
    since = now - dt.timedelta(days=days)
    events = st.events_since(customer_id, since)
    messages = st.messages_since(customer_id, since)
    # Reasons in plain words, split by direction; the log-odds stay out of the page.
    reasons = list(c["reasons"] or [])
    words = [{k: r.get(k) for k in ("code", "text_es", "text_en", "evidence")} for r in reasons]
    up = [r["contribution"] > 0 for r in reasons]
    alerts, _ = st.list_alerts(customer_id=customer_id, limit=20)
    open_ = [a for a in alerts if a["status"] in ("open", "acknowledged")]
    st.audit(key.name, "read", "customer", customer_id, {"page": "story"})
    public = {k: c[k] for k in ("customer_id", "segment", "value_tier", "opt_out", "risk", "odds_ratio", "severity",
                                "lapsed", "cause", "days_inactive", "risk_as_of")}
    public["urgent"] = None if c["urgent"] is None else list(c["urgent"])
    return jsonable({
        "customer": public, "as_of": now,
        "risk_series": st.risk_series(customer_id, since=since),
        "sentiment_series": [{k: m[k] for k in ("timestamp", "sentiment_score", "sentiment_label", "message_id")}
                             for m in messages if m["sentiment_score"] is not None],
        "weekly": weekly_activity(events, messages, now=now, days=days),
        "raises": [w for w, u in zip(words, up, strict=True) if u],
        "lowers": [w for w, u in zip(words, up, strict=True) if not u],
        "recommended": alert_public(open_[0], lang_) if open_ else None,
        "alerts": [alert_public(a, lang_) for a in alerts],
        "actions": st.actions_of(customer_id=customer_id),
        "timeline": summarised_timeline(events, messages, now=now),
    })
