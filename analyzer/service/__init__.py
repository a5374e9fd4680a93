"""The service: REST API (``/v1``), live alert feed (SSE) and the support team's page (``/ui/``).

    from analyzer.service import create_app, serve, serve_app, create_api_key

Nothing is loaded at import time; ``create_app`` loads the text models in its lifespan unless
one is injected (``create_app(text_analyzer=...)``).
"""

from __future__ import annotations

from analyzer.service.app import create_app
from analyzer.service.server import create_api_key, serve, serve_app

__all__ = ["create_api_key", "create_app", "serve", "serve_app"]
