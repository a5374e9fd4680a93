"""One router per resource; :data:`ALL_ROUTERS` is what :func:`analyzer.service.app.create_app` mounts."""

from __future__ import annotations

from analyzer.service.routes.admin import router as admin_router
from analyzer.service.routes.agents import router as agents_router
from analyzer.service.routes.alerts import router as alerts_router
from analyzer.service.routes.analyze import router as analyze_router
from analyzer.service.routes.configuration import router as configuration_router
from analyzer.service.routes.customers import router as customers_router
from analyzer.service.routes.foresight import router as foresight_router
from analyzer.service.routes.ingest import router as ingest_router
from analyzer.service.routes.jobs import router as jobs_router
from analyzer.service.routes.outcomes import router as outcomes_router
from analyzer.service.routes.overview import router as overview_router
from analyzer.service.routes.system import router as system_router
from analyzer.service.routes.ui import router as ui_router
from analyzer.service.routes.webhooks import router as webhooks_router

__all__ = ["ALL_ROUTERS"]

ALL_ROUTERS = (system_router, analyze_router, ingest_router, foresight_router, customers_router, alerts_router,
               jobs_router, admin_router, overview_router, outcomes_router, agents_router, configuration_router,
               webhooks_router, ui_router)
